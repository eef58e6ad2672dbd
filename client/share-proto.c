/*
 * share-proto.c: the frame loop.
 *
 * One poll loop carries everything: the control-mode client's lines (the
 * main pane's output goes out as OUTPUT frames and into the local
 * recording), the relay's frames (each judged by share_allow, logged, and
 * acted on only through share-tmux.c and share-ui.c), the chat pane, and
 * the reconnect timer: when the relay link drops, produce is run again
 * after 1, 2, 4 ... 30 seconds with the certificate while it is valid;
 * once it has expired the chat pane asks for a new token and sign runs
 * again.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "share.h"

#define PROTO_OUT_MAX		(4 * 1024 * 1024)	/* frames queued */
#define PROTO_READ_CHUNK	(64 * 1024)
#define PROTO_CERT_MARGIN	30	/* seconds before expiry: re-sign */

volatile sig_atomic_t	share_quit;

static double
proto_elapsed(struct share *s)
{
	struct timespec	 now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - s->start.tv_sec) +
	    (double)(now.tv_nsec - s->start.tv_nsec) / 1e9;
}

static void	 proto_snapshot_ask(struct share *, u_int32_t);

static void
proto_state(struct share *s, const char *fmt, ...) TUNL_PRINTF(2, 3);

static void
proto_state(struct share *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->relay_state, sizeof(s->relay_state), fmt, ap);
	va_end(ap);
	share_ui_status(s);
}

/* Queue frames for the relay (dropped, and counted, when not connected). */
int
share_proto_send(struct share *s, const struct buf *frames)
{
	if (!s->connected)
		return TUNL_ERR_STATE;
	return buf_putb(s->out, frames);
}

static int
proto_hello(struct share *s)
{
	struct proto_hello	 h;

	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	h.role = PROTO_ROLE_PRODUCER;
	(void)tunl_strlcpy(h.session, s->session, sizeof(h.session));
	return proto_put_hello(s->out, &h);
}

static void
proto_disconnect(struct share *s, const char *why)
{
	share_ssh_stop(s, 0);
	frame_reader_free(&s->fr);
	buf_reset(s->out);
	if (s->relay_fd != -1) {
		s->ending = 1;
		return;
	}
	s->retry_at = time(NULL) + s->backoff;
	proto_state(s, "reconnecting in %us (%s)", s->backoff, why);
	(void)share_audit_note(s->audit_fd, "relay link lost; reconnecting");
	s->backoff = s->backoff >= SHARE_BACKOFF_MAX / 2 ? SHARE_BACKOFF_MAX :
	    s->backoff * 2;
}

static void
proto_connect(struct share *s)
{
	time_t	 now = time(NULL);
	int	 r;

	if (s->cert_expiry <= (u_int64_t)now + PROTO_CERT_MARGIN) {
		if (!s->want_token) {
			proto_state(s, "certificate expired: enter a new "
			    "token in the chat pane");
			(void)share_ui_ask_token(s);
		}
		return;
	}
	if ((r = share_ssh_produce(s)) != 0 ||
	    (r = frame_reader_init(&s->fr)) != 0) {
		share_ssh_stop(s, 0);
		s->retry_at = now + s->backoff;
		return;
	}
	s->connected = 1;
	share_alive_start(s);
	(void)proto_hello(s);
	proto_state(s, "connecting");
}

/* The viewers frame: name the joins and leaves in the chat pane. */
static void
proto_viewers(struct share *s, const struct proto_viewers *now,
    struct proto_viewers *was)
{
	char	 line[PROTO_NAME_LEN + 64];
	u_int	 i, j, rw = 0;

	for (i = 0; i < now->count; i++) {
		if (now->v[i].mode == PROTO_MODE_RW)
			rw++;
		for (j = 0; j < was->count; j++)
			if (strcmp(now->v[i].name, was->v[j].name) == 0 &&
			    now->v[i].mode == was->v[j].mode)
				break;
		if (j == was->count) {
			(void)snprintf(line, sizeof(line), "%s joined (%s)",
			    now->v[i].name, now->v[i].mode == PROTO_MODE_RW ?
			    "read-write" : "read-only");
			share_ui_chat(s, "*", line);
		}
	}
	for (j = 0; j < was->count; j++) {
		for (i = 0; i < now->count; i++)
			if (strcmp(now->v[i].name, was->v[j].name) == 0 &&
			    now->v[i].mode == was->v[j].mode)
				break;
		if (i == now->count) {
			(void)snprintf(line, sizeof(line), "%s left",
			    was->v[j].name);
			share_ui_chat(s, "*", line);
		}
	}
	(void)snprintf(s->viewers, sizeof(s->viewers), "%u viewer%s (%u rw)",
	    now->count, now->count == 1 ? "" : "s", rw);
	*was = *now;
	share_ui_status(s);
}

