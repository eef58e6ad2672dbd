/*
 * test-proto.c: every frame payload's encoder and decoder; exact bytes,
 * round trips, truncation at every byte, trailing bytes, oversize and
 * out-of-range fields, hostile text.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"
#include "frame.h"


/* The id must be made of listed words; take four real ones. */
static char	 sid[ID_LEN_MAX];

static int
setup_sid(void **state)
{
	(void)state;
	snprintf(sid, sizeof(sid), "%s-%s-%s-%s", id_word(0), id_word(1),
	    id_word(2), id_word(3));
	return id_check(sid) == 0 ? 0 : -1;
}

/* Split one encoded frame into type and payload (a fresh buffer). */
static struct buf *
payload_of(const struct buf *frame, u_int8_t *type)
{
	u_int32_t	 len;

	assert_int_equal(buf_peek_u32(frame, 0, &len), 0);
	assert_int_equal(buf_len(frame), 4 + (size_t)len);
	*type = buf_ptr(frame)[4];
	return buf_from(buf_ptr(frame) + 5, len - 1);
}

/* Decode a payload of the given type with the matching decoder. */
static int
decode(u_int8_t type, const u_char *p, size_t len)
{
	struct buf		*b = buf_from(p, len);
	struct proto_hello	 h;
	struct proto_error	 e;
	struct proto_snapshot	 s;
	struct proto_chat	 c;
	struct proto_keys	 k;
	struct proto_viewers	 v;
	char			 t[PROTO_TEXT_MAX + 1];
	const u_char		*d;
	size_t			 dl;
	u_int32_t		 u;
	u_int16_t		 cols, rows;
	struct proto_gap	 g;
	int			 r;

	assert_non_null(b);
	switch (type) {
	case FRAME_HELLO:
		r = proto_get_hello(b, &h);
		break;
	case FRAME_ERROR:
		r = proto_get_error(b, &e);
		break;
	case FRAME_ACK:
	case FRAME_PING:
	case FRAME_PONG:
	case FRAME_SNAPSHOT_REQ:
		r = proto_get_u32(b, &u);
		break;
	case FRAME_OUTPUT:
		r = proto_get_output(b, &d, &dl);
		break;
	case FRAME_SNAPSHOT:
		r = proto_get_snapshot(b, &s);
		break;
	case FRAME_CHAT:
		r = proto_get_chat(b, &c);
		break;
	case FRAME_KEYS:
		r = proto_get_keys(b, &k);
		break;
	case FRAME_RESIZE:
		r = proto_get_resize(b, &cols, &rows);
		break;
	case FRAME_RESIZE_FREE:
		r = proto_get_empty(b);
		break;
	case FRAME_STATUS:
	case FRAME_NOTICE:
		r = proto_get_text(b, t);
		break;
	case FRAME_VIEWERS:
		r = proto_get_viewers(b, &v);
		break;
	case FRAME_GAP:
		r = proto_get_gap(b, &g);
		break;
	default:
		r = TUNL_ERR_FRAME_TYPE;
	}
	buf_free(b);
	return r;
}

/*
 * Every prefix of a valid payload shorter than fixed bytes must fail, and
 * so must the payload with one byte appended, unless the payload ends in
 * free-length data (output, snapshot, keys): then prefixes that keep the
 * fixed part, and a longer payload, still decode.
 */
