/*
 * share-alive.c: is the relay still answering? (docs/protocol.md,
 * "Heartbeats"; tunl-share(1)).
 *
 * The relay's broker pings us every 2 seconds; any byte from the relay
 * counts as a sign of life. Heard nothing for SHARE_PING_MS, we ping it
 * ourselves (a broker that does not ping still answers); heard nothing
 * for alive_ms once connected (SHARE_ALIVE_MS unless --silence says
 * otherwise; SHARE_CONNECT_MS, or alive_ms if longer, while ssh logs in
 * and the broker has not said hello yet), the relay is not answering and
 * the link is dropped and made again, as when it is lost. The pings ride
 * on the frame loop's one-second tick: no wakeup of their own.
 */
#include "config.h"

#include <time.h>

#include "share.h"

static int64_t
alive_now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new link: nothing heard yet, the login's longer limit applies. */
void
share_alive_start(struct share *s)
{
	s->alive_rx_ms = s->alive_ping_ms = s->alive_tick_ms = alive_now_ms();
	s->alive_heard = 0;
}

/* Bytes came from the relay. */
void
share_alive_heard(struct share *s)
{
	s->alive_rx_ms = alive_now_ms();
	s->alive_heard = 1;
}

/*
 * Called on each turn of the frame loop while connected. Returns 1 when
 * the relay is not answering (the caller drops the link), else 0, having
 * queued a ping if one is due.
 */
int
share_alive_check(struct share *s)
{
	struct buf	*tmp;
	int64_t		 now = alive_now_ms(), quiet;

	/* Stopped ourselves (a suspended laptop): do not blame the relay. */
	if (now - s->alive_tick_ms > SHARE_PING_MS)
		s->alive_rx_ms = s->alive_ping_ms = now;
	s->alive_tick_ms = now;
	quiet = now - s->alive_rx_ms;
	if (quiet >= (s->alive_heard ? s->alive_ms :
	    s->alive_ms > SHARE_CONNECT_MS ? s->alive_ms : SHARE_CONNECT_MS))
		return 1;
	if (!s->alive_heard || quiet < SHARE_PING_MS ||
	    now - s->alive_ping_ms < SHARE_PING_MS)
		return 0;
	s->alive_ping_ms = now;
	if ((tmp = buf_new(16)) != NULL &&
	    proto_put_u32(tmp, FRAME_PING, (u_int32_t)now) == 0)
		(void)share_proto_send(s, tmp);
	buf_free(tmp);
	return 0;
}
