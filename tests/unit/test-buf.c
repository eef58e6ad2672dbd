/* test-buf.c: the bounded buffer API, good and hostile input. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"

static void
test_new_limits(void **state)
{
	(void)state;
	assert_null(buf_new(0));
	assert_null(buf_new(BUF_SIZE_MAX + 1));
	buf_free(NULL);
}

static void
test_put_get_ints(void **state)
{
	struct buf	*b = buf_new(64);
	u_int8_t	 v8;
	u_int16_t	 v16;
	u_int32_t	 v32;
	u_int64_t	 v64;

	(void)state;
	assert_non_null(b);
	assert_int_equal(buf_put_u8(b, 0xab), 0);
	assert_int_equal(buf_put_u16(b, 0x1234), 0);
	assert_int_equal(buf_put_u32(b, 0xdeadbeef), 0);
	assert_int_equal(buf_put_u64(b, 0x0102030405060708ULL), 0);
	assert_int_equal(buf_len(b), 15);
	assert_memory_equal(buf_ptr(b), "\xab\x12\x34\xde\xad\xbe\xef"
	    "\x01\x02\x03\x04\x05\x06\x07\x08", 15);
	assert_int_equal(buf_get_u8(b, &v8), 0);
	assert_int_equal(buf_get_u16(b, &v16), 0);
	assert_int_equal(buf_get_u32(b, &v32), 0);
	assert_int_equal(buf_get_u64(b, &v64), 0);
	assert_int_equal(v8, 0xab);
	assert_int_equal(v16, 0x1234);
	assert_int_equal(v32, 0xdeadbeef);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(buf_get_u8(b, &v8), TUNL_ERR_SHORT);
	buf_free(b);
}

static void
test_max_enforced(void **state)
{
	struct buf	*b = buf_new(8);
	u_char		*p;

	(void)state;
	assert_int_equal(buf_put(b, "12345678", 8), 0);
	assert_int_equal(buf_put_u8(b, 1), TUNL_ERR_LENGTH);
	assert_int_equal(buf_reserve(b, 1, &p), TUNL_ERR_LENGTH);
	assert_null(p);
	/* Consuming frees room again, and old bytes are compacted. */
	assert_int_equal(buf_consume(b, 4), 0);
	assert_int_equal(buf_avail(b), 4);
	assert_int_equal(buf_put(b, "abcd", 4), 0);
	assert_memory_equal(buf_ptr(b), "5678abcd", 8);
	assert_int_equal(buf_consume(b, 9), TUNL_ERR_SHORT);
	assert_int_equal(buf_len(b), 8);
	/* A string whose header alone does not fit is refused whole. */
	buf_reset(b);
	assert_int_equal(buf_put_string(b, "abcde", 5), TUNL_ERR_LENGTH);
	assert_int_equal(buf_len(b), 0);
	buf_free(b);
}

