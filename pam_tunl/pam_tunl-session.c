/*
 * pam_tunl-session.c: the session stage of a customer login by session
 * certificate (docs/auth-design.md, "The login key").
 *
 * A keyboard-interactive login got its login key in the auth stage. A
 * login by certificate never passes through our auth stage, so it gets
 * one here: sshd has put what it authenticated in SSH_AUTH_INFO_0 (the
 * PAM environment, not the client's), whose publickey line is the
 * certificate. Its key id is the session and its serial the time it was
 * signed; both go into the login file beside the key's verifier, and the
 * key goes to the session as TUNL_LOGIN_KEY. tunl-authority admit then
 * lets this login (and no other process of the account) produce, as long
 * as no newer token superseded the certificate.
 *
 * An engineer's login (the engineer account) gets a login key here too,
 * with the engineer's name from the same record: a certificate's key id,
 * or the name on the line of the engineers' keys file that holds the key
 * sshd accepted (lib/engineer-keys.c). tunl-authority admit joins a
 * session under that name only, so the engineer account's ForceCommand
 * cannot claim another (docs/security.md, "Engineer names").
 *
 * Other accounts are left alone. A customer login whose certificate
 * cannot be read fails the session (fail closed: without its key it
 * could not produce anyway); an engineer's login whose key names nobody
 * gets no key (tunl-shell refuses it every verb that needs a name).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#define PAM_SM_SESSION
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_tunl.h"

#define SESSION_AUTH_INFO	"SSH_AUTH_INFO_0"

/*
 * What sshd authenticated, parsed from SSH_AUTH_INFO_0 into a fresh *sap
 * (session_auth_free() it, also on failure). TUNL_ERR_NOT_FOUND: sshd
 * gave none.
 */
static int
session_auth_info(pam_handle_t *pamh, struct sshauth **sap)
{
	const char	*info;

	*sap = NULL;
	if ((info = pam_getenv(pamh, SESSION_AUTH_INFO)) == NULL)
		return TUNL_ERR_NOT_FOUND;
	if ((*sap = calloc(1, sizeof(**sap))) == NULL)
		return TUNL_ERR_ALLOC;
	return sshauth_parse(info, strnlen(info, SSHAUTH_FILE_MAX + 1), *sap);
}

static void
session_auth_free(struct sshauth *sa)
{
	if (sa == NULL)
		return;
	sodium_memzero(sa, sizeof(*sa));
	free(sa);
}

/* The session certificate sshd accepted, from SSH_AUTH_INFO_0. */
static int
session_cert(pam_handle_t *pamh, struct sshcert *c)
{
	struct sshauth	*sa = NULL;
	u_int		 i, found = 0;
	int		 r;

	if ((r = session_auth_info(pamh, &sa)) != 0)
		goto out;
	r = TUNL_ERR_NOT_FOUND;
	for (i = 0; i < sa->nkeys; i++) {
		if (!sa->keys[i].cert)
			continue;
		if (found++ > 0) {
			r = TUNL_ERR_INVALID;	/* two: which one? */
			goto out;
		}
		if ((r = sshcert_parse(sa->keys[i].blob, sa->keys[i].len,
		    c)) != 0)
			goto out;
		if (c->type != SSHCERT_TYPE_USER || id_check(c->key_id) != 0 ||
		    c->serial > INT64_MAX) {
			r = TUNL_ERR_INVALID;
			goto out;
		}
	}
 out:
	session_auth_free(sa);
	return r;
}

/*
 * The engineer sshd authenticated: the one publickey line of
 * SSH_AUTH_INFO_0; a user certificate's key id, or the engineers' keys
 * file's name for a plain key. TUNL_ERR_NOT_FOUND: nothing to go by.
 */
static int
session_engineer_name(pam_handle_t *pamh, const struct tunl_cfg *cfg,
    char name[ENGINEER_NAME_LEN])
{
	struct sshauth		*sa = NULL;
	struct sshauth_key	*k;
	struct sshcert		 c;
	int			 r;

	name[0] = '\0';
	if ((r = session_auth_info(pamh, &sa)) != 0)
		goto out;
	if (sa->nkeys != 1) {
		r = sa->nkeys == 0 ? TUNL_ERR_NOT_FOUND : TUNL_ERR_INVALID;
		goto out;
	}
	k = &sa->keys[0];
	if (k->cert) {
		if ((r = sshcert_parse(k->blob, k->len, &c)) != 0)
			goto out;
		if (c.type != SSHCERT_TYPE_USER ||
		    proto_name_check(c.key_id) != 0) {
			r = TUNL_ERR_INVALID;
			goto out;
		}
		tunl_strlcpy(name, c.key_id, ENGINEER_NAME_LEN);
		r = 0;
		goto out;
	}
	r = engineer_keys_name(cfg->engineer_keys, k->blob, k->len, name,
	    ENGINEER_NAME_LEN);
 out:
	session_auth_free(sa);
	return r;
}

