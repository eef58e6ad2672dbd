/*
 * test-pam.c: pam_tunl.so through libpam, as sshd drives it.
 *
 * Each test writes a service file naming the built module by absolute path
 * into its own directory and calls pam_start_confdir(), so nothing of the
 * machine's /etc/pam.d is read. The registry, token key, configuration
 * and hand-off directory live in that directory too. The conversation
 * function answers the prompts from the test's table and records them
 * with their echo styles; pam_syslog is defined here, so the module's log
 * lines are captured (the program exports it, and the dynamic linker
 * binds the module's calls to it).
 *
 * Needs root (the module writes root-owned hand-offs and reads a
 * root-owned key) and Linux-PAM >= 1.4.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>

#include <sodium.h>

#include "tunl.h"
#include "pam_tunl.h"

/* Where the tree goes when the build directory is below /tmp. */
#define SAFE_FALLBACK	"/var/lib/tunl-tests"

#ifndef PAM_TUNL_MODULE
#error "PAM_TUNL_MODULE must name the built module"
#endif

#define SERVICE		"tunl-test"
#define USER		"tunl"
#define RHOST		"192.0.2.7"
#define CONN		"192.0.2.7 50123 127.0.0.1 22"
#define CONN2		"198.51.100.9 40000 127.0.0.1 22"
#define FAST		"delay_min=0 delay_max=0"

/* ---- captured log lines -------------------------------------------------- */

#define LOG_LINES	64
#define LOG_LINE	512

static char	 log_line[LOG_LINES][LOG_LINE];
static int	 log_prio[LOG_LINES];
static int	 log_n;

void
pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt,
    va_list ap)
{
	(void)pamh;
	if (log_n >= LOG_LINES)
		return;
	log_prio[log_n] = priority;
	(void)vsnprintf(log_line[log_n], LOG_LINE, fmt, ap);
	log_n++;
}

void
pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

/* How many captured lines contain s. */
static int
log_count(const char *s)
{
	int	 i, n = 0;

	for (i = 0; i < log_n; i++) {
		if (strstr(log_line[i], s) != NULL)
			n++;
	}
	return n;
}

/* The one failure line, which must say exactly this. */
static void
assert_failure_line(const char *rhost, const char *user, const char *reason)
{
	char	 want[LOG_LINE];
	int	 i, found = -1;

	snprintf(want, sizeof(want),
	    "authentication failure; rhost=%s user=%s reason=%s", rhost, user,
	    reason);
	for (i = 0; i < log_n; i++) {
		if (strncmp(log_line[i], "authentication failure;", 23) != 0)
			continue;
		if (found != -1)
			fail_msg("two failure lines: [%s] [%s]",
			    log_line[found], log_line[i]);
		found = i;
	}
	if (found == -1)
		fail_msg("no failure line; wanted [%s]", want);
	assert_string_equal(log_line[found], want);
	assert_int_equal(log_prio[found], LOG_NOTICE);
}

/* ---- the conversation ----------------------------------------------------- */

enum conv_mode {
	CONV_ANSWER = 0,
	CONV_FAIL,		/* return PAM_CONV_ERR */
	CONV_NO_RESP,		/* PAM_SUCCESS without a response */
	CONV_NULL_ANSWER	/* a response whose text is NULL */
};

struct conv_state {
	enum conv_mode	 mode;
	const char	*id;		/* answer to "Session id: " */
	const char	*token;		/* answer to "Session token: " */
	int		 n;
	char		 prompt[8][64];
	int		 style[8];
};

static int
conv_fn(int num, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct conv_state	*cs = arg;
	struct pam_response	*r;
	const char		*answer;
	int			 i;

	if (num <= 0 || num > 8)
		return PAM_CONV_ERR;
	for (i = 0; i < num; i++) {
		if (cs->n < 8) {
			snprintf(cs->prompt[cs->n], sizeof(cs->prompt[0]),
			    "%s", msg[i]->msg);
			cs->style[cs->n] = msg[i]->msg_style;
			cs->n++;
		}
	}
	if (cs->mode == CONV_FAIL)
		return PAM_CONV_ERR;
	if (cs->mode == CONV_NO_RESP) {
		*resp = NULL;
		return PAM_SUCCESS;
	}
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		answer = NULL;
		if (strcmp(msg[i]->msg, PAM_TUNL_PROMPT_ID) == 0)
			answer = cs->id;
		else if (strcmp(msg[i]->msg, PAM_TUNL_PROMPT_TOKEN) == 0)
			answer = cs->token;
		if (answer != NULL && cs->mode == CONV_ANSWER &&
		    (r[i].resp = strdup(answer)) == NULL) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* ---- the fixture ------------------------------------------------------------ */

struct fx {
	char		 dir[PATH_MAX];
	char		 conf[PATH_MAX];
	char		 db[PATH_MAX];
	char		 key[PATH_MAX];
	char		 run[PATH_MAX];
	char		 authdir[PATH_MAX];
	char		 confdir[PATH_MAX];
	u_char		 keybytes[TOKEN_KEY_LEN];
	struct registry	*reg;
};

static struct fx	*fxp;

/* snprintf into an array, true when it fitted. */
#define PATHF(dst, ...) \
	((size_t)snprintf((dst), sizeof(dst), __VA_ARGS__) < sizeof(dst))

static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0 || chmod(path, mode) != 0)
		return -1;
	return 0;
}

