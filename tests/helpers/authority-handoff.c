/*
 * authority-handoff: write a hand-off as pam_tunl would, for the
 * integration tests of tunl-authority (root only; run inside the test's
 * mount namespace so that DIR is its private /run/tunl/auth).
 *
 *	authority-handoff DIR GROUP SESSION-ID "SSH_CONNECTION" [AGE-SECONDS]
 *	authority-handoff DIR GROUP SESSION-ID "SSH_CONNECTION" AGE-SECONDS \
 *	    KEY-GROUP TOKEN-KEY-FILE TOKEN|-
 *
 * AGE-SECONDS back-dates the hand-off's time, to test expiry. The second
 * form also writes the login file as pam_tunl does (group KEY-GROUP; the
 * token's keyed hash under TOKEN-KEY-FILE, or none for "-") and prints
 * the login key, which the test gives tunl-authority as TUNL_LOGIN_KEY.
 *
 *	authority-handoff -e DIR KEY-GROUP ENGINEER "SSH_CONNECTION"
 *
 * writes only the login file of an engineer's login as pam_tunl's session
 * stage does (the name sshd authenticated: ENGINEER) and prints its login
 * key, for the engineer verbs (mint, token, kill, ...).
 */
#include "config.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tunl.h"

static int
engineer_login(char **argv)
{
	struct group	*kg;
	u_char		 key[LOGIN_KEY_LEN];
	char		 hex[LOGIN_KEY_HEX + 1];
	int		 r;

	if ((kg = getgrnam(argv[1])) == NULL) {
		fprintf(stderr, "authority-handoff: no group %s\n", argv[1]);
		return 1;
	}
	login_key_new(key, hex);
	if ((r = login_file_write_engineer(argv[0], argv[3], key, argv[2],
	    kg->gr_gid)) != 0) {
		fprintf(stderr, "authority-handoff: login file: %s\n",
		    tunl_err(r));
		return 1;
	}
	printf("%s\n", hex);
	return 0;
}

int
main(int argc, char **argv)
{
	struct handoff	 h;
	struct group	*gr, *kg;
	u_char		 key[LOGIN_KEY_LEN], tkey[TOKEN_KEY_LEN];
	u_char		 thash[TOKEN_HASH_LEN];
	char		 hex[LOGIN_KEY_HEX + 1];
	long long	 age = 0;
	int64_t		 now = (int64_t)time(NULL);
	char		 src[HANDOFF_SOURCE_MAX], *sp;
	int		 r;

	if (argc == 6 && strcmp(argv[1], "-e") == 0)
		return engineer_login(argv + 2);
	if (argc != 5 && argc != 6 && argc != 9) {
		fprintf(stderr, "usage: authority-handoff dir group id "
		    "connection [age]\n");
		return 2;
	}
	if (argc >= 6 && tunl_strtonum(argv[5], 0, 1000000, &age) != 0) {
		fprintf(stderr, "authority-handoff: bad age\n");
		return 2;
	}
	if ((gr = getgrnam(argv[2])) == NULL) {
		fprintf(stderr, "authority-handoff: no group %s\n", argv[2]);
		return 1;
	}
	memset(&h, 0, sizeof(h));
	if (tunl_strlcpy(h.session, argv[3], sizeof(h.session)) >=
	    sizeof(h.session) ||
	    tunl_strlcpy(h.connection, argv[4], sizeof(h.connection)) >=
	    sizeof(h.connection)) {
		fprintf(stderr, "authority-handoff: argument too long\n");
		return 2;
	}
	tunl_strlcpy(src, argv[4], sizeof(src));
	if ((sp = strchr(src, ' ')) != NULL)
		*sp = '\0';
	tunl_strlcpy(h.rhost, src, sizeof(h.rhost));
	tunl_strlcpy(h.method, "token", sizeof(h.method));
	h.time = now - age;
	if ((r = handoff_write(argv[1], &h, gr->gr_gid, now, 3600)) != 0) {
		fprintf(stderr, "authority-handoff: %s\n", tunl_err(r));
		return 1;
	}
	if (argc != 9)
		return 0;
	if ((kg = getgrnam(argv[6])) == NULL) {
		fprintf(stderr, "authority-handoff: no group %s\n", argv[6]);
		return 1;
	}
	if (strcmp(argv[8], "-") != 0 &&
	    ((r = token_key_load(argv[7], 0, tkey)) != 0 ||
	    (r = token_hash(tkey, argv[8], thash)) != 0)) {
		fprintf(stderr, "authority-handoff: token: %s\n", tunl_err(r));
		return 1;
	}
	login_key_new(key, hex);
	if ((r = login_file_write(argv[1], h.connection, key,
	    strcmp(argv[8], "-") != 0 ? thash : NULL, kg->gr_gid, now,
	    3600)) != 0) {
		fprintf(stderr, "authority-handoff: login file: %s\n",
		    tunl_err(r));
		return 1;
	}
	printf("%s\n", hex);
	return 0;
}
