/*
 * admin-accounts.c: the accounts and groups the relay expects. `init`
 * creates the missing ones with the system's groupadd and useradd (system
 * accounts, no password, no home directory made); status and doctor name
 * what is missing and how to add it.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "admin.h"

static int
admin_accounts_user(const char *name, const char *group, const char *what,
    uid_t *uid, int report)
{
	struct passwd	*pw;

	if ((pw = getpwnam(name)) != NULL) {
		*uid = pw->pw_uid;
		return 0;
	}
	if (report) {
		printf("missing account %s (%s); create it with:\n"
		    "  tunl-admin init  (or: useradd --system --gid %s "
		    "--home-dir / --no-create-home --shell /bin/sh %s)\n",
		    name, what, group, name);
	}
	return 1;
}

void
admin_accounts_resolve(const struct tunl_cfg *cfg, struct admin_ids *ids,
    int report)
{
	struct group	*gr;
	uid_t		 tunnel_uid;

	ids->missing = 0;
	ids->relay_gid = ids->key_gid = ids->recording_gid = (gid_t)-1;
	ids->customer_uid = ids->engineer_uid = (uid_t)-1;
	ids->broker_uid = ids->principals_uid = (uid_t)-1;
	if ((gr = getgrnam(cfg->relay_group)) != NULL)
		ids->relay_gid = gr->gr_gid;
	else {
		ids->missing++;
		if (report)
			printf("missing group %s (shared by the relay "
			    "accounts); create it with:\n  tunl-admin init  (or: "
			    "groupadd --system %s)\n", cfg->relay_group,
			    cfg->relay_group);
	}
	if ((gr = getgrnam(cfg->key_group)) != NULL)
		ids->key_gid = gr->gr_gid;
	else {
		ids->missing++;
		if (report)
			printf("missing group %s (owns the token and CA keys; "
			    "no members); create it with:\n  tunl-admin init  "
			    "(or: groupadd --system %s)\n", cfg->key_group,
			    cfg->key_group);
	}
	if ((gr = getgrnam(cfg->recording_group)) != NULL)
		ids->recording_gid = gr->gr_gid;
	else {
		ids->missing++;
		if (report)
			printf("missing group %s (may read recordings; the "
			    "engineer account %s alone is in it); create it "
			    "with:\n  groupadd --system %s && usermod -a -G %s "
			    "%s\n", cfg->recording_group, cfg->engineer_user,
			    cfg->recording_group, cfg->recording_group,
			    cfg->engineer_user);
	}
	ids->missing += admin_accounts_user(cfg->customer_user,
	    cfg->relay_group, "customers log in as it",
	    &ids->customer_uid, report);
	ids->missing += admin_accounts_user(cfg->engineer_user,
	    cfg->relay_group, "support engineers log in as it",
	    &ids->engineer_uid, report);
	ids->missing += admin_accounts_user(cfg->broker_user,
	    cfg->relay_group, "the per-session brokers run as it",
	    &ids->broker_uid, report);
	ids->missing += admin_accounts_user(cfg->principals_user,
	    cfg->relay_group, "sshd runs tunl-principals as it",
	    &ids->principals_uid, report);
	/* Only a relay with tunnel ports needs the tunnel account. */
	if (cfg->tunnel_port_min != 0)
		ids->missing += admin_accounts_user(cfg->tunnel_user,
		    cfg->tunnel_user, "session certificates listen for "
		    "tunnels as it; its own group", &tunnel_uid, report);
}

static int
accounts_group(const char *name)
{
	const char *argv[] = { "groupadd", "--system", name, NULL };
	char	 out[512];
	int	 r;

	if (getgrnam(name) != NULL)
		return 0;
	if ((r = admin_run(GROUPADD_PATH, argv, out, sizeof(out))) != 0) {
		printf("error    group %s: groupadd failed: %s\n", name,
		    out[0] ? out : tunl_err(r));
		return r;
	}
	printf("created  group %s\n", name);
	return 0;
}

/*
 * The customer and engineer accounts log in (sshd runs their ForceCommand
 * through their shell); the broker and principals accounts never do. None
 * has a password or a home of its own: "/" keeps sshd from complaining
 * that it cannot enter a home, and the engineers' keys live in the
 * root-owned engineer_keys file, not under a home.
 */
static int
accounts_user(const char *name, const char *group, int login)
{
	const char *argv[] = { "useradd", "--system", "--gid", group,
	    "--home-dir", "/", "--no-create-home", "--shell",
	    login ? "/bin/sh" : "/usr/sbin/nologin", "--comment",
	    "tunl relay", name, NULL };
	char	 out[512];
	int	 r;

	if (getpwnam(name) != NULL)
		return 0;
	if ((r = admin_run(USERADD_PATH, argv, out, sizeof(out))) != 0) {
		printf("error    account %s: useradd failed: %s\n", name,
		    out[0] ? out : tunl_err(r));
		return r;
	}
	printf("created  account %s (group %s)\n", name, group);
	return 0;
}

/* The engineer account, and it alone, may read recordings. */
static int
accounts_member(const char *group, const char *user)
{
	const char *argv[] = { "usermod", "-a", "-G", group, user, NULL };
	struct group	*gr;
	char		**m, out[512];
	int		 r;

	if ((gr = getgrnam(group)) == NULL)
		return TUNL_ERR_NOT_FOUND;
	for (m = gr->gr_mem; m != NULL && *m != NULL; m++)
		if (strcmp(*m, user) == 0)
			return 0;
	if ((r = admin_run(USERMOD_PATH, argv, out, sizeof(out))) != 0) {
		printf("error    group %s: usermod -a -G %s %s failed: %s\n",
		    group, group, user, out[0] ? out : tunl_err(r));
		return r;
	}
	printf("added    %s to group %s\n", user, group);
	return 0;
}

/* Create what is missing, groups first; stops at the first failure. */
int
admin_accounts_create(const struct tunl_cfg *cfg)
{
	int	 r;

	if ((r = accounts_group(cfg->relay_group)) != 0 ||
	    (r = accounts_group(cfg->key_group)) != 0 ||
	    (r = accounts_user(cfg->customer_user, cfg->relay_group, 1)) != 0 ||
	    (r = accounts_user(cfg->engineer_user, cfg->relay_group, 1)) != 0 ||
	    (r = accounts_user(cfg->broker_user, cfg->relay_group, 0)) != 0 ||
	    (r = accounts_user(cfg->principals_user, cfg->relay_group, 0)) != 0 ||
	    (r = accounts_group(cfg->recording_group)) != 0 ||
	    (r = accounts_member(cfg->recording_group,
	    cfg->engineer_user)) != 0)
		return r;
	/*
	 * The tunnel account, with tunnel ports only: a group of its own
	 * (not relay_group, which reaches the hand-offs and the sockets),
	 * no shell; sshd lets it only listen (the drop-in).
	 */
	if (cfg->tunnel_port_min != 0 &&
	    ((r = accounts_group(cfg->tunnel_user)) != 0 ||
	    (r = accounts_user(cfg->tunnel_user, cfg->tunnel_user, 0)) != 0))
		return r;
	return 0;
}
