/*
 * test-producer: stands in for the customer's side of a session in the
 * broker's tests and benchmarks (never installed).
 *
 *	test-producer -S socket -s session [-n bytes | -f file | -i]
 *	    [-o sent-copy] [-l log] [-d done-file] [-w seconds] [-e]
 *	    [-x hex-frame] [-c colsxrows] [-P]
 *
 * Streams output as fast as the broker takes it: -n bytes of generated
 * text lines, the contents of -f file, or (-i) standard input until its
 * end. Every byte sent as output is appended to -o. It answers each
 * snapshot request, in stream order, with a screen made of the last line
 * it sent; logs every frame it receives to -l; writes "done BYTES MS" to
 * -d once everything was handed to the broker; -e echoes keys back as
 * output; -x sends raw bytes (a frame of the test's making) after hello;
 * -P leaves the broker's pings unanswered (a link frozen after hello).
 * With -w it leaves that many seconds after sending; without, when the
 * broker closes.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

#define GEN_FRAME	16384
#define QUEUE_MAX	(8 * 1024 * 1024)
#define QUEUE_LOW	(256 * 1024)

static char	 lastline[256] = "";
static size_t	 lastlen;
static size_t	 curlen;
static char	 curline[256];
static int	 no_pong;	/* -P: a frozen link, pings unanswered */

/* Remember the last whole line sent: it is the synthetic screen. */
static void
track(const u_char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			memcpy(lastline, curline, curlen);
			lastlen = curlen;
			curlen = 0;
		} else if (p[i] != '\r' && curlen < sizeof(curline))
			curline[curlen++] = (char)p[i];
	}
}

static void
send_output(struct hpeer *h, FILE *copy, const u_char *p, size_t len)
{
	int	 r;

	if ((r = proto_put_output(h->out, p, len)) != 0)
		h_die("output: %s", tunl_err(r));
	if (copy != NULL && fwrite(p, 1, len, copy) != len)
		h_die("copy: %s", strerror(errno));
	track(p, len);
}

static void
generate(struct hpeer *h, FILE *copy, unsigned long long *line,
    size_t *partial, size_t want)
{
	static char	 buf[GEN_FRAME + 128];
	char		 l[96];
	size_t		 n = 0, k;
	int		 ll;

	while (n < want) {
		ll = snprintf(l, sizeof(l), "%010llu the quick brown fox "
		    "jumps over the lazy dog\r\n", *line);
		k = (size_t)ll - *partial;
		if (k > want - n)
			k = want - n;
		memcpy(buf + n, l + *partial, k);
		n += k;
		*partial += k;
		if (*partial == (size_t)ll) {
			*partial = 0;
			(*line)++;
		}
	}
	send_output(h, copy, (u_char *)buf, n);
}

