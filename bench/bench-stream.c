/*
 * bench-stream.c: lines shaped like coloured listings and compiler output
 * with some UTF-8, padded with spaces to exactly BENCH_STREAM_PATTERN
 * bytes and ended by CR LF. The session's escape filter passes them
 * unchanged (broker-bench checks it before it measures).
 */
#include "config.h"

#include <string.h>

#include "bench-stream.h"

void
bench_stream_pattern(unsigned char pattern[BENCH_STREAM_PATTERN])
{
	static const char	*lines[] = {
		"\033[0m\033[01;34mdrwxr-xr-x\033[0m  2 root root  4096 Jan  1 "
		    "12:00 \033[01;34metc\033[0m\r\n",
		"-rw-r--r--  1 root root 10240 Jan  1 12:00 "
		    "\033[01;32mbuild.sh\033[0m\r\n",
		"lib/vtfilter.c:42:7: \033[1;35mwarning:\033[0m unused "
		    "variable \342\200\230x\342\200\231 [-Wunused-variable]\r\n",
		"the quick brown fox jumps over the lazy dog 0123456789\r\n",
		"Pr\303\274fung bestanden \342\224\202 ok \342\224\202\r\n",
	};
	size_t			 n = 0, k, i = 0, nlines;

	nlines = sizeof(lines) / sizeof(lines[0]);
	for (;;) {
		k = strlen(lines[i % nlines]);
		if (n + k > BENCH_STREAM_PATTERN - 2)
			break;
		memcpy(pattern + n, lines[i % nlines], k);
		n += k;
		i++;
	}
	memset(pattern + n, ' ', BENCH_STREAM_PATTERN - 2 - n);
	memcpy(pattern + BENCH_STREAM_PATTERN - 2, "\r\n", 2);
}
