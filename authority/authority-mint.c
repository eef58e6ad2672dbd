/*
 * authority-mint.c: `tunl-authority mint`, run for the engineer account
 * by tunl-shell's `new`. It creates a pending session with a fresh id and
 * one-time token; only the token's keyed hash is stored, and only this
 * program (setgid to the key group) can compute it.
 *
 * The request is one line on stdin, its five fields in this order, each
 * separated by one space:
 *
 *	engineer=<name> case=<case>|- customer=<name>|- ttl=<min>|- mode=share|restricted
 *
 * "-" is the explicit empty value (no case, no customer, the configured
 * session_ttl). The grammars:
 *	name	[A-Za-z0-9][A-Za-z0-9._@-]*, 1 to 64 bytes
 *	case	[A-Za-z0-9][A-Za-z0-9._:#-]*, 1 to 64 bytes
 *	ttl	1 to session_ttl minutes, decimal digits only
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
authority_mint_parse(const char *line, size_t len, struct mint_request *req)
{
	static const char *const names[] = {
		"engineer=", "case=", "customer=", "ttl=", "mode="
	};
	const char	*field[TUNL_NITEMS(names)];
	size_t		 flen[TUNL_NITEMS(names)];
	char		 num[8];
	const char	*p, *end, *sp;
	size_t		 i, n;
	long long	 v;
	int		 r = TUNL_ERR_INVALID;

	memset(req, 0, sizeof(*req));
	if ((r = authority_line_check(line, &len, AUTH_REQUEST_MAX)) != 0)
		return r;
	r = TUNL_ERR_INVALID;

	p = line;
	end = line + len;
	for (i = 0; i < TUNL_NITEMS(names); i++) {
		n = strlen(names[i]);
		if ((size_t)(end - p) < n || memcmp(p, names[i], n) != 0)
			goto out;
		p += n;
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
			sp = end;
		if (i + 1 < TUNL_NITEMS(names) ? sp == end : sp != end)
			goto out;
		field[i] = p;
		flen[i] = (size_t)(sp - p);
		p = sp == end ? end : sp + 1;
	}

	if ((r = authority_value(AUTH_CHARS_NAME, field[0], flen[0], 0, req->engineer,
	    sizeof(req->engineer))) != 0 ||
	    (r = authority_value(AUTH_CHARS_CASE, field[1], flen[1], 1, req->case_ref,
	    sizeof(req->case_ref))) != 0 ||
	    (r = authority_value(AUTH_CHARS_NAME, field[2], flen[2], 1, req->customer,
	    sizeof(req->customer))) != 0)
		goto out;

	r = TUNL_ERR_INVALID;
	if (flen[3] == 1 && field[3][0] == '-')
		req->ttl = 0;
	else {
		if (flen[3] == 0 || flen[3] >= sizeof(num))
			goto out;
		memcpy(num, field[3], flen[3]);
		num[flen[3]] = '\0';
		if ((r = tunl_strtonum(num, 1, 10080, &v)) != 0)
			goto out;
		req->ttl = (u_int)v;
	}

	r = TUNL_ERR_INVALID;
	if (flen[4] == 5 && memcmp(field[4], "share", 5) == 0)
		req->mode = SESSION_SHARE;
	else if (flen[4] == 10 && memcmp(field[4], "restricted", 10) == 0)
		req->mode = SESSION_RESTRICTED;
	else
		goto out;
	r = 0;
 out:
	if (r != 0)
		memset(req, 0, sizeof(*req));
	return r;
}

/*
 * Create the session: a fresh id and token for each try, until neither
 * collides (TUNL_ERR_EXISTS covers both) or AUTH_TRIES pass.
 */