static void
log_frame(FILE *log, struct frame *f, struct hpeer *h, int echo, FILE *copy)
{
	struct proto_keys	 k;
	struct proto_error	 e;
	static struct proto_viewers v;
	static struct proto_chat c;
	struct proto_snapshot	 s;
	char			 t[PROTO_TEXT_MAX + 1];
	u_int32_t		 id;
	u_int16_t		 cols, rows;
	u_int			 i;
	int			 r = 0;

	switch (f->type) {
	case FRAME_PING:
		/* The broker's heartbeat. */
		if ((r = proto_get_u32(f->payload, &id)) != 0)
			break;
		if (!no_pong &&
		    (r = proto_put_u32(h->out, FRAME_PONG, id)) != 0)
			h_die("pong: %s", tunl_err(r));
		if (log != NULL)
			fprintf(log, "ping %s\n", no_pong ? "ignored" :
			    "answered");
		return;
	case FRAME_KEYS:
		if ((r = proto_get_keys(f->payload, &k)) != 0)
			break;
		if (log != NULL) {
			fprintf(log, "keys pane=%u from=%s data=", k.pane,
			    k.engineer);
			h_escape(log, k.data, k.len);
			fprintf(log, "\n");
		}
		if (echo)
			send_output(h, copy, k.data, k.len);
		return;
	case FRAME_SNAPSHOT_REQ:
		if ((r = proto_get_u32(f->payload, &id)) != 0)
			break;
		memset(&s, 0, sizeof(s));
		s.id = id;
		s.cols = 80;
		s.rows = 24;
		s.cy = 1;
		s.data = (const u_char *)lastline;
		s.len = lastlen;
		if ((r = proto_put_snapshot(h->out, &s)) != 0)
			h_die("snapshot: %s", tunl_err(r));
		if (log != NULL)
			fprintf(log, "snapreq %u\n", id);
		return;
	case FRAME_RESIZE:
		if ((r = proto_get_resize(f->payload, &cols, &rows)) != 0)
			break;
		if (log != NULL)
			fprintf(log, "resize %ux%u\n", cols, rows);
		return;
	case FRAME_STATUS:
	case FRAME_NOTICE:
		if ((r = proto_get_text(f->payload, t)) != 0)
			break;
		if (log != NULL)
			fprintf(log, "%s %s\n", frame_type_name(f->type), t);
		return;
	case FRAME_ERROR:
		if ((r = proto_get_error(f->payload, &e)) != 0)
			break;
		if (log != NULL)
			fprintf(log, "error %u %s\n", e.code, e.message);
		return;
	case FRAME_VIEWERS:
		if ((r = proto_get_viewers(f->payload, &v)) != 0)
			break;
		if (log != NULL) {
			fprintf(log, "viewers %u", v.count);
			for (i = 0; i < v.count; i++)
				fprintf(log, " %s:%s", v.v[i].name,
				    v.v[i].mode == PROTO_MODE_RW ? "rw" : "ro");
			fprintf(log, "\n");
		}
		return;
	case FRAME_CHAT:
		if ((r = proto_get_chat(f->payload, &c)) != 0)
			break;
		if (log != NULL)
			fprintf(log, "chat %s %s\n", c.from, c.text);
		return;
	}
	if (log != NULL)
		fprintf(log, "frame %s%s\n", frame_type_name(f->type),
		    r != 0 ? " malformed" : "");
}

