/*
 * fuzz-ctlmode.c: libFuzzer target for tunl-share's control-mode decoder.
 * The input is fed in pieces whose size comes from its first byte, so
 * lines split anywhere, over-long lines and bad escapes are all exercised.
 * Whatever decodes as %output must encode back (tmux's way) to the line.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "share.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_roundtrip(const struct ctlmode_msg *m, const uint8_t *line, size_t len)
{
	char	 head[32];
	size_t	 i, o, hl;
	char	 esc[5];

	hl = (size_t)snprintf(head, sizeof(head), "%%output %%%u ", m->pane);
	if (len < hl || memcmp(line, head, hl) != 0)
		__builtin_trap();
	o = hl;
	for (i = 0; i < m->len; i++) {
		if (m->data[i] < 0x20 || m->data[i] == '\\') {
			(void)snprintf(esc, sizeof(esc), "\\%03o", m->data[i]);
			if (o + 4 > len || memcmp(line + o, esc, 4) != 0)
				__builtin_trap();
			o += 4;
		} else {
			if (o >= len || line[o] != m->data[i])
				__builtin_trap();
			o++;
		}
	}
	if (o != len)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ctlmode		 c;
	struct ctlmode_msg	 m;
	struct buf		*d;
	size_t			 step, n, used;

	if (len < 1)
		return 0;
	/* One whole line through the line parser. */
	if ((d = buf_new(CTLMODE_LINE_MAX)) != NULL) {
		if (ctlmode_parse_line(data + 1, len - 1, d, &m) == 0 &&
		    m.kind == CTLMODE_OUTPUT)
			check_roundtrip(&m, data + 1, len - 1);
		buf_free(d);
	}
	if (ctlmode_init(&c) != 0)
		return 0;
	step = (size_t)data[0] * 13 + 1;
	data++;
	len--;
	while (len > 0) {
		n = len < step ? len : step;
		while (n > 0) {
			if (ctlmode_feed(&c, data, n, &used, &m) < 0 ||
			    used == 0 || used > n)
				__builtin_trap();
			if (m.kind == CTLMODE_OUTPUT && m.len > CTLMODE_LINE_MAX)
				__builtin_trap();
			data += used;
			len -= used;
			n -= used;
		}
	}
	ctlmode_free(&c);
	return 0;
}
