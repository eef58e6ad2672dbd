/*
 * broker-peer.c: one connection to the broker. Bytes are read into a
 * frame reader and handed to the session frame by frame; what the broker
 * sends waits in the peer's reader of the output queue (broker-outq.c:
 * the shared live stream and its own frames, bounded together) and is
 * written only when the socket takes it. Nothing here ever blocks.
 */
#include "config.h"

#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

struct peer *
peer_new(struct broker *b, int fd, uid_t uid, pid_t pid)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (frame_reader_init(&p->fr) != 0 ||
	    outq_reader_init(&p->rd, BROKER_NEW_QUEUE) != 0) {
		frame_reader_free(&p->fr);
		outq_reader_free(&p->rd);
		free(p);
		return NULL;
	}
	p->fd = fd;
	p->uid = uid;
	p->pid = pid;
	p->role = PEER_NEW;
	p->serial = ++b->serial;
	p->since_ms = tunl_now_ms();
	return p;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	if (p->fd != -1)
		close(p->fd);
	frame_reader_free(&p->fr);
	outq_reader_free(&p->rd);
	free(p);
}

/* "producer", "consumer alice" or "connection 7", for logs. */
const char *
peer_label(const struct peer *p)
{
	static char	 label[PROTO_NAME_LEN + 32];

	switch (p->role) {
	case PEER_PRODUCER:
		snprintf(label, sizeof(label), "producer #%u", p->serial);
		break;
	case PEER_CONSUMER:
		snprintf(label, sizeof(label), "consumer %s #%u", p->name,
		    p->serial);
		break;
	default:
		snprintf(label, sizeof(label), "connection #%u uid %ld",
		    p->serial, (long)p->uid);
		break;
	}
	return label;
}

/* Queue an ERROR if there is room; a full queue loses it. */
void
peer_send_error(struct peer *p, u_int16_t code, const char *fmt, ...)
{
	char	 msg[PROTO_TEXT_MAX + 1];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (proto_text_check(msg, strlen(msg)) != 0)
		tunl_strlcpy(msg, "error", sizeof(msg));
	(void)peer_queued(p, proto_put_error(p->rd.out, code, msg));
}

/* Queue a NOTICE or STATUS line if there is room. */
void
peer_send_text(struct peer *p, u_int8_t type, const char *fmt, ...)
{
	char	 msg[PROTO_TEXT_MAX + 1];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (peer_queued(p, proto_put_text(p->rd.out, type, msg)) != 0)
		debug("%s: %s not queued", peer_label(p), frame_type_name(type));
}

/*
 * After a frame for this peer alone was put into p->rd.out (r is what the
 * put returned):
 *
 *	r = peer_queued(p, proto_put_chat(p->rd.out, &ch));
 *
 * place it in order with the live output the peer takes, or take it back
 * if the peer's queue, live output included, has no room (TUNL_ERR_FULL,
 * as a full queue would have refused it).
 */
int
peer_queued(struct peer *p, int r)
{
	if (r != 0)
		return r;
	return outq_queued(&p->rd);
}

/* Bytes waiting for this peer, live output included. */
size_t
peer_pending(const struct peer *p)
{
	return outq_pending(&p->rd);
}

/*
 * Stop reading; close once what is queued is written (or it lingers). It
 * takes no live output from now on.
 */
void
peer_close_after(struct peer *p)
{
	if (p->closing)
		return;
	p->closing = 1;
	p->close_ms = tunl_now_ms();
	if (outq_detach(&p->rd) != 0) {
		info("%s: out of memory; queue dropped", peer_label(p));
		(void)outq_drop(&p->rd);
	}
}

/*
 * Empty the queue except for the rest of a frame already partly written
 * (the stream must stay framed); no live output until attached again.
 * Returns the bytes dropped.
 */
size_t
peer_drop_queue(struct peer *p)
{
	return outq_drop(&p->rd);
}

/*
 * Write what the socket takes. Returns 0, or -1 when the peer is gone.
 */
