/*
 * broker-session.c: what the broker does with each frame (docs/broker.md).
 *
 * The producer's output goes through the session's escape filter once;
 * the filtered bytes are recorded and framed once into the shared output
 * queue (broker-outq.c), which every live consumer reads at its own pace.
 * A consumer whose queue, counted as how far it lags plus its own frames,
 * cannot take a frame has fallen behind: its backlog is dropped and it
 * waits for the producer's next snapshot, as a new consumer does. The
 * producer's stream is ordered, so a snapshot that arrives after a
 * consumer started waiting shows the screen after every byte that
 * consumer missed, and live output after it follows on exactly.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "broker.h"

static void	 session_fanout(struct broker *, const u_char *, size_t);
static void	 session_producer_accept(struct broker *, struct peer *, int,
		     const struct session *, const char *);
static void	 session_consumer_accept(struct broker *, struct peer *, int,
		     u_int, const struct session *, const char *);

/* ---- helpers --------------------------------------------------------------- */

int
session_effective_rw(const struct broker *b, const struct peer *c)
{
	return c->role == PEER_CONSUMER && c->mode == PROTO_MODE_RW &&
	    !b->restricted;
}

static const char *
session_mode_word(const struct broker *b, const struct peer *c)
{
	if (c->mode == PROTO_MODE_RO)
		return "read-only";
	return b->restricted ? "read-only (restricted session)" :
	    "read-write";
}

/*
 * Registry event, made by a child in the order queued (broker-registry.c);
 * failures are logged when it answers, never fatal.
 */
void
session_event(struct broker *b, const char *actor, const char *action,
    const char *detail)
{
	regq_event(b, actor, action, detail);
}

/*
 * Tell the registry how many engineers watch: `list` shows it, and every
 * broker checks the relay-wide cap (max_consumers_total) against the sum.
 */
void
session_record_viewers(struct broker *b)
{
	regq_viewers(b, b->nconsumers);
}

void
session_notice_consumers(struct broker *b, const char *msg)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->role == PEER_CONSUMER && !p->dead && !p->closing)
			peer_send_text(p, FRAME_NOTICE, "%s", msg);
	}
}

/* Ask the producer for a snapshot, unless one is already on its way. */
static u_int32_t
session_want_snapshot(struct broker *b)
{
	if (b->producer == NULL)
		return 0;
	if (b->snap_pending != 0)
		return b->snap_pending;
	if (++b->snap_next == 0)
		b->snap_next = 1;
	if (proto_put_u32(b->producer->rd.out, FRAME_SNAPSHOT_REQ,
	    b->snap_next) != 0) {
		/* Its queue is full; the next event will ask again. */
		debug("snapshot request not queued");
		return 0;
	}
	b->snap_pending = b->snap_next;
	return b->snap_pending;
}

/*
 * No more live output for this consumer until its next snapshot; what it
 * was already due keeps coming. Without memory for that, it loses that
 * backlog (the snapshot shows the screen all the same).
 */
static void
session_detach(struct broker *b, struct peer *c)
{
	size_t	 dropped;

	(void)b;
	if (outq_detach(&c->rd) == 0)
		return;
	dropped = peer_drop_queue(c);
	info("%s: out of memory; %zu bytes dropped", peer_label(c), dropped);
}

/* Make a consumer wait for a snapshot before it sees live output again. */
static void
session_wait_snapshot(struct broker *b, struct peer *c)
{
	session_detach(b, c);
	c->waiting = 1;
	c->snap_id = session_want_snapshot(b);
}

/* Drop a consumer with a last notice (best effort) and an event. */
static void
session_drop(struct broker *b, struct peer *c, const char *why)
{
	char	 detail[128];

	(void)peer_drop_queue(c);
	peer_send_text(c, FRAME_NOTICE, "tunl: disconnected: %s", why);
	peer_close_after(c);
	info("%s dropped: %s", peer_label(c), why);
	snprintf(detail, sizeof(detail), "%s", why);
	session_event(b, c->name, "drop", detail);
}

/*
 * A consumer whose queue cannot take the next frame has fallen behind: it
 * is never dropped for that (only for reading nothing at all, see
 * session_timers). Its backlog goes, it waits for a fresh snapshot and
 * takes live output again after it, as often as it needs to. Each time
 * it is told (the backlog that went may have held the last notice); the
 * info line and the registry event come at most once per
 * BROKER_RESYNC_LOG_MS for each consumer, and never twice in a run of
 * resynchronisations before its queue has drained once: a slow reader
 * in a long burst is logged a few times, not once a second. How many
 * times in all is logged when it leaves.
 */
static void
session_behind(struct broker *b, struct peer *c)
{
	size_t	 dropped;
	int64_t	 now;

	if (c->waiting)
		return;		/* takes no live output already */
	dropped = peer_drop_queue(c);
	c->resyncs++;
	now = tunl_now_ms();
	if (c->catching_up || (c->resync_log_ms != 0 &&
	    now - c->resync_log_ms < BROKER_RESYNC_LOG_MS)) {
		debug("%s fell behind again (%zu bytes dropped); "
		    "resynchronising", peer_label(c), dropped);
	} else {
		info("%s fell behind (%zu bytes dropped); resynchronising",
		    peer_label(c), dropped);
		c->resync_log_ms = now;
		session_event(b, c->name, "resync", NULL);
	}
	peer_send_text(c, FRAME_NOTICE,
	    "tunl: you fell behind; resynchronising");
	c->catching_up = 1;
	session_wait_snapshot(b, c);
}

/* ---- viewers and sizes --------------------------------------------------------- */

static void
session_viewers(struct broker *b)
{
	static struct proto_viewers	 v;
	struct peer			*p;

	memset(&v, 0, sizeof(v));
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->role != PEER_CONSUMER || p->dead ||
		    v.count >= PROTO_VIEWERS_MAX)
			continue;
		tunl_strlcpy(v.v[v.count].name, p->name,
		    sizeof(v.v[v.count].name));
		v.v[v.count].mode = session_effective_rw(b, p) ?
		    PROTO_MODE_RW : PROTO_MODE_RO;
		v.count++;
	}
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->role == PEER_NEW || p->dead || p->closing)
			continue;
		(void)peer_queued(p, proto_put_viewers(p->rd.out, &v));
	}
}

