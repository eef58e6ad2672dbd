/* test-cfg.c: the configuration parser, good files and hostile ones. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
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

#define NAME	"t.conf"

/* Parse a C string; on failure the message is left in err. */
static int
parse(struct tunl_cfg *cfg, const char *text, char *err, size_t errlen)
{
	return cfg_parse(cfg, text, strlen(text), NAME, err, errlen);
}

/* The text must fail with exactly this message and leave cfg alone. */
static void
expect_error_len(const char *text, size_t len, const char *msg)
{
	struct tunl_cfg	 cfg, before;
	char		 err[512];

	cfg_defaults(&cfg);
	cfg.token_length = 11;		/* a mark that must survive */
	before = cfg;
	if (cfg_parse(&cfg, text, len, NAME, err, sizeof(err)) !=
	    TUNL_ERR_CONFIG)
		fail_msg("accepted: \"%.*s\"", (int)(len > 80 ? 80 : len),
		    text);
	assert_string_equal(err, msg);
	assert_true(cfg_equal(&cfg, &before));
	/* No room for a message is no reason to crash. */
	assert_int_equal(cfg_parse(&cfg, text, len, NAME, NULL, 0),
	    TUNL_ERR_CONFIG);
}

static void
expect_error(const char *text, const char *msg)
{
	expect_error_len(text, strlen(text), msg);
}

