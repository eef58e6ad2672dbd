/*
 * shell-replay.c: an engineer's replay and cast of a session's recording.
 *
 * The broker records each run of a session to <recording_dir>/<id>.cast,
 * and a later broker for the same session (after one died) to
 * <id>-2.cast, <id>-3.cast ... up to <id>-100.cast. Both verbs take the
 * newest: the highest number present. The file is opened without
 * following links and must be a regular file owned by the broker account
 * and writable by nobody else.
 *
 * cast writes the file to standard output unchanged: it is already the
 * filtered output, JSON-escaped, and plays with `asciinema play`.
 *
 * replay plays the output events with their timing: each gap between
 * events is cut to REPLAY_IDLE_MAX_MS, then divided by the speed
 * (--speed 0.25 to 16, default 1). The bytes pass the escape filter
 * (vtfilter OUTPUT) again. On a terminal, a resize event is shown for a
 * moment on the last row, and q or Ctrl-C stops; the terminal is put back
 * afterwards. Without a terminal (ssh without -t, output to a file),
 * replay writes the filtered output at once, without timing or notices.
 *
 * On a terminal, replay holds the alternate screen from start to end, as
 * join does, and the screen stage (lib/vtscreen.c) keeps the recorded
 * programs' own screen switches off the terminal. There is no snapshot
 * to ask for when the customer leaves its alternate screen, so replay
 * keeps what was drawn on the customer's normal screen since the start
 * (REPLAY_NORMAL_MAX bytes; beyond that the oldest lines go) and draws it
 * again on a cleared screen: the normal screen does not change while the
 * alternate one is on. The scroll region covers the recorded window's
 * rows when the terminal has more.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"

#define REPLAY_OUT_MAX	(4 * 1024 * 1024)
#define REPLAY_NORMAL_MAX	(1024 * 1024)	/* the normal screen kept */

/* The engineer's terminal while replaying on it. */
struct replay_screen {
	struct vtscreen	 vs;
	struct buf	*mid;		/* filtered, for the stage */
	struct buf	*normal;	/* drawn on the customer's normal screen */
	u_int		 cols, rows;	/* the terminal */
	u_int		 rec_rows;	/* the recorded window */
};

static volatile sig_atomic_t	 replay_signal;

static void
replay_on_signal(int sig)
{
	replay_signal = sig;
}

static void
replay_restore_atexit(void)
{
	shell_live_term_restore();
}

/*
 * Open the newest recording of session id; its name goes to name. Refuses
 * (exits) when there is none or it is not safe to read.
 */
int
shell_replay_open(struct shell *sh, const char *id, char *name,
    size_t namelen, int *fdp)
{
	char		 path[PATH_MAX];
	struct passwd	*pw;
	struct stat	 st;
	uid_t		 owner;
	int		 i, found = 0, r;

	*fdp = -1;
	if (id_check(id) != 0)
		return TUNL_ERR_INVALID;
	if ((pw = getpwnam(sh->cfg.broker_user)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "account %s does not exist",
		    sh->cfg.broker_user);
	owner = pw->pw_uid;
	for (i = REPLAY_FILES_MAX; i >= 1 && !found; i--) {
		if (i == 1)
			snprintf(name, namelen, "%s.cast", id);
		else
			snprintf(name, namelen, "%s-%d.cast", id, i);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
		    sh->cfg.recording_dir, name) >= sizeof(path))
			return TUNL_ERR_LENGTH;
		if (lstat(path, &st) == 0)
			found = 1;
	}
	if (!found)
		return TUNL_ERR_NOT_FOUND;
	if ((r = tunl_open_safely(path, O_RDONLY, 0, owner, fdp)) != 0) {
		error("%s: %s", path, tunl_err(r));
		return TUNL_ERR_UNSAFE;
	}
	return 0;
}

