/*
 * fuzz-webhook.c: libFuzzer target for the webhook body builder, the one
 * new code that turns stored text into bytes sent out.
 *
 * The input is escaped as one JSON string, and is also cut at 0x1e bytes
 * into fields that fill events (each field copied raw into its fixed-size
 * member, with no NUL if it fills it) for a whole body. Checked:
 *  - output is printable ASCII and a string is quoted at both ends;
 *  - unescaping the string and escaping the result gives the same string
 *    (so every escape is well formed, surrogates paired), and pure ASCII
 *    input comes back unchanged;
 *  - a body fits WEBHOOK_BODY_MAX, and its brackets balance outside
 *    strings.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hexval(u_char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	__builtin_trap();
}

static u_int
hex4(const u_char *p)
{
	return (u_int)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
	    hexval(p[2]) << 4 | hexval(p[3]));
}

/* Decode the JSON string s[0..len) (quotes included) into out as UTF-8. */
static size_t
unescape(const u_char *s, size_t len, u_char *out)
{
	size_t		 i = 1, o = 0;
	u_int		 cp, lo;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		__builtin_trap();
	while (i < len - 1) {
		if (s[i] == '"')
			__builtin_trap();	/* unescaped quote inside */
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		if (i + 1 >= len - 1)
			__builtin_trap();
		if (s[i + 1] == '"' || s[i + 1] == '\\') {
			out[o++] = s[i + 1];
			i += 2;
			continue;
		}
		if (s[i + 1] != 'u' || i + 6 > len - 1)
			__builtin_trap();
		cp = hex4(s + i + 2);
		i += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			__builtin_trap();	/* a lone low surrogate */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 6 > len - 1 || s[i] != '\\' || s[i + 1] != 'u')
				__builtin_trap();
			lo = hex4(s + i + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				__builtin_trap();
			i += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp < 0x80)
			out[o++] = (u_char)cp;
		else if (cp < 0x800) {
			out[o++] = (u_char)(0xc0 | cp >> 6);
			out[o++] = (u_char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (u_char)(0xe0 | cp >> 12);
			out[o++] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (u_char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (u_char)(0xf0 | cp >> 18);
			out[o++] = (u_char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (u_char)(0x80 | (cp & 0x3f));
		}
	}
	return o;
}

static void
check_ascii(const struct buf *b)
{
	size_t	 i;

	for (i = 0; i < buf_len(b); i++) {
		if (buf_ptr(b)[i] < 0x20 || buf_ptr(b)[i] >= 0x7f)
			__builtin_trap();
	}
}

static void
check_string(const uint8_t *data, size_t len)
{
	struct buf	*b = NULL, *b2 = NULL;
	u_char		*dec = NULL;
	size_t		 n, i;
	int		 ascii = 1;

	/* At most 6 bytes out for each byte in, and the quotes. */
	if ((b = buf_new(len * 6 + 2)) == NULL ||
	    (b2 = buf_new(len * 6 + 2)) == NULL ||
	    (dec = malloc(len * 4 + 1)) == NULL)
		goto out;
	if (json_string_put(b, (const char *)data, len) != 0)
		__builtin_trap();
	check_ascii(b);
	n = unescape(buf_ptr(b), buf_len(b), dec);
	if (json_string_put(b2, (const char *)dec, n) != 0 ||
	    buf_len(b2) != buf_len(b) ||
	    memcmp(buf_ptr(b2), buf_ptr(b), buf_len(b)) != 0)
		__builtin_trap();
	for (i = 0; i < len; i++)
		ascii &= data[i] < 0x80;
	if (ascii && (n != len || memcmp(dec, data, len) != 0))
		__builtin_trap();
 out:
	free(dec);
	buf_free(b);
	buf_free(b2);
}

/* Copy the next field (up to 0x1e) into dst, raw, at most size bytes. */
static void
take(const uint8_t **p, const uint8_t *end, char *dst, size_t size)
{
	const uint8_t	*sep;
	size_t		 n;

	memset(dst, 0, size);
	if (*p >= end)
		return;
	if ((sep = memchr(*p, 0x1e, (size_t)(end - *p))) == NULL)
		sep = end;
	n = (size_t)(sep - *p);
	memcpy(dst, *p, n < size ? n : size);
	*p = sep < end ? sep + 1 : end;
}

static void
check_body(const uint8_t *data, size_t len)
{
	struct registry_event	*evs = NULL;
	struct buf		*b = NULL;
	const uint8_t		*p = data, *end = data + len;
	char			 relay[WEBHOOK_RELAY_MAX];
	size_t			 n = 0, i;
	int			 depth = 0, instr = 0, r;

	if ((evs = calloc(WEBHOOK_BATCH_MAX, sizeof(*evs))) == NULL ||
	    (b = buf_new(WEBHOOK_BODY_MAX)) == NULL)
		goto out;
	take(&p, end, relay, sizeof(relay) - 1);
	relay[sizeof(relay) - 1] = '\0';
	while (n < WEBHOOK_BATCH_MAX && (p < end || n == 0)) {
		evs[n].id = (int64_t)(p < end ? *p : 0) << 40;
		evs[n].at = -(int64_t)n;
		take(&p, end, evs[n].session_id, sizeof(evs[n].session_id));
		take(&p, end, evs[n].actor, sizeof(evs[n].actor));
		take(&p, end, evs[n].action, sizeof(evs[n].action));
		take(&p, end, evs[n].source, sizeof(evs[n].source));
		take(&p, end, evs[n].detail, sizeof(evs[n].detail));
		n++;
	}
	if ((r = webhook_body(b, relay, (int64_t)len, evs, n)) != 0)
		__builtin_trap();
	check_ascii(b);
	if (buf_len(b) >= WEBHOOK_BODY_MAX)
		__builtin_trap();
	for (i = 0; i < buf_len(b); i++) {
		u_char c = buf_ptr(b)[i];

		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
		} else if (c == '"')
			instr = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth < 0)
			__builtin_trap();
	}
	if (instr || depth != 0)
		__builtin_trap();
 out:
	buf_free(b);
	free(evs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len > 64 * 1024)
		return 0;
	check_string(data, len);
	check_body(data, len);
	return 0;
}
