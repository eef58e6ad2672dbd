/*
 * vtscreen.c: the engineer's side of a shared screen (docs/escape-filter.md,
 * "The engineer's terminal").
 *
 * join and replay draw the customer's screen on the engineer's alternate
 * screen, which they hold from start to end: the engineer's own screen
 * stays on the normal one and comes back when they leave. A terminal has
 * only those two, so the customer's own switches between its normal and
 * alternate screens (modes 47, 1047, 1049, which the escape filter lets
 * through and the recording keeps) must never reach the engineer's
 * terminal. This stage takes what vtfilter_feed produced and:
 *
 * - removes 47, 1047 and 1049 from mode lists and reports the switch to
 *   the caller instead (VTSCREEN_ENTER, VTSCREEN_LEAVE), stopping right
 *   after it so the caller can act at that point of the stream: clear the
 *   screen on entering (as tmux does), redraw the customer's normal screen
 *   on leaving (join asks for a snapshot, replay replays what it kept);
 * - keeps the customer's screen within the rows it has on the engineer's
 *   terminal (join's status row is below them): a scroll region reset or
 *   reaching past them is bounded to them, an absolute row past them is
 *   brought back to the last one, and a soft reset (which resets the
 *   region) has the region put back around it;
 * - notes what the customer changed that outlives the session on the
 *   engineer's terminal (cursor style, blinking, tab stops)
 *   so that vtscreen_leave puts only those back, with the modes every
 *   session resets.
 *
 * Input is the escape filter's output: every feed holds whole sequences
 * (the filter holds a partial one until its final byte), 7-bit only. A
 * feed that ends inside a sequence anyway has that tail passed unchanged.
 * Nothing here allocates; the state is a few fields.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"

#define VS_ESC		0x1b
#define VS_PARAMS_MAX	VTFILTER_PARAMS_MAX

/* A CSI sequence, parsed enough to decide. */
struct vs_csi {
	u_char	 marker;		/* '?', '>', '=', '<' or 0 */
	u_char	 inter;			/* the one intermediate, or 0 */
	u_char	 final;
	int	 ninter;
	int	 other;			/* a ':' or a parameter byte out of place */
	u_int	 n;			/* parameters given */
	u_int	 v[VS_PARAMS_MAX];	/* 0 where empty */
};

void
vtscreen_init(struct vtscreen *vs, u_int rows)
{
	memset(vs, 0, sizeof(*vs));
	vtscreen_set_rows(vs, rows);
}

void
vtscreen_set_rows(struct vtscreen *vs, u_int rows)
{
	vs->rows = rows > VTSCREEN_ROWS_MAX ? VTSCREEN_ROWS_MAX : rows;
}

/* After a snapshot: the screen it drew says which one is on. */
void
vtscreen_reset(struct vtscreen *vs)
{
	vs->alt = 0;
}

/*
 * Parse the CSI sequence s[0..len) (s[0] is ESC, s[1] '[', s[len - 1] the
 * final byte). Parameters past VS_PARAMS_MAX are counted but not kept.
 */
static void
vs_csi_parse(const u_char *s, size_t len, struct vs_csi *c)
{
	size_t	 i = 2;
	u_int	 cur = 0;
	int	 any = 0;

	memset(c, 0, sizeof(*c));
	c->final = s[len - 1];
	if (i < len - 1 && s[i] >= '<' && s[i] <= '?')
		c->marker = s[i++];
	for (; i < len - 1 && s[i] >= 0x30 && s[i] <= 0x3f; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (cur <= VTFILTER_PARAM_MAX)
				cur = cur * 10 + (u_int)(s[i] - '0');
			any = 1;
		} else if (s[i] == ';') {
			if (c->n < VS_PARAMS_MAX)
				c->v[c->n] = cur;
			c->n++;
			cur = 0;
			any = 1;
		} else
			c->other = 1;
	}
	if (any) {
		if (c->n < VS_PARAMS_MAX)
			c->v[c->n] = cur;
		c->n++;
	}
	for (; i < len - 1; i++) {
		if (s[i] >= 0x20 && s[i] <= 0x2f) {
			c->inter = s[i];
			c->ninter++;
		} else
			c->other = 1;
	}
}

