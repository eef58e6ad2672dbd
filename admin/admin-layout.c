/*
 * admin-layout.c: the owners and modes of everything the relay's design
 * depends on, in ONE table. `tunl-admin init` creates and sets them,
 * `status` and `doctor` check them, `doctor --fix` puts them back. A change
 * of design (a directory's mode, a helper's owner) is one line here.
 *
 * Paths come from the configuration (and the programs' directory for the
 * helpers); owners and groups are the configured accounts, resolved by
 * admin_accounts_resolve().
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

static const struct admin_layout layout[] = {
	/* where		kind		owner	     group	  mode */
	{ LAYOUT_KEYDIR,	LAYOUT_DIR,	WHO_ROOT, WHO_ROOT,  0755,
	    "keys" },
	{ LAYOUT_CADIR,		LAYOUT_DIR,	WHO_ROOT, WHO_ROOT,  0755,
	    "CA key" },
	{ LAYOUT_HOOKDIR,	LAYOUT_DIR,	WHO_ROOT, WHO_ROOT,  0755,
	    "webhook key" },
	{ LAYOUT_DBDIR,		LAYOUT_DIR,	WHO_BROKER, WHO_KEYS, 02770,
	    "database: the broker account and tunl-authority only" },
	{ LAYOUT_RUNTIME,	LAYOUT_DIR,	WHO_ROOT, WHO_RELAY, 0750,
	    "runtime" },
	{ LAYOUT_AUTHDIR,	LAYOUT_DIR,	WHO_ROOT, WHO_RELAY, 0750,
	    "hand-offs" },
	{ LAYOUT_SOCKDIR,	LAYOUT_DIR,	WHO_BROKER, WHO_RELAY,
	    ADMIN_SOCKDIR_MODE, "broker sockets" },
	{ LAYOUT_RECDIR,	LAYOUT_DIR,	WHO_BROKER, WHO_RECORDING,
	    ADMIN_RECDIR_MODE, "recordings" },
	{ LAYOUT_DATABASE,	LAYOUT_FILE,	WHO_BROKER, WHO_KEYS, 0660,
	    "registry" },
	{ LAYOUT_ENGINEER_KEYS,	LAYOUT_FILE,	WHO_ROOT, WHO_ROOT,  0644,
	    "engineers' keys (AuthorizedKeysFile)" },
	{ LAYOUT_AUTHORITY,	LAYOUT_HELPER,	WHO_ROOT, WHO_KEYS,  02755,
	    "setgid to read the keys" },
	{ LAYOUT_BROKER,	LAYOUT_HELPER,	WHO_BROKER, WHO_RELAY, 04750,
	    "setuid broker_user, run by the relay group only" },
};

size_t
admin_layout_count(void)
{
	return TUNL_NITEMS(layout);
}

const struct admin_layout *
admin_layout_item(size_t i)
{
	return i < TUNL_NITEMS(layout) ? &layout[i] : NULL;
}

const struct admin_layout *
admin_layout_find(enum layout_where where)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(layout); i++)
		if (layout[i].where == where)
			return &layout[i];
	return NULL;
}

