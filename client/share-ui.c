/*
 * share-ui.c: what the customer sees besides their shell: the status row
 * ([tunl] <id> | relay state | viewers | mode), the pane headers, and the
 * chat pane.
 *
 * The chat pane runs "tunl-share --chat-pane <dir>", which talks to the
 * main process over <dir>/chat.sock in lines:
 *
 *	main -> pane	"I <id>"	the session id, drawn large on top
 *			"L <text>"	a line to show (already printable)
 *			"T"		ask for a new token, echo off
 *	pane -> main	"C <text>"	a chat line the customer typed
 *			"T <token>"	the answer to "T"
 *
 * Everything shown comes from decoded, checked frames and is made
 * printable ASCII first; the chat pane prints nothing it did not get that
 * way.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "share.h"

#define UI_PENDING_MAX		(16 * 1024)	/* lines before the pane is up */

/* Send one line to the chat pane, or keep it until the pane connects. */
static void
ui_pane_send(struct share *s, const char *line)
{
	size_t	 len = strlen(line);

	if (len + 1 > SHARE_LINE_MAX)
		len = SHARE_LINE_MAX - 1;
	if (s->chat_fd != -1) {
		if (share_write_all(s->chat_fd, line, len) == 0 &&
		    share_write_all(s->chat_fd, "\n", 1) == 0)
			return;
		(void)close(s->chat_fd);
		s->chat_fd = -1;
	}
	(void)buf_put(s->chat_in, line, len);	/* dropped when full */
	(void)buf_put(s->chat_in, "\n", 1);
}

