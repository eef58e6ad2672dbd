/*
 * fuzz-vtfilter-diff.c: libFuzzer target holding the escape filter's fast
 * path (vtfilter_feed) to its byte-at-a-time reference
 * (vtfilter_feed_reference). Both filters get the same stream, cut at the
 * same points, and after every feed, flush and reset they must agree on
 * the return code, every byte appended, the counters and the state that
 * decides what comes next.
 *
 * Input: a flags byte, then K chunk lengths, then the stream.
 *	bit 0		key side (VTFILTER_INPUT), else screen side
 *	bits 1-3	K, the number of chunk-length bytes (0: one feed)
 *	bit 4		tight: each feed is first offered an out buffer as
 *			large as its input, which expansions overflow, and
 *			must then be refused whole by both, state untouched
 *	bit 5		reset before the flush
 * The chunk lengths are used in turn, over and over; a 0 is an empty
 * feed.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL()	__builtin_trap()

#define FLAG_INPUT	0x01
#define FLAG_TIGHT	0x10
#define FLAG_RESET	0x20
#define FEEDS_MAX	(1024 * 1024)

/*
 * The fields that decide the filter's future: direction, state, counters,
 * a UTF-8 character under way, and the sequence held outside the ground
 * state. In the ground state the sequence fields are left over from the
 * last sequence and never read again; the fast path does not write them
 * for the sequences it passes whole, so they are not compared there.
 */
static void
check_state(const struct vtfilter *a, const struct vtfilter *b)
{
	if (a->direction != b->direction || a->state != b->state ||
	    a->string_kind != b->string_kind ||
	    a->utf8_need != b->utf8_need || a->mouse_skip != b->mouse_skip ||
	    memcmp(&a->stats, &b->stats, sizeof(a->stats)) != 0)
		FAIL();
	if (a->utf8_need > 0 && (a->utf8_have != b->utf8_have ||
	    a->utf8_cp != b->utf8_cp || a->utf8_lo != b->utf8_lo ||
	    a->utf8_hi != b->utf8_hi))
		FAIL();
	if (a->state != 0 && (a->seqlen != b->seqlen ||
	    a->seq_raw != b->seq_raw || a->overflow != b->overflow ||
	    a->esc_sent != b->esc_sent || a->c1 != b->c1 ||
	    memcmp(a->seq, b->seq, a->seqlen) != 0))
		FAIL();
}

static void
check_same(const struct buf *a, const struct buf *b)
{
	if (buf_len(a) != buf_len(b) ||
	    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) != 0)
		FAIL();
}

/* An out buffer only as large as the input: refused whole, or the same. */
static void
feed_tight(struct vtfilter *fast, struct vtfilter *ref, const u_char *p,
    size_t n)
{
	struct vtfilter	 fast0, ref0;
	struct buf	*a = NULL, *b = NULL;
	int		 ra, rb;

	if ((a = buf_new(n > 0 ? n : 1)) == NULL ||
	    (b = buf_new(n > 0 ? n : 1)) == NULL)
		goto out;
	memcpy(&fast0, fast, sizeof(fast0));
	memcpy(&ref0, ref, sizeof(ref0));
	ra = vtfilter_feed(fast, p, n, a);
	rb = vtfilter_feed_reference(ref, p, n, b);
	if (ra != rb)
		FAIL();
	if (ra != 0) {
		if (ra != TUNL_ERR_FULL || buf_len(a) != 0 || buf_len(b) != 0)
			FAIL();
		if (memcmp(fast, &fast0, sizeof(fast0)) != 0 ||
		    memcmp(ref, &ref0, sizeof(ref0)) != 0)
			FAIL();
		goto out;
	}
	check_same(a, b);
	check_state(fast, ref);
	/* Taken: put both back so that the caller's feed runs as usual. */
	memcpy(fast, &fast0, sizeof(fast0));
	memcpy(ref, &ref0, sizeof(ref0));
out:
	buf_free(a);
	buf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vtfilter	 fast, ref;
	struct buf	*a = NULL, *b = NULL;
	const u_char	*lens;
	size_t		 nlens, i, n, pos = 0, feeds = 0;
	int		 flags, ra, rb, any = 0;

	if (len < 1 || len > 1024 * 1024)
		return 0;
	flags = data[0];
	nlens = (flags >> 1) & 7;
	if (len - 1 < nlens)
		return 0;
	lens = data + 1;
	data += 1 + nlens;
	len -= 1 + nlens;
	for (i = 0; i < nlens; i++)
		any |= lens[i] != 0;
	if (!any)
		nlens = 0;

	if ((a = buf_new(VTFILTER_OUT_MAX(len))) == NULL ||
	    (b = buf_new(VTFILTER_OUT_MAX(len))) == NULL)
		goto out;
	vtfilter_init(&fast, (flags & FLAG_INPUT) ? VTFILTER_INPUT :
	    VTFILTER_OUTPUT);
	vtfilter_init(&ref, (flags & FLAG_INPUT) ? VTFILTER_INPUT :
	    VTFILTER_OUTPUT);
	for (i = 0; (pos < len || i == 0) && feeds < FEEDS_MAX; feeds++) {
		n = len - pos;
		if (nlens > 0 && lens[i % nlens] < n)
			n = lens[i % nlens];
		i++;
		if (flags & FLAG_TIGHT)
			feed_tight(&fast, &ref, data + pos, n);
		ra = vtfilter_feed(&fast, data + pos, n, a);
		rb = vtfilter_feed_reference(&ref, data + pos, n, b);
		if (ra != 0 || rb != 0)
			FAIL();			/* VTFILTER_OUT_MAX(n) suffices */
		check_same(a, b);
		check_state(&fast, &ref);
		buf_reset(a);
		buf_reset(b);
		pos += n;
	}
	if (flags & FLAG_RESET) {
		vtfilter_reset(&fast);
		vtfilter_reset(&ref);
		check_state(&fast, &ref);
	}
	ra = vtfilter_flush(&fast, a);
	rb = vtfilter_flush(&ref, b);
	if (ra != 0 || rb != 0)
		FAIL();
	check_same(a, b);
	check_state(&fast, &ref);
out:
	buf_free(a);
	buf_free(b);
	return 0;
}
