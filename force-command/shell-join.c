/*
 * shell-join.c: an engineer's join (alias consume): the customer's screen
 * on the engineer's terminal, live, and, unless read-only or restricted,
 * the engineer's keys to the customer.
 *
 * The screen. The broker sends a snapshot first, then live output; what
 * it sends has passed its escape filter and passes our own (vtfilter
 * OUTPUT) again here. The session uses the engineer's terminal less its
 * last row: join announces rows - 1 to the broker, keeps a scroll region
 * over the rows above and draws the status row on the last one (session,
 * mode, who is watching, the detach key), between save- and
 * restore-cursor, so it never moves the shared screen's cursor. Notices
 * (resynchronising, reconnecting, a window smaller than the session,
 * chat) replace the status text for JOIN_NOTICE_MS. Output that clears
 * the screen can overwrite the status row; it is redrawn at most every
 * JOIN_STATUS_MS while output flows.
 *
 * The engineer's own screen. join holds the terminal's alternate screen
 * from start to end, so the engineer's normal screen is untouched and
 * comes back afterwards. Between our filter and the terminal, the screen
 * stage (lib/vtscreen.c) keeps the customer's programs from leaving it:
 * their switches between normal and alternate screen (47, 1047, 1049)
 * never reach the terminal. On entering, the screen is cleared, as tmux
 * clears the customer's; on leaving, the customer's normal screen is not
 * on the engineer's terminal any more, so join asks the broker for a
 * fresh snapshot and drops the output until it comes (the snapshot shows
 * the screen after every byte it dropped). The scroll region covers the
 * customer's rows only (its pane may be shorter than our terminal), and
 * the stage keeps region resets and absolute rows within them. On the
 * way out the modes the customer may have changed are put back.
 *
 * Keys. Ctrl-] is the escape key: Ctrl-] d detaches, Ctrl-] c opens a
 * one-line chat editor on the status row (Enter sends, Esc or Ctrl-C
 * cancels), Ctrl-] h shows the recent chat over the screen's last rows
 * until the next key (then the screen is redrawn from a fresh snapshot),
 * Ctrl-] ? shows the keys, Ctrl-] Ctrl-] sends one Ctrl-]; Ctrl-]
 * followed by anything else sends both bytes. ssh's own escape (~ after
 * a newline) is untouched. Read-only engineers' keys are never sent (a
 * notice says so once); chat is for read-write engineers (the broker's
 * rule), and a restricted session still has it.
 *
 * The terminal is in raw mode while joined and is put back on every way
 * out: detach, the session's end, the broker going away, an error,
 * SIGTERM, SIGHUP and SIGINT.
 */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"

#define JOIN_STUCK_SAY_MS	5000	/* a terminal stopped this long: say so */
/* Room for the way out: vtscreen_leave with every tab stop. */
#define JOIN_LEAVE_MAX	(2048 + 8 * (VTSCREEN_COLS_MAX / 8))

struct join {
	struct shell		*sh;
	const char		*id;
	int			 bfd;
	int			 read_only;
	int			 restricted;	/* from the broker's hello */
	struct frame_reader	 brk;
	struct buf		*to_broker;
	struct buf		*out;		/* for the terminal */
	struct buf		*mid;		/* filtered, for the stage */
	struct vtfilter		 vf;
	struct vtscreen		 vs;
	int			 resync;	/* output dropped until a snapshot */
	int			 ask_snapshot;	/* a request still to queue */
	u_int			 cols, rows;	/* the terminal */
	u_int			 sess_cols, sess_rows;	/* 0: unknown */
	char			 viewers[PROTO_TEXT_MAX + 1];
	char			 notice[PROTO_TEXT_MAX + 1];
	int64_t			 notice_until;
	int64_t			 status_at;	/* last drawn */
	int			 status_dirty;
	int			 keys_noticed;
	int			 esc;		/* escape key pending */
	char			 last[PROTO_TEXT_MAX + 64];	/* words at the end */
	int			 ended;		/* the broker said goodbye */
	int			 detached;
	int			 chatting;	/* the chat line is open */
	char			 chat[PROTO_CHAT_MAX + 1];
	size_t			 chat_len;
	int			 history_shown;	/* over the screen */
	char			 history[JOIN_CHAT_LINES][PROTO_NAME_LEN +
				     JOIN_CHAT_SHOWN + 8];
	u_int			 history_next, history_count;
};

