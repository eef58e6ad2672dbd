/*
 * test-broker-outq.c: the broker's shared output queue. Live frames are
 * stored once and read by every attached reader at its own pace; private
 * frames come out exactly where they were queued; the bound counts lag and
 * private bytes together; dropping keeps the rest of a frame partly
 * written; chunks are freed once the slowest reader passed them; readers
 * come and go at odd points (checked against a simple model).
 */
#include "config.h"

#include <sys/uio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"

#define BIG	(4 * 1024 * 1024)
#define CHUNK	(64 * 1024)	/* broker-outq.c's usual chunk */

/* A payload that says which frame it is: n bytes of a pattern from tag. */
static u_char *
payload(u_int tag, size_t n)
{
	static u_char	 p[FRAME_PAYLOAD_MAX];
	size_t		 i;

	assert_true(n <= sizeof(p));
	for (i = 0; i < n; i++)
		p[i] = (u_char)(tag * 31 + i * 7);
	return p;
}

static void
append(struct outq *q, u_int tag, size_t n)
{
	assert_int_equal(outq_append(q, FRAME_OUTPUT, payload(tag, n), n), 0);
}

/* The frame append() or priv() makes, for the expected stream. */
static void
expect_frame(struct buf *exp, u_int8_t type, u_int tag, size_t n)
{
	assert_int_equal(frame_put(exp, type, payload(tag, n), n), 0);
}

/* Queue a private frame the way the broker does: put, then place it. */
static int
priv(struct outq_reader *r, u_int tag, size_t n)
{
	int	 ret;

	if ((ret = frame_put(r->out, FRAME_NOTICE, payload(tag, n), n)) != 0)
		return ret;
	return outq_queued(r);
}

/*
 * Write at most `most` bytes of what r has to send (at most `step` per
 * writev, as a socket taking little would) into sink. Returns the bytes.
 */
static size_t
drain(struct outq_reader *r, struct buf *sink, size_t most, size_t step)
{
	struct iovec	 iov[8];
	size_t		 done = 0, k, w;
	int		 n, i;

	while (done < most && (n = outq_iov(r, iov, 8)) > 0) {
		w = 0;
		for (i = 0; i < n && w < step && done + w < most; i++) {
			k = iov[i].iov_len;
			if (k > step - w)
				k = step - w;
			if (k > most - done - w)
				k = most - done - w;
			assert_true(k > 0);
			assert_int_equal(buf_put(sink, iov[i].iov_base, k), 0);
			w += k;
		}
		outq_advance(r, w);
		done += w;
	}
	return done;
}

static void
assert_same(const struct buf *a, const struct buf *b)
{
	assert_int_equal(buf_len(a), buf_len(b));
	assert_memory_equal(buf_ptr(a), buf_ptr(b), buf_len(a));
}

static void
reader(struct outq_reader *r, size_t max)
{
	assert_int_equal(outq_reader_init(r, 4096), 0);
	assert_int_equal(outq_reader_grow(r, max), 0);
}

