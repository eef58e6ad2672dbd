/*
 * fuzz-cast.c: libFuzzer target for lib/cast.c. The first byte chooses:
 *
 *  even: the reader on the rest of the input, as a file. Whatever it is,
 *        the reader must end (at TUNL_ERR_EOF) without crashing, and what
 *        it returns must keep its promises (types, sizes, times).
 *  odd:  the writer on the rest, cut into writes of varying size (from the
 *        second byte) with resizes between them, the third byte's worth of
 *        bytes used as the customer's host. The file must then read back
 *        without any error, hold only UTF-8 without raw controls, and give
 *        back exactly the reference normalisation of what was written.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "../tests/unit/utf8-ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void
fuzz_reader(const uint8_t *data, size_t len)
{
	struct cast_reader	*rd;
	struct cast_header	 h;
	struct cast_event	 ev;
	double			 last = 0;
	u_int			 n;
	int			 fd, r;

	if ((fd = memfd_create("fuzz-cast", MFD_CLOEXEC)) == -1)
		return;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		goto out;
	if (lseek(fd, 0, SEEK_SET) != 0)
		goto out;
	if (cast_reader_open_fd(fd, &rd) != 0)
		goto out;
	check(cast_reader_header(rd, &h) == 0);
	check(h.cols >= 1 && h.cols <= CAST_SIZE_MAX);
	check(h.rows >= 1 && h.rows <= CAST_SIZE_MAX);
	check(memchr(h.title, '\0', sizeof(h.title)) != NULL);
	check(memchr(h.host, '\0', sizeof(h.host)) != NULL);
	/* Every line makes progress, so this ends; bound it anyway. */
	for (n = 0; n < 1000000; n++) {
		r = cast_reader_next(rd, &ev);
		if (r == TUNL_ERR_EOF)
			break;
		check(cast_reader_errmsg(rd) != NULL);
		if (r != 0) {
			check(r == TUNL_ERR_INVALID || r == TUNL_ERR_RANGE ||
			    r == TUNL_ERR_LENGTH);
			continue;
		}
		check(ev.type == 'o' || ev.type == 'r' || ev.type == 'i' ||
		    ev.type == 'm');
		check(ev.t >= last && ev.t <= CAST_TIME_MAX);
		last = ev.t;
		check(buf_len(ev.data) <= CAST_LINE_MAX);
		if (ev.type == 'r')
			check(ev.cols >= 1 && ev.cols <= CAST_SIZE_MAX &&
			    ev.rows >= 1 && ev.rows <= CAST_SIZE_MAX);
	}
	check(n < 1000000);
	cast_reader_free(rd);
 out:
	close(fd);
}

/* The directory for the writer's files, made once, removed at exit. */
static char	 fuzz_dir[64];

static void
fuzz_dir_remove(void)
{
	(void)rmdir(fuzz_dir);
}

static int
fuzz_dir_make(void)
{
	if (fuzz_dir[0] != '\0')
		return 0;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-cast.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL) {
		fuzz_dir[0] = '\0';
		return -1;
	}
	atexit(fuzz_dir_remove);
	return 0;
}

static void
fuzz_writer(const uint8_t *data, size_t len)
{
	struct cast_header	 h, g;
	struct cast_writer	*w;
	struct cast_reader	*rd = NULL;
	struct cast_event	 ev;
	struct stat		 st;
	char			 name[32], path[128];
	u_char			*norm = NULL, *got = NULL, *file = NULL;
	size_t			 hostlen, nlen, glen = 0, off, n, i;
	u_int			 seed, resizes = 0, seen = 0;
	int			 fd = -1, r;

	if (len < 2 || fuzz_dir_make() != 0)
		return;
	seed = data[0];
	hostlen = data[1] % 64;
	data += 2;
	len -= 2;
	if (hostlen > len)
		hostlen = len;

	memset(&h, 0, sizeof(h));
	h.cols = 1 + seed;
	h.rows = 1 + (seed >> 2);
	h.timestamp = seed;
	for (i = 0; i < hostlen; i++)
		h.host[i] = data[i] == '\0' ? 'N' : (char)data[i];
	data += hostlen;
	len -= hostlen;

	snprintf(name, sizeof(name), "f%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	(void)unlink(path);
	check(cast_writer_open(fuzz_dir, name, (gid_t)-1, &h, &w) == 0);
	for (off = 0; off < len; off += n) {
		/* Sizes from 0 to a few thousand, driven by the seed. */
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % ((seed & 7) == 0 ? 4096 : 7);
		if (n > len - off)
			n = len - off;
		check(cast_writer_output(w, off / 1000.0, data + off, n) == 0);
		if ((seed & 0x70) == 0) {
			check(cast_writer_resize(w, off / 1000.0,
			    1 + (seed >> 20) % CAST_SIZE_MAX, 24) == 0);
			resizes++;
		}
	}
	check(cast_writer_close(w) == 0);

	/* The file: UTF-8, no raw control byte but the line ends. */
	check((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	check(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640);
	check((file = malloc((size_t)st.st_size + 1)) != NULL);
	check(read(fd, file, (size_t)st.st_size) == st.st_size);
	check((norm = malloc(3 * (size_t)st.st_size + 3 * len + 1)) != NULL);
	check(utf8_ref_normalise(file, (size_t)st.st_size, norm) ==
	    (size_t)st.st_size);
	check(memcmp(norm, file, (size_t)st.st_size) == 0);
	for (i = 0; i < (size_t)st.st_size; i++)
		check((file[i] >= 0x20 && file[i] != 0x7f) || file[i] == '\n');
	check(lseek(fd, 0, SEEK_SET) == 0);

	/* Read back: no error at all, and the same output. */
	check(cast_reader_open_fd(fd, &rd) == 0);
	check(cast_reader_header(rd, &g) == 0);
	check(g.cols == h.cols && g.rows == h.rows &&
	    g.timestamp == h.timestamp);
	nlen = utf8_ref_normalise((const u_char *)h.host, strlen(h.host),
	    norm);
	check(strlen(g.host) == nlen && memcmp(g.host, norm, nlen) == 0);
	check((got = malloc(len + 3 * len + 1)) != NULL);
	while ((r = cast_reader_next(rd, &ev)) == 0) {
		if (ev.type == 'r') {
			seen++;
			continue;
		}
		check(ev.type == 'o');
		check(glen + buf_len(ev.data) <= 3 * len);
		memcpy(got + glen, buf_ptr(ev.data), buf_len(ev.data));
		glen += buf_len(ev.data);
	}
	check(r == TUNL_ERR_EOF && !cast_reader_torn(rd));
	check(seen == resizes);
	nlen = utf8_ref_normalise(data, len, norm);
	check(glen == nlen && memcmp(got, norm, nlen) == 0);

	cast_reader_free(rd);
	close(fd);
	(void)unlink(path);
	free(file);
	free(norm);
	free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_reader(data + 1, len - 1);
	else
		fuzz_writer(data + 1, len - 1);
	return 0;
}
