/*
 * test-broker-confine: the broker's lock file and its Landlock domain
 * (broker/broker-confine.c), on real files in a private directory.
 *
 * The Landlock test runs in a child (a domain cannot be left) and checks
 * both sides: what the broker needs still works (files in the database's
 * directory, removing in the sockets' directory) and everything else is
 * refused by the kernel, even a recording it could read before and a
 * file root could read. Skipped where the kernel has no Landlock.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

#include "broker.h"

static char	 top[PATH_MAX];

static void
path(char *out, size_t len, const char *name)
{
	assert_true((size_t)snprintf(out, len, "%s/%s", top, name) < len);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "%s/test-broker-confine.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(top) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_lock(void **state)
{
	char		 lock[PATH_MAX], other[PATH_MAX], err[PATH_MAX + 128];
	struct stat	 st;
	int		 fd, fd2;

	(void)state;
	path(lock, sizeof(lock), "s.lock");
	path(other, sizeof(other), "elsewhere");

	/* Made with O_EXCL, 0600; taken again by the next broker. */
	assert_int_equal(confine_lock_open(lock, geteuid(), &fd, err,
	    sizeof(err)), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	assert_int_equal(chmod(lock, 0666), 0);
	assert_int_equal(confine_lock_open(lock, geteuid(), &fd, err,
	    sizeof(err)), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);

	/* Someone else's file. */
	assert_int_equal(confine_lock_open(lock, geteuid() + 1, &fd, err,
	    sizeof(err)), -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "not a regular file of the broker"));

	/* A second link to it (planted elsewhere, linked in). */
	assert_int_equal(link(lock, other), 0);
	assert_int_equal(confine_lock_open(lock, geteuid(), &fd, err,
	    sizeof(err)), -1);
	assert_int_equal(unlink(other), 0);

	/* A symbolic link is never followed, nor its target made. */
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(symlink(other, lock), 0);
	assert_int_equal(confine_lock_open(lock, geteuid(), &fd2, err,
	    sizeof(err)), -1);
	assert_int_equal(access(other, F_OK), -1);
	assert_int_equal(unlink(lock), 0);
}

#if defined(HAVE_LINUX_LANDLOCK_H) && defined(SYS_landlock_create_ruleset)
/* In the child: 0 if every expectation holds, else the failed step. */
static int
landlock_child(struct broker *b)
{
	struct sockaddr_un	 sun;
	char			 p[PATH_MAX];
	int			 fd;

	if (confine_landlock(b) != 0 || b->landlock_abi < 1)
		return 1;
	/* The database's directory: make, read, write, remove files. */
	path(p, sizeof(p), "db/tunl.db-wal");
	if ((fd = open(p, O_RDWR | O_CREAT, 0640)) == -1)
		return 2;
	if (write(fd, "x", 1) != 1 || ftruncate(fd, 0) != 0)
		return 3;
	close(fd);
	path(p, sizeof(p), "db/tunl.db");
	if ((fd = open(p, O_RDONLY)) == -1)
		return 4;
	close(fd);
	path(p, sizeof(p), "db/tunl.db-wal");
	if (unlink(p) != 0)
		return 5;
	/*
	 * Its own socket goes at exit, and its spool of registry writes is a
	 * regular file there; no socket is made there (another session's
	 * listener planted).
	 */
	path(p, sizeof(p), "run/sessions/s.sock");
	if (unlink(p) != 0)
		return 6;
	path(p, sizeof(p), "run/sessions/s.spool");
	if ((fd = open(p, O_RDWR | O_CREAT, 0600)) == -1)
		return 7;
	close(fd);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	path(sun.sun_path, sizeof(sun.sun_path), "run/sessions/planted.sock");
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 7;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != -1 ||
	    errno != EACCES) {
		close(fd);
		return 7;
	}
	close(fd);
	/* Another session's recording: not readable, not writable. */
	path(p, sizeof(p), "rec/other.cast");
	if (open(p, O_RDONLY) != -1 || errno != EACCES)
		return 8;
	if (open(p, O_WRONLY | O_APPEND) != -1 || errno != EACCES)
		return 9;
	if (unlink(p) != -1 || errno != EACCES)
		return 10;
	/* Nothing else on the machine. */
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		return 11;
	path(p, sizeof(p), "elsewhere");
	if (open(p, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return 12;
	return 0;
}

static void
test_landlock(void **state)
{
	static struct broker	 b;
	char			 p[PATH_MAX];
	int			 fd, status;
	long			 abi;
	pid_t			 pid;

	(void)state;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1 || BROKER_SANITIZED) {
		skip();
		return;
	}
	memset(&b, 0, sizeof(b));
	path(b.cfg.database, sizeof(b.cfg.database), "db/tunl.db");
	path(b.cfg.runtime_dir, sizeof(b.cfg.runtime_dir), "run");
	path(b.cfg.recording_dir, sizeof(b.cfg.recording_dir), "rec");
	path(p, sizeof(p), "db");
	assert_int_equal(mkdir(p, 0700), 0);
	path(p, sizeof(p), "run");
	assert_int_equal(mkdir(p, 0700), 0);
	path(p, sizeof(p), "run/sessions");
	assert_int_equal(mkdir(p, 0700), 0);
	path(p, sizeof(p), "rec");
	assert_int_equal(mkdir(p, 0700), 0);
	path(p, sizeof(p), "db/tunl.db");
	assert_int_not_equal(fd = open(p, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	path(p, sizeof(p), "run/sessions/s.sock");
	assert_int_not_equal(fd = open(p, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	path(p, sizeof(p), "rec/other.cast");
	assert_int_not_equal(fd = open(p, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	/* Readable before. */
	assert_int_not_equal(fd = open(p, O_RDONLY), -1);
	close(fd);

	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0)
		_exit(landlock_child(&b));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("landlock: step %d failed", WEXITSTATUS(status));
	/* The parent is untouched. */
	assert_int_not_equal(fd = open(p, O_RDONLY), -1);
	close(fd);
}
#else
static void
test_landlock(void **state)
{
	(void)state;
	skip();
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_landlock, setup,
		    teardown),
	};

	log_init("test-broker-confine", 0, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
