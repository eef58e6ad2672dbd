/*
 * vtfilter.c: the escape filter between a customer's screen and an
 * engineer's terminal (the policy, with reasons, is docs/escape-filter.md).
 *
 * On the screen side bytes are first decoded as UTF-8, so a C1 control is
 * seen whether it comes as a lone byte 0x80-0x9f or as U+0080..U+009F, and
 * is handled as its 7-bit form ESC + (c - 0x40). Invalid UTF-8 becomes
 * U+FFFD; no byte leaves as it came unless it is part of valid UTF-8. On
 * the key side every byte over 0x7f is a key and passes as it came. The code points then
 * run through a parser shaped like the DEC/ECMA-48 one: ground, escape,
 * escape with intermediates, CSI, and the five control strings. A sequence
 * is held until its final byte, then passed byte for byte if the allowlist
 * has it, rewritten in the few documented cases, or dropped and counted.
 *
 * Everything lives in struct vtfilter, so a sequence may be split across
 * feeds anywhere; in the OUTPUT direction the result does not depend on how
 * the stream was split. A feed either appends all it produced or, when out
 * lacks room, nothing, with the filter's state as it was before the call.
 *
 * vtfilter_feed takes what passes unchanged in one step (the fast path,
 * further down) and leaves the rest to the byte-at-a-time code, which is
 * also the reference it is tested against (vtfilter_feed_reference).
 */
#include "config.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* What the screen-side policy says of a complete sequence. */
enum vt_verdict {
	VT_DROP = 0,
	VT_PASS,		/* byte for byte, as it came */
	VT_REWRITE,		/* a mode list, with only the allowed modes */
	VT_MODES,		/* a mode list: ask vt_modes_verdict */
	VT_RIS			/* a full reset, passed as a soft one */
};

/* A parsed CSI sequence; the bytes stay where they were parsed. */
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
 * Split a CSI sequence of len bytes, s[0] being '[' and s[len - 1] the
 * final byte (the one held in vf->seq, or one the fast path found whole in
 * its input), into marker, parameters, intermediates and final. Refuses
 * parameter bytes out of place, more than VTFILTER_SGR_PARAMS_MAX
 * parameters and values over VTFILTER_PARAM_MAX.
 */
