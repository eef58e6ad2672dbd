/*
 * share.h: tunl-share, the customer's program (man/tunl-share.1).
 *
 * tunl-share runs the system's ssh and tmux and nothing else. It links
 * only the libc-only wire subset of lib/ (libtunlwire.la: buffers, frames,
 * payloads, the id grammar, the asciicast writer, the escape filter that
 * its recording passes, the relay address and host key grammar). Bytes from the relay
 * are decoded by lib/proto.c and pass share-allow.c, the one allowlist;
 * nothing from the relay is ever run or handed to a shell.
 *
 * Prototypes are grouped by the file that defines them.
 */
#ifndef TUNL_SHARE_H
#define TUNL_SHARE_H

#include <sys/types.h>

#include <limits.h>
#include <time.h>

#include "tunl.h"
#include "frame.h"

#define SHARE_HOST_MAX		RELAY_HOST_MAX	/* relay's host, with NUL */
#define SHARE_HOST_ALIAS	"tunl-relay"	/* --host-key's known_hosts */
#define SHARE_TOKEN_MAX		128	/* bytes in a token */
#define SHARE_PANE_LEN		16	/* "%123", with NUL */
#define SHARE_CHAT_PANE_ROWS	8	/* height of the chat pane */
#define SHARE_LAYOUT_ROWS	2	/* the two pane header rows */
#define SHARE_MIN_COLS		40	/* narrowest window an engineer sets */
#define SHARE_MIN_ROWS		5	/* lowest shared pane an engineer sets */
#define SHARE_SUMMARY_MAX	(PROTO_CHAT_MAX * 4 + 128)	/* audit
					   summary, escaped, with NUL */
#define SHARE_LINE_MAX		1200	/* a chat socket line, with newline */
#define SHARE_CAPTURE_MAX	(FRAME_PAYLOAD_MAX - PROTO_SNAPSHOT_HDR - 64)
#define SHARE_BACKOFF_MAX	30	/* seconds between reconnects, at most */
#define SHARE_BYE_MS		3000	/* ssh's time to pass on the end */
#define SHARE_REFUSED_MAX	3	/* a valid certificate refused that
					   many times in a row: the relay no
					   longer takes the session */
#define SHARE_REFUSED_RETRY	4	/* seconds, at most, after a refusal */
#define SHARE_SESSION		"tunl"	/* the tmux session's name */
#define SHARE_ASKPASS_ENV	"TUNL_SHARE_ASKPASS"	/* askpass mode */
#define SHARE_CHAT_FROM		"customer"	/* our name in chat frames */

/* ---- share-alive.c: is the relay answering? ------------------------------- */

#define SHARE_PING_MS		4000	/* heard nothing that long: ping */
#define SHARE_ALIVE_MS		10000	/* ...that long: not answering (the
					   broker's 6 s runs out first) */
#define SHARE_CONNECT_MS	30000	/* the same before the relay's hello */
#define SHARE_SILENCE_MAX	3600	/* --silence: seconds, at most */

struct share;

void		 share_alive_start(struct share *);
void		 share_alive_heard(struct share *);
int		 share_alive_check(struct share *);

/* ---- share-ctlmode.c: tmux control-mode lines (untrusted) ---------------- */

#define CTLMODE_LINE_MAX	(256 * 1024)	/* bytes in one line */
/* What starts the state line of a snapshot (share_tmux_snapshot_ask). */
#define SHARE_SNAP_TAG		"tunl-snapshot-state"
/* Answers (blocks) to a snapshot's line: capture, state, save, delete. */
#define SHARE_SNAP_BLOCKS	4
#define SHARE_SNAP_WAIT_S	5	/* then a lost answer is given up */
#define SHARE_SNAP_HOLD_MAX	(1024 * 1024)	/* output held for one */

