/*
 * shell-live.c: what the live verbs share. Finding a session's broker
 * (its socket, <runtime_dir>/sessions/<id>.sock), starting one when the
 * customer's produce finds none, telling a broker that went away from one
 * that closed our connection on purpose, recording a broker's death in
 * the registry, and putting the engineer's terminal into raw mode and
 * back again on every way out.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"
#include "reaper.h"

static struct termios	 live_term_saved;
static int		 live_term_fd = -1;

void
shell_live_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The session's socket path; the id has been checked (id_check). */
int
shell_live_sockpath(const struct shell *sh, const char *id, char *path,
    size_t len)
{
	struct sockaddr_un	 sun;

	if (id_check(id) != 0)
		return TUNL_ERR_INVALID;
	if (len > sizeof(sun.sun_path))
		len = sizeof(sun.sun_path);
	if ((size_t)snprintf(path, len, "%s/sessions/%s.sock",
	    sh->cfg.runtime_dir, id) >= len)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * Who listens must be the broker account: the socket file is the broker
 * account's (only it can make one in the sockets' directory) and so is
 * the process at the other end (SO_PEERCRED, as the kernel saw it at
 * listen). Checked before a byte is sent; anything else is refused as
 * TUNL_ERR_UNSAFE and logged.
 */
static int
live_broker_uid(const struct shell *sh, uid_t *uidp)
{
	struct passwd	*pw;

	if ((pw = getpwnam(sh->cfg.broker_user)) == NULL) {
		error("account %s (broker_user) does not exist",
		    sh->cfg.broker_user);
		return TUNL_ERR_SYSTEM;
	}
	*uidp = pw->pw_uid;
	return 0;
}

static int
live_check_peer(int fd, const char *path, uid_t want)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		error("%s: cannot learn who listens: %s", path,
		    strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if (cred.uid != want) {
		error("%s: served by uid %lu (pid %ld), not by the broker "
		    "account (uid %lu): refused", path, (u_long)cred.uid,
		    (long)cred.pid, (u_long)want);
		return TUNL_ERR_UNSAFE;
	}
	return 0;
}

/*
 * Connect to the session's broker; on success *fdp is non-blocking and
 * close-on-exec. No socket, or nobody listening on it: TUNL_ERR_NOT_FOUND.
 * A socket or a listener that is not the broker account's:
 * TUNL_ERR_UNSAFE (live_check_peer).
 */
int
shell_live_connect(const struct shell *sh, const char *id, int *fdp)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	uid_t			 broker;
	int			 fd, r;

	*fdp = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((r = shell_live_sockpath(sh, id, sun.sun_path,
	    sizeof(sun.sun_path))) != 0)
		return r;
	if ((r = live_broker_uid(sh, &broker)) != 0)
		return r;
	if (lstat(sun.sun_path, &st) == -1)
		return errno == ENOENT || errno == ENOTDIR ?
		    TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != broker) {
		error("%s: not a socket of the broker account (uid %lu, "
		    "owner %lu): refused", sun.sun_path, (u_long)broker,
		    (u_long)st.st_uid);
		return TUNL_ERR_UNSAFE;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return TUNL_ERR_SYSTEM;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		r = errno;
		close(fd);
		errno = r;
		if (r == ENOENT || r == ECONNREFUSED || r == ENOTDIR)
			return TUNL_ERR_NOT_FOUND;
		return TUNL_ERR_SYSTEM;
	}
	if ((r = live_check_peer(fd, sun.sun_path, broker)) != 0) {
		close(fd);
		return r;
	}
	shell_live_nonblock(fd);
	*fdp = fd;
	return 0;
}

/*
 * Whether the session's broker still accepts connections, asked after our
 * connection to it closed. A killed process's descriptors close one after
 * another, so its listening socket may outlive our connection by a
 * moment: ask LIVE_ALIVE_WAIT_MS later, and twice.
 */
#define LIVE_ALIVE_WAIT_MS	200

int
shell_live_alive(const struct shell *sh, const char *id)
{
	int	 fd, i;

	for (i = 0; i < 2; i++) {
		(void)poll(NULL, 0, LIVE_ALIVE_WAIT_MS);
		if (shell_live_connect(sh, id, &fd) != 0)
			return 0;
		close(fd);
	}
	return 1;
}

/*
 * Start tunl-broker -s <id>: no shell, an empty environment, /dev/null
 * for its input and output, its stderr kept (bounded) for our log. It
 * puts itself in the background and its first process exits 0 once the
 * socket accepts connections, or BROKER_EXIT_BUSY (3) when another broker
 * holds the session; anything else is a failure. Then connect, retrying
 * for a while (a busy broker may still be setting up).
 */
#define LIVE_BROKER_BUSY	3

