/*
 * broker-registry.c: the broker's calls to the registry (docs/broker.md,
 * "The registry").
 *
 * The event loop never runs SQLite. Each call (an event, the viewer count,
 * a change of state, a look at the session's row, the relay-wide viewer
 * count) is queued; one at a time, in the order queued, a child is forked
 * to make it with a connection of its own, writes a struct regq_result to
 * a pipe and exits. The loop polls the pipe like any peer, reaps the child
 * without waiting and hands the answer to the session. So SQLite's code,
 * heap and page cache live only in short-lived children, and a locked
 * database (each child waits BROKER_REG_BUSY_MS for it) delays registry
 * calls, never the loop.
 *
 * The children run under the broker's seccomp filter; the loop itself
 * needs only fork (clone with fork's flags), pipe2 and wait4 for them.
 *
 * A write (event, viewers, state) the registry refuses for being locked,
 * or whose child died, is made again, first in the queue, after a pause
 * that doubles up to BROKER_REG_RETRY_MAX_MS, for as long as the broker
 * runs. One whose registry would not open or answer (a -wal or -shm file
 * another account made and still holds, a database being replaced) is
 * made again the same way BROKER_REG_DB_TRIES times in all, then spooled. What is still queued when the broker ends, or what would not fit
 * in the queue, goes to the session's spool file (lib/spool.c), which the
 * next broker or the reaper replays: nothing is dropped for a lock.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "reaper.h"

static const char *
regq_name(enum regq_op op)
{
	switch (op) {
	case REGQ_EVENT:
		return "event";
	case REGQ_VIEWERS:
		return "viewers";
	case REGQ_STATE:
		return "state";
	case REGQ_CHECK:
		return "check";
	case REGQ_TOTAL:
		return "total";
	}
	return "?";
}

/*
 * In the first child, before the loop (and before the sandbox): make what
 * an earlier broker of this session spooled (we hold the session's lock,
 * so none writes to it meanwhile), then reap the other sessions whose
 * broker is gone (lib/reaper.c). Both wait BROKER_REG_BUSY_MS at most for
 * a locked registry: what they could not do waits in the spool files for
 * the next reaper. Failures are logged; the start goes on.
 */
static void
regq_start_chores(struct broker *b, struct registry *reg)
{
	struct reap_result	 res;
	u_int			 n = 0;
	int			 r;

	if ((r = spool_replay(reg, b->cfg.runtime_dir, b->sid, &n)) != 0)
		error_r(r, "spooled registry writes: %s", registry_errmsg(reg));
	if (n > 0)
		info("made %u registry writes an earlier broker spooled", n);
	if ((r = reap_sessions(reg, b->cfg.runtime_dir, b->sid, REAP_FILES,
	    (int64_t)time(NULL), &res)) != 0)
		error_r(r, "reaper: %s", registry_errmsg(reg));
	if (res.ended > 0 || res.files > 0)
		info("reaper: %u sessions without a broker ended, %u stale "
		    "files removed", res.ended, res.files);
}

static void
regq_child_replay(struct broker *b, struct registry *reg)
{
	u_int	 n = 0;
	int	 r;

	if ((r = spool_replay(reg, b->cfg.runtime_dir, b->sid, &n)) != 0 &&
	    r != TUNL_ERR_BUSY)
		error_r(r, "spooled registry writes: %s", registry_errmsg(reg));
	if (n > 0)
		info("made %u spooled registry writes", n);
}

/* In the child: make the call, report, never return. */
static void __attribute__((noreturn))
regq_child(struct broker *b, const struct regq_job *j, int fd)
{
	struct regq_result	 res;
	struct registry		*reg = NULL;
	int			 r;

	/*
	 * A call that hangs (a wedged filesystem, or a sanitizer build's
	 * allocator locked by another thread at the fork) must not hold the
	 * registry's locks for ever: SIGALRM, whose default action ends the
	 * process, comes after BROKER_REG_CHILD_S; the loop then tries the
	 * call again (regq_run).
	 */
	(void)alarm(BROKER_REG_CHILD_S);
	memset(&res, 0, sizeof(res));
	if ((r = registry_open(b->cfg.database, 0, &reg)) != 0) {
		tunl_strlcpy(res.msg, registry_errmsg(NULL), sizeof(res.msg));
		goto out;
	}
	(void)registry_set_busy_timeout(reg, BROKER_REG_BUSY_MS);
	if (j->at_start)
		regq_start_chores(b, reg);
	switch (j->op) {
	case REGQ_EVENT:
		r = registry_event_add(reg, b->sid, j->actor, j->action, NULL,
		    j->has_detail ? j->detail : NULL, j->at);
		break;
	case REGQ_VIEWERS:
		r = registry_session_set_viewers(reg, b->sid, j->viewers);
		break;
	case REGQ_STATE:
		r = registry_session_set_state(reg, b->sid, j->state,
		    j->actor, j->has_detail ? j->detail : NULL, j->at);
		break;
	case REGQ_CHECK:
		/*
		 * What others spooled for this session while its broker runs
		 * (pam_tunl's login event, during a lock) is made here; the
		 * loop never writes the spool while a child runs.
		 */
		if (!j->at_start)
			regq_child_replay(b, reg);
		r = registry_session_get(reg, b->sid, &res.s);
		break;
	case REGQ_TOTAL:
		if ((r = registry_viewers_total(reg, &res.total)) == 0)
			r = registry_session_get(reg, b->sid, &res.s);
		break;
	default:
		r = TUNL_ERR_INTERNAL;
		break;
	}
	if (r != 0)
		tunl_strlcpy(res.msg, registry_errmsg(reg), sizeof(res.msg));
 out:
	registry_close(reg);
	res.r = r;
	/* Under PIPE_BUF: written whole or not at all. */
	if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(1);
	_exit(0);
}

