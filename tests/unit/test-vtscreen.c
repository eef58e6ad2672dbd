/*
 * test-vtscreen.c: the engineer's side of a shared screen (lib/vtscreen.c):
 * the customer's alternate-screen switches become events and never reach
 * the engineer's terminal, its screen stays within its rows, what it
 * changed is put back at the end, and, behind the escape filter, the
 * result does not depend on how the stream was split.
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
#define EVENTS_MAX		64

/* What a run produced: the bytes, and the events with their offsets. */
struct run {
	struct buf	*out;
	int		 ev[EVENTS_MAX];
	size_t		 at[EVENTS_MAX];
	size_t		 nev;
};

static void
run_stage(struct vtscreen *vs, const u_char *in, size_t len, struct run *rn)
{
	size_t	 used;
	int	 ev;

	while (len > 0) {
		assert_int_equal(vtscreen_feed(vs, in, len, rn->out, &used,
		    &ev), 0);
		assert_true(used <= len);
		if (ev != VTSCREEN_NONE) {
			assert_true(rn->nev < EVENTS_MAX);
			rn->ev[rn->nev] = ev;
			rn->at[rn->nev] = buf_len(rn->out);
			rn->nev++;
		} else
			assert_int_equal(used, len);
		in += used;
		len -= used;
	}
}

/* One feed through a fresh stage of rows rows; the output as a string. */
static char *
stage(u_int rows, const char *in, int *events, size_t nevents)
{
	struct vtscreen	 vs;
	struct run	 rn;
	char		*s;
	size_t		 i;

	memset(&rn, 0, sizeof(rn));
	rn.out = buf_new(VTSCREEN_OUT_MAX(strlen(in)));
	assert_non_null(rn.out);
	vtscreen_init(&vs, rows);
	run_stage(&vs, (const u_char *)in, strlen(in), &rn);
	assert_int_equal(rn.nev, nevents);
	for (i = 0; i < nevents; i++)
		assert_int_equal(rn.ev[i], events[i]);
	s = calloc(1, buf_len(rn.out) + 1);
	assert_non_null(s);
	memcpy(s, buf_ptr(rn.out), buf_len(rn.out));
	buf_free(rn.out);
	return s;
}

static void
expect(u_int rows, const char *in, const char *exp, int *events,
    size_t nevents)
{
	char	*got = stage(rows, in, events, nevents);

	assert_string_equal(got, exp);
	free(got);
}

static void
test_alt_events(void **state)
{
	int	 enter[] = { VTSCREEN_ENTER };
	int	 leave[] = { VTSCREEN_LEAVE };
	int	 both[] = { VTSCREEN_ENTER, VTSCREEN_LEAVE };
	int	 twice[] = { VTSCREEN_ENTER, VTSCREEN_LEAVE, VTSCREEN_LEAVE };
	u_int	 modes[] = { 47, 1047, 1049 };
	char	 in[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(modes); i++) {
		snprintf(in, sizeof(in), "a\033[?%uhb\033[?%ulc", modes[i],
		    modes[i]);
		expect(0, in, "abc", both, 2);
	}
	expect(23, "\033[?1049h", "", enter, 1);
	expect(23, "\033[?1049l", "", leave, 1);
	/* Entering twice is one switch (tmux does nothing the second time). */
	expect(0, "\033[?1049h\033[?1049hx", "x", enter, 1);
	/* Leaving is always told: after a snapshot the caller may not know. */
	expect(0, "\033[?1049h\033[?1049l\033[?47l", "", twice, 3);
	/* Other modes in the list stay, in order. */
	expect(0, "\033[?25;1049;7h", "\033[?25;7h", enter, 1);
	expect(0, "\033[?1049;1l", "\033[?1l", leave, 1);
	expect(0, "\033[?1047;1049h", "", enter, 1);
	/* Not a DEC private list: not a switch. */
	expect(0, "\033[1049h\033[>1049h", "\033[1049h\033[>1049h", NULL, 0);
	/* 1048 saves the cursor only. */
	expect(0, "\033[?1048h\033[?1048l", "\033[?1048h\033[?1048l", NULL, 0);
}

/* The feed stops right after a switch; the rest is the next feed's. */
static void
test_stops_at_switch(void **state)
{
	const char	*in = "ab\033[?1049hcd\033[?1049lef";
	struct vtscreen	 vs;
	struct buf	*out;
	size_t		 used;
	int		 ev;

	(void)state;
	out = buf_new(1024);
	assert_non_null(out);
	vtscreen_init(&vs, 0);
	assert_int_equal(vtscreen_feed(&vs, (const u_char *)in, strlen(in),
	    out, &used, &ev), 0);
	assert_int_equal(ev, VTSCREEN_ENTER);
	assert_int_equal(used, 10);
	assert_int_equal(buf_len(out), 2);
	assert_int_equal(vs.alt, 1);
	assert_int_equal(vtscreen_feed(&vs, (const u_char *)in + used,
	    strlen(in) - used, out, &used, &ev), 0);
	assert_int_equal(ev, VTSCREEN_LEAVE);
	assert_int_equal(used, 10);
	assert_int_equal(vs.alt, 0);
	assert_memory_equal(buf_ptr(out), "abcd", 4);
	buf_free(out);
}