static void
check_truncation(const struct buf *frame, size_t fixed, int open_tail)
{
	struct buf	*p;
	u_int8_t	 type;
	u_char		*longer;
	size_t		 i, len;

	p = payload_of(frame, &type);
	assert_non_null(p);
	len = buf_len(p);
	assert_int_equal(decode(type, buf_ptr(p), len), 0);
	for (i = 0; i < len; i++) {
		if (open_tail && i >= fixed)
			assert_int_equal(decode(type, buf_ptr(p), i), 0);
		else
			assert_int_not_equal(decode(type, buf_ptr(p), i), 0);
	}
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, buf_ptr(p), len);
	longer[len] = 'x';
	if (open_tail)
		assert_int_equal(decode(type, longer, len + 1), 0);
	else
		assert_int_equal(decode(type, longer, len + 1),
		    TUNL_ERR_INVALID);
	free(longer);
	buf_free(p);
}

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(proto_name_check("alice"), 0);
	assert_int_equal(proto_name_check("_svc.x-9"), 0);
	assert_int_equal(proto_name_check("a2345678901234567890123456789012"),
	    0);
	assert_int_not_equal(proto_name_check(
	    "a23456789012345678901234567890123"), 0);
	assert_int_not_equal(proto_name_check(""), 0);
	assert_int_not_equal(proto_name_check("9lives"), 0);
	assert_int_not_equal(proto_name_check("-x"), 0);
	assert_int_not_equal(proto_name_check("Alice"), 0);
	assert_int_not_equal(proto_name_check("al ice"), 0);
	assert_int_not_equal(proto_name_check("a/b"), 0);
	assert_int_not_equal(proto_name_check(NULL), 0);
}

static void
test_text(void **state)
{
	(void)state;
	assert_int_equal(proto_text_check("hello, world", 12), 0);
	assert_int_equal(proto_text_check("caf\xc3\xa9 \xe2\x82\xac "
	    "\xf0\x9f\x98\x80", 14), 0);
	assert_int_equal(proto_text_check("", 0), 0);
	assert_int_not_equal(proto_text_check("a\nb", 3), 0);
	assert_int_not_equal(proto_text_check("a\0b", 3), 0);
	assert_int_not_equal(proto_text_check("\x1b[2J", 4), 0);
	assert_int_not_equal(proto_text_check("\x7f", 1), 0);
	assert_int_not_equal(proto_text_check("\xc2\x9b", 2), 0);	/* CSI */
	assert_int_not_equal(proto_text_check("\x9b", 1), 0);
	assert_int_not_equal(proto_text_check("\xc0\xaf", 2), 0);	/* overlong */
	assert_int_not_equal(proto_text_check("\xed\xa0\x80", 3), 0);	/* surrogate */
	assert_int_not_equal(proto_text_check("\xf4\x90\x80\x80", 4), 0);
	assert_int_not_equal(proto_text_check("\xe2\x80\xae", 3), 0);	/* RLO */
	assert_int_not_equal(proto_text_check("\xe2\x80\xa8", 3), 0);	/* LS */
	assert_int_not_equal(proto_text_check("\xe2\x82", 2), 0);	/* cut */
	assert_int_not_equal(proto_text_check("\xff", 1), 0);
}

