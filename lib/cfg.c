/*
 * cfg.c: the configuration file, tunl.conf.
 *
 * One "key = value" a line; blank lines and lines whose first non-blank
 * byte is '#' are skipped; blanks around the key, the '=' and the value
 * are dropped. There is no quoting and no comment after a value: a value
 * is printable ASCII without spaces, so a stray "# ..." after a value is an
 * error rather than part of a path. The whole text, every line and every
 * value is bounded, and the first fault ends the parse with a message that
 * names the file and the line ("tunl.conf:7: token_length: 5 is out of
 * range (6-12)"). docs/config.md describes every key.
 *
 * One table (cfg_keys) drives the parser, the dump and the comparison, so
 * a key cannot be parsed but forgotten by cfg_dump.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"

#define CFG_KEY_MAX	32	/* bytes in a key name */
#define CFG_ECHO_MAX	64	/* bytes of a value quoted in a message */
#define CFG_SIZE_K	1024LL
#define CFG_SIZE_M	(1024LL * 1024)

enum cfg_type {
	CFG_T_PATH,	/* absolute path */
	CFG_T_NAME,	/* user or group name */
	CFG_T_BOOL,	/* yes or no */
	CFG_T_UINT,	/* decimal in [min, max] */
	CFG_T_SIZE,	/* bytes, with an optional K or M */
	CFG_T_URL,	/* http(s) URL, a list key */
	CFG_T_LEVEL,	/* log level name */
	CFG_T_ADDR	/* host[:port] or [v6][:port], optional */
};

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;	/* offset in struct tunl_cfg */
	size_t		 size;	/* bytes of the field (of one URL) */
	long long	 min;
	long long	 max;
};

#define CFG_FIELD(f)	offsetof(struct tunl_cfg, f), \
	sizeof(((struct tunl_cfg *)NULL)->f)
#define CFG_STR(f, t)		{ #f, t, CFG_FIELD(f), 0, 0 }
#define CFG_NUM(f, t, lo, hi)	{ #f, t, CFG_FIELD(f), lo, hi }

/* In the order cfg_dump writes them and docs/config.md lists them. */
static const struct cfg_key cfg_keys[] = {
	CFG_STR(database, CFG_T_PATH),
	CFG_STR(runtime_dir, CFG_T_PATH),
	CFG_STR(recording_dir, CFG_T_PATH),
	CFG_STR(token_key, CFG_T_PATH),
	CFG_STR(ca_key, CFG_T_PATH),
	CFG_STR(relay_group, CFG_T_NAME),
	CFG_STR(customer_user, CFG_T_NAME),
	CFG_STR(engineer_user, CFG_T_NAME),
	CFG_STR(broker_user, CFG_T_NAME),
	CFG_STR(principals_user, CFG_T_NAME),
	CFG_STR(key_group, CFG_T_NAME),
	CFG_STR(recording_group, CFG_T_NAME),
	CFG_STR(tunnel_user, CFG_T_NAME),
	CFG_NUM(token_required, CFG_T_BOOL, 0, 1),
	CFG_NUM(token_length, CFG_T_UINT, TOKEN_DIGITS_MIN, TOKEN_DIGITS_MAX),
	CFG_NUM(session_ttl, CFG_T_UINT, 1, 10080),
	CFG_NUM(token_ttl, CFG_T_UINT, 1, 1440),
	CFG_NUM(cert_ttl, CFG_T_UINT, 1, 1440),
	CFG_NUM(failure_cap, CFG_T_UINT, 1, 100),
	CFG_NUM(rate_limit, CFG_T_UINT, 1, 10000),
	CFG_NUM(rate_window, CFG_T_UINT, 10, 86400),
	CFG_NUM(sign_cooldown, CFG_T_UINT, 1, 3600),
	CFG_NUM(max_consumers, CFG_T_UINT, 1, 256),
	CFG_NUM(max_consumers_total, CFG_T_UINT, 1, 4096),
	CFG_NUM(consumer_backlog, CFG_T_SIZE, 64 * CFG_SIZE_K,
	    64 * CFG_SIZE_M),
	CFG_NUM(producer_grace, CFG_T_UINT, 0, 3600),
	CFG_NUM(consumer_stuck, CFG_T_UINT, 2, 600),
	CFG_NUM(registry_recheck, CFG_T_UINT, 5, 86400),
	CFG_NUM(recording_retention, CFG_T_UINT, 0, 36500),
	CFG_NUM(recording_max, CFG_T_SIZE, 0, 1024 * 1024 * CFG_SIZE_M),
	CFG_NUM(event_retention, CFG_T_UINT, 0, 36500),
	CFG_NUM(tunnel_port_min, CFG_T_UINT, 0, 65535),
	CFG_NUM(tunnel_port_max, CFG_T_UINT, 0, 65535),
	{ "webhook_url", CFG_T_URL, offsetof(struct tunl_cfg, webhook_url),
	    CFG_URL_MAX, 0, CFG_WEBHOOKS_MAX },
	CFG_STR(webhook_key, CFG_T_PATH),
	CFG_NUM(log_level, CFG_T_LEVEL, TUNL_LOG_ERROR, TUNL_LOG_DEBUG),
	CFG_STR(relay_address, CFG_T_ADDR),
	CFG_STR(relay_host_key, CFG_T_PATH),
	CFG_STR(host_ca_key, CFG_T_PATH),
	CFG_STR(engineer_keys, CFG_T_PATH),
};
#define CFG_NKEYS	TUNL_NITEMS(cfg_keys)