/* One reader: frames out whole and in order, chunks freed behind it. */
static void
test_one_reader(void **state)
{
	struct outq		 q;
	struct outq_reader	 r;
	struct buf		*exp = buf_new(BIG), *got = buf_new(BIG);
	u_int			 i;

	(void)state;
	outq_init(&q);
	reader(&r, BIG);
	/* Nobody attached: nothing is stored. */
	append(&q, 99, 100);
	assert_int_equal(outq_span(&q), 0);
	assert_int_equal(outq_attach(&q, &r), 0);
	for (i = 0; i < 40; i++) {
		append(&q, i, 1000 + i * 997);
		expect_frame(exp, FRAME_OUTPUT, i, 1000 + i * 997);
	}
	assert_int_equal(outq_lag(&r), buf_len(exp));
	assert_int_equal(outq_pending(&r), buf_len(exp));
	(void)drain(&r, got, SIZE_MAX, 4093);
	assert_same(exp, got);
	assert_int_equal(outq_pending(&r), 0);
	assert_true(outq_span(&q) > 0);
	outq_trim(&q);
	assert_int_equal(outq_span(&q), 0);
	/* A frame larger than a chunk gets one of its own. */
	buf_reset(exp);
	buf_reset(got);
	append(&q, 7, FRAME_PAYLOAD_MAX);
	expect_frame(exp, FRAME_OUTPUT, 7, FRAME_PAYLOAD_MAX);
	assert_int_equal(outq_append(&q, FRAME_OUTPUT, "x", 0),
	    TUNL_ERR_LENGTH);
	assert_int_equal(outq_append(&q, FRAME_OUTPUT, payload(0, 1),
	    FRAME_PAYLOAD_MAX + 1), TUNL_ERR_LENGTH);
	(void)drain(&r, got, SIZE_MAX, 100000);
	assert_same(exp, got);
	outq_reader_free(&r);
	outq_trim(&q);
	assert_int_equal(outq_span(&q), 0);
	outq_free(&q);
	buf_free(exp);
	buf_free(got);
}

/* Private frames come out exactly between the live frames around them. */
static void
test_private_order(void **state)
{
	struct outq		 q;
	struct outq_reader	 r, other;
	struct buf		*exp = buf_new(BIG), *got = buf_new(BIG);
	size_t			 step;

	(void)state;
	for (step = 1; step < 40; step += 6) {
		outq_init(&q);
		reader(&r, BIG);
		reader(&other, BIG);
		buf_reset(exp);
		buf_reset(got);
		/* Queued before attaching: first of all. */
		assert_int_equal(priv(&r, 1, 10), 0);
		expect_frame(exp, FRAME_NOTICE, 1, 10);
		assert_int_equal(outq_attach(&q, &r), 0);
		assert_int_equal(outq_attach(&q, &other), 0);
		append(&q, 2, 30);
		expect_frame(exp, FRAME_OUTPUT, 2, 30);
		assert_int_equal(priv(&r, 3, 5), 0);
		expect_frame(exp, FRAME_NOTICE, 3, 5);
		/* Only r has it. */
		assert_int_equal(outq_lag(&other), outq_lag(&r));
		assert_int_equal(outq_pending(&other) + 10 + 5 +
		    2 * FRAME_HEADER_LEN, outq_pending(&r));
		append(&q, 4, 50);
		expect_frame(exp, FRAME_OUTPUT, 4, 50);
		/* Part taken, then more queued at either side. */
		(void)drain(&r, got, 37, step);
		assert_int_equal(priv(&r, 5, 3), 0);
		expect_frame(exp, FRAME_NOTICE, 5, 3);
		assert_int_equal(priv(&r, 6, 4), 0);
		expect_frame(exp, FRAME_NOTICE, 6, 4);
		append(&q, 7, 20);
		expect_frame(exp, FRAME_OUTPUT, 7, 20);
		append(&q, 8, 21);
		expect_frame(exp, FRAME_OUTPUT, 8, 21);
		assert_int_equal(priv(&r, 9, 1), 0);
		expect_frame(exp, FRAME_NOTICE, 9, 1);
		(void)drain(&r, got, SIZE_MAX, step);
		assert_same(exp, got);
		/* The other reader never saw a private frame of r's. */
		buf_reset(got);
		(void)drain(&other, got, SIZE_MAX, step);
		assert_int_equal(buf_len(got), (30 + 50 + 20 + 21) +
		    4 * FRAME_HEADER_LEN);
		outq_reader_free(&r);
		outq_reader_free(&other);
		outq_free(&q);
	}
	buf_free(exp);
	buf_free(got);
}