/* Tell each consumer whose terminal is smaller than the session, once. */
static void
session_small_notices(struct broker *b)
{
	struct peer	*c;

	if (b->prod_cols == 0)
		return;
	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role != PEER_CONSUMER || c->dead || c->closing)
			continue;
		if (c->cols >= b->prod_cols && c->rows >= b->prod_rows) {
			c->small_cols = c->small_rows = 0;
			continue;
		}
		if (c->small_cols == b->prod_cols &&
		    c->small_rows == b->prod_rows)
			continue;
		c->small_cols = b->prod_cols;
		c->small_rows = b->prod_rows;
		peer_send_text(c, FRAME_NOTICE,
		    "tunl: your terminal is %ux%u, the session is %ux%u",
		    c->cols, c->rows, b->prod_cols, b->prod_rows);
	}
}

/*
 * The customer's shared pane follows the smallest read-write engineer;
 * once there is none, the producer is told it is free to take its own
 * size again. Returns 1 when the producer was asked for a new size (its
 * answer, a RESIZE, comes later), else 0.
 */
static int
session_resize(struct broker *b)
{
	struct peer	*c;
	u_int		 cols = 0, rows = 0;

	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->dead || !session_effective_rw(b, c))
			continue;
		if (cols == 0 || c->cols < cols)
			cols = c->cols;
		if (rows == 0 || c->rows < rows)
			rows = c->rows;
	}
	if (cols == 0) {
		if (b->want_cols == 0)
			return 0;
		if (b->producer != NULL &&
		    proto_put_empty(b->producer->rd.out,
		    FRAME_RESIZE_FREE) != 0) {
			debug("resize-free not queued");
			return 0;
		}
		b->want_cols = b->want_rows = 0;
		debug("session size: the customer's own");
		return 1;
	}
	if (cols == b->want_cols && rows == b->want_rows)
		return 0;
	if (b->producer != NULL &&
	    proto_put_resize(b->producer->rd.out, cols, rows) != 0) {
		debug("resize not queued");
		return 0;
	}
	b->want_cols = cols;
	b->want_rows = rows;
	debug("session size %ux%u", cols, rows);
	return 1;
}

/*
 * The customer's pane changed size (its RESIZE, or a snapshot of another
 * size): every engineer's screen is redrawn from a fresh snapshot (what
 * the programs in the pane redraw follows it in the stream), so nobody is
 * left with a screen laid out for the old size. When a snapshot brought
 * the news, that snapshot is the one they get.
 */
static void
session_repaint(struct broker *b)
{
	struct peer	*c;

	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role == PEER_CONSUMER && !c->dead && !c->closing &&
		    !c->waiting)
			session_wait_snapshot(b, c);
	}
}

static void
session_producer_size(struct broker *b, u_int cols, u_int rows)
{
	if (cols == b->prod_cols && rows == b->prod_rows)
		return;
	b->prod_cols = cols;
	b->prod_rows = rows;
	record_resize(b, cols, rows);
	session_small_notices(b);
	session_repaint(b);
}

/* ---- the registry's word ----------------------------------------------------------- */

/*
 * The session turns restricted, for good: from now on no consumer is
 * read-write (session_effective_rw), so no keys and no size go to the
 * producer; every consumer is told, and sees the new viewers list.
 */
static void
session_restrict(struct broker *b)
{
	if (b->restricted)
		return;
	b->restricted = 1;
	info("session is now restricted");
	session_event(b, "broker", "mode-restricted", NULL);
	session_notice_consumers(b, PROTO_NOTICE_RESTRICTED);
	(void)session_resize(b);	/* the customer's own size again */
	session_viewers(b);
}

/*
 * A newer token ends what older ones opened (docs/security.md): admit let
 * the producer in only while its login's token was the session's newest,
 * so once a newer one exists (`token <id>`, which tells the broker) its
 * login is superseded and the connection goes; the customer comes back
 * with the new token.
 */
static void
session_superseded(struct broker *b, const struct session *s)
{
	struct peer	*p = b->producer;
	char		 detail[64];

	if (p == NULL || p->dead || p->closing)
		return;
	if (b->producer_gen < 0) {
		/* Admitted while the registry could not answer. */
		b->producer_gen = s != NULL ? s->token_gen : -1;
		return;
	}
	if (s->token_gen <= b->producer_gen)
		return;
	info("producer #%u dropped: its login's token was superseded "
	    "(token %lld, now %lld)", p->serial, (long long)b->producer_gen,
	    (long long)s->token_gen);
	peer_send_error(p, PROTO_ERR_SUPERSEDED, PROTO_SUPERSEDED_WORDS);
	snprintf(detail, sizeof(detail), "pid=%ld", (long)p->pid);
	session_event(b, "broker", "producer-superseded", detail);
	peer_close_after(p);
}

/*
 * The session's row, as a child read it: end the session when it was
 * ended, locked, removed or has expired; follow a change of mode to
 * restricted (never back). Returns 1 when the session ended. A failed
 * read is logged and changes nothing.
 */
static int
session_registry_check(struct broker *b, int r, const struct session *s,
    const char *msg)
{
	if (b->ended)
		return 1;
	if (r != 0) {
		if (r == TUNL_ERR_NOT_FOUND) {
			session_end(b, "broker", "session removed", 0);
			return 1;
		}
		error_r(r, "registry check: %s", msg);
		return 0;
	}
	if (s->state == SESSION_ENDED)
		session_end(b, "broker", "session ended", 0);
	else if (s->state == SESSION_LOCKED)
		session_end(b, "broker", "session locked", 0);
	else if (s->expires <= (int64_t)time(NULL))
		session_end(b, "broker", "session expired", 1);
	else {
		b->sess.expires = s->expires;
		if (s->mode == SESSION_RESTRICTED)
			session_restrict(b);
		session_superseded(b, s);
		return 0;
	}
	return 1;
}

