/*
 * test-vtfilter.c: the escape filter against its golden corpus
 * (tests/vtfilter/, written by make-corpus.sh) fed whole, a byte at a time
 * and split in two at every offset, and targeted checks of its bounds,
 * counters and out-of-room behaviour.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"

#define CORPUS_FILE_MAX		(64 * 1024)
#define CORPUS_CASES_MAX	256
#define CORPUS_CASES_MIN	80	/* make-corpus.sh writes this many */

struct blob {
	u_char	*p;
	size_t	 len;
};

static void
blob_read(const char *path, struct blob *b)
{
	FILE	*f;
	size_t	 n;

	b->p = malloc(CORPUS_FILE_MAX);
	assert_non_null(b->p);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	n = fread(b->p, 1, CORPUS_FILE_MAX, f);
	assert_false(ferror(f));
	assert_true(feof(f));		/* the whole file fit */
	fclose(f);
	b->len = n;
}

/* Filter in[] through a fresh filter, cut at the offsets in cuts[]. */
static struct buf *
run_cuts(int dir, const u_char *in, size_t len, const size_t *cuts,
    size_t ncuts, struct vtfilter_stats *st)
{
	struct vtfilter	 vf;
	struct buf	*out;
	size_t		 i, from = 0, to;

	out = buf_new(VTFILTER_OUT_MAX(len) + 16);
	assert_non_null(out);
	vtfilter_init(&vf, dir);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		assert_int_equal(vtfilter_feed(&vf, in + from, to - from, out),
		    0);
		from = to;
	}
	assert_int_equal(vtfilter_flush(&vf, out), 0);
	if (st != NULL)
		vtfilter_stats(&vf, st);
	return out;
}

static struct buf *
run(int dir, const void *in, size_t len)
{
	return run_cuts(dir, in, len, NULL, 0, NULL);
}

static void
print_diff(const char *name, const char *how, const struct buf *got,
    const struct blob *exp)
{
	size_t	 i, n = buf_len(got);

	for (i = 0; i < n && i < exp->len && buf_ptr(got)[i] == exp->p[i]; i++)
		;
	print_error("%s (%s): %zu bytes, expected %zu; first difference at "
	    "%zu\n", name, how, n, exp->len, i);
}

static int
same(const struct buf *got, const struct blob *exp)
{
	return buf_len(got) == exp->len &&
	    memcmp(buf_ptr(got), exp->p, exp->len) == 0;
}

/*
 * On the key side a lone ESC at the end of a feed is passed at once. If
 * the next feed makes it the start of a sequence that is dropped, that ESC
 * has already gone: the only allowed difference from the whole-stream run.
 */
static int
input_split_ok(const struct buf *first, const struct buf *all,
    const struct blob *exp)
{
	size_t	 k = buf_len(first);

	if (same(all, exp))
		return 1;
	if (k == 0 || buf_ptr(first)[k - 1] != 0x1b ||
	    buf_len(all) != exp->len + 1)
		return 0;
	return memcmp(buf_ptr(all), exp->p, k - 1) == 0 &&
	    memcmp(buf_ptr(all) + k, exp->p + k - 1, exp->len - (k - 1)) == 0;
}

