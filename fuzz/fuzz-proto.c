/*
 * fuzz-proto.c: libFuzzer target for the frame payload decoders. The first
 * input byte picks the frame type, the rest is the payload. Whatever
 * decodes must encode again to exactly the same bytes (the encoding is
 * canonical), and nothing may crash, leak or read out of bounds.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tunl.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const u_int8_t fuzz_types[] = {
	FRAME_HELLO, FRAME_ERROR, FRAME_ACK, FRAME_PING, FRAME_PONG,
	FRAME_OUTPUT, FRAME_SNAPSHOT, FRAME_CHAT, FRAME_SNAPSHOT_REQ,
	FRAME_KEYS, FRAME_RESIZE, FRAME_STATUS, FRAME_NOTICE, FRAME_VIEWERS,
	FRAME_RESIZE_FREE, FRAME_GAP,
};

/* Encode what was decoded (into out) with the matching encoder. */
static int
fuzz_one(u_int8_t type, struct buf *in, struct buf *out)
{
	static struct proto_viewers	 v;
	static struct proto_chat	 c;
	struct proto_gap		 g;
	struct proto_hello		 h;
	struct proto_error		 e;
	struct proto_snapshot		 s;
	struct proto_keys		 k;
	char				 t[PROTO_TEXT_MAX + 1];
	const u_char			*d;
	size_t				 dl;
	u_int32_t			 u;
	u_int16_t			 cols, rows;

	switch (type) {
	case FRAME_HELLO:
		if (proto_get_hello(in, &h) != 0)
			return 1;
		return proto_put_hello(out, &h);
	case FRAME_ERROR:
		if (proto_get_error(in, &e) != 0)
			return 1;
		return proto_put_error(out, e.code, e.message);
	case FRAME_ACK:
	case FRAME_PING:
	case FRAME_PONG:
	case FRAME_SNAPSHOT_REQ:
		if (proto_get_u32(in, &u) != 0)
			return 1;
		return proto_put_u32(out, type, u);
	case FRAME_OUTPUT:
		if (proto_get_output(in, &d, &dl) != 0)
			return 1;
		return proto_put_output(out, d, dl);
	case FRAME_SNAPSHOT:
		if (proto_get_snapshot(in, &s) != 0)
			return 1;
		return proto_put_snapshot(out, &s);
	case FRAME_CHAT:
		if (proto_get_chat(in, &c) != 0)
			return 1;
		return proto_put_chat(out, &c);
	case FRAME_KEYS:
		if (proto_get_keys(in, &k) != 0)
			return 1;
		return proto_put_keys(out, &k);
	case FRAME_RESIZE:
		if (proto_get_resize(in, &cols, &rows) != 0)
			return 1;
		return proto_put_resize(out, cols, rows);
	case FRAME_RESIZE_FREE:
		if (proto_get_empty(in) != 0)
			return 1;
		return proto_put_empty(out, type);
	case FRAME_STATUS:
	case FRAME_NOTICE:
		if (proto_get_text(in, t) != 0)
			return 1;
		return proto_put_text(out, type, t);
	case FRAME_VIEWERS:
		if (proto_get_viewers(in, &v) != 0)
			return 1;
		return proto_put_viewers(out, &v);
	case FRAME_GAP:
		if (proto_get_gap(in, &g) != 0)
			return 1;
		return proto_put_gap(out, &g);
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	*in, *out;
	u_int8_t	 type;
	int		 r;

	if (len < 1 || len - 1 > FRAME_PAYLOAD_MAX)
		return 0;
	type = fuzz_types[data[0] % TUNL_NITEMS(fuzz_types)];
	data++;
	len--;
	if ((in = buf_from(data, len)) == NULL)
		return 0;
	if ((out = buf_new(FRAME_HEADER_LEN + FRAME_MAX)) == NULL) {
		buf_free(in);
		return 0;
	}
	r = fuzz_one(type, in, out);
	if (r == 0) {
		/* Decoded: the same bytes must come back, framed. */
		if (buf_len(out) != FRAME_HEADER_LEN + len ||
		    buf_ptr(out)[4] != type ||
		    (len > 0 && memcmp(buf_ptr(out) + FRAME_HEADER_LEN, data,
		    len) != 0))
			__builtin_trap();
	} else if (r < 0)
		__builtin_trap();	/* decoded but would not encode */
	buf_free(out);
	buf_free(in);
	return 0;
}
