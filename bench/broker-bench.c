/*
 * broker-bench.c: the broker's benchmarks, each beside a baseline measured
 * in the same run (bench/README.md). Run as root by bench/broker.sh, in
 * the harness's namespace, against a tunl-broker it started; the peers
 * are forked children that become the customer and engineer accounts, so
 * the broker's SO_PEERCRED checks are the ones that ship.
 *
 *	broker-bench fanout -S sock -s sid -b broker-pid -P customer
 *	    -C engineer -n consumers [-m bytes] [-k chunk] [-R reps]
 *	broker-bench idle -S sock -s sid -b broker-pid -P customer
 *	    -C engineer [-r rounds]
 *
 * fanout: one producer streams -m bytes (-R times) in -k byte OUTPUT
 * frames to -n read-only consumers read by one process; beside it the
 * same bytes in the same chunks written straight to -n socket pairs (the
 * plain copy) and through a process that only copies (the plain relay).
 * idle: the broker's memory with a producer and no consumer, then with
 * one (any child it has at that moment summed in); then a keystroke's round trip consumer -> broker -> producer ->
 * broker -> consumer, beside the same round trip over a socket pair.
 * loaded: the same round trips while the producer also streams the
 * pattern at -L MB/s (keys that are not in the pattern), with the maxima.
 *
 * Results are lines of key=value pairs on standard output.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/helpers/helper.h"
#include "bench-stream.h"

#define BENCH_PATTERN	BENCH_STREAM_PATTERN
#define BENCH_READ	65536
#define BENCH_TIMEOUT	120000		/* ms for any one step */
#define BENCH_WARMUP	100		/* round trips not counted */
#define BENCH_BLOCK	100		/* round trips in a row, each way */

/* Control messages between the driver and its children. */
enum {
	MSG_READY = 1,
	MSG_GO,
	MSG_DONE,
	MSG_FAIL,
	MSG_RESULT
};
struct msg {
	u_int32_t	 type;
	u_int32_t	 pad;
	u_int64_t	 a, b, c;
};

static u_char		 pattern[BENCH_PATTERN];
static const char	*sockpath, *sid;
static const char	*prod_user, *cons_user;
static u_int		 load_mbps;	/* -L: output while keys are timed */
/* Keys for the loaded round trips: none of them is in the pattern. */
static const char	 load_keys[] = "{}~|^`@#$%&*+=?!<>";
static pid_t		 broker_pid;

static void		 print_mem(const char *, pid_t);

/* ---- small things -------------------------------------------------------- */

static void TUNL_PRINTF(1, 2) TUNL_NORETURN
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "broker-bench[%ld]: ", (long)getpid());
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	_exit(1);
}

static void
msg_send(int fd, u_int32_t type, u_int64_t a, u_int64_t b, u_int64_t c)
{
	struct msg	 m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.a = a;
	m.b = b;
	m.c = c;
	if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		die("control write: %s", strerror(errno));
}

/* Wait for one message; 0, or -1 on timeout or a closed pipe. */
static int
msg_recv(int fd, struct msg *m, int timeout_ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (r <= 0)
		return -1;
	while ((n = read(fd, m, sizeof(*m))) == -1 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

static void
xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
}

static void
set_blocking(int fd, int on)
{
	int	 fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK :
	    fl | O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
}

/*
 * Become an account, with its groups, for good. The group is the key
 * group (tunl-auth) where there is one: the broker takes producers and
 * consumers only on connections tunl-authority admit opened, and this
 * stands in for it, as the tests' peers do (tests/integration/
 * broker-lib.sh).
 */
static void
become(const char *user)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 gid;

	if ((pw = getpwnam(user)) == NULL)
		die("no account %s", user);
	gid = (gr = getgrnam("tunl-auth")) != NULL ? gr->gr_gid : pw->pw_gid;
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		die("become %s: %s", user, strerror(errno));
}

static void
write_all(int fd, const void *p, size_t len)
{
	const u_char	*d = p;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, d, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", n == 0 ? "closed" : strerror(errno));
		d += n;
		len -= (size_t)n;
	}
}

static void
write_buf(int fd, struct buf *b)
{
	write_all(fd, buf_ptr(b), buf_len(b));
	buf_reset(b);
}

static void
reap(pid_t pid, struct rusage *ru)
{
	int	 st;

	if (pid <= 0)
		return;
	while (wait4(pid, &st, 0, ru) == -1 && errno == EINTR)
		;
}

static void
stop(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGTERM);
	reap(pid, NULL);
}

/* The broker's user + system time so far, in clock ticks. */
static unsigned long long
broker_ticks(void)
{
	char			 path[64], text[1024], *p, *end;
	unsigned long long	 v[2];
	ssize_t			 n;
	int			 fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)broker_pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		die("%s: %s", path, strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		die("%s: short read", path);
	text[n] = '\0';
	/* After "pid (comm)": field 3 is the state; utime is 14, stime 15. */
	if ((p = strrchr(text, ')')) == NULL)
		die("%s: no comm", path);
	p++;
	for (field = 3; field < 14; field++) {
		if ((p = strchr(p + 1, ' ')) == NULL)
			die("%s: short", path);
	}
	for (field = 0; field < 2; field++) {
		errno = 0;
		v[field] = strtoull(p + 1, &end, 10);
		if (errno != 0 || end == p + 1)
			die("%s: bad times", path);
		p = end;
	}
	return v[0] + v[1];
}

/*
 * A "Name:   N kB" line of /proc/<pid>/<file>, in KiB; -1 if none, -2 if
 * the file cannot be opened (the process is gone).
 */
static long long
proc_kb(pid_t pid, const char *file, const char *name)
{
	char		 path[64], line[256];
	FILE		*f;
	size_t		 len = strlen(name);
	long long	 v = -1;
	char		*p, *end;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -2;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, len) != 0 || line[len] != ':')
			continue;
		for (p = line + len + 1; *p == ' ' || *p == '\t'; p++)
			;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || end == p)
			v = -1;
		break;
	}
	fclose(f);
	return v;
}

