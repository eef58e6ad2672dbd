/*
 * admin-accounts.c: the accounts and group the relay expects. tunl-admin
 * never creates accounts itself (that is the operator's call and their
 * distribution's tools); it names what is missing and how to add it.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>

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
		    "  useradd --system --gid %s --home-dir /nonexistent "
		    "--shell /bin/sh %s\n", name, what, group, name);
	}
	return 1;
}

void
admin_accounts_resolve(const struct tunl_cfg *cfg, struct admin_ids *ids,
    int report)
{
	struct group	*gr;

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
			    "accounts); create it with:\n  groupadd --system "
			    "%s\n", cfg->relay_group, cfg->relay_group);
	}
	if ((gr = getgrnam(cfg->key_group)) != NULL)
		ids->key_gid = gr->gr_gid;
	else {
		ids->missing++;
		if (report)
			printf("missing group %s (owns the token and CA keys; "
			    "no members); create it with:\n  groupadd "
			    "--system %s\n", cfg->key_group, cfg->key_group);
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
}
