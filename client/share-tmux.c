/*
 * share-tmux.c: the customer's tmux server on a private socket.
 *
 * tmux commands are run with posix_spawnp as an argument vector,
 * "tmux -f /dev/null -S <dir>/tmux.sock <command> <args>", never through a
 * shell, except the engineers' keys: they go to the control-mode client
 * tunl-share already holds, as command lines written to its standard
 * input, so a keystroke costs no process. Relay input reaches tmux only
 * as two lowercase hex digits a byte in those lines ("send-keys -H -t %N
 * 65 63 3b"), which no parser can read as anything but one byte each,
 * and as option values shown in the status row (text made printable by
 * share_printable, '#' doubled so tmux draws it and does not read it as a
 * style).
 *
 * Layout: one window, the customer's shell in the top pane (the shared
 * one), tunl-share --chat-pane in the bottom pane, a status row drawn from
 * user options (@tunl_*) that tunl-share updates, and pane headers. The
 * prefix key then Q ends the session (after a y/n confirmation); the
 * session also ends when either pane exits.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "share.h"

#define TMUX_ARGS_MAX		96
#define TMUX_OUT_MAX		(64 * 1024)
#define TMUX_CTLQ_MAX		(1024 * 1024)	/* queued key commands */
#define TMUX_KEYS_LINE		512	/* key bytes in one send-keys line */

extern char **environ;

/*
 * Start argv[0] (found on PATH) with the given descriptors as its stdin,
 * stdout and stderr (-1: /dev/null). Every other descriptor of ours is
 * close-on-exec, so the child gets these three only.
 */
int
share_spawn(const char *const argv[], int in, int out, int err, pid_t *pidp)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	int				 fds[3], i, r, ret = TUNL_ERR_SYSTEM;

	fds[0] = in;
	fds[1] = out;
	fds[2] = err;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return TUNL_ERR_SYSTEM;
	if (posix_spawnattr_init(&attr) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		return TUNL_ERR_SYSTEM;
	}
	for (i = 0; i < 3; i++) {
		if (fds[i] == -1)
			r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
			    i == 0 ? O_RDONLY : O_WRONLY, 0);
		else
			r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
		if (r != 0)
			goto out;
	}
	/* The child starts with no signal blocked and default actions. */
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)sigdelset(&all, SIGKILL);
	(void)sigdelset(&all, SIGSTOP);
	if (posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
	    posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0)
		goto out;
	if ((r = posix_spawnp(pidp, argv[0], &fa, &attr,
	    (char *const *)argv, environ)) != 0) {
		errno = r;
		goto out;
	}
	ret = 0;
 out:
	(void)posix_spawnattr_destroy(&attr);
	(void)posix_spawn_file_actions_destroy(&fa);
	return ret;
}

