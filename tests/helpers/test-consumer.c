/*
 * test-consumer: stands in for an engineer's `join` in the broker's tests
 * and benchmarks (never installed).
 *
 *	test-consumer -S socket -s session -u name [-r] [-c colsxrows]
 *	    [-o output-file] [-p snapshot-file] [-n notice-file] [-l log]
 *	    [-k keys] [-K] [-z colsxrows] [-x hex-frame] [-C chat]
 *	    [-b bytes] [-w seconds]
 *
 * Says hello (read-only with -r), appends the OUTPUT bytes it receives to
 * -o, snapshot screens to -p, notices to -n (a line each), and a line per
 * frame to -l (runs of output frames as one line). After its first
 * snapshot it sends -k as keys, -z as a resize, -C as chat; -K sends
 * standard input as keys; -x sends raw bytes after hello. It leaves at the
 * broker's end of stream, after -b output bytes, or after -w seconds. A
 * stopped test-consumer simply stops reading.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static FILE *
open_or_null(const char *path)
{
	FILE	*f;

	if (path == NULL)
		return NULL;
	if ((f = fopen(path, "a")) == NULL)
		h_die("%s: %s", path, strerror(errno));
	/* Tests watch these files grow: nothing waits in a buffer. */
	setvbuf(f, NULL, _IONBF, 0);
	return f;
}

static void
send_keys(struct hpeer *h, const char *name, const u_char *p, size_t len)
{
	struct proto_keys	 k;
	size_t			 n;

	memset(&k, 0, sizeof(k));
	k.pane = FRAME_PANE_MAIN;
	tunl_strlcpy(k.engineer, name, sizeof(k.engineer));
	while (len > 0) {
		n = len < PROTO_KEYS_MAX ? len : PROTO_KEYS_MAX;
		k.data = p;
		k.len = n;
		if (proto_put_keys(h->out, &k) != 0)
			h_die("keys");
		p += n;
		len -= n;
	}
}