static const char *const cfg_level_names[] = {
	"error",	/* TUNL_LOG_ERROR */
	"info",		/* TUNL_LOG_INFO */
	"verbose",	/* TUNL_LOG_VERBOSE */
	"debug",	/* TUNL_LOG_DEBUG */
};

_Static_assert(TUNL_NITEMS(cfg_level_names) == TUNL_LOG_DEBUG + 1,
    "every log level needs a name");
_Static_assert(CFG_URL_MAX < CFG_LINE_MAX && CFG_PATH_MAX < CFG_LINE_MAX,
    "a line must be able to hold the longest value");

/* The state of one parse. */
struct cfg_parser {
	const char	*name;		/* file name for messages */
	u_int		 lineno;
	char		*err;
	size_t		 errlen;
	u_int		 seen[CFG_NKEYS];	/* line a key was set on */
	u_int		 hook_line[CFG_WEBHOOKS_MAX];
};

static void	cfg_error(struct cfg_parser *, const char *, ...)
		    TUNL_PRINTF(2, 3);
static void	cfg_errf(char *, size_t, const char *, ...) TUNL_PRINTF(3, 4);

static void
cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "name:line: message", the file name escaped. */
static void
cfg_error(struct cfg_parser *p, const char *fmt, ...)
{
	char	 msg[256], name[512];
	va_list	 ap;

	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)log_escape(name, sizeof(name), p->name, strlen(p->name));
	cfg_errf(p->err, p->errlen, "%s:%u: %s", name, p->lineno, msg);
}

/* A value for a message: at most CFG_ECHO_MAX bytes, then "...". */
static const char *
cfg_echo(const char *v, char *out, size_t outlen)
{
	size_t	 len = strlen(v);

	(void)log_escape(out, outlen, v, len > CFG_ECHO_MAX ?
	    CFG_ECHO_MAX : len);
	if (len > CFG_ECHO_MAX && strlen(out) + 4 <= outlen)
		memcpy(out + strlen(out), "...", 4);
	return out;
}

static int
cfg_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static const struct cfg_key *
cfg_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	}
	return NULL;
}

const char *
cfg_log_level_name(enum log_level level)
{
	if ((u_int)level >= TUNL_NITEMS(cfg_level_names))
		return NULL;
	return cfg_level_names[level];
}

/* Write len bytes of s into a string field, the rest of it zeroed. */
static void
cfg_set_string(char *field, size_t size, const char *s, size_t len)
{
	memset(field, 0, size);
	memcpy(field, s, len);
}

