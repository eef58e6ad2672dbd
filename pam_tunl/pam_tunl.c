/*
 * pam_tunl.c: the PAM entry points of pam_tunl.so (pam_tunl(8)).
 *
 *	auth		pam_tunl-auth.c: session id and token, the hand-off
 *	account		the hand-off's session is still pending or active
 *	setcred		nothing to do
 *	open_session	pam_tunl-session.c: a certificate login's key
 *	close_session	remove this connection's hand-off
 *
 * pam_tunl.sym lists these five symbols and nothing else is exported.
 * Bad arguments fail every stage closed.
 */
#include "config.h"

#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_tunl.h"

static int
pam_tunl_args(pam_handle_t *pamh, int argc, const char **argv,
    struct pam_tunl_args *args)
{
	char	 err[PAM_TUNL_ERR_MAX];

	if (pam_tunl_args_parse(args, argc, argv, err, sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "bad module arguments: %s; failing "
		    "closed", err);
		return -1;
	}
	return 0;
}

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct pam_tunl_args	 args;

	(void)flags;
	if (pam_tunl_args(pamh, argc, argv, &args) != 0)
		return PAM_SERVICE_ERR;
	return pam_tunl_auth(pamh, &args);
}

int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/*
 * A keyboard-interactive login has a hand-off for its connection: its
 * session must still be pending or active, not locked, not expired. A
 * login without one (publickey with a session certificate, which
 * tunl-principals has already checked) is not ours to judge: PAM_IGNORE.
 */
int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pam_tunl_args	 args;
	struct pam_tunl_ctx	 ctx;
	struct registry		*reg = NULL;
	struct handoff		 h;
	struct session		 s;
	int64_t			 now = pam_tunl_now();
	int			 r, rc = PAM_PERM_DENIED;

	(void)flags;
	if (pam_tunl_args(pamh, argc, argv, &args) != 0)
		return PAM_SERVICE_ERR;
	if (pam_tunl_load(pamh, &args, &ctx) != 0)
		return PAM_SERVICE_ERR;
	if (ctx.connection == NULL) {
		if (args.debug)
			pam_syslog(pamh, LOG_DEBUG, "account: no "
			    "SSH_CONNECTION, so no hand-off");
		return PAM_IGNORE;
	}
	r = handoff_read(ctx.authdir, ctx.connection, ctx.relay_gid, now,
	    ctx.handoff_ttl, &h);
	if (r == TUNL_ERR_NOT_FOUND) {
		if (args.debug)
			pam_syslog(pamh, LOG_DEBUG, "account: no hand-off for "
			    "this connection");
		return PAM_IGNORE;
	}
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "account: hand-off refused: %s",
		    tunl_err(r));
		goto deny;
	}
	if ((r = registry_open(ctx.cfg.database, 0, &reg)) != 0) {
		pam_syslog(pamh, LOG_ERR, "registry %s: %s: %s",
		    ctx.cfg.database, tunl_err(r), registry_errmsg(NULL));
		rc = PAM_SERVICE_ERR;
		goto deny;
	}
	if ((r = registry_session_get(reg, h.session, &s)) != 0) {
		pam_syslog(pamh, LOG_ERR, "account: session %s: %s",
		    h.session, registry_errmsg(reg));
		rc = r == TUNL_ERR_NOT_FOUND ? PAM_PERM_DENIED :
		    PAM_SERVICE_ERR;
		goto deny;
	}
	switch (s.state) {
	case SESSION_PENDING:
	case SESSION_ACTIVE:
		if (s.expires > now) {
			rc = PAM_SUCCESS;
			goto out;
		}
		rc = PAM_ACCT_EXPIRED;
		break;
	case SESSION_ENDED:
		rc = PAM_ACCT_EXPIRED;
		break;
	case SESSION_LOCKED:
		rc = PAM_PERM_DENIED;
		break;
	}
	pam_syslog(pamh, LOG_NOTICE, "account: session %s is %s; refusing",
	    h.session, s.state == SESSION_LOCKED ? "locked" : "over");
 deny:
	/* This connection will not get a session: its hand-off goes now. */
	(void)handoff_remove(ctx.authdir, ctx.connection);
	(void)login_file_remove(ctx.authdir, ctx.connection);
 out:
	registry_close(reg);
	return rc;
}

/* A customer login by certificate gets its login key here. */
int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct pam_tunl_args	 args;

	(void)flags;
	if (pam_tunl_args(pamh, argc, argv, &args) != 0)
		return PAM_SERVICE_ERR;
	return pam_tunl_session_open(pamh, &args);
}

/*
 * sshd's privileged monitor calls this as root when the connection ends:
 * the hand-off bound to it goes with it.
 */
int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct pam_tunl_args	 args;
	struct pam_tunl_ctx	 ctx;
	int			 r;

	(void)flags;
	if (pam_tunl_args(pamh, argc, argv, &args) != 0)
		return PAM_SERVICE_ERR;
	if (pam_tunl_load(pamh, &args, &ctx) != 0)
		return PAM_SERVICE_ERR;
	if (ctx.connection == NULL)
		return PAM_SUCCESS;
	(void)login_file_remove(ctx.authdir, ctx.connection);
	r = handoff_remove(ctx.authdir, ctx.connection);
	if (r == 0 && args.debug)
		pam_syslog(pamh, LOG_DEBUG, "removed this connection's "
		    "hand-off");
	if (r != 0 && r != TUNL_ERR_NOT_FOUND) {
		pam_syslog(pamh, LOG_ERR, "close_session: hand-off: %s",
		    tunl_err(r));
		return PAM_SESSION_ERR;
	}
	return PAM_SUCCESS;
}