int
main(int argc, char **argv)
{
	struct hpeer		 h;
	struct pollfd		 pfd[2];
	struct frame		 f;
	struct proto_hello	 bh;
	const char		*sock = NULL, *sid = NULL, *file = NULL;
	const char		*copypath = NULL, *logpath = NULL, *done = NULL;
	FILE			*copy = NULL, *in = NULL, *donef;
	u_char			 raw[8192], chunk[16384];
	size_t			 rawlen = 0, n;
	unsigned long long	 total = 0, sent = 0, line = 0;
	size_t			 partial = 0;
	long long		 v, oversize = 0;
	int64_t			 start = 0, stop_at = -1;
	int			 tmo;
	int			 ch, stdin_mode = 0, echo = 0, hello = 0;
	int			 indone = 0, wait_s = -1, r, doneflag = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "S:s:n:f:io:l:d:w:ex:X:c:P")) != -1) {
		switch (ch) {
		case 'S': sock = optarg; break;
		case 's': sid = optarg; break;
		case 'n':
			if (tunl_strtonum(optarg, 0, 1LL << 40, &v) != 0)
				h_die("bad -n");
			total = (unsigned long long)v;
			break;
		case 'f': file = optarg; break;
		case 'i': stdin_mode = 1; break;
		case 'o': copypath = optarg; break;
		case 'l': logpath = optarg; break;
		case 'd': done = optarg; break;
		case 'w':
			if (tunl_strtonum(optarg, 0, 86400, &v) != 0)
				h_die("bad -w");
			wait_s = (int)v;
			break;
		case 'e': echo = 1; break;
		case 'x':
			if (h_hex(optarg, raw, sizeof(raw), &rawlen) != 0)
				h_die("bad -x");
			break;
		case 'X':
			if (tunl_strtonum(optarg, 1, 4 * 1024 * 1024, &oversize)
			    != 0)
				h_die("bad -X");
			break;
		case 'c': break;	/* the screen is always 80x24 */
		case 'P': no_pong = 1; break;
		default:
			h_die("bad option");
		}
	}
	if (sock == NULL || sid == NULL)
		h_die("usage: test-producer -S socket -s session ...");
	if (copypath != NULL && (copy = fopen(copypath, "w")) == NULL)
		h_die("%s: %s", copypath, strerror(errno));
	if (file != NULL && (in = fopen(file, "r")) == NULL)
		h_die("%s: %s", file, strerror(errno));
	if (stdin_mode)
		in = stdin;
	h_init(&h, h_connect(sock), QUEUE_MAX);
	h_own(&h);
	if (logpath != NULL)
		h.log = h_open_append(logpath);
	h_send_hello(&h, PROTO_ROLE_PRODUCER, sid, NULL, 0, 0, 0);
	if (oversize > 0)
		h_put_oversize(&h, (size_t)oversize);
	if (rawlen > 0 && buf_put(h.out, raw, rawlen) != 0)
		h_die("raw frame too large");
	indone = in == NULL;

	for (;;) {
		/* Queue more output once the broker said hello. */
		if (hello && !doneflag) {
			while (sent < total && buf_len(h.out) < QUEUE_LOW) {
				n = total - sent < GEN_FRAME ?
				    (size_t)(total - sent) : GEN_FRAME;
				generate(&h, copy, &line, &partial, n);
				sent += n;
			}
			if (in != NULL && file != NULL && !indone &&
			    buf_len(h.out) < QUEUE_LOW) {
				n = fread(chunk, 1, sizeof(chunk), in);
				if (n > 0) {
					send_output(&h, copy, chunk, n);
					sent += n;
				} else
					indone = 1;
			}
			if (sent >= total && indone && buf_len(h.out) == 0) {
				doneflag = 1;
				if (copy != NULL)
					fflush(copy);
				if (done != NULL) {
					donef = h_open_append(done);
					fprintf(donef, "done %llu %lld\n", sent,
					    (long long)((h_now_us() - start) /
					    1000));
					fclose(donef);
				}
				if (wait_s >= 0)
					stop_at = h_now_us() +
					    (int64_t)wait_s * 1000000;
			}
		}
		if (stop_at >= 0 && h_now_us() >= stop_at &&
		    buf_len(h.out) == 0)
			break;
		pfd[0].fd = h.fd;
		pfd[0].events = POLLIN | (buf_len(h.out) > 0 ? POLLOUT : 0);
		pfd[1].fd = (stdin_mode && hello && !indone &&
		    buf_len(h.out) < QUEUE_LOW) ? STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		/*
		 * Asleep until there is something to do: an idle stand-in
		 * customer must cost nothing (bench/scale.sh measures the
		 * relay beside it). Only the -w deadline is a timer.
		 */
		tmo = -1;
		if (stop_at >= 0) {
			int64_t left = (stop_at - h_now_us()) / 1000 + 1;

			tmo = left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
		}
		if (poll(pfd, 2, tmo) == -1 && errno != EINTR)
			h_die("poll: %s", strerror(errno));
		if (pfd[1].revents != 0) {
			ssize_t k = read(STDIN_FILENO, chunk, sizeof(chunk));
			if (k > 0) {
				send_output(&h, copy, chunk, (size_t)k);
				sent += (size_t)k;
			} else
				indone = 1;
		}
		if (pfd[0].revents & POLLOUT) {
			/* The broker gone while we write: its end of stream. */
			if (h_flush(&h, 0) != 0) {
				if (h.log != NULL)
					fprintf(h.log, "eof\n");
				break;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (h_read(&h) < 0) {
				if (h.log != NULL)
					fprintf(h.log, "eof\n");
				break;
			}
			while ((r = frame_reader_next(&h.fr, &f)) !=
			    TUNL_ERR_SHORT) {
				if (r != 0)
					continue;
				if (!hello && f.type == FRAME_HELLO) {
					if (proto_get_hello(f.payload,
					    &bh) != 0)
						h_die("bad hello from broker");
					if (h.log != NULL)
						fprintf(h.log, "hello mode=%u "
						    "size=%ux%u\n", bh.mode,
						    bh.cols, bh.rows);
					hello = 1;
					start = h_now_us();
					continue;
				}
				log_frame(h.log, &f, &h, echo, copy);
			}
		}
	}
	h_free(&h);
	if (copy != NULL)
		fclose(copy);
	if (in != NULL && in != stdin)
		fclose(in);
	return 0;
}
