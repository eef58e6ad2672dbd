/*
 * pam_tunl-auth.c: the auth stage (docs/auth-design.md, pam_tunl(8)).
 *
 * The customer answers "Session id: " (echo on) and, when tokens are
 * required, "Session token: " (echo off). Both prompts are always asked,
 * whatever the state of the source or the first answer, so nothing the
 * client sees tells which part was wrong; every failure ends the same way:
 * counted in the registry, a random delay, one log line, PAM_AUTH_ERR.
 *
 * Order of checks: the source's rate limit; the answers' grammar (printable
 * and bounded, then id_check and token_check); the session the id names
 * (exists, not locked, not ended or expired); the token's keyed hash,
 * which must belong to that same session. On success the hand-off binds
 * this SSH connection to the session for the ForceCommand.
 */
#include "config.h"

#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "pam_tunl.h"
#include "reaper.h"

/* A write waits this long for a locked registry (reads never wait). */
#define PAM_TUNL_BUSY_MS	5000

struct pam_tunl_auth {
	pam_handle_t			*pamh;
	const struct pam_tunl_args	*args;
	struct pam_tunl_ctx		 ctx;
	struct registry			*reg;
	const char			*user;	/* for the log: checked */
	char				 source[HANDOFF_SOURCE_MAX];
	char				 id[PAM_TUNL_ANSWER_MAX + 1];
	char				 token[PAM_TUNL_ANSWER_MAX + 1];
	u_char				 key[TOKEN_KEY_LEN];
	u_char				 hash[TOKEN_HASH_LEN];
	int				 id_known;	/* names a session */
	int				 was_locked;
	int64_t				 now;
};

static const char *const pam_tunl_reasons[] = {
	[PAM_TUNL_OK] = "ok",
	[PAM_TUNL_BAD_TOKEN] = "bad-token",
	[PAM_TUNL_BAD_ID] = "bad-id",
	[PAM_TUNL_UNKNOWN_SESSION] = "unknown-session",
	[PAM_TUNL_LOCKED] = "locked",
	[PAM_TUNL_EXPIRED] = "expired",
	[PAM_TUNL_RATE_LIMITED] = "rate-limited",
	[PAM_TUNL_BAD_INPUT] = "bad-input",
	[PAM_TUNL_INTERNAL] = "internal",
};

const char *
pam_tunl_reason_name(enum pam_tunl_reason reason)
{
	if ((u_int)reason >= TUNL_NITEMS(pam_tunl_reasons))
		return "internal";
	return pam_tunl_reasons[reason];
}

/*
 * An answer is 1 to PAM_TUNL_ANSWER_MAX bytes of printable ASCII. Spaces
 * are allowed because people type an id as they read it ("amber falcon
 * river seven"); id_normalise and token_check judge the rest.
 */
static int
pam_tunl_answer_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > PAM_TUNL_ANSWER_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if ((u_char)s[i] < 0x20 || (u_char)s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Ask one question through the application's conversation function. The
 * answer is copied into out (PAM_TUNL_ANSWER_MAX + 1 bytes) when it is
 * well-formed; *ok says whether it was. The application's copy is wiped
 * and freed whatever happens. Returns non-zero only when the conversation
 * itself failed (the client is gone or sent no answer).
 */
static int
pam_tunl_ask(pam_handle_t *pamh, int style, const char *prompt, char *out,
    int *ok)
{
	const void		*item = NULL;
	const struct pam_conv	*conv;
	struct pam_message	 msg;
	const struct pam_message *msgp = &msg;
	struct pam_response	*resp = NULL;
	size_t			 len;
	int			 rc, r = TUNL_ERR_INVALID;

	*ok = 0;
	out[0] = '\0';
	if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS ||
	    item == NULL)
		return TUNL_ERR_INTERNAL;
	conv = item;
	if (conv->conv == NULL)
		return TUNL_ERR_INTERNAL;
	memset(&msg, 0, sizeof(msg));
	msg.msg_style = style;
	msg.msg = prompt;
	rc = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
	if (rc != PAM_SUCCESS || resp == NULL || resp[0].resp == NULL)
		goto out;
	len = strnlen(resp[0].resp, PAM_TUNL_ANSWER_MAX + 1);
	if (pam_tunl_answer_ok(resp[0].resp, len)) {
		memcpy(out, resp[0].resp, len);
		out[len] = '\0';
		*ok = 1;
	}
	r = 0;
 out:
	if (resp != NULL) {
		if (resp[0].resp != NULL) {
			sodium_memzero(resp[0].resp, strlen(resp[0].resp));
			free(resp[0].resp);
		}
		free(resp);
	}
	return r;
}