/* The exit status of pid (0..255), or -1 when it died of a signal. */
int
share_wait(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

/*
 * Wait for pid for at most grace_ms, then SIGTERM it and wait as long
 * again, then SIGKILL it: never for ever, whatever it is blocked on.
 */
void
share_reap(pid_t pid, int grace_ms)
{
	pid_t	 w;
	int	 step, left;

	for (step = 0; step < 3; step++) {
		if (step == 1)
			(void)kill(pid, SIGTERM);
		else if (step == 2)
			(void)kill(pid, SIGKILL);
		for (left = step == 2 ? 60000 : grace_ms; left > 0;
		    left -= 20) {
			w = waitpid(pid, NULL, WNOHANG);
			if (w == pid || (w == -1 && errno != EINTR))
				return;
			(void)poll(NULL, 0, 20);
		}
	}
}

/*
 * Run one tmux command line (args, NULL-terminated) on our server. When
 * out is given, tmux's standard output is gathered into it (at most its
 * maximum; the rest is read and dropped, and TUNL_ERR_LENGTH returned).
 * Returns 0 when tmux exited 0.
 */
int
share_tmux(struct share *s, const char *const args[], struct buf *out)
{
	const char	*argv[TMUX_ARGS_MAX];
	char		 chunk[4096];
	size_t		 n = 0, i;
	ssize_t		 got;
	pid_t		 pid;
	int		 p[2] = { -1, -1 }, r, full = 0;

	argv[n++] = "tmux";
	argv[n++] = "-f";
	argv[n++] = "/dev/null";
	argv[n++] = "-S";
	argv[n++] = s->sock;
	for (i = 0; args[i] != NULL; i++) {
		if (n + 1 >= TMUX_ARGS_MAX)
			return TUNL_ERR_LENGTH;
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (out != NULL && pipe2(p, O_CLOEXEC) == -1)
		return TUNL_ERR_SYSTEM;
	r = share_spawn(argv, -1, p[1], -1, &pid);
	if (p[1] != -1)
		(void)close(p[1]);
	if (r != 0) {
		if (p[0] != -1)
			(void)close(p[0]);
		return r;
	}
	if (out != NULL) {
		for (;;) {
			got = read(p[0], chunk, sizeof(chunk));
			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			if (!full && buf_put(out, chunk, (size_t)got) != 0)
				full = 1;
		}
		(void)close(p[0]);
	}
	if (share_wait(pid) != 0)
		return TUNL_ERR_SYSTEM;
	return full ? TUNL_ERR_LENGTH : 0;
}

/*
 * n numbers 0..10000, one space between and nothing else: a line tmux
 * printed for a format of ours, without its newline.
 */
static int
tmux_numbers(const u_char *p, size_t len, u_int *out, u_int n)
{
	char		 line[128], *q, *sp;
	long long	 v;
	u_int		 i;

	if (len == 0 || len >= sizeof(line))
		return TUNL_ERR_INVALID;
	memcpy(line, p, len);
	line[len] = '\0';
	q = line;
	for (i = 0; i < n; i++) {
		if ((sp = strchr(q, ' ')) != NULL) {
			if (i == n - 1)
				return TUNL_ERR_INVALID;
			*sp = '\0';
		} else if (i != n - 1)
			return TUNL_ERR_INVALID;
		if (tunl_strtonum(q, 0, 10000, &v) != 0)
			return TUNL_ERR_INVALID;
		out[i] = (u_int)v;
		if (sp != NULL)
			q = sp + 1;
	}
	return 0;
}

/* display-message -p format on target: n numbers (tmux_numbers). */
static int
tmux_query(struct share *s, const char *target, const char *format,
    u_int *out, u_int n)
{
	const char *const a[] = { "display-message", "-p", "-t", target,
	    format, NULL };
	struct buf	*b;
	int		 r;

	if ((b = buf_new(128)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = share_tmux(s, a, b)) == 0) {
		if (buf_len(b) < 1 || buf_ptr(b)[buf_len(b) - 1] != '\n')
			r = TUNL_ERR_INVALID;
		else
			r = tmux_numbers(buf_ptr(b), buf_len(b) - 1, out, n);
	}
	buf_free(b);
	return r;
}

/* Read "%N\n" printed by -P -F '#{pane_id}'. */
static int
tmux_pane_out(struct buf *b, char *pane, u_int *id)
{
	char	 tmp[SHARE_PANE_LEN];
	size_t	 len = buf_len(b);

	if (len < 2 || len >= sizeof(tmp) || buf_ptr(b)[len - 1] != '\n')
		return TUNL_ERR_INVALID;
	memcpy(tmp, buf_ptr(b), len - 1);
	tmp[len - 1] = '\0';
	if (ctlmode_pane_id(tmp, id) != 0)
		return TUNL_ERR_INVALID;
	memcpy(pane, tmp, len);
	return 0;
}

int
share_tmux_start(struct share *s)
{
	struct winsize	 ws;
	struct buf	*b;
	char		 cols[16], rows[16], main_id[SHARE_PANE_LEN];
	u_int		 chat_id;
	int		 r;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0 ||
	    ws.ws_row == 0) {
		ws.ws_col = 80;
		ws.ws_row = 24 + SHARE_CHAT_PANE_ROWS + 1;
	}
	(void)snprintf(cols, sizeof(cols), "%u", (u_int)ws.ws_col);
	(void)snprintf(rows, sizeof(rows), "%u", (u_int)ws.ws_row);
	if ((b = buf_new(TMUX_OUT_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	{
		const char *const a[] = { "new-session", "-d", "-s",
		    SHARE_SESSION, "-x", cols, "-y", rows, "-P", "-F",
		    "#{pane_id}", NULL };
		if ((r = share_tmux(s, a, b)) != 0 ||
		    (r = tmux_pane_out(b, s->pane_main, &s->pane_main_id)) != 0)
			goto out;
	}
	(void)snprintf(main_id, sizeof(main_id), "%s", s->pane_main);
	buf_reset(b);
	{
		const char *const a[] = { "split-window", "-v", "-d", "-l",
		    "8", "-t", main_id, "-P", "-F", "#{pane_id}", "--",
		    s->self, "--chat-pane", s->dir, NULL };
		if ((r = share_tmux(s, a, b)) != 0 ||
		    (r = tmux_pane_out(b, s->pane_chat, &chat_id)) != 0)
			goto out;
	}
	{
		/* Fixed strings only: nothing here comes from the relay. */
		const char *const a[] = {
		    "set-option", "-t", SHARE_SESSION, "status-format[0]",
		    "#[bold][tunl]#[nobold] #{@tunl_id} | #{@tunl_relay} | "
		    "#{@tunl_viewers} | #{@tunl_mode} #[align=right]"
		    "C-b Q: end session ", ";",
		    "set-option", "-t", SHARE_SESSION, "status-style",
		    "bg=yellow,fg=black", ";",
		    "set-option", "-w", "-t", SHARE_SESSION,
		    "pane-border-status", "top", ";",
		    "set-option", "-w", "-t", SHARE_SESSION,
		    "pane-border-format", " #{@tunl_header} ", ";",
		    "set-option", "-w", "-t", SHARE_SESSION, "window-size",
		    "smallest", ";",
		    "set-option", "-t", SHARE_SESSION, "remain-on-exit", "off",
		    ";",
		    "set-hook", "-t", SHARE_SESSION, "pane-exited",
		    "kill-session -t " SHARE_SESSION, ";",
		    "bind-key", "-T", "prefix", "Q", "confirm-before", "-p",
		    "End the tunl session? (y/n)",
		    "kill-session -t " SHARE_SESSION, ";",
		    "select-pane", "-t", main_id, NULL };
		if ((r = share_tmux(s, a, NULL)) != 0)
			goto out;
	}
	r = 0;
 out:
	buf_free(b);
	return r;
}

/*
 * Attach the control-mode client: we read its lines (the panes' output,
 * layout changes) and write it the key commands. It takes no part in the
 * window's size (control clients only do once they set one).
 */
int
share_tmux_control(struct share *s)
{
	const char *const argv[] = { "tmux", "-f", "/dev/null", "-S", s->sock,
	    "-C", "attach-session", "-f", "ignore-size", "-t", SHARE_SESSION,
	    NULL };
	int	 in[2], out[2], r;

	if ((s->ctl_q = buf_new(TMUX_CTLQ_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if (pipe2(in, O_CLOEXEC) == -1)
		return TUNL_ERR_SYSTEM;
	if (pipe2(out, O_CLOEXEC) == -1) {
		(void)close(in[0]);
		(void)close(in[1]);
		return TUNL_ERR_SYSTEM;
	}
	r = share_spawn(argv, in[0], out[1], -1, &s->ctl_pid);
	(void)close(in[0]);
	(void)close(out[1]);
	if (r != 0 || fcntl(in[1], F_SETFL,
	    fcntl(in[1], F_GETFL) | O_NONBLOCK) == -1) {
		(void)close(in[1]);
		(void)close(out[0]);
		return r != 0 ? r : TUNL_ERR_SYSTEM;
	}
	s->ctl_in = in[1];	/* kept open: tmux detaches at its EOF */
	s->ctl_out = out[0];
	return 0;
}

/*
 * Write what is queued for the control client, as much as the pipe takes
 * now. Returns 0, or TUNL_ERR_SYSTEM when the client is gone.
 */
int
share_tmux_flush(struct share *s)
{
	size_t	 put;

	if (s->ctl_q == NULL || buf_len(s->ctl_q) == 0 || s->ctl_in == -1)
		return 0;
	if (buf_write_fd(s->ctl_q, s->ctl_in, &put) != 0 &&
	    errno != EAGAIN && errno != EINTR)
		return TUNL_ERR_SYSTEM;
	return 0;
}

/*
 * Keys from an engineer, every byte exactly as sent (NUL included): queued
 * as send-keys -H lines for the control client, whole or not at all. A
 * full queue means tmux has stopped reading; the keys are dropped, counted
 * and TUNL_ERR_FULL returned so the caller can say so.
 */
int
share_tmux_keys(struct share *s, const char *pane, const u_char *p,
    size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 b[3];
	size_t			 mark, i, j, n;
	int			 r = 0;

	if (len == 0 || len > PROTO_KEYS_MAX || s->ctl_q == NULL ||
	    pane[0] != '%')
		return TUNL_ERR_INVALID;
	mark = buf_len(s->ctl_q);
	for (i = 0; i < len && r == 0; i += n) {
		n = len - i > TMUX_KEYS_LINE ? TMUX_KEYS_LINE : len - i;
		r = buf_putf(s->ctl_q, "send-keys -H -t %s", pane);
		for (j = 0; j < n && r == 0; j++) {
			b[0] = ' ';
			b[1] = hex[p[i + j] >> 4];
			b[2] = hex[p[i + j] & 15];
			r = buf_put(s->ctl_q, b, sizeof(b));
		}
		if (r == 0)
			r = buf_put_u8(s->ctl_q, '\n');
	}
	if (r == 0)
		s->ctl_sent += (len + TMUX_KEYS_LINE - 1) / TMUX_KEYS_LINE;
	if (r != 0) {
		(void)buf_consume_end(s->ctl_q, buf_len(s->ctl_q) - mark);
		s->keys_dropped += len;
		return TUNL_ERR_FULL;
	}
	return share_tmux_flush(s);
}

static int	 tmux_ctl_line(struct share *, u_int, const char *, ...)
		     TUNL_PRINTF(3, 4);

/* Queue one command line for the control client: nblocks answers. */
static int
tmux_ctl_line(struct share *s, u_int nblocks, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 mark;
	int	 r;

	if (s->ctl_in == -1 || s->ctl_q == NULL)
		return TUNL_ERR_SYSTEM;
	mark = buf_len(s->ctl_q);
	va_start(ap, fmt);
	r = buf_putfv(s->ctl_q, fmt, ap);
	va_end(ap);
	if (r != 0) {
		(void)buf_consume_end(s->ctl_q, buf_len(s->ctl_q) - mark);
		return r;
	}
	s->ctl_sent += nblocks;
	return share_tmux_flush(s);
}

/*
 * The size policy (tunl-share(1), RESIZE POLICY). The window's size is
 * the smallest of its clients' (window-size smallest): the customer's
 * terminal, and the control client, which counts only while a read-write
 * engineer sets a size (it is attached ignore-size). A read-write
 * engineer's terminal sets the size of the shared pane: the control
 * client is made that size plus the chat pane and the pane headers, so
 * the shared pane is the engineer's size or, where the customer's own
 * terminal is smaller, what fits in it; the chat pane keeps its rows
 * (share_tmux_chat_rows) and the customer always sees it. Sizes below
 * SHARE_MIN_COLS x SHARE_MIN_ROWS are raised to it.
 */
int
share_tmux_resize(struct share *s, u_int cols, u_int rows)
{
	int	 r;

	if (cols < 1 || cols > PROTO_COLS_MAX || rows < 1 ||
	    rows > PROTO_ROWS_MAX)
		return TUNL_ERR_RANGE;
	if (cols < SHARE_MIN_COLS)
		cols = SHARE_MIN_COLS;
	if (rows < SHARE_MIN_ROWS)
		rows = SHARE_MIN_ROWS;
	if ((r = tmux_ctl_line(s, 1, "refresh-client -f !ignore-size\n")) != 0)
		return r;
	return tmux_ctl_line(s, 1, "refresh-client -C %ux%u\n", cols,
	    rows + SHARE_CHAT_PANE_ROWS + SHARE_LAYOUT_ROWS);
}

/*
 * No read-write engineer sets the size any more: the control client
 * stops counting and the window follows the customer's terminal alone.
 */
int
share_tmux_size_free(struct share *s)
{
	return tmux_ctl_line(s, 1, "refresh-client -f ignore-size\n");
}

/*
 * tmux shares out a window's new size among its panes in proportion: put
 * the chat pane back to its rows when that moved it (the customer's own
 * terminal was resized), if the window has room for them and a shared
 * pane of SHARE_MIN_ROWS. Returns 1 when it was resized.
 */
int
share_tmux_chat_rows(struct share *s)
{
	u_int	 v[2];
	char	 chat[16];
	int	 r;

	if ((r = tmux_query(s, s->pane_chat,
	    "#{pane_height} #{window_height}", v, 2)) != 0)
		return r;
	if (v[0] == SHARE_CHAT_PANE_ROWS || v[1] < SHARE_CHAT_PANE_ROWS +
	    SHARE_LAYOUT_ROWS + SHARE_MIN_ROWS)
		return 0;
	(void)snprintf(chat, sizeof(chat), "%u", SHARE_CHAT_PANE_ROWS);
	{
		const char *const a[] = { "resize-pane", "-t", s->pane_chat,
		    "-y", chat, NULL };
		if ((r = share_tmux(s, a, NULL)) == 0)
			r = 1;
	}
	return r;
}

/* The main pane's cursor and size. */
int
share_tmux_size(struct share *s, u_int *cx, u_int *cy, u_int *w, u_int *h)
{
	u_int	 v[4];
	int	 r;

	if ((r = tmux_query(s, s->pane_main,
	    "#{cursor_x} #{cursor_y} #{pane_width} #{pane_height}", v, 4)) != 0)
		return r;
	*cx = v[0];
	*cy = v[1];
	*w = v[2];
	*h = v[3];
	return 0;
}

/*
 * What of the main pane's state a redraw needs besides its cells: its
 * size and cursor, which screen is on, the scroll region, and the modes
 * that change where the next output lands or whether the cursor shows.
 * The same fields, in this order, are what TMUX_STATE_FORMAT prints.
 */
struct tmux_state {
	u_int	 cx, cy;	/* the cursor */
	u_int	 w, h;		/* the pane */
	u_int	 alt;		/* the alternate screen is on */
	u_int	 upper, lower;	/* the scroll region, 0-based */
	u_int	 cursor;	/* shown */
	u_int	 origin;	/* DECOM */
	u_int	 insert;	/* IRM */
	u_int	 wrap;		/* DECAWM */
};
#define TMUX_STATE_FIELDS	11
#define TMUX_STATE_FORMAT \
	"#{cursor_x} #{cursor_y} #{pane_width} #{pane_height} " \
	"#{alternate_on} #{scroll_region_upper} #{scroll_region_lower} " \
	"#{cursor_flag} #{origin_flag} #{insert_flag} #{wrap_flag}"
/* A named paste buffer for the synchronised capture (then deleted). */
#define TMUX_SNAP_BUFFER	"tunl-snapshot"
/* A snapshot's bytes after the lines: region, modes, cursor. */
#define SNAP_STATE_MAX		128

/* Parse TMUX_STATE_FORMAT's output (numbers, one space between). */
static int
tmux_state_parse(const u_char *p, size_t len, struct tmux_state *st)
{
	u_int	 v[TMUX_STATE_FIELDS];
	int	 r;

	if ((r = tmux_numbers(p, len, v, TMUX_STATE_FIELDS)) != 0)
		return r;
	st->cx = v[0];
	st->cy = v[1];
	st->w = v[2];
	st->h = v[3];
	st->alt = v[4];
	st->upper = v[5];
	st->lower = v[6];
	st->cursor = v[7];
	st->origin = v[8];
	st->insert = v[9];
	st->wrap = v[10];
	return 0;
}

/*
 * A SNAPSHOT frame for request id from a capture (capture-pane -e -J:
 * with attributes, wrapped lines joined) and the pane's state, framed
 * so that written to a terminal it redraws the screen and its state: the
 * alternate screen if the pane is on it (capture-pane shows the screen
 * that is on), reset, home, clear, the lines, the scroll region and the
 * modes, the cursor.
 */
static int
tmux_snapshot_build(u_int32_t id, const struct buf *cap,
    struct tmux_state *st, struct buf *frames)
{
	struct proto_snapshot	 snap;
	struct buf		*scr;
	const u_char		*p;
	size_t			 i, len;
	u_int			 row;
	int			 r;

	if ((scr = buf_new(SHARE_CAPTURE_MAX + 64)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = buf_putf(scr, "%s%s", st->alt ? "\033[?1049h" : "",
	    "\033[0m\033[H\033[2J")) != 0)
		goto out;
	p = buf_ptr(cap);
	len = buf_len(cap);
	if (len > 0 && p[len - 1] == '\n')
		len--;
	/* The lines as far as they fit with room left for the state. */
	for (i = 0; i < len && r == 0 &&
	    buf_avail(scr) >= SNAP_STATE_MAX + 2; i++) {
		if (p[i] == '\n')
			r = buf_put(scr, "\r\n", 2);
		else
			r = buf_put_u8(scr, p[i]);
	}
	if (r != 0)
		goto out;
	st->w = st->w < 1 ? 1 : (st->w > PROTO_COLS_MAX ? PROTO_COLS_MAX :
	    st->w);
	st->h = st->h < 1 ? 1 : (st->h > PROTO_ROWS_MAX ? PROTO_ROWS_MAX :
	    st->h);
	st->cx = st->cx >= st->w ? st->w - 1 : st->cx;
	st->cy = st->cy >= st->h ? st->h - 1 : st->cy;
	if (st->lower >= st->h || st->upper >= st->lower)
		st->upper = st->lower = 0;
	row = st->cy + 1;
	if (st->origin && st->lower != 0 && st->cy >= st->upper)
		row = st->cy - st->upper + 1;
	if (st->lower == 0)
		st->lower = st->h - 1;
	/*
	 * Every mode said either way: the terminal that draws this may have
	 * been left in any state (a program that hid the cursor, say).
	 * Setting the region or origin mode homes the cursor: first.
	 */
	if ((r = buf_putf(scr, "\033[0m\033[%u;%ur\033[?6%c\033[4%c"
	    "\033[?7%c\033[?25%c\033[%u;%uH", st->upper + 1, st->lower + 1,
	    st->origin ? 'h' : 'l', st->insert ? 'h' : 'l',
	    st->wrap ? 'h' : 'l', st->cursor ? 'h' : 'l', row,
	    st->cx + 1)) != 0)
		goto out;
	memset(&snap, 0, sizeof(snap));
	snap.id = id;
	snap.cols = (u_int16_t)st->w;
	snap.rows = (u_int16_t)st->h;
	snap.cx = (u_int16_t)st->cx;
	snap.cy = (u_int16_t)st->cy;
	snap.data = buf_ptr(scr);
	snap.len = buf_len(scr);
	r = proto_put_snapshot(frames, &snap);
 out:
	buf_free(scr);
	return r;
}

/*
 * A SNAPSHOT frame for request id, taken at once with capture-pane and
 * display-message. Not in step with the control client's output: what
 * the pane printed just before may be in the capture and still come as
 * output after it. For the unasked snapshot at connection only; requests
 * go through share_tmux_snapshot_ask.
 */
int
share_tmux_snapshot(struct share *s, u_int32_t id, struct buf *frames)
{
	const char *const cap_args[] = { "capture-pane", "-p", "-e", "-J",
	    "-t", s->pane_main, NULL };
	const char *const st_args[] = { "display-message", "-p", "-t",
	    s->pane_main, TMUX_STATE_FORMAT, NULL };
	struct tmux_state	 st;
	struct buf		*cap = NULL, *b = NULL;
	int			 r;

	if ((cap = buf_new(SHARE_CAPTURE_MAX)) == NULL ||
	    (b = buf_new(128)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	if ((r = share_tmux(s, st_args, b)) != 0)
		goto out;
	if (buf_len(b) < 1 || buf_ptr(b)[buf_len(b) - 1] != '\n' ||
	    (r = tmux_state_parse(buf_ptr(b), buf_len(b) - 1, &st)) != 0) {
		r = TUNL_ERR_INVALID;
		goto out;
	}
	/* A capture too large for a frame is cut (the tail is lost). */
	if ((r = share_tmux(s, cap_args, cap)) != 0 && r != TUNL_ERR_LENGTH)
		goto out;
	r = tmux_snapshot_build(id, cap, &st, frames);
 out:
	buf_free(cap);
	buf_free(b);
	return r;
}

/*
 * Ask for a snapshot in step with the pane's output. The control client
 * gets one command line: capture the pane into a paste buffer of ours,
 * then print its state after the tag SHARE_SNAP_TAG. tmux runs both
 * together, and hands the control client a pane's output before it
 * draws it, so every %output that comes before the state line is in the
 * capture and none after it is: share_tmux_snapshot_done, called for
 * that line, makes a snapshot after which the output follows exactly.
 * Nothing of the pane's reaches the control client except as %output
 * (escaped), so a raw line with the tag can only be this answer.
 */
int
share_tmux_snapshot_ask(struct share *s)
{
	char	 line[PATH_MAX + 512];
	int	 n, r;

	if (strchr(s->snapfile, '\'') != NULL)
		return TUNL_ERR_INVALID;
	(void)unlink(s->snapfile);
	n = snprintf(line, sizeof(line), "capture-pane -e -J -b %s -t %s ; "
	    "display-message -p -t %s '%s %s' ; "
	    "save-buffer -b %s '%s' ; delete-buffer -b %s\n",
	    TMUX_SNAP_BUFFER, s->pane_main, s->pane_main, SHARE_SNAP_TAG,
	    TMUX_STATE_FORMAT, TMUX_SNAP_BUFFER, s->snapfile,
	    TMUX_SNAP_BUFFER);
	if (n < 0 || (size_t)n >= sizeof(line))
		return TUNL_ERR_LENGTH;
	/*
	 * Behind any keys queued: one stream of whole lines. tmux answers
	 * each command of a line with a %begin/%end block of its own, in
	 * order: the capture's, the state's, the save's, then the
	 * delete's (snap_seq); a command that fails ends the line there and
	 * the blocks after it never come (share-proto.c counts them).
	 * The capture and the state run one after the other with nothing
	 * between: the cursor is the capture's. The save waits for its
	 * write (its block ends before) and the pane's output goes on
	 * meanwhile: share-proto.c holds that output until the snapshot is
	 * sent. The delete runs once the file is whole, so its block's end
	 * says the file can be read: no tmux process to start for it.
	 */
	if ((r = tmux_ctl_line(s, SHARE_SNAP_BLOCKS, "%s", line)) != 0)
		return r;
	s->snap_seq = s->ctl_sent;
	return 0;
}

/* The capture tmux saved, read and removed: at most max bytes. */
static int
tmux_snapfile_read(struct share *s, struct buf *cap)
{
	u_char	 chunk[4096];
	ssize_t	 n;
	int	 fd, r = 0;

	if ((fd = open(s->snapfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	(void)unlink(s->snapfile);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TUNL_ERR_SYSTEM;
			break;
		}
		if (n == 0)
			break;
		if (r == 0 && buf_put(cap, chunk, (size_t)n) != 0)
			r = TUNL_ERR_LENGTH;	/* read on, keep what fits */
	}
	(void)close(fd);
	return r;
}

/* The state line came (without the tag): the snapshot for request id. */
int
share_tmux_snapshot_done(struct share *s, u_int32_t id, const u_char *state,
    size_t len, struct buf *frames)
{
	struct tmux_state	 st;
	struct buf		*cap;
	int			 r;

	if ((r = tmux_state_parse(state, len, &st)) != 0)
		return r;
	if ((cap = buf_new(SHARE_CAPTURE_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	/* A capture too large for a frame is cut (the tail is lost). */
	if ((r = tmux_snapfile_read(s, cap)) != 0 && r != TUNL_ERR_LENGTH)
		goto out;
	r = tmux_snapshot_build(id, cap, &st, frames);
 out:
	buf_free(cap);
	return r;
}

/*
 * Append value to b as one single-quoted word of tmux's command language
 * (a quote inside as '\''): taken as it is, no format, variable or ~
 * expanded. Printable text only: a control client reads whole lines.
 */
static int
tmux_quoted(struct buf *b, const char *value)
{
	const u_char	*p;
	int		 r;

	for (p = (const u_char *)value; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return TUNL_ERR_INVALID;
	r = buf_put_u8(b, '\'');
	for (p = (const u_char *)value; *p != '\0' && r == 0; p++)
		r = *p == '\'' ? buf_put(b, "'\\''", 4) : buf_put_u8(b, *p);
	if (r == 0)
		r = buf_put_u8(b, '\'');
	return r;
}

/*
 * One option; a pane target ("%N") sets a pane option. Once the control
 * client is there, as a line for it (no process to start: the status and
 * headers change when engineers join, just when a snapshot is wanted);
 * before, with a tmux command of its own.
 */
int
share_tmux_set(struct share *s, const char *target, const char *name,
    const char *value)
{
	const char *const a[] = { "set-option", target[0] == '%' ? "-p" : "-q",
	    "-t", target, name, value, NULL };
	struct buf	*b;
	int		 r;

	if (s->ctl_in == -1 || s->ctl_q == NULL)
		return share_tmux(s, a, NULL);
	if ((b = buf_new(64 + 4 * (strlen(target) + strlen(name) +
	    strlen(value)))) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = buf_putf(b, "set-option %s -t ", a[1])) == 0 &&
	    (r = tmux_quoted(b, target)) == 0 && (r = buf_put_u8(b, ' ')) == 0 &&
	    (r = tmux_quoted(b, name)) == 0 && (r = buf_put_u8(b, ' ')) == 0 &&
	    (r = tmux_quoted(b, value)) == 0)
		r = tmux_ctl_line(s, 1, "%.*s\n", (int)buf_len(b),
		    (const char *)buf_ptr(b));
	buf_free(b);
	return r;
}

void
share_tmux_kill(struct share *s)
{
	const char *const a[] = { "kill-server", NULL };

	(void)share_tmux(s, a, NULL);
	/*
	 * Both pipes closed before the wait: a control client that was
	 * blocked writing the pane's last output (nobody reads it any more
	 * once the session is ending) gets EPIPE and goes, instead of
	 * holding tunl-share for ever.
	 */
	if (s->ctl_in != -1) {
		(void)close(s->ctl_in);
		s->ctl_in = -1;
	}
	if (s->ctl_out != -1) {
		(void)close(s->ctl_out);
		s->ctl_out = -1;
	}
	if (s->ctl_pid > 0) {
		share_reap(s->ctl_pid, SHARE_BYE_MS);
		s->ctl_pid = 0;
	}
	buf_free(s->ctl_q);
	s->ctl_q = NULL;
}