static void
check_case(const char *dir, const char *name)
{
	char			 path[2048];
	struct blob		 in, exp;
	struct buf		*out, *first;
	struct vtfilter		 vf;
	struct vtfilter_stats	 st_whole, st_bytes;
	size_t			*cuts, i;
	int			 d, failed = 0;

	d = strncmp(name, "input-", 6) == 0 ? VTFILTER_INPUT : VTFILTER_OUTPUT;
	if (snprintf(path, sizeof(path), "%s/%s.in", dir, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	blob_read(path, &in);
	if (snprintf(path, sizeof(path), "%s/%s.exp", dir, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	blob_read(path, &exp);

	/* Whole. */
	out = run_cuts(d, in.p, in.len, NULL, 0, &st_whole);
	if (!same(out, &exp)) {
		print_diff(name, "whole", out, &exp);
		failed = 1;
	}
	buf_free(out);

	/* A byte at a time: the same bytes and the same counts. */
	if (d == VTFILTER_OUTPUT && in.len > 0) {
		cuts = calloc(in.len, sizeof(*cuts));
		assert_non_null(cuts);
		for (i = 0; i < in.len - 1; i++)
			cuts[i] = i + 1;
		out = run_cuts(d, in.p, in.len, cuts, in.len - 1, &st_bytes);
		if (!same(out, &exp)) {
			print_diff(name, "bytewise", out, &exp);
			failed = 1;
		}
		if (memcmp(&st_whole, &st_bytes, sizeof(st_whole)) != 0) {
			print_error("%s: counters differ bytewise\n", name);
			failed = 1;
		}
		buf_free(out);
		free(cuts);
	}

	/* Split in two at every offset. */
	for (i = 0; i <= in.len && !failed; i++) {
		first = buf_new(VTFILTER_OUT_MAX(in.len) + 16);
		assert_non_null(first);
		vtfilter_init(&vf, d);
		assert_int_equal(vtfilter_feed(&vf, in.p, i, first), 0);
		out = buf_new(VTFILTER_OUT_MAX(in.len) + 16);
		assert_non_null(out);
		assert_int_equal(buf_putb(out, first), 0);
		assert_int_equal(vtfilter_feed(&vf, in.p + i, in.len - i, out),
		    0);
		assert_int_equal(vtfilter_flush(&vf, out), 0);
		if (d == VTFILTER_OUTPUT ? !same(out, &exp) :
		    !input_split_ok(first, out, &exp)) {
			print_diff(name, "split", out, &exp);
			print_error("%s: split at %zu\n", name, i);
			failed = 1;
		}
		buf_free(first);
		buf_free(out);
	}
	free(in.p);
	free(exp.p);
	if (failed)
		fail_msg("corpus case %s", name);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static void
test_corpus(void **state)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[1024], *names[CORPUS_CASES_MAX];
	DIR		*dp;
	struct dirent	*de;
	size_t		 n = 0, i, len;
	u_int		 ninput = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/vtfilter", top ? top : ".");
	if ((dp = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".in") != 0)
			continue;
		assert_true(n < CORPUS_CASES_MAX);
		names[n] = strndup(de->d_name, len - 3);
		assert_non_null(names[n]);
		if (strncmp(names[n], "input-", 6) == 0)
			ninput++;
		n++;
	}
	closedir(dp);
	assert_true(n >= CORPUS_CASES_MIN);
	assert_true(ninput >= 10);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		check_case(dir, names[i]);
		free(names[i]);
	}
}

static void
assert_out(int dir, const char *in, const char *exp)
{
	struct buf	*out = run(dir, in, strlen(in));

	if (buf_len(out) != strlen(exp) ||
	    memcmp(buf_ptr(out), exp, strlen(exp)) != 0)
		fail_msg("filtering \"%s\"", in);
	buf_free(out);
}

/* An unterminated string ends at the bound, wherever the feeds split. */
static void
test_bounded_string(void **state)
{
	struct vtfilter		 vf;
	struct vtfilter_stats	 st;
	struct buf		*out;
	u_char			 chunk[1000];
	size_t			 i, total = 2;

	(void)state;
	out = buf_new(64 * 1024);
	assert_non_null(out);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033P", 2, out),
	    0);
	memset(chunk, 'z', sizeof(chunk));
	while (total < VTFILTER_STRING_MAX) {
		assert_int_equal(vtfilter_feed(&vf, chunk, 1, out), 0);
		total++;
	}
	assert_int_equal(buf_len(out), 0);	/* all of it swallowed */
	for (i = 0; i < 5; i++)
		assert_int_equal(vtfilter_feed(&vf, chunk, sizeof(chunk), out),
		    0);
	assert_int_equal(buf_len(out), 5 * sizeof(chunk));
	vtfilter_stats(&vf, &st);
	assert_int_equal(st.cut, 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_DCS], 1);
	assert_int_equal(st.dropped_bytes, VTFILTER_STRING_MAX);
	buf_free(out);

	/* One byte short of the bound, ST still ends it cleanly. */
	out = buf_new(64 * 1024);
	assert_non_null(out);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033]", 2, out),
	    0);
	for (total = 2; total < VTFILTER_STRING_MAX - 2; total++)
		assert_int_equal(vtfilter_feed(&vf, chunk, 1, out), 0);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033\\ok", 4,
	    out), 0);
	assert_int_equal(buf_len(out), 2);
	assert_memory_equal(buf_ptr(out), "ok", 2);
	vtfilter_stats(&vf, &st);
	assert_int_equal(st.cut, 0);
	buf_free(out);

	/* On the key side a control ends a string, not a byte count. */
	assert_out(VTFILTER_INPUT, "\033]52;c;aGk=\rls\r", "ls\r");
}

static void
test_rep_cap(void **state)
{
	char	 in[64], exp[64];

	(void)state;
	snprintf(in, sizeof(in), "a\033[%db", VTFILTER_REP_MAX);
	assert_out(VTFILTER_OUTPUT, in, in);
	snprintf(in, sizeof(in), "a\033[%db", VTFILTER_REP_MAX + 1);
	assert_out(VTFILTER_OUTPUT, in, "a");
	snprintf(in, sizeof(in), "a\033[0%db", VTFILTER_REP_MAX);
	snprintf(exp, sizeof(exp), "%s", in);
	assert_out(VTFILTER_OUTPUT, in, exp);	/* leading zero, same count */
	assert_out(VTFILTER_OUTPUT, "a\033[b", "a\033[b");
	assert_out(VTFILTER_OUTPUT, "a\033[4294967297b", "a");
}

