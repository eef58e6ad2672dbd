/*
 * vtfilter.c: the escape filter between a customer's screen and an
 * engineer's terminal (the policy, with reasons, is docs/escape-filter.md).
 *
 * Bytes are first decoded as UTF-8, so a C1 control is seen whether it
 * comes as a lone byte 0x80-0x9f or as U+0080..U+009F, and is handled as
 * its 7-bit form ESC + (c - 0x40). Invalid UTF-8 becomes U+FFFD; no byte
 * leaves as it came unless it is part of valid UTF-8. The code points then
 * run through a parser shaped like the DEC/ECMA-48 one: ground, escape,
 * escape with intermediates, CSI, and the five control strings. A sequence
 * is held until its final byte, then passed byte for byte if the allowlist
 * has it, rewritten in the few documented cases, or dropped and counted.
 *
 * Everything lives in struct vtfilter, so a sequence may be split across
 * feeds anywhere; in the OUTPUT direction the result does not depend on how
 * the stream was split. A feed either appends all it produced or, when out
 * lacks room, nothing, with the filter's state as it was before the call.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"

#define VT_ESC		0x1b
#define VT_BEL		0x07
#define VT_CAN		0x18
#define VT_SUB		0x1a
#define VT_DEL		0x7f
#define VT_REPLACEMENT	0xfffd

/* C0 controls that may reach an engineer's terminal: BEL BS HT LF VT FF
 * CR SO SI. */
#define VT_OUTPUT_C0	0xff80U

/* What a terminal's RIS would do, without wiping its scrollback. */
#define VT_SOFT_RESET	"\033[!p\033[H\033[2J"

enum vt_state {
	VT_GROUND = 0,
	VT_ESCAPE,		/* after ESC */
	VT_ESCAPE_INT,		/* ESC and intermediate bytes */
	VT_CSI,			/* ESC [ up to the final byte */
	VT_SS3,			/* input: ESC O up to the final byte */
	VT_STRING,		/* OSC, DCS, SOS, PM or APC: dropped */
	VT_STRING_ESC		/* ESC inside a string: ST or a new sequence */
};

/* A parsed CSI sequence; the bytes stay in vf->seq. */
struct vt_csi {
	u_char		 marker;	/* 0 or one of < = > ? */
	u_char		 final;
	size_t		 p0, p1;	/* parameter bytes seq[p0..p1) */
	size_t		 i0, i1;	/* intermediate bytes seq[i0..i1) */
	u_int		 n;		/* parameters */
	u_int		 v[VTFILTER_SGR_PARAMS_MAX];
	int		 colon;		/* a ':' sub-parameter was seen */
};

static const u_int vt_dec_modes[] = {
	1,	/* DECCKM: application cursor keys */
	5,	/* DECSCNM: reverse video screen */
	6,	/* DECOM: origin mode */
	7,	/* DECAWM: autowrap */
	12,	/* blinking cursor */
	25,	/* DECTCEM: cursor visible */
	47,	/* alternate screen */
	1047,	/* alternate screen, cleared */
	1048,	/* save and restore the cursor */
	1049,	/* alternate screen with saved cursor */
	2026	/* synchronized output */
};

static const u_int vt_ansi_modes[] = {
	4,	/* IRM: insert mode */
	20	/* LNM: newline mode */
};

static const char *vt_class_names[VTFILTER_NCLASSES] = {
	"osc", "dcs", "apc", "pm", "sos", "csi", "mode", "esc", "ctrl", "c1",
	"report"
};

static int	vt_char(struct vtfilter *, u_int32_t, size_t, struct buf *);

static int
vt_put(struct buf *out, const void *p, size_t len)
{
	int	 r;

	if ((r = buf_put(out, p, len)) == TUNL_ERR_LENGTH)
		r = TUNL_ERR_FULL;
	return r;
}

