/*
 * test-authority.c: the grammars tunl-authority applies to what its
 * callers send: the mint request line, the public key line, and the
 * certificate ssh-keygen hands back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

#define OK_REQ	"engineer=alice case=CASE-42 customer=acme ttl=30 mode=share"

static int
parse(const char *s, struct mint_request *req)
{
	return authority_mint_parse(s, strlen(s), req);
}

static void
test_mint_valid(void **state)
{
	struct mint_request	 req;

	(void)state;
	assert_int_equal(parse(OK_REQ, &req), 0);
	assert_string_equal(req.engineer, "alice");
	assert_string_equal(req.case_ref, "CASE-42");
	assert_string_equal(req.customer, "acme");
	assert_int_equal(req.ttl, 30);
	assert_int_equal(req.mode, SESSION_SHARE);

	/* A final newline is allowed; "-" is the empty value. */
	assert_int_equal(parse("engineer=bob.smith@corp case=- customer=- "
	    "ttl=- mode=restricted\n", &req), 0);
	assert_string_equal(req.engineer, "bob.smith@corp");
	assert_string_equal(req.case_ref, "");
	assert_string_equal(req.customer, "");
	assert_int_equal(req.ttl, 0);
	assert_int_equal(req.mode, SESSION_RESTRICTED);

	assert_int_equal(parse("engineer=a case=T#1:b_c.d customer=x_y "
	    "ttl=10080 mode=share", &req), 0);
	assert_string_equal(req.case_ref, "T#1:b_c.d");
	assert_int_equal(req.ttl, 10080);
}

static void
test_mint_bounds(void **state)
{
	struct mint_request	 req;
	char			 line[AUTH_REQUEST_MAX * 2];
	char			 v64[AUTH_FIELD_MAX + 2];

	(void)state;
	memset(v64, 'a', AUTH_FIELD_MAX);
	v64[AUTH_FIELD_MAX] = '\0';
	snprintf(line, sizeof(line), "engineer=%s case=%s customer=%s "
	    "ttl=1 mode=share", v64, v64, v64);
	assert_int_equal(parse(line, &req), 0);
	assert_int_equal(strlen(req.engineer), AUTH_FIELD_MAX);

	/* 65 bytes is one too many for each field. */
	v64[AUTH_FIELD_MAX] = 'a';
	v64[AUTH_FIELD_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "engineer=%s case=- customer=- "
	    "ttl=1 mode=share", v64);
	assert_int_not_equal(parse(line, &req), 0);
	snprintf(line, sizeof(line), "engineer=a case=%s customer=- "
	    "ttl=1 mode=share", v64);
	assert_int_not_equal(parse(line, &req), 0);
	snprintf(line, sizeof(line), "engineer=a case=- customer=%s "
	    "ttl=1 mode=share", v64);
	assert_int_not_equal(parse(line, &req), 0);
	assert_string_equal(req.engineer, "");	/* zeroed on failure */

	/* The whole line is bounded before anything else. */
	memset(line, 'x', AUTH_REQUEST_MAX + 1);
	line[AUTH_REQUEST_MAX + 1] = '\0';
	assert_int_equal(parse(line, &req), TUNL_ERR_LENGTH);

	assert_int_not_equal(parse("engineer=a case=- customer=- ttl=0 "
	    "mode=share", &req), 0);
	assert_int_not_equal(parse("engineer=a case=- customer=- ttl=10081 "
	    "mode=share", &req), 0);
	assert_int_not_equal(parse("engineer=a case=- customer=- "
	    "ttl=99999999999999999999 mode=share", &req), 0);
}

