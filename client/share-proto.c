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
#define PROTO_OUT_HIGH		(1024 * 1024)	/* past this, the spool */
#define PROTO_READ_CHUNK	(64 * 1024)
#define PROTO_CERT_MARGIN	30	/* seconds before expiry: re-sign */
#define PROTO_DRAIN_SECS	5	/* reading what a closed link left unread */

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

/*
 * Queue frames for the relay that need no order with the output (a pong,
 * chat): refused when not connected.
 */
int
share_proto_send(struct share *s, const struct buf *frames)
{
	if (!s->connected)
		return TUNL_ERR_STATE;
	return buf_putb(s->out, frames);
}

/*
 * The GAP frame that closes a gap: skipped output of the customer's pane
 * is counted and said once, in the audit log, in the chat pane and to the
 * relay, where it is put in the stream.
 */
static int	 proto_stream(struct share *, const struct buf *, size_t);

static void
proto_gap_say(struct share *s, u_int8_t reason, u_int8_t flags,
    u_int64_t bytes)
{
	char	 line[256];

	(void)snprintf(line, sizeof(line), "output not sent to the relay: "
	    "%s%llu bytes (%s); dropped_output=%llu",
	    (flags & PROTO_GAP_AT_LEAST) ? "at least " : "",
	    (unsigned long long)bytes, proto_gap_reason(reason),
	    (unsigned long long)s->dropped_output);
	(void)share_audit_note(s->audit_fd, line);
	if (bytes > 0)
		share_ui_chat(s, "*", line);
}

static void
proto_gap_frame(struct share *s, u_int8_t reason, u_int8_t flags,
    u_int64_t bytes, struct buf *dst)
{
	struct proto_gap	 g;
	struct buf		*tmp;

	memset(&g, 0, sizeof(g));
	g.reason = reason;
	g.flags = flags;
	g.bytes = bytes;
	g.total = s->dropped_output;
	if ((tmp = buf_new(64)) == NULL || proto_put_gap(tmp, &g) != 0)
		error("gap of %llu bytes not said", (unsigned long long)bytes);
	else if (dst != NULL)
		(void)buf_putb(dst, tmp);
	else if (proto_stream(s, tmp, 0) != 0)
		error("gap of %llu bytes not queued", (unsigned long long)bytes);
	buf_free(tmp);
}

/* Output is skipped from here until the spool has room again. */
static void
proto_gap_skip(struct share *s, u_int8_t reason, size_t outbytes)
{
	if (!s->gap_open) {
		s->gap_open = 1;
		s->gap_reason = reason;
		s->gap_bytes = 0;
		(void)share_audit_note(s->audit_fd, "the spool for the relay "
		    "is full: output is skipped until it drains");
	}
	s->gap_bytes += outbytes;
	s->dropped_output += outbytes;
}

/* The spool has room again: the gap ends, with its frame. */
static void
proto_gap_close(struct share *s)
{
	u_int64_t	 bytes = s->gap_bytes;

	if (!s->gap_open || share_spool_len(s) > s->spool_max / 2)
		return;
	s->gap_open = 0;
	s->gap_bytes = 0;
	proto_gap_frame(s, s->gap_reason, PROTO_GAP_REPAIRED, bytes, NULL);
	proto_gap_say(s, s->gap_reason, 0, bytes);
}

/*
 * Frames in the order of the pane's output (OUTPUT, SNAPSHOT, RESIZE,
 * GAP), outbytes of the pane's output among them: straight to the link
 * while it keeps up, else behind what waits in the spool; never dropped
 * unless the spool is at its cap, and then counted.
 */
static int
proto_stream(struct share *s, const struct buf *frames, size_t outbytes)
{
	int	 r;

	if (s->gap_open && outbytes > 0) {
		proto_gap_skip(s, s->gap_reason, outbytes);
		return 0;
	}
	if (s->connected && share_spool_len(s) == 0 &&
	    buf_len(s->out) + buf_len(frames) <= PROTO_OUT_HIGH)
		return buf_putb(s->out, frames);
	if ((r = share_spool_put(s, buf_ptr(frames), buf_len(frames))) == 0) {
		if (share_spool_len(s) > s->spool_peak)
			s->spool_peak = share_spool_len(s);
		return 0;
	}
	if (outbytes > 0)
		proto_gap_skip(s, PROTO_GAP_SPOOL_FULL, outbytes);
	return r;
}

