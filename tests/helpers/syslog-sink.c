/*
 * syslog-sink.c: a stand-in syslog daemon for tests.
 *
 *	syslog-sink SOCKET LOGFILE
 *
 * Binds an AF_UNIX datagram socket at SOCKET (which must not exist; mode
 * 0666, like /dev/log) and appends every datagram to LOGFILE as one line:
 * a trailing newline is dropped and any other byte outside printable
 * ASCII is written as \xNN, so a message can never forge a second line.
 * Each line is written with one write(2) to a file opened O_APPEND, so a
 * reader sees whole lines. Runs until SIGTERM or SIGINT, then removes
 * SOCKET and exits 0.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_DGRAM_MAX	8192

static volatile sig_atomic_t	 sink_done;

static void
sink_signal(int sig)
{
	(void)sig;
	sink_done = 1;
}

int
main(int argc, char **argv)
{
	static const char	 hex[] = "0123456789abcdef";
	struct sockaddr_un	 sun;
	struct sigaction	 sa;
	char			 in[SINK_DGRAM_MAX], out[SINK_DGRAM_MAX * 4 + 2];
	ssize_t			 n;
	size_t			 i, o, len;
	int			 s, fd;
	mode_t			 old;

	if (argc != 3) {
		fprintf(stderr, "usage: syslog-sink SOCKET LOGFILE\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "syslog-sink: socket path too long\n");
		return 1;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		fprintf(stderr, "syslog-sink: %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sink_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1) {
		fprintf(stderr, "syslog-sink: sigaction: %s\n",
		    strerror(errno));
		return 1;
	}

	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "syslog-sink: socket: %s\n", strerror(errno));
		return 1;
	}
	old = umask(0);
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "syslog-sink: bind %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	umask(old);
	if (chmod(argv[1], 0666) == -1) {
		fprintf(stderr, "syslog-sink: chmod: %s\n", strerror(errno));
		unlink(argv[1]);
		return 1;
	}

	while (!sink_done) {
		n = recv(s, in, sizeof(in), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "syslog-sink: recv: %s\n",
			    strerror(errno));
			break;
		}
		len = (size_t)n;
		while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\0'))
			len--;
		for (i = 0, o = 0; i < len; i++) {
			if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\')
				out[o++] = in[i];
			else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[(u_char)in[i] >> 4];
				out[o++] = hex[(u_char)in[i] & 0xf];
			}
		}
		out[o++] = '\n';
		if (write(fd, out, o) != (ssize_t)o) {
			fprintf(stderr, "syslog-sink: write: %s\n",
			    strerror(errno));
			break;
		}
	}
	unlink(argv[1]);
	close(s);
	close(fd);
	return sink_done ? 0 : 1;
}