int
share_ui_init(struct share *s)
{
	int	 r;

	if ((s->chat_in = buf_new(UI_PENDING_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = share_sock_listen(s->chatsock, &s->chat_listen)) != 0)
		return r;
	(void)snprintf(s->viewers, sizeof(s->viewers), "no viewers");
	(void)snprintf(s->relay_state, sizeof(s->relay_state),
	    s->relay_fd != -1 ? "test link" : "connecting");
	return 0;
}

/* Put the status row's values (our own text, or made printable). */
void
share_ui_status(struct share *s)
{
	char	 v[sizeof(s->viewers) * 2];

	if (s->pane_main[0] == '\0')
		return;
	(void)share_tmux_set(s, SHARE_SESSION, "@tunl_id", s->session);
	(void)share_printable(v, sizeof(v), s->relay_state, 1);
	(void)share_tmux_set(s, SHARE_SESSION, "@tunl_relay", v);
	(void)share_printable(v, sizeof(v), s->viewers, 1);
	(void)share_tmux_set(s, SHARE_SESSION, "@tunl_viewers", v);
	(void)share_tmux_set(s, SHARE_SESSION, "@tunl_mode", s->restricted ?
	    "RESTRICTED: watch and chat only" : "share: engineers may type");
}

/* Pane headers: the chat pane's carries the id and the relay's status. */
void
share_ui_header(struct share *s)
{
	char	 st[PROTO_TEXT_MAX * 2 + 1], h[PROTO_TEXT_MAX * 2 + 128];
	size_t	 i;
	char	 id[ID_LEN_MAX];

	if (s->pane_main[0] == '\0')
		return;
	for (i = 0; s->session[i] != '\0' && i + 1 < sizeof(id); i++)
		id[i] = (s->session[i] >= 'a' && s->session[i] <= 'z') ?
		    (char)(s->session[i] - 'a' + 'A') : s->session[i];
	id[i] = '\0';
	(void)share_printable(st, sizeof(st), s->status_text, 1);
	(void)snprintf(h, sizeof(h), "chat | session %s%s%s", id,
	    st[0] != '\0' ? " | relay: " : "", st);
	(void)share_tmux_set(s, s->pane_chat, "@tunl_header", h);
	(void)share_tmux_set(s, s->pane_main, "@tunl_header",
	    s->restricted ? "your shell: engineers watch (restricted)" :
	    "your shell: shared with the engineers");
}

/* Show "who: text" in the chat pane (who is ours or a checked name). */
void
share_ui_chat(struct share *s, const char *who, const char *text)
{
	char	 t[PROTO_CHAT_MAX + 1], line[SHARE_LINE_MAX];

	(void)share_printable(t, sizeof(t), text, 0);
	(void)snprintf(line, sizeof(line), "L %s: %s", who, t);
	ui_pane_send(s, line);
}

int
share_ui_accept(struct share *s)
{
	char	 line[ID_LEN_MAX + 4];
	int	 fd, r;

	if ((r = share_sock_accept(s->chat_listen, &fd)) != 0)
		return r;
	if (s->chat_fd != -1)
		(void)close(s->chat_fd);
	s->chat_fd = fd;
	(void)snprintf(line, sizeof(line), "I %s\n", s->session);
	(void)share_write_all(fd, line, strlen(line));
	if (buf_len(s->chat_in) > 0) {
		(void)share_write_all(fd, buf_ptr(s->chat_in),
		    buf_len(s->chat_in));
		buf_reset(s->chat_in);
	}
	if (s->want_token)
		(void)share_write_all(fd, "T\n", 2);
	return 0;
}

/*
 * Read one line from the chat pane. Returns 1 with a chat line in text, 2
 * with a token in text, 0 for nothing to act on, TUNL_ERR_EOF when the
 * pane went away.
 */
int
share_ui_read(struct share *s, char *text, size_t len)
{
	char	 line[SHARE_LINE_MAX];
	int	 r;

	text[0] = '\0';
	if ((r = share_sock_line(s->chat_fd, line, sizeof(line), 100)) != 0) {
		if (r == TUNL_ERR_SHORT)
			return 0;
		(void)close(s->chat_fd);
		s->chat_fd = -1;
		return TUNL_ERR_EOF;
	}
	if (line[0] == 'C' && line[1] == ' ' && line[2] != '\0') {
		if (strlen(line + 2) > PROTO_CHAT_MAX ||
		    proto_text_check(line + 2, strlen(line + 2)) != 0)
			return 0;
		(void)tunl_strlcpy(text, line + 2, len);
		r = 1;
	} else if (line[0] == 'T' && line[1] == ' ' && s->want_token) {
		(void)tunl_strlcpy(text, line + 2, len);
		r = 2;
	} else
		r = 0;
	tunl_memzero(line, sizeof(line));
	return r;
}

/* Ask the chat pane for a new token (the certificate expired). */
int
share_ui_ask_token(struct share *s)
{
	s->want_token = 1;
	if (s->chat_fd == -1)
		return TUNL_ERR_STATE;
	return share_write_all(s->chat_fd, "T\n", 2);
}

/*
 * Read a secret line from fd; when tty is set, fd is a terminal: echo is
 * off while it is read and prompt is shown. The newline is not kept.
 */
int
share_read_secret(int fd, int tty, char *out, size_t len)
{
	struct termios	 old, raw;
	size_t		 n = 0;
	ssize_t		 got;
	char		 c;
	int		 r = 0, restore = 0;

	if (tty) {
		if (tcgetattr(fd, &old) == -1)
			return TUNL_ERR_SYSTEM;
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		raw.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &raw) == -1)
			return TUNL_ERR_SYSTEM;
		restore = 1;
	}
	for (;;) {
		got = read(fd, &c, 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0 || c == '\n')
			break;
		if (c == '\r')
			continue;
		if (n + 1 >= len || (u_char)c < 0x20 || (u_char)c >= 0x7f) {
			r = TUNL_ERR_INVALID;
			break;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		(void)share_write_all(fd, "\n", 1);
	}
	if (r == 0 && n == 0)
		r = TUNL_ERR_SHORT;
	if (r != 0)
		tunl_memzero(out, len);
	return r;
}

/* ---- the chat pane -------------------------------------------------------- */