static void
replay_get(struct shell *sh, const struct shell_cmd *cmd, char *name,
    size_t namelen, int *fd)
{
	int	 r;

	r = shell_replay_open(sh, cmd->id, name, namelen, fd);
	if (r == TUNL_ERR_NOT_FOUND)
		shell_refuse(SHELL_EXIT_REFUSED, "no recording of session %s",
		    cmd->id);
	if (r != 0)
		shell_refuse(SHELL_EXIT_REFUSED, "the recording of session %s "
		    "cannot be read safely; ask the relay operator", cmd->id);
}

/* Write b out whole to a blocking or non-blocking fd. */
/*
 * A marker (a gap in the customer's output, broker-gap.c): said on
 * standard error, printable ASCII only, whatever the label holds.
 */
static void
replay_marker(const struct cast_event *ev)
{
	char		 line[CAST_MARKER_MAX + 1];
	const u_char	*p = buf_ptr(ev->data);
	size_t		 i, n = buf_len(ev->data);

	if (n > CAST_MARKER_MAX)
		n = CAST_MARKER_MAX;
	for (i = 0; i < n; i++)
		line[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	line[n] = '\0';
	fprintf(stderr, "\r\nreplay: at %.3f s: %s\r\n", ev->t, line);
}

static int
replay_write(int fd, struct buf *b)
{
	struct pollfd	 pfd;

	while (buf_len(b) > 0) {
		if (replay_signal != 0)
			return TUNL_ERR_EOF;
		if (buf_write_fd(b, fd, NULL) == 0)
			continue;
		if (errno != EAGAIN && errno != EINTR)
			return TUNL_ERR_SYSTEM;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 1000);
	}
	return 0;
}

int
shell_cast(struct shell *sh, const struct shell_cmd *cmd)
{
	char	 name[ID_LEN_MAX + 16], chunk[64 * 1024];
	ssize_t	 n, w;
	size_t	 off;
	int	 fd;

	replay_get(sh, cmd, name, sizeof(name), &fd);
	info("engineer %s: cast %s (%s)", sh->who, cmd->id, name);
	(void)signal(SIGPIPE, SIG_IGN);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			shell_refuse(SHELL_EXIT_REFUSED, "reading the "
			    "recording failed");
		}
		if (n == 0)
			break;
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			w = write(STDOUT_FILENO, chunk + off, (size_t)n - off);
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				close(fd);
				return SHELL_EXIT_REFUSED;
			}
		}
	}
	close(fd);
	return SHELL_EXIT_OK;
}

static u_int
replay_usable(const struct replay_screen *rs)
{
	if (rs->rec_rows != 0 && rs->rec_rows < rs->rows)
		return rs->rec_rows;
	return rs->rows;
}

/* The scroll region over the recorded rows (keep: the cursor stays). */
static void
replay_region(struct replay_screen *rs, struct buf *out, int keep)
{
	vtscreen_set_rows(&rs->vs, replay_usable(rs));
	(void)buf_putf(out, "%s\033[1;%ur%s", keep ? "\0337" : "",
	    replay_usable(rs), keep ? "\0338" : "");
}

/*
 * Keep bytes drawn on the customer's normal screen. When they no longer
 * fit, the oldest half goes, up to a line's end, so what is drawn again
 * starts on a line of its own.
 */
static void
replay_keep(struct replay_screen *rs, const u_char *p, size_t len)
{
	const u_char	*nl;
	size_t		 drop;

	if (len > REPLAY_NORMAL_MAX / 2) {
		p += len - REPLAY_NORMAL_MAX / 2;
		len = REPLAY_NORMAL_MAX / 2;
	}
	if (buf_avail(rs->normal) < len) {
		drop = buf_len(rs->normal) / 2;
		nl = memchr(buf_ptr(rs->normal) + drop, '\n',
		    buf_len(rs->normal) - drop);
		drop = nl == NULL ? buf_len(rs->normal) :
		    (size_t)(nl - buf_ptr(rs->normal)) + 1;
		(void)buf_consume(rs->normal, drop);
	}
	if (buf_put(rs->normal, p, len) != 0)
		buf_reset(rs->normal);
}