/* Fork a child for j; its answer comes on *fdp. */
static pid_t
regq_fork(struct broker *b, const struct regq_job *j, int *fdp)
{
	int	 p[2];
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		regq_child(b, j, p[1]);
	}
	close(p[1]);
	*fdp = p[0];
	return pid;
}

/*
 * At start, before the loop: the session's row, read by a child while the
 * broker waits (it has nothing else to do yet).
 */
int
regq_read_session(struct broker *b, struct session *s, char *err,
    size_t errlen)
{
	struct regq_job		 j;
	struct regq_result	 res;
	struct pollfd		 pfd;
	size_t			 got = 0;
	ssize_t			 n;
	pid_t			 pid;
	int			 fd, st, r = -1;

	memset(&j, 0, sizeof(j));
	j.op = REGQ_CHECK;
	j.at_start = 1;
	if ((pid = regq_fork(b, &j, &fd)) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	while (got < sizeof(res)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			break;
		n = read(fd, (u_char *)&res + got, sizeof(res) - got);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (got != sizeof(res)) {
		snprintf(err, errlen, "the registry's reader died");
		return -1;
	}
	if (res.r != 0) {
		res.msg[sizeof(res.msg) - 1] = '\0';
		snprintf(err, errlen, "%s: %s", res.r == TUNL_ERR_NOT_FOUND ?
		    "no such session" : tunl_err(res.r), res.msg);
		return -1;
	}
	*s = res.s;
	r = 0;
	return r;
}

static int
regq_writes(enum regq_op op)
{
	return op == REGQ_EVENT || op == REGQ_STATE || op == REGQ_VIEWERS;
}

/*
 * A write that cannot be made now goes to the spool file. The viewer
 * count is not spooled: the reaper and the next broker reset it.
 */
static void
regq_spool(struct broker *b, const struct regq_job *j)
{
	struct spool_rec	 rec;
	int			 r;

	if (j->op != REGQ_EVENT && j->op != REGQ_STATE)
		return;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.magic, SPOOL_MAGIC, sizeof(rec.magic));
	rec.op = j->op == REGQ_EVENT ? SPOOL_EVENT : SPOOL_STATE;
	rec.state = (int32_t)j->state;
	rec.at = j->at;
	rec.has_detail = j->has_detail;
	tunl_strlcpy(rec.actor, j->actor, sizeof(rec.actor));
	tunl_strlcpy(rec.action, j->action, sizeof(rec.action));
	tunl_strlcpy(rec.detail, j->detail, sizeof(rec.detail));
	if ((r = spool_append(b->cfg.runtime_dir, b->sid, &rec)) != 0)
		error("registry %s %s: cannot spool it either: %s",
		    regq_name(j->op), j->op == REGQ_EVENT ? j->action :
		    session_state_name(j->state), strerror(errno));
	else
		b->spooled++;
}

/* At the end: every write still queued goes to the spool. */
void
regq_spool_all(struct broker *b)
{
	struct regq_job	*j;

	while ((j = TAILQ_FIRST(&b->regq)) != NULL) {
		TAILQ_REMOVE(&b->regq, j, entry);
		b->nregq--;
		regq_spool(b, j);
		free(j);
	}
	if (b->spooled > 0)
		info("registry: %u writes spooled for the next broker or the "
		    "reaper", b->spooled);
}

static struct regq_job *
regq_new(struct broker *b, enum regq_op op)
{
	struct regq_job	*j;

	if (b->nregq >= BROKER_REG_QUEUE && !regq_writes(op)) {
		error("registry: %u calls waiting; a %s refused", b->nregq,
		    regq_name(op));
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		error("registry: out of memory; a call dropped");
		return NULL;
	}
	j->op = op;
	j->at = (int64_t)time(NULL);
	return j;
}

static void
regq_push(struct broker *b, struct regq_job *j)
{
	/*
	 * Past the bound a write waits on disk, in order, instead; not while
	 * a child runs, which may be replaying the spool (it is then kept
	 * here, over the bound, until the next call).
	 */
	if (b->nregq >= BROKER_REG_QUEUE && regq_writes(j->op) &&
	    b->reg_pid == 0) {
		regq_spool(b, j);
		free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&b->regq, j, entry);
	b->nregq++;
}

static void
regq_text(struct regq_job *j, const char *actor, const char *detail)
{
	tunl_strlcpy(j->actor, actor, sizeof(j->actor));
	if (detail != NULL) {
		j->has_detail = 1;
		tunl_strlcpy(j->detail, detail, sizeof(j->detail));
	}
}

void
regq_event(struct broker *b, const char *actor, const char *action,
    const char *detail)
{
	struct regq_job	*j;

	if ((j = regq_new(b, REGQ_EVENT)) == NULL)
		return;
	regq_text(j, actor, detail);
	tunl_strlcpy(j->action, action, sizeof(j->action));
	regq_push(b, j);
}

void
regq_viewers(struct broker *b, u_int n)
{
	struct regq_job	*j;

	if ((j = regq_new(b, REGQ_VIEWERS)) == NULL)
		return;
	j->viewers = n;
	regq_push(b, j);
}

void
regq_state(struct broker *b, enum session_state state, const char *actor,
    const char *reason)
{
	struct regq_job	*j;

	if ((j = regq_new(b, REGQ_STATE)) == NULL)
		return;
	j->state = state;
	regq_text(j, actor, reason);
	regq_push(b, j);
}

/*
 * The session's row; serial names a peer whose hello waits for it.
 * Returns -1 if the call could not be queued.
 */
int
regq_check(struct broker *b, u_int serial)
{
	struct regq_job	*j;

	if ((j = regq_new(b, REGQ_CHECK)) == NULL)
		return -1;
	j->serial = serial;
	if (serial == 0)
		b->check_queued = 1;
	regq_push(b, j);
	return 0;
}

int
regq_total(struct broker *b, u_int serial)
{
	struct regq_job	*j;

	if ((j = regq_new(b, REGQ_TOTAL)) == NULL)
		return -1;
	j->serial = serial;
	regq_push(b, j);
	return 0;
}

/*
 * When the safety-net read of the session's row is next due: every
 * registry_recheck seconds, plus up to a quarter of that at random so that
 * brokers started together do not read together. Changes that matter come
 * by message (broker-control.c); this read only catches a message lost
 * (a writer that died between its commit and its message).
 */
int64_t
regq_recheck_ms(const struct broker *b)
{
	int64_t	 ms = (int64_t)b->cfg.registry_recheck * 1000;

	u_int32_t	 mix;

	/* Spread, not secrecy: the pid and the clock are enough. */
	mix = (u_int32_t)getpid() * 2654435761u ^ (u_int32_t)tunl_now_ms();
	return ms + (int64_t)(mix % (u_int32_t)(ms / 4 + 1));
}

int
regq_fd(const struct broker *b)
{
	return b->reg_pid != 0 ? b->reg_fd : -1;
}

int
regq_idle(const struct broker *b)
{
	return b->reg_pid == 0 && TAILQ_EMPTY(&b->regq);
}

/*
 * A call whose child died without answering (killed by its alarm, or
 * otherwise), or a write the registry was too busy for, is made again,
 * first in the queue: a read up to BROKER_REG_TRIES times in all, a write
 * until it lands (or the broker ends and spools it), each time after a
 * longer pause. A write the registry failed otherwise (TUNL_ERR_DB, or
 * TUNL_ERR_SYSTEM: it would not open) is made again up to
 * BROKER_REG_DB_TRIES times, then spooled (the viewer count is not:
 * the next write of it, the reaper or the next broker sets it).
 */
static int
regq_again(struct broker *b, struct regq_job *j)
{
	int	 died = b->reg_got != sizeof(b->reg_res);
	int	 failed = !died && regq_writes(j->op) &&
		    (b->reg_res.r == TUNL_ERR_DB ||
		    b->reg_res.r == TUNL_ERR_SYSTEM);
	int64_t	 pause;

	if (!died && b->reg_res.r != TUNL_ERR_BUSY && !failed)
		return 0;
	if (!regq_writes(j->op) && !died)
		return 0;
	j->tries++;
	if (!regq_writes(j->op) && j->tries >= BROKER_REG_TRIES)
		return 0;
	if (failed && j->tries >= BROKER_REG_DB_TRIES) {
		regq_spool(b, j);
		return 0;
	}
	pause = BROKER_REG_RETRY_MS;
	while (pause < BROKER_REG_RETRY_MAX_MS && (int64_t)j->tries > 1 &&
	    pause < ((int64_t)BROKER_REG_RETRY_MS << (j->tries - 1)))
		pause *= 2;
	if (pause > BROKER_REG_RETRY_MAX_MS)
		pause = BROKER_REG_RETRY_MAX_MS;
	j->not_before_ms = tunl_now_ms() + pause;
	if (j->tries == 1 || j->tries % 10 == 0)
		info("registry %s%s%s: %s; trying again (%u so far)",
		    regq_name(j->op), j->op == REGQ_EVENT ? " " : "",
		    j->op == REGQ_EVENT ? j->action : "", died ?
		    "its process died" : b->reg_res.msg[0] != '\0' ?
		    b->reg_res.msg : "the registry was busy", j->tries);
	TAILQ_INSERT_HEAD(&b->regq, j, entry);
	b->nregq++;
	return 1;
}

/* How long until the first queued call may run; -1 if none waits. */
int64_t
regq_wait_ms(const struct broker *b, int64_t now)
{
	const struct regq_job	*j;

	if (b->reg_pid != 0 || (j = TAILQ_FIRST(&b->regq)) == NULL)
		return -1;
	return j->not_before_ms > now ? j->not_before_ms - now : 0;
}

/*
 * Read the running child's answer if it is there, reap it if it has
 * exited, then start the next call. Never waits. Returns 1 while a child
 * has answered but has not yet exited (the loop looks again soon).
 */
int
regq_run(struct broker *b)
{
	struct regq_job	*j;
	ssize_t		 n;
	pid_t		 w;
	int		 st;

	for (;;) {
		if (b->reg_pid != 0 && b->reg_fd != -1) {
			n = read(b->reg_fd, (u_char *)&b->reg_res + b->reg_got,
			    sizeof(b->reg_res) - b->reg_got);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n > 0) {
				b->reg_got += (size_t)n;
				if (b->reg_got < sizeof(b->reg_res))
					continue;
			}
			close(b->reg_fd);
			b->reg_fd = -1;
			if (b->reg_got != sizeof(b->reg_res)) {
				memset(&b->reg_res, 0, sizeof(b->reg_res));
				b->reg_res.r = TUNL_ERR_INTERNAL;
				tunl_strlcpy(b->reg_res.msg, "the registry "
				    "call's process died",
				    sizeof(b->reg_res.msg));
			}
			b->reg_res.msg[sizeof(b->reg_res.msg) - 1] = '\0';
			j = b->reg_job;
			b->reg_job = NULL;
			debug("registry call %s: %lld ms", regq_name(j->op),
			    (long long)(tunl_now_ms() - b->reg_start_ms));
			if (regq_again(b, j))
				continue;
			if (j->op == REGQ_CHECK && j->serial == 0)
				b->check_queued = 0;
			session_registry_answer(b, j, &b->reg_res);
			free(j);
		}
		if (b->reg_pid != 0) {
			w = waitpid(b->reg_pid, &st, WNOHANG);
			if (w == 0)
				return 1;
			if (w == -1 && errno == EINTR)
				continue;
			if (w == b->reg_pid && WIFSIGNALED(st))
				error("registry call killed by signal %d",
				    WTERMSIG(st));
			b->reg_pid = 0;
		}
		if ((j = TAILQ_FIRST(&b->regq)) == NULL ||
		    j->not_before_ms > tunl_now_ms())
			return 0;
		TAILQ_REMOVE(&b->regq, j, entry);
		b->nregq--;
		memset(&b->reg_res, 0, sizeof(b->reg_res));
		b->reg_got = 0;
		b->reg_job = j;
		b->reg_start_ms = tunl_now_ms();
		if ((b->reg_pid = regq_fork(b, j, &b->reg_fd)) == -1) {
			/* Answered as a failure, like a locked database. */
			b->reg_pid = 0;
			b->reg_job = NULL;
			b->reg_res.r = TUNL_ERR_SYSTEM;
			snprintf(b->reg_res.msg, sizeof(b->reg_res.msg),
			    "fork: %s", strerror(errno));
			if (j->op == REGQ_CHECK && j->serial == 0)
				b->check_queued = 0;
			session_registry_answer(b, j, &b->reg_res);
			free(j);
		}
	}
}