static void
test_mint_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"engineer=alice",
		/* order, names, separators */
		"case=- engineer=a customer=- ttl=1 mode=share",
		"engineer=a  case=- customer=- ttl=1 mode=share",
		"engineer=a case=- customer=- ttl=1 mode=share ",
		" engineer=a case=- customer=- ttl=1 mode=share",
		"engineer=a case=- customer=- ttl=1 mode=share extra=1",
		"engineer=a\tcase=- customer=- ttl=1 mode=share",
		"Engineer=a case=- customer=- ttl=1 mode=share",
		"engineer=a case=- customer=- ttl=1 mode=share\n\n",
		"engineer=a case=- customer=- ttl=1 mode=share\r",
		/* values */
		"engineer= case=- customer=- ttl=1 mode=share",
		"engineer=- case=- customer=- ttl=1 mode=share",
		"engineer=-a case=- customer=- ttl=1 mode=share",
		"engineer=a/b case=- customer=- ttl=1 mode=share",
		"engineer=a;b case=- customer=- ttl=1 mode=share",
		"engineer=a$(x) case=- customer=- ttl=1 mode=share",
		"engineer=a case= customer=- ttl=1 mode=share",
		"engineer=a case=.. customer=- ttl=1 mode=share",
		"engineer=a case=x/y customer=- ttl=1 mode=share",
		"engineer=a case=x' customer=- ttl=1 mode=share",
		"engineer=a case=- customer= ttl=1 mode=share",
		"engineer=a case=- customer=a#b ttl=1 mode=share",
		"engineer=a case=- customer=\xc3\xa9 ttl=1 mode=share",
		"engineer=a case=- customer=- ttl= mode=share",
		"engineer=a case=- customer=- ttl=+5 mode=share",
		"engineer=a case=- customer=- ttl=-5 mode=share",
		"engineer=a case=- customer=- ttl=0x10 mode=share",
		"engineer=a case=- customer=- ttl=1 mode=",
		"engineer=a case=- customer=- ttl=1 mode=tunnel",
		"engineer=a case=- customer=- ttl=1 mode=Share",
		"engineer=a case=- customer=- ttl=1 mode=sharex",
		"engineer=a case=- customer=- ttl=1 mode=share=",
		"engineer=a\x1b[31m case=- customer=- ttl=1 mode=share",
	};
	struct mint_request	 req;
	size_t			 i;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(bad); i++) {
		if (parse(bad[i], &req) == 0)
			fail_msg("accepted bad request %zu: \"%s\"", i, bad[i]);
	}
	/* An embedded NUL: the length says there is more. */
	assert_int_not_equal(authority_mint_parse(OK_REQ "\0x",
	    sizeof(OK_REQ) + 1, &req), 0);
	assert_int_not_equal(authority_mint_parse(NULL, 0, &req), 0);
}

/* "ssh-ed25519 <base64 of the blob>" for a fresh key, into line. */
static void
make_key_line(char *line, size_t linelen, u_char *pk, const char *type,
    size_t keylen, int extra)
{
	u_char	 blob[128], sk[crypto_sign_SECRETKEYBYTES];
	size_t	 off = 0, tlen = strlen(type);

	assert_int_equal(crypto_sign_keypair(pk, sk), 0);
	blob[off++] = 0;
	blob[off++] = 0;
	blob[off++] = 0;
	blob[off++] = (u_char)tlen;
	memcpy(blob + off, type, tlen);
	off += tlen;
	blob[off++] = 0;
	blob[off++] = 0;
	blob[off++] = 0;
	blob[off++] = (u_char)keylen;
	memcpy(blob + off, pk, keylen);
	off += keylen;
	if (extra)
		blob[off++] = 0;
	memcpy(line, "ssh-ed25519 ", 12);
	sodium_bin2base64(line + 12, linelen - 12, blob, off,
	    sodium_base64_VARIANT_ORIGINAL);
}

static int
tparse(const char *s, struct token_request *req)
{
	return authority_token_parse(s, strlen(s), req);
}

static void
test_token_request(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"engineer=alice",
		"engineer=alice id=",
		"id=amber-falcon-river-seven engineer=alice",
		"engineer=alice  id=amber-falcon-river-seven",
		"engineer=alice id=amber-falcon-river-seven ",
		" engineer=alice id=amber-falcon-river-seven",
		"engineer=alice\tid=amber-falcon-river-seven",
		"engineer=alice id=amber-falcon-river-seven extra=1",
		"engineer=alice id=amber-falcon-river-seven\n\n",
		"engineer=alice id=amber-falcon-river-seven\r",
		"engineer= id=amber-falcon-river-seven",
		"engineer=-a id=amber-falcon-river-seven",
		"engineer=a/b id=amber-falcon-river-seven",
		"engineer=a;b id=amber-falcon-river-seven",
		"engineer=alice id=Amber-falcon-river-seven",
		"engineer=alice id=amber-falcon-river",
		"engineer=alice id=amber-falcon-river-seven-x",
		"engineer=alice id=../../etc/passwd",
		"engineer=alice id=amber-falcon-river-seven;rm",
	};
	struct token_request	 req;
	char			 line[AUTH_REQUEST_MAX + 16], id[ID_LEN_MAX];
	size_t			 i;

	(void)state;
	assert_int_equal(id_generate(id, sizeof(id)), 0);
	snprintf(line, sizeof(line), "engineer=bob.smith@corp id=%s\n", id);
	assert_int_equal(tparse(line, &req), 0);
	assert_string_equal(req.engineer, "bob.smith@corp");
	assert_string_equal(req.id, id);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&req, 'x', sizeof(req));
		if (tparse(bad[i], &req) == 0)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_string_equal(req.engineer, "");
		assert_string_equal(req.id, "");
	}
	/* A name one byte too long; a NUL inside the line. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "engineer=", 9);
	snprintf(line + 9 + AUTH_ENGINEER_MAX + 1, sizeof(line) - 9 -
	    AUTH_ENGINEER_MAX - 1, " id=%s", id);
	assert_int_not_equal(tparse(line, &req), 0);
	snprintf(line + 9 + AUTH_ENGINEER_MAX, sizeof(line) - 9 -
	    AUTH_ENGINEER_MAX, " id=%s", id);
	assert_int_equal(tparse(line, &req), 0);
	assert_int_equal(strlen(req.engineer), AUTH_ENGINEER_MAX);
	snprintf(line, sizeof(line), "engineer=alice id=%s", id);
	line[14] = '\0';
	assert_int_not_equal(authority_token_parse(line, strlen(id) + 18,
	    &req), 0);
}

static void
test_key_valid(void **state)
{
	struct sign_key	 k;
	u_char		 pk[crypto_sign_PUBLICKEYBYTES];
	char		 line[512], with[600];

	(void)state;
	make_key_line(line, sizeof(line), pk, "ssh-ed25519", 32, 0);
	assert_int_equal(authority_sign_parse_key(line, strlen(line), &k), 0);
	assert_memory_equal(k.key, pk, 32);
	assert_string_equal(k.line, line);

	/* A comment is allowed and dropped; so is the final newline. */
	snprintf(with, sizeof(with), "%s alice@laptop (work) key\n", line);
	assert_int_equal(authority_sign_parse_key(with, strlen(with), &k), 0);
	assert_string_equal(k.line, line);
}