static void
test_strings(void **state)
{
	struct buf	*b = buf_new(128);
	u_char		*s;
	char		*cs;
	const u_char	*d;
	size_t		 len;

	(void)state;
	assert_int_equal(buf_put_cstring(b, "hello"), 0);
	assert_int_equal(buf_put_string(b, "a\0b", 3), 0);
	assert_int_equal(buf_put_string(b, "", 0), 0);
	assert_int_equal(buf_get_cstring(b, &cs, &len), 0);
	assert_string_equal(cs, "hello");
	assert_int_equal(len, 5);
	free(cs);
	/* An embedded NUL is refused and leaves the buffer untouched. */
	assert_int_equal(buf_get_cstring(b, &cs, &len), TUNL_ERR_NUL);
	assert_null(cs);
	assert_int_equal(buf_len(b), 4 + 3 + 4);
	assert_int_equal(buf_get_string(b, &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	free(s);
	assert_int_equal(buf_get_string_direct(b, &d, &len), 0);
	assert_int_equal(len, 0);
	buf_free(b);
}

static void
test_truncated_string(void **state)
{
	struct buf	*b = buf_new(64);
	u_char		*s;
	size_t		 len;

	(void)state;
	/* Length says 16, only 3 bytes follow. */
	assert_int_equal(buf_put(b, "\x00\x00\x00\x10" "abc", 7), 0);
	assert_int_equal(buf_get_string(b, &s, &len), TUNL_ERR_SHORT);
	assert_null(s);
	assert_int_equal(buf_len(b), 7);
	/* A length near 4 GiB must not wrap anything. */
	buf_reset(b);
	assert_int_equal(buf_put(b, "\xff\xff\xff\xff" "x", 5), 0);
	assert_int_equal(buf_get_string(b, &s, &len), TUNL_ERR_SHORT);
	/* Fewer than four bytes of header. */
	buf_reset(b);
	assert_int_equal(buf_put(b, "\x00\x00", 2), 0);
	assert_int_equal(buf_get_string(b, &s, &len), TUNL_ERR_SHORT);
	buf_free(b);
}

static void
test_putf(void **state)
{
	struct buf	*b = buf_new(16);
	char		*s;

	(void)state;
	assert_int_equal(buf_putf(b, "%s-%d", "abc", 42), 0);
	s = buf_dup_string(b);
	assert_string_equal(s, "abc-42");
	free(s);
	/* Too long: nothing is appended. */
	assert_int_equal(buf_putf(b, "%s", "0123456789abcdef"),
	    TUNL_ERR_LENGTH);
	assert_int_equal(buf_len(b), 6);
	buf_free(b);
}

static void
test_growth(void **state)
{
	struct buf	*b = buf_new(1001000);
	u_char		 chunk[1000];
	size_t		 i;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_put(b, chunk, sizeof(chunk)), 0);
	assert_int_equal(buf_len(b), 1000000);
	assert_int_equal(buf_put(b, chunk, sizeof(chunk)), 0);
	assert_int_equal(buf_put(b, chunk, sizeof(chunk)), TUNL_ERR_LENGTH);
	buf_free(b);
}

/* Zero bytes at p? */
static int
all_zero(const u_char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] != 0)
			return 0;
	}
	return 1;
}

/*
 * buf_reset wipes every byte that held data, including bytes dropped
 * from the end, bytes consumed from the front and bytes left behind when
 * the data was moved down; the allocation is kept, so the next reserve
 * hands the same memory back and it must read as zeros.
 */
static void
test_reset_wipes(void **state)
{
	struct buf	*b = buf_new(4096);
	u_char		 chunk[1000], *p;

	(void)state;
	memset(chunk, 's', sizeof(chunk));

	/* Put, then drop from the end: the dropped bytes are wiped too. */
	assert_int_equal(buf_put(b, chunk, 600), 0);
	assert_int_equal(buf_consume_end(b, 500), 0);
	buf_reset(b);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(buf_reserve(b, 600, &p), 0);
	assert_true(all_zero(p, 600));
	buf_reset(b);

	/* Consumed to empty (offsets back to 0, nothing wiped yet). */
	assert_int_equal(buf_put(b, chunk, 700), 0);
	assert_int_equal(buf_consume(b, 700), 0);
	assert_int_equal(buf_reserve(b, 10, &p), 0);
	buf_reset(b);
	assert_int_equal(buf_reserve(b, 700, &p), 0);
	assert_true(all_zero(p, 700));
	buf_reset(b);

	/* Moved down to make room: the old place is wiped at once. */
	assert_int_equal(buf_put(b, chunk, 1000), 0);	/* 1024 allocated */
	assert_int_equal(buf_consume(b, 900), 0);
	assert_int_equal(buf_put(b, chunk, 100), 0);	/* moved down */
	assert_int_equal(buf_len(b), 200);
	assert_memory_equal(buf_ptr(b), chunk, 200);
	buf_reset(b);
	assert_int_equal(buf_reserve(b, 1000, &p), 0);
	assert_true(all_zero(p, 1000));
	buf_reset(b);

	/* Grown by copy: the new memory holds no stale byte after a reset. */
	assert_int_equal(buf_put(b, chunk, 200), 0);
	assert_int_equal(buf_put(b, chunk, 1000), 0);
	assert_int_equal(buf_put(b, chunk, 1000), 0);
	buf_reset(b);
	assert_int_equal(buf_reserve(b, 2200, &p), 0);
	assert_true(all_zero(p, 2200));
	buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_limits),
		cmocka_unit_test(test_put_get_ints),
		cmocka_unit_test(test_max_enforced),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_truncated_string),
		cmocka_unit_test(test_putf),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_reset_wipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
