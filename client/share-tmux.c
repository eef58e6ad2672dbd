/*
 * share-tmux.c: the customer's tmux server on a private socket.
 *
 * Every tmux command is run with posix_spawnp as an argument vector,
 * "tmux -f /dev/null -S <dir>/tmux.sock <command> <args>", never through a
 * shell. Relay input reaches tmux only as the last, literal argument of
 * send-keys -l (bytes, no NUL) and as option values shown in the status
 * row (text made printable by share_printable, '#' doubled so tmux draws
 * it and does not read it as a style).
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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "share.h"

#define TMUX_ARGS_MAX		96
#define TMUX_OUT_MAX		(64 * 1024)
/* A snapshot's bytes after the lines: region, modes, cursor. */
#define SNAP_STATE_MAX		128

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

/* Attach a read-only control-mode client whose output we read. */
int
share_tmux_control(struct share *s)
{
	const char *const argv[] = { "tmux", "-f", "/dev/null", "-S", s->sock,
	    "-C", "attach-session", "-r", "-t", SHARE_SESSION, NULL };
	int	 in[2], out[2], r;

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
	if (r != 0) {
		(void)close(in[1]);
		(void)close(out[0]);
		return r;
	}
	s->ctl_in = in[1];	/* kept open: tmux detaches at its EOF */
	s->ctl_out = out[0];
	return 0;
}

/* Keys from an engineer, literally, as one argument; no NUL in them. */
int
share_tmux_keys(struct share *s, const char *pane, const u_char *p,
    size_t len)
{
	char	 keys[PROTO_KEYS_MAX + 1];

	if (len == 0 || len > PROTO_KEYS_MAX || memchr(p, '\0', len) != NULL)
		return TUNL_ERR_INVALID;
	memcpy(keys, p, len);
	keys[len] = '\0';
	{
		const char *const a[] = { "send-keys", "-l", "-t", pane, "--",
		    keys, NULL };
		return share_tmux(s, a, NULL);
	}
}

int
share_tmux_resize(struct share *s, u_int cols, u_int rows)
{
	char	 c[16], r[16];

	if (cols < 1 || cols > PROTO_COLS_MAX || rows < 1 ||
	    rows > PROTO_ROWS_MAX)
		return TUNL_ERR_RANGE;
	(void)snprintf(c, sizeof(c), "%u", cols);
	(void)snprintf(r, sizeof(r), "%u", rows);
	{
		const char *const a[] = { "resize-window", "-t", SHARE_SESSION,
		    "-x", c, "-y", r, NULL };
		return share_tmux(s, a, NULL);
	}
}

/* The main pane's cursor and size. */
int
share_tmux_size(struct share *s, u_int *cx, u_int *cy, u_int *w, u_int *h)
{
	const char *const a[] = { "display-message", "-p", "-t", s->pane_main,
	    "#{cursor_x} #{cursor_y} #{pane_width} #{pane_height}", NULL };
	struct buf	*b;
	char		 line[80], *fields[4], *p, *sp;
	long long	 v[4];
	size_t		 len;
	u_int		 i;
	int		 r;

	if ((b = buf_new(sizeof(line))) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = share_tmux(s, a, b)) != 0)
		goto out;
	r = TUNL_ERR_INVALID;
	len = buf_len(b);
	if (len < 8 || len >= sizeof(line) || buf_ptr(b)[len - 1] != '\n')
		goto out;
	memcpy(line, buf_ptr(b), len - 1);
	line[len - 1] = '\0';
	p = line;
	for (i = 0; i < 4; i++) {
		fields[i] = p;
		if ((sp = strchr(p, ' ')) != NULL) {
			if (i == 3)
				goto out;
			*sp = '\0';
			p = sp + 1;
		} else if (i != 3)
			goto out;
		if (tunl_strtonum(fields[i], 0, 10000, &v[i]) != 0)
			goto out;
	}
	*cx = (u_int)v[0];
	*cy = (u_int)v[1];
	*w = (u_int)v[2];
	*h = (u_int)v[3];
	r = 0;
 out:
	buf_free(b);
	return r;
}

/*
 * What of the main pane's state a redraw needs besides its cells: which
 * screen is on, the scroll region, and the modes that change where the
 * next output lands or whether the cursor shows.
 */
struct tmux_modes {
	u_int	 alt;		/* the alternate screen is on */
	u_int	 upper, lower;	/* the scroll region, 0-based */
	u_int	 cursor;	/* shown */
	u_int	 origin;	/* DECOM */
	u_int	 insert;	/* IRM */
	u_int	 wrap;		/* DECAWM */
};

