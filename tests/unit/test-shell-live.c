/*
 * test-shell-live.c: the pieces of tunl-shell's live verbs that stand on
 * their own: the detach key, the replay speed grammar, finding a broker's
 * socket, starting a broker (argv and environment), and choosing and
 * opening a recording safely.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "tunl.h"
#include "shell.h"

static char	 tmp[128];
static char	 sid[ID_LEN_MAX];

/* tunl-shell.c refuses and exits; here that is a failure. */
void
shell_refuse(int status, const char *fmt, ...)
{
	fail_msg("shell_refuse(%d, %s)", status, fmt);
	abort();
}

/* The registry verbs (tunl-authority) are not reached here. */
int
shell_reg_session(struct shell *sh, const char *id, struct session *s)
{
	(void)sh;
	(void)id;
	(void)s;
	fail_msg("shell_reg_session called");
	abort();
}

int
shell_reg_quiet(struct shell *sh, const char *verb, const char *arg,
    const char *input)
{
	(void)sh;
	(void)verb;
	(void)arg;
	(void)input;
	fail_msg("shell_reg_quiet called");
	abort();
}

int
shell_run_admit(struct shell *sh, const char *id, const char *join,
    u_int cols, u_int rows, int *fdp, char *why, size_t whylen)
{
	(void)sh;
	(void)id;
	(void)join;
	(void)cols;
	(void)rows;
	(void)fdp;
	(void)why;
	(void)whylen;
	fail_msg("shell_run_admit called");
	abort();
}

static void
shell_setup(struct shell *sh)
{
	struct passwd	*pw;

	memset(sh, 0, sizeof(*sh));
	cfg_defaults(&sh->cfg);
	snprintf(sh->cfg.runtime_dir, sizeof(sh->cfg.runtime_dir), "%s/run",
	    tmp);
	snprintf(sh->cfg.recording_dir, sizeof(sh->cfg.recording_dir),
	    "%s/rec", tmp);
	pw = getpwuid(geteuid());
	assert_non_null(pw);
	tunl_strlcpy(sh->cfg.broker_user, pw->pw_name,
	    sizeof(sh->cfg.broker_user));
}

static void
path(char *out, size_t len, const char *fmt, ...) TUNL_PRINTF(3, 4);

static void
path(char *out, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(out, len, "%s/", tmp);
	va_start(ap, fmt);
	(void)vsnprintf(out + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
touch(const char *name, mode_t mode)
{
	char	 p[512];
	int	 fd;

	path(p, sizeof(p), "rec/%s", name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, name, strlen(name)), (ssize_t)strlen(name));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int
setup(void **state)
{
	char	 p[512];

	(void)state;
	if (sodium_init() == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/tunl-live.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		return -1;
	path(p, sizeof(p), "run");
	(void)mkdir(p, 0755);
	path(p, sizeof(p), "run/sessions");
	(void)mkdir(p, 0755);
	path(p, sizeof(p), "rec");
	(void)mkdir(p, 0755);
	return id_generate(sid, sizeof(sid));
}

static int
teardown(void **state)
{
	char	 cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the escape key ------------------------------------------------------ */

static void
test_key_plain(void **state)
{
	int	 esc = 0;

	(void)state;
	assert_int_equal(shell_join_key(&esc, 'a'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, 'd'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, '~'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, '.'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, 0x03), JOIN_KEY_SEND);
	assert_int_equal(esc, 0);
}

static void
test_key_detach(void **state)
{
	int	 esc = 0;

	(void)state;
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(esc, 1);
	assert_int_equal(shell_join_key(&esc, 'd'), JOIN_KEY_DETACH);
	assert_int_equal(esc, 0);
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, 'D'), JOIN_KEY_DETACH);
}

static void
test_key_literal(void **state)
{
	int	 esc = 0;

	(void)state;
	/* Ctrl-] Ctrl-] is one Ctrl-] sent, and the state is clear. */
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_SEND);
	assert_int_equal(esc, 0);
	assert_int_equal(shell_join_key(&esc, 'd'), JOIN_KEY_SEND);
	/* Anything else after Ctrl-]: both go. */
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, 'x'), JOIN_KEY_SEND_BOTH);
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, '?'), JOIN_KEY_HELP);
	/* Ctrl-] c opens the chat line, Ctrl-] h shows the recent chat. */
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, 'c'), JOIN_KEY_CHAT);
	assert_int_equal(shell_join_key(&esc, 'c'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, 0x1d), JOIN_KEY_HOLD);
	assert_int_equal(shell_join_key(&esc, 'H'), JOIN_KEY_HISTORY);
	assert_int_equal(esc, 0);
	/* ssh's escape is not ours. */
	assert_int_equal(shell_join_key(&esc, '\r'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, '~'), JOIN_KEY_SEND);
	assert_int_equal(shell_join_key(&esc, '.'), JOIN_KEY_SEND);
}