static volatile sig_atomic_t	 join_signal;
static volatile sig_atomic_t	 join_winch;

static void
join_on_signal(int sig)
{
	join_signal = sig;
}

static void
join_on_winch(int sig)
{
	(void)sig;
	join_winch = 1;
}

static void
join_restore_atexit(void)
{
	shell_live_term_restore();
}

/*
 * The escape key, one byte at a time. *state is 1 while Ctrl-] waits for
 * its second key.
 */
enum join_key
shell_join_key(int *state, u_char c)
{
	if (*state) {
		*state = 0;
		if (c == 'd' || c == 'D')
			return JOIN_KEY_DETACH;
		if (c == '?')
			return JOIN_KEY_HELP;
		if (c == 'c' || c == 'C')
			return JOIN_KEY_CHAT;
		if (c == 'h' || c == 'H')
			return JOIN_KEY_HISTORY;
		if (c == JOIN_DETACH_KEY)
			return JOIN_KEY_SEND;
		return JOIN_KEY_SEND_BOTH;
	}
	if (c == JOIN_DETACH_KEY) {
		*state = 1;
		return JOIN_KEY_HOLD;
	}
	return JOIN_KEY_SEND;
}

static void
join_size(struct join *j)
{
	struct winsize	 ws;

	j->cols = 80;
	j->rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 1) {
		j->cols = ws.ws_col;
		j->rows = ws.ws_row;
	}
	if (j->cols > PROTO_COLS_MAX)
		j->cols = PROTO_COLS_MAX;
	if (j->rows > PROTO_ROWS_MAX + 1)
		j->rows = PROTO_ROWS_MAX + 1;
	if (j->rows < 2)
		j->rows = 2;
}

static void
join_notice(struct join *j, const char *fmt, ...) TUNL_PRINTF(2, 3);

static void
join_notice(struct join *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->notice, sizeof(j->notice), fmt, ap);
	va_end(ap);
	j->notice_until = tunl_now_ms() + JOIN_NOTICE_MS;
	j->status_dirty = 1;
}

/* Bytes of text for the status row: printable ASCII, the rest '?'. */
static void
join_put_text(struct buf *b, const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		if ((u_char)s[i] < 0x20 || (u_char)s[i] >= 0x7f)
			(void)buf_put_u8(b, '?');
		else
			(void)buf_put_u8(b, (u_char)s[i]);
	}
}

/* The status row: the terminal's last row, cursor saved and restored. */
static void
join_status(struct join *j)
{
	char	 text[PROTO_CHAT_MAX + 64];
	int64_t	 now = tunl_now_ms();

	if (j->chatting) {
		/* The line's end, where the typing is, when it is long. */
		const char	*t = j->chat;
		size_t		 room = j->cols > 10 ? j->cols - 10 : 1;

		if (j->chat_len > room)
			t += j->chat_len - room;
		snprintf(text, sizeof(text), " chat> %s_", t);
	} else if (now < j->notice_until)
		snprintf(text, sizeof(text), " tunl %s | %s", j->id, j->notice);
	else
		snprintf(text, sizeof(text), " tunl %s | %s | %s | %s: detach ",
		    j->id, j->restricted ? "read-only (restricted)" :
		    j->read_only ? "read-only" : "read-write",
		    j->viewers[0] != '\0' ? j->viewers : "no viewers yet",
		    JOIN_DETACH_NAME);
	if (buf_avail(j->out) < sizeof(text) + 64)
		return;
	(void)buf_putf(j->out, "\0337\033[%u;1H\033[0;7m", j->rows);
	join_put_text(j->out, text, j->cols);
	(void)buf_putf(j->out, "\033[K\033[0m\0338");
	j->status_at = now;
	j->status_dirty = 0;
}

/*
 * The rows the customer's screen has here: the terminal less the status
 * row, or fewer when the customer's pane is shorter (its output scrolls
 * at its own last row, so ours must too).
 */
