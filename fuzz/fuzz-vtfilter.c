/*
 * fuzz-vtfilter.c: libFuzzer target for the escape filter. The first byte
 * picks the direction (bit 0) and seeds the chunk sizes; the rest is fed
 * once whole and once in pseudo-random chunks. Checks:
 *  - the output of the whole run stays within VTFILTER_OUT_MAX;
 *  - screen side: the chunked run gives the same bytes as the whole run;
 *    key side: the same bytes but for ESCs passed at the ends of feeds;
 *  - screen side: the output is valid UTF-8 with no C1 code point (the
 *    key side passes every byte over 0x7f as it came);
 *  - screen side: check_screen(), written apart from the filter, finds no
 *    sequence off the policy: no string introducer, no query, no mode
 *    off the allowlist, no control but the layout ones.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL()	__builtin_trap()

/* Strict UTF-8, and no U+0080..U+009F. */
static void
check_utf8(const u_char *p, size_t n)
{
	size_t		 i = 0, k, need;
	u_int32_t	 c, min;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; c &= 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; c &= 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; c &= 0x07; min = 0x10000;
		} else
			FAIL();
		if (i + need >= n)
			FAIL();			/* cut short */
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				FAIL();
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			FAIL();
		if (c >= 0x80 && c <= 0x9f)
			FAIL();
		i += need + 1;
	}
}

static int
in_list(u_int v, const u_int *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

/*
 * One CSI sequence at p (just after ESC [); returns its length or traps.
 * The policy of docs/escape-filter.md, stated again from the table.
 */
static size_t
check_csi(const u_char *p, size_t n)
{
	static const u_int	 dec[] = {
		1, 5, 6, 7, 12, 25, 47, 1047, 1048, 1049, 2026
	};
	static const u_int	 ansi[] = { 4, 20 };
	u_int			 v[64], nv = 0, cur = 0;
	size_t			 i = 0;
	u_char			 marker = 0, inter = 0, fin;
	int			 have = 0;

	if (i < n && (p[i] == '?' || p[i] == '>' || p[i] == '=' ||
	    p[i] == '<'))
		marker = p[i++];
	for (; i < n && ((p[i] >= '0' && p[i] <= '9') || p[i] == ';' ||
	    p[i] == ':'); i++) {
		have = 1;
		if (p[i] == ';' || p[i] == ':') {
			if (nv >= 63)
				FAIL();
			v[nv++] = cur;
			cur = 0;
		} else if ((cur = cur * 10 + (p[i] - '0')) > 65535)
			FAIL();
	}
	if (have)
		v[nv++] = cur;
	if (i < n && (p[i] == ' ' || p[i] == '!'))
		inter = p[i++];
	if (i >= n || p[i] < 0x40 || p[i] > 0x7e)
		FAIL();			/* unfinished or malformed */
	fin = p[i];

	if (marker == '>' || marker == '=' || marker == '<')
		FAIL();
	if (inter == '!' && !(fin == 'p' && nv == 0 && marker == 0))
		FAIL();
	if (inter == ' ' && !(fin == 'q' && nv <= 1 && marker == 0 &&
	    (nv == 0 || v[0] <= 6)))
		FAIL();
	if (inter != 0)
		return i + 1;
	if (marker == '?') {
		if (fin == 'h' || fin == 'l') {
			for (cur = 0; cur < nv; cur++)
				if (!in_list(v[cur], dec, 11))
					FAIL();
			return nv > 0 ? i + 1 : (FAIL(), 0);
		}
		if ((fin == 'J' || fin == 'K') && nv <= 1 &&
		    (nv == 0 || v[0] <= 2))
			return i + 1;
		FAIL();
	}
	if (fin == 'm')
		return nv <= 32 ? i + 1 : (FAIL(), 0);
	if (memchr(p, ':', i) != NULL || nv > 16)
		FAIL();
	if (fin == 'h' || fin == 'l') {
		if (nv == 0)
			FAIL();
		for (cur = 0; cur < nv; cur++)
			if (!in_list(v[cur], ansi, 2))
				FAIL();
		return i + 1;
	}
	if (strchr("ABCDEFG`adeLMPXSTIZ@", fin) != NULL && nv <= 1)
		return i + 1;
	if ((fin == 'H' || fin == 'f' || fin == 'r') && nv <= 2)
		return i + 1;
	if ((fin == 'J' || fin == 'K') && nv <= 1 && (nv == 0 || v[0] <= 2))
		return i + 1;
	if (fin == 'g' && nv <= 1 && (nv == 0 || v[0] == 0 || v[0] == 3))
		return i + 1;
	if (fin == 'b' && nv <= 1 && (nv == 0 || v[0] <= 4096))
		return i + 1;
	if ((fin == 's' || fin == 'u') && nv == 0)
		return i + 1;
	FAIL();
	return 0;
}

static void
check_screen(const u_char *p, size_t n)
{
	size_t	 i = 0;
	u_char	 c;

	check_utf8(p, n);
	while (i < n) {
		c = p[i];
		if (c == 0x7f)
			FAIL();
		if (c >= 0x20 || (c >= 0x07 && c <= 0x0f)) {
			i++;
			continue;
		}
		if (c != 0x1b || i + 1 >= n)
			FAIL();			/* a control, or ESC at the end */
		c = p[i + 1];
		if (strchr("78DEHM=>", c) != NULL) {
			i += 2;
			continue;
		}
		if (c == '(' || c == ')') {
			if (i + 2 >= n || strchr("B0A", p[i + 2]) == NULL ||
			    p[i + 2] == '\0')
				FAIL();
			i += 3;
			continue;
		}
		if (c != '[')
			FAIL();			/* ] P _ ^ X c Z # ... */
		i += 2 + check_csi(p + i + 2, n - i - 2);
	}
}

static void
run(int dir, const u_char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct buf *out)
{
	struct vtfilter	 vf;
	size_t		 i, from = 0, to;

	vtfilter_init(&vf, dir);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (vtfilter_feed(&vf, in + from, to - from, out) != 0)
			FAIL();
		from = to;
	}
	if (ncuts == 0 && buf_len(out) > VTFILTER_OUT_MAX(len))
		FAIL();
	if (vtfilter_flush(&vf, out) != 0)
		FAIL();
}

