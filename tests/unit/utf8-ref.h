/*
 * utf8-ref.h: a reference for what the cast writer must make of arbitrary
 * bytes, kept apart from lib/cast.c so the two can be checked against each
 * other (the unit test and the fuzz target include it).
 *
 * Well-formed UTF-8 passes through; every maximal ill-formed subpart (the
 * longest run that starts like a well-formed sequence, or one byte) becomes
 * U+FFFD, and so does a sequence cut short by the end of the input. The
 * rows are Unicode's Table 3-7.
 */
#ifndef UTF8_REF_H
#define UTF8_REF_H

#include <sys/types.h>

#include <stddef.h>

struct utf8_ref_row {
	u_char	 lead_lo, lead_hi;	/* first byte */
	u_char	 next_lo, next_hi;	/* second byte; later ones 80..BF */
	size_t	 len;
};

static const struct utf8_ref_row utf8_ref_rows[] = {
	{ 0x00, 0x7f, 0x00, 0x00, 1 },
	{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
	{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
	{ 0xe1, 0xec, 0x80, 0xbf, 3 },
	{ 0xed, 0xed, 0x80, 0x9f, 3 },
	{ 0xee, 0xef, 0x80, 0xbf, 3 },
	{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
	{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
	{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
};

/*
 * Write the normalised form of in[0..len) to out, which has room for
 * 3 * len bytes (nothing grows by more than that), and return its length.
 */
static size_t
utf8_ref_normalise(const u_char *in, size_t len, u_char *out)
{
	const struct utf8_ref_row	*row;
	size_t				 i = 0, o = 0, k, r;
	u_char				 lo, hi;

	while (i < len) {
		row = NULL;
		for (r = 0; r < sizeof(utf8_ref_rows) /
		    sizeof(utf8_ref_rows[0]); r++) {
			if (in[i] >= utf8_ref_rows[r].lead_lo &&
			    in[i] <= utf8_ref_rows[r].lead_hi)
				row = &utf8_ref_rows[r];
		}
		k = 1;
		if (row != NULL) {
			for (; k < row->len && i + k < len; k++) {
				lo = k == 1 ? row->next_lo : 0x80;
				hi = k == 1 ? row->next_hi : 0xbf;
				if (in[i + k] < lo || in[i + k] > hi)
					break;
			}
		}
		if (row != NULL && k == row->len) {
			for (r = 0; r < k; r++)
				out[o++] = in[i + r];
		} else {
			out[o++] = 0xef;
			out[o++] = 0xbf;
			out[o++] = 0xbd;
		}
		i += k;
	}
	return o;
}

#endif /* UTF8_REF_H */
