/*
 * pam-mksession.c: create a session for the PAM integration test.
 *
 *	pam-mksession CONFIG [SESSION-TTL-MINUTES [TOKEN-TTL-MINUTES]]
 *
 * Reads CONFIG, creates a pending session with a fresh id and token in
 * its registry (the token's keyed hash only, with the key from
 * token_key; run as root) and prints "id=<id>" and "token=<digits>" on
 * stdout, for the test to feed to the client through files, never argv.
 * tunl-authority's "mint" does this on a real relay.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tunl.h"

int
main(int argc, char **argv)
{
	struct tunl_cfg	 cfg;
	struct registry	*reg = NULL;
	struct session	 s;
	u_char		 key[TOKEN_KEY_LEN], hash[TOKEN_HASH_LEN];
	char		 token[TOKEN_LEN_MAX], err[512];
	long long	 ttl = 60, tttl = 60;
	int64_t		 now = (int64_t)time(NULL);
	int		 r, status = 1;

	if (argc < 2 || argc > 4 ||
	    (argc > 2 && tunl_strtonum(argv[2], 1, 10080, &ttl) != 0) ||
	    (argc > 3 && tunl_strtonum(argv[3], 1, 10080, &tttl) != 0)) {
		fprintf(stderr, "usage: pam-mksession CONFIG [TTL [TOKEN-TTL]]\n");
		return 2;
	}
	if (sodium_init() == -1) {
		fprintf(stderr, "pam-mksession: sodium_init failed\n");
		return 1;
	}
	if ((r = cfg_load(&cfg, argv[1], 0, err, sizeof(err))) != 0) {
		fprintf(stderr, "pam-mksession: %s\n", err);
		return 1;
	}
	if ((r = token_key_load(cfg.token_key, 0, key)) != 0) {
		fprintf(stderr, "pam-mksession: %s: %s\n", cfg.token_key,
		    tunl_err(r));
		goto out;
	}
	if ((r = registry_open(cfg.database, 0, &reg)) != 0) {
		fprintf(stderr, "pam-mksession: %s: %s\n", cfg.database,
		    registry_errmsg(NULL));
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.state = SESSION_PENDING;
	s.mode = SESSION_SHARE;
	tunl_strlcpy(s.engineer, "pam-test", sizeof(s.engineer));
	s.created = now;
	s.expires = now + ttl * 60;
	if ((r = id_generate(s.id, sizeof(s.id))) != 0 ||
	    (r = token_generate(cfg.token_length, token, sizeof(token))) != 0 ||
	    (r = token_hash(key, token, hash)) != 0 ||
	    (r = registry_session_create(reg, &s, hash,
	    now + tttl * 60)) != 0) {
		fprintf(stderr, "pam-mksession: %s: %s\n", tunl_err(r),
		    registry_errmsg(reg));
		goto out;
	}
	printf("id=%s\ntoken=%s\n", s.id, token);
	status = fflush(stdout) == 0 ? 0 : 1;
 out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(token, sizeof(token));
	registry_close(reg);
	return status;
}