enum ctlmode_kind {
	CTLMODE_NONE = 0,
	CTLMODE_OUTPUT,		/* %output: pane, data */
	CTLMODE_LAYOUT,		/* %layout-change: sizes may have moved */
	CTLMODE_EXIT,		/* %exit: the client is going away */
	CTLMODE_SNAPSTATE,	/* our snapshot's state line: data, len */
	CTLMODE_END,		/* %end: a command finished (ours if .ours) */
	CTLMODE_ERROR,		/* %error: a command failed (ours if .ours) */
	CTLMODE_OTHER,		/* any other line (%begin, %end, ...) */
	CTLMODE_BAD,		/* a line that does not decode: dropped */
};

struct ctlmode {
	struct buf	*line;		/* the line being gathered */
	struct buf	*data;		/* the last %output's decoded bytes */
	int		 skipping;	/* dropping an over-long line */
	u_int64_t	 bad;		/* lines that did not decode */
	u_int64_t	 toolong;	/* lines over CTLMODE_LINE_MAX */
};

struct ctlmode_msg {
	enum ctlmode_kind	 kind;
	u_int			 pane;	/* CTLMODE_OUTPUT: the %N */
	const u_char		*data;	/* CTLMODE_OUTPUT: decoded bytes;
					   CTLMODE_SNAPSTATE: after the tag */
	size_t			 len;
	int			 ours;	/* CTLMODE_END, _ERROR: a command
					   from this client (flags 1) */
};

int		 ctlmode_init(struct ctlmode *);
void		 ctlmode_free(struct ctlmode *);
int		 ctlmode_feed(struct ctlmode *, const u_char *, size_t,
		     size_t *, struct ctlmode_msg *);
int		 ctlmode_parse_line(const u_char *, size_t, struct buf *,
		     struct ctlmode_msg *);
int		 ctlmode_pane_id(const char *, u_int *);

/* ---- share-allow.c: the allowlist and the audit log ------------------------ */

enum allow_action {
	ALLOW_DROP = 0,		/* dropped; reason says why */
	ALLOW_HELLO,		/* the broker's reply hello */
	ALLOW_ERROR,		/* an error from the relay: shown */
	ALLOW_PING,		/* answered with a pong */
	ALLOW_SNAPSHOT,		/* capture the main pane */
	ALLOW_KEYS,		/* send-keys -H into a registered pane */
	ALLOW_RESIZE,		/* the shared pane's size */
	ALLOW_RESIZE_FREE,	/* the customer's own size again */
	ALLOW_STATUS,		/* status row and chat pane header */
	ALLOW_NOTICE,		/* a notice: chat pane */
	ALLOW_VIEWERS,		/* who watches: status row and chat pane */
	ALLOW_CHAT,		/* chat pane */
};

/* One inbound request, decoded and judged. */
struct allow_req {
	u_int8_t		 type;
	enum allow_action	 action;
	const char		*reason;	/* ALLOW_DROP: why */
	u_int32_t		 u32;		/* ping nonce, snapshot id */
	u_int16_t		 cols, rows;	/* resize, hello */
	struct proto_hello	 hello;
	struct proto_error	 err;
	struct proto_keys	 keys;
	u_char			 keybytes[PROTO_KEYS_MAX];
	size_t			 nkeys;
	char			 text[PROTO_TEXT_MAX + 1];	/* status, notice */
	struct proto_chat	 chat;
	struct proto_viewers	 viewers;
	char			 summary[SHARE_SUMMARY_MAX];	/* escaped */
};

int		 share_allow(int, u_int8_t, struct buf *, struct allow_req *);
int		 share_audit_open(const char *, int *);
int		 share_audit_format(char *, size_t, const struct timespec *,
		     const struct allow_req *);
int		 share_audit_write(int, const struct allow_req *);
int		 share_audit_note(int, const char *);
int		 share_audit_chat(int, const char *);
size_t		 share_printable(char *, size_t, const char *, int);

/* ---- share-diag.c: why ssh failed, from its log -------------------------- */