/* tunl.conf with the fixture's paths and extra "key = value" lines. */
static void
fx_config(struct fx *f, const char *extra)
{
	char	 text[8192];

	assert_true(PATHF(text,
	    "database = %s\nruntime_dir = %s\nrecording_dir = %s/rec\n"
	    "token_key = %s\nca_key = %s/ca\nrelay_group = root\n"
	    "key_group = root\n%s",
	    f->db, f->run, f->dir, f->key, f->dir,
	    extra == NULL ? "" : extra));
	assert_int_equal(write_file(f->conf, text, 0644), 0);
}

/* The service file: every stage through the module with these arguments. */
static void
fx_service(struct fx *f, const char *args)
{
	char	 text[8192], path[PATH_MAX + 32];

	assert_true(PATHF(text,
	    "auth required %s %s\naccount required %s %s\n"
	    "session required %s %s\n", PAM_TUNL_MODULE, args,
	    PAM_TUNL_MODULE, args, PAM_TUNL_MODULE, args));
	assert_true(PATHF(path, "%s/" SERVICE, f->confdir));
	assert_int_equal(write_file(path, text, 0644), 0);
}

static void
fx_service_default(struct fx *f)
{
	char	 args[PATH_MAX + 64];

	snprintf(args, sizeof(args), "config=%s " FAST, f->conf);
	fx_service(f, args);
}

/*
 * A root-only place for the test's tree: the module refuses a hand-off
 * directory below anything group- or world-writable (such as /tmp).
 */