/* Act on one frame from the relay: the allowlist decides, we obey. */
static void
proto_frame(struct share *s, struct frame *f, struct proto_viewers *was)
{
	static struct allow_req	 q;	/* large; one at a time */
	struct buf		*tmp = NULL;
	char			 line[PROTO_TEXT_MAX + 32];
	int			 r;

	(void)share_allow(s->restricted, f->type, f->payload, &q);
	(void)share_audit_write(s->audit_fd, &q);
	switch (q.action) {
	case ALLOW_DROP:
		return;
	case ALLOW_HELLO:
		if (q.hello.mode == PROTO_SESSION_RESTRICTED && !s->restricted) {
			s->restricted = 1;	/* one way only */
			share_ui_header(s);
		}
		s->backoff = 1;
		proto_state(s, "connected");
		(void)share_audit_note(s->audit_fd, "connected to the relay");
		share_timing_done(s);
		share_ready_set(s);
		if (!s->restricted && q.hello.cols != 0)
			(void)share_tmux_resize(s, q.hello.cols, q.hello.rows);
		else
			(void)share_tmux_size_free(s);
		if ((tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) != NULL &&
		    share_tmux_snapshot(s, 0, tmp) == 0)
			(void)share_proto_send(s, tmp);
		break;
	case ALLOW_ERROR:
		share_ui_chat(s, "relay", q.err.message);
		if (q.err.code == PROTO_ERR_ENDED) {
			s->ending = s->relay_ended = 1;
			(void)tunl_strlcpy(s->end_words, q.err.message,
			    sizeof(s->end_words));
		}
		break;
	case ALLOW_PING:
		if ((tmp = buf_new(16)) != NULL &&
		    proto_put_u32(tmp, FRAME_PONG, q.u32) == 0)
			(void)share_proto_send(s, tmp);
		break;
	case ALLOW_SNAPSHOT:
		proto_snapshot_ask(s, q.u32);
		break;
	case ALLOW_KEYS:
		r = share_tmux_keys(s, q.keys.pane == FRAME_PANE_MAIN ?
		    s->pane_main : s->pane_chat, q.keybytes, q.nkeys);
		if (r == TUNL_ERR_FULL && s->keys_dropped == q.nkeys)
			(void)share_audit_note(s->audit_fd, "keys dropped: "
			    "tmux is not taking them");
		else if (r == TUNL_ERR_SYSTEM)
			s->ending = 1;	/* the control client is gone */
		break;
	case ALLOW_RESIZE:
		(void)share_tmux_resize(s, q.cols, q.rows);
		break;
	case ALLOW_RESIZE_FREE:
		(void)share_tmux_size_free(s);
		break;
	case ALLOW_STATUS:
		(void)tunl_strlcpy(s->status_text, q.text,
		    sizeof(s->status_text));
		share_ui_header(s);
		break;
	case ALLOW_NOTICE:
		share_ui_chat(s, "relay", q.text);
		break;
	case ALLOW_VIEWERS:
		proto_viewers(s, &q.viewers, was);
		break;
	case ALLOW_CHAT:
		(void)snprintf(line, sizeof(line), "%s", q.chat.from);
		share_ui_chat(s, line, q.chat.text);
		break;
	}
	buf_free(tmp);
}

/* The main pane's size changed: tell the relay, record it. */
static void
proto_layout(struct share *s)
{
	struct buf	*tmp;
	u_int		 cx, cy, w, h;

	/* Its own resize-pane brings another layout change. */
	if (share_tmux_chat_rows(s) == 1)
		return;
	if (share_tmux_size(s, &cx, &cy, &w, &h) != 0 ||
	    (w == s->cols && h == s->rows))
		return;
	s->cols = w;
	s->rows = h;
	if (s->cw != NULL)
		(void)cast_writer_resize(s->cw, proto_elapsed(s), w, h);
	if (w < 1 || w > PROTO_COLS_MAX || h < 1 || h > PROTO_ROWS_MAX)
		return;
	if ((tmp = buf_new(16)) != NULL && proto_put_resize(tmp, w, h) == 0)
		(void)share_proto_send(s, tmp);
	buf_free(tmp);
}

