/*
 * json-string.c: text as a JSON string, the one escaper behind every JSON
 * tunl writes (webhook bodies, tunl-authority's and tunl-shell's --json).
 * The output is plain ASCII whatever the input: quotes and backslashes
 * get a backslash; controls, DEL and every non-ASCII code point become
 * \u escapes (a pair of surrogates past U+FFFF, never the short forms
 * like \n); a byte that is not part of valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included) becomes U+FFFD, so a
 * reader gets the text's characters back and never a broken string.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"

/*
 * The code point of the UTF-8 sequence at s (len bytes left), and how
 * many bytes it takes; 0 if the bytes there are not valid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF included).
 */
static size_t
json_utf8(const u_char *s, size_t len, u_int32_t *cp)
{
	u_int32_t	 c, min;
	size_t		 n, k;

	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int
json_put_u(struct buf *b, u_int32_t v)
{
	return buf_putf(b, "\\u%04x", (u_int)v);
}

/*
 * Append len bytes of s as a JSON string, quotes included. On failure
 * (TUNL_ERR_LENGTH when b is full) b may hold part of it.
 */
int
json_string_put(struct buf *b, const char *s, size_t len)
{
	const u_char	*p = (const u_char *)s;
	u_int32_t	 cp;
	size_t		 i = 0, n;
	char		 c;
	int		 r;

	if (b == NULL || (s == NULL && len != 0))
		return TUNL_ERR_INVALID;
	if ((r = buf_put(b, "\"", 1)) != 0)
		return r;
	while (i < len) {
		if (p[i] < 0x80) {
			c = (char)p[i++];
			if (c == '"' || c == '\\') {
				if ((r = buf_put(b, "\\", 1)) != 0 ||
				    (r = buf_put(b, &c, 1)) != 0)
					return r;
			} else if ((u_char)c < 0x20 || c == 0x7f) {
				if ((r = json_put_u(b, (u_char)c)) != 0)
					return r;
			} else if ((r = buf_put(b, &c, 1)) != 0)
				return r;
			continue;
		}
		if ((n = json_utf8(p + i, len - i, &cp)) == 0) {
			cp = 0xfffd;	/* one byte that is not UTF-8 */
			n = 1;
		}
		i += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if ((r = json_put_u(b, 0xd800 | (cp >> 10))) != 0 ||
			    (r = json_put_u(b, 0xdc00 | (cp & 0x3ff))) != 0)
				return r;
		} else if ((r = json_put_u(b, cp)) != 0)
			return r;
	}
	return buf_put(b, "\"", 1);
}

/*
 * The NUL-terminated s as a JSON string on fp. TUNL_ERR_ALLOC when there
 * is no memory for it (nothing is written then).
 */
int
json_string_print(FILE *fp, const char *s)
{
	struct buf	*b = NULL;
	size_t		 len = strlen(s);
	int		 r;

	/* Six bytes at most for each byte in (\u escapes), and the quotes. */
	if (len > (BUF_SIZE_MAX - 2) / 6)
		return TUNL_ERR_LENGTH;
	if ((b = buf_new(len * 6 + 2)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = json_string_put(b, s, len)) == 0 &&
	    fwrite(buf_ptr(b), 1, buf_len(b), fp) != buf_len(b))
		r = TUNL_ERR_SYSTEM;
	buf_free(b);
	return r;
}
