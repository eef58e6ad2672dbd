/*
 * fuzz-frame.c: libFuzzer target for the frame reader. The input is fed in
 * pieces of varying size (taken from its first byte) so that frames split
 * across reads, oversized lengths and skips are all exercised.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "tunl.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct frame_reader	 fr;
	struct frame		 f;
	struct buf		*out;
	size_t			 step, n;
	int			 r;

	if (len < 1 || frame_reader_init(&fr) != 0)
		return 0;
	step = (size_t)data[0] * 37 + 1;
	data++;
	len--;
	out = buf_new(FRAME_HEADER_LEN + FRAME_MAX);
	while (len > 0) {
		n = len < step ? len : step;
		if (frame_reader_feed(&fr, data, n) != 0)
			break;
		data += n;
		len -= n;
		while ((r = frame_reader_next(&fr, &f)) != TUNL_ERR_SHORT) {
			if (r != 0)
				continue;
			(void)frame_type_name(f.type);
			/* What was decoded must encode again. */
			if (out != NULL) {
				buf_reset(out);
				if (frame_put_buf(out, f.type, f.payload) != 0)
					__builtin_trap();
			}
		}
	}
	buf_free(out);
	frame_reader_free(&fr);
	return 0;
}