static u_int
join_usable(const struct join *j)
{
	if (j->sess_rows != 0 && j->sess_rows < j->rows - 1)
		return j->sess_rows;
	return j->rows - 1;
}

/*
 * The scroll region over the customer's rows. Setting it homes the
 * cursor: keep is 1 in the middle of the stream, where the cursor must
 * stay where the customer's output left it.
 */
static void
join_region(struct join *j, int keep)
{
	vtscreen_set_rows(&j->vs, join_usable(j));
	(void)buf_putf(j->out, "%s\033[1;%ur%s", keep ? "\0337" : "",
	    join_usable(j), keep ? "\0338" : "");
}

/* Ask the broker for a fresh screen; output is dropped until it comes. */
static void
join_resync(struct join *j)
{
	j->resync = 1;
	j->ask_snapshot = 1;
	if (proto_put_u32(j->to_broker, FRAME_SNAPSHOT_REQ, 0) == 0)
		j->ask_snapshot = 0;
}

/*
 * The broker's bytes through our filter, then the screen stage. A switch
 * of the customer's screen stops the stage there: entering clears ours;
 * leaving means the customer's normal screen must be drawn again, which
 * only a snapshot can do. Output that does not fit is dropped and the
 * screen resynchronised the same way.
 */
static void
join_filtered(struct join *j, const u_char *data, size_t len, int snapshot)
{
	const u_char	*p;
	size_t		 left, used;
	int		 r, ev;

	buf_reset(j->mid);
	if ((r = vtfilter_feed(&j->vf, data, len, j->mid)) != 0 ||
	    (snapshot && (r = vtfilter_flush(&j->vf, j->mid)) != 0)) {
		error_r(r, "session %s: output dropped", j->id);
		if (!snapshot)
			join_resync(j);
		return;
	}
	p = buf_ptr(j->mid);
	left = buf_len(j->mid);
	while (left > 0) {
		if ((r = vtscreen_feed(&j->vs, p, left, j->out, &used,
		    &ev)) != 0) {
			error_r(r, "session %s: output dropped", j->id);
			if (!snapshot)
				join_resync(j);
			return;
		}
		p += used;
		left -= used;
		if (snapshot || ev == VTSCREEN_NONE)
			continue;
		j->status_dirty = 1;
		if (ev == VTSCREEN_ENTER)
			(void)buf_putf(j->out, "\033[2J");
		else {
			debug("session %s: the customer left its alternate "
			    "screen; asking for a snapshot", j->id);
			join_resync(j);
			return;
		}
	}
}

static void
join_snapshot(struct join *j, const struct proto_snapshot *s)
{
	vtfilter_reset(&j->vf);
	vtscreen_reset(&j->vs);
	/* It shows the screen after everything we saw: nothing to ask. */
	j->resync = 0;
	j->ask_snapshot = 0;
	j->sess_cols = s->cols;
	j->sess_rows = s->rows;
	(void)buf_putf(j->out, "\033[0m");
	join_region(j, 0);
	(void)buf_putf(j->out, "\033[H\033[2J");
	join_filtered(j, s->data, s->len, 1);
	/* The screen's bytes place the cursor; a blank one does not. */
	if (s->len == 0)
		(void)buf_putf(j->out, "\033[%u;%uH", (u_int)s->cy + 1,
		    (u_int)s->cx + 1);
	j->status_dirty = 1;
}

static void
join_viewers(struct join *j, const struct proto_viewers *v)
{
	size_t	 off = 0;
	u_int	 i;
	int	 n;

	j->viewers[0] = '\0';
	for (i = 0; i < v->count; i++) {
		n = snprintf(j->viewers + off, sizeof(j->viewers) - off,
		    "%s%s%s", i == 0 ? "watching: " : ", ", v->v[i].name,
		    v->v[i].mode == PROTO_MODE_RO ? " (ro)" : "");
		if (n < 0 || (size_t)n >= sizeof(j->viewers) - off)
			break;
		off += (size_t)n;
	}
	j->status_dirty = 1;
}