static void
test_hello(void **state)
{
	struct buf		*out = buf_new(1024), *p;
	struct proto_hello	 h, g;
	u_int8_t		 type;

	(void)state;
	/* Producer: exact bytes. */
	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	h.role = PROTO_ROLE_PRODUCER;
	tunl_strlcpy(h.session, sid, sizeof(h.session));
	assert_int_equal(proto_put_hello(out, &h), 0);
	assert_int_equal(buf_len(out), 5 + 4 + 2 + 1 + 4 + strlen(sid));
	assert_memory_equal(buf_ptr(out) + 4, "\x01tunl\x00\x01\x01", 8);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(type, FRAME_HELLO);
	assert_int_equal(proto_get_hello(p, &g), 0);
	assert_string_equal(g.session, sid);
	assert_int_equal(g.role, PROTO_ROLE_PRODUCER);
	assert_int_equal(g.has_token, 0);
	buf_free(p);

	/* Producer from admit: the token id it saw, 0 included. */
	buf_reset(out);
	h.has_token = 1;
	h.token = 0;
	assert_int_equal(proto_put_hello(out, &h), 0);
	assert_int_equal(buf_len(out), 5 + 4 + 2 + 1 + 4 + strlen(sid) + 8);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_hello(p, &g), 0);
	assert_int_equal(g.has_token, 1);
	assert_int_equal(g.token, 0);
	buf_free(p);
	buf_reset(out);
	h.token = 4242;
	assert_int_equal(proto_put_hello(out, &h), 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_hello(p, &g), 0);
	assert_int_equal(g.has_token, 1);
	assert_int_equal(g.token, 4242);
	buf_free(p);
	buf_reset(out);
	h.token = -1;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	assert_int_equal(buf_len(out), 0);
	h.has_token = 0;

	/* Consumer: round trip. */
	buf_reset(out);
	h.role = PROTO_ROLE_CONSUMER;
	tunl_strlcpy(h.engineer, "alice", sizeof(h.engineer));
	h.mode = PROTO_MODE_RO;
	h.cols = 132;
	h.rows = 43;
	assert_int_equal(proto_put_hello(out, &h), 0);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_hello(p, &g), 0);
	assert_string_equal(g.engineer, "alice");
	assert_int_equal(g.mode, PROTO_MODE_RO);
	assert_int_equal(g.cols, 132);
	assert_int_equal(g.rows, 43);
	buf_free(p);

	/* Broker reply; 0x0 means size unknown. */
	buf_reset(out);
	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	h.role = PROTO_ROLE_BROKER;
	tunl_strlcpy(h.session, sid, sizeof(h.session));
	h.mode = PROTO_SESSION_RESTRICTED;
	assert_int_equal(proto_put_hello(out, &h), 0);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_hello(p, &g), 0);
	assert_int_equal(g.mode, PROTO_SESSION_RESTRICTED);
	assert_int_equal(g.cols, 0);
	buf_free(p);

	/* Bad fields are refused by the encoder, nothing appended. */
	buf_reset(out);
	h.mode = 2;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	h.mode = 0;
	h.cols = 10;	/* rows 0 with cols set */
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	h.cols = 0;
	h.role = 4;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	h.role = PROTO_ROLE_CONSUMER;
	tunl_strlcpy(h.engineer, "Bob", sizeof(h.engineer));
	h.cols = 80;
	h.rows = 24;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_INVALID);
	tunl_strlcpy(h.engineer, "bob", sizeof(h.engineer));
	h.cols = 1001;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	h.cols = 80;
	h.rows = 501;
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_RANGE);
	h.rows = 24;
	tunl_strlcpy(h.session, "not-an-id", sizeof(h.session));
	assert_int_equal(proto_put_hello(out, &h), TUNL_ERR_INVALID);
	assert_int_equal(buf_len(out), 0);
	buf_free(out);
}

static void
test_hello_bad(void **state)
{
	struct proto_hello	 g;
	struct buf		*b;
	u_char			 p[128];
	size_t			 n;

	(void)state;
	/* Another version: named, rest not parsed. */
	b = buf_from("tunl\x00\x02garbage", 13);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_VERSION);
	assert_int_equal(g.version, 2);
	buf_free(b);
	/* Wrong magic. */
	b = buf_from("tunL\x00\x01\x01", 7);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_INVALID);
	buf_free(b);
	/* A session id that is not four listed words. */
	memcpy(p, "tunl\x00\x01\x01\x00\x00\x00\x07" "a-b-c-d", 18);
	b = buf_from(p, 18);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_INVALID);
	buf_free(b);
	/* An id string longer than any id: refused before copying. */
	memcpy(p, "tunl\x00\x01\x01\x00\x00\x00\x60", 11);
	memset(p + 11, 'a', 0x60);
	b = buf_from(p, 11 + 0x60);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_LENGTH);
	buf_free(b);
	/* An id with a NUL inside. */
	n = strlen(sid);
	memcpy(p, "tunl\x00\x01\x01\x00\x00\x00", 10);
	p[10] = (u_char)n;
	memcpy(p + 11, sid, n);
	p[12] = '\0';
	b = buf_from(p, 11 + n);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_NUL);
	buf_free(b);
	/* Unknown role. */
	memcpy(p, "tunl\x00\x01\x09\x00\x00\x00", 10);
	p[10] = (u_char)n;
	memcpy(p + 11, sid, n);
	b = buf_from(p, 11 + n);
	assert_int_equal(proto_get_hello(b, &g), TUNL_ERR_RANGE);
	buf_free(b);
}

