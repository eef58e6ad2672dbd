/*
 * broker-record.c: the session's asciicast v2 recording. What is recorded
 * is exactly what the consumers are sent: the producer's output after the
 * escape filter, and a resize event whenever the customer's size changes.
 * Keystrokes are never recorded.
 *
 * A write refused for room or by the device (ENOSPC, EDQUOT, EFBIG, EIO)
 * does not stop the recording: the writer keeps the event it could not
 * write and what follows, and tries that event again every
 * RECORD_RETRY_MS (a timed wait, not a loop). Meanwhile the loop holds
 * the producer as for a slow disk, so output is paused rather than let
 * through unrecorded; it refuses engineers' keys (record_paused), and
 * everybody is told. Once a retry succeeds the recording goes on from the
 * same byte, with a marker saying how long it waited. Any other failure,
 * or a full disk still full when the session ends, is logged once and
 * recording stops.
 *
 * The loop never formats or writes the file itself (docs/broker.md, "The
 * recording's threads"). It copies each event, with its time, into chunks
 * of RECORD_CHUNK bytes and queues them for the writer thread, which
 * escapes them into asciicast lines and writes them (lib/cast.c). A third
 * thread makes the file durable (fdatasync) once it has CAST_SYNC_BYTES
 * more, or CAST_SYNC_MS after the first byte not yet synced, and once more
 * at the end, on a duplicate of the file's descriptor that it alone closes.
 *
 * If the writer falls behind (a slow disk) and RECORD_HIGH bytes wait for
 * it, the loop stops reading the producer (record_flush says so) and polls
 * a pipe the writer wakes it by once it takes them: the producer waits,
 * consumers never do. Only a queue at its hard bound, which one wake-up's
 * output cannot reach from RECORD_HIGH, would make the loop wait for the
 * writer itself. Emptied chunks go back to a small pool; the loop frees
 * the rest, so a burst's memory goes back (tunl-broker.c maps large
 * blocks on their own).
 *
 * Both threads are made before the sandbox (the seccomp filter covers
 * them) with every signal blocked; they make no system call the loop does
 * not make already. Neither allocates, frees or closes anything while the
 * loop runs: the cast writer's line is reserved whole before the writer
 * starts, the writer leaves chunks past the pool for the loop to free, and
 * the file is closed by record_free once the writer is joined. So a fork
 * for a registry call never catches these threads inside an allocator
 * (broker-registry.c gives a child that hangs anyway a deadline).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#define RECORD_TRIES	100	/* <id>.cast, then <id>-2.cast ... */
#define RECORD_STACK	(128 * 1024)	/* each thread's stack */
#define RECORD_CHUNK	(128 * 1024)	/* events are queued in these */
#define RECORD_POST	(32 * 1024)	/* a chunk this full is queued */
#define RECORD_POST_MS	5		/* ...and any other this late */
#define RECORD_HIGH	(1024 * 1024)	/* queued: the producer waits */
#define RECORD_QUEUE_MAX (RECORD_HIGH + 8 * 1024 * 1024)	/* hard */
#define RECORD_SPARES	16		/* emptied chunks kept, at most */
#define RECORD_STALL_MS	5000		/* held this long: say so */
#define RECORD_RETRY_MS	1000		/* a refused write, again after */

/* One event in a chunk: this, then len bytes of output for an 'o'. */
struct record_ev {
	double		 t;
	u_int32_t	 len;
	u_int32_t	 cols;
	u_int32_t	 rows;
	u_char		 type;		/* 'o', 'r' or 'm' (len: label) */
};

struct record_chunk {
	TAILQ_ENTRY(record_chunk) entry;
	size_t		 used;
	u_char		 data[RECORD_CHUNK];
};
TAILQ_HEAD(record_chunks, record_chunk);

struct recorder {
	/* The loop's alone. */
	struct record_chunk *fill;	/* being filled; NULL: none yet */
	int64_t		 fill_ms;	/* its first event */
	int		 on;		/* events are taken */
	int		 waits;		/* the producer is held for us */
	int64_t		 waits_ms;	/* since when */
	int		 stalled;	/* RECORD_STALL_MS of it, told */
	u_int64_t	 held;		/* times it was */
	int		 paused;	/* the writer retries: told */
	int		 why;		/* its errno */
	int64_t		 paused_ms;	/* since when */
	u_int		 pauses;	/* times it was (record_pause_serial) */

