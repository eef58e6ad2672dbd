/*
 * test-sshcert.c: ExposeAuthInfo text, OpenSSH certificates and key
 * fingerprints, checked against certificates and fingerprints made by
 * the real ssh-keygen at test time.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "tunl.h"

#define KEYID		"amber-falcon-river-seven"
#define PRINCIPAL	"tunl-amber-falcon-river-seven"

static char	 dir[] = "/tmp/test-sshcert.XXXXXX";

static void	 run(const char *, ...) TUNL_PRINTF(1, 2);

static void
run(const char *fmt, ...)
{
	char	 cmd[2048];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* The first line of a file, without its newline. */
static void
read_line(const char *path, char *out, size_t outlen)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(out, (int)outlen, f));
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* Field n (0-based, space-separated) of a line. */
static void
field(const char *line, int n, char *out, size_t outlen)
{
	const char	*p = line, *sp;
	size_t		 len;

	while (n-- > 0) {
		assert_non_null(p = strchr(p, ' '));
		p++;
	}
	sp = strchr(p, ' ');
	len = sp == NULL ? strlen(p) : (size_t)(sp - p);
	assert_true(len < outlen);
	memcpy(out, p, len);
	out[len] = '\0';
}

/* Decode the base64 field of a .pub file. */
static void
pub_blob(const char *name, u_char *blob, size_t *len)
{
	char	 path[256], line[16384], b64[16384];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	read_line(path, line, sizeof(line));
	field(line, 1, b64, sizeof(b64));
	assert_int_equal(sshkey_from_base64(b64, strlen(b64), blob,
	    SSHKEY_BLOB_MAX, len), 0);
}