/* ---- hello --------------------------------------------------------------------- */

static void
session_reply_hello(struct broker *b, struct peer *p, u_int cols, u_int rows)
{
	struct proto_hello	 h;

	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	h.role = PROTO_ROLE_BROKER;
	tunl_strlcpy(h.session, b->sid, sizeof(h.session));
	h.mode = b->restricted ? PROTO_SESSION_RESTRICTED :
	    PROTO_SESSION_SHARE;
	h.cols = (u_int16_t)cols;
	h.rows = (u_int16_t)rows;
	if (peer_queued(p, proto_put_hello(p->rd.out, &h)) != 0)
		error("%s: hello reply not queued", peer_label(p));
}

static int
session_grow_queue(struct peer *p, size_t max)
{
	return outq_reader_grow(&p->rd, max);
}

static int
session_producer_busy(struct broker *b, struct peer *p)
{
	if (b->producer == NULL || b->producer->dead)
		return 0;
	peer_send_error(p, PROTO_ERR_BUSY, "producer already connected");
	info("%s refused: producer already connected", peer_label(p));
	peer_close_after(p);
	return 1;
}

/*
 * A producer's hello is held (its further frames wait) until the
 * registry's row for the session is read: the producer may have
 * restricted the session just before (produce --restricted), and the
 * reply and everything after it must carry the mode.
 */
static void
session_producer_hello(struct broker *b, struct peer *p,
    const struct proto_hello *h)
{
	if (p->uid != b->customer_uid) {
		peer_send_error(p, PROTO_ERR_DENIED,
		    "this account may not produce");
		info("%s refused: not the customer account", peer_label(p));
		peer_close_after(p);
		return;
	}
	/*
	 * The uid alone is any process of the customer account: only a
	 * connection tunl-authority admit opened (its effective group, the
	 * key group, which no account has) proves a live, current login of
	 * this session (authority-admit.c).
	 */
	if (p->gid != b->key_gid) {
		peer_send_error(p, PROTO_ERR_DENIED, "a producer must be "
		    "admitted by tunl-authority (log in as the customer)");
		info("%s refused: not opened by tunl-authority admit (gid %ld)",
		    peer_label(p), (long)p->gid);
		peer_close_after(p);
		return;
	}
	p->has_token = h->has_token;
	p->token = h->token;
	if (session_producer_busy(b, p))
		return;
	if (session_grow_queue(p, BROKER_PRODUCER_QUEUE) != 0) {
		peer_send_error(p, PROTO_ERR_INTERNAL, "out of memory");
		peer_close_after(p);
		return;
	}
	if (regq_check(b, p->serial) != 0) {
		/* Not queued (logged): go on as if the registry failed. */
		session_producer_accept(b, p, TUNL_ERR_ALLOC, NULL,
		    "registry calls queue full");
		return;
	}
	p->held = 1;
	p->since_ms = tunl_now_ms();	/* the registry gets a full limit */
}

/*
 * A token issued after admit checked the login, and before this read of
 * the row, supersedes it just as one issued later would: admit stated the
 * newest token id it saw, and a newer one in the row refuses the producer
 * (the customer logs in again with the new token).
 */
static int
session_admitted_superseded(struct broker *b, struct peer *p,
    const struct session *s)
{
	char	 detail[96];

	if (!p->has_token || s == NULL || s->token_gen <= p->token)
		return 0;
	info("%s refused: a newer token was issued after its admission "
	    "(token %lld, now %lld)", peer_label(p), (long long)p->token,
	    (long long)s->token_gen);
	peer_send_error(p, PROTO_ERR_SUPERSEDED, PROTO_SUPERSEDED_WORDS);
	snprintf(detail, sizeof(detail), "pid=%ld at-admission", (long)p->pid);
	session_event(b, "broker", "producer-superseded", detail);
	peer_close_after(p);
	return 1;
}

/* The registry has answered a producer's hello. */
static void
session_producer_accept(struct broker *b, struct peer *p, int r,
    const struct session *s, const char *msg)
{
	struct peer	*c;
	char		 detail[64];

	if (session_registry_check(b, r, s, msg)) {
		peer_close_after(p);
		return;
	}
	if (session_admitted_superseded(b, p, r == 0 ? s : NULL))
		return;
	if (session_producer_busy(b, p))
		return;
	p->role = PEER_PRODUCER;
	b->nnew--;
	b->producer = p;
	if (p->has_token)
		b->producer_gen = p->token;
	else
		b->producer_gen = r == 0 && s != NULL ? s->token_gen : -1;
	b->producer_gone_ms = 0;
	b->snap_pending = 0;
	vtfilter_init(&b->vf, VTFILTER_OUTPUT);
	info("producer connected (pid %ld)", (long)p->pid);

	if (b->sess.state == SESSION_PENDING || !b->had_producer)
		regq_state(b, SESSION_ACTIVE, "customer", NULL);
	b->had_producer = 1;
	snprintf(detail, sizeof(detail), "pid=%ld", (long)p->pid);
	session_event(b, "customer", "producer-connected", detail);

	session_reply_hello(b, p, b->want_cols, b->want_rows);
	/* A new stream: every consumer starts again from a snapshot. */
	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role != PEER_CONSUMER || c->dead || c->closing)
			continue;
		peer_send_text(c, FRAME_NOTICE, "tunl: customer connected");
		session_detach(b, c);
		c->waiting = 1;
		c->snap_id = 0;
	}
	(void)session_want_snapshot(b);
	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role == PEER_CONSUMER && c->waiting)
			c->snap_id = b->snap_pending;
	}
	b->want_cols = b->want_rows = 0;
	(void)session_resize(b);
	session_viewers(b);
}

static int
session_consumer_full(struct broker *b, struct peer *p)
{
	if (b->nconsumers < b->cfg.max_consumers)
		return 0;
	peer_send_error(p, PROTO_ERR_FULL, "session full: %u engineers already",
	    b->nconsumers);
	info("%s (%s) refused: %u consumers already", peer_label(p), p->name,
	    b->nconsumers);
	peer_close_after(p);
	return 1;
}

