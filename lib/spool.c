/*
 * spool.c: registry writes a broker could not make (the database locked
 * past every retry, or the broker ending), kept on disk until someone can
 * make them: the next broker of the session, the reaper that `tunl-admin`
 * and `tunl-shell list` run, or `tunl-admin doctor` (docs/registry.md,
 * "Brokers that are gone").
 *
 * The file is <runtime_dir>/sessions/<id>.spool: fixed-size records
 * (struct spool_rec), each appended with one write(2) under O_APPEND, so
 * a record is whole or absent. Writers (a broker, pam_tunl) and the one
 * who replays take an exclusive flock on the file itself; the replayer
 * removes or replaces the file before letting go, so a writer that got
 * the lock on a file no longer linked opens the path again. Every field
 * is checked again on reading (the registry checks them once more before
 * any SQL).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reaper.h"

int
spool_path(const char *runtime_dir, const char *sid, const char *suffix,
    char *out, size_t len)
{
	if (id_check(sid) != 0)
		return TUNL_ERR_INVALID;
	if ((size_t)snprintf(out, len, "%s/sessions/%s%s", runtime_dir, sid,
	    suffix) >= len)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * A spool root makes (pam_tunl, tunl-admin) belongs, like the directory
 * it is in, to the broker account, which replays and rewrites it; a file
 * with another link (planted to make root write elsewhere) is refused.
 */
static int
spool_own(int fd, const char *path)
{
	struct stat	 st, dir;
	char		 d[CFG_PATH_MAX + 64], *slash;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
		errno = EINVAL;
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	if (tunl_strlcpy(d, path, sizeof(d)) >= sizeof(d) ||
	    (slash = strrchr(d, '/')) == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*slash = '\0';
	if (stat(d[0] != '\0' ? d : "/", &dir) == -1)
		return -1;
	if ((st.st_uid != dir.st_uid || st.st_gid != dir.st_gid) &&
	    fchown(fd, dir.st_uid, dir.st_gid) == -1)
		return -1;
	return 0;
}

/*
 * Open the spool at path and take its lock, waiting up to
 * SPOOL_LOCK_WAIT_MS; a file the lock holder removed is opened again.
 * Returns the descriptor or -1 (errno set).
 */
static int
spool_open_locked(const char *path, int flags)
{
	struct stat	 st;
	int64_t		 deadline = tunl_now_ms() + SPOOL_LOCK_WAIT_MS;
	int		 fd;

	for (;;) {
		if ((fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY, 0660)) == -1)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
			    st.st_nlink > 1 || spool_own(fd, path) == -1) {
				close(fd);
				errno = EINVAL;
				return -1;
			}
			if (st.st_nlink > 0)
				return fd;
			close(fd);	/* replaced meanwhile */
			continue;
		}
		close(fd);
		if (errno != EWOULDBLOCK || tunl_now_ms() >= deadline) {
			errno = EWOULDBLOCK;
			return -1;
		}
		(void)poll(NULL, 0, 20);
	}
}

/* Append one record. */
int
spool_append(const char *runtime_dir, const char *sid,
    const struct spool_rec *rec)
{
	char	 path[CFG_PATH_MAX + 64];
	ssize_t	 n;
	int	 fd, r;

	if ((r = spool_path(runtime_dir, sid, ".spool", path,
	    sizeof(path))) != 0)
		return r;
	if ((fd = spool_open_locked(path, O_WRONLY | O_APPEND |
	    O_CREAT)) == -1)
		return TUNL_ERR_SYSTEM;
	/* A group member may be the next to replay it. */
	(void)fchmod(fd, 0660);
	n = write(fd, rec, sizeof(*rec));
	r = n == (ssize_t)sizeof(*rec) ? 0 : TUNL_ERR_SYSTEM;
	/* A short write is cut back, so the next record stays aligned. */
	if (n > 0 && n != (ssize_t)sizeof(*rec) &&
	    ftruncate(fd, lseek(fd, 0, SEEK_END) - n) == -1)
		r = TUNL_ERR_SYSTEM;
	close(fd);
	return r;
}

