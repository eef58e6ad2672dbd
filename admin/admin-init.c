/*
 * admin-init.c: `tunl-admin init` prepares a relay. It is idempotent:
 * what exists and is right is left alone, what is missing is created,
 * and anything unsafe (wrong owner or mode, a link where a file should be,
 * a parent writable by others) stops it with the fix named.
 *
 * Layout (owner:group mode):
 *	dirname(token_key), dirname(ca_key)	root:root 0755
 *	token_key				root:keys 0640
 *	ca_key, ca_key.pub			root:keys 0640, 0644
 *	dirname(webhook_key)			root:root 0755	(with a webhook_url)
 *	webhook_key				root:root 0600	(with a webhook_url)
 *	dirname(database)			root:relay 2770
 *	database				root:relay 0660
 *	runtime_dir				root:relay 0750
 *	runtime_dir/auth			root:relay 0750 (hand-offs)
 *	runtime_dir/sessions			broker:relay 0750 (broker sockets)
 *	recording_dir				broker:recording 2750
 *
 * Only the broker account can create, rename or remove a session's
 * socket or a recording (docs/security.md, "The accounts' powers"); the
 * relay group may connect to the sockets and the recording group (the
 * engineer account, never the customer's) may read the recordings.
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

struct init_dir {
	const char	*path;
	uid_t		 uid;
	gid_t		 gid;
	mode_t		 mode;
	const char	*what;
};

static void
init_say(const char *verb, const char *path, const char *detail)
{
	printf("%-8s %s%s%s\n", verb, path, detail[0] ? "  " : "", detail);
}

static int
init_dir(const struct init_dir *d)
{
	char	 err[PATH_MAX + 64], own[160], detail[256];
	uid_t	 uid = d->uid;
	gid_t	 gid = d->gid;
	int	 created, r;

	if ((r = admin_fs_check_parents(d->path, err, sizeof(err))) != 0) {
		if (r == TUNL_ERR_UNSAFE)
			printf("unsafe   %s: %s is writable by others or not "
			    "owned by root; fix that first\n", d->path, err);
		else
			printf("error    %s: parent %s: %s\n", d->path, err,
			    tunl_err(r));
		return r;
	}
	if ((r = admin_fs_ensure_dir(d->path, uid, gid, d->mode,
	    &created)) != 0) {
		if (r == TUNL_ERR_UNSAFE) {
			printf("unsafe   %s (%s) must be a directory owned by "
			    "%s with mode %04o; fix with:\n  chown %s %s && "
			    "chmod %04o %s\n", d->path, d->what,
			    admin_fs_owner(uid, gid, own, sizeof(own)),
			    (u_int)d->mode, own, d->path, (u_int)d->mode,
			    d->path);
		} else
			printf("error    %s: %s\n", d->path, tunl_err(r));
		return r;
	}
	snprintf(detail, sizeof(detail), "(%s, %s %04o)", d->what,
	    admin_fs_owner(uid, gid, own, sizeof(own)), (u_int)d->mode);
	init_say(created ? "created" : "ok", d->path, detail);
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
 * The database and the WAL files SQLite keeps beside it must all be
 * root:relay 0660: every relay account reads and writes the registry, and
 * a reader that cannot write the -shm file cannot open it at all.
 */
static int
init_database_modes(const char *db, gid_t relay_gid)
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
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    fchown(fd, 0, relay_gid) == -1 || fchmod(fd, 0660) == -1)
			r = TUNL_ERR_SYSTEM;
		close(fd);
	}
	return r;
}

