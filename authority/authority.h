/*
 * authority.h: tunl-authority, the setgid helper that alone holds the
 * token-hashing key and the user CA key (docs/auth-design.md).
 */
#ifndef TUNL_AUTHORITY_H
#define TUNL_AUTHORITY_H

#include "tunl.h"

#define AUTH_REQUEST_MAX	512	/* bytes of a mint request line */
#define AUTH_KEYLINE_MAX	1024	/* bytes of a public key line */
#define AUTH_CERT_MAX		8192	/* bytes of the certificate read back */
#define AUTH_ENGINEER_MAX	64	/* bytes of an engineer's name */
#define AUTH_FIELD_MAX		64	/* bytes of a case or customer */
#define AUTH_ED25519_LEN	32	/* bytes of an ed25519 public key */
#define AUTH_ED25519_BLOB	51	/* string "ssh-ed25519", string key */
#define AUTH_ED25519_B64	68	/* base64 of the blob, padded */
#define AUTH_EMPTY		"-"	/* an empty case or customer */
#define AUTH_TRIES		8	/* fresh id/token pairs before giving up */

/* The grammars of authority_value(). */
enum authority_charset {
	AUTH_CHARS_NAME,	/* engineer, customer */
	AUTH_CHARS_CASE
};

enum authority_role {
	AUTH_ROLE_NONE = 0,
	AUTH_ROLE_CUSTOMER,
	AUTH_ROLE_ENGINEER,
	AUTH_ROLE_PRINCIPALS	/* principals_user: tunl-principals */
};

/* What main() established before a verb runs. */
struct authority {
	struct tunl_cfg		 cfg;
	enum authority_role	 role;
	uid_t			 uid;
	char			 connection[HANDOFF_CONN_MAX];	/* "" if unset */
	char			 login_key[LOGIN_KEY_HEX + 1];	/* "" if unset */
	int64_t			 now;
};

/* A parsed mint request; empty strings for a case or customer of "-". */
struct mint_request {
	char			 engineer[AUTH_ENGINEER_MAX + 1];
	char			 case_ref[AUTH_FIELD_MAX + 1];
	char			 customer[AUTH_FIELD_MAX + 1];
	u_int			 ttl;		/* minutes; 0: session_ttl */
	enum session_mode	 mode;
};

/* A parsed token request: who asks, for which session. */
struct token_request {
	char			 engineer[AUTH_ENGINEER_MAX + 1];
	char			 id[ID_LEN_MAX];
};

/* A parsed ed25519 public key: the raw key and its canonical line. */
struct sign_key {
	u_char			 key[AUTH_ED25519_LEN];
	char			 line[sizeof("ssh-ed25519 ") +
				     AUTH_ED25519_B64 + 1];
};

/* authority-io.c */
void		 authority_fail(const char *, ...) TUNL_PRINTF(1, 2);

/* authority-privilege.c */
int		 authority_privilege(const struct authority *);
int		 authority_read_stdin(char *, size_t, size_t *);
int		 authority_line_check(const char *, size_t *, size_t);
int		 authority_write_stdout(const char *, size_t);
int		 authority_value(enum authority_charset, const char *, size_t,
		     int, char *, size_t);
int		 authority_open_registry(struct authority *,
		     struct registry **);
int		 authority_answer(const char *, const char *, int64_t);
int		 authority_session_live(struct authority *, struct registry *,
		     const char *, const char *, struct session *);

/* authority-mint.c */
int		 authority_mint_parse(const char *, size_t,
		     struct mint_request *);
int		 authority_mint(struct authority *);

/* authority-token.c */
int		 authority_token_parse(const char *, size_t,
		     struct token_request *);
int		 authority_token(struct authority *);

/* authority-sign.c */
int		 authority_sign_parse_key(const char *, size_t,
		     struct sign_key *);
int		 authority_sign_check_cert(const char *, size_t);
int		 authority_sign(struct authority *, const char *);

/* authority-admit.c */
int		 authority_binding(const struct authority *, const char *,
		     struct login_info *);
/* An engineer's join, from admit's arguments. */
struct admit_join {
	int			 read_only;
	u_int			 cols, rows;
};
int		 authority_admit_join(char *const *, int, struct admit_join *);
int		 authority_admit(struct authority *, const char *,
		     const struct admit_join *);

/* authority-engineer.c */
int		 authority_engineer(struct authority *, const char *,
		     const char *, char *, size_t);

/* authority-registry.c */
const char	*authority_registry_verb(const char *);
int		 authority_registry_engineer_parse(const char *, size_t,
		     char *, size_t);
int		 authority_registry_host_parse(const char *, size_t, char *,
		     size_t);
int		 authority_registry(struct authority *, const char *,
		     const char *);

/* authority-report.c */
void		 authority_time(int64_t, char *, size_t);
int		 authority_report_list(struct registry *, int, int64_t,
		     u_int *);
int		 authority_report_show(struct registry *,
		     const struct session *, int64_t);

#endif /* TUNL_AUTHORITY_H */
