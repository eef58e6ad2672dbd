/*
 * broker-record.c: the session's asciicast v2 recording. What is recorded
 * is exactly what the consumers are sent: the producer's output after the
 * escape filter, and a resize event whenever the customer's size changes.
 * Keystrokes are never recorded. A write that fails is logged once and
 * recording stops; the session goes on.
 *
 * The loop writes each event with write(2), which is all a killed broker
 * needs: what write accepted is in the kernel. Making it durable against
 * a machine crash (fdatasync) is the sync thread's job, so that the loop
 * never waits for the disk (docs/recording.md, "Durability"). The thread
 * is made before the sandbox (the seccomp filter covers it too) and holds
 * a duplicate of the file's descriptor, so closing the recording can never
 * pull the descriptor from under a sync in progress. It syncs once the
 * file has CAST_SYNC_BYTES more, or CAST_SYNC_MS after the first byte not
 * yet synced, and once more when told to stop; then it closes its
 * descriptor and returns, and record_end joins it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#define RECORD_TRIES	100	/* <id>.cast, then <id>-2.cast ... */
#define RECORD_STACK	(128 * 1024)	/* the sync thread's stack */

struct record_sync {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* CLOCK_MONOTONIC */
	int		 fd;		/* the thread's own duplicate */
	/* Under lock: */
	off_t		 written;	/* the file's size, as the loop says */
	off_t		 synced;	/* covered by the last fdatasync */
	int64_t		 dirty_ms;	/* since when written > synced */
	int		 stop;		/* sync what is left, then return */
	int		 err;		/* errno of a failed fdatasync, or 0 */
	int		 reported;	/* err has been passed to the loop */
	int		 running;	/* the thread has started */
};

static int64_t
record_sync_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sync thread: every signal is blocked, it only syncs and waits. */
static void *
record_sync_main(void *arg)
{
	struct record_sync	*rs = arg;
	struct timespec		 until;
	off_t			 target;
	int64_t			 now, due;
	int			 rc, e, expired = 0;

	pthread_mutex_lock(&rs->lock);
	rs->running = 1;
	pthread_cond_broadcast(&rs->wake);
	for (;;) {
		if (rs->written <= rs->synced) {
			if (rs->stop)
				break;
			pthread_cond_wait(&rs->wake, &rs->lock);
			continue;
		}
		now = record_sync_now();
		due = rs->dirty_ms + CAST_SYNC_MS;
		if (!rs->stop && !expired && now < due &&
		    rs->written - rs->synced < CAST_SYNC_BYTES) {
			until.tv_sec = (time_t)(due / 1000);
			until.tv_nsec = (long)(due % 1000) * 1000000;
			/* Once the wait has run out, sync whatever now says. */
			expired = pthread_cond_timedwait(&rs->wake, &rs->lock,
			    &until) == ETIMEDOUT;
			continue;
		}
		/* Bytes written from here on wait for the next round. */
		target = rs->written;
		rs->dirty_ms = now;
		expired = 0;
		pthread_mutex_unlock(&rs->lock);
		do {
			rc = fdatasync(rs->fd);
		} while (rc == -1 && errno == EINTR);
		e = rc == -1 ? errno : 0;
		pthread_mutex_lock(&rs->lock);
		if (e != 0 && rs->err == 0)
			rs->err = e;
		rs->synced = target;
	}
	pthread_mutex_unlock(&rs->lock);
	close(rs->fd);
	rs->fd = -1;
	return NULL;
}

/*
 * Start the sync thread for b->rec, with every signal blocked in it (the
 * loop takes them) and a small stack. Before the sandbox: making a thread
 * is not among the calls the filter allows.
 */
static int
record_sync_start(struct broker *b)
{
	struct record_sync	*rs;
	pthread_condattr_t	 ca;
	pthread_attr_t		 ta;
	sigset_t		 all, old;
	int			 r = TUNL_ERR_SYSTEM, e, have_ca = 0, have_ta = 0;
	int			 have_lock = 0, have_cond = 0;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return TUNL_ERR_ALLOC;
	rs->fd = -1;
	if (pthread_mutex_init(&rs->lock, NULL) != 0)
		goto out;
	have_lock = 1;
	if (pthread_condattr_init(&ca) != 0)
		goto out;
	have_ca = 1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&rs->wake, &ca) != 0)
		goto out;
	have_cond = 1;
	if (pthread_attr_init(&ta) != 0)
		goto out;
	have_ta = 1;
	if (pthread_attr_setstacksize(&ta, RECORD_STACK) != 0)
		goto out;
	rs->written = rs->synced = cast_writer_size(b->rec);
	if ((r = cast_writer_sync_elsewhere(b->rec, &rs->fd)) != 0)
		goto out;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&rs->thread, &ta, record_sync_main, rs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		errno = e;
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	/*
	 * Wait until the thread runs: the C library's own start of a thread
	 * (rseq, robust futex list) must be over before the filter is
	 * loaded, as those calls are not allowed after.
	 */
	pthread_mutex_lock(&rs->lock);
	while (!rs->running)
		pthread_cond_wait(&rs->wake, &rs->lock);
	pthread_mutex_unlock(&rs->lock);
	b->recsync = rs;
	rs = NULL;
	r = 0;
 out:
	if (have_ta)
		pthread_attr_destroy(&ta);
	if (have_ca)
		pthread_condattr_destroy(&ca);
	if (rs != NULL) {
		/* The writer now leaves syncing to us: do it once here. */
		if (rs->fd != -1) {
			(void)fdatasync(rs->fd);
			close(rs->fd);
		}
		if (have_cond)
			pthread_cond_destroy(&rs->wake);
		if (have_lock)
			pthread_mutex_destroy(&rs->lock);
		free(rs);
	}
	return r;
}