/* The bound counts lag and private frames together, as one queue did. */
static void
test_bound(void **state)
{
	struct outq		 q;
	struct outq_reader	 r;
	size_t			 max = 2 * (FRAME_HEADER_LEN + FRAME_MAX), len;
	size_t			 big = FRAME_HEADER_LEN + FRAME_PAYLOAD_MAX;
	size_t			 p1 = FRAME_HEADER_LEN + FRAME_PAYLOAD_MAX - 8;
	size_t			 p2 = FRAME_HEADER_LEN + 4;

	(void)state;
	outq_init(&q);
	reader(&r, max);
	assert_int_equal(outq_attach(&q, &r), 0);
	assert_true(outq_fits(&r, max));
	assert_false(outq_fits(&r, max + 1));
	append(&q, 1, FRAME_PAYLOAD_MAX);
	assert_int_equal(outq_lag(&r), big);
	assert_true(outq_fits(&r, max - big));
	assert_false(outq_fits(&r, max - big + 1));
	/* A private frame past the bound is refused and taken back. */
	len = buf_len(r.out);
	assert_int_equal(priv(&r, 2, FRAME_PAYLOAD_MAX - 8), 0);
	assert_int_equal(outq_pending(&r), big + p1);
	assert_true(big + p1 + p2 <= max && big + p1 + 2 * p2 > max);
	assert_int_equal(priv(&r, 3, 4), 0);
	assert_int_equal(priv(&r, 4, 4), TUNL_ERR_FULL);
	assert_int_equal(buf_len(r.out), len + p1 + p2);
	assert_int_equal(outq_pending(&r), big + p1 + p2);
	assert_true(outq_fits(&r, max - (big + p1 + p2)));
	assert_false(outq_fits(&r, max - (big + p1 + p2) + 1));
	/* Detached: only the private buffer counts. */
	assert_int_equal(outq_drop(&r), big + p1 + p2);
	assert_int_equal(outq_pending(&r), 0);
	assert_true(outq_fits(&r, max));
	/* Growing is for detached readers only. */
	assert_int_equal(outq_attach(&q, &r), 0);
	assert_int_equal(outq_reader_grow(&r, max * 2), TUNL_ERR_INVALID);
	outq_reader_free(&r);
	outq_free(&q);
}

/* Dropping inside a live frame keeps exactly its rest, then nothing. */
static void
test_drop_partial(void **state)
{
	struct outq		 q;
	struct outq_reader	 r;
	struct buf		*exp = buf_new(BIG), *got = buf_new(BIG);
	size_t			 cut, dropped, total;

	(void)state;
	for (cut = 0; cut < 3 * (FRAME_HEADER_LEN + 100); cut += 13) {
		outq_init(&q);
		reader(&r, BIG);
		buf_reset(exp);
		buf_reset(got);
		assert_int_equal(outq_attach(&q, &r), 0);
		append(&q, 1, 100);
		assert_int_equal(priv(&r, 2, 100), 0);
		append(&q, 3, 100);
		expect_frame(exp, FRAME_OUTPUT, 1, 100);
		expect_frame(exp, FRAME_NOTICE, 2, 100);
		expect_frame(exp, FRAME_OUTPUT, 3, 100);
		total = buf_len(exp);
		(void)drain(&r, got, cut, 5);
		dropped = outq_drop(&r);
		/* Up to the end of the frame cut was in, nothing after. */
		(void)buf_consume_end(exp, total - ((cut +
		    (FRAME_HEADER_LEN + 100) - 1) / (FRAME_HEADER_LEN + 100)) *
		    (FRAME_HEADER_LEN + 100));
		assert_int_equal(dropped, total - buf_len(exp));
		append(&q, 4, 100);	/* not for a detached reader */
		(void)drain(&r, got, SIZE_MAX, 7);
		assert_same(exp, got);
		outq_reader_free(&r);
		outq_free(&q);
	}
	buf_free(exp);
	buf_free(got);
}

/*
 * Detaching keeps everything due in order but holds no chunk: the slow
 * detached reader does not keep the queue's memory.
 */
