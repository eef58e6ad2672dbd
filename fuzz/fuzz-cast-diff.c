/*
 * fuzz-cast-diff.c: differential libFuzzer target for lib/cast.c's output
 * path. The same bytes, cut into the same writes at the same times, go to
 * cast_writer_output (the fast escaper) and to cast_writer_output_ref (the
 * one-character-at-a-time escaper it replaced); the two files must be
 * identical byte for byte, and so must every call's result and the
 * writers' sizes after each call.
 *
 * The first byte seeds the cut sizes (0 to 6 bytes, or up to 4 KiB); the
 * second, when a multiple of 32, makes the rest repeat until it passes
 * CAST_EVENT_MAX, so that events are cut in the middle of the fuzzer's
 * own bytes; the rest is the output.
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"

#define DIFF_LONG	(CAST_EVENT_MAX + 8192)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 fuzz_dir[64];
static u_char	*long_buf;

static void
check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void
fuzz_dir_remove(void)
{
	(void)rmdir(fuzz_dir);
	free(long_buf);
}

static int
fuzz_dir_make(void)
{
	if (fuzz_dir[0] != '\0')
		return 0;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-cast-diff.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL) {
		fuzz_dir[0] = '\0';
		return -1;
	}
	if ((long_buf = malloc(DIFF_LONG)) == NULL)
		return -1;
	atexit(fuzz_dir_remove);
	return 0;
}

/* The whole file at path, then removed; *lenp its length. */
static u_char *
slurp(const char *path, size_t *lenp)
{
	u_char	*p = NULL;
	size_t	 len = 0, size = 0;
	ssize_t	 n;
	int	 fd;

	check((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	for (;;) {
		if (len == size) {
			size = size == 0 ? 65536 : size * 2;
			check((p = realloc(p, size)) != NULL);
		}
		if ((n = read(fd, p + len, size - len)) <= 0)
			break;
		len += (size_t)n;
	}
	check(n == 0);
	close(fd);
	(void)unlink(path);
	*lenp = len;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct cast_header	 h;
	struct cast_writer	*wf, *wr;
	char			 name[2][32], path[2][128];
	const u_char		*in;
	u_char			*a, *b;
	size_t			 off, n, alen, blen, i;
	u_int			 seed;
	int			 fdf, fdr, rf, rr;

	if (len < 2 || fuzz_dir_make() != 0)
		return 0;
	seed = data[0];
	in = data + 2;
	n = len - 2;
	if (data[1] % 32 == 0 && n > 0) {
		for (off = 0; off < DIFF_LONG; off += i) {
			i = DIFF_LONG - off < n ? DIFF_LONG - off : n;
			memcpy(long_buf + off, in, i);
		}
		in = long_buf;
		n = DIFF_LONG;
	}
	len = n;

	memset(&h, 0, sizeof(h));
	h.cols = 80;
	h.rows = 24;
	tunl_strlcpy(h.session, "diff", sizeof(h.session));
	for (i = 0; i < 2; i++) {
		snprintf(name[i], sizeof(name[i]), "%c%d", i == 0 ? 'f' : 'r',
		    (int)getpid());
		snprintf(path[i], sizeof(path[i]), "%s/%s", fuzz_dir,
		    name[i]);
		(void)unlink(path[i]);
	}
	check(cast_writer_open(fuzz_dir, name[0], (gid_t)-1, &h, &wf) == 0);
	check(cast_writer_open(fuzz_dir, name[1], (gid_t)-1, &h, &wr) == 0);
	check(cast_writer_sync_elsewhere(wf, &fdf) == 0);
	check(cast_writer_sync_elsewhere(wr, &fdr) == 0);
	for (off = 0; off < len; off += n) {
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % ((seed & 7) == 0 ? 4096 : 7);
		if ((seed & 0x3f0) == 0)
			n = len;
		if (n > len - off)
			n = len - off;
		rf = cast_writer_output(wf, off / 1000.0, in + off, n);
		rr = cast_writer_output_ref(wr, off / 1000.0, in + off, n);
		check(rf == rr && rf == 0);
		check(cast_writer_size(wf) == cast_writer_size(wr));
	}
	check(cast_writer_close(wf) == 0);
	check(cast_writer_close(wr) == 0);
	close(fdf);
	close(fdr);
	a = slurp(path[0], &alen);
	b = slurp(path[1], &blen);
	check(alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	return 0;
}