/*
 * The stream (bench-stream.c), which the session's escape filter must
 * pass unchanged, so every consumer must receive exactly the bytes
 * produced.
 */
static void
make_pattern(void)
{
	struct vtfilter	 vf;
	struct buf	*out;

	bench_stream_pattern(pattern);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	if ((out = buf_new(4 * BENCH_PATTERN)) == NULL)
		die("out of memory");
	if (vtfilter_feed(&vf, pattern, sizeof(pattern), out) != 0 ||
	    vtfilter_flush(&vf, out) != 0 ||
	    buf_len(out) != sizeof(pattern) ||
	    memcmp(buf_ptr(out), pattern, sizeof(pattern)) != 0)
		die("the escape filter changes the benchmark's stream");
	buf_free(out);
}

/* ---- frames, counted without copying -------------------------------------- */

/*
 * A consumer's stream as the reader sees it: frame headers parsed as they
 * go by, OUTPUT payload bytes counted, nothing buffered.
 */
struct counter {
	int		 fd;
	int		 framed;
	u_char		 hdr[FRAME_HEADER_LEN];
	size_t		 hlen;		/* header bytes so far */
	size_t		 left;		/* payload bytes of this frame */
	u_int8_t	 type;
	u_int64_t	 output;	/* OUTPUT payload (raw: all) bytes */
	int		 hello;		/* the broker said hello */
	int		 live;		/* has had its snapshot */
	u_int		 notices;	/* NOTICE or ERROR frames */
};

static void
counter_feed(struct counter *c, const u_char *p, size_t len)
{
	size_t		 k;
	u_int32_t	 flen;

	if (!c->framed) {
		c->output += len;
		return;
	}
	while (len > 0) {
		if (c->hlen < FRAME_HEADER_LEN) {
			k = FRAME_HEADER_LEN - c->hlen;
			if (k > len)
				k = len;
			memcpy(c->hdr + c->hlen, p, k);
			c->hlen += k;
			p += k;
			len -= k;
			if (c->hlen < FRAME_HEADER_LEN)
				return;
			flen = (u_int32_t)c->hdr[0] << 24 |
			    (u_int32_t)c->hdr[1] << 16 |
			    (u_int32_t)c->hdr[2] << 8 | c->hdr[3];
			if (flen < 1 || flen > FRAME_MAX)
				die("bad frame length %u", flen);
			c->type = c->hdr[4];
			c->left = flen - 1;
			if (c->type == FRAME_HELLO)
				c->hello = 1;
			if (c->type == FRAME_SNAPSHOT)
				c->live = 1;
			if (c->type == FRAME_ERROR && !c->hello)
				die("a consumer was refused");
			if (c->type == FRAME_NOTICE || c->type == FRAME_ERROR)
				c->notices++;
		}
		k = c->left < len ? c->left : len;
		if (c->type == FRAME_OUTPUT)
			c->output += k;
		c->left -= k;
		p += k;
		len -= k;
		if (c->left == 0)
			c->hlen = 0;
	}
}

/* A read-only consumer's hello, read through its counter. */
static void
consumer_hello(struct counter *c, const char *name)
{
	struct hpeer	 h;
	u_char		 chunk[4096];
	ssize_t		 k;

	h_init(&h, h_connect(sockpath), 4096);
	set_blocking(h.fd, 1);
	h_send_hello(&h, PROTO_ROLE_CONSUMER, sid, name, PROTO_MODE_RO, 80,
	    24);
	write_buf(h.fd, h.out);
	c->fd = h.fd;
	c->framed = 1;
	while (!c->hello) {
		if ((k = read(c->fd, chunk, sizeof(chunk))) <= 0)
			die("%s: the broker closed during hello", name);
		counter_feed(c, chunk, (size_t)k);
	}
	frame_reader_free(&h.fr);
	buf_free(h.out);
}

/* ---- the reader: every consumer in one process ---------------------------- */

/*
 * Reads n streams. Tells ctl when every one is live (framed) or at once
 * (raw); then, for each GO of bytes, reads until every stream has all of
 * them, reporting the slowest stream's progress to prog as it goes, and
 * says DONE (a = notices seen while streaming).
 */
static void
reader(struct counter *c, u_int n, int ctl, int prog, u_int64_t window)
{
	struct pollfd	*pfd;
	u_char		*chunk;
	struct msg	 m;
	u_int64_t	 target = 0, low, told = 0;
	u_int		 i, live, base_notices = 0;
	ssize_t		 k;

	if ((pfd = calloc(n + 1, sizeof(*pfd))) == NULL ||
	    (chunk = malloc(BENCH_READ)) == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		pfd[i].fd = c[i].fd;
		pfd[i].events = POLLIN;
		set_blocking(c[i].fd, 0);
	}
	pfd[n].fd = ctl;
	pfd[n].events = POLLIN;

	/* Every framed consumer must have its snapshot before GO. */
	for (;;) {
		for (i = 0, live = 0; i < n; i++)
			live += !c[i].framed || c[i].live;
		if (live == n)
			break;
		if (poll(pfd, n, BENCH_TIMEOUT) <= 0)
			die("consumers not live: %u of %u", live, n);
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((k = read(c[i].fd, chunk, BENCH_READ)) <= 0) {
				if (k == -1 && errno == EAGAIN)
					continue;
				die("consumer %u closed before its snapshot", i);
			}
			counter_feed(&c[i], chunk, (size_t)k);
		}
	}
	for (i = 0; i < n; i++)
		base_notices += c[i].notices;
	msg_send(ctl, MSG_READY, 0, 0, 0);

	for (;;) {
		low = UINT64_MAX;
		for (i = 0; i < n; i++) {
			if (c[i].output < low)
				low = c[i].output;
		}
		if (target > 0 && low >= target) {
			for (i = 0, live = 0; i < n; i++)
				live += c[i].notices;
			msg_send(ctl, MSG_DONE, live - base_notices, 0, 0);
			target = 0;
		}
		if (prog != -1 && low > told && (low - told >= window / 4 ||
		    low == target)) {
			msg_send(prog, MSG_DONE, low, 0, 0);
			told = low;
		}
		for (i = 0; i < n; i++)
			pfd[i].events = target > 0 &&
			    c[i].output < target ? POLLIN : 0;
		if (poll(pfd, n + 1, BENCH_TIMEOUT) <= 0)
			die("reader: nothing for %d s", BENCH_TIMEOUT / 1000);
		if (pfd[n].revents != 0) {
			if (msg_recv(ctl, &m, 0) != 0)
				break;		/* the driver is done */
			if (m.type == MSG_GO)
				target = low + m.a;
		}
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(c[i].fd, chunk, BENCH_READ);
			if (k == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (k <= 0)
				die("consumer %u: end of stream", i);
			counter_feed(&c[i], chunk, (size_t)k);
		}
	}
	free(chunk);
	free(pfd);
	_exit(0);
}

