/*
 * broker-loop.c: the event loop. One ppoll(2) over the listening socket
 * and every peer; sockets are non-blocking and every write goes through a
 * peer's bounded queue, so no peer can make the loop wait. Signals are
 * blocked except inside ppoll, so a SIGTERM is never lost between a check
 * and the wait.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

static struct broker	*loop_broker;

static void
loop_signal(int sig)
{
	if (loop_broker != NULL)
		loop_broker->signalled = sig;
}

/*
 * Room for one more connection before its hello. At most BROKER_NEW_MAX
 * wait; when they all do, the oldest that has not given a whole hello is
 * first read (its hello may be there already) and, still silent, closed:
 * a flood of connections that say nothing cannot lock real peers out, who
 * send their hello at once. A hello held for the registry's answer is
 * never closed here. Returns 0 when there is no room.
 */
static int
loop_room(struct broker *b)
{
	struct peer	*p;
	u_int		 n, tries;

	for (tries = 0; tries <= BROKER_NEW_MAX; tries++) {
		n = 0;
		TAILQ_FOREACH(p, &b->peers, entry) {
			if (p->role == PEER_NEW && !p->dead && !p->closing)
				n++;
		}
		if (n < BROKER_NEW_MAX)
			return 1;
		TAILQ_FOREACH(p, &b->peers, entry) {
			if (p->role == PEER_NEW && !p->dead && !p->closing &&
			    !p->held)
				break;
		}
		if (p == NULL)
			return 0;	/* every one is a real hello */
		peer_read(b, p);
		if (p->role == PEER_NEW && !p->dead && !p->closing &&
		    !p->held) {
			info("%s: closed without a hello: %u connections "
			    "wait for theirs", peer_label(p), n);
			p->dead = 1;
		}
	}
	return 0;
}

static void
loop_accept(struct broker *b)
{
	struct ucred	 cred;
	socklen_t	 len;
	struct peer	*p;
	int		 fd;

	for (;;) {
		fd = accept4(b->listenfd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				info("accept: %s; pausing for %d ms",
				    strerror(errno), BROKER_ACCEPT_PAUSE_MS);
				b->accept_paused_until = tunl_now_ms() +
				    BROKER_ACCEPT_PAUSE_MS;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				error("accept: %s", strerror(errno));
			return;
		}
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &len) == -1 || len != sizeof(cred)) {
			error("SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (cred.uid != b->customer_uid &&
		    cred.uid != b->engineer_uid &&
		    !control_may_connect(b, cred.uid)) {
			info("connection from uid %ld refused",
			    (long)cred.uid);
			close(fd);
			continue;
		}
		if (b->ended || !loop_room(b)) {
			info("connection from uid %ld refused: %s",
			    (long)cred.uid, b->ended ? "ending" :
			    "too many hellos waiting for the registry");
			close(fd);
			continue;
		}
		if ((p = peer_new(b, fd, cred.uid, cred.pid)) == NULL) {
			error("out of memory for a connection");
			close(fd);
			continue;
		}
		p->gid = cred.gid;
		b->nnew++;
		TAILQ_INSERT_TAIL(&b->peers, p, entry);
		debug("%s: accepted, pid %ld", peer_label(p), (long)cred.pid);
	}
}

/*
 * How much all the queues hold, the shared live output once and every
 * peer's own frames: over budget, the producer waits.
 */
static size_t
loop_queued(const struct broker *b)
{
	const struct peer	*p;
	size_t			 n = outq_stored(&b->outq);

	TAILQ_FOREACH(p, &b->peers, entry)
		n += buf_len(p->rd.out);
	return n;
}

/*
 * Once output has stopped for BROKER_TRIM_MS, give a burst's memory back:
 * the recording's pool of chunks, and the C library's free memory (the
 * output queue's chunks are freed in the middle of the heap, where glibc
 * does not return them by itself).
 */