/* The registry's view of the typed id; sets a->id_known. */
static enum pam_tunl_reason
pam_tunl_auth_session(struct pam_tunl_auth *a)
{
	struct session	 s;
	int		 r;

	if ((r = registry_session_get(a->reg, a->id, &s)) != 0) {
		if (r == TUNL_ERR_NOT_FOUND)
			return PAM_TUNL_UNKNOWN_SESSION;
		pam_syslog(a->pamh, LOG_ERR, "registry: session lookup: %s",
		    registry_errmsg(a->reg));
		return PAM_TUNL_INTERNAL;
	}
	a->id_known = 1;
	switch (s.state) {
	case SESSION_PENDING:
	case SESSION_ACTIVE:
		if (s.expires <= a->now)
			return PAM_TUNL_EXPIRED;
		return PAM_TUNL_OK;
	case SESSION_LOCKED:
		a->was_locked = 1;
		return PAM_TUNL_LOCKED;
	case SESSION_ENDED:
		return PAM_TUNL_EXPIRED;
	}
	return PAM_TUNL_INTERNAL;
}

/* The token's keyed hash must name a live token of the typed session. */
static enum pam_tunl_reason
pam_tunl_auth_token(struct pam_tunl_auth *a)
{
	char	 sid[ID_LEN_MAX];
	int	 r;

	if ((r = token_key_load(a->ctx.cfg.token_key, 0, a->key)) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "token_key %s: %s",
		    a->ctx.cfg.token_key, tunl_err(r));
		return PAM_TUNL_INTERNAL;
	}
	r = token_hash(a->key, a->token, a->hash);
	sodium_memzero(a->key, sizeof(a->key));
	if (r != 0) {
		pam_syslog(a->pamh, LOG_ERR, "token hash: %s", tunl_err(r));
		return PAM_TUNL_INTERNAL;
	}
	/* Kept for the login file (the token this login used); the whole
	 * struct is wiped when auth returns. */
	r = registry_token_lookup(a->reg, a->hash, a->now, sid);
	if (r == TUNL_ERR_NOT_FOUND)
		return PAM_TUNL_BAD_TOKEN;
	if (r != 0) {
		pam_syslog(a->pamh, LOG_ERR, "registry: token lookup: %s",
		    registry_errmsg(a->reg));
		return PAM_TUNL_INTERNAL;
	}
	if (strcmp(sid, a->id) != 0) {
		if (a->args->debug)
			pam_syslog(a->pamh, LOG_DEBUG, "the token belongs to "
			    "another session than %s", a->id);
		return PAM_TUNL_BAD_TOKEN;
	}
	return PAM_TUNL_OK;
}

/*
 * The login key (lib/login-key.c): a fresh secret for this login, given
 * to the session as TUNL_LOGIN_KEY, its verifier and the hash of the
 * token used (with_token) in a file only root and tunl-authority read.
 * Neither the key nor its hex form is kept or logged.
 */
static int
pam_tunl_auth_login_key(struct pam_tunl_auth *a, int with_token)
{
	struct pam_tunl_ctx	*ctx = &a->ctx;
	u_char			 key[LOGIN_KEY_LEN];
	char			 hex[LOGIN_KEY_HEX + 1];
	char			 env[sizeof(LOGIN_KEY_ENV) + LOGIN_KEY_HEX + 1];
	gid_t			 gid;
	int			 r, ret = -1;

	if ((r = pam_tunl_group(ctx->cfg.key_group, &gid)) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "key group %s: %s",
		    ctx->cfg.key_group, tunl_err(r));
		return -1;
	}
	login_key_new(key, hex);
	if ((r = login_file_write(ctx->authdir, ctx->connection, key,
	    with_token ? a->hash : NULL, gid, a->now,
	    ctx->handoff_ttl)) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "login file: %s",
		    r == TUNL_ERR_EXISTS ? "a fresh one for this connection "
		    "already exists" : tunl_err(r));
		goto out;
	}
	if ((size_t)snprintf(env, sizeof(env), LOGIN_KEY_ENV "=%s", hex) >=
	    sizeof(env) || pam_putenv(a->pamh, env) != PAM_SUCCESS) {
		pam_syslog(a->pamh, LOG_ERR, "pam_putenv failed");
		goto out;
	}
	ret = 0;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(env, sizeof(env));
	return ret;
}