static int
safe_base(char *out, size_t outlen)
{
	const char	*b;

	if ((b = getenv("TUNL_TEST_TMPDIR")) == NULL &&
	    (b = getenv("top_builddir")) == NULL)
		b = ".";
	if (realpath(b, out) != NULL && strlen(out) + 32 < outlen &&
	    tunl_safe_path(out, 0, NULL, 0) == 0)
		return 0;
	/*
	 * A build under /tmp: use the place the integration harness uses,
	 * made 0755 root if it is missing (teardown removes it when empty).
	 */
	if (tunl_safe_path("/var/lib", 0, NULL, 0) != 0 ||
	    (mkdir(SAFE_FALLBACK, 0755) != 0 && errno != EEXIST) ||
	    tunl_safe_path(SAFE_FALLBACK, 0, NULL, 0) != 0)
		return -1;
	tunl_strlcpy(out, SAFE_FALLBACK, outlen);
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*f;
	char		 base[PATH_MAX];

	*state = NULL;
	if (geteuid() != 0 || safe_base(base, sizeof(base)) != 0)
		return 0;	/* each test skips */
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test-pam.XXXXXX", base);
	if (mkdtemp(f->dir) == NULL || chmod(f->dir, 0755) != 0) {
		free(f);
		return -1;
	}
	if (!PATHF(f->conf, "%s/tunl.conf", f->dir) ||
	    !PATHF(f->db, "%s/tunl.db", f->dir) ||
	    !PATHF(f->key, "%s/token.key", f->dir) ||
	    !PATHF(f->run, "%s/run", f->dir) ||
	    !PATHF(f->authdir, "%s/run/auth", f->dir) ||
	    !PATHF(f->confdir, "%s/pam.d", f->dir) ||
	    mkdir(f->run, 0755) != 0 || mkdir(f->authdir, 0750) != 0 ||
	    mkdir(f->confdir, 0755) != 0 ||
	    token_key_create(f->key, 0, 0, 0640) != 0 ||
	    token_key_load(f->key, 0, f->keybytes) != 0 ||
	    registry_open(f->db, REGISTRY_CREATE, &f->reg) != 0)
		return -1;
	fxp = f;
	*state = f;
	log_n = 0;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	if (f == NULL)
		return 0;
	registry_close(f->reg);
	/* Our own mkdtemp directory, depth first, never following links. */
	if (nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return -1;
	(void)rmdir(SAFE_FALLBACK);
	sodium_memzero(f->keybytes, sizeof(f->keybytes));
	free(f);
	fxp = NULL;
	return 0;
}

#define FX(state) \
	struct fx *f = *(state); \
	if (f == NULL) skip()

/* A new session with a token; id and token (TOKEN_LEN_MAX) filled in. */
static void
mksession(struct fx *f, char *id, char *token, int64_t created,
    int64_t expires, int64_t token_expires)
{
	struct session	 s;
	u_char		 hash[TOKEN_HASH_LEN];

	memset(&s, 0, sizeof(s));
	assert_int_equal(id_generate(s.id, sizeof(s.id)), 0);
	s.state = SESSION_PENDING;
	s.mode = SESSION_SHARE;
	strcpy(s.engineer, "alice");
	s.created = created;
	s.expires = expires;
	assert_int_equal(token_generate(TOKEN_DIGITS_DEFAULT, token,
	    TOKEN_LEN_MAX), 0);
	assert_int_equal(token_hash(f->keybytes, token, hash), 0);
	assert_int_equal(registry_session_create(f->reg, &s, hash,
	    token_expires), 0);
	strcpy(id, s.id);
}

static void
mklive(struct fx *f, char *id, char *token)
{
	int64_t	 now = (int64_t)time(NULL);

	mksession(f, id, token, now - 10, now + 3600, now + 3600);
}

/* A pam handle for SERVICE with RHOST and SSH_CONNECTION (NULL: unset). */
static pam_handle_t *
start(struct fx *f, struct conv_state *cs, const char *user,
    const char *rhost, const char *conn)
{
	struct pam_conv	 conv = { conv_fn, cs };
	pam_handle_t	*pamh = NULL;
	char		 env[256];

	assert_int_equal(pam_start_confdir(SERVICE, user, &conv, f->confdir,
	    &pamh), PAM_SUCCESS);
	if (rhost != NULL)
		assert_int_equal(pam_set_item(pamh, PAM_RHOST, rhost),
		    PAM_SUCCESS);
	if (conn != NULL) {
		snprintf(env, sizeof(env), "SSH_CONNECTION=%s", conn);
		assert_int_equal(pam_putenv(pamh, env), PAM_SUCCESS);
	}
	return pamh;
}

/* One whole auth attempt; returns pam_authenticate's result. */
static int
attempt(struct fx *f, struct conv_state *cs, const char *rhost,
    const char *conn)
{
	pam_handle_t	*pamh;
	int		 rc;

	pamh = start(f, cs, USER, rhost, conn);
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static void
assert_token_prompts(const struct conv_state *cs)
{
	assert_int_equal(cs->n, 2);
	assert_string_equal(cs->prompt[0], "Session id: ");
	assert_int_equal(cs->style[0], PAM_PROMPT_ECHO_ON);
	assert_string_equal(cs->prompt[1], "Session token: ");
	assert_int_equal(cs->style[1], PAM_PROMPT_ECHO_OFF);
}

static void
assert_no_handoff(struct fx *f, const char *conn)
{
	char		 path[PATH_MAX];
	struct stat	 st;

	assert_int_equal(handoff_path(f->authdir, conn, path, sizeof(path)),
	    0);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
assert_not_logged(const char *secret)
{
	assert_int_equal(log_count(secret), 0);
}

static u_int
failures(struct fx *f, const char *id)
{
	struct session	 s;

	assert_int_equal(registry_session_get(f->reg, id, &s), 0);
	return s.failures;
}

static enum session_state
state_of(struct fx *f, const char *id)
{
	struct session	 s;

	assert_int_equal(registry_session_get(f->reg, id, &s), 0);
	return s.state;
}

static int
count_login(const struct registry_event *ev, void *arg)
{
	if (strcmp(ev->action, "login") == 0 &&
	    strcmp(ev->actor, "customer") == 0 &&
	    strcmp(ev->source, RHOST) == 0)
		(*(int *)arg)++;
	return 0;
}

/*
 * The module's own account verdict. libpam turns a stack in which every
 * module says PAM_IGNORE into PAM_PERM_DENIED, so PAM_IGNORE can only be
 * seen by calling the entry point itself (sshd's real stack goes on to
 * pam_unix, as pam.d/tunl says).
 */
static int
acct_direct(struct fx *f, pam_handle_t *pamh)
{
	int		(*fn)(pam_handle_t *, int, int, const char **);
	void		*dl;
	char		 config[PATH_MAX + 8];
	const char	*argv[3];
	int		 rc;

	assert_true(PATHF(config, "config=%s", f->conf));
	argv[0] = config;
	argv[1] = "delay_min=0";
	argv[2] = "delay_max=0";
	assert_non_null(dl = dlopen(PAM_TUNL_MODULE, RTLD_NOW | RTLD_LOCAL));
	*(void **)&fn = dlsym(dl, "pam_sm_acct_mgmt");
	assert_non_null(fn);
	rc = fn(pamh, 0, 3, argv);
	dlclose(dl);
	return rc;
}

/* ---- auth ------------------------------------------------------------------ */

static void
test_success(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	struct handoff		 h;
	struct stat		 st;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 path[PATH_MAX];
	const char		*v;
	int			 logins = 0;

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_token_prompts(&cs);

	/* The hand-off names this session and connection. */
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, id);
	assert_string_equal(h.rhost, RHOST);
	assert_string_equal(h.connection, CONN);
	assert_string_equal(h.method, "token");
	assert_int_equal(handoff_path(f->authdir, CONN, path, sizeof(path)),
	    0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* The ForceCommand's environment. */
	assert_non_null(v = pam_getenv(pamh, "TUNL_SESSION"));
	assert_string_equal(v, id);
	assert_non_null(v = pam_getenv(pamh, "TUNL_HANDOFF"));
	assert_string_equal(v, path);

	/* account: the session is live; close_session removes the file. */
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	assert_no_handoff(f, CONN);
	/* No hand-off left: the account stage has no opinion. */
	assert_int_equal(acct_direct(f, pamh), PAM_IGNORE);
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);

	assert_int_equal(registry_event_list(f->reg, id, count_login,
	    &logins), 0);
	assert_int_equal(logins, 1);
	assert_int_equal(failures(f, id), 0);
	assert_int_equal(log_count("authentication failure"), 0);
	/* Successes are logged only with "audit". */
	assert_int_equal(log_count("authentication success"), 0);
	assert_not_logged(token);
}

static void
test_audit(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 args[PATH_MAX + 64], want[256];

	fx_config(f, NULL);
	snprintf(args, sizeof(args), "config=%s audit " FAST, f->conf);
	fx_service(f, args);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
	snprintf(want, sizeof(want), "authentication success; rhost=" RHOST
	    " user=" USER " session=%s method=token", id);
	assert_int_equal(log_count(want), 1);
	assert_not_logged(token);
}

static void
test_wrong_token(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 wrong[TOKEN_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	/* Another token of the same length. */
	strcpy(wrong, token);
	wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = wrong;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_token_prompts(&cs);
	assert_failure_line(RHOST, USER, "bad-token");
	assert_no_handoff(f, CONN);
	assert_int_equal(failures(f, id), 1);
	assert_not_logged(wrong);
	assert_not_logged(token);
}

/* A right token for session B, typed with session A's id. */
static void
test_binding(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 a[ID_LEN_MAX], atok[TOKEN_LEN_MAX];
	char			 b[ID_LEN_MAX], btok[TOKEN_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, a, atok);
	mklive(f, b, btok);
	memset(&cs, 0, sizeof(cs));
	cs.id = a;
	cs.token = btok;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "bad-token");
	assert_no_handoff(f, CONN);
	assert_int_equal(failures(f, a), 1);
	assert_int_equal(failures(f, b), 0);
	/* And the other way round. */
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = b;
	cs.token = atok;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "bad-token");
	assert_not_logged(atok);
	assert_not_logged(btok);
}

/*
 * The id typed as people read it aloud: capitals, spaces for dashes, a
 * blank at the end. It names the same session, and the hand-off holds the
 * id in its one canonical form.
 */
static void
test_spoken_id(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	struct handoff		 h;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 typed[ID_LEN_MAX + 4];
	size_t			 i;

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	for (i = 0; id[i] != '\0'; i++)
		typed[i] = id[i] == '-' ? ' ' : (char)(id[i] - 'a' + 'A');
	typed[i++] = ' ';
	typed[i] = '\0';
	memset(&cs, 0, sizeof(cs));
	cs.id = typed;
	cs.token = token;
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, id);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	assert_int_equal(failures(f, id), 0);
}

