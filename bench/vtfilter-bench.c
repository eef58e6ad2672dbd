/*
 * vtfilter-bench.c: throughput of the escape filter's fast path
 * (vtfilter_feed), of its byte-at-a-time reference
 * (vtfilter_feed_reference) and of memcpy of the same bytes in the same
 * chunks into one chunk-sized buffer (where the filter's output goes too),
 * in the same run. Built by `make check` (check_PROGRAMS), never
 * run by it:
 *
 *	./bench/vtfilter-bench [megabytes]
 *
 * Two streams. The mixed one is shaped like a recorded shell and editor
 * session: coloured ls and compiler output, UTF-8 text, a full-screen
 * redraw with cursor movement and scroll regions, and the odd title and
 * query that the filter drops. The text one is plain log lines. Each is
 * cut into 4 KiB chunks, the size of a broker read. Before timing, the
 * two paths' outputs are compared chunk by chunk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tunl.h"

#define CHUNK		4096
#define ROUNDS		7

static const char *mixed[] = {
	"\033[0m\033[01;34mdrwxr-xr-x\033[0m  2 root root  4096 Jan  1 "
	    "12:00 \033[01;34metc\033[0m\r\n",
	"-rw-r--r--  1 root root 10240 Jan  1 12:00 "
	    "\033[01;32mbuild.sh\033[0m\r\n",
	"lib/vtfilter.c:42:7: \033[1;35mwarning:\033[0m unused variable "
	    "\342\200\230x\342\200\231 [-Wunused-variable]\r\n",
	"Journal: Pr\303\274fung bestanden, \346\227\245\346\234\254\350\252"
	    "\236 \360\237\230\200 ok\r\n",
	"\033[?25l\033[1;24r\033[H\033[2J\033[38;5;244m  1 \033[0m#include "
	    "<stdio.h>\033[K\r\n\033[38;5;244m  2 \033[0m\033[K\r\n",
	"\033[24;1H\033[1m-- INSERT --\033[0m\033[3;5H\033[?25h",
	"\033[5;1H\033[2L\033[1S\033[12;40H\033(0lqqqqk\033(B\r\n",
	"\033]0;user@host: ~/src\007",
	"\033[6n",
	"plain ascii text of a long log line that goes on for a while and then "
	    "some more, as logs do\r\n",
};

static const char *text[] = {
	"2026-11-23 15:04:05.123 INFO  [broker] consumer 3 joined session "
	    "7f3a9c (read-only), backlog 0 bytes\r\n",
	"make[2]: Entering directory '/home/user/src/tunl/build'\r\n",
	"  CC       lib/libtunl_la-vtfilter.lo\r\n",
	"total 48 -- the quick brown fox jumps over the lazy dog, again and "
	    "again, as test lines do\r\n",
};

/*
 * The thread's CPU time, not the wall clock: the work is all computation
 * in one thread, and on a shared machine the time other processes take
 * the CPU would otherwise count against whichever run they interrupt.
 */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fill in[] with the pieces, taken three apart so they interleave. */
static void
fill(u_char *in, size_t size, const char **pieces, size_t npieces)
{
	size_t	 len = 0, n, i;

	for (i = 0; len < size; i = (i + 3) % npieces) {
		n = strlen(pieces[i]);
		if (n > size - len)
			n = size - len;
		memcpy(in + len, pieces[i], n);
		len += n;
	}
}

/* Filter the stream in CHUNK-byte feeds; returns the bytes passed. */
static size_t
filter(int (*feed)(struct vtfilter *, const u_char *, size_t, struct buf *),
    const u_char *in, size_t len, struct buf *out)
{
	struct vtfilter	 vf;
	size_t		 off, n = 0, emitted = 0;
	int		 r;

	vtfilter_init(&vf, VTFILTER_OUTPUT);
	for (off = 0; off < len; off += n) {
		n = len - off < CHUNK ? len - off : CHUNK;
		if ((r = feed(&vf, in + off, n, out)) != 0) {
			fprintf(stderr, "vtfilter: %s\n", tunl_err(r));
			exit(1);
		}
		emitted += buf_len(out);
		buf_consume(out, buf_len(out));
	}
	return emitted;
}

