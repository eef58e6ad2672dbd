/*
 * authority-token.c: `tunl-authority token`, run for the engineer account
 * by tunl-shell's `token`. It gives a live session a new one-time token:
 * for a customer whose session certificate expired (tunl-share then asks
 * for a token to sign a new one), or whose first token expired unused.
 * Any token of the session not yet used stops working; as at mint, only
 * the new token's keyed hash is stored.
 *
 * The request is one line on stdin, two fields separated by one space:
 *
 *	engineer=<name> id=<session id>
 *
 * name as for mint ([A-Za-z0-9][A-Za-z0-9._@-]*, 1 to 64 bytes); the id
 * must pass id_check. The answer is the same three lines as mint's, with
 * expires= the token's expiry: the sooner of token_ttl from now and the
 * session's own expiry.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

/*
 * Parse one request line (len bytes, an optional final newline, no NUL).
 * On failure req is zeroed.
 */
int
authority_token_parse(const char *line, size_t len,
    struct token_request *req)
{
	const char	*p, *end, *sp;
	size_t		 n;
	int		 r;

	memset(req, 0, sizeof(*req));
	if ((r = authority_line_check(line, &len, AUTH_REQUEST_MAX)) != 0)
		return r;
	r = TUNL_ERR_INVALID;
	p = line;
	end = line + len;

	if ((size_t)(end - p) < 9 || memcmp(p, "engineer=", 9) != 0)
		goto out;
	p += 9;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		goto out;
	if (authority_value(AUTH_CHARS_NAME, p, (size_t)(sp - p), 0,
	    req->engineer, sizeof(req->engineer)) != 0)
		goto out;

	p = sp + 1;
	if ((size_t)(end - p) < 3 || memcmp(p, "id=", 3) != 0)
		goto out;
	p += 3;
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(req->id) || memchr(p, ' ', n) != NULL)
		goto out;
	memcpy(req->id, p, n);
	req->id[n] = '\0';
	if (id_check(req->id) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		memset(req, 0, sizeof(*req));
	return r;
}

/* Draw tokens until one's hash is free (TUNL_ERR_EXISTS) or AUTH_TRIES. */
static int
token_issue(struct authority *a, struct registry *reg,
    const struct token_request *req, const u_char *key, int64_t expires,
    char *token, size_t tokenlen)
{
	u_char	 hash[TOKEN_HASH_LEN];
	u_int	 tries;
	int	 r = TUNL_ERR_EXISTS;

	for (tries = 0; tries < AUTH_TRIES && r == TUNL_ERR_EXISTS; tries++) {
		if ((r = token_generate(a->cfg.token_length, token,
		    tokenlen)) != 0 ||
		    (r = token_hash(key, token, hash)) != 0)
			break;
		r = registry_token_reissue(reg, req->id, hash, expires,
		    req->engineer, a->now);
	}
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int
authority_token(struct authority *a)
{
	struct token_request	 req;
	struct registry		*reg = NULL;
	struct session		 s;
	char			 line[AUTH_REQUEST_MAX + 2];
	char			 token[TOKEN_LEN_MAX];
	u_char			 key[TOKEN_KEY_LEN];
	size_t			 len;
	int64_t			 expires;
	int			 r, status = 1;

	memset(token, 0, sizeof(token));
	memset(key, 0, sizeof(key));
	if (a->role != AUTH_ROLE_ENGINEER) {
		error("token refused: uid %lu is not the engineer account",
		    (u_long)a->uid);
		authority_fail("token is for the engineer account only");
		goto out;
	}
	if ((r = authority_read_stdin(line, sizeof(line), &len)) != 0 ||
	    (r = authority_token_parse(line, len, &req)) != 0) {
		error_r(r, "token: bad request");
		authority_fail("bad request");
		goto out;
	}
	if (authority_engineer(a, "token", req.engineer, req.engineer,
	    sizeof(req.engineer)) != 0)
		goto out;
	if (!a->cfg.token_required) {
		authority_fail("this relay does not use tokens "
		    "(token_required = no): the session id is enough");
		goto out;
	}
	if ((r = token_key_load(a->cfg.token_key, 0, key)) != 0) {
		error_r(r, "token key %s", a->cfg.token_key);
		authority_fail("the relay's token key is unusable");
		goto out;
	}
	if (authority_open_registry(a, &reg) != 0)
		goto out;
	if ((r = registry_session_get(reg, req.id, &s)) != 0) {
		if (r != TUNL_ERR_NOT_FOUND)
			error_r(r, "token %s: %s", req.id,
			    registry_errmsg(reg));
		authority_fail("no live session %s", req.id);
		goto out;
	}
	expires = a->now + (int64_t)a->cfg.token_ttl * 60;
	if (s.expires < expires)
		expires = s.expires;
	if ((s.state != SESSION_PENDING && s.state != SESSION_ACTIVE) ||
	    expires <= a->now) {
		authority_fail("session %s is %s: no token for it%s", req.id,
		    expires <= a->now ? "expired" : session_state_name(s.state),
		    s.state == SESSION_LOCKED ? " until an engineer unlocks it" :
		    "");
		goto out;
	}
	if ((r = token_issue(a, reg, &req, key, expires, token,
	    sizeof(token))) != 0) {
		if (r == TUNL_ERR_NOT_FOUND)
			authority_fail("no live session %s", req.id);
		else {
			error_r(r, "token %s: %s", req.id,
			    registry_errmsg(reg));
			authority_fail("cannot issue a token");
		}
		goto out;
	}
	/* registry_token_reissue logged "token-issued" with the engineer. */
	info("new token for session %s by engineer %s (expires %lld)", req.id,
	    req.engineer, (long long)expires);
	if (authority_answer(req.id, token, expires) != 0)
		goto out;
	status = 0;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(line, sizeof(line));
	registry_close(reg);
	return status;
}
