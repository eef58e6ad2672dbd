/*
 * broker-outq.c: what the broker has to send, without a copy per consumer.
 *
 * Live output is framed once into one shared stream of chunks (struct
 * outq); every consumer keeps its own read position in it, as tmux keeps
 * one offset per client into a pane's buffer. A chunk is freed once the
 * slowest attached reader has passed it.
 *
 * Frames meant for one peer alone (hello replies, notices, snapshots,
 * viewers, errors) wait in that reader's private buffer of whole frames.
 * Each run of private bytes is tagged with the shared offset it was queued
 * at (a mark), so the peer gets it exactly between the live frames it was
 * queued between. A reader that is not attached (producer, new
 * connections, a consumer waiting for a snapshot) has no marks: everything
 * in its private buffer may go out.
 *
 * The bound of a reader is on what it has not taken yet, shared and
 * private together: the same number a queue of its own would have held.
 * Detaching a reader copies what it still had to take of the shared stream
 * into its private buffer, so a reader that waits or closes never holds a
 * chunk back.
 */
#include "config.h"

#include <sys/uio.h>

#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define OUTQ_CHUNK	(64 * 1024)	/* usual chunk; a larger frame gets
					   one of its own size */
#define OUTQ_MARKS_MIN	16
#define OUTQ_MARKS_MAX	1024		/* private runs pending */

struct outq_chunk {
	TAILQ_ENTRY(outq_chunk)	 entry;
	u_int64_t		 start;	/* stream offset of data[0] */
	size_t			 len;	/* bytes used */
	size_t			 size;	/* bytes allocated */
	u_char			 data[];
};

struct outq_mark {
	u_int64_t	 at;	/* shared offset these bytes go before */
	size_t		 len;	/* private bytes */
};

void
outq_init(struct outq *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->chunks);
	TAILQ_INIT(&q->readers);
}

static void
outq_chunk_free(struct outq *q, struct outq_chunk *ch)
{
	tunl_memzero(ch->data, ch->len);
	ch->len = 0;
	if (ch->size == OUTQ_CHUNK && q->nspares < TUNL_NITEMS(q->spares)) {
		q->spares[q->nspares++] = ch;
		return;
	}
	q->stored -= ch->size;
	free(ch);
}

void
outq_free(struct outq *q)
{
	struct outq_chunk	*ch;
	struct outq_reader	*r;
	u_int			 i;

	while ((r = TAILQ_FIRST(&q->readers)) != NULL) {
		TAILQ_REMOVE(&q->readers, r, entry);
		r->q = NULL;
		r->nmarks = r->mfirst = r->marked = 0;
	}
	while ((ch = TAILQ_FIRST(&q->chunks)) != NULL) {
		TAILQ_REMOVE(&q->chunks, ch, entry);
		tunl_memzero(ch->data, ch->len);
		free(ch);
	}
	for (i = 0; i < q->nspares; i++)
		free(q->spares[i]);
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->chunks);
	TAILQ_INIT(&q->readers);
}

/* Bytes allocated for the shared stream, spare chunks included. */
size_t
outq_stored(const struct outq *q)
{
	return q->stored;
}

/* Shared bytes stored and not yet freed: tail less the oldest chunk. */
u_int64_t
outq_span(const struct outq *q)
{
	const struct outq_chunk	*ch;

	if ((ch = TAILQ_FIRST(&q->chunks)) == NULL)
		return 0;
	return q->tail - ch->start;
}

/* The chunk holding stream offset pos, or NULL if pos is the tail. */
static struct outq_chunk *
outq_find(const struct outq *q, u_int64_t pos)
{
	struct outq_chunk	*ch;

	if (pos >= q->tail)
		return NULL;
	/* Readers are mostly near the tail: search from there. */
	TAILQ_FOREACH_REVERSE(ch, &q->chunks, outq_chunks, entry) {
		if (ch->start <= pos)
			return pos < ch->start + ch->len ? ch : NULL;
	}
	return NULL;
}

/*
 * How much of the frame that pos is inside remains from pos: 0 at a frame
 * boundary. Frames never span chunks, so the chunk is walked from its
 * start.
 */
static size_t
outq_frame_rest(const struct outq *q, u_int64_t pos)
{
	struct outq_chunk	*ch;
	size_t			 off, want, flen;
	u_int32_t		 len;

	if ((ch = outq_find(q, pos)) == NULL)
		return 0;
	want = (size_t)(pos - ch->start);
	off = 0;
	while (off < ch->len && ch->len - off >= 4) {
		len = ((u_int32_t)ch->data[off] << 24) |
		    ((u_int32_t)ch->data[off + 1] << 16) |
		    ((u_int32_t)ch->data[off + 2] << 8) |
		    (u_int32_t)ch->data[off + 3];
		flen = 4 + (size_t)len;
		if (flen > ch->len - off)
			break;	/* not reached: frames are stored whole */
		if (want < off + flen)
			return off == want ? 0 : off + flen - want;
		off += flen;
	}
	return 0;
}

