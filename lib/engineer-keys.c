/*
 * engineer-keys.c: which engineer a plain public key belongs to. The
 * engineers' keys file (tunl.conf engineer_keys, root-owned, written by
 * `tunl-admin engineer add`, sshd's AuthorizedKeysFile for the engineer
 * account) gives each key's line the option
 * environment="TUNL_ENGINEER=<name>", the name matching
 * [a-z_][a-z0-9_.-]{0,31}. The option is read from the file, never from
 * the environment: sshd sets it only with PermitUserEnvironment, which
 * the relay does not need. pam_tunl's session stage (as root, from what
 * sshd authenticated) and tunl-shell both read it here.
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
engineer_keyline(const char *line, size_t len, const u_char *blob,
    size_t bloblen, char *name, size_t namelen)
{
	char		 env[KEYS_LINE_MAX], found[PROTO_NAME_LEN] = "";
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
				if (proto_name_check(env +
				    sizeof(ENGINEER_VAR) - 1) == 0)
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

/*
 * Find key (a plain public key blob) in the engineers' keys file at path
 * and copy the name its line gives into name: 0. TUNL_ERR_DENIED: the
 * key's line names no engineer; TUNL_ERR_NOT_FOUND: no line has the key.
 */
int
engineer_keys_name(const char *path, const u_char *blob, size_t bloblen,
    char *name, size_t namelen)
{
	char		*text = NULL;
	const char	*p, *end, *nl;
	struct stat	 st;
	size_t		 len = 0, n;
	ssize_t		 got;
	int		 fd = -1, r = TUNL_ERR_NOT_FOUND, lr;

	if (namelen > 0)
		name[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYS_FILE_MAX) {
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
		lr = engineer_keyline(p, n, blob, bloblen, name, namelen);
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