static int
init_database(const struct tunl_cfg *cfg, gid_t relay_gid)
{
	struct registry	*reg = NULL;
	char		 err[PATH_MAX + 64];
	int		 r, exists, version = 0;

	r = admin_fs_check_file(cfg->database, 0, relay_gid, 0600, 0117,
	    err, sizeof(err));
	exists = r != TUNL_ERR_NOT_FOUND;
	if (exists && r != 0) {
		printf("unsafe   %s: %s; it must be root:%s 0660\n",
		    cfg->database, err[0] ? err : tunl_err(r),
		    cfg->relay_group);
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
	if ((r = init_database_modes(cfg->database, relay_gid)) != 0) {
		printf("error    %s: cannot set owner and mode: %s\n",
		    cfg->database, tunl_err(r));
		goto out;
	}
	snprintf(err, sizeof(err), "(registry, schema version %d)", version);
	init_say(exists ? "ok" : "created", cfg->database, err);
	r = 0;
 out:
	registry_close(reg);
	return r;
}

int
admin_init(const struct tunl_cfg *cfg, const char *cfgpath)
{
	struct admin_ids ids;
	char		 keydir[PATH_MAX], cadir[PATH_MAX], dbdir[PATH_MAX];
	char		 authdir[PATH_MAX], sockdir[PATH_MAX], hookdir[PATH_MAX];
	struct init_dir	 dirs[8];
	size_t		 i, n = 0;
	int		 r;

	if (geteuid() != 0) {
		fprintf(stderr, "tunl-admin: init must run as root\n");
		return 1;
	}
	umask(077);
	printf("tunl-admin init: configuration %s\n", cfgpath);
	printf("expects group %s with accounts %s (customers), %s "
	    "(engineers), %s (brokers) and %s (principals command) in it, "
	    "group %s with no members (keys), and group %s with %s alone "
	    "in it (may read recordings)\n",
	    cfg->relay_group, cfg->customer_user, cfg->engineer_user,
	    cfg->broker_user, cfg->principals_user, cfg->key_group,
	    cfg->recording_group, cfg->engineer_user);
	admin_accounts_resolve(cfg, &ids, 1);
	if (ids.missing > 0) {
		printf("tunl-admin init: stopped: %d account(s) or group(s) "
		    "missing\n", ids.missing);
		return 1;
	}

	if (admin_fs_dirname(cfg->token_key, keydir, sizeof(keydir)) != 0 ||
	    admin_fs_dirname(cfg->ca_key, cadir, sizeof(cadir)) != 0 ||
	    admin_fs_dirname(cfg->database, dbdir, sizeof(dbdir)) != 0 ||
	    admin_fs_dirname(cfg->webhook_key, hookdir, sizeof(hookdir)) != 0 ||
	    (size_t)snprintf(authdir, sizeof(authdir), "%s/auth",
	    cfg->runtime_dir) >= sizeof(authdir) ||
	    (size_t)snprintf(sockdir, sizeof(sockdir), "%s/sessions",
	    cfg->runtime_dir) >= sizeof(sockdir)) {
		fprintf(stderr, "tunl-admin: a configured path is too long\n");
		return 1;
	}
	dirs[n++] = (struct init_dir){ keydir, 0, 0, 0755, "keys" };
	if (strcmp(cadir, keydir) != 0)
		dirs[n++] = (struct init_dir){ cadir, 0, 0, 0755, "CA key" };
	if (cfg->nwebhooks > 0 && strcmp(hookdir, keydir) != 0 &&
	    strcmp(hookdir, cadir) != 0 && strcmp(hookdir, dbdir) != 0)
		dirs[n++] = (struct init_dir){ hookdir, 0, 0, 0755,
		    "webhook key" };
	dirs[n++] = (struct init_dir){ dbdir, 0, ids.relay_gid, 02770,
	    "database" };
	dirs[n++] = (struct init_dir){ cfg->runtime_dir, 0, ids.relay_gid,
	    0750, "runtime" };
	dirs[n++] = (struct init_dir){ authdir, 0, ids.relay_gid, 0750,
	    "hand-offs" };
	dirs[n++] = (struct init_dir){ sockdir, ids.broker_uid, ids.relay_gid,
	    ADMIN_SOCKDIR_MODE, "broker sockets" };
	dirs[n++] = (struct init_dir){ cfg->recording_dir, ids.broker_uid,
	    ids.recording_gid, ADMIN_RECDIR_MODE, "recordings" };
	for (i = 0; i < n; i++) {
		if (init_dir(&dirs[i]) != 0)
			goto fail;
	}
	if ((r = init_token_key(cfg, ids.key_gid)) != 0 ||
	    (r = init_ca_key(cfg, ids.key_gid)) != 0 ||
	    (r = init_webhook_key(cfg)) != 0 ||
	    (r = init_database(cfg, ids.relay_gid)) != 0)
		goto fail;
	printf("tunl-admin init: the relay is ready\n");
	return 0;
 fail:
	printf("tunl-admin init: stopped; nothing unsafe was changed\n");
	return 1;
}