/*
 * The customer's own recording: the screen's bytes through the same
 * escape filter the relay's broker puts before its recording and the
 * engineers' terminals, so that playing it is as safe as watching live.
 */
static void
proto_cast(struct share *s, const u_char *p, size_t len)
{
	size_t	 n;

	while (s->cw != NULL && len > 0) {
		n = len < SHARE_CAST_CHUNK ? len : SHARE_CAST_CHUNK;
		buf_reset(s->cast_buf);
		if (vtfilter_feed(&s->cast_vf, p, n, s->cast_buf) != 0)
			return;
		if (buf_len(s->cast_buf) > 0)
			(void)cast_writer_output(s->cw, proto_elapsed(s),
			    buf_ptr(s->cast_buf), buf_len(s->cast_buf));
		p += n;
		len -= n;
	}
}

/* The session ends: what the filter still holds is let go or dropped. */
void
share_proto_cast_flush(struct share *s)
{
	if (s->cw == NULL)
		return;
	buf_reset(s->cast_buf);
	if (vtfilter_flush(&s->cast_vf, s->cast_buf) == 0 &&
	    buf_len(s->cast_buf) > 0)
		(void)cast_writer_output(s->cw, proto_elapsed(s),
		    buf_ptr(s->cast_buf), buf_len(s->cast_buf));
}

static void
proto_output(struct share *s, const u_char *p, size_t len)
{
	size_t	 n;

	if (len == 0)
		return;
	proto_cast(s, p, len);
	if (!s->connected)
		return;
	while (len > 0) {
		n = len > FRAME_PAYLOAD_MAX ? FRAME_PAYLOAD_MAX : len;
		if (proto_put_output(s->out, p, n) != 0) {
			s->dropped_output += len;	/* relay too slow */
			return;
		}
		p += n;
		len -= n;
	}
}

/* A snapshot taken at once, out of step with the output (a fallback). */
static void
proto_snapshot_now(struct share *s, u_int32_t id)
{
	struct buf	*tmp;

	if ((tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) != NULL &&
	    share_tmux_snapshot(s, id, tmp) == 0)
		(void)share_proto_send(s, tmp);
	buf_free(tmp);
}

/*
 * The relay asks for the screen. It is captured through the control
 * client, in step with the output it sends (share_tmux_snapshot_ask),
 * and sent when the answer comes (proto_snapshot_done). One capture is on
 * its way at a time: a request meanwhile is answered by the next one. An
 * answer lost for SHARE_SNAP_WAIT_S is given up.
 */
static void
proto_snapshot_ask(struct share *s, u_int32_t id)
{
	if (s->snap_asked &&
	    time(NULL) - s->snap_asked_at < SHARE_SNAP_WAIT_S) {
		s->snap_again = 1;
		s->snap_again_id = id;
		return;
	}
	s->snap_asked = 0;
	if (share_tmux_snapshot_ask(s) != 0) {
		proto_snapshot_now(s, id);
		return;
	}
	s->snap_asked = 1;
	s->snap_asked_id = id;
	s->snap_asked_at = time(NULL);
}

static void
proto_snapshot_done(struct share *s, const struct ctlmode_msg *m)
{
	struct buf	*tmp;
	u_int32_t	 id = s->snap_asked_id;

	if (!s->snap_asked)
		return;
	s->snap_asked = 0;
	if (m->kind == CTLMODE_ERROR)
		proto_snapshot_now(s, id);
	else if ((tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) != NULL) {
		if (share_tmux_snapshot_done(s, id, m->data, m->len,
		    tmp) == 0)
			(void)share_proto_send(s, tmp);
		buf_free(tmp);
	}
	if (s->snap_again) {
		s->snap_again = 0;
		proto_snapshot_ask(s, s->snap_again_id);
	}
}

