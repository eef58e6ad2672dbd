/*
 * admin-init.c: `tunl-admin init` prepares a relay. It is idempotent:
 * what exists and is right is left alone, what is missing is created,
 * an item of the table with the owners or mode of an older tunl's layout
 * is given the current ones (init says what it was), and anything unsafe
 * (a link where a file should be, a parent or an item writable by others,
 * owners no tunl gave) stops it with the fix named.
 *
 * The owners and modes are those of the table in admin-layout.c. init
 * also creates the relay's groups and accounts when they are missing,
 * writes a commented default configuration when there is none, and gives
 * the installed helpers their owners and set-id modes.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

extern char **environ;

static void
init_say(const char *verb, const char *path, const char *detail)
{
	printf("%-8s %s%s%s\n", verb, path, detail[0] ? "  " : "", detail);
}

/*
 * An item of the table that exists with other owners or another mode
 * (a relay installed by an older tunl, whose layout gave the relay group
 * more): it gets the table's, as doctor --fix does, and init says what it
 * changed. Only a directory for a directory, a singly linked regular file
 * for a file, opened without following links, below safe directories
 * (admin_layout_set), and only from owners some layout of tunl's gave it
 * (root or the broker account; root's group or one of the relay's) with
 * nothing writable by others: anything else no tunl made, and it is left
 * for the operator, with the fix (-1).
 */
static int
init_migrate(const struct admin_layout *it, const char *path,
    const struct admin_ids *ids, uid_t uid, gid_t gid)
{
	struct stat	 st;
	char		 what[256], own[160], detail[PATH_MAX];
	int		 r;

	r = admin_layout_check(it, path, uid, gid, what, sizeof(what));
	if (r != TUNL_ERR_UNSAFE || strncmp(what, "is not", 6) == 0 ||
	    lstat(path, &st) == -1 || (st.st_mode & S_IWOTH) ||
	    (st.st_uid != 0 && st.st_uid != ids->broker_uid) ||
	    (st.st_gid != 0 && st.st_gid != ids->relay_gid &&
	    st.st_gid != ids->key_gid && st.st_gid != ids->recording_gid))
		return -1;
	if (admin_layout_set(it, path, uid, gid) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "(%s: was %s, now %s %04o)",
	    it->what, what + 3, admin_fs_owner(uid, gid, own, sizeof(own)),
	    (u_int)it->mode);
	init_say("set", path, detail);
	return 0;
}

static int
init_dir(const struct admin_layout *it, const char *path,
    const struct admin_ids *ids, uid_t uid, gid_t gid)
{
	char	 err[PATH_MAX + 64], own[160], detail[256];
	int	 created, r;

	(void)admin_fs_make_parents(path);
	if ((r = admin_fs_check_parents(path, err, sizeof(err))) != 0) {
		if (r == TUNL_ERR_UNSAFE)
			printf("unsafe   %s: %s is writable by others or not "
			    "owned by root; fix that first\n", path, err);
		else
			printf("error    %s: parent %s: %s\n", path, err,
			    tunl_err(r));
		return r;
	}
	r = admin_fs_ensure_dir(path, uid, gid, it->mode, &created);
	if (r == TUNL_ERR_UNSAFE && init_migrate(it, path, ids, uid, gid) == 0)
		return 0;
	if (r != 0) {
		if (r == TUNL_ERR_UNSAFE) {
			printf("unsafe   %s (%s) must be a directory owned by "
			    "%s with mode %04o; fix with:\n  chown %s %s && "
			    "chmod %04o %s\n", path, it->what,
			    admin_fs_owner(uid, gid, own, sizeof(own)),
			    (u_int)it->mode, own, path, (u_int)it->mode,
			    path);
		} else
			printf("error    %s: %s\n", path, tunl_err(r));
		return r;
	}
	snprintf(detail, sizeof(detail), "(%s, %s %04o)", it->what,
	    admin_fs_owner(uid, gid, own, sizeof(own)), (u_int)it->mode);
	init_say(created ? "created" : "ok", path, detail);
	return 0;
}

/*
 * An installed helper gets the owner and set-id mode of the table. A
 * helper that is not there (a relay run from a build tree) is named, not
 * an error: doctor reports it.
 */
