/*
 * shell-args.c: the command a client sends (SSH_ORIGINAL_COMMAND), split
 * into words and checked against each verb's grammar. No shell is ever
 * involved: words are separated by one space or one tab, there are no
 * quotes and no escapes, every word is printable ASCII, and the whole
 * command, each word and the number of words are bounded. What the
 * grammar accepts is all that later code sees. A session id is taken in
 * any case and with spaces or dashes between its words, as people read it
 * aloud, and passed on in its canonical form (id_normalise).
 *
 *	customer:  [status [ID]] | sign [ID] |
 *	           produce [ID] [--restricted] [--host NAME]
 *		   help
 *	engineer:  new [--case C] [--customer NAME] [--ttl MIN] [--restricted]
 *		       [--json]
 *		   list [--json] | show ID | kill ID | unlock ID | token ID |
 *		   help
 *		   join ID [--read-only] | consume ID [--read-only]
 *		   replay ID [--speed X] | cast ID | tunnel ID
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

/* Option flags a verb accepts. */
#define OPT_CASE	0x01
#define OPT_CUSTOMER	0x02
#define OPT_TTL		0x04
#define OPT_RESTRICTED	0x08
#define OPT_JSON	0x10
#define OPT_READ_ONLY	0x20
#define OPT_SPEED	0x40
#define OPT_HOST	0x80

/* Whether a verb takes a session id. */
#define ARG_NONE	0
#define ARG_OPTIONAL	1
#define ARG_REQUIRED	2

struct shell_verb_def {
	const char	*name;
	enum shell_verb	 verb;
	int		 arg;
	u_int		 opts;
};

static const struct shell_verb_def customer_verbs[] = {
	{ "status", SHELL_V_STATUS, ARG_OPTIONAL, 0 },
	{ "sign", SHELL_V_SIGN, ARG_OPTIONAL, 0 },
	{ "produce", SHELL_V_PRODUCE, ARG_OPTIONAL,
	    OPT_RESTRICTED | OPT_HOST },
	{ "help", SHELL_V_HELP, ARG_NONE, 0 },
	{ "get", SHELL_V_GET, ARG_OPTIONAL, 0 },
};

static const struct shell_verb_def engineer_verbs[] = {
	{ "new", SHELL_V_NEW, ARG_NONE,
	    OPT_CASE | OPT_CUSTOMER | OPT_TTL | OPT_RESTRICTED | OPT_JSON },
	{ "list", SHELL_V_LIST, ARG_NONE, OPT_JSON },
	{ "show", SHELL_V_SHOW, ARG_REQUIRED, 0 },
	{ "kill", SHELL_V_KILL, ARG_REQUIRED, 0 },
	{ "unlock", SHELL_V_UNLOCK, ARG_REQUIRED, 0 },
	{ "token", SHELL_V_TOKEN, ARG_REQUIRED, 0 },
	{ "help", SHELL_V_HELP, ARG_NONE, 0 },
	{ "join", SHELL_V_JOIN, ARG_REQUIRED, OPT_READ_ONLY },
	{ "consume", SHELL_V_CONSUME, ARG_REQUIRED, OPT_READ_ONLY },
	{ "replay", SHELL_V_REPLAY, ARG_REQUIRED, OPT_SPEED },
	{ "cast", SHELL_V_CAST, ARG_REQUIRED, 0 },
	{ "tunnel", SHELL_V_TUNNEL, ARG_REQUIRED, 0 },
	{ "get", SHELL_V_GET, ARG_NONE, 0 },
};

struct shell_opt_def {
	const char	*name;
	u_int		 flag;
	int		 has_value;
};

static const struct shell_opt_def shell_opts[] = {
	{ "--case", OPT_CASE, 1 },
	{ "--customer", OPT_CUSTOMER, 1 },
	{ "--ttl", OPT_TTL, 1 },
	{ "--restricted", OPT_RESTRICTED, 0 },
	{ "--json", OPT_JSON, 0 },
	{ "--read-only", OPT_READ_ONLY, 0 },
	{ "--speed", OPT_SPEED, 1 },
	{ "--host", OPT_HOST, 1 },
};

static void shell_args_err(char *, size_t, const char *, ...)
    TUNL_PRINTF(3, 4);

