/*
 * proto.c: the payloads of tunl's frames (docs/protocol.md, lib/frame.h).
 *
 * Each encoder checks every field against its bound first, then checks
 * that the whole frame fits, and only then appends: on failure nothing of
 * the frame is in out. Each decoder reads a frame's payload with the
 * bounded buffer API and is strict: a field over its bound, a string that
 * must be text holding a control byte or bad UTF-8, a number out of range
 * or a single byte left over makes the whole payload invalid.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"
#include "frame.h"

#define PROTO_SNAPSHOT_MAX	(FRAME_PAYLOAD_MAX - PROTO_SNAPSHOT_HDR)
#define PROTO_MAGIC_LEN		4

/*
 * Names (engineers, chat senders): [a-z_][a-z0-9_.-]{0,31}, the grammar
 * of a login name, so a name is safe in a path, a log line and a terminal.
 */
int
proto_name_check(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return TUNL_ERR_INVALID;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return TUNL_ERR_INVALID;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= PROTO_NAME_LEN - 1)
			return TUNL_ERR_LENGTH;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return TUNL_ERR_INVALID;
	}
	return 0;
}

/*
 * Text shown on someone's terminal (error, status, notice, chat): valid
 * UTF-8 (shortest form, no surrogates, at most U+10FFFF) without C0
 * controls, DEL, C1 controls, line or paragraph separators, or the
 * bidirectional embedding, override and isolate characters. One line,
 * nothing a terminal would act on.
 */
int
proto_text_check(const void *p, size_t len)
{
	const u_char	*s = p;
	size_t		 i = 0, n, k;
	u_int32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return TUNL_ERR_INVALID;
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return TUNL_ERR_INVALID;
		if (len - i < n)
			return TUNL_ERR_INVALID;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return TUNL_ERR_INVALID;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f) ||
		    cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return TUNL_ERR_INVALID;
		i += n;
	}
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

/* Check that a frame of paylen payload bytes fits, then put its header. */
static int
proto_begin(struct buf *out, u_int8_t type, size_t paylen)
{
	int	 r;

	if (out == NULL)
		return TUNL_ERR_INVALID;
	if (paylen > FRAME_PAYLOAD_MAX)
		return TUNL_ERR_LENGTH;
	if (FRAME_HEADER_LEN + paylen > buf_avail(out))
		return TUNL_ERR_FULL;
	if ((r = buf_put_u32(out, (u_int32_t)(paylen + 1))) != 0)
		return r;
	if ((r = buf_put_u8(out, type)) != 0) {
		(void)buf_consume_end(out, 4);
		return r;
	}
	return 0;
}

/* Undo a partly written frame (cannot happen once proto_begin passed). */
static int
proto_undo(struct buf *out, size_t before, int r)
{
	if (buf_len(out) > before)
		(void)buf_consume_end(out, buf_len(out) - before);
	return r;
}

/* A string field copied into a fixed array, refused if it holds a NUL. */
static int
proto_get_fixed(struct buf *b, char *dst, size_t dstlen, size_t max)
{
	const u_char	*p;
	size_t		 len;
	u_int32_t	 wire;
	int		 r;

	if ((r = buf_peek_u32(b, 0, &wire)) != 0)
		return r;
	if (wire > max || wire >= dstlen)
		return TUNL_ERR_LENGTH;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0)
		return r;
	if (memchr(p, '\0', len) != NULL)
		return TUNL_ERR_NUL;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

static int
proto_get_name(struct buf *b, char dst[PROTO_NAME_LEN])
{
	int	 r;

	if ((r = proto_get_fixed(b, dst, PROTO_NAME_LEN,
	    PROTO_NAME_LEN - 1)) != 0)
		return r;
	return proto_name_check(dst);
}

static int
proto_get_textfield(struct buf *b, char *dst, size_t dstlen, size_t max)
{
	int	 r;

	if ((r = proto_get_fixed(b, dst, dstlen, max)) != 0)
		return r;
	return proto_text_check(dst, strlen(dst));
}

static int
proto_end(struct buf *b)
{
	return buf_len(b) == 0 ? 0 : TUNL_ERR_INVALID;
}

static int
proto_size_ok(u_int cols, u_int rows)
{
	return cols >= 1 && cols <= PROTO_COLS_MAX &&
	    rows >= 1 && rows <= PROTO_ROWS_MAX;
}

/* ---- HELLO ------------------------------------------------------------------ */

/*
 *	byte[4]	"tunl"
 *	u16	version
 *	u8	role
 *	string	session id
 *  producer: nothing more, or u64 token (the newest token id that
 *            tunl-authority admit's check of the login saw)
 *  consumer: string engineer, u8 mode, u16 cols, u16 rows
 *  broker:   u8 session mode, u16 cols, u16 rows (0x0: size unknown)
 */