static void
test_rows(void **state)
{
	(void)state;
	/* A region reset, or one past the customer's rows, is bounded. */
	expect(23, "\033[r", "\033[1;23r", NULL, 0);
	expect(23, "\033[;r", "\033[1;23r", NULL, 0);
	expect(23, "\033[5r", "\033[5;23r", NULL, 0);
	expect(23, "\033[5;40r", "\033[5;23r", NULL, 0);
	expect(23, "\033[2;10r", "\033[2;10r", NULL, 0);
	expect(23, "\033[1;23r", "\033[1;23r", NULL, 0);
	expect(0, "\033[r\033[5;40r", "\033[r\033[5;40r", NULL, 0);
	/* Absolute rows past them come back to the last. */
	expect(23, "\033[30;5H", "\033[23;5H", NULL, 0);
	expect(23, "\033[999H", "\033[23H", NULL, 0);
	expect(23, "\033[99;1f", "\033[23;1f", NULL, 0);
	expect(23, "\033[40d", "\033[23d", NULL, 0);
	expect(23, "\033[23;80H\033[H\033[;5H\033[5d", "\033[23;80H\033[H"
	    "\033[;5H\033[5d", NULL, 0);
	/* A soft reset gets the region back, the cursor kept. */
	expect(23, "\033[!p", "\033[!p\0337\033[1;23r\0338", NULL, 0);
	expect(0, "\033[!p", "\033[!p", NULL, 0);
	/* Everything else passes as it came. */
	expect(23, "x\033[1;31mé\033[2J\033[K\033(0q\033(B\0337\0338\r\n",
	    "x\033[1;31mé\033[2J\033[K\033(0q\033(B\0337\0338\r\n", NULL, 0);
	/* A feed cut inside a sequence passes its tail unchanged. */
	expect(23, "a\033[99", "a\033[99", NULL, 0);
	expect(23, "a\033", "a\033", NULL, 0);
}

static char *
leave_string(const char *in, u_int cols)
{
	struct vtscreen	 vs;
	struct run	 rn;
	char		*s;

	memset(&rn, 0, sizeof(rn));
	rn.out = buf_new(64 * 1024);
	assert_non_null(rn.out);
	vtscreen_init(&vs, 23);
	run_stage(&vs, (const u_char *)in, strlen(in), &rn);
	buf_reset(rn.out);
	assert_int_equal(vtscreen_leave(&vs, cols, rn.out), 0);
	s = calloc(1, buf_len(rn.out) + 1);
	assert_non_null(s);
	memcpy(s, buf_ptr(rn.out), buf_len(rn.out));
	buf_free(rn.out);
	return s;
}

#define LEAVE_MODES	"\033[0m\033[r\033[?6l\033[?7h\033[4l\033[20l" \
			"\033[?1l\033>\033(B\017\033[?5l\033[?25h\033[?2026l"
#define LEAVE_END	"\033[H\033[2J\033[?1049l"

static void
test_leave(void **state)
{
	char	*s;

	(void)state;
	s = leave_string("plain", 80);
	assert_string_equal(s, LEAVE_MODES LEAVE_END);
	free(s);
	s = leave_string("\033[4 q\033[?12h", 80);
	assert_string_equal(s, LEAVE_MODES "\033[?12l\033[0 q" LEAVE_END);
	free(s);
	s = leave_string("\033[3g", 20);
	assert_string_equal(s, LEAVE_MODES "\033[3g\033[9G\033H\033[17G\033H"
	    LEAVE_END);
	free(s);
	s = leave_string("\033H", 16);
	assert_string_equal(s, LEAVE_MODES "\033[3g\033[9G\033H" LEAVE_END);
	free(s);
	/* SO is undone by the SI every end writes. */
	s = leave_string("\016q\017", 80);
	assert_string_equal(s, LEAVE_MODES LEAVE_END);
	free(s);
}