static void
test_detach(void **state)
{
	struct outq		 q;
	struct outq_reader	 slow, fast;
	struct buf		*exp = buf_new(BIG), *got = buf_new(BIG);
	u_int			 i;

	(void)state;
	outq_init(&q);
	reader(&slow, BIG);
	reader(&fast, BIG);
	assert_int_equal(outq_attach(&q, &slow), 0);
	assert_int_equal(outq_attach(&q, &fast), 0);
	for (i = 0; i < 20; i++) {
		append(&q, i, 5000);
		expect_frame(exp, FRAME_OUTPUT, i, 5000);
		if (i % 7 == 3) {
			assert_int_equal(priv(&slow, 100 + i, 9), 0);
			expect_frame(exp, FRAME_NOTICE, 100 + i, 9);
		}
	}
	(void)drain(&slow, got, 12345, 1000);	/* stops inside a frame */
	assert_int_equal(outq_detach(&slow), 0);
	assert_null(slow.q);
	/* Later output is not for it, and it holds nothing of the queue. */
	for (i = 0; i < 30; i++)
		append(&q, 50 + i, 5000);
	{
		struct buf	*sink = buf_new(BIG);

		(void)drain(&fast, sink, SIZE_MAX, 60000);
		assert_int_equal(buf_len(sink), 50 * (5000 +
		    FRAME_HEADER_LEN));
		buf_free(sink);
	}
	outq_trim(&q);
	assert_int_equal(outq_span(&q), 0);
	(void)drain(&slow, got, SIZE_MAX, 333);
	assert_same(exp, got);
	/* Attached again, it starts at the tail. */
	assert_int_equal(outq_attach(&q, &slow), 0);
	assert_int_equal(outq_lag(&slow), 0);
	outq_reader_free(&slow);
	outq_reader_free(&fast);
	outq_free(&q);
	buf_free(exp);
	buf_free(got);
}

/* Chunks go as the slowest attached reader passes them, not before. */
static void
test_free_behind_slowest(void **state)
{
	struct outq		 q;
	struct outq_reader	 r[3];
	struct buf		*sink = buf_new(BIG);
	size_t			 frame = FRAME_HEADER_LEN + 16000;
	u_int			 i;

	(void)state;
	outq_init(&q);
	for (i = 0; i < 3; i++) {
		reader(&r[i], BIG);
		assert_int_equal(outq_attach(&q, &r[i]), 0);
	}
	for (i = 0; i < 64; i++)
		append(&q, i, 16000);
	assert_int_equal(outq_span(&q), 64 * frame);
	(void)drain(&r[0], sink, SIZE_MAX, 1 << 20);
	(void)drain(&r[1], sink, 40 * frame, 1 << 20);
	(void)drain(&r[2], sink, 10 * frame + 3, 1 << 20);
	outq_trim(&q);
	/* Behind the slowest at most one chunk is kept. */
	assert_true(outq_span(&q) >= outq_lag(&r[2]));
	assert_true(outq_span(&q) < outq_lag(&r[2]) + CHUNK);
	outq_reader_free(&r[2]);	/* leaves without reading */
	outq_trim(&q);
	assert_true(outq_span(&q) >= outq_lag(&r[1]));
	assert_true(outq_span(&q) < outq_lag(&r[1]) + CHUNK);
	(void)drain(&r[1], sink, SIZE_MAX, 1 << 20);
	outq_trim(&q);
	assert_int_equal(outq_span(&q), 0);
	/* Freed chunks are kept for reuse, a few only. */
	assert_true(outq_stored(&q) <= 4 * CHUNK);
	outq_reader_free(&r[0]);
	outq_reader_free(&r[1]);
	outq_free(&q);
	assert_int_equal(outq_stored(&q), 0);
	buf_free(sink);
}