static void
test_bad_input(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 longid[200], ctl[ID_LEN_MAX + 4];
	char			 longtok[100], tabbed[ID_LEN_MAX + 4];
	size_t			 i;
	struct {
		const char	*id;
		const char	*token;
		const char	*reason;
		int		 counted;	/* against the session */
	} cases[] = {
		{ longid, NULL, "bad-input", 0 },
		{ ctl, NULL, "bad-input", 0 },
		{ tabbed, NULL, "bad-input", 0 },
		{ "", NULL, "bad-input", 0 },
		{ NULL, "", "bad-input", 0 },
		{ NULL, longtok, "bad-input", 0 },
		{ NULL, "1234\t5678", "bad-input", 0 },
		{ NULL, "1234567", "bad-token", 1 },
		{ NULL, "123456789", "bad-token", 1 },
		{ NULL, "1234abcd", "bad-token", 1 },
		{ "AMBER FALCON RIVER", NULL, "bad-id", 0 },
		{ "amber-falcon", NULL, "bad-id", 0 },
		{ "../../../etc/passwd", NULL, "bad-id", 0 },
	};

	fx_config(f, "rate_limit = 100\n");
	fx_service_default(f);
	mklive(f, id, token);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	snprintf(ctl, sizeof(ctl), "%s\001", id);
	snprintf(tabbed, sizeof(tabbed), "%s\t", id);
	memset(longtok, '1', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';

	for (i = 0; i < TUNL_NITEMS(cases); i++) {
		u_int	 before = failures(f, id);

		log_n = 0;
		memset(&cs, 0, sizeof(cs));
		cs.id = cases[i].id != NULL ? cases[i].id : id;
		cs.token = cases[i].token != NULL ? cases[i].token : token;
		assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
		/* Both questions, whatever was wrong with the first. */
		assert_token_prompts(&cs);
		assert_failure_line(RHOST, USER, cases[i].reason);
		assert_int_equal(failures(f, id), before +
		    (u_int)cases[i].counted);
		assert_no_handoff(f, CONN);
		assert_not_logged(token);
		if (cases[i].token != NULL && *cases[i].token != '\0')
			assert_not_logged(cases[i].token);
	}
}

/* A conversation that fails or answers nothing. */
static void
test_conversation_errors(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	enum conv_mode		 modes[] = {
		CONV_FAIL, CONV_NO_RESP, CONV_NULL_ANSWER
	};
	size_t			 i;

	fx_config(f, "rate_limit = 100\n");
	fx_service_default(f);
	mklive(f, id, token);
	for (i = 0; i < TUNL_NITEMS(modes); i++) {
		log_n = 0;
		memset(&cs, 0, sizeof(cs));
		cs.mode = modes[i];
		cs.id = id;
		cs.token = token;
		assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
		assert_failure_line(RHOST, USER, "bad-input");
		assert_no_handoff(f, CONN);
	}
}

/* failure_cap = 3: three wrong tokens lock the session for good. */
static void
test_failure_cap(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 want[256];
	int			 i;

	fx_config(f, "failure_cap = 3\n");
	fx_service_default(f);
	mklive(f, id, token);
	for (i = 0; i < 3; i++) {
		log_n = 0;
		memset(&cs, 0, sizeof(cs));
		cs.id = id;
		cs.token = strcmp(token, "00000000") == 0 ? "11111111" :
		    "00000000";
		assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
		assert_failure_line(RHOST, USER, "bad-token");
		assert_int_equal(state_of(f, id), i < 2 ? SESSION_PENDING :
		    SESSION_LOCKED);
	}
	snprintf(want, sizeof(want), "session %s locked", id);
	assert_int_equal(log_count(want), 1);

	/* Now the right token fails too. */
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_token_prompts(&cs);
	assert_failure_line(RHOST, USER, "locked");
	assert_int_equal(log_count(want), 0);	/* said once */
	assert_no_handoff(f, CONN);
	assert_not_logged(token);
}

/* rate_limit = 2: the third attempt from that source fails unchecked. */
static void
test_rate_limit(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	int			 i;

	fx_config(f, "rate_limit = 2\n");
	fx_service_default(f);
	mklive(f, id, token);
	for (i = 0; i < 2; i++) {
		log_n = 0;
		memset(&cs, 0, sizeof(cs));
		cs.id = "zzz-zzz-zzz-zzz";
		cs.token = token;
		assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
		assert_failure_line(RHOST, USER, "bad-id");
	}
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	/* The client sees the same questions as ever. */
	assert_token_prompts(&cs);
	assert_failure_line(RHOST, USER, "rate-limited");
	assert_no_handoff(f, CONN);
	/* It was not counted against the session it named. */
	assert_int_equal(failures(f, id), 0);

	/* Another source is not limited. */
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, "198.51.100.9", CONN2), PAM_SUCCESS);
	assert_int_equal(log_count("authentication failure"), 0);
}