static void
test_stats(void **state)
{
	struct vtfilter_stats	 st;
	struct buf		*out;
	static const char	 in[] =
	    "\033]0;t\007"		/* OSC: 6 bytes */
	    "\033P$qm\033\\"		/* DCS: 7 */
	    "\033_G\033\\"		/* APC: 5 */
	    "\033^p\033\\"		/* PM: 5 */
	    "\033Xs\033\\"		/* SOS: 5 */
	    "\033[6n"			/* CSI: 4 */
	    "\033[?1000h"		/* mode: 8 */
	    "\033[?25;1000h"		/* rewritten */
	    "\033#8"			/* ESC: 3 */
	    "\005\000"			/* controls: 2 */
	    "\2336n"			/* C1 CSI dropped as CSI: 3 */
	    "\232"			/* C1 DECID: 1 */
	    "\377"			/* replaced */
	    "\033c";			/* rewritten */

	(void)state;
	out = run_cuts(VTFILTER_OUTPUT, (const u_char *)in, sizeof(in) - 1,
	    NULL, 0, &st);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_OSC], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_DCS], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_APC], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_PM], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_SOS], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_CSI], 2);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_MODE], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_ESC], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_CTRL], 2);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_C1], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_REPORT], 0);
	assert_int_equal(st.dropped_seqs, 12);
	assert_int_equal(st.dropped_bytes,
	    6 + 7 + 5 + 5 + 5 + 4 + 8 + 3 + 2 + 3 + 1);
	assert_int_equal(st.rewritten, 2);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(st.c1, 2);
	assert_int_equal(st.cut, 0);
	assert_int_equal(buf_len(out), strlen("\033[?25h" "\357\277\275"
	    "\033[!p\033[H\033[2J"));
	assert_memory_equal(buf_ptr(out), "\033[?25h" "\357\277\275"
	    "\033[!p\033[H\033[2J", buf_len(out));
	buf_free(out);

	/* Key side: reports are counted as such. */
	out = run_cuts(VTFILTER_INPUT, (const u_char *)"\033[12;1R\033[I\033[M!!!",
	    16, NULL, 0, &st);
	assert_int_equal(buf_len(out), 0);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_REPORT], 3);
	assert_int_equal(st.dropped_bytes, 16);
	buf_free(out);

	assert_string_equal(vtfilter_class_name(VTFILTER_CLASS_OSC), "osc");
	assert_string_equal(vtfilter_class_name(VTFILTER_CLASS_REPORT),
	    "report");
	assert_string_equal(vtfilter_class_name(VTFILTER_NCLASSES), "unknown");
	assert_string_equal(vtfilter_class_name(-1), "unknown");
}

/* Out of room: nothing appended, state untouched, and a retry works. */
static void
test_full(void **state)
{
	static const char	 in[] = "\033[1mbold\033]0;x\007\033[?1049;1000h"
	    "\303\251\033[0m tail";
	static const char	 exp[] = "\033[1mbold\033[?1049h\303\251"
	    "\033[0m tail";
	struct vtfilter		 vf;
	struct vtfilter_stats	 st;
	struct buf		*small, *big;
	size_t			 cut;

	(void)state;
	for (cut = 0; cut <= sizeof(in) - 1; cut++) {
		small = buf_new(8);
		big = buf_new(256);
		assert_non_null(small);
		assert_non_null(big);
		assert_int_equal(buf_put(small, "pre", 3), 0);
		vtfilter_init(&vf, VTFILTER_OUTPUT);
		assert_int_equal(vtfilter_feed(&vf, (const u_char *)in, cut,
		    big), 0);
		/* The rest does not fit in 5 bytes: refused whole. */
		if (cut < sizeof(in) - 1 - 5) {
			assert_int_equal(vtfilter_feed(&vf,
			    (const u_char *)in + cut, sizeof(in) - 1 - cut,
			    small), TUNL_ERR_FULL);
			assert_int_equal(buf_len(small), 3);
			assert_memory_equal(buf_ptr(small), "pre", 3);
		}
		assert_int_equal(vtfilter_feed(&vf, (const u_char *)in + cut,
		    sizeof(in) - 1 - cut, big), 0);
		assert_int_equal(vtfilter_flush(&vf, big), 0);
		assert_int_equal(buf_len(big), sizeof(exp) - 1);
		assert_memory_equal(buf_ptr(big), exp, sizeof(exp) - 1);
		vtfilter_stats(&vf, &st);
		assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_OSC], 1);
		assert_int_equal(st.rewritten, 1);
		buf_free(small);
		buf_free(big);
	}

	/* Flush out of room: refused whole as well. */
	small = buf_new(2);
	assert_non_null(small);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\342\202", 2,
	    small), 0);
	assert_int_equal(vtfilter_flush(&vf, small), TUNL_ERR_FULL);
	assert_int_equal(buf_len(small), 0);
	big = buf_new(8);
	assert_non_null(big);
	assert_int_equal(vtfilter_flush(&vf, big), 0);
	assert_int_equal(buf_len(big), 3);
	assert_memory_equal(buf_ptr(big), "\357\277\275", 3);
	buf_free(small);
	buf_free(big);
}