/* The status row says how much output waits for the relay, by MiB. */
static void
proto_spool_state(struct share *s)
{
	u_int64_t	 mib = share_spool_len(s) >> 20;

	if (!s->connected)
		return;
	if (mib > 0 && (!s->spool_said || mib != s->spool_said_mib)) {
		s->spool_said = 1;
		s->spool_said_mib = mib;
		proto_state(s, "connected; %llu MiB of output wait for the "
		    "relay", (unsigned long long)mib);
	} else if (mib == 0 && s->spool_said) {
		s->spool_said = 0;
		proto_state(s, "connected");
	}
}

/* The link takes more: frames from the spool, then a gap may close. */
static void
proto_pump(struct share *s)
{
	u_int64_t	 lost = 0;

	if (!s->connected || buf_len(s->out) >= PROTO_OUT_HIGH)
		return;
	if (share_spool_len(s) > 0 &&
	    share_spool_pump(s, s->out, PROTO_OUT_HIGH, &lost) != 0) {
		/* Cannot happen unless the disk fails under us. */
		error("the spool could not be read back: %llu bytes lost",
		    (unsigned long long)lost);
		proto_gap_skip(s, PROTO_GAP_SPOOL_FULL, (size_t)lost);
	}
	proto_gap_close(s);
	proto_spool_state(s);
}

/*
 * n bytes of out went on the link: where does the next whole frame
 * start? out_part is what is left of the frame begun on the link.
 */
static void
proto_wrote(struct share *s, const u_char *p, size_t n)
{
	size_t		 end = s->out_part;
	u_int32_t	 flen = 0;

	while (end < n) {
		flen = (u_int32_t)p[end] << 24 | (u_int32_t)p[end + 1] << 16 |
		    (u_int32_t)p[end + 2] << 8 | p[end + 3];
		s->out_part_type = p[end + 4];
		s->out_part_len = flen - 1;
		end += FRAME_HEADER_LEN - 1 + (size_t)flen;
	}
	s->out_part = end - n;
}

