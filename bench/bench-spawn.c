/*
 * bench-spawn: whole-process time of a command, the way sshd pays for it:
 * posix_spawn, then waitpid, N times in a row, stdout and stderr to
 * /dev/null (or stdin from a file with -i). Prints the median and the
 * 90th percentile in microseconds:
 *
 *	bench-spawn [-n runs] [-i stdin-file] command [arg ...]
 *	=> median_us=812 p90_us=951 runs=200 failures=0
 *
 * A run that exits non-zero is timed all the same and counted in
 * failures, so a refusal costs what it costs.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"

#define RUNS_MAX	100000

extern char **environ;

static int
cmp_u64(const void *a, const void *b)
{
	u_int64_t	 x = *(const u_int64_t *)a, y = *(const u_int64_t *)b;

	return x < y ? -1 : x > y;
}

static u_int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u_int64_t)ts.tv_sec * 1000000000ULL + (u_int64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	const char	*input = "/dev/null";
	u_int64_t	*t, start;
	long long	 n = 200;
	int		 ch, i, status, failures = 0, r;
	pid_t		 pid;

	while ((ch = getopt(argc, argv, "+n:i:")) != -1) {
		switch (ch) {
		case 'n':
			if (tunl_strtonum(optarg, 1, RUNS_MAX, &n) != 0) {
				fprintf(stderr, "bench-spawn: bad -n\n");
				return 2;
			}
			break;
		case 'i':
			input = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench-spawn [-n runs] "
			    "[-i stdin-file] command [arg ...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argv[0][0] != '/') {
		fprintf(stderr, "bench-spawn: give the command's absolute "
		    "path\n");
		return 2;
	}
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 1;
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
	    0) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		start = now_ns();
		if ((r = posix_spawn(&pid, argv[0], &fa, NULL, argv,
		    environ)) != 0) {
			fprintf(stderr, "bench-spawn: %s: %s\n", argv[0],
			    strerror(r));
			return 1;
		}
		while (waitpid(pid, &status, 0) == -1) {
			if (errno != EINTR)
				return 1;
		}
		t[i] = now_ns() - start;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	posix_spawn_file_actions_destroy(&fa);
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("median_us=%llu p90_us=%llu runs=%lld failures=%d\n",
	    (unsigned long long)(t[n / 2] / 1000),
	    (unsigned long long)(t[(n * 9) / 10] / 1000), n, failures);
	free(t);
	return 0;
}