/* A string of n copies of c. */
static char *
repeat(char c, size_t n)
{
	char	*s;

	assert_non_null(s = malloc(n + 1));
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_defaults(void **state)
{
	struct tunl_cfg	 cfg, empty;
	char		 err[256];

	(void)state;
	cfg_defaults(&cfg);
	assert_string_equal(cfg.database, LOCALSTATEDIR "/lib/tunl/tunl.db");
	assert_string_equal(cfg.runtime_dir, "/run/tunl");
	assert_string_equal(cfg.recording_dir, LOCALSTATEDIR "/log/tunl");
	assert_string_equal(cfg.token_key, SYSCONFDIR "/tunl/token.key");
	assert_string_equal(cfg.relay_address, "");
	assert_string_equal(cfg.relay_host_key,
	    "/etc/ssh/ssh_host_ed25519_key.pub");
	assert_string_equal(cfg.ca_key, SYSCONFDIR "/tunl/user_ca");
	assert_string_equal(cfg.relay_group, "tunl");
	assert_string_equal(cfg.customer_user, "tunl");
	assert_string_equal(cfg.engineer_user, "support");
	assert_string_equal(cfg.broker_user, "tunl-broker");
	assert_string_equal(cfg.principals_user, "tunlauth");
	assert_string_equal(cfg.key_group, "tunl-auth");
	assert_int_equal(cfg.token_required, 1);
	assert_int_equal(cfg.token_length, TOKEN_DIGITS_DEFAULT);
	assert_int_equal(cfg.session_ttl, 240);
	assert_int_equal(cfg.token_ttl, 60);
	assert_int_equal(cfg.cert_ttl, 60);
	assert_int_equal(cfg.failure_cap, 5);
	assert_int_equal(cfg.rate_limit, 10);
	assert_int_equal(cfg.rate_window, 600);
	assert_int_equal(cfg.sign_cooldown, 10);
	assert_int_equal(cfg.max_consumers, 8);
	assert_int_equal(cfg.max_consumers_total, 256);
	assert_int_equal(cfg.consumer_backlog, 1024 * 1024);
	assert_int_equal(cfg.producer_grace, 120);
	assert_int_equal(cfg.consumer_stuck, 10);
	assert_int_equal(cfg.recording_retention, 90);
	assert_int_equal(cfg.event_retention, 365);
	assert_int_equal(cfg.nwebhooks, 0);
	assert_int_equal(cfg.log_level, TUNL_LOG_INFO);
	assert_string_equal(CFG_PATH_DEFAULT, SYSCONFDIR "/tunl/tunl.conf");

	/* An empty file, or one of comments only, is all defaults. */
	memset(&empty, 0xa5, sizeof(empty));
	assert_int_equal(cfg_parse(&empty, NULL, 0, NAME, err, sizeof(err)),
	    0);
	assert_true(cfg_equal(&empty, &cfg));
	assert_string_equal(err, "");
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(parse(&empty, "# nothing\n\n   \n\t# here\n", err,
	    sizeof(err)), 0);
	assert_true(cfg_equal(&empty, &cfg));
	/* Defaults are zero-filled, so copies match byte for byte too. */
	assert_int_equal(memcmp(&empty, &cfg, sizeof(cfg)), 0);

	assert_string_equal(cfg_log_level_name(TUNL_LOG_DEBUG), "debug");
	assert_null(cfg_log_level_name((enum log_level)4));
}

static const char every_key[] =
    "database = /srv/tunl/db/registry.sqlite\n"
    "runtime_dir = /var/run/tunl-test\n"
    "recording_dir = /srv/tunl/rec\n"
    "token_key = /srv/tunl/keys/token.key\n"
    "ca_key = /srv/tunl/keys/ca\n"
    "relay_group = relay_2\n"
    "customer_user = cust-1\n"
    "engineer_user = _eng\n"
    "broker_user = broker\n"
    "principals_user = pcmd\n"
    "key_group = keys\n"
    "recording_group = recs\n"
    "token_required = no\n"
    "token_length = 12\n"
    "session_ttl = 10080\n"
    "token_ttl = 1440\n"
    "cert_ttl = 1\n"
    "failure_cap = 100\n"
    "rate_limit = 1\n"
    "rate_window = 86400\n"
    "sign_cooldown = 3600\n"
    "max_consumers = 256\n"
    "max_consumers_total = 256\n"
    "consumer_backlog = 64M\n"
    "producer_grace = 0\n"
    "registry_recheck = 5\n"
    "recording_retention = 0\n"
    "recording_max = 2M\n"
    "event_retention = 36500\n"
    "webhook_url = https://hooks.example.com/a?x=1&y=2#frag\n"
    "webhook_url = http://10.0.0.1:8080/b\n"
    "webhook_url = https://c.example\n"
    "webhook_url = https://d.example/%20\n"
    "log_level = debug\n"
    "relay_address = [2001:db8::7]:2222\n"
    "relay_host_key = /srv/tunl/ssh_host_ed25519_key.pub\n"
    "engineer_keys = /srv/tunl/engineers.keys\n";

static void
test_every_key(void **state)
{
	struct tunl_cfg	 cfg;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&cfg, every_key, err, sizeof(err)), 0);
	assert_string_equal(cfg.database, "/srv/tunl/db/registry.sqlite");
	assert_string_equal(cfg.runtime_dir, "/var/run/tunl-test");
	assert_string_equal(cfg.recording_dir, "/srv/tunl/rec");
	assert_string_equal(cfg.token_key, "/srv/tunl/keys/token.key");
	assert_string_equal(cfg.ca_key, "/srv/tunl/keys/ca");
	assert_string_equal(cfg.relay_group, "relay_2");
	assert_string_equal(cfg.customer_user, "cust-1");
	assert_string_equal(cfg.engineer_user, "_eng");
	assert_string_equal(cfg.broker_user, "broker");
	assert_string_equal(cfg.principals_user, "pcmd");
	assert_string_equal(cfg.key_group, "keys");
	assert_string_equal(cfg.recording_group, "recs");
	assert_int_equal(cfg.token_required, 0);
	assert_int_equal(cfg.token_length, 12);
	assert_int_equal(cfg.session_ttl, 10080);
	assert_int_equal(cfg.token_ttl, 1440);
	assert_int_equal(cfg.cert_ttl, 1);
	assert_int_equal(cfg.failure_cap, 100);
	assert_int_equal(cfg.rate_limit, 1);
	assert_int_equal(cfg.rate_window, 86400);
	assert_int_equal(cfg.sign_cooldown, 3600);
	assert_int_equal(cfg.max_consumers, 256);
	assert_int_equal(cfg.max_consumers_total, 256);
	assert_int_equal(cfg.consumer_backlog, 64 * 1024 * 1024);
	assert_int_equal(cfg.producer_grace, 0);
	assert_int_equal(cfg.registry_recheck, 5);
	assert_int_equal(cfg.recording_retention, 0);
	assert_true(cfg.recording_max == 2 * 1024 * 1024);
	assert_int_equal(cfg.event_retention, 36500);
	assert_int_equal(cfg.nwebhooks, 4);
	assert_string_equal(cfg.webhook_url[0],
	    "https://hooks.example.com/a?x=1&y=2#frag");
	assert_string_equal(cfg.webhook_url[1], "http://10.0.0.1:8080/b");
	assert_string_equal(cfg.webhook_url[2], "https://c.example");
	assert_string_equal(cfg.webhook_url[3], "https://d.example/%20");
	assert_int_equal(cfg.log_level, TUNL_LOG_DEBUG);
	assert_string_equal(cfg.relay_address, "[2001:db8::7]:2222");
	assert_string_equal(cfg.relay_host_key,
	    "/srv/tunl/ssh_host_ed25519_key.pub");
	assert_string_equal(cfg.engineer_keys, "/srv/tunl/engineers.keys");

	/* Sizes: plain bytes, K and M, at both ends of the range. */
	assert_int_equal(parse(&cfg, "consumer_backlog = 65536", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.consumer_backlog, 65536);
	assert_int_equal(parse(&cfg, "consumer_backlog = 64K", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.consumer_backlog, 65536);
	assert_int_equal(parse(&cfg, "consumer_backlog = 1500K", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.consumer_backlog, 1500 * 1024);
	assert_int_equal(parse(&cfg, "consumer_backlog = 67108864", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.consumer_backlog, 64 * 1024 * 1024);

	/* Each level by name; a lone "/" is not a path but "/x" is. */
	assert_int_equal(parse(&cfg, "log_level = error", err, sizeof(err)),
	    0);
	assert_int_equal(cfg.log_level, TUNL_LOG_ERROR);
	assert_int_equal(parse(&cfg, "log_level = verbose", err, sizeof(err)),
	    0);
	assert_int_equal(cfg.log_level, TUNL_LOG_VERBOSE);
	assert_int_equal(parse(&cfg, "log_level = info", err, sizeof(err)),
	    0);
	assert_int_equal(cfg.log_level, TUNL_LOG_INFO);
	assert_int_equal(parse(&cfg, "token_required = yes", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.token_required, 1);
	assert_int_equal(parse(&cfg, "runtime_dir = /x", err, sizeof(err)),
	    0);
	assert_string_equal(cfg.runtime_dir, "/x");
	/* Dots inside names are fine; only "." and ".." components are not. */
	assert_int_equal(parse(&cfg, "database = /a/.b/c../...", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg.database, "/a/.b/c../...");
}

static void
test_comments_whitespace(void **state)
{
	struct tunl_cfg	 cfg;
	char		 err[256];
	const char	*text =
	    "# a comment with = and \x01 and \xff bytes\n"
	    "   # an indented comment\n"
	    "\n"
	    " \t \n"
	    "token_length=9\n"
	    "  session_ttl\t=\t30   \n"
	    "token_ttl =20\r\n"
	    "cert_ttl= 15\t\r\n"
	    "\t#log_level = debug\n"
	    "webhook_url = https://x.example/#not-a-comment\n"
	    "log_level = verbose";		/* no final newline */

	(void)state;
	assert_int_equal(parse(&cfg, text, err, sizeof(err)), 0);
	assert_int_equal(cfg.token_length, 9);
	assert_int_equal(cfg.session_ttl, 30);
	assert_int_equal(cfg.token_ttl, 20);
	assert_int_equal(cfg.cert_ttl, 15);
	assert_int_equal(cfg.nwebhooks, 1);
	assert_string_equal(cfg.webhook_url[0],
	    "https://x.example/#not-a-comment");
	assert_int_equal(cfg.log_level, TUNL_LOG_VERBOSE);
}

/* Every class of fault, each with its exact line. */
static void
test_errors(void **state)
{
	(void)state;
	expect_error("\n\nfoo = 1\n", NAME ":3: unknown key \"foo\"");
	expect_error("token_length = 8\n# again:\ntoken_length = 9\n",
	    NAME ":3: token_length: duplicate key (first set on line 1)");
	expect_error("database\n", NAME ":1: expected \"key = value\"");
	expect_error("\n = 5\n", NAME ":2: missing key before \"=\"");
	expect_error("Token_length = 8\n",
	    NAME ":1: invalid key \"Token_length\"");
	expect_error("token length = 8\n",
	    NAME ":1: invalid key \"token length\"");
	expect_error("\x1b]52;c;eA==\x07 = 1\n",
	    NAME ":1: invalid key \"\\x1b]52;c;eA\"");
	expect_error("log_level = info\ntoken_length =   \n",
	    NAME ":2: token_length: missing value");
	expect_error("#\n#\n#\n#\n#\n#\ntoken_length = 5\n",
	    NAME ":7: token_length: 5 is out of range (6-12)");
	expect_error("token_length = 13\n",
	    NAME ":1: token_length: 13 is out of range (6-12)");
	expect_error("session_ttl = 99999999999999999999999\n",
	    NAME ":1: session_ttl: 99999999999999999999999 is out of range "
	    "(1-10080)");
	expect_error("session_ttl = 0\n",
	    NAME ":1: session_ttl: 0 is out of range (1-10080)");
	expect_error("session_ttl = 1h\n",
	    NAME ":1: session_ttl: \"1h\" is not a number");
	expect_error("session_ttl = -1\n",
	    NAME ":1: session_ttl: \"-1\" is not a number");
	expect_error("session_ttl = 0x10\n",
	    NAME ":1: session_ttl: \"0x10\" is not a number");
	expect_error("rate_window = 9\n",
	    NAME ":1: rate_window: 9 is out of range (10-86400)");
	expect_error("producer_grace = 3601\n",
	    NAME ":1: producer_grace: 3601 is out of range (0-3600)");
	expect_error("event_retention = 36501\n",
	    NAME ":1: event_retention: 36501 is out of range (0-36500)");
	expect_error("recording_retention = -1\n",
	    NAME ":1: recording_retention: \"-1\" is not a number");
	expect_error("consumer_stuck = 1\n",
	    NAME ":1: consumer_stuck: 1 is out of range (2-600)");
	expect_error("max_consumers = 257\n",
	    NAME ":1: max_consumers: 257 is out of range (1-256)");
	expect_error("max_consumers = 0\n",
	    NAME ":1: max_consumers: 0 is out of range (1-256)");
	expect_error("token_required = true\n",
	    NAME ":1: token_required: \"true\" is not yes or no");
	expect_error("token_required = YES\n",
	    NAME ":1: token_required: \"YES\" is not yes or no");
	expect_error("log_level = warn\n",
	    NAME ":1: log_level: \"warn\" is not error, info, verbose or "
	    "debug");

	/* The relay's address, as the customer's line prints it. */
	expect_error("relay_address = 2001:db8::7\n",
	    NAME ":1: relay_address: \"2001:db8::7\": an IPv6 address is "
	    "written in brackets, [ADDRESS]:PORT");
	expect_error("relay_address = relay.example.com:0\n",
	    NAME ":1: relay_address: \"relay.example.com:0\": the port is "
	    "not a number from 1 to 65535");
	expect_error("relay_address = relay.example.com:65536\n",
	    NAME ":1: relay_address: \"relay.example.com:65536\": the port "
	    "is not a number from 1 to 65535");
	expect_error("relay_address = relay.example.com:\n",
	    NAME ":1: relay_address: \"relay.example.com:\": the port is "
	    "not a number from 1 to 65535");
	expect_error("relay_address = [2001:db8::7\n",
	    NAME ":1: relay_address: \"[2001:db8::7\": missing ']' after an "
	    "IPv6 address");
	expect_error("relay_address = [relay.example.com]:22\n",
	    NAME ":1: relay_address: \"[relay.example.com]:22\": not an IPv6 "
	    "address inside [ ]");
	expect_error("relay_address = -relay\n",
	    NAME ":1: relay_address: \"-relay\": not a host name or address "
	    "(letters, digits, '-' and '.')");
	expect_error("relay_address = ssh://relay\n",
	    NAME ":1: relay_address: \"ssh://relay\": the port is not a "
	    "number from 1 to 65535");
	expect_error("relay_address = a\n"
	    "relay_address = b\n",
	    NAME ":2: relay_address: duplicate key (first set on line 1)");
	expect_error("relay_host_key = etc/ssh/key.pub\n",
	    NAME ":1: relay_host_key: path must be absolute");

	/* Sizes. */
	expect_error("consumer_backlog = 63K\n",
	    NAME ":1: consumer_backlog: 63K is out of range (64K-64M)");
	expect_error("consumer_backlog = 65M\n",
	    NAME ":1: consumer_backlog: 65M is out of range (64K-64M)");
	expect_error("consumer_backlog = 65535\n",
	    NAME ":1: consumer_backlog: 65535 is out of range (64K-64M)");
	expect_error("consumer_backlog = 99999999999999999999M\n",
	    NAME ":1: consumer_backlog: 99999999999999999999M is out of "
	    "range (64K-64M)");
	expect_error("consumer_backlog = 1G\n",
	    NAME ":1: consumer_backlog: \"1G\" is not a size (bytes, or a "
	    "number followed by K or M)");
	expect_error("consumer_backlog = M\n",
	    NAME ":1: consumer_backlog: \"M\" is not a size (bytes, or a "
	    "number followed by K or M)");
	expect_error("consumer_backlog = 1k\n",
	    NAME ":1: consumer_backlog: \"1k\" is not a size (bytes, or a "
	    "number followed by K or M)");

	/* Paths. */
	expect_error("database = var/tunl.db\n",
	    NAME ":1: database: path must be absolute");
	expect_error("database = /var/lib/../tunl.db\n",
	    NAME ":1: database: path must not hold \".\" or \"..\" "
	    "components");
	expect_error("ca_key = /etc/tunl/..\n",
	    NAME ":1: ca_key: path must not hold \".\" or \"..\" "
	    "components");
	expect_error("ca_key = /etc/./tunl\n",
	    NAME ":1: ca_key: path must not hold \".\" or \"..\" "
	    "components");
	expect_error("runtime_dir = /run//tunl\n",
	    NAME ":1: runtime_dir: path must not hold an empty component "
	    "(\"//\" or a trailing \"/\")");
	expect_error("runtime_dir = /run/tunl/\n",
	    NAME ":1: runtime_dir: path must not hold an empty component "
	    "(\"//\" or a trailing \"/\")");
	expect_error("runtime_dir = /\n",
	    NAME ":1: runtime_dir: path must not hold an empty component "
	    "(\"//\" or a trailing \"/\")");
	expect_error("database = /var/tunl.db # the registry\n",
	    NAME ":1: database: value holds a space, a control character "
	    "or a non-ASCII byte (a comment must be on its own line)");
	expect_error("database = /var/t\x01.db\n",
	    NAME ":1: database: value holds a space, a control character "
	    "or a non-ASCII byte (a comment must be on its own line)");
	expect_error("database = /var/t\xc3\xa9.db\n",
	    NAME ":1: database: value holds a space, a control character "
	    "or a non-ASCII byte (a comment must be on its own line)");

	/* Names. */
	expect_error("engineer_user = Support\n",
	    NAME ":1: engineer_user: \"Support\" is not a valid name (a "
	    "lower case letter or '_', then letters, digits, '_' or '-')");
	expect_error("relay_group = 1tunl\n",
	    NAME ":1: relay_group: \"1tunl\" is not a valid name (a "
	    "lower case letter or '_', then letters, digits, '_' or '-')");
	expect_error("broker_user = -x\n",
	    NAME ":1: broker_user: \"-x\" is not a valid name (a "
	    "lower case letter or '_', then letters, digits, '_' or '-')");
	expect_error("customer_user = a.b\n",
	    NAME ":1: customer_user: \"a.b\" is not a valid name (a "
	    "lower case letter or '_', then letters, digits, '_' or '-')");
	expect_error("customer_user = a$\n",
	    NAME ":1: customer_user: \"a$\" is not a valid name (a "
	    "lower case letter or '_', then letters, digits, '_' or '-')");

	/* Webhooks. */
	expect_error("webhook_url = ftp://x.example/\n",
	    NAME ":1: webhook_url: URL must start with https:// or http:// "
	    "and name a host");
	expect_error("webhook_url = https://\n",
	    NAME ":1: webhook_url: URL must start with https:// or http:// "
	    "and name a host");
	expect_error("webhook_url = HTTPS://x.example\n",
	    NAME ":1: webhook_url: URL must start with https:// or http:// "
	    "and name a host");
	expect_error("webhook_url = https://a.example/x y\n",
	    NAME ":1: webhook_url: value holds a space, a control character "
	    "or a non-ASCII byte (a comment must be on its own line)");
	expect_error("webhook_url = https://a.example\n"
	    "webhook_url = https://b.example\n"
	    "webhook_url = https://a.example\n",
	    NAME ":3: webhook_url: duplicate URL (first given on line 1)");
	expect_error("webhook_url = https://a.example\n"
	    "webhook_url = https://b.example\n"
	    "webhook_url = https://c.example\n"
	    "webhook_url = https://d.example\n"
	    "webhook_url = https://e.example\n",
	    NAME ":5: webhook_url: more than 4 given");

	/* Rules between keys, reported where the later one was set. */
	expect_error("token_ttl = 300\n",
	    NAME ":1: token_ttl: 300 is longer than session_ttl (240)");
	expect_error("token_ttl = 100\nsession_ttl = 90\n",
	    NAME ":2: session_ttl: 90 is shorter than token_ttl (100)");
	expect_error("max_consumers_total = 4\n\n",
	    NAME ":1: max_consumers_total: 4 is less than max_consumers (8)");
	expect_error("max_consumers_total = 4\nmax_consumers = 5\n",
	    NAME ":2: max_consumers: 5 is more than max_consumers_total (4)");
	/* The tunnel range: both or neither, from 1024, in order. */
	expect_error("tunnel_port_min = 41000\n",
	    NAME ":1: tunnel_port_min and tunnel_port_max: set both (a range "
	    "of relay ports) or neither (no tunnels)");
	expect_error("\ntunnel_port_max = 41000\n",
	    NAME ":2: tunnel_port_min and tunnel_port_max: set both (a range "
	    "of relay ports) or neither (no tunnels)");
	expect_error("tunnel_port_min = 80\ntunnel_port_max = 41000\n",
	    NAME ":1: tunnel_port_min: 80 is below 1024");
	expect_error("tunnel_port_min = 41001\ntunnel_port_max = 41000\n",
	    NAME ":2: tunnel_port_max: 41000 is less than tunnel_port_min "
	    "(41001)");
	expect_error("tunnel_port_min = 41000\ntunnel_port_max = 65536\n",
	    NAME ":2: tunnel_port_max: 65536 is out of range (0-65535)");

	/* NUL bytes, also inside a comment. */
	expect_error_len("log_level = info\nlog\0level = info\n", 34,
	    NAME ":2: line holds a NUL byte");
	expect_error_len("#\n# a \0 comment\n", 16,
	    NAME ":2: line holds a NUL byte");
	expect_error_len("token_length = 8\0", 17,
	    NAME ":1: line holds a NUL byte");
}

/* The first fault wins, and nothing past it is looked at. */
static void
test_first_error(void **state)
{
	(void)state;
	expect_error("token_length = 8\nfoo = 1\ntoken_length = 1\n",
	    NAME ":2: unknown key \"foo\"");
}

static void
test_long_input(void **state)
{
	struct tunl_cfg	 cfg;
	char		 err[512], line[2048], *s, *text;
	size_t		 i, len;

	(void)state;
	/* A line of exactly CFG_LINE_MAX bytes is fine, one more is not. */
	s = repeat('#', CFG_LINE_MAX);
	snprintf(line, sizeof(line), "log_level = debug\n%s\n", s);
	assert_int_equal(parse(&cfg, line, err, sizeof(err)), 0);
	snprintf(line, sizeof(line), "log_level = debug\n%s#\n", s);
	expect_error(line, NAME ":2: line is longer than 1024 bytes");
	/* ... also as the last line, without a newline. */
	snprintf(line, sizeof(line), "\n\n%s#", s);
	expect_error(line, NAME ":3: line is longer than 1024 bytes");
	free(s);

	/* Values over their field's bound. */
	s = repeat('a', CFG_PATH_MAX - 2);
	snprintf(line, sizeof(line), "database = /%s\n", s);
	assert_int_equal(parse(&cfg, line, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.database), CFG_PATH_MAX - 1);
	snprintf(line, sizeof(line), "\ndatabase = /%sa\n", s);
	expect_error(line, NAME ":2: database: path is longer than 255 "
	    "bytes");
	free(s);
	s = repeat('u', CFG_NAME_MAX - 1);
	snprintf(line, sizeof(line), "engineer_user = %s\n", s);
	assert_int_equal(parse(&cfg, line, err, sizeof(err)), 0);
	assert_string_equal(cfg.engineer_user, s);
	snprintf(line, sizeof(line), "engineer_user = %su\n", s);
	expect_error(line, NAME ":1: engineer_user: name is longer than 32 "
	    "bytes");
	free(s);
	s = repeat('h', CFG_URL_MAX - 1 - strlen("https://"));
	snprintf(line, sizeof(line), "webhook_url = https://%s\n", s);
	assert_int_equal(parse(&cfg, line, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.webhook_url[0]), CFG_URL_MAX - 1);
	snprintf(line, sizeof(line), "webhook_url = https://%sh\n", s);
	expect_error(line, NAME ":1: webhook_url: URL is longer than 511 "
	    "bytes");
	free(s);
	/* A long bad value is quoted only in part. */
	s = repeat('x', 200);
	snprintf(line, sizeof(line), "log_level = %s\n", s);
	snprintf(err, sizeof(err), NAME ":1: log_level: \"%.64s...\" is not "
	    "error, info, verbose or debug", s);
	expect_error(line, err);
	free(s);

	/*
	 * The whole file: exactly CFG_FILE_MAX bytes of 100-byte comment
	 * lines parses; one byte more is refused on the line that crosses
	 * the limit (byte 65536 is on line 656).
	 */
	len = CFG_FILE_MAX + 1;
	assert_non_null(text = malloc(len));
	for (i = 0; i < len; i++)
		text[i] = i % 100 == 99 ? '\n' : '#';
	assert_int_equal(cfg_parse(&cfg, text, CFG_FILE_MAX, NAME, err,
	    sizeof(err)), 0);
	expect_error_len(text, len, NAME ":656: file is larger than 65536 "
	    "bytes");
	free(text);
}

/* Text without a terminating NUL, in a buffer of its exact size. */
static void
test_exact_buffer(void **state)
{
	struct tunl_cfg	 cfg;
	const char	*src[] = {
		"log_level = debug",
		"token_length = 10",
		"database = /a",
		"webhook_url = http://h",
		"consumer_backlog = 2M",
		"#",
		"database",
		"=",
		"x =",
	};
	char		 err[256], *p;
	size_t		 i, len;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(src); i++) {
		len = strlen(src[i]);
		assert_non_null(p = malloc(len));
		memcpy(p, src[i], len);
		(void)cfg_parse(&cfg, p, len, NAME, err, sizeof(err));
		free(p);
	}
	assert_non_null(p = malloc(17));
	memcpy(p, "log_level = debug", 17);
	assert_int_equal(cfg_parse(&cfg, p, 17, NAME, err, sizeof(err)), 0);
	assert_int_equal(cfg.log_level, TUNL_LOG_DEBUG);
	free(p);
	/* A name that needs escaping is escaped in the message. */
	assert_int_equal(cfg_parse(&cfg, "x", 1, "a\nb", err, sizeof(err)),
	    TUNL_ERR_CONFIG);
	assert_string_equal(err, "a\\x0ab:1: expected \"key = value\"");
	/* No text but a length: a caller's bug, refused. */
	assert_int_equal(cfg_parse(&cfg, NULL, 5, NAME, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	assert_string_equal(err, NAME ":0: no text");
	/* A short err buffer gets a truncated, terminated message. */
	assert_int_equal(cfg_parse(&cfg, "x", 1, NAME, err, 5),
	    TUNL_ERR_CONFIG);
	assert_string_equal(err, "t.co");
}

/* Dump, parse, compare: the dump is the configuration. */
static void
round_trip(const struct tunl_cfg *cfg)
{
	struct tunl_cfg	 back;
	struct buf	*b1, *b2;
	char		 err[256];

	assert_non_null(b1 = buf_new(CFG_DUMP_MAX));
	assert_non_null(b2 = buf_new(CFG_DUMP_MAX));
	assert_int_equal(cfg_dump(cfg, b1), 0);
	memset(&back, 0x5a, sizeof(back));
	if (cfg_parse(&back, (const char *)buf_ptr(b1), buf_len(b1), NAME,
	    err, sizeof(err)) != 0)
		fail_msg("dump does not parse: %s", err);
	assert_true(cfg_equal(cfg, &back));
	assert_int_equal(cfg_dump(&back, b2), 0);
	assert_int_equal(buf_len(b1), buf_len(b2));
	assert_memory_equal(buf_ptr(b1), buf_ptr(b2), buf_len(b1));
	buf_free(b1);
	buf_free(b2);
}

static void
test_round_trip(void **state)
{
	struct tunl_cfg	 cfg, other;
	struct buf	*b;
	char		 err[256], *s;
	u_int		 i;

	(void)state;
	cfg_defaults(&cfg);
	round_trip(&cfg);
	assert_int_equal(parse(&cfg, every_key, err, sizeof(err)), 0);
	round_trip(&cfg);

	/* The defaults' dump, exactly. */
	cfg_defaults(&cfg);
	assert_non_null(b = buf_new(CFG_DUMP_MAX));
	assert_int_equal(cfg_dump(&cfg, b), 0);
	assert_non_null(s = buf_dup_string(b));
	assert_string_equal(s,
	    "database = " LOCALSTATEDIR "/lib/tunl/tunl.db\n"
	    "runtime_dir = /run/tunl\n"
	    "recording_dir = " LOCALSTATEDIR "/log/tunl\n"
	    "token_key = " SYSCONFDIR "/tunl/token.key\n"
	    "ca_key = " SYSCONFDIR "/tunl/user_ca\n"
	    "relay_group = tunl\n"
	    "customer_user = tunl\n"
	    "engineer_user = support\n"
	    "broker_user = tunl-broker\n"
	    "principals_user = tunlauth\n"
	    "key_group = tunl-auth\n"
	    "recording_group = tunl-rec\n"
	    "tunnel_user = tunl-tunnel\n"
	    "token_required = yes\n"
	    "token_length = 8\n"
	    "session_ttl = 240\n"
	    "token_ttl = 60\n"
	    "cert_ttl = 60\n"
	    "failure_cap = 5\n"
	    "rate_limit = 10\n"
	    "rate_window = 600\n"
	    "sign_cooldown = 10\n"
	    "max_consumers = 8\n"
	    "max_consumers_total = 256\n"
	    "consumer_backlog = 1M\n"
	    "producer_grace = 120\n"
	    "consumer_stuck = 10\n"
	    "registry_recheck = 600\n"
	    "recording_retention = 90\n"
	    "recording_max = 0\n"
	    "event_retention = 365\n"
	    "tunnel_port_min = 0\n"
	    "tunnel_port_max = 0\n"
	    "webhook_key = " SYSCONFDIR "/tunl/webhook.key\n"
	    "log_level = info\n"
	    "relay_host_key = /etc/ssh/ssh_host_ed25519_key.pub\n"
	    "host_ca_key = " SYSCONFDIR "/tunl/host_ca\n"
	    "engineer_keys = " SYSCONFDIR "/tunl/engineers.keys\n");
	free(s);
	buf_free(b);

	/* Sizes that are not whole K or M are written in bytes. */
	assert_int_equal(parse(&cfg, "consumer_backlog = 65537", err,
	    sizeof(err)), 0);
	round_trip(&cfg);
	assert_int_equal(parse(&cfg, "consumer_backlog = 1025K", err,
	    sizeof(err)), 0);
	round_trip(&cfg);

	/* The longest configuration still fits CFG_DUMP_MAX. */
	cfg_defaults(&cfg);
	s = repeat('p', CFG_PATH_MAX - 2);
	cfg.database[0] = cfg.runtime_dir[0] = cfg.recording_dir[0] = '/';
	cfg.token_key[0] = cfg.ca_key[0] = cfg.webhook_key[0] = '/';
	memcpy(cfg.database + 1, s, CFG_PATH_MAX - 2);
	memcpy(cfg.webhook_key + 1, s, CFG_PATH_MAX - 2);
	memcpy(cfg.runtime_dir + 1, s, CFG_PATH_MAX - 2);
	memcpy(cfg.recording_dir + 1, s, CFG_PATH_MAX - 2);
	memcpy(cfg.token_key + 1, s, CFG_PATH_MAX - 2);
	memcpy(cfg.ca_key + 1, s, CFG_PATH_MAX - 2);
	free(s);
	s = repeat('n', CFG_NAME_MAX - 1);
	memcpy(cfg.relay_group, s, CFG_NAME_MAX);
	memcpy(cfg.customer_user, s, CFG_NAME_MAX);
	memcpy(cfg.engineer_user, s, CFG_NAME_MAX);
	memcpy(cfg.broker_user, s, CFG_NAME_MAX);
	memcpy(cfg.principals_user, s, CFG_NAME_MAX);
	memcpy(cfg.key_group, s, CFG_NAME_MAX);
	memcpy(cfg.recording_group, s, CFG_NAME_MAX);
	memcpy(cfg.tunnel_user, s, CFG_NAME_MAX);
	free(s);
	cfg.tunnel_port_min = 65535;
	cfg.tunnel_port_max = 65535;
	s = repeat('w', CFG_URL_MAX - 1);
	for (i = 0; i < CFG_WEBHOOKS_MAX; i++) {
		memcpy(cfg.webhook_url[i], s, CFG_URL_MAX);
		memcpy(cfg.webhook_url[i], "https://", 8);
		cfg.webhook_url[i][8] = (char)('a' + i);
	}
	free(s);
	cfg.nwebhooks = CFG_WEBHOOKS_MAX;
	cfg.consumer_backlog = 64 * 1024 * 1024 - 1;
	cfg.max_consumers_total = 4096;
	cfg.rate_window = 86400;
	cfg.log_level = TUNL_LOG_VERBOSE;
	round_trip(&cfg);

	/*
	 * Too small a buffer: an error, and the buffer as it was, even when
	 * the first lines fitted.
	 */
	assert_non_null(b = buf_new(400));
	assert_int_equal(buf_put(b, "keep", 4), 0);
	assert_int_equal(cfg_dump(&cfg, b), TUNL_ERR_LENGTH);
	assert_int_equal(buf_len(b), 4);
	/* A struct that could not come from the parser is refused. */
	cfg_defaults(&other);
	other.nwebhooks = CFG_WEBHOOKS_MAX + 1;
	assert_int_equal(cfg_dump(&other, b), TUNL_ERR_INVALID);
	cfg_defaults(&other);
	other.log_level = (enum log_level)9;
	assert_int_equal(cfg_dump(&other, b), TUNL_ERR_INVALID);
	assert_int_equal(buf_len(b), 4);
	buf_free(b);

	/* cfg_equal sees a change in any field. */
	cfg_defaults(&cfg);
	other = cfg;
	assert_true(cfg_equal(&cfg, &other));
	other.producer_grace++;
	assert_false(cfg_equal(&cfg, &other));
	other = cfg;
	other.ca_key[3] = 'X';
	assert_false(cfg_equal(&cfg, &other));
	other = cfg;
	other.consumer_backlog++;
	assert_false(cfg_equal(&cfg, &other));
	other = cfg;
	other.nwebhooks = 1;
	assert_false(cfg_equal(&cfg, &other));
	assert_int_equal(parse(&cfg, "webhook_url = https://a.example", err,
	    sizeof(err)), 0);
	assert_int_equal(parse(&other, "webhook_url = https://b.example", err,
	    sizeof(err)), 0);
	assert_false(cfg_equal(&cfg, &other));
	cfg_defaults(&cfg);
	other = cfg;
	other = cfg;
	/* Bytes past a string's end do not count. */
	other.broker_user[CFG_NAME_MAX - 1] = 'z';
	assert_true(cfg_equal(&cfg, &other));
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int	 fd;

	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600))
	    >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	struct tunl_cfg	 cfg, dflt;
	char		 dir[] = "/tmp/tunl-cfg-XXXXXX", path[256], link[256];
	char		 big[256], sub[256], err[512], want[512], *text;
	size_t		 i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tunl.conf", dir);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	snprintf(big, sizeof(big), "%s/big.conf", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	cfg_defaults(&dflt);

	write_file(path, every_key, strlen(every_key), 0644);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg.token_length, 12);
	assert_int_equal(cfg.nwebhooks, 4);
	assert_string_equal(cfg.broker_user, "broker");

	/* Bad content: the message names the path and the line. */
	write_file(path, "log_level = info\n\ntoken_length = 5\n", 35, 0600);
	cfg = dflt;
	assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)),
	    TUNL_ERR_CONFIG);
	snprintf(want, sizeof(want),
	    "%s:3: token_length: 5 is out of range (6-12)", path);
	assert_string_equal(err, want);
	assert_true(cfg_equal(&cfg, &dflt));

	/* A named file must exist, even with CFG_DEFAULT_OK. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cfg_load(&cfg, path, CFG_DEFAULT_OK, err,
	    sizeof(err)), TUNL_ERR_SYSTEM);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);

	/* Unsafe files are refused before they are read. */
	write_file(path, "log_level = debug\n", 18, 0620);
	assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)),
	    TUNL_ERR_UNSAFE);
	snprintf(want, sizeof(want), "%s: writable by group or others", path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(path, 0400), 0);
	if (geteuid() == 0) {
		/* Someone else's file, however safe its mode. */
		assert_int_equal(chown(path, 1, (gid_t)-1), 0);
		assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)),
		    TUNL_ERR_UNSAFE);
		snprintf(want, sizeof(want), "%s: owned by uid 1, not by "
		    "root or uid 0", path);
		assert_string_equal(err, want);
		assert_int_equal(chown(path, 0, (gid_t)-1), 0);
	}
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(cfg_load(&cfg, link, 0, err, sizeof(err)),
	    TUNL_ERR_UNSAFE);
	snprintf(want, sizeof(want), "%s: is a symbolic link", link);
	assert_string_equal(err, want);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(cfg_load(&cfg, sub, 0, err, sizeof(err)),
	    TUNL_ERR_UNSAFE);
	snprintf(want, sizeof(want), "%s: not a regular file", sub);
	assert_string_equal(err, want);
	assert_true(cfg_equal(&cfg, &dflt));
	assert_int_equal(cfg_load(&cfg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg.log_level, TUNL_LOG_DEBUG);

	/* Only the limit and one byte more are read from a huge file. */
	assert_non_null(text = malloc(4 * CFG_FILE_MAX));
	for (i = 0; i < 4 * CFG_FILE_MAX; i++)
		text[i] = i % 100 == 99 ? '\n' : '#';
	write_file(big, text, 4 * CFG_FILE_MAX, 0644);
	free(text);
	assert_int_equal(cfg_load(&cfg, big, 0, err, sizeof(err)),
	    TUNL_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:656: file is larger than 65536 "
	    "bytes", big);
	assert_string_equal(err, want);

	/*
	 * The default path: a missing file is all defaults only when the
	 * caller asks. Checked only where the build's default is absent.
	 */
	if (access(CFG_PATH_DEFAULT, F_OK) == -1 && errno == ENOENT) {
		memset(&cfg, 0, sizeof(cfg));
		assert_int_equal(cfg_load(&cfg, NULL, CFG_DEFAULT_OK, err,
		    sizeof(err)), 0);
		assert_true(cfg_equal(&cfg, &dflt));
		assert_int_equal(cfg_load(&cfg, NULL, 0, err, sizeof(err)),
		    TUNL_ERR_SYSTEM);
		assert_non_null(strstr(err, CFG_PATH_DEFAULT ": "));
	}

	unlink(big);
	unlink(link);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* The shipped sample sets every key to its default. */
static void
test_sample(void **state)
{
	struct tunl_cfg	 cfg, dflt;
	const char	*top = getenv("top_builddir");
	const char	*keys[] = {
		"database", "runtime_dir", "recording_dir", "token_key",
		"ca_key", "relay_group", "customer_user", "engineer_user",
		"broker_user", "principals_user", "key_group", "recording_group", "tunnel_user", "token_required", "token_length", "session_ttl",
		"token_ttl", "cert_ttl", "failure_cap", "rate_limit",
		"rate_window", "sign_cooldown", "max_consumers",
		"max_consumers_total", "consumer_backlog", "producer_grace",
		"consumer_stuck", "registry_recheck", "recording_retention",
		"recording_max",
		"event_retention", "tunnel_port_min", "tunnel_port_max",
		"webhook_url",
		"webhook_key", "log_level", "relay_address", "relay_host_key",
		"host_ca_key",
		"engineer_keys",
	};
	char		 path[1024], err[512], want[64], *text;
	struct buf	*b;
	FILE		*f;
	size_t		 i, n;

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/tunl.conf.sample",
	    top != NULL ? top : ".");
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(text = malloc(CFG_FILE_MAX + 1));
	n = fread(text, 1, CFG_FILE_MAX + 1, f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	if (cfg_parse(&cfg, text, n, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	cfg_defaults(&dflt);
	assert_true(cfg_equal(&cfg, &dflt));
	/* Every key is there, set or (a list key) as a commented example. */
	text[n] = '\0';
	for (i = 0; i < TUNL_NITEMS(keys); i++) {
		snprintf(want, sizeof(want), "\n%s = ", keys[i]);
		if (strstr(text, want) == NULL) {
			snprintf(want, sizeof(want), "\n#%s = ", keys[i]);
			if (strstr(text, want) == NULL)
				fail_msg("sample lacks %s", keys[i]);
		}
	}
	/* ... and that list matches what cfg_dump writes. */
	assert_non_null(b = buf_new(CFG_DUMP_MAX));
	assert_int_equal(cfg_dump(&dflt, b), 0);
	for (i = 0, n = 0; i < buf_len(b); i++)
		n += buf_ptr(b)[i] == '\n';
	/* Neither a webhook nor relay_address by default. */
	assert_int_equal(n + 2, TUNL_NITEMS(keys));
	buf_free(b);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_first_error),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_exact_buffer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
