/*
 * admin-pam.c: where pam_tunl stands in sshd's PAM stack.
 *
 * pam_tunl must decide the customer's authentication before the
 * distribution's usual lines do: its lines (`@include tunl', or the same
 * lines pasted in) have to come before `@include common-auth' and before
 * any other module's auth line. This scanner reads a PAM service file
 * (pam.conf(5) syntax without the service column) and records the line
 * numbers doctor needs (and whether pam_tunl has a session line, which
 * engineer logins need for their name, with the guard line before it that
 * picks the accounts it runs for). It only reads: lines it cannot make sense of are
 * passed over, as they do not change where pam_tunl stands.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"
#include "admin.h"

#define PAM_TOKENS	16

static int
pam_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Split a line into up to PAM_TOKENS tokens (pointer and length); a token
 * starting with '[' runs to the matching ']' as PAM's control syntax does.
 * A '#' outside brackets starts a comment. Returns how many.
 */
static u_int
pam_tokens(const char *line, size_t len, const char *tok[PAM_TOKENS],
    size_t toklen[PAM_TOKENS])
{
	size_t	 i = 0, start;
	u_int	 n = 0;

	while (n < PAM_TOKENS) {
		while (i < len && pam_space(line[i]))
			i++;
		if (i >= len || line[i] == '#')
			break;
		start = i;
		if (line[i] == '[') {
			while (i < len && line[i] != ']')
				i++;
			if (i >= len)
				break;		/* unterminated: not a line */
			i++;
		} else {
			while (i < len && !pam_space(line[i]) &&
			    line[i] != '#')
				i++;
		}
		tok[n] = line + start;
		toklen[n] = i - start;
		n++;
	}
	return n;
}

static int
pam_tok_is(const char *tok, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(tok, word, len) == 0;
}

/* The last path component of a module token. */
static void
pam_basename(const char *tok, size_t len, const char **base, size_t *blen)
{
	const char	*p;

	p = tok + len;
	while (p > tok && p[-1] != '/')
		p--;
	*base = p;
	*blen = len - (size_t)(p - tok);
}

/* An included file: tunl's, the distribution's usual auth, or neither. */
static void
pam_included(struct pam_order *po, u_int lineno, const char *name,
    size_t len)
{
	if (pam_tok_is(name, len, "tunl")) {
		if (po->tunl_line == 0) {
			po->tunl_line = lineno;
			po->tunl_include = 1;
		}
	} else if (pam_tok_is(name, len, "common-auth") ||
	    pam_tok_is(name, len, "system-auth") ||
	    pam_tok_is(name, len, "password-auth")) {
		if (po->common_line == 0)
			po->common_line = lineno;
	}
}

/* A session line of pam_succeed_if.so: pam_tunl's guard if it comes next. */
static void
pam_guard(struct pam_order *po, u_int lineno, const char *const *tok,
    const size_t *toklen, u_int n)
{
	size_t	 used = 0;
	u_int	 i;

	po->guard_line = lineno;
	po->guard_more = n == PAM_TOKENS;
	po->guard[0] = '\0';
	for (i = 3; i < n; i++) {
		if (used + toklen[i] + 2 > sizeof(po->guard)) {
			po->guard_more = 1;
			break;
		}
		if (used > 0)
			po->guard[used++] = ' ';
		memcpy(po->guard + used, tok[i], toklen[i]);
		used += toklen[i];
		po->guard[used] = '\0';
	}
}

static int
pam_scan_line(struct pam_order *po, u_int lineno, const char *line,
    size_t len)
{
	const char	*tok[PAM_TOKENS], *type, *base;
	size_t		 toklen[PAM_TOKENS], tlen, blen;
	u_int		 n;

	n = pam_tokens(line, len, tok, toklen);
	if (n >= 2 && pam_tok_is(tok[0], toklen[0], "@include")) {
		pam_included(po, lineno, tok[1], toklen[1]);
		return 0;
	}
	if (n < 3)
		return 0;
	type = tok[0];
	tlen = toklen[0];
	if (tlen > 0 && type[0] == '-') {
		type++;
		tlen--;
	}
	if (pam_tok_is(type, tlen, "session")) {
		if (po->session_line != 0)
			return 0;
		pam_basename(tok[2], toklen[2], &base, &blen);
		if (pam_tok_is(base, blen, "pam_tunl.so"))
			po->session_line = lineno;
		else if (pam_tok_is(base, blen, "pam_succeed_if.so"))
			pam_guard(po, lineno, tok, toklen, n);
		else
			po->guard_line = 0;
		return 0;
	}
	if (!pam_tok_is(type, tlen, "auth"))
		return 0;
	if (pam_tok_is(tok[1], toklen[1], "include") ||
	    pam_tok_is(tok[1], toklen[1], "substack")) {
		pam_included(po, lineno, tok[2], toklen[2]);
		return 0;
	}
	pam_basename(tok[2], toklen[2], &base, &blen);
	if (pam_tok_is(base, blen, "pam_tunl.so")) {
		if (po->tunl_line != 0)
			return 0;
		if (toklen[2] >= sizeof(po->module))
			return TUNL_ERR_LENGTH;
		memcpy(po->module, tok[2], toklen[2]);
		po->module[toklen[2]] = '\0';
		po->tunl_line = lineno;
		return 0;
	}
	/* tunl's own guard: it only picks which account pam_tunl sees. */
	if (pam_tok_is(base, blen, "pam_succeed_if.so"))
		return 0;
	if (po->other_line == 0) {
		if (blen >= sizeof(po->other_module))
			blen = sizeof(po->other_module) - 1;
		memcpy(po->other_module, base, blen);
		po->other_module[blen] = '\0';
		po->other_line = lineno;
	}
	return 0;
}

/*
 * Scan a PAM service file. Refuses a NUL, a file over PAM_FILE_MAX, a line
 * over PAM_LINE_MAX and a pam_tunl module path over its field.
 */
int
admin_pam_scan(const char *text, size_t len, struct pam_order *po)
{
	const char	*p = text, *nl;
	size_t		 left = len, n;
	u_int		 lineno = 0;
	int		 r;

	memset(po, 0, sizeof(*po));
	if (len > PAM_FILE_MAX)
		return TUNL_ERR_LENGTH;
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return TUNL_ERR_NUL;
	while (left > 0) {
		lineno++;
		if ((nl = memchr(p, '\n', left)) != NULL)
			n = (size_t)(nl - p);
		else
			n = left;
		if (n > PAM_LINE_MAX)
			return TUNL_ERR_LENGTH;
		if ((r = pam_scan_line(po, lineno, p, n)) != 0)
			return r;
		if (nl == NULL)
			break;
		p = nl + 1;
		left -= n + 1;
	}
	return 0;
}