static void
test_expired(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	int64_t			 now = (int64_t)time(NULL);

	fx_config(f, "rate_limit = 100\n");
	fx_service_default(f);

	/* A live session whose token has expired. */
	mksession(f, id, token, now - 7200, now + 3600, now - 1);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "bad-token");
	assert_no_handoff(f, CONN);

	/* A session past its expiry that nothing has marked ended yet. */
	log_n = 0;
	mksession(f, id, token, now - 7200, now - 1, now + 3600);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "expired");
	assert_no_handoff(f, CONN);
	assert_not_logged(token);
}

static void
test_ended(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	assert_int_equal(registry_session_set_state(f->reg, id, SESSION_ENDED,
	    "alice", NULL, (int64_t)time(NULL)), 0);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "expired");
	assert_no_handoff(f, CONN);
}

/* token_required = no: the id alone, asked once, echoed. */
static void
test_id_only(void **state)
{
	FX(state);
	struct conv_state	 cs;
	struct handoff		 h;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 other[ID_LEN_MAX];

	fx_config(f, "token_required = no\n");
	fx_service_default(f);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
	assert_int_equal(cs.n, 1);
	assert_string_equal(cs.prompt[0], "Session id: ");
	assert_int_equal(cs.style[0], PAM_PROMPT_ECHO_ON);
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, id);
	assert_string_equal(h.method, "id");

	/* A well-formed id that names no session. */
	log_n = 0;
	do {
		assert_int_equal(id_generate(other, sizeof(other)), 0);
	} while (strcmp(other, id) == 0);
	memset(&cs, 0, sizeof(cs));
	cs.id = other;
	assert_int_equal(attempt(f, &cs, RHOST, CONN2), PAM_AUTH_ERR);
	assert_int_equal(cs.n, 1);
	assert_failure_line(RHOST, USER, "unknown-session");
	assert_no_handoff(f, CONN2);
}