/*
 * A consumer's hello is held until the registry says how many engineers
 * watch on the whole relay (max_consumers_total).
 */
static void
session_consumer_hello(struct broker *b, struct peer *p,
    const struct proto_hello *h)
{
	if (p->uid != b->engineer_uid) {
		peer_send_error(p, PROTO_ERR_DENIED,
		    "this account may not join");
		info("%s refused: not the engineer account", peer_label(p));
		peer_close_after(p);
		return;
	}
	/*
	 * The name in the hello is believed only from tunl-authority admit
	 * (the key group), which took it from the login file pam_tunl wrote
	 * from what sshd authenticated; any other process of the engineer
	 * account could name anyone.
	 */
	if (p->gid != b->key_gid) {
		peer_send_error(p, PROTO_ERR_DENIED, "an engineer must be "
		    "admitted by tunl-authority (log in as an engineer)");
		info("%s refused: a consumer not opened by tunl-authority "
		    "admit (gid %ld) named \"%s\"", peer_label(p),
		    (long)p->gid, h->engineer);
		peer_close_after(p);
		return;
	}
	tunl_strlcpy(p->name, h->engineer, sizeof(p->name));
	p->mode = h->mode;
	p->cols = h->cols;
	p->rows = h->rows;
	if (session_consumer_full(b, p))
		return;
	if (regq_total(b, p->serial) != 0) {
		session_consumer_accept(b, p, TUNL_ERR_ALLOC, 0, NULL,
		    "registry calls queue full");
		return;
	}
	p->held = 1;
	p->since_ms = tunl_now_ms();
}

/*
 * The registry has answered: total counts every live session's engineers
 * as recorded, and s is this session's row. This broker's own count is
 * taken as it stands now (its writes may still be queued). If the
 * registry could not answer (locked past its timeout) the engineer is let
 * in: the per-session cap still holds, and the log says so.
 */
static void
session_consumer_accept(struct broker *b, struct peer *p, int r,
    u_int total, const struct session *s, const char *msg)
{
	size_t	 backlog;

	if (session_consumer_full(b, p))
		return;
	if (r != 0)
		error_r(r, "relay-wide viewer count: %s; not enforced for %s",
		    msg, p->name);
	else {
		total -= total >= s->viewers ? s->viewers : total;
		total += b->nconsumers;
		if (total >= b->cfg.max_consumers_total) {
			peer_send_error(p, PROTO_ERR_FULL,
			    "relay full: %u engineers watching", total);
			info("%s (%s) refused: %u consumers on the relay",
			    peer_label(p), p->name, total);
			peer_close_after(p);
			return;
		}
	}
	backlog = b->cfg.consumer_backlog;
	if (backlog > BUF_SIZE_MAX)
		backlog = BUF_SIZE_MAX;
	if (backlog < 2 * (FRAME_HEADER_LEN + FRAME_MAX))
		backlog = 2 * (FRAME_HEADER_LEN + FRAME_MAX);
	if (session_grow_queue(p, backlog) != 0) {
		peer_send_error(p, PROTO_ERR_INTERNAL, "out of memory");
		peer_close_after(p);
		return;
	}
	p->role = PEER_CONSUMER;
	b->nnew--;
	b->nconsumers++;
	vtfilter_init(&p->infilter, VTFILTER_INPUT);
	info("%s joined %s (%ux%u)", p->name, session_mode_word(b, p),
	    p->cols, p->rows);
	session_event(b, p->name, "engineer-joined",
	    session_mode_word(b, p));
	session_record_viewers(b);
	session_reply_hello(b, p, b->prod_cols, b->prod_rows);
	if (b->producer == NULL)
		peer_send_text(p, FRAME_NOTICE,
		    "tunl: waiting for the customer");
	session_wait_snapshot(b, p);
	if (b->producer != NULL)
		peer_send_text(b->producer, FRAME_STATUS, "%s joined %s",
		    p->name, session_mode_word(b, p));
	/* As for a resize: notices wait for the producer's answer. */
	if (!session_resize(b))
		session_small_notices(b);
	session_viewers(b);
}

/*
 * The answer to a registry call (broker-registry.c), in the order the
 * calls were made. A peer whose hello waited for it goes on, unless it
 * left meanwhile.
 */
void
session_registry_answer(struct broker *b, const struct regq_job *j,
    const struct regq_result *res)
{
	struct peer	*p;

	switch (j->op) {
	case REGQ_EVENT:
		if (res->r != 0)
			error_r(res->r, "registry event %s: %s", j->action,
			    res->msg);
		return;
	case REGQ_VIEWERS:
		if (res->r != 0 && res->r != TUNL_ERR_STATE)
			error_r(res->r, "registry viewers: %s", res->msg);
		return;
	case REGQ_STATE:
		if (res->r == 0 && j->state == SESSION_ACTIVE)
			b->sess.state = SESSION_ACTIVE;
		else if (res->r != 0 && res->r != TUNL_ERR_STATE)
			error_r(res->r, "mark session %s: %s",
			    session_state_name(j->state), res->msg);
		return;
	case REGQ_CHECK:
	case REGQ_TOTAL:
		break;
	}
	if (j->serial == 0) {
		(void)session_registry_check(b, res->r, &res->s, res->msg);
		return;
	}
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->serial == j->serial)
			break;
	}
	if (p == NULL || !p->held || p->dead || p->closing)
		return;
	p->held = 0;
	if (b->ended)
		return;		/* session_end closed it */
	if (j->op == REGQ_CHECK)
		session_producer_accept(b, p, res->r, &res->s, res->msg);
	else
		session_consumer_accept(b, p, res->r, res->total, &res->s,
		    res->msg);
	/* Frames that came after the hello. */
	if (!p->dead && !p->closing && !b->ended)
		peer_frames(b, p);
}