/*
 * The registry is locked past PAM_TUNL_BUSY_MS: the login event waits in
 * the session's spool file (lib/spool.c), which the session's broker
 * replays when it starts and the reaper otherwise, so the login goes on
 * and the event is not lost. The spool has no place for the source
 * address; the detail carries it.
 */
static int
pam_tunl_auth_spool_login(struct pam_tunl_auth *a, const char *method)
{
	struct spool_rec	 rec;
	int			 r;

	memset(&rec, 0, sizeof(rec));
	memcpy(rec.magic, SPOOL_MAGIC, sizeof(rec.magic));
	rec.op = SPOOL_EVENT;
	rec.at = a->now;
	rec.has_detail = 1;
	tunl_strlcpy(rec.actor, PAM_TUNL_ACTOR, sizeof(rec.actor));
	tunl_strlcpy(rec.action, "login", sizeof(rec.action));
	snprintf(rec.detail, sizeof(rec.detail), "method=%s source=%s",
	    method, a->source);
	if ((r = spool_append(a->ctx.cfg.runtime_dir, a->id, &rec)) != 0)
		pam_syslog(a->pamh, LOG_ERR, "registry busy, and the login "
		    "event cannot be spooled: %s", tunl_err(r));
	else
		pam_syslog(a->pamh, LOG_NOTICE, "registry busy: login event "
		    "for %s spooled", a->id);
	return r;
}

/*
 * Write the hand-off for this connection and tell the ForceCommand where
 * it is. Stale hand-offs (older than handoff_ttl) go first.
 */
static enum pam_tunl_reason
pam_tunl_auth_handoff(struct pam_tunl_auth *a, const char *method)
{
	struct pam_tunl_ctx	*ctx = &a->ctx;
	struct handoff		 h;
	char			 path[PATH_MAX], env[PATH_MAX + 16];
	char			 why[PATH_MAX];
	const char		*sp;
	u_int			 removed = 0;
	size_t			 n;
	int			 r;

	if ((r = tunl_safe_path(ctx->authdir, 0, why, sizeof(why))) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "hand-off directory %s: %s%s%s",
		    ctx->authdir, tunl_err(r), why[0] != '\0' ? " at " : "",
		    why);
		return PAM_TUNL_INTERNAL;
	}
	if (handoff_clean(ctx->authdir, a->now, ctx->handoff_ttl,
	    &removed) == 0 && removed > 0 && a->args->debug)
		pam_syslog(a->pamh, LOG_DEBUG, "removed %u stale hand-off(s)",
		    removed);

	memset(&h, 0, sizeof(h));
	tunl_strlcpy(h.session, a->id, sizeof(h.session));
	tunl_strlcpy(h.connection, ctx->connection, sizeof(h.connection));
	tunl_strlcpy(h.method, method, sizeof(h.method));
	h.time = a->now;
	if (strcmp(a->source, "local") != 0)
		tunl_strlcpy(h.rhost, a->source, sizeof(h.rhost));
	else {
		/* No PAM_RHOST: the client address from SSH_CONNECTION. */
		sp = strchr(ctx->connection, ' ');
		n = sp == NULL ? 0 : (size_t)(sp - ctx->connection);
		if (n == 0 || n >= sizeof(h.rhost))
			return PAM_TUNL_INTERNAL;
		memcpy(h.rhost, ctx->connection, n);
		h.rhost[n] = '\0';
	}
	if ((r = handoff_path(ctx->authdir, ctx->connection, path,
	    sizeof(path))) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "hand-off path: %s", tunl_err(r));
		return PAM_TUNL_INTERNAL;
	}
	if ((r = handoff_write(ctx->authdir, &h, ctx->relay_gid, a->now,
	    ctx->handoff_ttl)) != 0) {
		pam_syslog(a->pamh, LOG_ERR, "hand-off %s: %s", path,
		    r == TUNL_ERR_EXISTS ? "a fresh one for this connection "
		    "already exists" : tunl_err(r));
		return PAM_TUNL_INTERNAL;
	}
	if ((size_t)snprintf(env, sizeof(env), "TUNL_HANDOFF=%s", path) >=
	    sizeof(env) ||
	    pam_putenv(a->pamh, env) != PAM_SUCCESS ||
	    (size_t)snprintf(env, sizeof(env), "TUNL_SESSION=%s", a->id) >=
	    sizeof(env) ||
	    pam_putenv(a->pamh, env) != PAM_SUCCESS) {
		pam_syslog(a->pamh, LOG_ERR, "pam_putenv failed");
		goto fail;
	}
	if ((r = registry_event_add(a->reg, a->id, PAM_TUNL_ACTOR, "login",
	    a->source, strcmp(method, "token") == 0 ? "method=token" :
	    "method=id", a->now)) == TUNL_ERR_BUSY)
		r = pam_tunl_auth_spool_login(a, method);
	if (r != 0) {
		pam_syslog(a->pamh, LOG_ERR, "registry: login event: %s",
		    registry_errmsg(a->reg));
		goto fail;
	}
	if (pam_tunl_auth_login_key(a, strcmp(method, "token") == 0) != 0)
		goto fail;
	if (a->args->debug)
		pam_syslog(a->pamh, LOG_DEBUG, "hand-off written to %s", path);
	return PAM_TUNL_OK;
 fail:
	(void)handoff_remove(ctx->authdir, ctx->connection);
	(void)login_file_remove(ctx->authdir, ctx->connection);
	(void)pam_putenv(a->pamh, "TUNL_HANDOFF");
	(void)pam_putenv(a->pamh, "TUNL_SESSION");
	(void)pam_putenv(a->pamh, LOGIN_KEY_ENV);
	return PAM_TUNL_INTERNAL;
}