static int
spool_field(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Is this a record we could have written? */
int
spool_check(const struct spool_rec *rec)
{
	if (memcmp(rec->magic, SPOOL_MAGIC, sizeof(rec->magic)) != 0 ||
	    !spool_field(rec->actor, sizeof(rec->actor)) ||
	    !spool_field(rec->action, sizeof(rec->action)) ||
	    !spool_field(rec->detail, sizeof(rec->detail)) ||
	    rec->actor[0] == '\0' || rec->at < 0 ||
	    (rec->has_detail != 0 && rec->has_detail != 1))
		return TUNL_ERR_INVALID;
	switch (rec->op) {
	case SPOOL_EVENT:
		if (rec->action[0] == '\0')
			return TUNL_ERR_INVALID;
		return 0;
	case SPOOL_STATE:
		if (rec->state < 0 || rec->state >= SESSION_NSTATES)
			return TUNL_ERR_INVALID;
		return 0;
	}
	return TUNL_ERR_INVALID;
}

static int
spool_apply(struct registry *reg, const char *sid, const struct spool_rec *rec)
{
	const char	*detail = rec->has_detail ? rec->detail : NULL;
	int		 r;

	if (rec->op == SPOOL_EVENT)
		return registry_event_add(reg, sid, rec->actor, rec->action,
		    NULL, detail, rec->at);
	r = registry_session_set_state(reg, sid,
	    (enum session_state)rec->state, rec->actor, detail, rec->at);
	/* Already there, or past it: nothing to do. */
	if (r == TUNL_ERR_STATE || r == TUNL_ERR_NOT_FOUND)
		r = 0;
	return r;
}

/* Write recs[from..n) back, replacing the file (rename is atomic). */
static int
spool_rewrite(const char *path, const struct spool_rec *recs, size_t from,
    size_t n)
{
	char	 tmp[CFG_PATH_MAX + 72];
	size_t	 len = (n - from) * sizeof(*recs);
	ssize_t	 w;
	int	 fd, r = TUNL_ERR_SYSTEM;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return TUNL_ERR_LENGTH;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0660)) == -1)
		return TUNL_ERR_SYSTEM;
	if (spool_own(fd, tmp) == -1) {
		close(fd);
		(void)unlink(tmp);
		return TUNL_ERR_SYSTEM;
	}
	w = write(fd, recs + from, len);
	if (w == (ssize_t)len && fsync(fd) == 0 && rename(tmp, path) == 0)
		r = 0;
	close(fd);
	if (r != 0)
		(void)unlink(tmp);
	return r;
}

/*
 * Make the writes spooled for sid, oldest first, and remove the file.
 * The caller holds the session's lock file. A write the registry refuses
 * for being busy stops the replay: what is left is kept for the next
 * one. A record that fails its check is skipped (and counted as made:
 * it can never be). *np counts the writes made.
 */
int
spool_replay(struct registry *reg, const char *runtime_dir, const char *sid,
    u_int *np)
{
	char			 path[CFG_PATH_MAX + 64];
	struct spool_rec	*recs = NULL;
	struct stat		 st;
	size_t			 n, i, got = 0;
	ssize_t			 rd;
	int			 fd = -1, r;

	*np = 0;
	if ((r = spool_path(runtime_dir, sid, ".spool", path,
	    sizeof(path))) != 0)
		return r;
	if ((fd = spool_open_locked(path, O_RDONLY)) == -1) {
		r = errno == ENOENT ? 0 : TUNL_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	n = (size_t)st.st_size / sizeof(*recs);
	if (n > SPOOL_MAX_RECORDS)
		n = SPOOL_MAX_RECORDS;
	if (n > 0 && (recs = calloc(n, sizeof(*recs))) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	while (got < n * sizeof(*recs)) {
		rd = read(fd, (u_char *)recs + got, n * sizeof(*recs) - got);
		if (rd == -1 && errno == EINTR)
			continue;
		if (rd <= 0)
			break;
		got += (size_t)rd;
	}
	n = got / sizeof(*recs);
	r = 0;
	for (i = 0; i < n; i++) {
		if (spool_check(&recs[i]) != 0)
			continue;
		if ((r = spool_apply(reg, sid, &recs[i])) != 0)
			break;
		(*np)++;
	}
	if (r != 0 && i < n) {
		/* Keep what was not made, so nothing is made twice. */
		(void)spool_rewrite(path, recs, i, n);
		goto out;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		r = TUNL_ERR_SYSTEM;
 out:
	if (fd != -1)
		close(fd);
	free(recs);
	return r;
}