static void
session_hello(struct broker *b, struct peer *p, struct frame *f)
{
	struct proto_hello	 h;
	int			 r;

	if (f->type == FRAME_REGISTRY_CHANGED) {
		control_frame(b, p, f);
		return;
	}
	if (f->type != FRAME_HELLO) {
		peer_send_error(p, PROTO_ERR_DENIED, "first frame must be hello");
		info("%s: first frame %s, not hello", peer_label(p),
		    frame_type_name(f->type));
		peer_close_after(p);
		return;
	}
	if ((r = proto_get_hello(f->payload, &h)) != 0) {
		if (r == TUNL_ERR_VERSION) {
			peer_send_error(p, PROTO_ERR_VERSION,
			    "protocol version %u, broker speaks %u",
			    h.version, TUNL_PROTO_VERSION);
			info("%s: protocol version %u", peer_label(p),
			    h.version);
		} else {
			peer_send_error(p, PROTO_ERR_MALFORMED,
			    "malformed hello");
			info("%s: malformed hello: %s", peer_label(p),
			    tunl_err(r));
		}
		peer_close_after(p);
		return;
	}
	if (strcmp(h.session, b->sid) != 0) {
		peer_send_error(p, PROTO_ERR_DENIED, "wrong session");
		info("%s: hello for another session", peer_label(p));
		peer_close_after(p);
		return;
	}
	switch (h.role) {
	case PROTO_ROLE_PRODUCER:
		session_producer_hello(b, p, &h);
		break;
	case PROTO_ROLE_CONSUMER:
		session_consumer_hello(b, p, &h);
		break;
	default:
		peer_send_error(p, PROTO_ERR_DENIED, "role not accepted");
		peer_close_after(p);
		break;
	}
}

/* ---- producer frames ------------------------------------------------------------- */

/*
 * recording_max: output the recording cannot hold is shown to no one
 * (nothing reaches an engineer unrecorded), and output paused for good
 * would hang the customer's programs, so the session ends here, with a
 * marker in the recording and the reason to the customer and every
 * engineer (docs/recording.md, "A cap on a recording's size").
 */
static int
session_recording_full(struct broker *b, size_t len)
{
	char	 why[160];

	if (b->cfg.recording_max == 0 || b->rec == NULL ||
	    b->out_bytes + len <= b->cfg.recording_max)
		return 0;
	snprintf(why, sizeof(why), "the recording reached its size limit "
	    "(recording_max, %zu bytes of output)", b->cfg.recording_max);
	record_marker(b, why);
	session_event(b, "broker", "recording-full", NULL);
	session_end(b, "broker", why, 1);
	return 1;
}

/*
 * One OUTPUT frame of filtered bytes for every live consumer: framed once
 * into the shared queue. A consumer it would take past its bound has
 * fallen behind and does not get it.
 */
static void
session_fanout(struct broker *b, const u_char *data, size_t len)
{
	struct peer	*c;
	int		 r;

	if (len == 0)
		return;
	if (session_recording_full(b, len))
		return;
	b->out_bytes += len;
	record_output(b, data, len);
	if (len > FRAME_PAYLOAD_MAX) {
		/* Not reached: the filter's chunk is far smaller. */
		error("output of %zu bytes not sent", len);
		return;
	}
	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->dead && c->rd.q != NULL)
			(void)peer_drop_queue(c);	/* gone */
		if (c->role != PEER_CONSUMER || c->waiting || c->dead ||
		    c->closing)
			continue;
		if (!outq_fits(&c->rd, FRAME_HEADER_LEN + len))
			session_behind(b, c);
	}
	/* Only consumers that take live output are attached. */
	if ((r = outq_append(&b->outq, FRAME_OUTPUT, data, len)) != 0)
		error_r(r, "output not queued");
}

static void
session_output(struct broker *b, const u_char *data, size_t len)
{
	size_t	 n;
	int	 r;

	while (len > 0) {
		n = len < BROKER_FILTER_CHUNK ? len : BROKER_FILTER_CHUNK;
		buf_reset(b->scratch);
		if ((r = vtfilter_feed(&b->vf, data, n, b->scratch)) != 0) {
			error_r(r, "escape filter");
			return;
		}
		session_fanout(b, buf_ptr(b->scratch), buf_len(b->scratch));
		data += n;
		len -= n;
	}
}

/* End of the producer's stream: let the filter drop what it held. */
static void
session_output_flush(struct broker *b)
{
	buf_reset(b->scratch);
	if (vtfilter_flush(&b->vf, b->scratch) == 0)
		session_fanout(b, buf_ptr(b->scratch), buf_len(b->scratch));
}

static void
session_snapshot(struct broker *b, const struct proto_snapshot *s)
{
	struct proto_snapshot	 fs;
	struct peer		*c;
	int			 toobig = 0, r;

	session_producer_size(b, s->cols, s->rows);
	if (s->id != 0 && s->id == b->snap_pending)
		b->snap_pending = 0;
	if (s->id == 0)
		return;

	/* The screen goes through a fresh filter of its own. */
	vtfilter_reset(&b->snapvf);
	buf_reset(b->scratch);
	if (vtfilter_feed(&b->snapvf, s->data, s->len, b->scratch) != 0 ||
	    vtfilter_flush(&b->snapvf, b->scratch) != 0 ||
	    buf_len(b->scratch) > FRAME_PAYLOAD_MAX - PROTO_SNAPSHOT_HDR) {
		/* Never cut a screen mid-sequence: send it blank instead. */
		toobig = 1;
		buf_reset(b->scratch);
	}
	fs = *s;
	fs.data = buf_ptr(b->scratch);
	fs.len = buf_len(b->scratch);
	if (toobig)
		fs.cx = fs.cy = 0;
	session_gap_repaired(b, fs.data, fs.len);

	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role != PEER_CONSUMER || !c->waiting || c->dead ||
		    c->closing || c->snap_id == 0 || c->snap_id > s->id)
			continue;
		r = peer_queued(c, proto_put_snapshot(c->rd.out, &fs));
		if (r == TUNL_ERR_FULL) {
			/*
			 * What it still had queued is older than this
			 * screen: it goes (all but a frame begun), and the
			 * snapshot takes its place.
			 */
			(void)peer_drop_queue(c);
			r = peer_queued(c,
			    proto_put_snapshot(c->rd.out, &fs));
		}
		if (r == 0)
			r = outq_attach(&b->outq, &c->rd);
		if (r != 0) {
			/* It waits on; the loop below asks again. */
			debug("%s: snapshot not queued: %s", peer_label(c),
			    tunl_err(r));
			c->snap_id = 0;
			continue;
		}
		/* Live output from here on follows the snapshot. */
		c->waiting = 0;
		c->snap_id = 0;
		if (toobig)
			peer_send_text(c, FRAME_NOTICE,
			    "tunl: the screen was too large to send");
	}
	/* Anyone still waiting without a request gets one now. */
	TAILQ_FOREACH(c, &b->peers, entry) {
		if (c->role == PEER_CONSUMER && c->waiting && !c->dead &&
		    !c->closing && c->snap_id == 0)
			c->snap_id = session_want_snapshot(b);
	}
}