static int
vs_alt_mode(u_int v)
{
	return v == 47 || v == 1047 || v == 1049;
}

/*
 * A DEC private mode list. The alternate-screen modes leave it; the rest
 * is passed in order. *event says what the customer's switch was.
 */
static int
vs_modes(struct vtscreen *vs, const struct vs_csi *c, struct buf *out,
    int *event)
{
	u_int	 k, kept = 0;
	int	 alt = 0, r = 0;

	for (k = 0; k < c->n && k < VS_PARAMS_MAX; k++) {
		if (vs_alt_mode(c->v[k])) {
			alt = 1;
			continue;
		}
		if (c->v[k] == 12)
			vs->touched |= VTSCREEN_T_BLINK;
		if (r == 0)
			r = buf_putf(out, "%s%u", kept == 0 ? "\033[?" : ";",
			    c->v[k]);
		kept++;
	}
	if (kept != 0 && r == 0)
		r = buf_put_u8(out, c->final);
	if (r != 0 || !alt)
		return r;
	if (c->final == 'h') {
		/* Already there: tmux does nothing either. */
		if (!vs->alt)
			*event = VTSCREEN_ENTER;
		vs->alt = 1;
	} else {
		/* Always: after a snapshot the caller may not know. */
		*event = VTSCREEN_LEAVE;
		vs->alt = 0;
	}
	return 0;
}

/* One whole CSI sequence s[0..len). */
static int
vs_csi(struct vtscreen *vs, const u_char *s, size_t len, struct buf *out,
    int *event)
{
	struct vs_csi	 c;
	u_int		 top, bottom;

	vs_csi_parse(s, len, &c);
	if (c.other || c.n > VS_PARAMS_MAX)
		return buf_put(out, s, len);
	if (c.marker == '?' && c.ninter == 0 &&
	    (c.final == 'h' || c.final == 'l'))
		return vs_modes(vs, &c, out, event);
	if (c.marker != 0)
		return buf_put(out, s, len);
	if (c.ninter == 1 && c.inter == ' ' && c.final == 'q')
		vs->touched |= VTSCREEN_T_CURSOR;
	if (c.ninter == 1 && c.inter == '!' && c.final == 'p' &&
	    vs->rows != 0) {
		/* DECSTR resets the region: put ours back, cursor kept. */
		return buf_putf(out, "%.*s\0337\033[1;%ur\0338", (int)len,
		    (const char *)s, vs->rows);
	}
	if (c.ninter != 0)
		return buf_put(out, s, len);
	if (c.final == 'g')
		vs->touched |= VTSCREEN_T_TABS;
	if (vs->rows == 0)
		return buf_put(out, s, len);
	switch (c.final) {
	case 'r':
		if (c.n > 2)
			break;
		top = c.n >= 1 && c.v[0] != 0 ? c.v[0] : 1;
		bottom = c.n >= 2 ? c.v[1] : 0;
		if (bottom != 0 && bottom <= vs->rows)
			break;
		return buf_putf(out, "\033[%u;%ur", top, vs->rows);
	case 'H':
	case 'f':
		if (c.n == 0 || c.n > 2 || c.v[0] <= vs->rows)
			break;
		if (c.n == 1)
			return buf_putf(out, "\033[%u%c", vs->rows, c.final);
		return buf_putf(out, "\033[%u;%u%c", vs->rows, c.v[1],
		    c.final);
	case 'd':
		if (c.n != 1 || c.v[0] <= vs->rows)
			break;
		return buf_putf(out, "\033[%ud", vs->rows);
	}
	return buf_put(out, s, len);
}

/*
 * The length of the escape sequence at in[0] (an ESC), or 0 when it does
 * not end within len bytes or is not one the filter passes.
 */
static size_t
vs_seq_len(const u_char *in, size_t len)
{
	size_t	 i;

	if (len < 2)
		return 0;
	if (in[1] == '[') {
		for (i = 2; i < len; i++) {
			if (in[i] >= 0x40 && in[i] <= 0x7e)
				return i + 1;
			if (in[i] < 0x20 || in[i] > 0x3f)
				return 0;
		}
		return 0;
	}
	for (i = 1; i < len; i++) {
		if (in[i] >= 0x30 && in[i] <= 0x7e)
			return i + 1;
		if (in[i] < 0x20 || in[i] > 0x2f)
			return 0;
	}
	return 0;
}

