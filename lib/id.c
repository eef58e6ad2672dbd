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
