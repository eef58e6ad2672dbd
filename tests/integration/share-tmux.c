/*
 * share-tmux.c: tunl-share against a real private tmux server, with this
 * program as the relay (tunl-share --relay-fd, a test-only option: frames
 * over a socket pair instead of ssh).
 *
 * Checks: the customer's output arrives as OUTPUT frames; KEYS into the
 * main pane run in the shell; a snapshot shows the screen; forged requests
 * (unknown type, pane not registered, oversize, tunnel) are dropped and
 * logged; resize; restricted mode (by option or by the broker's hello, and
 * not undone by a later hello) lets no key into the main pane; the end
 * key's command cleans up. Exits 77 when tmux is missing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "frame.h"

#define ID		"craft-cram-crate-crawl"

static char		 xdg[] = "/tmp/test-share-tmux.XXXXXX";
static char		 dir[512], sock[600];
static int		 relay = -1, fails, count;
static pid_t		 share = -1;
static struct frame_reader fr;
static struct buf	*seen;		/* OUTPUT bytes so far */
static u_int32_t	 snap_id;
static struct buf	*snap;		/* the last SNAPSHOT's screen bytes */
static int		 got_hello, got_end;

static void
fail(const char *fmt, ...) TUNL_PRINTF(1, 2);

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	count++;
	va_start(ap, fmt);
	printf("not ok - ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fails++;
}

static void
ok(int cond, const char *what)
{
	if (cond) {
		count++;
		printf("ok - %s\n", what);
	}
	else
		fail("%s", what);
	fflush(stdout);
}

/* Run a command, capture its output (NUL-terminated) into out. */
static int
run(char *out, size_t len, const char *const argv[])
{
	int	 p[2], st;
	pid_t	 pid;
	size_t	 n = 0;
	ssize_t	 got;

	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (out != NULL && n + 1 < len &&
	    (got = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)got;
	if (out != NULL)
		out[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
tmux(char *out, size_t len, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5)
{
	const char *const argv[] = { "tmux", "-S", sock, a1, a2, a3, a4, a5,
	    NULL };

	return run(out, len, argv);
}

static void
send_frame(struct buf *f)
{
	if (write(relay, buf_ptr(f), buf_len(f)) != (ssize_t)buf_len(f))
		fail("write to tunl-share");
	buf_reset(f);
}

/* Read frames for up to ms milliseconds, or until want appears. */
static int
pump(int ms, const char *want)
{
	u_char		 b[65536];
	struct frame	 f;
	struct pollfd	 pfd;
	struct timespec	 t0, t;
	ssize_t		 n;
	u_int32_t	 id;
	u_int16_t	 v;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (want != NULL && memmem(buf_ptr(seen), buf_len(seen), want,
		    strlen(want)) != NULL)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return 0;
		pfd.fd = relay;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(relay, b, sizeof(b))) <= 0)
			return 0;
		if (frame_reader_feed(&fr, b, (size_t)n) != 0)
			return 0;
		while (frame_reader_next(&fr, &f) == 0) {
			switch (f.type) {
			case FRAME_HELLO:
				got_hello++;
				break;
			case FRAME_OUTPUT:
				(void)buf_putb(seen, f.payload);
				break;
			case FRAME_SNAPSHOT:
				buf_get_u32(f.payload, &id);
				for (n = 0; n < 4; n++)
					buf_get_u16(f.payload, &v);
				snap_id = id;
				buf_reset(snap);
				(void)buf_putb(snap, f.payload);
				break;
			case FRAME_ERROR:
				buf_get_u16(f.payload, &v);
				if (v == PROTO_ERR_ENDED)
					got_end = 1;
				break;
			}
		}
	}
}

static void
find_dir(void)
{
	struct dirent	*de;
	DIR		*d;

	dir[0] = '\0';
	if ((d = opendir(xdg)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tunl-share.", 11) == 0) {
			snprintf(dir, sizeof(dir), "%s/%s", xdg, de->d_name);
			snprintf(sock, sizeof(sock), "%s/tmux.sock", dir);
		}
	}
	closedir(d);
}

/* The previous run's directory is removed so find_dir sees one. */
static void
forget_dir(void)
{
	const char *const rm[] = { "rm", "-rf", dir, NULL };

	if (dir[0] != '\0')
		run(NULL, 0, rm);
	dir[0] = '\0';
}