void
cfg_defaults(struct tunl_cfg *cfg)
{
	/* Zeroed first so that copies compare equal byte for byte too. */
	memset(cfg, 0, sizeof(*cfg));
	tunl_strlcpy(cfg->database, LOCALSTATEDIR "/lib/tunl/tunl.db",
	    sizeof(cfg->database));
	tunl_strlcpy(cfg->runtime_dir, "/run/tunl", sizeof(cfg->runtime_dir));
	tunl_strlcpy(cfg->recording_dir, LOCALSTATEDIR "/log/tunl",
	    sizeof(cfg->recording_dir));
	tunl_strlcpy(cfg->token_key, SYSCONFDIR "/tunl/token.key",
	    sizeof(cfg->token_key));
	tunl_strlcpy(cfg->ca_key, SYSCONFDIR "/tunl/user_ca",
	    sizeof(cfg->ca_key));
	tunl_strlcpy(cfg->webhook_key, SYSCONFDIR "/tunl/webhook.key",
	    sizeof(cfg->webhook_key));
	/* sshd's own key, wherever tunl was installed. */
	tunl_strlcpy(cfg->relay_host_key, "/etc/ssh/ssh_host_ed25519_key.pub",
	    sizeof(cfg->relay_host_key));
	tunl_strlcpy(cfg->host_ca_key, SYSCONFDIR "/tunl/host_ca",
	    sizeof(cfg->host_ca_key));
	tunl_strlcpy(cfg->engineer_keys, SYSCONFDIR "/tunl/engineers.keys",
	    sizeof(cfg->engineer_keys));
	tunl_strlcpy(cfg->relay_group, "tunl", sizeof(cfg->relay_group));
	tunl_strlcpy(cfg->customer_user, "tunl", sizeof(cfg->customer_user));
	tunl_strlcpy(cfg->engineer_user, "support",
	    sizeof(cfg->engineer_user));
	tunl_strlcpy(cfg->broker_user, "tunl-broker",
	    sizeof(cfg->broker_user));
	tunl_strlcpy(cfg->principals_user, "tunlauth",
	    sizeof(cfg->principals_user));
	tunl_strlcpy(cfg->key_group, "tunl-auth", sizeof(cfg->key_group));
	tunl_strlcpy(cfg->recording_group, "tunl-rec",
	    sizeof(cfg->recording_group));
	tunl_strlcpy(cfg->tunnel_user, "tunl-tunnel",
	    sizeof(cfg->tunnel_user));
	cfg->token_required = 1;
	cfg->token_length = TOKEN_DIGITS_DEFAULT;
	cfg->session_ttl = 240;
	cfg->token_ttl = 60;
	cfg->cert_ttl = 60;
	cfg->failure_cap = 5;
	cfg->rate_limit = 10;
	cfg->rate_window = 600;
	cfg->sign_cooldown = 10;
	cfg->max_consumers = 8;
	cfg->max_consumers_total = 256;
	cfg->consumer_backlog = CFG_SIZE_M;
	cfg->producer_grace = 120;
	cfg->consumer_stuck = 10;
	cfg->registry_recheck = 600;
	cfg->recording_retention = 90;
	cfg->event_retention = 365;
	cfg->nwebhooks = 0;
	cfg->log_level = TUNL_LOG_INFO;
}

/*
 * An absolute path of '/'-separated components, none of them empty, "."
 * or "..": no "//", no trailing '/', and "/" alone is refused too. The
 * bytes are already known to be printable ASCII without spaces.
 */
static const char *
cfg_path_fault(const char *s)
{
	const char	*c, *e;
	size_t		 n;

	if (s[0] != '/')
		return "path must be absolute";
	for (c = s + 1;; c = e + 1) {
		if ((e = strchr(c, '/')) == NULL)
			e = c + strlen(c);
		n = (size_t)(e - c);
		if (n == 0)
			return "path must not hold an empty component "
			    "(\"//\" or a trailing \"/\")";
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return "path must not hold \".\" or \"..\" components";
		if (*e == '\0')
			break;
	}
	return NULL;
}

/*
 * The portable user and group name grammar: [a-z_][a-z0-9_-]{0,31}. Used
 * for the configured account names and, in pam_tunl, for PAM_USER.
 */
int
cfg_name_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= CFG_NAME_MAX - 1)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return 0;
	}
	return 1;
}

/* "http://" or "https://" and at least one byte after it. */
static int
cfg_url_ok(const char *s)
{
	static const char *const schemes[] = { "https://", "http://" };
	size_t			 i, n;

	for (i = 0; i < TUNL_NITEMS(schemes); i++) {
		n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) == 0 && s[n] != '\0' &&
		    s[n] != '/')
			return 1;
	}
	return 0;
}

