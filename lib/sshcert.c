/*
 * sshcert.c: what sshd tells a ForceCommand about how the user
 * authenticated (ExposeAuthInfo: the file named by $SSH_USER_AUTH), the
 * OpenSSH certificates found there, and key fingerprints as ssh-keygen
 * prints them.
 *
 * The file and everything in it are bounded: its size, each line, each
 * base64 text, each decoded blob, each string inside a certificate and
 * the number of principals. Certificates are parsed with the bounded
 * buffer API (buf.c), so a length that points past the end is refused
 * before anything is read. The signature is not checked here: sshd has
 * checked it (against TrustedUserCAKeys) before it wrote the file; the
 * caller learns the signing key's fingerprint and may compare it.
 *
 * Certificate layout (OpenSSH PROTOCOL.certkeys):
 *	string	cert type ("ssh-ed25519-cert-v01@openssh.com", ...)
 *	string	nonce
 *	...	the public key fields of the plain key type
 *	uint64	serial
 *	uint32	type (1 user, 2 host)
 *	string	key id
 *	string	valid principals (a list of strings)
 *	uint64	valid after
 *	uint64	valid before
 *	string	critical options (name/data pairs)
 *	string	extensions (name/data pairs)
 *	string	reserved
 *	string	signature key (a public key blob)
 *	string	signature
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "tunl.h"

#define SSHCERT_SUFFIX		"-cert-v01@openssh.com"
#define SSHCERT_NONCE_MAX	64

/*
 * The key types we know, with how many strings (or mpints, which have
 * the same framing) make up the public key in a plain key blob and in a
 * certificate.
 */
struct sshkey_kind {
	const char	*name;		/* plain type */
	u_int		 nfields;
	size_t		 fixed_len;	/* length of the first field, or 0 */
	const char	*curve;		/* ecdsa: the first field's value */
};

static const struct sshkey_kind sshkey_kinds[] = {
	{ "ssh-ed25519", 1, 32, NULL },
	{ "ssh-rsa", 2, 0, NULL },
	{ "ecdsa-sha2-nistp256", 2, 0, "nistp256" },
	{ "ecdsa-sha2-nistp384", 2, 0, "nistp384" },
	{ "ecdsa-sha2-nistp521", 2, 0, "nistp521" },
	{ "sk-ssh-ed25519@openssh.com", 2, 32, NULL },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", 3, 0, "nistp256" },
};

