/*
 * shell-produce.c: the customer's produce, after the binding checks of
 * shell-customer.c. It bridges the customer's ssh channel (stdin and
 * stdout, frames of docs/protocol.md) to the session's broker, starting
 * the broker when none runs.
 *
 * The customer's first frame must be its HELLO (producer role, our
 * protocol version, the session this login is bound to); it is answered
 * here and never passed on: tunl-shell sends the broker a HELLO of its
 * own naming the bound session. After that only the frame types a
 * customer may send (output, snapshot, chat, resize of the customer's own
 * window, ack, ping, pong, error) with
 * payloads that parse go to the broker; anything else, an oversized frame
 * included, is answered with FRAME_ERROR and dropped, and the session
 * goes on. The broker's frames go to the customer as they are.
 *
 * Both directions are non-blocking, each with a bounded queue: a side is
 * read only while the other side's queue has room for a whole frame, so
 * a customer or broker that stops reading slows only the bytes meant for
 * it.
 *
 * If the broker closes our connection without its end notice (FRAME_ERROR
 * PROTO_ERR_ENDED) and no longer accepts connections, it died: the
 * session is marked ended ("broker died"), the customer is told, and
 * produce exits 1.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"
#include "ratelog.h"

#define PRODUCE_HELLO_MS	10000	/* the customer's HELLO by then */

struct produce {
	struct shell		*sh;
	int			 bfd;		/* broker */
	struct frame_reader	 cust;		/* frames from stdin */
	struct frame_reader	 brk;		/* frames from the broker */
	struct buf		*to_broker;
	struct buf		*to_cust;
	int			 cust_open;
	int			 ended;		/* broker's end notice seen */
	u_int64_t		 refused;	/* frames answered with ERROR */
	struct ratelog		 badlog;	/* their log lines */
	char			 who[ID_LEN_MAX + 32];	/* for the log */
};

/* An ERROR for the customer; dropped (and logged) if its queue is full. */
static void
produce_error(struct produce *p, u_int16_t code, const char *fmt, ...)
    TUNL_PRINTF(3, 4);

static void
produce_error(struct produce *p, u_int16_t code, const char *fmt, ...)
{
	char	 msg[PROTO_TEXT_MAX + 1];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (proto_put_error(p->to_cust, code, msg) != 0)
		debug("error frame for the customer not queued: %s", msg);
}

/* Is this a frame a customer may send, with a payload that parses? */
static int
produce_check(struct produce *p, struct frame *f)
{
	struct proto_snapshot	 snap;
	struct proto_chat	 chat;
	struct proto_error	 err;
	struct proto_gap	 gap;
	const u_char		*data;
	size_t			 len;
	u_int32_t		 v;
	u_int16_t		 cols, rows;
	int			 r;

	switch (f->type) {
	case FRAME_OUTPUT:
		r = proto_get_output(f->payload, &data, &len);
		break;
	case FRAME_SNAPSHOT:
		r = proto_get_snapshot(f->payload, &snap);
		break;
	case FRAME_CHAT:
		r = proto_get_chat(f->payload, &chat);
		break;
	case FRAME_RESIZE:
		/* The customer's window changed (docs/protocol.md). */
		r = proto_get_resize(f->payload, &cols, &rows);
		break;
	case FRAME_GAP:
		/* Output that never reached the relay (proto-gap.c). */
		r = proto_get_gap(f->payload, &gap);
		break;
	case FRAME_ACK:
	case FRAME_PING:
	case FRAME_PONG:
		r = proto_get_u32(f->payload, &v);
		break;
	case FRAME_ERROR:
		r = proto_get_error(f->payload, &err);
		break;
	default:
		p->refused++;
		if (ratelog_allow(&p->badlog, tunl_now_ms(), p->who,
		    "refused frames"))
			info("session %s: customer sent a %s frame (0x%02x); "
			    "refused", p->sh->session,
			    frame_type_name(f->type), f->type);
		produce_error(p, PROTO_ERR_TYPE, "frame type 0x%02x is not "
		    "accepted from a customer", f->type);
		return 0;
	}
	if (r != 0) {
		p->refused++;
		if (ratelog_allow(&p->badlog, tunl_now_ms(), p->who,
		    "refused frames"))
			info("session %s: customer sent a malformed %s frame: "
			    "%s", p->sh->session, frame_type_name(f->type),
			    tunl_err(r));
		produce_error(p, PROTO_ERR_MALFORMED, "malformed %s frame",
		    frame_type_name(f->type));
		return 0;
	}
	return 1;
}

