/* admin.h: tunl-admin's private interface, grouped by defining file. */
#ifndef TUNL_ADMIN_H
#define TUNL_ADMIN_H

#include <sys/types.h>

struct tunl_cfg;

/* What status and doctor have found so far; every line goes to stdout. */
struct admin_report {
	int	 quiet;		/* only problems, fixes and the summary */
	int	 problems;
	int	 fixed;
	int	 fix;		/* doctor --fix: repair what is safe */
};

/* The accounts and group the relay runs as, resolved from the config. */
struct admin_ids {
	uid_t	 customer_uid;
	uid_t	 engineer_uid;
	uid_t	 broker_uid;
	uid_t	 principals_uid;
	gid_t	 relay_gid;
	gid_t	 key_gid;
	gid_t	 recording_gid;
	int	 missing;	/* how many could not be resolved */
};

/*
 * Only the broker account writes these (docs/security.md): the sockets'
 * directory is broker_user:relay_group, the recordings'
 * broker_user:recording_group with the set-group-ID bit, so every
 * recording gets the recording group without a chown.
 */
#define ADMIN_SOCKDIR_MODE	0750
#define ADMIN_RECDIR_MODE	02750

/* admin-fs.c */
int	 admin_fs_check_parents(const char *, char *, size_t);
int	 admin_fs_ensure_dir(const char *, uid_t, gid_t, mode_t, int *);
int	 admin_fs_check_file(const char *, uid_t, gid_t, mode_t, mode_t,
	     char *, size_t);
int	 admin_fs_dirname(const char *, char *, size_t);
int	 admin_fs_make_parents(const char *);
const char *admin_fs_owner(uid_t, gid_t, char *, size_t);
int	 admin_fs_read_root(const char *, char *, size_t, size_t *);
int	 admin_fs_replace(const char *, const char *, const char *, size_t,
	     mode_t);

/* admin-run.c */
#ifndef GROUPADD_PATH
#define GROUPADD_PATH		"/usr/sbin/groupadd"
#endif
#ifndef USERADD_PATH
#define USERADD_PATH		"/usr/sbin/useradd"
#endif
#ifndef USERMOD_PATH
#define USERMOD_PATH		"/usr/sbin/usermod"
#endif
int	 admin_run(const char *, const char *const *, char *, size_t);

/* admin-accounts.c */
void	 admin_accounts_resolve(const struct tunl_cfg *, struct admin_ids *,
	     int);
int	 admin_accounts_create(const struct tunl_cfg *);

/* admin-layout.c: the owners and modes of the design, in one table. */
enum layout_where {
	LAYOUT_KEYDIR, LAYOUT_CADIR, LAYOUT_HOOKDIR, LAYOUT_DBDIR,
	LAYOUT_RUNTIME, LAYOUT_AUTHDIR, LAYOUT_SOCKDIR, LAYOUT_RECDIR,
	LAYOUT_DATABASE, LAYOUT_ENGINEER_KEYS, LAYOUT_AUTHORITY, LAYOUT_BROKER
};
enum layout_kind { LAYOUT_DIR, LAYOUT_FILE, LAYOUT_HELPER };
enum layout_who {
	WHO_ROOT, WHO_RELAY, WHO_KEYS, WHO_BROKER, WHO_RECORDING
};

struct admin_layout {
	enum layout_where	 where;
	enum layout_kind	 kind;
	enum layout_who		 owner;
	enum layout_who		 group;
	mode_t			 mode;
	const char		*what;
};

size_t	 admin_layout_count(void);
const struct admin_layout *admin_layout_item(size_t);
const struct admin_layout *admin_layout_find(enum layout_where);
int	 admin_layout_path(const struct admin_layout *,
	     const struct tunl_cfg *, const char *, char *, size_t);
int	 admin_layout_ids(const struct admin_layout *,
	     const struct admin_ids *, uid_t *, gid_t *);
int	 admin_layout_set(const struct admin_layout *, const char *, uid_t,
	     gid_t);
int	 admin_layout_check(const struct admin_layout *, const char *, uid_t,
	     gid_t, char *, size_t);

/* admin-init.c */
int	 admin_init(const struct tunl_cfg *, const char *, const char *, int);

/* admin-engineer.c */
int	 admin_engineer(const struct tunl_cfg *, int, char **);
int	 admin_engineer_check(const struct tunl_cfg *, u_int *, char *,
	     size_t);

/* admin-status.c */
void	 admin_report_ok(struct admin_report *, const char *, const char *);
void	 admin_report_problem(struct admin_report *, const char *,
	     const char *, ...) __attribute__((format(printf, 3, 4)));
void	 admin_report_note(struct admin_report *, const char *,
	     const char *, ...) __attribute__((format(printf, 3, 4)));
void	 admin_report_fixed(struct admin_report *, const char *,
	     const char *, ...) __attribute__((format(printf, 3, 4)));