static void
proto_ctl(struct share *s)
{
	u_char			 chunk[PROTO_READ_CHUNK];
	struct ctlmode_msg	 m;
	ssize_t			 n;
	size_t			 off = 0, used;

	n = read(s->ctl_out, chunk, sizeof(chunk));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		s->ending = 1;	/* the tmux session is gone */
		return;
	}
	while (off < (size_t)n) {
		if (ctlmode_feed(&s->ctl, chunk + off, (size_t)n - off, &used,
		    &m) < 0) {
			s->ending = 1;
			return;
		}
		off += used;
		if (used == 0)
			break;
		switch (m.kind) {
		case CTLMODE_OUTPUT:
			if (m.pane == s->pane_main_id)
				proto_output(s, m.data, m.len);
			break;
		case CTLMODE_LAYOUT:
			proto_layout(s);
			break;
		case CTLMODE_SNAPSTATE:
			/* Inside the block of the capture's own line only. */
			if (s->snap_asked && s->ctl_done + 1 == s->snap_seq)
				proto_snapshot_done(s, &m);
			break;
		case CTLMODE_END:
		case CTLMODE_ERROR:
			/* The answer to the oldest line we wrote. */
			if (!m.ours)
				break;
			if (++s->ctl_done == s->snap_seq - 1 &&
			    m.kind == CTLMODE_ERROR) {
				/* The capture failed: no state block. */
				s->ctl_done++;
				if (s->snap_asked)
					proto_snapshot_done(s, &m);
			} else if (s->ctl_done == s->snap_seq ||
			    s->ctl_done == s->snap_seq - 1) {
				if (m.kind == CTLMODE_ERROR && s->snap_asked)
					proto_snapshot_done(s, &m);
			} else if (m.kind == CTLMODE_ERROR &&
			    s->ctl_failed++ == 0)
				(void)share_audit_note(s->audit_fd,
				    "tmux refused a command: keys or a size "
				    "(the pane is gone?)");
			break;
		case CTLMODE_EXIT:
			s->ending = 1;
			break;
		default:
			break;
		}
	}
}

static void
proto_relay_read(struct share *s, struct proto_viewers *was)
{
	static u_char	 chunk[FRAME_HEADER_LEN + FRAME_MAX];
	struct frame	 f;
	ssize_t		 n;
	int		 r;

	n = read(s->rin, chunk, PROTO_READ_CHUNK);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		proto_disconnect(s, n == 0 ? "closed" : "read error");
		return;
	}
	share_alive_heard(s);
	if (frame_reader_feed(&s->fr, chunk, (size_t)n) != 0) {
		proto_disconnect(s, "framing");
		return;
	}
	for (;;) {
		r = frame_reader_next(&s->fr, &f);
		if (r == TUNL_ERR_SHORT)
			break;
		if (r == TUNL_ERR_LENGTH) {
			(void)share_audit_note(s->audit_fd, s->fr.bad_len ==
			    0 ? "dropped an empty frame (length 0)" :
			    "dropped a frame over the size limit");
			continue;
		}
		if (r != 0) {
			proto_disconnect(s, "framing");
			return;
		}
		proto_frame(s, &f, was);
		if (!s->connected || s->ending)
			return;
	}
}

static void
proto_chat(struct share *s)
{
	struct proto_chat	 c;
	struct buf		*tmp;
	char			 text[PROTO_CHAT_MAX + 1];
	int			 r;

	if ((r = share_ui_read(s, text, sizeof(text))) == 1) {
		memset(&c, 0, sizeof(c));
		(void)tunl_strlcpy(c.from, SHARE_CHAT_FROM, sizeof(c.from));
		(void)tunl_strlcpy(c.text, text, sizeof(c.text));
		if ((tmp = buf_new(FRAME_HEADER_LEN + 4 + PROTO_NAME_LEN + 4 +
		    PROTO_CHAT_MAX)) != NULL && proto_put_chat(tmp, &c) == 0 &&
		    share_proto_send(s, tmp) == 0) {
			share_ui_chat(s, "you", text);
			(void)share_audit_chat(s->audit_fd, text);
		} else
			share_ui_chat(s, "you (not sent: relay not connected)",
			    text);
		buf_free(tmp);
	} else if (r == 2) {
		s->want_token = 0;
		proto_state(s, "signing a new certificate");
		r = share_ssh_sign(s, text);
		tunl_memzero(text, sizeof(text));
		if (r != 0) {
			/* The relay's own words, when it gave them. */
			share_ui_chat(s, "*", s->diag == SHARE_DIAG_RELAY ?
			    s->diag_detail : share_diag_phrase(s->diag));
			(void)share_ui_ask_token(s);
		} else
			s->retry_at = 0;
	}
}