static int
init_helper(const struct admin_layout *it, const char *path, uid_t uid,
    gid_t gid)
{
	char	 what[256], own[160];
	int	 r;

	r = admin_layout_check(it, path, uid, gid, what, sizeof(what));
	if (r == TUNL_ERR_NOT_FOUND) {
		init_say("skipped", path, "(not installed here)");
		return 0;
	}
	if (r == 0) {
		init_say("ok", path, it->what);
		return 0;
	}
	if ((r = admin_layout_set(it, path, uid, gid)) != 0) {
		printf("error    %s: cannot make it %s %04o: %s\n", path,
		    admin_fs_owner(uid, gid, own, sizeof(own)),
		    (u_int)it->mode, tunl_err(r));
		return r;
	}
	snprintf(what, sizeof(what), "(%s, %s %04o)", it->what,
	    admin_fs_owner(uid, gid, own, sizeof(own)), (u_int)it->mode);
	init_say("set", path, what);
	return 0;
}

/* The engineers' keys file: made empty when missing, never rewritten. */
static int
init_engineer_keys(const struct admin_layout *it, const char *path,
    uid_t uid, gid_t gid)
{
	char	 what[256], own[160];
	int	 fd, r;

	r = admin_layout_check(it, path, uid, gid, what, sizeof(what));
	if (r == 0) {
		init_say("ok", path, "(engineers' keys)");
		return 0;
	}
	if (r != TUNL_ERR_NOT_FOUND) {
		printf("unsafe   %s %s; it must be a regular file %s %04o: "
		    "fix with:\n  chown %s %s && chmod %04o %s\n", path, what,
		    admin_fs_owner(uid, gid, own, sizeof(own)),
		    (u_int)it->mode, own, path, (u_int)it->mode, path);
		return TUNL_ERR_UNSAFE;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		printf("error    %s: %s\n", path, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	r = fchown(fd, uid, gid) == 0 && fchmod(fd, it->mode) == 0 ? 0 :
	    TUNL_ERR_SYSTEM;
	close(fd);
	if (r != 0) {
		printf("error    %s: %s\n", path, strerror(errno));
		return r;
	}
	snprintf(what, sizeof(what), "(engineers' keys, empty; add them with "
	    "tunl-admin engineer add, %s %04o)",
	    admin_fs_owner(uid, gid, own, sizeof(own)), (u_int)it->mode);
	init_say("created", path, what);
	return 0;
}

static int
init_token_key(const struct tunl_cfg *cfg, gid_t key_gid)
{
	u_char	 key[TOKEN_KEY_LEN];
	char	 err[PATH_MAX + 64];
	int	 r;

	r = admin_fs_check_file(cfg->token_key, 0, key_gid, 0400, 0037, err,
	    sizeof(err));
	if (r == TUNL_ERR_NOT_FOUND) {
		if ((r = token_key_create(cfg->token_key, 0, key_gid,
		    0640)) != 0) {
			printf("error    %s: cannot create the token key: %s\n",
			    cfg->token_key, tunl_err(r));
			return r;
		}
		snprintf(err, sizeof(err), "(token-hashing key, root:%s 0640)",
		    cfg->key_group);
		init_say("created", cfg->token_key, err);
		return 0;
	}
	if (r != 0) {
		printf("unsafe   %s: %s; it must be root:%s 0640 (or "
		    "stricter)\n", cfg->token_key, err[0] ? err : tunl_err(r),
		    cfg->key_group);
		return r;
	}
	r = token_key_load(cfg->token_key, 0, key);
	tunl_memzero(key, sizeof(key));
	if (r != 0) {
		printf("error    %s: not a usable token key: %s\n",
		    cfg->token_key, tunl_err(r));
		return r;
	}
	init_say("ok", cfg->token_key, "(token-hashing key)");
	return 0;
}

/*
 * The key that signs webhook deliveries: only tunl-admin notify (root)
 * reads it. Made only once a webhook_url is set (status and doctor then
 * say to run init if it is missing), so a relay without webhooks gets no
 * file and no directory for them; never replaced once it exists.
 */
static int
init_webhook_key(const struct tunl_cfg *cfg)
{
	u_char	 key[WEBHOOK_KEY_LEN];
	char	 err[PATH_MAX + 64];
	int	 r;

	if (cfg->nwebhooks == 0)
		return 0;
	r = admin_fs_check_file(cfg->webhook_key, 0, (gid_t)-1, 0400, 0077,
	    err, sizeof(err));
	if (r == TUNL_ERR_NOT_FOUND) {
		if ((r = token_key_create(cfg->webhook_key, 0, 0,
		    0600)) != 0) {
			printf("error    %s: cannot create the webhook key: "
			    "%s\n", cfg->webhook_key, tunl_err(r));
			return r;
		}
		init_say("created", cfg->webhook_key,
		    "(webhook signing key, root:root 0600)");
		return 0;
	}
	if (r != 0) {
		printf("unsafe   %s: %s; it must be root's, mode 0600\n",
		    cfg->webhook_key, err[0] ? err : tunl_err(r));
		return r;
	}
	r = token_key_load(cfg->webhook_key, 0, key);
	tunl_memzero(key, sizeof(key));
	if (r != 0) {
		printf("error    %s: not a usable webhook key: %s\n",
		    cfg->webhook_key, tunl_err(r));
		return r;
	}
	init_say("ok", cfg->webhook_key, "(webhook signing key)");
	return 0;
}

/* Run ssh-keygen (no shell) to make the user CA key. */
static int
init_ca_generate(const char *path, gid_t key_gid)
{
	const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N",
		    "", "-C", "tunl user CA", "-f", NULL, NULL };
	char	 p[PATH_MAX];
	pid_t	 pid;
	int	 status, fd, r;
	posix_spawn_file_actions_t fa;

	tunl_strlcpy(p, path, sizeof(p));
	argv[9] = p;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return TUNL_ERR_SYSTEM;
	/* ssh-keygen must not ask anything: stdin from /dev/null. */
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0);
	r = posix_spawn(&pid, SSH_KEYGEN_PATH, &fa, NULL,
	    (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		return TUNL_ERR_SYSTEM;
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return TUNL_ERR_SYSTEM;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return TUNL_ERR_CRYPTO;
	/* ssh-keygen honours the umask; make the modes exact. */
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	r = fchown(fd, 0, key_gid) == 0 && fchmod(fd, 0640) == 0 ? 0 :
	    TUNL_ERR_SYSTEM;
	close(fd);
	if (r != 0 || (size_t)snprintf(p, sizeof(p), "%s.pub", path) >=
	    sizeof(p))
		return r != 0 ? r : TUNL_ERR_LENGTH;
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	r = fchown(fd, 0, 0) == 0 && fchmod(fd, 0644) == 0 ? 0 :
	    TUNL_ERR_SYSTEM;
	close(fd);
	return r;
}

static int
init_ca_key(const struct tunl_cfg *cfg, gid_t key_gid)
{
	char	 err[PATH_MAX + 64], pub[PATH_MAX];
	int	 r;

	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", cfg->ca_key) >=
	    sizeof(pub))
		return TUNL_ERR_LENGTH;
	r = admin_fs_check_file(cfg->ca_key, 0, key_gid, 0400, 0037, err,
	    sizeof(err));
	if (r == TUNL_ERR_NOT_FOUND) {
		if (access(pub, F_OK) == 0) {
			printf("unsafe   %s exists without its private key "
			    "%s; remove it or restore the key\n", pub,
			    cfg->ca_key);
			return TUNL_ERR_EXISTS;
		}
		if ((r = init_ca_generate(cfg->ca_key, key_gid)) != 0) {
			printf("error    %s: ssh-keygen failed: %s\n",
			    cfg->ca_key, tunl_err(r));
			return r;
		}
		snprintf(err, sizeof(err), "(user CA for session certificates, "
		    "root:%s 0640)", cfg->key_group);
		init_say("created", cfg->ca_key, err);
	} else if (r != 0) {
		printf("unsafe   %s: %s; the CA key must be root:%s 0640 (or "
		    "stricter)\n", cfg->ca_key, err[0] ? err : tunl_err(r),
		    cfg->key_group);
		return r;
	} else
		init_say("ok", cfg->ca_key, "(user CA)");
	r = admin_fs_check_file(pub, 0, (gid_t)-1, 0444, 0022, err,
	    sizeof(err));
	if (r != 0) {
		printf("unsafe   %s: %s; the public key must be root-owned "
		    "and readable by all\n", pub, err[0] ? err : tunl_err(r));
		return r;
	}
	init_say("ok", pub, "(TrustedUserCAKeys in sshd_config)");
	return 0;
}

/*
 * The database and the WAL files SQLite keeps beside it (kept when the
 * last connection closes) must all be broker_user:key_group 0660 in a
 * directory of the same owners, 2770: only the broker account, the
 * set-group-ID tunl-authority and root can reach them; the customer and
 * engineer accounts and the principals command ask tunl-authority
 * (docs/security.md, "The accounts' powers").
 */
static int
init_database_modes(const char *db, uid_t uid, gid_t gid)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char		 path[PATH_MAX];
	struct stat	 st;
	size_t		 i;
	int		 fd, r = 0;

	for (i = 0; i < TUNL_NITEMS(suffixes) && r == 0; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", db,
		    suffixes[i]) >= sizeof(path))
			return TUNL_ERR_LENGTH;
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
		    -1) {
			if (errno == ENOENT && i > 0)
				continue;
			return TUNL_ERR_SYSTEM;
		}
		/* Singly linked: the directory is the broker account's. */
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 1 || fchown(fd, uid, gid) == -1 ||
		    fchmod(fd, admin_layout_find(LAYOUT_DATABASE)->mode) == -1)
			r = TUNL_ERR_SYSTEM;
		close(fd);
	}
	return r;
}

