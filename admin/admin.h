/* admin.h: tunl-admin's private interface, grouped by defining file. */
#ifndef TUNL_ADMIN_H
#define TUNL_ADMIN_H

#include <sys/types.h>

struct tunl_cfg;

/* The accounts and group the relay runs as, resolved from the config. */
struct admin_ids {
	uid_t	 customer_uid;
	uid_t	 engineer_uid;
	uid_t	 broker_uid;
	uid_t	 principals_uid;
	gid_t	 relay_gid;
	gid_t	 key_gid;
	int	 missing;	/* how many could not be resolved */
};

/* admin-fs.c */
int	 admin_fs_check_parents(const char *, char *, size_t);
int	 admin_fs_ensure_dir(const char *, uid_t, gid_t, mode_t, int *);
int	 admin_fs_check_file(const char *, uid_t, gid_t, mode_t, mode_t,
	     char *, size_t);
int	 admin_fs_dirname(const char *, char *, size_t);
const char *admin_fs_owner(uid_t, gid_t, char *, size_t);

/* admin-accounts.c */
void	 admin_accounts_resolve(const struct tunl_cfg *, struct admin_ids *,
	     int);

/* admin-init.c */
int	 admin_init(const struct tunl_cfg *, const char *);

/* admin-status.c */
int	 admin_status(const struct tunl_cfg *, const char *, int);

#endif /* TUNL_ADMIN_H */
