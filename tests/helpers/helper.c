/*
 * helper.c: connecting to a broker, saying hello, framing, logging; for
 * the test producer and consumer (never installed).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

/* The program's own peer (h_own): h_die frees it, so no exit leaks it. */
static struct hpeer	*h_peer;

void
h_die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "test peer: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	h_free(h_peer);
	exit(1);
}

int64_t
h_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

FILE *
h_open_append(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "a")) == NULL)
		h_die("%s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

int
h_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		h_die("socket path too long");
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		h_die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		h_die("connect %s: %s", path, strerror(errno));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		h_die("fcntl: %s", strerror(errno));
	return fd;
}

void
h_init(struct hpeer *h, int fd, size_t outmax)
{
	memset(h, 0, sizeof(*h));
	h->fd = fd;
	if (frame_reader_init(&h->fr) != 0 ||
	    (h->out = buf_new(outmax)) == NULL) {
		h_free(h);
		h_die("out of memory");
	}
}

/*
 * h_die frees h before it exits. Only for a peer that lives until the
 * program ends (a peer on a stack frame that returns must not be left
 * here; h_free takes it away).
 */
void
h_own(struct hpeer *h)
{
	h_peer = h;
}

/* What h_init and the caller set up: buffers, log, socket. */
void
h_free(struct hpeer *h)
{
	if (h == NULL)
		return;
	if (h_peer == h)
		h_peer = NULL;
	frame_reader_free(&h->fr);
	buf_free(h->out);
	h->out = NULL;
	if (h->log != NULL)
		(void)fclose(h->log);
	h->log = NULL;
	if (h->fd != -1)
		(void)close(h->fd);
	h->fd = -1;
}

void
h_send_hello(struct hpeer *h, int role, const char *sid, const char *name,
    int mode, u_int cols, u_int rows)
{
	struct proto_hello	 hello;
	int			 r;

	memset(&hello, 0, sizeof(hello));
	hello.version = TUNL_PROTO_VERSION;
	hello.role = (u_int8_t)role;
	tunl_strlcpy(hello.session, sid, sizeof(hello.session));
	if (role == PROTO_ROLE_CONSUMER) {
		tunl_strlcpy(hello.engineer, name, sizeof(hello.engineer));
		hello.mode = (u_int8_t)mode;
		hello.cols = (u_int16_t)cols;
		hello.rows = (u_int16_t)rows;
	}
	if ((r = proto_put_hello(h->out, &hello)) != 0)
		h_die("hello: %s", tunl_err(r));
}

/*
 * Write what is queued; with wait, until it is all written. Returns -1
 * when the broker has gone.
 */
int
h_flush(struct hpeer *h, int wait)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	while (buf_len(h->out) > 0) {
		n = write(h->fd, buf_ptr(h->out), buf_len(h->out));
		if (n > 0) {
			(void)buf_consume(h->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (!wait)
				return 0;
			pfd.fd = h->fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 1000);
			continue;
		}
		return -1;
	}
	return 0;
}

/* Read what is there into the frame reader: 1 read, 0 nothing, -1 EOF. */
int
h_read(struct hpeer *h)
{
	u_char	 chunk[65536];
	ssize_t	 n;

	n = read(h->fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (frame_reader_feed(&h->fr, chunk, (size_t)n) != 0)
		h_die("frame reader full");
	return 1;
}

/* Hex digits to bytes (for raw frames on the command line). */
int
h_hex(const char *s, u_char *out, size_t max, size_t *len)
{
	size_t	 n = 0;
	u_int	 hi, lo;

	while (s[0] != '\0') {
		if (s[1] == '\0' || n >= max)
			return -1;
		hi = (u_int)(s[0] >= 'a' ? s[0] - 'a' + 10 : s[0] - '0');
		lo = (u_int)(s[1] >= 'a' ? s[1] - 'a' + 10 : s[1] - '0');
		if (hi > 15 || lo > 15)
			return -1;
		out[n++] = (u_char)(hi << 4 | lo);
		s += 2;
	}
	*len = n;
	return 0;
}

/* Printable ASCII as is, everything else as \xNN. */
void
h_escape(FILE *f, const u_char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
}

int
h_size(const char *s, u_int *cols, u_int *rows)
{
	long long	 c, r;
	char		 tmp[32], *x;

	if (tunl_strlcpy(tmp, s, sizeof(tmp)) >= sizeof(tmp) ||
	    (x = strchr(tmp, 'x')) == NULL)
		return -1;
	*x++ = '\0';
	if (tunl_strtonum(tmp, 1, 1000, &c) != 0 ||
	    tunl_strtonum(x, 1, 500, &r) != 0)
		return -1;
	*cols = (u_int)c;
	*rows = (u_int)r;
	return 0;
}

/* A frame of n payload bytes that the broker must refuse unread. */
void
h_put_oversize(struct hpeer *h, size_t n)
{
	u_char	 zero[4096] = { 0 };
	size_t	 k;

	if (buf_put_u32(h->out, (u_int32_t)(n + 1)) != 0 ||
	    buf_put_u8(h->out, FRAME_OUTPUT) != 0)
		h_die("oversize frame");
	while (n > 0) {
		k = n < sizeof(zero) ? n : sizeof(zero);
		if (buf_put(h->out, zero, k) != 0)
			h_die("oversize frame");
		n -= k;
	}
}