static void
test_args(void **state)
{
	struct vtfilter	 vf;
	struct buf	*out = buf_new(16);

	(void)state;
	assert_non_null(out);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(NULL, (const u_char *)"a", 1, out),
	    TUNL_ERR_INVALID);
	assert_int_equal(vtfilter_feed(&vf, NULL, 1, out), TUNL_ERR_INVALID);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"a", 1, NULL),
	    TUNL_ERR_INVALID);
	assert_int_equal(vtfilter_feed(&vf, NULL, 0, out), 0);
	assert_int_equal(vtfilter_flush(NULL, out), TUNL_ERR_INVALID);
	assert_int_equal(vtfilter_flush(&vf, NULL), TUNL_ERR_INVALID);
	/* An unknown direction is the stricter screen side. */
	vtfilter_init(&vf, 7);
	assert_int_equal(vf.direction, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\001x", 2, out),
	    0);
	assert_int_equal(buf_len(out), 1);
	buf_free(out);
}

static void
test_flush_reset(void **state)
{
	struct vtfilter		 vf;
	struct vtfilter_stats	 st;
	struct buf		*out = buf_new(64);

	(void)state;
	assert_non_null(out);
	/* Pending CSI and partial UTF-8 at the end of the stream. */
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"a\033[3", 4,
	    out), 0);
	assert_int_equal(vtfilter_flush(&vf, out), 0);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"1mb\360\237", 5,
	    out), 0);
	assert_int_equal(vtfilter_flush(&vf, out), 0);
	assert_int_equal(buf_len(out), 7);
	assert_memory_equal(buf_ptr(out), "a1mb\357\277\275", 7);
	buf_consume(out, buf_len(out));

	/* Reset before a snapshot: a hostile OSC cannot eat it. */
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033]0;x", 5,
	    out), 0);
	vtfilter_reset(&vf);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"snap", 4, out),
	    0);
	assert_int_equal(buf_len(out), 4);
	assert_memory_equal(buf_ptr(out), "snap", 4);
	vtfilter_stats(&vf, &st);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_OSC], 1);
	assert_int_equal(st.dropped_by_class[VTFILTER_CLASS_CSI], 1);
	assert_int_equal(st.replaced, 1);
	buf_consume(out, buf_len(out));

	/* Reset drops a held UTF-8 prefix without output. */
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\303", 1, out),
	    0);
	vtfilter_reset(&vf);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\251", 1, out),
	    0);
	/* 0xa9 without its lead byte is invalid on its own. */
	assert_int_equal(buf_len(out), 3);
	assert_memory_equal(buf_ptr(out), "\357\277\275", 3);
	buf_free(out);
}

/* The Escape key, alone in its feed, goes at once. */
static void
test_input_lone_esc(void **state)
{
	struct vtfilter	 vf;
	struct buf	*out = buf_new(64);

	(void)state;
	assert_non_null(out);
	vtfilter_init(&vf, VTFILTER_INPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033", 1, out),
	    0);
	assert_int_equal(buf_len(out), 1);
	/* Completed by the next feed into a key: the rest follows. */
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"[A", 2, out), 0);
	assert_int_equal(buf_len(out), 3);
	assert_memory_equal(buf_ptr(out), "\033[A", 3);
	/* Completed into a report: nothing more than the ESC. */
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033", 1, out),
	    0);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"[?1;2c", 6, out),
	    0);
	assert_int_equal(buf_len(out), 4);
	/* The screen side holds it instead. */
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\033", 1, out),
	    0);
	assert_int_equal(buf_len(out), 4);
	assert_int_equal(vtfilter_flush(&vf, out), 0);
	assert_int_equal(buf_len(out), 4);
	buf_free(out);
}