/* Append one code point (printable, already checked) as UTF-8. */
static int
vt_put_cp(struct buf *out, u_int32_t c)
{
	u_char	 u[4];
	size_t	 n;

	if (c < 0x80) {
		u[0] = c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | (c >> 6);
		u[1] = 0x80 | (c & 0x3f);
		n = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | (c >> 12);
		u[1] = 0x80 | ((c >> 6) & 0x3f);
		u[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | (c >> 18);
		u[1] = 0x80 | ((c >> 12) & 0x3f);
		u[2] = 0x80 | ((c >> 6) & 0x3f);
		u[3] = 0x80 | (c & 0x3f);
		n = 4;
	}
	return vt_put(out, u, n);
}

static void
vt_count_drop(struct vtfilter *vf, int class, size_t bytes)
{
	vf->stats.dropped_seqs++;
	vf->stats.dropped_bytes += bytes;
	vf->stats.dropped_by_class[class]++;
}

/* The class a pending (unfinished) sequence is counted under. */
static int
vt_pending_class(const struct vtfilter *vf)
{
	switch (vf->state) {
	case VT_STRING:
	case VT_STRING_ESC:
		return vf->string_kind;
	case VT_CSI:
		return vf->direction == VTFILTER_INPUT ?
		    VTFILTER_CLASS_REPORT : VTFILTER_CLASS_CSI;
	default:
		return vf->c1 ? VTFILTER_CLASS_C1 : VTFILTER_CLASS_ESC;
	}
}

/* Drop the sequence in progress and return to ground. */
static void
vt_drop(struct vtfilter *vf, int class)
{
	vt_count_drop(vf, class, vf->seq_raw);
	vf->state = VT_GROUND;
	vf->seqlen = 0;
	vf->seq_raw = 0;
}

static void
vt_begin(struct vtfilter *vf, size_t raw, int c1)
{
	vf->state = VT_ESCAPE;
	vf->seqlen = 0;
	vf->seq_raw = raw;
	vf->overflow = 0;
	vf->esc_sent = 0;
	vf->c1 = c1;
}

/* Keep one byte of the sequence; past the bound, note the overflow. */
static void
vt_collect(struct vtfilter *vf, u_int32_t c)
{
	if (vf->seqlen >= VTFILTER_SEQ_MAX - 1)
		vf->overflow = 1;
	else
		vf->seq[vf->seqlen++] = (u_char)c;
}

/* Pass the held sequence: ESC (unless already sent) and its bytes. */
static int
vt_emit(struct vtfilter *vf, struct buf *out)
{
	static const u_char	 esc = VT_ESC;
	int			 r;

	vf->state = VT_GROUND;
	if (!vf->esc_sent && (r = vt_put(out, &esc, 1)) != 0)
		return r;
	return vt_put(out, vf->seq, vf->seqlen);
}

/*
 * A sequence in progress is cut short by a byte that cannot belong to it.
 * On the screen side it is dropped. On the key side it was typed (a
 * terminal's own reports are always complete), so it is passed as it came,
 * unless it began with a C1 control or outgrew its buffer.
 */
static int
vt_interrupt(struct vtfilter *vf, struct buf *out)
{
	if (vf->direction == VTFILTER_INPUT && !vf->overflow && !vf->c1)
		return vt_emit(vf, out);
	vt_drop(vf, vt_pending_class(vf));
	return 0;
}

/* A C0 control or DEL met in ground, or inside a sequence on output. */
static int
vt_exec(struct vtfilter *vf, u_int32_t c, struct buf *out)
{
	u_char	 ch = (u_char)c;

	if (vf->direction == VTFILTER_INPUT ||
	    (c < 0x20 && (VT_OUTPUT_C0 & (1U << c)) != 0))
		return vt_put(out, &ch, 1);
	vt_count_drop(vf, VTFILTER_CLASS_CTRL, 1);
	return 0;
}

static int
vt_ground(struct vtfilter *vf, u_int32_t c, size_t raw, struct buf *out)
{
	if (c == VT_ESC) {
		vt_begin(vf, raw, 0);
		return 0;
	}
	if (c < 0x20 || c == VT_DEL)
		return vt_exec(vf, c, out);
	return vt_put_cp(out, c);
}

static void
vt_string_end(struct vtfilter *vf)
{
	vt_drop(vf, vf->string_kind);
}

/*
 * Inside a control string every byte is dropped. The string ends at ST
 * (ESC \), at BEL for OSC, at CAN or SUB, at any other ESC (which then
 * starts a new sequence, as it does in a terminal) and, on the screen side,
 * after VTFILTER_STRING_MAX bytes, so that an unterminated string cannot
 * swallow what follows. On the key side any control ends it: reports never
 * hold one, and a typed Alt-] must not eat the keys after it.
 */
static int
vt_string(struct vtfilter *vf, u_int32_t c, size_t raw, struct buf *out)
{
	if (vf->state == VT_STRING_ESC) {
		if (c == '\\') {
			vf->seq_raw += raw;
			vt_string_end(vf);
			return 0;
		}
		vf->seq_raw--;		/* the ESC starts the next sequence */
		vt_string_end(vf);
		vt_begin(vf, 1, 0);
		return vt_char(vf, c, raw, out);
	}
	if (c == VT_ESC) {
		vf->seq_raw += raw;
		vf->state = VT_STRING_ESC;
		return 0;
	}
	if (vf->direction == VTFILTER_OUTPUT &&
	    vf->seq_raw + raw > VTFILTER_STRING_MAX) {
		vf->stats.cut++;
		vt_string_end(vf);
		return vt_ground(vf, c, raw, out);
	}
	vf->seq_raw += raw;
	if ((c == VT_BEL && vf->string_kind == VTFILTER_CLASS_OSC) ||
	    c == VT_CAN || c == VT_SUB ||
	    (vf->direction == VTFILTER_INPUT && (c < 0x20 || c == VT_DEL)))
		vt_string_end(vf);
	return 0;
}

static int
vt_mode_allowed(const u_int *list, size_t n, u_int m)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (list[i] == m)
			return 1;
	return 0;
}

