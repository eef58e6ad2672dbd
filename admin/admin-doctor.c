/*
 * admin-doctor.c: `tunl-admin doctor` checks what status checks and what
 * status cannot know: the installed programs (owners, modes, the
 * directories above them), the settings sshd really uses for the two tunl
 * accounts (sshd -T), where pam_tunl stands in sshd's PAM stack, state
 * left behind (hand-offs, sessions past their expiry, broker sockets) and
 * fail2ban. Every problem is one line: what is wrong, then "fix:" and the
 * exact fix. With --fix it does the safe repairs only (stale hand-offs,
 * expired sessions, dead broker sockets) and says what it did.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

#define SSHD_CONFIG_DEFAULT	"/etc/ssh/sshd_config"
#define SOCK_SUFFIX		".sock"

struct doctor {
	const struct tunl_cfg		*cfg;
	const struct doctor_opts	*o;
	struct admin_report		 rp;
	struct admin_ids		 ids;
	char				 dropin[PATH_MAX];
	char				 sshd_config[PATH_MAX];
	int64_t				 now;
};

/* ---- installed programs ------------------------------------------------- */

/* Every directory from dir up must be root's and writable by root alone. */
static void
doctor_dir_safe(struct doctor *d, const char *dir, const char *why)
{
	char	 bad[PATH_MAX];
	int	 r;

	r = tunl_safe_path(dir, 0, bad, sizeof(bad));
	if (r == 0) {
		admin_report_ok(&d->rp, dir, "owned by root, writable by root "
		    "alone, and so is every directory above it");
		return;
	}
	if (r == TUNL_ERR_UNSAFE)
		admin_report_problem(&d->rp, dir, "%s is not owned by root or "
		    "is writable by group or others (%s); fix: chown root %s "
		    "&& chmod go-w %s", bad, why, bad, bad);
	else
		admin_report_problem(&d->rp, dir, "cannot check %s: %s; fix: "
		    "install tunl there (make install) or name the right "
		    "place with the doctor option for it", bad[0] ? bad : dir,
		    strerror(errno));
}

/*
 * One installed file. With uid (uid_t)-1 it must be root's, not writable
 * by group or others and, if exec, executable; else exactly uid:gid mode.
 */
static void
doctor_file(struct doctor *d, const char *dir, const char *name, int exec,
    uid_t uid, gid_t gid, mode_t mode, const char *what)
{
	struct stat	 st;
	char		 path[PATH_MAX], own[160], want[160];
	mode_t		 m;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		admin_report_problem(&d->rp, dir, "path too long for %s; fix: "
		    "use a shorter directory", name);
		return;
	}
	if (lstat(path, &st) == -1) {
		admin_report_problem(&d->rp, path, "%s (%s); fix: install "
		    "it (make install), or name its directory with the "
		    "doctor option for it", strerror(errno), what);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		admin_report_problem(&d->rp, path, "is not a regular file "
		    "(%s); fix: replace it with the installed file itself",
		    what);
		return;
	}
	m = st.st_mode & 07777;
	(void)admin_fs_owner(st.st_uid, st.st_gid, own, sizeof(own));
	if (uid == (uid_t)-1) {
		if (st.st_uid != 0 || (m & 022) != 0 ||
		    (exec && (m & 0111) == 0)) {
			admin_report_problem(&d->rp, path, "is %s %04o, it "
			    "must be owned by root and writable by root alone "
			    "(%s); fix: chown root:root %s && chmod %s %s",
			    own, (u_int)m, what, path, exec ? "0755" : "0644",
			    path);
			return;
		}
	} else if (st.st_uid != uid || st.st_gid != gid || m != mode) {
		(void)admin_fs_owner(uid, gid, want, sizeof(want));
		admin_report_problem(&d->rp, path, "is %s %04o, expected %s "
		    "%04o (%s); fix: chown %s %s && chmod %04o %s", own,
		    (u_int)m, want, (u_int)mode, what, want, path, (u_int)mode,
		    path);
		return;
	}
	admin_report_ok(&d->rp, path, what);
}

