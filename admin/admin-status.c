/*
 * admin-status.c: `tunl-admin status` says, in words, whether the relay
 * is healthy: configuration, accounts, directories, keys and database,
 * how many sessions are in each state, and whether webhook deliveries
 * keep up. It changes nothing. Exit status 0 means healthy, 1 means at
 * least one problem was named.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"
#include "reaper.h"

void
admin_report_ok(struct admin_report *rp, const char *what, const char *detail)
{
	if (!rp->quiet)
		printf("ok       %s%s%s\n", what, detail[0] ? ": " : "",
		    detail);
}

void
admin_report_problem(struct admin_report *rp, const char *what,
    const char *fmt, ...)
{
	va_list	 ap;

	rp->problems++;
	printf("PROBLEM  %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
admin_report_note(struct admin_report *rp, const char *what,
    const char *fmt, ...)
{
	va_list	 ap;

	if (rp->quiet)
		return;
	printf("note     %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
admin_report_fixed(struct admin_report *rp, const char *what,
    const char *fmt, ...)
{
	va_list	 ap;

	rp->fixed++;
	printf("fixed    %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * One item against the table. A missing item is a problem unless
 * optional (the WAL files, which SQLite makes when it needs them).
 */
static void
layout_report_one(struct admin_report *rp, const struct admin_layout *it,
    const char *path, uid_t uid, gid_t gid, int optional)
{
	char	 what[256], want[160];
	int	 r;

	(void)admin_fs_owner(uid, gid, want, sizeof(want));
	r = admin_layout_check(it, path, uid, gid, what, sizeof(what));
	if (r == 0) {
		admin_report_ok(rp, path, it->what);
		return;
	}
	if (r == TUNL_ERR_NOT_FOUND) {
		if (!optional)
			admin_report_problem(rp, path, "missing (%s); fix: %s",
			    it->what, it->kind == LAYOUT_HELPER ? "install it "
			    "(make install), or name its directory with "
			    "--libexecdir" : "run tunl-admin init");
		return;
	}
	if (r == TUNL_ERR_UNSAFE && rp->fix &&
	    strncmp(what, "is not", 6) != 0 &&
	    admin_layout_set(it, path, uid, gid) == 0) {
		admin_report_fixed(rp, path, "was %s, now %s %04o (%s)",
		    what + 3, want, (u_int)it->mode, it->what);
		return;
	}
	admin_report_problem(rp, path, "%s, expected %s %04o (%s); "
	    "fix: chown %s %s && chmod %04o %s (or tunl-admin doctor "
	    "--fix)", what, want, (u_int)it->mode, it->what, want,
	    path, (u_int)it->mode, path);
}

/*
 * The items of the layout table of one kind: each must have its owner,
 * group and mode. With rp->fix (doctor --fix) an item that is there and
 * of the right kind gets them (never through a link, never below an
 * unsafe directory); a missing one is init's to create.
 */
void
admin_layout_report(const struct tunl_cfg *cfg, const char *libexecdir,
    struct admin_report *rp, const struct admin_ids *ids,
    enum layout_kind kind)
{
	static const char *const wal[] = { "-wal", "-shm" };
	const struct admin_layout *it;
	char		 path[PATH_MAX], side[PATH_MAX];
	uid_t		 uid;
	gid_t		 gid;
	size_t		 i, k;

	for (i = 0; i < admin_layout_count(); i++) {
		it = admin_layout_item(i);
		if (it->kind != kind ||
		    admin_layout_path(it, cfg, libexecdir, path,
		    sizeof(path)) != 0 ||
		    admin_layout_ids(it, ids, &uid, &gid) != 0)
			continue;
		layout_report_one(rp, it, path, uid, gid, 0);
		/* The registry's WAL files: the database's owners and mode. */
		for (k = 0; it->where == LAYOUT_DATABASE &&
		    k < TUNL_NITEMS(wal); k++) {
			if ((size_t)snprintf(side, sizeof(side), "%s%s", path,
			    wal[k]) < sizeof(side))
				layout_report_one(rp, it, side, uid, gid, 1);
		}
	}
}

/* Disk used by the recordings (regular files directly in the directory). */
static void
status_recordings_disk(struct admin_report *st, const char *dir)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dp;
	unsigned long long bytes = 0;
	u_int		 files = 0;
	int		 dfd;

	(void)st;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;		/* the layout check has named it */
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(dfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode))
			continue;
		bytes += (unsigned long long)sb.st_blocks * 512;
		files++;
	}
	closedir(dp);
	/* Like the counts, printed even when quiet. */
	printf("recordings: %u file(s), %.1f MiB on disk in %s\n", files,
	    (double)bytes / (1024.0 * 1024.0), dir);
}

static void
status_key(struct admin_report *st, const char *path, gid_t gid, const char *what)
{
	char	 err[PATH_MAX + 64];
	int	 r;

	r = admin_fs_check_file(path, 0, gid, 0400, 0037, err, sizeof(err));
	if (r == TUNL_ERR_NOT_FOUND)
		admin_report_problem(st, path, "missing (run tunl-admin init)");
	else if (r != 0)
		admin_report_problem(st, path, "%s", err[0] ? err : tunl_err(r));
	else
		admin_report_ok(st, path, what);
}