static void
test_error(void **state)
{
	struct buf		*out = buf_new(1024), *p;
	struct proto_error	 e;
	char			 big[PROTO_TEXT_MAX + 2];
	u_int8_t		 type;

	(void)state;
	assert_int_equal(proto_put_error(out, PROTO_ERR_BUSY,
	    "producer already connected"), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x21\x02\x00\x06"
	    "\x00\x00\x00\x1aproducer", 15);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_error(p, &e), 0);
	assert_int_equal(e.code, PROTO_ERR_BUSY);
	assert_string_equal(e.message, "producer already connected");
	buf_free(p);

	buf_reset(out);
	memset(big, 'x', sizeof(big));
	big[PROTO_TEXT_MAX] = '\0';
	assert_int_equal(proto_put_error(out, 1, big), 0);
	buf_reset(out);
	big[PROTO_TEXT_MAX] = 'x';
	big[PROTO_TEXT_MAX + 1] = '\0';
	assert_int_equal(proto_put_error(out, 1, big), TUNL_ERR_LENGTH);
	assert_int_equal(proto_put_error(out, 1, "two\nlines"),
	    TUNL_ERR_INVALID);
	assert_int_equal(buf_len(out), 0);

	/* A message with an escape on the wire is refused. */
	p = buf_from("\x00\x01\x00\x00\x00\x03\x1b[m", 9);
	assert_int_equal(proto_get_error(p, &e), TUNL_ERR_INVALID);
	buf_free(p);
	/* One byte over the bound on the wire. */
	p = buf_new(512);
	assert_int_equal(buf_put_u16(p, 1), 0);
	assert_int_equal(buf_put_string(p, big, PROTO_TEXT_MAX + 1), 0);
	assert_int_equal(proto_get_error(p, &e), TUNL_ERR_LENGTH);
	buf_free(p);
	buf_free(out);
}

static void
test_u32(void **state)
{
	static const u_int8_t	 types[] = { FRAME_ACK, FRAME_PING,
	    FRAME_PONG, FRAME_SNAPSHOT_REQ };
	struct buf		*out = buf_new(64), *p;
	u_int32_t		 v;
	u_int8_t		 type;
	size_t			 i;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(types); i++) {
		buf_reset(out);
		assert_int_equal(proto_put_u32(out, types[i], 0xdeadbeef), 0);
		assert_int_equal(buf_len(out), 9);
		check_truncation(out, 0, 0);
		p = payload_of(out, &type);
		assert_int_equal(type, types[i]);
		assert_int_equal(proto_get_u32(p, &v), 0);
		assert_int_equal(v, 0xdeadbeef);
		buf_free(p);
	}
	assert_int_equal(proto_put_u32(out, FRAME_OUTPUT, 1),
	    TUNL_ERR_FRAME_TYPE);
	buf_free(out);
}

static void
test_output(void **state)
{
	struct buf	*out = buf_new(FRAME_HEADER_LEN + FRAME_MAX), *p;
	u_char		*big;
	const u_char	*d;
	size_t		 dl;
	u_int8_t	 type;

	(void)state;
	assert_int_equal(proto_put_output(out, "\x1b[1mhi\0", 7), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x08\x10\x1b[1mhi\0",
	    12);
	check_truncation(out, 1, 1);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_output(p, &d, &dl), 0);
	assert_int_equal(dl, 7);
	assert_memory_equal(d, "\x1b[1mhi\0", 7);
	buf_free(p);
	/* Empty output is refused both ways. */
	assert_int_equal(proto_put_output(out, "", 0), TUNL_ERR_INVALID);
	p = buf_new(1);
	assert_int_equal(proto_get_output(p, &d, &dl), TUNL_ERR_INVALID);
	buf_free(p);
	/* The largest payload fits; one more byte does not. */
	big = calloc(1, FRAME_PAYLOAD_MAX + 1);
	assert_non_null(big);
	buf_reset(out);
	assert_int_equal(proto_put_output(out, big, FRAME_PAYLOAD_MAX), 0);
	buf_reset(out);
	assert_int_equal(proto_put_output(out, big, FRAME_PAYLOAD_MAX + 1),
	    TUNL_ERR_LENGTH);
	/* Not enough room in out: TUNL_ERR_FULL and nothing written. */
	buf_free(out);
	out = buf_new(100);
	assert_int_equal(proto_put_output(out, big, 96), TUNL_ERR_FULL);
	assert_int_equal(buf_len(out), 0);
	assert_int_equal(proto_put_output(out, big, 95), 0);
	free(big);
	buf_free(out);
}

