/*
 * test-json-string.c: the one JSON string escaper (lib/json-string.c)
 * against known answers: quotes, backslashes, every control, UTF-8 kept
 * as its code points, bytes that are not UTF-8, bounds, and the stdio
 * form that tunl-authority and tunl-shell print with.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"

/* s escaped as a JSON string, into a fresh C string. */
static char *
escape(const char *s, size_t len)
{
	struct buf	*b;
	char		*out;

	assert_non_null(b = buf_new(4096));
	assert_int_equal(json_string_put(b, s, len), 0);
	assert_non_null(out = buf_dup_string(b));
	buf_free(b);
	return out;
}

#define ESC(lit, want) do {						\
	char	*got_ = escape(lit, sizeof(lit) - 1);			\
	assert_string_equal(got_, want);				\
	free(got_);							\
} while (0)

static void
test_escape(void **state)
{
	(void)state;
	ESC("", "\"\"");
	ESC("plain text 123", "\"plain text 123\"");
	ESC("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
	/* Every control and DEL as \u00XX, never the short forms. */
	ESC("\x01\t\n\r\x1b\x1f\x7f", "\"\\u0001\\u0009\\u000a\\u000d"
	    "\\u001b\\u001f\\u007f\"");
	/* An embedded NUL is data like any other byte. */
	ESC("a\0b", "\"a\\u0000b\"");
	/* Non-ASCII as \u escapes; past the BMP as a surrogate pair. */
	ESC("caf\xc3\xa9", "\"caf\\u00e9\"");
	ESC("\xe2\x82\xac", "\"\\u20ac\"");
	ESC("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
	ESC("\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\"");
	/* C1 controls and bidi overrides are code points: escaped. */
	ESC("\xc2\x85\xe2\x80\xae", "\"\\u0085\\u202e\"");
	/* Invalid UTF-8, a byte at a time, becomes U+FFFD. */
	ESC("\xff", "\"\\ufffd\"");
	ESC("\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	ESC("\xe2\x82", "\"\\ufffd\\ufffd\"");		/* cut short */
	ESC("\xc3" "A", "\"\\ufffdA\"");
	/* Refused arguments. */
	assert_int_equal(json_string_put(NULL, "a", 1), TUNL_ERR_INVALID);
}

/* Output is printable ASCII whatever the input, and never overruns. */
static void
test_escape_all_bytes(void **state)
{
	struct buf	*b;
	char		 in[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)i;
	assert_non_null(b = buf_new(256 * 6 + 2));
	assert_int_equal(json_string_put(b, in, sizeof(in)), 0);
	for (i = 0; i < buf_len(b); i++) {
		assert_true(buf_ptr(b)[i] >= 0x20);
		assert_true(buf_ptr(b)[i] < 0x7f);
	}
	/* One byte short of the worst case: an error, not an overrun. */
	buf_free(b);
	assert_non_null(b = buf_new(10));
	assert_int_equal(json_string_put(b, "\x01\x01", 2),
	    TUNL_ERR_LENGTH);
	assert_true(buf_len(b) <= 10);
	buf_free(b);
}

/* s as json_string_print() writes it, into a fresh C string. */
static char *
printed(const char *s)
{
	FILE	*fp;
	char	*out;
	long	 n;

	assert_non_null(fp = tmpfile());
	assert_int_equal(json_string_print(fp, s), 0);
	assert_int_equal(fflush(fp), 0);
	assert_true((n = ftell(fp)) >= 0);
	rewind(fp);
	assert_non_null(out = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(out, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return out;
}

#define PRINTED(lit, want) do {						\
	char	*got_ = printed(lit);					\
	assert_string_equal(got_, want);				\
	free(got_);							\
} while (0)

/* The stdio form is the same escaper, up to the string's NUL. */
static void
test_print(void **state)
{
	char	 all[256], *a, *b;
	size_t	 i;

	(void)state;
	PRINTED("", "\"\"");
	PRINTED("id \"x\" \\ y", "\"id \\\"x\\\" \\\\ y\"");
	PRINTED("a\tb\x1b[2J\x7f", "\"a\\u0009b\\u001b[2J\\u007f\"");
	PRINTED("caf\xc3\xa9 \xe2\x82\xac", "\"caf\\u00e9 \\u20ac\"");
	PRINTED("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
	PRINTED("\xff\xc3", "\"\\ufffd\\ufffd\"");
	/* Every byte but NUL: what json_string_put() gives. */
	for (i = 1; i < sizeof(all); i++)
		all[i - 1] = (char)i;
	all[sizeof(all) - 1] = '\0';
	a = printed(all);
	b = escape(all, sizeof(all) - 1);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_all_bytes),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