/*
 * Split the held CSI sequence (seq[0] is '[') into marker, parameters,
 * intermediates and final. Refuses parameter bytes out of place, more than
 * VTFILTER_SGR_PARAMS_MAX parameters and values over VTFILTER_PARAM_MAX.
 */
static int
vt_csi_parse(const struct vtfilter *vf, struct vt_csi *csi)
{
	const u_char	*s = vf->seq;
	size_t		 i = 1, end;
	u_int		 val = 0;

	memset(csi, 0, sizeof(*csi));
	if (vf->seqlen < 2)
		return -1;
	end = vf->seqlen - 1;
	csi->final = s[end];
	if (i < end && s[i] >= 0x3c && s[i] <= 0x3f)
		csi->marker = s[i++];
	csi->p0 = i;
	while (i < end && s[i] >= 0x30 && s[i] <= 0x3b)
		i++;
	csi->p1 = csi->i0 = i;
	while (i < end && s[i] >= 0x20 && s[i] <= 0x2f)
		i++;
	csi->i1 = i;
	if (i != end)
		return -1;
	if (csi->p1 == csi->p0)
		return 0;
	csi->n = 1;
	for (i = csi->p0; i < csi->p1; i++) {
		if (s[i] == ';' || s[i] == ':') {
			if (s[i] == ':')
				csi->colon = 1;
			csi->v[csi->n - 1] = val;
			val = 0;
			if (++csi->n > VTFILTER_SGR_PARAMS_MAX)
				return -1;
			continue;
		}
		val = val * 10 + (s[i] - '0');
		if (val > VTFILTER_PARAM_MAX)
			return -1;
	}
	csi->v[csi->n - 1] = val;
	return 0;
}

/*
 * Set or reset modes (CSI h, CSI l, CSI ? h, CSI ? l): passed as they came
 * when every mode is on the allowlist, dropped when none is, and otherwise
 * rewritten with only the allowed ones.
 */
