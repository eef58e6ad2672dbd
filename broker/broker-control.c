/*
 * broker-control.c: the registry-changed frame (docs/protocol.md). A relay
 * program that changed this session's row (`kill`, `unlock`, the failure
 * cap's lock, a new token) connects, sends that one frame instead of a
 * hello, and is answered with an ack; the broker then reads its row once,
 * in a registry child like every read. So a change reaches its broker at
 * once, and no broker looks at the registry because another session
 * changed.
 *
 * Only the relay's own accounts may send it: the engineer account (which
 * runs `kill` and `unlock` through tunl-shell), root (tunl-admin, and
 * pam_tunl inside sshd) and the broker's own account; SO_PEERCRED's uid
 * decides, read at accept. The customer account may not. The frame
 * carries nothing but the session's id, and all it can cause is one read,
 * merged with any read already queued.
 */
#include "config.h"

#include <string.h>

#include "broker.h"

/*
 * May uid connect only to send this frame (not as a peer)? Root alone: the
 * engineer account sends it as a peer would, and the broker's own account
 * has no business on the socket (docs/security.md).
 */
int
control_may_connect(const struct broker *b, uid_t uid)
{
	(void)b;
	return uid == 0;
}

void
control_frame(struct broker *b, struct peer *p, struct frame *f)
{
	char	 id[ID_LEN_MAX];
	size_t	 len = buf_len(f->payload);

	if (p->uid != b->engineer_uid && !control_may_connect(b, p->uid)) {
		peer_send_error(p, PROTO_ERR_DENIED,
		    "this account may not send registry-changed");
		info("%s: registry-changed from uid %ld refused",
		    peer_label(p), (long)p->uid);
		peer_close_after(p);
		return;
	}
	if (len == 0 || len >= sizeof(id)) {
		peer_send_error(p, PROTO_ERR_MALFORMED, "malformed %s",
		    frame_type_name(f->type));
		peer_close_after(p);
		return;
	}
	memcpy(id, buf_ptr(f->payload), len);
	id[len] = '\0';
	if (strcmp(id, b->sid) != 0) {
		peer_send_error(p, PROTO_ERR_DENIED, "wrong session");
		info("%s: registry-changed for another session",
		    peer_label(p));
		peer_close_after(p);
		return;
	}
	info("registry-changed from uid %ld: reading the session's row",
	    (long)p->uid);
	if (!b->check_queued && !b->ended)
		(void)regq_check(b, 0);
	if (peer_queued(p, proto_put_u32(p->rd.out, FRAME_ACK, 0)) != 0)
		error("%s: ack not queued", peer_label(p));
	peer_close_after(p);
}