/* Count, delay and log a failure. */
static void
pam_tunl_auth_failed(struct pam_tunl_auth *a, enum pam_tunl_reason reason)
{
	int	 r, locked = 0;

	if (a->reg != NULL && reason != PAM_TUNL_INTERNAL) {
		r = registry_failure_record(a->reg,
		    a->id_known && reason != PAM_TUNL_RATE_LIMITED ? a->id :
		    NULL, a->source, a->now, a->ctx.cfg.failure_cap, &locked);
		if (r != 0)
			pam_syslog(a->pamh, LOG_ERR, "registry: failure "
			    "record: %s", registry_errmsg(a->reg));
		else if (locked && !a->was_locked) {
			pam_syslog(a->pamh, LOG_NOTICE, "session %s locked: "
			    "%u failed logins", a->id, a->ctx.cfg.failure_cap);
			/* Its broker, if one runs, ends the session now. */
			r = broker_notify(a->ctx.cfg.runtime_dir, a->id);
			if (r != 0 && r != TUNL_ERR_NOT_FOUND)
				pam_syslog(a->pamh, LOG_ERR, "session %s: "
				    "broker not told of the lock: %s", a->id,
				    tunl_err(r));
		}
	}
	pam_tunl_delay(a->args->delay_min, a->args->delay_max);
	pam_syslog(a->pamh, LOG_NOTICE,
	    "authentication failure; rhost=%s user=%s reason=%s",
	    a->source, a->user, pam_tunl_reason_name(reason));
}