/* A size as cfg_dump writes it: the largest exact suffix. */
static void
cfg_format_size(char *out, size_t outlen, unsigned long long v)
{
	if (v != 0 && v % CFG_SIZE_M == 0)
		(void)snprintf(out, outlen, "%lluM", v / CFG_SIZE_M);
	else if (v != 0 && v % CFG_SIZE_K == 0)
		(void)snprintf(out, outlen, "%lluK", v / CFG_SIZE_K);
	else
		(void)snprintf(out, outlen, "%llu", v);
}

static int
cfg_parse_size(struct cfg_parser *p, const struct cfg_key *k,
    const char *v, size_t *out)
{
	char		 num[CFG_LINE_MAX + 1], lo[32], hi[32], echo[80];
	long long	 n, mult = 1;
	size_t		 len;
	int		 r;

	len = tunl_strlcpy(num, v, sizeof(num));
	if (len > 0 && num[len - 1] == 'K') {
		mult = CFG_SIZE_K;
		num[len - 1] = '\0';
	} else if (len > 0 && num[len - 1] == 'M') {
		mult = CFG_SIZE_M;
		num[len - 1] = '\0';
	}
	cfg_format_size(lo, sizeof(lo), (unsigned long long)k->min);
	cfg_format_size(hi, sizeof(hi), (unsigned long long)k->max);
	/* Bounded well below overflow before the multiplication. */
	r = tunl_strtonum(num, 0, k->max, &n);
	if (r == 0 && (n * mult < k->min || n * mult > k->max))
		r = TUNL_ERR_RANGE;
	if (r == TUNL_ERR_RANGE) {
		cfg_error(p, "%s: %s is out of range (%s-%s)", k->name,
		    cfg_echo(v, echo, sizeof(echo)), lo, hi);
		return TUNL_ERR_CONFIG;
	}
	if (r != 0) {
		cfg_error(p, "%s: \"%s\" is not a size (bytes, or a number "
		    "followed by K or M)", k->name,
		    cfg_echo(v, echo, sizeof(echo)));
		return TUNL_ERR_CONFIG;
	}
	*out = (size_t)(n * mult);
	return 0;
}

static int
cfg_set_url(struct cfg_parser *p, struct tunl_cfg *cfg,
    const struct cfg_key *k, const char *v, size_t len)
{
	u_int	 i;

	if (len >= CFG_URL_MAX) {
		cfg_error(p, "%s: URL is longer than %d bytes", k->name,
		    CFG_URL_MAX - 1);
		return TUNL_ERR_CONFIG;
	}
	if (!cfg_url_ok(v)) {
		cfg_error(p, "%s: URL must start with https:// or http:// "
		    "and name a host", k->name);
		return TUNL_ERR_CONFIG;
	}
	for (i = 0; i < cfg->nwebhooks; i++) {
		if (strcmp(cfg->webhook_url[i], v) == 0) {
			cfg_error(p, "%s: duplicate URL (first given on "
			    "line %u)", k->name, p->hook_line[i]);
			return TUNL_ERR_CONFIG;
		}
	}
	if (cfg->nwebhooks >= CFG_WEBHOOKS_MAX) {
		cfg_error(p, "%s: more than %d given", k->name,
		    CFG_WEBHOOKS_MAX);
		return TUNL_ERR_CONFIG;
	}
	cfg_set_string(cfg->webhook_url[cfg->nwebhooks], CFG_URL_MAX, v, len);
	p->hook_line[cfg->nwebhooks++] = p->lineno;
	return 0;
}