/* A notice from the broker: the status row now, the last one on exit. */
static void
join_broker_notice(struct join *j, const char *text)
{
	if (strncmp(text, "tunl: session ended", 19) == 0 ||
	    strncmp(text, "tunl: disconnected", 18) == 0) {
		j->ended = 1;
		tunl_strlcpy(j->last, text, sizeof(j->last));
	}
	/* The session turned restricted while we watch: for good. */
	if (strcmp(text, PROTO_NOTICE_RESTRICTED) == 0)
		j->restricted = 1;
	join_notice(j, "%s", text);
}

/* A chat line for the history, cut to what a row can show. */
static void
join_history_add(struct join *j, const char *from, const char *text)
{
	(void)snprintf(j->history[j->history_next],
	    sizeof(j->history[j->history_next]), "%s: %.*s%s", from,
	    JOIN_CHAT_SHOWN, text, strlen(text) > JOIN_CHAT_SHOWN ? "..." : "");
	j->history_next = (j->history_next + 1) % JOIN_CHAT_LINES;
	if (j->history_count < JOIN_CHAT_LINES)
		j->history_count++;
}

/*
 * The recent chat over the screen's last rows (never the status row),
 * oldest first, cursor saved and restored; the next key takes it away.
 */
static void
join_history_show(struct join *j)
{
	u_int	 n, i, row, first;

	n = j->history_count;
	if (n + 2 > j->rows)
		n = j->rows > 2 ? j->rows - 2 : 0;
	first = (j->history_next + JOIN_CHAT_LINES - n) % JOIN_CHAT_LINES;
	row = j->rows - 1 - n;		/* the header's row */
	(void)buf_putf(j->out, "\0337\033[%u;1H\033[0;1;7m", row);
	join_put_text(j->out, n == 0 ? " no chat yet (any key: back)" :
	    " recent chat (any key: back)", j->cols);
	(void)buf_putf(j->out, "\033[K\033[0m");
	for (i = 0; i < n; i++) {
		(void)buf_putf(j->out, "\033[%u;1H\033[0m", row + 1 + i);
		join_put_text(j->out, j->history[(first + i) %
		    JOIN_CHAT_LINES], j->cols);
		(void)buf_putf(j->out, "\033[K");
	}
	(void)buf_putf(j->out, "\0338");
	j->history_shown = 1;
}

/*
 * One key for the open chat line: Enter sends it, Esc, Ctrl-C or Ctrl-]
 * closes it, Backspace takes back a character, Ctrl-U clears; other
 * controls are ignored, everything else (UTF-8 too) is typed.
 */
static void
join_chat_key(struct join *j, u_char c)
{
	struct proto_chat	 ch;
	int			 r;

	j->status_dirty = 1;
	switch (c) {
	case '\r':
	case '\n':
		j->chatting = 0;
		if (j->chat_len == 0)
			return;
		memset(&ch, 0, sizeof(ch));
		tunl_strlcpy(ch.from, j->sh->who, sizeof(ch.from));
		tunl_strlcpy(ch.text, j->chat, sizeof(ch.text));
		if ((r = proto_put_chat(j->to_broker, &ch)) != 0)
			join_notice(j, "chat not sent: %s", r == TUNL_ERR_FULL ?
			    "the broker is not reading" : "not valid text");
		else
			join_history_add(j, "you", j->chat);
		memset(j->chat, 0, sizeof(j->chat));
		j->chat_len = 0;
		return;
	case 0x1b:
	case 0x03:
	case JOIN_DETACH_KEY:
		j->chatting = 0;
		return;
	case 0x7f:
	case 0x08:
		while (j->chat_len > 0 &&
		    ((u_char)j->chat[--j->chat_len] & 0xc0) == 0x80)
			;
		j->chat[j->chat_len] = '\0';
		return;
	case 0x15:
		j->chat_len = 0;
		j->chat[0] = '\0';
		return;
	}
	if (c < 0x20 || j->chat_len + 1 >= sizeof(j->chat))
		return;
	j->chat[j->chat_len++] = (char)c;
	j->chat[j->chat_len] = '\0';
}

