/*
 * broker-confine.c: what keeps the broker to its own session (docs/broker.md,
 * "Confinement"; docs/security.md, "The accounts' powers").
 *
 * Before setup: the broker must run as broker_user (a broker installed
 * without its setuid owner would otherwise run as whoever started it and
 * write sockets and recordings as the customer account), and the two
 * directories it writes must be its own and nobody else's to change:
 * <runtime_dir>/sessions (broker_user:relay_group 0750, so no other
 * account can plant, replace or remove a socket) and recording_dir
 * (broker_user:recording_group 2750, so recordings get the recording
 * group by the set-group-ID bit and nobody else can rename or remove
 * them).
 *
 * After setup, in addition to seccomp (broker-sandbox.c): Landlock, where
 * the kernel has it (Linux 5.13 and later), so that the broker and its
 * registry children can reach on the filesystem only the database's
 * directory (SQLite opens the database, its WAL and shared-memory files
 * there) and, to remove its own socket at exit, the sockets' directory.
 * The lock, the listening socket and the recording are open by then.
 * Without Landlock the broker logs a warning and goes on under seccomp
 * alone.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

#include "broker.h"

/*
 * The broker's identity once sandbox_identity has settled it: broker_user
 * and nothing else. Also resolves the recording group.
 */
int
confine_identity(struct broker *b, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 euid = geteuid();

	if ((gr = getgrnam(b->cfg.recording_group)) == NULL) {
		snprintf(err, errlen, "no group %s (recording_group)",
		    b->cfg.recording_group);
		return -1;
	}
	b->recording_gid = gr->gr_gid;
	if ((pw = getpwnam(b->cfg.broker_user)) == NULL) {
		snprintf(err, errlen, "no account %s (broker_user)",
		    b->cfg.broker_user);
		return -1;
	}
	if (pw->pw_uid != euid) {
		snprintf(err, errlen, "refusing to run as uid %lu: the broker "
		    "must run as %s; install tunl-broker owned by %s:%s with "
		    "mode 4750 (make install as root does), or start it as "
		    "root", (u_long)euid, b->cfg.broker_user,
		    b->cfg.broker_user, b->cfg.relay_group);
		return -1;
	}
	b->broker_uid = euid;
	return 0;
}

/* A directory that must be ours, with exactly this group and mode. */
static int
confine_dir(const char *path, uid_t uid, gid_t gid, mode_t mode,
    const char *what, char *err, size_t errlen)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || st.st_gid != gid ||
	    (st.st_mode & 07777) != mode) {
		snprintf(err, errlen, "%s %s is uid %lu gid %lu mode %04o, "
		    "not uid %lu gid %lu mode %04o; run tunl-admin init (as "
		    "root) for the fix", what, path, (u_long)st.st_uid,
		    (u_long)st.st_gid, (u_int)(st.st_mode & 07777),
		    (u_long)uid, (u_long)gid, (u_int)mode);
		return -1;
	}
	return 0;
}

int
confine_dirs(struct broker *b, char *err, size_t errlen)
{
	char	 dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/sessions",
	    b->cfg.runtime_dir) >= sizeof(dir)) {
		snprintf(err, errlen, "runtime_dir too long");
		return -1;
	}
	if (confine_dir(dir, b->broker_uid, b->relay_gid, BROKER_SOCKDIR_MODE,
	    "the sockets' directory", err, errlen) != 0 ||
	    confine_dir(b->cfg.recording_dir, b->broker_uid, b->recording_gid,
	    BROKER_RECDIR_MODE, "recording_dir", err, errlen) != 0)
		return -1;
	return 0;
}

/*
 * The session's lock file: created with O_EXCL, or, left by an earlier
 * broker of this session, opened without following a link and accepted
 * only as a regular file of ours with one link. Only the broker account
 * can create anything in the directory (confine_dirs), so nobody else
 * can have planted it.
 */
