/*
 * test-shell-args.c: tunl-shell's command grammar (shell-args.c) and its
 * reading of authorized_keys lines (shell-identity.c), on good commands
 * and hostile ones.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "tunl.h"
#include "shell.h"

#define TTL_MAX	240

static char	 id1[ID_LEN_MAX], id2[ID_LEN_MAX];

/* shell-identity.c refuses through tunl-shell.c; here that is a failure. */
void
shell_refuse(int status, const char *fmt, ...)
{
	fail_msg("shell_refuse(%d, %s)", status, fmt);
	abort();
}

static enum shell_args_err
parse(enum shell_role role, const char *cmd, struct shell_cmd *c, char *err,
    size_t errlen)
{
	return shell_args_parse(role, cmd, strlen(cmd), TTL_MAX, c, err,
	    errlen);
}

static enum shell_args_err
cust(const char *cmd, struct shell_cmd *c)
{
	char	 err[512];

	return parse(SHELL_CUSTOMER, cmd, c, err, sizeof(err));
}

static enum shell_args_err
eng(const char *cmd, struct shell_cmd *c)
{
	char	 err[512];

	return parse(SHELL_ENGINEER, cmd, c, err, sizeof(err));
}

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() == -1 || id_generate(id1, sizeof(id1)) != 0)
		return -1;
	do {
		if (id_generate(id2, sizeof(id2)) != 0)
			return -1;
	} while (strcmp(id1, id2) == 0);
	return 0;
}