static int	 replay_write(int, struct buf *);

/*
 * Output for the terminal: filter, then the screen stage. Entering the
 * customer's alternate screen clears ours; leaving it draws the normal
 * screen again from what was kept.
 */
static int
replay_screen_feed(struct replay_screen *rs, struct vtfilter *vf,
    const u_char *data, size_t len, struct buf *out)
{
	const u_char	*p;
	size_t		 left, used, start;
	int		 r, ev, was_alt;

	buf_reset(rs->mid);
	if ((r = vtfilter_feed(vf, data, len, rs->mid)) != 0)
		return r;
	p = buf_ptr(rs->mid);
	left = buf_len(rs->mid);
	while (left > 0) {
		was_alt = rs->vs.alt;
		start = buf_len(out);
		r = vtscreen_feed(&rs->vs, p, left, out, &used, &ev);
		if (r == TUNL_ERR_FULL) {
			/* Out to the terminal, then again with room. */
			if ((r = replay_write(STDOUT_FILENO, out)) != 0)
				return r;
			start = buf_len(out);
			r = vtscreen_feed(&rs->vs, p, left, out, &used, &ev);
		}
		if (r != 0)
			return r;
		if (!was_alt)
			replay_keep(rs, buf_ptr(out) + start,
			    buf_len(out) - start);
		p += used;
		left -= used;
		if (ev == VTSCREEN_ENTER)
			(void)buf_putf(out, "\033[2J");
		else if (ev == VTSCREEN_LEAVE) {
			if (buf_avail(out) < buf_len(rs->normal) + 64 &&
			    (r = replay_write(STDOUT_FILENO, out)) != 0)
				return r;
			(void)buf_putf(out, "\033[0m");
			replay_region(rs, out, 0);
			(void)buf_putf(out, "\033[H\033[2J");
			(void)buf_putb(out, rs->normal);
		}
	}
	return 0;
}

/* Wait ms, or less if q or Ctrl-C comes; 1 if the viewer wants out. */
static int
replay_wait(int tty, int64_t ms)
{
	struct pollfd	 pfd;
	int64_t		 until = tunl_now_ms() + ms, left;
	u_char		 c[64];
	ssize_t		 n, i;

	for (;;) {
		if (replay_signal != 0)
			return 1;
		if ((left = until - tunl_now_ms()) <= 0)
			return 0;
		pfd.fd = tty ? STDIN_FILENO : -1;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(STDIN_FILENO, c, sizeof(c));
		if (n == 0)
			tty = 0;	/* no more keys; keep playing */
		for (i = 0; i < n; i++) {
			if (c[i] == 'q' || c[i] == 0x03)
				return 1;
		}
	}
}