/* The engineers' keys file: the table's owner and mode, and every line. */
static void
doctor_engineer_keys(struct doctor *d)
{
	char	 err[256];
	u_int	 keys;
	int	 bad;

	admin_layout_report(d->cfg, d->o->libexecdir, &d->rp, &d->ids,
	    LAYOUT_FILE);
	bad = admin_engineer_check(d->cfg, &keys, err, sizeof(err));
	if (bad < 0)
		return;		/* admin_layout_report named it */
	if (bad > 0)
		admin_report_problem(&d->rp, d->cfg->engineer_keys, "%d line(s) "
		    "tunl-shell cannot take a name from, the first: %s; fix: "
		    "remove them and add each engineer with tunl-admin "
		    "engineer add NAME KEYFILE", bad, err);
	else if (keys == 0)
		admin_report_note(&d->rp, d->cfg->engineer_keys, "no engineer "
		    "yet: add one with tunl-admin engineer add NAME KEYFILE");
	else
		admin_report_ok(&d->rp, d->cfg->engineer_keys, keys == 1 ?
		    "1 engineer key" : "engineer keys, each with a name");
}

static void
doctor_programs(struct doctor *d)
{
	const char	*lx = d->o->libexecdir;

	doctor_dir_safe(d, lx, "sshd refuses to run tunl-principals as the "
	    "AuthorizedPrincipalsCommand below such a directory");
	doctor_file(d, lx, "tunl-shell", 1, (uid_t)-1, 0, 0,
	    "the ForceCommand");
	doctor_file(d, lx, "tunl-principals", 1, (uid_t)-1, 0, 0,
	    "the AuthorizedPrincipalsCommand");
	admin_layout_report(d->cfg, d->o->libexecdir, &d->rp, &d->ids,
	    LAYOUT_HELPER);
	doctor_dir_safe(d, d->o->pamdir, "sshd loads pam_tunl.so from it as "
	    "root");
	doctor_file(d, d->o->pamdir, "pam_tunl.so", 0, (uid_t)-1, 0, 0,
	    "the PAM module");
}

/* ---- sshd's effective settings ------------------------------------------- */

static int
doctor_first_word_is(const char *value, const char *want)
{
	size_t	 n = strlen(want);

	return strncmp(value, want, n) == 0 &&
	    (value[n] == '\0' || value[n] == ' ');
}

/* A setting is wrong: say what it is, what it must be and where to set it. */
static void
doctor_sshd_bad(struct doctor *d, const char *user, const struct sshd_eff *e,
    enum sshd_key k, const char *want)
{
	char	 what[128];

	if (user != NULL)
		snprintf(what, sizeof(what), "sshd for %s", user);
	else
		snprintf(what, sizeof(what), "sshd");
	if (user != NULL)
		admin_report_problem(&d->rp, what, "%s is %s, expected %s; fix: "
		    "set \"%s %s\" in the \"Match User %s\" block of %s (sshd "
		    "keeps the first value it reads for each keyword)",
		    admin_sshd_name(k), e->seen[k] ? e->value[k] : "unset",
		    want, admin_sshd_name(k), want, user, d->dropin);
	else
		admin_report_problem(&d->rp, what, "%s is %s, expected %s; fix: "
		    "set \"%s %s\" in %s", admin_sshd_name(k),
		    e->seen[k] ? e->value[k] : "unset", want,
		    admin_sshd_name(k), want, d->sshd_config);
}

static void
doctor_sshd_eq(struct doctor *d, const char *user, const struct sshd_eff *e,
    enum sshd_key k, const char *want)
{
	if (!e->seen[k] || strcmp(e->value[k], want) != 0)
		doctor_sshd_bad(d, user, e, k, want);
}

