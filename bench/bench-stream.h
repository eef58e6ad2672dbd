/*
 * bench-stream.h: the terminal output the broker benchmarks send, so that
 * every benchmark measures the same bytes (bench/README.md).
 */
#ifndef BENCH_STREAM_H
#define BENCH_STREAM_H

#include <stddef.h>

#define BENCH_STREAM_PATTERN	4096	/* one screenful of lines, repeated */

void	bench_stream_pattern(unsigned char [BENCH_STREAM_PATTERN]);

#endif /* BENCH_STREAM_H */