#define SHARE_DIAG_LOG_MAX	16384	/* bytes of ssh.log looked at */
#define SHARE_DIAG_DETAIL_MAX	160	/* the relay's line, with NUL */

enum share_diag {
	SHARE_DIAG_UNKNOWN = 0,		/* nothing recognised */
	SHARE_DIAG_HOSTKEY_CHANGED,	/* a different key than pinned */
	SHARE_DIAG_HOSTKEY_UNKNOWN,	/* no key to check it against */
	SHARE_DIAG_REFUSED,		/* nothing listens at host:port */
	SHARE_DIAG_RESOLVE,		/* the name does not resolve */
	SHARE_DIAG_UNREACHABLE,		/* no route, or timed out */
	SHARE_DIAG_DENIED,		/* id or token refused */
	SHARE_DIAG_CLOSED,		/* the relay hung up */
	SHARE_DIAG_RELAY,		/* the relay said why ("tunl: ...") */
};

enum share_diag	 share_diag_ssh(const char *, size_t, char *, size_t);
const char	*share_diag_phrase(enum share_diag);

/* ---- share-sock.c: Unix sockets in the private directory ------------------ */

int		 share_sock_listen(const char *, int *);
int		 share_sock_connect(const char *, int *);
int		 share_sock_accept(int, int *);
int		 share_sock_line(int, char *, size_t, int);
int		 share_write_all(int, const void *, size_t);

/* ---- share-tmux.c: the private tmux server ---------------------------------- */

struct share;

int		 share_spawn(const char *const [], int, int, int, pid_t *);
int		 share_wait(pid_t);
void		 share_reap(pid_t, int);
int		 share_tmux(struct share *, const char *const [], struct buf *);
int		 share_tmux_start(struct share *);
int		 share_tmux_control(struct share *);
int		 share_tmux_keys(struct share *, const char *, const u_char *,
		     size_t);
int		 share_tmux_flush(struct share *);
int		 share_tmux_resize(struct share *, u_int, u_int);
int		 share_tmux_size_free(struct share *);
int		 share_tmux_chat_rows(struct share *);
int		 share_tmux_size(struct share *, u_int *, u_int *, u_int *,
		     u_int *);
int		 share_tmux_snapshot(struct share *, u_int32_t, struct buf *);
int		 share_tmux_snapshot_ask(struct share *);
int		 share_tmux_snapshot_done(struct share *, u_int32_t,
		     const u_char *, size_t, struct buf *);
int		 share_tmux_set(struct share *, const char *, const char *,
		     const char *);
void		 share_tmux_kill(struct share *);

/* ---- share-ssh.c: ssh-keygen and ssh ------------------------------------- */

int		 share_ssh_keygen(struct share *);
int		 share_ssh_keygen_start(struct share *, pid_t *);
int		 share_ssh_keygen_wait(pid_t);
struct share_sign;
int		 share_ssh_sign(struct share *, const char *);
int		 share_ssh_sign_begin(struct share *, struct share_sign *);
int		 share_ssh_sign_key(struct share *, struct share_sign *);
int		 share_ssh_sign_end(struct share *, struct share_sign *,
		     const char *);
void		 share_ssh_sign_abort(struct share *, struct share_sign *);
int		 share_ssh_produce(struct share *);
int		 share_ssh_cert_expiry(const char *, u_int64_t *);
int		 share_ssh_refused(struct share *);
int		 share_askpass_main(const char *, const char *);
int		 share_askpass_prompt(const char *);
int		 share_askpass_answer(int, const char *, const char *);
void		 share_ssh_stop(struct share *, int);

/* ---- share-spool.c: frames waiting for the relay, on disk ------------------ */

#define SHARE_SPOOL_MAX		(256ULL * 1024 * 1024)	/* bytes: the default,
							   and the most */

