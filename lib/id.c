/*
 * id.c: session ids, four words from lib/wordlist.c joined by dashes
 * ("amber-falcon-river-seven").
 *
 * An id names a session; it is read aloud and typed, so it is not a secret
 * (the one-time token is, see token.c). id_check() is the one grammar an
 * id from outside must pass before it touches a path, the database or a
 * command line: exactly ID_WORDS listed words, lowercase, separated by
 * single dashes, and nothing else. Making a new id needs randomness from
 * libsodium and lives in id-generate.c, so this file stays libc only.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"

/*
 * Check that s is a well-formed id: ID_WORDS words from the list, each
 * followed by a single '-' except the last, which ends the string. The
 * length is bounded before anything else is looked at. Returns 0 or
 * TUNL_ERR_INVALID.
 */
int
id_check(const char *s)
{
	const char	*p, *start;
	size_t		 n;
	u_int		 i;

	if (s == NULL || strnlen(s, ID_LEN_MAX) >= ID_LEN_MAX)
		return TUNL_ERR_INVALID;
	p = s;
	for (i = 0; i < ID_WORDS; i++) {
		start = p;
		while (*p >= 'a' && *p <= 'z' &&
		    (size_t)(p - start) <= ID_WORD_MAX)
			p++;
		n = (size_t)(p - start);
		if (n < ID_WORD_MIN || n > ID_WORD_MAX)
			return TUNL_ERR_INVALID;
		if (id_word_find(start, n, NULL) != 0)
			return TUNL_ERR_INVALID;
		if (i + 1 < ID_WORDS) {
			if (*p != '-')
				return TUNL_ERR_INVALID;
			p++;
		} else if (*p != '\0')
			return TUNL_ERR_INVALID;
	}
	return 0;
}

static int
id_is_separator(char c)
{
	return c == '-' || c == ' ' || c == '\t' || c == '_';
}

/*
 * An id as people type it or read it aloud: words in any case, separated
 * by any run of dashes, spaces, tabs or underscores, with such separators
 * allowed around it ("Amber Falcon  river-SEVEN"). The canonical form
 * (lowercase, single dashes) goes to out, which must hold ID_LEN_MAX
 * bytes, and must pass id_check. The input is bounded (ID_INPUT_MAX)
 * before anything else is looked at. Returns 0, or TUNL_ERR_INVALID with
 * out empty.
 */
int
id_normalise(const char *in, char *out, size_t outlen)
{
	size_t	 n = 0, i, len;
	int	 sep = 0;

	if (out == NULL || outlen < ID_LEN_MAX)
		return TUNL_ERR_INVALID;
	out[0] = '\0';
	if (in == NULL || (len = strnlen(in, ID_INPUT_MAX)) >= ID_INPUT_MAX)
		return TUNL_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (id_is_separator(in[i])) {
			sep = n > 0;
			continue;
		}
		if (!((in[i] >= 'a' && in[i] <= 'z') ||
		    (in[i] >= 'A' && in[i] <= 'Z')))
			goto bad;
		if (sep) {
			if (n + 1 >= ID_LEN_MAX)
				goto bad;
			out[n++] = '-';
			sep = 0;
		}
		if (n + 1 >= ID_LEN_MAX)
			goto bad;
		out[n++] = (char)(in[i] | 0x20);	/* lower case */
	}
	out[n] = '\0';
	if (id_check(out) == 0)
		return 0;
 bad:
	out[0] = '\0';
	return TUNL_ERR_INVALID;
}
