/*
 * private-file.c: create a small file that only root writes and only one
 * group reads (the hand-off and login files of pam_tunl, docs/auth-design.md).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tunl.h"

/*
 * Create path exclusively (no final link followed), owner root, group
 * gid, mode 0640, holding exactly len bytes of data, flushed to disk. A
 * file that exists already is TUNL_ERR_EXISTS and left alone; on any
 * later failure the partial file is removed, so a reader sees either
 * nothing or the whole file.
 */
int
tunl_private_file_create(const char *path, gid_t gid, const void *data,
    size_t len)
{
	ssize_t	 n;
	int	 fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return errno == EEXIST ? TUNL_ERR_EXISTS : TUNL_ERR_SYSTEM;
	if (fchown(fd, 0, gid) == -1 || fchmod(fd, 0640) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	n = write(fd, data, len);
	if (n < 0 || (size_t)n != len || fsync(fd) == -1) {
		r = n >= 0 ? TUNL_ERR_FULL : TUNL_ERR_SYSTEM;
		goto out;
	}
	r = 0;
 out:
	close(fd);
	if (r != 0)
		(void)unlink(path);
	return r;
}