/* Private runs between live frames are bounded in number. */
static void
test_marks_bounded(void **state)
{
	struct outq		 q;
	struct outq_reader	 r;
	u_int			 i;
	int			 ret = 0;

	(void)state;
	outq_init(&q);
	reader(&r, BIG);
	assert_int_equal(outq_attach(&q, &r), 0);
	for (i = 0; i < 5000 && ret == 0; i++) {
		append(&q, i, 1);
		ret = priv(&r, i, 1);
	}
	assert_int_equal(ret, TUNL_ERR_FULL);
	assert_true(i > 1000 && i < 5000);
	/* Taking them makes room again. */
	{
		struct buf	*sink = buf_new(BIG);

		(void)drain(&r, sink, SIZE_MAX, 100);
		buf_free(sink);
	}
	append(&q, 1, 1);
	assert_int_equal(priv(&r, 1, 1), 0);
	outq_reader_free(&r);
	outq_free(&q);
}

/* ---- a model ------------------------------------------------------------------ */

#define NREADERS	12

struct model {
	struct outq_reader	 r;
	int			 live;		/* initialised */
	int			 attached;
	size_t			 max;
	struct buf		*due;		/* bytes expected next */
	size_t			 rem;		/* of the frame begun */
	struct buf		*got;
};

static u_int32_t	 rnd_state = 12345;
static u_int		 drops_inside, behind, refused;	/* paths taken */

static u_int32_t
rnd(u_int32_t n)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return ((rnd_state >> 8) & 0xffffff) % n;
}

/* The model's view of n bytes delivered: which frame is begun. */
static void
model_taken(struct model *m, size_t n)
{
	u_int32_t	 len;
	size_t		 k;

	assert_true(n <= buf_len(m->due));
	assert_memory_equal(buf_ptr(m->due), buf_ptr(m->got) +
	    buf_len(m->got) - n, n);
	while (n > 0) {
		if (m->rem == 0) {
			assert_int_equal(buf_peek_u32(m->due, 0, &len), 0);
			m->rem = 4 + (size_t)len;
		}
		k = n < m->rem ? n : m->rem;
		assert_int_equal(buf_consume(m->due, k), 0);
		m->rem -= k;
		n -= k;
	}
}

static void
model_drop(struct model *m)
{
	size_t	 dropped, keep = m->rem;

	if (keep > 0)
		drops_inside++;
	dropped = outq_drop(&m->r);
	assert_int_equal(dropped, buf_len(m->due) - keep);
	(void)buf_consume_end(m->due, buf_len(m->due) - keep);
	m->attached = 0;
}

