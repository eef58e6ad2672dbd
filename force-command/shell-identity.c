/*
 * shell-identity.c: which engineer is logged in to the engineer account.
 * Two ways, both decided by the relay operator:
 *  - a user certificate (signed by a CA in TrustedUserCAKeys, principal
 *    the engineer account's name): its key id is the engineer's name;
 *  - a plain key: the line of the engineer account's authorized_keys that
 *    holds this same key carries environment="TUNL_ENGINEER=<name>".
 * The name must match [a-z_][a-z0-9_.-]{0,31}. sshd has already accepted
 * the key; this only reads the name the operator gave it. (The option is
 * read from the file by lib/engineer-keys.c.) The broker takes the name
 * only from tunl-authority admit, which reads the one pam_tunl recorded
 * for this login; this copy names the engineer in tunl-shell's own logs
 * and verbs.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"
#include "shell.h"

/* Decide sh->who, or refuse. */
int
shell_identity_engineer(struct shell *sh)
{
	struct sshauth_key	*key = NULL;
	struct sshcert		 cert;
	char			 fp[SSHKEY_FP_LEN];
	u_int			 i;
	int			 r;

	for (i = 0; i < sh->auth.nkeys; i++)
		key = &sh->auth.keys[i];	/* the last key sshd accepted */
	if (key == NULL || sh->auth.nkeys != 1)
		shell_refuse(SHELL_EXIT_REFUSED, "engineers log in with one "
		    "public key; ask the relay operator");
	if (key->cert) {
		if ((r = sshcert_parse(key->blob, key->len, &cert)) != 0 ||
		    cert.type != SSHCERT_TYPE_USER ||
		    !shell_args_engineer_ok(cert.key_id)) {
			info("engineer certificate: key id not a name");
			goto noname;
		}
		tunl_strlcpy(sh->who, cert.key_id, sizeof(sh->who));
		info("engineer %s: certificate serial %llu key %s ca %s",
		    sh->who, (unsigned long long)cert.serial, cert.key_fp,
		    cert.ca_fp);
		return 0;
	}
	if ((r = sshkey_fingerprint(key->blob, key->len, fp,
	    sizeof(fp))) != 0)
		goto noname;
	if ((r = engineer_keys_name(sh->engineer_keys, key->blob, key->len,
	    sh->who, sizeof(sh->who))) != 0) {
		info("engineer key %s: no name in %s (%s)", fp,
		    sh->engineer_keys, tunl_err(r));
		goto noname;
	}
	info("engineer %s: key %s", sh->who, fp);
	return 0;
 noname:
	sh->who[0] = '\0';
	shell_refuse(SHELL_EXIT_REFUSED, "your key does not name an engineer; "
	    "ask the relay operator");
}
