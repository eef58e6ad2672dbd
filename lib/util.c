/*
 * util.c: numbers from untrusted text and the careful opening of files
 * whose owner and mode decide whether they can be trusted. Libc only: it
 * is part of the wire subset tunl-share links (the constant-time compare
 * is in util-ct.c, the wiping in memzero.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"

/*
 * Parse a decimal integer that must be all digits (an optional leading
 * minus when minval < 0) and lie in [minval, maxval]. No whitespace, no
 * sign for non-negative ranges, no base prefixes.
 */
int
tunl_strtonum(const char *s, long long minval, long long maxval,
    long long *out)
{
	const char	*p = s;
	long long	 v;
	char		*end;

	if (s == NULL || *s == '\0' || minval > maxval)
		return TUNL_ERR_INVALID;
	if (*p == '-') {
		if (minval >= 0)
			return TUNL_ERR_INVALID;
		p++;
	}
	if (*p < '0' || *p > '9')
		return TUNL_ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return TUNL_ERR_INVALID;
	if (errno == ERANGE || v < minval || v > maxval)
		return TUNL_ERR_RANGE;
	*out = v;
	return 0;
}

size_t
tunl_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t	 len = strlen(src);

	if (dstlen > 0) {
		size_t	 n = len < dstlen - 1 ? len : dstlen - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/*
 * Check that path and every directory above it are owned by root or by
 * uid and are not writable by group or others, as OpenSSH's safe_path
 * does. path must be absolute. On failure err (if given) names the
 * offending component.
 */
int
tunl_safe_path(const char *path, uid_t uid, char *err, size_t errlen)
{
	char		 buf[PATH_MAX];
	struct stat	 st;
	char		*p;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || path[0] != '/')
		return TUNL_ERR_INVALID;
	if (tunl_strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return TUNL_ERR_LENGTH;
	for (;;) {
		if (stat(buf, &st) == -1) {
			if (err != NULL)
				tunl_strlcpy(err, buf, errlen);
			return TUNL_ERR_SYSTEM;
		}
		if ((st.st_uid != 0 && st.st_uid != uid) ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
			/* The sticky /tmp is no safer for our files. */
			if (err != NULL)
				tunl_strlcpy(err, buf, errlen);
			return TUNL_ERR_UNSAFE;
		}
		if (strcmp(buf, "/") == 0)
			break;
		if ((p = strrchr(buf, '/')) == NULL)
			break;
		if (p == buf)
			p[1] = '\0';
		else
			*p = '\0';
	}
	return 0;
}

/*
 * Open a file without following a final symbolic link, refuse anything
 * but a regular file, and check that it belongs to owner and is not
 * writable by group or others (pam-u2f's open_safely). With O_CREAT the
 * file is created with O_EXCL and the given mode.
 */
int
tunl_open_safely(const char *path, int flags, mode_t mode, uid_t owner,
    int *fdp)
{
	struct stat	 st;
	int		 fd, r = TUNL_ERR_SYSTEM;

	*fdp = -1;
	flags |= O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	if (flags & O_CREAT)
		flags |= O_EXCL;
	if ((fd = open(path, flags, mode)) == -1)
		return TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	*fdp = fd;
	fd = -1;
	r = 0;
 out:
	if (fd != -1) {
		int	 saved_errno = errno;

		close(fd);
		errno = saved_errno;
	}
	return r;
}

/*
 * A host name's grammar, as a customer's machine reports itself:
 * [A-Za-z0-9] then [A-Za-z0-9.-], at most 253 bytes.
 */
int
tunl_host_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= 253)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/*
 * Milliseconds on the monotonic clock, for deadlines and intervals (never
 * for wall time). 0 if the clock cannot be read, which Linux never does
 * for CLOCK_MONOTONIC.
 */
int64_t
tunl_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