static void
test_snapshot(void **state)
{
	struct buf		*out = buf_new(4096), *p;
	struct proto_snapshot	 s, g;
	u_int8_t		 type;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.id = 7;
	s.cols = 80;
	s.rows = 24;
	s.cx = 79;
	s.cy = 23;
	s.data = (const u_char *)"screen";
	s.len = 6;
	assert_int_equal(proto_put_snapshot(out, &s), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x13\x11"
	    "\x00\x00\x00\x07\x00\x50\x00\x18\x00\x4f\x00\x17screen", 23);
	check_truncation(out, PROTO_SNAPSHOT_HDR, 1);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_snapshot(p, &g), 0);
	assert_int_equal(g.id, 7);
	assert_int_equal(g.cols, 80);
	assert_int_equal(g.cy, 23);
	assert_int_equal(g.len, 6);
	assert_memory_equal(g.data, "screen", 6);
	buf_free(p);

	buf_reset(out);
	s.cx = 80;	/* cursor outside the screen */
	assert_int_equal(proto_put_snapshot(out, &s), TUNL_ERR_RANGE);
	s.cx = 0;
	s.rows = 0;
	assert_int_equal(proto_put_snapshot(out, &s), TUNL_ERR_RANGE);
	s.rows = 501;
	assert_int_equal(proto_put_snapshot(out, &s), TUNL_ERR_RANGE);
	s.rows = 24;
	s.len = FRAME_PAYLOAD_MAX;
	assert_int_equal(proto_put_snapshot(out, &s), TUNL_ERR_LENGTH);
	assert_int_equal(buf_len(out), 0);
	/* On the wire: cursor row past the screen. */
	p = buf_from("\x00\x00\x00\x01\x00\x50\x00\x18\x00\x00\x00\x18", 12);
	assert_int_equal(proto_get_snapshot(p, &g), TUNL_ERR_RANGE);
	buf_free(p);
	/* An empty screen is allowed. */
	p = buf_from("\x00\x00\x00\x01\x00\x50\x00\x18\x00\x00\x00\x00", 12);
	assert_int_equal(proto_get_snapshot(p, &g), 0);
	assert_int_equal(g.len, 0);
	buf_free(p);
	buf_free(out);
}

static void
test_chat(void **state)
{
	struct buf		*out = buf_new(4096), *p;
	struct proto_chat	 c, g;
	u_int8_t		 type;

	(void)state;
	memset(&c, 0, sizeof(c));
	tunl_strlcpy(c.from, "customer", sizeof(c.from));
	tunl_strlcpy(c.text, "hi there \xe2\x9c\x93", sizeof(c.text));
	assert_int_equal(proto_put_chat(out, &c), 0);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(type, FRAME_CHAT);
	assert_int_equal(proto_get_chat(p, &g), 0);
	assert_string_equal(g.from, "customer");
	assert_string_equal(g.text, c.text);
	buf_free(p);

	buf_reset(out);
	memset(c.text, 'y', PROTO_CHAT_MAX);
	c.text[PROTO_CHAT_MAX] = '\0';
	assert_int_equal(proto_put_chat(out, &c), 0);
	buf_reset(out);
	c.text[PROTO_CHAT_MAX] = 'y';	/* no NUL inside the array */
	assert_int_equal(proto_put_chat(out, &c), TUNL_ERR_LENGTH);
	c.text[0] = '\0';
	assert_int_equal(proto_put_chat(out, &c), TUNL_ERR_INVALID);
	tunl_strlcpy(c.text, "bell\a", sizeof(c.text));
	assert_int_equal(proto_put_chat(out, &c), TUNL_ERR_INVALID);
	tunl_strlcpy(c.text, "ok", sizeof(c.text));
	tunl_strlcpy(c.from, "Cust", sizeof(c.from));
	assert_int_equal(proto_put_chat(out, &c), TUNL_ERR_INVALID);
	assert_int_equal(buf_len(out), 0);
	/* Wire text over the bound. */
	p = buf_new(4096);
	assert_int_equal(buf_put_cstring(p, "bob"), 0);
	assert_int_equal(buf_put_u32(p, PROTO_CHAT_MAX + 1), 0);
	for (size_t i = 0; i <= PROTO_CHAT_MAX; i++)
		assert_int_equal(buf_put_u8(p, 'z'), 0);
	assert_int_equal(proto_get_chat(p, &g), TUNL_ERR_LENGTH);
	buf_free(p);
	buf_free(out);
}