int
shell_replay(struct shell *sh, const struct shell_cmd *cmd)
{
	struct cast_reader	*rd = NULL;
	struct cast_header	 hdr;
	struct cast_event	 ev;
	struct sigaction	 sa;
	struct vtfilter		 vf;
	struct replay_screen	 rs;
	struct winsize		 ws;
	struct buf		*out = NULL;
	char			 name[ID_LEN_MAX + 16];
	double			 last = 0, gap;
	u_int			 speed = cmd->speed ? cmd->speed : 100;
	u_int64_t		 events = 0;
	int64_t			 ms;
	int			 fd, r, tty, rc = SHELL_EXIT_OK, stop = 0;

	replay_get(sh, cmd, name, sizeof(name), &fd);
	if ((r = cast_reader_open_fd(fd, &rd)) != 0 ||
	    (r = cast_reader_header(rd, &hdr)) != 0) {
		close(fd);
		error_r(r, "%s", name);
		shell_refuse(SHELL_EXIT_REFUSED, "the recording of session %s "
		    "is not asciicast v2", cmd->id);
	}
	memset(&rs, 0, sizeof(rs));
	if ((out = buf_new(REPLAY_OUT_MAX)) == NULL ||
	    (rs.mid = buf_new(VTFILTER_OUT_MAX(CAST_LINE_MAX))) == NULL ||
	    (rs.normal = buf_new(REPLAY_NORMAL_MAX)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	info("engineer %s: replay %s (%s, speed %u.%02u)", sh->who, cmd->id,
	    name, speed / 100, speed % 100);
	vtfilter_init(&vf, VTFILTER_OUTPUT);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = replay_on_signal;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (tty) {
		if (atexit(replay_restore_atexit) != 0 ||
		    shell_live_term_raw(STDIN_FILENO) != 0)
			shell_refuse(SHELL_EXIT_REFUSED, "cannot set up the "
			    "terminal");
		rs.cols = 80;
		rs.rows = 24;
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		    ws.ws_col > 0 && ws.ws_row > 0) {
			rs.cols = ws.ws_col;
			rs.rows = ws.ws_row;
		}
		rs.rec_rows = hdr.rows;
		vtscreen_init(&rs.vs, 0);
		(void)vtscreen_enter(out);
		replay_region(&rs, out, 0);
	}
	while (!stop) {
		r = cast_reader_next(rd, &ev);
		if (r == TUNL_ERR_EOF)
			break;
		if (r != 0) {
			error("%s: line %u: %s", name, cast_reader_line(rd),
			    cast_reader_errmsg(rd));
			continue;	/* the reader goes on after a bad line */
		}
		if (ev.type == 'm') {
			replay_marker(&ev);
			continue;
		}
		if (ev.type != 'o' && ev.type != 'r')
			continue;
		events++;
		if (tty) {
			gap = ev.t - last;
			if (gap < 0)
				gap = 0;
			ms = (int64_t)(gap * 1000.0);
			if (ms > REPLAY_IDLE_MAX_MS)
				ms = REPLAY_IDLE_MAX_MS;
			ms = ms * 100 / speed;
			last = ev.t;
			if (replay_write(STDOUT_FILENO, out) != 0 ||
			    replay_wait(1, ms)) {
				stop = 1;
				break;
			}
		}
		if (ev.type == 'o') {
			if (buf_avail(out) < VTFILTER_OUT_MAX(
			    buf_len(ev.data)) && replay_write(STDOUT_FILENO,
			    out) != 0)
				break;
			if (tty)
				r = replay_screen_feed(&rs, &vf,
				    buf_ptr(ev.data), buf_len(ev.data), out);
			else
				r = vtfilter_feed(&vf, buf_ptr(ev.data),
				    buf_len(ev.data), out);
			if (r != 0)
				error_r(r, "%s: an event dropped", name);
		} else if (tty) {
			rs.rec_rows = ev.rows;
			replay_region(&rs, out, 1);
			(void)buf_putf(out, "\0337\033[999;1H\033[0;7m tunl: "
			    "the customer's window is now %ux%u \033[K"
			    "\033[0m\0338", ev.cols, ev.rows);
		}
		if (!tty && buf_len(out) > REPLAY_OUT_MAX / 2 &&
		    replay_write(STDOUT_FILENO, out) != 0)
			break;
	}
	if (tty) {
		if (!stop && replay_signal == 0)
			(void)replay_wait(1, 1000);
		replay_signal = 0;
		/* Modes back, then the engineer's own screen. */
		if (replay_write(STDOUT_FILENO, out) != 0)
			buf_reset(out);
		(void)vtscreen_leave(&rs.vs, rs.cols, out);
	} else
		(void)vtfilter_flush(&vf, out);
	replay_signal = 0;
	(void)replay_write(STDOUT_FILENO, out);
	if (tty) {
		shell_live_term_restore();
		fprintf(stderr, "tunl: replayed %s (%llu events)\r\n", name,
		    (unsigned long long)events);
	}
	if (cast_reader_torn(rd))
		info("%s: the last line was cut short", name);
	cast_reader_free(rd);
	close(fd);
	buf_free(out);
	buf_free(rs.mid);
	buf_free(rs.normal);
	return rc;
}