static int
vt_csi_modes(struct vtfilter *vf, const struct vt_csi *csi, struct buf *out)
{
	const u_int	*list = vt_ansi_modes;
	size_t		 nlist = TUNL_NITEMS(vt_ansi_modes), i, len = 0, start;
	u_int		 k, kept = 0;
	int		 first = 1;
	u_char		 tmp[VTFILTER_SEQ_MAX + 1];

	if (csi->marker == '?') {
		list = vt_dec_modes;
		nlist = TUNL_NITEMS(vt_dec_modes);
	}
	for (k = 0; k < csi->n; k++)
		if (vt_mode_allowed(list, nlist, csi->v[k]))
			kept++;
	if (kept == 0) {
		vt_drop(vf, VTFILTER_CLASS_MODE);
		return 0;
	}
	if (kept == csi->n)
		return vt_emit(vf, out);

	vf->stats.rewritten++;
	vf->state = VT_GROUND;
	tmp[len++] = VT_ESC;
	tmp[len++] = '[';
	if (csi->marker != 0)
		tmp[len++] = csi->marker;
	start = csi->p0;
	k = 0;
	for (i = csi->p0; i <= csi->p1; i++) {
		if (i < csi->p1 && vf->seq[i] != ';')
			continue;
		if (vt_mode_allowed(list, nlist, csi->v[k])) {
			if (!first)
				tmp[len++] = ';';
			first = 0;
			memcpy(tmp + len, vf->seq + start, i - start);
			len += i - start;
		}
		start = i + 1;
		k++;
	}
	tmp[len++] = csi->final;
	return vt_put(out, tmp, len);
}

/* A complete CSI sequence on its way to an engineer's terminal. */
static int
vt_csi_output(struct vtfilter *vf, struct buf *out)
{
	struct vt_csi	 csi;
	size_t		 ninter;
	u_int		 v0;

	if (vf->overflow) {
		vf->stats.cut++;
		goto drop;
	}
	if (vt_csi_parse(vf, &csi) != 0)
		goto drop;
	ninter = csi.i1 - csi.i0;
	v0 = csi.v[0];
	if (csi.final == 'm' && csi.marker == 0 && ninter == 0)
		return vt_emit(vf, out);		/* SGR */
	if (csi.colon || csi.n > VTFILTER_PARAMS_MAX)
		goto drop;
	if (ninter != 0) {
		if (ninter != 1 || csi.marker != 0)
			goto drop;
		if (vf->seq[csi.i0] == '!' && csi.final == 'p' && csi.n == 0)
			return vt_emit(vf, out);	/* DECSTR */
		if (vf->seq[csi.i0] == ' ' && csi.final == 'q' &&
		    csi.n <= 1 && v0 <= 6)
			return vt_emit(vf, out);	/* DECSCUSR */
		goto drop;
	}
	if (csi.marker == '?') {
		if (csi.final == 'h' || csi.final == 'l')
			return vt_csi_modes(vf, &csi, out);
		if ((csi.final == 'J' || csi.final == 'K') && csi.n <= 1 &&
		    v0 <= 2)
			return vt_emit(vf, out);	/* DECSED, DECSEL */
		goto drop;
	}
	if (csi.marker != 0)
		goto drop;
	switch (csi.final) {
	case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
	case 'G': case '`': case 'a': case 'd': case 'e':
	case '@': case 'L': case 'M': case 'P': case 'X':
	case 'S': case 'T': case 'I': case 'Z':
		if (csi.n <= 1)
			return vt_emit(vf, out);
		break;
	case 'H': case 'f': case 'r':
		if (csi.n <= 2)
			return vt_emit(vf, out);
		break;
	case 'J': case 'K':
		if (csi.n <= 1 && v0 <= 2)	/* not ED 3: scrollback */
			return vt_emit(vf, out);
		break;
	case 'g':
		if (csi.n <= 1 && (v0 == 0 || v0 == 3))
			return vt_emit(vf, out);
		break;
	case 'b':
		if (csi.n <= 1 && v0 <= VTFILTER_REP_MAX)
			return vt_emit(vf, out);
		break;
	case 's': case 'u':
		if (csi.n == 0)
			return vt_emit(vf, out);
		break;
	case 'h': case 'l':
		return vt_csi_modes(vf, &csi, out);
	}
drop:
	vt_drop(vf, VTFILTER_CLASS_CSI);
	return 0;
}

