/*
 * admin-run.c: run one of the system's tools (groupadd, useradd, sshd -t)
 * with no shell: a fixed path and an argument vector, stdin from
 * /dev/null, its output (stdout and stderr) kept up to a bound for the
 * message that names what went wrong.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

extern char **environ;

/*
 * Run path with argv. Returns 0 when it exited 0, TUNL_ERR_DENIED (with
 * its output in out) when it ran and failed, TUNL_ERR_SYSTEM when it could
 * not be run.
 */
int
admin_run(const char *path, const char *const *argv, char *out,
    size_t outlen)
{
	posix_spawn_file_actions_t fa;
	pid_t		 pid;
	size_t		 n = 0;
	ssize_t		 got;
	char		 junk[512];
	int		 p[2] = { -1, -1 }, status, r = TUNL_ERR_SYSTEM;

	if (outlen > 0)
		out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1)
		return TUNL_ERR_SYSTEM;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0);
	(void)posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	(void)posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	p[1] = -1;
	if (r != 0) {
		snprintf(out, outlen, "%s: %s", path, strerror(r));
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	for (;;) {
		if (n + 1 < outlen)
			got = read(p[0], out + n, outlen - n - 1);
		else
			got = read(p[0], junk, sizeof(junk));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (n + 1 < outlen)
			n += (size_t)got;
	}
	if (outlen > 0) {
		out[n] = '\0';
		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = '\0';
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
	}
	r = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 :
	    TUNL_ERR_DENIED;
 out:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return r;
}
