/*
 * login-key.c: the per-login secret that ties a keyboard-interactive
 * login to what it may do later (docs/auth-design.md, "The login key").
 *
 * pam_tunl draws 32 random bytes when a login succeeds and gives them to
 * the session as TUNL_LOGIN_KEY (hex) through pam_putenv. Beside the
 * hand-off it writes a login file, root:<key group> 0640, that only root
 * and the set-group-ID tunl-authority can read: the key's verifier (a
 * domain-separated BLAKE2b hash, so the file never holds the key itself)
 * and the keyed hash of the token the login used. tunl-authority sign
 * accepts a connection only when the caller proves the key, and then
 * consumes exactly that token, so a forged SSH_CONNECTION, another
 * login's environment or a token superseded by `token <id>` buys nothing.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"

#define LOGIN_DOMAIN	"tunl-login-v1"
#define LOGIN_SUFFIX	".login"
#define LOGIN_FILE_MAX	256

/* Exactly LOGIN_KEY_HEX lowercase hex digits. */
int
login_key_parse(const char *hex, u_char key[LOGIN_KEY_LEN])
{
	size_t	 i, got = 0;

	if (hex == NULL || strnlen(hex, LOGIN_KEY_HEX + 1) != LOGIN_KEY_HEX)
		return TUNL_ERR_INVALID;
	for (i = 0; i < LOGIN_KEY_HEX; i++) {
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return TUNL_ERR_INVALID;
	}
	if (sodium_hex2bin(key, LOGIN_KEY_LEN, hex, LOGIN_KEY_HEX, NULL, &got,
	    NULL) != 0 || got != LOGIN_KEY_LEN) {
		sodium_memzero(key, LOGIN_KEY_LEN);
		return TUNL_ERR_INVALID;
	}
	return 0;
}

/* A new key and its hex form (hex has LOGIN_KEY_HEX + 1 bytes). */
void
login_key_new(u_char key[LOGIN_KEY_LEN], char hex[LOGIN_KEY_HEX + 1])
{
	randombytes_buf(key, LOGIN_KEY_LEN);
	sodium_bin2hex(hex, LOGIN_KEY_HEX + 1, key, LOGIN_KEY_LEN);
}

int
login_key_verifier(const u_char key[LOGIN_KEY_LEN],
    u_char out[LOGIN_KEY_LEN])
{
	crypto_generichash_state	 st;

	if (crypto_generichash_init(&st, NULL, 0, LOGIN_KEY_LEN) != 0 ||
	    crypto_generichash_update(&st, (const u_char *)LOGIN_DOMAIN,
	    sizeof(LOGIN_DOMAIN)) != 0 ||
	    crypto_generichash_update(&st, key, LOGIN_KEY_LEN) != 0 ||
	    crypto_generichash_final(&st, out, LOGIN_KEY_LEN) != 0)
		return TUNL_ERR_CRYPTO;
	return 0;
}