int
share_proto_run(struct share *s)
{
	struct proto_viewers	 was;
	struct pollfd		 pfd[6];
	size_t			 put;
	nfds_t			 n;
	int			 timeout, i_ctl, i_rin, i_rout, i_lis, i_chat;
	int			 i_keys;

	memset(&was, 0, sizeof(was));
	if ((s->out = buf_new(PROTO_OUT_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	s->backoff = 1;
	if (s->relay_fd != -1) {
		if (frame_reader_init(&s->fr) != 0)
			return TUNL_ERR_ALLOC;
		s->rin = s->rout = s->relay_fd;
		s->connected = 1;
		(void)proto_hello(s);
	}
	share_ui_status(s);
	while (!s->ending && !share_quit) {
		if (!s->connected && s->relay_fd == -1 &&
		    time(NULL) >= s->retry_at)
			proto_connect(s);
		n = 0;
		i_rin = i_rout = i_chat = i_keys = -1;
		pfd[n].fd = s->ctl_out;
		pfd[n].events = POLLIN;
		i_ctl = (int)n++;
		if (s->ctl_q != NULL && buf_len(s->ctl_q) > 0) {
			pfd[n].fd = s->ctl_in;
			pfd[n].events = POLLOUT;
			i_keys = (int)n++;
		}
		pfd[n].fd = s->chat_listen;
		pfd[n].events = POLLIN;
		i_lis = (int)n++;
		if (s->chat_fd != -1) {
			pfd[n].fd = s->chat_fd;
			pfd[n].events = POLLIN;
			i_chat = (int)n++;
		}
		if (s->connected) {
			pfd[n].fd = s->rin;
			pfd[n].events = POLLIN;
			i_rin = (int)n++;
			if (buf_len(s->out) > 0) {
				pfd[n].fd = s->rout;
				pfd[n].events = POLLOUT;
				i_rout = (int)n++;
			}
		}
		timeout = s->connected ? 1000 : 250;
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			return TUNL_ERR_SYSTEM;
		}
		if (s->attach_pid > 0 &&
		    waitpid(s->attach_pid, NULL, WNOHANG) == s->attach_pid) {
			s->attach_pid = 0;
			printf("tunl-share: detached; the session goes on.\n"
			    "  reattach: tmux -S %s attach\n"
			    "  end it: C-b Q there, or Ctrl-C here\n", s->sock);
			fflush(stdout);
		}
		if (pfd[i_ctl].revents & (POLLIN | POLLHUP | POLLERR))
			proto_ctl(s);
		if (i_keys != -1 &&
		    (pfd[i_keys].revents & (POLLOUT | POLLERR | POLLHUP)) &&
		    share_tmux_flush(s) != 0)
			s->ending = 1;
		if (pfd[i_lis].revents & POLLIN)
			(void)share_ui_accept(s);
		if (i_chat != -1 && s->chat_fd != -1 &&
		    (pfd[i_chat].revents & (POLLIN | POLLHUP)))
			proto_chat(s);
		if (i_rout != -1 && s->connected &&
		    (pfd[i_rout].revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (buf_write_fd(s->out, s->rout, &put) != 0 &&
			    errno != EAGAIN && errno != EINTR)
				proto_disconnect(s, "write error");
		}
		if (i_rin != -1 && s->connected &&
		    (pfd[i_rin].revents & (POLLIN | POLLHUP | POLLERR)))
			proto_relay_read(s, &was);
		if (s->connected && s->relay_fd == -1 && !s->ending &&
		    share_alive_check(s)) {
			share_ui_chat(s, "*", "the relay is not answering; "
			    "reconnecting");
			(void)share_audit_note(s->audit_fd, "relay not "
			    "answering");
			proto_disconnect(s, "relay not answering");
		}
	}
	return 0;
}

/* The customer ended the session: say so to the relay, best effort. */
void
share_proto_bye(struct share *s)
{
	struct pollfd	 pfd;
	size_t		 put;
	int		 tries;

	if (!s->connected || s->out == NULL)
		return;
	(void)proto_put_error(s->out, PROTO_ERR_ENDED,
	    "the customer ended the session");
	for (tries = 0; tries < 20 && buf_len(s->out) > 0; tries++) {
		pfd.fd = s->rout;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (buf_write_fd(s->out, s->rout, &put) != 0 &&
		    errno != EAGAIN && errno != EINTR)
			break;
	}
}