void	 admin_status_checks(const struct tunl_cfg *, const char *,
	     struct admin_report *, struct admin_ids *);
int	 admin_status(const struct tunl_cfg *, const char *, int);
void	 admin_layout_report(const struct tunl_cfg *, const char *,
	     struct admin_report *, const struct admin_ids *,
	     enum layout_kind);

/* admin-notify.c */
#define NOTIFY_LABEL_MAX	128	/* "#N scheme://host" for logs */
/* status: an undelivered event older than this (seconds) is a problem. */
#define NOTIFY_BEHIND_MAX	360

int	 admin_notify(const struct tunl_cfg *, const char *, int);

/* admin-prune.c */
int	 admin_prune(const struct tunl_cfg *);
void	 admin_notify_label(u_int, const char *, char *, size_t);

/* admin-sshd.c: the effective sshd settings doctor checks (sshd -T). */
enum sshd_key {
	SSHD_FORCECOMMAND = 0,
	SSHD_AUTHMETHODS,
	SSHD_PRINCIPALSCMD,
	SSHD_PRINCIPALSUSER,
	SSHD_TRUSTEDCA,
	SSHD_EXPOSEAUTHINFO,
	SSHD_USEPAM,
	SSHD_KBDINTERACTIVE,
	SSHD_DISABLEFORWARDING,
	SSHD_TCPFORWARDING,
	SSHD_PERMITUSERRC,
	SSHD_MAXAUTHTRIES,
	SSHD_AUTHKEYSFILE
};
#define SSHD_NKEYS		13
#define SSHD_VALUE_MAX		1024	/* bytes in a value, with NUL */
#define SSHD_OUTPUT_MAX		(256 * 1024)	/* bytes of sshd -T output */
#define SSHD_ERROR_MAX		512	/* bytes of its stderr kept */
#define SSHD_TIMEOUT_MS		10000

struct sshd_eff {
	int	 seen[SSHD_NKEYS];
	char	 value[SSHD_NKEYS][SSHD_VALUE_MAX];
};

const char *admin_sshd_keyword(enum sshd_key);
const char *admin_sshd_name(enum sshd_key);
int	 admin_sshd_parse(const char *, size_t, struct sshd_eff *);
int	 admin_sshd_run(const char *, const char *, const char *,
	     struct sshd_eff *, char *, size_t);

/* admin-pam.c: where pam_tunl stands in the sshd PAM stack. */
#define PAM_LINE_MAX		4096
#define PAM_FILE_MAX		(64 * 1024)

struct pam_order {
	u_int	 tunl_line;	/* `@include tunl' or auth with pam_tunl.so */
	int	 tunl_include;	/* tunl_line is an include of "tunl" */
	u_int	 common_line;	/* `@include common-auth' (or substack) */
	u_int	 other_line;	/* first auth line of any other module */
	char	 other_module[128];
	char	 module[1024];	/* module path on the pam_tunl auth line */
	u_int	 session_line;	/* first session line with pam_tunl.so */
	u_int	 guard_line;	/* the pam_succeed_if.so session line just
				   before it (its guard), or 0 */
	int	 guard_more;	/* that line has more words than kept */
	char	 guard[512];	/* its arguments, one space between */
};

int	 admin_pam_scan(const char *, size_t, struct pam_order *);

/* admin-doctor.c */
#ifndef SSHD_PATH
#define SSHD_PATH		"/usr/sbin/sshd"	/* --sshd overrides */
#endif

struct doctor_opts {
	int		 fix;
	int		 quiet;
	const char	*libexecdir;	/* tunl's programs */
	const char	*pamdir;	/* pam_tunl.so */
	const char	*sshd;
	const char	*sshd_config;	/* NULL: sshd's own default */
	const char	*pam_confdir;	/* /etc/pam.d */
	const char	*fail2ban_dir;	/* /etc/fail2ban */
	const char	*dropin_src;	/* tunl's sshd drop-in, for enable */
	const char	*verb;		/* "doctor" or "status" */
	int		 host_ca;	/* init --host-ca */
	const char	*host_names;	/* init --host-name, or NULL */
};

int	 admin_doctor(const struct tunl_cfg *, const char *,
	     const struct doctor_opts *);

/* admin-hostca.c */
#define HOSTCA_NAMES_MAX	1024	/* bytes in --host-name or --hosts */

int	 admin_hostca_names_ok(const char *);
int	 admin_hostca_init(const struct tunl_cfg *, const struct doctor_opts *);
int	 admin_host_key(const struct tunl_cfg *, const char *);

/* admin-wire.c */
int	 admin_enable(const struct tunl_cfg *, const struct doctor_opts *);
int	 admin_disable(const struct tunl_cfg *, const struct doctor_opts *);

#endif /* TUNL_ADMIN_H */