/* What ssh-keygen -lf prints as the fingerprint of a file. */
static void
keygen_fp(const char *name, char *out, size_t outlen)
{
	char	 path[256], line[512];

	snprintf(path, sizeof(path), "%s/%s.fp", dir, name);
	run("ssh-keygen -lf %s/%s >%s", dir, name, path);
	read_line(path, line, sizeof(line));
	field(line, 1, out, outlen);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	run("cd %s && ssh-keygen -q -t ed25519 -N '' -C ca -f ca && "
	    "ssh-keygen -q -t ed25519 -N '' -C user -f user && "
	    "ssh-keygen -q -t ecdsa -b 256 -N '' -C ecuser -f ecuser && "
	    "ssh-keygen -q -t rsa -b 2048 -N '' -C rsaca -f rsaca && "
	    "ssh-keygen -q -s ca -I " KEYID " -n " PRINCIPAL " -V +5m "
	    "user.pub && "
	    "ssh-keygen -q -s rsaca -I ec-key -n a,b,c -z 42 -V +1h "
	    "ecuser.pub && "
	    "cp user.pub many.pub && ssh-keygen -q -s ca -I many "
	    "-n p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11,p12,p13,p14,p15,p16,p17 "
	    "many.pub && "
	    "cp user.pub sixteen.pub && ssh-keygen -q -s ca -I sixteen "
	    "-n p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11,p12,p13,p14,p15,p16 "
	    "sixteen.pub && "
	    "cp user.pub host.pub && ssh-keygen -q -s ca -h -I host "
	    "-n relay.example host.pub", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

static void
test_fingerprint(void **state)
{
	u_char	 blob[SSHKEY_BLOB_MAX];
	char	 fp[SSHKEY_FP_LEN], want[128], type[SSHKEY_TYPE_MAX];
	struct sshcert	 c;
	size_t	 len;

	(void)state;
	pub_blob("user.pub", blob, &len);
	assert_int_equal(sshkey_check(blob, len, type, sizeof(type)), 0);
	assert_string_equal(type, "ssh-ed25519");
	assert_int_equal(sshkey_fingerprint(blob, len, fp, sizeof(fp)), 0);
	keygen_fp("user.pub", want, sizeof(want));
	assert_string_equal(fp, want);
	assert_int_equal(strlen(fp), SSHKEY_FP_LEN - 1);

	pub_blob("rsaca.pub", blob, &len);
	assert_int_equal(sshkey_check(blob, len, type, sizeof(type)), 0);
	assert_string_equal(type, "ssh-rsa");
	assert_int_equal(sshkey_fingerprint(blob, len, fp, sizeof(fp)), 0);
	keygen_fp("rsaca.pub", want, sizeof(want));
	assert_string_equal(fp, want);

	/* Too small an output, nothing to hash. */
	assert_int_equal(sshkey_fingerprint(blob, len, fp, 10),
	    TUNL_ERR_LENGTH);
	assert_int_not_equal(sshkey_fingerprint(blob, 0, fp, sizeof(fp)), 0);
	/* A plain key is not a certificate, nor the other way round. */
	assert_int_not_equal(sshcert_parse(blob, len, &c), 0);
	pub_blob("user-cert.pub", blob, &len);
	assert_int_not_equal(sshkey_check(blob, len, type, sizeof(type)), 0);
	assert_int_equal(sshkey_check_type_name("ssh-ed25519", 11), 0);
	assert_int_equal(sshkey_check_type_name(
	    "ssh-ed25519-cert-v01@openssh.com", 32), 0);
	assert_int_not_equal(sshkey_check_type_name("ssh-foo", 7), 0);
	assert_int_not_equal(sshkey_check_type_name("environment=", 12), 0);
}

static void
test_cert_ed25519(void **state)
{
	u_char		 blob[SSHKEY_BLOB_MAX];
	char		 want[128];
	struct sshcert	 c;
	size_t		 len;
	int64_t		 now = (int64_t)time(NULL);

	(void)state;
	pub_blob("user-cert.pub", blob, &len);
	assert_int_equal(sshcert_parse(blob, len, &c), 0);
	assert_string_equal(c.key_type, "ssh-ed25519-cert-v01@openssh.com");
	assert_int_equal(c.type, SSHCERT_TYPE_USER);
	assert_string_equal(c.key_id, KEYID);
	assert_int_equal(c.nprincipals, 1);
	assert_string_equal(c.principals[0], PRINCIPAL);
	assert_true(sshcert_has_principal(&c, PRINCIPAL));
	assert_false(sshcert_has_principal(&c, "tunl-amber-falcon-river"));
	assert_true((int64_t)c.valid_before >= now + 290 &&
	    (int64_t)c.valid_before <= now + 310);
	assert_true((int64_t)c.valid_after <= now &&
	    (int64_t)c.valid_after >= now - 120);
	keygen_fp("user.pub", want, sizeof(want));
	assert_string_equal(c.key_fp, want);
	keygen_fp("user-cert.pub", want, sizeof(want));
	assert_string_equal(c.key_fp, want);
	keygen_fp("ca.pub", want, sizeof(want));
	assert_string_equal(c.ca_fp, want);
	assert_string_equal(c.ca_type, "ssh-ed25519");
}

static void
test_cert_ecdsa_rsa_ca(void **state)
{
	u_char		 blob[SSHKEY_BLOB_MAX];
	char		 want[128];
	struct sshcert	 c;
	size_t		 len;

	(void)state;
	pub_blob("ecuser-cert.pub", blob, &len);
	assert_int_equal(sshcert_parse(blob, len, &c), 0);
	assert_string_equal(c.key_type,
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	assert_string_equal(c.key_id, "ec-key");
	assert_int_equal(c.serial, 42);
	assert_int_equal(c.nprincipals, 3);
	assert_string_equal(c.principals[0], "a");
	assert_string_equal(c.principals[2], "c");
	keygen_fp("ecuser.pub", want, sizeof(want));
	assert_string_equal(c.key_fp, want);
	keygen_fp("rsaca.pub", want, sizeof(want));
	assert_string_equal(c.ca_fp, want);
	assert_string_equal(c.ca_type, "ssh-rsa");
}

static void
test_cert_principals_bound(void **state)
{
	u_char		 blob[SSHKEY_BLOB_MAX];
	struct sshcert	 c;
	size_t		 len;

	(void)state;
	pub_blob("sixteen-cert.pub", blob, &len);
	assert_int_equal(sshcert_parse(blob, len, &c), 0);
	assert_int_equal(c.nprincipals, SSHCERT_PRINCIPALS_MAX);
	assert_string_equal(c.principals[15], "p16");
	pub_blob("many-cert.pub", blob, &len);
	assert_int_equal(sshcert_parse(blob, len, &c), TUNL_ERR_LENGTH);
	assert_int_equal(c.nprincipals, 0);
	assert_string_equal(c.key_id, "");
	/* A host certificate never passes for a user's. */
	pub_blob("host-cert.pub", blob, &len);
	assert_int_equal(sshcert_parse(blob, len, &c), TUNL_ERR_INVALID);
}

static u_int32_t
get32(const u_char *p)
{
	return ((u_int32_t)p[0] << 24) | ((u_int32_t)p[1] << 16) |
	    ((u_int32_t)p[2] << 8) | p[3];
}

static void
put32(u_char *p, u_int32_t v)
{
	p[0] = (u_char)(v >> 24);
	p[1] = (u_char)(v >> 16);
	p[2] = (u_char)(v >> 8);
	p[3] = (u_char)v;
}

static void
test_cert_hostile(void **state)
{
	u_char		 blob[SSHKEY_BLOB_MAX], bad[SSHKEY_BLOB_MAX + 8];
	struct sshcert	 c;
	size_t		 len, i, off;

	(void)state;
	pub_blob("user-cert.pub", blob, &len);

	/* Truncated at every length. */
	for (i = 0; i < len; i++)
		assert_int_not_equal(sshcert_parse(blob, i, &c), 0);
	/* A byte more. */
	memcpy(bad, blob, len);
	bad[len] = 0;
	assert_int_not_equal(sshcert_parse(bad, len + 1, &c), 0);
	/* Over the blob bound. */
	assert_int_equal(sshcert_parse(bad, SSHKEY_BLOB_MAX + 1, &c),
	    TUNL_ERR_LENGTH);
	assert_int_not_equal(sshcert_parse(NULL, 10, &c), 0);

	/* Every length field made huge: the type, then the nonce. */
	memcpy(bad, blob, len);
	put32(bad, 0xffffffffU);
	assert_int_not_equal(sshcert_parse(bad, len, &c), 0);
	memcpy(bad, blob, len);
	off = 4 + get32(blob);
	put32(bad + off, 0x7fffffffU);
	assert_int_not_equal(sshcert_parse(bad, len, &c), 0);
	/* The ed25519 key one byte short: its length says 31. */
	memcpy(bad, blob, len);
	off += 4 + get32(blob + off);
	assert_int_equal(get32(blob + off), 32);
	put32(bad + off, 31);
	assert_int_not_equal(sshcert_parse(bad, len, &c), 0);
	/* The cert type field (after the key and serial) set to 3. */
	memcpy(bad, blob, len);
	off += 4 + 32 + 8;
	assert_int_equal(get32(blob + off), SSHCERT_TYPE_USER);
	put32(bad + off, 3);
	assert_int_equal(sshcert_parse(bad, len, &c), TUNL_ERR_INVALID);
	/* Key id with a control byte. */
	memcpy(bad, blob, len);
	off += 4;
	assert_int_equal(get32(blob + off), strlen(KEYID));
	bad[off + 4] = '\n';
	assert_int_equal(sshcert_parse(bad, len, &c), TUNL_ERR_INVALID);
	/* An unknown type name of the right shape. */
	memcpy(bad, blob, len);
	memcpy(bad + 4, "ssh-ed25518", 11);
	assert_int_equal(sshcert_parse(bad, len, &c), TUNL_ERR_INVALID);
	/* Every single-byte change either parses or fails cleanly. */
	for (i = 0; i < len; i++) {
		memcpy(bad, blob, len);
		bad[i] ^= 0x80;
		(void)sshcert_parse(bad, len, &c);
	}
}

static void
auth_line(const char *method, const char *pub, char *out, size_t outlen)
{
	char	 path[256], line[8192];

	snprintf(path, sizeof(path), "%s/%s", dir, pub);
	read_line(path, line, sizeof(line));
	/* "type base64 comment" -> "method type base64" */
	*strrchr(line, ' ') = '\0';
	snprintf(out, outlen, "%s %s\n", method, line);
}

static void
test_auth_parse(void **state)
{
	static char	 text[SSHAUTH_FILE_MAX + 2];
	static u_char	 kb[SSHKEY_BLOB_MAX];
	char		 a[16384], b[16384], b64[512];
	size_t		 kl;
	struct sshauth	 au;
	struct sshcert	 c;

	(void)state;
	auth_line("publickey", "user.pub", a, sizeof(a));
	assert_int_equal(sshauth_parse(a, strlen(a), &au), 0);
	assert_int_equal(au.methods, SSHAUTH_PUBLICKEY);
	assert_int_equal(au.nkeys, 1);
	assert_false(au.keys[0].cert);
	assert_string_equal(au.keys[0].type, "ssh-ed25519");

	auth_line("publickey", "user-cert.pub", b, sizeof(b));
	assert_int_equal(sshauth_parse(b, strlen(b) - 1, &au), 0); /* no \n */
	assert_int_equal(au.nkeys, 1);
	assert_true(au.keys[0].cert);
	assert_int_equal(sshcert_parse(au.keys[0].blob, au.keys[0].len, &c),
	    0);
	assert_string_equal(c.key_id, KEYID);

	snprintf(text, sizeof(text), "keyboard-interactive/pam\n%s", b);
	assert_int_equal(sshauth_parse(text, strlen(text), &au), 0);
	assert_int_equal(au.methods, SSHAUTH_PUBLICKEY | SSHAUTH_KBDINT);
	assert_int_equal(au.nkeys, 1);
	assert_int_equal(sshauth_parse("keyboard-interactive\n", 21, &au), 0);
	assert_int_equal(au.methods, SSHAUTH_KBDINT);
	assert_int_equal(au.nkeys, 0);
	assert_int_equal(sshauth_parse("password\nhostbased\n", 19, &au), 0);
	assert_int_equal(au.methods, SSHAUTH_PASSWORD | SSHAUTH_OTHER);

	/* Hostile text. */
	assert_int_not_equal(sshauth_parse("", 0, &au), 0);
	assert_int_not_equal(sshauth_parse("\n", 1, &au), 0);
	assert_int_not_equal(sshauth_parse("password\n\n", 10, &au), 0);
	assert_int_equal(sshauth_parse("pass\0word\n", 10, &au), TUNL_ERR_NUL);
	assert_int_not_equal(sshauth_parse("keyboard-interactive x\n", 23,
	    &au), 0);
	assert_int_not_equal(sshauth_parse("publickey\n", 10, &au), 0);
	assert_int_not_equal(sshauth_parse("publickey ssh-ed25519\n", 22,
	    &au), 0);
	assert_int_not_equal(sshauth_parse("publickey ssh-ed25519 !!!!\n",
	    27, &au), 0);
	assert_int_not_equal(sshauth_parse("Pass Word\n", 10, &au), 0);
	assert_int_not_equal(sshauth_parse("pass\x1bword\n", 10, &au), 0);
	/* The type named must be the type inside. */
	snprintf(text, sizeof(text), "publickey ssh-rsa%s",
	    strchr(a + 10, ' '));
	assert_int_equal(sshauth_parse(text, strlen(text), &au),
	    TUNL_ERR_INVALID);
	assert_int_equal(au.nkeys, 0);
	/* A plain key with a byte after it. */
	pub_blob("user.pub", kb, &kl);
	kb[kl++] = 0;
	sodium_bin2base64(b64, sizeof(b64), kb, kl,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "publickey ssh-ed25519 %s\n", b64);
	assert_int_equal(sshauth_parse(text, strlen(text), &au),
	    TUNL_ERR_INVALID);
	/* A comment after the key. */
	snprintf(text, sizeof(text), "%.*s x\n", (int)strlen(a) - 1, a);
	assert_int_not_equal(sshauth_parse(text, strlen(text), &au), 0);
	/* Too many keys. */
	snprintf(text, sizeof(text), "%s%s%s%s", a, a, a, a);
	assert_int_equal(sshauth_parse(text, strlen(text), &au), 0);
	assert_int_equal(au.nkeys, SSHAUTH_KEYS_MAX);
	snprintf(text, sizeof(text), "%s%s%s%s%s", a, a, a, a, a);
	assert_int_equal(sshauth_parse(text, strlen(text), &au),
	    TUNL_ERR_LENGTH);
	/* A line and a file over their bounds. */
	memset(text, 'a', SSHAUTH_LINE_MAX + 1);
	assert_int_equal(sshauth_parse(text, SSHAUTH_LINE_MAX + 1, &au),
	    TUNL_ERR_LENGTH);
	assert_int_equal(sshauth_parse(text, SSHAUTH_FILE_MAX + 1, &au),
	    TUNL_ERR_LENGTH);
	/* Base64 over its bound. */
	memcpy(text, "publickey ssh-ed25519 ", 22);
	memset(text + 22, 'A', SSHKEY_B64_MAX + 4);
	text[22 + SSHKEY_B64_MAX + 4] = '\n';
	assert_int_equal(sshauth_parse(text, 22 + SSHKEY_B64_MAX + 5, &au),
	    TUNL_ERR_LENGTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_cert_ed25519),
		cmocka_unit_test(test_cert_ecdsa_rsa_ca),
		cmocka_unit_test(test_cert_principals_bound),
		cmocka_unit_test(test_cert_hostile),
		cmocka_unit_test(test_auth_parse),
	};

	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