static int
tmux_modes(struct share *s, struct tmux_modes *m)
{
	const char *const a[] = { "display-message", "-p", "-t", s->pane_main,
	    "#{alternate_on} #{scroll_region_upper} #{scroll_region_lower} "
	    "#{cursor_flag} #{origin_flag} #{insert_flag} #{wrap_flag}", NULL };
	u_int		*field[7];
	struct buf	*b;
	char		 line[128], *p, *sp;
	long long	 v;
	size_t		 len;
	u_int		 i;
	int		 r;

	field[0] = &m->alt;
	field[1] = &m->upper;
	field[2] = &m->lower;
	field[3] = &m->cursor;
	field[4] = &m->origin;
	field[5] = &m->insert;
	field[6] = &m->wrap;
	if ((b = buf_new(sizeof(line))) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = share_tmux(s, a, b)) != 0)
		goto out;
	r = TUNL_ERR_INVALID;
	len = buf_len(b);
	if (len < 2 || len >= sizeof(line) || buf_ptr(b)[len - 1] != '\n')
		goto out;
	memcpy(line, buf_ptr(b), len - 1);
	line[len - 1] = '\0';
	p = line;
	for (i = 0; i < TUNL_NITEMS(field); i++) {
		if ((sp = strchr(p, ' ')) != NULL) {
			if (i == TUNL_NITEMS(field) - 1)
				goto out;
			*sp = '\0';
		} else if (i != TUNL_NITEMS(field) - 1)
			goto out;
		if (tunl_strtonum(p, 0, 10000, &v) != 0)
			goto out;
		*field[i] = (u_int)v;
		if (sp != NULL)
			p = sp + 1;
	}
	r = 0;
 out:
	buf_free(b);
	return r;
}

/*
 * A SNAPSHOT frame for request id: the main pane as capture-pane prints it
 * (with attributes, wrapped lines joined), framed so that written to a
 * terminal it redraws the screen and its state: the alternate screen if
 * the pane is on it (capture-pane shows the screen that is on), reset,
 * home, clear, the lines, the scroll region and the modes that differ
 * from a terminal's start, the cursor.
 */
int
share_tmux_snapshot(struct share *s, u_int32_t id, struct buf *frames)
{
	const char *const a[] = { "capture-pane", "-p", "-e", "-J", "-t",
	    s->pane_main, NULL };
	struct proto_snapshot	 snap;
	struct tmux_modes	 m;
	struct buf		*cap = NULL, *scr = NULL;
	const u_char		*p;
	size_t			 i, len;
	u_int			 cx, cy, w, h, row;
	int			 r;

	if ((r = share_tmux_size(s, &cx, &cy, &w, &h)) != 0 ||
	    (r = tmux_modes(s, &m)) != 0)
		return r;
	if ((cap = buf_new(SHARE_CAPTURE_MAX)) == NULL ||
	    (scr = buf_new(SHARE_CAPTURE_MAX + 64)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	/* A capture too large for a frame is cut (the tail is lost). */
	if ((r = share_tmux(s, a, cap)) != 0 && r != TUNL_ERR_LENGTH)
		goto out;
	if ((r = buf_putf(scr, "%s%s", m.alt ? "\033[?1049h" : "",
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
	w = w < 1 ? 1 : (w > PROTO_COLS_MAX ? PROTO_COLS_MAX : w);
	h = h < 1 ? 1 : (h > PROTO_ROWS_MAX ? PROTO_ROWS_MAX : h);
	cx = cx >= w ? w - 1 : cx;
	cy = cy >= h ? h - 1 : cy;
	if (m.lower >= h || m.upper >= m.lower)
		m.upper = m.lower = 0;
	row = cy + 1;
	if (m.origin && m.lower != 0 && cy >= m.upper)
		row = cy - m.upper + 1;
	/* Setting the region or origin mode homes the cursor: first. */
	if ((r = buf_putf(scr, "\033[0m")) != 0 ||
	    (m.lower != 0 && (m.upper != 0 || m.lower != h - 1) &&
	    (r = buf_putf(scr, "\033[%u;%ur", m.upper + 1, m.lower + 1)) != 0) ||
	    (m.origin && (r = buf_putf(scr, "\033[?6h")) != 0) ||
	    (m.insert && (r = buf_putf(scr, "\033[4h")) != 0) ||
	    (!m.wrap && (r = buf_putf(scr, "\033[?7l")) != 0) ||
	    (!m.cursor && (r = buf_putf(scr, "\033[?25l")) != 0) ||
	    (r = buf_putf(scr, "\033[%u;%uH", row, cx + 1)) != 0)
		goto out;
	memset(&snap, 0, sizeof(snap));
	snap.id = id;
	snap.cols = (u_int16_t)w;
	snap.rows = (u_int16_t)h;
	snap.cx = (u_int16_t)cx;
	snap.cy = (u_int16_t)cy;
	snap.data = buf_ptr(scr);
	snap.len = buf_len(scr);
	r = proto_put_snapshot(frames, &snap);
 out:
	buf_free(cap);
	buf_free(scr);
	return r;
}

/* One option; a pane target ("%N") sets a pane option. */
int
share_tmux_set(struct share *s, const char *target, const char *name,
    const char *value)
{
	const char *const a[] = { "set-option", target[0] == '%' ? "-p" : "-q",
	    "-t", target, name, value, NULL };

	return share_tmux(s, a, NULL);
}

void
share_tmux_kill(struct share *s)
{
	const char *const a[] = { "kill-server", NULL };

	(void)share_tmux(s, a, NULL);
	if (s->ctl_in != -1) {
		(void)close(s->ctl_in);
		s->ctl_in = -1;
	}
	if (s->ctl_pid > 0) {
		(void)share_wait(s->ctl_pid);
		s->ctl_pid = 0;
	}
}