int
shell_live_start(struct shell *sh, const char *id, int *fdp)
{
	posix_spawn_file_actions_t	 fa;
	char				*av[4], *envp[1] = { NULL };
	char				 errtext[512], esc[sizeof(errtext) * 4];
	struct pollfd			 pfd;
	int				 pe[2] = { -1, -1 }, status = -1, r, i;
	size_t				 elen = 0;
	ssize_t				 n;
	int64_t				 deadline;
	pid_t				 pid, w;

	*fdp = -1;
	if (id_check(id) != 0)
		return TUNL_ERR_INVALID;
	av[0] = (char *)sh->broker;
	av[1] = (char *)"-s";
	av[2] = (char *)id;
	av[3] = NULL;
	if (pipe2(pe, O_CLOEXEC) == -1)
		return TUNL_ERR_SYSTEM;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(pe[0]);
		close(pe[1]);
		return TUNL_ERR_SYSTEM;
	}
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0);
	(void)posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0);
	(void)posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	r = posix_spawn(&pid, sh->broker, &fa, NULL, av, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pe[1]);
	if (r != 0) {
		close(pe[0]);
		error("cannot run %s: %s", sh->broker, strerror(r));
		return TUNL_ERR_SYSTEM;
	}
	info("session %s: started %s (pid %ld)", id, sh->broker, (long)pid);

	/* Its stderr closes when its first process exits. */
	deadline = tunl_now_ms() + LIVE_START_WAIT_MS;
	for (;;) {
		int64_t	 left = deadline - tunl_now_ms();

		if (left <= 0)
			break;
		pfd.fd = pe[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(pe[0], errtext + elen, sizeof(errtext) - 1 - elen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || (elen += (size_t)n) >= sizeof(errtext) - 1) {
			if (n > 0) {
				char	 junk[512];

				/* Keep draining until it closes. */
				while (read(pe[0], junk, sizeof(junk)) > 0)
					;
			}
			break;
		}
	}
	close(pe[0]);
	errtext[elen] = '\0';
	do {
		w = waitpid(pid, &status, tunl_now_ms() < deadline ?
		    0 : WNOHANG);
	} while (w == -1 && errno == EINTR);
	if (w == 0) {
		error("session %s: the broker did not say it was ready in "
		    "%d ms", id, LIVE_START_WAIT_MS);
		(void)kill(pid, SIGTERM);
		(void)waitpid(pid, &status, 0);
		return TUNL_ERR_SYSTEM;
	}
	if (elen > 0) {
		(void)log_escape(esc, sizeof(esc), errtext, elen);
		info("session %s: broker says: %s", id, esc);
	}
	if (w == -1 || !WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != LIVE_BROKER_BUSY)) {
		error("session %s: the broker did not start (status %d)", id,
		    w == -1 ? -1 : status);
		return TUNL_ERR_SYSTEM;
	}
	for (i = 0; i < LIVE_CONNECT_TRIES; i++) {
		if ((r = shell_live_connect(sh, id, fdp)) == 0)
			return 0;
		if (r != TUNL_ERR_NOT_FOUND)
			return r;
		(void)poll(NULL, 0, 100);
	}
	return TUNL_ERR_NOT_FOUND;
}

/*
 * The broker went away without ending the session: the reaper (lib/reaper.c)
 * ends it, if no broker holds the session's lock by now, with the broker's
 * death as the cause (actor `broker`, a `broker-died` event), not whoever
 * noticed; and it removes the dead broker's socket and lock file. `actor`
 * only says, in the log, who noticed.
 */
void
shell_live_broker_died(struct shell *sh, const char *id, const char *actor)
{
	int	 rc;

	/* tunl-authority runs the reaper: we cannot open the registry. */
	if ((rc = shell_reg_quiet(sh, "reap", id, NULL)) != 0)
		error("session %s: reaper (noticed by %s): tunl-authority "
		    "exited %d", id, actor, rc);
	else
		info("session %s: the broker died (noticed by %s); asked "
		    "the reaper", id, actor);
}

/*
 * Write out what b holds within LIVE_FLUSH_MS, then give up (a peer that
 * reads nothing cannot hold us).
 */
void
shell_live_flush(int fd, struct buf *b, int ms)
{
	struct pollfd	 pfd;
	int64_t		 deadline = tunl_now_ms() + ms, left;
	int		 r;

	while (b != NULL && buf_len(b) > 0 && fd != -1) {
		if ((left = deadline - tunl_now_ms()) <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		r = buf_write_fd(b, fd, NULL);
		if (r != 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
}

/* ---- the engineer's terminal ------------------------------------------- */

/*
 * Raw mode: no echo, no line editing, no signals from keys, no output
 * processing (the customer's bytes already went through their own
 * terminal's). The saved modes come back with shell_live_term_restore,
 * which is registered with atexit and safe to call more than once.
 */
int
shell_live_term_raw(int fd)
{
	struct termios	 t;

	if (tcgetattr(fd, &live_term_saved) == -1)
		return TUNL_ERR_SYSTEM;
	t = live_term_saved;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
	    ICRNL | IXON | IXOFF);
	t.c_oflag &= ~OPOST;
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	live_term_fd = fd;
	if (tcsetattr(fd, TCSAFLUSH, &t) == -1) {
		live_term_fd = -1;
		return TUNL_ERR_SYSTEM;
	}
	return 0;
}

void
shell_live_term_restore(void)
{
	if (live_term_fd == -1)
		return;
	(void)tcsetattr(live_term_fd, TCSAFLUSH, &live_term_saved);
	live_term_fd = -1;
}