static void
test_split(void **state)
{
	char	 w[SHELL_WORDS_MAX][SHELL_WORD_MAX], cmd[SHELL_CMD_MAX + 2];
	u_int	 n, i;

	(void)state;
	assert_int_equal(shell_args_split("", 0, w, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(shell_args_split("a b\tc", 5, w, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "a");
	assert_string_equal(w[1], "b");
	assert_string_equal(w[2], "c");
	/* Only what len covers. */
	assert_int_equal(shell_args_split("ab cd", 2, w, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(w[0], "ab");
	/* Empty words: leading, trailing, doubled separators. */
	assert_int_equal(shell_args_split(" a", 2, w, &n), TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("a ", 2, w, &n), TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("a  b", 4, w, &n), TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("a \tb", 4, w, &n),
	    TUNL_ERR_INVALID);
	/* No quotes or escapes: they are bytes of a word. */
	assert_int_equal(shell_args_split("'a b'", 5, w, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(w[0], "'a");
	assert_int_equal(shell_args_split("a\\ b", 4, w, &n), 0);
	assert_string_equal(w[0], "a\\");
	/* Control bytes, NUL, newline, DEL, 8-bit and UTF-8 bytes. */
	assert_int_equal(shell_args_split("a\0b", 3, w, &n), TUNL_ERR_NUL);
	assert_int_equal(shell_args_split("a\nb", 3, w, &n), TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("a\rb", 3, w, &n), TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("a\x7f", 2, w, &n),
	    TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("caf\xc3\xa9", 5, w, &n),
	    TUNL_ERR_INVALID);
	assert_int_equal(shell_args_split("\x9b" "31m", 4, w, &n),
	    TUNL_ERR_INVALID);
	/* Bounds: words, word length, command length. */
	strcpy(cmd, "a");
	for (i = 1; i < SHELL_WORDS_MAX; i++)
		strcat(cmd, " a");
	assert_int_equal(shell_args_split(cmd, strlen(cmd), w, &n), 0);
	assert_int_equal(n, SHELL_WORDS_MAX);
	strcat(cmd, " a");
	assert_int_equal(shell_args_split(cmd, strlen(cmd), w, &n),
	    TUNL_ERR_LENGTH);
	memset(cmd, 'x', SHELL_WORD_MAX - 1);
	assert_int_equal(shell_args_split(cmd, SHELL_WORD_MAX - 1, w, &n), 0);
	assert_int_equal(strlen(w[0]), SHELL_WORD_MAX - 1);
	memset(cmd, 'x', SHELL_WORD_MAX);
	assert_int_equal(shell_args_split(cmd, SHELL_WORD_MAX, w, &n),
	    TUNL_ERR_LENGTH);
	memset(cmd, 'x', sizeof(cmd));
	assert_int_equal(shell_args_split(cmd, SHELL_CMD_MAX + 1, w, &n),
	    TUNL_ERR_LENGTH);
}

static void
test_customer(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[256];

	(void)state;
	assert_int_equal(cust("", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_STATUS);
	assert_false(c.has_id);
	assert_int_equal(cust("status", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_STATUS);
	snprintf(cmd, sizeof(cmd), "status %s", id1);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_true(c.has_id);
	assert_string_equal(c.id, id1);
	snprintf(cmd, sizeof(cmd), "sign %s", id1);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_SIGN);
	assert_int_equal(cust("sign", &c), SHELL_ARGS_OK);
	snprintf(cmd, sizeof(cmd), "produce %s", id2);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_PRODUCE);
	assert_string_equal(c.id, id2);
	assert_false(c.restricted);
	/* produce --restricted: before or after the id, or with none. */
	snprintf(cmd, sizeof(cmd), "produce %s --restricted", id2);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_PRODUCE);
	assert_true(c.restricted);
	assert_string_equal(c.id, id2);
	snprintf(cmd, sizeof(cmd), "produce --restricted %s", id2);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_true(c.restricted);
	assert_int_equal(cust("produce --restricted", &c), SHELL_ARGS_OK);
	assert_true(c.restricted);
	assert_false(c.has_id);
	assert_int_equal(cust("help", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_HELP);

	/* Engineer verbs are unknown here. */
	assert_int_equal(cust("list", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(cust("new", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(cust("STATUS", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(cust("/bin/sh", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(cust("scp -t .", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(cust("internal-sftp", &c), SHELL_ARGS_UNKNOWN);
	/* Two ids, a bad id, options. */
	snprintf(cmd, sizeof(cmd), "status %s %s", id1, id2);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("status amber", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("status ../../etc/passwd", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(cust("sign AMBER-FALCON-RIVER-SEVEN", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(cust("status --json", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("help me", &c), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "produce %s;id", id1);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_USAGE);
	/* --host: the customer's machine names itself, by a strict grammar. */
	snprintf(cmd, sizeof(cmd), "produce %s --host cust-01.example.com", id2);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.host, "cust-01.example.com");
	assert_int_equal(cust("produce --restricted --host h1", &c),
	    SHELL_ARGS_OK);
	assert_true(c.restricted);
	assert_string_equal(c.host, "h1");
	assert_int_equal(cust("produce --host", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --host -x", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --host a_b", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --host .x", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --host a/b", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --host h1 --host h2", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(cust("status --host h1", &c), SHELL_ARGS_USAGE);
	/* --restricted: once, exactly spelt. */
	assert_int_equal(cust("produce --restricted --restricted", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --restricted=1", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --RESTRICTED", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --read-only", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("produce --share", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("sign --restricted", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("status --restricted", &c), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "produce %s --restricted %s", id1, id1);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_USAGE);
}

static void
test_engineer(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[256];

	(void)state;
	assert_int_equal(eng("", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_HELP);
	assert_int_equal(eng("new", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_NEW);
	assert_int_equal(c.ttl, 0);
	assert_false(c.restricted);
	assert_string_equal(c.case_ref, "");
	assert_int_equal(eng("new --case CS-1234.a_b --customer ACME.Corp "
	    "--ttl 30 --restricted", &c), SHELL_ARGS_OK);
	assert_string_equal(c.case_ref, "CS-1234.a_b");
	assert_string_equal(c.customer, "ACME.Corp");
	assert_int_equal(c.ttl, 30);
	assert_true(c.restricted);
	assert_int_equal(eng("new --restricted --ttl 240", &c), SHELL_ARGS_OK);
	assert_int_equal(c.ttl, TTL_MAX);
	assert_int_equal(eng("list", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_LIST);
	assert_false(c.json);
	assert_int_equal(eng("list --json", &c), SHELL_ARGS_OK);
	assert_true(c.json);
	snprintf(cmd, sizeof(cmd), "show %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_SHOW);
	assert_string_equal(c.id, id1);
	snprintf(cmd, sizeof(cmd), "kill %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_KILL);
	snprintf(cmd, sizeof(cmd), "unlock %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_UNLOCK);
	snprintf(cmd, sizeof(cmd), "join %s --read-only", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_JOIN);
	assert_true(c.read_only);
	snprintf(cmd, sizeof(cmd), "consume --read-only %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_CONSUME);
	snprintf(cmd, sizeof(cmd), "replay %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	snprintf(cmd, sizeof(cmd), "cast %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	snprintf(cmd, sizeof(cmd), "tunnel %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_TUNNEL);
	assert_int_equal(eng("help", &c), SHELL_ARGS_OK);
}

/* get tunl-share and get tunl-share.sha256, for both accounts. */
static void
test_get(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[256], *p;

	(void)state;
	assert_int_equal(cust("get tunl-share", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_GET);
	assert_false(c.get_hash);
	assert_false(c.has_id);
	assert_int_equal(cust("get tunl-share.sha256", &c), SHELL_ARGS_OK);
	assert_true(c.get_hash);
	snprintf(cmd, sizeof(cmd), "get tunl-share %s", id1);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_true(c.has_id);
	assert_string_equal(c.id, id1);
	/* The id as read aloud: words, any case. */
	snprintf(cmd, sizeof(cmd), "get tunl-share %s", id1);
	for (p = cmd + strlen("get tunl-share "); *p != '\0'; p++)
		*p = *p == '-' ? ' ' : (char)toupper((u_char)*p);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.id, id1);
	assert_int_equal(eng("get tunl-share", &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_GET);
	assert_int_equal(eng("get tunl-share.sha256", &c), SHELL_ARGS_OK);
	assert_true(c.get_hash);
	/* Nothing else can be got, and an engineer names no session. */
	assert_int_equal(cust("get", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("get /etc/passwd", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("get ../tunl-share", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("get tunl-share.SHA256", &c), SHELL_ARGS_USAGE);
	assert_int_equal(cust("get tunl-share not-an-id", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(cust("get tunl-share --restricted", &c),
	    SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "get tunl-share %s", id1);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("get tunl-broker", &c), SHELL_ARGS_USAGE);
}

static void
test_engineer_hostile(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[2048], err[512];
	size_t			 i;

	(void)state;
	/* Unknown verbs, customer verbs, shell syntax. */
	assert_int_equal(eng("sign", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("produce", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("bash", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("list;id", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("$(id)", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("`id`", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("list|id", &c), SHELL_ARGS_UNKNOWN);
	assert_int_equal(eng("list && id", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("list > /tmp/x", &c), SHELL_ARGS_USAGE);
	/* Missing values, duplicates, unknown and misplaced options. */
	assert_int_equal(eng("new --case", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --ttl", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --case a --case b", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --restricted --restricted", &c),
	    SHELL_ARGS_USAGE);
	/* new --json is for scripts (issue 13); once only. */
	assert_int_equal(eng("new --json", &c), 0);
	assert_int_equal(c.json, 1);
	assert_int_equal(eng("new --json --json", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("show --json x", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --case=a", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new -c a", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --frobnicate", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("list --read-only", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new extra", &c), SHELL_ARGS_USAGE);
	/* An option's value is never taken for another option. */
	assert_int_equal(eng("new --case --restricted", &c), SHELL_ARGS_USAGE);
	/* Values out of their grammar or range. */
	assert_int_equal(eng("new --ttl 0", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --ttl 241", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --ttl -5", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --ttl 0x10", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --ttl 99999999999999999999", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --case a;b", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --case $(id)", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --case ../x", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --customer A'B", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("new --customer a/b", &c), SHELL_ARGS_USAGE);
	memset(cmd, 0, sizeof(cmd));
	strcpy(cmd, "new --case ");
	memset(cmd + strlen(cmd), 'A', 64);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(strlen(c.case_ref), 64);
	strcat(cmd, "A");
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_USAGE);
	/* Ids: missing, malformed, two. */
	assert_int_equal(eng("show", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("kill", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("join --read-only", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("show amber-falcon-river", &c), SHELL_ARGS_USAGE);
	assert_int_equal(eng("show amber-falcon-river-seven-five", &c),
	    SHELL_ARGS_USAGE);
	assert_int_equal(eng("show '%s'", &c), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "kill %s %s", id1, id2);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_USAGE);

	/* The message quotes hostile input escaped and cut short. */
	assert_int_equal(parse(SHELL_ENGINEER, "rm\x1b[2J", &c, err,
	    sizeof(err)), SHELL_ARGS_UNKNOWN);
	assert_string_equal(err, "unknown command \"rm\\x1b[2J\"; try help");
	memset(cmd, 'z', 1000);
	cmd[1000] = '\0';
	assert_int_equal(parse(SHELL_ENGINEER, cmd, &c, err, sizeof(err)),
	    SHELL_ARGS_UNKNOWN);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "command too long"));
	memset(cmd, 'z', 100);
	cmd[100] = '\0';
	assert_int_equal(parse(SHELL_ENGINEER, cmd, &c, err, sizeof(err)),
	    SHELL_ARGS_UNKNOWN);
	assert_non_null(strstr(err, "...\""));
	for (i = 0; err[i] != '\0'; i++)
		assert_true(err[i] >= 0x20 && err[i] < 0x7f);
	/* NUL inside the command (length says so). */
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, "list\0--json", 11,
	    TTL_MAX, &c, err, sizeof(err)), SHELL_ARGS_UNKNOWN);
	assert_non_null(strstr(err, "\\x00"));
}

/* Ids as people type them: any case, words apart or joined by dashes. */
static void
test_spoken_ids(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[256], up[ID_LEN_MAX], spaced[ID_LEN_MAX];
	char			 err[512];
	size_t			 i;

	(void)state;
	for (i = 0; id1[i] != '\0'; i++) {
		up[i] = (char)(id1[i] == '-' ? '-' : id1[i] - 0x20);
		spaced[i] = id1[i] == '-' ? ' ' : id1[i];
	}
	up[i] = spaced[i] = '\0';

	snprintf(cmd, sizeof(cmd), "join %s --read-only", up);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.id, id1);
	assert_true(c.read_only);
	snprintf(cmd, sizeof(cmd), "kill %s", spaced);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_KILL);
	assert_string_equal(c.id, id1);
	/* Spaced words, then an option: the option is not part of the id. */
	snprintf(cmd, sizeof(cmd), "join %s --read-only", spaced);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.id, id1);
	assert_true(c.read_only);
	snprintf(cmd, sizeof(cmd), "token %s", up);
	assert_int_equal(eng(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.id, id1);
	snprintf(cmd, sizeof(cmd), "status %s", spaced);
	assert_int_equal(cust(cmd, &c), SHELL_ARGS_OK);
	assert_string_equal(c.id, id1);
	assert_true(c.has_id);

	/* An extra word after a spoken id is an argument too many. */
	snprintf(cmd, sizeof(cmd), "show %s extra", spaced);
	assert_int_equal(parse(SHELL_ENGINEER, cmd, &c, err, sizeof(err)),
	    SHELL_ARGS_USAGE);
	assert_non_null(strstr(err, "unexpected argument"));
	/* Three words are not an id, nor is an id with an option inside. */
	assert_int_equal(parse(SHELL_ENGINEER, "show Amber Falcon River", &c,
	    err, sizeof(err)), SHELL_ARGS_USAGE);
	assert_non_null(strstr(err, "is not a session id"));
	snprintf(cmd, sizeof(cmd), "show %.*s --json", (int)(strchr(spaced,
	    ' ') - spaced), spaced);
	assert_int_equal(parse(SHELL_ENGINEER, cmd, &c, err, sizeof(err)),
	    SHELL_ARGS_USAGE);
}

static void
test_names(void **state)
{
	char	 s[80];

	(void)state;
	assert_true(shell_args_engineer_ok("alice"));
	assert_true(shell_args_engineer_ok("_a.b-c9"));
	assert_false(shell_args_engineer_ok("Alice"));
	assert_false(shell_args_engineer_ok("9lives"));
	assert_false(shell_args_engineer_ok("-x"));
	assert_false(shell_args_engineer_ok(""));
	assert_false(shell_args_engineer_ok("a b"));
	memset(s, 'a', 32);
	s[32] = '\0';
	assert_true(shell_args_engineer_ok(s));
	s[32] = 'a';
	s[33] = '\0';
	assert_false(shell_args_engineer_ok(s));
	assert_true(shell_args_case_ok("X"));
	assert_false(shell_args_case_ok(""));
	assert_false(shell_args_case_ok("-x"));
	assert_false(shell_args_customer_ok("a b"));
}

/* A key blob: string "ssh-ed25519", string of 32 bytes. */
static void
ed25519_blob(u_char fill, u_char *blob, char *b64, size_t b64len)
{
	memset(blob, 0, 51);
	blob[3] = 11;
	memcpy(blob + 4, "ssh-ed25519", 11);
	blob[18] = 32;
	memset(blob + 19, fill, 32);
	sodium_bin2base64(b64, b64len, blob, 51,
	    sodium_base64_VARIANT_ORIGINAL);
}

static int
keyline(const char *line, const u_char *blob, char *name)
{
	return engineer_keyline(line, strlen(line), blob, 51, name,
	    SHELL_ENGINEER_MAX);
}

static void
test_keyline(void **state)
{
	u_char	 mine[51], other[51];
	char	 b64[128], ob64[128], line[1024], name[SHELL_ENGINEER_MAX];

	(void)state;
	ed25519_blob(7, mine, b64, sizeof(b64));
	ed25519_blob(9, other, ob64, sizeof(ob64));

	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEER=alice\" "
	    "ssh-ed25519 %s alice@laptop", b64);
	assert_int_equal(keyline(line, mine, name), 0);
	assert_string_equal(name, "alice");
	/* Another key on the line. */
	assert_int_equal(keyline(line, other, name), TUNL_ERR_NOT_FOUND);
	assert_string_equal(name, "");
	/* Several options, quoted commas and spaces, escaped quotes. */
	snprintf(line, sizeof(line), "no-pty,from=\"10.0.0.1,10.0.0.2\","
	    "command=\"echo \\\"a b\\\"\",ENVIRONMENT=\"OTHER=1\","
	    "environment=\"TUNL_ENGINEER=bob.smith\",restrict "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), 0);
	assert_string_equal(name, "bob.smith");
	/* The key without a name, or with a bad one. */
	snprintf(line, sizeof(line), "ssh-ed25519 %s carol", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_DENIED);
	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEER=Eve Evil\" "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_DENIED);
	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEER=a\x1b[2J\" "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_DENIED);
	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEERX=mallory\" "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_DENIED);
	/* Two names: malformed. */
	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEER=a\","
	    "environment=\"TUNL_ENGINEER=b\" ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_INVALID);
	/* A CA line is never an engineer's own key. */
	snprintf(line, sizeof(line), "cert-authority,environment=\""
	    "TUNL_ENGINEER=alice\" ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_NOT_FOUND);
	/* Comments, blanks, garbage, unterminated quotes. */
	assert_int_equal(keyline("# environment=\"TUNL_ENGINEER=x\"", mine,
	    name), TUNL_ERR_NOT_FOUND);
	assert_int_equal(keyline("   ", mine, name), TUNL_ERR_NOT_FOUND);
	assert_int_equal(keyline("", mine, name), TUNL_ERR_NOT_FOUND);
	snprintf(line, sizeof(line), "environment=\"TUNL_ENGINEER=alice "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_INVALID);
	snprintf(line, sizeof(line), "environment=TUNL_ENGINEER=alice "
	    "ssh-ed25519 %s", b64);
	assert_int_equal(keyline(line, mine, name), TUNL_ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %.20s", b64);
	assert_int_not_equal(keyline(line, mine, name), 0);
	assert_int_not_equal(keyline("ssh-ed25519", mine, name), 0);
	assert_int_not_equal(keyline("x y z", mine, name), 0);
	assert_int_not_equal(engineer_keyline("a\0b", 3, mine, 51, name,
	    sizeof(name)), 0);
}

/* The relay in the customer's line: relay_address, else this connection. */
static void
test_line_relay(void **state)
{
	struct shell	 sh;
	char		 out[RELAY_ADDR_MAX], key[RELAY_HOSTKEY_MAX];
	char		 pin[RELAY_PIN_MAX], capub[64];
	char		 path[] = "/tmp/test-shell-line.XXXXXX";
	char		 cadir[] = "/tmp/test-shell-ca.XXXXXX";
	const char	*line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYIq6bdib8"
			    "IStO9iRUev63b1qKqWEEglxiwcygovyh5 root@relay\n";
	int		 fd, is_ca;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	cfg_defaults(&sh.cfg);
	tunl_strlcpy(sh.cfg.host_ca_key, "/nonexistent/host_ca",
	    sizeof(sh.cfg.host_ca_key));
	tunl_strlcpy(sh.relay_host, "192.0.2.7", sizeof(sh.relay_host));
	tunl_strlcpy(sh.relay_port, "22", sizeof(sh.relay_port));
	assert_int_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.7");
	tunl_strlcpy(sh.relay_port, "2222", sizeof(sh.relay_port));
	assert_int_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.7:2222");
	tunl_strlcpy(sh.relay_host, "2001:db8::7", sizeof(sh.relay_host));
	assert_int_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "[2001:db8::7]:2222");
	tunl_strlcpy(sh.relay_port, "22", sizeof(sh.relay_port));
	assert_int_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "[2001:db8::7]");
	/* What tunl-share would refuse is not printed. */
	tunl_strlcpy(sh.relay_host, "fe80::1%eth0", sizeof(sh.relay_host));
	assert_int_not_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	sh.relay_host[0] = '\0';
	assert_int_not_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	/* relay_address wins, as configured. */
	tunl_strlcpy(sh.cfg.relay_address, "relay.example.com:2022",
	    sizeof(sh.cfg.relay_address));
	assert_int_equal(shell_line_relay(&sh, out, sizeof(out)), 0);
	assert_string_equal(out, "relay.example.com:2022");

	/* The host key from relay_host_key, without its comment. */
	assert_true((fd = mkstemp(path)) != -1);
	assert_true(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	close(fd);
	tunl_strlcpy(sh.cfg.relay_host_key, path, sizeof(sh.cfg.relay_host_key));
	assert_int_equal(shell_line_host_key(&sh, key, sizeof(key), &is_ca), 0);
	assert_string_equal(key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYIq6b"
	    "dib8IStO9iRUev63b1qKqWEEglxiwcygovyh5");
	assert_int_equal(is_ca, 0);
	/* The pin as known_hosts has it: "[host]:port" off port 22. */
	assert_int_equal(shell_line_pin(&sh, pin, sizeof(pin), &is_ca), 0);
	assert_string_equal(pin, "[relay.example.com]:2022 ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAINYIq6bdib8IStO9iRUev63b1qKqWEEglxiwcygo"
	    "vyh5");
	/* A host CA's .pub, when there is one, is the pin instead. */
	assert_non_null(mkdtemp(cadir));
	snprintf(capub, sizeof(capub), "%s/ca.pub", cadir);
	assert_true((fd = open(capub, O_WRONLY | O_CREAT | O_EXCL, 0644)) !=
	    -1);
	assert_true(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	close(fd);
	snprintf(sh.cfg.host_ca_key, sizeof(sh.cfg.host_ca_key), "%s/ca",
	    cadir);
	tunl_strlcpy(sh.cfg.relay_address, "relay.example.com",
	    sizeof(sh.cfg.relay_address));
	assert_int_equal(shell_line_pin(&sh, pin, sizeof(pin), &is_ca), 0);
	assert_int_equal(is_ca, 1);
	assert_string_equal(pin, "@cert-authority relay.example.com "
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYIq6bdib8IStO9iRUev63b1qKq"
	    "WEEglxiwcygovyh5");
	/* One that holds no key is an error, not a fall back. */
	assert_int_equal(truncate(capub, 0), 0);
	assert_int_not_equal(shell_line_host_key(&sh, key, sizeof(key),
	    &is_ca), 0);
	unlink(capub);
	rmdir(cadir);
	unlink(path);
	assert_int_not_equal(shell_line_host_key(&sh, key, sizeof(key), &is_ca), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_customer),
		cmocka_unit_test(test_engineer),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_engineer_hostile),
		cmocka_unit_test(test_spoken_ids),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_keyline),
		cmocka_unit_test(test_line_relay),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