static int
proto_write_out(struct share *s)
{
	ssize_t	 n;

	n = write(s->rout, buf_ptr(s->out), buf_len(s->out));
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : TUNL_ERR_SYSTEM;
	proto_wrote(s, buf_ptr(s->out), (size_t)n);
	return buf_consume(s->out, (size_t)n);
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

/*
 * The link dropped. The frame it was in the middle of is lost (the
 * relay drops a frame cut short); the whole frames after it are held
 * and go first on the next link, behind a GAP frame that says what was
 * lost: at least the cut frame's output, and whatever the link itself
 * held, which nobody can count.
 */
/*
 * out's whole frames go to held, but for a hello (the next link says its
 * own): out starts at a frame once the cut frame's rest is gone.
 */
static void
proto_hold(struct share *s)
{
	const u_char	*p = buf_ptr(s->out);
	size_t		 len = buf_len(s->out), off = 0, n;
	u_int32_t	 flen;

	while (len - off >= FRAME_HEADER_LEN) {
		flen = (u_int32_t)p[off] << 24 | (u_int32_t)p[off + 1] << 16 |
		    (u_int32_t)p[off + 2] << 8 | p[off + 3];
		n = FRAME_HEADER_LEN - 1 + (size_t)flen;
		if (flen < 1 || n > len - off)
			break;
		if (p[off + 4] != FRAME_HELLO &&
		    buf_put(s->held, p + off, n) != 0) {
			error("frames unsent when the link dropped were lost");
			break;
		}
		off += n;
	}
	buf_reset(s->out);
}

static void
proto_link_lost(struct share *s)
{
	u_int64_t	 lost = 0;

	if (s->out_part > 0 && s->out_part_type == FRAME_OUTPUT)
		lost = s->out_part_len;
	if (s->out_part > 0)
		(void)buf_consume(s->out, s->out_part < buf_len(s->out) ?
		    s->out_part : buf_len(s->out));
	s->out_part = 0;
	s->dropped_output += lost;
	buf_reset(s->held);
	proto_gap_frame(s, PROTO_GAP_LINK_LOST,
	    PROTO_GAP_AT_LEAST | PROTO_GAP_REPAIRED, lost, s->held);
	proto_hold(s);
	proto_gap_say(s, PROTO_GAP_LINK_LOST, PROTO_GAP_AT_LEAST, lost);
}

/*
 * The link ended before the relay said a word. A login refused with a
 * certificate that is still valid means the relay no longer takes this
 * session: it ended (its end notice lost on the way) or it is locked, and
 * tunl-principals no longer names it. Said SHARE_REFUSED_MAX times with
 * no word from the relay in between, that ends tunl-share. A relay that is
 * down or unreachable (nothing listening, no route, a timeout) is no
 * refusal: reconnecting goes on.
 */
static int
proto_refused(struct share *s)
{
	if (s->alive_heard) {
		s->refused = 0;
		return 0;
	}
	if (!share_ssh_refused(s))
		return 0;
	if (++s->refused < SHARE_REFUSED_MAX) {
		(void)share_audit_note(s->audit_fd, "the relay refused the "
		    "session certificate");
		return 0;
	}
	s->relay_gone = 1;
	s->ending = 1;
	return 1;
}

static void
proto_disconnect(struct share *s, const char *why)
{
	share_ssh_stop(s, 0);
	frame_reader_free(&s->fr);
	proto_link_lost(s);
	if (s->relay_fd != -1 || proto_refused(s)) {
		s->ending = 1;
		return;
	}
	/* The relay answered and refused: ask again soon, to know soon. */
	if (s->refused > 0 && s->backoff > SHARE_REFUSED_RETRY)
		s->backoff = SHARE_REFUSED_RETRY;
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
	/* The first connection's ssh was started at once after signing
	 * (tunl-share.c): its login went on while tmux started. */
	r = s->early && s->rin != -1 ? 0 : share_ssh_produce(s);
	s->early = 0;
	if (r != 0 || (r = frame_reader_init(&s->fr)) != 0) {
		share_ssh_stop(s, 0);
		s->retry_at = now + s->backoff;
		return;
	}
	s->connected = 1;
	share_alive_start(s);
	(void)proto_hello(s);
	/* What the last link left unsent goes first, in its order. */
	if (buf_putb(s->out, s->held) != 0)
		error("frames held from the last link not sent");
	buf_reset(s->held);
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
		} else if (q.err.code == PROTO_ERR_SUPERSEDED) {
			/* A newer token has the session: its tunl-share
			 * produces now, and this one stops (never says bye:
			 * that would end the session under the new one). */
			s->ending = s->superseded = 1;
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
		(void)proto_stream(s, tmp, 0);
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

/* The pane's output: to the link, or the spool, in order. */
static void
proto_output_stream(struct share *s, const u_char *p, size_t len)
{
	static struct buf	*tmp;
	size_t			 n;

	if (len == 0)
		return;
	if (tmp == NULL &&
	    (tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) == NULL) {
		proto_gap_skip(s, PROTO_GAP_SPOOL_FULL, len);
		return;
	}
	while (len > 0) {
		n = len > FRAME_PAYLOAD_MAX ? FRAME_PAYLOAD_MAX : len;
		buf_reset(tmp);
		if (proto_put_output(tmp, p, n) != 0)
			proto_gap_skip(s, PROTO_GAP_SPOOL_FULL, n);
		else
			(void)proto_stream(s, tmp, n);
		p += n;
		len -= n;
	}
}

/* Output of the shared pane: the customer's recording, then the relay. */
static void
proto_output(struct share *s, const u_char *p, size_t len)
{
	if (len == 0)
		return;
	proto_cast(s, p, len);
	proto_output_stream(s, p, len);
}

/* A snapshot taken at once, out of step with the output (a fallback). */
static void
proto_snapshot_now(struct share *s, u_int32_t id)
{
	struct buf	*tmp;

	if ((tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) != NULL &&
	    share_tmux_snapshot(s, id, tmp) == 0)
		(void)proto_stream(s, tmp, 0);
	buf_free(tmp);
}

/*
 * The relay asks for the screen. It is captured through the control
 * client, in step with the output it sends (share_tmux_snapshot_ask),
 * and sent when the answer comes (proto_snapshot_done). One capture is on
 * its way at a time: a request meanwhile is answered by the next one. An
 * answer lost for SHARE_SNAP_WAIT_S is given up.
 */
/* The output held while a snapshot was on its way goes out now. */
static void
proto_snap_flush(struct share *s)
{
	s->snap_holding = 0;
	if (s->snap_hold == NULL || buf_len(s->snap_hold) == 0)
		return;
	proto_output_stream(s, buf_ptr(s->snap_hold), buf_len(s->snap_hold));
	buf_reset(s->snap_hold);
}

/*
 * Output of the shared pane while the capture tmux took waits to be sent
 * (after the capture, before its state line): held, to follow the
 * snapshot. When the hold is full, or the answer is late, it is sent now
 * and this snapshot is stale: the request is asked again when it comes.
 */
static void
proto_snap_hold(struct share *s, const u_char *p, size_t len)
{
	proto_cast(s, p, len);	/* the customer's recording: as it comes */
	if (s->snap_hold == NULL)
		s->snap_hold = buf_new(SHARE_SNAP_HOLD_MAX);
	if (s->snap_hold != NULL &&
	    time(NULL) - s->snap_asked_at < SHARE_SNAP_WAIT_S &&
	    buf_put(s->snap_hold, p, len) == 0)
		return;
	proto_snap_flush(s);
	s->snap_stale = 1;
	proto_output_stream(s, p, len);
}

static void
proto_snapshot_ask(struct share *s, u_int32_t id)
{
	if (s->snap_asked &&
	    time(NULL) - s->snap_asked_at < SHARE_SNAP_WAIT_S) {
		s->snap_again = 1;
		s->snap_again_id = id;
		return;
	}
	proto_snap_flush(s);
	s->snap_stale = 0;
	s->snap_asked = 0;
	if (share_tmux_snapshot_ask(s) != 0) {
		proto_snapshot_now(s, id);
		return;
	}
	s->snap_asked = 1;
	s->snap_have_state = 0;
	s->snap_asked_id = id;
	s->snap_asked_at = time(NULL);
}

/* The state line (cursor, size) taken with the capture: kept. */
static void
proto_snapshot_state(struct share *s, const struct ctlmode_msg *m)
{
	if (s->snap_state == NULL &&
	    (s->snap_state = buf_new(CTLMODE_LINE_MAX)) == NULL)
		return;
	buf_reset(s->snap_state);
	s->snap_have_state = buf_put(s->snap_state, m->data, m->len) == 0;
}

/*
 * The snapshot's line is answered (m: the last block's end, or the
 * error that ended the line): send the snapshot, then the output held
 * since the capture.
 */
static void
proto_snapshot_done(struct share *s, const struct ctlmode_msg *m)
{
	struct buf	*tmp;
	u_int32_t	 id = s->snap_asked_id;

	if (!s->snap_asked)
		return;
	s->snap_asked = 0;
	if (s->snap_stale) {
		/* Output it does not show went out before it: again. */
		s->snap_stale = 0;
		proto_snap_flush(s);
		if (!s->snap_again) {
			s->snap_again = 1;
			s->snap_again_id = id;
		}
	} else if (m->kind == CTLMODE_ERROR || !s->snap_have_state) {
		proto_snap_flush(s);
		proto_snapshot_now(s, id);
	} else if ((tmp = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) != NULL) {
		if (share_tmux_snapshot_done(s, id, buf_ptr(s->snap_state),
		    buf_len(s->snap_state), tmp) == 0) {
			(void)proto_stream(s, tmp, 0);
			proto_snap_flush(s);
		} else {
			proto_snap_flush(s);
			proto_snapshot_now(s, id);
		}
		buf_free(tmp);
	} else {
		proto_snap_flush(s);
		proto_snapshot_now(s, id);
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
			if (m.pane != s->pane_main_id)
				break;
			if (s->snap_holding)
				proto_snap_hold(s, m.data, m.len);
			else
				proto_output(s, m.data, m.len);
			break;
		case CTLMODE_LAYOUT:
			proto_layout(s);
			break;
		case CTLMODE_SNAPSTATE:
			/* Inside the state's block of the snapshot's line
			 * only (its second); kept until the file is whole. */
			if (s->snap_asked &&
			    s->ctl_done + SHARE_SNAP_BLOCKS - 1 == s->snap_seq)
				proto_snapshot_state(s, &m);
			break;
		case CTLMODE_END:
		case CTLMODE_ERROR:
			/* The answer to the oldest line we wrote. */
			if (!m.ours)
				break;
			/*
			 * The capture's own block ended: the pane's output
			 * from here on is after the capture, held until the
			 * snapshot is sent (proto_snapshot_done).
			 */
			if (s->snap_asked && m.kind == CTLMODE_END &&
			    s->ctl_done + SHARE_SNAP_BLOCKS == s->snap_seq)
				s->snap_holding = 1;
			if (++s->ctl_done + SHARE_SNAP_BLOCKS > s->snap_seq &&
			    s->ctl_done <= s->snap_seq) {
				/* A block of the snapshot's line. A command
				 * that fails ends the line: the blocks after
				 * it never come. The delete's end (the last)
				 * says the capture's file is whole. */
				if (m.kind == CTLMODE_ERROR)
					s->ctl_done = s->snap_seq;
				if (s->snap_asked &&
				    s->ctl_done == s->snap_seq)
					proto_snapshot_done(s, &m);
			} else if (m.kind == CTLMODE_ERROR &&
			    s->ctl_failed++ == 0)
				(void)share_audit_note(s->audit_fd,
				    "tmux refused a command: keys, a size or "
				    "an option (the pane is gone?)");
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

/*
 * A write to the link failed: the relay may have ended the session and
 * closed its side, with the reason still unread in the pipe. Read what is
 * left, for a bounded time, so that an end is taken as an end (tunl-share
 * exits and says why) and not as a lost link to reconnect.
 */
static void
proto_drain(struct share *s, struct proto_viewers *was)
{
	struct pollfd	 pfd;
	time_t		 until = time(NULL) + PROTO_DRAIN_SECS;
	int		 r;

	while (s->connected && !s->ending && time(NULL) < until) {
		pfd.fd = s->rin;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, 250);
		if (r == -1 && errno != EINTR)
			break;
		if (r > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			proto_relay_read(s, was);
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
	nfds_t			 n;
	int			 timeout, i_ctl, i_rin, i_rout, i_lis, i_chat;
	int			 i_keys;

	memset(&was, 0, sizeof(was));
	if ((s->out = buf_new(PROTO_OUT_MAX)) == NULL ||
	    (s->held = buf_new(PROTO_OUT_MAX + 64)) == NULL)
		return TUNL_ERR_ALLOC;
	if (share_spool_open(s) != 0)
		error("no spool in %s: output the relay cannot take at once "
		    "will be skipped (and said)", s->dir);
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
		proto_pump(s);
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
		/* Reads first: what the relay said may explain a write error. */
		if (i_rin != -1 && s->connected &&
		    (pfd[i_rin].revents & (POLLIN | POLLHUP | POLLERR)))
			proto_relay_read(s, &was);
		if (i_rout != -1 && s->connected &&
		    (pfd[i_rout].revents & (POLLOUT | POLLERR | POLLHUP)) &&
		    proto_write_out(s) != 0) {
			proto_drain(s, &was);
			if (s->connected && !s->ending)
				proto_disconnect(s, "write error");
		}
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