/* With tokens required, a known id and no right token is nothing. */
static void
test_unknown_session(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 other[ID_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	do {
		assert_int_equal(id_generate(other, sizeof(other)), 0);
	} while (strcmp(other, id) == 0);
	memset(&cs, 0, sizeof(cs));
	cs.id = other;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "unknown-session");
	assert_int_equal(failures(f, id), 0);
}

static void
test_no_connection(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, NULL), PAM_AUTH_ERR);
	assert_int_equal(cs.n, 0);	/* not even asked */
	assert_failure_line(RHOST, USER, "internal");
	assert_int_equal(log_count("SSH_CONNECTION is not set"), 1);
	assert_int_equal(failures(f, id), 0);
}

/* No PAM_RHOST: "local"; a host name instead of an address: refused. */
static void
test_rhost(void **state)
{
	FX(state);
	struct conv_state	 cs;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 wrong[TOKEN_LEN_MAX];
	struct handoff		 h;

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	strcpy(wrong, token);
	wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = wrong;
	assert_int_equal(attempt(f, &cs, NULL, CONN), PAM_AUTH_ERR);
	assert_failure_line("local", USER, "bad-token");

	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, "host.example", CONN), PAM_AUTH_ERR);
	assert_int_equal(cs.n, 0);
	assert_int_equal(log_count("authentication failure"), 0);
	assert_int_equal(log_count("not a numeric address"), 1);

	/* Without PAM_RHOST the hand-off takes SSH_CONNECTION's address. */
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, NULL, CONN), PAM_SUCCESS);
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.rhost, RHOST);
}

/* Only the customer account is authenticated here. */
static void
test_wrong_user(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	int			 rc;

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	pamh = start(f, &cs, "support", RHOST, CONN);
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	assert_int_equal(rc, PAM_AUTH_ERR);
	assert_int_equal(cs.n, 0);
	assert_failure_line(RHOST, "support", "bad-input");
	assert_no_handoff(f, CONN);

	/* A user name outside the grammar is not logged as such. */
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	pamh = start(f, &cs, "evil\nname", RHOST, CONN);
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	assert_int_equal(rc, PAM_AUTH_ERR);
	assert_failure_line(RHOST, "-", "bad-input");
}

/* A fresh hand-off for the same connection is never overwritten. */
static void
test_handoff_exists(void **state)
{
	FX(state);
	struct conv_state	 cs;
	struct handoff		 h;
	char			 a[ID_LEN_MAX], atok[TOKEN_LEN_MAX];
	char			 b[ID_LEN_MAX], btok[TOKEN_LEN_MAX];
	char			 path[PATH_MAX];
	struct timespec		 old[2];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, a, atok);
	mklive(f, b, btok);
	memset(&cs, 0, sizeof(cs));
	cs.id = a;
	cs.token = atok;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
	memset(&cs, 0, sizeof(cs));
	cs.id = b;
	cs.token = btok;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_failure_line(RHOST, USER, "internal");
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, a);

	/* Once older than the session TTL it is stale and replaced. */
	assert_int_equal(handoff_path(f->authdir, CONN, path, sizeof(path)),
	    0);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 240 * 60 - 10;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = b;
	cs.token = btok;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
	assert_int_equal(handoff_read(f->authdir, CONN, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, b);
}

/* Bad module arguments: every stage fails closed, nothing is asked. */
static void
test_bad_args_closed(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 args[PATH_MAX + 64];
	const char		*bad[] = {
		"bogus", "audit=yes", "delay_min=5001", "delay_min=-1",
		"delay_max=ten", "config=relative/tunl.conf",
		"config=/etc/../tmp/tunl.conf", "audit audit",
		"delay_min=600 delay_max=500",
	};
	size_t			 i;

	fx_config(f, NULL);
	mklive(f, id, token);
	for (i = 0; i < TUNL_NITEMS(bad); i++) {
		snprintf(args, sizeof(args), "config=%s %s", f->conf, bad[i]);
		if (strncmp(bad[i], "config=", 7) == 0)
			snprintf(args, sizeof(args), "%s", bad[i]);
		fx_service(f, args);
		log_n = 0;
		memset(&cs, 0, sizeof(cs));
		cs.id = id;
		cs.token = token;
		pamh = start(f, &cs, USER, RHOST, CONN);
		assert_int_equal(pam_authenticate(pamh, 0), PAM_SERVICE_ERR);
		assert_int_equal(cs.n, 0);
		assert_int_not_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
		assert_int_not_equal(pam_acct_mgmt(pamh, 0), PAM_IGNORE);
		assert_int_not_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
		pam_end(pamh, PAM_SERVICE_ERR);
		assert_true(log_count("bad module arguments") >= 1);
	}
	assert_no_handoff(f, CONN);

	/* A configuration that cannot be read fails closed too. */
	snprintf(args, sizeof(args), "config=%s/missing.conf " FAST, f->dir);
	fx_service(f, args);
	log_n = 0;
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	assert_int_equal(cs.n, 0);
	assert_failure_line(RHOST, USER, "internal");
	assert_int_equal(log_count("configuration:"), 1);
}

