/*
 * frame.c: encoding and decoding of tunl frames (see frame.h and
 * docs/protocol.md).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "frame.h"

/* The reader buffers at most one whole frame plus one header. */
#define FRAME_READER_MAX	(FRAME_HEADER_LEN + FRAME_MAX + FRAME_HEADER_LEN)

static const struct {
	u_int8_t	 type;
	const char	*name;
} frame_names[] = {
	{ FRAME_HELLO,			"hello" },
	{ FRAME_ERROR,			"error" },
	{ FRAME_ACK,			"ack" },
	{ FRAME_PING,			"ping" },
	{ FRAME_PONG,			"pong" },
	{ FRAME_OUTPUT,			"output" },
	{ FRAME_SNAPSHOT,		"snapshot" },
	{ FRAME_CHAT,			"chat" },
	{ FRAME_SNAPSHOT_REQ,		"snapshot-request" },
	{ FRAME_KEYS,			"keys" },
	{ FRAME_RESIZE,			"resize" },
	{ FRAME_STATUS,			"status" },
	{ FRAME_TUNNEL_UPGRADE,		"tunnel-upgrade" },
	{ FRAME_TUNNEL_KEY,		"tunnel-key" },
	{ FRAME_TUNNEL_CONFIRMED,	"tunnel-confirmed" },
	{ FRAME_RESIZE_FREE,		"resize-free" },
	{ FRAME_NOTICE,			"notice" },
	{ FRAME_VIEWERS,		"viewers" },
	{ FRAME_GAP,			"gap" },
	{ FRAME_REGISTRY_CHANGED,	"registry-changed" },
};

const char *
frame_type_name(u_int8_t type)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(frame_names); i++) {
		if (frame_names[i].type == type)
			return frame_names[i].name;
	}
	return "unknown";
}

int
frame_type_known(u_int8_t type)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(frame_names); i++) {
		if (frame_names[i].type == type)
			return 1;
	}
	return 0;
}

/* Append one frame to out; nothing is appended if it does not fit. */
int
frame_put(struct buf *out, u_int8_t type, const void *payload, size_t len)
{
	int	 r;

	if (len > FRAME_PAYLOAD_MAX)
		return TUNL_ERR_LENGTH;
	if (FRAME_HEADER_LEN + len > buf_avail(out))
		return TUNL_ERR_FULL;
	if ((r = buf_put_u32(out, (u_int32_t)(len + 1))) != 0 ||
	    (r = buf_put_u8(out, type)) != 0 ||
	    (r = buf_put(out, payload, len)) != 0)
		return r;	/* not reached: room was checked above */
	return 0;
}

int
frame_put_buf(struct buf *out, u_int8_t type, const struct buf *payload)
{
	return frame_put(out, type, buf_ptr(payload), buf_len(payload));
}

int
frame_reader_init(struct frame_reader *fr)
{
	memset(fr, 0, sizeof(*fr));
	if ((fr->in = buf_new(FRAME_READER_MAX)) == NULL ||
	    (fr->payload = buf_new(FRAME_PAYLOAD_MAX)) == NULL) {
		frame_reader_free(fr);
		return TUNL_ERR_ALLOC;
	}
	return 0;
}

void
frame_reader_free(struct frame_reader *fr)
{
	buf_free(fr->in);
	buf_free(fr->payload);
	memset(fr, 0, sizeof(*fr));
}

/*
 * Give the reader bytes from the stream. Bytes that belong to a frame
 * being skipped are dropped here. Returns TUNL_ERR_FULL (and takes
 * nothing) when the caller should first drain frames with
 * frame_reader_next; a caller that feeds at most FRAME_HEADER_LEN +
 * FRAME_MAX bytes after each drain never sees it.
 */
int
frame_reader_feed(struct frame_reader *fr, const void *data, size_t len)
{
	const u_char	*p = data;
	size_t		 n;

	if (fr->skip > 0) {
		n = len < fr->skip ? len : fr->skip;
		fr->skip -= n;
		p += n;
		len -= n;
	}
	if (len == 0)
		return 0;
	if (len > buf_avail(fr->in))
		return TUNL_ERR_FULL;
	return buf_put(fr->in, p, len);
}

/*
 * Take the next whole frame. Returns 0 with *f filled (the payload is
 * valid until the next call), TUNL_ERR_SHORT when more bytes are needed,
 * or TUNL_ERR_LENGTH when a frame announced a length of zero or over
 * FRAME_MAX: that frame is skipped (the caller reports it, with
 * frame_reader_why, and goes on).
 * Unknown types are returned like any other; the caller decides.
 */
int
frame_reader_next(struct frame_reader *fr, struct frame *f)
{
	u_int32_t	 len;
	u_int8_t	 type;
	size_t		 have;
	int		 r;

	memset(f, 0, sizeof(*f));
	buf_reset(fr->payload);
	if (fr->skip > 0)
		return TUNL_ERR_SHORT;
	if ((r = buf_peek_u32(fr->in, 0, &len)) != 0)
		return TUNL_ERR_SHORT;
	if (len == 0 || len > FRAME_MAX) {
		fr->bad_len = len;
		(void)buf_consume(fr->in, 4);
		have = buf_len(fr->in);
		if (len == 0)
			return TUNL_ERR_LENGTH;
		if (have >= len) {
			(void)buf_consume(fr->in, len);
		} else {
			(void)buf_consume(fr->in, have);
			fr->skip = len - have;
		}
		fr->skipped++;
		return TUNL_ERR_LENGTH;
	}
	if (buf_len(fr->in) - 4 < len)
		return TUNL_ERR_SHORT;
	if ((r = buf_consume(fr->in, 4)) != 0 ||
	    (r = buf_get_u8(fr->in, &type)) != 0 ||
	    (r = buf_put(fr->payload, buf_ptr(fr->in), len - 1)) != 0 ||
	    (r = buf_consume(fr->in, len - 1)) != 0)
		return r;
	f->type = type;
	f->payload = fr->payload;
	return 0;
}

/*
 * Why the last frame was refused with TUNL_ERR_LENGTH, in words for a log
 * line and an error frame: a length of 0 (not even a type byte) and one
 * over FRAME_MAX are different faults.
 */
const char *
frame_reader_why(const struct frame_reader *fr, char *out, size_t len)
{
	if (fr->bad_len == 0)
		(void)snprintf(out, len, "empty frame (length 0, no type "
		    "byte) dropped");
	else
		(void)snprintf(out, len, "frame of %lu bytes, over %u, "
		    "skipped", (unsigned long)fr->bad_len, (u_int)FRAME_MAX);
	return out;
}
