/*
 * broker-alive.c: heartbeats with the producer (docs/protocol.md,
 * "Heartbeats"; docs/broker.md, "Liveness").
 *
 * The producer's link is the customer's ssh connection: when it freezes
 * (the customer's ssh stopped, its network gone quiet) nothing closes
 * the socket for minutes. So the broker sends the producer a PING every
 * BROKER_PING_MS and counts any byte read from it, output as much as a
 * PONG, as a sign of life: a producer busy with bulk output is heard all
 * the time, and a PONG that waits behind megabytes of output arrives
 * after them, which are heard first. A producer heard from for
 * BROKER_ALIVE_MS is not answering: it is closed and treated as gone, so
 * the engineers are told and the reconnect grace period runs from then.
 *
 * Silence the broker chose is not the producer's: while the broker does
 * not read it (the memory budget, the recording's writer behind) or the
 * broker itself did not run, the clock restarts. An idle loop sleeps until
 * the next ping or the silence limit (broker-wake.c), so an idle session
 * costs a wakeup per ping and its answer, nothing more.
 */
#include "config.h"

#include <string.h>

#include "broker.h"

/* Bytes were read from p, or the broker chose not to read it. */
void
alive_heard(struct peer *p, int64_t now)
{
	p->rx_ms = now;
}

void
alive_check(struct broker *b, int64_t now)
{
	struct peer	*p = b->producer;
	int		 stalled;

	/*
	 * The loop wakes by the time it planned (broker-wake.c); more than a
	 * tick later than that, we were stopped.
	 */
	stalled = b->alive_tick_ms != 0 && b->wake_due_ms != 0 &&
	    now - b->wake_due_ms > BROKER_TICK_MS;
	b->alive_tick_ms = now;
	if (b->ended || p == NULL || p->dead || p->closing)
		return;
	if (p->serial != b->alive_serial || stalled) {
		/* A new producer, or a broker that did not run: start over. */
		b->alive_serial = p->serial;
		p->rx_ms = now;
		if (p->ping_ms == 0)
			p->ping_ms = now;
	}
	if (now - p->rx_ms >= BROKER_ALIVE_MS) {
		info("%s: nothing heard for %lld ms: not answering; "
		    "treated as gone", peer_label(p),
		    (long long)(now - p->rx_ms));
		p->unanswered = 1;
		p->dead = 1;
		return;
	}
	if (now - p->ping_ms >= BROKER_PING_MS) {
		p->ping_ms = now;
		if (peer_queued(p, proto_put_u32(p->rd.out, FRAME_PING,
		    ++b->ping_seq)) != 0)
			debug("%s: ping not queued", peer_label(p));
	}
}
