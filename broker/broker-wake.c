/*
 * broker-wake.c: how long the loop may sleep (docs/broker.md, "Idle
 * cost"). An idle broker wakes for its timers only: the producer's next
 * heartbeat or its silence limit, the end of a grace period, the session's
 * expiry, the safety-net read of its row, memory given back after a burst.
 * With a thousand sessions on a relay, a tick per second per broker would
 * be a thousand wakeups a second for nothing.
 *
 * The rarer states with timers of their own (a connection before its
 * hello, a peer closing, a consumer that does not read or waits for a
 * snapshot, a registry call under way, the recording's writer behind, bad
 * frames not yet summarised, dropped keys not yet logged) keep the old
 * one-second tick: they are short, and each of their checks in
 * session_timers stays as it was.
 */
#include "config.h"

#include <time.h>

#include "broker.h"

/* Sooner of *wait and the deadline due (an absolute time in ms). */
static void
wake_by(int64_t *wait, int64_t now, int64_t due)
{
	int64_t	 left = due - now;

	/*
	 * A deadline already past is one whose check did not fire (another
	 * condition holds it back): the tick, never a busy loop.
	 */
	if (left <= 0)
		left = BROKER_TICK_MS;
	if (left < *wait)
		*wait = left;
}

/* Does anything about p need the one-second tick? */
static int
wake_peer_busy(const struct peer *p)
{
	if (p->dead)
		return 0;
	if (p->role == PEER_NEW || p->closing || p->held)
		return 1;
	if (p->badlog.held > 0)
		return 1;
	if (p->role == PEER_CONSUMER && (p->stuck_ms != 0 || p->waiting ||
	    p->keys_dropped != p->keys_logged))
		return 1;
	return 0;
}

/*
 * Milliseconds until the next timer in session_timers, alive_check and
 * loop_trim is due, at most BROKER_IDLE_WAKE_MS. Called once session_timers
 * and loop_trim have run for now.
 */
int64_t
broker_wake_ms(const struct broker *b, int64_t now, int producer_polled)
{
	const struct peer	*p;
	int64_t			 wait = BROKER_IDLE_WAKE_MS, grace, start;
	int64_t			 due, expires_in;

	if (b->ended || b->reg_pid != 0 || b->nregq > 0)
		return BROKER_TICK_MS;
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (wake_peer_busy(p))
			return BROKER_TICK_MS;
	}
	if (b->trim_due_ms != 0)
		wake_by(&wait, now, b->trim_due_ms);

	grace = (int64_t)b->cfg.producer_grace * 1000;
	p = b->producer;
	if (p != NULL && !p->dead && !p->closing) {
		/* Its silence counts only while it is read. */
		if (!producer_polled)
			return BROKER_TICK_MS;
		wake_by(&wait, now, p->ping_ms + BROKER_PING_MS);
		wake_by(&wait, now, p->rx_ms + BROKER_ALIVE_MS);
	} else if (b->had_producer) {
		if (b->producer_gone_ms != 0)
			wake_by(&wait, now, b->producer_gone_ms + grace);
		else
			return BROKER_TICK_MS;
	} else if (b->idle_ms != 0) {
		start = grace > BROKER_START_WAIT_MS ? grace :
		    BROKER_START_WAIT_MS;
		wake_by(&wait, now, b->idle_ms + start);
	} else if (b->nconsumers == 0)
		return BROKER_TICK_MS;	/* the idle clock starts next turn */

	/*
	 * Expiry and the safety-net read are looked at no more often than
	 * every BROKER_CHECK_MS (session_timers).
	 */
	expires_in = ((int64_t)b->sess.expires - (int64_t)time(NULL)) * 1000;
	due = now + (expires_in > 0 ? expires_in : 0);
	wake_by(&wait, now, due > b->next_check_ms ? due : b->next_check_ms);
	if (!b->check_queued) {
		due = b->next_full_check_ms > b->next_check_ms ?
		    b->next_full_check_ms : b->next_check_ms;
		wake_by(&wait, now, due);
	}
	return wait;
}
