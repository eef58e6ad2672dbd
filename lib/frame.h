/*
 * frame.h: the tunl wire protocol's framing (docs/protocol.md).
 *
 * Every message on the customer's ssh channel and on a broker socket is a
 * frame:
 *
 *	u32	length		bytes that follow (type + payload), 1..FRAME_MAX
 *	u8	type		FRAME_* below
 *	byte[]	payload		length - 1 bytes, laid out per type
 *
 * Integers are big-endian; strings are u32 length + bytes. The length is
 * checked against FRAME_MAX before anything is allocated. A peer's first
 * frame is FRAME_HELLO carrying TUNL_PROTO_VERSION; a peer that speaks
 * another major version is refused with FRAME_ERROR.
 */
#ifndef TUNL_FRAME_H
#define TUNL_FRAME_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct buf;

#define TUNL_PROTO_VERSION	1
#define TUNL_PROTO_MAGIC	"tunl"

#define FRAME_HEADER_LEN	5		/* u32 length + u8 type */
#define FRAME_MAX		(256 * 1024)	/* type + payload */
#define FRAME_PAYLOAD_MAX	(FRAME_MAX - 1)

/* Frame types. Values are part of the protocol: never renumber. */
enum frame_type {
	/* Both directions. */
	FRAME_HELLO		= 0x01,	/* magic, u16 version, u8 role, ... */
	FRAME_ERROR		= 0x02,	/* u16 code, string message */
	FRAME_ACK		= 0x03,	/* u32 sequence acknowledged */
	FRAME_PING		= 0x04,	/* u32 nonce */
	FRAME_PONG		= 0x05,	/* u32 nonce */

	/* Relay-bound: from the customer (producer). */
	FRAME_OUTPUT		= 0x10,	/* bytes of the shared pane */
	FRAME_SNAPSHOT		= 0x11,	/* u32 id, u16 cols, rows, x, y, bytes */
	FRAME_CHAT		= 0x12,	/* string from, string text */

	/* Customer-bound: requests the allowlist in tunl-share checks. */
	FRAME_SNAPSHOT_REQ	= 0x20,	/* u32 request id */
	FRAME_KEYS		= 0x21,	/* u8 pane, string engineer, bytes */
	FRAME_RESIZE		= 0x22,	/* u16 cols, u16 rows */
	FRAME_STATUS		= 0x23,	/* string status text */
	FRAME_TUNNEL_UPGRADE	= 0x24,	/* string engineer */
	FRAME_TUNNEL_KEY	= 0x25,	/* string authorized_keys line */
	FRAME_TUNNEL_CONFIRMED	= 0x26,	/* u16 port */
	FRAME_RESIZE_FREE	= 0x27,	/* empty: the customer's own size */

	/* Broker to consumer (engineer). */
	FRAME_NOTICE		= 0x30,	/* string one-line notice */
	FRAME_VIEWERS		= 0x31,	/* u16 count, (string name, u8 mode) */

	/* Relay-bound, in the output's order (lib/proto-gap.c). */
	FRAME_GAP		= 0x40,	/* u8 reason, u8 flags, u64 bytes,
					   u64 total */

	/* relay programs -> broker, alone on a connection (docs/protocol.md) */
	FRAME_REGISTRY_CHANGED	= 0x50,	/* bytes: the session id */
};

/* Panes a FRAME_KEYS may name. */
#define FRAME_PANE_MAIN		0
#define FRAME_PANE_CHAT		1

struct frame {
	u_int8_t	 type;
	struct buf	*payload;	/* owned by the reader */
};

/*
 * A reader pulls whole frames out of a byte stream. An oversized frame is
 * skipped as its bytes arrive, without being buffered, so one bad frame
 * costs the peer that frame and not the session.
 */
struct frame_reader {
	struct buf	*in;		/* bytes not yet framed */
	struct buf	*payload;	/* the last frame's payload */
	size_t		 skip;		/* bytes of an oversized frame to drop */
	size_t		 skipped;	/* oversized frames dropped so far */
	u_int32_t	 bad_len;	/* the length a refused frame gave:
					   0, or over FRAME_MAX */
};

const char	*frame_type_name(u_int8_t);
int		 frame_type_known(u_int8_t);
int		 frame_put(struct buf *, u_int8_t, const void *, size_t);
int		 frame_put_buf(struct buf *, u_int8_t, const struct buf *);
int		 frame_reader_init(struct frame_reader *);
void		 frame_reader_free(struct frame_reader *);
int		 frame_reader_feed(struct frame_reader *, const void *, size_t);
int		 frame_reader_next(struct frame_reader *, struct frame *);
const char	*frame_reader_why(const struct frame_reader *, char *, size_t);

#endif /* TUNL_FRAME_H */