static void
doctor_sshd_user(struct doctor *d, const char *user, int customer)
{
	const struct tunl_cfg	*cfg = d->cfg;
	struct sshd_eff		 e;
	char			 spec[256], err[512], want[PATH_MAX + 16];
	char			 what[128];
	const char		*fc;
	long long		 n;
	int			 r, before = d->rp.problems;

	snprintf(what, sizeof(what), "sshd for %s", user);
	if (strchr(user, ',') != NULL || (size_t)snprintf(spec, sizeof(spec),
	    "user=%s,host=relay,addr=127.0.0.1", user) >= sizeof(spec)) {
		admin_report_problem(&d->rp, what, "the account name cannot "
		    "be passed to sshd -C; fix: use a plain account name");
		return;
	}
	r = admin_sshd_run(d->o->sshd, d->o->sshd_config, spec, &e, err,
	    sizeof(err));
	if (r != 0) {
		admin_report_problem(&d->rp, what, "sshd -T failed: %s; fix: "
		    "run \"%s -t -f %s\" and correct what it names", err,
		    d->o->sshd, d->sshd_config);
		return;
	}

	/* No ForceCommand at all: the drop-in is not read. */
	snprintf(want, sizeof(want), "%s/tunl-shell", d->o->libexecdir);
	if (!e.seen[SSHD_FORCECOMMAND] ||
	    strcmp(e.value[SSHD_FORCECOMMAND], "none") == 0) {
		admin_report_problem(&d->rp, what, "no ForceCommand, so the "
		    "tunl drop-in is not in effect; fix: install tunl's "
		    "sshd_config.d/tunl.conf as %s and include it at the top "
		    "of %s (\"Include %.*s/*.conf\")", d->dropin,
		    d->sshd_config, (int)(strrchr(d->dropin, '/') - d->dropin),
		    d->dropin);
		return;
	}
	/* "exec tunl-shell" (the shipped form: no shell left above it). */
	fc = e.value[SSHD_FORCECOMMAND];
	if (strncmp(fc, "exec ", 5) == 0)
		fc += 5;
	if (!doctor_first_word_is(fc, want))
		doctor_sshd_bad(d, user, &e, SSHD_FORCECOMMAND, want);

	if (customer) {
		if (strcmp(e.value[SSHD_AUTHMETHODS],
		    "keyboard-interactive publickey") != 0 &&
		    strcmp(e.value[SSHD_AUTHMETHODS],
		    "publickey keyboard-interactive") != 0)
			doctor_sshd_bad(d, user, &e, SSHD_AUTHMETHODS,
			    "keyboard-interactive publickey");
		snprintf(want, sizeof(want), "%s/tunl-principals",
		    d->o->libexecdir);
		if (!e.seen[SSHD_PRINCIPALSCMD] ||
		    !doctor_first_word_is(e.value[SSHD_PRINCIPALSCMD], want)) {
			snprintf(want, sizeof(want), "%s/tunl-principals -f "
			    "<tunl.conf> %%u %%i %%s %%f", d->o->libexecdir);
			doctor_sshd_bad(d, user, &e, SSHD_PRINCIPALSCMD, want);
		}
		doctor_sshd_eq(d, user, &e, SSHD_PRINCIPALSUSER,
		    cfg->principals_user);
		snprintf(want, sizeof(want), "%s.pub", cfg->ca_key);
		doctor_sshd_eq(d, user, &e, SSHD_TRUSTEDCA, want);
		doctor_sshd_eq(d, user, &e, SSHD_KBDINTERACTIVE, "yes");
		/* UsePAM is global: checked once. */
		doctor_sshd_eq(d, NULL, &e, SSHD_USEPAM, "yes");
	} else {
		doctor_sshd_eq(d, user, &e, SSHD_AUTHMETHODS, "publickey");
		/* The engineers' keys: tunl-admin engineer's file only. */
		doctor_sshd_eq(d, user, &e, SSHD_AUTHKEYSFILE,
		    cfg->engineer_keys);
	}
	doctor_sshd_eq(d, user, &e, SSHD_EXPOSEAUTHINFO, "yes");
	doctor_sshd_eq(d, user, &e, SSHD_DISABLEFORWARDING, "yes");
	doctor_sshd_eq(d, user, &e, SSHD_TCPFORWARDING, "no");
	doctor_sshd_eq(d, user, &e, SSHD_PERMITUSERRC, "no");
	if (!e.seen[SSHD_MAXAUTHTRIES] ||
	    tunl_strtonum(e.value[SSHD_MAXAUTHTRIES], 0, 3, &n) != 0)
		doctor_sshd_bad(d, user, &e, SSHD_MAXAUTHTRIES, "3");
	if (d->rp.problems == before)
		admin_report_ok(&d->rp, what, "ForceCommand and the settings "
		    "tunl needs (checked with sshd -T)");
}

static void
doctor_sshd(struct doctor *d)
{
	struct stat	 st;

	if (geteuid() != 0) {
		admin_report_note(&d->rp, "sshd", "skipped: sshd -T needs "
		    "root");
		return;
	}
	if (stat(d->o->sshd, &st) == -1) {
		admin_report_problem(&d->rp, d->o->sshd, "%s; fix: install "
		    "OpenSSH's server (or name sshd with --sshd)",
		    strerror(errno));
		return;
	}
	doctor_sshd_user(d, d->cfg->customer_user, 1);
	doctor_sshd_user(d, d->cfg->engineer_user, 0);
}

/* ---- PAM ---------------------------------------------------------------- */

