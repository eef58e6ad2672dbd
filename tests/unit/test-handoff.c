/* test-handoff.c: the PAM-to-ForceCommand hand-off file. */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunl.h"

#define CONN	"192.0.2.7 50123 127.0.0.1 22"
#define NOW	1700000000
#define ID_A	"encode-knot-dew-process"

static void
sample(struct handoff *h)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(id_generate(h->session, sizeof(h->session)), 0);
	strcpy(h->rhost, "192.0.2.7");
	strcpy(h->connection, CONN);
	strcpy(h->method, "token");
	h->time = NOW;
}

static void
test_connection_grammar(void **state)
{
	(void)state;
	assert_int_equal(handoff_check_connection(CONN), 0);
	assert_int_equal(handoff_check_connection(
	    "2001:db8::1 1 ::1 65535"), 0);
	assert_int_not_equal(handoff_check_connection(NULL), 0);
	assert_int_not_equal(handoff_check_connection(""), 0);
	assert_int_not_equal(handoff_check_connection(
	    "192.0.2.7 50123 127.0.0.1"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "192.0.2.7 50123 127.0.0.1 22 x"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "192.0.2.7  50123 127.0.0.1 22"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "192.0.2.7 65536 127.0.0.1 22"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "host.example 1 127.0.0.1 22"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "192.0.2.7 1 127.0.0.1 22\n"), 0);
	assert_int_not_equal(handoff_check_connection(
	    "../../x 1 127.0.0.1 22"), 0);
}

static void
test_path(void **state)
{
	char	 a[256], b[256], c[256];

	(void)state;
	assert_int_equal(handoff_path("/run/tunl/auth", CONN, a, sizeof(a)),
	    0);
	assert_int_equal(handoff_path("/run/tunl/auth", CONN, b, sizeof(b)),
	    0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), strlen("/run/tunl/auth/") +
	    HANDOFF_NAME_LEN);
	assert_int_equal(handoff_path("/run/tunl/auth",
	    "192.0.2.7 50124 127.0.0.1 22", c, sizeof(c)), 0);
	assert_string_not_equal(a, c);
	assert_int_equal(handoff_path("/run/tunl/auth", CONN, a, 20),
	    TUNL_ERR_LENGTH);
	assert_int_equal(handoff_path("/run/tunl/auth", "bad", a, sizeof(a)),
	    TUNL_ERR_INVALID);
}

static void
test_format_parse(void **state)
{
	struct handoff	 h, g;
	struct buf	*b = buf_new(HANDOFF_FILE_MAX);

	(void)state;
	sample(&h);
	assert_int_equal(handoff_format(&h, b), 0);
	assert_int_equal(handoff_parse((const char *)buf_ptr(b), buf_len(b),
	    &g), 0);
	assert_memory_equal(&h, &g, sizeof(h));
	/* Trailing bytes, a missing newline, a bad field: refused. */
	assert_int_equal(handoff_parse((const char *)buf_ptr(b),
	    buf_len(b) - 1, &g), TUNL_ERR_INVALID);
	assert_int_equal(buf_put(b, "x", 1), 0);
	assert_int_equal(handoff_parse((const char *)buf_ptr(b), buf_len(b),
	    &g), TUNL_ERR_INVALID);
	strcpy(h.method, "pw");
	buf_reset(b);
	assert_int_equal(handoff_format(&h, b), TUNL_ERR_INVALID);
	buf_free(b);
	assert_int_equal(handoff_parse("version=2\n", 10, &g),
	    TUNL_ERR_VERSION);
	/* A number with a leading zero is not the form we write: refused. */
	assert_int_equal(handoff_parse("version=01\n", 11, &g),
	    TUNL_ERR_INVALID);
	assert_int_equal(handoff_parse("version=1\nsession=no-such-id-here-"
	    "x\nrhost=1.2.3.4\nconnection=" CONN "\nmethod=id\ntime=1\n",
	    92, &g), TUNL_ERR_INVALID);
}