static void
start(const char *extra)
{
	char		 fdarg[16], path[512];
	const char	*top = getenv("top_builddir");
	int		 sv[2], i;

	snprintf(path, sizeof(path), "%s/tunl-share", top ? top : ".");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		exit(99);
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	if ((share = fork()) == 0) {
		int	 null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		close(sv[0]);
		if (extra != NULL)
			execl(path, "tunl-share", "--relay-fd", fdarg,
			    "--no-attach", extra, ID, (char *)NULL);
		else
			execl(path, "tunl-share", "--relay-fd", fdarg,
			    "--no-attach", ID, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	relay = sv[0];
	frame_reader_free(&fr);
	frame_reader_init(&fr);
	buf_reset(seen);
	got_hello = got_end = 0;
	for (i = 0; i < 50 && !got_hello; i++)
		pump(100, NULL);
	find_dir();
	ok(got_hello == 1 && dir[0] != '\0', "tunl-share says hello and "
	    "makes its private directory");
}

static void
broker_hello(struct buf *f, u_int8_t mode)
{
	struct proto_hello	 h;

	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	h.role = PROTO_ROLE_BROKER;
	strcpy(h.session, ID);
	h.mode = mode;
	proto_put_hello(f, &h);
	send_frame(f);
}

static void
keys_n(struct buf *f, u_int8_t pane, const u_char *p, size_t len)
{
	struct proto_keys	 k;

	memset(&k, 0, sizeof(k));
	k.pane = pane;
	strcpy(k.engineer, "alice");
	k.data = p;
	k.len = len;
	proto_put_keys(f, &k);
	send_frame(f);
}

static void
keys(struct buf *f, u_int8_t pane, const char *s)
{
	keys_n(f, pane, (const u_char *)s, strlen(s));
}

/*
 * Within 60 s, "MAIN CHAT WINDOW" sizes (WxH) become want; out holds the
 * last ones seen. Frames are read meanwhile.
 */
static int
sizes_become(const char *want, char *out, size_t len)
{
	char	 a[64], b[64];
	int	 i;

	for (i = 0; i < 1200; i++) {
		a[0] = b[0] = '\0';
		tmux(a, sizeof(a), "display-message", "-p", "-t", "%0",
		    "#{pane_width}x#{pane_height}");
		tmux(b, sizeof(b), "display-message", "-p", "-t", "%1",
		    "#{pane_width}x#{pane_height} "
		    "#{window_width}x#{window_height}");
		a[strcspn(a, "\n")] = '\0';
		b[strcspn(b, "\n")] = '\0';
		snprintf(out, len, "%s %s", a, b);
		if (strcmp(out, want) == 0)
			return 1;
		pump(50, NULL);
	}
	fprintf(stderr, "# sizes: %s, want %s\n", out, want);
	return 0;
}

/* path holds the bytes 0x00 .. 0xff in order, and nothing else. */
static int
file_is_every_byte(const char *path)
{
	u_char	 b[512];
	FILE	*fp;
	size_t	 n, i;

	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(b, 1, sizeof(b), fp);
	fclose(fp);
	if (n != 256) {
		fprintf(stderr, "# %s: %zu bytes\n", path, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (b[i] != i) {
			fprintf(stderr, "# %s: byte %zu is 0x%02x\n", path, i,
			    b[i]);
			return 0;
		}
	}
	return 1;
}

/* The main pane's foreground program is cmd, within about ms. */
static int
pane_runs(const char *cmd, int ms)
{
	char	 out[256];
	size_t	 n = strlen(cmd);
	int	 i;

	for (i = 0; i < ms / 50; i++) {
		out[0] = '\0';
		tmux(out, sizeof(out), "display-message", "-p", "-t", "%0",
		    "#{pane_current_command}");
		if (strncmp(out, cmd, n) == 0 && out[n] == '\n')
			return 1;
		usleep(50000);
	}
	return 0;
}

static int
pane_has(const char *pane, const char *what)
{
	static char	 out[65536];

	tmux(out, sizeof(out), "capture-pane", "-p", "-t", pane, NULL);
	return strstr(out, what) != NULL;
}

static int
audit_has(const char *what)
{
	static char	 b[65536];
	char		 path[600];
	FILE		*fp;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/audit.log", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(b, 1, sizeof(b) - 1, fp);
	b[n] = '\0';
	fclose(fp);
	return strstr(b, what) != NULL;
}

static int
stop(void)
{
	int	 st = -1, i;

	for (i = 0; i < 100; i++) {
		pump(50, NULL);
		usleep(50000);
		if (waitpid(share, &st, WNOHANG) == share) {
			share = -1;
			break;
		}
	}
	if (share != -1) {
		kill(share, SIGKILL);
		waitpid(share, &st, 0);
		share = -1;
		return -1;
	}
	close(relay);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_share(struct buf *f)
{
	char	 out[4096], path[700];
	u_char	 big[8000], byte[1];
	int	 i;
	DIR	*d;
	struct dirent *de;
	int	 others = 0;

	start(NULL);
	broker_hello(f, PROTO_SESSION_SHARE);
	pump(2000, "$");
	ok(snap_id == 0 && buf_len(snap) > 0, "an unasked snapshot follows "
	    "the broker's hello");

	tmux(NULL, 0, "send-keys", "-t", "%0", "echo customer-$((2+3))",
	    "Enter");
	ok(pump(5000, "customer-5"), "what the customer's shell prints "
	    "arrives as output frames");

	keys(f, FRAME_PANE_MAIN, "echo engineer-$((4*4))\r");
	ok(pump(5000, "engineer-16"), "keys for the main pane run in the "
	    "shell");
	ok(pane_has("%0", "engineer-16"), "capture-pane shows the engineer's "
	    "echo");

	/*
	 * Every byte, each in a KEYS frame of its own, reaches the pane as
	 * it was sent: NUL, a lone ';' (which tmux reads as a command
	 * separator at the end of an argument), '\\', quotes, controls,
	 * bytes over 0x7f. The pane writes what it reads, raw, to a file.
	 */
	snprintf(path, sizeof(path), "stty raw -echo -iexten; head -c 256 "
	    ">%s/keys.out; stty sane; echo bytes-$((6*7))", xdg);
	tmux(NULL, 0, "send-keys", "-t", "%0", path, "Enter");
	if (!pane_runs("head", 60000))
		fail("the pane did not start head");
	for (i = 0; i < 256; i++) {
		byte[0] = (u_char)i;
		keys_n(f, FRAME_PANE_MAIN, byte, 1);
	}
	ok(pump(60000, "bytes-42"), "the pane read 256 bytes of keys");
	snprintf(path, sizeof(path), "%s/keys.out", xdg);
	ok(file_is_every_byte(path), "every byte 0x00-0xff, one a frame, "
	    "reached the pane exactly");

	proto_put_u32(f, FRAME_SNAPSHOT_REQ, 42);
	send_frame(f);
	snap_id = 0;
	pump(1500, NULL);
	ok(snap_id == 42 && memmem(buf_ptr(snap), buf_len(snap),
	    "engineer-16", 11) != NULL && memcmp(buf_ptr(snap),
	    "\033[0m\033[H\033[2J", 11) == 0, "snapshot-request returns "
	    "the current screen, drawn from a cleared terminal");

	/* Forged requests. */
	frame_put(f, 0x7e, "xx", 2);
	send_frame(f);
	buf_put(f, "\0\0\0\x0f\x21\x05\0\0\0\x05" "aliceABCD", 19);
	send_frame(f);
	memset(big, 'y', sizeof(big));
	memcpy(big, "\0\0\0\0\5alice", 10);
	frame_put(f, FRAME_KEYS, big, sizeof(big));
	send_frame(f);
	frame_put(f, FRAME_TUNNEL_UPGRADE, "\0\0\0\5alice", 9);
	send_frame(f);
	pump(1000, NULL);
	ok(audit_has("unknown dropped reason=unknown-type type=0x7e"),
	    "unknown type dropped and logged");
	ok(audit_has("keys dropped reason=pane-not-registered"),
	    "keys for an unregistered pane dropped and logged");
	ok(audit_has("keys dropped reason=oversize n=8000"),
	    "oversize keys dropped and logged");
	ok(audit_has("tunnel-upgrade dropped reason=tunnel-not-supported"),
	    "tunnel request refused and logged");
	ok(!pane_has("%0", "yyyy") && !pane_has("%0", "ABCD"),
	    "no dropped byte reached the pane");

	/*
	 * An engineer's size is the shared pane's: the window grows by the
	 * chat pane (8 rows) and the two pane headers; the chat pane keeps
	 * its rows. Too small a size is raised to 40x5.
	 */
	proto_put_resize(f, 100, 30);
	send_frame(f);
	ok(sizes_become("100x30 100x8 100x40", out, sizeof(out)),
	    "resize sets the shared pane's size, the chat pane keeps 8 rows");
	proto_put_resize(f, 10, 2);
	send_frame(f);
	ok(sizes_become("40x5 40x8 40x15", out, sizeof(out)),
	    "a tiny size is raised to 40x5");

	/* The end key runs kill-session; run its command. */
	tmux(out, sizeof(out), "list-keys", "-T", "prefix", "Q", NULL);
	ok(strstr(out, "kill-session") != NULL, "C-b Q is bound to end the "
	    "session");
	tmux(NULL, 0, "kill-session", "-t", "tunl", NULL, NULL);
	ok(stop() == 0, "tunl-share exits 0 at the end");
	ok(got_end, "the relay is told the session ended");
	ok(tmux(NULL, 0, "has-session", NULL, NULL, NULL, NULL) != 0,
	    "the tmux server is gone");
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.' &&
			    strcmp(de->d_name, "audit.log") != 0 &&
			    strcmp(de->d_name, "session.cast") != 0)
				others++;
		}
		closedir(d);
	}
	ok(others == 0, "only the audit log and the recording are left");
	snprintf(path, sizeof(path), "%s/session.cast", dir);
	{
		const char *const a[] = { "grep", "-c", "customer-5", path,
		    NULL };
		ok(run(out, sizeof(out), a) == 0, "the recording holds what "
		    "was shared");
	}
}

/* Restricted by option (hello says share) or by hello (option absent). */
static void
test_restricted(struct buf *f, int option)
{
	int	 i;

	start(option ? "--restricted" : NULL);
	broker_hello(f, option ? PROTO_SESSION_SHARE : PROTO_SESSION_RESTRICTED);
	pump(1500, NULL);
	/* A later hello cannot lift it. */
	broker_hello(f, PROTO_SESSION_SHARE);
	keys(f, FRAME_PANE_MAIN, "echo leaked-$((1+1))\r");
	pump(2000, "leaked-2");
	ok(memmem(buf_ptr(seen), buf_len(seen), "leaked", 6) == NULL &&
	    !pane_has("%0", "leaked"), option ? "--restricted: keys never "
	    "reach the main pane" : "a restricted broker hello: keys never "
	    "reach the main pane, even after a share hello");
	ok(audit_has("keys dropped reason=restricted pane=main"),
	    "restricted keys logged as dropped");
	keys(f, FRAME_PANE_CHAT, "hello-chat");
	for (i = 0; i < 30 && !pane_has("%1", "hello-chat"); i++)
		pump(100, NULL);
	ok(pane_has("%1", "hello-chat"), "restricted: keys may go to the chat "
	    "pane");
	proto_put_resize(f, 90, 20);
	send_frame(f);
	pump(500, NULL);
	ok(audit_has("resize dropped reason=restricted"), "restricted: "
	    "resize dropped");
	tmux(NULL, 0, "kill-session", "-t", "tunl", NULL, NULL);
	ok(stop() == 0, "restricted session ends cleanly");
}

int
main(void)
{
	const char *const probe[] = { "tmux", "-V", NULL };
	struct buf	*f;
	char		 out[256];

	if (run(out, sizeof(out), probe) != 0) {
		printf("1..0 # SKIP tmux is not installed\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(xdg) == NULL)
		return 99;
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	unsetenv("TMUX");
	setenv("SHELL", "/bin/sh", 1);
	setenv("PS1", "$ ", 1);
	seen = buf_new(4 * 1024 * 1024);
	snap = buf_new(FRAME_MAX);
	f = buf_new(FRAME_HEADER_LEN + FRAME_MAX);
	frame_reader_init(&fr);
	test_share(f);
	forget_dir();
	test_restricted(f, 1);
	forget_dir();
	test_restricted(f, 0);
	/*
	 * Everything of ours is freed before exit: under LeakSanitizer a
	 * leak aborts the program at exit, and a plan still in stdio's
	 * buffer then never reaches the TAP driver.
	 */
	buf_free(f);
	buf_free(seen);
	buf_free(snap);
	frame_reader_free(&fr);
	seen = snap = NULL;
	printf("1..%d\n", count);
	fflush(stdout);
	{
		const char *const rm[] = { "rm", "-rf", xdg, NULL };
		if (fails == 0)
			run(NULL, 0, rm);
	}
	return fails == 0 ? 0 : 1;
}
