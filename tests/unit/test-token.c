/* test-token.c: token generation and grammar, keyed hashes, the key file. */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunl.h"

#define NGEN	20000

/* A scratch directory for key files, removed with its contents. */
struct keydir {
	char	 dir[64];
	char	 path[128];
};

static void
hex_decode(const char *hex, u_char *out, size_t len)
{
	size_t	 i;
	u_int	 hi, lo;

	assert_int_equal(strlen(hex), len * 2);
	for (i = 0; i < len; i++) {
		hi = (u_int)(strchr("0123456789abcdef", hex[2 * i]) -
		    "0123456789abcdef");
		lo = (u_int)(strchr("0123456789abcdef", hex[2 * i + 1]) -
		    "0123456789abcdef");
		out[i] = (u_char)(hi << 4 | lo);
	}
}

static void
write_file(const char *path, const void *p, size_t len, mode_t mode)
{
	int	 fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static int
setup_dir(void **state)
{
	struct keydir	*kd;

	if ((kd = calloc(1, sizeof(*kd))) == NULL)
		return -1;
	snprintf(kd->dir, sizeof(kd->dir), "/tmp/tunl-token-XXXXXX");
	if (mkdtemp(kd->dir) == NULL) {
		free(kd);
		return -1;
	}
	snprintf(kd->path, sizeof(kd->path), "%s/key", kd->dir);
	*state = kd;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct keydir	*kd = *state;
	static const char *const names[] = {
		"key", "key2", "link", "dangling", "short", "long", "sub",
	};
	char		 p[192];
	size_t		 i;

	for (i = 0; i < TUNL_NITEMS(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", kd->dir, names[i]);
		(void)unlink(p);
		(void)rmdir(p);
	}
	(void)rmdir(kd->dir);
	free(kd);
	return 0;
}

static void
test_generate(void **state)
{
	char	 tok[TOKEN_LEN_MAX + 8];
	u_int	 counts[TOKEN_DIGITS_DEFAULT][10];
	u_int	 d, i, k;

	(void)state;
	for (d = TOKEN_DIGITS_MIN; d <= TOKEN_DIGITS_MAX; d++) {
		memset(tok, 'x', sizeof(tok));
		assert_int_equal(token_generate(d, tok, d + 1), 0);
		assert_int_equal(strlen(tok), d);
		assert_int_equal(token_check(tok, d), 0);
		assert_int_equal(tok[d + 1], 'x');
		/* Too small a buffer, by one. */
		assert_int_equal(token_generate(d, tok, d), TUNL_ERR_LENGTH);
	}
	assert_int_equal(token_generate(TOKEN_DIGITS_MIN - 1, tok,
	    sizeof(tok)), TUNL_ERR_RANGE);
	assert_int_equal(token_generate(TOKEN_DIGITS_MAX + 1, tok,
	    sizeof(tok)), TUNL_ERR_RANGE);
	assert_int_equal(token_generate(0, tok, sizeof(tok)), TUNL_ERR_RANGE);
	assert_int_equal(token_generate(TOKEN_DIGITS_DEFAULT, NULL, 64),
	    TUNL_ERR_LENGTH);

	/*
	 * Every digit turns up about equally often in every position,
	 * leading zeros included: 20000 draws give 2000 of each, with a
	 * standard deviation of about 42, so 1700..2300 fails only on a
	 * broken generator.
	 */
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < NGEN; i++) {
		assert_int_equal(token_generate(TOKEN_DIGITS_DEFAULT, tok,
		    sizeof(tok)), 0);
		for (k = 0; k < TOKEN_DIGITS_DEFAULT; k++)
			counts[k][tok[k] - '0']++;
	}
	for (k = 0; k < TOKEN_DIGITS_DEFAULT; k++) {
		for (d = 0; d < 10; d++)
			assert_in_range(counts[k][d], 1700, 2300);
	}
}

static void
test_check(void **state)
{
	char	 buf[64], *big;

	(void)state;
	assert_int_equal(token_check("12345678", 8), 0);
	assert_int_equal(token_check("00000000", 8), 0);
	assert_int_equal(token_check("123456", 6), 0);
	assert_int_equal(token_check("123456789012", 12), 0);

	assert_int_equal(token_check(NULL, 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234567", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("123456789", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234567a", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("a2345678", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check(" 1234567", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("12345678 ", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("12345678\n", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("+1234567", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("-1234567", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234-678", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234/678", 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234:678", 8), TUNL_ERR_INVALID);
	/* Fullwidth digit one (U+FF11), and a stray high byte. */
	assert_int_equal(token_check("\xef\xbc\x91" "2345", 8),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234567\xb9", 8), TUNL_ERR_INVALID);
	/* An embedded NUL ends the string early. */
	memcpy(buf, "1234\0" "5678", 10);
	assert_int_equal(token_check(buf, 8), TUNL_ERR_INVALID);
	/* The digit count itself must be in range. */
	assert_int_equal(token_check("12345", 5), TUNL_ERR_INVALID);
	assert_int_equal(token_check("1234567890123", 13),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_check("", 0), TUNL_ERR_INVALID);
	/* 10 KB of digits. */
	big = malloc(10 * 1024 + 1);
	assert_non_null(big);
	memset(big, '7', 10 * 1024);
	big[10 * 1024] = '\0';
	assert_int_equal(token_check(big, 8), TUNL_ERR_INVALID);
	assert_int_equal(token_check(big, TOKEN_DIGITS_MAX), TUNL_ERR_INVALID);
	free(big);
}

static void
test_hash(void **state)
{
	u_char	 key[TOKEN_KEY_LEN], key2[TOKEN_KEY_LEN];
	u_char	 h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN], want[TOKEN_HASH_LEN];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (u_char)i;
	memcpy(key2, key, sizeof(key2));
	key2[31] ^= 1;

	/*
	 * Known answers, computed apart from this code as keyed
	 * BLAKE2b-256 over "tunl token hash v1", a NUL, and the token.
	 */
	assert_int_equal(token_hash(key, "12345678", h1), 0);
	hex_decode("9e3422b55ea918162e03507404bfbf26"
	    "55b6b66ab7ad2cd8e67ad8705e7acc34", want, sizeof(want));
	assert_memory_equal(h1, want, sizeof(want));
	assert_int_equal(token_hash(key, "000000", h1), 0);
	hex_decode("74df34ce1cd7a4a3e784b23028c0e7bf"
	    "eb0055d47c3063a91f2d987c6606ea5f", want, sizeof(want));
	assert_memory_equal(h1, want, sizeof(want));
	assert_int_equal(token_hash(key, "999999999999", h1), 0);
	hex_decode("056c1e3eb74c42117aae7acd413149a0"
	    "4cc79d397d8e70a8e488945282a109da", want, sizeof(want));
	assert_memory_equal(h1, want, sizeof(want));

	/* Deterministic for one key and token. */
	assert_int_equal(token_hash(key, "12345678", h1), 0);
	assert_int_equal(token_hash(key, "12345678", h2), 0);
	assert_memory_equal(h1, h2, sizeof(h1));
	assert_true(token_equal(h1, h2));
	/* Another key, another token, a longer token: all differ. */
	assert_int_equal(token_hash(key2, "12345678", h2), 0);
	assert_false(token_equal(h1, h2));
	assert_int_equal(token_hash(key, "12345679", h2), 0);
	assert_false(token_equal(h1, h2));
	assert_int_equal(token_hash(key, "123456780", h2), 0);
	assert_false(token_equal(h1, h2));

	/* Only well-formed tokens are hashed. */
	assert_int_equal(token_hash(key, "1234567a", h2), TUNL_ERR_INVALID);
	assert_int_equal(token_hash(key, "12345", h2), TUNL_ERR_INVALID);
	assert_int_equal(token_hash(key, "1234567890123", h2),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_hash(key, "", h2), TUNL_ERR_INVALID);
	assert_int_equal(token_hash(NULL, "12345678", h2), TUNL_ERR_INVALID);
	assert_int_equal(token_hash(key, NULL, h2), TUNL_ERR_INVALID);
	assert_int_equal(token_hash(key, "12345678", NULL), TUNL_ERR_INVALID);
}

static void
test_equal(void **state)
{
	u_char	 a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];

	(void)state;
	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_int_equal(token_equal(a, b), 1);
	b[0] ^= 0x80;
	assert_int_equal(token_equal(a, b), 0);
	b[0] ^= 0x80;
	b[TOKEN_HASH_LEN - 1] ^= 1;
	assert_int_equal(token_equal(a, b), 0);
	assert_int_equal(token_equal(NULL, b), 0);
	assert_int_equal(token_equal(a, NULL), 0);
}

static void
test_key_create_load(void **state)
{
	struct keydir	*kd = *state;
	struct stat	 st;
	u_char		 k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN], zero[TOKEN_KEY_LEN];
	char		 path2[160];
	mode_t		 old;

	memset(zero, 0, sizeof(zero));
	/* The mode is exact whatever the umask. */
	old = umask(077);
	assert_int_equal(token_key_create(kd->path, geteuid(), getegid(),
	    0640), 0);
	umask(old);
	assert_int_equal(lstat(kd->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, TOKEN_KEY_LEN);
	assert_int_equal(st.st_uid, geteuid());

	assert_int_equal(token_key_load(kd->path, geteuid(), k1), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_memory_not_equal(k1, zero, sizeof(k1));

	/* An existing file is never replaced. */
	assert_int_equal(token_key_create(kd->path, geteuid(), getegid(),
	    0600), TUNL_ERR_EXISTS);
	assert_int_equal(token_key_load(kd->path, geteuid(), k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));

	/* A second key differs from the first. */
	snprintf(path2, sizeof(path2), "%s/key2", kd->dir);
	assert_int_equal(token_key_create(path2, geteuid(), getegid(), 0600),
	    0);
	assert_int_equal(lstat(path2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(token_key_load(path2, geteuid(), k2), 0);
	assert_memory_not_equal(k1, k2, sizeof(k1));

	/* Modes that would share the key are refused at creation. */
	assert_int_equal(unlink(path2), 0);
	assert_int_equal(token_key_create(path2, geteuid(), getegid(), 0644),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(token_key_create(path2, geteuid(), getegid(), 0660),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(token_key_create(path2, geteuid(), getegid(),
	    04600), TUNL_ERR_UNSAFE);
	assert_int_equal(lstat(path2, &st), -1);
	/* No directory to create it in; no path at all. */
	snprintf(path2, sizeof(path2), "%s/sub/key", kd->dir);
	assert_int_equal(token_key_create(path2, geteuid(), getegid(), 0600),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(token_key_create(NULL, geteuid(), getegid(), 0600),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_key_create("", geteuid(), getegid(), 0600),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_key_load(NULL, geteuid(), k2),
	    TUNL_ERR_INVALID);
	assert_int_equal(token_key_load(kd->path, geteuid(), NULL),
	    TUNL_ERR_INVALID);
}

static void
test_key_links(void **state)
{
	struct keydir	*kd = *state;
	struct stat	 st;
	u_char		 k[TOKEN_KEY_LEN], zero[TOKEN_KEY_LEN];
	char		 link[160], dangling[160];

	memset(zero, 0, sizeof(zero));
	snprintf(link, sizeof(link), "%s/link", kd->dir);
	snprintf(dangling, sizeof(dangling), "%s/dangling", kd->dir);
	assert_int_equal(token_key_create(kd->path, geteuid(), getegid(),
	    0600), 0);
	assert_int_equal(symlink(kd->path, link), 0);
	assert_int_equal(symlink("/nonexistent/tunl-key", dangling), 0);

	/* Loading through a link is refused, and the output wiped. */
	memset(k, 0xff, sizeof(k));
	assert_int_equal(token_key_load(link, geteuid(), k), TUNL_ERR_UNSAFE);
	assert_memory_equal(k, zero, sizeof(k));
	/* Creating over a link, even a dangling one, is refused. */
	assert_int_equal(token_key_create(link, geteuid(), getegid(), 0600),
	    TUNL_ERR_EXISTS);
	assert_int_equal(token_key_create(dangling, geteuid(), getegid(),
	    0600), TUNL_ERR_EXISTS);
	assert_int_equal(lstat("/nonexistent/tunl-key", &st), -1);
	/* A directory is not a key. */
	assert_int_equal(token_key_load(kd->dir, geteuid(), k),
	    TUNL_ERR_UNSAFE);
	/* A missing file. */
	snprintf(link, sizeof(link), "%s/key2", kd->dir);
	assert_int_equal(token_key_load(link, geteuid(), k),
	    TUNL_ERR_NOT_FOUND);
}

static void
test_key_unsafe(void **state)
{
	struct keydir	*kd = *state;
	u_char		 k[TOKEN_KEY_LEN], zero[TOKEN_KEY_LEN];
	u_char		 data[TOKEN_KEY_LEN + 1];
	char		 p[160];

	memset(zero, 0, sizeof(zero));
	memset(data, 0x42, sizeof(data));

	/* Exactly TOKEN_KEY_LEN bytes, no fewer and no more. */
	snprintf(p, sizeof(p), "%s/short", kd->dir);
	write_file(p, data, TOKEN_KEY_LEN - 1, 0600);
	memset(k, 0xff, sizeof(k));
	assert_int_equal(token_key_load(p, geteuid(), k), TUNL_ERR_LENGTH);
	assert_memory_equal(k, zero, sizeof(k));
	write_file(p, data, 0, 0600);
	assert_int_equal(token_key_load(p, geteuid(), k), TUNL_ERR_LENGTH);
	snprintf(p, sizeof(p), "%s/long", kd->dir);
	write_file(p, data, TOKEN_KEY_LEN + 1, 0600);
	assert_int_equal(token_key_load(p, geteuid(), k), TUNL_ERR_LENGTH);

	/* Modes: readable by others, writable by group or others. */
	write_file(kd->path, data, TOKEN_KEY_LEN, 0600);
	assert_int_equal(token_key_load(kd->path, geteuid(), k), 0);
	assert_memory_equal(k, data, sizeof(k));
	assert_int_equal(chmod(kd->path, 0640), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k), 0);
	assert_int_equal(chmod(kd->path, 0604), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k),
	    TUNL_ERR_UNSAFE);
	assert_memory_equal(k, zero, sizeof(k));
	assert_int_equal(chmod(kd->path, 0644), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(kd->path, 0620), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(kd->path, 0602), 0);
	assert_int_equal(token_key_load(kd->path, geteuid(), k),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(kd->path, 0600), 0);

	/* Owned by someone other than the expected owner. */
	assert_int_equal(token_key_load(kd->path, geteuid() + 1, k),
	    TUNL_ERR_UNSAFE);
}

/*
 * As root the key is handed to the given owner and group, and loading
 * checks that owner; as anyone else there is nothing to hand over.
 */
static void
test_key_owner(void **state)
{
	struct keydir	*kd = *state;
	struct stat	 st;
	u_char		 k[TOKEN_KEY_LEN];
	const uid_t	 nobody = 65534;
	const gid_t	 nogroup = 65534;

	if (geteuid() != 0) {
		/* Without root the file is ours whatever we ask. */
		assert_int_equal(token_key_create(kd->path, geteuid(),
		    getegid(), 0600), 0);
		assert_int_equal(lstat(kd->path, &st), 0);
		assert_int_equal(st.st_uid, geteuid());
		assert_int_equal(token_key_load(kd->path, 0, k),
		    TUNL_ERR_UNSAFE);
		skip();
	}
	assert_int_equal(token_key_create(kd->path, nobody, nogroup, 0640),
	    0);
	assert_int_equal(lstat(kd->path, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	assert_int_equal(st.st_gid, nogroup);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(token_key_load(kd->path, nobody, k), 0);
	assert_int_equal(token_key_load(kd->path, 0, k), TUNL_ERR_UNSAFE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_equal),
		cmocka_unit_test_setup_teardown(test_key_create_load,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_links,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_unsafe,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_owner,
		    setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
