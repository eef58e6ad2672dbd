/*
 * cast-bench.c: throughput of the recording's writer (lib/cast.c) on the
 * broker benchmark's stream, beside write(2) of the same bytes to a file
 * and memcpy of them, in the same run. Built by `make check`
 * (check_PROGRAMS), run by `make bench`, never by `make check`:
 *
 *	./bench/cast-bench [megabytes [directory]]
 *
 * The stream is bench/broker-bench.c's: lines shaped like coloured `ls`
 * and compiler output with some UTF-8, padded to 4 KiB and repeated, here
 * handed over in 16 KiB pieces as the broker hands its OUTPUT frames to
 * the recording. The files go to a fresh directory under the given one
 * (default: the current directory, as the broker benchmark records into
 * the build tree) and are removed at the end. Each figure is the best of
 * ROUNDS, the measurements interleaved so all see the same machine.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "bench-stream.h"

#define PATTERN		BENCH_STREAM_PATTERN
#define CHUNK		(16 * 1024)
#define ROUNDS		5

enum {
	M_FAST,		/* cast_writer_output, fdatasync left to the caller */
	M_REF,		/* cast_writer_output_ref, sync left to the caller */
	M_REF_SYNC,	/* the reference with the writer's own fdatasync */
	M_WRITE,	/* write(2) of the raw bytes to a file */
	M_MEMCPY,
	M_N
};

static const char *const labels[M_N] = {
	"cast writer, fdatasync left to a thread",
	"reference escaper, fdatasync left to a thread",
	"reference, fdatasync inline (as the broker was)",
	"write(2) of the raw bytes to a file",
	"memcpy of the raw bytes",
};

static u_char	 pattern[PATTERN];
static char	 dir[PATH_MAX];

static void
die(const char *what, int r)
{
	fprintf(stderr, "cast-bench: %s: %s\n", what,
	    r != 0 ? tunl_err(r) : strerror(errno));
	exit(1);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One pass of method m over in[0..len); returns the bytes in the file,
 * which the caller removes after the clock stops (dropping a file's pages
 * is not part of writing it).
 */
static off_t
run(int m, const u_char *in, size_t len, u_char *copy)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	char			 path[PATH_MAX];
	size_t			 off, n;
	off_t			 size = 0;
	int			 fd = -1, sfd = -1, r;

	if (m == M_MEMCPY) {
		for (off = 0; off < len; off += CHUNK)
			memcpy(copy + off, in + off, CHUNK);
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/bench.cast", dir) >=
	    sizeof(path))
		die("directory name too long", TUNL_ERR_LENGTH);
	if (m == M_WRITE) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) == -1)
			die(path, 0);
		for (off = 0; off < len; off += CHUNK) {
			if (write(fd, in + off, CHUNK) != CHUNK)
				die("write", 0);
		}
		size = (off_t)len;
		close(fd);
		return size;
	}
	memset(&h, 0, sizeof(h));
	h.cols = 80;
	h.rows = 24;
	tunl_strlcpy(h.session, "bench", sizeof(h.session));
	if ((r = cast_writer_open(dir, "bench.cast", (gid_t)-1, &h, &w)) != 0)
		die("cast_writer_open", r);
	if (m != M_REF_SYNC &&
	    (r = cast_writer_sync_elsewhere(w, &sfd)) != 0)
		die("cast_writer_sync_elsewhere", r);
	for (off = 0, n = 0; off < len; off += CHUNK, n++) {
		r = m != M_FAST ?
		    cast_writer_output_ref(w, n / 1000.0, in + off, CHUNK) :
		    cast_writer_output(w, n / 1000.0, in + off, CHUNK);
		if (r != 0)
			die("cast_writer_output", r);
	}
	size = cast_writer_size(w);
	if ((r = cast_writer_close(w)) != 0)
		die("cast_writer_close", r);
	if (sfd != -1)
		close(sfd);
	return size;
}

int
main(int argc, char **argv)
{
	u_char		*in, *copy;
	char		 path[PATH_MAX];
	size_t		 len, off;
	double		 best[M_N], t0, t;
	off_t		 fsize = 0;
	long long	 mb = 64;
	const char	*parent = ".";
	int		 m, round;

	if (argc > 3 || (argc > 1 &&
	    tunl_strtonum(argv[1], 1, 1024, &mb) != 0)) {
		fprintf(stderr, "usage: cast-bench [megabytes 1-1024 "
		    "[directory]]\n");
		return 1;
	}
	if (argc > 2)
		parent = argv[2];
	len = (size_t)mb * 1024 * 1024;
	if ((in = malloc(len)) == NULL || (copy = malloc(len)) == NULL)
		die("malloc", 0);
	bench_stream_pattern(pattern);
	for (off = 0; off < len; off += PATTERN)
		memcpy(in + off, pattern, PATTERN);
	memset(copy, 0, len);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/cast-bench.XXXXXX",
	    parent) >= sizeof(dir) - 16)
		die("directory name too long", TUNL_ERR_LENGTH);
	if (mkdtemp(dir) == NULL)
		die(dir, 0);
	if (chmod(dir, 0750) == -1)
		die(dir, 0);
	if ((size_t)snprintf(path, sizeof(path), "%s/bench.cast", dir) >=
	    sizeof(path))
		die("directory name too long", TUNL_ERR_LENGTH);

	for (m = 0; m < M_N; m++)
		best[m] = 1e9;
	for (round = 0; round < ROUNDS; round++) {
		for (m = 0; m < M_N; m++) {
			t0 = now();
			if (m == M_FAST)
				fsize = run(m, in, len, copy);
			else
				(void)run(m, in, len, copy);
			if ((t = now() - t0) < best[m])
				best[m] = t;
			if (m != M_MEMCPY && unlink(path) == -1)
				die(path, 0);
		}
	}
	if (memcmp(copy, in, len) != 0)
		return 1;
	rmdir(dir);

	printf("cast-bench: %lld MiB of the broker benchmark's stream in "
	    "%d-byte writes, best of %d\n", mb, CHUNK, ROUNDS);
	printf("  (the .cast file is %.2fx the input: escapes)\n",
	    (double)fsize / (double)len);
	for (m = 0; m < M_N; m++)
		printf("  %-48s %8.1f MB/s  %6.2fx memcpy's time\n", labels[m],
		    len / best[m] / 1e6, best[m] / best[M_MEMCPY]);
	free(in);
	free(copy);
	return 0;
}