static void
test_keys(void **state)
{
	struct buf		*out = buf_new(8192), *p;
	struct proto_keys	 k, g;
	u_char			 big[PROTO_KEYS_MAX + 1];
	u_int8_t		 type;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.pane = FRAME_PANE_MAIN;
	tunl_strlcpy(k.engineer, "alice", sizeof(k.engineer));
	k.data = (const u_char *)"ls\r";
	k.len = 3;
	assert_int_equal(proto_put_keys(out, &k), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x0e\x21\x00"
	    "\x00\x00\x00\x05" "alicels\r", 18);
	check_truncation(out, 1 + 4 + 5 + 1, 1);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_keys(p, &g), 0);
	assert_int_equal(g.pane, FRAME_PANE_MAIN);
	assert_string_equal(g.engineer, "alice");
	assert_int_equal(g.len, 3);
	assert_memory_equal(g.data, "ls\r", 3);
	buf_free(p);

	buf_reset(out);
	memset(big, 'k', sizeof(big));
	k.data = big;
	k.len = PROTO_KEYS_MAX;
	k.pane = FRAME_PANE_CHAT;
	assert_int_equal(proto_put_keys(out, &k), 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_keys(p, &g), 0);
	assert_int_equal(g.pane, FRAME_PANE_CHAT);
	buf_free(p);
	buf_reset(out);
	k.len = PROTO_KEYS_MAX + 1;
	assert_int_equal(proto_put_keys(out, &k), TUNL_ERR_LENGTH);
	k.len = 0;
	assert_int_equal(proto_put_keys(out, &k), TUNL_ERR_INVALID);
	k.len = 1;
	k.pane = 2;
	assert_int_equal(proto_put_keys(out, &k), TUNL_ERR_RANGE);
	assert_int_equal(buf_len(out), 0);
	/* Wire: too many key bytes, unknown pane. */
	p = buf_new(8192);
	assert_int_equal(buf_put_u8(p, 0), 0);
	assert_int_equal(buf_put_cstring(p, "bob"), 0);
	assert_int_equal(buf_put(p, big, sizeof(big)), 0);
	assert_int_equal(proto_get_keys(p, &g), TUNL_ERR_LENGTH);
	buf_free(p);
	p = buf_from("\x02\x00\x00\x00\x01" "bx", 7);
	assert_int_equal(proto_get_keys(p, &g), TUNL_ERR_RANGE);
	buf_free(p);
	buf_free(out);
}

