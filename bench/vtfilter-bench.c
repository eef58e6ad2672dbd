/*
 * vtfilter-bench.c: throughput of the escape filter on typical terminal
 * output, beside memcpy of the same bytes in the same chunks, in the same
 * run. Built by `make check` (check_PROGRAMS), never run by it:
 *
 *	./bench/vtfilter-bench [megabytes]
 *
 * The stream is a mix shaped like a recorded shell and editor session:
 * coloured ls and compiler output, UTF-8 text, a full-screen redraw with
 * cursor movement and scroll regions, and the odd title and query that
 * the filter drops. It is cut into 4 KiB chunks, the size of a broker
 * read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tunl.h"

#define CHUNK		4096
#define ROUNDS		5

static const char *pieces[] = {
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

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct vtfilter	 vf;
	struct buf	*out;
	u_char		*in, *copy;
	size_t		 size, len = 0, off, n, i, emitted = 0;
	double		 t0, tf = 1e9, tm = 1e9, t;
	long long	 mb = 32;
	int		 round, r;

	if (argc > 1 && tunl_strtonum(argv[1], 1, 1024, &mb) != 0) {
		fprintf(stderr, "usage: vtfilter-bench [megabytes 1-1024]\n");
		return 1;
	}
	size = (size_t)mb * 1024 * 1024;
	if ((in = malloc(size)) == NULL || (copy = malloc(size)) == NULL ||
	    (out = buf_new(VTFILTER_OUT_MAX(CHUNK))) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (i = 0; len < size; i = (i + 3) % TUNL_NITEMS(pieces)) {
		n = strlen(pieces[i]);
		if (n > size - len)
			n = size - len;
		memcpy(in + len, pieces[i], n);
		len += n;
	}

	/* Best of ROUNDS for each, interleaved so both see the same machine. */
	for (round = 0; round < ROUNDS; round++) {
		vtfilter_init(&vf, VTFILTER_OUTPUT);
		emitted = 0;
		t0 = now();
		for (off = 0; off < len; off += n) {
			n = len - off < CHUNK ? len - off : CHUNK;
			if ((r = vtfilter_feed(&vf, in + off, n, out)) != 0) {
				fprintf(stderr, "vtfilter_feed: %s\n",
				    tunl_err(r));
				return 1;
			}
			emitted += buf_len(out);
			buf_consume(out, buf_len(out));
		}
		if ((t = now() - t0) < tf)
			tf = t;

		t0 = now();
		for (off = 0; off < len; off += n) {
			n = len - off < CHUNK ? len - off : CHUNK;
			memcpy(copy + off, in + off, n);
		}
		if ((t = now() - t0) < tm)
			tm = t;
		if (memcmp(copy, in, len) != 0)
			return 1;
	}

	printf("vtfilter-bench: %lld MiB of mixed terminal output in %d-byte "
	    "chunks, best of %d\n", mb, CHUNK, ROUNDS);
	printf("  vtfilter (screen side)  %9.1f MB/s  (%zu of %zu bytes "
	    "passed)\n", len / tf / 1e6, emitted, len);
	printf("  memcpy (baseline)       %9.1f MB/s\n", len / tm / 1e6);
	printf("  ratio                   %9.1fx slower than memcpy\n", tm > 0 ?
	    tf / tm : 0.0);
	buf_free(out);
	free(in);
	free(copy);
	return 0;
}