/* ---- account and session ---------------------------------------------------- */

static void
test_account(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 path[PATH_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	assert_int_equal(handoff_path(f->authdir, CONN, path, sizeof(path)),
	    0);

	/* Locked between auth and account: denied, hand-off removed. */
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_int_equal(registry_session_set_state(f->reg, id,
	    SESSION_LOCKED, "alice", NULL, (int64_t)time(NULL)), 0);
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED);
	assert_no_handoff(f, CONN);
	pam_end(pamh, PAM_SUCCESS);

	/* Ended between auth and account: expired. */
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_int_equal(registry_session_set_state(f->reg, id,
	    SESSION_ENDED, "alice", NULL, (int64_t)time(NULL)), 0);
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_ACCT_EXPIRED);
	assert_no_handoff(f, CONN);
	pam_end(pamh, PAM_SUCCESS);

	/* A hand-off that is not exactly root-owned 0640: refused. */
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED);
	pam_end(pamh, PAM_SUCCESS);
	assert_no_handoff(f, CONN);

	/* Another connection (a publickey login) has no hand-off. */
	memset(&cs, 0, sizeof(cs));
	pamh = start(f, &cs, USER, RHOST, CONN2);
	assert_int_equal(acct_direct(f, pamh), PAM_IGNORE);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);

	/* Not under sshd at all: no opinion either. */
	memset(&cs, 0, sizeof(cs));
	pamh = start(f, &cs, USER, RHOST, NULL);
	assert_int_equal(acct_direct(f, pamh), PAM_IGNORE);
	assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	assert_int_equal(cs.n, 0);
}

/* close_session removes only this connection's hand-off. */
static void
test_close_session(void **state)
{
	FX(state);
	struct conv_state	 cs;
	pam_handle_t		*pamh;
	struct handoff		 h;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];

	fx_config(f, NULL);
	fx_service_default(f);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, "198.51.100.9", CONN2), PAM_SUCCESS);

	/* A new handle, as in sshd's monitor: only SSH_CONNECTION known. */
	memset(&cs, 0, sizeof(cs));
	pamh = start(f, &cs, USER, RHOST, CONN);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	assert_no_handoff(f, CONN);
	assert_int_equal(handoff_read(f->authdir, CONN2, 0, time(NULL), 3600,
	    &h), 0);
	assert_string_equal(h.session, id);
}

/* ---- the argument parser -------------------------------------------------- */

static int
parse_line(struct pam_tunl_args *a, const char *line, char *err,
    size_t errlen)
{
	char		 buf[1024], *p, *argv[32];
	int		 argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (p = strtok(buf, " "); p != NULL && argc < 32;
	    p = strtok(NULL, " "))
		argv[argc++] = p;
	return pam_tunl_args_parse(a, argc, (const char **)argv, err, errlen);
}