/* gap: fixed size; reason, flags and total checked both ways. */
static void
test_gap(void **state)
{
	struct buf		*out = buf_new(64), *p;
	struct proto_gap	 g, back;
	u_int8_t		 type;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.reason = PROTO_GAP_LINK_LOST;
	g.flags = PROTO_GAP_AT_LEAST | PROTO_GAP_REPAIRED;
	g.bytes = 0x0102030405ULL;
	g.total = 0x0102030406ULL;
	assert_int_equal(proto_put_gap(out, &g), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x13\x40\x02\x03"
	    "\x00\x00\x00\x01\x02\x03\x04\x05"
	    "\x00\x00\x00\x01\x02\x03\x04\x06", 23);
	check_truncation(out, 18, 0);
	p = payload_of(out, &type);
	assert_int_equal(type, FRAME_GAP);
	assert_int_equal(proto_get_gap(p, &back), 0);
	assert_int_equal(back.reason, g.reason);
	assert_int_equal(back.flags, g.flags);
	assert_true(back.bytes == g.bytes && back.total == g.total);
	buf_free(p);
	buf_reset(out);
	/* Refused to write and to read: reason, flags, total below bytes. */
	g.reason = 0;
	assert_int_equal(proto_put_gap(out, &g), TUNL_ERR_INVALID);
	g.reason = PROTO_GAP_REASON_MAX + 1;
	assert_int_equal(proto_put_gap(out, &g), TUNL_ERR_INVALID);
	g.reason = PROTO_GAP_SPOOL_FULL;
	g.flags = 0x04;
	assert_int_equal(proto_put_gap(out, &g), TUNL_ERR_INVALID);
	g.flags = 0;
	g.total = g.bytes - 1;
	assert_int_equal(proto_put_gap(out, &g), TUNL_ERR_INVALID);
	assert_int_equal(buf_len(out), 0);
	p = buf_from("\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x00", 18);
	assert_int_equal(proto_get_gap(p, &back), TUNL_ERR_RANGE);
	buf_free(p);
	p = buf_from("\x01\x80\x00\x00\x00\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x00", 18);
	assert_int_equal(proto_get_gap(p, &back), TUNL_ERR_RANGE);
	buf_free(p);
	p = buf_from("\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02"
	    "\x00\x00\x00\x00\x00\x00\x00\x01", 18);
	assert_int_equal(proto_get_gap(p, &back), TUNL_ERR_RANGE);
	buf_free(p);
	assert_string_equal(frame_type_name(FRAME_GAP), "gap");
	buf_free(out);
}

static void
test_resize(void **state)
{
	struct buf	*out = buf_new(64), *p;
	u_int16_t	 c, r;
	u_int8_t	 type;

	(void)state;
	assert_int_equal(proto_put_resize(out, 1000, 500), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x05\x22\x03\xe8\x01"
	    "\xf4", 9);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_resize(p, &c, &r), 0);
	assert_int_equal(c, 1000);
	assert_int_equal(r, 500);
	buf_free(p);
	buf_reset(out);
	assert_int_equal(proto_put_resize(out, 1001, 24), TUNL_ERR_RANGE);
	assert_int_equal(proto_put_resize(out, 80, 0), TUNL_ERR_RANGE);
	assert_int_equal(proto_put_resize(out, 0, 24), TUNL_ERR_RANGE);
	assert_int_equal(buf_len(out), 0);
	p = buf_from("\x00\x50\x01\xf5", 4);
	assert_int_equal(proto_get_resize(p, &c, &r), TUNL_ERR_RANGE);
	buf_free(p);

	/* resize-free: a header and nothing else; a byte more is malformed. */
	assert_int_equal(proto_put_empty(out, FRAME_RESIZE_FREE), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x01\x27", 5);
	p = payload_of(out, &type);
	assert_int_equal(type, FRAME_RESIZE_FREE);
	assert_int_equal(proto_get_empty(p), 0);
	buf_free(p);
	buf_reset(out);
	assert_int_equal(proto_put_empty(out, FRAME_RESIZE),
	    TUNL_ERR_FRAME_TYPE);
	assert_int_equal(buf_len(out), 0);
	p = buf_from("x", 1);
	assert_int_not_equal(proto_get_empty(p), 0);
	buf_free(p);
	buf_free(out);
}