/* ---- replay --speed ------------------------------------------------------- */

static void
test_speed(void **state)
{
	static const struct {
		const char	*s;
		u_int		 v;	/* 0: refused */
	} t[] = {
		{ "1", 100 }, { "0.25", 25 }, { "16", 1600 }, { "1.5", 150 },
		{ "2.05", 205 }, { "16.0", 1600 }, { "00.5", 50 },
		{ "16.01", 0 }, { "0.24", 0 }, { "0.2", 0 }, { "0", 0 },
		{ "17", 0 }, { "1000", 0 }, { ".5", 0 }, { "1.", 0 },
		{ "1e1", 0 }, { "-1", 0 }, { "+1", 0 }, { "1.234", 0 },
		{ "", 0 }, { "1..2", 0 }, { "0x1", 0 }, { "2 ", 0 },
		{ "nan", 0 }, { "inf", 0 }, { "1,5", 0 },
	};
	u_int	 v, i;
	int	 r;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(t); i++) {
		v = 12345;
		r = shell_args_speed(t[i].s, &v);
		if (t[i].v == 0) {
			if (r == 0)
				fail_msg("speed \"%s\" accepted", t[i].s);
			assert_int_equal(v, 0);
		} else {
			if (r != 0)
				fail_msg("speed \"%s\" refused", t[i].s);
			assert_int_equal(v, t[i].v);
		}
	}
}