/* dir/<the hand-off's name for connection, with .login>. */
static int
login_file_path(const char *dir, const char *connection, char *out,
    size_t outlen)
{
	char	 hpath[PATH_MAX];
	size_t	 len;
	int	 r;

	if ((r = handoff_path(dir, connection, hpath, sizeof(hpath))) != 0)
		return r;
	len = strlen(hpath);
	if (len < 8 || strcmp(hpath + len - 8, ".handoff") != 0)
		return TUNL_ERR_INTERNAL;
	hpath[len - 8] = '\0';
	if ((size_t)snprintf(out, outlen, "%s" LOGIN_SUFFIX, hpath) >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * Format: "version=1\nlogin=<64 hex>\ntoken=<64 hex or ->\n", and for a
 * login by session certificate (token -) one more line,
 * "cert=<serial> <session id>\n"; for an engineer's login (token -)
 * instead "engineer=<name>\n", the name sshd's authentication gave.
 */
int
login_file_parse(const char *text, size_t len, u_char verifier[LOGIN_KEY_LEN],
    struct login_info *li)
{
	static const char	 v[] = "version=1\nlogin=";
	char			 hex[LOGIN_KEY_HEX + 1], num[24];
	const char		*p, *sp, *nl;
	long long		 serial;
	size_t			 got, n;

	memset(li, 0, sizeof(*li));
	if (len < sizeof(v) - 1 + LOGIN_KEY_HEX + 1 ||
	    memcmp(text, v, sizeof(v) - 1) != 0)
		return TUNL_ERR_INVALID;
	p = text + sizeof(v) - 1;
	memcpy(hex, p, LOGIN_KEY_HEX);
	hex[LOGIN_KEY_HEX] = '\0';
	if (login_key_parse(hex, verifier) != 0 || p[LOGIN_KEY_HEX] != '\n')
		return TUNL_ERR_INVALID;
	p += LOGIN_KEY_HEX + 1;
	len -= (size_t)(p - text);
	if (len >= 8 && memcmp(p, "token=-\n", 8) == 0) {
		p += 8;
		len -= 8;
		if (len == 0)
			return 0;
		if (len > 9 && memcmp(p, "engineer=", 9) == 0) {
			n = len - 9 - 1;
			if (p[len - 1] != '\n' || n == 0 ||
			    n >= sizeof(li->engineer) ||
			    memchr(p + 9, '\n', n) != NULL ||
			    memchr(p + 9, '\0', n) != NULL)
				return TUNL_ERR_INVALID;
			memcpy(li->engineer, p + 9, n);
			li->engineer[n] = '\0';
			if (proto_name_check(li->engineer) != 0)
				return TUNL_ERR_INVALID;
			li->is_engineer = 1;
			return 0;
		}
		/* cert=<serial> <id>\n */
		if (len < 6 || memcmp(p, "cert=", 5) != 0 ||
		    p[len - 1] != '\n')
			return TUNL_ERR_INVALID;
		p += 5;
		len -= 5;
		if ((sp = memchr(p, ' ', len)) == NULL ||
		    (n = (size_t)(sp - p)) == 0 || n >= sizeof(num))
			return TUNL_ERR_INVALID;
		memcpy(num, p, n);
		num[n] = '\0';
		if (tunl_strtonum(num, 0, INT64_MAX, &serial) != 0)
			return TUNL_ERR_INVALID;
		li->serial = (int64_t)serial;
		nl = p + len - 1;
		n = (size_t)(nl - sp - 1);
		if (n == 0 || n >= sizeof(li->session) ||
		    memchr(sp + 1, '\n', n) != NULL)
			return TUNL_ERR_INVALID;
		memcpy(li->session, sp + 1, n);
		li->session[n] = '\0';
		if (id_check(li->session) != 0)
			return TUNL_ERR_INVALID;
		li->is_cert = 1;
		return 0;
	}
	if (len != 6 + TOKEN_HASH_LEN * 2 + 1 || memcmp(p, "token=", 6) != 0 ||
	    p[len - 1] != '\n')
		return TUNL_ERR_INVALID;
	if (sodium_hex2bin(li->token, TOKEN_HASH_LEN, p + 6,
	    TOKEN_HASH_LEN * 2, NULL, &got, NULL) != 0 ||
	    got != TOKEN_HASH_LEN)
		return TUNL_ERR_INVALID;
	li->has_token = 1;
	return 0;
}

/*
 * Write the login file for connection (root only): the key's verifier and
 * the hash of the token the login used (NULL: none). Mode 0640, group gid
 * (the key group). Called right after the hand-off of the same name was
 * created exclusively; any older login file of that name is replaced.
 */
static int
login_file_store(const char *dir, const char *connection,
    const u_char key[LOGIN_KEY_LEN], const u_char *token_hash,
    const char *cert_sid, int64_t cert_serial, const char *engineer,
    gid_t gid)
{
	char		 path[PATH_MAX], text[LOGIN_FILE_MAX];
	char		 vhex[LOGIN_KEY_HEX + 1], thex[TOKEN_HASH_LEN * 2 + 1];
	u_char		 verifier[LOGIN_KEY_LEN];
	struct stat	 st;
	int		 r, len;

	if ((r = login_file_path(dir, connection, path, sizeof(path))) != 0)
		return r;
	if ((r = login_key_verifier(key, verifier)) != 0)
		return r;
	sodium_bin2hex(vhex, sizeof(vhex), verifier, sizeof(verifier));
	if (token_hash != NULL)
		sodium_bin2hex(thex, sizeof(thex), token_hash, TOKEN_HASH_LEN);
	else
		tunl_strlcpy(thex, "-", sizeof(thex));
	if (engineer != NULL)
		len = snprintf(text, sizeof(text), "version=1\nlogin=%s\n"
		    "token=-\nengineer=%s\n", vhex, engineer);
	else if (cert_sid != NULL)
		len = snprintf(text, sizeof(text), "version=1\nlogin=%s\n"
		    "token=-\ncert=%lld %s\n", vhex, (long long)cert_serial,
		    cert_sid);
	else
		len = snprintf(text, sizeof(text), "version=1\nlogin=%s\n"
		    "token=%s\n", vhex, thex);
	if (len < 0 || (size_t)len >= sizeof(text)) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	/*
	 * The caller has just created this connection's hand-off with
	 * O_EXCL, so a login file of that name is a leftover (a crash, or a
	 * stale hand-off replaced): it goes.
	 */
	if (lstat(path, &st) == 0) {
		if (unlink(path) == -1 && errno != ENOENT) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
	} else if (errno != ENOENT) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	r = tunl_private_file_create(path, gid, text, (size_t)len);
 out:
	sodium_memzero(verifier, sizeof(verifier));
	sodium_memzero(text, sizeof(text));
	return r;
}

int
login_file_write(const char *dir, const char *connection,
    const u_char key[LOGIN_KEY_LEN], const u_char *token_hash, gid_t gid,
    int64_t now, int64_t ttl)
{
	(void)now;
	(void)ttl;
	return login_file_store(dir, connection, key, token_hash, NULL, 0,
	    NULL, gid);
}

/*
 * The login file of a login by session certificate (pam_tunl's session
 * stage): no token, but the certificate's session and serial, which
 * tunl-authority admit checks against the session's newest token.
 */
int
login_file_write_cert(const char *dir, const char *connection,
    const u_char key[LOGIN_KEY_LEN], const char *sid, int64_t serial,
    gid_t gid)
{
	if (sid == NULL || id_check(sid) != 0 || serial < 0)
		return TUNL_ERR_INVALID;
	return login_file_store(dir, connection, key, NULL, sid, serial, NULL,
	    gid);
}

/*
 * The login file of an engineer's login (pam_tunl's session stage): the
 * name sshd's authentication gave (a certificate's key id, or the keys
 * file's line for the key). tunl-authority admit joins under this name
 * and no other.
 */
int
login_file_write_engineer(const char *dir, const char *connection,
    const u_char key[LOGIN_KEY_LEN], const char *name, gid_t gid)
{
	if (name == NULL || proto_name_check(name) != 0)
		return TUNL_ERR_INVALID;
	return login_file_store(dir, connection, key, NULL, NULL, 0, name,
	    gid);
}

/*
 * The caller of connection proves the login key keyhex: the login file
 * for connection must be a regular file, root-owned, group gid, mode
 * exactly 0640, and hold the verifier of that key (compared in constant
 * time). On success li says what the login used: a token (its hash), no
 * token, or a session certificate (its session and serial).
 * TUNL_ERR_DENIED when the key is missing, malformed or wrong.
 */
int
login_file_verify(const char *dir, const char *connection, gid_t gid,
    const char *keyhex, struct login_info *li)
{
	char		 path[PATH_MAX], text[LOGIN_FILE_MAX + 1];
	u_char		 key[LOGIN_KEY_LEN], want[LOGIN_KEY_LEN];
	u_char		 stored[LOGIN_KEY_LEN];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd = -1, r;

	memset(li, 0, sizeof(*li));
	memset(key, 0, sizeof(key));
	memset(want, 0, sizeof(want));
	memset(stored, 0, sizeof(stored));
	if (login_key_parse(keyhex, key) != 0)
		return TUNL_ERR_DENIED;
	if ((r = login_file_path(dir, connection, path, sizeof(path))) != 0)
		goto out;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		r = errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_gid != gid ||
	    (st.st_mode & 07777) != 0640 || st.st_size > LOGIN_FILE_MAX) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	while (len < sizeof(text)) {
		n = read(fd, text + len, sizeof(text) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > LOGIN_FILE_MAX ||
	    login_file_parse(text, len, stored, li) != 0) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if ((r = login_key_verifier(key, want)) != 0)
		goto out;
	r = sodium_memcmp(want, stored, sizeof(want)) == 0 ? 0 :
	    TUNL_ERR_DENIED;
 out:
	if (r != 0)
		sodium_memzero(li, sizeof(*li));
	if (fd != -1)
		close(fd);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(want, sizeof(want));
	sodium_memzero(stored, sizeof(stored));
	sodium_memzero(text, sizeof(text));
	return r;
}

/*
 * login_file_verify for tunl-authority sign: only a keyboard-interactive
 * login's file counts (a certificate login cannot sign).
 */
int
login_file_check(const char *dir, const char *connection, gid_t gid,
    const char *keyhex, u_char token[TOKEN_HASH_LEN], int *has_token)
{
	struct login_info	 li;
	int			 r;

	*has_token = 0;
	if ((r = login_file_verify(dir, connection, gid, keyhex, &li)) != 0)
		return r;
	if (li.is_cert || li.is_engineer)
		r = TUNL_ERR_DENIED;
	else if (li.has_token) {
		memcpy(token, li.token, TOKEN_HASH_LEN);
		*has_token = 1;
	}
	sodium_memzero(&li, sizeof(li));
	return r;
}

int
login_file_remove(const char *dir, const char *connection)
{
	char	 path[PATH_MAX];
	int	 r;

	if ((r = login_file_path(dir, connection, path, sizeof(path))) != 0)
		return r;
	if (unlink(path) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	return 0;
}