static int
status_count(const struct session *s, void *arg)
{
	(void)s;
	(*(u_int *)arg)++;
	return 0;
}

static void
status_database(struct admin_report *st, const struct tunl_cfg *cfg)
{
	struct registry	*reg = NULL;
	u_int		 counts[4] = { 0, 0, 0, 0 }, all = 0;
	char		 msg[256];
	int		 r, version;

	if ((r = registry_open(cfg->database, REGISTRY_READONLY, &reg)) != 0) {
		snprintf(msg, sizeof(msg), "cannot open: %s", tunl_err(r));
		admin_report_problem(st, cfg->database, "%s", msg);
		goto out;
	}
	if ((r = registry_schema_version(reg, &version)) != 0) {
		snprintf(msg, sizeof(msg), "cannot read the schema: %s",
		    registry_errmsg(reg));
		admin_report_problem(st, cfg->database, "%s", msg);
		goto out;
	}
	if (version != REGISTRY_SCHEMA_VERSION) {
		snprintf(msg, sizeof(msg), "schema version %d, this tunl "
		    "uses %d (run tunl-admin init)", version,
		    REGISTRY_SCHEMA_VERSION);
		admin_report_problem(st, cfg->database, "%s", msg);
		goto out;
	}
	if ((r = registry_count_by_state(reg, counts)) != 0 ||
	    (r = registry_session_list(reg, 1, status_count, &all)) != 0) {
		snprintf(msg, sizeof(msg), "cannot count sessions: %s",
		    registry_errmsg(reg));
		admin_report_problem(st, cfg->database, "%s", msg);
		goto out;
	}
	snprintf(msg, sizeof(msg), "schema version %d", version);
	admin_report_ok(st, cfg->database, msg);
	/* Counts are the point of status: print them even when quiet. */
	printf("sessions: %u pending, %u active, %u locked, %u ended "
	    "(%u in all)\n", counts[SESSION_PENDING], counts[SESSION_ACTIVE],
	    counts[SESSION_LOCKED], counts[SESSION_ENDED], all);
 out:
	registry_close(reg);
}

/*
 * The reaper (lib/reaper.c): active sessions whose broker is gone are
 * ended (broker-died), what their broker spooled is written, and their
 * socket and lock file go. It needs write access to the registry and the runtime
 * directory (root, or the relay's accounts); otherwise it is skipped.
 */
static void
status_reap(struct admin_report *st, const struct tunl_cfg *cfg)
{
	struct registry		*reg = NULL;
	struct reap_result	 res;
	int			 r;

	if (registry_open(cfg->database, 0, &reg) != 0) {
		if (!st->quiet)
			printf("skipped  reaper (no write access to the "
			    "registry)\n");
		return;
	}
	/* Rows and spools; stray sockets are doctor --fix's (doctor_sockets). */
	r = reap_sessions(reg, cfg->runtime_dir, NULL, 0, (int64_t)time(NULL),
	    &res);
	if (r != 0)
		admin_report_problem(st, "reaper", "%s: %s", tunl_err(r),
		    registry_errmsg(reg));
	else if (res.busy > 0)
		admin_report_problem(st, "reaper", "the registry was busy; "
		    "%u session(s) left for the next run", res.busy);
	else if (res.ended > 0 || res.files > 0 || res.replayed > 0)
		admin_report_fixed(st, "reaper", "ended %u session(s) whose "
		    "broker was gone, made %u spooled write(s), removed %u "
		    "stale file(s)", res.ended, res.replayed, res.files);
	else
		admin_report_ok(st, "reaper", "every live session has its "
		    "broker");
	registry_close(reg);
}

/* Each webhook URL: has notify started on it, and is it keeping up? */
static void
status_webhook_url(struct admin_report *st, struct registry *reg, u_int i,
    const char *url, int64_t now)
{
	struct registry_event	 ev;
	char			 label[NOTIFY_LABEL_MAX], what[NOTIFY_LABEL_MAX + 16];
	int64_t			 cursor, behind, age;
	size_t			 n;
	int			 r;

	admin_notify_label(i, url, label, sizeof(label));
	snprintf(what, sizeof(what), "webhook %s", label);
	r = registry_webhook_cursor(reg, url, 0, 0, &cursor);
	if (r == TUNL_ERR_NOT_FOUND) {
		admin_report_problem(st, what, "nothing delivered yet: "
		    "tunl-admin notify has not run since this URL was added; "
		    "fix: systemctl enable --now tunl-notify");
		return;
	}
	if (r != 0 || (r = registry_events_count_after(reg, cursor,
	    &behind)) != 0) {
		admin_report_problem(st, what, "cannot read its cursor: %s",
		    registry_errmsg(reg));
		return;
	}
	if (behind == 0) {
		admin_report_ok(st, what, "up to date");
		return;
	}
	if ((r = registry_events_after(reg, cursor, &ev, 1, &n)) != 0 ||
	    n != 1) {
		admin_report_problem(st, what, "cannot read its next event: %s",
		    registry_errmsg(reg));
		return;
	}
	age = now - ev.at;
	if (age > NOTIFY_BEHIND_MAX)
		admin_report_problem(st, what, "behind: %" PRId64 " event(s) "
		    "not delivered, the oldest from %" PRId64 " s ago; fix: "
		    "check that tunl-notify runs and what it logs "
		    "(journalctl -u tunl-notify)", behind, age);
	else
		admin_report_ok(st, what, behind == 1 ? "1 event on its way" :
		    "some events on their way");
}