static void
pane_banner(const char *id)
{
	size_t	 i;

	/* Our own text and an id that passed id_check: nothing else. */
	printf("\033[2J\033[H  Session id, read it aloud:  \033[1m");
	for (i = 0; id[i] != '\0'; i++)
		printf("%c ", id[i] == '-' ? ' ' : id[i] - 'a' + 'A');
	printf("\033[0m\n  Type a line and Enter to chat with the engineers.\n");
	fflush(stdout);
}

/* A line typed in the pane, made printable, without its newline. */
static size_t
pane_clean(char *line, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (line[i] == '\n')
			break;
		if ((u_char)line[i] >= 0x20 && (u_char)line[i] != 0x7f)
			line[o++] = line[i];
	}
	line[o] = '\0';
	return o;
}

/*
 * The terminal echoed the line the customer typed; tunl-share shows it
 * again as "you: ..." once it has gone (or could not). Erase the echo, so
 * each line is on the screen once: the rows it took (a character a column,
 * as near as a chat line needs) up to where the echo began.
 */
static void
pane_unecho(const char *in, size_t len)
{
	struct winsize	 ws;
	size_t		 i, chars = 0, rows;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0)
		return;
	for (i = 0; i < len; i++) {
		if (((u_char)in[i] & 0xc0) != 0x80 && in[i] != '\n')
			chars++;
	}
	rows = chars == 0 ? 1 : (chars + ws.ws_col - 1) / ws.ws_col;
	for (i = 0; i < rows; i++)
		printf("\033[A\r\033[K");
	fflush(stdout);
}

int
share_chat_pane_main(const char *dir)
{
	char		 path[PATH_MAX], in[PROTO_CHAT_MAX + 2];
	char		 line[SHARE_LINE_MAX], msg[SHARE_LINE_MAX + 4];
	struct pollfd	 pfd[2];
	struct termios	 old, quiet;
	ssize_t		 n;
	int		 fd = -1, tries, r, token_mode = 0, have_tty;

	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGQUIT, SIG_IGN);
	(void)signal(SIGTSTP, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	if ((size_t)snprintf(path, sizeof(path), "%s/chat.sock", dir) >=
	    sizeof(path))
		return 1;
	for (tries = 0; tries < 50; tries++) {
		if (share_sock_connect(path, &fd) == 0)
			break;
		usleep(100000);
	}
	if (fd == -1)
		return 1;
	have_tty = tcgetattr(STDIN_FILENO, &old) == 0;
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			if ((r = share_sock_line(fd, line, sizeof(line), 1000))
			    != 0) {
				if (r == TUNL_ERR_SHORT)
					continue;
				break;
			}
			if (line[0] == 'I' && line[1] == ' ' &&
			    id_check(line + 2) == 0)
				pane_banner(line + 2);
			else if (line[0] == 'L' && line[1] == ' ') {
				(void)pane_clean(line + 2, strlen(line + 2));
				printf("%s\n", line + 2);
				fflush(stdout);
			} else if (line[0] == 'T' && line[1] == '\0' &&
			    have_tty) {
				quiet = old;
				quiet.c_lflag &= ~(tcflag_t)ECHO;
				(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
				token_mode = 1;
				printf("\nThe session certificate expired. New "
				    "session token (not shown): ");
				fflush(stdout);
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			n = read(STDIN_FILENO, in, sizeof(in) - 1);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			if (n == 0)
				continue;	/* ^D: the pane stays */
			in[n] = '\0';
			if (!token_mode && have_tty && in[n - 1] == '\n')
				pane_unecho(in, (size_t)n);
			if (pane_clean(in, (size_t)n) == 0)
				continue;
			(void)snprintf(msg, sizeof(msg), "%c %s\n",
			    token_mode ? 'T' : 'C', in);
			tunl_memzero(in, sizeof(in));
			(void)share_write_all(fd, msg, strlen(msg));
			tunl_memzero(msg, sizeof(msg));
			if (token_mode) {
				(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
				token_mode = 0;
				printf("\n");
				fflush(stdout);
			}
		}
	}
	if (token_mode)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	(void)close(fd);
	return 0;
}