/* ---- the producer: the same chunks to each of its sockets ----------------- */

struct producer {
	int		*fd;
	u_int		 n;
	int		 framed;
	struct hpeer	 h;		/* framed: the broker connection */
	int		 ctl, prog;
	u_int64_t	 window, chunk;
	u_int64_t	 sent_total;	/* over every run so far */
};

/* Answer what the broker asks (framed only): snapshots; never blocks. */
static void
producer_frames(struct producer *p)
{
	struct proto_snapshot	 s;
	struct frame		 f;
	u_int32_t		 id;
	int			 r;

	if (h_read(&p->h) < 0)
		die("producer: the broker closed");
	while ((r = frame_reader_next(&p->h.fr, &f)) != TUNL_ERR_SHORT) {
		if (r != 0 || f.type != FRAME_SNAPSHOT_REQ)
			continue;
		if (proto_get_u32(f.payload, &id) != 0)
			die("producer: bad snapshot request");
		memset(&s, 0, sizeof(s));
		s.id = id;
		s.cols = 80;
		s.rows = 24;
		s.data = (const u_char *)"broker-bench";
		s.len = 12;
		if (proto_put_snapshot(p->h.out, &s) != 0)
			die("producer: snapshot");
	}
}

/* Write len bytes of the pattern, as one OUTPUT frame if framed, to all. */
static void
producer_chunk(struct producer *p, struct pollfd *pfd, size_t len)
{
	u_char		 hdr[FRAME_HEADER_LEN];
	struct iovec	 iov[2];
	size_t		*done, total, hl = p->framed ? FRAME_HEADER_LEN : 0;
	u_int		 i, pending;
	ssize_t		 k;
	u_int32_t	 flen = (u_int32_t)len + 1;
	static u_char	*data;

	if (data == NULL) {
		if ((data = malloc(len)) == NULL)
			die("out of memory");
		for (i = 0; i < len; i += BENCH_PATTERN)
			memcpy(data + i, pattern, BENCH_PATTERN);
	}
	hdr[0] = (u_char)(flen >> 24);
	hdr[1] = (u_char)(flen >> 16);
	hdr[2] = (u_char)(flen >> 8);
	hdr[3] = (u_char)flen;
	hdr[4] = FRAME_OUTPUT;
	total = hl + len;
	if ((done = calloc(p->n, sizeof(*done))) == NULL)
		die("out of memory");
	for (;;) {
		pending = 0;
		for (i = 0; i < p->n; i++) {
			while (done[i] < total) {
				if (done[i] < hl) {
					iov[0].iov_base = hdr + done[i];
					iov[0].iov_len = hl - done[i];
					iov[1].iov_base = data;
					iov[1].iov_len = len;
					k = writev(p->fd[i], iov, 2);
				} else
					k = write(p->fd[i], data + done[i] - hl,
					    total - done[i]);
				if (k == -1 && errno == EINTR)
					continue;
				if (k == -1 && errno == EAGAIN)
					break;
				if (k <= 0)
					die("producer: write: %s", k == 0 ?
					    "closed" : strerror(errno));
				done[i] += (size_t)k;
			}
			pfd[i].fd = p->fd[i];
			pfd[i].events = done[i] < total ? POLLOUT : 0;
			if (p->framed && i == 0)
				pfd[i].events |= POLLIN;
			pending += done[i] < total;
		}
		if (pending == 0)
			break;
		if (poll(pfd, p->n, BENCH_TIMEOUT) <= 0)
			die("producer: stuck");
		if (p->framed && (pfd[0].revents & (POLLIN | POLLHUP)))
			producer_frames(p);
	}
	free(done);
	/* Whole frames only: a snapshot answer goes between two chunks. */
	if (p->framed && buf_len(p->h.out) > 0) {
		set_blocking(p->fd[0], 1);
		write_buf(p->fd[0], p->h.out);
		set_blocking(p->fd[0], 0);
	}
}

/* Wait until the slowest stream is at most a window behind. */
static void
producer_window(struct producer *p, u_int64_t *acked)
{
	struct msg	 m;
	ssize_t		 k;

	if (p->prog == -1)
		return;
	/* Take what progress there is, without waiting. */
	while ((k = read(p->prog, &m, sizeof(m))) == (ssize_t)sizeof(m))
		*acked = m.a;
	while (p->sent_total - *acked > p->window) {
		if (msg_recv(p->prog, &m, BENCH_TIMEOUT) != 0)
			die("producer: no progress from the consumers");
		*acked = m.a;
	}
}