/* Read a root-owned PAM file into buf; 0, or a problem was reported. */
static int
doctor_pam_read(struct doctor *d, const char *path, char *buf, size_t max,
    size_t *len, const char *missing_fix)
{
	int	 r;

	if ((r = admin_fs_read_root(path, buf, max, len)) == 0)
		return 0;
	if (r == TUNL_ERR_LENGTH)
		admin_report_problem(&d->rp, path, "larger than %d bytes; fix: "
		    "shorten it", PAM_FILE_MAX);
	else if (r == TUNL_ERR_SYSTEM && errno == ENOENT)
		admin_report_problem(&d->rp, path, "missing; fix: %s",
		    missing_fix);
	else if (r == TUNL_ERR_UNSAFE)
		admin_report_problem(&d->rp, path, "not a regular file "
		    "owned by root and writable by root alone; fix: "
		    "chown root:root %s && chmod 0644 %s", path, path);
	else
		admin_report_problem(&d->rp, path, "cannot read: %s; "
		    "fix: make it readable by root", strerror(errno));
	return -1;
}

static void
doctor_pam_module(struct doctor *d, const char *path, const char *module,
    u_int line)
{
	char	 want[PATH_MAX];

	if (module[0] != '/')
		return;		/* PAM's own module directory */
	snprintf(want, sizeof(want), "%s/pam_tunl.so", d->o->pamdir);
	if (strcmp(module, want) != 0)
		admin_report_problem(&d->rp, path, "line %u loads %s, but "
		    "this tunl's module is %s; fix: change the module path on "
		    "line %u to %s", line, module, want, line, want);
}

/*
 * pam_tunl's session stage names the engineer of each engineer login (and
 * gives certificate logins their key): without it join and every engineer
 * verb of tunl-authority refuse.
 */

/*
 * Does the guard's condition (pam_succeed_if's arguments) let user
 * through? 1 yes, 0 no, -1 cannot tell (a form this reading does not
 * know: then nothing is reported). Only conditions on "user" are read;
 * any other is taken to hold.
 */