static void
test_args(void **state)
{
	struct pam_tunl_args	 a;
	char			 err[PAM_TUNL_ERR_MAX], longpath[400];
	const char		*argv[PAM_TUNL_ARGS_MAX + 1];
	int			 i;
	struct {
		const char	*line;
		int		 r;
		const char	*err;
	} bad[] = {
		{ "bogus", TUNL_ERR_INVALID, "unknown argument" },
		{ "Audit", TUNL_ERR_INVALID, "unknown argument" },
		{ "audit=1", TUNL_ERR_INVALID, "takes no value" },
		{ "debug debug", TUNL_ERR_INVALID, "given twice" },
		{ "config=/a config=/b", TUNL_ERR_INVALID, "given twice" },
		{ "config", TUNL_ERR_INVALID, "needs a value" },
		{ "config=", TUNL_ERR_INVALID, "needs a value" },
		{ "config=tunl.conf", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/etc/tunl/../x", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/etc/./x", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/etc//x", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/etc/x/", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/", TUNL_ERR_INVALID, "absolute path" },
		{ "config=/etc/x;rm", TUNL_ERR_INVALID, "absolute path" },
		{ "delay_min=5001", TUNL_ERR_RANGE, "out of range" },
		{ "delay_max=99999999999999999999", TUNL_ERR_RANGE,
		    "out of range" },
		{ "delay_min=-1", TUNL_ERR_INVALID, "not a number" },
		{ "delay_min=+5", TUNL_ERR_INVALID, "not a number" },
		{ "delay_min=0x10", TUNL_ERR_INVALID, "not a number" },
		{ "delay_min=5ms", TUNL_ERR_INVALID, "not a number" },
		{ "delay_min=", TUNL_ERR_INVALID, "needs a value" },
		{ "delay_min=300 delay_max=299", TUNL_ERR_RANGE,
		    "delay_min is larger" },
		{ "delay_max=100", TUNL_ERR_RANGE, "delay_min is larger" },
		{ "=x", TUNL_ERR_INVALID, "unknown argument" },
	};
	size_t			 k;

	(void)state;
	/* Defaults. */
	assert_int_equal(pam_tunl_args_parse(&a, 0, NULL, err, sizeof(err)),
	    0);
	assert_string_equal(a.config, CFG_PATH_DEFAULT);
	assert_int_equal(a.audit, 0);
	assert_int_equal(a.debug, 0);
	assert_int_equal(a.delay_min, 200);
	assert_int_equal(a.delay_max, 700);
	assert_string_equal(err, "");

	/* Everything, at its bounds. */
	assert_int_equal(parse_line(&a, "debug config=/etc/tunl/t_1+x.conf "
	    "audit delay_min=0 delay_max=5000", err, sizeof(err)), 0);
	assert_string_equal(a.config, "/etc/tunl/t_1+x.conf");
	assert_int_equal(a.audit, 1);
	assert_int_equal(a.debug, 1);
	assert_int_equal(a.delay_min, 0);
	assert_int_equal(a.delay_max, 5000);
	assert_int_equal(parse_line(&a, "delay_min=5000 delay_max=5000", err,
	    sizeof(err)), 0);
	assert_int_equal(parse_line(&a, "delay_min=0 delay_max=0", err,
	    sizeof(err)), 0);
	assert_int_equal(a.delay_max, 0);

	for (k = 0; k < TUNL_NITEMS(bad); k++) {
		assert_int_equal(parse_line(&a, bad[k].line, err, sizeof(err)),
		    bad[k].r);
		if (strstr(err, bad[k].err) == NULL)
			fail_msg("\"%s\": error [%s] lacks [%s]", bad[k].line,
			    err, bad[k].err);
		/* Never a half-parsed result. */
		assert_string_equal(a.config, CFG_PATH_DEFAULT);
		assert_int_equal(a.audit, 0);
		assert_int_equal(a.delay_min, 200);
		assert_int_equal(a.delay_max, 700);
	}

	/* Control bytes are quoted back escaped, never raw. */
	argv[0] = "audit\n=x\033[2J";
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	assert_null(strchr(err, '\n'));
	assert_null(strchr(err, '\033'));
	assert_non_null(strstr(err, "\\x0a"));
	argv[0] = "";
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	argv[0] = NULL;
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	assert_int_equal(pam_tunl_args_parse(&a, -1, argv, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	assert_int_equal(pam_tunl_args_parse(&a, 1, NULL, err, sizeof(err)),
	    TUNL_ERR_INVALID);

	/* A path as long as the configuration allows, and one byte more. */
	longpath[0] = '\0';
	strcat(longpath, "config=/");
	for (i = 0; i < CFG_PATH_MAX - 2; i++)
		strcat(longpath, "a");
	argv[0] = longpath;
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, err, sizeof(err)),
	    0);
	assert_int_equal(strlen(a.config), CFG_PATH_MAX - 1);
	strcat(longpath, "a");
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, err, sizeof(err)),
	    TUNL_ERR_INVALID);

	/* Too many arguments. */
	for (i = 0; i <= PAM_TUNL_ARGS_MAX; i++)
		argv[i] = "audit";
	assert_int_equal(pam_tunl_args_parse(&a, PAM_TUNL_ARGS_MAX + 1, argv,
	    err, sizeof(err)), TUNL_ERR_INVALID);
	assert_non_null(strstr(err, "too many"));

	/* A NULL or zero-sized error buffer is fine. */
	argv[0] = "bogus";
	assert_int_equal(pam_tunl_args_parse(&a, 1, argv, NULL, 0),
	    TUNL_ERR_INVALID);
}

/*
 * The failure delay: bounded by its arguments. Only a lower bound on the
 * time is asserted (a loaded machine may sleep longer).
 */
static void
test_delay(void **state)
{
	FX(state);
	struct conv_state	 cs;
	struct timespec		 t0, t1;
	char			 id[ID_LEN_MAX], token[TOKEN_LEN_MAX];
	char			 args[PATH_MAX + 64];
	long			 ms;

	fx_config(f, NULL);
	snprintf(args, sizeof(args), "config=%s delay_min=120 delay_max=150",
	    f->conf);
	fx_service(f, args);
	mklive(f, id, token);
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = "zzzz";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_AUTH_ERR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 120);

	/* Success is not delayed: nothing to assert about time there. */
	memset(&cs, 0, sizeof(cs));
	cs.id = id;
	cs.token = token;
	assert_int_equal(attempt(f, &cs, RHOST, CONN), PAM_SUCCESS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test_setup_teardown(test_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spoken_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_conversation_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_connection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rhost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_user, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_handoff_exists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_args_closed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delay, setup, teardown),
	};

#ifndef HAVE_PAM_START_CONFDIR
	printf("1..0 # SKIP pam_start_confdir() is missing (Linux-PAM < 1.4)\n");
	return 0;
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
