/*
 * test-share.c: tunl-share's pure parts: the control-mode decoder, the
 * allowlist (every frame type, both modes, oversize, bad panes), the audit
 * log's format, and the askpass plumbing over a real socket.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "share.h"

/* ---- control mode ---------------------------------------------------------- */

static void
parse(const char *line, struct buf *data, struct ctlmode_msg *m, int want)
{
	assert_int_equal(ctlmode_parse_line((const u_char *)line, strlen(line),
	    data, m), want);
}

static void
test_ctl_output(void **state)
{
	struct buf		*d = buf_new(1024);
	struct ctlmode_msg	 m;

	(void)state;
	parse("%output %12 hi\\015\\012\\134x\\033[1m", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OUTPUT);
	assert_int_equal(m.pane, 12);
	assert_int_equal(m.len, 10);
	assert_memory_equal(m.data, "hi\r\n\\x\033[1m", 10);
	/* Bytes from 0x7f up pass as they are (UTF-8). */
	parse("%output %0 \xc3\xa9", d, &m, 0);
	assert_int_equal(m.len, 2);
	parse("%output %0 ", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OUTPUT);
	assert_int_equal(m.len, 0);
	buf_free(d);
}

static void
test_ctl_bad(void **state)
{
	struct buf		*d = buf_new(1024);
	struct ctlmode_msg	 m;
	static const char *const bad[] = {
		"%output %1 a\\01",		/* short escape */
		"%output %1 a\\018",		/* not octal */
		"%output %1 \\400",		/* over 0377 */
		"%output %1 \\101",		/* tmux never escapes 'A' */
		"%output %1 a\tb",		/* raw control byte */
		"%output %x a",			/* pane not a number */
		"%output %01 a",		/* leading zero */
		"%output %99999999999 a",	/* pane out of range */
		"%output %1",			/* no space, no data */
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(bad); i++) {
		assert_int_not_equal(ctlmode_parse_line((const u_char *)bad[i],
		    strlen(bad[i]), d, &m), 0);
		assert_int_equal(m.kind, CTLMODE_BAD);
	}
	parse("%layout-change @0 abcd", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_LAYOUT);
	parse("%exit", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_EXIT);
	parse("%exiting", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	parse("%begin 1 2 0", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	/* The answer to our snapshot's command, and a failed command. */
	parse(SHARE_SNAP_TAG " 1 2 80 24 1 0 23 1 0 0 1", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_SNAPSTATE);
	assert_int_equal(m.len, 24);
	assert_memory_equal(m.data, "1 2 80 24 1 0 23 1 0 0 1", 24);
	parse(SHARE_SNAP_TAG, d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	parse(SHARE_SNAP_TAG "x 1", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	/* A command's end or failure, ours (flags 1) or tmux's own. */
	parse("%error 1 2 1", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_ERROR);
	assert_int_equal(m.ours, 1);
	parse("%error 1 2 0", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_ERROR);
	assert_int_equal(m.ours, 0);
	parse("%end 1796635149 270 1", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_END);
	assert_int_equal(m.ours, 1);
	parse("%end 1796635149 265 0", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_END);
	assert_int_equal(m.ours, 0);
	parse("%errors", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	parse("%endless 1 2 1", d, &m, 0);
	assert_int_equal(m.kind, CTLMODE_OTHER);
	buf_free(d);
}

/* Lines split anywhere, and an over-long line dropped in step. */
static void
test_ctl_feed(void **state)
{
	struct ctlmode		 c;
	struct ctlmode_msg	 m;
	const char		*in = "%output %3 ab\n%exit\n";
	u_char			*big;
	size_t			 i, used, got = 0;

	(void)state;
	assert_int_equal(ctlmode_init(&c), 0);
	for (i = 0; i < strlen(in); i++) {
		assert_true(ctlmode_feed(&c, (const u_char *)in + i, 1, &used,
		    &m) >= 0);
		assert_int_equal(used, 1);
		if (m.kind == CTLMODE_OUTPUT) {
			assert_int_equal(m.pane, 3);
			assert_memory_equal(m.data, "ab", 2);
			got++;
		} else if (m.kind == CTLMODE_EXIT)
			got++;
	}
	assert_int_equal(got, 2);
	big = malloc(CTLMODE_LINE_MAX + 100);
	assert_non_null(big);
	memset(big, 'a', CTLMODE_LINE_MAX + 100);
	memcpy(big, "%output %1 ", 11);
	big[CTLMODE_LINE_MAX + 50] = '\n';
	assert_int_equal(ctlmode_feed(&c, big, CTLMODE_LINE_MAX + 100, &used,
	    &m), 1);
	assert_int_equal(used, CTLMODE_LINE_MAX + 51);
	assert_int_equal(m.kind, CTLMODE_BAD);
	assert_int_equal(c.toolong, 1);
	/* The next line decodes again. */
	assert_int_equal(ctlmode_feed(&c, (const u_char *)"\n%output %1 z\n",
	    14, &used, &m), 1);
	assert_int_equal(ctlmode_feed(&c, (const u_char *)"%output %1 z\n",
	    13, &used, &m), 1);
	assert_int_equal(m.kind, CTLMODE_OUTPUT);
	assert_memory_equal(m.data, "z", 1);
	free(big);
	ctlmode_free(&c);
}

/* ---- the allowlist ---------------------------------------------------------- */

static struct allow_req	 q;

static int
judge(int restricted, u_int8_t type, const void *p, size_t len)
{
	struct buf	*b = buf_from(p, len);
	int		 a;

	assert_non_null(b);
	a = share_allow(restricted, type, b, &q);
	buf_free(b);
	return a;
}

/* Encode a frame with an encoder, then judge its payload. */
static int
judge_frame(int restricted, struct buf *f)
{
	assert_true(buf_len(f) >= FRAME_HEADER_LEN);
	return judge(restricted, buf_ptr(f)[4], buf_ptr(f) + 5,
	    buf_len(f) - 5);
}

static struct buf *
keys_frame(u_int8_t pane, const char *data, size_t len)
{
	struct buf		*f = buf_new(FRAME_HEADER_LEN + FRAME_MAX);
	struct proto_keys	 k;

	memset(&k, 0, sizeof(k));
	k.pane = pane;
	strcpy(k.engineer, "alice");
	k.data = (const u_char *)data;
	k.len = len;
	assert_int_equal(proto_put_keys(f, &k), 0);
	return f;
}

static void
test_allow_keys(void **state)
{
	struct buf	*f;
	u_char		 raw[64];
	size_t		 n = 0;

	(void)state;
	f = keys_frame(FRAME_PANE_MAIN, "ls\r", 3);
	assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
	assert_int_equal(q.nkeys, 3);
	assert_memory_equal(q.keybytes, "ls\r", 3);
	/* Restricted: never the main pane, the chat pane yes. */
	assert_int_equal(judge_frame(1, f), ALLOW_DROP);
	assert_string_equal(q.reason, "restricted");
	buf_free(f);
	f = keys_frame(FRAME_PANE_CHAT, "hi", 2);
	assert_int_equal(judge_frame(1, f), ALLOW_KEYS);
	assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
	buf_free(f);
	/* Every byte passes as it came, NUL too (send-keys -H carries it). */
	f = keys_frame(FRAME_PANE_MAIN, "a\0b", 3);
	assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
	assert_int_equal(q.nkeys, 3);
	assert_memory_equal(q.keybytes, "a\0b", 3);
	buf_free(f);
	f = keys_frame(FRAME_PANE_MAIN, "\0", 1);
	assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
	assert_int_equal(q.nkeys, 1);
	buf_free(f);
	/* A pane that is not registered. */
	raw[n++] = 7;
	memcpy(raw + n, "\0\0\0\5alice", 9);
	n += 9;
	raw[n++] = 'x';
	assert_int_equal(judge(0, FRAME_KEYS, raw, n), ALLOW_DROP);
	assert_string_equal(q.reason, "pane-not-registered");
	/* Oversize: more key bytes than a frame may carry. */
	{
		u_char	*big = calloc(1, 8000);

		assert_non_null(big);
		memcpy(big, "\0\0\0\0\5alice", 10);
		memset(big + 10, 'y', 8000 - 10);
		assert_int_equal(judge(0, FRAME_KEYS, big, 8000), ALLOW_DROP);
		assert_string_equal(q.reason, "oversize");
		/* Just over PROTO_KEYS_MAX bytes, under the raw bound. */
		assert_int_equal(judge(0, FRAME_KEYS, big,
		    10 + PROTO_KEYS_MAX + 1), ALLOW_DROP);
		assert_string_equal(q.reason, "malformed");
		assert_int_equal(judge(0, FRAME_KEYS, big,
		    10 + PROTO_KEYS_MAX), ALLOW_KEYS);
		free(big);
	}
	/* Truncated. */
	assert_int_equal(judge(0, FRAME_KEYS, "\0\0\0", 3), ALLOW_DROP);
	assert_string_equal(q.reason, "malformed");
}

static void
test_allow_types(void **state)
{
	struct buf		*f = buf_new(65536);
	struct proto_chat	 c;
	struct proto_viewers	 v;
	struct proto_hello	 h;
	static const u_int8_t	 tunnel[] = { FRAME_TUNNEL_UPGRADE,
	    FRAME_TUNNEL_KEY, FRAME_TUNNEL_CONFIRMED };
	static const u_int8_t	 notours[] = { FRAME_OUTPUT, FRAME_SNAPSHOT,
	    FRAME_ACK, FRAME_PONG };
	size_t			 i;
	int			 mode;

	(void)state;
	for (mode = 0; mode <= 1; mode++) {
		buf_reset(f);
		assert_int_equal(proto_put_u32(f, FRAME_SNAPSHOT_REQ, 9), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_SNAPSHOT);
		assert_int_equal(q.u32, 9);

		buf_reset(f);
		assert_int_equal(proto_put_u32(f, FRAME_PING, 5), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_PING);

		buf_reset(f);
		assert_int_equal(proto_put_resize(f, 100, 40), 0);
		assert_int_equal(judge_frame(mode, f),
		    mode ? ALLOW_DROP : ALLOW_RESIZE);

		buf_reset(f);
		assert_int_equal(proto_put_text(f, FRAME_STATUS, "bob is "
		    "looking at the logs"), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_STATUS);
		assert_string_equal(q.text, "bob is looking at the logs");

		buf_reset(f);
		assert_int_equal(proto_put_text(f, FRAME_NOTICE, "hi"), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_NOTICE);

		buf_reset(f);
		memset(&c, 0, sizeof(c));
		strcpy(c.from, "bob");
		strcpy(c.text, "hello");
		assert_int_equal(proto_put_chat(f, &c), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_CHAT);

		buf_reset(f);
		memset(&v, 0, sizeof(v));
		v.count = 1;
		strcpy(v.v[0].name, "bob");
		v.v[0].mode = PROTO_MODE_RO;
		assert_int_equal(proto_put_viewers(f, &v), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_VIEWERS);

		buf_reset(f);
		assert_int_equal(proto_put_error(f, PROTO_ERR_ENDED, "over"),
		    0);
		assert_int_equal(judge_frame(mode, f), ALLOW_ERROR);

		buf_reset(f);
		memset(&h, 0, sizeof(h));
		h.version = TUNL_PROTO_VERSION;
		h.role = PROTO_ROLE_BROKER;
		strcpy(h.session, "craft-cram-crate-crawl");
		h.mode = PROTO_SESSION_RESTRICTED;
		assert_int_equal(proto_put_hello(f, &h), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_HELLO);
		/* A hello in another role is not the broker's answer. */
		buf_reset(f);
		h.role = PROTO_ROLE_PRODUCER;
		assert_int_equal(proto_put_hello(f, &h), 0);
		assert_int_equal(judge_frame(mode, f), ALLOW_DROP);

		for (i = 0; i < TUNL_NITEMS(tunnel); i++) {
			assert_int_equal(judge(mode, tunnel[i], "\0\0\0\1a", 5),
			    ALLOW_DROP);
			assert_string_equal(q.reason, mode ? "restricted" :
			    "tunnel-not-supported");
		}
		for (i = 0; i < TUNL_NITEMS(notours); i++) {
			assert_int_equal(judge(mode, notours[i], "x", 1),
			    ALLOW_DROP);
			assert_string_equal(q.reason, "not-for-customer");
		}
		assert_int_equal(judge(mode, 0x7e, "x", 1), ALLOW_DROP);
		assert_string_equal(q.reason, "unknown-type");
		/* Every allowed type refuses a payload with a byte too many. */
		assert_int_equal(judge(mode, FRAME_SNAPSHOT_REQ, "\0\0\0\1\1",
		    5), ALLOW_DROP);
		assert_string_equal(q.reason, "malformed");
		assert_int_equal(judge(mode, FRAME_STATUS, "\0\0\0\1\033", 5),
		    ALLOW_DROP);
	}
	buf_free(f);
}

/* ---- the audit log ------------------------------------------------------------ */

static void
test_audit_format(void **state)
{
	struct timespec	 ts = { 1700000000, 123456789 };
	struct buf	*f;
	char		 line[512];
	size_t		 i;

	(void)state;
	f = keys_frame(FRAME_PANE_MAIN, "\033]52;c;AAAA\007\r\n\\", 15);
	assert_int_equal(judge_frame(1, f), ALLOW_DROP);
	assert_int_equal(share_audit_format(line, sizeof(line), &ts, &q), 0);
	assert_string_equal(line, "2023-11-14T22:13:20.123Z keys dropped "
	    "reason=restricted pane=main from=alice n=15 "
	    "\"\\x1b]52;c;AAAA\\x07\\x0d\\x0a\\\\\"\n");
	for (i = 0; line[i] != '\0'; i++) {
		if (line[i] == '\n')
			assert_int_equal(line[i + 1], '\0');
		else
			assert_true(line[i] >= 0x20 && line[i] < 0x7f);
	}
	assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
	assert_int_equal(share_audit_format(line, sizeof(line), &ts, &q), 0);
	assert_non_null(strstr(line, " keys allowed pane=main"));
	buf_free(f);
	/* A long quote is cut, and marked so. */
	{
		char	 big[300];

		memset(big, 'k', sizeof(big));
		f = keys_frame(FRAME_PANE_CHAT, big, sizeof(big));
		assert_int_equal(judge_frame(0, f), ALLOW_KEYS);
		assert_int_equal(share_audit_format(line, sizeof(line), &ts,
		    &q), 0);
		assert_non_null(strstr(line, "n=300 \""));
		assert_non_null(strstr(line, "\"...\n"));
		buf_free(f);
	}
	/* Unknown types show their number, never their bytes. */
	assert_int_equal(judge(0, 0x99, "secret\033", 7), ALLOW_DROP);
	assert_int_equal(share_audit_format(line, sizeof(line), &ts, &q), 0);
	assert_string_equal(line, "2023-11-14T22:13:20.123Z unknown dropped "
	    "reason=unknown-type type=0x99 n=7\n");
}

static void
test_audit_file(void **state)
{
	char		 dir[] = "/tmp/test-share.XXXXXX", path[64], link[64];
	char		 got[1024];
	struct stat	 st;
	FILE		*fp;
	int		 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(link, sizeof(link), "%s/link.log", dir);
	assert_int_equal(share_audit_open(path, &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(judge(0, 0x7f, "x", 1), ALLOW_DROP);
	assert_int_equal(share_audit_write(fd, &q), 0);
	assert_int_equal(share_audit_note(fd, "relay link lost\n\033"), 0);
	close(fd);
	/* Reopened (a reconnect), it appends. */
	assert_int_equal(share_audit_open(path, &fd), 0);
	assert_int_equal(share_audit_note(fd, "again"), 0);
	close(fd);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(got, sizeof(got), fp));
	assert_non_null(strstr(got, "unknown dropped"));
	assert_non_null(fgets(got, sizeof(got), fp));
	assert_non_null(strstr(got, "tunl-share relay link lost\\x0a\\x1b\n"));
	assert_non_null(fgets(got, sizeof(got), fp));
	assert_non_null(strstr(got, "tunl-share again"));
	fclose(fp);
	/* Never through a symbolic link. */
	assert_int_equal(symlink(path, link), 0);
	assert_int_not_equal(share_audit_open(link, &fd), 0);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static enum share_diag
diag(const char *log, char *detail, size_t len)
{
	return share_diag_ssh(log, strlen(log), detail, len);
}

/* Why ssh failed, from its log: the lines OpenSSH writes at LogLevel=ERROR. */
static void
test_diag(void **state)
{
	char	 d[SHARE_DIAG_DETAIL_MAX], tiny[8];
	char	*big;

	(void)state;
	assert_int_equal(diag("ssh: connect to host 127.0.0.1 port 1: "
	    "Connection refused\r\n", d, sizeof(d)), SHARE_DIAG_REFUSED);
	assert_string_equal(d, "");
	assert_int_equal(diag("ssh: Could not resolve hostname nowhere."
	    "invalid: Name or service not known\r\n", d, sizeof(d)),
	    SHARE_DIAG_RESOLVE);
	assert_int_equal(diag("ssh: Could not resolve hostname relay: "
	    "Temporary failure in name resolution\r\n", d, sizeof(d)),
	    SHARE_DIAG_RESOLVE);
	assert_int_equal(diag("ssh: connect to host 192.0.2.1 port 22: "
	    "Connection timed out\r\n", d, sizeof(d)),
	    SHARE_DIAG_UNREACHABLE);
	assert_int_equal(diag("ssh: connect to host 192.0.2.1 port 22: "
	    "No route to host\r\n", d, sizeof(d)), SHARE_DIAG_UNREACHABLE);
	assert_int_equal(diag("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@"
	    "@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS "
	    "CHANGED!     @\r\n...\r\nHost key verification failed.\r\n",
	    d, sizeof(d)), SHARE_DIAG_HOSTKEY_CHANGED);
	assert_int_equal(diag("No ED25519 host key is known for tunl-relay "
	    "and you have requested strict checking.\r\nHost key "
	    "verification failed.\r\n", d, sizeof(d)),
	    SHARE_DIAG_HOSTKEY_UNKNOWN);
	assert_int_equal(diag("tunl@127.0.0.1: Permission denied "
	    "(keyboard-interactive).\r\n", d, sizeof(d)), SHARE_DIAG_DENIED);
	assert_int_equal(diag("kex_exchange_identification: read: Connection "
	    "reset by peer\r\n", d, sizeof(d)), SHARE_DIAG_CLOSED);
	assert_int_equal(diag("", d, sizeof(d)), SHARE_DIAG_UNKNOWN);
	assert_int_equal(share_diag_ssh(NULL, 5, d, sizeof(d)),
	    SHARE_DIAG_UNKNOWN);

	/* The relay's own line, made printable, and only at a line start. */
	assert_int_equal(diag("tunl: not authorised for that session\n", d,
	    sizeof(d)), SHARE_DIAG_RELAY);
	assert_string_equal(d, "tunl: not authorised for that session");
	assert_int_equal(diag("Connection closed by 127.0.0.1 port 22\r\n"
	    "tunl: sign: \x1b]52;c;eA==\x07 refused\r\n", d, sizeof(d)),
	    SHARE_DIAG_RELAY);
	assert_string_equal(d, "tunl: sign: ?]52;c;eA==? refused");
	assert_int_equal(diag("xtunl: no\n", d, sizeof(d)),
	    SHARE_DIAG_UNKNOWN);
	assert_string_equal(d, "");
	assert_int_equal(diag("tunl: a long refusal\n", tiny, sizeof(tiny)),
	    SHARE_DIAG_RELAY);
	assert_string_equal(tiny, "tunl: a");
	/* ssh's own cause wins over what the relay said before it. */
	assert_int_equal(diag("tunl: hello\nPermission denied\n", d,
	    sizeof(d)), SHARE_DIAG_DENIED);
	/* NUL bytes do not hide what follows; the text is bounded. */
	assert_int_equal(share_diag_ssh("\0\0Connection refused", 20, d,
	    sizeof(d)), SHARE_DIAG_REFUSED);
	assert_non_null(big = malloc(SHARE_DIAG_LOG_MAX + 64));
	memset(big, 'x', SHARE_DIAG_LOG_MAX + 64);
	memcpy(big + SHARE_DIAG_LOG_MAX, "Connection refused", 18);
	assert_int_equal(share_diag_ssh(big, SHARE_DIAG_LOG_MAX + 64, d,
	    sizeof(d)), SHARE_DIAG_UNKNOWN);
	free(big);

	/* Every cause has words for the chat pane. */
	assert_string_equal(share_diag_phrase(SHARE_DIAG_DENIED),
	    "the relay did not accept that token");
	assert_non_null(strstr(share_diag_phrase(SHARE_DIAG_REFUSED),
	    "refused the connection"));
	assert_non_null(share_diag_phrase(SHARE_DIAG_UNKNOWN));
	assert_non_null(share_diag_phrase((enum share_diag)99));
}

static void
test_printable(void **state)
{
	char	 out[64];

	(void)state;
	share_printable(out, sizeof(out), "a#[fg=red]b\xc3\xa9!", 1);
	assert_string_equal(out, "a##[fg=red]b?!");
	share_printable(out, sizeof(out), "a#b", 0);
	assert_string_equal(out, "a#b");
	share_printable(out, 4, "abcdef", 0);
	assert_string_equal(out, "abc");
}

/* ---- askpass -------------------------------------------------------------------- */

/* Run the askpass helper for prompt in a child; return what it printed. */
static int
askpass_round(const char *sock, int lfd, const char *prompt, char *got,
    size_t len, int *which)
{
	int	 p[2], status;
	ssize_t	 n;
	pid_t	 pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		_exit(share_askpass_main(sock, prompt));
	}
	close(p[1]);
	*which = share_askpass_answer(lfd, "craft-cram-crate-crawl",
	    "tok-SECRET-123");
	n = read(p[0], got, len - 1);
	got[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WEXITSTATUS(status);
}

static void
test_askpass(void **state)
{
	char	 dir[] = "/tmp/test-share.XXXXXX", sock[64], got[256];
	int	 lfd, which;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/askpass.sock", dir);
	assert_int_equal(share_sock_listen(sock, &lfd), 0);
	assert_int_equal(askpass_round(sock, lfd, "Session id: ", got,
	    sizeof(got), &which), 0);
	assert_int_equal(which, 1);
	assert_string_equal(got, "craft-cram-crate-crawl\n");
	assert_int_equal(askpass_round(sock, lfd, "Session token: ", got,
	    sizeof(got), &which), 0);
	assert_int_equal(which, 2);
	assert_string_equal(got, "tok-SECRET-123\n");
	/* Any other prompt (a password, a host key question) gets nothing. */
	assert_int_equal(askpass_round(sock, lfd, "root@relay's password: ",
	    got, sizeof(got), &which), 1);
	assert_int_equal(which, 0);
	assert_string_equal(got, "");
	assert_int_equal(askpass_round(sock, lfd, "Session token:", got,
	    sizeof(got), &which), 1);
	assert_string_equal(got, "");
	/* ssh's own form: "(user@host) " before pam_tunl's prompt. */
	assert_int_equal(askpass_round(sock, lfd,
	    "(tunl@relay.example) Session token: ", got, sizeof(got), &which),
	    0);
	assert_int_equal(which, 2);
	assert_string_equal(got, "tok-SECRET-123\n");
	assert_int_equal(askpass_round(sock, lfd,
	    "(tunl@[::1]:2222) Session id: ", got, sizeof(got), &which), 0);
	assert_int_equal(which, 1);
	/* Only that prefix: nothing else before or after the prompt. */
	assert_int_equal(share_askpass_prompt("(tunl@relay)Session token: "),
	    0);
	assert_int_equal(share_askpass_prompt("(a b) Session token: "), 0);
	assert_int_equal(share_askpass_prompt("() Session token: "), 0);
	assert_int_equal(share_askpass_prompt("x (tunl@r) Session token: "),
	    0);
	assert_int_equal(share_askpass_prompt("(tunl@r) Session token: x"),
	    0);
	assert_int_equal(share_askpass_prompt("(tunl@r) (x@y) Session id: "),
	    0);
	close(lfd);
	/* With nobody to ask, the helper fails rather than guess. */
	unlink(sock);
	assert_int_equal(share_askpass_main(sock, "Session token: "), 1);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_output),
		cmocka_unit_test(test_ctl_bad),
		cmocka_unit_test(test_ctl_feed),
		cmocka_unit_test(test_allow_keys),
		cmocka_unit_test(test_allow_types),
		cmocka_unit_test(test_audit_format),
		cmocka_unit_test(test_audit_file),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_askpass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
