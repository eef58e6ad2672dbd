/*
 * share-sock.c: the Unix sockets inside the private directory (the chat
 * pane's and the askpass helper's), and reading one bounded line.
 *
 * Both live in the 0700 directory, are made 0600, and accept only a peer
 * with our own uid (SO_PEERCRED).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "share.h"

static int
sock_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return TUNL_ERR_LENGTH;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int
share_sock_listen(const char *path, int *fdp)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd, r;

	*fdp = -1;
	if ((r = sock_addr(path, &sun)) != 0)
		return r;
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return TUNL_ERR_SYSTEM;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (r == -1 || listen(fd, 4) == -1) {
		(void)close(fd);
		return TUNL_ERR_SYSTEM;
	}
	*fdp = fd;
	return 0;
}

int
share_sock_connect(const char *path, int *fdp)
{
	struct sockaddr_un	 sun;
	int			 fd, r;

	*fdp = -1;
	if ((r = sock_addr(path, &sun)) != 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return TUNL_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		(void)close(fd);
		return TUNL_ERR_SYSTEM;
	}
	*fdp = fd;
	return 0;
}

/* Accept one peer; refuse anyone but our own uid. */
int
share_sock_accept(int lfd, int *fdp)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	int		 fd;

	*fdp = -1;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != getuid()) {
		(void)close(fd);
		return TUNL_ERR_DENIED;
	}
	*fdp = fd;
	return 0;
}

/*
 * Read one line of at most len - 1 bytes (without the newline) within
 * timeout_ms; a longer line or a NUL is TUNL_ERR_INVALID. Reads a byte at
 * a time: lines here are short and nothing after them is lost.
 */
int
share_sock_line(int fd, char *line, size_t len, int timeout_ms)
{
	struct pollfd	 pfd;
	size_t		 n = 0;
	ssize_t		 got;
	char		 c;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return TUNL_ERR_SHORT;
		got = read(fd, &c, 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return TUNL_ERR_EOF;
		if (c == '\n')
			break;
		if (c == '\0' || n + 1 >= len)
			return TUNL_ERR_INVALID;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

int
share_write_all(int fd, const void *p, size_t len)
{
	const u_char	*b = p;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return TUNL_ERR_SYSTEM;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}
