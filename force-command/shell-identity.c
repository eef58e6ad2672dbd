/*
 * shell-identity.c: which engineer is logged in to the engineer account.
 * Two ways, both decided by the relay operator:
 *  - a user certificate (signed by a CA in TrustedUserCAKeys, principal
 *    the engineer account's name): its key id is the engineer's name;
 *  - a plain key: the line of the engineer account's authorized_keys that
 *    holds this same key carries environment="TUNL_ENGINEER=<name>".
 * The name must match [a-z_][a-z0-9_.-]{0,31}. sshd has already accepted
 * the key; this only reads the name the operator gave it. (The option is
 * read from the file, never from the environment: sshd sets it only with
 * PermitUserEnvironment, which the relay does not need.)
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"

#define KEYS_FILE_MAX	(1024 * 1024)	/* bytes in authorized_keys */
#define KEYS_LINE_MAX	16384		/* bytes in one of its lines */
#define ENGINEER_VAR	"TUNL_ENGINEER="

/*
 * One option of an authorized_keys line, at *pp: a name, then optionally
 * ="value" with \" for a quote inside. Copies the value (unescaped) when
 * the option is environment=; advances *pp past the option.
 */
static int
keyline_option(const char **pp, const char *end, char *env, size_t envlen,
    int *is_env, int *is_ca)
{
	const char	*p = *pp, *name = p;
	size_t		 nlen, o = 0;

	*is_env = *is_ca = 0;
	while (p < end && *p != '=' && *p != ',' && *p != ' ' && *p != '\t')
		p++;
	nlen = (size_t)(p - name);
	if (nlen == 0)
		return TUNL_ERR_INVALID;
	*is_ca = nlen == 14 && strncasecmp(name, "cert-authority", 14) == 0;
	if (p < end && *p == '=') {
		p++;
		if (p >= end || *p != '"')
			return TUNL_ERR_INVALID;
		p++;
		*is_env = nlen == 11 && strncasecmp(name, "environment",
		    11) == 0;
		for (;;) {
			if (p >= end)
				return TUNL_ERR_INVALID;	/* unterminated */
			if (*p == '"')
				break;
			if (*p == '\\' && p + 1 < end && p[1] == '"')
				p++;
			if (*is_env) {
				if (o + 1 >= envlen)
					return TUNL_ERR_LENGTH;
				env[o++] = *p;
			}
			p++;
		}
		p++;
	}
	if (*is_env)
		env[o] = '\0';
	*pp = p;
	return 0;
}

/*
 * Look at one authorized_keys line (len bytes, no newline). If it is a
 * plain key line for the key blob, copy the engineer name from its
 * environment="TUNL_ENGINEER=..." option into name: 0. A line for this
 * key without a valid name: TUNL_ERR_DENIED. Another key, a comment, a
 * blank or a cert-authority line: TUNL_ERR_NOT_FOUND. A malformed line:
 * TUNL_ERR_INVALID.
 */
int
shell_identity_keyline(const char *line, size_t len, const u_char *blob,
    size_t bloblen, char *name, size_t namelen)
{
	char		 env[KEYS_LINE_MAX], found[SHELL_ENGINEER_MAX] = "";
	u_char		*keyblob = NULL;
	const char	*p = line, *end = line + len, *t, *b64;
	size_t		 tlen, b64len, klen, i;
	int		 is_env, is_ca, has_name = 0, ca = 0, r;

	if (namelen > 0)
		name[0] = '\0';
	if (len > KEYS_LINE_MAX)
		return TUNL_ERR_LENGTH;
	for (i = 0; i < len; i++) {
		if (line[i] == '\0' || line[i] == '\n')
			return TUNL_ERR_INVALID;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return TUNL_ERR_NOT_FOUND;

	/* Options come first unless the line starts with a key type. */
	t = p;
	while (t < end && *t != ' ' && *t != '\t')
		t++;
	if (sshkey_check_type_name(p, (size_t)(t - p)) != 0) {
		for (;;) {
			if ((r = keyline_option(&p, end, env, sizeof(env),
			    &is_env, &is_ca)) != 0)
				return r;
			ca |= is_ca;
			if (is_env && strncmp(env, ENGINEER_VAR,
			    sizeof(ENGINEER_VAR) - 1) == 0) {
				if (has_name)
					return TUNL_ERR_INVALID; /* twice */
				has_name = 1;
				if (shell_args_engineer_ok(env +
				    sizeof(ENGINEER_VAR) - 1))
					tunl_strlcpy(found, env +
					    sizeof(ENGINEER_VAR) - 1,
					    sizeof(found));
			}
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			break;
		}
		if (p >= end || (*p != ' ' && *p != '\t'))
			return TUNL_ERR_INVALID;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	/* Key type, base64, then an optional comment. */
	t = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	tlen = (size_t)(p - t);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	b64 = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	b64len = (size_t)(p - b64);
	if (tlen == 0 || b64len == 0 || sshkey_check_type_name(t, tlen) != 0)
		return TUNL_ERR_INVALID;
	if (ca)
		return TUNL_ERR_NOT_FOUND;
	if ((keyblob = malloc(SSHKEY_BLOB_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	r = sshkey_from_base64(b64, b64len, keyblob, SSHKEY_BLOB_MAX, &klen);
	if (r != 0)
		goto out;
	if (klen != bloblen || memcmp(keyblob, blob, klen) != 0) {
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if (found[0] == '\0') {
		r = TUNL_ERR_DENIED;
		goto out;
	}
	tunl_strlcpy(name, found, namelen);
	r = 0;
 out:
	free(keyblob);
	return r;
}

/* Find the key in the authorized_keys file and take its engineer name. */
static int
shell_identity_keys(struct shell *sh, const struct sshauth_key *key)
{
	char		*text = NULL;
	const char	*p, *end, *nl;
	struct stat	 st;
	size_t		 len = 0, n;
	ssize_t		 got;
	int		 fd = -1, r = TUNL_ERR_NOT_FOUND, lr;

	if ((fd = open(sh->engineer_keys, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1) {
		error("%s: %s", sh->engineer_keys, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYS_FILE_MAX) {
		error("%s: not a regular file of at most %d bytes",
		    sh->engineer_keys, KEYS_FILE_MAX);
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if ((text = malloc(KEYS_FILE_MAX + 1)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	while (len <= KEYS_FILE_MAX) {
		got = read(fd, text + len, KEYS_FILE_MAX + 1 - len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (len > KEYS_FILE_MAX) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	for (p = text, end = text + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		lr = shell_identity_keyline(p, n, key->blob, key->len, sh->who,
		    sizeof(sh->who));
		if (lr == 0 || lr == TUNL_ERR_DENIED) {
			r = lr;
			break;
		}
		/* A line we cannot read is skipped, as sshd skips it. */
	}
 out:
	free(text);
	if (fd != -1)
		close(fd);
	return r;
}

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
	if ((r = shell_identity_keys(sh, key)) != 0) {
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