static int
mint_create(struct authority *a, struct registry *reg,
    const struct mint_request *req, const u_char *key, struct session *s,
    char *token, size_t tokenlen, int64_t *token_expires)
{
	u_char	 hash[TOKEN_HASH_LEN];
	u_int	 ttl, tries, token_ttl;
	int	 r = TUNL_ERR_EXISTS;

	ttl = req->ttl == 0 ? a->cfg.session_ttl : req->ttl;
	token_ttl = a->cfg.token_ttl < ttl ? a->cfg.token_ttl : ttl;
	*token_expires = a->now + (int64_t)token_ttl * 60;

	for (tries = 0; tries < AUTH_TRIES && r == TUNL_ERR_EXISTS; tries++) {
		memset(s, 0, sizeof(*s));
		if ((r = id_generate(s->id, sizeof(s->id))) != 0)
			break;
		s->state = SESSION_PENDING;
		s->mode = req->mode;
		tunl_strlcpy(s->case_ref, req->case_ref, sizeof(s->case_ref));
		tunl_strlcpy(s->customer, req->customer, sizeof(s->customer));
		tunl_strlcpy(s->engineer, req->engineer, sizeof(s->engineer));
		s->created = a->now;
		s->expires = a->now + (int64_t)ttl * 60;
		if (a->cfg.token_required) {
			if ((r = token_generate(a->cfg.token_length, token,
			    tokenlen)) != 0 ||
			    (r = token_hash(key, token, hash)) != 0)
				break;
			r = registry_session_create(reg, s, hash,
			    *token_expires);
		} else {
			tunl_strlcpy(token, "-", tokenlen);
			r = registry_session_create(reg, s, NULL, 0);
		}
	}
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int
authority_mint(struct authority *a)
{
	struct mint_request	 req;
	struct registry		*reg = NULL;
	struct session		 s;
	char			 line[AUTH_REQUEST_MAX + 2];
	char			 token[TOKEN_LEN_MAX];
	u_char			 key[TOKEN_KEY_LEN];
	size_t			 len;
	int64_t			 token_expires = 0;
	u_int			 port = 0;
	int			 r, status = 1, have_key = 0;

	memset(token, 0, sizeof(token));
	if (a->role != AUTH_ROLE_ENGINEER) {
		error("mint refused: uid %lu is not the engineer account",
		    (u_long)a->uid);
		authority_fail("mint is for the engineer account only");
		goto out;
	}
	if ((r = authority_read_stdin(line, sizeof(line), &len)) != 0 ||
	    (r = authority_mint_parse(line, len, &req)) != 0) {
		error_r(r, "mint: bad request");
		authority_fail("bad request");
		goto out;
	}
	if (authority_engineer(a, "mint", req.engineer, req.engineer,
	    sizeof(req.engineer)) != 0)
		goto out;
	if (req.ttl > a->cfg.session_ttl) {
		authority_fail("ttl is longer than the relay allows (%u "
		    "minutes)", a->cfg.session_ttl);
		goto out;
	}
	if (a->cfg.token_required) {
		if ((r = token_key_load(a->cfg.token_key, 0, key)) != 0) {
			error_r(r, "token key %s", a->cfg.token_key);
			authority_fail("the relay's token key is unusable");
			goto out;
		}
		have_key = 1;
	}
	if (authority_open_registry(a, &reg) != 0)
		goto out;
	if ((r = mint_create(a, reg, &req, have_key ? key : NULL, &s, token,
	    sizeof(token), &token_expires)) != 0) {
		error_r(r, "mint: cannot create a session: %s",
		    registry_errmsg(reg));
		authority_fail("cannot create a session");
		goto out;
	}
	/*
	 * Its tunnel port, when the relay has a range, held for the
	 * session's life. A relay whose range is all taken still shares
	 * screens; only the tunnel is unavailable for this session.
	 */
	if (a->cfg.tunnel_port_min != 0 && s.mode != SESSION_RESTRICTED &&
	    (r = registry_tunnel_assign(reg, s.id, a->cfg.tunnel_port_min,
	    a->cfg.tunnel_port_max, &port)) != 0)
		error_r(r, "mint: session %s has no tunnel port: %s", s.id,
		    registry_errmsg(reg));
	else if (port != 0)
		info("session %s: tunnel port %u", s.id, port);
	/* registry_session_create logged "created" with the engineer. */
	info("minted session %s for engineer %s (%s, expires %lld)", s.id,
	    s.engineer, session_mode_name(s.mode), (long long)s.expires);
	if (authority_answer(s.id, token, s.expires) != 0)
		goto out;
	status = 0;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(line, sizeof(line));
	registry_close(reg);
	return status;
}
