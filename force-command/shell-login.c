/*
 * shell-login.c: take the login key pam_tunl gave this login out of the
 * environment (docs/auth-design.md, "The login key").
 *
 * The key proves to tunl-authority that this process belongs to the login
 * sshd authenticated. Other processes of the same account could read it
 * from /proc/<pid>/environ while tunl-shell runs, so tunl-shell first
 * makes itself non-dumpable (the kernel then refuses that file, and
 * ptrace, to anyone but root), then copies the key, wipes it where the
 * kernel shows the environment, and drops the variable. Only the
 * authority's own environment gets it back.
 */
#include "config.h"

#include <sys/prctl.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunl.h"
#include "shell.h"

void
shell_login_take(struct shell *sh)
{
	extern char	**environ;
	u_char		  key[LOGIN_KEY_LEN];
	const size_t	  nlen = sizeof(LOGIN_KEY_ENV) - 1;
	char		**e;

	sh->login_key[0] = '\0';
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, LOGIN_KEY_ENV, nlen) != 0 || (*e)[nlen] != '=')
			continue;
		if (sh->login_key[0] == '\0' &&
		    login_key_parse(*e + nlen + 1, key) == 0)
			tunl_strlcpy(sh->login_key, *e + nlen + 1,
			    sizeof(sh->login_key));
		sodium_memzero(*e + nlen + 1, strlen(*e + nlen + 1));
	}
	sodium_memzero(key, sizeof(key));
	(void)unsetenv(LOGIN_KEY_ENV);
}
