/*
 * id-generate.c: a new random session id (the grammar is in id.c). Apart
 * from id.c because it needs libsodium's randombytes, which the libc-only
 * wire subset tunl-share links does not have.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "tunl.h"

/*
 * Write a new random id to out. Each word is drawn uniformly from the list
 * (randombytes_uniform avoids modulo bias), giving 44 bits.
 */
int
id_generate(char *out, size_t outlen)
{
	const char	*w;
	size_t		 off = 0, n;
	u_int		 i;

	if (out == NULL || outlen < ID_LEN_MAX)
		return TUNL_ERR_LENGTH;
	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	for (i = 0; i < ID_WORDS; i++) {
		if ((w = id_word(randombytes_uniform(ID_WORDLIST_LEN))) ==
		    NULL)
			return TUNL_ERR_INTERNAL;
		n = strlen(w);
		/* Room for the word, a dash or the NUL. */
		if (n > ID_WORD_MAX || outlen - off < n + 1)
			return TUNL_ERR_INTERNAL;
		if (i > 0)
			out[off++] = '-';
		memcpy(out + off, w, n);
		off += n;
	}
	out[off] = '\0';
	return 0;
}