/* Frames from the customer, checked, into the broker's queue. */
static void
produce_from_customer(struct produce *p)
{
	struct frame	 f;
	const u_char	*ptr;
	char		 why[96];
	size_t		 len;
	int		 r;

	for (;;) {
		if (buf_avail(p->to_broker) < FRAME_HEADER_LEN + FRAME_MAX)
			return;		/* the rest waits in the reader */
		r = frame_reader_next(&p->cust, &f);
		if (r == TUNL_ERR_SHORT)
			return;
		if (r == TUNL_ERR_LENGTH) {
			p->refused++;
			(void)frame_reader_why(&p->cust, why, sizeof(why));
			if (ratelog_allow(&p->badlog, tunl_now_ms(), p->who,
			    "refused frames"))
				info("session %s: customer sent a bad frame: %s",
				    p->sh->session, why);
			produce_error(p, p->cust.bad_len == 0 ?
			    PROTO_ERR_MALFORMED : PROTO_ERR_LENGTH, "%s", why);
			continue;
		}
		if (r != 0) {
			error_r(r, "customer frames");
			p->cust_open = 0;
			return;
		}
		/* The payload's bytes stay put while the decoder reads. */
		ptr = buf_ptr(f.payload);
		len = buf_len(f.payload);
		if (!produce_check(p, &f))
			continue;
		if ((r = frame_put(p->to_broker, f.type, ptr, len)) != 0)
			error_r(r, "queue for the broker");
	}
}

/* Frames from the broker into the customer's queue. */
static void
produce_from_broker(struct produce *p)
{
	struct proto_error	 e;
	struct frame		 f;
	char			 words[PROTO_TEXT_MAX + 1];
	const u_char		*ptr;
	size_t			 len;
	int			 r;

	for (;;) {
		if (buf_avail(p->to_cust) < FRAME_HEADER_LEN + FRAME_MAX)
			return;
		r = frame_reader_next(&p->brk, &f);
		if (r == TUNL_ERR_SHORT)
			return;
		if (r != 0) {
			error_r(r, "frames from the broker");
			continue;
		}
		ptr = buf_ptr(f.payload);
		len = buf_len(f.payload);
		if (f.type == FRAME_ERROR &&
		    proto_get_error(f.payload, &e) == 0 &&
		    e.code == PROTO_ERR_ENDED) {
			p->ended = 1;
			/* Who ended it, when the registry knows better. */
			if (shell_end_words(p->sh, p->sh->session, words,
			    sizeof(words)) == 0) {
				produce_error(p, PROTO_ERR_ENDED, "%s", words);
				continue;
			}
		}
		if ((r = frame_put(p->to_cust, f.type, ptr, len)) != 0)
			error_r(r, "queue for the customer");
	}
}

/* Read what fd has into a frame reader, at most what it can hold. */
static int
produce_read(int fd, struct frame_reader *fr)
{
	u_char	 chunk[64 * 1024];
	size_t	 room = buf_avail(fr->in);
	ssize_t	 n;

	if (room == 0)
		return 0;
	if (room > sizeof(chunk))
		room = sizeof(chunk);
	n = read(fd, chunk, room);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return n == 0 ? TUNL_ERR_EOF : TUNL_ERR_SYSTEM;
	return frame_reader_feed(fr, chunk, (size_t)n);
}

/*
 * The customer's HELLO, within PRODUCE_HELLO_MS. 0 when it is right;
 * otherwise the customer has been answered (queued) and the caller ends.
 */
static int
produce_hello(struct produce *p)
{
	struct proto_hello	 h;
	struct pollfd		 pfd;
	struct frame		 f;
	int64_t			 deadline, left;
	char			 why[96];
	int			 r;

	deadline = tunl_now_ms() + PRODUCE_HELLO_MS;
	for (;;) {
		r = frame_reader_next(&p->cust, &f);
		if (r == 0)
			break;
		if (r == TUNL_ERR_LENGTH) {
			(void)frame_reader_why(&p->cust, why, sizeof(why));
			produce_error(p, p->cust.bad_len == 0 ?
			    PROTO_ERR_MALFORMED : PROTO_ERR_LENGTH, "%s", why);
			continue;
		}
		if ((left = deadline - tunl_now_ms()) <= 0) {
			produce_error(p, PROTO_ERR_TIMEOUT, "no hello");
			return TUNL_ERR_EXPIRED;
		}
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return TUNL_ERR_SYSTEM;
		if (pfd.revents != 0 &&
		    (r = produce_read(STDIN_FILENO, &p->cust)) != 0)
			return r;
	}
	if (f.type != FRAME_HELLO) {
		produce_error(p, PROTO_ERR_DENIED, "first frame must be hello");
		return TUNL_ERR_INVALID;
	}
	r = proto_get_hello(f.payload, &h);
	if (r == TUNL_ERR_VERSION) {
		info("session %s: customer speaks protocol version %u",
		    p->sh->session, h.version);
		produce_error(p, PROTO_ERR_VERSION, "protocol version %u; the "
		    "relay speaks version %d", h.version, TUNL_PROTO_VERSION);
		return r;
	}
	if (r != 0) {
		produce_error(p, PROTO_ERR_MALFORMED, "malformed hello");
		return r;
	}
	if (h.role != PROTO_ROLE_PRODUCER) {
		produce_error(p, PROTO_ERR_DENIED, "this account only "
		    "produces");
		return TUNL_ERR_DENIED;
	}
	if (strcmp(h.session, p->sh->session) != 0) {
		info("session %s: customer's hello names %s", p->sh->session,
		    h.session);
		produce_error(p, PROTO_ERR_DENIED, "not authorised for that "
		    "session");
		return TUNL_ERR_DENIED;
	}
	return 0;
}