int		 share_spool_open(struct share *);
void		 share_spool_close(struct share *);
u_int64_t	 share_spool_len(const struct share *);
int		 share_spool_put(struct share *, const u_char *, size_t);
int		 share_spool_pump(struct share *, struct buf *, size_t,
		     u_int64_t *);

/* ---- share-ui.c: the status row, the chat pane ------------------------------ */

int		 share_ui_init(struct share *);
void		 share_ui_status(struct share *);
void		 share_ui_chat(struct share *, const char *, const char *);
void		 share_ui_header(struct share *);
int		 share_chat_pane_main(const char *);
int		 share_ui_accept(struct share *);
int		 share_ui_read(struct share *, char *, size_t);
int		 share_ui_ask_token(struct share *);
int		 share_read_secret(int, int, char *, size_t);

/* ---- share-proto.c: the frame loop ------------------------------------------ */

#define SHARE_CAST_CHUNK	16384	/* bytes filtered at a time */

int		 share_proto_run(struct share *);
void		 share_proto_cast_flush(struct share *);
int		 share_proto_send(struct share *, const struct buf *);
void		 share_proto_bye(struct share *);
void		 share_ready_set(struct share *);
void		 share_ready_clear(struct share *);
void		 share_timing_start(struct share *);
void		 share_timing_mark(struct share *, const char *);
void		 share_timing_done(struct share *);

/* ---- tunl-share.c: the whole session's state -------------------------------- */

/* A sign under way (share_ssh_sign_begin). */
struct share_sign {
	pid_t		 pid;
	int		 lfd;			/* askpass's socket */
	int		 in;			/* ssh's input: the public key */
	int		 out;			/* ssh's output: the certificate */
	int		 logfd;
	off_t		 logpos;
	struct buf	*cert;
};

struct share {
	/* From the command line. */
	char		 host[SHARE_HOST_MAX];
	char		 port[8];		/* "" for ssh's default */
	char		 case_ref[CAST_CASE_LEN];
	char		 known_hosts[PATH_MAX];	/* "" for ssh's default */
	int		 host_key_alias;	/* known_hosts is our pin */
	int		 host_ca_pin;	/* ... a host CA (--host-ca) */
	char		 session[ID_LEN_MAX];
	int		 restricted;		/* never goes back to 0 */
	int		 relay_fd;		/* tests: frames on this fd */
	int		 no_attach;		/* do not attach the terminal */
	char		 ready[PATH_MAX];	/* --ready-file; "" none */
	int		 ready_on;		/* it exists, ours */
	int		 timing;		/* --timing */
	int64_t		 timing_t0, timing_last;	/* microseconds */
	char		 timing_line[256];	/* "step=ms ..." */
	pid_t		 attach_pid;		/* tmux attach on our terminal */
	char		 self[PATH_MAX];	/* this program, for tmux */

	/* The private 0700 directory and what is in it. */
	char		 dir[PATH_MAX];
	char		 key[PATH_MAX];		/* dir/key (and key.pub) */
	char		 cert[PATH_MAX];	/* dir/key-cert.pub */
	char		 sock[PATH_MAX];	/* dir/tmux.sock */
	char		 audit[PATH_MAX];	/* dir/audit.log */
	char		 cast[PATH_MAX];	/* dir/session.cast */
	char		 chatsock[PATH_MAX];	/* dir/chat.sock */
	char		 asksock[PATH_MAX];	/* dir/askpass.sock */
	char		 snapfile[PATH_MAX];	/* dir/snapshot: tmux saves a
						   capture there */
	char		 sshlog[PATH_MAX];	/* dir/ssh.log */
	enum share_diag	 diag;			/* why sign failed */
	char		 diag_detail[SHARE_DIAG_DETAIL_MAX];

