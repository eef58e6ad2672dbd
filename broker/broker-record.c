/*
 * broker-record.c: the session's asciicast v2 recording. What is recorded
 * is exactly what the consumers are sent: the producer's output after the
 * escape filter, and a resize event whenever the customer's size changes.
 * Keystrokes are never recorded. A write or sync that fails is logged once
 * and recording stops; the session goes on.
 *
 * The loop never formats or writes the file itself (docs/broker.md, "The
 * recording's threads"). It copies each event, with its time, into a batch
 * of its own and hands the batch to the writer thread, which escapes it
 * into asciicast lines and writes them (lib/cast.c). A third thread makes
 * the file durable (fdatasync) once it has CAST_SYNC_BYTES more, or
 * CAST_SYNC_MS after the first byte not yet synced, and once more at the
 * end, on a duplicate of the file's descriptor that it alone closes.
 *
 * One batch is being written while the loop fills the next. If the writer
 * falls behind (a slow disk) and the next batch reaches RECORD_HIGH, the
 * loop stops reading the producer (record_flush says so) and polls a pipe
 * the writer wakes it by once it takes the batch: the producer waits,
 * consumers never do. Only a batch at its hard bound, which one wake-up's
 * output cannot reach from RECORD_HIGH, would make the loop wait for the
 * writer itself.
 *
 * Both threads are made before the sandbox (the seccomp filter covers
 * them) with every signal blocked; they make no system call the loop does
 * not make already. The writer allocates (the cast writer's line grows,
 * batches are freed): tunl-broker.c keeps every thread on the main malloc
 * arena, whose growth needs only brk and mmap.
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
#define RECORD_POST	(256 * 1024)	/* a batch this big goes at once */
#define RECORD_HIGH	(4 * 1024 * 1024)	/* waiting: the producer waits */
#define RECORD_BATCH_MAX (RECORD_HIGH + 8 * 1024 * 1024)	/* hard */
#define RECORD_KEEP	(256 * 1024)	/* a larger batch is freed after */

/* One event in a batch: this, then len bytes of output for an 'o'. */
struct record_ev {
	double		 t;
	u_int32_t	 len;
	u_int32_t	 cols;
	u_int32_t	 rows;
	u_char		 type;		/* 'o' or 'r' */
};

struct recorder {
	/* The loop's alone. */
	struct buf	*fill;		/* events not handed over yet */
	int		 on;		/* events are taken */
	int		 waits;		/* the producer is held for us */
	u_int64_t	 held;		/* times it was */

	/* The writer thread's alone once it runs. */
	struct cast_writer *w;

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
	int		 wakefd[2];	/* writer -> loop: the batch is taken */

	/* Under lock. */
	struct buf	*posted;	/* the writer's next batch, or NULL */
	struct buf	*spare;		/* an emptied batch, for the loop */
	int		 waiting;	/* the loop polls wakefd[0] */
	int		 stop_writer;	/* write what is posted, then end */
	int		 stop_sync;	/* sync what is left, then end */
	int		 again;		/* one more sync, whatever the sizes */
	int		 wrunning;
	int		 srunning;
	int		 err;		/* the first failure (TUNL_ERR_*) */
	int		 err_errno;
	int		 reported;	/* err has been passed to the loop */
	off_t		 written;	/* the file's size, as the writer says */
	off_t		 synced;	/* covered by the last fdatasync */
	int64_t		 dirty_ms;	/* since when written > synced */
};

static int64_t
record_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
		now = record_now();
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
		rs->dirty_ms = record_now();
		pthread_cond_signal(&rs->wake);
	} else if (rs->written - rs->synced < CAST_SYNC_BYTES &&
	    size - rs->synced >= CAST_SYNC_BYTES)
		pthread_cond_signal(&rs->wake);
	rs->written = size;
}

/* ---- the writer thread --------------------------------------------------- */

/* Every event of a batch, in order, into the file. */
static int
record_write_batch(struct cast_writer *w, const struct buf *batch)
{
	const u_char		*p = buf_ptr(batch);
	size_t			 left = buf_len(batch);
	struct record_ev	 ev;
	int			 r;

	while (left > 0) {
		if (left < sizeof(ev))
			return TUNL_ERR_INTERNAL;
		memcpy(&ev, p, sizeof(ev));
		p += sizeof(ev);
		left -= sizeof(ev);
		if (ev.type == 'o') {
			if (ev.len > left)
				return TUNL_ERR_INTERNAL;
			r = cast_writer_output(w, ev.t, p, ev.len);
			p += ev.len;
			left -= ev.len;
		} else if (ev.type == 'r')
			r = cast_writer_resize(w, ev.t, ev.cols, ev.rows);
		else
			r = TUNL_ERR_INTERNAL;
		if (r != 0)
			return r;
	}
	return 0;
}