static void
test_key_invalid(void **state)
{
	struct sign_key	 k;
	u_char		 pk[crypto_sign_PUBLICKEYBYTES];
	char		 line[512], bad[1200];
	size_t		 len;

	(void)state;
	make_key_line(line, sizeof(line), pk, "ssh-ed25519", 32, 0);
	len = strlen(line);

#define REFUSE(s) do {							\
	if (authority_sign_parse_key((s), strlen(s), &k) == 0)		\
		fail_msg("accepted bad key line \"%s\"", (s));		\
} while (0)
	REFUSE("");
	REFUSE("ssh-ed25519");
	REFUSE("ssh-ed25519 ");
	snprintf(bad, sizeof(bad), "ssh-rsa %s", line + 12);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "ssh-ed25519  %s", line + 12);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), " %s", line);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "%s ", line);	/* space, no comment */
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "%s\n\n", line);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "%s\nssh-ed25519 %s", line, line + 12);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "%s comment\x1b]0;x\x07", line);
	REFUSE(bad);
	snprintf(bad, sizeof(bad), "%s\tcomment", line);
	REFUSE(bad);
	/* Base64 that is cut, unpadded or altered. */
	memcpy(bad, line, len - 1);
	bad[len - 1] = '\0';
	REFUSE(bad);
	memcpy(bad, line, len);
	bad[len - 1] = '=';			/* not base64 there */
	bad[len] = '\0';
	REFUSE(bad);
	memcpy(bad, line, len);
	bad[20] = '*';
	REFUSE(bad);
	/* The blob: another type inside, a short key, trailing bytes. */
	make_key_line(bad, sizeof(bad), pk, "ssh-ed25518", 32, 0);
	REFUSE(bad);
	make_key_line(bad, sizeof(bad), pk, "ssh-ed25519", 31, 0);
	REFUSE(bad);
	make_key_line(bad, sizeof(bad), pk, "ssh-ed25519", 32, 1);
	REFUSE(bad);
	/* A line over the bound, even with a valid start. */
	snprintf(bad, sizeof(bad), "%s ", line);
	memset(bad + len + 1, 'c', sizeof(bad) - len - 2);
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(authority_sign_parse_key(bad, strlen(bad), &k),
	    TUNL_ERR_LENGTH);
	/* An embedded NUL. */
	memcpy(bad, line, len + 1);
	assert_int_not_equal(authority_sign_parse_key(bad, len + 1, &k), 0);
	assert_int_not_equal(authority_sign_parse_key(NULL, 0, &k), 0);
#undef REFUSE
}

static void
test_cert_check(void **state)
{
	static const char good[] =
	    "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5 c\n";
	static const char *const bad[] = {
		"",
		"ssh-ed25519-cert-v01@openssh.com AAAA",
		"ssh-ed25519-cert-v01@openssh.com \n",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n",
		"ssh-ed25519-cert-v01@openssh.com AAAA\x1b\n",
		"ssh-ed25519-cert-v01@openssh.com AAAA\nX\n",
	};
	size_t	 i;

	(void)state;
	assert_int_equal(authority_sign_check_cert(good, strlen(good)), 0);
	assert_int_equal(authority_sign_check_cert(
	    "ssh-ed25519-cert-v01@openssh.com AAAA\n", 38), 0);
	for (i = 0; i < TUNL_NITEMS(bad); i++) {
		if (authority_sign_check_cert(bad[i], strlen(bad[i])) == 0)
			fail_msg("accepted bad certificate %zu", i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_valid),
		cmocka_unit_test(test_mint_bounds),
		cmocka_unit_test(test_mint_invalid),
		cmocka_unit_test(test_token_request),
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_key_invalid),
		cmocka_unit_test(test_cert_check),
	};

	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
