/*
 * share-ctlmode.c: the lines a tmux control-mode client prints.
 *
 * tmux writes one notification a line. The one tunl-share needs is
 *
 *	%output %<pane> <data>
 *
 * and, between %begin and %end, the output of the commands tunl-share
 * writes to the client itself: only the state line of a snapshot, which
 * starts with SHARE_SNAP_TAG (share_tmux_snapshot_ask). Each command line
 * it writes (a snapshot's, or the engineers' keys as send-keys -H) ends
 * with %end, or %error when it failed, whose last field, flags, is 1 for
 * a command from this client; they come in the order the lines were
 * written, which is how tunl-share tells whose answer it is.
 *
 * In %output, data is the pane's output with every byte below 0x20 and the
 * backslash written as a backslash and three octal digits (tmux's
 * control.c). The lines come from our own tmux, but what they carry is
 * whatever the programs in the customer's pane printed, so the decoder is
 * strict and bounded: a line longer than CTLMODE_LINE_MAX is dropped whole
 * (the reader stays in step at the next newline), a raw control byte, a
 * short or non-octal escape, a value over 0377, or an escape tmux would
 * never write (of a byte that needs none) makes the line CTLMODE_BAD.
 */
#include "config.h"

#include <string.h>

#include "share.h"

#define CTLMODE_OUTPUT_TAG	"%output %"
#define CTLMODE_PANE_MAX	1000000000u

int
ctlmode_init(struct ctlmode *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->line = buf_new(CTLMODE_LINE_MAX)) == NULL ||
	    (c->data = buf_new(CTLMODE_LINE_MAX)) == NULL) {
		ctlmode_free(c);
		return TUNL_ERR_ALLOC;
	}
	return 0;
}

void
ctlmode_free(struct ctlmode *c)
{
	buf_free(c->line);
	buf_free(c->data);
	memset(c, 0, sizeof(*c));
}

/* A pane number: digits only, no leading zero unless "0", bounded. */
static int
ctlmode_number(const u_char *p, size_t len, u_int *out)
{
	u_int	 v = 0;
	size_t	 i;

	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return TUNL_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return TUNL_ERR_INVALID;
		if (v > (CTLMODE_PANE_MAX - (p[i] - '0')) / 10)
			return TUNL_ERR_RANGE;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* "%N" as tmux prints a pane id (#{pane_id}). */
int
ctlmode_pane_id(const char *s, u_int *out)
{
	if (s == NULL || s[0] != '%')
		return TUNL_ERR_INVALID;
	return ctlmode_number((const u_char *)s + 1, strlen(s + 1), out);
}

static int
ctlmode_decode(const u_char *p, size_t len, struct buf *out)
{
	size_t	 i;
	u_int	 v;
	u_char	 c;
	int	 r;

	buf_reset(out);
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20)
			return TUNL_ERR_INVALID;
		if (p[i] != '\\') {
			c = p[i];
		} else {
			if (len - i < 4 ||
			    p[i + 1] < '0' || p[i + 1] > '3' ||
			    p[i + 2] < '0' || p[i + 2] > '7' ||
			    p[i + 3] < '0' || p[i + 3] > '7')
				return TUNL_ERR_INVALID;
			v = (u_int)(p[i + 1] - '0') * 64 +
			    (u_int)(p[i + 2] - '0') * 8 + (u_int)(p[i + 3] - '0');
			if (v >= 0x20 && v != '\\')
				return TUNL_ERR_INVALID;
			c = (u_char)v;
			i += 3;
		}
		if ((r = buf_put_u8(out, c)) != 0)
			return r;
	}
	return 0;
}

static int
ctlmode_starts(const u_char *p, size_t len, const char *word)
{
	size_t	 n = strlen(word);

	return len >= n && memcmp(p, word, n) == 0 &&
	    (len == n || p[n] == ' ');
}