/* The room VTFILTER_OUT_MAX promises holds for the worst expansions. */
static void
test_out_max(void **state)
{
	static const char	*worst[] = {
		"\033c", "\377", "\233", "\033[?1049h", "\033", "\302",
	};
	struct vtfilter		 vf;
	struct buf		*out;
	u_char			 in[600];
	size_t			 i, j, len, n;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(worst); i++) {
		len = strlen(worst[i]);
		for (n = 0; n + len <= sizeof(in); n += len)
			memcpy(in + n, worst[i], len);
		out = buf_new(VTFILTER_OUT_MAX(n));
		assert_non_null(out);
		vtfilter_init(&vf, VTFILTER_OUTPUT);
		assert_int_equal(vtfilter_feed(&vf, in, n, out), 0);
		buf_free(out);
		/* And a byte at a time, each feed with its own bound. */
		vtfilter_init(&vf, VTFILTER_OUTPUT);
		for (j = 0; j < n; j++) {
			out = buf_new(VTFILTER_OUT_MAX(1));
			assert_non_null(out);
			assert_int_equal(vtfilter_feed(&vf, in + j, 1, out), 0);
			buf_free(out);
		}
	}
	/* A held 255-byte CSI released by one byte, on the key side. */
	memset(in, '1', sizeof(in));
	in[0] = 0x1b;
	in[1] = '[';
	vtfilter_init(&vf, VTFILTER_INPUT);
	out = buf_new(VTFILTER_OUT_MAX(VTFILTER_SEQ_MAX - 1));
	assert_non_null(out);
	assert_int_equal(vtfilter_feed(&vf, in, VTFILTER_SEQ_MAX - 1, out), 0);
	assert_int_equal(buf_len(out), 0);
	buf_free(out);
	out = buf_new(VTFILTER_OUT_MAX(1));
	assert_non_null(out);
	assert_int_equal(vtfilter_feed(&vf, (const u_char *)"\r", 1, out), 0);
	assert_int_equal(buf_len(out), VTFILTER_SEQ_MAX);
	buf_free(out);
}

/* ---- the fast path against the reference ------------------------------ */

/* Comparisons made by the tests below, for the TAP log. */
static u_long	 fast_checks;

/*
 * The fields that decide what the filter does next (see
 * fuzz/fuzz-vtfilter-diff.c): in the ground state the sequence fields are
 * leftovers, which the fast path does not write for what it passes whole.
 */
static void
assert_same_state(const struct vtfilter *a, const struct vtfilter *b)
{
	assert_int_equal(a->direction, b->direction);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->string_kind, b->string_kind);
	assert_int_equal(a->utf8_need, b->utf8_need);
	assert_int_equal(a->mouse_skip, b->mouse_skip);
	assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
	if (a->utf8_need > 0) {
		assert_int_equal(a->utf8_have, b->utf8_have);
		assert_int_equal(a->utf8_cp, b->utf8_cp);
		assert_int_equal(a->utf8_lo, b->utf8_lo);
		assert_int_equal(a->utf8_hi, b->utf8_hi);
	}
	if (a->state != 0) {
		assert_int_equal(a->seqlen, b->seqlen);
		assert_int_equal(a->seq_raw, b->seq_raw);
		assert_int_equal(a->overflow, b->overflow);
		assert_int_equal(a->esc_sent, b->esc_sent);
		assert_int_equal(a->c1, b->c1);
		assert_memory_equal(a->seq, b->seq, a->seqlen);
	}
}

static void
assert_same_out(const struct buf *a, const struct buf *b, const char *what,
    size_t at)
{
	if (buf_len(a) != buf_len(b) ||
	    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) != 0)
		fail_msg("fast path and reference differ (%s, feed ending at "
		    "%zu): %zu and %zu bytes", what, at, buf_len(a),
		    buf_len(b));
}

/*
 * Feed in[] through the fast path and the reference, cut at cuts[]: after
 * every feed and at the flush both appended the same bytes and are in the
 * same state.
 */
static void
assert_fast_cuts(int dir, const u_char *in, size_t len, const size_t *cuts,
    size_t ncuts, const char *what)
{
	struct vtfilter	 fast, ref;
	struct buf	*a, *b;
	size_t		 i, from = 0, to;

	a = buf_new(VTFILTER_OUT_MAX(len) + 16);
	b = buf_new(VTFILTER_OUT_MAX(len) + 16);
	assert_non_null(a);
	assert_non_null(b);
	vtfilter_init(&fast, dir);
	vtfilter_init(&ref, dir);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		assert_int_equal(vtfilter_feed(&fast, in + from, to - from, a),
		    0);
		assert_int_equal(vtfilter_feed_reference(&ref, in + from,
		    to - from, b), 0);
		assert_same_out(a, b, what, to);
		assert_same_state(&fast, &ref);
		from = to;
	}
	assert_int_equal(vtfilter_flush(&fast, a), 0);
	assert_int_equal(vtfilter_flush(&ref, b), 0);
	assert_same_out(a, b, what, len);
	assert_same_state(&fast, &ref);
	buf_free(a);
	buf_free(b);
	fast_checks++;
}

/*
 * Whole, a byte at a time, split in two at every offset and, for short
 * inputs, in three at every pair of offsets; both directions.
 */
static void
assert_fast_splits(const u_char *in, size_t len, const char *what)
{
	size_t	*cuts, i, j;
	int	 dir;

	cuts = calloc(len + 1, sizeof(*cuts));
	assert_non_null(cuts);
	for (dir = VTFILTER_OUTPUT; dir <= VTFILTER_INPUT; dir++) {
		assert_fast_cuts(dir, in, len, NULL, 0, what);
		for (i = 0; i + 1 < len; i++)
			cuts[i] = i + 1;
		if (len > 1)
			assert_fast_cuts(dir, in, len, cuts, len - 1, what);
		for (i = 0; i <= len; i++) {
			cuts[0] = i;
			assert_fast_cuts(dir, in, len, cuts, 1, what);
		}
		if (len > 48)
			continue;
		for (i = 0; i <= len; i++) {
			for (j = i; j <= len; j++) {
				cuts[0] = i;
				cuts[1] = j;
				assert_fast_cuts(dir, in, len, cuts, 2, what);
			}
		}
	}
	free(cuts);
}