/* Check v against k's type and store it in cfg. */
static int
cfg_set(struct cfg_parser *p, struct tunl_cfg *cfg, const struct cfg_key *k,
    const char *v)
{
	struct relay_addr addr;
	char		*field = (char *)cfg + k->off;
	char		 echo[80];
	const char	*fault;
	size_t		 len = strlen(v), i;
	long long	 n;
	int		 r;

	switch (k->type) {
	case CFG_T_PATH:
		if (len >= k->size) {
			cfg_error(p, "%s: path is longer than %zu bytes",
			    k->name, k->size - 1);
			return TUNL_ERR_CONFIG;
		}
		if ((fault = cfg_path_fault(v)) != NULL) {
			cfg_error(p, "%s: %s", k->name, fault);
			return TUNL_ERR_CONFIG;
		}
		cfg_set_string(field, k->size, v, len);
		return 0;
	case CFG_T_NAME:
		if (len >= k->size) {
			cfg_error(p, "%s: name is longer than %zu bytes",
			    k->name, k->size - 1);
			return TUNL_ERR_CONFIG;
		}
		if (!cfg_name_ok(v)) {
			cfg_error(p, "%s: \"%s\" is not a valid name (a lower "
			    "case letter or '_', then letters, digits, '_' "
			    "or '-')", k->name, cfg_echo(v, echo,
			    sizeof(echo)));
			return TUNL_ERR_CONFIG;
		}
		cfg_set_string(field, k->size, v, len);
		return 0;
	case CFG_T_BOOL:
		if (strcmp(v, "yes") == 0)
			*(int *)(void *)field = 1;
		else if (strcmp(v, "no") == 0)
			*(int *)(void *)field = 0;
		else {
			cfg_error(p, "%s: \"%s\" is not yes or no", k->name,
			    cfg_echo(v, echo, sizeof(echo)));
			return TUNL_ERR_CONFIG;
		}
		return 0;
	case CFG_T_UINT:
		r = tunl_strtonum(v, k->min, k->max, &n);
		if (r == TUNL_ERR_RANGE) {
			cfg_error(p, "%s: %s is out of range (%lld-%lld)",
			    k->name, cfg_echo(v, echo, sizeof(echo)), k->min,
			    k->max);
			return TUNL_ERR_CONFIG;
		}
		if (r != 0) {
			cfg_error(p, "%s: \"%s\" is not a number", k->name,
			    cfg_echo(v, echo, sizeof(echo)));
			return TUNL_ERR_CONFIG;
		}
		*(u_int *)(void *)field = (u_int)n;
		return 0;
	case CFG_T_SIZE:
		return cfg_parse_size(p, k, v, (size_t *)(void *)field);
	case CFG_T_URL:
		return cfg_set_url(p, cfg, k, v, len);
	case CFG_T_ADDR:
		if (relay_addr_parse(v, &addr, &fault) != 0) {
			cfg_error(p, "%s: \"%s\": %s", k->name,
			    cfg_echo(v, echo, sizeof(echo)), fault);
			return TUNL_ERR_CONFIG;
		}
		/* As printed: the form tunl-share --relay takes. */
		if (relay_addr_format(&addr, field, k->size) != 0) {
			cfg_error(p, "%s: address is too long", k->name);
			return TUNL_ERR_CONFIG;
		}
		return 0;
	case CFG_T_LEVEL:
		for (i = 0; i < TUNL_NITEMS(cfg_level_names); i++) {
			if (strcmp(v, cfg_level_names[i]) == 0) {
				*(enum log_level *)(void *)field =
				    (enum log_level)i;
				return 0;
			}
		}
		cfg_error(p, "%s: \"%s\" is not error, info, verbose or debug",
		    k->name, cfg_echo(v, echo, sizeof(echo)));
		return TUNL_ERR_CONFIG;
	}
	cfg_error(p, "%s: internal error", k->name);
	return TUNL_ERR_INTERNAL;
}

/* One line, len bytes without its newline, no NUL among them. */
static int
cfg_parse_line(struct cfg_parser *p, struct tunl_cfg *cfg, const char *text,
    size_t len)
{
	char			 line[CFG_LINE_MAX + 1], echo[80];
	char			*s, *e, *eq, *key, *value;
	const struct cfg_key	*k;
	size_t			 i, idx;

	memcpy(line, text, len);
	line[len] = '\0';
	for (s = line; cfg_is_blank(*s); s++)
		;
	for (e = s + strlen(s); e > s && cfg_is_blank(e[-1]); e--)
		;
	*e = '\0';
	if (*s == '\0' || *s == '#')
		return 0;

	if ((eq = strchr(s, '=')) == NULL) {
		cfg_error(p, "expected \"key = value\"");
		return TUNL_ERR_CONFIG;
	}
	key = s;
	for (e = eq; e > key && cfg_is_blank(e[-1]); e--)
		;
	*e = '\0';
	for (value = eq + 1; cfg_is_blank(*value); value++)
		;

	if (*key == '\0') {
		cfg_error(p, "missing key before \"=\"");
		return TUNL_ERR_CONFIG;
	}
	for (i = 0; key[i] != '\0'; i++) {
		if (i >= CFG_KEY_MAX ||
		    !((key[i] >= 'a' && key[i] <= 'z') || key[i] == '_')) {
			cfg_error(p, "invalid key \"%s\"",
			    cfg_echo(key, echo, sizeof(echo)));
			return TUNL_ERR_CONFIG;
		}
	}
	if ((k = cfg_find(key)) == NULL) {
		cfg_error(p, "unknown key \"%s\"", key);
		return TUNL_ERR_CONFIG;
	}
	idx = (size_t)(k - cfg_keys);
	if (k->type != CFG_T_URL && p->seen[idx] != 0) {
		cfg_error(p, "%s: duplicate key (first set on line %u)",
		    k->name, p->seen[idx]);
		return TUNL_ERR_CONFIG;
	}

	if (*value == '\0') {
		cfg_error(p, "%s: missing value", k->name);
		return TUNL_ERR_CONFIG;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if ((u_char)value[i] <= 0x20 || (u_char)value[i] >= 0x7f) {
			cfg_error(p, "%s: value holds a space, a control "
			    "character or a non-ASCII byte (a comment must "
			    "be on its own line)", k->name);
			return TUNL_ERR_CONFIG;
		}
	}
	if (cfg_set(p, cfg, k, value) != 0)
		return TUNL_ERR_CONFIG;
	p->seen[idx] = p->lineno;
	return 0;
}