static int
layout_join(char *out, size_t outlen, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * The path of one item. TUNL_ERR_NOT_FOUND: the item does not apply (the
 * webhook key's directory without a webhook_url) or is the same directory
 * as an item before it in the table.
 */
int
admin_layout_path(const struct admin_layout *it, const struct tunl_cfg *cfg,
    const char *libexecdir, char *out, size_t outlen)
{
	char	 a[PATH_MAX], b[PATH_MAX];
	int	 r = 0;

	switch (it->where) {
	case LAYOUT_KEYDIR:
		return admin_fs_dirname(cfg->token_key, out, outlen);
	case LAYOUT_CADIR:
		if ((r = admin_fs_dirname(cfg->token_key, a, sizeof(a))) != 0 ||
		    (r = admin_fs_dirname(cfg->ca_key, out, outlen)) != 0)
			return r;
		return strcmp(a, out) == 0 ? TUNL_ERR_NOT_FOUND : 0;
	case LAYOUT_HOOKDIR:
		if (cfg->nwebhooks == 0)
			return TUNL_ERR_NOT_FOUND;
		if ((r = admin_fs_dirname(cfg->token_key, a, sizeof(a))) != 0 ||
		    (r = admin_fs_dirname(cfg->ca_key, b, sizeof(b))) != 0 ||
		    (r = admin_fs_dirname(cfg->webhook_key, out, outlen)) != 0)
			return r;
		if (strcmp(a, out) == 0 || strcmp(b, out) == 0)
			return TUNL_ERR_NOT_FOUND;
		if ((r = admin_fs_dirname(cfg->database, a, sizeof(a))) != 0)
			return r;
		return strcmp(a, out) == 0 ? TUNL_ERR_NOT_FOUND : 0;
	case LAYOUT_DBDIR:
		return admin_fs_dirname(cfg->database, out, outlen);
	case LAYOUT_RUNTIME:
		return tunl_strlcpy(out, cfg->runtime_dir, outlen) >= outlen ?
		    TUNL_ERR_LENGTH : 0;
	case LAYOUT_AUTHDIR:
		return layout_join(out, outlen, cfg->runtime_dir, "auth");
	case LAYOUT_SOCKDIR:
		return layout_join(out, outlen, cfg->runtime_dir, "sessions");
	case LAYOUT_RECDIR:
		return tunl_strlcpy(out, cfg->recording_dir, outlen) >=
		    outlen ? TUNL_ERR_LENGTH : 0;
	case LAYOUT_DATABASE:
		return tunl_strlcpy(out, cfg->database, outlen) >= outlen ?
		    TUNL_ERR_LENGTH : 0;
	case LAYOUT_ENGINEER_KEYS:
		return tunl_strlcpy(out, cfg->engineer_keys, outlen) >=
		    outlen ? TUNL_ERR_LENGTH : 0;
	case LAYOUT_AUTHORITY:
		return layout_join(out, outlen, libexecdir, "tunl-authority");
	case LAYOUT_BROKER:
		return layout_join(out, outlen, libexecdir, "tunl-broker");
	}
	return TUNL_ERR_INVALID;
}

static int
layout_id(enum layout_who who, const struct admin_ids *ids, int group,
    u_int *id)
{
	*id = (u_int)-1;
	switch (who) {
	case WHO_ROOT:
		*id = 0;
		return 0;
	case WHO_RELAY:
		*id = group ? (u_int)ids->relay_gid : (u_int)-1;
		break;
	case WHO_KEYS:
		*id = group ? (u_int)ids->key_gid : (u_int)-1;
		break;
	case WHO_BROKER:
		*id = group ? (u_int)-1 : (u_int)ids->broker_uid;
		break;
	case WHO_RECORDING:
		*id = group ? (u_int)ids->recording_gid : (u_int)-1;
		break;
	}
	return *id == (u_int)-1 ? TUNL_ERR_NOT_FOUND : 0;
}

/* The owner and group an item must have; TUNL_ERR_NOT_FOUND: unresolved. */
int
admin_layout_ids(const struct admin_layout *it, const struct admin_ids *ids,
    uid_t *uid, gid_t *gid)
{
	u_int	 u = (u_int)-1, g = (u_int)-1;

	if (layout_id(it->owner, ids, 0, &u) != 0 ||
	    layout_id(it->group, ids, 1, &g) != 0)
		return TUNL_ERR_NOT_FOUND;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/*
 * Give an existing item its owner and mode, through a descriptor opened
 * without following links; the kind must match (a directory for a
 * directory, a regular file otherwise). chown clears set-id bits, so the
 * mode comes after it. Every directory above must already be safe.
 */
int
admin_layout_set(const struct admin_layout *it, const char *path, uid_t uid,
    gid_t gid)
{
	struct stat	 st;
	char		 bad[PATH_MAX], dir[PATH_MAX];
	int		 fd, r = TUNL_ERR_SYSTEM;

	/*
	 * The registry's files sit in the broker account's directory: the
	 * directories above that one must be safe, and the file singly
	 * linked (the broker account could link another file there, never
	 * make a symbolic link count: O_NOFOLLOW).
	 */
	if (it->where == LAYOUT_DATABASE) {
		if (admin_fs_dirname(path, dir, sizeof(dir)) != 0 ||
		    admin_fs_check_parents(dir, bad, sizeof(bad)) != 0)
			return TUNL_ERR_UNSAFE;
	} else if (admin_fs_check_parents(path, bad, sizeof(bad)) != 0)
		return TUNL_ERR_UNSAFE;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    (it->kind == LAYOUT_DIR ? O_DIRECTORY : 0));
	if (fd == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND :
		    (errno == ELOOP || errno == ENOTDIR) ? TUNL_ERR_UNSAFE :
		    TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1)
		goto out;
	if ((it->kind != LAYOUT_DIR && !S_ISREG(st.st_mode)) ||
	    (it->where == LAYOUT_DATABASE && st.st_nlink != 1)) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, it->mode) == -1)
		goto out;
	r = 0;
 out:
	close(fd);
	return r;
}

/*
 * Compare an item with the table: 0 when right, TUNL_ERR_NOT_FOUND when
 * missing, TUNL_ERR_UNSAFE with `what' saying what it is instead.
 */
int
admin_layout_check(const struct admin_layout *it, const char *path,
    uid_t uid, gid_t gid, char *what, size_t whatlen)
{
	struct stat	 st;
	char		 own[160];

	what[0] = '\0';
	if (lstat(path, &st) == -1) {
		snprintf(what, whatlen, "%s", strerror(errno));
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	}
	if (it->kind == LAYOUT_DIR ? !S_ISDIR(st.st_mode) :
	    !S_ISREG(st.st_mode)) {
		snprintf(what, whatlen, "is not a %s",
		    it->kind == LAYOUT_DIR ? "directory" : "regular file");
		return TUNL_ERR_UNSAFE;
	}
	if (st.st_uid != uid || st.st_gid != gid ||
	    (st.st_mode & 07777) != it->mode) {
		snprintf(what, whatlen, "is %s %04o",
		    admin_fs_owner(st.st_uid, st.st_gid, own, sizeof(own)),
		    (u_int)(st.st_mode & 07777));
		return TUNL_ERR_UNSAFE;
	}
	return 0;
}
