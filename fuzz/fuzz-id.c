/*
 * fuzz-id.c: libFuzzer target for the id and token grammars. The input,
 * NUL-terminated, goes to id_check() and to token_check() for every digit
 * count. Whatever is accepted must be what the grammar promises: an id's
 * words must each be a listed word that id_word() gives back unchanged,
 * and an accepted token must hash.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_id(const char *s)
{
	const char	*p = s, *dash, *w;
	size_t		 n, total = 0;
	u_int		 i, idx;

	if (strlen(s) >= ID_LEN_MAX)
		__builtin_trap();
	for (i = 0; i < ID_WORDS; i++) {
		dash = strchr(p, '-');
		if ((dash == NULL) != (i == ID_WORDS - 1))
			__builtin_trap();
		n = dash != NULL ? (size_t)(dash - p) : strlen(p);
		if (id_word_find(p, n, &idx) != 0 ||
		    (w = id_word(idx)) == NULL ||
		    strlen(w) != n || memcmp(w, p, n) != 0)
			__builtin_trap();
		total += n + 1;
		if (dash != NULL)
			p = dash + 1;
	}
	if (total - 1 != strlen(s))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const u_char	 key[TOKEN_KEY_LEN] = { 1, 2, 3 };
	u_char			 h[TOKEN_HASH_LEN];
	char			*s;
	u_int			 d, i;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';

	if (id_check(s) == 0)
		check_id(s);
	for (d = 0; d <= TOKEN_DIGITS_MAX + 2; d++) {
		if (token_check(s, d) != 0)
			continue;
		if (d < TOKEN_DIGITS_MIN || d > TOKEN_DIGITS_MAX ||
		    strlen(s) != d)
			__builtin_trap();
		for (i = 0; i < d; i++) {
			if (s[i] < '0' || s[i] > '9')
				__builtin_trap();
		}
		if (token_hash(key, s, h) != 0)
			__builtin_trap();
	}
	free(s);
	return 0;
}