/* A key type name: printable ASCII, no spaces, bounded. */
static int
sshkey_type_ok(const u_char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= SSHKEY_TYPE_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Find a key type by name. With cert set, name must be a certificate
 * type and the plain type is matched.
 */
static const struct sshkey_kind *
sshkey_kind_find(const u_char *name, size_t len, int cert)
{
	size_t	 slen = sizeof(SSHCERT_SUFFIX) - 1, i, n;

	if (cert) {
		if (len <= slen || memcmp(name + len - slen, SSHCERT_SUFFIX,
		    slen) != 0)
			return NULL;
		len -= slen;
	}
	for (i = 0; i < TUNL_NITEMS(sshkey_kinds); i++) {
		n = strlen(sshkey_kinds[i].name);
		/* sk- types carry "@openssh.com" before the cert suffix. */
		if (cert && strchr(sshkey_kinds[i].name, '@') != NULL) {
			if (n - (sizeof("@openssh.com") - 1) == len &&
			    memcmp(name, sshkey_kinds[i].name, len) == 0)
				return &sshkey_kinds[i];
			continue;
		}
		if (n == len && memcmp(name, sshkey_kinds[i].name, n) == 0)
			return &sshkey_kinds[i];
	}
	return NULL;
}

/* Consume the public key fields of kind from b, checking their form. */
static int
sshkey_skip_fields(struct buf *b, const struct sshkey_kind *k)
{
	const u_char	*p;
	size_t		 len;
	u_int		 i;
	int		 r;

	for (i = 0; i < k->nfields; i++) {
		if ((r = buf_get_string_direct(b, &p, &len)) != 0)
			return r;
		if (i == 0 && k->fixed_len != 0 && len != k->fixed_len)
			return TUNL_ERR_INVALID;
		if (i == 0 && k->curve != NULL && (len != strlen(k->curve) ||
		    memcmp(p, k->curve, len) != 0))
			return TUNL_ERR_INVALID;
		if (len == 0)
			return TUNL_ERR_INVALID;
	}
	return 0;
}

/* 0 if name (len bytes) names a key or certificate type we know. */
int
sshkey_check_type_name(const char *name, size_t len)
{
	const u_char	*p = (const u_char *)name;

	if (!sshkey_type_ok(p, len))
		return TUNL_ERR_INVALID;
	if (sshkey_kind_find(p, len, 0) == NULL &&
	    sshkey_kind_find(p, len, 1) == NULL)
		return TUNL_ERR_INVALID;
	return 0;
}

/* "SHA256:" and the unpadded base64 of the SHA-256 of the blob. */
int
sshkey_fingerprint(const u_char *blob, size_t len, char *out, size_t outlen)
{
	u_char	 h[crypto_hash_sha256_BYTES];
	char	 b64[sodium_base64_ENCODED_LEN(sizeof(h),
		    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

	if (outlen > 0)
		out[0] = '\0';
	if (blob == NULL || len == 0 || len > SSHKEY_BLOB_MAX)
		return TUNL_ERR_INVALID;
	if (outlen < SSHKEY_FP_LEN)
		return TUNL_ERR_LENGTH;
	if (crypto_hash_sha256(h, blob, len) != 0)
		return TUNL_ERR_CRYPTO;
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if ((size_t)snprintf(out, outlen, "SHA256:%s", b64) >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * Check a plain public key blob: a known type and its fields, nothing
 * after them. The type's name is copied to type (SSHKEY_TYPE_MAX).
 */
int
sshkey_check(const u_char *blob, size_t len, char *type, size_t typelen)
{
	const struct sshkey_kind	*k;
	struct buf			*b = NULL;
	const u_char			*p;
	size_t				 n;
	int				 r;

	if (typelen > 0)
		type[0] = '\0';
	if (blob == NULL || len == 0 || len > SSHKEY_BLOB_MAX)
		return TUNL_ERR_LENGTH;
	if ((b = buf_from(blob, len)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = buf_get_string_direct(b, &p, &n)) != 0)
		goto out;
	if (!sshkey_type_ok(p, n) || (k = sshkey_kind_find(p, n, 0)) == NULL) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if ((r = sshkey_skip_fields(b, k)) != 0)
		goto out;
	if (buf_len(b) != 0) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if (n >= typelen) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	memcpy(type, p, n);
	type[n] = '\0';
	r = 0;
 out:
	buf_free(b);
	return r;
}

/* Printable ASCII (spaces allowed), no NUL, fewer than size bytes. */
static int
sshcert_copy_text(const u_char *p, size_t len, char *dst, size_t size)
{
	size_t	 i;

	if (len >= size)
		return TUNL_ERR_LENGTH;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return TUNL_ERR_INVALID;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

/* A well-formed list of (string name, string data) pairs. */
static int
sshcert_check_options(const u_char *p, size_t len)
{
	struct buf	*b;
	const u_char	*name;
	size_t		 nlen;
	int		 r = 0;

	if (len == 0)
		return 0;
	if ((b = buf_from(p, len)) == NULL)
		return TUNL_ERR_ALLOC;
	while (buf_len(b) > 0) {
		if ((r = buf_get_string_direct(b, &name, &nlen)) != 0 ||
		    (r = buf_get_string_direct(b, NULL, NULL)) != 0)
			break;
		if (!sshkey_type_ok(name, nlen)) {
			r = TUNL_ERR_INVALID;
			break;
		}
	}
	buf_free(b);
	return r;
}

static int
sshcert_principals(struct sshcert *c, const u_char *p, size_t len)
{
	struct buf	*b;
	const u_char	*s;
	size_t		 slen;
	int		 r = 0;

	if (len == 0)
		return 0;
	if ((b = buf_from(p, len)) == NULL)
		return TUNL_ERR_ALLOC;
	while (buf_len(b) > 0) {
		if (c->nprincipals >= SSHCERT_PRINCIPALS_MAX) {
			r = TUNL_ERR_LENGTH;
			break;
		}
		if ((r = buf_get_string_direct(b, &s, &slen)) != 0)
			break;
		if (slen == 0) {
			r = TUNL_ERR_INVALID;
			break;
		}
		if ((r = sshcert_copy_text(s, slen,
		    c->principals[c->nprincipals],
		    sizeof(c->principals[0]))) != 0)
			break;
		c->nprincipals++;
	}
	buf_free(b);
	return r;
}

/*
 * Parse an OpenSSH user certificate blob (decoded from base64); a host
 * certificate is refused. Fills c with its type, serial, key id, principals, validity and the fingerprints of
 * the certified key and of the signing CA key.
 */
int
sshcert_parse(const u_char *blob, size_t len, struct sshcert *c)
{
	const struct sshkey_kind	*k;
	struct buf			*b = NULL, *plain = NULL;
	const u_char			*p, *keystart;
	size_t				 n, keylen;
	int				 r;

	memset(c, 0, sizeof(*c));
	if (blob == NULL || len == 0 || len > SSHKEY_BLOB_MAX)
		return TUNL_ERR_LENGTH;
	if ((b = buf_from(blob, len)) == NULL)
		return TUNL_ERR_ALLOC;

	if ((r = buf_get_string_direct(b, &p, &n)) != 0)
		goto out;
	if (!sshkey_type_ok(p, n) || (k = sshkey_kind_find(p, n, 1)) == NULL) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	memcpy(c->key_type, p, n);
	c->key_type[n] = '\0';
	if ((r = buf_get_string_direct(b, &p, &n)) != 0)
		goto out;
	if (n == 0 || n > SSHCERT_NONCE_MAX) {
		r = TUNL_ERR_INVALID;
		goto out;
	}

	/* The plain key: its type's name, then these same fields. */
	keystart = buf_ptr(b);
	keylen = buf_len(b);
	if ((r = sshkey_skip_fields(b, k)) != 0)
		goto out;
	keylen -= buf_len(b);
	if ((plain = buf_new(SSHKEY_BLOB_MAX)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	if ((r = buf_put_cstring(plain, k->name)) != 0 ||
	    (r = buf_put(plain, keystart, keylen)) != 0 ||
	    (r = sshkey_fingerprint(buf_ptr(plain), buf_len(plain),
	    c->key_fp, sizeof(c->key_fp))) != 0)
		goto out;

	if ((r = buf_get_u64(b, &c->serial)) != 0 ||
	    (r = buf_get_u32(b, &c->type)) != 0)
		goto out;
	/* Only user certificates authenticate users. */
	if (c->type != SSHCERT_TYPE_USER) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &p, &n)) != 0 ||
	    (r = sshcert_copy_text(p, n, c->key_id, sizeof(c->key_id))) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &n)) != 0 ||
	    (r = sshcert_principals(c, p, n)) != 0)
		goto out;
	if ((r = buf_get_u64(b, &c->valid_after)) != 0 ||
	    (r = buf_get_u64(b, &c->valid_before)) != 0)
		goto out;
	if (c->valid_after > c->valid_before) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &p, &n)) != 0 ||
	    (r = sshcert_check_options(p, n)) != 0 ||
	    (r = buf_get_string_direct(b, &p, &n)) != 0 ||
	    (r = sshcert_check_options(p, n)) != 0)
		goto out;
	/* Reserved: ignored, as the format says. */
	if ((r = buf_get_string_direct(b, NULL, NULL)) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &n)) != 0)
		goto out;
	if ((r = sshkey_check(p, n, c->ca_type, sizeof(c->ca_type))) != 0 ||
	    (r = sshkey_fingerprint(p, n, c->ca_fp, sizeof(c->ca_fp))) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &n)) != 0)
		goto out;
	if (n == 0 || buf_len(b) != 0) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		memset(c, 0, sizeof(*c));
	buf_free(plain);
	buf_free(b);
	return r;
}