/*
 * Rules between two keys: the value of small must not exceed the value of
 * big. The message goes to the line of whichever was set later.
 */
static int
cfg_check_order(struct cfg_parser *p, const struct tunl_cfg *cfg,
    const char *small, const char *big, const char *more, const char *less)
{
	const struct cfg_key	*ks = cfg_find(small), *kb = cfg_find(big);
	u_int			 vs, vb, ls, lb;

	if (ks == NULL || kb == NULL || ks->type != CFG_T_UINT ||
	    kb->type != CFG_T_UINT)
		return TUNL_ERR_INTERNAL;
	vs = *(const u_int *)(const void *)((const char *)cfg + ks->off);
	vb = *(const u_int *)(const void *)((const char *)cfg + kb->off);
	if (vs <= vb)
		return 0;
	ls = p->seen[ks - cfg_keys];
	lb = p->seen[kb - cfg_keys];
	if (ls >= lb) {
		p->lineno = ls;
		cfg_error(p, "%s: %u is %s %s (%u)", small, vs, more, big, vb);
	} else {
		p->lineno = lb;
		cfg_error(p, "%s: %u is %s %s (%u)", big, vb, less, small, vs);
	}
	return TUNL_ERR_CONFIG;
}

/*
 * The tunnel port range: both 0 (no tunnels, the default), or both set,
 * from 1024 up, and tunnel_port_min not above tunnel_port_max.
 */
static int
cfg_check_tunnel(struct cfg_parser *p, const struct tunl_cfg *cfg)
{
	const struct cfg_key	*kl = cfg_find("tunnel_port_min");
	const struct cfg_key	*kh = cfg_find("tunnel_port_max");
	u_int			 ll, lh;

	if (kl == NULL || kh == NULL)
		return TUNL_ERR_INTERNAL;
	if (cfg->tunnel_port_min == 0 && cfg->tunnel_port_max == 0)
		return 0;
	ll = p->seen[kl - cfg_keys];
	lh = p->seen[kh - cfg_keys];
	p->lineno = ll > lh ? ll : lh;
	if (cfg->tunnel_port_min == 0 || cfg->tunnel_port_max == 0) {
		cfg_error(p, "tunnel_port_min and tunnel_port_max: set both "
		    "(a range of relay ports) or neither (no tunnels)");
		return TUNL_ERR_CONFIG;
	}
	if (cfg->tunnel_port_min < 1024) {
		p->lineno = ll;
		cfg_error(p, "tunnel_port_min: %u is below 1024",
		    cfg->tunnel_port_min);
		return TUNL_ERR_CONFIG;
	}
	return cfg_check_order(p, cfg, "tunnel_port_min", "tunnel_port_max",
	    "more than", "less than");
}

/*
 * Parse a whole configuration text of len bytes (it need not end in NUL
 * or a newline); name is the file name used in messages. cfg starts from
 * the defaults. On success *cfg holds the result; on failure *cfg is left
 * as it was, err holds one line naming the file, the line and the fault,
 * and TUNL_ERR_CONFIG is returned (TUNL_ERR_INVALID for a NULL text with
 * a length).
 */