static void
session_chat_out(struct broker *b, struct peer *from, const char *name,
    const char *text)
{
	struct proto_chat	 ch;
	struct peer		*p;
	char			 detail[EVENT_DETAIL_LEN];
	size_t			 n;

	/*
	 * Every chat line is an event: who said it and what, cut at a
	 * character's start to fit the event's detail ("..." says so). It
	 * never goes near the recording, which holds the shared pane only.
	 */
	n = strlen(text);
	if (n < sizeof(detail))
		memcpy(detail, text, n + 1);
	else {
		n = sizeof(detail) - 4;
		while (n > 0 && ((u_char)text[n] & 0xc0) == 0x80)
			n--;
		memcpy(detail, text, n);
		memcpy(detail + n, "...", 4);
	}
	session_event(b, name, "chat", detail);

	memset(&ch, 0, sizeof(ch));
	tunl_strlcpy(ch.from, name, sizeof(ch.from));
	tunl_strlcpy(ch.text, text, sizeof(ch.text));
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p == from || p->role == PEER_NEW || p->dead || p->closing)
			continue;
		if (p->role == PEER_CONSUMER && p->waiting)
			continue;
		(void)peer_queued(p, proto_put_chat(p->rd.out, &ch));
	}
}

static void
session_malformed(struct peer *p, const struct frame *f, int r)
{
	if (ratelog_allow(&p->badlog, tunl_now_ms(), peer_label(p),
	    "bad frames"))
		info("%s: malformed %s frame (%zu bytes): %s", peer_label(p),
		    frame_type_name(f->type), buf_len(f->payload),
		    tunl_err(r));
	peer_send_error(p, PROTO_ERR_MALFORMED, "malformed %s frame",
	    frame_type_name(f->type));
}

static void
session_unexpected(struct peer *p, const struct frame *f)
{
	if (ratelog_allow(&p->badlog, tunl_now_ms(), peer_label(p),
	    "bad frames"))
		info("%s: unexpected frame type 0x%02x (%s), %zu bytes",
		    peer_label(p), f->type, frame_type_name(f->type),
		    buf_len(f->payload));
	peer_send_error(p, PROTO_ERR_TYPE, "unexpected frame type 0x%02x",
	    f->type);
}

/* PING is answered, ERROR logged, ACK and PONG taken; 1 if handled. */
static int
session_common(struct peer *p, struct frame *f)
{
	struct proto_error	 e;
	u_int32_t		 v;
	int			 r;

	switch (f->type) {
	case FRAME_PING:
		if ((r = proto_get_u32(f->payload, &v)) != 0)
			session_malformed(p, f, r);
		else
			(void)peer_queued(p,
			    proto_put_u32(p->rd.out, FRAME_PONG, v));
		return 1;
	case FRAME_PONG:
	case FRAME_ACK:
		if ((r = proto_get_u32(f->payload, &v)) != 0)
			session_malformed(p, f, r);
		return 1;
	case FRAME_ERROR:
		if ((r = proto_get_error(f->payload, &e)) != 0)
			info("%s: malformed error frame", peer_label(p));
		else
			info("%s reports error %u: %s", peer_label(p),
			    e.code, e.message);
		return 1;
	}
	return 0;
}

static void
session_producer_frame(struct broker *b, struct peer *p, struct frame *f)
{
	static struct proto_chat	 ch;
	struct proto_snapshot		 s;
	struct proto_error		 e;
	struct peer			*c;
	char				 gaptext[PROTO_TEXT_MAX];
	const u_char			*d;
	size_t				 dl;
	u_int16_t			 cols, rows;
	int				 r;

	switch (f->type) {
	case FRAME_OUTPUT:
		if ((r = proto_get_output(f->payload, &d, &dl)) != 0)
			session_malformed(p, f, r);
		else
			session_output(b, d, dl);
		return;
	case FRAME_SNAPSHOT:
		if ((r = proto_get_snapshot(f->payload, &s)) != 0)
			session_malformed(p, f, r);
		else
			session_snapshot(b, &s);
		return;
	case FRAME_RESIZE:
		if ((r = proto_get_resize(f->payload, &cols, &rows)) != 0)
			session_malformed(p, f, r);
		else
			session_producer_size(b, cols, rows);
		return;
	case FRAME_GAP:
		/* broker-gap.c: marker, event, notice; then a snapshot. */
		if ((r = session_gap(b, f->payload, gaptext,
		    sizeof(gaptext))) != 0) {
			session_malformed(p, f, r);
			return;
		}
		/* A link lost with nothing known lost: the reconnect
		 * notices say enough to the engineers. */
		if (gaptext[0] != '\0')
			session_notice_consumers(b, gaptext);
		TAILQ_FOREACH(c, &b->peers, entry) {
			if (c->role == PEER_CONSUMER && !c->waiting &&
			    !c->dead && !c->closing)
				session_wait_snapshot(b, c);
		}
		if (b->gap_repair && b->snap_pending == 0)
			(void)session_want_snapshot(b);
		return;
	case FRAME_CHAT:
		if ((r = proto_get_chat(f->payload, &ch)) != 0)
			session_malformed(p, f, r);
		else
			session_chat_out(b, p, "customer", ch.text);
		return;
	case FRAME_ERROR:
		/*
		 * The customer may end the session at any moment: its end
		 * key says so with ERROR "ended" before it hangs up, and
		 * nobody then waits for it to come back.
		 */
		if ((r = proto_get_error(f->payload, &e)) == 0 &&
		    e.code == PROTO_ERR_ENDED) {
			info("%s ended the session", peer_label(p));
			session_end(b, "customer", "the customer ended it", 1);
			return;
		}
		break;
	}
	if (!session_common(p, f))
		session_unexpected(p, f);
}