static int
proto_hello_check(const struct proto_hello *h, size_t *lenp)
{
	size_t	 len;

	if (id_check(h->session) != 0)
		return TUNL_ERR_INVALID;
	len = PROTO_MAGIC_LEN + 2 + 1 + 4 + strlen(h->session);
	switch (h->role) {
	case PROTO_ROLE_PRODUCER:
		if (h->has_token) {
			if (h->token < 0)
				return TUNL_ERR_RANGE;
			len += 8;
		}
		break;
	case PROTO_ROLE_CONSUMER:
		if (proto_name_check(h->engineer) != 0)
			return TUNL_ERR_INVALID;
		if (h->mode != PROTO_MODE_RW && h->mode != PROTO_MODE_RO)
			return TUNL_ERR_RANGE;
		if (!proto_size_ok(h->cols, h->rows))
			return TUNL_ERR_RANGE;
		len += 4 + strlen(h->engineer) + 1 + 2 + 2;
		break;
	case PROTO_ROLE_BROKER:
		if (h->mode != PROTO_SESSION_SHARE &&
		    h->mode != PROTO_SESSION_RESTRICTED)
			return TUNL_ERR_RANGE;
		if ((h->cols != 0 || h->rows != 0) &&
		    !proto_size_ok(h->cols, h->rows))
			return TUNL_ERR_RANGE;
		len += 1 + 2 + 2;
		break;
	default:
		return TUNL_ERR_RANGE;
	}
	*lenp = len;
	return 0;
}

int
proto_put_hello(struct buf *out, const struct proto_hello *h)
{
	size_t	 len, before;
	int	 r;

	if (h == NULL || out == NULL)
		return TUNL_ERR_INVALID;
	if ((r = proto_hello_check(h, &len)) != 0)
		return r;
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_HELLO, len)) != 0)
		return r;
	if ((r = buf_put(out, TUNL_PROTO_MAGIC, PROTO_MAGIC_LEN)) != 0 ||
	    (r = buf_put_u16(out, h->version)) != 0 ||
	    (r = buf_put_u8(out, h->role)) != 0 ||
	    (r = buf_put_cstring(out, h->session)) != 0)
		return proto_undo(out, before, r);
	switch (h->role) {
	case PROTO_ROLE_PRODUCER:
		if (h->has_token &&
		    (r = buf_put_u64(out, (u_int64_t)h->token)) != 0)
			return proto_undo(out, before, r);
		break;
	case PROTO_ROLE_CONSUMER:
		if ((r = buf_put_cstring(out, h->engineer)) != 0 ||
		    (r = buf_put_u8(out, h->mode)) != 0 ||
		    (r = buf_put_u16(out, h->cols)) != 0 ||
		    (r = buf_put_u16(out, h->rows)) != 0)
			return proto_undo(out, before, r);
		break;
	case PROTO_ROLE_BROKER:
		if ((r = buf_put_u8(out, h->mode)) != 0 ||
		    (r = buf_put_u16(out, h->cols)) != 0 ||
		    (r = buf_put_u16(out, h->rows)) != 0)
			return proto_undo(out, before, r);
		break;
	}
	return 0;
}

/*
 * A HELLO of another version is TUNL_ERR_VERSION with h->version set (the
 * rest of it is not parsed: its layout may differ), so the caller can name
 * both versions in its error.
 */
int
proto_get_hello(struct buf *b, struct proto_hello *h)
{
	u_char		 magic[PROTO_MAGIC_LEN];
	u_int64_t	 tok;
	size_t		 len;
	int		 r;

	memset(h, 0, sizeof(*h));
	if ((r = buf_get(b, magic, sizeof(magic))) != 0)
		return r;
	if (memcmp(magic, TUNL_PROTO_MAGIC, sizeof(magic)) != 0)
		return TUNL_ERR_INVALID;
	if ((r = buf_get_u16(b, &h->version)) != 0)
		return r;
	if (h->version != TUNL_PROTO_VERSION)
		return TUNL_ERR_VERSION;
	if ((r = buf_get_u8(b, &h->role)) != 0 ||
	    (r = proto_get_fixed(b, h->session, sizeof(h->session),
	    ID_LEN_MAX - 1)) != 0)
		return r;
	if (id_check(h->session) != 0)
		return TUNL_ERR_INVALID;
	switch (h->role) {
	case PROTO_ROLE_PRODUCER:
		if (buf_len(b) > 0) {
			if (buf_len(b) != 8)
				return TUNL_ERR_INVALID;
			if ((r = buf_get_u64(b, &tok)) != 0)
				return r;
			if (tok > (u_int64_t)INT64_MAX)
				return TUNL_ERR_RANGE;
			h->token = (int64_t)tok;
			h->has_token = 1;
		}
		break;
	case PROTO_ROLE_CONSUMER:
		if ((r = proto_get_name(b, h->engineer)) != 0 ||
		    (r = buf_get_u8(b, &h->mode)) != 0 ||
		    (r = buf_get_u16(b, &h->cols)) != 0 ||
		    (r = buf_get_u16(b, &h->rows)) != 0)
			return r;
		break;
	case PROTO_ROLE_BROKER:
		if ((r = buf_get_u8(b, &h->mode)) != 0 ||
		    (r = buf_get_u16(b, &h->cols)) != 0 ||
		    (r = buf_get_u16(b, &h->rows)) != 0)
			return r;
		break;
	default:
		return TUNL_ERR_RANGE;
	}
	if ((r = proto_end(b)) != 0)
		return r;
	return proto_hello_check(h, &len);
}