static void
test_speed_args(void **state)
{
	struct shell_cmd	 c;
	char			 cmd[128], err[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "replay %s --speed 2", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_REPLAY);
	assert_int_equal(c.speed, 200);
	snprintf(cmd, sizeof(cmd), "replay %s", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_OK);
	assert_int_equal(c.speed, 0);
	snprintf(cmd, sizeof(cmd), "replay %s --speed 99", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_USAGE);
	assert_string_equal(err, "replay: --speed: \"99\" is not a speed "
	    "from 0.25 to 16");
	snprintf(cmd, sizeof(cmd), "replay %s --speed", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "join %s --speed 2", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "cast %s --speed 2", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_USAGE);
	snprintf(cmd, sizeof(cmd), "join %s --read-only", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_OK);
	assert_int_equal(c.read_only, 1);
	snprintf(cmd, sizeof(cmd), "consume %s", sid);
	assert_int_equal(shell_args_parse(SHELL_ENGINEER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_OK);
	assert_int_equal(c.verb, SHELL_V_CONSUME);
	/* The customer account has none of these. */
	snprintf(cmd, sizeof(cmd), "join %s", sid);
	assert_int_equal(shell_args_parse(SHELL_CUSTOMER, cmd, strlen(cmd),
	    240, &c, err, sizeof(err)), SHELL_ARGS_UNKNOWN);
}

/* ---- the broker's socket --------------------------------------------------- */

static int
listen_at(const char *p)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	tunl_strlcpy(sun.sun_path, p, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_connect(void **state)
{
	struct shell	 sh;
	char		 p[512];
	int		 lfd, fd, fl;

	(void)state;
	shell_setup(&sh);
	assert_int_equal(shell_live_sockpath(&sh, sid, p, sizeof(p)), 0);
	path(p + 256, 256, "run/sessions/%s.sock", sid);
	assert_string_equal(p, p + 256);
	assert_int_equal(shell_live_sockpath(&sh, "../../etc", p, sizeof(p)),
	    TUNL_ERR_INVALID);

	/* Nothing there. */
	assert_int_equal(shell_live_connect(&sh, sid, &fd), TUNL_ERR_NOT_FOUND);
	assert_int_equal(fd, -1);
	assert_false(shell_live_alive(&sh, sid));

	/* A listener: connected, non-blocking. */
	assert_int_equal(shell_live_sockpath(&sh, sid, p, sizeof(p)), 0);
	lfd = listen_at(p);
	assert_int_equal(shell_live_connect(&sh, sid, &fd), 0);
	fl = fcntl(fd, F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	assert_true(shell_live_alive(&sh, sid));

	/* The listener gone, its socket left behind: refused, not found. */
	close(lfd);
	assert_int_equal(shell_live_connect(&sh, sid, &fd), TUNL_ERR_NOT_FOUND);
	assert_false(shell_live_alive(&sh, sid));
	assert_int_equal(unlink(p), 0);
}

/* A stand-in broker: records its argv and environment, exits 5. */
static void
test_start_fails(void **state)
{
	struct shell	 sh;
	char		 script[512], log[512], text[4096], cmd[1200];
	FILE		*f;
	size_t		 n;
	int		 fd;

	(void)state;
	shell_setup(&sh);
	path(script, sizeof(script), "fake-broker");
	path(log, sizeof(log), "fake-broker.log");
	f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
	    "{ echo \"argv=$*\"; /usr/bin/env; echo \"stdin=$(cat)\"; } >'%s'\n"
	    "echo 'tunl-broker: no such session' >&2\n"
	    "exit 5\n", log);
	fclose(f);
	assert_int_equal(chmod(script, 0755), 0);
	sh.broker = script;
	assert_int_equal(setenv("TUNL_TEST_MARKER", "leak", 1), 0);
	assert_int_equal(shell_live_start(&sh, sid, &fd), TUNL_ERR_SYSTEM);
	assert_int_equal(fd, -1);
	unsetenv("TUNL_TEST_MARKER");
	f = fopen(log, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	snprintf(cmd, sizeof(cmd), "argv=-s %s\n", sid);
	if (strncmp(text, cmd, strlen(cmd)) != 0)
		fail_msg("broker argv: %s", text);
	assert_null(strstr(text, "TUNL_TEST_MARKER"));
	assert_null(strstr(text, "HOME="));
	assert_non_null(strstr(text, "stdin=\n"));

	/* A bad id never reaches a command line. */
	assert_int_equal(shell_live_start(&sh, "x; rm -rf /", &fd),
	    TUNL_ERR_INVALID);
}

/* ---- recordings -------------------------------------------------------------- */

static void
test_recording_choice(void **state)
{
	struct shell	 sh;
	char		 name[64], p[512], other[ID_LEN_MAX], buf[512];
	ssize_t		 n;
	int		 fd;

	(void)state;
	shell_setup(&sh);
	assert_int_equal(id_generate(other, sizeof(other)), 0);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    TUNL_ERR_NOT_FOUND);

	snprintf(name, sizeof(name), "%s.cast", other);
	touch(name, 0640);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    TUNL_ERR_NOT_FOUND);

	snprintf(p, sizeof(p), "%s.cast", sid);
	touch(p, 0640);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    0);
	assert_string_equal(name, p);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, p);
	close(fd);

	/* The newest is the highest number, not the latest name sorted. */
	snprintf(p, sizeof(p), "%s-3.cast", sid);
	touch(p, 0640);
	snprintf(p, sizeof(p), "%s-12.cast", sid);
	touch(p, 0640);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    0);
	assert_string_equal(name, p);
	close(fd);

	/* Writable by the group: refused, not skipped for an older one. */
	path(p, sizeof(p), "rec/%s-12.cast", sid);
	assert_int_equal(chmod(p, 0660), 0);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(fd, -1);
	assert_int_equal(unlink(p), 0);

	/* A link in its place is not followed. */
	path(buf, sizeof(buf), "rec/%s-3.cast", sid);
	assert_int_equal(symlink(buf, p), 0);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(unlink(p), 0);

	/* Another owner than the broker account. */
	path(p, sizeof(p), "rec/%s-3.cast", sid);
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 1, (gid_t)-1), 0);
		assert_int_equal(shell_replay_open(&sh, sid, name,
		    sizeof(name), &fd), TUNL_ERR_UNSAFE);
	}
	assert_int_equal(unlink(p), 0);
	assert_int_equal(shell_replay_open(&sh, sid, name, sizeof(name), &fd),
	    0);
	snprintf(p, sizeof(p), "%s.cast", sid);
	assert_string_equal(name, p);
	close(fd);
	assert_int_equal(shell_replay_open(&sh, "../x", name, sizeof(name),
	    &fd), TUNL_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_plain),
		cmocka_unit_test(test_key_detach),
		cmocka_unit_test(test_key_literal),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_speed_args),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_recording_choice),
	};

	log_init("test-shell-live", LOG_USER, LOG_NO_SYSLOG);
	log_set_level(TUNL_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
