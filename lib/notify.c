/*
 * notify.c: tell a session's broker that its row in the registry changed
 * (docs/protocol.md, "registry-changed"). Whoever writes a change a
 * running broker must act on (kill, lock, unlock, a new token) calls this
 * after the write has committed; the broker then reads its own row once.
 * No other broker reads anything.
 *
 * One connection to <runtime_dir>/sessions/<id>.sock carrying one
 * registry-changed frame; the broker checks the sender's uid with
 * SO_PEERCRED, answers with an ack and closes. Bounded by NOTIFY_WAIT_MS
 * in all. A session with no broker (no socket, or nothing listening) is
 * not an error: nothing runs that would need telling.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "reaper.h"
#include "frame.h"

/* Wait for fd to become ready for events, until deadline (ms). */
static int
notify_wait(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	for (;;) {
		if ((left = deadline - tunl_now_ms()) <= 0)
			return TUNL_ERR_BUSY;
		pfd.fd = fd;
		pfd.events = events;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return TUNL_ERR_SYSTEM;
		if (n > 0)
			return 0;
	}
}

/*
 * Returns 0 once the broker acknowledged, TUNL_ERR_NOT_FOUND if the
 * session has no broker, or another error (logged by the caller: the
 * broker's own periodic read still finds the change).
 */
int
broker_notify(const char *runtime_dir, const char *sid)
{
	struct sockaddr_un	 sun;
	struct buf		*out = NULL;
	u_char			 in[FRAME_HEADER_LEN + 4];
	const u_char		*p;
	size_t			 got = 0, len;
	ssize_t			 n;
	int64_t			 deadline = tunl_now_ms() + NOTIFY_WAIT_MS;
	int			 fd = -1, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((r = spool_path(runtime_dir, sid, ".sock", sun.sun_path,
	    sizeof(sun.sun_path))) != 0)
		return r;
	if ((out = buf_new(FRAME_HEADER_LEN + ID_LEN_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = frame_put(out, FRAME_REGISTRY_CHANGED, sid,
	    strlen(sid))) != 0)
		goto out;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			r = TUNL_ERR_NOT_FOUND;
			goto out;
		}
		if (errno != EAGAIN && errno != EINPROGRESS) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
		if ((r = notify_wait(fd, POLLOUT, deadline)) != 0)
			goto out;
	}
	p = buf_ptr(out);
	len = buf_len(out);
	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if ((r = notify_wait(fd, POLLOUT, deadline)) != 0)
				goto out;
			continue;
		}
		if (n <= 0) {
			r = errno == EPIPE || errno == ECONNRESET ?
			    TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	/* The ack: length 5, type ack, u32. */
	while (got < sizeof(in)) {
		n = read(fd, in + got, sizeof(in) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if ((r = notify_wait(fd, POLLIN, deadline)) != 0)
				goto out;
			continue;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r = got == sizeof(in) && in[0] == 0 && in[1] == 0 && in[2] == 0 &&
	    in[3] == 5 && in[4] == FRAME_ACK ? 0 : TUNL_ERR_DENIED;
 out:
	if (fd != -1)
		close(fd);
	buf_free(out);
	return r;
}