/*
 * The broker connection, opened by tunl-authority admit for this login.
 * 0, TUNL_ERR_DENIED (why says it), TUNL_ERR_STATE (a newer token has
 * the session: this login no longer produces), TUNL_ERR_UNSAFE (a socket
 * not the broker's) or another error.
 */
static int
produce_admit(struct produce *p, char *why, size_t whylen)
{
	int	 rc, fd = -1, r;

	rc = shell_run_admit(p->sh, p->sh->session, NULL, 0, 0, &p->bfd, why,
	    whylen);
	if (rc == SHELL_ADMIT_NO_BROKER) {
		/* The connection shell_live_start makes is not used. */
		if ((r = shell_live_start(p->sh, p->sh->session, &fd)) != 0)
			return r;
		close(fd);
		rc = shell_run_admit(p->sh, p->sh->session, NULL, 0, 0,
		    &p->bfd, why, whylen);
	}
	if (rc == 0) {
		shell_live_nonblock(p->bfd);
		return 0;
	}
	if (rc == SHELL_ADMIT_UNSAFE)
		return TUNL_ERR_UNSAFE;
	if (rc == SHELL_ADMIT_SUPERSEDED)
		return TUNL_ERR_STATE;
	if (rc == 1)
		return TUNL_ERR_DENIED;
	return TUNL_ERR_SYSTEM;
}

static void
produce_free(struct produce *p)
{
	frame_reader_free(&p->cust);
	frame_reader_free(&p->brk);
	buf_free(p->to_broker);
	buf_free(p->to_cust);
	if (p->bfd != -1)
		close(p->bfd);
}