static void
shell_args_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Untrusted bytes for a message: escaped (log_escape) and cut to
 * SHELL_ECHO_MAX input bytes, with "..." when cut.
 */
const char *
shell_args_echo(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	 n = len > SHELL_ECHO_MAX ? SHELL_ECHO_MAX : len, o;

	o = log_escape(out, outlen, s, n);
	if (n < len && o + 4 <= outlen)
		memcpy(out + o, "...", 4);
	return out;
}

/*
 * Split cmd (len bytes, not necessarily NUL-terminated) into at most
 * SHELL_WORDS_MAX words of printable ASCII. One space or one tab ends a
 * word; an empty word (separators at either end or two in a row) is an
 * error, as is any other byte outside 0x21-0x7e. An empty command has no
 * words.
 */
int
shell_args_split(const char *cmd, size_t len,
    char words[SHELL_WORDS_MAX][SHELL_WORD_MAX], u_int *nwords)
{
	size_t	 i, start = 0, n;
	u_char	 c;

	*nwords = 0;
	if (len > SHELL_CMD_MAX)
		return TUNL_ERR_LENGTH;
	if (len == 0)
		return 0;
	for (i = 0; i <= len; i++) {
		c = i < len ? (u_char)cmd[i] : ' ';
		if (c == ' ' || c == '\t') {
			n = i - start;
			if (n == 0)
				return TUNL_ERR_INVALID;
			if (n >= SHELL_WORD_MAX)
				return TUNL_ERR_LENGTH;
			if (*nwords >= SHELL_WORDS_MAX)
				return TUNL_ERR_LENGTH;
			memcpy(words[*nwords], cmd + start, n);
			words[*nwords][n] = '\0';
			(*nwords)++;
			start = i + 1;
			continue;
		}
		if (c == '\0')
			return TUNL_ERR_NUL;
		if (c < 0x21 || c > 0x7e)
			return TUNL_ERR_INVALID;
	}
	return 0;
}

static int
shell_args_charset(const char *s, size_t min, size_t size, const char *extra)
{
	size_t	 i;
	char	 c;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= size - 1)
			return 0;
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL))
			return 0;
	}
	return i >= min;
}

/* A case reference: [A-Za-z0-9._-]{1,64}, not starting with '-'. */
int
shell_args_case_ok(const char *s)
{
	return s[0] != '-' && shell_args_charset(s, 1, SHELL_CASE_MAX, "._-");
}

/* A customer name: [A-Za-z0-9._-]{1,64}, not starting with '-'. */
int
shell_args_customer_ok(const char *s)
{
	return s[0] != '-' &&
	    shell_args_charset(s, 1, SHELL_CUSTOMER_MAX, "._-");
}

/* An engineer name: [a-z_][a-z0-9_.-]{0,31}. */
int
shell_args_engineer_ok(const char *s)
{
	size_t	 i;
	char	 c;

	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= SHELL_ENGINEER_MAX - 1)
			return 0;
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * A replay speed: digits, optionally a point and at most two more digits
 * ("0.25", "2", "16", "1.5"), from REPLAY_SPEED_MIN to REPLAY_SPEED_MAX
 * hundredths. No locale, no exponent, no sign.
 */
int
shell_args_speed(const char *s, u_int *hundredths)
{
	u_int	 whole = 0, frac = 0, nwhole = 0, nfrac = 0, v;
	int	 point = 0;

	*hundredths = 0;
	for (; *s != '\0'; s++) {
		if (*s == '.' && !point && nwhole > 0) {
			point = 1;
			continue;
		}
		if (*s < '0' || *s > '9')
			return TUNL_ERR_INVALID;
		if (point) {
			if (++nfrac > 2)
				return TUNL_ERR_INVALID;
			frac = frac * 10 + (u_int)(*s - '0');
		} else {
			if (++nwhole > 3)
				return TUNL_ERR_RANGE;
			whole = whole * 10 + (u_int)(*s - '0');
		}
	}
	if (nwhole == 0 || (point && nfrac == 0))
		return TUNL_ERR_INVALID;
	if (nfrac == 1)
		frac *= 10;
	v = whole * 100 + frac;
	if (v < REPLAY_SPEED_MIN || v > REPLAY_SPEED_MAX)
		return TUNL_ERR_RANGE;
	*hundredths = v;
	return 0;
}

