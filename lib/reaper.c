/*
 * reaper.c: no row may claim a live session that no broker serves
 * (docs/registry.md, "Brokers that are gone").
 *
 * A broker holds an exclusive flock(2) on <runtime_dir>/sessions/<id>.lock
 * for its whole life, and the kernel drops it when the broker dies however
 * it dies. So a session whose lock nobody holds has no broker. The reaper
 * takes that lock itself where it may open it (root; so no broker can start
 * for the session while it works), or else asks the socket (reap_lock),
 * then:
 *
 *  - makes the writes the dead broker spooled (spool.c);
 *  - if the row says active, ends it: state ended (actor `broker`, detail
 *    "broker died") and a `broker-died` event, so the end is put down to
 *    the broker's death and not to whoever noticed it;
 *  - removes the session's socket, spool and lock files, the lock file
 *    last and while still holding it (a broker that opened the old file
 *    meanwhile sees that it was removed and opens it again).
 *
 * A pending row with no broker is left pending: it waits for the customer,
 * who starts its broker. Locked and ended rows have no broker by design.
 * The cost is one open and one flock per session with files, and one read
 * of the session list: nothing at all in any broker.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reaper.h"

struct reap_row {
	char			 id[ID_LEN_MAX];
	enum session_state	 state;
	int64_t			 expires;
};

struct reap_rows {
	struct reap_row		*v;
	size_t			 n, cap;
};

static int
reap_collect(const struct session *s, void *arg)
{
	struct reap_rows	*rows = arg;
	struct reap_row		*nv;
	size_t			 ncap;

	if (rows->n == rows->cap) {
		ncap = rows->cap == 0 ? 64 : rows->cap * 2;
		if (ncap > 1024 * 1024 ||
		    (nv = reallocarray(rows->v, ncap, sizeof(*nv))) == NULL)
			return TUNL_ERR_ALLOC;
		rows->v = nv;
		rows->cap = ncap;
	}
	tunl_strlcpy(rows->v[rows->n].id, s->id, sizeof(rows->v[rows->n].id));
	rows->v[rows->n].state = s->state;
	rows->v[rows->n].expires = s->expires;
	rows->n++;
	return 0;
}

/*
 * Whether the session's broker is alive. Returns the descriptor of its lock
 * file, flocked (no broker holds it, and none can start while we do); -1
 * if a broker holds it; REAP_NOLOCK if no broker serves the session but we
 * hold nothing (the lock file is missing, or this account may not open it
 * and the socket refuses connections); -2 on an error.
 *
 * The reaper never creates the lock file: only the broker account may
 * make one (broker-confine.c), and a file of ours would keep every later
 * broker of the session from starting. The lock file is the broker
 * account's, mode 0600, so only root (tunl-admin status, doctor) can open
 * it; the engineer account asks the socket instead: a live broker accepts,
 * a dead one leaves a socket that refuses, or none.
 */
#define REAP_NOLOCK	(-3)
static int
reap_lock(const char *path, const char *sock)
{
	struct sockaddr_un	 sun;
	int			 fd, s, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 && errno == ENOENT)
		return REAP_NOLOCK;
	if (fd == -1 && errno == EACCES) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (tunl_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path))
			return -2;
		if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -2;
		r = connect(s, (struct sockaddr *)&sun, sizeof(sun));
		if (r == -1)
			r = errno;
		close(s);
		if (r == 0 || r == EAGAIN)
			return -1;	/* it answers, or is too busy to */
		if (r == ECONNREFUSED || r == ENOENT)
			return REAP_NOLOCK;
		return -2;
	}
	if (fd == -1)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return errno == EWOULDBLOCK ? -1 : -2;
	}
	return fd;
}

static void
reap_unlink(const char *runtime_dir, const char *id, const char *suffix,
    struct reap_result *res)
{
	char	 path[CFG_PATH_MAX + 64];

	if (spool_path(runtime_dir, id, suffix, path, sizeof(path)) != 0)
		return;
	if (unlink(path) == 0)
		res->files++;
}

/*
 * One session, whose row said `state` when listed (or SESSION_NSTATES if
 * it has none): see the comment at the top.
 */