/* A complete CSI sequence from an engineer's terminal: keys pass. */
static int
vt_csi_input(struct vtfilter *vf, struct buf *out)
{
	struct vt_csi	 csi;

	if (vf->overflow) {
		vf->stats.cut++;
		goto drop;
	}
	if (vt_csi_parse(vf, &csi) != 0 || csi.marker != 0 ||
	    csi.i1 != csi.i0 || csi.n > VTFILTER_PARAMS_MAX)
		goto drop;
	switch (csi.final) {
	case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
	case 'G': case 'H': case 'P': case 'Q': case 'S': case 'Z':
		if (csi.n <= 2)
			return vt_emit(vf, out);
		break;
	case 'R':
		/* Modified F3, not a cursor position report. */
		if (csi.n == 0 || (csi.n == 2 && csi.v[0] == 1 &&
		    csi.v[1] >= 2 && csi.v[1] <= 16))
			return vt_emit(vf, out);
		break;
	case '~':
		/* Bracketed paste marks go; what was pasted stays. */
		if (csi.n <= 3 && csi.v[0] != 200 && csi.v[0] != 201)
			return vt_emit(vf, out);
		break;
	case 'u':
		return vt_emit(vf, out);
	case '[':
		if (csi.n == 0)			/* Linux console F1-F5 */
			return vt_emit(vf, out);
		break;
	case 'M':
		/* An X10 mouse report: three raw bytes follow. */
		if (csi.n == 0)
			vf->mouse_skip = 3;
		break;
	}
drop:
	vt_drop(vf, VTFILTER_CLASS_REPORT);
	return 0;
}

/* The final byte of an escape sequence other than CSI (screen side). */
static int
vt_escape_final(struct vtfilter *vf, struct buf *out)
{
	const u_char	*s = vf->seq;

	if (vf->overflow) {
		vf->stats.cut++;
		goto drop;
	}
	if (vf->seqlen == 1) {
		switch (s[0]) {
		case '7': case '8':			/* DECSC, DECRC */
		case 'D': case 'E': case 'H': case 'M':	/* IND NEL HTS RI */
		case '=': case '>':			/* keypad modes */
			return vt_emit(vf, out);
		case 'c':				/* RIS */
			vf->stats.rewritten++;
			vf->state = VT_GROUND;
			return vt_put(out, VT_SOFT_RESET,
			    sizeof(VT_SOFT_RESET) - 1);
		}
	} else if (vf->seqlen == 2 && (s[0] == '(' || s[0] == ')') &&
	    (s[1] == 'B' || s[1] == '0' || s[1] == 'A'))
		return vt_emit(vf, out);		/* G0, G1 charsets */
drop:
	vt_drop(vf, vf->c1 ? VTFILTER_CLASS_C1 : VTFILTER_CLASS_ESC);
	return 0;
}

static void
vt_string_begin(struct vtfilter *vf, int kind)
{
	vf->state = VT_STRING;
	vf->string_kind = kind;
}

/* The byte after ESC (or the 7-bit form of a C1), 0x20-0x7e. */
static int
vt_escape(struct vtfilter *vf, u_int32_t c, struct buf *out)
{
	switch (c) {
	case '[':
		vt_collect(vf, c);
		vf->state = VT_CSI;
		return 0;
	case ']':
		vt_string_begin(vf, VTFILTER_CLASS_OSC);
		return 0;
	case 'P':
		vt_string_begin(vf, VTFILTER_CLASS_DCS);
		return 0;
	case 'X':
		vt_string_begin(vf, VTFILTER_CLASS_SOS);
		return 0;
	case '^':
		vt_string_begin(vf, VTFILTER_CLASS_PM);
		return 0;
	case '_':
		vt_string_begin(vf, VTFILTER_CLASS_APC);
		return 0;
	}
	if (vf->direction == VTFILTER_INPUT) {
		if (c == 'O') {				/* SS3 keys */
			vt_collect(vf, c);
			vf->state = VT_SS3;
			return 0;
		}
		if (vf->c1) {
			vt_drop(vf, VTFILTER_CLASS_C1);
			return 0;
		}
		vt_collect(vf, c);			/* Alt and a key */
		return vt_emit(vf, out);
	}
	vt_collect(vf, c);
	if (c < 0x30) {
		vf->state = VT_ESCAPE_INT;
		return 0;
	}
	return vt_escape_final(vf, out);
}