/* All or nothing, and VTSCREEN_OUT_MAX is enough. */
static void
test_full(void **state)
{
	const char	*in = "ab\033[r\033[!p\033[?;;;h\033[?1049;25h";
	struct vtscreen	 vs, before;
	struct buf	*out;
	size_t		 used, room, len = strlen(in);
	int		 ev, r;

	(void)state;
	for (room = 1; room < 64; room++) {
		out = buf_new(room);
		assert_non_null(out);
		vtscreen_init(&vs, 500);
		before = vs;
		r = vtscreen_feed(&vs, (const u_char *)in, len, out, &used,
		    &ev);
		if (r == 0) {
			assert_int_equal(used, len);
			assert_int_equal(ev, VTSCREEN_ENTER);
			buf_free(out);
			break;
		}
		assert_int_equal(r, TUNL_ERR_FULL);
		assert_int_equal(buf_len(out), 0);
		assert_int_equal(ev, VTSCREEN_NONE);
		assert_memory_equal(&vs, &before, sizeof(vs));
		buf_free(out);
	}
	assert_true(room < 64);
	/* The worst cases for growth fit in VTSCREEN_OUT_MAX. */
	{
		const char	*worst[] = { "\033[!p", "\033[r", "\033[?;h",
		    "\033[65535r", "\033[999;H" };
		size_t		 i;

		for (i = 0; i < TUNL_NITEMS(worst); i++) {
			len = strlen(worst[i]);
			out = buf_new(VTSCREEN_OUT_MAX(len));
			assert_non_null(out);
			vtscreen_init(&vs, 500);
			assert_int_equal(vtscreen_feed(&vs,
			    (const u_char *)worst[i], len, out, &used, &ev),
			    0);
			buf_free(out);
		}
	}
}

/*
 * Behind the escape filter, the stage's bytes and events do not depend on
 * how the stream was cut: the filter hands on whole sequences only.
 */
static void
filter_then_stage(const u_char *in, size_t len, const size_t *cuts,
    size_t ncuts, struct run *rn)
{
	struct vtfilter	 vf;
	struct vtscreen	 vs;
	struct buf	*mid;
	size_t		 i, from = 0, to;

	memset(rn, 0, sizeof(*rn));
	rn->out = buf_new(VTSCREEN_OUT_MAX(VTFILTER_OUT_MAX(len)));
	mid = buf_new(VTFILTER_OUT_MAX(len));
	assert_non_null(rn->out);
	assert_non_null(mid);
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	vtscreen_init(&vs, 23);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		buf_reset(mid);
		assert_int_equal(vtfilter_feed(&vf, in + from, to - from,
		    mid), 0);
		if (i == ncuts)
			assert_int_equal(vtfilter_flush(&vf, mid), 0);
		run_stage(&vs, buf_ptr(mid), buf_len(mid), rn);
		from = to;
	}
	buf_free(mid);
}

static void
same_run(const char *name, const struct run *a, const struct run *b)
{
	if (buf_len(a->out) != buf_len(b->out) ||
	    memcmp(buf_ptr(a->out), buf_ptr(b->out), buf_len(a->out)) != 0)
		fail_msg("%s: output depends on the cuts", name);
	if (a->nev != b->nev ||
	    memcmp(a->ev, b->ev, a->nev * sizeof(a->ev[0])) != 0 ||
	    memcmp(a->at, b->at, a->nev * sizeof(a->at[0])) != 0)
		fail_msg("%s: events depend on the cuts", name);
}

static void
check_splits(const char *name, const u_char *in, size_t len)
{
	struct run	 whole, other;
	size_t		*cuts, i;

	filter_then_stage(in, len, NULL, 0, &whole);
	cuts = calloc(len + 1, sizeof(*cuts));
	assert_non_null(cuts);
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	filter_then_stage(in, len, cuts, len > 0 ? len - 1 : 0, &other);
	same_run(name, &whole, &other);
	buf_free(other.out);
	for (i = 1; i < len; i++) {
		filter_then_stage(in, len, &i, 1, &other);
		same_run(name, &whole, &other);
		buf_free(other.out);
	}
	free(cuts);
	buf_free(whole.out);
}

static void
test_corpus_splits(void **state)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[1024], path[1280];
	struct dirent	*de;
	DIR		*dp;
	FILE		*f;
	u_char		*p;
	size_t		 n, len, cases = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/vtfilter", top != NULL ? top :
	    ".");
	if ((dp = opendir(dir)) == NULL)
		fail_msg("cannot open %s (set top_srcdir)", dir);
	p = malloc(CORPUS_FILE_MAX);
	assert_non_null(p);
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".in") != 0 ||
		    strncmp(de->d_name, "input-", 6) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			fail_msg("cannot open %s", path);
		n = fread(p, 1, CORPUS_FILE_MAX, f);
		fclose(f);
		check_splits(de->d_name, p, n);
		cases++;
	}
	closedir(dp);
	free(p);
	assert_true(cases >= 40);
	{
		const char	*s = "$ vim\r\n\033[?1049h\033[22;1H\033[?25l"
		    "\033[1;23r\033[H~\r\n~\033[?25h\033[r\033[?1049l$ \033[!p"
		    "\233?1049h\302\233?47l";

		check_splits("inline", (const u_char *)s, strlen(s));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alt_events),
		cmocka_unit_test(test_stops_at_switch),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_corpus_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
