/*
 * token.c: one-time tokens, their keyed hashes and the key they are hashed
 * with.
 *
 * A token is a short string of random decimal digits that the engineer
 * gives the customer; it is the secret that proves the customer was meant
 * to join a session (the session id is not secret: it is read aloud). The
 * relay keeps only token_hash() of a token: keyed BLAKE2b under a key that
 * lives in its own file, so a copy of the database alone does not allow
 * the few million possible tokens to be tried offline. Hashes are compared
 * in constant time. Nothing here logs a token or a key.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"

/*
 * Prepended to every token before hashing (with its NUL), so that the key
 * and the hashes serve this purpose only and a change of scheme can change
 * the label.
 */
static const char token_domain[] = "tunl token hash v1";

/*
 * Write digits random decimal digits and a NUL to out. Each digit is drawn
 * uniformly (randombytes_uniform avoids modulo bias), so every one of the
 * 10^digits tokens is equally likely, leading zeros included.
 */
int
token_generate(u_int digits, char *out, size_t outlen)
{
	u_int	 i;

	if (digits < TOKEN_DIGITS_MIN || digits > TOKEN_DIGITS_MAX)
		return TUNL_ERR_RANGE;
	if (out == NULL || outlen < (size_t)digits + 1)
		return TUNL_ERR_LENGTH;
	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	for (i = 0; i < digits; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[digits] = '\0';
	return 0;
}

/*
 * Check that s is exactly digits ASCII digits and nothing else. The length
 * is bounded before the characters are looked at. Returns 0 or
 * TUNL_ERR_INVALID.
 */
int
token_check(const char *s, u_int digits)
{
	u_int	 i;

	if (s == NULL || digits < TOKEN_DIGITS_MIN ||
	    digits > TOKEN_DIGITS_MAX)
		return TUNL_ERR_INVALID;
	if (strnlen(s, (size_t)digits + 1) != digits)
		return TUNL_ERR_INVALID;
	for (i = 0; i < digits; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TUNL_ERR_INVALID;
	}
	return 0;
}

/*
 * Hash a token under the relay's key into out (TOKEN_HASH_LEN bytes):
 * BLAKE2b-256 keyed with key, over token_domain, its NUL, then the token's
 * digits. The token must be TOKEN_DIGITS_MIN to TOKEN_DIGITS_MAX digits.
 */
int
token_hash(const u_char *key, const char *token, u_char *out)
{
	crypto_generichash_state	 st;
	size_t				 len;
	int				 r = TUNL_ERR_CRYPTO;

	if (key == NULL || token == NULL || out == NULL)
		return TUNL_ERR_INVALID;
	len = strnlen(token, TOKEN_LEN_MAX);
	if (len >= TOKEN_LEN_MAX || token_check(token, (u_int)len) != 0)
		return TUNL_ERR_INVALID;
	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	if (crypto_generichash_init(&st, key, TOKEN_KEY_LEN,
	    TOKEN_HASH_LEN) != 0 ||
	    crypto_generichash_update(&st, (const u_char *)token_domain,
	    sizeof(token_domain)) != 0 ||
	    crypto_generichash_update(&st, (const u_char *)token, len) != 0 ||
	    crypto_generichash_final(&st, out, TOKEN_HASH_LEN) != 0)
		goto out;
	r = 0;
 out:
	sodium_memzero(&st, sizeof(st));
	return r;
}

/* 1 when two token hashes are equal, in time that does not depend on them. */
int
token_equal(const u_char *a, const u_char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return sodium_memcmp(a, b, TOKEN_HASH_LEN) == 0;
}

/* Map the errno of a failed open to our codes. */
static int
token_open_error(int r)
{
	if (r != TUNL_ERR_SYSTEM)
		return r;
	switch (errno) {
	case ENOENT:
		return TUNL_ERR_NOT_FOUND;
	case EEXIST:
		return TUNL_ERR_EXISTS;
	case ELOOP:	/* O_NOFOLLOW met a symbolic link */
	case EMLINK:
		return TUNL_ERR_UNSAFE;
	default:
		return TUNL_ERR_SYSTEM;
	}
}

/*
 * Create a new key file at path holding TOKEN_KEY_LEN random bytes, with
 * exactly the given mode (umask notwithstanding) and, when running as
 * root, owned by uid and gid. An existing file, or any link, at path is
 * left alone and TUNL_ERR_EXISTS returned. A mode that lets others read,
 * or anyone but the owner write, is refused. On failure nothing is left
 * behind.
 */
int
token_key_create(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	u_char	 key[TOKEN_KEY_LEN];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd = -1, created = 0, r = TUNL_ERR_SYSTEM, saved_errno;

	if (path == NULL || *path == '\0')
		return TUNL_ERR_INVALID;
	if ((mode & ~(mode_t)0777) != 0 || (mode & (S_IWGRP | S_IRWXO)) != 0)
		return TUNL_ERR_UNSAFE;
	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, mode);
	if (fd == -1) {
		r = token_open_error(TUNL_ERR_SYSTEM);
		goto out;
	}
	created = 1;
	if (fchmod(fd, mode) == -1)
		goto out;
	if (geteuid() == 0 && fchown(fd, uid, gid) == -1)
		goto out;
	randombytes_buf(key, sizeof(key));
	while (off < sizeof(key)) {
		n = write(fd, key + off, sizeof(key) - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	r = close(fd) == -1 ? TUNL_ERR_SYSTEM : 0;
	fd = -1;
 out:
	saved_errno = errno;
	sodium_memzero(key, sizeof(key));
	if (fd != -1)
		close(fd);
	if (r != 0 && created)
		(void)unlink(path);
	errno = saved_errno;
	return r;
}

/*
 * Load the key from path into key (TOKEN_KEY_LEN bytes). The file must be
 * a regular file reached without following a link, owned by owner_uid,
 * writable by nobody but its owner (tunl_open_safely), not readable by
 * others, and exactly TOKEN_KEY_LEN bytes long. On failure key is wiped.
 */
int
token_key_load(const char *path, uid_t owner_uid, u_char *key)
{
	struct stat	 st;
	u_char		 tmp[TOKEN_KEY_LEN + 1];
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd = -1, r, saved_errno;

	if (path == NULL || key == NULL)
		return TUNL_ERR_INVALID;
	if ((r = tunl_open_safely(path, O_RDONLY, 0, owner_uid, &fd)) != 0) {
		r = token_open_error(r);
		goto out;
	}
	r = TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1)
		goto out;
	if ((st.st_mode & S_IRWXO) != 0) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (st.st_size != TOKEN_KEY_LEN) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	/* Read one byte more than a key, in case the file grew since. */
	while (off < sizeof(tmp)) {
		n = read(fd, tmp + off, sizeof(tmp) - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off != TOKEN_KEY_LEN) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	memcpy(key, tmp, TOKEN_KEY_LEN);
	r = 0;
 out:
	saved_errno = errno;
	sodium_memzero(tmp, sizeof(tmp));
	if (r != 0)
		sodium_memzero(key, TOKEN_KEY_LEN);
	if (fd != -1)
		close(fd);
	errno = saved_errno;
	return r;
}
