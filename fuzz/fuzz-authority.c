/*
 * fuzz-authority.c: libFuzzer target for tunl-authority's input grammars:
 * the mint and token request lines, the public key line, and the
 * registry verbs' engineer line and host line. What parses must be
 * well-formed: a key re-parses from its canonical line to the same key,
 * and request fields hold only their grammar's characters.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "authority.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_field(const char *s, const char *allowed)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (strchr(allowed, s[i]) == NULL)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	char			 name[sizeof(alnum) + 8], kase[sizeof(alnum) + 8];
	struct mint_request	 req;
	struct token_request	 treq;
	struct sign_key		 k, k2;
	char			 who[AUTH_ENGINEER_MAX + 1];
	char			 host[SESSION_HOST_LEN];

	snprintf(name, sizeof(name), "%s._@-", alnum);
	snprintf(kase, sizeof(kase), "%s._:#-", alnum);
	if (authority_mint_parse((const char *)data, len, &req) == 0) {
		if (req.engineer[0] == '\0' || req.ttl > 10080 ||
		    (req.mode != SESSION_SHARE &&
		    req.mode != SESSION_RESTRICTED))
			__builtin_trap();
		check_field(req.engineer, name);
		check_field(req.customer, name);
		check_field(req.case_ref, kase);
	}
	if (authority_token_parse((const char *)data, len, &treq) == 0) {
		if (treq.engineer[0] == '\0' || id_check(treq.id) != 0)
			__builtin_trap();
		check_field(treq.engineer, name);
	}
	if (authority_registry_engineer_parse((const char *)data, len, who,
	    sizeof(who)) == 0) {
		if (who[0] == '\0')
			__builtin_trap();
		check_field(who, name);
	}
	if (authority_registry_host_parse((const char *)data, len, host,
	    sizeof(host)) == 0) {
		if (!tunl_host_ok(host) || strlen(host) >= SESSION_HOST_LEN)
			__builtin_trap();
	}
	if (authority_sign_parse_key((const char *)data, len, &k) == 0) {
		if (authority_sign_parse_key(k.line, strlen(k.line), &k2) != 0 ||
		    memcmp(k.key, k2.key, sizeof(k.key)) != 0 ||
		    strcmp(k.line, k2.line) != 0)
			__builtin_trap();
	}
	(void)authority_sign_check_cert((const char *)data, len);
	return 0;
}