/* The loop polls wakefd[0] while its producer waits for us. */
static void
record_wake_loop_locked(struct recorder *rs)
{
	ssize_t	 n;

	if (!rs->waiting)
		return;
	rs->waiting = 0;
	do {
		n = write(rs->wakefd[1], "w", 1);
	} while (n == -1 && errno == EINTR);
	/* EAGAIN: the pipe holds wake-ups already, which is enough. */
}

static void *
record_writer_main(void *arg)
{
	struct recorder	*rs = arg;
	struct buf	*work, *extra;
	off_t		 size = 0;
	int		 failed, r, e;

	(void)pthread_setname_np(pthread_self(), "tunl-rec-write");
	pthread_mutex_lock(&rs->lock);
	rs->wrunning = 1;
	pthread_cond_broadcast(&rs->room);
	for (;;) {
		if (rs->posted == NULL) {
			if (rs->stop_writer)
				break;
			pthread_cond_wait(&rs->work, &rs->lock);
			continue;
		}
		work = rs->posted;
		rs->posted = NULL;
		record_wake_loop_locked(rs);
		pthread_cond_signal(&rs->room);
		failed = rs->err != 0;
		pthread_mutex_unlock(&rs->lock);

		r = e = 0;
		if (!failed && rs->w != NULL) {
			r = record_write_batch(rs->w, work);
			e = errno;
			size = cast_writer_size(rs->w);
		}
		if (r != 0 && rs->w != NULL) {
			/* The file stays what it is: whole lines. */
			(void)cast_writer_close(rs->w);
			rs->w = NULL;
		}
		extra = NULL;
		if (buf_len(work) > RECORD_KEEP) {
			buf_free(work);
			work = NULL;
		} else
			buf_reset(work);

		pthread_mutex_lock(&rs->lock);
		if (r != 0) {
			record_error_locked(rs, r, r == TUNL_ERR_FULL ||
			    r == TUNL_ERR_SYSTEM ? e : 0);
			rs->stop_sync = 1;
			pthread_cond_signal(&rs->wake);
		} else if (!failed)
			record_written_locked(rs, size);
		if (work != NULL) {
			if (rs->spare == NULL)
				rs->spare = work;
			else
				extra = work;
		}
		if (extra != NULL) {
			pthread_mutex_unlock(&rs->lock);
			buf_free(extra);
			pthread_mutex_lock(&rs->lock);
		}
	}
	pthread_mutex_unlock(&rs->lock);

	/* A character held back is written as U+FFFD; the sync is ours. */
	r = 0;
	e = 0;
	if (rs->w != NULL) {
		r = cast_writer_close(rs->w);
		e = errno;
		rs->w = NULL;
	}
	pthread_mutex_lock(&rs->lock);
	if (r != 0)
		record_error_locked(rs, r, e);
	/* Close may have written a last line: one more round for it. */
	rs->again = 1;
	rs->stop_sync = 1;
	pthread_cond_signal(&rs->wake);
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
	int	 e;

	pthread_mutex_lock(&rs->lock);
	rs->stop_writer = 1;
	pthread_cond_signal(&rs->work);
	if (!rs->have_writer) {
		/* Nobody else would tell the sync thread. */
		rs->stop_sync = 1;
		pthread_cond_signal(&rs->wake);
	}
	pthread_mutex_unlock(&rs->lock);
	if (rs->have_writer &&
	    (e = pthread_join(rs->writer, NULL)) != 0)
		error("recording writer thread: %s", strerror(e));
	if (rs->have_syncer &&
	    (e = pthread_join(rs->syncer, NULL)) != 0)
		error("recording sync thread: %s", strerror(e));
	if (rs->err != 0 && !rs->reported) {
		errno = rs->err_errno;
		error_r(rs->err, "recording %s", b->recpath);
	}
	if (rs->w != NULL) {
		/* Never handed to a writer: sync and close it here. */
		(void)cast_writer_sync(rs->w);
		(void)cast_writer_close(rs->w);
	}
	if (rs->syncfd != -1) {
		(void)fdatasync(rs->syncfd);
		close(rs->syncfd);
	}
	if (rs->wakefd[0] != -1)
		close(rs->wakefd[0]);
	if (rs->wakefd[1] != -1)
		close(rs->wakefd[1]);
	buf_free(rs->fill);
	buf_free(rs->posted);
	buf_free(rs->spare);
	pthread_cond_destroy(&rs->work);
	pthread_cond_destroy(&rs->room);
	pthread_cond_destroy(&rs->wake);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static double
record_time(const struct broker *b)
{
	return (double)(broker_now_ms() - b->start_ms) / 1000.0;
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
		r = cast_writer_open(b->cfg.recording_dir, name, b->relay_gid,
		    &h, &w);
	}
	if (r != 0)
		return r;
	snprintf(b->recpath, sizeof(b->recpath), "%s/%s",
	    b->cfg.recording_dir, name);

	r = TUNL_ERR_ALLOC;
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		(void)cast_writer_close(w);
		return r;
	}
	rs->w = w;
	rs->syncfd = rs->wakefd[0] = rs->wakefd[1] = -1;
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
	if (pthread_cond_init(&rs->work, NULL) != 0) {
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
	if ((rs->fill = buf_new(RECORD_BATCH_MAX)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto fail;
	}
	rs->written = rs->synced = cast_writer_size(w);
	if ((r = cast_writer_sync_elsewhere(w, &rs->syncfd)) != 0)
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

/* Under lock: the loop's batch to the writer, if it has none. */
static void
record_post_locked(struct recorder *rs)
{
	struct buf	*next;

	if (rs->posted != NULL || buf_len(rs->fill) == 0)
		return;
	if ((next = rs->spare) != NULL)
		rs->spare = NULL;
	else if ((next = buf_new(RECORD_BATCH_MAX)) == NULL)
		return;		/* tried again at the next event or wake-up */
	rs->posted = rs->fill;
	rs->fill = next;
	pthread_cond_signal(&rs->work);
}

/*
 * Once per turn of the loop: hand over what was gathered, report a failure
 * of either thread (once), and say whether the producer must wait because
 * the writer is RECORD_HIGH behind; then record_fd is what to poll.
 */
int
record_flush(struct broker *b)
{
	struct recorder	*rs = b->rec;
	int		 r = 0, e = 0, hold;

	if (rs == NULL || !rs->on)
		return 0;
	pthread_mutex_lock(&rs->lock);
	record_post_locked(rs);
	hold = buf_len(rs->fill) >= RECORD_HIGH;
	rs->waiting = hold;
	if (rs->err != 0 && !rs->reported) {
		rs->reported = 1;
		r = rs->err;
		e = rs->err_errno;
	}
	pthread_mutex_unlock(&rs->lock);
	if (r != 0) {
		errno = e;
		record_failed(b, r);
		return 0;
	}
	if (hold && !rs->waits) {
		rs->held++;
		debug("recording: %zu bytes wait for the writer; the producer "
		    "waits", buf_len(rs->fill));
	}
	rs->waits = hold;
	return hold;
}

/* What the loop polls while record_flush holds the producer; else -1. */
int
record_fd(const struct broker *b)
{
	return b->rec != NULL && b->rec->on && b->rec->waits ?
	    b->rec->wakefd[0] : -1;
}

/* record_fd was readable: empty the pipe (the next flush posts). */
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
 * Room for need more bytes in the loop's batch. Past RECORD_HIGH the loop
 * stops reading the producer, so this waits only if a single wake-up's
 * output filled the hard bound while the writer still had a batch.
 */
static int
record_room(struct recorder *rs, size_t need)
{
	if (buf_avail(rs->fill) >= need)
		return 0;
	pthread_mutex_lock(&rs->lock);
	while (rs->posted != NULL && rs->err == 0)
		pthread_cond_wait(&rs->room, &rs->lock);
	record_post_locked(rs);
	pthread_mutex_unlock(&rs->lock);
	return buf_avail(rs->fill) >= need ? 0 : TUNL_ERR_LENGTH;
}

static void
record_event(struct broker *b, const struct record_ev *ev,
    const u_char *data)
{
	struct recorder	*rs = b->rec;
	int		 r;

	if ((r = record_room(rs, sizeof(*ev) + ev->len)) != 0 ||
	    (r = buf_put(rs->fill, ev, sizeof(*ev))) != 0 ||
	    (ev->len > 0 && (r = buf_put(rs->fill, data, ev->len)) != 0)) {
		record_failed(b, r);
		return;
	}
	if (buf_len(rs->fill) >= RECORD_POST) {
		pthread_mutex_lock(&rs->lock);
		record_post_locked(rs);
		pthread_mutex_unlock(&rs->lock);
	}
}

void
record_output(struct broker *b, const u_char *data, size_t len)
{
	struct record_ev	 ev;

	if (b->rec == NULL || !b->rec->on || len == 0)
		return;
	if (len > UINT32_MAX) {
		record_failed(b, TUNL_ERR_LENGTH);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = 'o';
	ev.t = record_time(b);
	ev.len = (u_int32_t)len;
	record_event(b, &ev, data);
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
	record_event(b, &ev, NULL);
}

/*
 * No more events: the rest goes to the writer, which writes it, closes the
 * file and has the sync thread make it durable. Not waited for here beyond
 * handing the batch over: the loop may still have peers to finish.
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
	while (rs->posted != NULL && rs->err == 0)
		pthread_cond_wait(&rs->room, &rs->lock);
	if (rs->posted == NULL && buf_len(rs->fill) > 0) {
		rs->posted = rs->fill;
		rs->fill = NULL;
	}
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