/* Readers join, lag, drop, detach and leave at random points. */
static void
test_model(void **state)
{
	struct model	 m[NREADERS];
	struct outq	 q;
	struct buf	*frame = buf_new(FRAME_HEADER_LEN + FRAME_MAX);
	u_int64_t	 minpos;
	size_t		 n, len, before, most;
	u_int		 op, i, k, tag = 0, step;
	int		 ret;

	(void)state;
	outq_init(&q);
	memset(m, 0, sizeof(m));
	for (step = 0; step < 30000; step++) {
		i = rnd(NREADERS);
		op = rnd(100);
		if (!m[i].live) {
			m[i].max = 2 * (FRAME_HEADER_LEN + FRAME_MAX) +
			    rnd(1 << 20);
			reader(&m[i].r, m[i].max);
			m[i].due = buf_new(BIG);
			m[i].got = buf_new(BIG);
			m[i].rem = 0;
			m[i].live = 1;
			m[i].attached = 0;
			continue;
		}
		if (op < 30) {
			/* Live output, as session_fanout does it. */
			len = 1 + (rnd(4) == 0 ? rnd(FRAME_PAYLOAD_MAX) :
			    rnd(3000));
			tag++;
			buf_reset(frame);
			expect_frame(frame, FRAME_OUTPUT, tag, len);
			for (k = 0; k < NREADERS; k++) {
				if (!m[k].live || !m[k].attached)
					continue;
				if (!outq_fits(&m[k].r, buf_len(frame))) {
					behind++;
					model_drop(&m[k]);
					continue;
				}
				assert_int_equal(buf_putb(m[k].due, frame), 0);
			}
			append(&q, tag, len);
		} else if (op < 45) {
			/* A private frame, refused when it does not fit. */
			len = 1 + rnd(rnd(3) == 0 ? 200000 : 60);
			tag++;
			before = buf_len(m[i].r.out);
			buf_reset(frame);
			expect_frame(frame, FRAME_NOTICE, tag, len);
			ret = priv(&m[i].r, tag, len);
			if (outq_pending(&m[i].r) - (ret == 0 ?
			    buf_len(frame) : 0) + buf_len(frame) >
			    m[i].max) {
				assert_int_equal(ret, TUNL_ERR_FULL);
				assert_int_equal(buf_len(m[i].r.out), before);
				refused++;
			} else {
				assert_int_equal(ret, 0);
				assert_int_equal(buf_putb(m[i].due, frame), 0);
			}
		} else if (op < 75) {
			/* A write of some size. */
			most = rnd(4) == 0 ? SIZE_MAX : rnd(300000);
			buf_reset(m[i].got);
			n = drain(&m[i].r, m[i].got, most, 1 + rnd(70000));
			model_taken(&m[i], n);
		} else if (op < 80) {
			if (!m[i].attached) {
				assert_int_equal(outq_attach(&q, &m[i].r), 0);
				m[i].attached = 1;
			}
		} else if (op < 84) {
			assert_int_equal(outq_detach(&m[i].r), 0);
			m[i].attached = 0;
		} else if (op < 88) {
			model_drop(&m[i]);
		} else if (op < 90) {
			/* Leaves, whatever it was doing. */
			outq_reader_free(&m[i].r);
			buf_free(m[i].due);
			buf_free(m[i].got);
			m[i].live = 0;
		} else
			outq_trim(&q);
		/* Never holds more than its bound; reading it is exact. */
		for (k = 0; k < NREADERS; k++) {
			if (!m[k].live)
				continue;
			assert_int_equal(outq_pending(&m[k].r),
			    buf_len(m[k].due));
			assert_true(outq_pending(&m[k].r) <= m[k].max);
			assert_int_equal(m[k].r.q != NULL, m[k].attached);
			/* Attached, every private byte has its place. */
			if (m[k].attached)
				assert_int_equal(m[k].r.marked,
				    buf_len(m[k].r.out));
		}
		if (op >= 90) {
			/* Memory: the slowest attached reader, a chunk more. */
			minpos = q.tail;
			for (k = 0; k < NREADERS; k++) {
				if (m[k].live && m[k].attached &&
				    m[k].r.pos < minpos)
					minpos = m[k].r.pos;
			}
			assert_true(outq_span(&q) < q.tail - minpos +
			    FRAME_HEADER_LEN + FRAME_MAX);
		}
	}
	for (k = 0; k < NREADERS; k++) {
		if (!m[k].live)
			continue;
		buf_reset(m[k].got);
		n = drain(&m[k].r, m[k].got, SIZE_MAX, 65536);
		model_taken(&m[k], n);
		assert_int_equal(buf_len(m[k].due), 0);
		outq_reader_free(&m[k].r);
		buf_free(m[k].due);
		buf_free(m[k].got);
	}
	outq_trim(&q);
	assert_int_equal(outq_span(&q), 0);
	outq_free(&q);
	buf_free(frame);
	/* The run went through the paths it is meant to check. */
	print_message("drops inside a frame %u, behind %u, refused %u\n",
	    drops_inside, behind, refused);
	assert_true(drops_inside > 10 && behind > 10 && refused > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_reader),
		cmocka_unit_test(test_private_order),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_drop_partial),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_free_behind_slowest),
		cmocka_unit_test(test_marks_bounded),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