static void
join_frame(struct join *j, struct frame *f)
{
	struct proto_hello	 h;
	struct proto_snapshot	 s;
	struct proto_viewers	 v;
	struct proto_error	 e;
	struct proto_chat	 c;
	char			 text[PROTO_TEXT_MAX + 1];
	const u_char		*data;
	size_t			 len;
	u_int16_t		 cols, rows;
	int			 r = 0;

	switch (f->type) {
	case FRAME_HELLO:
		if ((r = proto_get_hello(f->payload, &h)) == 0 &&
		    h.role == PROTO_ROLE_BROKER) {
			j->restricted = h.mode == PROTO_SESSION_RESTRICTED;
			if (h.cols != 0) {
				j->sess_cols = h.cols;
				j->sess_rows = h.rows;
				join_region(j, 1);
			}
			j->status_dirty = 1;
		}
		break;
	case FRAME_SNAPSHOT:
		if ((r = proto_get_snapshot(f->payload, &s)) == 0)
			join_snapshot(j, &s);
		break;
	case FRAME_OUTPUT:
		if ((r = proto_get_output(f->payload, &data, &len)) == 0 &&
		    !j->resync)
			join_filtered(j, data, len, 0);
		break;
	case FRAME_RESIZE:
		if ((r = proto_get_resize(f->payload, &cols, &rows)) == 0) {
			j->sess_cols = cols;
			j->sess_rows = rows;
			join_region(j, 1);
		}
		break;
	case FRAME_NOTICE:
		if ((r = proto_get_text(f->payload, text)) == 0)
			join_broker_notice(j, text);
		break;
	case FRAME_VIEWERS:
		if ((r = proto_get_viewers(f->payload, &v)) == 0)
			join_viewers(j, &v);
		break;
	case FRAME_CHAT:
		if ((r = proto_get_chat(f->payload, &c)) == 0) {
			join_history_add(j, c.from, c.text);
			join_notice(j, "%s: %s (Ctrl-] h: recent chat)", c.from,
			    c.text);
		}
		break;
	case FRAME_ERROR:
		if ((r = proto_get_error(f->payload, &e)) == 0) {
			snprintf(j->last, sizeof(j->last), "tunl: %s",
			    e.message);
			j->ended = 1;
			join_notice(j, "%s", j->last);
		}
		break;
	default:
		debug("session %s: ignored a %s frame", j->id,
		    frame_type_name(f->type));
		break;
	}
	if (r != 0)
		error_r(r, "session %s: malformed %s frame from the broker",
		    j->id, frame_type_name(f->type));
}

static void
join_keys(struct join *j, const u_char *keys, size_t n)
{
	struct proto_keys	 k;
	u_char			 send[PROTO_KEYS_MAX];
	size_t			 i, len = 0;

	for (i = 0; i < n; i++) {
		if (j->chatting) {
			join_chat_key(j, keys[i]);
			continue;
		}
		if (j->history_shown) {
			/* Any key takes the history away; it is not sent. */
			j->history_shown = 0;
			join_resync(j);
			continue;
		}
		switch (shell_join_key(&j->esc, keys[i])) {
		case JOIN_KEY_HOLD:
			continue;
		case JOIN_KEY_DETACH:
			j->detached = 1;
			return;
		case JOIN_KEY_HELP:
			join_notice(j, "keys: %s detach, Ctrl-] c chat, Ctrl-] "
			    "h recent chat, Ctrl-] Ctrl-] sends Ctrl-]",
			    JOIN_DETACH_NAME);
			continue;
		case JOIN_KEY_CHAT:
			if (j->read_only) {
				join_notice(j, "read-only: chat is for "
				    "read-write engineers");
				continue;
			}
			j->chatting = 1;
			j->status_dirty = 1;
			continue;
		case JOIN_KEY_HISTORY:
			join_history_show(j);
			continue;
		case JOIN_KEY_SEND_BOTH:
			if (len < sizeof(send))
				send[len++] = JOIN_DETACH_KEY;
			/* FALLTHROUGH */
		case JOIN_KEY_SEND:
			if (len < sizeof(send))
				send[len++] = keys[i];
			break;
		}
	}
	if (len == 0)
		return;
	if (j->read_only || j->restricted) {
		if (!j->keys_noticed)
			join_notice(j, "read-only: your keys are not sent");
		j->keys_noticed = 1;
		return;
	}
	memset(&k, 0, sizeof(k));
	k.pane = FRAME_PANE_MAIN;
	tunl_strlcpy(k.engineer, j->sh->who, sizeof(k.engineer));
	k.data = send;
	k.len = len;
	if (proto_put_keys(j->to_broker, &k) != 0)
		join_notice(j, "typing too fast: keys dropped");
}