static void
status_webhooks(struct admin_report *st, const struct tunl_cfg *cfg)
{
	struct registry	*reg = NULL;
	char		 err[PATH_MAX + 64];
	u_int		 i;
	int		 r;

	if (cfg->nwebhooks == 0) {
		admin_report_ok(st, "webhooks", "none configured (webhook_url)");
		return;
	}
	if (geteuid() == 0) {
		r = admin_fs_check_file(cfg->webhook_key, 0, (gid_t)-1, 0400,
		    0077, err, sizeof(err));
		if (r == TUNL_ERR_NOT_FOUND)
			admin_report_problem(st, cfg->webhook_key, "missing, "
			    "so no webhook can be signed (run tunl-admin "
			    "init)");
		else if (r != 0)
			admin_report_problem(st, cfg->webhook_key, "%s; it "
			    "must be root's, mode 0600", err[0] ? err :
			    tunl_err(r));
		else
			admin_report_ok(st, cfg->webhook_key,
			    "webhook signing key");
	}
	if (registry_open(cfg->database, REGISTRY_READONLY, &reg) != 0)
		return;		/* status_database has said why */
	for (i = 0; i < cfg->nwebhooks && i < CFG_WEBHOOKS_MAX; i++)
		status_webhook_url(st, reg, i, cfg->webhook_url[i],
		    (int64_t)time(NULL));
	registry_close(reg);
}

/* The customer account must never read recordings. */
static void
status_recording_group(struct admin_report *st, const struct tunl_cfg *cfg,
    gid_t gid)
{
	struct passwd	*pw;
	struct group	*gr;
	char		**m;
	int		 in = 0;

	if ((pw = getpwnam(cfg->customer_user)) != NULL && pw->pw_gid == gid)
		in = 1;
	if ((gr = getgrgid(gid)) != NULL) {
		for (m = gr->gr_mem; m != NULL && *m != NULL; m++)
			if (strcmp(*m, cfg->customer_user) == 0)
				in = 1;
	}
	if (in)
		admin_report_problem(st, "recording_group", "the customer "
		    "account %s is in group %s and could read every "
		    "recording; fix: gpasswd -d %s %s (and a primary group "
		    "other than %s)", cfg->customer_user, cfg->recording_group,
		    cfg->customer_user, cfg->recording_group,
		    cfg->recording_group);
}

/*
 * Everything status checks, shared with doctor. ids gets the accounts (a
 * group that could not be resolved is (gid_t)-1).
 */
void
admin_status_checks(const struct tunl_cfg *cfg, const char *cfgpath,
    struct admin_report *st, struct admin_ids *ids)
{
	char	 pub[PATH_MAX];

	admin_report_ok(st, "configuration", cfgpath);
	admin_accounts_resolve(cfg, ids, 0);
	if (ids->missing > 0) {
		admin_report_problem(st, "accounts", "some relay accounts or "
		    "the relay group are missing (tunl-admin init names them)");
	} else
		admin_report_ok(st, "accounts", "");

	/* The directories, by the layout table (init makes them so). */
	admin_layout_report(cfg, LIBEXECDIR "/tunl", st, ids, LAYOUT_DIR);
	if (ids->recording_gid != (gid_t)-1)
		status_recording_group(st, cfg, ids->recording_gid);
	if (geteuid() == 0 && ids->key_gid != (gid_t)-1) {
		status_key(st, cfg->token_key, ids->key_gid,
		    "token-hashing key");
		status_key(st, cfg->ca_key, ids->key_gid, "user CA key");
	} else if (!st->quiet)
		printf("skipped  key checks (they need root and the key "
		    "group)\n");
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", cfg->ca_key) <
	    sizeof(pub) && access(pub, R_OK) != 0)
		admin_report_problem(st, pub, "missing or unreadable");
	status_reap(st, cfg);
	status_database(st, cfg);
	status_recordings_disk(st, cfg->recording_dir);
	status_webhooks(st, cfg);
}

int
admin_status(const struct tunl_cfg *cfg, const char *cfgpath, int quiet)
{
	struct admin_report	 st = { quiet, 0, 0, 0 };
	struct admin_ids	 ids;

	admin_status_checks(cfg, cfgpath, &st, &ids);
	if (st.problems > 0)
		printf("tunl-admin status: %d problem(s)\n", st.problems);
	else
		printf("tunl-admin status: healthy\n");
	return st.problems > 0 ? 1 : 0;
}
