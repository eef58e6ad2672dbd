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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