/* ---- ERROR, STATUS, NOTICE -------------------------------------------------- */

/* ERROR: u16 code, string message (text, at most PROTO_TEXT_MAX bytes). */
int
proto_put_error(struct buf *out, u_int16_t code, const char *msg)
{
	size_t	 len, before;
	int	 r;

	if (msg == NULL)
		return TUNL_ERR_INVALID;
	if ((len = strlen(msg)) > PROTO_TEXT_MAX)
		return TUNL_ERR_LENGTH;
	if ((r = proto_text_check(msg, len)) != 0)
		return r;
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_ERROR, 2 + 4 + len)) != 0)
		return r;
	if ((r = buf_put_u16(out, code)) != 0 ||
	    (r = buf_put_string(out, msg, len)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_error(struct buf *b, struct proto_error *e)
{
	int	 r;

	memset(e, 0, sizeof(*e));
	if ((r = buf_get_u16(b, &e->code)) != 0 ||
	    (r = proto_get_textfield(b, e->message, sizeof(e->message),
	    PROTO_TEXT_MAX)) != 0)
		return r;
	return proto_end(b);
}

/* STATUS and NOTICE: one string of text, at most PROTO_TEXT_MAX bytes. */
int
proto_put_text(struct buf *out, u_int8_t type, const char *s)
{
	size_t	 len, before;
	int	 r;

	if (type != FRAME_STATUS && type != FRAME_NOTICE)
		return TUNL_ERR_FRAME_TYPE;
	if (s == NULL)
		return TUNL_ERR_INVALID;
	if ((len = strlen(s)) > PROTO_TEXT_MAX)
		return TUNL_ERR_LENGTH;
	if ((r = proto_text_check(s, len)) != 0)
		return r;
	before = buf_len(out);
	if ((r = proto_begin(out, type, 4 + len)) != 0)
		return r;
	if ((r = buf_put_string(out, s, len)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_text(struct buf *b, char s[PROTO_TEXT_MAX + 1])
{
	int	 r;

	s[0] = '\0';
	if ((r = proto_get_textfield(b, s, PROTO_TEXT_MAX + 1,
	    PROTO_TEXT_MAX)) != 0)
		return r;
	return proto_end(b);
}

/* ---- ACK, PING, PONG, SNAPSHOT_REQ: one u32 -------------------------------- */

int
proto_put_u32(struct buf *out, u_int8_t type, u_int32_t v)
{
	size_t	 before;
	int	 r;

	if (type != FRAME_ACK && type != FRAME_PING && type != FRAME_PONG &&
	    type != FRAME_SNAPSHOT_REQ)
		return TUNL_ERR_FRAME_TYPE;
	before = buf_len(out);
	if ((r = proto_begin(out, type, 4)) != 0)
		return r;
	if ((r = buf_put_u32(out, v)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_u32(struct buf *b, u_int32_t *v)
{
	int	 r;

	*v = 0;
	if ((r = buf_get_u32(b, v)) != 0)
		return r;
	return proto_end(b);
}

/* ---- OUTPUT: the raw bytes of the pane, at least one ---------------------- */

int
proto_put_output(struct buf *out, const void *data, size_t len)
{
	size_t	 before;
	int	 r;

	if (len == 0 || data == NULL)
		return TUNL_ERR_INVALID;
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_OUTPUT, len)) != 0)
		return r;
	if ((r = buf_put(out, data, len)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_output(struct buf *b, const u_char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (buf_len(b) == 0)
		return TUNL_ERR_INVALID;
	*data = buf_ptr(b);
	*len = buf_len(b);
	return buf_consume(b, *len);
}

/* ---- SNAPSHOT ------------------------------------------------------------------ */

/*
 *	u32	request id (0: not asked for)
 *	u16	cols 1..PROTO_COLS_MAX, u16 rows 1..PROTO_ROWS_MAX
 *	u16	cursor x < cols, u16 cursor y < rows
 *	byte[]	the rest: bytes that draw the screen from a cleared terminal
 */
static int
proto_snapshot_check(const struct proto_snapshot *s)
{
	if (!proto_size_ok(s->cols, s->rows))
		return TUNL_ERR_RANGE;
	if (s->cx >= s->cols || s->cy >= s->rows)
		return TUNL_ERR_RANGE;
	if (s->len > PROTO_SNAPSHOT_MAX)
		return TUNL_ERR_LENGTH;
	if (s->len > 0 && s->data == NULL)
		return TUNL_ERR_INVALID;
	return 0;
}

int
proto_put_snapshot(struct buf *out, const struct proto_snapshot *s)
{
	size_t	 before;
	int	 r;

	if (s == NULL)
		return TUNL_ERR_INVALID;
	if ((r = proto_snapshot_check(s)) != 0)
		return r;
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_SNAPSHOT,
	    PROTO_SNAPSHOT_HDR + s->len)) != 0)
		return r;
	if ((r = buf_put_u32(out, s->id)) != 0 ||
	    (r = buf_put_u16(out, s->cols)) != 0 ||
	    (r = buf_put_u16(out, s->rows)) != 0 ||
	    (r = buf_put_u16(out, s->cx)) != 0 ||
	    (r = buf_put_u16(out, s->cy)) != 0 ||
	    (r = buf_put(out, s->data, s->len)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_snapshot(struct buf *b, struct proto_snapshot *s)
{
	int	 r;

	memset(s, 0, sizeof(*s));
	if ((r = buf_get_u32(b, &s->id)) != 0 ||
	    (r = buf_get_u16(b, &s->cols)) != 0 ||
	    (r = buf_get_u16(b, &s->rows)) != 0 ||
	    (r = buf_get_u16(b, &s->cx)) != 0 ||
	    (r = buf_get_u16(b, &s->cy)) != 0)
		return r;
	s->data = buf_ptr(b);
	s->len = buf_len(b);
	if ((r = proto_snapshot_check(s)) != 0)
		return r;
	return buf_consume(b, s->len);
}

/* ---- CHAT: string from (a name), string text (at most PROTO_CHAT_MAX) -------- */

int
proto_put_chat(struct buf *out, const struct proto_chat *c)
{
	size_t	 flen, tlen, before;
	int	 r;

	if (c == NULL)
		return TUNL_ERR_INVALID;
	if ((r = proto_name_check(c->from)) != 0)
		return r;
	if ((tlen = strnlen(c->text, sizeof(c->text))) > PROTO_CHAT_MAX)
		return TUNL_ERR_LENGTH;
	if (tlen == 0)
		return TUNL_ERR_INVALID;
	if ((r = proto_text_check(c->text, tlen)) != 0)
		return r;
	flen = strlen(c->from);
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_CHAT, 4 + flen + 4 + tlen)) != 0)
		return r;
	if ((r = buf_put_string(out, c->from, flen)) != 0 ||
	    (r = buf_put_string(out, c->text, tlen)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_chat(struct buf *b, struct proto_chat *c)
{
	int	 r;

	memset(c, 0, sizeof(*c));
	if ((r = proto_get_name(b, c->from)) != 0 ||
	    (r = proto_get_textfield(b, c->text, sizeof(c->text),
	    PROTO_CHAT_MAX)) != 0)
		return r;
	if (c->text[0] == '\0')
		return TUNL_ERR_INVALID;
	return proto_end(b);
}

/* ---- KEYS: u8 pane, string engineer, then 1..PROTO_KEYS_MAX bytes ---------- */

int
proto_put_keys(struct buf *out, const struct proto_keys *k)
{
	size_t	 nlen, before;
	int	 r;

	if (k == NULL)
		return TUNL_ERR_INVALID;
	if (k->pane != FRAME_PANE_MAIN && k->pane != FRAME_PANE_CHAT)
		return TUNL_ERR_RANGE;
	if ((r = proto_name_check(k->engineer)) != 0)
		return r;
	if (k->len == 0 || k->data == NULL)
		return TUNL_ERR_INVALID;
	if (k->len > PROTO_KEYS_MAX)
		return TUNL_ERR_LENGTH;
	nlen = strlen(k->engineer);
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_KEYS, 1 + 4 + nlen + k->len)) != 0)
		return r;
	if ((r = buf_put_u8(out, k->pane)) != 0 ||
	    (r = buf_put_string(out, k->engineer, nlen)) != 0 ||
	    (r = buf_put(out, k->data, k->len)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_keys(struct buf *b, struct proto_keys *k)
{
	int	 r;

	memset(k, 0, sizeof(*k));
	if ((r = buf_get_u8(b, &k->pane)) != 0)
		return r;
	if (k->pane != FRAME_PANE_MAIN && k->pane != FRAME_PANE_CHAT)
		return TUNL_ERR_RANGE;
	if ((r = proto_get_name(b, k->engineer)) != 0)
		return r;
	if (buf_len(b) == 0)
		return TUNL_ERR_INVALID;
	if (buf_len(b) > PROTO_KEYS_MAX)
		return TUNL_ERR_LENGTH;
	k->data = buf_ptr(b);
	k->len = buf_len(b);
	return buf_consume(b, k->len);
}

/* ---- RESIZE: u16 cols 1..PROTO_COLS_MAX, u16 rows 1..PROTO_ROWS_MAX --------- */

int
proto_put_resize(struct buf *out, u_int cols, u_int rows)
{
	size_t	 before;
	int	 r;

	if (!proto_size_ok(cols, rows))
		return TUNL_ERR_RANGE;
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_RESIZE, 4)) != 0)
		return r;
	if ((r = buf_put_u16(out, (u_int16_t)cols)) != 0 ||
	    (r = buf_put_u16(out, (u_int16_t)rows)) != 0)
		return proto_undo(out, before, r);
	return 0;
}

int
proto_get_resize(struct buf *b, u_int16_t *cols, u_int16_t *rows)
{
	int	 r;

	*cols = *rows = 0;
	if ((r = buf_get_u16(b, cols)) != 0 ||
	    (r = buf_get_u16(b, rows)) != 0)
		return r;
	if ((r = proto_end(b)) != 0)
		return r;
	return proto_size_ok(*cols, *rows) ? 0 : TUNL_ERR_RANGE;
}

/* ---- RESIZE-FREE: no payload ---------------------------------------------- */

int
proto_put_empty(struct buf *out, u_int8_t type)
{
	if (type != FRAME_RESIZE_FREE)
		return TUNL_ERR_FRAME_TYPE;
	return proto_begin(out, type, 0);
}

int
proto_get_empty(struct buf *b)
{
	return proto_end(b);
}

/* ---- VIEWERS: u16 count <= PROTO_VIEWERS_MAX, then (string name, u8 mode) -- */

int
proto_put_viewers(struct buf *out, const struct proto_viewers *v)
{
	size_t	 len = 2, before;
	u_int	 i;
	int	 r;

	if (v == NULL)
		return TUNL_ERR_INVALID;
	if (v->count > PROTO_VIEWERS_MAX)
		return TUNL_ERR_LENGTH;
	for (i = 0; i < v->count; i++) {
		if ((r = proto_name_check(v->v[i].name)) != 0)
			return r;
		if (v->v[i].mode != PROTO_MODE_RW &&
		    v->v[i].mode != PROTO_MODE_RO)
			return TUNL_ERR_RANGE;
		len += 4 + strlen(v->v[i].name) + 1;
	}
	before = buf_len(out);
	if ((r = proto_begin(out, FRAME_VIEWERS, len)) != 0)
		return r;
	if ((r = buf_put_u16(out, v->count)) != 0)
		return proto_undo(out, before, r);
	for (i = 0; i < v->count; i++) {
		if ((r = buf_put_cstring(out, v->v[i].name)) != 0 ||
		    (r = buf_put_u8(out, v->v[i].mode)) != 0)
			return proto_undo(out, before, r);
	}
	return 0;
}

int
proto_get_viewers(struct buf *b, struct proto_viewers *v)
{
	u_int	 i;
	int	 r;

	memset(v, 0, sizeof(*v));
	if ((r = buf_get_u16(b, &v->count)) != 0)
		return r;
	if (v->count > PROTO_VIEWERS_MAX) {
		v->count = 0;
		return TUNL_ERR_LENGTH;
	}
	for (i = 0; i < v->count; i++) {
		if ((r = proto_get_name(b, v->v[i].name)) != 0 ||
		    (r = buf_get_u8(b, &v->v[i].mode)) != 0)
			return r;
		if (v->v[i].mode != PROTO_MODE_RW &&
		    v->v[i].mode != PROTO_MODE_RO)
			return TUNL_ERR_RANGE;
	}
	return proto_end(b);
}
