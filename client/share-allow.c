/*
 * share-allow.c: the allowlist, the only path from the relay into the
 * customer's machine, and the audit log that records every decision.
 *
 * share_allow() takes one inbound frame, decodes it with lib/proto.c and
 * says what tunl-share may do with it. It does nothing itself: the caller
 * acts on the decision, and only on the decoded, bounded fields in struct
 * allow_req. What is allowed:
 *
 *	hello		the broker's reply (role broker); its session mode
 *			can make the session restricted, never the reverse
 *	error, notice	shown in the chat pane as text
 *	ping		answered with a pong
 *	snapshot-req	the main pane's screen is sent back
 *	keys		into the main or the chat pane, byte for byte (every
 *			byte, NUL too, as tmux send-keys -H through the
 *			control-mode client); in a restricted session only
 *			into the chat pane
 *	resize		1..PROTO_COLS_MAX x 1..PROTO_ROWS_MAX, not when
 *			restricted
 *	resize-free	the window takes the customer's own size again
 *	status		text into the status row and chat pane header
 *	viewers, chat	shown in the chat pane and the status row
 *
 * The tunnel requests are refused (always when restricted; tunnels are
 * not part of this version at all). Every other type, and any frame whose
 * payload does not decode, is dropped.
 *
 * Each decision is one audit log line (docs in tunl-share(1)):
 *
 *	2025-06-01T09:30:12.345Z keys allowed pane=main from=alice n=5 "ls\x0d"
 *
 * time (UTC), frame type, allowed or dropped, then a summary in which
 * every byte outside printable ASCII is escaped. The log never holds a raw
 * byte from the relay, and never the token (which is not in any frame).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "share.h"

#define ALLOW_QUOTE_MAX		64	/* input bytes quoted in a summary */

/* Append an escaped, quoted excerpt of untrusted bytes to the summary. */
/* Quote at most max bytes of p, escaped, after the summary. */
static void
allow_quote_max(struct allow_req *q, const void *p, size_t len, size_t max)
{
	char	 esc[PROTO_CHAT_MAX * 4 + 1];
	size_t	 used = strlen(q->summary);

	if (max > PROTO_CHAT_MAX)
		max = PROTO_CHAT_MAX;
	(void)log_escape(esc, sizeof(esc), p, len > max ? max : len);
	(void)snprintf(q->summary + used, sizeof(q->summary) - used,
	    " \"%s\"%s", esc, len > max ? "..." : "");
}

static void
allow_quote(struct allow_req *q, const void *p, size_t len)
{
	allow_quote_max(q, p, len, ALLOW_QUOTE_MAX);
}

static void
allow_sum(struct allow_req *q, const char *fmt, ...) TUNL_PRINTF(2, 3);

static void
allow_sum(struct allow_req *q, const char *fmt, ...)
{
	size_t	 used = strlen(q->summary);
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(q->summary + used, sizeof(q->summary) - used, fmt, ap);
	va_end(ap);
}

static int
allow_drop(struct allow_req *q, const char *reason)
{
	q->action = ALLOW_DROP;
	q->reason = reason;
	return ALLOW_DROP;
}

/*
 * Judge one frame. restricted is the session's mode now. payload is
 * consumed. Returns the action (also in q->action).
 */
int
share_allow(int restricted, u_int8_t type, struct buf *payload,
    struct allow_req *q)
{
	size_t	 i, plen = buf_len(payload);
	int	 r;

