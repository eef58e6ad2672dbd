/*
 * tunl-broker: the per-session broker (docs/broker.md, tunl-broker(8)).
 *
 *	tunl-broker [-F] [-f config] -s session-id
 *
 * Setup, in this order: configuration; identity (root drops to
 * broker_user, a setuid install makes its real ids the effective ones);
 * an empty environment; the session's lock (a second broker exits 3); the
 * socket; then, unless -F, into the background; the session's row (read
 * by a child: it must be pending or active), the recording, the sandbox.
 * Only then is the broker reported ready: with -F by being there,
 * otherwise by the first process exiting 0 once the socket accepts
 * connections.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "broker.h"
#include "die.h"

#define BROKER_EXIT_ERROR	1
#define BROKER_EXIT_USAGE	2

/* --help: the usage on stdout, exit 0. */
static int usage_help;

static void
usage(void)
{
	fprintf(usage_help ? stdout : stderr,
	    "usage: tunl-broker [-F] [-f config] -s session-id\n");
	exit(usage_help ? 0 : BROKER_EXIT_USAGE);
}

/*
 * Report how setup ended and, on failure, exit. In the background the
 * first process is waiting on a pipe for one status byte and a message.
 */
void
broker_report(struct broker *b, int status, const char *fmt, ...)
{
	char	 msg[512];
	u_char	 st = (u_char)status;
	va_list	 ap;

	msg[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (status != 0 && msg[0] != '\0')
		error("%s", msg);
	if (b->readyfd != -1) {
		/* The parent reads one byte, then the message; EOF if lost. */
		if (write(b->readyfd, &st, 1) == 1 && status != 0 &&
		    write(b->readyfd, msg, strlen(msg)) == -1)
			debug("ready pipe: %s", strerror(errno));
		close(b->readyfd);
		b->readyfd = -1;
	}
	if (status != 0)
		exit(status);
}

/* The first process: wait for the daemon's word and pass it on. */
static void
broker_wait_ready(int fd)
{
	char	 msg[512];
	u_char	 st;
	ssize_t	 n;
	size_t	 off = 0;

	do {
		n = read(fd, &st, 1);
	} while (n == -1 && errno == EINTR);
	if (n != 1) {
		fprintf(stderr, "tunl-broker: the broker died during setup\n");
		_exit(BROKER_EXIT_ERROR);
	}
	while (off < sizeof(msg) - 1) {
		n = read(fd, msg + off, sizeof(msg) - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	msg[off] = '\0';
	if (st != 0 && off > 0)
		fprintf(stderr, "tunl-broker: %s\n", msg);
	_exit(st);
}

static void
broker_daemonise(struct broker *b)
{
	int	 p[2], fd;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid != 0) {
		close(p[1]);
		broker_wait_ready(p[0]);
	}
	close(p[0]);
	if (setsid() == -1)
		_exit(BROKER_EXIT_ERROR);
	if ((pid = fork()) == -1)
		_exit(BROKER_EXIT_ERROR);
	if (pid != 0)
		_exit(0);
	b->readyfd = p[1];
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * One broker per session: an exclusive lock held for its whole life, on a
 * file only the broker account can have made (broker-confine.c). The
 * reaper (lib/reaper.c), as root, removes the lock file of a session
 * without a broker while holding it; a file we locked that is no longer
 * the one at the path was removed that way, and we open the new one.
 */
static void
broker_lock(struct broker *b)
{
	char		 err[sizeof(b->lockpath) + 128];
	struct stat	 st, now;
	int		 tries;

	if ((size_t)snprintf(b->lockpath, sizeof(b->lockpath),
	    "%s/sessions/%s.lock", b->cfg.runtime_dir, b->sid) >=
	    sizeof(b->lockpath))
		fatal("runtime_dir too long");
	for (tries = 0;; tries++) {
		if (confine_lock_open(b->lockpath, b->broker_uid, &b->lockfd,
		    err, sizeof(err)) != 0)
			fatal("%s", err);
		if (flock(b->lockfd, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK) {
				fprintf(stderr, "tunl-broker: session %s "
				    "already has a broker\n", b->sid);
				exit(BROKER_EXIT_BUSY);
			}
			fatal("lock %s: %s", b->lockpath, strerror(errno));
		}
		if (fstat(b->lockfd, &st) == 0 &&
		    lstat(b->lockpath, &now) == 0 && now.st_dev == st.st_dev &&
		    now.st_ino == st.st_ino)
			return;
		if (tries >= 3)
			fatal("%s: removed under us again and again",
			    b->lockpath);
		close(b->lockfd);
	}
}

/* The socket, 0660 in the relay group; a stale one goes (we hold the lock). */
static void
broker_listen(struct broker *b)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(b->sockpath, sizeof(b->sockpath),
	    "%s/sessions/%s.sock", b->cfg.runtime_dir, b->sid) >=
	    sizeof(sun.sun_path))
		fatal("socket path too long for runtime_dir %s",
		    b->cfg.runtime_dir);
	tunl_strlcpy(sun.sun_path, b->sockpath, sizeof(sun.sun_path));
	if (lstat(b->sockpath, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatal("%s exists and is not a socket", b->sockpath);
		if (unlink(b->sockpath) == -1)
			fatal("unlink %s: %s", b->sockpath, strerror(errno));
		info("removed a stale socket");
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket: %s", strerror(errno));
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s: %s", b->sockpath, strerror(errno));
	umask(old);
	if (chown(b->sockpath, (uid_t)-1, b->relay_gid) == -1 ||
	    chmod(b->sockpath, 0660) == -1)
		fatal("%s: %s", b->sockpath, strerror(errno));
	if (listen(fd, 64) == -1)
		fatal("listen: %s", strerror(errno));
	b->listenfd = fd;
}

/*
 * The session's row, read by a child (broker-registry.c): this process
 * never runs SQLite, so its pages are never part of the loop's memory.
 */
static void
broker_read_session(struct broker *b)
{
	char	 err[256];

	if (regq_read_session(b, &b->sess, err, sizeof(err)) != 0)
		broker_report(b, BROKER_EXIT_ERROR, "session %s: registry %s: "
		    "%s", b->sid, b->cfg.database, err);
	if (b->sess.state != SESSION_PENDING &&
	    b->sess.state != SESSION_ACTIVE)
		broker_report(b, BROKER_EXIT_ERROR, "session %s is %s", b->sid,
		    session_state_name(b->sess.state));
	if (b->sess.expires <= (int64_t)time(NULL))
		broker_report(b, BROKER_EXIT_ERROR, "session %s has expired",
		    b->sid);
	b->restricted = b->sess.mode == SESSION_RESTRICTED;
	/* A broker that died leaves its count behind: start from none. */
	session_record_viewers(b);
}

int
main(int argc, char **argv)
{
	static struct broker	 b;
	const char		*cfgpath = CFG_PATH_DEFAULT;
	char			 err[512];
	int			 ch, r, given = 0;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage_help = 1;
		usage();
	}

#ifdef __GLIBC__
	/*
	 * One malloc arena for every thread. The recording's threads do not
	 * allocate (broker-record.c); should one ever, an arena of its own
	 * would grow with mprotect, which the seccomp filter does not allow,
	 * while the main arena grows with brk and mmap only. (A sanitizer's
	 * runtime has its own allocator and ignores this.)
	 */
	if (mallopt(M_ARENA_MAX, 1) != 1 && !BROKER_SANITIZED)
		fatal("mallopt: cannot keep to one malloc arena");
	/*
	 * Large blocks (the recording's chunks, backlogs, frames of up to
	 * 256 KiB) are mapped on their own and unmapped when freed, so a
	 * session's memory goes back after a burst. By default glibc raises
	 * that threshold each time such a block is freed, and the next ones
	 * come from a heap it does not trim (18 MiB stayed resident after a
	 * one-consumer fan-out of 320 MB with an early form of the queue).
	 */
	(void)mallopt(M_MMAP_THRESHOLD, BROKER_MMAP_THRESHOLD);
#endif
	memset(&b, 0, sizeof(b));
	b.readyfd = b.lockfd = b.listenfd = b.reg_fd = -1;
	TAILQ_INIT(&b.peers);
	TAILQ_INIT(&b.regq);
	log_init("tunl-broker", LOG_AUTHPRIV, LOG_TO_STDERR);

	while ((ch = getopt(argc, argv, "Ff:s:")) != -1) {
		switch (ch) {
		case 'F':
			b.foreground = 1;
			break;
		case 'f':
			cfgpath = optarg;
			given = 1;
			break;
		case 's':
			if (id_check(optarg) != 0)
				fatal("not a session id");
			tunl_strlcpy(b.sid, optarg, sizeof(b.sid));
			break;
		default:
			usage();
		}
	}
	if (optind != argc || b.sid[0] == '\0')
		usage();
	if (cfg_load(&b.cfg, cfgpath, given ? 0 : CFG_DEFAULT_OK, err,
	    sizeof(err)) != 0)
		fatal("%s", err);
	log_set_level(b.cfg.log_level);
	if (sandbox_identity(&b, err, sizeof(err)) != 0 ||
	    confine_identity(&b, err, sizeof(err)) != 0 ||
	    confine_dirs(&b, err, sizeof(err)) != 0)
		fatal("%s", err);
	if (clearenv() != 0)
		fatal("cannot clear the environment");
	if (chdir("/") == -1)
		fatal("chdir /: %s", strerror(errno));

	broker_lock(&b);
	broker_listen(&b);
	if (!b.foreground)
		broker_daemonise(&b);
	log_init("tunl-broker", LOG_AUTHPRIV,
	    b.foreground ? LOG_TO_STDERR : 0);

	broker_read_session(&b);
	b.start_ms = tunl_now_ms();
	if ((b.scratch = buf_new(VTFILTER_OUT_MAX(FRAME_PAYLOAD_MAX))) == NULL)
		broker_report(&b, BROKER_EXIT_ERROR, "out of memory");
	vtfilter_init(&b.vf, VTFILTER_OUTPUT);
	vtfilter_init(&b.snapvf, VTFILTER_OUTPUT);
	if ((r = record_open(&b)) != 0)
		broker_report(&b, BROKER_EXIT_ERROR, "recording in %s: %s",
		    b.cfg.recording_dir, tunl_err(r));
	broker_signals(&b);
	if (sandbox_enter(&b, err, sizeof(err)) != 0) {
		record_end(&b);
		broker_report(&b, BROKER_EXIT_ERROR, "sandbox: %s", err);
	}
	/*
	 * Setup's garbage (the seccomp rules as libseccomp built them, the
	 * configuration's stdio buffers, the account lookups) is free but
	 * resident: give it back before the loop runs for hours.
	 */
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
	info("session %s: broker ready on %s (%s)", b.sid, b.sockpath,
	    b.restricted ? "restricted" : "share");
	broker_report(&b, 0, NULL);

	r = broker_loop(&b);
	/* Gone for new peers before waiting for the recording's last lines. */
	(void)unlink(b.sockpath);
	close(b.listenfd);
	record_end(&b);
	buf_free(b.scratch);
	/* Ours while we hold it; nothing is left behind. */
	(void)unlink(b.lockpath);
	close(b.lockfd);
	info("session %s: broker exits", b.sid);
	log_close();
	sandbox_leave();
	return r == 0 ? 0 : BROKER_EXIT_ERROR;
}