static int
doctor_guard_lets(const char *args, const char *user)
{
	char		 copy[sizeof(((struct pam_order *)0)->guard)];
	char		 list[sizeof(copy)];
	char		*w[48], *save = NULL, *lsave = NULL, *t, *item;
	const char	*field, *op, *val;
	size_t		 n = 0, i;
	int		 in;

	if (tunl_strlcpy(copy, args, sizeof(copy)) >= sizeof(copy))
		return -1;
	for (t = strtok_r(copy, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		if (n == sizeof(w) / sizeof(w[0]))
			return -1;
		w[n++] = t;
	}
	i = 0;
	while (i < n && (strcmp(w[i], "quiet") == 0 ||
	    strcmp(w[i], "quiet_success") == 0 ||
	    strcmp(w[i], "quiet_fail") == 0 || strcmp(w[i], "debug") == 0 ||
	    strcmp(w[i], "use_uid") == 0 || strcmp(w[i], "audit") == 0))
		i++;
	for (; i < n; i += 3) {
		if (i + 2 >= n)
			return -1;
		field = w[i];
		op = w[i + 1];
		val = w[i + 2];
		if (strcmp(field, "user") != 0)
			continue;
		if (strcmp(op, "=") == 0 || strcmp(op, "eq") == 0) {
			if (strcmp(val, user) != 0)
				return 0;
		} else if (strcmp(op, "!=") == 0 || strcmp(op, "ne") == 0) {
			if (strcmp(val, user) == 0)
				return 0;
		} else if (strcmp(op, "in") == 0 ||
		    strcmp(op, "notin") == 0) {
			in = 0;
			tunl_strlcpy(list, val, sizeof(list));
			for (item = strtok_r(list, ":", &lsave); item != NULL;
			    item = strtok_r(NULL, ":", &lsave))
				if (strcmp(item, user) == 0)
					in = 1;
			if (in != (strcmp(op, "in") == 0))
				return 0;
		} else
			return -1;
	}
	return 1;
}

/*
 * pam_tunl's session stage names the engineer of each engineer login (and
 * gives certificate logins their key): without it join and every engineer
 * verb of tunl-authority refuse. Its guard (pam.d/tunl's pam_succeed_if
 * line just before it) must let both the customer and the engineer
 * account through.
 */
static void
doctor_pam_session(struct doctor *d, const char *path,
    const struct pam_order *po)
{
	const char	*cust = d->cfg->customer_user;
	const char	*eng = d->cfg->engineer_user;
	char		 who[2 * CFG_NAME_MAX + 64];
	int		 lc, le;

	if (po->session_line == 0) {
		admin_report_problem(&d->rp, path, "pam_tunl has no session "
		    "line, so engineer logins get no name and join, new, "
		    "token, list, show, kill and unlock are refused; fix: add "
		    "the two session lines of tunl's pam.d/tunl");
		return;
	}
	if (po->guard_line == 0 || po->guard_more)
		return;
	lc = doctor_guard_lets(po->guard, cust);
	le = doctor_guard_lets(po->guard, eng);
	if (lc != 0 && le != 0)
		return;
	if (lc == 0 && le == 0)
		snprintf(who, sizeof(who), "the customer account %s or the "
		    "engineer account %s", cust, eng);
	else
		snprintf(who, sizeof(who), "the %s account %s", lc == 0 ?
		    "customer" : "engineer", lc == 0 ? cust : eng);
	admin_report_problem(&d->rp, path, "line %u, the guard of pam_tunl's "
	    "session line %u (\"%s\"), does not let %s through, so %s; fix: "
	    "make line %u \"session [success=ignore default=1] "
	    "pam_succeed_if.so quiet user in %s:%s\"", po->guard_line,
	    po->session_line, po->guard, who, le == 0 ? "engineer logins get "
	    "no name and join, new, token, list, show, kill and unlock are "
	    "refused" : "certificate logins get no key and cannot produce",
	    po->guard_line, cust, eng);
}

static void
doctor_pam(struct doctor *d)
{
	static char		 text[PAM_FILE_MAX + 1];
	struct pam_order	 po, inc;
	char			 path[PATH_MAX], tpath[PATH_MAX], fix[PATH_MAX + 64];
	size_t			 len;
	int			 r, before = d->rp.problems;

	if ((size_t)snprintf(path, sizeof(path), "%s/sshd",
	    d->o->pam_confdir) >= sizeof(path) ||
	    (size_t)snprintf(tpath, sizeof(tpath), "%s/tunl",
	    d->o->pam_confdir) >= sizeof(tpath)) {
		admin_report_problem(&d->rp, d->o->pam_confdir, "path too "
		    "long; fix: use a shorter --pam-dir");
		return;
	}
	if (doctor_pam_read(d, path, text, sizeof(text), &len,
	    "sshd's PAM service file is missing: reinstall openssh-server") != 0)
		return;
	if ((r = admin_pam_scan(text, len, &po)) != 0) {
		admin_report_problem(&d->rp, path, "cannot read it: %s; fix: "
		    "correct the file (no NUL, lines under %d bytes)",
		    tunl_err(r), PAM_LINE_MAX);
		return;
	}
	if (po.tunl_line == 0) {
		if (po.common_line != 0)
			admin_report_problem(&d->rp, path, "pam_tunl is not in "
			    "the auth stack; fix: add the line \"@include "
			    "tunl\" above line %u (\"@include common-auth\")",
			    po.common_line);
		else if (po.other_line != 0)
			admin_report_problem(&d->rp, path, "pam_tunl is not in "
			    "the auth stack; fix: add the line \"@include "
			    "tunl\" above line %u (the first auth line, %s)",
			    po.other_line, po.other_module);
		else
			admin_report_problem(&d->rp, path, "pam_tunl is not in "
			    "the auth stack; fix: add the line \"@include "
			    "tunl\" before any auth line");
		return;
	}
	if (po.common_line != 0 && po.common_line < po.tunl_line)
		admin_report_problem(&d->rp, path, "pam_tunl (line %u) comes "
		    "after \"@include common-auth\" (line %u), so the usual "
		    "stack answers the customer first; fix: move line %u above "
		    "line %u", po.tunl_line, po.common_line, po.tunl_line,
		    po.common_line);
	else if (po.other_line != 0 && po.other_line < po.tunl_line)
		admin_report_problem(&d->rp, path, "pam_tunl (line %u) comes "
		    "after the auth line of %s (line %u); fix: move line %u "
		    "above line %u", po.tunl_line, po.other_module,
		    po.other_line, po.tunl_line, po.other_line);

	if (po.tunl_include) {
		snprintf(fix, sizeof(fix), "install tunl's pam.d/tunl as %s",
		    tpath);
		if (doctor_pam_read(d, tpath, text, sizeof(text), &len,
		    fix) != 0)
			return;
		if ((r = admin_pam_scan(text, len, &inc)) != 0 ||
		    inc.tunl_line == 0 || inc.tunl_include) {
			admin_report_problem(&d->rp, tpath, "has no auth line "
			    "for pam_tunl.so; fix: %s", fix);
			return;
		}
		doctor_pam_module(d, tpath, inc.module, inc.tunl_line);
		doctor_pam_session(d, tpath, &inc);
	} else {
		doctor_pam_module(d, path, po.module, po.tunl_line);
		doctor_pam_session(d, path, &po);
	}
	if (d->rp.problems == before)
		admin_report_ok(&d->rp, path, "pam_tunl decides before the "
		    "usual auth stack");
}

/* ---- state left behind ---------------------------------------------------- */

static int
doctor_handoff_name(const char *name)
{
	size_t	 i;

	if (strlen(name) != HANDOFF_NAME_LEN ||
	    strcmp(name + 32, ".handoff") != 0)
		return 0;
	for (i = 0; i < 32; i++) {
		if (strchr("0123456789abcdef", name[i]) == NULL)
			return 0;
	}
	return 1;
}

static void
doctor_handoffs(struct doctor *d)
{
	char		 dir[PATH_MAX];
	int64_t		 ttl = (int64_t)d->cfg->session_ttl * 60;
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp;
	u_int		 stale = 0, removed;
	int		 dfd, r;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/auth",
	    d->cfg->runtime_dir) >= sizeof(dir))
		return;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		admin_report_problem(&d->rp, dir, "%s; fix: run tunl-admin "
		    "init", strerror(errno));
		return;
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!doctor_handoff_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if ((int64_t)st.st_mtime + ttl < d->now)
			stale++;
	}
	closedir(dp);
	if (stale == 0) {
		admin_report_ok(&d->rp, dir, "no stale hand-offs");
		return;
	}
	if (!d->o->fix) {
		admin_report_problem(&d->rp, dir, "%u hand-off(s) older than "
		    "session_ttl (%u min), left by logins that never reached "
		    "tunl-shell; fix: tunl-admin doctor --fix removes them",
		    stale, d->cfg->session_ttl);
		return;
	}
	if ((r = handoff_clean(dir, d->now, ttl, &removed)) != 0) {
		admin_report_problem(&d->rp, dir, "cannot remove stale "
		    "hand-offs: %s; fix: remove the *.handoff files older "
		    "than %u minutes by hand", strerror(errno),
		    d->cfg->session_ttl);
		return;
	}
	admin_report_fixed(&d->rp, dir, "removed %u stale hand-off(s)",
	    removed);
}

