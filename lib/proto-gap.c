/*
 * proto-gap.c: the GAP frame (docs/protocol.md, "Gaps").
 *
 * tunl-share sends it, in order with its OUTPUT frames, where output of
 * the customer's pane did not reach the relay: the broker puts a marker in
 * the recording at that point, logs an event and tells the engineers.
 *
 *	u8	reason		PROTO_GAP_SPOOL_FULL or PROTO_GAP_LINK_LOST
 *	u8	flags		PROTO_GAP_REPAIRED, PROTO_GAP_AT_MOST
 *	u64	bytes		output missing here
 *	u64	total		output missing so far in this tunl-share
 *
 * A frame with an unknown reason, unknown flags, or a total below its
 * bytes is refused.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"
#include "frame.h"

#define PROTO_GAP_LEN	18	/* u8 + u8 + u64 + u64 */

const char *
proto_gap_reason(u_int8_t reason)
{
	switch (reason) {
	case PROTO_GAP_SPOOL_FULL:
		return "the customer's spool was full";
	case PROTO_GAP_LINK_LOST:
		return "the customer's link to the relay dropped";
	}
	return "unknown";
}

static int
proto_gap_ok(const struct proto_gap *g)
{
	return g->reason >= 1 && g->reason <= PROTO_GAP_REASON_MAX &&
	    (g->flags & ~PROTO_GAP_FLAGS) == 0 && g->total >= g->bytes;
}

int
proto_put_gap(struct buf *out, const struct proto_gap *g)
{
	size_t	 before;
	int	 r;

	if (out == NULL || g == NULL || !proto_gap_ok(g))
		return TUNL_ERR_INVALID;
	if (FRAME_HEADER_LEN + PROTO_GAP_LEN > buf_avail(out))
		return TUNL_ERR_FULL;
	before = buf_len(out);
	if ((r = buf_put_u32(out, PROTO_GAP_LEN + 1)) != 0 ||
	    (r = buf_put_u8(out, FRAME_GAP)) != 0 ||
	    (r = buf_put_u8(out, g->reason)) != 0 ||
	    (r = buf_put_u8(out, g->flags)) != 0 ||
	    (r = buf_put_u64(out, g->bytes)) != 0 ||
	    (r = buf_put_u64(out, g->total)) != 0) {
		if (buf_len(out) > before)
			(void)buf_consume_end(out, buf_len(out) - before);
		return r;
	}
	return 0;
}

int
proto_get_gap(struct buf *b, struct proto_gap *g)
{
	int	 r;

	memset(g, 0, sizeof(*g));
	if ((r = buf_get_u8(b, &g->reason)) != 0 ||
	    (r = buf_get_u8(b, &g->flags)) != 0 ||
	    (r = buf_get_u64(b, &g->bytes)) != 0 ||
	    (r = buf_get_u64(b, &g->total)) != 0)
		return r;
	if (buf_len(b) != 0)
		return TUNL_ERR_INVALID;
	return proto_gap_ok(g) ? 0 : TUNL_ERR_RANGE;
}