static void
test_text_frames(void **state)
{
	struct buf	*out = buf_new(512), *p;
	char		 t[PROTO_TEXT_MAX + 1], big[PROTO_TEXT_MAX + 2];
	u_int8_t	 type;

	(void)state;
	assert_int_equal(proto_put_text(out, FRAME_NOTICE,
	    "tunl: you fell behind; resynchronising"), 0);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(type, FRAME_NOTICE);
	assert_int_equal(proto_get_text(p, t), 0);
	assert_string_equal(t, "tunl: you fell behind; resynchronising");
	buf_free(p);
	buf_reset(out);
	assert_int_equal(proto_put_text(out, FRAME_STATUS, "alice joined"), 0);
	check_truncation(out, 0, 0);
	buf_reset(out);
	assert_int_equal(proto_put_text(out, FRAME_STATUS, ""), 0);
	buf_reset(out);
	memset(big, 'n', sizeof(big));
	big[PROTO_TEXT_MAX + 1] = '\0';
	assert_int_equal(proto_put_text(out, FRAME_NOTICE, big),
	    TUNL_ERR_LENGTH);
	assert_int_equal(proto_put_text(out, FRAME_NOTICE, "\x1b]52;c;x\a"),
	    TUNL_ERR_INVALID);
	assert_int_equal(proto_put_text(out, FRAME_CHAT, "x"),
	    TUNL_ERR_FRAME_TYPE);
	assert_int_equal(buf_len(out), 0);
	buf_free(out);
}

static void
test_viewers(void **state)
{
	struct buf		*out = buf_new(8192), *p;
	struct proto_viewers	 v, g;
	u_int8_t		 type;
	u_int			 i;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.count = 2;
	tunl_strlcpy(v.v[0].name, "alice", sizeof(v.v[0].name));
	v.v[0].mode = PROTO_MODE_RW;
	tunl_strlcpy(v.v[1].name, "bob", sizeof(v.v[1].name));
	v.v[1].mode = PROTO_MODE_RO;
	assert_int_equal(proto_put_viewers(out, &v), 0);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x15\x31\x00\x02"
	    "\x00\x00\x00\x05" "alice\x00" "\x00\x00\x00\x03" "bob\x01", 25);
	check_truncation(out, 0, 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_viewers(p, &g), 0);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.v[1].name, "bob");
	assert_int_equal(g.v[1].mode, PROTO_MODE_RO);
	buf_free(p);

	/* No viewers, and the most there may be. */
	buf_reset(out);
	v.count = 0;
	assert_int_equal(proto_put_viewers(out, &v), 0);
	check_truncation(out, 0, 0);
	buf_reset(out);
	for (i = 0; i < PROTO_VIEWERS_MAX; i++) {
		snprintf(v.v[i].name, sizeof(v.v[i].name), "e%u", i);
		v.v[i].mode = i & 1;
	}
	v.count = PROTO_VIEWERS_MAX;
	assert_int_equal(proto_put_viewers(out, &v), 0);
	p = payload_of(out, &type);
	assert_int_equal(proto_get_viewers(p, &g), 0);
	assert_int_equal(g.count, PROTO_VIEWERS_MAX);
	assert_string_equal(g.v[63].name, "e63");
	buf_free(p);
	buf_reset(out);
	v.count = PROTO_VIEWERS_MAX + 1;
	assert_int_equal(proto_put_viewers(out, &v), TUNL_ERR_LENGTH);
	v.count = 1;
	v.v[0].mode = 3;
	assert_int_equal(proto_put_viewers(out, &v), TUNL_ERR_RANGE);
	assert_int_equal(buf_len(out), 0);
	/* Wire: a count over the bound, a bad mode. */
	p = buf_from("\x00\x41", 2);
	assert_int_equal(proto_get_viewers(p, &g), TUNL_ERR_LENGTH);
	buf_free(p);
	p = buf_from("\x00\x01\x00\x00\x00\x01" "a\x02", 8);
	assert_int_equal(proto_get_viewers(p, &g), TUNL_ERR_RANGE);
	buf_free(p);
	buf_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_bad),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_chat),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_text_frames),
		cmocka_unit_test(test_viewers),
	};

	return cmocka_run_group_tests(tests, setup_sid, NULL);
}
