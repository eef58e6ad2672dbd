#!/usr/bin/env python3
# webhook-server.py DIR: a webhook receiver for tests/integration/webhooks.sh.
# Listens on 127.0.0.1 (a port the kernel picks, written to DIR/port) and
# appends one JSON line per request to DIR/requests.jsonl: path, the
# headers tunl sends, the body and the status it answered. How it answers
# depends on the path:
#   /ok/...        200
#   /flaky/NAME    500 while DIR/fail.NAME holds a number above 0 (which
#                  each failure lowers by one), then 200
#   /redirect      302 to /target (a request to /target means a redirect
#                  was followed)
#   anything else  404
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOCK = threading.Lock()


def fail_budget(name):
    path = os.path.join(DIR, "fail." + name)
    try:
        with open(path) as f:
            n = int(f.read().strip() or "0")
    except FileNotFoundError:
        return False
    if n <= 0:
        return False
    with open(path, "w") as f:
        f.write(str(n - 1))
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, each answer
    # waits ~40 ms for the client's delayed ACK (Nagle).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", location=None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with LOCK:
            path = self.path
            location = None
            if path.startswith("/ok"):
                status = 200
            elif path.startswith("/flaky/"):
                status = 500 if fail_budget(path[len("/flaky/"):]) else 200
            elif path == "/redirect":
                status = 302
                location = "/target"
            else:
                status = 404
            rec = {
                "path": path,
                "status": status,
                "content_type": self.headers.get("Content-Type"),
                "signature": self.headers.get("X-Tunl-Signature"),
                "delivery": self.headers.get("X-Tunl-Delivery"),
                "body": body.decode("latin-1"),
            }
            # One write(2) on an O_APPEND descriptor per record; the
            # checker still reads only whole lines, as a large record
            # may be seen half written while the test polls.
            line = (json.dumps(rec) + "\n").encode("ascii")
            fd = os.open(os.path.join(DIR, "requests.jsonl"),
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                while line:
                    line = line[os.write(fd, line):]
            finally:
                os.close(fd)
        self.answer(status, b"thanks\n" * 3, location)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