/* ---- consumer frames -------------------------------------------------------------- */

static void
session_keys(struct broker *b, struct peer *c, const struct proto_keys *k)
{
	struct proto_keys	 fk;
	const u_char		*d;
	size_t			 left, n;
	u_int			 pause;
	int			 r;

	if (!session_effective_rw(b, c)) {
		c->keys_dropped += k->len;
		return;
	}
	/* Nothing typed while the recording cannot be written. */
	if ((pause = record_paused(b)) != 0) {
		c->keys_dropped += k->len;
		if (c->rec_noticed != pause)
			peer_send_text(c, FRAME_NOTICE, "tunl: the relay's "
			    "recording disk cannot be written; keys refused "
			    "until it can");
		c->rec_noticed = pause;
		return;
	}
	if (b->producer == NULL || b->producer->dead ||
	    b->producer->closing) {
		if (!c->keys_noticed)
			peer_send_text(c, FRAME_NOTICE,
			    "tunl: the customer is not connected; "
			    "keys dropped");
		c->keys_noticed = 1;
		return;
	}
	buf_reset(b->scratch);
	if ((r = vtfilter_feed(&c->infilter, k->data, k->len,
	    b->scratch)) != 0) {
		error_r(r, "%s: input filter", peer_label(c));
		return;
	}
	memset(&fk, 0, sizeof(fk));
	fk.pane = k->pane;
	tunl_strlcpy(fk.engineer, c->name, sizeof(fk.engineer));
	d = buf_ptr(b->scratch);
	left = buf_len(b->scratch);
	while (left > 0) {
		n = left < PROTO_KEYS_MAX ? left : PROTO_KEYS_MAX;
		fk.data = d;
		fk.len = n;
		if (proto_put_keys(b->producer->rd.out, &fk) != 0) {
			if (!c->keys_noticed)
				peer_send_text(c, FRAME_NOTICE,
				    "tunl: the customer is not keeping up; "
				    "keys dropped");
			c->keys_noticed = 1;
			return;
		}
		d += n;
		left -= n;
	}
	c->keys_noticed = 0;
}

static void
session_consumer_frame(struct broker *b, struct peer *c, struct frame *f)
{
	static struct proto_chat	 ch;
	struct proto_keys		 k;
	u_int32_t			 v;
	u_int16_t			 cols, rows;
	int				 r;

	switch (f->type) {
	case FRAME_KEYS:
		if ((r = proto_get_keys(f->payload, &k)) != 0)
			session_malformed(c, f, r);
		else
			session_keys(b, c, &k);
		return;
	case FRAME_RESIZE:
		if ((r = proto_get_resize(f->payload, &cols, &rows)) != 0) {
			session_malformed(c, f, r);
			return;
		}
		if (cols == c->cols && rows == c->rows)
			return;
		c->cols = cols;
		c->rows = rows;
		/*
		 * When the session's size follows, the notices wait for the
		 * producer's answer: said now, they would name the old size.
		 * This engineer's screen is redrawn either way.
		 */
		if (!session_resize(b))
			session_small_notices(b);
		if (!c->waiting)
			session_wait_snapshot(b, c);
		return;
	case FRAME_SNAPSHOT_REQ:
		/*
		 * The engineer's screen needs redrawing (the customer left
		 * its alternate screen): like a resynchronisation, no live
		 * output until the producer's next snapshot. Asked again
		 * while waiting, nothing more happens.
		 */
		if ((r = proto_get_u32(f->payload, &v)) != 0) {
			session_malformed(c, f, r);
			return;
		}
		if (!c->waiting)
			session_wait_snapshot(b, c);
		return;
	case FRAME_CHAT:
		if ((r = proto_get_chat(f->payload, &ch)) != 0) {
			session_malformed(c, f, r);
			return;
		}
		/* Chat is talk, not typing: read-write engineers only. */
		if (c->mode != PROTO_MODE_RW) {
			c->keys_dropped += strlen(ch.text);
			return;
		}
		session_chat_out(b, c, c->name, ch.text);
		return;
	}
	if (!session_common(c, f))
		session_unexpected(c, f);
}

void
session_frame(struct broker *b, struct peer *p, struct frame *f)
{
	switch (p->role) {
	case PEER_NEW:
		session_hello(b, p, f);
		break;
	case PEER_PRODUCER:
		session_producer_frame(b, p, f);
		break;
	case PEER_CONSUMER:
		session_consumer_frame(b, p, f);
		break;
	}
}

/* ---- leaving, timers, the end ------------------------------------------------------- */

static void
session_keys_log(struct broker *b, struct peer *c)
{
	if (c->keys_dropped == c->keys_logged)
		return;
	info("%s: %llu key bytes dropped (%s)", peer_label(c),
	    (unsigned long long)(c->keys_dropped - c->keys_logged),
	    session_mode_word(b, c));
	c->keys_logged = c->keys_dropped;
}