/* Copy without ESC bytes. */
static size_t
strip_esc(const u_char *p, size_t n, u_char *to)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if (p[i] != 0x1b)
			to[k++] = p[i];
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static size_t	 cuts[65536];
	struct buf	*whole = NULL, *chunked = NULL;
	u_char		*a = NULL, *b = NULL;
	size_t		 ncuts = 0, pos = 0, na, nb;
	u_int32_t	 seed;
	int		 dir;

	if (len < 1 || len > 1024 * 1024)
		return 0;
	dir = (data[0] & 1) ? VTFILTER_INPUT : VTFILTER_OUTPUT;
	seed = data[0] * 2654435761U + 1;
	data++;
	len--;
	while (ncuts < TUNL_NITEMS(cuts)) {
		seed = seed * 1103515245U + 12345;
		pos += 1 + (seed >> 16) % ((seed & 0x100) ? 4 : 97);
		if (pos >= len)
			break;
		cuts[ncuts++] = pos;
	}
	if ((whole = buf_new(VTFILTER_OUT_MAX(len) + 8)) == NULL ||
	    (chunked = buf_new(VTFILTER_OUT_MAX(len) + 8 + len)) == NULL)
		goto out;
	run(dir, data, len, NULL, 0, whole);
	run(dir, data, len, cuts, ncuts, chunked);
	if (dir == VTFILTER_OUTPUT) {
		/* The key side passes bytes over 0x7f as they came. */
		check_utf8(buf_ptr(chunked), buf_len(chunked));
		check_screen(buf_ptr(whole), buf_len(whole));
		if (buf_len(whole) != buf_len(chunked) ||
		    memcmp(buf_ptr(whole), buf_ptr(chunked),
		    buf_len(whole)) != 0)
			FAIL();
	} else {
		if ((a = malloc(buf_len(whole) + 1)) == NULL ||
		    (b = malloc(buf_len(chunked) + 1)) == NULL)
			goto out;
		na = strip_esc(buf_ptr(whole), buf_len(whole), a);
		nb = strip_esc(buf_ptr(chunked), buf_len(chunked), b);
		if (na != nb || memcmp(a, b, na) != 0)
			FAIL();
	}
out:
	free(a);
	free(b);
	buf_free(whole);
	buf_free(chunked);
	return 0;
}