/*
 * One code point (never a C1) in any state. Inside a sequence a C0 control
 * is executed in place on the screen side, as a terminal does, and ends the
 * sequence on the key side; ESC restarts; CAN and SUB abort; anything
 * beyond ASCII cannot belong to a sequence and ends it.
 */
static int
vt_char(struct vtfilter *vf, u_int32_t c, size_t raw, struct buf *out)
{
	int	 r;

	switch (vf->state) {
	case VT_GROUND:
		return vt_ground(vf, c, raw, out);
	case VT_STRING:
	case VT_STRING_ESC:
		return vt_string(vf, c, raw, out);
	}

	if (c == VT_ESC) {
		if ((r = vt_interrupt(vf, out)) != 0)
			return r;
		vt_begin(vf, raw, 0);
		return 0;
	}
	if (c < 0x20 || c == VT_DEL) {
		if (vf->direction == VTFILTER_OUTPUT) {
			if (c != VT_CAN && c != VT_SUB)
				return vt_exec(vf, c, out);
			vt_drop(vf, vt_pending_class(vf));
			vt_count_drop(vf, VTFILTER_CLASS_CTRL, raw);
			return 0;
		}
		if ((r = vt_interrupt(vf, out)) != 0)
			return r;
		return vt_exec(vf, c, out);
	}
	if (c >= 0x80) {
		if ((r = vt_interrupt(vf, out)) != 0)
			return r;
		return vt_ground(vf, c, raw, out);
	}
	if (vf->seq_raw + raw > VTFILTER_STRING_MAX) {
		/* Only an overlong sequence gets here: give up on it. */
		vf->stats.cut++;
		vt_drop(vf, vt_pending_class(vf));
		return vt_ground(vf, c, raw, out);
	}
	vf->seq_raw += raw;

	switch (vf->state) {
	case VT_ESCAPE:
		return vt_escape(vf, c, out);
	case VT_ESCAPE_INT:
		vt_collect(vf, c);
		if (c < 0x30)
			return 0;
		return vt_escape_final(vf, out);
	case VT_CSI:
		vt_collect(vf, c);
		if (c < 0x40)
			return 0;
		vf->state = VT_GROUND;
		if (vf->direction == VTFILTER_OUTPUT)
			return vt_csi_output(vf, out);
		return vt_csi_input(vf, out);
	case VT_SS3:
		if (c >= 0x40) {
			vt_collect(vf, c);
			if (vf->overflow) {
				vt_drop(vf, VTFILTER_CLASS_REPORT);
				return 0;
			}
			return vt_emit(vf, out);
		}
		if (c >= 0x30 && c <= 0x3b) {
			vt_collect(vf, c);
			return 0;
		}
		if ((r = vt_interrupt(vf, out)) != 0)
			return r;
		return vt_ground(vf, c, raw, out);
	}
	return TUNL_ERR_INTERNAL;
}

/*
 * A C1 control (0x80-0x9f), which acts as ESC followed by c - 0x40. It
 * ends any sequence in progress, or the string it is in (0x9c, ST, ends a
 * string cleanly). What it starts is filtered like the 7-bit form and, if
 * allowed, passed in the 7-bit form; on the key side only the introducers
 * of CSI, SS3 and strings are honoured and other C1 controls are dropped.
 */