static void TUNL_NORETURN
producer_run(struct producer *p)
{
	struct pollfd	*pfd;
	struct msg	 m;
	u_int64_t	 want, sent, acked = 0;
	u_int		 i;

	if ((pfd = calloc(p->n + 2, sizeof(*pfd))) == NULL)
		die("out of memory");
	for (i = 0; i < p->n; i++)
		set_blocking(p->fd[i], 0);
	if (p->prog != -1)
		set_blocking(p->prog, 0);
	msg_send(p->ctl, MSG_READY, 0, 0, 0);
	for (;;) {
		/* Between runs: answer the broker, wait for GO. */
		pfd[0].fd = p->ctl;
		pfd[0].events = POLLIN;
		pfd[1].fd = p->framed ? p->fd[0] : -1;
		pfd[1].events = POLLIN | (p->framed && buf_len(p->h.out) > 0 ?
		    POLLOUT : 0);
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			die("producer: poll: %s", strerror(errno));
		if (p->framed && (pfd[1].revents & POLLOUT))
			(void)h_flush(&p->h, 0);
		if (p->framed && (pfd[1].revents & (POLLIN | POLLHUP)))
			producer_frames(p);
		if (pfd[0].revents == 0)
			continue;
		if (msg_recv(p->ctl, &m, 0) != 0)
			break;
		if (m.type != MSG_GO)
			continue;
		if (p->framed)
			(void)h_flush(&p->h, 1);
		want = m.a;
		for (sent = 0; sent < want; sent += p->chunk) {
			producer_window(p, &acked);
			producer_chunk(p, pfd, p->chunk);
			p->sent_total += p->chunk;
		}
	}
	_exit(0);
}

/* Connect to the broker and say hello; returns once it said hello back. */
static void
peer_hello(struct hpeer *h, int role, const char *name, int mode)
{
	struct frame	 f;
	int		 r;

	h_init(h, h_connect(sockpath), 4 * 1024 * 1024);
	set_blocking(h->fd, 1);
	h_send_hello(h, role, sid, name, mode, 80, 24);
	write_buf(h->fd, h->out);
	for (;;) {
		if (h_read(h) < 0)
			die("%s: the broker closed during hello", name);
		while ((r = frame_reader_next(&h->fr, &f)) != TUNL_ERR_SHORT) {
			if (r != 0)
				continue;
			if (f.type == FRAME_ERROR)
				die("%s: the broker refused us", name);
			if (f.type == FRAME_HELLO)
				return;
		}
	}
}

/* ---- fan-out ---------------------------------------------------------------- */

struct run {
	pid_t		 prod, reader, relay;
	int		 pctl, rctl;	/* the driver's ends */
};

enum fan_kind { FAN_COPY, FAN_RELAY, FAN_BROKER };

/* Copy everything from in to each of n sockets: an ideal relay. */
static void TUNL_NORETURN
relay_run(int in, int *out, u_int n)
{
	u_char	*chunk;
	ssize_t	 k;
	u_int	 i;

	if ((chunk = malloc(BENCH_READ)) == NULL)
		die("out of memory");
	for (;;) {
		k = read(in, chunk, BENCH_READ);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (i = 0; i < n; i++)
			write_all(out[i], chunk, (size_t)k);
	}
	_exit(0);
}