/* An engineer's login: its key, bound to the name sshd authenticated. */
static int
session_engineer(pam_handle_t *pamh, const struct pam_tunl_args *args,
    const struct pam_tunl_ctx *ctx)
{
	u_char	 key[LOGIN_KEY_LEN];
	char	 hex[LOGIN_KEY_HEX + 1], name[ENGINEER_NAME_LEN];
	char	 env[sizeof(LOGIN_KEY_ENV) + LOGIN_KEY_HEX + 1];
	gid_t	 gid;
	int	 r, rc = PAM_SESSION_ERR;

	memset(key, 0, sizeof(key));
	memset(hex, 0, sizeof(hex));
	memset(env, 0, sizeof(env));
	if ((r = session_engineer_name(pamh, &ctx->cfg, name)) != 0) {
		pam_syslog(pamh, r == TUNL_ERR_NOT_FOUND ||
		    r == TUNL_ERR_DENIED ? LOG_NOTICE : LOG_ERR,
		    "session: engineer login without a name (%s): no login "
		    "key", tunl_err(r));
		return PAM_SUCCESS;
	}
	if ((r = pam_tunl_group(ctx->cfg.key_group, &gid)) != 0) {
		pam_syslog(pamh, LOG_ERR, "key group %s: %s",
		    ctx->cfg.key_group, tunl_err(r));
		return PAM_SESSION_ERR;
	}
	login_key_new(key, hex);
	if ((r = login_file_write_engineer(ctx->authdir, ctx->connection, key,
	    name, gid)) != 0) {
		pam_syslog(pamh, LOG_ERR, "engineer %s: login file: %s", name,
		    tunl_err(r));
		goto out;
	}
	if ((size_t)snprintf(env, sizeof(env), LOGIN_KEY_ENV "=%s", hex) >=
	    sizeof(env) || pam_putenv(pamh, env) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "pam_putenv failed");
		(void)login_file_remove(ctx->authdir, ctx->connection);
		goto out;
	}
	if (args->debug)
		pam_syslog(pamh, LOG_DEBUG, "engineer %s: login key", name);
	rc = PAM_SUCCESS;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(env, sizeof(env));
	return rc;
}

/*
 * Nothing to do (not the customer account, not under sshd, a login by
 * token that has its key already, no certificate) is success, as it was
 * before this stage did anything: a stack with no other session module
 * must not turn into a refusal (libpam fails a stack where every module
 * ignores).
 */
int
pam_tunl_session_open(pam_handle_t *pamh, const struct pam_tunl_args *args)
{
	struct pam_tunl_ctx	 ctx;
	struct handoff		 h;
	struct sshcert		 c;
	const void		*item = NULL;
	u_char			 key[LOGIN_KEY_LEN];
	char			 hex[LOGIN_KEY_HEX + 1];
	char			 env[sizeof(LOGIN_KEY_ENV) + LOGIN_KEY_HEX + 1];
	gid_t			 gid;
	int			 r, rc = PAM_SESSION_ERR;

	memset(key, 0, sizeof(key));
	memset(hex, 0, sizeof(hex));
	memset(env, 0, sizeof(env));
	if (pam_tunl_load(pamh, args, &ctx) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL || ctx.connection == NULL)
		return PAM_SUCCESS;
	if (strcmp(item, ctx.cfg.engineer_user) == 0)
		return session_engineer(pamh, args, &ctx);
	if (strcmp(item, ctx.cfg.customer_user) != 0)
		return PAM_SUCCESS;
	/* A keyboard-interactive login has its key from the auth stage. */
	r = handoff_read(ctx.authdir, ctx.connection, ctx.relay_gid,
	    pam_tunl_now(), ctx.handoff_ttl, &h);
	if (r != TUNL_ERR_NOT_FOUND)
		return PAM_SUCCESS;
	if ((r = session_cert(pamh, &c)) != 0) {
		if (r == TUNL_ERR_NOT_FOUND) {
			if (args->debug)
				pam_syslog(pamh, LOG_DEBUG, "session: no "
				    "certificate in " SESSION_AUTH_INFO
				    " (ExposeAuthInfo no?)");
			return PAM_SUCCESS;
		}
		pam_syslog(pamh, LOG_ERR, "session: the certificate in "
		    SESSION_AUTH_INFO ": %s", tunl_err(r));
		return PAM_SESSION_ERR;
	}
	if ((r = pam_tunl_group(ctx.cfg.key_group, &gid)) != 0) {
		pam_syslog(pamh, LOG_ERR, "key group %s: %s",
		    ctx.cfg.key_group, tunl_err(r));
		return PAM_SESSION_ERR;
	}
	login_key_new(key, hex);
	if ((r = login_file_write_cert(ctx.authdir, ctx.connection, key,
	    c.key_id, (int64_t)c.serial, gid)) != 0) {
		pam_syslog(pamh, LOG_ERR, "session %s: login file: %s",
		    c.key_id, tunl_err(r));
		goto out;
	}
	if ((size_t)snprintf(env, sizeof(env), LOGIN_KEY_ENV "=%s", hex) >=
	    sizeof(env) || pam_putenv(pamh, env) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "pam_putenv failed");
		(void)login_file_remove(ctx.authdir, ctx.connection);
		goto out;
	}
	if (args->debug)
		pam_syslog(pamh, LOG_DEBUG, "session %s: login key for the "
		    "certificate with serial %llu", c.key_id,
		    (unsigned long long)c.serial);
	rc = PAM_SUCCESS;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(env, sizeof(env));
	return rc;
}