struct doctor_expired {
	int64_t	 now;
	int	 n;
};

/* As registry_session_expire picks them: live, and expires <= now. */
static int
doctor_count_expired(const struct session *s, void *arg)
{
	struct doctor_expired	*x = arg;

	if ((s->state == SESSION_PENDING || s->state == SESSION_ACTIVE) &&
	    s->expires <= x->now)
		x->n++;
	return 0;
}

static void
doctor_sessions(struct doctor *d, struct registry *reg)
{
	struct doctor_expired	 x = { d->now, 0 };
	int			 n;

	if (registry_session_list(reg, 0, doctor_count_expired, &x) != 0) {
		admin_report_problem(&d->rp, d->cfg->database, "cannot list "
		    "sessions: %s; fix: check the database with tunl-admin "
		    "status", registry_errmsg(reg));
		return;
	}
	if ((n = x.n) == 0) {
		admin_report_ok(&d->rp, "sessions", "none past its expiry is "
		    "still live");
		return;
	}
	if (!d->o->fix) {
		admin_report_problem(&d->rp, "sessions", "%d session(s) past "
		    "their expiry still marked pending or active; fix: "
		    "tunl-admin doctor --fix ends them", n);
		return;
	}
	if ((n = registry_session_expire(reg, d->now)) < 0) {
		admin_report_problem(&d->rp, "sessions", "cannot end expired "
		    "sessions: %s; fix: check the database with tunl-admin "
		    "status", registry_errmsg(reg));
		return;
	}
	admin_report_fixed(&d->rp, "sessions", "ended %d session(s) past "
	    "their expiry", n);
}

static int
doctor_session_live(struct doctor *d, struct registry *reg, const char *id)
{
	struct session	 s;

	if (registry_session_get(reg, id, &s) != 0)
		return 0;
	return (s.state == SESSION_PENDING || s.state == SESSION_ACTIVE) &&
	    s.expires > d->now;
}

/*
 * Remove one dead broker socket: only while holding the session's lock
 * (so no broker is starting) and only when connect() is refused (so
 * nothing listens).
 */
