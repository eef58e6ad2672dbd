/*
 * fuzz-sshcert.c: libFuzzer target for the ExposeAuthInfo parser and the
 * certificate parser. The input is tried as the text of $SSH_USER_AUTH
 * (and each key found there as a key or certificate blob) and as a raw
 * certificate blob. What parses must hold together: bounded counts,
 * NUL-terminated text, fingerprints of the right shape.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_cert(const u_char *blob, size_t len)
{
	struct sshcert	 c;
	u_int		 i;

	if (sshcert_parse(blob, len, &c) != 0) {
		if (c.nprincipals != 0 || c.key_id[0] != '\0')
			__builtin_trap();
		return;
	}
	if (c.type != SSHCERT_TYPE_USER ||
	    c.nprincipals > SSHCERT_PRINCIPALS_MAX ||
	    c.valid_after > c.valid_before ||
	    strlen(c.key_fp) != SSHKEY_FP_LEN - 1 ||
	    strlen(c.ca_fp) != SSHKEY_FP_LEN - 1 ||
	    strnlen(c.key_id, sizeof(c.key_id)) >= sizeof(c.key_id))
		__builtin_trap();
	for (i = 0; i < c.nprincipals; i++) {
		if (c.principals[i][0] == '\0' ||
		    !sshcert_has_principal(&c, c.principals[i]))
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct sshauth	 a;
	char			 fp[SSHKEY_FP_LEN], type[SSHKEY_TYPE_MAX];
	u_int			 i;

	if (sshauth_parse((const char *)data, len, &a) == 0) {
		if (a.nkeys > SSHAUTH_KEYS_MAX ||
		    (a.nkeys > 0) != ((a.methods & SSHAUTH_PUBLICKEY) != 0))
			__builtin_trap();
		for (i = 0; i < a.nkeys; i++) {
			if (a.keys[i].len == 0 ||
			    a.keys[i].len > SSHKEY_BLOB_MAX)
				__builtin_trap();
			if (a.keys[i].cert)
				check_cert(a.keys[i].blob, a.keys[i].len);
			else if (sshkey_check(a.keys[i].blob, a.keys[i].len,
			    type, sizeof(type)) != 0 ||
			    strcmp(type, a.keys[i].type) != 0)
				__builtin_trap();
			if (sshkey_fingerprint(a.keys[i].blob, a.keys[i].len,
			    fp, sizeof(fp)) != 0)
				__builtin_trap();
		}
	}
	check_cert(data, len);
	(void)sshkey_check(data, len, type, sizeof(type));
	return 0;
}