	memset(q, 0, sizeof(*q));
	q->type = type;
	q->action = ALLOW_DROP;
	switch (type) {
	case FRAME_HELLO:
		if ((r = proto_get_hello(payload, &q->hello)) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "role=%u mode=%u size=%ux%u", q->hello.role,
		    q->hello.mode, q->hello.cols, q->hello.rows);
		if (q->hello.role != PROTO_ROLE_BROKER)
			return allow_drop(q, "not-from-broker");
		q->action = ALLOW_HELLO;
		break;
	case FRAME_ERROR:
		if (proto_get_error(payload, &q->err) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "code=%u", q->err.code);
		allow_quote(q, q->err.message, strlen(q->err.message));
		q->action = ALLOW_ERROR;
		break;
	case FRAME_PING:
		if (proto_get_u32(payload, &q->u32) != 0)
			return allow_drop(q, "malformed");
		q->action = ALLOW_PING;
		break;
	case FRAME_SNAPSHOT_REQ:
		if (proto_get_u32(payload, &q->u32) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "id=%u", q->u32);
		q->action = ALLOW_SNAPSHOT;
		break;
	case FRAME_KEYS:
		if (plen > 1 + 4 + PROTO_NAME_LEN + PROTO_KEYS_MAX) {
			allow_sum(q, "n=%zu", plen);
			return allow_drop(q, "oversize");
		}
		if ((r = proto_get_keys(payload, &q->keys)) != 0) {
			allow_sum(q, "n=%zu", plen);
			return allow_drop(q, r == TUNL_ERR_RANGE ?
			    "pane-not-registered" : "malformed");
		}
		allow_sum(q, "pane=%s from=%s n=%zu",
		    q->keys.pane == FRAME_PANE_MAIN ? "main" : "chat",
		    q->keys.engineer, q->keys.len);
		allow_quote(q, q->keys.data, q->keys.len);
		if (restricted && q->keys.pane != FRAME_PANE_CHAT)
			return allow_drop(q, "restricted");
		if (q->keys.len > sizeof(q->keybytes))
			return allow_drop(q, "oversize");
		memcpy(q->keybytes, q->keys.data, q->keys.len);
		q->nkeys = q->keys.len;
		q->action = ALLOW_KEYS;
		break;
	case FRAME_RESIZE:
		if (proto_get_resize(payload, &q->cols, &q->rows) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "%ux%u", q->cols, q->rows);
		if (restricted)
			return allow_drop(q, "restricted");
		q->action = ALLOW_RESIZE;
		break;
	case FRAME_RESIZE_FREE:
		/* Gives the size back to the customer: allowed even when
		 * restricted. */
		if (proto_get_empty(payload) != 0)
			return allow_drop(q, "malformed");
		q->action = ALLOW_RESIZE_FREE;
		break;
	case FRAME_STATUS:
	case FRAME_NOTICE:
		if (proto_get_text(payload, q->text) != 0)
			return allow_drop(q, "malformed");
		allow_quote(q, q->text, strlen(q->text));
		q->action = type == FRAME_STATUS ? ALLOW_STATUS : ALLOW_NOTICE;
		break;
	case FRAME_VIEWERS:
		if (proto_get_viewers(payload, &q->viewers) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "count=%u", q->viewers.count);
		for (i = 0; i < q->viewers.count && i < 4; i++)
			allow_sum(q, " %s:%s", q->viewers.v[i].name,
			    q->viewers.v[i].mode == PROTO_MODE_RW ? "rw" : "ro");
		q->action = ALLOW_VIEWERS;
		break;
	case FRAME_CHAT:
		if (proto_get_chat(payload, &q->chat) != 0)
			return allow_drop(q, "malformed");
		allow_sum(q, "from=%s", q->chat.from);
		/* A chat line is logged whole: the audit log keeps the talk. */
		allow_quote_max(q, q->chat.text, strlen(q->chat.text),
		    PROTO_CHAT_MAX);
		q->action = ALLOW_CHAT;
		break;
	case FRAME_TUNNEL_UPGRADE:
	case FRAME_TUNNEL_KEY:
	case FRAME_TUNNEL_CONFIRMED:
		allow_sum(q, "n=%zu", plen);
		return allow_drop(q, restricted ? "restricted" :
		    "tunnel-not-supported");
	default:
		allow_sum(q, "type=0x%02x n=%zu", type, plen);
		return allow_drop(q, frame_type_known(type) ?
		    "not-for-customer" : "unknown-type");
	}
	return q->action;
}