static void
doctor_socket_fix(struct doctor *d, const char *dir, const char *id)
{
	struct sockaddr_un	 sun;
	char			 lock[PATH_MAX];
	int			 lfd = -1, fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s"
	    SOCK_SUFFIX, dir, id) >= sizeof(sun.sun_path) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s/%s.lock", dir, id) >=
	    sizeof(lock))
		return;
	if ((lfd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1 &&
	    flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		admin_report_problem(&d->rp, sun.sun_path, "a tunl-broker "
		    "still runs for session %s, which is not live; fix: stop "
		    "that broker (it holds %s)", id, lock);
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		admin_report_problem(&d->rp, sun.sun_path, "something still "
		    "listens on it though session %s is not live; fix: stop "
		    "that process", id);
		goto out;
	}
	if (errno != ECONNREFUSED) {
		admin_report_problem(&d->rp, sun.sun_path, "cannot tell "
		    "whether anything listens (%s); fix: remove it by hand "
		    "once no broker runs for %s", strerror(errno), id);
		goto out;
	}
	if (unlink(sun.sun_path) == -1)
		admin_report_problem(&d->rp, sun.sun_path, "cannot remove: %s; "
		    "fix: rm %s", strerror(errno), sun.sun_path);
	else
		admin_report_fixed(&d->rp, sun.sun_path, "removed the dead "
		    "socket of session %s", id);
 out:
	if (fd != -1)
		close(fd);
	if (lfd != -1)
		close(lfd);	/* releases the lock */
}

static void
doctor_sockets(struct doctor *d, struct registry *reg)
{
	char		 dir[PATH_MAX], id[ID_LEN_MAX];
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp;
	size_t		 len, sl = strlen(SOCK_SUFFIX);
	u_int		 stale = 0;
	int		 dfd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/sessions",
	    d->cfg->runtime_dir) >= sizeof(dir))
		return;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		admin_report_problem(&d->rp, dir, "%s; fix: run tunl-admin "
		    "init", strerror(errno));
		return;
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len <= sl || len - sl >= sizeof(id) ||
		    strcmp(de->d_name + len - sl, SOCK_SUFFIX) != 0)
			continue;
		memcpy(id, de->d_name, len - sl);
		id[len - sl] = '\0';
		if (id_check(id) != 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISSOCK(st.st_mode) || doctor_session_live(d, reg, id))
			continue;
		stale++;
		if (d->o->fix)
			doctor_socket_fix(d, dir, id);
	}
	closedir(dp);
	if (stale == 0)
		admin_report_ok(&d->rp, dir, "no broker sockets of ended "
		    "sessions");
	else if (!d->o->fix)
		admin_report_problem(&d->rp, dir, "%u broker socket(s) of "
		    "sessions that are not live; fix: tunl-admin doctor --fix "
		    "removes those nothing listens on", stale);
}

static void
doctor_state(struct doctor *d)
{
	struct registry	*reg = NULL;

	doctor_handoffs(d);
	if (registry_open(d->cfg->database, d->o->fix ? 0 : REGISTRY_READONLY,
	    &reg) != 0)
		return;		/* status has said why */
	doctor_sessions(d, reg);
	doctor_sockets(d, reg);
	registry_close(reg);
}

/* ---- the customer's line ----------------------------------------------------- */

/*
 * What `new` prints for the customer must work on a machine that never saw
 * this relay: an address customers can reach, and sshd's host key.
 */
static void
doctor_relay_line(struct doctor *d)
{
	char		 key[RELAY_HOSTKEY_MAX];
	const char	*why, *sp;
	int		 r;

	if (d->cfg->relay_address[0] == '\0')
		admin_report_note(&d->rp, "relay_address", "not set: the "
		    "line `new` prints names the address and port the "
		    "engineer reached, which customers may not reach; set "
		    "relay_address = HOST[:PORT] in tunl.conf");
	else
		admin_report_ok(&d->rp, "relay_address",
		    d->cfg->relay_address);
	r = relay_hostkey_load(d->cfg->relay_host_key, key, sizeof(key),
	    &why);
	if (r == TUNL_ERR_SYSTEM)
		admin_report_problem(&d->rp, d->cfg->relay_host_key,
		    "relay_host_key: %s; customers cannot check the relay; "
		    "fix: point relay_host_key at sshd's public host key "
		    "(a HostKey in sshd_config, with .pub)", strerror(errno));
	else if (r != 0)
		admin_report_problem(&d->rp, d->cfg->relay_host_key,
		    "relay_host_key: %s; fix: point it at sshd's public host "
		    "key (a HostKey in sshd_config, with .pub)",
		    why != NULL ? why : tunl_err(r));
	else {
		if ((sp = strchr(key, ' ')) != NULL)
			key[sp - key] = '\0';
		admin_report_ok(&d->rp, d->cfg->relay_host_key, key);
	}
}

