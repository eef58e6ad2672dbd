/*
 * broker-peer.c: one connection to the broker. Bytes are read into a
 * frame reader and handed to the session frame by frame; what the broker
 * sends waits in the peer's bounded queue of whole frames and is written
 * only when the socket takes it. Nothing here ever blocks.
 */
#include "config.h"

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
	    (p->out = buf_new(BROKER_NEW_QUEUE)) == NULL) {
		frame_reader_free(&p->fr);
		free(p);
		return NULL;
	}
	p->fd = fd;
	p->uid = uid;
	p->pid = pid;
	p->role = PEER_NEW;
	p->serial = ++b->serial;
	p->since_ms = broker_now_ms();
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
	buf_free(p->out);
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
	(void)proto_put_error(p->out, code, msg);
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
	if (proto_put_text(p->out, type, msg) != 0)
		debug("%s: %s not queued", peer_label(p), frame_type_name(type));
}

/* Stop reading; close once what is queued is written (or it lingers). */
void
peer_close_after(struct peer *p)
{
	if (p->closing)
		return;
	p->closing = 1;
	p->close_ms = broker_now_ms();
}

/*
 * Empty the queue except for the rest of a frame already partly written
 * (the stream must stay framed). Returns the bytes dropped.
 */
size_t
peer_drop_queue(struct peer *p)
{
	size_t	 len = buf_len(p->out), keep;

	keep = p->head_rem < len ? p->head_rem : len;
	if (len > keep)
		(void)buf_consume_end(p->out, len - keep);
	return len - keep;
}

/*
 * Account for n bytes written from the front of the queue: which frame
 * the next byte belongs to is needed to drop the queue cleanly.
 */
static void
peer_advance(struct peer *p, size_t n)
{
	u_int32_t	 len;
	size_t		 k;

	while (n > 0) {
		if (p->head_rem == 0) {
			if (buf_peek_u32(p->out, 0, &len) != 0) {
				/* Cannot happen: frames are queued whole. */
				p->head_rem = buf_len(p->out);
			} else
				p->head_rem = 4 + (size_t)len;
		}
		k = n < p->head_rem ? n : p->head_rem;
		(void)buf_consume(p->out, k);
		p->head_rem -= k;
		n -= k;
	}
}

/*
 * Write what the socket takes. Returns 0, or -1 when the peer is gone.
 */
int
peer_flush(struct broker *b, struct peer *p)
{
	ssize_t	 n;
	int	 progress = 0;

	while (buf_len(p->out) > 0) {
		n = write(p->fd, buf_ptr(p->out), buf_len(p->out));
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
		peer_advance(p, (size_t)n);
		progress = 1;
	}
	if (buf_len(p->out) == 0) {
		p->stuck_ms = 0;
		if (p->catching_up && !p->waiting)
			p->catching_up = 0;
		if (p->closing)
			p->dead = 1;
	} else if (progress || p->stuck_ms == 0)
		p->stuck_ms = broker_now_ms();
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
	int		 r;

	while (!p->dead && !p->closing && !p->held && !b->ended) {
		r = frame_reader_next(&p->fr, &f);
		if (r == TUNL_ERR_SHORT)
			break;
		if (r == TUNL_ERR_LENGTH) {
			info("%s: frame over %u bytes skipped",
			    peer_label(p), (u_int)FRAME_MAX);
			peer_send_error(p, PROTO_ERR_LENGTH,
			    "frame over %u bytes skipped", (u_int)FRAME_MAX);
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
 * Read what is there and hand each whole frame to the session. The chunk
 * is static, not on the stack: the stack-clash probes of a 64 KiB frame
 * made all of its pages resident for good, even for 20-byte reads.
 */
void
peer_read(struct broker *b, struct peer *p)
{
	static u_char	 chunk[BROKER_READ_CHUNK];
	ssize_t		 n;
	u_int		 reads, max;
	int		 r;

	max = p->role == PEER_PRODUCER ? BROKER_PRODUCER_READS : 1;
	for (reads = 0; reads < max && !p->dead && !p->closing && !p->held;
	    reads++) {
		n = read(p->fd, chunk, sizeof(chunk));
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
		if ((r = frame_reader_feed(&p->fr, chunk, (size_t)n)) != 0) {
			/* Not reached: frames are drained after each feed. */
			error_r(r, "%s: frame reader", peer_label(p));
			p->dead = 1;
			return;
		}
		peer_frames(b, p);
		if ((size_t)n < sizeof(chunk))
			return;
	}
}