/* Called once for each peer as it is closed. */
void
session_peer_gone(struct broker *b, struct peer *p)
{
	struct vtfilter_stats	 st;
	char			 detail[64];

	ratelog_flush(&p->badlog, peer_label(p), "bad frames");
	switch (p->role) {
	case PEER_NEW:
		b->nnew--;
		break;
	case PEER_PRODUCER:
		if (b->producer != p)
			break;
		session_output_flush(b);
		vtfilter_stats(&b->vf, &st);
		info("producer gone; filter dropped %llu sequences "
		    "(%llu bytes)", (unsigned long long)st.dropped_seqs,
		    (unsigned long long)st.dropped_bytes);
		b->producer = NULL;
		b->snap_pending = 0;
		b->producer_gone_ms = tunl_now_ms();
		session_event(b, "customer", "producer-disconnected",
		    p->unanswered ? "not answering" : NULL);
		if (!b->ended && p->unanswered)
			session_notice_consumers(b, "tunl: the customer's "
			    "connection is not answering; waiting for it to "
			    "reconnect");
		else if (!b->ended)
			session_notice_consumers(b,
			    "tunl: customer reconnecting");
		break;
	case PEER_CONSUMER:
		b->nconsumers--;
		session_keys_log(b, p);
		snprintf(detail, sizeof(detail), "%s",
		    session_mode_word(b, p));
		if (p->resyncs > 0)
			info("%s left (resynchronised %llu times)", p->name,
			    (unsigned long long)p->resyncs);
		else
			info("%s left", p->name);
		session_event(b, p->name, "engineer-left", detail);
		session_record_viewers(b);
		p->dead = 1;	/* out of the viewers and the size */
		if (!b->ended) {
			if (b->producer != NULL)
				peer_send_text(b->producer, FRAME_STATUS,
				    "%s left", p->name);
			(void)session_resize(b);
			session_viewers(b);
		}
		break;
	}
}

void
session_timers(struct broker *b, int64_t now)
{
	struct peer	*p;
	int64_t		 grace = (int64_t)b->cfg.producer_grace * 1000;

	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->dead)
			continue;
		ratelog_tick(&p->badlog, now, peer_label(p), "bad frames");
		if (p->role == PEER_NEW && !p->closing && p->held &&
		    now - p->since_ms > BROKER_HELLO_TIMEOUT_MS) {
			peer_send_error(p, PROTO_ERR_TIMEOUT,
			    "the registry did not answer in time");
			info("%s: the registry did not answer its hello "
			    "in time", peer_label(p));
			peer_close_after(p);
		} else if (p->role == PEER_NEW && !p->closing &&
		    now - p->since_ms > BROKER_HELLO_TIMEOUT_MS) {
			peer_send_error(p, PROTO_ERR_TIMEOUT,
			    "no hello within %d seconds",
			    BROKER_HELLO_TIMEOUT_MS / 1000);
			info("%s: no hello in time", peer_label(p));
			peer_close_after(p);
		}
		if (p->closing && now - p->close_ms > (b->ended ?
		    BROKER_END_LINGER_MS : BROKER_LINGER_MS))
			p->dead = 1;
		else if (!p->closing && p->role == PEER_CONSUMER &&
		    p->stuck_ms != 0 &&
		    now - p->stuck_ms > (int64_t)b->cfg.consumer_stuck * 1000) {
			char	 why[64];

			snprintf(why, sizeof(why),
			    "nothing read for %u seconds", b->cfg.consumer_stuck);
			session_drop(b, p, why);
		} else if (!p->closing && p->role == PEER_CONSUMER &&
		    p->waiting && p->snap_id == 0)
			/* A request that could not be queued before. */
			p->snap_id = session_want_snapshot(b);
	}

	if (b->ended)
		return;
	alive_check(b, now);
	if (now >= b->next_keys_log_ms) {
		TAILQ_FOREACH(p, &b->peers, entry) {
			if (p->role == PEER_CONSUMER)
				session_keys_log(b, p);
		}
		b->next_keys_log_ms = now + BROKER_KEYS_LOG_MS;
	}

	/* Nobody at all: the idle clock runs. */
	if (b->producer != NULL || b->nconsumers > 0)
		b->idle_ms = 0;
	else if (b->idle_ms == 0)
		b->idle_ms = now;

	if (b->producer == NULL && b->had_producer &&
	    now - b->producer_gone_ms >= grace) {
		session_end(b, "broker", "customer did not reconnect", 1);
		return;
	}
	if (!b->had_producer && b->idle_ms != 0 &&
	    now - b->idle_ms >= (grace > BROKER_START_WAIT_MS ? grace :
	    BROKER_START_WAIT_MS)) {
		session_end(b, "broker", "customer never connected", 1);
		return;
	}

	if (now < b->next_check_ms)
		return;
	b->next_check_ms = now + BROKER_CHECK_MS;
	/*
	 * Expiry is known here. Ended, locked and restricted are written
	 * by others, who say so with a registry-changed frame
	 * (broker-control.c); the row is also read every registry_recheck
	 * seconds in case such a message was lost. Nothing here looks at
	 * the database, which every session's writes change.
	 */
	if (b->sess.expires <= (int64_t)time(NULL)) {
		session_end(b, "broker", "session expired", 1);
		return;
	}
	if (now >= b->next_full_check_ms && !b->check_queued) {
		b->next_full_check_ms = now + regq_recheck_ms(b);
		(void)regq_check(b, 0);
	}
}

/*
 * End the session: a last notice to everyone, the recording closed, the
 * registry told (state ended if set_state, else only an event). The loop
 * then writes what it can for a moment and exits.
 */
void
session_end(struct broker *b, const char *actor, const char *reason,
    int set_state)
{
	struct peer	*p;
	char		 msg[PROTO_TEXT_MAX + 1];

	if (b->ended)
		return;
	b->ended = 1;
	info("session ending: %s", reason);
	if (b->producer != NULL)
		session_output_flush(b);
	snprintf(msg, sizeof(msg), "tunl: session ended: %s", reason);
	TAILQ_FOREACH(p, &b->peers, entry) {
		if (p->dead)
			continue;
		if (p->role == PEER_CONSUMER)
			peer_send_text(p, FRAME_NOTICE, "%s", msg);
		else if (p->role == PEER_PRODUCER)
			peer_send_error(p, PROTO_ERR_ENDED, "%s", msg);
		if (p->role == PEER_CONSUMER)
			session_keys_log(b, p);
		peer_close_after(p);
	}
	record_close(b);
	if (set_state)
		regq_state(b, SESSION_ENDED, actor, reason);
	session_event(b, actor, "broker-exit", reason);
}
