/*
 * broker-record.c: the session's asciicast v2 recording. What is recorded
 * is exactly what the consumers are sent: the producer's output after the
 * escape filter, and a resize event whenever the customer's size changes.
 * Keystrokes are never recorded. A write that fails is logged once and
 * recording stops; the session goes on.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker.h"

#define RECORD_TRIES	100	/* <id>.cast, then <id>-2.cast ... */

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
	info("recording to %s", b->recpath);
	return 0;
}

static void
record_failed(struct broker *b, int r)
{
	error_r(r, "recording %s stopped", b->recpath);
	(void)cast_writer_close(b->rec);
	b->rec = NULL;
	b->rec_failed = 1;
}

void
record_output(struct broker *b, const u_char *data, size_t len)
{
	int	 r;

	if (b->rec == NULL || len == 0)
		return;
	if ((r = cast_writer_output(b->rec, record_time(b), data, len)) != 0)
		record_failed(b, r);
}

void
record_resize(struct broker *b, u_int cols, u_int rows)
{
	int	 r;

	if (b->rec == NULL)
		return;
	if ((r = cast_writer_resize(b->rec, record_time(b), cols, rows)) != 0)
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
}