/* Append one frame to the shared stream, unless nobody reads it. */
int
outq_append(struct outq *q, u_int8_t type, const void *data, size_t len)
{
	struct outq_chunk	*ch;
	size_t			 need, size;
	u_char			*d;

	if (len == 0 || len > FRAME_PAYLOAD_MAX)
		return TUNL_ERR_LENGTH;
	if (TAILQ_EMPTY(&q->readers))
		return 0;
	need = FRAME_HEADER_LEN + len;
	ch = TAILQ_LAST(&q->chunks, outq_chunks);
	if (ch == NULL || ch->size - ch->len < need) {
		if (need <= OUTQ_CHUNK && q->nspares > 0)
			ch = q->spares[--q->nspares];
		else {
			size = need > OUTQ_CHUNK ? need : OUTQ_CHUNK;
			if ((ch = malloc(sizeof(*ch) + size)) == NULL)
				return TUNL_ERR_ALLOC;
			ch->size = size;
			q->stored += size;
		}
		ch->start = q->tail;
		ch->len = 0;
		TAILQ_INSERT_TAIL(&q->chunks, ch, entry);
	}
	d = ch->data + ch->len;
	d[0] = (u_char)((len + 1) >> 24);
	d[1] = (u_char)((len + 1) >> 16);
	d[2] = (u_char)((len + 1) >> 8);
	d[3] = (u_char)(len + 1);
	d[4] = type;
	memcpy(d + FRAME_HEADER_LEN, data, len);
	ch->len += need;
	q->tail += need;
	return 0;
}

/* Free every chunk that each attached reader has passed. */
void
outq_trim(struct outq *q)
{
	struct outq_chunk	*ch;
	struct outq_reader	*r;
	u_int64_t		 min = q->tail;

	TAILQ_FOREACH(r, &q->readers, entry) {
		if (r->pos < min)
			min = r->pos;
	}
	while ((ch = TAILQ_FIRST(&q->chunks)) != NULL &&
	    ch->start + ch->len <= min) {
		TAILQ_REMOVE(&q->chunks, ch, entry);
		outq_chunk_free(q, ch);
	}
}

/* ---- readers ------------------------------------------------------------------ */

int
outq_reader_init(struct outq_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	if ((r->out = buf_new(max)) == NULL)
		return TUNL_ERR_ALLOC;
	r->max = max;
	return 0;
}

void
outq_reader_free(struct outq_reader *r)
{
	if (r->q != NULL)
		TAILQ_REMOVE(&r->q->readers, r, entry);
	buf_free(r->out);
	free(r->marks);
	memset(r, 0, sizeof(*r));
}

/*
 * A larger bound for a detached reader (a hello was accepted); what is
 * queued stays. Nothing changes on failure.
 */
int
outq_reader_grow(struct outq_reader *r, size_t max)
{
	struct outq_mark	*m;
	struct buf		*nb;

	if (r->q != NULL || max < buf_len(r->out))
		return TUNL_ERR_INVALID;
	if ((nb = buf_new(max)) == NULL)
		return TUNL_ERR_ALLOC;
	if (buf_putb(nb, r->out) != 0) {
		buf_free(nb);
		return TUNL_ERR_ALLOC;
	}
	if (r->marks == NULL) {
		if ((m = calloc(OUTQ_MARKS_MIN, sizeof(*m))) == NULL) {
			buf_free(nb);
			return TUNL_ERR_ALLOC;
		}
		r->marks = m;
		r->mcap = OUTQ_MARKS_MIN;
	}
	buf_free(r->out);
	r->out = nb;
	r->max = max;
	return 0;
}

/* Shared bytes this reader has still to take. */
size_t
outq_lag(const struct outq_reader *r)
{
	return r->q == NULL ? 0 : (size_t)(r->q->tail - r->pos);
}

/* Everything this reader has still to take. */
size_t
outq_pending(const struct outq_reader *r)
{
	return outq_lag(r) + buf_len(r->out);
}

/* Whether n more bytes keep the reader within its bound. */
int
outq_fits(const struct outq_reader *r, size_t n)
{
	size_t	 p = outq_pending(r);

	return p <= r->max && n <= r->max - p;
}

static struct outq_mark *
outq_mark_last(struct outq_reader *r)
{
	return r->nmarks == 0 ? NULL : &r->marks[r->mfirst + r->nmarks - 1];
}