int
shell_produce(struct shell *sh)
{
	struct produce		 p;
	struct pollfd		 pfd[3];
	char			 words[PROTO_TEXT_MAX + 1];
	char			 why[PROTO_TEXT_MAX + 1];
	int			 r, rc = SHELL_EXIT_REFUSED, brk_open = 1;
	u_int			 tries;
	int			 brk_wdead = 0;

	memset(&p, 0, sizeof(p));
	p.sh = sh;
	(void)snprintf(p.who, sizeof(p.who), "session %s: customer",
	    sh->session);
	p.bfd = -1;
	p.cust_open = 1;
	if (isatty(STDIN_FILENO) || isatty(STDOUT_FILENO))
		shell_refuse(SHELL_EXIT_USAGE, "produce speaks the tunl "
		    "protocol: run it from tunl-share, without a terminal "
		    "(ssh -T)");
	if (frame_reader_init(&p.cust) != 0 || frame_reader_init(&p.brk) != 0 ||
	    (p.to_broker = buf_new(LIVE_QUEUE_MAX)) == NULL ||
	    (p.to_cust = buf_new(LIVE_QUEUE_MAX)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	(void)signal(SIGPIPE, SIG_IGN);
	shell_live_nonblock(STDIN_FILENO);
	shell_live_nonblock(STDOUT_FILENO);

	if (produce_hello(&p) != 0) {
		fprintf(stderr, "tunl: produce: no tunl protocol hello; "
		    "run tunl-share\n");
		goto out;
	}

	/*
	 * tunl-authority admit checks this login (its key, its session, no
	 * newer token), opens the connection and writes the hello: the broker
	 * takes a producer only from it. With no broker yet, one is started and asked again.
	 */
	r = produce_admit(&p, why, sizeof(why));
	if (r == TUNL_ERR_STATE) {
		produce_error(&p, PROTO_ERR_SUPERSEDED, "%s",
		    PROTO_SUPERSEDED_WORDS);
		goto out;
	}
	if (r == TUNL_ERR_DENIED) {
		produce_error(&p, PROTO_ERR_DENIED, "%s", why[0] != '\0' ?
		    why : "not authorised for that session");
		goto out;
	}
	if (r == TUNL_ERR_UNSAFE) {
		produce_error(&p, PROTO_ERR_INTERNAL, "the session's socket is "
		    "not served by the relay's broker; refused (the relay's "
		    "operator is told)");
		goto out;
	}
	if (r != 0) {
		error_r(r, "session %s: no broker", sh->session);
		produce_error(&p, PROTO_ERR_INTERNAL, "the relay cannot serve "
		    "this session now; try again later");
		goto out;
	}
	/*
	 * admit wrote the producer's hello (with the token its check saw):
	 * what the customer sends goes after it.
	 */
	info("session %s: customer from %s connected to the broker",
	    sh->session, sh->rhost);

	for (;;) {
		produce_from_customer(&p);
		produce_from_broker(&p);

		pfd[0].fd = p.cust_open && buf_avail(p.cust.in) > 0 ?
		    STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = buf_len(p.to_cust) > 0 ? STDOUT_FILENO : -1;
		pfd[1].events = POLLOUT;
		pfd[2].fd = p.bfd;
		pfd[2].events = (brk_open && buf_avail(p.brk.in) > 0 ?
		    POLLIN : 0) | (!brk_wdead && buf_len(p.to_broker) > 0 ?
		    POLLOUT : 0);
		if (pfd[2].events == 0 && brk_wdead)
			pfd[2].fd = -1;	/* no spinning on its hang-up */
		if (!p.cust_open || !brk_open)
			break;
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents != 0) {
			r = produce_read(STDIN_FILENO, &p.cust);
			if (r == TUNL_ERR_EOF || r == TUNL_ERR_SYSTEM)
				p.cust_open = 0;
		}
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
			p.cust_open = 0;
		else if (pfd[1].revents != 0 &&
		    buf_write_fd(p.to_cust, STDOUT_FILENO, NULL) != 0 &&
		    errno != EAGAIN)
			p.cust_open = 0;
		/*
		 * A broker that ends the session closes with the customer's
		 * output unread, so writes fail first: keep reading until its
		 * end of file, where its last word (why it ended) is.
		 */
		if (!brk_wdead && (pfd[2].revents & POLLOUT) &&
		    buf_write_fd(p.to_broker, p.bfd, NULL) != 0 &&
		    errno != EAGAIN)
			brk_wdead = 1;
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = produce_read(p.bfd, &p.brk);
			if (r == TUNL_ERR_EOF || r == TUNL_ERR_SYSTEM)
				brk_open = 0;
		}
	}

	if (!p.cust_open) {
		/* The customer left: the broker keeps the session a while. */
		info("session %s: customer disconnected (%llu frames refused)",
		    sh->session, (unsigned long long)p.refused);
		shell_live_flush(p.bfd, p.to_broker, LIVE_FLUSH_MS);
		rc = SHELL_EXIT_OK;
		goto out;
	}
	produce_from_broker(&p);
	/*
	 * The way to the customer may be too full for the broker's last
	 * frames (why it ended the session is among them): make room for a
	 * bounded time, then read on.
	 */
	for (tries = 0; tries < 4 && !p.ended && buf_len(p.brk.in) > 0;
	    tries++) {
		shell_live_flush(STDOUT_FILENO, p.to_cust, LIVE_FLUSH_MS);
		produce_from_broker(&p);
	}
	if (p.ended) {
		info("session %s: ended by the broker", sh->session);
		rc = SHELL_EXIT_OK;
	} else if (shell_live_alive(sh, sh->session)) {
		info("session %s: the broker closed the customer's connection",
		    sh->session);
	} else {
		error("session %s: the broker died", sh->session);
		shell_live_broker_died(sh, sh->session, "relay");
		/* An engineer may have ended it just before. */
		if (shell_end_words(sh, sh->session, words,
		    sizeof(words)) == 0)
			produce_error(&p, PROTO_ERR_ENDED, "%s", words);
		else
			produce_error(&p, PROTO_ERR_ENDED, "tunl: session "
			    "ended: the relay's broker stopped");
	}
 out:
	ratelog_flush(&p.badlog, p.who, "refused frames");
	shell_live_flush(STDOUT_FILENO, p.to_cust, LIVE_FLUSH_MS);
	produce_free(&p);
	return rc;
}