static int
vt_c1(struct vtfilter *vf, u_int32_t c, size_t raw, struct buf *out)
{
	u_int32_t	 f = c - 0x40;
	int		 r;

	vf->stats.c1++;
	if (vf->state == VT_STRING_ESC) {
		vf->seq_raw--;
		vt_string_end(vf);
		vt_begin(vf, 1, 0);
	}
	if (vf->state == VT_STRING) {
		if (f == '\\') {
			vf->seq_raw += raw;
			vt_string_end(vf);
			return 0;
		}
		vt_string_end(vf);
	} else if (vf->state != VT_GROUND) {
		if ((r = vt_interrupt(vf, out)) != 0)
			return r;
	}
	vt_begin(vf, raw, 1);
	return vt_escape(vf, f, out);
}

static int
vt_cp(struct vtfilter *vf, u_int32_t c, size_t raw, struct buf *out)
{
	if (c >= 0x80 && c < 0xa0)
		return vt_c1(vf, c, raw, out);
	return vt_char(vf, c, raw, out);
}

/*
 * One byte through the UTF-8 decoder. An invalid sequence becomes one
 * U+FFFD for its longest valid prefix (or for the lone bad byte), and the
 * byte that broke it is decoded afresh. Lone bytes 0x80-0x9f are C1
 * controls.
 */
static int
vt_byte(struct vtfilter *vf, u_char b, struct buf *out)
{
	int	 r;

	if (vf->utf8_need > 0) {
		if (b >= vf->utf8_lo && b <= vf->utf8_hi) {
			vf->utf8_cp = (vf->utf8_cp << 6) | (b & 0x3f);
			vf->utf8_have++;
			vf->utf8_lo = 0x80;
			vf->utf8_hi = 0xbf;
			if (--vf->utf8_need > 0)
				return 0;
			return vt_cp(vf, vf->utf8_cp, vf->utf8_have, out);
		}
		vf->utf8_need = 0;
		vf->stats.replaced++;
		if ((r = vt_cp(vf, VT_REPLACEMENT, vf->utf8_have, out)) != 0)
			return r;
	}
	if (b < 0xa0)
		return vt_cp(vf, b, 1, out);
	if (b < 0xc2 || b > 0xf4) {
		vf->stats.replaced++;
		return vt_cp(vf, VT_REPLACEMENT, 1, out);
	}
	vf->utf8_have = 1;
	vf->utf8_lo = 0x80;
	vf->utf8_hi = 0xbf;
	if (b < 0xe0) {
		vf->utf8_need = 1;
		vf->utf8_cp = b & 0x1f;
	} else if (b < 0xf0) {
		vf->utf8_need = 2;
		vf->utf8_cp = b & 0x0f;
		if (b == 0xe0)
			vf->utf8_lo = 0xa0;	/* no overlong forms */
		else if (b == 0xed)
			vf->utf8_hi = 0x9f;	/* no surrogates */
	} else {
		vf->utf8_need = 3;
		vf->utf8_cp = b & 0x07;
		if (b == 0xf0)
			vf->utf8_lo = 0x90;
		else if (b == 0xf4)
			vf->utf8_hi = 0x8f;	/* nothing past U+10FFFF */
	}
	return 0;
}

/* Forget a pending sequence or string, counting it as dropped. */
static void
vt_abandon(struct vtfilter *vf)
{
	if (vf->state != VT_GROUND) {
		if (vf->esc_sent && vf->state == VT_ESCAPE)
			vf->state = VT_GROUND;	/* nothing was held */
		else
			vt_drop(vf, vt_pending_class(vf));
	}
	vf->stats.dropped_bytes += vf->mouse_skip;
	vf->mouse_skip = 0;
	vf->seqlen = 0;
	vf->seq_raw = 0;
	vf->overflow = vf->esc_sent = vf->c1 = 0;
}

void
vtfilter_init(struct vtfilter *vf, int direction)
{
	memset(vf, 0, sizeof(*vf));
	vf->direction = direction == VTFILTER_INPUT ?
	    VTFILTER_INPUT : VTFILTER_OUTPUT;
	vf->state = VT_GROUND;
}

