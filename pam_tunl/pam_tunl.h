/*
 * pam_tunl.h: the private interface of pam_tunl.so, grouped by the file
 * that defines each function.
 *
 * The module runs as root inside sshd (docs/auth-design.md, pam_tunl(8)).
 * Nothing here may exit, abort or log through lib/log.c: every message
 * goes through pam_syslog, and every error is a return code.
 */
#ifndef PAM_TUNL_H
#define PAM_TUNL_H

#include <security/pam_appl.h>

#include "tunl.h"

/* ---- pam_tunl-args.c: the module arguments ------------------------------ */

#define PAM_TUNL_DELAY_MIN_DEFAULT	200	/* milliseconds */
#define PAM_TUNL_DELAY_MAX_DEFAULT	700
#define PAM_TUNL_DELAY_LIMIT		5000	/* bound of both */
#define PAM_TUNL_ARG_MAX		(CFG_PATH_MAX + 16)	/* one argument */
#define PAM_TUNL_ARGS_MAX		16	/* arguments on a line */
#define PAM_TUNL_ERR_MAX		320	/* room for a parse error */

struct pam_tunl_args {
	char		 config[CFG_PATH_MAX];	/* the tunl.conf to read */
	int		 audit;		/* log successes too */
	int		 debug;		/* log each step */
	u_int		 delay_min;	/* failure delay, milliseconds */
	u_int		 delay_max;
};

int		 pam_tunl_args_parse(struct pam_tunl_args *, int,
		     const char **, char *, size_t);

/* ---- pam_tunl-auth.c: the auth stage ------------------------------------ */

/* Why an authentication failed: the reason= word of the failure line. */
enum pam_tunl_reason {
	PAM_TUNL_OK = 0,
	PAM_TUNL_BAD_TOKEN,
	PAM_TUNL_BAD_ID,
	PAM_TUNL_UNKNOWN_SESSION,
	PAM_TUNL_LOCKED,
	PAM_TUNL_EXPIRED,
	PAM_TUNL_RATE_LIMITED,
	PAM_TUNL_BAD_INPUT,
	PAM_TUNL_INTERNAL
};

#define PAM_TUNL_ANSWER_MAX	64	/* bytes of a prompt's answer */
#define PAM_TUNL_PROMPT_ID	"Session id: "
#define PAM_TUNL_PROMPT_TOKEN	"Session token: "
#define PAM_TUNL_ACTOR		"customer"

const char	*pam_tunl_reason_name(enum pam_tunl_reason);
int		 pam_tunl_auth(pam_handle_t *, const struct pam_tunl_args *);

/* ---- pam_tunl-session.c: a certificate login's key --------------------- */

int		 pam_tunl_session_open(pam_handle_t *,
		     const struct pam_tunl_args *);

/* ---- pam_tunl-util.c: what every stage shares ----------------------------- */

/* What a stage knows about its login once the common checks passed. */
struct pam_tunl_ctx {
	struct tunl_cfg	 cfg;
	char		 authdir[CFG_PATH_MAX + 8];	/* <runtime_dir>/auth */
	const char	*connection;	/* SSH_CONNECTION, or NULL */
	gid_t		 relay_gid;
	int64_t		 handoff_ttl;	/* seconds */
};

int		 pam_tunl_load(pam_handle_t *, const struct pam_tunl_args *,
		     struct pam_tunl_ctx *);
int		 pam_tunl_source(pam_handle_t *, char *, size_t);
void		 pam_tunl_delay(u_int, u_int);
int64_t		 pam_tunl_now(void);
int		 pam_tunl_group(const char *, gid_t *);

#endif /* PAM_TUNL_H */
