/*
 * authority-engineer.c: whose name an engineer verb records (mint, token,
 * and the registry verbs: list, show, kill, unlock, session, ended, reap).
 *
 * The name is the one pam_tunl's session stage wrote into this login's
 * login file (root:<key group> 0640) from what sshd authenticated: a user
 * certificate's key id, or the engineer_keys line of the key. The caller
 * proves that login with its login key, as for admit; whatever name the
 * engineer account itself sends (tunl-shell's "engineer=" on stdin) is
 * only compared, and a different one is refused: it means a bug or a
 * forgery, and either way nothing is recorded under it.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

/*
 * The name of the engineer whose login runs verb, into who; given (may
 * be who itself, NULL or "" for none) is the name the request carried.
 * 0, or -1 after telling the caller why.
 */
int
authority_engineer(struct authority *a, const char *verb, const char *given,
    char *who, size_t wholen)
{
	struct login_info	 li;
	int			 r, status = -1;

	memset(&li, 0, sizeof(li));
	if (a->role != AUTH_ROLE_ENGINEER)
		goto out;
	if (a->login_key[0] == '\0') {
		error("%s refused: the engineer login has no %s", verb,
		    LOGIN_KEY_ENV);
		authority_fail("%s: this login has no login key from "
		    "pam_tunl; the relay's PAM session stage must run "
		    "pam_tunl for the engineer account (pam.d/tunl, "
		    "tunl-admin doctor)", verb);
		goto out;
	}
	r = authority_binding(a, NULL, &li);
	sodium_memzero(a->login_key, sizeof(a->login_key));
	if (r != 0 || !li.is_engineer || li.engineer[0] == '\0') {
		error_r(r != 0 ? r : TUNL_ERR_DENIED, "%s refused: no engineer "
		    "login file for this connection", verb);
		authority_fail("%s: this connection has no engineer login "
		    "recorded by pam_tunl; the relay's PAM session stage must "
		    "run pam_tunl for the engineer account (pam.d/tunl, "
		    "tunl-admin doctor)", verb);
		goto out;
	}
	if (given != NULL && given[0] != '\0' &&
	    strcmp(given, li.engineer) != 0) {
		error("%s refused: engineer %s logged in but the request names "
		    "%s", verb, li.engineer, given);
		authority_fail("%s: the request names another engineer than "
		    "this login's", verb);
		goto out;
	}
	if (tunl_strlcpy(who, li.engineer, wholen) >= wholen) {
		authority_fail("%s: the engineer's name is too long", verb);
		goto out;
	}
	status = 0;
 out:
	sodium_memzero(&li, sizeof(li));
	return status;
}