int
cfg_parse(struct tunl_cfg *cfg, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	struct cfg_parser	 p;
	struct tunl_cfg		 tmp;
	const char		*nl, *q;
	size_t			 off, end;
	int			 r = TUNL_ERR_CONFIG;

	memset(&p, 0, sizeof(p));
	p.name = name != NULL ? name : "tunl.conf";
	p.err = err;
	p.errlen = errlen;
	cfg_errf(err, errlen, "%s", "");
	cfg_defaults(&tmp);

	if (text == NULL && len != 0) {
		cfg_error(&p, "no text");
		return TUNL_ERR_INVALID;
	}
	if (len > CFG_FILE_MAX) {
		/* Name the line on which the limit is crossed. */
		p.lineno = 1;
		for (q = text; (q = memchr(q, '\n',
		    CFG_FILE_MAX - (size_t)(q - text))) != NULL; q++)
			p.lineno++;
		cfg_error(&p, "file is larger than %d bytes", CFG_FILE_MAX);
		goto out;
	}
	for (off = 0; off < len; off = end + 1) {
		p.lineno++;
		if ((nl = memchr(text + off, '\n', len - off)) != NULL)
			end = (size_t)(nl - text);
		else
			end = len;
		if (end - off > CFG_LINE_MAX) {
			cfg_error(&p, "line is longer than %d bytes",
			    CFG_LINE_MAX);
			r = TUNL_ERR_CONFIG;
			goto out;
		}
		if (memchr(text + off, '\0', end - off) != NULL) {
			cfg_error(&p, "line holds a NUL byte");
			r = TUNL_ERR_CONFIG;
			goto out;
		}
		if ((r = cfg_parse_line(&p, &tmp, text + off, end - off)) != 0)
			goto out;
	}
	if ((r = cfg_check_order(&p, &tmp, "token_ttl", "session_ttl",
	    "longer than", "shorter than")) != 0 ||
	    (r = cfg_check_order(&p, &tmp, "max_consumers",
	    "max_consumers_total", "more than", "less than")) != 0 ||
	    (r = cfg_check_tunnel(&p, &tmp)) != 0)
		goto out;
	*cfg = tmp;
	r = 0;
 out:
	return r;
}

/*
 * Read and parse the configuration file at path, or at CFG_PATH_DEFAULT
 * when path is NULL. With CFG_DEFAULT_OK, a default file that does not
 * exist means all defaults; a file that was named explicitly must exist.
 * The file must be a regular file (a symbolic link is refused), owned by
 * root or by the caller's effective user, and not writable by group or
 * others; only CFG_FILE_MAX bytes and one more are read. On failure *cfg
 * is left as it was and err says why.
 */