static void
fan_start(struct run *run, enum fan_kind kind, u_int n, u_int64_t chunk,
    u_int64_t window)
{
	struct counter	*c;
	struct producer	 p;
	struct msg	 m;
	int		 pc[2], rc[2], prog[2], (*sp)[2], in[2], rfd;
	u_int		 i;
	char		 name[32];

	memset(run, 0, sizeof(*run));
	run->relay = -1;
	if ((c = calloc(n, sizeof(*c))) == NULL ||
	    (sp = calloc(n, sizeof(*sp))) == NULL)
		die("out of memory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pc) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rc) == -1)
		die("socketpair: %s", strerror(errno));
	xpipe(prog);
	for (i = 0; kind != FAN_BROKER && i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp[i]) == -1)
			die("socketpair: %s", strerror(errno));
	}
	in[0] = in[1] = -1;
	if (kind == FAN_RELAY) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    in) == -1)
			die("socketpair: %s", strerror(errno));
	}

	/* The producer first: the consumers' snapshots come from it. */
	memset(&p, 0, sizeof(p));
	p.framed = kind == FAN_BROKER;
	p.ctl = pc[1];
	p.prog = prog[0];
	p.window = window;
	p.chunk = chunk;
	if ((p.fd = calloc(n, sizeof(*p.fd))) == NULL)
		die("out of memory");
	if ((run->prod = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (run->prod == 0) {
		close(pc[0]);
		close(rc[0]);
		close(rc[1]);
		close(prog[1]);
		if (kind == FAN_BROKER) {
			become(prod_user);
			peer_hello(&p.h, PROTO_ROLE_PRODUCER, "producer", 0);
			p.fd[0] = p.h.fd;
			p.n = 1;
		} else if (kind == FAN_RELAY) {
			p.fd[0] = in[0];
			p.n = 1;
		} else {
			for (i = 0; i < n; i++)
				p.fd[i] = sp[i][0];
			p.n = n;
		}
		producer_run(&p);
	}
	close(pc[1]);
	close(prog[0]);
	run->pctl = pc[0];
	if (msg_recv(run->pctl, &m, BENCH_TIMEOUT) != 0 || m.type != MSG_READY)
		die("the producer did not start");

	if (kind == FAN_RELAY) {
		if ((run->relay = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (run->relay == 0) {
			close(pc[0]);
			close(rc[0]);
			close(rc[1]);
			close(prog[1]);
			close(in[0]);
			for (i = 0; i < n; i++)
				close(sp[i][1]);
			rfd = in[1];
			for (i = 0; i < n; i++)
				p.fd[i] = sp[i][0];
			relay_run(rfd, p.fd, n);
		}
		close(in[0]);
		close(in[1]);
	}

	if ((run->reader = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (run->reader == 0) {
		close(pc[0]);
		close(rc[0]);
		for (i = 0; i < n; i++) {
			c[i].framed = kind == FAN_BROKER;
			if (kind != FAN_BROKER) {
				close(sp[i][0]);
				c[i].fd = sp[i][1];
			}
		}
		if (kind == FAN_BROKER) {
			become(cons_user);
			/*
			 * One at a time: the broker holds at most 16
			 * connections before their hello.
			 */
			for (i = 0; i < n; i++) {
				snprintf(name, sizeof(name), "bench%u", i);
				consumer_hello(&c[i], name);
			}
		}
		reader(c, n, rc[1], prog[1], window);
	}
	close(rc[1]);
	close(prog[1]);
	for (i = 0; kind != FAN_BROKER && i < n; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
	run->rctl = rc[0];
	if (msg_recv(run->rctl, &m, BENCH_TIMEOUT) != 0 || m.type != MSG_READY)
		die("the consumers did not start");
	free(p.fd);
	free(c);
	free(sp);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t
percentile(int64_t *v, size_t n, u_int pct)
{
	size_t	 i;

	qsort(v, n, sizeof(*v), cmp_i64);
	i = (n * pct + 99) / 100;
	return v[i == 0 ? 0 : i - 1];
}

/*
 * reps runs of bytes each; the median run's MB/s (MiB of produced bytes
 * per second, every consumer having all of them). *ticks: the broker's
 * CPU over all runs; *notices: notices the consumers saw meanwhile.
 */
static double
fan_measure(enum fan_kind kind, u_int n, u_int64_t bytes, u_int reps,
    u_int64_t chunk, u_int64_t window, double *cpu_s, u_int *notices)
{
	struct run	 run;
	struct msg	 m;
	struct rusage	 ru;
	int64_t		*us, t0;
	unsigned long long tk0 = 0;
	double		 mbps;
	u_int		 r;

	if ((us = calloc(reps, sizeof(*us))) == NULL)
		die("out of memory");
	fan_start(&run, kind, n, chunk, window);
	*notices = 0;
	if (kind == FAN_BROKER)
		tk0 = broker_ticks();
	for (r = 0; r < reps; r++) {
		t0 = h_now_us();
		msg_send(run.rctl, MSG_GO, bytes, 0, 0);
		msg_send(run.pctl, MSG_GO, bytes, 0, 0);
		if (msg_recv(run.rctl, &m, BENCH_TIMEOUT) != 0 ||
		    m.type != MSG_DONE)
			die("fan-out run %u of %u did not finish", r + 1, reps);
		us[r] = h_now_us() - t0;
		*notices += (u_int)m.a;
	}
	*cpu_s = 0;
	if (kind == FAN_BROKER)
		*cpu_s = (double)(broker_ticks() - tk0) /
		    (double)sysconf(_SC_CLK_TCK);
	if (kind == FAN_BROKER && n == 1) {
		/*
		 * What the burst left resident, its peers still connected
		 * and idle: within three seconds the recording is written
		 * and synced, and the broker has given back what it gives
		 * back once output stops (BROKER_TRIM_MS).
		 */
		sleep(3);
		print_mem("broker-after-fanout", broker_pid);
	}
	close(run.pctl);
	close(run.rctl);
	reap(run.prod, NULL);
	if (run.relay > 0) {
		memset(&ru, 0, sizeof(ru));
		reap(run.relay, &ru);
		*cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	}
	reap(run.reader, NULL);
	mbps = (double)bytes / 1048576.0 /
	    ((double)percentile(us, reps, 50) / 1e6);
	free(us);
	return mbps;
}

static void
bench_fanout(u_int n, u_int64_t bytes, u_int reps, u_int64_t chunk)
{
	u_int64_t	 window;
	double		 copy, relay, broker, rcpu, bcpu, mb;
	u_int		 notices, dummy;

	/* In flight at most: far below each consumer's backlog. */
	window = (u_int64_t)64 * 1024 * 1024 / n;
	if (window > 4 * 1024 * 1024)
		window = 4 * 1024 * 1024;
	if (window < 4 * chunk)
		window = 4 * chunk;
	mb = (double)bytes * reps / 1048576.0;

	copy = fan_measure(FAN_COPY, n, bytes, reps, chunk, window, &rcpu,
	    &dummy);
	relay = fan_measure(FAN_RELAY, n, bytes, reps, chunk, window, &rcpu,
	    &dummy);
	broker = fan_measure(FAN_BROKER, n, bytes, reps, chunk, window,
	    &bcpu, &notices);
	printf("fanout consumers=%u bytes=%llu reps=%u chunk=%llu "
	    "copy_mbps=%.1f relay_mbps=%.1f broker_mbps=%.1f "
	    "relay_cpu_ms_per_mb=%.3f broker_cpu_ms_per_mb=%.3f "
	    "notices=%u\n", n, (unsigned long long)bytes, reps,
	    (unsigned long long)chunk, copy, relay, broker,
	    rcpu * 1000.0 / mb, bcpu * 1000.0 / mb, notices);
	fflush(stdout);
}

/* ---- a keystroke's round trip ------------------------------------------------ */

/*
 * Echo keys as output; answer snapshot requests; with -L, stream the
 * pattern at that rate meanwhile. Until the broker goes.
 */
static void TUNL_NORETURN
echo_producer(int ctl)
{
	struct hpeer		 h;
	struct frame		 f;
	struct proto_keys	 k;
	struct proto_snapshot	 s;
	struct pollfd		 pfd;
	struct timespec		 ts;
	u_char			 load[16384];
	u_int32_t		 id;
	int64_t			 next = 0, now, gap = 0;
	size_t			 i;
	int			 r;

	become(prod_user);
	peer_hello(&h, PROTO_ROLE_PRODUCER, "producer", 0);
	msg_send(ctl, MSG_READY, 0, 0, 0);
	if (load_mbps > 0) {
		/* A 16 KiB OUTPUT frame every gap us: load_mbps MB/s. */
		for (i = 0; i < sizeof(load); i += BENCH_PATTERN)
			memcpy(load + i, pattern, BENCH_PATTERN);
		gap = (int64_t)sizeof(load) / load_mbps;
		next = h_now_us();
	}
	for (;;) {
		if (load_mbps > 0) {
			now = h_now_us();
			if (now >= next) {
				if (proto_put_output(h.out, load,
				    sizeof(load)) != 0)
					die("echo: load");
				write_buf(h.fd, h.out);
				next += gap;
				if (next < now - 10000)
					next = now;	/* fell behind */
				continue;
			}
			pfd.fd = h.fd;
			pfd.events = POLLIN;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(next - now) * 1000;
			if (ppoll(&pfd, 1, &ts, NULL) <= 0)
				continue;
		}
		if (h_read(&h) < 0)
			_exit(0);
		while ((r = frame_reader_next(&h.fr, &f)) != TUNL_ERR_SHORT) {
			if (r != 0)
				continue;
			if (f.type == FRAME_KEYS) {
				if (proto_get_keys(f.payload, &k) != 0)
					die("echo: bad keys");
				if (proto_put_output(h.out, k.data, k.len) != 0)
					die("echo: output");
			} else if (f.type == FRAME_SNAPSHOT_REQ) {
				if (proto_get_u32(f.payload, &id) != 0)
					die("echo: bad request");
				memset(&s, 0, sizeof(s));
				s.id = id;
				s.cols = 80;
				s.rows = 24;
				s.data = (const u_char *)"$ ";
				s.len = 2;
				if (proto_put_snapshot(h.out, &s) != 0)
					die("echo: snapshot");
			}
		}
		if (buf_len(h.out) > 0)
			write_buf(h.fd, h.out);
	}
}

/* Echo bytes over a plain socket. */
static void TUNL_NORETURN
echo_plain(int fd)
{
	u_char	 c[64];
	ssize_t	 k;

	for (;;) {
		k = read(fd, c, sizeof(c));
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(0);
		write_all(fd, c, (size_t)k);
	}
}

/*
 * Time round trips of one key: for each GO, m.a of them (the first
 * BENCH_WARMUP ever are not counted), then DONE; for RESULT, the median
 * and 99th percentile in microseconds of all counted. framed: through the
 * broker as a read-write consumer, after its snapshot; else over fd as
 * it is.
 */
static void TUNL_NORETURN
keystrokes(int ctl, int framed, int fd, u_int rounds)
{
	struct hpeer		 h;
	struct frame		 f;
	struct proto_keys	 k;
	struct msg		 m;
	const u_char		*d;
	size_t			 dl;
	int64_t			*us, t0;
	u_char			 key, c;
	u_int			 i, got, end, n;
	int			 r, live = !framed;

	if ((us = calloc(rounds, sizeof(*us))) == NULL)
		die("out of memory");
	if (framed) {
		become(cons_user);
		peer_hello(&h, PROTO_ROLE_CONSUMER, "typist", PROTO_MODE_RW);
		fd = h.fd;
		while (!live) {
			while ((r = frame_reader_next(&h.fr, &f)) !=
			    TUNL_ERR_SHORT) {
				if (r == 0 && f.type == FRAME_SNAPSHOT)
					live = 1;
			}
			if (!live && h_read(&h) < 0)
				die("typist: the broker closed");
		}
	}
	msg_send(ctl, MSG_READY, 0, 0, 0);

	memset(&k, 0, sizeof(k));
	k.pane = FRAME_PANE_MAIN;
	tunl_strlcpy(k.engineer, "typist", sizeof(k.engineer));
	for (i = 0, end = 0;; i++) {
		if (i == end) {
			if (msg_recv(ctl, &m, -1) != 0)
				_exit(0);
			if (m.type == MSG_RESULT)
				break;
			end = i + (u_int)m.a + (i == 0 ? BENCH_WARMUP : 0);
		}
		key = load_mbps > 0 ?
		    (u_char)load_keys[i % (sizeof(load_keys) - 1)] :
		    (u_char)('a' + i % 26);
		t0 = h_now_us();
		if (!framed) {
			write_all(fd, &key, 1);
			if (read(fd, &c, 1) != 1 || c != key)
				die("plain echo lost");
		} else {
			k.data = &key;
			k.len = 1;
			if (proto_put_keys(h.out, &k) != 0)
				die("keys");
			write_buf(fd, h.out);
			for (got = 0; !got; ) {
				if (h_read(&h) < 0)
					die("typist: the broker closed");
				while (!got && (r = frame_reader_next(&h.fr,
				    &f)) != TUNL_ERR_SHORT) {
					if (r != 0 || f.type != FRAME_OUTPUT)
						continue;
					if (proto_get_output(f.payload, &d,
					    &dl) != 0)
						die("bad output");
					got = memchr(d, key, dl) != NULL;
				}
			}
		}
		if (i >= BENCH_WARMUP) {
			if (i - BENCH_WARMUP >= rounds)
				die("typist: more rounds than asked");
			us[i - BENCH_WARMUP] = h_now_us() - t0;
		}
		if (i + 1 == end)
			msg_send(ctl, MSG_DONE, 0, 0, 0);
	}
	n = i > BENCH_WARMUP ? i - BENCH_WARMUP : 0;
	if (n == 0)
		die("typist: no rounds");
	msg_send(ctl, MSG_RESULT, (u_int64_t)percentile(us, n, 50),
	    (u_int64_t)percentile(us, n, 99),
	    (u_int64_t)percentile(us, n, 100));
	_exit(0);
}

/* Fork a typist; returns its pid and the driver's end of its channel. */
static pid_t
typist_start(int framed, int fd, u_int rounds, int *ctl)
{
	struct msg	 m;
	int		 sp[2];
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		die("socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sp[0]);
		keystrokes(sp[1], framed, fd, rounds);
	}
	close(sp[1]);
	*ctl = sp[0];
	if (msg_recv(*ctl, &m, BENCH_TIMEOUT) != 0 || m.type != MSG_READY)
		die("the typist did not start");
	return pid;
}

/* A block of n round trips. */
static void
typist_block(int ctl, u_int n)
{
	struct msg	 m;

	msg_send(ctl, MSG_GO, n, 0, 0);
	if (msg_recv(ctl, &m, BENCH_TIMEOUT) != 0 || m.type != MSG_DONE)
		die("the typist did not finish a block");
}

static void
typist_result(pid_t pid, int ctl, u_int64_t *median, u_int64_t *p99,
    u_int64_t *max)
{
	struct msg	 m;

	msg_send(ctl, MSG_RESULT, 0, 0, 0);
	if (msg_recv(ctl, &m, BENCH_TIMEOUT) != 0 || m.type != MSG_RESULT)
		die("the typist did not finish");
	*median = m.a;
	*p99 = m.b;
	if (max != NULL)
		*max = m.c;
	close(ctl);
	reap(pid, NULL);
}

/* ---- idle: footprint, then keystrokes ----------------------------------------- */

struct mem {
	long long	 rss, hwm, anon, file, pss, uss;
};

/* One process's figures; -1 if it is gone. */
static int
mem_of(pid_t pid, struct mem *m)
{
	long long	 pc, pd;

	memset(m, 0, sizeof(*m));
	if ((m->rss = proc_kb(pid, "status", "VmRSS")) < 0 ||
	    (m->hwm = proc_kb(pid, "status", "VmHWM")) < 0 ||
	    (m->anon = proc_kb(pid, "status", "RssAnon")) < 0 ||
	    (m->file = proc_kb(pid, "status", "RssFile")) < 0 ||
	    (m->pss = proc_kb(pid, "smaps_rollup", "Pss")) < 0 ||
	    (pc = proc_kb(pid, "smaps_rollup", "Private_Clean")) < 0 ||
	    (pd = proc_kb(pid, "smaps_rollup", "Private_Dirty")) < 0)
		return -1;
	/* USS: the pages no other process maps. */
	m->uss = pc + pd;
	return 0;
}

/* The pids of a process's children, as a list of numbers ("" if none). */
static void
children_of(pid_t pid, char *list, size_t len)
{
	char	 path[64];
	FILE	*f;
	size_t	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid,
	    (long)pid);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(list, 1, len - 1, f);
		fclose(f);
	}
	list[n] = '\0';
}

/*
 * A process's memory with that of every child it has at that moment
 * summed in. The broker makes each registry call in a child that lives a
 * few milliseconds; idle means none is running, so wait (up to 5 s) for a
 * moment without one, and sum any that is still there then. VmHWM is the
 * process's own.
 */
static void
print_mem(const char *what, pid_t pid)
{
	struct mem	 m, c;
	char		 list[4096], *p, *end;
	long long	 kid;
	u_int		 procs = 1, i;

	for (i = 0; i < 500; i++) {
		children_of(pid, list, sizeof(list));
		if (list[0] == '\0')
			break;
		usleep(10 * 1000);
	}
	if (mem_of(pid, &m) != 0)
		die("process %ld is gone", (long)pid);
	children_of(pid, list, sizeof(list));
	for (p = list; *p != '\0'; p = end) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		errno = 0;
		kid = strtoll(p, &end, 10);
		if (errno != 0 || end == p || kid <= 0)
			break;
		if (mem_of((pid_t)kid, &c) != 0)
			continue;
		m.rss += c.rss;
		m.anon += c.anon;
		m.file += c.file;
		m.pss += c.pss;
		m.uss += c.uss;
		procs++;
	}
	printf("memory what=%s rss_kb=%lld hwm_kb=%lld anon_kb=%lld "
	    "file_kb=%lld pss_kb=%lld uss_kb=%lld procs=%u\n", what, m.rss,
	    m.hwm, m.anon, m.file, m.pss, m.uss, procs);
	fflush(stdout);
}

/* The largest resident mappings of a process, summed by file. */
static void
print_maps(const char *what, pid_t pid)
{
	struct {
		char		 name[128];
		long long	 kb;
	}		 m[64], t;
	char		 path[64], line[512], *p, *end, cur[128] = "";
	FILE		*f;
	long long	 kb;
	u_int		 n = 0, i, j;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strchr(line, '-') != NULL && strchr(line, ':') != NULL &&
		    strchr(line, ' ') != NULL && line[0] != ' ' &&
		    strncmp(line, "Rss:", 4) != 0 &&
		    (p = strchr(line, ' ')) != NULL &&
		    p > line && strchr("0123456789abcdef", line[0]) != NULL) {
			/* A mapping: the sixth field, if any, names it. */
			for (i = 0, p = line; i < 5 && p != NULL; i++) {
				p = strchr(p, ' ');
				while (p != NULL && *p == ' ')
					p++;
			}
			tunl_strlcpy(cur, p == NULL || *p == '\0' ? "[anon]" : p,
			    sizeof(cur));
			continue;
		}
		if (strncmp(line, "Rss:", 4) != 0)
			continue;
		errno = 0;
		kb = strtoll(line + 4, &end, 10);
		if (errno != 0 || end == line + 4 || kb == 0)
			continue;
		for (i = 0; i < n && strcmp(m[i].name, cur) != 0; i++)
			;
		if (i == n) {
			if (n == sizeof(m) / sizeof(m[0]))
				continue;
			tunl_strlcpy(m[n].name, cur, sizeof(m[n].name));
			m[n++].kb = 0;
		}
		m[i].kb += kb;
	}
	fclose(f);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && m[j].kb > m[j - 1].kb; j--) {
			t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	}
	for (i = 0; i < n && i < 8; i++)
		printf("mapping what=%s rss_kb=%lld name=%s\n", what, m[i].kb,
		    m[i].name);
	fflush(stdout);
}

/*
 * The round trips of typist (ready on ctl) beside one byte echoed over a
 * socket pair by a second process, in alternating blocks so that the pair
 * and the broker see the machine in the same moods; median, p99 and (if
 * asked) the worst of each, in microseconds.
 */
static void
round_trips(pid_t typist, int ctl, u_int rounds, u_int64_t *pm,
    u_int64_t *pp, u_int64_t *px, u_int64_t *bm, u_int64_t *bp,
    u_int64_t *bx)
{
	pid_t	 echo, pt;
	u_int	 done, block;
	int	 sp[2], pctl;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		die("socketpair: %s", strerror(errno));
	if ((echo = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (echo == 0) {
		close(sp[0]);
		echo_plain(sp[1]);
	}
	close(sp[1]);
	pt = typist_start(0, sp[0], rounds, &pctl);
	for (done = 0; done < rounds; done += block) {
		block = rounds - done < BENCH_BLOCK ? rounds - done :
		    BENCH_BLOCK;
		typist_block(pctl, block);
		typist_block(ctl, block);
	}
	typist_result(pt, pctl, pm, pp, px);
	close(sp[0]);
	reap(echo, NULL);
	typist_result(typist, ctl, bm, bp, bx);
}

static void
bench_idle(u_int rounds)
{
	struct msg	 m;
	u_int64_t	 pm, pp, bm, bp;
	pid_t		 prod, typist, sleeper;
	int		 pc[2], ctl;

	/* The floor: a process that does nothing, linked to libc only. */
	if ((sleeper = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (sleeper == 0) {
		execl("/bin/sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	print_mem("sleep-floor", sleeper);
	stop(sleeper);

	/* The broker with its producer and nobody watching. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pc) == -1)
		die("socketpair: %s", strerror(errno));
	if ((prod = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (prod == 0) {
		close(pc[0]);
		echo_producer(pc[1]);
	}
	close(pc[1]);
	if (msg_recv(pc[0], &m, BENCH_TIMEOUT) != 0 || m.type != MSG_READY)
		die("the producer did not start");
	usleep(500 * 1000);
	print_mem("broker-producer", broker_pid);
	print_maps("broker-producer", broker_pid);

	/* One consumer, read-write, after its snapshot. */
	typist = typist_start(1, -1, rounds, &ctl);
	usleep(500 * 1000);
	print_mem("broker-producer-consumer", broker_pid);

	round_trips(typist, ctl, rounds, &pm, &pp, NULL, &bm, &bp, NULL);
	printf("latency rounds=%u pair_median_us=%llu pair_p99_us=%llu "
	    "broker_median_us=%llu broker_p99_us=%llu\n", rounds,
	    (unsigned long long)pm, (unsigned long long)pp,
	    (unsigned long long)bm, (unsigned long long)bp);
	fflush(stdout);
	print_mem("broker-after-keys", broker_pid);
	close(pc[0]);
	stop(prod);
}

/*
 * Keystrokes while the producer streams load_mbps MB/s of the pattern:
 * the broker filters, records (and syncs the recording) and fans it out
 * to the typist, whose echo waits behind whatever output is queued ahead
 * of it. Beside the same socket pair as idle, in alternating blocks.
 */
static void
bench_loaded(u_int rounds)
{
	struct msg	 m;
	u_int64_t	 pm, pp, px, bm, bp, bx;
	pid_t		 prod, typist;
	size_t		 i;
	int		 pc[2], ctl;

	for (i = 0; load_keys[i] != '\0'; i++) {
		if (memchr(pattern, load_keys[i], sizeof(pattern)) != NULL)
			die("key %c is in the pattern", load_keys[i]);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pc) == -1)
		die("socketpair: %s", strerror(errno));
	if ((prod = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (prod == 0) {
		close(pc[0]);
		echo_producer(pc[1]);
	}
	close(pc[1]);
	if (msg_recv(pc[0], &m, BENCH_TIMEOUT) != 0 || m.type != MSG_READY)
		die("the producer did not start");
	typist = typist_start(1, -1, rounds, &ctl);
	round_trips(typist, ctl, rounds, &pm, &pp, &px, &bm, &bp, &bx);
	printf("loadlat rounds=%u mbps=%u pair_median_us=%llu "
	    "pair_p99_us=%llu pair_max_us=%llu broker_median_us=%llu "
	    "broker_p99_us=%llu broker_max_us=%llu\n", rounds, load_mbps,
	    (unsigned long long)pm, (unsigned long long)pp,
	    (unsigned long long)px, (unsigned long long)bm,
	    (unsigned long long)bp, (unsigned long long)bx);
	fflush(stdout);
	close(pc[0]);
	stop(prod);
}

static u_int64_t
num(const char *s, long long lo, long long hi, const char *what)
{
	long long	 v;

	if (tunl_strtonum(s, lo, hi, &v) != 0)
		die("bad %s: %s", what, s);
	return (u_int64_t)v;
}

int
main(int argc, char **argv)
{
	const char	*mode;
	u_int64_t	 bytes = 64 * 1024 * 1024, chunk = 16384;
	u_int		 n = 1, reps = 3, rounds = 2000;
	int		 ch;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die("usage: broker-bench fanout|idle|loaded -S sock -s sid -b pid "
		    "-P customer -C engineer ...");
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "S:s:b:P:C:n:m:k:R:r:L:")) != -1) {
		switch (ch) {
		case 'S': sockpath = optarg; break;
		case 's': sid = optarg; break;
		case 'b': broker_pid = (pid_t)num(optarg, 1, 1 << 30, "-b"); break;
		case 'P': prod_user = optarg; break;
		case 'C': cons_user = optarg; break;
		case 'n': n = (u_int)num(optarg, 1, 256, "-n"); break;
		case 'm': bytes = num(optarg, 1, 1LL << 36, "-m"); break;
		case 'k': chunk = num(optarg, BENCH_PATTERN, FRAME_PAYLOAD_MAX,
		    "-k"); break;
		case 'R': reps = (u_int)num(optarg, 1, 100, "-R"); break;
		case 'r': rounds = (u_int)num(optarg, 10, 1000000, "-r"); break;
		case 'L': load_mbps = (u_int)num(optarg, 1, 10000, "-L"); break;
		default:
			die("bad option");
		}
	}
	if (sockpath == NULL || sid == NULL || broker_pid == 0 ||
	    prod_user == NULL || cons_user == NULL)
		die("-S, -s, -b, -P and -C are needed");
	if (chunk % BENCH_PATTERN != 0)
		die("-k must be a multiple of %d", BENCH_PATTERN);
	/* Whole chunks, so the filter never holds a sequence at the end. */
	bytes = (bytes + chunk - 1) / chunk * chunk;
	make_pattern();
	if (strcmp(mode, "fanout") == 0)
		bench_fanout(n, bytes, reps, chunk);
	else if (strcmp(mode, "idle") == 0)
		bench_idle(rounds);
	else if (strcmp(mode, "loaded") == 0) {
		if (load_mbps == 0)
			die("loaded needs -L MB/s");
		bench_loaded(rounds);
	}
	else
		die("unknown benchmark %s", mode);
	return 0;
}