static const struct shell_opt_def *
shell_args_opt(const char *word)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(shell_opts); i++) {
		if (strcmp(word, shell_opts[i].name) == 0)
			return &shell_opts[i];
	}
	return NULL;
}

/* Store one option's value after checking it. */
static int
shell_args_value(const char *verb, const struct shell_opt_def *o,
    const char *v, u_int ttl_max, struct shell_cmd *c, char *err,
    size_t errlen)
{
	char		 echo[SHELL_ECHO_MAX * 4 + 4];
	long long	 n;

	switch (o->flag) {
	case OPT_CASE:
		if (!shell_args_case_ok(v))
			goto bad;
		tunl_strlcpy(c->case_ref, v, sizeof(c->case_ref));
		return 0;
	case OPT_CUSTOMER:
		if (!shell_args_customer_ok(v))
			goto bad;
		tunl_strlcpy(c->customer, v, sizeof(c->customer));
		return 0;
	case OPT_HOST:
		if (!tunl_host_ok(v))
			goto bad;
		tunl_strlcpy(c->host, v, sizeof(c->host));
		return 0;
	case OPT_SPEED:
		if (shell_args_speed(v, &c->speed) != 0) {
			shell_args_err(err, errlen, "%s: --speed: \"%s\" is not "
			    "a speed from 0.25 to 16", verb,
			    shell_args_echo(v, strlen(v), echo, sizeof(echo)));
			return -1;
		}
		return 0;
	case OPT_TTL:
		if (tunl_strtonum(v, 1, ttl_max, &n) != 0) {
			shell_args_err(err, errlen, "%s: --ttl: \"%s\" is not "
			    "a number of minutes from 1 to %u", verb,
			    shell_args_echo(v, strlen(v), echo, sizeof(echo)),
			    ttl_max);
			return -1;
		}
		c->ttl = (u_int)n;
		return 0;
	}
 bad:
	shell_args_err(err, errlen, "%s: %s: \"%s\" is not valid (letters, "
	    "digits, '.', '_' and '-', at most 64)", verb, o->name,
	    shell_args_echo(v, strlen(v), echo, sizeof(echo)));
	return -1;
}

/*
 * The session id that starts at words[w], as people type it: one word
 * ("amber-falcon-river-seven", any case) or the words read aloud, up to
 * ID_WORDS of them, none an option ("Amber Falcon River Seven"). The
 * canonical id goes to id. Returns how many words it took, 0 for none.
 */
static u_int
shell_args_id(char words[SHELL_WORDS_MAX][SHELL_WORD_MAX], u_int nwords,
    u_int w, char *id, size_t idlen)
{
	char	 joined[ID_INPUT_MAX];
	size_t	 len = 0, n;
	u_int	 k;

	for (k = 0; k < ID_WORDS && w + k < nwords; k++) {
		if (words[w + k][0] == '-' && k > 0)
			break;
		n = strlen(words[w + k]);
		if (len + n + 2 > sizeof(joined))
			break;
		if (k > 0)
			joined[len++] = ' ';
		memcpy(joined + len, words[w + k], n);
		len += n;
		joined[len] = '\0';
		if (id_normalise(joined, id, idlen) == 0)
			return k + 1;
	}
	return 0;
}

/*
 * Parse a command for role. ttl_max bounds --ttl (the configured session
 * lifetime). On failure err says why, with any input quoted escaped and
 * cut short, and the result says whether the verb was unknown or misused.
 */