int
peer_flush(struct broker *b, struct peer *p)
{
	struct iovec	 iov[BROKER_WRITE_IOV];
	ssize_t		 n;
	int		 niov, progress = 0;

	while ((niov = outq_iov(&p->rd, iov, BROKER_WRITE_IOV)) > 0) {
		n = writev(p->fd, iov, niov);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			debug("%s: write: %s", peer_label(p),
			    n == 0 ? "closed" : strerror(errno));
			p->dead = 1;
			return -1;
		}
		outq_advance(&p->rd, (size_t)n);
		progress = 1;
	}
	if (outq_pending(&p->rd) == 0) {
		p->stuck_ms = 0;
		if (p->catching_up && !p->waiting)
			p->catching_up = 0;
		if (p->closing)
			p->dead = 1;
	} else if (progress || p->stuck_ms == 0)
		p->stuck_ms = tunl_now_ms();
	(void)b;
	return 0;
}

/*
 * Hand each whole frame read so far to the session; stop at a hello that
 * waits for the registry (the rest waits in the reader until it answers).
 */
void
peer_frames(struct broker *b, struct peer *p)
{
	struct frame	 f;
	char		 why[96];
	int		 r;

	while (!p->dead && !p->closing && !p->held && !b->ended) {
		r = frame_reader_next(&p->fr, &f);
		if (r == TUNL_ERR_SHORT)
			break;
		if (r == TUNL_ERR_LENGTH) {
			(void)frame_reader_why(&p->fr, why, sizeof(why));
			if (ratelog_allow(&p->badlog, tunl_now_ms(),
			    peer_label(p), "bad frames"))
				info("%s: %s", peer_label(p), why);
			peer_send_error(p, p->fr.bad_len == 0 ?
			    PROTO_ERR_MALFORMED : PROTO_ERR_LENGTH, "%s", why);
			if (p->role == PEER_NEW)
				peer_close_after(p);
			continue;
		}
		if (r != 0) {
			error_r(r, "%s: frame", peer_label(p));
			p->dead = 1;
			return;
		}
		session_frame(b, p, &f);
	}
}

/*
 * Read up to BROKER_READ_CHUNK bytes. They go straight into the frame
 * reader's buffer, where frames are parsed; only while the reader skips
 * an oversized frame do they pass through a buffer of our own, since the
 * skipped bytes are dropped as they come. That buffer is static, not on
 * the stack: the stack-clash probes of a large frame would keep all of
 * its pages resident for good. Returns what read(2) did.
 */
static ssize_t
peer_read_chunk(struct peer *p, size_t *want)
{
	static u_char	 chunk[16 * 1024];
	u_char		*d;
	ssize_t		 n;
	size_t		 avail;
	int		 r;

	avail = buf_avail(p->fr.in);
	if (p->fr.skip > 0 || avail == 0) {
		/* Not reached with avail 0: frames are drained each time. */
		*want = sizeof(chunk);
		if ((n = read(p->fd, chunk, sizeof(chunk))) > 0 &&
		    (r = frame_reader_feed(&p->fr, chunk, (size_t)n)) != 0) {
			error_r(r, "%s: frame reader", peer_label(p));
			errno = EIO;
			return -1;
		}
		return n;
	}
	*want = avail < BROKER_READ_CHUNK ? avail : BROKER_READ_CHUNK;
	if ((r = buf_reserve(p->fr.in, *want, &d)) != 0) {
		error_r(r, "%s: frame reader", peer_label(p));
		errno = ENOMEM;
		return -1;
	}
	n = read(p->fd, d, *want);
	(void)buf_consume_end(p->fr.in, n > 0 ? *want - (size_t)n : *want);
	return n;
}

/* Read what is there and hand each whole frame to the session. */
void
peer_read(struct broker *b, struct peer *p)
{
	ssize_t		 n;
	size_t		 want;
	u_int		 reads, max;

	max = p->role == PEER_PRODUCER ? BROKER_PRODUCER_READS : 1;
	for (reads = 0; reads < max && !p->dead && !p->closing && !p->held;
	    reads++) {
		n = peer_read_chunk(p, &want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			debug("%s: %s", peer_label(p),
			    n == 0 ? "end of stream" : strerror(errno));
			p->dead = 1;
			return;
		}
		alive_heard(p, tunl_now_ms());
		peer_frames(b, p);
		if ((size_t)n < want)
			return;
	}
}