static int
outq_mark_add(struct outq_reader *r, u_int64_t at, size_t len)
{
	struct outq_mark	*m;
	u_int			 ncap;

	if ((m = outq_mark_last(r)) != NULL && m->at == at) {
		m->len += len;
		r->marked += len;
		return 0;
	}
	if (r->nmarks >= OUTQ_MARKS_MAX)
		return TUNL_ERR_FULL;
	if (r->mfirst + r->nmarks == r->mcap) {
		if (r->mfirst > 0) {
			memmove(r->marks, r->marks + r->mfirst,
			    r->nmarks * sizeof(*r->marks));
			r->mfirst = 0;
		} else {
			ncap = r->mcap == 0 ? OUTQ_MARKS_MIN : r->mcap * 2;
			if (ncap > OUTQ_MARKS_MAX)
				ncap = OUTQ_MARKS_MAX;
			/* At most OUTQ_MARKS_MAX: no overflow. */
			if ((m = realloc(r->marks, ncap * sizeof(*m))) == NULL)
				return TUNL_ERR_ALLOC;
			r->marks = m;
			r->mcap = ncap;
		}
	}
	m = &r->marks[r->mfirst + r->nmarks++];
	m->at = at;
	m->len = len;
	r->marked += len;
	return 0;
}

/*
 * Called after frames were put into r->out: the bytes not yet placed go
 * in order with the live stream, within the bound, or are taken back
 * (TUNL_ERR_FULL), as a queue of its own would have refused them.
 */
int
outq_queued(struct outq_reader *r)
{
	size_t	 len = buf_len(r->out), n;
	int	 ret;

	if (r->q == NULL || len <= r->marked)
		return 0;
	n = len - r->marked;
	if (outq_pending(r) > r->max) {
		(void)buf_consume_end(r->out, n);
		return TUNL_ERR_FULL;
	}
	if ((ret = outq_mark_add(r, r->q->tail, n)) != 0) {
		(void)buf_consume_end(r->out, n);
		return ret == TUNL_ERR_ALLOC ? ret : TUNL_ERR_FULL;
	}
	return 0;
}

/*
 * Start taking live output from now on; what the private buffer holds goes
 * first. Cannot fail: a detached reader has no marks, and room for one
 * was made when it was grown.
 */
int
outq_attach(struct outq *q, struct outq_reader *r)
{
	size_t	 len = buf_len(r->out);
	int	 ret;

	if (r->q != NULL)
		return r->q == q ? 0 : TUNL_ERR_INVALID;
	r->q = q;
	r->pos = q->tail;
	r->nmarks = r->mfirst = 0;
	r->marked = 0;
	if (len > 0 && (ret = outq_mark_add(r, q->tail, len)) != 0) {
		r->q = NULL;
		return ret;
	}
	TAILQ_INSERT_TAIL(&q->readers, r, entry);
	return 0;
}

/* Copy shared bytes [pos, pos + len) into b. */
static int
outq_copy(const struct outq *q, u_int64_t pos, size_t len, struct buf *b)
{
	struct outq_chunk	*ch;
	size_t			 k, off;
	int			 r;

	while (len > 0) {
		if ((ch = outq_find(q, pos)) == NULL)
			return TUNL_ERR_INTERNAL;
		off = (size_t)(pos - ch->start);
		k = ch->len - off < len ? ch->len - off : len;
		if ((r = buf_put(b, ch->data + off, k)) != 0)
			return r;
		pos += k;
		len -= k;
	}
	return 0;
}

static void
outq_unlink(struct outq_reader *r)
{
	if (r->q == NULL)
		return;
	TAILQ_REMOVE(&r->q->readers, r, entry);
	r->pos = r->q->tail;
	r->q = NULL;
	r->nmarks = r->mfirst = 0;
	r->marked = 0;
}

/*
 * Stop taking live output, keeping everything already due: the shared
 * bytes still to take are copied, in order with the private frames, into
 * the private buffer. On failure nothing changes.
 */
int
outq_detach(struct outq_reader *r)
{
	struct outq		*q = r->q;
	struct outq_mark	*m;
	struct buf		*nb;
	u_int64_t		 pos;
	size_t			 poff = 0, rest;
	u_int			 i;
	int			 ret;

	if (q == NULL)
		return 0;
	if (outq_lag(r) == 0) {
		outq_unlink(r);
		return 0;
	}
	rest = outq_frame_rest(q, r->pos);
	if ((nb = buf_new(r->max)) == NULL)
		return TUNL_ERR_ALLOC;
	pos = r->pos;
	for (i = 0; i < r->nmarks; i++) {
		m = &r->marks[r->mfirst + i];
		if (m->at > pos && (ret = outq_copy(q, pos,
		    (size_t)(m->at - pos), nb)) != 0)
			goto fail;
		if ((ret = buf_put(nb, buf_ptr(r->out) + poff, m->len)) != 0)
			goto fail;
		if (m->at > pos)
			pos = m->at;
		poff += m->len;
	}
	if ((ret = outq_copy(q, pos, (size_t)(q->tail - pos), nb)) != 0)
		goto fail;
	/* A shared frame partly written is now the private head. */
	if (rest > 0)
		r->head_rem = rest;
	buf_free(r->out);
	r->out = nb;
	outq_unlink(r);
	return 0;
fail:
	buf_free(nb);
	return ret;
}