int
confine_lock_open(const char *path, uid_t uid, int *fdp, char *err,
    size_t errlen)
{
	struct stat	 st;
	int		 fd, flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;

	*fdp = -1;
	if ((fd = open(path, flags | O_CREAT | O_EXCL, 0600)) == -1 &&
	    errno == EEXIST)
		fd = open(path, flags | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != uid || st.st_nlink != 1) {
		snprintf(err, errlen, "%s: not a regular file of the broker "
		    "account's own", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) == -1) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

#if defined(HAVE_LINUX_LANDLOCK_H) && defined(SYS_landlock_create_ruleset)

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif

/* Every filesystem right the ABI version knows, so all are denied. */
static u_int64_t
confine_ll_handled(long abi)
{
	u_int64_t	 fs = (1ULL << 13) - 1;	/* ABI 1: EXECUTE..MAKE_SYM */

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return fs;
}

static int
confine_ll_rule(int rfd, const char *path, u_int64_t access,
    u_int64_t handled, char *err, size_t errlen)
{
	struct landlock_path_beneath_attr	 pb;
	int					 r = -1;

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & handled;
	if ((pb.parent_fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "landlock: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1) {
		snprintf(err, errlen, "landlock: rule for %s: %s", path,
		    strerror(errno));
		goto out;
	}
	r = 0;
 out:
	close(pb.parent_fd);
	return r;
}

static int
confine_landlock_apply(struct broker *b, char *err, size_t errlen)
{
	struct landlock_ruleset_attr	 ra;
	char				 dbdir[PATH_MAX], sockdir[PATH_MAX];
	char				*p;
	u_int64_t			 db, sock, handled;
	long				 abi;
	int				 rfd = -1, r = -1;

	b->landlock_abi = 0;
	if (BROKER_SANITIZED) {
		/* The sanitizers' runtime reads /proc at exit. */
		info("warning: landlock is not used in a sanitizer build");
		return 0;
	}
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		error("warning: landlock is not available (%s): the broker is confined "
		    "by seccomp and file modes only; Linux 5.13 or later with "
		    "Landlock enabled (lsm=landlock) confines it to its own "
		    "files", errno == ENOSYS ? "kernel too old" :
		    errno == EOPNOTSUPP ? "disabled at boot" : strerror(errno));
		return 0;
	}
	if (tunl_strlcpy(dbdir, b->cfg.database, sizeof(dbdir)) >=
	    sizeof(dbdir) || (p = strrchr(dbdir, '/')) == NULL ||
	    (size_t)snprintf(sockdir, sizeof(sockdir), "%s/sessions",
	    b->cfg.runtime_dir) >= sizeof(sockdir)) {
		snprintf(err, errlen, "landlock: path too long");
		return -1;
	}
	if (p == dbdir)
		p[1] = '\0';
	else
		*p = '\0';

	handled = confine_ll_handled(abi);
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = handled;
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &ra,
	    sizeof(ra.handled_access_fs), 0)) == -1) {
		snprintf(err, errlen, "landlock: create ruleset: %s",
		    strerror(errno));
		return -1;
	}
	/* SQLite: the database, its -wal and -shm, made and removed. */
	db = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_TRUNCATE;
	/*
	 * The sockets' directory: its own socket removed at the end, and the
	 * session's spool of registry writes (lib/spool.c) made, rewritten
	 * and read. Never a socket or anything but a regular file.
	 */
	sock = LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_TRUNCATE;
	if (confine_ll_rule(rfd, dbdir, db, handled, err, errlen) != 0 ||
	    confine_ll_rule(rfd, sockdir, sock, handled, err, errlen) != 0)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		goto out;
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(err, errlen, "landlock: restrict: %s",
		    strerror(errno));
		goto out;
	}
	b->landlock_abi = (int)abi;
	r = 0;
 out:
	close(rfd);
	return r;
}

#else	/* no <linux/landlock.h> at build time */

static int
confine_landlock_apply(struct broker *b, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	b->landlock_abi = 0;
	error("warning: landlock is not built in (no <linux/landlock.h>): the broker is "
	    "confined by seccomp and file modes only");
	return 0;
}

#endif

/*
 * Called by record_open once the recording is open and before its
 * threads start: a Landlock domain binds the calling thread and the
 * threads and processes it makes afterwards, so every thread of the
 * broker and every registry child is confined. Returns a TUNL_ERR_*.
 */
int
confine_landlock(struct broker *b)
{
	char	 err[PATH_MAX + 128];

	if (confine_landlock_apply(b, err, sizeof(err)) != 0) {
		error("%s", err);
		return TUNL_ERR_UNSAFE;
	}
	if (b->landlock_abi > 0)
		info("landlock (ABI %d): filesystem limited to the "
		    "database's directory and removing files in the "
		    "sockets' directory", b->landlock_abi);
	return 0;
}