static void
loop_trim(struct broker *b, int64_t now)
{
	if (b->out_bytes != b->trim_seen) {
		b->trim_seen = b->out_bytes;
		b->trim_due_ms = now + BROKER_TRIM_MS;
		return;
	}
	if (b->trim_due_ms == 0 || now < b->trim_due_ms)
		return;
	b->trim_due_ms = 0;
	record_trim(b);
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static void
loop_reap(struct broker *b)
{
	struct peer	*p, *next;

	for (p = TAILQ_FIRST(&b->peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (!p->dead)
			continue;
		TAILQ_REMOVE(&b->peers, p, entry);
		session_peer_gone(b, p);
		debug("%s: closed", peer_label(p));
		peer_free(p);
	}
}

/*
 * Before the sandbox: handlers for the signals that end the session, and
 * those signals blocked except while ppoll waits.
 */
void
broker_signals(struct broker *b)
{
	struct sigaction	 sa;
	sigset_t		 block;

	loop_broker = b;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Past RLIMIT_FSIZE the recording's write fails (EFBIG) and stops. */
	sigaction(SIGXFSZ, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

int
broker_loop(struct broker *b)
{
	sigset_t		 unblocked;
	struct pollfd		*pfd = NULL;
	struct peer		**who = NULL, *p;
	struct timespec		 ts;
	size_t			 npfd, maxpfd = 0, i;
	int64_t			 now, wait, recms;
	int			 listening, reaping, regidx, recidx, recwait;
	int			 prodpolled;
	int			 n, r = 0;

	sigemptyset(&unblocked);
	sigprocmask(SIG_BLOCK, NULL, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGHUP);

	outq_init(&b->outq);
	b->idle_ms = 0;
	b->next_check_ms = tunl_now_ms() + BROKER_CHECK_MS;
	b->next_full_check_ms = tunl_now_ms() + regq_recheck_ms(b);
	b->next_keys_log_ms = tunl_now_ms() + BROKER_KEYS_LOG_MS;
	for (;;) {
		now = tunl_now_ms();
		if (b->signalled && !b->ended) {
			info("signal %d", (int)b->signalled);
			session_end(b, "broker", "stopped by signal", 1);
		}
		session_timers(b, now);
		loop_trim(b, now);
		loop_reap(b);
		reaping = regq_run(b);
		loop_reap(b);
		if (b->ended && b->ended_ms == 0)
			b->ended_ms = now;
		/* At the end, the registry calls queued are made first. */
		if (b->ended && TAILQ_EMPTY(&b->peers)) {
			if (regq_idle(b))
				break;
			if (now - b->ended_ms > BROKER_REG_EXIT_MS &&
			    b->reg_pid == 0) {
				/* Not lost: the next one replays them. */
				info("registry still busy at the end: %u calls "
				    "spooled", b->nregq);
				regq_spool_all(b);
				break;
			}
		}

		/*
		 * Hand the recording what the last turn gathered. If its
		 * writer is too far behind, the producer waits for it.
		 */
		recwait = record_flush(b, now);

		/* The listener, the registry call, the recording, the peers. */
		npfd = 3;
		TAILQ_FOREACH(p, &b->peers, entry)
			npfd++;
		if (npfd > maxpfd) {
			free(pfd);
			free(who);
			maxpfd = npfd + 16;
			pfd = calloc(maxpfd, sizeof(*pfd));
			who = calloc(maxpfd, sizeof(*who));
			if (pfd == NULL || who == NULL) {
				error("out of memory for the poll set");
				r = -1;
				break;
			}
		}
		npfd = 0;
		listening = !b->ended && now >= b->accept_paused_until;
		if (listening) {
			pfd[npfd].fd = b->listenfd;
			pfd[npfd].events = POLLIN;
			who[npfd++] = NULL;
		}
		regidx = -1;
		if (regq_fd(b) != -1) {
			regidx = (int)npfd;
			pfd[npfd].fd = regq_fd(b);
			pfd[npfd].events = POLLIN;
			who[npfd++] = NULL;
		}
		recidx = -1;
		if (record_fd(b) != -1) {
			recidx = (int)npfd;
			pfd[npfd].fd = record_fd(b);
			pfd[npfd].events = POLLIN;
			who[npfd++] = NULL;
		}
		prodpolled = 0;
		TAILQ_FOREACH(p, &b->peers, entry) {
			pfd[npfd].fd = p->fd;
			pfd[npfd].events = 0;
			/* A held hello: nothing more read until it goes on. */
			if (!p->closing && !p->held &&
			    !(p->role == PEER_PRODUCER && (recwait ||
			    loop_queued(b) > BROKER_MEM_BUDGET))) {
				pfd[npfd].events |= POLLIN;
				if (p == b->producer)
					prodpolled = 1;
			} else if (p->role == PEER_PRODUCER)
				alive_heard(p, now);	/* our silence */
			if (peer_pending(p) > 0)
				pfd[npfd].events |= POLLOUT;
			who[npfd++] = p;
		}

		/* Only the next timer wakes an idle broker (broker-wake.c). */
		wait = broker_wake_ms(b, now, prodpolled);
		if (!listening && !b->ended &&
		    b->accept_paused_until - now < wait)
			wait = b->accept_paused_until - now;
		if (b->ended)
			wait = 100;
		/* A chunk of the recording not yet handed over. */
		if ((recms = record_wait_ms(b, now)) >= 0 && recms < wait)
			wait = recms;
		/* A registry call answered; its process is exiting. */
		if (reaping)
			wait = 5;
		/* A registry write to try again. */
		if ((recms = regq_wait_ms(b, now)) >= 0 && recms < wait)
			wait = recms;
		if (wait < 0)
			wait = 0;
		b->wake_due_ms = now + wait;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000;
		n = ppoll(pfd, npfd, &ts, &unblocked);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			error("ppoll: %s", strerror(errno));
			r = -1;
			break;
		}
		for (i = 0; i < npfd && n > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((int)i == regidx) {
				(void)regq_run(b);
				continue;
			}
			if ((int)i == recidx) {
				record_woken(b);
				continue;
			}
			if (who[i] == NULL) {
				loop_accept(b);
				continue;
			}
			p = who[i];
			if (p->dead)
				continue;
			if (p->held) {
				/* Polled for nothing: gone, or an error. */
				if (pfd[i].revents & (POLLHUP | POLLERR))
					p->dead = 1;
				continue;
			}
			if (pfd[i].revents & POLLOUT)
				(void)peer_flush(b, p);
			if (!p->dead && (pfd[i].revents &
			    (POLLIN | POLLHUP | POLLERR))) {
				if (p->closing)
					p->dead = 1;
				else
					peer_read(b, p);
			}
		}
		/* Registry calls the frames just handled queued. */
		(void)regq_run(b);
		/* Write what the frames just handled queued. */
		TAILQ_FOREACH(p, &b->peers, entry) {
			if (!p->dead && peer_pending(p) > 0)
				(void)peer_flush(b, p);
		}
		/* Free the live output every consumer has taken. */
		outq_trim(&b->outq);
	}
	loop_reap(b);
	outq_free(&b->outq);
	free(pfd);
	free(who);
	loop_broker = NULL;
	return r;
}