/*
 * Filter len bytes into out. Returns 0, TUNL_ERR_INVALID for bad
 * arguments, or TUNL_ERR_FULL (TUNL_ERR_ALLOC) when out could not take
 * everything: then nothing of this call was appended and the filter is as
 * it was, so the call may be repeated once there is room.
 * VTFILTER_OUT_MAX(len) bytes of room always suffice.
 *
 * On the key side a lone ESC at the end of a feed is the Escape key and is
 * passed at once rather than held for the next key.
 */
int
vtfilter_feed(struct vtfilter *vf, const u_char *in, size_t len,
    struct buf *out)
{
	static const u_char	 esc = VT_ESC;
	struct vtfilter		 save;
	size_t			 start, i, j;
	int			 r = 0;

	if (vf == NULL || out == NULL || (in == NULL && len > 0))
		return TUNL_ERR_INVALID;
	memcpy(&save, vf, sizeof(save));
	start = buf_len(out);
	for (i = 0; i < len && r == 0; i++) {
		if (vf->mouse_skip > 0) {
			vf->mouse_skip--;
			vf->stats.dropped_bytes++;
			continue;
		}
		if (vf->state == VT_GROUND && vf->utf8_need == 0 &&
		    in[i] >= 0x20 && in[i] < 0x7f) {
			/* The common case: a run of printable ASCII. */
			for (j = i + 1; j < len && in[j] >= 0x20 &&
			    in[j] < 0x7f; j++)
				;
			r = vt_put(out, in + i, j - i);
			i = j - 1;
			continue;
		}
		r = vt_byte(vf, in[i], out);
	}
	if (r == 0 && vf->direction == VTFILTER_INPUT &&
	    vf->state == VT_ESCAPE && vf->seqlen == 0 && !vf->esc_sent &&
	    !vf->c1) {
		if ((r = vt_put(out, &esc, 1)) == 0)
			vf->esc_sent = 1;
	}
	if (r != 0) {
		(void)buf_consume_end(out, buf_len(out) - start);
		memcpy(vf, &save, sizeof(*vf));
	}
	return r;
}

/*
 * End of stream: an incomplete UTF-8 sequence becomes U+FFFD (or is
 * dropped with the string it is in); any pending sequence or string is
 * dropped. The filter is then in its ground state. Same all-or-nothing
 * rule as vtfilter_feed.
 */
int
vtfilter_flush(struct vtfilter *vf, struct buf *out)
{
	struct vtfilter	 save;
	size_t		 start;
	int		 r = 0;

	if (vf == NULL || out == NULL)
		return TUNL_ERR_INVALID;
	memcpy(&save, vf, sizeof(save));
	start = buf_len(out);
	if (vf->utf8_need > 0) {
		vf->utf8_need = 0;
		vf->stats.replaced++;
		r = vt_cp(vf, VT_REPLACEMENT, vf->utf8_have, out);
	}
	if (r == 0)
		vt_abandon(vf);
	if (r != 0) {
		(void)buf_consume_end(out, buf_len(out) - start);
		memcpy(vf, &save, sizeof(*vf));
	}
	return r;
}

/*
 * Back to the ground state with nothing held (before a snapshot is sent,
 * say); what was pending is dropped and counted. The direction and the
 * counters stay.
 */
void
vtfilter_reset(struct vtfilter *vf)
{
	if (vf->utf8_need > 0) {
		vf->stats.dropped_bytes += vf->utf8_have;
		vf->utf8_need = 0;
	}
	vt_abandon(vf);
}

void
vtfilter_stats(const struct vtfilter *vf, struct vtfilter_stats *st)
{
	memcpy(st, &vf->stats, sizeof(*st));
}

const char *
vtfilter_class_name(int class)
{
	if (class < 0 || class >= VTFILTER_NCLASSES)
		return "unknown";
	return vt_class_names[class];
}
