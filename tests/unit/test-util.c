/* test-util.c: number parsing, escaping, safe paths and safe opens. */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunl.h"

static void
test_strtonum(void **state)
{
	long long	 v;

	(void)state;
	assert_int_equal(tunl_strtonum("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(tunl_strtonum("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(tunl_strtonum("101", 0, 100, &v), TUNL_ERR_RANGE);
	assert_int_equal(tunl_strtonum("-1", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum("+1", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum(" 1", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum("1 ", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum("0x10", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum("", 0, 100, &v), TUNL_ERR_INVALID);
	assert_int_equal(tunl_strtonum("99999999999999999999", 0,
	    100, &v), TUNL_ERR_RANGE);
}

static void
test_escape(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(log_escape(out, sizeof(out), "ok", 2), 2);
	assert_string_equal(out, "ok");
	log_escape(out, sizeof(out), "a\nb\x1b[31m\\", 9);
	assert_string_equal(out, "a\\x0ab\\x1b[31m\\\\");
	/* Truncation never splits an escape. */
	log_escape(out, 6, "ab\x01", 3);
	assert_string_equal(out, "ab");
	log_escape(out, sizeof(out), "\xc3\xa9", 2);
	assert_string_equal(out, "\\xc3\\xa9");
}

static void
test_streq_ct(void **state)
{
	(void)state;
	assert_true(tunl_streq_ct("abcd", "abcd", 4));
	assert_false(tunl_streq_ct("abcd", "abce", 4));
}

static void
test_open_safely(void **state)
{
	char	 dir[] = "/tmp/tunl-util-XXXXXX", path[128], link[128];
	int	 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(tunl_open_safely(path, O_WRONLY | O_CREAT, 0600,
	    geteuid(), &fd), 0);
	assert_true(fd >= 0);
	close(fd);
	/* O_CREAT means O_EXCL: an existing file is not reused. */
	assert_int_equal(tunl_open_safely(path, O_WRONLY | O_CREAT, 0600,
	    geteuid(), &fd), TUNL_ERR_SYSTEM);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tunl_open_safely(link, O_RDONLY, 0, geteuid(), &fd),
	    TUNL_ERR_SYSTEM);
	assert_int_equal(fd, -1);
	/* Group-writable or owned by someone else: unsafe. */
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(tunl_open_safely(path, O_RDONLY, 0, geteuid(), &fd),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(tunl_open_safely(path, O_RDONLY, 0, geteuid() + 1,
	    &fd), TUNL_ERR_UNSAFE);
	/* A directory is not a regular file. */
	assert_int_equal(tunl_open_safely(dir, O_RDONLY, 0, geteuid(), &fd),
	    TUNL_ERR_UNSAFE);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void
test_safe_path(void **state)
{
	char	 dir[] = "/var/tmp/tunl-safe-XXXXXX", sub[128], err[256];

	(void)state;
	assert_int_equal(tunl_safe_path("relative", 0, err, sizeof(err)),
	    TUNL_ERR_INVALID);
	/* /tmp is world-writable: never a safe parent. */
	assert_int_equal(tunl_safe_path("/tmp", geteuid(), err, sizeof(err)),
	    TUNL_ERR_UNSAFE);
	assert_string_equal(err, "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	if (tunl_safe_path(dir, geteuid(), err, sizeof(err)) == 0) {
		/* Only meaningful where /var/tmp's parents are safe. */
		assert_int_equal(tunl_safe_path(sub, geteuid(), err,
		    sizeof(err)), 0);
		assert_int_equal(chmod(dir, 0775), 0);
		assert_int_equal(tunl_safe_path(sub, geteuid(), err,
		    sizeof(err)), TUNL_ERR_UNSAFE);
		assert_string_equal(err, dir);
	}
	assert_int_equal(tunl_safe_path("/nonexistent/x", geteuid(), err,
	    sizeof(err)), TUNL_ERR_SYSTEM);
	rmdir(sub);
	rmdir(dir);
}

static void
test_host_ok(void **state)
{
	char	 longname[300];

	(void)state;
	assert_true(tunl_host_ok("web-1.example.com"));
	assert_true(tunl_host_ok("7of9"));
	assert_false(tunl_host_ok(NULL));
	assert_false(tunl_host_ok(""));
	assert_false(tunl_host_ok("-lead"));
	assert_false(tunl_host_ok(".lead"));
	assert_false(tunl_host_ok("under_score"));
	assert_false(tunl_host_ok("sp ace"));
	assert_false(tunl_host_ok("semi;colon"));
	assert_false(tunl_host_ok("caf\xc3\xa9"));
	memset(longname, 'a', sizeof(longname));
	longname[253] = '\0';
	assert_true(tunl_host_ok(longname));
	longname[253] = 'a';
	longname[254] = '\0';
	assert_false(tunl_host_ok(longname));
}

static void
test_err_names(void **state)
{
	int	 r;

	(void)state;
	for (r = 0; r >= TUNL_ERR_MAX; r--)
		assert_string_not_equal(tunl_err(r), "unknown error");
	assert_string_equal(tunl_err(TUNL_ERR_MAX - 1), "unknown error");
	assert_string_equal(tunl_err(1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strtonum),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_streq_ct),
		cmocka_unit_test(test_open_safely),
		cmocka_unit_test(test_safe_path),
		cmocka_unit_test(test_host_ok),
		cmocka_unit_test(test_err_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
