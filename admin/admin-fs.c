/*
 * admin-fs.c: creating and checking the relay's directories and files.
 *
 * Nothing here fixes an existing item silently: a directory or file with
 * the wrong owner or mode is reported with the command that would fix it,
 * and init stops. Items are created with restrictive modes first and then
 * given their owner and mode through a descriptor opened without
 * following links, so nothing can be swapped in between.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

/* Copy the directory part of path into out ("/a/b/c" gives "/a/b"). */
int
admin_fs_dirname(const char *path, char *out, size_t outlen)
{
	char	*p;

	if (path[0] != '/')
		return TUNL_ERR_INVALID;
	if (tunl_strlcpy(out, path, outlen) >= outlen)
		return TUNL_ERR_LENGTH;
	if ((p = strrchr(out, '/')) == out)
		out[1] = '\0';
	else
		*p = '\0';
	return 0;
}

/* "user:group" for messages. */
const char *
admin_fs_owner(uid_t uid, gid_t gid, char *out, size_t outlen)
{
	struct passwd	*pw = getpwuid(uid);
	struct group	*gr = getgrgid(gid);
	char		 u[64], g[64];

	if (pw != NULL)
		tunl_strlcpy(u, pw->pw_name, sizeof(u));
	else
		snprintf(u, sizeof(u), "%lu", (u_long)uid);
	if (gr != NULL)
		tunl_strlcpy(g, gr->gr_name, sizeof(g));
	else
		snprintf(g, sizeof(g), "%lu", (u_long)gid);
	snprintf(out, outlen, "%s:%s", u, g);
	return out;
}

/*
 * Every directory above path must exist, belong to root and be writable by
 * root alone, as OpenSSH's safe_path requires; otherwise someone else
 * could replace what we create.
 */
int
admin_fs_check_parents(const char *path, char *err, size_t errlen)
{
	char	 parent[PATH_MAX];
	int	 r;

	if ((r = admin_fs_dirname(path, parent, sizeof(parent))) != 0)
		return r;
	return tunl_safe_path(parent, 0, err, errlen);
}

/*
 * Make sure path is a directory with exactly this owner, group and mode.
 * A missing directory is created (*created is set); an existing one with
 * anything different is refused with TUNL_ERR_UNSAFE.
 */
int
admin_fs_ensure_dir(const char *path, uid_t uid, gid_t gid, mode_t mode,
    int *created)
{
	struct stat	 st;
	int		 fd = -1, r = TUNL_ERR_SYSTEM;

	*created = 0;
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT)
			return TUNL_ERR_SYSTEM;
		if (mkdir(path, 0700) == -1)
			return TUNL_ERR_SYSTEM;
		*created = 1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (*created &&
	    (fchown(fd, uid, gid) == -1 || fchmod(fd, mode) == -1))
		goto out;
	if (fstat(fd, &st) == -1)
		goto out;
	if (st.st_uid != uid || st.st_gid != gid ||
	    (st.st_mode & 07777) != mode) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * Check an existing regular file: owner uid, group gid (unless gid is
 * (gid_t)-1), every bit of `need' set and no bit of `forbid'. err gets a
 * one-line description of what is wrong.
 */
int
admin_fs_check_file(const char *path, uid_t uid, gid_t gid, mode_t need,
    mode_t forbid, char *err, size_t errlen)
{
	struct stat	 st;
	char		 own[160];

	err[0] = '\0';
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return TUNL_ERR_UNSAFE;
	}
	if (st.st_uid != uid || (gid != (gid_t)-1 && st.st_gid != gid)) {
		snprintf(err, errlen, "%s is owned by %s", path,
		    admin_fs_owner(st.st_uid, st.st_gid, own, sizeof(own)));
		return TUNL_ERR_UNSAFE;
	}
	if ((st.st_mode & need) != need || (st.st_mode & forbid) != 0) {
		snprintf(err, errlen, "%s has mode %04o", path,
		    (u_int)(st.st_mode & 07777));
		return TUNL_ERR_UNSAFE;
	}
	return 0;
}

/*
 * Create the missing directories above path, root:root 0755 each (a
 * --localstatedir whose lib/ or log/ does not exist yet). What exists is
 * left for admin_fs_check_parents to judge.
 */
int
admin_fs_make_parents(const char *path)
{
	char	 p[PATH_MAX], bad[PATH_MAX], *s, c;
	int	 fd, checked = 0;

	if (tunl_strlcpy(p, path, sizeof(p)) >= sizeof(p) || p[0] != '/')
		return TUNL_ERR_LENGTH;
	if ((s = strrchr(p, '/')) == NULL || s == p)
		return 0;
	*s = '\0';
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		/* The first missing one: only below a safe directory. */
		if (!checked && access(p, F_OK) == -1 && errno == ENOENT) {
			checked = 1;
			if (admin_fs_check_parents(p, bad, sizeof(bad)) != 0)
				return TUNL_ERR_UNSAFE;
		}
		if (mkdir(p, 0700) == 0) {
			if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC)) == -1)
				return TUNL_ERR_SYSTEM;
			if (fchown(fd, 0, 0) == -1 || fchmod(fd, 0755) == -1) {
				close(fd);
				return TUNL_ERR_SYSTEM;
			}
			close(fd);
		} else if (errno != EEXIST)
			return TUNL_ERR_SYSTEM;
		*s = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/*
 * Read a root-owned regular file (tunl_open_safely) into buf, which holds
 * max + 1 bytes; the text is terminated. A file of max bytes or more is
 * TUNL_ERR_LENGTH.
 */
int
admin_fs_read_root(const char *path, char *buf, size_t max, size_t *len)
{
	ssize_t	 n;
	int	 fd, r;

	*len = 0;
	if ((r = tunl_open_safely(path, O_RDONLY, 0, 0, &fd)) != 0)
		return r;
	while (*len < max) {
		n = read(fd, buf + *len, max - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (*len >= max)
		return TUNL_ERR_LENGTH;
	buf[*len] = '\0';
	return 0;
}

/*
 * Write path anew, root:root mode: a temporary file beside it (path and
 * suffix), synced, renamed over it. On failure the temporary file is
 * gone and errno says why.
 */
int
admin_fs_replace(const char *path, const char *suffix, const char *data,
    size_t len, mode_t mode)
{
	char	 tmp[PATH_MAX];
	int	 fd, r = TUNL_ERR_SYSTEM, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", path, suffix) >=
	    sizeof(tmp))
		return TUNL_ERR_LENGTH;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return TUNL_ERR_SYSTEM;
	if (fchown(fd, 0, 0) == 0 && fchmod(fd, mode) == 0 &&
	    write(fd, data, len) == (ssize_t)len && fsync(fd) == 0)
		r = 0;
	if (close(fd) == -1)
		r = TUNL_ERR_SYSTEM;
	if (r == 0 && rename(tmp, path) == -1)
		r = TUNL_ERR_SYSTEM;
	if (r != 0) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
	}
	return r;
}