static int
init_database(const struct tunl_cfg *cfg, const struct admin_ids *ids)
{
	struct registry	*reg = NULL;
	struct stat	 st;
	char		 err[PATH_MAX + 64], own[160], was[200];
	int		 r, exists, version = 0;

	was[0] = '\0';
	r = admin_fs_check_file(cfg->database, ids->broker_uid, ids->key_gid,
	    0600, 0117, err, sizeof(err));
	/*
	 * Another layout (an older tunl's gave the relay group the file):
	 * a singly linked regular file gets the table's owners and mode
	 * below, and init says what it was.
	 */
	if (r == TUNL_ERR_UNSAFE && lstat(cfg->database, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    !(st.st_mode & S_IWOTH) &&
	    (st.st_uid == 0 || st.st_uid == ids->broker_uid) &&
	    (st.st_gid == 0 || st.st_gid == ids->relay_gid ||
	    st.st_gid == ids->key_gid)) {
		snprintf(was, sizeof(was), "; was %s %04o",
		    admin_fs_owner(st.st_uid, st.st_gid, own, sizeof(own)),
		    (u_int)(st.st_mode & 07777));
		r = 0;
	}
	exists = r != TUNL_ERR_NOT_FOUND;
	if (exists && r != 0) {
		printf("unsafe   %s: %s; it must be %s 0660\n",
		    cfg->database, err[0] ? err : tunl_err(r),
		    admin_fs_owner(ids->broker_uid, ids->key_gid, own,
		    sizeof(own)));
		return r;
	}
	if ((r = registry_open(cfg->database, REGISTRY_CREATE, &reg)) != 0) {
		printf("error    %s: cannot open the database: %s\n",
		    cfg->database, tunl_err(r));
		goto out;
	}
	if ((r = registry_schema_version(reg, &version)) != 0) {
		printf("error    %s: cannot read the schema version: %s\n",
		    cfg->database, registry_errmsg(reg));
		goto out;
	}
	if ((r = init_database_modes(cfg->database, ids->broker_uid,
	    ids->key_gid)) != 0) {
		printf("error    %s: cannot set owner and mode: %s\n",
		    cfg->database, tunl_err(r));
		goto out;
	}
	snprintf(err, sizeof(err), "(registry, schema version %d, %s 0660%s)",
	    version, admin_fs_owner(ids->broker_uid, ids->key_gid, own,
	    sizeof(own)), was);
	init_say(!exists ? "created" : was[0] != '\0' ? "set" : "ok",
	    cfg->database, err);
	r = 0;
 out:
	registry_close(reg);
	return r;
}

/*
 * No configuration file: write one with every key commented out at its
 * default (what a missing file means), for the operator to edit.
 */
static int
init_default_config(const char *path)
{
	struct tunl_cfg	 dflt;
	struct buf	*b = NULL, *out = NULL;
	const char	*p, *end, *nl;
	char		 dir[PATH_MAX], tmp[PATH_MAX], err[PATH_MAX + 64];
	int		 fd = -1, created, r;

	if (access(path, F_OK) == 0 || errno != ENOENT)
		return 0;
	cfg_defaults(&dflt);
	if ((r = admin_fs_dirname(path, dir, sizeof(dir))) != 0 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		goto fail;
	if ((r = admin_fs_check_parents(dir, err, sizeof(err))) != 0 ||
	    (r = admin_fs_ensure_dir(dir, 0, 0, 0755, &created)) != 0)
		goto fail;
	if ((b = buf_new(CFG_DUMP_MAX)) == NULL ||
	    (out = buf_new(2 * CFG_DUMP_MAX)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto fail;
	}
	if ((r = cfg_dump(&dflt, b)) != 0 ||
	    (r = buf_putf(out, "%s", "# tunl relay configuration "
	    "(tunl.conf(5), docs/config.md).\n# Every key is shown at its "
	    "default, commented out: remove the '#'\n# and change the value "
	    "to set it. `tunl-admin config` prints what is\n# in effect.\n"
	    "#\n# Set relay_address to the name and port customers "
	    "reach.\n\n")) != 0)
		goto fail;
	p = (const char *)buf_ptr(b);
	end = p + buf_len(b);
	while (p < end && r == 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((r = buf_putf(out, "%s", "#")) == 0 &&
		    (r = buf_put(out, p, (size_t)(nl - p))) == 0)
			r = buf_putf(out, "%s", "\n");
		p = nl + 1;
	}
	if (r != 0)
		goto fail;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || fchmod(fd, 0644) == -1 ||
	    write(fd, buf_ptr(out), buf_len(out)) != (ssize_t)buf_len(out) ||
	    fsync(fd) == -1 || close(fd) == -1) {
		r = TUNL_ERR_SYSTEM;
		fd = -1;
		(void)unlink(tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		r = TUNL_ERR_SYSTEM;
		(void)unlink(tmp);
		goto fail;
	}
	init_say("created", path, "(configuration: every key at its default, "
	    "commented out)");
	r = 0;
	goto out;
 fail:
	printf("error    %s: cannot write the default configuration: %s\n",
	    path, tunl_err(r));
 out:
	if (fd != -1)
		close(fd);
	buf_free(b);
	buf_free(out);
	return r;
}

int
admin_init(const struct tunl_cfg *cfg, const char *cfgpath,
    const char *libexecdir, int write_default)
{
	const struct admin_layout *it;
	struct admin_ids ids;
	char		 path[PATH_MAX];
	uid_t		 uid;
	gid_t		 gid;
	size_t		 i;
	int		 r;

	if (geteuid() != 0) {
		fprintf(stderr, "tunl-admin: init must run as root\n");
		return 1;
	}
	umask(077);
	printf("tunl-admin init: configuration %s\n", cfgpath);
	if (write_default && init_default_config(cfgpath) != 0)
		goto fail;
	printf("uses group %s with accounts %s (customers), %s "
	    "(engineers), %s (brokers) and %s (principals command) in it, "
	    "group %s with no members (keys), and group %s with %s alone "
	    "in it (may read recordings)\n",
	    cfg->relay_group, cfg->customer_user, cfg->engineer_user,
	    cfg->broker_user, cfg->principals_user, cfg->key_group,
	    cfg->recording_group, cfg->engineer_user);
	if (admin_accounts_create(cfg) != 0)
		goto fail;
	admin_accounts_resolve(cfg, &ids, 1);
	if (ids.missing > 0) {
		printf("tunl-admin init: stopped: %d account(s) or group(s) "
		    "missing\n", ids.missing);
		return 1;
	}
	for (i = 0; i < admin_layout_count(); i++) {
		it = admin_layout_item(i);
		if (it->kind != LAYOUT_DIR)
			continue;
		r = admin_layout_path(it, cfg, libexecdir, path, sizeof(path));
		if (r == TUNL_ERR_NOT_FOUND)
			continue;
		if (r != 0 || admin_layout_ids(it, &ids, &uid, &gid) != 0) {
			fprintf(stderr, "tunl-admin: a configured path is too "
			    "long\n");
			return 1;
		}
		if (init_dir(it, path, &ids, uid, gid) != 0)
			goto fail;
	}
	if ((r = init_token_key(cfg, ids.key_gid)) != 0 ||
	    (r = init_ca_key(cfg, ids.key_gid)) != 0 ||
	    (r = init_webhook_key(cfg)) != 0 ||
	    (r = init_database(cfg, &ids)) != 0)
		goto fail;
	for (i = 0; i < admin_layout_count(); i++) {
		it = admin_layout_item(i);
		if (it->kind == LAYOUT_DIR || it->where == LAYOUT_DATABASE)
			continue;
		if (admin_layout_path(it, cfg, libexecdir, path,
		    sizeof(path)) != 0 ||
		    admin_layout_ids(it, &ids, &uid, &gid) != 0)
			goto fail;
		r = it->kind == LAYOUT_HELPER ?
		    init_helper(it, path, uid, gid) :
		    init_engineer_keys(it, path, uid, gid);
		if (r != 0)
			goto fail;
	}
	printf("tunl-admin init: done; next: tunl-admin enable (wires sshd "
	    "and PAM), then tunl-admin doctor\n");
	return 0;
 fail:
	printf("tunl-admin init: stopped; nothing unsafe was changed\n");
	return 1;
}
