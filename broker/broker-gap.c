/*
 * broker-gap.c: the customer's output that never reached the relay.
 *
 * tunl-share sends a GAP frame (lib/proto-gap.c) in the order of its
 * output where output of the customer's pane is missing: its spool was at
 * its cap, or the link dropped with output on it. The recording gets a
 * marker event at that point ("m", docs/recording.md) with how many bytes
 * and why, the registry an `output-gap` event, the log an error line and
 * every engineer a notice; the counts are tunl-share's own
 * (dropped_output, the total so far). The engineers' screens are then
 * redrawn from a fresh snapshot, which the recording gets too
 * (session_gap_repaired), so that playing it on from the marker shows
 * the screen as it was.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "broker.h"

/*
 * What to tell the engineers: 0 with text filled (empty when nothing is
 * known to be missing: a dropped link the reconnect notices cover), or a
 * TUNL_ERR_*.
 */
int
session_gap(struct broker *b, struct buf *payload, char *text, size_t size)
{
	struct proto_gap	 g;
	char			 detail[EVENT_DETAIL_LEN];
	char			 label[CAST_MARKER_MAX];
	int			 r;

	if ((r = proto_get_gap(payload, &g)) != 0)
		return r;
	(void)snprintf(label, sizeof(label), "tunl: gap: %s%llu bytes of "
	    "output missing here: %s; dropped_output=%llu%s",
	    (g.flags & PROTO_GAP_AT_LEAST) ? "at least " : "",
	    (unsigned long long)g.bytes, proto_gap_reason(g.reason),
	    (unsigned long long)g.total,
	    (g.flags & PROTO_GAP_REPAIRED) ?
	    "; the screen is redrawn from a fresh snapshot" : "");
	record_marker(b, label);
	if (g.flags & PROTO_GAP_REPAIRED)
		b->gap_repair = 1;
	error("session %s: %s", b->sess.id, label + 6);
	(void)snprintf(detail, sizeof(detail), "%s%llu bytes: %s; "
	    "dropped_output=%llu", (g.flags & PROTO_GAP_AT_LEAST) ?
	    "at least " : "", (unsigned long long)g.bytes,
	    g.reason == PROTO_GAP_SPOOL_FULL ? "spool full" : "link lost",
	    (unsigned long long)g.total);
	session_event(b, "customer", "output-gap", detail);
	text[0] = '\0';
	if (g.bytes == 0)
		return 0;
	(void)snprintf(text, size, "tunl: %s%llu bytes of the customer's "
	    "output did not reach the relay (%s); the recording says so%s",
	    (g.flags & PROTO_GAP_AT_LEAST) ? "at least " : "",
	    (unsigned long long)g.bytes, proto_gap_reason(g.reason),
	    (g.flags & PROTO_GAP_REPAIRED) ?
	    "; your screen is redrawn" : "");
	return 0;
}

/*
 * The snapshot after a gap: its screen goes into the recording after the
 * marker, so that the recording shows the screen again from there.
 */
void
session_gap_repaired(struct broker *b, const u_char *screen, size_t len)
{
	if (!b->gap_repair)
		return;
	b->gap_repair = 0;
	record_marker(b, "tunl: the screen after the gap, from a snapshot");
	record_output(b, screen, len);
}