static int
reap_one(struct registry *reg, const char *runtime_dir, const char *id,
    int64_t now, struct reap_result *res)
{
	char		 lock[CFG_PATH_MAX + 64], sock[CFG_PATH_MAX + 64];
	struct session	 s;
	u_int		 n = 0;
	int		 fd, r;

	if ((r = spool_path(runtime_dir, id, ".lock", lock,
	    sizeof(lock))) != 0 ||
	    (r = spool_path(runtime_dir, id, ".sock", sock,
	    sizeof(sock))) != 0)
		return r;
	if ((fd = reap_lock(lock, sock)) == -1)
		return 0;		/* its broker is alive */
	if (fd < 0 && fd != REAP_NOLOCK)
		return TUNL_ERR_SYSTEM;
	r = spool_replay(reg, runtime_dir, id, &n);
	res->replayed += n;
	if (r == TUNL_ERR_BUSY) {
		res->busy++;
		goto out;		/* the rest waits for the next reaper */
	}
	r = registry_session_get(reg, id, &s);
	if (r == 0 && s.state == SESSION_ACTIVE) {
		r = registry_session_set_state(reg, id, SESSION_ENDED,
		    "broker", "broker died", now);
		if (r == 0) {
			res->ended++;
			r = registry_event_add(reg, id, "broker",
			    "broker-died", NULL, "no broker held the "
			    "session's lock", now);
		} else if (r == TUNL_ERR_STATE)
			r = 0;
		if (r == TUNL_ERR_BUSY) {
			res->busy++;
			goto out;
		}
	} else if (r == TUNL_ERR_NOT_FOUND)
		r = 0;
	/*
	 * Only the broker account and root may remove files there
	 * (docs/security.md); the next broker removes a stale socket itself.
	 */
	reap_unlink(runtime_dir, id, ".sock", res);
	/* The lock file last, still held. */
	if (fd >= 0)
		reap_unlink(runtime_dir, id, ".lock", res);
 out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Reap one session: shell-live.c calls it when its broker went away. */
int
reap_session(struct registry *reg, const char *runtime_dir, const char *id,
    int64_t now, struct reap_result *res)
{
	memset(res, 0, sizeof(*res));
	return reap_one(reg, runtime_dir, id, now, res);
}

static int
reap_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct reap_row *)a)->id,
	    ((const struct reap_row *)b)->id);
}

static const struct reap_row *
reap_find(const struct reap_rows *rows, const char *id)
{
	struct reap_row	 key;

	tunl_strlcpy(key.id, id, sizeof(key.id));
	return bsearch(&key, rows->v, rows->n, sizeof(*rows->v),
	    reap_row_cmp);
}

/*
 * Every active row (its lock file may be gone with a reboot); then every
 * spool file, and with REAP_FILES every session file, in the directory
 * whose session has no broker (a spool of any session; another file of
 * a session that is not pending or active). A row past its expiry is left to the expiry
 * (registry_session_expire, doctor --fix), which says so. skip names a
 * session not to touch (the caller's own, when the caller is its broker),
 * or is NULL.
 */
int
reap_sessions(struct registry *reg, const char *runtime_dir, const char *skip,
    int flags, int64_t now, struct reap_result *res)
{
	struct reap_rows	 rows;
	const struct reap_row	*row;
	char			 dir[CFG_PATH_MAX + 16], id[ID_LEN_MAX];
	struct dirent		*de;
	DIR			*dp = NULL;
	const char		*dot;
	size_t			 i, len;
	int			 r, r1, first = 0;

	memset(res, 0, sizeof(*res));
	memset(&rows, 0, sizeof(rows));
	if ((r = registry_session_list(reg, 0, reap_collect, &rows)) != 0)
		goto out;
	for (i = 0; i < rows.n; i++) {
		if (rows.v[i].state != SESSION_ACTIVE ||
		    rows.v[i].expires <= now ||
		    (skip != NULL && strcmp(rows.v[i].id, skip) == 0))
			continue;
		if ((r1 = reap_one(reg, runtime_dir, rows.v[i].id, now,
		    res)) != 0 && first == 0)
			first = r1;
	}
	if (rows.n > 0)
		qsort(rows.v, rows.n, sizeof(*rows.v), reap_row_cmp);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/sessions", runtime_dir) >=
	    sizeof(dir)) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	if ((dp = opendir(dir)) == NULL) {
		r = errno == ENOENT ? 0 : TUNL_ERR_SYSTEM;
		goto out;
	}
	while ((de = readdir(dp)) != NULL) {
		if ((dot = strchr(de->d_name, '.')) == NULL ||
		    (strcmp(dot, ".lock") != 0 && strcmp(dot, ".sock") != 0 &&
		    strcmp(dot, ".spool") != 0))
			continue;
		/* Without REAP_FILES, spools only: their writes must land. */
		if (!(flags & REAP_FILES) && strcmp(dot, ".spool") != 0)
			continue;
		len = (size_t)(dot - de->d_name);
		if (len == 0 || len >= sizeof(id))
			continue;
		memcpy(id, de->d_name, len);
		id[len] = '\0';
		if (id_check(id) != 0 ||
		    (skip != NULL && strcmp(id, skip) == 0))
			continue;
		row = reap_find(&rows, id);
		if (row != NULL && (row->state == SESSION_PENDING ||
		    row->state == SESSION_ACTIVE) && strcmp(dot, ".spool") != 0)
			continue;	/* live, or waiting for its broker */
		/* Each file of a session names it: the second look is cheap. */
		if ((r1 = reap_one(reg, runtime_dir, id, now, res)) != 0 &&
		    first == 0)
			first = r1;
	}
	r = first;
 out:
	if (dp != NULL)
		closedir(dp);
	free(rows.v);
	return r;
}
