/*
 * sock-exec: lets a program that speaks to a Unix socket (the broker's
 * test-producer) speak through a command's standard input and output
 * instead (ssh tunl@relay produce). Never installed.
 *
 *	sock-exec SOCKET COMMAND [ARG...]
 *
 * Listens on SOCKET (which must not exist), accepts one connection, then
 * runs COMMAND with that connection as its standard input and output.
 * The command's exit status is sock-exec's: exec replaces it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun;
	int			 lfd, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: sock-exec socket command [arg...]\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sock-exec: socket path too long\n");
		return 2;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 1) == -1) {
		fprintf(stderr, "sock-exec: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	while ((fd = accept(lfd, NULL, NULL)) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "sock-exec: accept: %s\n",
			    strerror(errno));
			return 1;
		}
	}
	close(lfd);
	(void)unlink(argv[1]);
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1) {
		fprintf(stderr, "sock-exec: dup2: %s\n", strerror(errno));
		return 1;
	}
	if (fd > STDOUT_FILENO)
		close(fd);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "sock-exec: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