/*
 * Take what the escape filter produced, in[0..len), and append what the
 * engineer's terminal should get to out. Stops right after the first
 * switch of the customer's screen (*event VTSCREEN_ENTER or
 * VTSCREEN_LEAVE; otherwise VTSCREEN_NONE) and sets *used to the bytes
 * taken. All or nothing: when out lacks room it is left as it was, the
 * state too, and TUNL_ERR_FULL returned; VTSCREEN_OUT_MAX(len) bytes of
 * room always suffice.
 */
int
vtscreen_feed(struct vtscreen *vs, const u_char *in, size_t len,
    struct buf *out, size_t *used, int *event)
{
	struct vtscreen	 saved = *vs;
	size_t		 start = buf_len(out), i = 0, run, n;
	const u_char	*p;
	int		 r = 0;

	*used = 0;
	*event = VTSCREEN_NONE;
	while (i < len && *event == VTSCREEN_NONE) {
		/* Everything up to the next ESC passes as it is. */
		for (run = i; run < len && in[run] != VS_ESC; run++)
			;
		if (run > i && (r = buf_put(out, in + i, run - i)) != 0)
			goto out;
		i = run;
		if (i == len)
			break;
		p = in + i;
		if ((n = vs_seq_len(p, len - i)) == 0) {
			/* Not whole or not ours to read: as it came. */
			if ((r = buf_put_u8(out, VS_ESC)) != 0)
				goto out;
			i++;
			continue;
		}
		if (p[1] == '[')
			r = vs_csi(vs, p, n, out, event);
		else {
			if (n == 2 && p[1] == 'H')
				vs->touched |= VTSCREEN_T_TABS;
			r = buf_put(out, p, n);
		}
		if (r != 0)
			goto out;
		i += n;
	}
	*used = i;
 out:
	if (r != 0) {
		(void)buf_consume_end(out, buf_len(out) - start);
		*vs = saved;
		*event = VTSCREEN_NONE;
		return r == TUNL_ERR_LENGTH || r == TUNL_ERR_ALLOC ?
		    TUNL_ERR_FULL : r;
	}
	return 0;
}

/*
 * What join and replay write first: the engineer's alternate screen,
 * cleared, cursor home.
 */
int
vtscreen_enter(struct buf *out)
{
	return buf_putf(out, "%s", "\033[?1049h\033[H\033[2J");
}

/*
 * What they write last: the modes a customer's program may have changed
 * put back as a terminal starts (attributes, scroll region, origin,
 * autowrap, insert, newline, cursor keys, keypad, character set, reverse
 * video, cursor shown, synchronized output off), the cursor style, its
 * blinking and the tab stops (every 8 columns up to cols) only if the
 * customer changed them, the alternate screen cleared, and the engineer's
 * normal screen back. Mouse, focus and bracketed paste modes are not
 * touched: the filter never lets the customer set them.
 */
int
vtscreen_leave(const struct vtscreen *vs, u_int cols, struct buf *out)
{
	size_t	 start = buf_len(out);
	u_int	 c;
	int	 r;

	r = buf_putf(out, "%s", "\033[0m\033[r\033[?6l\033[?7h\033[4l\033[20l"
	    "\033[?1l\033>\033(B\017\033[?5l\033[?25h\033[?2026l");
	if (r == 0 && (vs->touched & VTSCREEN_T_BLINK))
		r = buf_putf(out, "%s", "\033[?12l");
	if (r == 0 && (vs->touched & VTSCREEN_T_CURSOR))
		r = buf_putf(out, "%s", "\033[0 q");
	if (r == 0 && (vs->touched & VTSCREEN_T_TABS)) {
		if (cols > VTSCREEN_COLS_MAX)
			cols = VTSCREEN_COLS_MAX;
		r = buf_putf(out, "%s", "\033[3g");
		for (c = 9; c <= cols && r == 0; c += 8)
			r = buf_putf(out, "\033[%uG\033H", c);
	}
	if (r == 0)
		r = buf_putf(out, "%s", "\033[H\033[2J\033[?1049l");
	if (r != 0)
		(void)buf_consume_end(out, buf_len(out) - start);
	return r;
}