int
main(int argc, char **argv)
{
	struct hpeer		 h;
	struct pollfd		 pfd[2];
	struct frame		 f;
	struct proto_hello	 bh;
	struct proto_snapshot	 s;
	struct proto_error	 e;
	static struct proto_viewers v;
	static struct proto_chat c;
	const char		*sock = NULL, *sid = NULL, *name = NULL;
	const char		*keys = NULL, *chat = NULL, *logpath = NULL;
	FILE			*out = NULL, *snap = NULL, *notes = NULL;
	char			 t[PROTO_TEXT_MAX + 1];
	u_char			 raw[8192], chunk[4096];
	const u_char		*d;
	size_t			 rawlen = 0, dl;
	unsigned long long	 got = 0, want = 0;
	long long		 val, oversize = 0;
	u_int			 cols = 80, rows = 24, zc = 0, zr = 0, i;
	int64_t			 stop_at = -1;
	int			 ch, mode = PROTO_MODE_RW, stdin_keys = 0;
	int			 first_snap = 1, last_output = 0, r, indone = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "S:s:u:rc:o:p:n:l:k:Kz:x:X:C:b:w:")) !=
	    -1) {
		switch (ch) {
		case 'S': sock = optarg; break;
		case 's': sid = optarg; break;
		case 'u': name = optarg; break;
		case 'r': mode = PROTO_MODE_RO; break;
		case 'c':
			if (h_size(optarg, &cols, &rows) != 0)
				h_die("bad -c");
			break;
		case 'o': out = open_or_null(optarg); break;
		case 'p': snap = open_or_null(optarg); break;
		case 'n': notes = open_or_null(optarg); break;
		case 'l': logpath = optarg; break;
		case 'k': keys = optarg; break;
		case 'K': stdin_keys = 1; break;
		case 'z':
			if (h_size(optarg, &zc, &zr) != 0)
				h_die("bad -z");
			break;
		case 'x':
			if (h_hex(optarg, raw, sizeof(raw), &rawlen) != 0)
				h_die("bad -x");
			break;
		case 'X':
			if (tunl_strtonum(optarg, 1, 4 * 1024 * 1024, &oversize)
			    != 0)
				h_die("bad -X");
			break;
		case 'C': chat = optarg; break;
		case 'b':
			if (tunl_strtonum(optarg, 1, 1LL << 40, &val) != 0)
				h_die("bad -b");
			want = (unsigned long long)val;
			break;
		case 'w':
			if (tunl_strtonum(optarg, 1, 86400, &val) != 0)
				h_die("bad -w");
			stop_at = h_now_us() + val * 1000000;
			break;
		default:
			h_die("bad option");
		}
	}
	if (sock == NULL || sid == NULL || name == NULL)
		h_die("usage: test-consumer -S socket -s session -u name ...");
	h_init(&h, h_connect(sock), 1024 * 1024);
	h_own(&h);
	if (logpath != NULL)
		h.log = h_open_append(logpath);
	h_send_hello(&h, PROTO_ROLE_CONSUMER, sid, name, mode, cols, rows);
	if (oversize > 0)
		h_put_oversize(&h, (size_t)oversize);
	if (rawlen > 0 && buf_put(h.out, raw, rawlen) != 0)
		h_die("raw frame too large");

	for (;;) {
		if (stop_at >= 0 && h_now_us() >= stop_at)
			break;
		/* The broker gone while we write is its end of stream too. */
		if (h_flush(&h, 0) != 0) {
			if (h.log != NULL)
				fprintf(h.log, "eof\n");
			break;
		}
		pfd[0].fd = h.fd;
		pfd[0].events = POLLIN | (buf_len(h.out) > 0 ? POLLOUT : 0);
		pfd[1].fd = stdin_keys && !indone && !first_snap ?
		    STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) == -1 && errno != EINTR)
			h_die("poll: %s", strerror(errno));
		if (pfd[1].revents != 0) {
			ssize_t k = read(STDIN_FILENO, chunk, sizeof(chunk));
			if (k > 0)
				send_keys(&h, name, chunk, (size_t)k);
			else
				indone = 1;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (h_read(&h) < 0) {
			if (h.log != NULL)
				fprintf(h.log, "eof\n");
			break;
		}
		while ((r = frame_reader_next(&h.fr, &f)) != TUNL_ERR_SHORT) {
			if (r != 0)
				continue;
			if (f.type != FRAME_OUTPUT)
				last_output = 0;
			switch (f.type) {
			case FRAME_OUTPUT:
				if (proto_get_output(f.payload, &d, &dl) != 0)
					h_die("bad output frame");
				if (out != NULL && fwrite(d, 1, dl, out) != dl)
					h_die("write output");
				got += dl;
				if (!last_output && h.log != NULL)
					fprintf(h.log, "output\n");
				last_output = 1;
				break;
			case FRAME_HELLO:
				if (proto_get_hello(f.payload, &bh) != 0)
					h_die("bad hello");
				if (h.log != NULL)
					fprintf(h.log, "hello mode=%u size=%ux%u\n",
					    bh.mode, bh.cols, bh.rows);
				break;
			case FRAME_SNAPSHOT:
				if (proto_get_snapshot(f.payload, &s) != 0)
					h_die("bad snapshot");
				if (snap != NULL) {
					fwrite(s.data, 1, s.len, snap);
					fputc('\n', snap);
					fflush(snap);
				}
				if (h.log != NULL)
					fprintf(h.log, "snapshot id=%u %ux%u len=%zu\n",
					    s.id, s.cols, s.rows, s.len);
				if (first_snap) {
					first_snap = 0;
					if (keys != NULL)
						send_keys(&h, name,
						    (const u_char *)keys,
						    strlen(keys));
					if (zc != 0 && proto_put_resize(h.out,
					    zc, zr) != 0)
						h_die("resize");
					if (chat != NULL) {
						memset(&c, 0, sizeof(c));
						tunl_strlcpy(c.from, name,
						    sizeof(c.from));
						tunl_strlcpy(c.text, chat,
						    sizeof(c.text));
						if (proto_put_chat(h.out,
						    &c) != 0)
							h_die("chat");
					}
				}
				break;
			case FRAME_NOTICE:
				if (proto_get_text(f.payload, t) != 0)
					h_die("bad notice");
				if (notes != NULL) {
					fprintf(notes, "%s\n", t);
					fflush(notes);
				}
				if (h.log != NULL)
					fprintf(h.log, "notice %s\n", t);
				break;
			case FRAME_ERROR:
				if (proto_get_error(f.payload, &e) != 0)
					h_die("bad error");
				if (h.log != NULL)
					fprintf(h.log, "error %u %s\n", e.code,
					    e.message);
				break;
			case FRAME_VIEWERS:
				if (proto_get_viewers(f.payload, &v) != 0)
					h_die("bad viewers");
				if (h.log != NULL) {
					fprintf(h.log, "viewers %u", v.count);
					for (i = 0; i < v.count; i++)
						fprintf(h.log, " %s:%s",
						    v.v[i].name,
						    v.v[i].mode == PROTO_MODE_RW ?
						    "rw" : "ro");
					fprintf(h.log, "\n");
				}
				break;
			case FRAME_CHAT:
				if (proto_get_chat(f.payload, &c) != 0)
					h_die("bad chat");
				if (h.log != NULL)
					fprintf(h.log, "chat %s %s\n", c.from,
					    c.text);
				break;
			default:
				if (h.log != NULL)
					fprintf(h.log, "frame %s\n",
					    frame_type_name(f.type));
				break;
			}
		}
		if (want > 0 && got >= want)
			break;
	}
	h_free(&h);
	if (out != NULL)
		fclose(out);
	if (snap != NULL)
		fclose(snap);
	if (notes != NULL)
		fclose(notes);
	return 0;
}