/*
 * The host CA (init --host-ca), when its .pub says there is one: that .pub
 * is then the pin in every line, so it must hold a key, and its private
 * key must be root's alone.
 */
static void
doctor_host_ca(struct doctor *d)
{
	char		 key[RELAY_HOSTKEY_MAX], err[PATH_MAX + 64];
	const char	*why, *path = "";
	char		*sp;
	int		 r, is_ca;

	r = relay_pin_load(d->cfg, key, sizeof(key), &is_ca, &path, &why);
	if (r == 0 && !is_ca)
		return;		/* no host CA: relay_host_key is the pin */
	if (r != 0 && path != d->cfg->relay_host_key) {
		admin_report_problem(&d->rp, path, "host CA public key: %s; "
		    "every customer line pins it; fix: tunl-admin init "
		    "--host-ca, or remove it to pin relay_host_key instead",
		    r == TUNL_ERR_SYSTEM ? strerror(errno) :
		    why != NULL ? why : tunl_err(r));
		return;
	}
	if (r != 0)
		return;		/* reported with relay_host_key */
	r = admin_fs_check_file(d->cfg->host_ca_key, 0, 0, 0400, 0077, err,
	    sizeof(err));
	if (r != 0) {
		admin_report_problem(&d->rp, d->cfg->host_ca_key, "host CA "
		    "key: %s; fix: chown root:root %s && chmod 0600 %s",
		    err[0] ? err : tunl_err(r), d->cfg->host_ca_key,
		    d->cfg->host_ca_key);
		return;
	}
	if ((sp = strchr(key, ' ')) != NULL)
		*sp = '\0';
	(void)snprintf(err, sizeof(err), "host CA (%s), the pin customers "
	    "get (tunl-admin host-key)", key);
	admin_report_ok(&d->rp, d->cfg->host_ca_key, err);
}

/* ---- fail2ban -------------------------------------------------------------- */

static void
doctor_fail2ban(struct doctor *d)
{
	static const char *files[] = { "filter.d/tunl.conf",
	    "jail.d/tunl.conf" };
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 i;

	if (stat(d->o->fail2ban_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		admin_report_note(&d->rp, "fail2ban", "not installed (no %s): "
		    "nothing bans addresses that keep failing; tunl's own "
		    "rate limit and failure cap still apply",
		    d->o->fail2ban_dir);
		return;
	}
	for (i = 0; i < TUNL_NITEMS(files); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
		    d->o->fail2ban_dir, files[i]) >= sizeof(path))
			continue;
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			admin_report_problem(&d->rp, path, "missing; fix: "
			    "install tunl's fail2ban/%s as %s, then "
			    "\"fail2ban-client reload\"", files[i], path);
		else
			admin_report_ok(&d->rp, path, "");
	}
}

int
admin_doctor(const struct tunl_cfg *cfg, const char *cfgpath,
    const struct doctor_opts *o)
{
	struct doctor	 d;
	char		*p;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.o = o;
	d.rp.quiet = o->quiet;
	d.rp.fix = o->fix;
	d.now = (int64_t)time(NULL);
	tunl_strlcpy(d.sshd_config, o->sshd_config != NULL ? o->sshd_config :
	    SSHD_CONFIG_DEFAULT, sizeof(d.sshd_config));
	tunl_strlcpy(d.dropin, d.sshd_config, sizeof(d.dropin));
	if ((p = strrchr(d.dropin, '/')) != NULL)
		*p = '\0';
	if (strlen(d.dropin) + sizeof("/sshd_config.d/tunl.conf") >
	    sizeof(d.dropin))
		d.dropin[0] = '\0';
	strncat(d.dropin, "/sshd_config.d/tunl.conf",
	    sizeof(d.dropin) - strlen(d.dropin) - 1);

	admin_status_checks(cfg, cfgpath, &d.rp, &d.ids);
	doctor_programs(&d);
	doctor_engineer_keys(&d);
	doctor_sshd(&d);
	doctor_pam(&d);
	doctor_state(&d);
	doctor_relay_line(&d);
	doctor_host_ca(&d);
	doctor_fail2ban(&d);

	if (d.rp.fixed > 0)
		printf("tunl-admin %s: fixed %d item(s)\n", o->verb,
		    d.rp.fixed);
	if (d.rp.problems > 0)
		printf("tunl-admin %s: %d problem(s)\n", o->verb,
		    d.rp.problems);
	else
		printf("tunl-admin %s: healthy\n", o->verb);
	return d.rp.problems > 0 ? 1 : 0;
}