/* 1 if the certificate lists this principal. */
int
sshcert_has_principal(const struct sshcert *c, const char *principal)
{
	u_int	 i;

	for (i = 0; i < c->nprincipals && i < SSHCERT_PRINCIPALS_MAX; i++) {
		if (strcmp(c->principals[i], principal) == 0)
			return 1;
	}
	return 0;
}

/*
 * Decode standard padded base64 (as OpenSSH writes keys) of at most
 * SSHKEY_B64_MAX bytes into out (outlen bytes).
 */
int
sshkey_from_base64(const char *b64, size_t b64len, u_char *out,
    size_t outlen, size_t *lenp)
{
	size_t	 n = 0;

	*lenp = 0;
	if (b64len == 0 || b64len > SSHKEY_B64_MAX)
		return TUNL_ERR_LENGTH;
	if (sodium_base642bin(out, outlen, b64, b64len, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0)
		return TUNL_ERR_INVALID;
	*lenp = n;
	return 0;
}

/* One "method[ keytype base64]" line, without its newline. */
static int
sshauth_line(struct sshauth *a, const char *line, size_t len)
{
	struct sshauth_key	*key;
	const char		*sp, *sp2, *method;
	u_char			 inner[SSHKEY_TYPE_MAX];
	size_t			 mlen, tlen, n, i;
	struct buf		*b = NULL;
	const u_char		*p;
	int			 r;

	for (i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] >= 0x7f)
			return TUNL_ERR_INVALID;
	}
	method = line;
	sp = memchr(line, ' ', len);
	mlen = sp == NULL ? len : (size_t)(sp - line);
	if (mlen == 0 || mlen >= SSHAUTH_METHOD_MAX)
		return TUNL_ERR_INVALID;

	if (mlen == 9 && memcmp(method, "publickey", 9) == 0) {
		if (sp == NULL)
			return TUNL_ERR_INVALID;
		if (a->nkeys >= SSHAUTH_KEYS_MAX)
			return TUNL_ERR_LENGTH;
		sp++;
		if ((sp2 = memchr(sp, ' ', len - (size_t)(sp - line))) == NULL)
			return TUNL_ERR_INVALID;
		tlen = (size_t)(sp2 - sp);
		sp2++;
		n = len - (size_t)(sp2 - line);
		/* Nothing after the base64 (sshd writes no comment). */
		if (memchr(sp2, ' ', n) != NULL ||
		    !sshkey_type_ok((const u_char *)sp, tlen))
			return TUNL_ERR_INVALID;
		key = &a->keys[a->nkeys];
		memset(key, 0, sizeof(*key));
		memcpy(key->type, sp, tlen);
		key->type[tlen] = '\0';
		if ((r = sshkey_from_base64(sp2, n, key->blob,
		    sizeof(key->blob), &key->len)) != 0)
			goto fail;
		/* The type inside the blob must be the one named. */
		if ((b = buf_from(key->blob, key->len)) == NULL) {
			r = TUNL_ERR_ALLOC;
			goto fail;
		}
		r = buf_get_string_direct(b, &p, &n);
		if (r == 0 && (n != tlen || memcmp(p, sp, n) != 0))
			r = TUNL_ERR_INVALID;
		if (r == 0)
			memcpy(inner, p, n);
		buf_free(b);	/* p pointed into b */
		if (r != 0)
			goto fail;
		/*
		 * A plain key is checked whole here; a certificate is left to
		 * sshcert_parse, which the caller needs anyway.
		 */
		key->cert = sshkey_kind_find(inner, n, 1) != NULL;
		if (!key->cert && (r = sshkey_check(key->blob, key->len,
		    (char *)inner, sizeof(inner))) != 0)
			goto fail;
		a->nkeys++;
		a->methods |= SSHAUTH_PUBLICKEY;
		return 0;
 fail:
		sodium_memzero(key, sizeof(*key));
		return r;
	}
	if (sp != NULL)
		return TUNL_ERR_INVALID;	/* only publickey has data */
	if ((mlen == 20 && memcmp(method, "keyboard-interactive", 20) == 0) ||
	    (mlen > 21 && memcmp(method, "keyboard-interactive/", 21) == 0))
		a->methods |= SSHAUTH_KBDINT;
	else if (mlen == 8 && memcmp(method, "password", 8) == 0)
		a->methods |= SSHAUTH_PASSWORD;
	else {
		for (i = 0; i < mlen; i++) {
			if (!((method[i] >= 'a' && method[i] <= 'z') ||
			    (method[i] >= '0' && method[i] <= '9') ||
			    method[i] == '-' || method[i] == '/' ||
			    method[i] == '@' || method[i] == '.'))
				return TUNL_ERR_INVALID;
		}
		a->methods |= SSHAUTH_OTHER;
	}
	return 0;
}

/*
 * Parse the text of an ExposeAuthInfo file: one method a line, each
 * ending in a newline (the last may lack it), no empty lines.
 */
int
sshauth_parse(const char *text, size_t len, struct sshauth *a)
{
	const char	*p = text, *end = text + len, *nl;
	size_t		 n;
	int		 r;

	memset(a, 0, sizeof(*a));
	if (len == 0)
		return TUNL_ERR_INVALID;
	if (len > SSHAUTH_FILE_MAX)
		return TUNL_ERR_LENGTH;
	if (memchr(text, '\0', len) != NULL)
		return TUNL_ERR_NUL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		if (n == 0 || n > SSHAUTH_LINE_MAX) {
			r = n == 0 ? TUNL_ERR_INVALID : TUNL_ERR_LENGTH;
			goto fail;
		}
		if ((r = sshauth_line(a, p, n)) != 0)
			goto fail;
		p += n + (nl != NULL);
	}
	return 0;
 fail:
	sodium_memzero(a, sizeof(*a));
	return r;
}