	/* The writer thread's alone while it runs; then the loop's. */
	struct cast_writer *w;
	int		 wfailed;	/* a write failed: w takes no more */

	/* The sync thread's alone. */
	int		 syncfd;

	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* the writer waits on it */
	pthread_cond_t	 room;		/* the loop waits on it */
	pthread_cond_t	 wake;		/* the sync thread; CLOCK_MONOTONIC */
	pthread_t	 writer;
	pthread_t	 syncer;
	int		 have_writer;
	int		 have_syncer;
	int		 wakefd[2];	/* writer -> loop: the queue is taken */

	/* Under lock. */
	struct record_chunks queued;	/* for the writer, in order */
	size_t		 nqueued;	/* bytes in them */
	struct record_chunks spares;	/* emptied, for the loop */
	u_int		 nspares;
	struct record_chunks spent;	/* emptied, past the pool: the loop
					   frees them */
	int		 waiting;	/* the loop polls wakefd[0] */
	int		 stop_writer;	/* write what is queued, then end */
	int		 stop_sync;	/* sync what is left, then end */
	int		 again;		/* one more sync, whatever the sizes */
	int		 wrunning;
	int		 srunning;
	int		 err;		/* the first failure (TUNL_ERR_*) */
	int		 err_errno;
	int		 full;		/* a write was refused; retrying */
	int		 full_errno;	/* why */
	size_t		 lost;		/* bytes never written, at the end */
	int		 reported;	/* err has been passed to the loop */
	off_t		 written;	/* the file's size, as the writer says */
	off_t		 synced;	/* covered by the last fdatasync */
	int64_t		 dirty_ms;	/* since when written > synced */
};

/* Under lock: keep the first failure. */
static void
record_error_locked(struct recorder *rs, int r, int e)
{
	if (rs->err == 0) {
		rs->err = r;
		rs->err_errno = e;
	}
}

static int
record_errno_code(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG ? TUNL_ERR_FULL :
	    TUNL_ERR_SYSTEM;
}

/* ---- the sync thread ----------------------------------------------------- */