/*
 * Drop everything still to take but the rest of a frame partly written
 * (the stream must stay framed), and detach. Returns the bytes dropped.
 */
size_t
outq_drop(struct outq_reader *r)
{
	size_t	 pending = outq_pending(r), rest = 0, keep;

	if (r->q != NULL)
		rest = outq_frame_rest(r->q, r->pos);
	if (rest > 0) {
		/* Inside a shared frame: no private byte was begun. */
		buf_reset(r->out);
		if (outq_copy(r->q, r->pos, rest, r->out) != 0) {
			/* Not reached: the bound is at least two frames. */
			buf_reset(r->out);
			rest = 0;
		}
		r->head_rem = rest;
		outq_unlink(r);
		return pending - rest;
	}
	outq_unlink(r);
	keep = r->head_rem < buf_len(r->out) ? r->head_rem : buf_len(r->out);
	if (buf_len(r->out) > keep)
		(void)buf_consume_end(r->out, buf_len(r->out) - keep);
	return pending - keep;
}

/* ---- writing ------------------------------------------------------------------ */

/*
 * Fill iov with what goes out next, in order; returns the entries used
 * (0: nothing to send). The iov stays valid until the next change to the
 * reader or the queue.
 */
int
outq_iov(const struct outq_reader *r, struct iovec *iov, int max)
{
	const struct outq	*q = r->q;
	const struct outq_mark	*m;
	struct outq_chunk	*ch = NULL;
	const u_char		*priv = buf_ptr(r->out);
	u_int64_t		 pos, lim;
	size_t			 poff = 0, off, k;
	u_int			 mi = 0;
	int			 n = 0;

	if (q == NULL) {
		if (buf_len(r->out) == 0 || max < 1)
			return 0;
		iov[0].iov_base = (void *)priv;
		iov[0].iov_len = buf_len(r->out);
		return 1;
	}
	pos = r->pos;
	while (n < max) {
		m = mi < r->nmarks ? &r->marks[r->mfirst + mi] : NULL;
		if (m != NULL && m->at <= pos) {
			iov[n].iov_base = (void *)(priv + poff);
			iov[n].iov_len = m->len;
			n++;
			poff += m->len;
			mi++;
			continue;
		}
		lim = m != NULL ? m->at : q->tail;
		if (pos >= lim)
			break;
		if (ch == NULL || pos >= ch->start + ch->len)
			ch = ch == NULL ? outq_find(q, pos) :
			    TAILQ_NEXT(ch, entry);
		if (ch == NULL || pos < ch->start)
			break;	/* not reached: no gaps in the stream */
		off = (size_t)(pos - ch->start);
		k = ch->len - off;
		if (k > lim - pos)
			k = (size_t)(lim - pos);
		iov[n].iov_base = ch->data + off;
		iov[n].iov_len = k;
		n++;
		pos += k;
	}
	return n;
}

/* n private bytes were written: which frame the next belongs to. */
static void
outq_consume_private(struct outq_reader *r, size_t n)
{
	u_int32_t	 len;
	size_t		 k;

	while (n > 0) {
		if (r->head_rem == 0) {
			if (buf_peek_u32(r->out, 0, &len) != 0)
				r->head_rem = buf_len(r->out);
			else
				r->head_rem = 4 + (size_t)len;
		}
		k = n < r->head_rem ? n : r->head_rem;
		(void)buf_consume(r->out, k);
		r->head_rem -= k;
		n -= k;
	}
}

/* n bytes of what outq_iov offered were written. */
void
outq_advance(struct outq_reader *r, size_t n)
{
	struct outq_mark	*m;
	u_int64_t		 lim;
	size_t			 k;

	while (n > 0) {
		m = r->nmarks > 0 ? &r->marks[r->mfirst] : NULL;
		if (r->q == NULL || (m != NULL && m->at <= r->pos)) {
			k = buf_len(r->out);
			if (m != NULL && m->len < k)
				k = m->len;
			if (k > n)
				k = n;
			if (k == 0)
				break;
			outq_consume_private(r, k);
			if (m != NULL)
				r->marked -= k;
			if (m != NULL && (m->len -= k) == 0) {
				r->mfirst++;
				if (--r->nmarks == 0)
					r->mfirst = 0;
			}
		} else {
			lim = m != NULL ? m->at : r->q->tail;
			if (lim <= r->pos)
				break;
			k = lim - r->pos < n ? (size_t)(lim - r->pos) : n;
			r->pos += k;
		}
		n -= k;
	}
}
