#!/usr/bin/env python3
# webhook-check.py DIR KEY PATH: check every request webhook-server.py
# recorded for PATH as a receiver should (docs/webhooks.md) and print:
#   one line per request:  STATUS FIRST-LAST
#   then:                  delivered: ID ID ...  (events of 2xx answers)
#   then, per event of a 2xx answer:
#                          event ID SESSION ACTION SOURCE DETAIL
#                          (DETAIL as JSON, so one line of ASCII)
# Exits 1 on a bad signature, content type, delivery header or body.
import hashlib
import hmac
import json
import os
import sys

DIR, KEY, PATH = sys.argv[1:4]


def die(msg):
    print("webhook-check: " + msg, file=sys.stderr)
    sys.exit(1)


with open(KEY, "rb") as f:
    key = f.read()
if len(key) != 32:
    die("key is not 32 bytes")

lines = []
delivered = []
events = []
try:
    with open(os.path.join(DIR, "requests.jsonl")) as f:
        # A last line without its newline is a record still being
        # written (the test polls while the receiver runs): not yet.
        recs = [json.loads(line) for line in f if line.endswith("\n")]
except FileNotFoundError:
    recs = []
for rec in recs:
    if rec["path"] != PATH:
        continue
    body = rec["body"].encode("latin-1")
    want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if rec["signature"] is None or not hmac.compare_digest(
            rec["signature"], want):
        die("bad signature on a request to " + PATH)
    if rec["content_type"] != "application/json":
        die("content type %r" % rec["content_type"])
    if any(b >= 0x7f or (b < 0x20) for b in body):
        die("body is not printable ASCII")
    doc = json.loads(body)
    evs = doc["events"]
    if not evs or not isinstance(doc["relay"], str) or \
            not isinstance(doc["sent"], int):
        die("malformed body")
    ids = [e["id"] for e in evs]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        die("events out of order in one body")
    if rec["delivery"] != "%d-%d" % (ids[0], ids[-1]):
        die("delivery header %r for ids %d-%d" %
            (rec["delivery"], ids[0], ids[-1]))
    lines.append("%d %d-%d" % (rec["status"], ids[0], ids[-1]))
    if 200 <= rec["status"] < 300:
        delivered.extend(ids)
        for e in evs:
            events.append("event %d %s %s %s %s" % (
                e["id"], e["session"] or "-", e["action"],
                e["source"] or "-", json.dumps(e["detail"])))
for line in lines:
    print(line)
print("delivered: " + " ".join(str(i) for i in delivered))
for line in events:
    print(line)
