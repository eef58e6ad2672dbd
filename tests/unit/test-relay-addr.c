/*
 * test-relay-addr.c: the relay's address and host key as the customer's
 * line carries them (lib/relay-addr.c), and ids as people type them
 * (id_normalise).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tunl.h"

/* An ed25519 public key (made for this test, not any machine's). */
#define ED_B64	"AAAAC3NzaC1lZDI1NTE5AAAAINYIq6bdib8IStO9iRUev63b1qKqWEEglxiwcygovyh5"

static void
accept_addr(const char *in, const char *host, u_int port, int v6,
    const char *printed)
{
	struct relay_addr	 a;
	const char		*why = "x";
	char			 out[RELAY_ADDR_MAX];

	if (relay_addr_parse(in, &a, &why) != 0)
		fail_msg("%s refused: %s", in, why);
	assert_null(why);
	assert_string_equal(a.host, host);
	assert_int_equal(a.port, port);
	assert_int_equal(a.v6, v6);
	assert_int_equal(relay_addr_format(&a, out, sizeof(out)), 0);
	assert_string_equal(out, printed);
}

static void
refuse_addr(const char *in, const char *want)
{
	struct relay_addr	 a;
	const char		*why = NULL;

	memset(&a, 0x55, sizeof(a));
	if (relay_addr_parse(in, &a, &why) == 0)
		fail_msg("%s accepted", in);
	assert_non_null(why);
	if (want != NULL && strstr(why, want) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", in, why, want);
	assert_string_equal(a.host, "");
	assert_int_equal(a.port, 0);
}

static void
test_addr_accepts(void **state)
{
	(void)state;
	accept_addr("relay.example.com", "relay.example.com", 0, 0,
	    "relay.example.com");
	accept_addr("relay.example.com:2222", "relay.example.com", 2222, 0,
	    "relay.example.com:2222");
	accept_addr("Relay-1.Example.COM:22", "Relay-1.Example.COM", 22, 0,
	    "Relay-1.Example.COM:22");
	accept_addr("relay", "relay", 0, 0, "relay");
	accept_addr("127.0.0.1:65535", "127.0.0.1", 65535, 0,
	    "127.0.0.1:65535");
	accept_addr("192.0.2.7:1", "192.0.2.7", 1, 0, "192.0.2.7:1");
	accept_addr("[2001:db8::7]:2222", "2001:db8::7", 2222, 1,
	    "[2001:db8::7]:2222");
	accept_addr("[::1]", "::1", 0, 1, "[::1]");
	accept_addr("[::ffff:192.0.2.7]:22", "::ffff:192.0.2.7", 22, 1,
	    "[::ffff:192.0.2.7]:22");
	/* 63-byte labels are the most DNS allows. */
	accept_addr("a23456789012345678901234567890123456789012345678901234567890123"
	    ".b", "a23456789012345678901234567890123456789012345678901234567890123"
	    ".b", 0, 0, "a23456789012345678901234567890123456789012345678901234567890123.b");
}

static void
test_addr_refuses(void **state)
{
	char	 big[RELAY_ADDR_MAX + 8];

	(void)state;
	refuse_addr(NULL, "empty");
	refuse_addr("", "empty");
	refuse_addr("2001:db8::7", "brackets");
	refuse_addr("::1", "brackets");
	refuse_addr("2001:db8::7:22", "brackets");
	refuse_addr("[2001:db8::7", "missing ']'");
	refuse_addr("[2001:db8::7]2222", "only \":PORT\"");
	refuse_addr("[2001:db8::7]:", "port");
	refuse_addr("[]:22", "IPv6");
	refuse_addr("[fe80::1%eth0]:22", "IPv6");
	refuse_addr("[relay.example.com]", "IPv6");
	refuse_addr("[12345::1]", "IPv6");
	refuse_addr("relay:0", "port");
	refuse_addr("relay:022", "port");
	refuse_addr("relay:65536", "port");
	refuse_addr("relay:99999999999999999999", "port");
	refuse_addr("relay:+22", "port");
	refuse_addr("relay:-1", "port");
	refuse_addr("relay:22x", "port");
	refuse_addr("relay: 22", "port");
	refuse_addr(":22", "host name");
	refuse_addr("-oProxyCommand=x", "host name");
	refuse_addr("relay-.example", "host name");
	refuse_addr("relay..example", "host name");
	refuse_addr(".relay", "host name");
	refuse_addr("relay.", "host name");
	refuse_addr("re lay", "host name");
	refuse_addr("user@relay", "host name");
	refuse_addr("relay_1", "host name");
	refuse_addr("rélay", "host name");
	refuse_addr("a234567890123456789012345678901234567890123456789012345678901234",
	    "host name");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refuse_addr(big, "too long");
}

static void
test_addr_format(void **state)
{
	struct relay_addr	 a;
	char			 out[16];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_true(strlen("2001:db8::7") < sizeof(a.host));
	memcpy(a.host, "2001:db8::7", sizeof("2001:db8::7"));
	a.v6 = 1;
	a.port = 65535;
	/* "[2001:db8::7]:65535" does not fit in 16 bytes. */
	assert_int_equal(relay_addr_format(&a, out, sizeof(out)),
	    TUNL_ERR_LENGTH);
	assert_string_equal(out, "");
	a.port = 0;
	assert_int_equal(relay_addr_format(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "[2001:db8::7]");
	a.port = 70000;
	assert_int_equal(relay_addr_format(&a, out, sizeof(out)),
	    TUNL_ERR_RANGE);
}

static void
test_hostkey(void **state)
{
	char		 out[RELAY_HOSTKEY_MAX], small[32];
	const char	*why;

	(void)state;
	assert_int_equal(relay_hostkey_parse("ssh-ed25519 " ED_B64, out,
	    sizeof(out), &why), 0);
	assert_string_equal(out, "ssh-ed25519 " ED_B64);
	/* A .pub line's comment is dropped. */
	assert_int_equal(relay_hostkey_parse("ssh-ed25519 " ED_B64
	    " root@relay", out, sizeof(out), &why), 0);
	assert_string_equal(out, "ssh-ed25519 " ED_B64);

	/* The blob names another type than the line. */
	assert_int_not_equal(relay_hostkey_parse("ssh-rsa " ED_B64, out,
	    sizeof(out), &why), 0);
	assert_non_null(strstr(why, "does not match"));
	assert_string_equal(out, "");
	assert_int_not_equal(relay_hostkey_parse("ssh-dss " ED_B64, out,
	    sizeof(out), &why), 0);
	assert_non_null(strstr(why, "not a host key type"));
	assert_int_not_equal(relay_hostkey_parse("SHA256:abc", out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519", out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 ", out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 AAAA!AAA", out,
	    sizeof(out), &why), 0);
	assert_non_null(strstr(why, "base64"));
	/* Not a multiple of 4, padding in the middle, a blob of 3 bytes. */
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 AAAAC3N", out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 AA==AAAA", out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 AAAA", out,
	    sizeof(out), &why), 0);
	/* Only the type, no key after it in the blob. */
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5", out, sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse("ssh-ed25519  " ED_B64, out,
	    sizeof(out), &why), 0);
	assert_int_not_equal(relay_hostkey_parse(NULL, out, sizeof(out),
	    &why), 0);
	assert_int_equal(relay_hostkey_parse("ssh-ed25519 " ED_B64, small,
	    sizeof(small), &why), TUNL_ERR_LENGTH);
	assert_string_equal(small, "");
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_hostkey_load(void **state)
{
	char		 dir[] = "/tmp/test-relay-addr.XXXXXX", path[256];
	char		 link[256], out[RELAY_HOSTKEY_MAX], *big;
	const char	*why;
	size_t		 n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key.pub", dir);
	snprintf(link, sizeof(link), "%s/link.pub", dir);

	write_file(path, "ssh-ed25519 " ED_B64 " root@relay\n",
	    strlen("ssh-ed25519 " ED_B64 " root@relay\n"));
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why), 0);
	assert_string_equal(out, "ssh-ed25519 " ED_B64);
	/* Only the first line counts; no newline at all is fine. */
	write_file(path, "ssh-ed25519 " ED_B64, strlen("ssh-ed25519 " ED_B64));
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why), 0);
	write_file(path, "# comment\nssh-ed25519 " ED_B64 "\n",
	    strlen("# comment\nssh-ed25519 " ED_B64 "\n"));
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why),
	    TUNL_ERR_INVALID);
	/* A NUL inside the line. */
	write_file(path, "ssh-ed25519 \0" ED_B64 "\n",
	    strlen("ssh-ed25519 ") + 1 + strlen(ED_B64) + 1);
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why),
	    TUNL_ERR_INVALID);
	assert_non_null(why);
	/* A first line longer than any key and comment. */
	n = RELAY_HOSTKEY_MAX + 1024;
	assert_non_null(big = malloc(n));
	memset(big, 'A', n);
	memcpy(big, "ssh-ed25519 ", 12);
	write_file(path, big, n);
	free(big);
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why),
	    TUNL_ERR_INVALID);
	assert_string_equal(why, "its first line is too long");
	/* Not followed through a link; a directory is not a key file. */
	write_file(path, "ssh-ed25519 " ED_B64 "\n",
	    strlen("ssh-ed25519 " ED_B64 "\n"));
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(relay_hostkey_load(link, out, sizeof(out), &why),
	    TUNL_ERR_SYSTEM);
	assert_int_equal(relay_hostkey_load(dir, out, sizeof(out), &why),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(relay_hostkey_load(path, out, sizeof(out), &why),
	    TUNL_ERR_SYSTEM);
	assert_int_equal(rmdir(dir), 0);
}