/*
 * Tell the thread how far the file goes now; wake it when it has work it
 * did not know of (the first unsynced bytes, or enough of them). Returns
 * a sync error not yet reported, once.
 */
static int
record_sync_post(struct broker *b)
{
	struct record_sync	*rs = b->recsync;
	off_t			 size = cast_writer_size(b->rec);
	int			 wake = 0, e = 0;

	pthread_mutex_lock(&rs->lock);
	if (size > rs->written) {
		if (rs->written <= rs->synced) {
			rs->dirty_ms = record_sync_now();
			wake = 1;
		} else if (rs->written - rs->synced < CAST_SYNC_BYTES &&
		    size - rs->synced >= CAST_SYNC_BYTES)
			wake = 1;
		rs->written = size;
	}
	if (rs->err != 0 && !rs->reported) {
		rs->reported = 1;
		e = rs->err;
	}
	if (wake)
		pthread_cond_signal(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	if (e == 0)
		return 0;
	errno = e;
	return e == ENOSPC || e == EDQUOT || e == EFBIG ? TUNL_ERR_FULL :
	    TUNL_ERR_SYSTEM;
}

/* The thread syncs what is left, closes its descriptor and returns. */
static void
record_sync_stop(struct broker *b)
{
	struct record_sync	*rs = b->recsync;

	if (rs == NULL)
		return;
	pthread_mutex_lock(&rs->lock);
	rs->stop = 1;
	pthread_cond_signal(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
}

static double
record_time(const struct broker *b)
{
	return (double)(broker_now_ms() - b->start_ms) / 1000.0;
}

int
record_open(struct broker *b)
{
	struct cast_header	 h;
	char			 name[ID_LEN_MAX + 16];
	int			 i, r = TUNL_ERR_EXISTS;

	memset(&h, 0, sizeof(h));
	h.cols = 80;	/* until the producer says; then an "r" event */
	h.rows = 24;
	h.timestamp = (int64_t)time(NULL);
	tunl_strlcpy(h.session, b->sid, sizeof(h.session));
	tunl_strlcpy(h.case_ref, b->sess.case_ref, sizeof(h.case_ref));
	tunl_strlcpy(h.host, b->sess.host, sizeof(h.host));
	snprintf(h.title, sizeof(h.title), "tunl session %s", b->sid);
	for (i = 1; i <= RECORD_TRIES && r == TUNL_ERR_EXISTS; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "%s.cast", b->sid);
		else
			snprintf(name, sizeof(name), "%s-%d.cast", b->sid, i);
		r = cast_writer_open(b->cfg.recording_dir, name, b->relay_gid,
		    &h, &b->rec);
	}
	if (r != 0)
		return r;
	snprintf(b->recpath, sizeof(b->recpath), "%s/%s",
	    b->cfg.recording_dir, name);
	if ((r = record_sync_start(b)) != 0) {
		error_r(r, "recording %s: no sync thread: %s", b->recpath,
		    strerror(errno));
		(void)cast_writer_close(b->rec);
		b->rec = NULL;
		return r;
	}
	info("recording to %s", b->recpath);
	return 0;
}

static void
record_failed(struct broker *b, int r)
{
	if (r == TUNL_ERR_FULL)
		error("recording %s stopped: no room left (disk full, quota "
		    "or file size limit); the session goes on unrecorded",
		    b->recpath);
	else
		error_r(r, "recording %s stopped; the session goes on "
		    "unrecorded", b->recpath);
	session_event(b, "broker", "recording-stopped",
	    r == TUNL_ERR_FULL ? "no room left" : tunl_err(r));
	session_notice_consumers(b, "tunl: the recording stopped (see the "
	    "relay's log); this session is no longer recorded");
	(void)cast_writer_close(b->rec);
	b->rec = NULL;
	b->rec_failed = 1;
	record_sync_stop(b);
}

void
record_output(struct broker *b, const u_char *data, size_t len)
{
	int	 r;

	if (b->rec == NULL || len == 0)
		return;
	if ((r = cast_writer_output(b->rec, record_time(b), data, len)) != 0 ||
	    (r = record_sync_post(b)) != 0)
		record_failed(b, r);
}

void
record_resize(struct broker *b, u_int cols, u_int rows)
{
	int	 r;

	if (b->rec == NULL)
		return;
	if ((r = cast_writer_resize(b->rec, record_time(b), cols, rows)) != 0 ||
	    (r = record_sync_post(b)) != 0)
		record_failed(b, r);
}

void
record_close(struct broker *b)
{
	int	 r;

	if (b->rec == NULL)
		return;
	if ((r = cast_writer_close(b->rec)) != 0)
		error_r(r, "closing recording %s", b->recpath);
	b->rec = NULL;
	/* Not waited for here: the loop may still have peers to finish. */
	record_sync_stop(b);
}

/*
 * At exit, on every path once the recording is open: close it if that
 * has not happened, then wait for the sync thread's last fdatasync and
 * join it. Nothing of the recording is left open or running after this.
 */
void
record_end(struct broker *b)
{
	struct record_sync	*rs = b->recsync;
	int			 e;

	record_close(b);
	if (rs == NULL)
		return;
	record_sync_stop(b);
	if ((e = pthread_join(rs->thread, NULL)) != 0)
		error("recording sync thread: %s", strerror(e));
	else if (rs->err != 0 && !rs->reported)
		error("recording %s: fdatasync: %s", b->recpath,
		    strerror(rs->err));
	pthread_cond_destroy(&rs->wake);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
	b->recsync = NULL;
}