/* The golden corpus, which holds a case per hostile class. */
static void
test_fast_corpus(void **state)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[1024], path[2048];
	DIR		*dp;
	struct dirent	*de;
	struct blob	 in;
	size_t		 len, n = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/vtfilter", top ? top : ".");
	if ((dp = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".in") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			fail_msg("path too long");
		blob_read(path, &in);
		assert_fast_splits(in.p, in.len, de->d_name);
		free(in.p);
		n++;
	}
	closedir(dp);
	assert_true(n >= CORPUS_CASES_MIN);
	print_message("# fast path: %zu corpus cases, %lu runs compared\n", n,
	    fast_checks);
}

/* Inputs at the edges of what the fast path takes whole. */
static const char *tricky[] = {
	/* Sequences it passes, next to text and each other. */
	"a\033[38;5;244mb\033[0m\033[mc\033[01;34md\033[;m\033[1;;2m",
	"\033[H\033[2J\033[1;24r\033[K\033[24;1H\033[2L\033[1S\033[12;40H",
	"\033[?25l\033[?25h\033[?1049h\033[?2026l\033[4h\033[20l\033[!p",
	"\033[2 q\033[6 q\033[?2J\033[?1K\033[3g\033[4096b\033[s\033[u",
	"\033(0lqqk\033(B\033)0\033)A\0337\0338\033D\033E\033H\033M\033=\033>",
	/* Close to them, but dropped, rewritten or cut. */
	"\033[3J\033[6n\033[c\033[>c\033[?1049;1000h\033[?1000h\033[2h",
	"\033[1:2H\033[1;2;3H\033[4097b\033[7 q\033[1s\033[1;2;3;4;5;6;7;8;"
	    "9;10;11;12;13;14;15;16;17A",
	"\033[65535m\033[65536m\033[0065535m\033[4294967296m\033[1:2:3m",
	"\033[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;"
	    "24;25;26;27;28;29;30;31;32m|\033[1;2;3;4;5;6;7;8;9;10;11;12;13;"
	    "14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33m|",
	"\033[<1m\033[=1m\033[>4;2m\033[?1m\033[1<m\033[1 ;m\033[1$p\033[ 1q",
	"\033c\033Z\033#8\033%G\033 F\033N\033\\\033(C\033(\033[A",
	"\033[1\rm\033[1\033[2m\033[1\030m\033[1\303\251m\033(\n0\033 \177F",
	/* Strings. */
	"\033]0;title\007x\033]52;c;Zm9v\033\\y\033P1$r\033\\z\033_G\033Xs"
	    "\033^p\030w",
	/* UTF-8: valid at every bound, C1 in both forms, invalid. */
	"\302\240\337\277\340\240\200\355\237\277\356\200\200\357\277\277"
	    "\360\220\200\200\364\217\277\277\303\251\346\227\245\360\237\230"
	    "\200",
	"\302\200\302\237\302\233\061m\302\235x\302\234\205\233\061m\237",
	"\300\200\301\277\340\237\277\355\240\200\360\217\277\277\364\220"
	    "\200\200\365\200\377\376\200\277\342\202\342x\360\237\230",
	/* DEL and C1 next to text and layout controls (NUL: below). */
	"ab\177ef\233g\302\205h\r\n\t\b\007\016\017\005\021\032i\033",
	"\001\002\003\004\005\006\020\021\022\023\024\025\026\027\030\031"
	    "\032\034\035\036\037\177x",
	/* Key side: keys, reports, paste, the lone ESC. */
	"ls\r\033[A\033OP\033O5Q\033[15~\033b\033\177\001\003\033[200~p"
	    "\033[201~\033[M !!\033[<0;1;1M\033[1;2R\033[[A\033",
};

/* NULs among text, controls and a sequence. */
static const char	 nul_text[] = "ab\000cd\000\000\033[\0001m\000\r"
    "\000\303\000\251\033\000";

static void
test_fast_tricky(void **state)
{
	size_t	 i;

	(void)state;
	assert_fast_splits((const u_char *)nul_text, sizeof(nul_text) - 1,
	    "nul");
	for (i = 0; i < TUNL_NITEMS(tricky); i++)
		assert_fast_splits((const u_char *)tricky[i],
		    strlen(tricky[i]), tricky[i]);
}

/*
 * Printable runs of every length from 0 to 40 (across word bounds) before
 * and after each kind of byte that stops them: every byte that is not
 * printable ASCII alone, then the sequences below; cut inside and around
 * the stop.
 */