static void
expect_id(const char *in, const char *want)
{
	char	 out[ID_LEN_MAX];

	if (id_normalise(in, out, sizeof(out)) != 0)
		fail_msg("\"%s\" refused", in);
	assert_string_equal(out, want);
	assert_int_equal(id_check(out), 0);
}

static void
refuse_id(const char *in)
{
	char	 out[ID_LEN_MAX];

	memcpy(out, "junk", 5);
	if (id_normalise(in, out, sizeof(out)) == 0)
		fail_msg("\"%s\" accepted as \"%s\"", in, out);
	assert_string_equal(out, "");
}

/* Strict padded base64, as a .pub line and a certificate file hold it. */
static void
test_b64(void **state)
{
	u_char	 out[8];
	size_t	 n;

	(void)state;
	assert_int_equal(tunl_b64_decode("TWFu", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(tunl_b64_decode("TWE=", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tunl_b64_decode("TQ==", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(out, "M", 1);
	assert_int_equal(tunl_b64_decode("+/+/", 4, out, sizeof(out), &n), 0);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
	/* Unpadded, padding inside, a bad character, too long for out. */
	assert_int_not_equal(tunl_b64_decode("TQ", 2, out, sizeof(out), &n),
	    0);
	assert_int_not_equal(tunl_b64_decode("TQ==TWFu", 8, out, sizeof(out),
	    &n), 0);
	assert_int_not_equal(tunl_b64_decode("T=Fu", 4, out, sizeof(out), &n),
	    0);
	assert_int_not_equal(tunl_b64_decode("TW-u", 4, out, sizeof(out), &n),
	    0);
	assert_int_equal(tunl_b64_decode("TWFuTWFuTWFu", 12, out, sizeof(out),
	    &n), TUNL_ERR_LENGTH);
	assert_int_not_equal(tunl_b64_decode("", 0, out, sizeof(out), &n), 0);
}

static void
test_id_normalise(void **state)
{
	char	 in[ID_INPUT_MAX + 8], small[ID_LEN_MAX - 1];
	size_t	 n;

	(void)state;
	/* Four words from the list, whatever they are. */
	snprintf(in, sizeof(in), "%s-%s-%s-%s", id_word(0), id_word(1),
	    id_word(2), id_word(2047));
	expect_id(in, in);
#define CANON	"aardvark-abide-ability-able"
	expect_id(CANON, CANON);
	expect_id("AARDVARK-ABIDE-ABILITY-ABLE", CANON);
	expect_id("Aardvark Abide Ability Able", CANON);
	expect_id("  aardvark  abide\tability - able  ", CANON);
	expect_id("aardvark--abide__ability-able-", CANON);
	expect_id("-aardvark-abide-ability-able", CANON);

	refuse_id(NULL);
	refuse_id("");
	refuse_id("   ");
	refuse_id("aardvark-abide-ability");
	refuse_id(CANON "-able");
	refuse_id("aardvarkabideabilityable");
	refuse_id("aardvark.abide.ability.able");
	refuse_id(CANON ";");
	refuse_id("aardvark-abide-ability-ab1e");
	refuse_id("aardvark-abide-ability-xyzzy");
	refuse_id("aardvark-abide-ability-\xc3\xa1" "ble");
	refuse_id(CANON "\n");
	/* Bounded: too long for an id, and too long to look at. */
	refuse_id("aardvarkaardvark-abide-ability-able");
	memset(in, ' ', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	memcpy(in + sizeof(in) - 1 - strlen(CANON), CANON, strlen(CANON));
	refuse_id(in);
	n = ID_INPUT_MAX - 1 - strlen(CANON);
	memset(in, ' ', n);
	memcpy(in + n, CANON, strlen(CANON) + 1);
	assert_int_equal(strlen(in), ID_INPUT_MAX - 1);
	expect_id(in, CANON);
	/* out must hold any id. */
	assert_int_not_equal(id_normalise(CANON, small,
	    sizeof(small)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_accepts),
		cmocka_unit_test(test_addr_refuses),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_hostkey),
		cmocka_unit_test(test_hostkey_load),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_id_normalise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