int
cfg_load(struct tunl_cfg *cfg, const char *path, int flags, char *err,
    size_t errlen)
{
	struct buf	*b = NULL;
	struct stat	 st;
	char		 name[512];
	int		 fd = -1, r, dflt = 0, saved_errno;

	cfg_errf(err, errlen, "%s", "");
	if (path == NULL) {
		path = CFG_PATH_DEFAULT;
		dflt = 1;
	}
	(void)log_escape(name, sizeof(name), path, strlen(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT && dflt && (flags & CFG_DEFAULT_OK)) {
			cfg_defaults(cfg);
			r = 0;
		} else if (errno == ELOOP) {
			cfg_errf(err, errlen, "%s: is a symbolic link", name);
			r = TUNL_ERR_UNSAFE;
		} else {
			cfg_errf(err, errlen, "%s: %s", name, strerror(errno));
			r = TUNL_ERR_SYSTEM;
		}
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		cfg_errf(err, errlen, "%s: %s", name, strerror(errno));
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_errf(err, errlen, "%s: not a regular file", name);
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		cfg_errf(err, errlen, "%s: owned by uid %lu, not by root or "
		    "uid %lu", name, (u_long)st.st_uid, (u_long)geteuid());
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		cfg_errf(err, errlen, "%s: writable by group or others",
		    name);
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if ((b = buf_new(CFG_FILE_MAX + 1)) == NULL) {
		cfg_errf(err, errlen, "%s: %s", name,
		    tunl_err(TUNL_ERR_ALLOC));
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	/* One byte past the limit is enough to tell that it is too large. */
	while ((r = buf_read_fd(b, fd, buf_avail(b), NULL)) == 0)
		;
	if (r != TUNL_ERR_EOF && r != TUNL_ERR_FULL) {
		cfg_errf(err, errlen, "%s: %s", name, tunl_err(r));
		goto out;
	}
	r = cfg_parse(cfg, (const char *)buf_ptr(b), buf_len(b), path, err,
	    errlen);
 out:
	saved_errno = errno;
	buf_free(b);
	if (fd != -1)
		close(fd);
	errno = saved_errno;
	return r;
}

/*
 * Append the configuration to b as "key = value" lines, every key in
 * table order (webhook_url once per URL, not at all without one). The
 * text parses back to an equal configuration. On failure b is as it was.
 */
int
cfg_dump(const struct tunl_cfg *cfg, struct buf *b)
{
	const struct cfg_key	*k;
	const char		*field, *level;
	char			 size[32];
	size_t			 i, start = buf_len(b);
	u_int			 j;
	int			 r = 0;

	if (cfg->nwebhooks > CFG_WEBHOOKS_MAX ||
	    cfg_log_level_name(cfg->log_level) == NULL)
		return TUNL_ERR_INVALID;
	for (i = 0; i < CFG_NKEYS && r == 0; i++) {
		k = &cfg_keys[i];
		field = (const char *)cfg + k->off;
		switch (k->type) {
		case CFG_T_PATH:
		case CFG_T_NAME:
			r = buf_putf(b, "%s = %.*s\n", k->name,
			    (int)strnlen(field, k->size), field);
			break;
		case CFG_T_ADDR:
			/* Unset: no line, as for webhook_url. */
			if (field[0] != '\0')
				r = buf_putf(b, "%s = %.*s\n", k->name,
				    (int)strnlen(field, k->size), field);
			break;
		case CFG_T_BOOL:
			r = buf_putf(b, "%s = %s\n", k->name,
			    *(const int *)(const void *)field ? "yes" : "no");
			break;
		case CFG_T_UINT:
			r = buf_putf(b, "%s = %u\n", k->name,
			    *(const u_int *)(const void *)field);
			break;
		case CFG_T_SIZE:
			cfg_format_size(size, sizeof(size), (unsigned long long)
			    *(const size_t *)(const void *)field);
			r = buf_putf(b, "%s = %s\n", k->name, size);
			break;
		case CFG_T_URL:
			for (j = 0; j < cfg->nwebhooks && r == 0; j++) {
				r = buf_putf(b, "%s = %.*s\n", k->name,
				    (int)strnlen(cfg->webhook_url[j],
				    CFG_URL_MAX), cfg->webhook_url[j]);
			}
			break;
		case CFG_T_LEVEL:
			level = cfg_log_level_name(*(const enum log_level *)
			    (const void *)field);
			r = buf_putf(b, "%s = %s\n", k->name, level);
			break;
		}
	}
	if (r != 0 && buf_len(b) > start)
		(void)buf_consume_end(b, buf_len(b) - start);
	return r;
}

/* 1 when the two configurations have the same value for every key. */
int
cfg_equal(const struct tunl_cfg *a, const struct tunl_cfg *b)
{
	const struct cfg_key	*k;
	const char		*fa, *fb;
	size_t			 i, la, lb;
	u_int			 j;

	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		fa = (const char *)a + k->off;
		fb = (const char *)b + k->off;
		switch (k->type) {
		case CFG_T_PATH:
		case CFG_T_NAME:
		case CFG_T_ADDR:
			la = strnlen(fa, k->size);
			lb = strnlen(fb, k->size);
			if (la != lb || memcmp(fa, fb, la) != 0)
				return 0;
			break;
		case CFG_T_URL:
			if (a->nwebhooks != b->nwebhooks ||
			    a->nwebhooks > CFG_WEBHOOKS_MAX)
				return 0;
			for (j = 0; j < a->nwebhooks; j++) {
				la = strnlen(a->webhook_url[j], CFG_URL_MAX);
				lb = strnlen(b->webhook_url[j], CFG_URL_MAX);
				if (la != lb || memcmp(a->webhook_url[j],
				    b->webhook_url[j], la) != 0)
					return 0;
			}
			break;
		case CFG_T_BOOL:
		case CFG_T_UINT:
		case CFG_T_SIZE:
		case CFG_T_LEVEL:
			/* Scalars of the field's own size. */
			if (memcmp(fa, fb, k->size) != 0)
				return 0;
			break;
		}
	}
	return 1;
}