static void
test_fast_runs(void **state)
{
	static const char	*stops[] = {
		"\r\n", "\302\205", "\303\251", "\342\202", "\033[0m", "\033[6n",
		"\033]0;t\007", "\360\237\230\200", "\033(0", "\033[?1049h",
	};
	u_char			 in[128], one[1];
	const u_char		*stop;
	size_t			 i, k, pre, post, len, stoplen, cut;
	int			 dir;

	(void)state;
	for (i = 0; i < 256 + TUNL_NITEMS(stops); i++) {
		if (i < 256) {
			if (i >= 0x20 && i < 0x7f)
				continue;
			one[0] = i;
			stop = one;
			stoplen = 1;
		} else {
			stop = (const u_char *)stops[i - 256];
			stoplen = strlen(stops[i - 256]);
		}
		for (pre = 0; pre <= 40; pre++) {
			for (post = 0; post <= 18; post += 9) {
				len = 0;
				for (k = 0; k < pre; k++)
					in[len++] = 'a' + k % 26;
				memcpy(in + len, stop, stoplen);
				len += stoplen;
				for (k = 0; k < post; k++)
					in[len++] = '0' + k % 10;
				for (dir = VTFILTER_OUTPUT;
				    dir <= VTFILTER_INPUT; dir++) {
					assert_fast_cuts(dir, in, len, NULL, 0,
					    "run");
					if (post != 9)
						continue;
					for (cut = pre; cut <= pre + stoplen;
					    cut++)
						assert_fast_cuts(dir, in, len,
						    &cut, 1, "run");
				}
			}
		}
	}
}

/*
 * Control strings whose body the fast path only counts, ending just
 * before, at and after the screen side's bound, by each introducer.
 */
static void
test_fast_long_string(void **state)
{
	static const char	*intros[] = {
		"\033]", "\235", "\302\235", "\033P", "\033_", "\033]0;\303\251",
	};
	static const char	*ends[] = { "\007z", "\033\\z", "z\033[0mw" };
	u_char			*in;
	size_t			 cuts[2], body, len, i, k, e, n;
	int			 dir;

	(void)state;
	in = malloc(VTFILTER_STRING_MAX + 64);
	assert_non_null(in);
	for (i = 0; i < TUNL_NITEMS(intros); i++) {
		for (body = VTFILTER_STRING_MAX - 8;
		    body <= VTFILTER_STRING_MAX + 2; body++) {
			for (e = 0; e < TUNL_NITEMS(ends); e++) {
				n = strlen(intros[i]);
				memcpy(in, intros[i], n);
				len = n;
				for (k = 0; k < body; k++)
					in[len++] = 'A' + k % 26;
				memcpy(in + len, ends[e], strlen(ends[e]));
				len += strlen(ends[e]);
				for (dir = VTFILTER_OUTPUT;
				    dir <= VTFILTER_INPUT; dir++) {
					assert_fast_cuts(dir, in, len, NULL, 0,
					    "long string");
					/* Cut near the start and the bound. */
					for (k = 1; k < 12; k++) {
						cuts[0] = k;
						cuts[1] = len - k;
						assert_fast_cuts(dir, in, len,
						    cuts, 2, "long string");
					}
				}
			}
		}
	}
	free(in);
}

/* The benchmark's kind of stream, in broker-sized and odd chunks. */
static void
test_fast_bench_stream(void **state)
{
	static const char	*pieces[] = {
		"\033[0m\033[01;34mdrwxr-xr-x\033[0m  2 root root  4096 Jan  1 "
		    "12:00 \033[01;34metc\033[0m\r\n",
		"lib/vtfilter.c:42:7: \033[1;35mwarning:\033[0m unused variable "
		    "\342\200\230x\342\200\231 [-Wunused-variable]\r\n",
		"Journal: Pr\303\274fung bestanden, \346\227\245\346\234\254"
		    "\350\252\236 \360\237\230\200 ok\r\n",
		"\033[?25l\033[1;24r\033[H\033[2J\033[38;5;244m  1 \033[0m"
		    "#include <stdio.h>\033[K\r\n",
		"\033[24;1H\033[1m-- INSERT --\033[0m\033[3;5H\033[?25h",
		"\033[5;1H\033[2L\033[1S\033[12;40H\033(0lqqqqk\033(B\r\n",
		"\033]0;user@host: ~/src\007",
		"\033[6n",
		"plain ascii text of a long log line that goes on for a while\r\n",
	};
	static const size_t	 chunks[] = { 4096, 1, 7, 8, 9, 63, 4095, 4097 };
	u_char			*in;
	size_t			*cuts, size = 64 * 1024, len = 0, n, i, k;
	size_t			 ncuts;

	(void)state;
	in = malloc(size);
	cuts = calloc(size, sizeof(*cuts));
	assert_non_null(in);
	assert_non_null(cuts);
	for (i = 0; len < size; i = (i + 4) % TUNL_NITEMS(pieces)) {
		n = strlen(pieces[i]);
		if (n > size - len)
			n = size - len;
		memcpy(in + len, pieces[i], n);
		len += n;
	}
	for (k = 0; k < TUNL_NITEMS(chunks); k++) {
		ncuts = 0;
		for (n = chunks[k]; n < len; n += chunks[k])
			cuts[ncuts++] = n;
		assert_fast_cuts(VTFILTER_OUTPUT, in, len, cuts, ncuts,
		    "bench stream");
		assert_fast_cuts(VTFILTER_INPUT, in, len, cuts, ncuts,
		    "bench stream");
	}
	free(cuts);
	free(in);
}