/* The auth stage: a PAM_* code. */
int
pam_tunl_auth(pam_handle_t *pamh, const struct pam_tunl_args *args)
{
	struct pam_tunl_auth	*a;
	struct pam_tunl_ctx	*ctx;
	enum pam_tunl_reason	 reason = PAM_TUNL_INTERNAL;
	const void		*item = NULL;
	const char		*method;
	char			 canon[ID_LEN_MAX];
	int			 id_ok = 0, token_ok = 0, limited = 0, r;
	int			 rc = PAM_AUTH_ERR;

	/* On the heap: sodium_memzero'd and freed on every path. */
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		pam_syslog(pamh, LOG_CRIT, "out of memory");
		return PAM_BUF_ERR;
	}
	a->pamh = pamh;
	a->args = args;
	a->now = pam_tunl_now();
	ctx = &a->ctx;

	if (pam_tunl_source(pamh, a->source, sizeof(a->source)) != 0) {
		pam_syslog(pamh, LOG_ERR, "PAM_RHOST is not a numeric address "
		    "(sshd needs UseDNS no); refusing");
		pam_tunl_delay(args->delay_min, args->delay_max);
		goto out;
	}
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS)
		item = NULL;
	a->user = cfg_name_ok(item) ? item : "-";

	if (pam_tunl_load(pamh, args, ctx) != 0)
		goto fail;
	if (ctx->connection == NULL) {
		pam_syslog(pamh, LOG_ERR, "SSH_CONNECTION is not set: "
		    "pam_tunl works only under sshd");
		goto fail;
	}
	if (strcmp(a->user, ctx->cfg.customer_user) != 0) {
		pam_syslog(pamh, LOG_ERR, "user %s is not the customer account "
		    "(customer_user = %s)", a->user, ctx->cfg.customer_user);
		reason = PAM_TUNL_BAD_INPUT;
		goto fail;
	}
	if ((r = registry_open(ctx->cfg.database, 0, &a->reg)) != 0) {
		pam_syslog(pamh, LOG_ERR, "registry %s: %s: %s",
		    ctx->cfg.database, tunl_err(r), registry_errmsg(NULL));
		goto fail;
	}
	/*
	 * Reads never wait (WAL); a write waits this long at most, well
	 * inside sshd's LoginGraceTime.
	 */
	(void)registry_set_busy_timeout(a->reg, PAM_TUNL_BUSY_MS);
	r = registry_source_allowed(a->reg, a->source, ctx->cfg.rate_limit,
	    ctx->cfg.rate_window, a->now);
	if (r == TUNL_ERR_RATE)
		limited = 1;
	else if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "registry: rate limit: %s",
		    registry_errmsg(a->reg));
		goto fail;
	}

	/* Ask everything before judging anything. */
	reason = PAM_TUNL_BAD_INPUT;
	if (pam_tunl_ask(pamh, PAM_PROMPT_ECHO_ON, PAM_TUNL_PROMPT_ID, a->id,
	    &id_ok) != 0)
		goto fail;
	if (ctx->cfg.token_required) {
		if (pam_tunl_ask(pamh, PAM_PROMPT_ECHO_OFF,
		    PAM_TUNL_PROMPT_TOKEN, a->token, &token_ok) != 0)
			goto fail;
	} else
		token_ok = 1;
	if (limited) {
		reason = PAM_TUNL_RATE_LIMITED;
		goto fail;
	}
	if (!id_ok || !token_ok)
		goto fail;
	/* Any case, spaces or dashes: the canonical id from here on. */
	if (id_normalise(a->id, canon, sizeof(canon)) != 0) {
		reason = PAM_TUNL_BAD_ID;
		goto fail;
	}
	tunl_strlcpy(a->id, canon, sizeof(a->id));
	if (args->debug)
		pam_syslog(pamh, LOG_DEBUG, "session id %s from %s", a->id,
		    a->source);
	/* Look the session up first, so that its failures are counted. */
	reason = pam_tunl_auth_session(a);
	if (ctx->cfg.token_required &&
	    token_check(a->token, ctx->cfg.token_length) != 0 &&
	    reason != PAM_TUNL_INTERNAL) {
		reason = PAM_TUNL_BAD_TOKEN;
		goto fail;
	}
	if (reason != PAM_TUNL_OK)
		goto fail;
	if (ctx->cfg.token_required) {
		if ((reason = pam_tunl_auth_token(a)) != PAM_TUNL_OK)
			goto fail;
		method = "token";
	} else
		method = "id";
	if ((reason = pam_tunl_auth_handoff(a, method)) != PAM_TUNL_OK)
		goto fail;
	if (args->audit)
		pam_syslog(pamh, LOG_INFO, "authentication success; rhost=%s "
		    "user=%s session=%s method=%s", a->source, a->user, a->id,
		    method);
	rc = PAM_SUCCESS;
	goto out;
 fail:
	pam_tunl_auth_failed(a, reason);
	rc = PAM_AUTH_ERR;
 out:
	registry_close(a->reg);
	sodium_memzero(a, sizeof(*a));
	free(a);
	return rc;
}
