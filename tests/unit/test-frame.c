/* test-frame.c: framing, split reads, oversize and truncated frames. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"
#include "frame.h"

static void
test_roundtrip(void **state)
{
	struct frame_reader	 fr;
	struct frame		 f;
	struct buf		*out = buf_new(1024);

	(void)state;
	assert_int_equal(frame_reader_init(&fr), 0);
	assert_int_equal(frame_put(out, FRAME_OUTPUT, "hello", 5), 0);
	assert_int_equal(frame_put(out, FRAME_PING, NULL, 0), 0);
	assert_int_equal(buf_len(out), 5 + 5 + 5);
	assert_memory_equal(buf_ptr(out), "\x00\x00\x00\x06\x10hello", 10);
	assert_int_equal(frame_reader_feed(&fr, buf_ptr(out), buf_len(out)), 0);
	assert_int_equal(frame_reader_next(&fr, &f), 0);
	assert_int_equal(f.type, FRAME_OUTPUT);
	assert_int_equal(buf_len(f.payload), 5);
	assert_memory_equal(buf_ptr(f.payload), "hello", 5);
	assert_int_equal(frame_reader_next(&fr, &f), 0);
	assert_int_equal(f.type, FRAME_PING);
	assert_int_equal(buf_len(f.payload), 0);
	assert_int_equal(frame_reader_next(&fr, &f), TUNL_ERR_SHORT);
	frame_reader_free(&fr);
	buf_free(out);
}

/* Bytes arriving one at a time still make the same frames. */
static void
test_split(void **state)
{
	struct frame_reader	 fr;
	struct frame		 f;
	struct buf		*out = buf_new(1024);
	size_t			 i, got = 0;

	(void)state;
	assert_int_equal(frame_reader_init(&fr), 0);
	assert_int_equal(frame_put(out, FRAME_CHAT, "abc", 3), 0);
	assert_int_equal(frame_put(out, FRAME_STATUS, "xyz", 3), 0);
	for (i = 0; i < buf_len(out); i++) {
		assert_int_equal(frame_reader_feed(&fr, buf_ptr(out) + i, 1), 0);
		while (frame_reader_next(&fr, &f) == 0)
			got++;
	}
	assert_int_equal(got, 2);
	frame_reader_free(&fr);
	buf_free(out);
}

/* An oversized frame is skipped; the frame after it still arrives. */
static void
test_oversize_skipped(void **state)
{
	struct frame_reader	 fr;
	struct frame		 f;
	u_char			 hdr[5] = { 0x00, 0x10, 0x00, 0x00, 0x10 };
	u_char			*junk;
	size_t			 junklen = 0x100000 - 1, off, n;
	int			 r, saw_length = 0, saw_ping = 0;

	(void)state;
	assert_int_equal(frame_reader_init(&fr), 0);
	junk = calloc(1, junklen);
	assert_non_null(junk);
	assert_int_equal(frame_reader_feed(&fr, hdr, sizeof(hdr)), 0);
	for (off = 0; off < junklen; off += n) {
		n = junklen - off < 65536 ? junklen - off : 65536;
		assert_int_equal(frame_reader_feed(&fr, junk + off, n), 0);
		while ((r = frame_reader_next(&fr, &f)) != TUNL_ERR_SHORT) {
			if (r == TUNL_ERR_LENGTH)
				saw_length++;
		}
	}
	assert_int_equal(frame_reader_feed(&fr,
	    "\x00\x00\x00\x05\x04" "abcd", 9), 0);
	while ((r = frame_reader_next(&fr, &f)) != TUNL_ERR_SHORT) {
		if (r == TUNL_ERR_LENGTH)
			saw_length++;
		else if (r == 0 && f.type == FRAME_PING)
			saw_ping++;
	}
	assert_int_equal(saw_length, 1);
	assert_int_equal(saw_ping, 1);
	assert_int_equal(fr.skipped, 1);
	free(junk);
	frame_reader_free(&fr);
}

static void
test_zero_length(void **state)
{
	struct frame_reader	 fr;
	struct frame		 f;
	char			 why[96];

	(void)state;
	assert_int_equal(frame_reader_init(&fr), 0);
	assert_int_equal(frame_reader_feed(&fr,
	    "\x00\x00\x00\x00" "\x00\x00\x00\x01\x03", 9), 0);
	assert_int_equal(frame_reader_next(&fr, &f), TUNL_ERR_LENGTH);
	assert_int_equal(fr.bad_len, 0);
	assert_string_equal(frame_reader_why(&fr, why, sizeof(why)),
	    "empty frame (length 0, no type byte) dropped");
	assert_int_equal(frame_reader_next(&fr, &f), 0);
	assert_int_equal(f.type, FRAME_ACK);
	/* An oversized one is named as such, with its length. */
	assert_int_equal(frame_reader_feed(&fr, "\x00\x04\x00\x01\x10", 5),
	    0);
	assert_int_equal(frame_reader_next(&fr, &f), TUNL_ERR_LENGTH);
	assert_int_equal(fr.bad_len, 0x40001);
	assert_string_equal(frame_reader_why(&fr, why, sizeof(why)),
	    "frame of 262145 bytes, over 262144, skipped");
	frame_reader_free(&fr);
}

static void
test_truncated(void **state)
{
	struct frame_reader	 fr;
	struct frame		 f;

	(void)state;
	assert_int_equal(frame_reader_init(&fr), 0);
	assert_int_equal(frame_reader_feed(&fr, "\x00\x00\x00\x09\x10" "ab",
	    7), 0);
	assert_int_equal(frame_reader_next(&fr, &f), TUNL_ERR_SHORT);
	assert_int_equal(frame_reader_next(&fr, &f), TUNL_ERR_SHORT);
	frame_reader_free(&fr);
}

static void
test_put_limits(void **state)
{
	struct buf	*out = buf_new(FRAME_HEADER_LEN + FRAME_MAX + 16);
	struct buf	*small = buf_new(8);
	u_char		*big;

	(void)state;
	big = calloc(1, FRAME_MAX);
	assert_non_null(big);
	assert_int_equal(frame_put(out, FRAME_OUTPUT, big, FRAME_MAX),
	    TUNL_ERR_LENGTH);
	assert_int_equal(frame_put(out, FRAME_OUTPUT, big, FRAME_PAYLOAD_MAX),
	    0);
	/* Not enough room: nothing is written, not even a header. */
	assert_int_equal(frame_put(small, FRAME_OUTPUT, "abcd", 4),
	    TUNL_ERR_FULL);
	assert_int_equal(buf_len(small), 0);
	free(big);
	buf_free(out);
	buf_free(small);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(frame_type_name(FRAME_KEYS), "keys");
	assert_string_equal(frame_type_name(0xee), "unknown");
	assert_true(frame_type_known(FRAME_HELLO));
	assert_false(frame_type_known(0x00));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_oversize_skipped),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_put_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