/*
 * Random streams built from the pieces that matter, cut at random
 * points (a fixed seed: the same every run).
 */
static void
test_fast_random(void **state)
{
	static const char	*tokens[] = {
		"a", "xyz ", "0123456789abcdef", "\r\n", "\t", "\033", "[", "m",
		"1", ";", ":", "38;5;", "?", "h", "l", "1049", "1000", "H", "J",
		"3", "(", "0", "B", "]", "\007", "\033\\", "P", "\233", "\234",
		"\302", "\205", "\303\251", "\342", "\202", "\254", "\360\237",
		"\000", "\177", "\030", " ", "!p", "c", "6n", "\377", "O", "~",
		"200", "M", "<", "u", "b", "99999", "\355\240\200", "\364\220",
	};
	u_char			 in[512];
	size_t			 cuts[16], len, ncuts, i, n;
	u_int32_t		 seed = 0x9e3779b9;
	int			 iter;

	(void)state;
	for (iter = 0; iter < 4000; iter++) {
		len = 0;
		for (;;) {
			seed = seed * 1103515245U + 12345;
			i = (seed >> 16) % TUNL_NITEMS(tokens);
			n = tokens[i][0] == '\0' ? 1 : strlen(tokens[i]);
			if (len + n > sizeof(in) || (seed & 0x3f) == 0)
				break;
			memcpy(in + len, tokens[i], n);
			len += n;
		}
		seed = seed * 1103515245U + 12345;
		ncuts = (seed >> 16) % TUNL_NITEMS(cuts);
		for (i = 0; i < ncuts; i++) {
			seed = seed * 1103515245U + 12345;
			cuts[i] = len == 0 ? 0 : (seed >> 8) % (len + 1);
			if (i > 0 && cuts[i] < cuts[i - 1])
				cuts[i] = cuts[i - 1];
		}
		assert_fast_cuts(iter & 1, in, len, cuts, ncuts, "random");
	}
}

/* Out of room: the fast path refuses exactly when the reference does. */
static void
test_fast_full(void **state)
{
	struct vtfilter	 fast, ref, save;
	struct buf	*a, *b;
	const char	*in;
	size_t		 i, room, len;
	int		 ra, rb, dir;

	(void)state;
	for (i = 0; i <= TUNL_NITEMS(tricky); i++) {
		in = i < TUNL_NITEMS(tricky) ? tricky[i] : nul_text;
		len = i < TUNL_NITEMS(tricky) ? strlen(in) :
		    sizeof(nul_text) - 1;
		for (dir = VTFILTER_OUTPUT; dir <= VTFILTER_INPUT; dir++) {
			for (room = 1; room <= VTFILTER_OUT_MAX(len); room++) {
				a = buf_new(room);
				b = buf_new(room);
				assert_non_null(a);
				assert_non_null(b);
				vtfilter_init(&fast, dir);
				vtfilter_init(&ref, dir);
				memcpy(&save, &fast, sizeof(save));
				ra = vtfilter_feed(&fast,
				    (const u_char *)in, len, a);
				rb = vtfilter_feed_reference(&ref,
				    (const u_char *)in, len, b);
				assert_int_equal(ra, rb);
				if (ra != 0) {
					assert_int_equal(ra, TUNL_ERR_FULL);
					assert_int_equal(buf_len(a), 0);
					assert_memory_equal(&fast, &save,
					    sizeof(save));
				}
				assert_same_out(a, b, "room", room);
				assert_same_state(&fast, &ref);
				buf_free(a);
				buf_free(b);
				if (ra == 0)
					break;		/* fits from here on */
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_bounded_string),
		cmocka_unit_test(test_rep_cap),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_flush_reset),
		cmocka_unit_test(test_input_lone_esc),
		cmocka_unit_test(test_out_max),
		cmocka_unit_test(test_fast_corpus),
		cmocka_unit_test(test_fast_tricky),
		cmocka_unit_test(test_fast_runs),
		cmocka_unit_test(test_fast_long_string),
		cmocka_unit_test(test_fast_bench_stream),
		cmocka_unit_test(test_fast_random),
		cmocka_unit_test(test_fast_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
