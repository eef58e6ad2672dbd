/*
 * fuzz-vtscreen.c: libFuzzer target for the engineer's screen stage
 * (lib/vtscreen.c) behind the escape filter, as join and replay run them.
 * The first two bytes give the customer's rows (0: any) and seed the
 * chunk sizes; the rest is filtered and staged once whole and once in
 * pseudo-random chunks. Checks:
 *  - both runs give the same bytes and the same events at the same places;
 *  - each feed's output stays within VTSCREEN_OUT_MAX of its input;
 *  - check_out(), written apart from the stage, finds no alternate-screen
 *    mode in a DEC private mode list, no scroll region reaching past the
 *    rows and no absolute row past them;
 *  - a switch is reported only right after a mode list that held one.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL()		__builtin_trap()
#define EVENTS_MAX	4096

struct run {
	struct buf	*out;
	size_t		 nev;
	int		 ev[EVENTS_MAX];
	size_t		 at[EVENTS_MAX];
};

/* Parameters of the CSI at p[0..n) (p[0] is ESC, p[1] '['). */
static u_int
params(const u_char *p, size_t n, u_int *v, u_int max)
{
	size_t	 i;
	u_int	 k = 0, cur = 0;
	int	 any = 0;

	for (i = 2; i < n - 1; i++) {
		if (p[i] >= '0' && p[i] <= '9') {
			if (cur < 1000000)
				cur = cur * 10 + (u_int)(p[i] - '0');
			any = 1;
		} else if (p[i] == ';') {
			if (k < max)
				v[k] = cur;
			k++;
			cur = 0;
			any = 1;
		}
	}
	if (any) {
		if (k < max)
			v[k] = cur;
		k++;
	}
	return k;
}

static void
check_out(const u_char *p, size_t len, u_int rows)
{
	size_t	 i, j;
	u_int	 v[32], n, k;
	int	 plain;

	for (i = 0; i < len; i++) {
		if (p[i] != 0x1b || i + 1 >= len || p[i + 1] != '[')
			continue;
		for (j = i + 2; j < len && p[j] >= 0x20 && p[j] <= 0x3f; j++)
			;
		if (j == len || p[j] < 0x40 || p[j] > 0x7e)
			continue;
		memset(v, 0, sizeof(v));
		n = params(p + i, j - i + 1, v, 32);
		if (p[i + 2] == '?' && (p[j] == 'h' || p[j] == 'l')) {
			for (k = 0; k < n && k < 32; k++)
				if (v[k] == 47 || v[k] == 1047 || v[k] == 1049)
					FAIL();
		}
		/* Parameters only: no private marker, no intermediate. */
		plain = 1;
		for (k = (u_int)(i + 2); k < j; k++)
			if (p[k] < '0' || p[k] > ';')
				plain = 0;
		if (rows != 0 && plain) {
			if (p[j] == 'r' && n <= 2 && (n < 2 || v[1] == 0 ||
			    v[1] > rows))
				FAIL();
			if ((p[j] == 'H' || p[j] == 'f' || p[j] == 'd') &&
			    n >= 1 && n <= 2 && v[0] > rows)
				FAIL();
		}
		i = j;
	}
}

static void
stage_all(struct vtscreen *vs, const u_char *p, size_t len, struct run *rn)
{
	size_t	 used, before;
	int	 ev;

	while (len > 0) {
		before = buf_len(rn->out);
		if (vtscreen_feed(vs, p, len, rn->out, &used, &ev) != 0)
			FAIL();
		if (used > len || buf_len(rn->out) - before >
		    VTSCREEN_OUT_MAX(used))
			FAIL();
		if (ev != VTSCREEN_NONE) {
			/* The switch was the last thing taken: a mode list. */
			if (used < 4 || (p[used - 1] != 'h' &&
			    p[used - 1] != 'l'))
				FAIL();
			if (rn->nev < EVENTS_MAX) {
				rn->ev[rn->nev] = ev;
				rn->at[rn->nev] = buf_len(rn->out);
			}
			rn->nev++;
		} else if (used != len)
			FAIL();
		p += used;
		len -= used;
	}
}

static void
run(const u_char *in, size_t len, u_int rows, u_int seed, int chunked,
    struct run *rn)
{
	struct vtfilter	 vf;
	struct vtscreen	 vs;
	struct buf	*mid;
	size_t		 off = 0, n;

	memset(rn, 0, sizeof(*rn));
	if ((rn->out = buf_new(VTSCREEN_OUT_MAX(VTFILTER_OUT_MAX(len)) +
	    64)) == NULL || (mid = buf_new(VTFILTER_OUT_MAX(len) + 64)) == NULL)
		abort();
	vtfilter_init(&vf, VTFILTER_OUTPUT);
	vtscreen_init(&vs, rows);
	while (off < len) {
		n = len - off;
		if (chunked) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 64;
			if (n > len - off)
				n = len - off;
		}
		buf_reset(mid);
		if (vtfilter_feed(&vf, in + off, n, mid) != 0)
			FAIL();
		stage_all(&vs, buf_ptr(mid), buf_len(mid), rn);
		off += n;
	}
	buf_reset(mid);
	if (vtfilter_flush(&vf, mid) != 0)
		FAIL();
	stage_all(&vs, buf_ptr(mid), buf_len(mid), rn);
	buf_free(mid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 whole, cut;
	u_int		 rows;

	if (size < 2)
		return 0;
	rows = data[0] % 64;		/* 0: any */
	run(data + 2, size - 2, rows, data[1], 0, &whole);
	run(data + 2, size - 2, rows, data[1], 1, &cut);
	if (buf_len(whole.out) != buf_len(cut.out) ||
	    memcmp(buf_ptr(whole.out), buf_ptr(cut.out),
	    buf_len(whole.out)) != 0)
		FAIL();
	if (whole.nev != cut.nev ||
	    memcmp(whole.ev, cut.ev, sizeof(whole.ev)) != 0 ||
	    memcmp(whole.at, cut.at, sizeof(whole.at)) != 0)
		FAIL();
	check_out(buf_ptr(whole.out), buf_len(whole.out), rows);
	buf_free(whole.out);
	buf_free(cut.out);
	return 0;
}