enum shell_args_err
shell_args_parse(enum shell_role role, const char *cmd, size_t len,
    u_int ttl_max, struct shell_cmd *c, char *err, size_t errlen)
{
	char				 words[SHELL_WORDS_MAX][SHELL_WORD_MAX];
	char				 echo[SHELL_ECHO_MAX * 4 + 4];
	const struct shell_verb_def	*verbs, *v = NULL;
	const struct shell_opt_def	*o;
	size_t				 nverbs, i;
	u_int				 nwords, w, n, seen = 0;
	int				 r;

	memset(c, 0, sizeof(*c));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	verbs = role == SHELL_CUSTOMER ? customer_verbs : engineer_verbs;
	nverbs = role == SHELL_CUSTOMER ? TUNL_NITEMS(customer_verbs) :
	    TUNL_NITEMS(engineer_verbs);

	if ((r = shell_args_split(cmd, len, words, &nwords)) != 0) {
		if (r == TUNL_ERR_LENGTH)
			shell_args_err(err, errlen, "command too long (at most "
			    "%d bytes, %d words of %d bytes)", SHELL_CMD_MAX,
			    SHELL_WORDS_MAX, SHELL_WORD_MAX - 1);
		else
			shell_args_err(err, errlen, "unknown command \"%s\"; "
			    "try help", shell_args_echo(cmd, len, echo,
			    sizeof(echo)));
		return SHELL_ARGS_UNKNOWN;
	}
	if (nwords == 0) {
		/* A plain login: status for customers, help for engineers. */
		c->verb = role == SHELL_CUSTOMER ? SHELL_V_STATUS :
		    SHELL_V_HELP;
		return SHELL_ARGS_OK;
	}
	for (i = 0; i < nverbs; i++) {
		if (strcmp(words[0], verbs[i].name) == 0) {
			v = &verbs[i];
			break;
		}
	}
	if (v == NULL) {
		shell_args_err(err, errlen, "unknown command \"%s\"; try help",
		    shell_args_echo(cmd, len, echo, sizeof(echo)));
		return SHELL_ARGS_UNKNOWN;
	}
	c->verb = v->verb;

	/* get names what: tunl-share or tunl-share.sha256. */
	w = 1;
	if (v->verb == SHELL_V_GET) {
		if (nwords < 2 || (strcmp(words[1], "tunl-share") != 0 &&
		    strcmp(words[1], "tunl-share.sha256") != 0)) {
			shell_args_err(err, errlen, "get: get tunl-share or "
			    "get tunl-share.sha256");
			return SHELL_ARGS_USAGE;
		}
		c->get_hash = strcmp(words[1], "tunl-share.sha256") == 0;
		w = 2;
	}
	for (; w < nwords; w++) {
		if (words[w][0] == '-') {
			if ((o = shell_args_opt(words[w])) == NULL ||
			    (v->opts & o->flag) == 0) {
				shell_args_err(err, errlen, "%s: unknown option "
				    "\"%s\"", v->name, shell_args_echo(words[w],
				    strlen(words[w]), echo, sizeof(echo)));
				return SHELL_ARGS_USAGE;
			}
			if (seen & o->flag) {
				shell_args_err(err, errlen, "%s: %s given twice",
				    v->name, o->name);
				return SHELL_ARGS_USAGE;
			}
			seen |= o->flag;
			if (!o->has_value) {
				if (o->flag == OPT_RESTRICTED)
					c->restricted = 1;
				else if (o->flag == OPT_JSON)
					c->json = 1;
				else if (o->flag == OPT_READ_ONLY)
					c->read_only = 1;
				continue;
			}
			if (w + 1 >= nwords) {
				shell_args_err(err, errlen, "%s: %s needs a "
				    "value", v->name, o->name);
				return SHELL_ARGS_USAGE;
			}
			w++;
			if (shell_args_value(v->name, o, words[w], ttl_max, c,
			    err, errlen) != 0)
				return SHELL_ARGS_USAGE;
			continue;
		}
		if (v->arg == ARG_NONE || c->has_id) {
			shell_args_err(err, errlen, "%s: unexpected argument "
			    "\"%s\"", v->name, shell_args_echo(words[w],
			    strlen(words[w]), echo, sizeof(echo)));
			return SHELL_ARGS_USAGE;
		}
		if ((n = shell_args_id(words, nwords, w, c->id,
		    sizeof(c->id))) == 0) {
			shell_args_err(err, errlen, "%s: \"%s\" is not a "
			    "session id (four words, e.g. amber-falcon-river-"
			    "seven)", v->name, shell_args_echo(words[w],
			    strlen(words[w]), echo, sizeof(echo)));
			return SHELL_ARGS_USAGE;
		}
		w += n - 1;
		c->has_id = 1;
	}
	if (v->arg == ARG_REQUIRED && !c->has_id) {
		shell_args_err(err, errlen, "%s: needs a session id", v->name);
		return SHELL_ARGS_USAGE;
	}
	return SHELL_ARGS_OK;
}