static int
vt_csi_parse(const u_char *s, size_t len, struct vt_csi *csi)
{
	size_t		 i = 1, end;
	u_int		 val = 0;

	/*
	 * Not a memset of the whole struct, which costs more than the rest
	 * of a short sequence: v[k] is written for every k < n before it is
	 * read, and v[0] is read as 0 when there is no parameter.
	 */
	csi->marker = csi->final = 0;
	csi->p0 = csi->p1 = csi->i0 = csi->i1 = 0;
	csi->n = 0;
	csi->v[0] = 0;
	csi->colon = 0;
	if (len < 2)
		return -1;
	end = len - 1;
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

/* The list of modes a CSI h or l sequence is checked against. */
static void
vt_mode_list(const struct vt_csi *csi, const u_int **list, size_t *nlist)
{
	if (csi->marker == '?') {
		*list = vt_dec_modes;
		*nlist = TUNL_NITEMS(vt_dec_modes);
	} else {
		*list = vt_ansi_modes;
		*nlist = TUNL_NITEMS(vt_ansi_modes);
	}
}

/*
 * Set or reset modes (CSI h, CSI l, CSI ? h, CSI ? l): passed as they came
 * when every mode is on the allowlist, dropped when none is, and otherwise
 * rewritten with only the allowed ones.
 */
static int
vt_modes_verdict(const struct vt_csi *csi)
{
	const u_int	*list;
	size_t		 nlist;
	u_int		 k, kept = 0;

	vt_mode_list(csi, &list, &nlist);
	for (k = 0; k < csi->n; k++)
		if (vt_mode_allowed(list, nlist, csi->v[k]))
			kept++;
	if (kept == 0)
		return VT_DROP;
	if (kept == csi->n)
		return VT_PASS;
	return VT_REWRITE;
}

static int
vt_csi_modes(struct vtfilter *vf, const struct vt_csi *csi, struct buf *out)
{
	const u_int	*list;
	size_t		 nlist, i, len = 0, start;
	u_int		 k;
	int		 first = 1;
	u_char		 tmp[VTFILTER_SEQ_MAX + 1];

	switch (vt_modes_verdict(csi)) {
	case VT_DROP:
		vt_drop(vf, VTFILTER_CLASS_MODE);
		return 0;
	case VT_PASS:
		return vt_emit(vf, out);
	}

	vt_mode_list(csi, &list, &nlist);
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

/*
 * The screen-side policy for a complete CSI sequence s (s[0] is '['),
 * parsed into csi: VT_PASS, VT_DROP, or VT_MODES for a mode list that
 * vt_modes_verdict decides. It has no side effects, so that the fast path
 * can ask it about a sequence in its input before committing to anything.
 */
static int
vt_csi_output_verdict(const u_char *s, const struct vt_csi *csi)
{
	size_t		 ninter;
	u_int		 v0;

	ninter = csi->i1 - csi->i0;
	v0 = csi->v[0];
	if (csi->final == 'm' && csi->marker == 0 && ninter == 0)
		return VT_PASS;				/* SGR */
	if (csi->colon || csi->n > VTFILTER_PARAMS_MAX)
		return VT_DROP;
	if (ninter != 0) {
		if (ninter != 1 || csi->marker != 0)
			return VT_DROP;
		if (s[csi->i0] == '!' && csi->final == 'p' && csi->n == 0)
			return VT_PASS;			/* DECSTR */
		if (s[csi->i0] == ' ' && csi->final == 'q' &&
		    csi->n <= 1 && v0 <= 6)
			return VT_PASS;			/* DECSCUSR */
		return VT_DROP;
	}
	if (csi->marker == '?') {
		if (csi->final == 'h' || csi->final == 'l')
			return VT_MODES;
		if ((csi->final == 'J' || csi->final == 'K') && csi->n <= 1 &&
		    v0 <= 2)
			return VT_PASS;			/* DECSED, DECSEL */
		return VT_DROP;
	}
	if (csi->marker != 0)
		return VT_DROP;
	switch (csi->final) {
	case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
	case 'G': case '`': case 'a': case 'd': case 'e':
	case '@': case 'L': case 'M': case 'P': case 'X':
	case 'S': case 'T': case 'I': case 'Z':
		if (csi->n <= 1)
			return VT_PASS;
		break;
	case 'H': case 'f': case 'r':
		if (csi->n <= 2)
			return VT_PASS;
		break;
	case 'J': case 'K':
		if (csi->n <= 1 && v0 <= 2)	/* not ED 3: scrollback */
			return VT_PASS;
		break;
	case 'g':
		if (csi->n <= 1 && (v0 == 0 || v0 == 3))
			return VT_PASS;
		break;
	case 'b':
		if (csi->n <= 1 && v0 <= VTFILTER_REP_MAX)
			return VT_PASS;
		break;
	case 's': case 'u':
		if (csi->n == 0)
			return VT_PASS;
		break;
	case 'h': case 'l':
		return VT_MODES;
	}
	return VT_DROP;
}

/* A complete CSI sequence on its way to an engineer's terminal. */
static int
vt_csi_output(struct vtfilter *vf, struct buf *out)
{
	struct vt_csi	 csi;

	if (vf->overflow) {
		vf->stats.cut++;
		goto drop;
	}
	if (vt_csi_parse(vf->seq, vf->seqlen, &csi) != 0)
		goto drop;
	switch (vt_csi_output_verdict(vf->seq, &csi)) {
	case VT_PASS:
		return vt_emit(vf, out);
	case VT_MODES:
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
	if (vt_csi_parse(vf->seq, vf->seqlen, &csi) != 0 || csi.marker != 0 ||
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

/*
 * The screen-side policy for an escape sequence other than CSI, s being
 * the len bytes after the ESC up to the final one: VT_PASS, VT_RIS (passed
 * as a soft reset) or VT_DROP. No side effects, as for CSI.
 */
static int
vt_escape_verdict(const u_char *s, size_t len)
{
	if (len == 1) {
		switch (s[0]) {
		case '7': case '8':			/* DECSC, DECRC */
		case 'D': case 'E': case 'H': case 'M':	/* IND NEL HTS RI */
		case '=': case '>':			/* keypad modes */
			return VT_PASS;
		case 'c':				/* RIS */
			return VT_RIS;
		}
	} else if (len == 2 && (s[0] == '(' || s[0] == ')') &&
	    (s[1] == 'B' || s[1] == '0' || s[1] == 'A'))
		return VT_PASS;				/* G0, G1 charsets */
	return VT_DROP;
}

/* The final byte of an escape sequence other than CSI (screen side). */
static int
vt_escape_final(struct vtfilter *vf, struct buf *out)
{
	if (vf->overflow) {
		vf->stats.cut++;
		goto drop;
	}
	switch (vt_escape_verdict(vf->seq, vf->seqlen)) {
	case VT_PASS:
		return vt_emit(vf, out);
	case VT_RIS:
		vf->stats.rewritten++;
		vf->state = VT_GROUND;
		return vt_put(out, VT_SOFT_RESET, sizeof(VT_SOFT_RESET) - 1);
	}
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
 * The key side takes every byte over 0x7f as it came, at once: the byte of
 * a UTF-8 character, a Latin-1 key, a lone C1 code. Keys must reach the
 * customer exactly, whatever the engineer's terminal sends, and no report
 * an honest terminal makes holds such a byte (8-bit reports need S8C1T,
 * which the screen side never passes). Such a byte ends a sequence it cuts
 * short (the sequence passes as it came, as for any non-ASCII key) and is
 * dropped with a control string it is part of.
 */
static int
vt_key_byte(struct vtfilter *vf, u_char b, struct buf *out)
{
	int	 r;

	switch (vf->state) {
	case VT_GROUND:
		return vt_put(out, &b, 1);
	case VT_STRING:
		vf->seq_raw++;
		return 0;
	case VT_STRING_ESC:
		vf->seq_raw--;		/* the ESC starts a key of its own */
		vt_string_end(vf);
		vt_begin(vf, 1, 0);
		break;
	}
	if ((r = vt_interrupt(vf, out)) != 0)
		return r;
	return vt_put(out, &b, 1);
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

	if (vf->direction == VTFILTER_INPUT && b >= 0x80)
		return vt_key_byte(vf, b, out);
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
 * The fast path. In the ground state, with no UTF-8 character or mouse
 * report under way, most of a screen stream passes as it came: printable
 * ASCII, the layout controls, valid UTF-8 that is not a C1 control, and
 * complete escape sequences the policy passes byte for byte. The reference
 * below would append each of them unchanged and leave the filter in the
 * ground state, touching no counter. vt_fast_span measures such a run, so
 * that it is appended with one copy; the byte that ends it (a control to
 * drop, a C1, invalid or unfinished UTF-8, a sequence that is dropped,
 * rewritten, not over by the end of the input or long) goes to the
 * reference, byte by byte, until the filter is back in the ground state.
 * The policy is asked through the same verdict functions the reference
 * uses; nothing of it is restated here. Inside a control string, which is
 * dropped whole, a printable run is only counted (vt_fast_string).
 */

/* Sequences longer than this, ESC included, are left to the reference
 * (which counts their bytes against its bounds). */
#define VT_FAST_SEQ_MAX		128
_Static_assert(VT_FAST_SEQ_MAX < VTFILTER_SEQ_MAX &&
    VT_FAST_SEQ_MAX < VTFILTER_STRING_MAX, "fast sequences within bounds");

/* Byte classes in the ground state. */
#define VT_FC_SLOW	0	/* the reference decides */
#define VT_FC_TEXT	1	/* passes as it is, either side */
#define VT_FC_KEY	2	/* a control passed as it is on the key side */
#define VT_FC_ESC	3
#define VT_FC_U2	4	/* leads of valid 2, 3 and 4-byte UTF-8 */
#define VT_FC_U3	5
#define VT_FC_U4	6

#define S_	VT_FC_SLOW
#define T_	VT_FC_TEXT
#define K_	VT_FC_KEY
#define E_	VT_FC_ESC
#define U2	VT_FC_U2
#define U3	VT_FC_U3
#define U4	VT_FC_U4
static const u_char vt_fast_class[256] = {
	/* 0x00: NUL..ACK, then BEL BS HT LF VT FF CR SO SI (VT_OUTPUT_C0) */
	K_, K_, K_, K_, K_, K_, K_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, K_, E_, K_, K_, K_, K_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, K_,
	/* 0x80: C1 controls and stray continuation bytes */
	S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_,
	S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_,
	S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_,
	S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_,
	/* 0xc0: C0 and C1 are never leads (overlong) */
	S_, S_, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2,
	U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2, U2,
	U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3, U3,
	/* 0xf5 and up would go past U+10FFFF */
	U4, U4, U4, U4, U4, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_
};
#undef S_
#undef T_
#undef K_
#undef E_
#undef U2
#undef U3
#undef U4

#define VT_ONES		0x0101010101010101ULL
#define VT_HIGHS	0x8080808080808080ULL

/*
 * How many of the eight bytes at p, from the first, are printable ASCII
 * (0x20-0x7e). A byte under 0x20 borrows into its top bit when 0x20 is
 * taken from it, 0x7f carries into it when 1 is added, and a byte from
 * 0x80 has it already. A borrow or carry only reaches the bytes above one
 * that is itself caught, so the lowest byte caught is the first that is
 * not printable. Where the first byte in memory is not the low one of a
 * word, only "all eight or not" is used.
 */
static inline u_int
vt_printable8(const u_char *p)
{
	u_int64_t	 w, m;

	memcpy(&w, p, sizeof(w));
	m = ((w - 0x20 * VT_ONES) | (w + VT_ONES) | w) & VT_HIGHS;
	if (m == 0)
		return 8;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_ctzll(m) / 8;
#else
	return 0;
#endif
}

#ifdef __SSE2__
/*
 * With SSE2 (every x86-64), sixteen bytes at a time: how many, from the
 * first, are VT_FC_TEXT (0x07-0x0f, 0x20-0x7e). The comparisons are of
 * signed bytes, so 0x80 and up fail both ranges.
 */
static inline u_int
vt_text16(const u_char *p)
{
	__m128i		 v, print, layout;
	u_int		 bad;

	v = _mm_loadu_si128((const void *)p);
	print = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
	layout = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x06)),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x10)));
	bad = ~(u_int)_mm_movemask_epi8(_mm_or_si128(print, layout)) & 0xffff;
	return bad == 0 ? 16 : (u_int)__builtin_ctz(bad);
}
#endif

/*
 * How many bytes from p (n of them) are VT_FC_TEXT, found a word at a
 * time: it may stop short of the end of the run, never past it.
 */
static inline size_t
vt_text_prefix(const u_char *p, size_t n)
{
	size_t	 i = 0;
	u_int	 m;

#ifdef __SSE2__
	while (n - i >= 16) {
		m = vt_text16(p + i);
		i += m;
		if (m < 16)
			return i;
	}
#endif
	while (n - i >= 8) {
		m = vt_printable8(p + i);
		i += m;
		if (m < 8)
			return i;
	}
	return i;
}

/* Is b a continuation byte within [lo, hi]? */
static inline int
vt_cont(u_char b, u_char lo, u_char hi)
{
	return (u_char)(b - lo) <= (u_char)(hi - lo);
}

/*
 * The length of the valid UTF-8 character at p (n bytes left), when it is
 * complete and not a C1 control; else 0. The ranges are those vt_byte
 * accepts: no overlong forms, no surrogates, nothing past U+10FFFF.
 */
static inline size_t
vt_fast_utf8(const u_char *p, size_t n, u_int class)
{
	u_char	 b = p[0];

	switch (class) {
	case VT_FC_U2:
		/* C2 80..C2 9F are U+0080..U+009F: C1 controls. */
		if (n >= 2 && vt_cont(p[1], b == 0xc2 ? 0xa0 : 0x80, 0xbf))
			return 2;
		return 0;
	case VT_FC_U3:
		if (n >= 3 && vt_cont(p[1], b == 0xe0 ? 0xa0 : 0x80,
		    b == 0xed ? 0x9f : 0xbf) && vt_cont(p[2], 0x80, 0xbf))
			return 3;
		return 0;
	case VT_FC_U4:
		if (n >= 4 && vt_cont(p[1], b == 0xf0 ? 0x90 : 0x80,
		    b == 0xf4 ? 0x8f : 0xbf) && vt_cont(p[2], 0x80, 0xbf) &&
		    vt_cont(p[3], 0x80, 0xbf))
			return 4;
		return 0;
	}
	return 0;
}

/*
 * The length of the escape sequence at p (p[0] is ESC, n bytes left) if it
 * is complete, short, made of bytes 0x20-0x7e only, and passed byte for
 * byte by the screen-side policy; else 0. Such a sequence meets none of
 * the reference's other cases: no control executed inside it, no ESC or
 * non-ASCII cutting it short, no bound reached.
 */
static size_t
vt_fast_esc(const u_char *p, size_t n)
{
	struct vt_csi	 csi;
	size_t		 j, max = n < VT_FAST_SEQ_MAX ? n : VT_FAST_SEQ_MAX;
	u_int		 val = 0, v0 = 0, nsep = 0, colon = 0;
	u_char		 c;

	if (max < 2)
		return 0;
	c = p[1];
	if (c == '[') {
		/*
		 * The common forms in one pass: parameters of digits, ';'
		 * and ':' only, then the final byte. vt_csi_parse would find
		 * no marker and no intermediate, and at most
		 * VTFILTER_SGR_PARAMS_MAX fields each at most
		 * VTFILTER_PARAM_MAX would make it succeed. SGR then passes;
		 * any other final but a mode list (which needs every value)
		 * is put to the policy with what the parse would have given
		 * it: the final, the count, the first value, any colon.
		 */
		for (j = 2; j < max; j++) {
			c = p[j];
			if (c >= '0' && c <= '9') {
				val = val * 10 + (c - '0');
				if (val > VTFILTER_PARAM_MAX)
					break;
			} else if (c == ';' || c == ':') {
				if (nsep++ == 0)
					v0 = val;
				colon |= c == ':';
				val = 0;
			} else
				break;
		}
		if (j < max && nsep < VTFILTER_SGR_PARAMS_MAX) {
			if (c == 'm')
				return j + 1;
			if (c >= 0x40 && c <= 0x7e && c != 'h' && c != 'l') {
				csi.marker = 0;
				csi.final = c;
				csi.p0 = 1;
				csi.p1 = csi.i0 = csi.i1 = j - 1;
				csi.n = j > 2 ? nsep + 1 : 0;
				csi.v[0] = nsep > 0 ? v0 : val;
				csi.colon = colon;
				if (vt_csi_output_verdict(p + 1, &csi) == VT_PASS)
					return j + 1;
				return 0;
			}
		}

		/* Any other CSI: to its final byte, then the policy. */
		for (j = 2; j < max && p[j] >= 0x20 && p[j] <= 0x3f; j++)
			;
		if (j == max || p[j] < 0x40 || p[j] > 0x7e)
			return 0;
		if (vt_csi_parse(p + 1, j, &csi) != 0)
			return 0;
		switch (vt_csi_output_verdict(p + 1, &csi)) {
		case VT_PASS:
			return j + 1;
		case VT_MODES:
			if (vt_modes_verdict(&csi) == VT_PASS)
				return j + 1;
			break;
		}
		return 0;
	}

	/* ESC, intermediates 0x20-0x2f, a final 0x30-0x7e. */
	for (j = 1; j < max && p[j] >= 0x20 && p[j] <= 0x2f; j++)
		;
	if (j == max || p[j] < 0x30 || p[j] > 0x7e)
		return 0;
	/* Without intermediates, these begin a CSI or a string. */
	if (j == 1 && (c == '[' || c == ']' || c == 'P' || c == 'X' ||
	    c == '^' || c == '_'))
		return 0;
	if (vt_escape_verdict(p + 1, j) == VT_PASS)
		return j + 1;
	return 0;
}

/*
 * How many bytes from p (n of them) pass unchanged from the ground state,
 * leaving the filter in it; p[returned] is for the reference. The key
 * side takes text and controls this way, but leaves every ESC to the
 * reference (keys, the lone-ESC rule, reports).
 */
static size_t
vt_fast_span(const u_char *p, size_t n, int input)
{
	size_t	 i = 0, m;
	u_int	 class;

	for (;;) {
		i += vt_text_prefix(p + i, n - i);
		if (i == n)
			return n;
		/* By how common each is on a screen. */
		class = vt_fast_class[p[i]];
		if (class == VT_FC_ESC) {
			if (input || (m = vt_fast_esc(p + i, n - i)) == 0)
				return i;
			i += m;
		} else if (class == VT_FC_TEXT) {
			/* A layout control, or one of the last few bytes. */
			i++;
		} else if (class >= VT_FC_U2) {
			if ((m = vt_fast_utf8(p + i, n - i, class)) == 0)
				return i;
			i += m;
		} else if (class == VT_FC_KEY && input)
			i++;
		else
			return i;
	}
}

/* One byte through the reference, as its loop below takes it. */
static int
vt_feed_byte(struct vtfilter *vf, u_char b, struct buf *out)
{
	if (vf->mouse_skip > 0) {
		vf->mouse_skip--;
		vf->stats.dropped_bytes++;
		return 0;
	}
	return vt_byte(vf, b, out);
}

/*
 * How many bytes from p (n of them) the body of a control string can
 * swallow here without the reference doing more than count them: the
 * printable ASCII run, which holds no terminator, no control and no
 * UTF-8, cut where the screen side's bound would end the string.
 */
static size_t
vt_fast_string(const struct vtfilter *vf, const u_char *p, size_t n)
{
	size_t	 i = 0, m;

	if (vf->direction == VTFILTER_OUTPUT) {
		if (vf->seq_raw >= VTFILTER_STRING_MAX)
			return 0;
		if (n > VTFILTER_STRING_MAX - vf->seq_raw)
			n = VTFILTER_STRING_MAX - vf->seq_raw;
	}
	while (n - i >= 8) {
		m = vt_printable8(p + i);
		i += m;
		if (m < 8)
			return i;
	}
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	return i;
}

static int
vt_run_fast(struct vtfilter *vf, const u_char *in, size_t len,
    struct buf *out)
{
	size_t	 i = 0, n;
	int	 r;

	while (i < len) {
		if (vf->utf8_need == 0 && vf->mouse_skip == 0) {
			if (vf->state == VT_GROUND) {
				n = vt_fast_span(in + i, len - i,
				    vf->direction == VTFILTER_INPUT);
				if (n > 0 && (r = vt_put(out, in + i, n)) != 0)
					return r;
			} else if (vf->state == VT_STRING) {
				/* Dropped: the reference only counts it. */
				n = vt_fast_string(vf, in + i, len - i);
				vf->seq_raw += n;
			} else
				n = 0;
			if ((i += n) == len)
				break;
		}
		if ((r = vt_feed_byte(vf, in[i], out)) != 0)
			return r;
		i++;
	}
	return 0;
}

/*
 * The reference: the filter a byte at a time, as it was first written.
 * The fast path must give the same bytes, counters and state for every
 * input and every way of splitting it; tests and fuzz/fuzz-vtfilter-diff.c
 * hold it to that.
 */
static int
vt_run_reference(struct vtfilter *vf, const u_char *in, size_t len,
    struct buf *out)
{
	size_t	 i, j;
	int	 r = 0;

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
	return r;
}

static int
vt_feed(struct vtfilter *vf, const u_char *in, size_t len, struct buf *out,
    int reference)
{
	static const u_char	 esc = VT_ESC;
	struct vtfilter		 save;
	size_t			 start;
	int			 r;

	if (vf == NULL || out == NULL || (in == NULL && len > 0))
		return TUNL_ERR_INVALID;
	memcpy(&save, vf, sizeof(save));
	start = buf_len(out);
	if (reference)
		r = vt_run_reference(vf, in, len, out);
	else
		r = vt_run_fast(vf, in, len, out);
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
 * Filter len bytes into out. Returns 0, TUNL_ERR_INVALID for bad
 * arguments, or TUNL_ERR_FULL (TUNL_ERR_ALLOC) when out could not take
 * everything: then nothing of this call was appended and the filter is as
 * it was, so the call may be repeated once there is room.
 * VTFILTER_OUT_MAX(len) bytes of room always suffice.
 *
 * On the key side a lone ESC at the end of a feed is passed at once rather
 * than held for the next key.
 */
int
vtfilter_feed(struct vtfilter *vf, const u_char *in, size_t len,
    struct buf *out)
{
	return vt_feed(vf, in, len, out, 0);
}

/*
 * The same filter, run by the reference path only: a byte at a time, as
 * slow as it is plain. For tests and benchmarks, which compare the two.
 */
int
vtfilter_feed_reference(struct vtfilter *vf, const u_char *in, size_t len,
    struct buf *out)
{
	return vt_feed(vf, in, len, out, 1);
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