static void
join_resize(struct join *j)
{
	join_size(j);
	(void)proto_put_resize(j->to_broker, j->cols, j->rows - 1);
	join_region(j, 1);
	j->status_dirty = 1;
}

/* Check the session before anything touches the terminal. */
static void
join_check(struct shell *sh, const char *id)
{
	struct session	 s;
	int		 r;

	r = shell_reg_session(sh, id, &s);
	if (r == TUNL_ERR_NOT_FOUND)
		shell_refuse(SHELL_EXIT_REFUSED, "no session %s", id);
	if (r != 0)
		shell_refuse(SHELL_EXIT_REFUSED, "cannot read session %s", id);
	if (s.state != SESSION_PENDING && s.state != SESSION_ACTIVE)
		shell_refuse(SHELL_EXIT_REFUSED, "session %s is not live", id);
}

static void
join_free(struct join *j)
{
	frame_reader_free(&j->brk);
	buf_free(j->to_broker);
	buf_free(j->out);
	buf_free(j->mid);
	if (j->bfd != -1)
		close(j->bfd);
}

int
shell_join(struct shell *sh, const struct shell_cmd *cmd)
{
	struct join		 j;
	struct sigaction	 sa;
	struct pollfd		 pfd[3];
	struct frame		 f;
	u_char			 keys[PROTO_KEYS_MAX];
	char			 why[256];
	int64_t			 now;
	int64_t			 out_stuck = 0, stuck_ms = 0, stuck_max = 0;
	size_t			 put;
	ssize_t			 n;
	int			 r, rc = SHELL_EXIT_OK, brk_open = 1, tmo;
	int			 brk_hup = 0;	/* hung up, unread */

	memset(&j, 0, sizeof(j));
	j.sh = sh;
	j.id = cmd->id;
	j.bfd = -1;
	j.read_only = cmd->read_only;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		shell_refuse(SHELL_EXIT_REFUSED, "join needs a terminal: use "
		    "ssh -t");
	join_check(sh, cmd->id);
	join_size(&j);
	/*
	 * tunl-authority admit connects, checks that the broker account
	 * serves the socket, and sends the hello under the name pam_tunl
	 * recorded for this login (the broker takes no other).
	 */
	r = shell_run_admit(sh, cmd->id, cmd->read_only ? "ro" : "rw",
	    j.cols, j.rows - 1, &j.bfd, why, sizeof(why));
	if (r == SHELL_ADMIT_UNSAFE)
		shell_refuse(SHELL_EXIT_REFUSED, "session %s: its socket is not "
		    "served by the relay's broker account; refused before "
		    "sending anything", cmd->id);
	if (r == SHELL_ADMIT_NO_BROKER)
		shell_refuse(SHELL_EXIT_REFUSED, "session %s is not live",
		    cmd->id);
	if (r != 0)
		shell_refuse(SHELL_EXIT_REFUSED, "cannot join session %s%s%s",
		    cmd->id, why[0] != '\0' ? ": " : "", why);
	shell_live_nonblock(j.bfd);
	if (frame_reader_init(&j.brk) != 0 ||
	    (j.to_broker = buf_new(LIVE_QUEUE_MAX)) == NULL ||
	    (j.out = buf_new(JOIN_OUT_MAX)) == NULL ||
	    (j.mid = buf_new(VTFILTER_OUT_MAX(FRAME_PAYLOAD_MAX))) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	vtfilter_init(&j.vf, VTFILTER_OUTPUT);
	vtscreen_init(&j.vs, j.rows - 1);
	info("engineer %s from %s: join %s (%s, %ux%u)", sh->who, sh->rhost,
	    cmd->id, cmd->read_only ? "read-only" : "read-write", j.cols,
	    j.rows);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = join_on_signal;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = join_on_winch;
	(void)sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if (atexit(join_restore_atexit) != 0 ||
	    shell_live_term_raw(STDIN_FILENO) != 0)
		shell_refuse(SHELL_EXIT_REFUSED, "cannot set up the terminal");
	shell_live_nonblock(STDOUT_FILENO);
	shell_live_nonblock(STDIN_FILENO);
	(void)vtscreen_enter(j.out);
	join_region(&j, 0);
	join_notice(&j, "joined %s; waiting for the customer's screen",
	    cmd->id);
	join_status(&j);

	while (!j.detached && join_signal == 0) {
		if (join_winch) {
			join_winch = 0;
			join_resize(&j);
		}
		if (j.ask_snapshot && proto_put_u32(j.to_broker,
		    FRAME_SNAPSHOT_REQ, 0) == 0)
			j.ask_snapshot = 0;
		while (!brk_open || buf_avail(j.out) >= JOIN_FRAME_ROOM) {
			/*
			 * Once the broker is gone its last frames still
			 * count (a drop or end notice); screen bytes that
			 * no longer fit are let go.
			 */
			if (!brk_open && buf_avail(j.out) < JOIN_FRAME_ROOM)
				buf_reset(j.out);
			r = frame_reader_next(&j.brk, &f);
			if (r == TUNL_ERR_SHORT)
				break;
			if (r != 0) {
				error_r(r, "session %s: frames from the "
				    "broker", cmd->id);
				continue;
			}
			join_frame(&j, &f);
			if (j.status_at + JOIN_STATUS_MS <=
			    tunl_now_ms())
				j.status_dirty = 1;
		}
		if (!brk_open)
			break;
		now = tunl_now_ms();
		if (j.notice_until != 0 && now >= j.notice_until) {
			j.notice_until = 0;
			j.status_dirty = 1;
		}
		if (j.status_dirty)
			join_status(&j);

		/* The terminal takes no more (stopped with ^S, say). */
		if (buf_avail(j.out) < JOIN_FRAME_ROOM && out_stuck == 0)
			out_stuck = now;
		tmo = j.notice_until != 0 ?
		    (int)(j.notice_until - now) + 1 : -1;
		/*
		 * The broker hung up with frames we had no room to read, and
		 * the terminal takes nothing (stopped, ^S): what is still in
		 * the socket cannot come in until it does. After
		 * LIVE_FLUSH_MS of that, end: the frames in hand are read
		 * (a notice among them counts) and the reason is said below,
		 * instead of waiting on, polling a socket that only says
		 * "hung up".
		 */
		if (brk_hup && out_stuck != 0) {
			if (now - out_stuck >= LIVE_FLUSH_MS) {
				brk_open = 0;
				continue;
			}
			if (tmo == -1 ||
			    out_stuck + LIVE_FLUSH_MS - now + 1 < tmo)
				tmo = (int)(out_stuck + LIVE_FLUSH_MS - now) + 1;
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = buf_avail(j.to_broker) >=
		    FRAME_HEADER_LEN + PROTO_KEYS_MAX + 64 ? POLLIN : 0;
		pfd[1].fd = buf_len(j.out) > 0 ? STDOUT_FILENO : -1;
		pfd[1].events = POLLOUT;
		pfd[2].fd = brk_hup && buf_avail(j.brk.in) == 0 &&
		    buf_len(j.to_broker) == 0 ? -1 : j.bfd;
		pfd[2].events = (buf_avail(j.brk.in) > 0 ? POLLIN : 0) |
		    (buf_len(j.to_broker) > 0 ? POLLOUT : 0);
		if (poll(pfd, 3, tmo) == -1) {
			if (errno == EINTR)
				continue;
			error("poll: %s", strerror(errno));
			rc = SHELL_EXIT_REFUSED;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			n = read(STDIN_FILENO, keys, sizeof(keys));
			if (n > 0)
				join_keys(&j, keys, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		} else if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		if (pfd[1].revents & POLLOUT) {
			put = 0;
			if (buf_write_fd(j.out, STDOUT_FILENO, &put) != 0 &&
			    errno != EAGAIN)
				break;
			/* The terminal takes output again: for how long not? */
			if (put > 0 && out_stuck != 0) {
				stuck_ms = tunl_now_ms() - out_stuck;
				if (stuck_ms > stuck_max)
					stuck_max = stuck_ms;
				out_stuck = 0;
			}
		}
		if (pfd[2].revents & POLLOUT &&
		    buf_write_fd(j.to_broker, j.bfd, NULL) != 0 &&
		    errno != EAGAIN)
			brk_open = 0;
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			u_char	 chunk[64 * 1024];
			size_t	 room = buf_avail(j.brk.in);

			if (room > sizeof(chunk))
				room = sizeof(chunk);
			n = room == 0 ? 0 : read(j.bfd, chunk, room);
			if (room == 0 &&
			    (pfd[2].revents & (POLLHUP | POLLERR)))
				brk_hup = 1;
			if (n > 0)
				(void)frame_reader_feed(&j.brk, chunk,
				    (size_t)n);
			else if (room != 0 && (n == 0 ||
			    (errno != EAGAIN && errno != EINTR)))
				brk_open = 0;
		}
	}

	/* Why we stopped, in words for after the terminal is back. */
	if (j.detached)
		snprintf(j.last, sizeof(j.last), "tunl: detached from %s",
		    cmd->id);
	else if (join_signal != 0)
		snprintf(j.last, sizeof(j.last), "tunl: left %s (signal %d)",
		    cmd->id, (int)join_signal);
	else if (!brk_open && !j.ended) {
		/*
		 * The broker drops a viewer that reads nothing for 10 s; its
		 * notice then cannot reach us (the link is full of what the
		 * terminal did not take), so say it from here.
		 */
		if (out_stuck != 0 && tunl_now_ms() - out_stuck > stuck_max)
			stuck_max = tunl_now_ms() - out_stuck;
		if (stuck_max >= JOIN_STUCK_SAY_MS &&
		    shell_live_alive(sh, cmd->id))
			snprintf(j.last, sizeof(j.last), "tunl: disconnected "
			    "from %s: your terminal took no output for %lld s "
			    "(stopped with Ctrl-S?), and the relay drops a view "
			    "that stops reading", cmd->id,
			    (long long)(stuck_max / 1000));
		else if (shell_live_alive(sh, cmd->id))
			snprintf(j.last, sizeof(j.last), "tunl: the relay "
			    "closed the connection to %s", cmd->id);
		else {
			shell_live_broker_died(sh, cmd->id, "relay");
			snprintf(j.last, sizeof(j.last), "tunl: session %s "
			    "ended: the relay's broker stopped", cmd->id);
		}
		rc = SHELL_EXIT_REFUSED;
	} else if (j.last[0] == '\0')
		snprintf(j.last, sizeof(j.last), "tunl: left %s", cmd->id);
	if (j.ended && strncmp(j.last, "tunl: disconnected", 18) == 0)
		rc = SHELL_EXIT_REFUSED;
	info("engineer %s: join %s over: %s", sh->who, cmd->id, j.last);

	/*
	 * Put the terminal back: its modes, then the engineer's own screen.
	 * What the filter still holds is an unfinished sequence: dropped.
	 */
	if (buf_avail(j.out) < JOIN_LEAVE_MAX)
		buf_reset(j.out);
	if (vtscreen_leave(&j.vs, j.cols, j.out) != 0)
		error("session %s: the terminal's modes were not put back",
		    cmd->id);
	shell_live_flush(STDOUT_FILENO, j.out, LIVE_FLUSH_MS);
	/*
	 * A terminal that still takes nothing (stopped, ^S) loses the rest of
	 * the screen's restore, but not the reason: that line is written
	 * below, blocking, and reaches the engineer once the terminal reads.
	 */
	if (buf_len(j.out) > 0)
		info("engineer %s: join %s: the terminal takes no output; "
		    "the last words wait for it", sh->who, cmd->id);
	shell_live_term_restore();
	{
		int	 fl = fcntl(STDOUT_FILENO, F_GETFL);

		if (fl != -1)
			(void)fcntl(STDOUT_FILENO, F_SETFL, fl & ~O_NONBLOCK);
	}
	fprintf(stderr, "\r\n%s\r\n", j.last);
	join_free(&j);
	return rc;
}