static void
test_write_read(void **state)
{
	char		 dir[] = "/tmp/tunl-handoff-XXXXXX", path[256];
	struct handoff	 h, g;
	struct stat	 st;
	struct timespec	 times[2];
	u_int		 removed;
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	sample(&h);
	assert_int_equal(handoff_write(dir, &h, 4242, NOW, 600), 0);
	assert_int_equal(handoff_path(dir, CONN, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(handoff_read(dir, CONN, 4242, NOW + 5, 600, &g), 0);
	assert_string_equal(g.session, h.session);

	/* A fresh hand-off is never replaced; a stale one is. */
	assert_int_equal(handoff_write(dir, &h, 4242, NOW + 5, 600),
	    TUNL_ERR_EXISTS);
	/* Wrong group, expired, another connection: refused. */
	assert_int_equal(handoff_read(dir, CONN, 4243, NOW, 600, &g),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(handoff_read(dir, CONN, 4242, NOW + 601, 600, &g),
	    TUNL_ERR_EXPIRED);
	assert_int_equal(handoff_read(dir, "192.0.2.8 50123 127.0.0.1 22",
	    4242, NOW, 600, &g), TUNL_ERR_NOT_FOUND);
	/* Mode other than 0640: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(handoff_read(dir, CONN, 4242, NOW, 600, &g),
	    TUNL_ERR_UNSAFE);
	/* Owned by someone else (a forged file): refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(chown(path, 1, 4242), 0);
	assert_int_equal(handoff_read(dir, CONN, 4242, NOW, 600, &g),
	    TUNL_ERR_UNSAFE);
	/* A symlink in its place: refused, never followed. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_not_equal(handoff_read(dir, CONN, 0, NOW, 600, &g), 0);
	assert_int_equal(unlink(path), 0);

	/*
	 * Stale files are cleaned, fresh ones kept. The file's mtime is set
	 * to a known second: a kernel with fine-grained timestamps can stamp
	 * a new file a second ahead of time(), which reads the coarse clock,
	 * so "now" taken from time() could make a just-written file look
	 * written in the future.
	 */
	assert_int_equal(handoff_write(dir, &h, 4242, NOW, 600), 0);
	assert_int_equal(handoff_path(dir, CONN, path, sizeof(path)), 0);
	times[0].tv_sec = times[1].tv_sec = (time_t)NOW;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW),
	    0);
	assert_int_equal(handoff_clean(dir, NOW + 600, 600, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(handoff_clean(dir, NOW + 601, 600, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(handoff_remove(dir, CONN), TUNL_ERR_NOT_FOUND);

	/* An unrelated file in the directory is left alone. */
	snprintf(path, sizeof(path), "%s/other", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_int_equal(handoff_clean(dir, (int64_t)time(NULL) + 9999, 1,
	    &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The login file: only the login's own key passes, and only the exact file. */
static void
test_login_file(void **state)
{
	char		 dir[] = "/tmp/tunl-login-XXXXXX", hpath[256];
	char		 lpath[256], hex[LOGIN_KEY_HEX + 1];
	char		 other[LOGIN_KEY_HEX + 1], upper[LOGIN_KEY_HEX + 1];
	u_char		 key[LOGIN_KEY_LEN], okey[LOGIN_KEY_LEN];
	u_char		 tok[TOKEN_HASH_LEN], got[TOKEN_HASH_LEN];
	struct stat	 st;
	size_t		 i;
	int		 has;

	(void)state;
	assert_int_equal(login_key_parse("00", key), TUNL_ERR_INVALID);
	assert_int_equal(login_key_parse(NULL, key), TUNL_ERR_INVALID);
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	login_key_new(key, hex);
	login_key_new(okey, other);
	assert_string_not_equal(hex, other);
	assert_int_equal(login_key_parse(hex, okey), 0);
	assert_memory_equal(okey, key, LOGIN_KEY_LEN);
	memset(tok, 0xab, sizeof(tok));
	assert_int_equal(login_file_write(dir, CONN, key, tok, 4242, NOW, 600),
	    0);
	assert_int_equal(handoff_path(dir, CONN, hpath, sizeof(hpath)), 0);
	snprintf(lpath, sizeof(lpath), "%.*s.login",
	    (int)(strlen(hpath) - strlen(".handoff")), hpath);
	assert_int_equal(stat(lpath, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(login_file_check(dir, CONN, 4242, hex, got, &has), 0);
	assert_int_equal(has, 1);
	assert_memory_equal(got, tok, sizeof(tok));
	/* Another key, a malformed one, uppercase hex, none: denied. */
	assert_int_equal(login_file_check(dir, CONN, 4242, other, got, &has),
	    TUNL_ERR_DENIED);
	assert_int_equal(has, 0);
	for (i = 0; i <= LOGIN_KEY_HEX; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ?
		    hex[i] - 'a' + 'A' : hex[i]);
	if (strcmp(upper, hex) != 0)
		assert_int_equal(login_file_check(dir, CONN, 4242, upper, got,
		    &has), TUNL_ERR_DENIED);
	assert_int_equal(login_file_check(dir, CONN, 4242, "", got, &has),
	    TUNL_ERR_DENIED);
	/* The same key from another connection: no file there. */
	assert_int_equal(login_file_check(dir, "192.0.2.8 50123 127.0.0.1 22",
	    4242, hex, got, &has), TUNL_ERR_NOT_FOUND);
	/* Wrong group, mode or owner: refused before it is read. */
	assert_int_equal(login_file_check(dir, CONN, 4243, hex, got, &has),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(lpath, 0644), 0);
	assert_int_equal(login_file_check(dir, CONN, 4242, hex, got, &has),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(lpath, 0640), 0);
	assert_int_equal(chown(lpath, 1, 4242), 0);
	assert_int_equal(login_file_check(dir, CONN, 4242, hex, got, &has),
	    TUNL_ERR_UNSAFE);
	/* A new login on the connection replaces it; no token: "-". */
	assert_int_equal(login_file_write(dir, CONN, key, NULL, 4242, NOW,
	    600), 0);
	assert_int_equal(login_file_check(dir, CONN, 4242, hex, got, &has),
	    0);
	assert_int_equal(has, 0);
	/*
	 * A login by certificate: its session and serial come back from
	 * login_file_verify; sign's login_file_check refuses it.
	 */
	{
		struct login_info	 li;

		assert_int_equal(login_file_write_cert(dir, CONN, key,
		    "not an id", 5, 4242), TUNL_ERR_INVALID);
		assert_int_equal(login_file_write_cert(dir, CONN, key,
		    ID_A, 1700000000, 4242), 0);
		assert_int_equal(login_file_verify(dir, CONN, 4242, hex, &li),
		    0);
		assert_int_equal(li.is_cert, 1);
		assert_int_equal(li.has_token, 0);
		assert_string_equal(li.session, ID_A);
		assert_true(li.serial == 1700000000);
		assert_int_equal(login_file_verify(dir, CONN, 4242, other,
		    &li), TUNL_ERR_DENIED);
		assert_int_equal(li.is_cert, 0);
		assert_int_equal(login_file_check(dir, CONN, 4242, hex, got,
		    &has), TUNL_ERR_DENIED);
		assert_int_equal(has, 0);
	}
	/*
	 * An engineer's login: the name comes back; it neither signs nor
	 * passes for a customer's login; a name outside the grammar is
	 * never written.
	 */
	{
		struct login_info	 li;

		assert_int_equal(login_file_write_engineer(dir, CONN, key,
		    "Mallory!", 4242), TUNL_ERR_INVALID);
		assert_int_equal(login_file_write_engineer(dir, CONN, key,
		    "alice", 4242), 0);
		assert_int_equal(login_file_verify(dir, CONN, 4242, hex, &li),
		    0);
		assert_int_equal(li.is_engineer, 1);
		assert_int_equal(li.is_cert, 0);
		assert_int_equal(li.has_token, 0);
		assert_string_equal(li.engineer, "alice");
		assert_int_equal(login_file_verify(dir, CONN, 4242, other,
		    &li), TUNL_ERR_DENIED);
		assert_int_equal(li.is_engineer, 0);
		assert_int_equal(login_file_check(dir, CONN, 4242, hex, got,
		    &has), TUNL_ERR_DENIED);
	}
	/* A stale one goes with the stale hand-offs. */
	{
		struct timespec	 t[2];
		u_int		 removed;

		t[0].tv_sec = t[1].tv_sec = (time_t)NOW;
		t[0].tv_nsec = t[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, lpath, t,
		    AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(handoff_clean(dir, NOW + 600, 600, &removed),
		    0);
		assert_int_equal(removed, 0);
		assert_int_equal(handoff_clean(dir, NOW + 601, 600, &removed),
		    0);
		assert_int_equal(removed, 1);
	}
	assert_int_equal(login_file_remove(dir, CONN), TUNL_ERR_NOT_FOUND);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_grammar),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_login_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