static void *
record_sync_main(void *arg)
{
	struct recorder	*rs = arg;
	struct timespec	 until;
	off_t		 target;
	int64_t		 now, due;
	int		 rc, e, expired = 0;

	/* Named for top -H and for tests that find it; before the filter. */
	(void)pthread_setname_np(pthread_self(), "tunl-rec-sync");
	pthread_mutex_lock(&rs->lock);
	rs->srunning = 1;
	pthread_cond_broadcast(&rs->room);
	for (;;) {
		if (rs->written <= rs->synced && !rs->again) {
			if (rs->stop_sync)
				break;
			pthread_cond_wait(&rs->wake, &rs->lock);
			continue;
		}
		now = tunl_now_ms();
		due = rs->dirty_ms + CAST_SYNC_MS;
		if (!rs->stop_sync && !rs->again && !expired && now < due &&
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
		rs->again = 0;
		rs->dirty_ms = now;
		expired = 0;
		pthread_mutex_unlock(&rs->lock);
		do {
			rc = fdatasync(rs->syncfd);
		} while (rc == -1 && errno == EINTR);
		e = rc == -1 ? errno : 0;
		pthread_mutex_lock(&rs->lock);
		if (e != 0)
			record_error_locked(rs, record_errno_code(e), e);
		rs->synced = target;
	}
	pthread_mutex_unlock(&rs->lock);
	close(rs->syncfd);
	rs->syncfd = -1;
	return NULL;
}

/*
 * Under lock: the file now goes to size; wake the sync thread when it has
 * work it did not know of (the first unsynced bytes, or enough of them).
 */
static void
record_written_locked(struct recorder *rs, off_t size)
{
	if (size <= rs->written)
		return;
	if (rs->written <= rs->synced) {
		rs->dirty_ms = tunl_now_ms();
		pthread_cond_signal(&rs->wake);
	} else if (rs->written - rs->synced < CAST_SYNC_BYTES &&
	    size - rs->synced >= CAST_SYNC_BYTES)
		pthread_cond_signal(&rs->wake);
	rs->written = size;
}

/* ---- the writer thread --------------------------------------------------- */

/*
 * The events of a chunk, in order, into the file, from the event at *pos
 * and *took bytes into its output. On a refused write both say where to go
 * on from once cast_writer_retry has written the event owed.
 */
static int
record_write_chunk(struct cast_writer *w, const struct record_chunk *ch,
    size_t *pos, size_t *took)
{
	const u_char		*p;
	size_t			 left, n;
	struct record_ev	 ev;
	char			 label[CAST_MARKER_MAX + 1];
	int			 r;

	while (*pos < ch->used) {
		p = ch->data + *pos;
		left = ch->used - *pos;
		if (left < sizeof(ev))
			return TUNL_ERR_INTERNAL;
		memcpy(&ev, p, sizeof(ev));
		p += sizeof(ev);
		left -= sizeof(ev);
		if ((ev.type == 'o' || ev.type == 'm') && ev.len > left)
			return TUNL_ERR_INTERNAL;
		if (ev.type == 'o') {
			if (*took > ev.len)
				return TUNL_ERR_INTERNAL;
			n = 0;
			r = cast_writer_output_part(w, ev.t, p + *took,
			    ev.len - *took, &n);
			if (r != 0) {
				*took += n;
				return r;
			}
		} else if (ev.type == 'r')
			r = cast_writer_resize(w, ev.t, ev.cols, ev.rows);
		else if (ev.type == 'm') {
			if (ev.len > CAST_MARKER_MAX)
				return TUNL_ERR_INTERNAL;
			memcpy(label, p, ev.len);
			label[ev.len] = '\0';
			r = cast_writer_marker(w, ev.t, label);
		} else
			return TUNL_ERR_INTERNAL;
		/* Done, or owed whole (cast_writer_retry): the next one. */
		*pos += sizeof(ev) + (ev.type == 'r' ? 0 : ev.len);
		*took = 0;
		if (r != 0)
			return r;
	}
	return 0;
}

/* A refused write that a retry may get through: room, quota, device. */
static int
record_retryable(struct cast_writer *w, int r, int e)
{
	if (!cast_writer_owed(w))
		return 0;
	return r == TUNL_ERR_FULL || (r == TUNL_ERR_SYSTEM && e == EIO);
}

/* Wake the loop, which polls wakefd[0] (record_fd). */
static void
record_kick_locked(struct recorder *rs)
{
	ssize_t	 n;

	rs->waiting = 0;
	do {
		n = write(rs->wakefd[1], "w", 1);
	} while (n == -1 && errno == EINTR);
	/* EAGAIN: the pipe holds wake-ups already, which is enough. */
}

/* ...while its producer waits for us. */
static void
record_wake_loop_locked(struct recorder *rs)
{
	if (rs->waiting)
		record_kick_locked(rs);
}

/* Under lock: the bytes of events in a list. */
static size_t
record_list_bytes(const struct record_chunks *list)
{
	const struct record_chunk	*ch;
	size_t				 n = 0;

	TAILQ_FOREACH(ch, list, entry)
		n += ch->used;
	return n;
}

static void
record_free_chunks(struct record_chunks *list)
{
	struct record_chunk	*ch;

	while ((ch = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, ch, entry);
		free(ch);
	}
}

/* Under lock: chunks the writer is done with go back to the pool. */
static void
record_recycle_locked(struct recorder *rs, struct record_chunks *done)
{
	struct record_chunk	*ch;

	/* A few go back to the pool; the loop frees the rest. */
	while ((ch = TAILQ_FIRST(done)) != NULL) {
		TAILQ_REMOVE(done, ch, entry);
		ch->used = 0;
		if (rs->nspares < RECORD_SPARES) {
			TAILQ_INSERT_TAIL(&rs->spares, ch, entry);
			rs->nspares++;
		} else
			TAILQ_INSERT_TAIL(&rs->spent, ch, entry);
	}
}

/* Under lock: wait RECORD_RETRY_MS, or less if told to stop. */
static void
record_retry_wait_locked(struct recorder *rs)
{
	struct timespec	 until;
	int64_t		 due = tunl_now_ms() + RECORD_RETRY_MS;

	until.tv_sec = (time_t)(due / 1000);
	until.tv_nsec = (long)(due % 1000) * 1000000;
	while (!rs->stop_writer &&
	    pthread_cond_timedwait(&rs->work, &rs->lock, &until) != ETIMEDOUT)
		;
}

static void *
record_writer_main(void *arg)
{
	struct recorder		*rs = arg;
	struct record_chunks	 work, done;
	struct record_chunk	*ch;
	off_t			 size = 0;
	size_t			 pos = 0, took = 0;
	int			 failed, r, e;

	TAILQ_INIT(&work);
	TAILQ_INIT(&done);
	(void)pthread_setname_np(pthread_self(), "tunl-rec-write");
	pthread_mutex_lock(&rs->lock);
	rs->wrunning = 1;
	pthread_cond_broadcast(&rs->room);
	for (;;) {
		if (TAILQ_EMPTY(&work)) {
			if (TAILQ_EMPTY(&rs->queued)) {
				if (rs->stop_writer)
					break;
				pthread_cond_wait(&rs->work, &rs->lock);
				continue;
			}
			TAILQ_CONCAT(&work, &rs->queued, entry);
			rs->nqueued = 0;
			pos = took = 0;
			record_wake_loop_locked(rs);
			pthread_cond_signal(&rs->room);
		}
		failed = rs->err != 0 || rs->wfailed;
		pthread_mutex_unlock(&rs->lock);

		r = e = 0;
		if (failed)
			TAILQ_CONCAT(&done, &work, entry);
		else {
			/* An event owed since a refused write goes first. */
			if ((r = cast_writer_retry(rs->w)) != 0)
				e = errno;
			while (r == 0 && (ch = TAILQ_FIRST(&work)) != NULL) {
				if ((r = record_write_chunk(rs->w, ch, &pos,
				    &took)) != 0) {
					e = errno;
					break;
				}
				TAILQ_REMOVE(&work, ch, entry);
				TAILQ_INSERT_TAIL(&done, ch, entry);
				pos = took = 0;
			}
			size = cast_writer_size(rs->w);
		}

		pthread_mutex_lock(&rs->lock);
		if (!failed)
			record_written_locked(rs, size);
		if (r != 0 && record_retryable(rs->w, r, e) &&
		    !(rs->full && rs->stop_writer)) {
			/* Kept, in order: tried again, the loop told. */
			if (!rs->full) {
				rs->full = 1;
				rs->full_errno = e;
				record_kick_locked(rs);
			}
			record_recycle_locked(rs, &done);
			record_retry_wait_locked(rs);
			continue;
		}
		if (r != 0) {
			/* The file stays what it is: whole lines. */
			rs->wfailed = 1;
			rs->lost += record_list_bytes(&work);
			TAILQ_CONCAT(&done, &work, entry);
			record_error_locked(rs, r, r == TUNL_ERR_FULL ||
			    r == TUNL_ERR_SYSTEM ? e : 0);
			rs->stop_sync = 1;
			pthread_cond_signal(&rs->wake);
		}
		if (rs->full) {
			rs->full = 0;
			record_kick_locked(rs);
		}
		record_recycle_locked(rs, &done);
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

/* ---- setup and teardown ------------------------------------------------- */

/*
 * A thread with every signal blocked (the loop takes them) and a small
 * stack; returns once it runs, as the C library's own start of a thread
 * (rseq, robust futex list) must be over before the filter is loaded.
 */
static int
record_thread(struct recorder *rs, pthread_t *t, void *(*fn)(void *),
    int *running)
{
	pthread_attr_t	 ta;
	sigset_t	 all, old;
	int		 e;

	if ((e = pthread_attr_init(&ta)) != 0)
		goto fail;
	if ((e = pthread_attr_setstacksize(&ta, RECORD_STACK)) != 0) {
		pthread_attr_destroy(&ta);
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, &ta, fn, rs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (e != 0)
		goto fail;
	pthread_mutex_lock(&rs->lock);
	while (!*running)
		pthread_cond_wait(&rs->room, &rs->lock);
	pthread_mutex_unlock(&rs->lock);
	return 0;
 fail:
	errno = e;
	return TUNL_ERR_SYSTEM;
}

/* Stop and join what runs, close and free the rest. */
static void
record_free(struct broker *b, struct recorder *rs)
{
	int	 r, e;

	pthread_mutex_lock(&rs->lock);
	rs->stop_writer = 1;
	pthread_cond_signal(&rs->work);
	pthread_mutex_unlock(&rs->lock);
	if (rs->have_writer &&
	    (e = pthread_join(rs->writer, NULL)) != 0)
		error("recording writer thread: %s", strerror(e));
	/*
	 * The writer is done: close the file here (a character held back
	 * is written as U+FFFD), then the sync thread's last round, which
	 * covers that line too.
	 */
	if (rs->w != NULL) {
		if ((r = cast_writer_close(rs->w)) != 0 && !rs->wfailed) {
			e = errno;
			pthread_mutex_lock(&rs->lock);
			record_error_locked(rs, r, e);
			pthread_mutex_unlock(&rs->lock);
		}
		rs->w = NULL;
	}
	pthread_mutex_lock(&rs->lock);
	rs->again = 1;
	rs->stop_sync = 1;
	pthread_cond_signal(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	if (rs->have_syncer &&
	    (e = pthread_join(rs->syncer, NULL)) != 0)
		error("recording sync thread: %s", strerror(e));
	if (rs->err != 0 && !rs->reported) {
		errno = rs->err_errno;
		error_r(rs->err, "recording %s", b->recpath);
	}
	if (rs->lost > 0)
		error("recording %s: the session ended with at most %zu bytes "
		    "of events the disk never took; the recording ends before "
		    "them", b->recpath, rs->lost);
	if (rs->syncfd != -1) {
		(void)fdatasync(rs->syncfd);
		close(rs->syncfd);
	}
	if (rs->wakefd[0] != -1)
		close(rs->wakefd[0]);
	if (rs->wakefd[1] != -1)
		close(rs->wakefd[1]);
	free(rs->fill);
	record_free_chunks(&rs->queued);
	record_free_chunks(&rs->spares);
	record_free_chunks(&rs->spent);
	pthread_cond_destroy(&rs->work);
	pthread_cond_destroy(&rs->room);
	pthread_cond_destroy(&rs->wake);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static double
record_time(const struct broker *b)
{
	return (double)(tunl_now_ms() - b->start_ms) / 1000.0;
}

/* The file, its header, both threads; before the sandbox. */
int
record_open(struct broker *b)
{
	struct cast_header	 h;
	struct cast_writer	*w = NULL;
	struct recorder		*rs = NULL;
	pthread_condattr_t	 ca;
	char			 name[ID_LEN_MAX + 16];
	int			 i, r = TUNL_ERR_EXISTS, have_ca = 0;

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
		r = cast_writer_open(b->cfg.recording_dir, name, b->recording_gid,
		    &h, &w);
	}
	if (r != 0)
		return r;
	snprintf(b->recpath, sizeof(b->recpath), "%s/%s",
	    b->cfg.recording_dir, name);

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		(void)cast_writer_close(w);
		return TUNL_ERR_ALLOC;
	}
	rs->w = w;
	rs->syncfd = rs->wakefd[0] = rs->wakefd[1] = -1;
	TAILQ_INIT(&rs->queued);
	TAILQ_INIT(&rs->spares);
	TAILQ_INIT(&rs->spent);
	if (pthread_mutex_init(&rs->lock, NULL) != 0) {
		(void)cast_writer_close(w);
		free(rs);
		return TUNL_ERR_SYSTEM;
	}
	r = TUNL_ERR_SYSTEM;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_lock;
	have_ca = 1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&rs->wake, &ca) != 0)
		goto fail_lock;
	if (pthread_cond_init(&rs->work, &ca) != 0) {
		pthread_cond_destroy(&rs->wake);
		goto fail_lock;
	}
	if (pthread_cond_init(&rs->room, NULL) != 0) {
		pthread_cond_destroy(&rs->work);
		pthread_cond_destroy(&rs->wake);
		goto fail_lock;
	}
	pthread_condattr_destroy(&ca);
	have_ca = 0;
	/* From here on record_free undoes everything. */

	if (pipe2(rs->wakefd, O_NONBLOCK | O_CLOEXEC) == -1)
		goto fail;
	rs->written = rs->synced = cast_writer_size(w);
	/* The writer thread never allocates: its line is made whole now. */
	if ((r = cast_writer_reserve(w)) != 0 ||
	    (r = cast_writer_sync_elsewhere(w, &rs->syncfd)) != 0)
		goto fail;
	/* Landlock binds only threads made after it (broker-confine.c). */
	if ((r = confine_landlock(b)) != 0)
		goto fail;
	if ((r = record_thread(rs, &rs->syncer, record_sync_main,
	    &rs->srunning)) != 0)
		goto fail;
	rs->have_syncer = 1;
	if ((r = record_thread(rs, &rs->writer, record_writer_main,
	    &rs->wrunning)) != 0)
		goto fail;
	rs->have_writer = 1;
	rs->on = 1;
	b->rec = rs;
	info("recording to %s", b->recpath);
	return 0;

 fail:
	error_r(r, "recording %s: %s", b->recpath, strerror(errno));
	record_free(b, rs);
	return r;
 fail_lock:
	if (have_ca)
		pthread_condattr_destroy(&ca);
	error_r(r, "recording %s: %s", b->recpath, strerror(errno));
	pthread_mutex_destroy(&rs->lock);
	(void)cast_writer_close(w);
	free(rs);
	return r;
}

/* ---- the loop's side ----------------------------------------------------- */

/* A notice to every engineer and to the customer. */
static void
record_tell(struct broker *b, const char *msg)
{
	session_notice_consumers(b, msg);
	if (b->producer != NULL && !b->producer->dead &&
	    !b->producer->closing)
		peer_send_text(b->producer, FRAME_NOTICE, "%s", msg);
}

static void
record_failed(struct broker *b, int r)
{
	struct recorder	*rs = b->rec;

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
	b->rec_failed = 1;
	rs->on = 0;
	rs->waits = 0;
	pthread_mutex_lock(&rs->lock);
	rs->waiting = 0;
	rs->stop_writer = 1;
	pthread_cond_signal(&rs->work);
	pthread_mutex_unlock(&rs->lock);
}

/*
 * The producer held for the recording RECORD_STALL_MS and more: the disk
 * has stopped keeping up. Say so once (log, registry, every engineer), and
 * once more when it has caught up.
 */
static void
record_stall(struct broker *b, int64_t now)
{
	struct recorder	*rs = b->rec;
	char		 detail[64];

	if (rs->waits && !rs->stalled &&
	    now - rs->waits_ms >= RECORD_STALL_MS) {
		rs->stalled = 1;
		error("recording %s: the disk has not kept up for %d s; the "
		    "customer's output waits for it", b->recpath,
		    RECORD_STALL_MS / 1000);
		session_event(b, "broker", "recording-stalled",
		    "disk not keeping up");
		session_notice_consumers(b, "tunl: the relay's recording disk "
		    "is not keeping up; output is paused until it does");
	} else if (!rs->waits && rs->stalled) {
		rs->stalled = 0;
		snprintf(detail, sizeof(detail), "after %lld s",
		    (long long)((now - rs->waits_ms) / 1000));
		info("recording %s: the disk caught up %s", b->recpath,
		    detail);
		session_event(b, "broker", "recording-resumed", detail);
		session_notice_consumers(b, "tunl: the recording caught up; "
		    "output goes on");
	}
}

static const char *
record_pause_why(int e)
{
	switch (e) {
	case ENOSPC:
		return "disk full";
	case EDQUOT:
		return "quota reached";
	case EFBIG:
		return "file size limit";
	case EIO:
		return "I/O error";
	}
	return "write refused";
}

/*
 * The writer could not write and retries: output is paused (record_flush
 * holds the producer), engineers' keys are refused (record_paused), and
 * everybody is told once; and again once it has got through.
 */
static void
record_pause(struct broker *b, int full, int e, int64_t now)
{
	struct recorder	*rs = b->rec;
	char		 msg[256], label[CAST_MARKER_MAX];
	const char	*why;

	if (full && !rs->paused) {
		why = record_pause_why(e);
		rs->paused = 1;
		rs->paused_ms = now;
		rs->pauses++;
		rs->why = e;
		/* This supersedes a slow disk's notice. */
		rs->stalled = 0;
		error("recording %s: %s (%s); output is paused and the session "
		    "read-only until it can be written; retrying every %d s",
		    b->recpath, why, strerror(e), RECORD_RETRY_MS / 1000);
		session_event(b, "broker", "recording-stalled", why);
		snprintf(msg, sizeof(msg), "tunl: the relay's recording disk "
		    "cannot be written (%s): output is paused and the session "
		    "is read-only until there is room", why);
		record_tell(b, msg);
	} else if (!full && rs->paused) {
		why = record_pause_why(rs->why);
		rs->paused = 0;
		snprintf(label, sizeof(label), "tunl: the recording could not "
		    "be written for %lld s (%s); output was paused, nothing is "
		    "missing", (long long)((now - rs->paused_ms) / 1000), why);
		info("recording %s: written again after %lld s (%s)",
		    b->recpath, (long long)((now - rs->paused_ms) / 1000), why);
		snprintf(msg, sizeof(msg), "after %lld s, %s",
		    (long long)((now - rs->paused_ms) / 1000), why);
		session_event(b, "broker", "recording-resumed", msg);
		record_marker(b, label);
		record_tell(b, "tunl: the relay's recording disk has room "
		    "again: output goes on and engineers may type again");
	}
}

/* Under lock: the chunk being filled goes to the writer. */
static void
record_queue_locked(struct recorder *rs)
{
	if (rs->fill == NULL || rs->fill->used == 0)
		return;
	rs->nqueued += rs->fill->used;
	TAILQ_INSERT_TAIL(&rs->queued, rs->fill, entry);
	rs->fill = NULL;
	pthread_cond_signal(&rs->work);
}

/*
 * Once per turn of the loop: hand over what was gathered, report a failure
 * of either thread (once), and say whether the producer must wait because
 * RECORD_HIGH bytes wait for the writer; then record_fd is what to poll.
 * A chunk is queued once it holds RECORD_POST bytes or its first event is
 * RECORD_POST_MS old (record_wait_ms says when), so that a busy loop does
 * not wake the writer for every few bytes.
 */
int
record_flush(struct broker *b, int64_t now)
{
	struct recorder		*rs = b->rec;
	struct record_chunks	 spent;
	size_t			 n;
	int			 r = 0, e = 0, hold, full, full_errno;

	if (rs == NULL || !rs->on)
		return 0;
	TAILQ_INIT(&spent);
	pthread_mutex_lock(&rs->lock);
	if (rs->fill != NULL && (rs->fill->used >= RECORD_POST ||
	    now - rs->fill_ms >= RECORD_POST_MS))
		record_queue_locked(rs);
	TAILQ_CONCAT(&spent, &rs->spent, entry);
	n = rs->nqueued;
	full = rs->full;
	full_errno = rs->full_errno;
	/* A refused write: nothing more is taken until it gets through. */
	hold = n >= RECORD_HIGH || full;
	rs->waiting = hold;
	if (rs->err != 0 && !rs->reported) {
		rs->reported = 1;
		r = rs->err;
		e = rs->err_errno;
	}
	pthread_mutex_unlock(&rs->lock);
	record_free_chunks(&spent);
	if (r != 0) {
		errno = e;
		record_failed(b, r);
		return 0;
	}
	if (hold && !rs->waits) {
		rs->held++;
		rs->waits_ms = now;
		debug("recording: %zu bytes wait for the writer; the producer "
		    "waits", n);
	}
	rs->waits = hold;
	record_pause(b, full, full_errno, now);
	if (!rs->paused)
		record_stall(b, now);
	return hold;
}

/* How long the loop may wait before record_flush has a chunk to queue. */
int64_t
record_wait_ms(const struct broker *b, int64_t now)
{
	const struct recorder	*rs = b->rec;
	int64_t			 left;

	if (rs == NULL || !rs->on || rs->fill == NULL || rs->fill->used == 0)
		return -1;
	left = rs->fill_ms + RECORD_POST_MS - now;
	return left < 0 ? 0 : left;
}

/*
 * What the loop polls while the recording is on: the writer wakes it when
 * it has taken the queue the producer waits for, and when a write is
 * refused or gets through again.
 */
int
record_fd(const struct broker *b)
{
	return b->rec != NULL && b->rec->on ? b->rec->wakefd[0] : -1;
}

/*
 * Nonzero while the recording cannot be written: engineers' keys are
 * refused. The number changes with every such pause.
 */
u_int
record_paused(const struct broker *b)
{
	return b->rec != NULL && b->rec->on && b->rec->paused ?
	    b->rec->pauses : 0;
}

/* record_fd was readable: empty the pipe (the next flush queues). */
void
record_woken(struct broker *b)
{
	char	 tmp[64];
	ssize_t	 n;

	if (b->rec == NULL)
		return;
	do {
		n = read(b->rec->wakefd[0], tmp, sizeof(tmp));
	} while (n > 0 || (n == -1 && errno == EINTR));
}

/*
 * A chunk with room for at least one event header and a byte: the one
 * being filled, or a new one once that is queued. Past RECORD_HIGH the
 * loop stops reading the producer, so this waits for the writer only if a
 * single wake-up's output took the queue to its hard bound.
 */
static int
record_chunk(struct recorder *rs)
{
	struct record_chunk	*ch = NULL;

	if (rs->fill != NULL &&
	    RECORD_CHUNK - rs->fill->used > sizeof(struct record_ev))
		return 0;
	pthread_mutex_lock(&rs->lock);
	record_queue_locked(rs);
	while (rs->nqueued >= RECORD_QUEUE_MAX && rs->err == 0 && !rs->full)
		pthread_cond_wait(&rs->room, &rs->lock);
	if ((ch = TAILQ_FIRST(&rs->spares)) != NULL) {
		TAILQ_REMOVE(&rs->spares, ch, entry);
		rs->nspares--;
	}
	pthread_mutex_unlock(&rs->lock);
	if (ch == NULL && (ch = malloc(sizeof(*ch))) == NULL)
		return TUNL_ERR_ALLOC;
	ch->used = 0;
	rs->fill = ch;
	return 0;
}

/* ev, then len bytes of data, in as many pieces as the chunks need. */
static void
record_event(struct broker *b, struct record_ev *ev, const u_char *data,
    size_t len)
{
	struct recorder	*rs = b->rec;
	size_t		 room, n;
	int		 r;

	do {
		if ((r = record_chunk(rs)) != 0) {
			record_failed(b, r);
			return;
		}
		if (rs->fill->used == 0)
			rs->fill_ms = tunl_now_ms();
		room = RECORD_CHUNK - rs->fill->used - sizeof(*ev);
		n = len < room ? len : room;
		if (ev->type == 'm' && n < len) {
			/* A label is never cut: a new chunk. */
			pthread_mutex_lock(&rs->lock);
			record_queue_locked(rs);
			pthread_mutex_unlock(&rs->lock);
			continue;
		}
		if (ev->type == 'o' || ev->type == 'm')
			ev->len = (u_int32_t)n;
		memcpy(rs->fill->data + rs->fill->used, ev, sizeof(*ev));
		rs->fill->used += sizeof(*ev);
		if (n > 0) {
			memcpy(rs->fill->data + rs->fill->used, data, n);
			rs->fill->used += n;
			data += n;
			len -= n;
		}
	} while (len > 0);
}

void
record_output(struct broker *b, const u_char *data, size_t len)
{
	struct record_ev	 ev;

	if (b->rec == NULL || !b->rec->on || len == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = 'o';
	ev.t = record_time(b);
	record_event(b, &ev, data, len);
}

/* A marker event: what happened to the recording here (record-gap.c). */
void
record_marker(struct broker *b, const char *label)
{
	struct record_ev	 ev;
	size_t			 len = strlen(label);

	if (b->rec == NULL || !b->rec->on || len > CAST_MARKER_MAX)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = 'm';
	ev.t = record_time(b);
	record_event(b, &ev, (const u_char *)label, len);
}

void
record_resize(struct broker *b, u_int cols, u_int rows)
{
	struct record_ev	 ev;

	if (b->rec == NULL || !b->rec->on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = 'r';
	ev.t = record_time(b);
	ev.cols = cols;
	ev.rows = rows;
	record_event(b, &ev, NULL, 0);
}

/* Output has stopped for a while: the pool of emptied chunks goes. */
void
record_trim(struct broker *b)
{
	struct recorder		*rs = b->rec;
	struct record_chunks	 drop;

	if (rs == NULL)
		return;
	TAILQ_INIT(&drop);
	pthread_mutex_lock(&rs->lock);
	TAILQ_CONCAT(&drop, &rs->spares, entry);
	TAILQ_CONCAT(&drop, &rs->spent, entry);
	rs->nspares = 0;
	pthread_mutex_unlock(&rs->lock);
	record_free_chunks(&drop);
}

/*
 * No more events: the rest goes to the writer, which writes it, closes the
 * file and has the sync thread make it durable. Not waited for here: the
 * loop may still have peers to finish.
 */
void
record_close(struct broker *b)
{
	struct recorder	*rs = b->rec;

	if (rs == NULL || !rs->on)
		return;
	rs->on = 0;
	rs->waits = 0;
	pthread_mutex_lock(&rs->lock);
	record_queue_locked(rs);
	rs->waiting = 0;
	rs->stop_writer = 1;
	pthread_cond_signal(&rs->work);
	pthread_mutex_unlock(&rs->lock);
	if (rs->held > 0)
		info("recording: the producer waited for the disk %llu "
		    "time(s)", (unsigned long long)rs->held);
}

/*
 * At exit, on every path once the recording is open: close it if that has
 * not happened, wait for the writer's last line and the last fdatasync,
 * join both threads. Nothing of the recording runs or is open after this.
 */
void
record_end(struct broker *b)
{
	if (b->rec == NULL)
		return;
	record_close(b);
	record_free(b, b->rec);
	b->rec = NULL;
}