/* The audit log: opened once, appended to, never followed through a link. */
int
share_audit_open(const char *path, int *fdp)
{
	int	 fd;

	*fdp = -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return TUNL_ERR_SYSTEM;
	if (fchmod(fd, 0600) == -1) {
		(void)close(fd);
		return TUNL_ERR_SYSTEM;
	}
	*fdp = fd;
	return 0;
}

static int
audit_time(char *out, size_t len, const struct timespec *ts)
{
	struct tm	 tm;
	char		 s[32];

	if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return TUNL_ERR_INTERNAL;
	if ((size_t)snprintf(out, len, "%s.%03ldZ", s,
	    (long)(ts->tv_nsec / 1000000)) >= len)
		return TUNL_ERR_LENGTH;
	return 0;
}

/* One line for one decision, newline included. */
int
share_audit_format(char *out, size_t len, const struct timespec *ts,
    const struct allow_req *q)
{
	char	 when[40];
	int	 r, n;

	if ((r = audit_time(when, sizeof(when), ts)) != 0)
		return r;
	if (q->action == ALLOW_DROP)
		n = snprintf(out, len, "%s %s dropped reason=%s%s%s\n", when,
		    frame_type_name(q->type), q->reason ? q->reason : "-",
		    q->summary[0] != '\0' ? " " : "", q->summary);
	else
		n = snprintf(out, len, "%s %s allowed%s%s\n", when,
		    frame_type_name(q->type),
		    q->summary[0] != '\0' ? " " : "", q->summary);
	if (n < 0 || (size_t)n >= len)
		return TUNL_ERR_LENGTH;
	return 0;
}

static int
audit_put(int fd, const char *line)
{
	size_t	 len = strlen(line);
	ssize_t	 n;

	do {
		n = write(fd, line, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 || (size_t)n != len)
		return TUNL_ERR_SYSTEM;
	return 0;
}

int
share_audit_write(int fd, const struct allow_req *q)
{
	char		 line[SHARE_SUMMARY_MAX + 128];
	struct timespec	 ts;
	int		 r;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = share_audit_format(line, sizeof(line), &ts, q)) != 0)
		return r;
	return audit_put(fd, line);
}

/* A line of tunl-share's own (connected, reconnecting, ended). */
int
share_audit_note(int fd, const char *what)
{
	char		 when[40], line[SHARE_SUMMARY_MAX + 64], esc[160];
	struct timespec	 ts;
	int		 r;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = audit_time(when, sizeof(when), &ts)) != 0)
		return r;
	(void)log_escape(esc, sizeof(esc), what, strlen(what));
	(void)snprintf(line, sizeof(line), "%s tunl-share %s\n", when, esc);
	return audit_put(fd, line);
}

/* The customer's own chat line, whole and escaped, as an audit line. */
int
share_audit_chat(int fd, const char *text)
{
	char		 when[40], line[SHARE_SUMMARY_MAX + 64];
	char		 esc[PROTO_CHAT_MAX * 4 + 1];
	struct timespec	 ts;
	int		 r;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = audit_time(when, sizeof(when), &ts)) != 0)
		return r;
	(void)log_escape(esc, sizeof(esc), text, strnlen(text,
	    PROTO_CHAT_MAX));
	(void)snprintf(line, sizeof(line), "%s chat sent from=%s \"%s\"\n",
	    when, SHARE_CHAT_FROM, esc);
	return audit_put(fd, line);
}

/*
 * Copy text (already checked by proto_text_check) for a tmux status row
 * or format: printable ASCII stays, '#' (which starts tmux styles and
 * formats) becomes "##" when tmux is set, anything else becomes '?'.
 */
size_t
share_printable(char *dst, size_t dstlen, const char *src, int tmux)
{
	size_t	 o = 0;
	u_char	 c;

	if (dstlen == 0)
		return 0;
	for (; *src != '\0' && o + 1 < dstlen; src++) {
		c = (u_char)*src;
		if (c >= 0x80 && ((c & 0xc0) == 0x80))
			continue;	/* one '?' per UTF-8 character */
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		if (c == '#' && tmux) {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '#';
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}