/* The fast path and the reference give the same bytes, chunk by chunk. */
static void
compare(const u_char *in, size_t len, struct buf *a, struct buf *b)
{
	struct vtfilter	 fast, ref;
	size_t		 off, n;

	vtfilter_init(&fast, VTFILTER_OUTPUT);
	vtfilter_init(&ref, VTFILTER_OUTPUT);
	for (off = 0; off < len; off += n) {
		n = len - off < CHUNK ? len - off : CHUNK;
		if (vtfilter_feed(&fast, in + off, n, a) != 0 ||
		    vtfilter_feed_reference(&ref, in + off, n, b) != 0 ||
		    buf_len(a) != buf_len(b) ||
		    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) != 0) {
			fprintf(stderr, "fast path and reference differ in "
			    "the chunk at %zu\n", off);
			exit(1);
		}
		buf_consume(a, buf_len(a));
		buf_consume(b, buf_len(b));
	}
}

static void
run(const char *what, const u_char *in, size_t len, u_char *copy,
    struct buf *out, struct buf *out2)
{
	size_t		 off, n = 0, emitted = 0;
	double		 t0, t, tf = 1e9, tr = 1e9, tm = 1e9;
	int		 round;

	compare(in, len, out, out2);

	/* Best of ROUNDS for each, interleaved so all see the same machine. */
	for (round = 0; round < ROUNDS; round++) {
		t0 = now();
		emitted = filter(vtfilter_feed, in, len, out);
		if ((t = now() - t0) < tf)
			tf = t;

		t0 = now();
		(void)filter(vtfilter_feed_reference, in, len, out);
		if ((t = now() - t0) < tr)
			tr = t;

		/* Into one chunk-sized buffer, as the filter's output goes. */
		t0 = now();
		for (off = 0; off < len; off += n) {
			n = len - off < CHUNK ? len - off : CHUNK;
			memcpy(copy, in + off, n);
		}
		if ((t = now() - t0) < tm)
			tm = t;
		if (memcmp(copy, in + off - n, n) != 0)
			exit(1);
	}

	printf("  %s\n", what);
	printf("    vtfilter, fast path     %9.1f MB/s  (%zu of %zu bytes "
	    "passed)\n", len / tf / 1e6, emitted, len);
	printf("    vtfilter, reference     %9.1f MB/s\n", len / tr / 1e6);
	printf("    memcpy (baseline)       %9.1f MB/s\n", len / tm / 1e6);
	printf("    fast path: %.1f times the reference's speed, %.0f%% of "
	    "memcpy's\n", tf > 0 ? tr / tf : 0.0, tf > 0 ? 100 * tm / tf : 0.0);
}

int
main(int argc, char **argv)
{
	struct buf	*out, *out2;
	u_char		*in, *copy;
	size_t		 size;
	long long	 mb = 32;

	if (argc > 1 && tunl_strtonum(argv[1], 1, 1024, &mb) != 0) {
		fprintf(stderr, "usage: vtfilter-bench [megabytes 1-1024]\n");
		return 1;
	}
	size = (size_t)mb * 1024 * 1024;
	if ((in = malloc(size)) == NULL || (copy = malloc(CHUNK)) == NULL ||
	    (out = buf_new(VTFILTER_OUT_MAX(CHUNK))) == NULL ||
	    (out2 = buf_new(VTFILTER_OUT_MAX(CHUNK))) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}

	printf("vtfilter-bench: %lld MiB per stream in %d-byte chunks, screen "
	    "side, best of %d, MB per CPU second\n", mb, CHUNK, ROUNDS);
	fill(in, size, mixed, TUNL_NITEMS(mixed));
	run("mixed terminal output (colours, cursor movement, UTF-8):", in,
	    size, copy, out, out2);
	fill(in, size, text, TUNL_NITEMS(text));
	run("plain text (log lines):", in, size, copy, out, out2);

	buf_free(out);
	buf_free(out2);
	free(in);
	free(copy);
	return 0;
}