	/* tmux. */
	char		 pane_main[SHARE_PANE_LEN];
	char		 pane_chat[SHARE_PANE_LEN];
	u_int		 pane_main_id;
	u_int		 cols, rows;		/* main pane, last seen */
	pid_t		 ctl_pid;
	int		 ctl_in, ctl_out;	/* commands to, lines from */
	struct buf	*ctl_q;			/* commands not yet written */
	struct ctlmode	 ctl;
	u_int64_t	 keys_dropped;		/* bytes: tmux not reading */
	u_int64_t	 ctl_failed;		/* our commands tmux refused */
	u_int64_t	 ctl_sent;		/* command lines queued */
	u_int64_t	 ctl_done;		/* ...and answered */
	u_int64_t	 snap_seq;		/* the snapshot line's last answer */
	int		 snap_asked;		/* a capture on its way */
	u_int32_t	 snap_asked_id;		/* ...for this request */
	time_t		 snap_asked_at;
	int		 snap_again;		/* another request came meanwhile */
	u_int32_t	 snap_again_id;
	/*
	 * Output of the pane that came after the capture and before the
	 * snapshot could be sent (tmux saves the capture between the two):
	 * held, and sent after the snapshot, so a waiting engineer misses
	 * none of it.
	 */
	struct buf	*snap_hold;
	int		 snap_holding;
	int		 snap_stale;		/* the hold overflowed: ask again */
	struct buf	*snap_state;		/* the state line, until the
						   capture's file is whole */
	int		 snap_have_state;

	/* The relay connection. */
	pid_t		 ssh_pid;
	int		 rin, rout;		/* frames in, frames out */
	struct frame_reader fr;
	struct buf	*out;			/* frames not yet written */
	int		 connected;
	int		 early;			/* ssh started before the loop */
	u_int		 backoff;		/* seconds to the next try */
	time_t		 retry_at;
	u_int64_t	 cert_expiry;		/* valid_before, unix time */
	off_t		 produce_log;		/* ssh.log's size at produce */
	u_int		 refused;		/* logins refused since the
						   relay last spoke */
	u_int64_t	 dropped_output;	/* bytes skipped: every gap */
	int		 spool_fd;		/* share-spool.c */
	off_t		 spool_rd, spool_wr;
	u_int64_t	 spool_peak;		/* the most it held */
	u_int64_t	 spool_max;		/* --spool-max, bytes */
	int		 spool_said;		/* the status row shows it */
	u_int64_t	 spool_said_mib;
	struct buf	*held;			/* whole frames unsent when the
						   link dropped: sent first */
	size_t		 out_part;		/* unsent bytes of out's first
						   frame, begun on the link */
	u_int8_t	 out_part_type;		/* ...its type */
	u_int32_t	 out_part_len;		/* ...its payload length */
	int		 gap_open;		/* skipping output now */
	u_int8_t	 gap_reason;		/* PROTO_GAP_* */
	u_int64_t	 gap_bytes;		/* skipped since it opened */
	int64_t		 alive_ms;		/* --silence, ms: not answering */
	int64_t		 alive_rx_ms;		/* last heard (share-alive.c) */
	int64_t		 alive_ping_ms;		/* last pinged */
	int64_t		 alive_tick_ms;		/* last checked */
	int		 alive_heard;		/* a byte since connecting */

	/* Audit log, recording, chat pane. */
	int		 audit_fd;
	struct cast_writer *cw;
	struct vtfilter	 cast_vf;		/* the recording's filter */
	struct buf	*cast_buf;		/* its output */
	struct timespec	 start;
	int		 chat_listen, chat_fd;
	struct buf	*chat_in;
	int		 want_token;		/* asked the chat pane */

	/* What the status row shows. */
	char		 relay_state[64];
	char		 viewers[128];
	char		 status_text[PROTO_TEXT_MAX + 1];
	int		 ending;
	int		 relay_ended;		/* the relay said it is over */
	char		 end_words[PROTO_TEXT_MAX + 1];	/* ...and why */
	int		 relay_gone;		/* the certificate refused
						   SHARE_REFUSED_MAX times */
	int		 superseded;		/* the relay said a newer token
						   has the session */
};

#endif /* TUNL_SHARE_H */