/*
 * Parse one line (without its newline). data receives an %output's
 * decoded bytes; m->data points into it.
 */
int
ctlmode_parse_line(const u_char *p, size_t len, struct buf *data,
    struct ctlmode_msg *m)
{
	const size_t	 tag = sizeof(CTLMODE_OUTPUT_TAG) - 1;
	const u_char	*sp;
	size_t		 n;
	int		 r;

	memset(m, 0, sizeof(*m));
	m->kind = CTLMODE_BAD;
	if (len > CTLMODE_LINE_MAX)
		return TUNL_ERR_LENGTH;
	if (len >= tag && memcmp(p, CTLMODE_OUTPUT_TAG, tag) == 0) {
		p += tag;
		len -= tag;
		if ((sp = memchr(p, ' ', len)) == NULL)
			return TUNL_ERR_INVALID;
		n = (size_t)(sp - p);
		if ((r = ctlmode_number(p, n, &m->pane)) != 0)
			return r;
		if ((r = ctlmode_decode(sp + 1, len - n - 1, data)) != 0)
			return r;
		m->kind = CTLMODE_OUTPUT;
		m->data = buf_ptr(data);
		m->len = buf_len(data);
		return 0;
	}
	if (ctlmode_starts(p, len, SHARE_SNAP_TAG) &&
	    len > sizeof(SHARE_SNAP_TAG)) {
		/* Ours (share_tmux_snapshot_ask): digits and spaces. */
		buf_reset(data);
		if ((r = buf_put(data, p + sizeof(SHARE_SNAP_TAG),
		    len - sizeof(SHARE_SNAP_TAG))) != 0)
			return r;
		m->kind = CTLMODE_SNAPSTATE;
		m->data = buf_ptr(data);
		m->len = buf_len(data);
		return 0;
	}
	if (ctlmode_starts(p, len, "%layout-change"))
		m->kind = CTLMODE_LAYOUT;
	else if (ctlmode_starts(p, len, "%exit"))
		m->kind = CTLMODE_EXIT;
	else if (ctlmode_starts(p, len, "%end") ||
	    ctlmode_starts(p, len, "%error")) {
		/* "%end TIME NUMBER FLAGS": flags 1, a command of ours. */
		m->kind = p[1] == 'e' && p[2] == 'n' ? CTLMODE_END :
		    CTLMODE_ERROR;
		m->ours = len >= 2 && p[len - 1] == '1' && p[len - 2] == ' ';
	} else
		m->kind = CTLMODE_OTHER;
	return 0;
}

/*
 * Feed bytes from the control client. Returns 1 with *m filled when a
 * whole line was taken (*used says how many bytes of p it took; call
 * again with the rest), 0 when all of p was gathered without ending a
 * line, or a negative code on an internal failure. Bad and over-long lines
 * come back as CTLMODE_BAD (over-long ones once, at their newline).
 */
int
ctlmode_feed(struct ctlmode *c, const u_char *p, size_t len, size_t *used,
    struct ctlmode_msg *m)
{
	const u_char	*nl;
	size_t		 n;
	int		 r;

	memset(m, 0, sizeof(*m));
	*used = 0;
	nl = memchr(p, '\n', len);
	n = nl == NULL ? len : (size_t)(nl - p);
	if (!c->skipping) {
		if (n > buf_avail(c->line)) {
			c->skipping = 1;
			c->toolong++;
			buf_reset(c->line);
		} else if ((r = buf_put(c->line, p, n)) != 0)
			return r;
	}
	if (nl == NULL) {
		*used = len;
		return 0;
	}
	*used = n + 1;
	if (c->skipping) {
		c->skipping = 0;
		m->kind = CTLMODE_BAD;
		return 1;
	}
	if (ctlmode_parse_line(buf_ptr(c->line), buf_len(c->line), c->data,
	    m) != 0)
		c->bad++;
	buf_reset(c->line);
	return 1;
}
