/*
 * broker.h: tunl-broker, one process per session (docs/broker.md).
 *
 *	tunl-broker.c		main: options, identity, lock, socket, start
 *	broker-loop.c		the poll(2) loop, accept, timers, signals
 *	broker-peer.c		one connection: read frames, write
 *	broker-outq.c		shared output stream, one reader per peer
 *	broker-session.c	fan-out, snapshots, keys, resize, viewers, end
 *	broker-record.c		the asciicast recording
 *	broker-registry.c	the registry, one short-lived child per call
 *	broker-control.c	registry-changed frames from relay programs
 *	broker-sandbox.c	privileges, rlimits, seccomp
 *	broker-confine.c	own account, own directories, lock, Landlock
 *	broker-alive.c		heartbeats with the producer
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/queue.h>
#include <sys/types.h>

#include <signal.h>
#include <time.h>

#include "tunl.h"
#include "frame.h"
#include "ratelog.h"

/*
 * Built with a sanitizer (address, undefined behaviour or thread): its
 * runtime replaces malloc and needs more system calls (broker-sandbox.c).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BROKER_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer) || \
    __has_feature(thread_sanitizer)
#define BROKER_SANITIZED	1
#endif
#endif
#ifndef BROKER_SANITIZED
#define BROKER_SANITIZED	0
#endif

#define BROKER_HELLO_TIMEOUT_MS	5000	/* first frame must come by then */
#define BROKER_LINGER_MS	30000	/* a closing peer's last words */
#define BROKER_END_LINGER_MS	2000	/* the same, once the session ended */
#define BROKER_CHECK_MS		2000	/* expiry checked this often */
#define BROKER_RESYNC_LOG_MS	10000	/* resync event at most */
#define BROKER_KEYS_LOG_MS	10000	/* dropped-keys summary at most */
#define BROKER_ACCEPT_PAUSE_MS	1000	/* after EMFILE or ENFILE */
#define BROKER_START_WAIT_MS	30000	/* first producer, at least */
#define BROKER_NEW_MAX		16	/* connections before their hello */
#define BROKER_READ_CHUNK	(64 * 1024)
#define BROKER_WRITE_IOV	64	/* pieces per writev */
#define BROKER_PRODUCER_READS	8	/* reads per wakeup, producer */
#define BROKER_FILTER_CHUNK	(32 * 1024)	/* output filtered at once */
#define BROKER_PRODUCER_QUEUE	(2 * (FRAME_HEADER_LEN + FRAME_MAX))
#define BROKER_NEW_QUEUE	4096	/* before hello: errors only */
#define BROKER_MEM_BUDGET	((size_t)256 * 1024 * 1024)
#define BROKER_MMAP_THRESHOLD	(128 * 1024)	/* malloc maps larger blocks */
#define BROKER_TRIM_MS		1000	/* quiet that long after output: trim */
#define BROKER_EXIT_BUSY	3	/* another broker has the session */
#define BROKER_REG_BUSY_MS	1000	/* a locked registry: give up then */
#define BROKER_REG_EXIT_MS	10000	/* at the end, queued calls at most */
#define BROKER_REG_QUEUE	256	/* registry calls waiting; more spooled */
#define BROKER_REG_RETRY_MS	250	/* a write refused: again after this, */
#define BROKER_REG_RETRY_MAX_MS	4000	/* doubling up to this */
#define BROKER_REG_CHILD_S	5	/* a registry call's child dies then */
#define BROKER_REG_TRIES	3	/* a call whose child died, at most */
#define BROKER_REG_DB_TRIES	8	/* a write the registry failed (not
					   busy), at most: about 20 s */
#define BROKER_TICK_MS		1000	/* the loop's tick while busy */
#define BROKER_IDLE_WAKE_MS	60000	/* idle: at least this often */
#define BROKER_PING_MS		2000	/* the producer is pinged this often */
#define BROKER_ALIVE_MS		6000	/* heard nothing that long: gone */

/*
 * The output queue (broker-outq.c): live output framed once, shared by
 * every attached reader, each at its own offset; private frames per reader.
 */
struct outq_chunk;
struct outq_mark;
struct outq;

struct outq_reader {
	TAILQ_ENTRY(outq_reader) entry;
	struct outq		*q;	/* attached; NULL: private only */
	u_int64_t		 pos;	/* next shared byte to send */
	struct buf		*out;	/* private frames, whole */
	size_t			 max;	/* bound: lag + private */
	size_t			 head_rem;	/* bytes left of a frame
						   partly written */
	size_t			 marked;	/* private bytes placed */
	struct outq_mark	*marks;	/* where private runs go */
	u_int			 mfirst, nmarks, mcap;
};

struct outq {
	TAILQ_HEAD(outq_chunks, outq_chunk) chunks;
	TAILQ_HEAD(, outq_reader) readers;
	u_int64_t		 tail;	/* offset of the next byte */
	size_t			 stored;	/* bytes allocated */
	struct outq_chunk	*spares[4];
	u_int			 nspares;
};

enum peer_role {
	PEER_NEW = 0,
	PEER_PRODUCER,
	PEER_CONSUMER
};

struct peer {
	TAILQ_ENTRY(peer)	 entry;
	u_int			 serial;	/* for logs */
	int			 fd;
	enum peer_role		 role;
	uid_t			 uid;
	gid_t			 gid;		/* effective, at connect */
	pid_t			 pid;
	struct frame_reader	 fr;
	struct outq_reader	 rd;		/* what it is sent */
	int64_t			 since_ms;	/* accepted; held since */
	int64_t			 stuck_ms;	/* unwritable since; 0 not */
	int64_t			 close_ms;	/* closing since */
	int			 closing;	/* write what is queued, close */
	int			 dead;		/* close at the end of the pass */
	int			 held;		/* hello taken; waits for the
						   registry's answer */
	int64_t			 rx_ms;		/* last heard (broker-alive.c) */
	int64_t			 ping_ms;	/* last pinged */
	int			 unanswered;	/* closed: not answering */
	struct ratelog		 badlog;	/* bad frames' log lines */

	/* A producer: the newest token id admit's check saw. */
	int			 has_token;
	int64_t			 token;

	/* Consumers. */
	char			 name[PROTO_NAME_LEN];
	int			 mode;		/* PROTO_MODE_*, as asked */
	u_int			 cols, rows;
	int			 waiting;	/* for a snapshot */
	u_int32_t		 snap_id;	/* the request it waits for */
	int			 catching_up;	/* resynced, not yet drained */
	u_int64_t		 resyncs;	/* times it fell behind */
	int64_t			 resync_log_ms;	/* last resync logged */
	u_int			 small_cols, small_rows;	/* noticed */
	int			 keys_noticed;
	u_int			 rec_noticed;	/* record_paused, told */
	struct vtfilter		 infilter;
	u_int64_t		 keys_dropped;	/* read-only, restricted */
	u_int64_t		 keys_logged;
};
TAILQ_HEAD(peers, peer);

struct recorder;

/*
 * One registry call, run in a child of its own (broker-registry.c); the
 * loop never runs SQLite. Calls run one at a time, in the order queued.
 */
enum regq_op {
	REGQ_EVENT,
	REGQ_VIEWERS,
	REGQ_STATE,
	REGQ_CHECK,		/* the session's row */
	REGQ_TOTAL		/* relay-wide viewers, and the session's row */
};
struct regq_job {
	TAILQ_ENTRY(regq_job)	 entry;
	enum regq_op		 op;
	u_int			 serial;	/* held peer; 0 none */
	enum session_state	 state;
	u_int			 viewers;
	int64_t			 at;
	int			 has_detail;	/* else NULL */
	u_int			 tries;		/* made before, and failed */
	int64_t			 not_before_ms;	/* a retry waits till then */
	int			 at_start;	/* the first read: reap too */
	char			 actor[EVENT_ACTOR_LEN];
	char			 action[EVENT_ACTION_LEN];
	char			 detail[EVENT_DETAIL_LEN];
};
TAILQ_HEAD(regq_jobs, regq_job);

/* What a child reports, in one write (under PIPE_BUF). */
struct regq_result {
	int			 r;
	u_int			 total;
	struct session		 s;
	char			 msg[160];
};

struct broker {
	struct tunl_cfg		 cfg;
	char			 sid[ID_LEN_MAX];
	struct session		 sess;		/* as read at start */
	int			 restricted;
	struct regq_jobs	 regq;		/* registry calls to make */
	u_int			 nregq;
	struct regq_job		*reg_job;	/* running, in reg_pid */
	pid_t			 reg_pid;	/* 0: none running */
	int			 reg_fd;	/* its result; -1 once read */
	struct regq_result	 reg_res;
	size_t			 reg_got;
	int64_t			 reg_start_ms;
	int			 check_queued;
	int64_t			 next_full_check_ms;	/* safety-net read */
	u_int			 spooled;	/* calls written to the spool */
	int			 lockfd;
	int			 listenfd;
	char			 sockpath[CFG_PATH_MAX + 64];
	char			 lockpath[CFG_PATH_MAX + 64];
	uid_t			 customer_uid;
	uid_t			 engineer_uid;
	gid_t			 key_gid;	/* tunl-authority admit's */
	int64_t			 producer_gen;	/* token_gen at its admission */
	uid_t			 broker_uid;	/* our own account */
	gid_t			 relay_gid;
	gid_t			 recording_gid;
	int			 landlock_abi;	/* 0: not in use */
	int			 readyfd;	/* daemon: report to parent */
	int			 foreground;

	struct peers		 peers;
	struct peer		*producer;
	u_int			 nconsumers;
	u_int			 nnew;
	u_int			 serial;

	struct outq		 outq;		/* live output, framed */
	struct vtfilter		 vf;		/* live output */
	struct vtfilter		 snapvf;	/* snapshots, reset each */
	struct buf		*scratch;	/* filtered bytes */
	u_int64_t		 out_bytes;	/* live output, all told */
	u_int64_t		 trim_seen;	/* out_bytes at the last look */
	int64_t			 trim_due_ms;	/* give memory back then; 0 */
	u_int32_t		 snap_next;	/* next request id */
	u_int32_t		 snap_pending;	/* asked, not answered; 0 */
	int			 gap_repair;	/* broker-gap.c: the next
						   snapshot is recorded */
	u_int			 prod_cols, prod_rows;	/* 0: not known */
	u_int			 want_cols, want_rows;	/* last RESIZE sent */

	int64_t			 start_ms;
	int64_t			 producer_gone_ms;	/* 0: here/never */
	int64_t			 idle_ms;	/* nobody connected since */
	int64_t			 next_check_ms;
	int64_t			 next_keys_log_ms;
	int64_t			 accept_paused_until;
	int			 had_producer;
	u_int			 alive_serial;	/* producer being watched */
	int64_t			 alive_tick_ms;	/* last heartbeat check */
	int64_t			 wake_due_ms;	/* the loop meant to wake by */
	u_int32_t		 ping_seq;

	struct recorder		*rec;		/* broker-record.c */
	char			 recpath[CFG_PATH_MAX + 64];
	int			 rec_failed;

	volatile sig_atomic_t	 signalled;
	int			 ended;
	int64_t			 ended_ms;
};

/* tunl-broker.c */
void		 broker_report(struct broker *, int, const char *, ...)
		     TUNL_PRINTF(3, 4);

/* broker-wake.c */
int64_t		 broker_wake_ms(const struct broker *, int64_t, int);

/* broker-loop.c */
void		 broker_signals(struct broker *);
int		 broker_loop(struct broker *);

/* broker-outq.c */
void		 outq_init(struct outq *);
void		 outq_free(struct outq *);
size_t		 outq_stored(const struct outq *);
u_int64_t	 outq_span(const struct outq *);
int		 outq_append(struct outq *, u_int8_t, const void *, size_t);
void		 outq_trim(struct outq *);
int		 outq_reader_init(struct outq_reader *, size_t);
void		 outq_reader_free(struct outq_reader *);
int		 outq_reader_grow(struct outq_reader *, size_t);
size_t		 outq_lag(const struct outq_reader *);
size_t		 outq_pending(const struct outq_reader *);
int		 outq_fits(const struct outq_reader *, size_t);
int		 outq_queued(struct outq_reader *);
int		 outq_attach(struct outq *, struct outq_reader *);
int		 outq_detach(struct outq_reader *);
size_t		 outq_drop(struct outq_reader *);
struct iovec;
int		 outq_iov(const struct outq_reader *, struct iovec *, int);
void		 outq_advance(struct outq_reader *, size_t);

/* broker-peer.c */
struct peer	*peer_new(struct broker *, int, uid_t, pid_t);
void		 peer_free(struct peer *);
void		 peer_read(struct broker *, struct peer *);
void		 peer_frames(struct broker *, struct peer *);
int		 peer_flush(struct broker *, struct peer *);
void		 peer_send_error(struct peer *, u_int16_t, const char *, ...)
		     TUNL_PRINTF(3, 4);
void		 peer_send_text(struct peer *, u_int8_t, const char *, ...)
		     TUNL_PRINTF(3, 4);
void		 peer_close_after(struct peer *);
const char	*peer_label(const struct peer *);
size_t		 peer_drop_queue(struct peer *);
int		 peer_queued(struct peer *, int);
size_t		 peer_pending(const struct peer *);

/* broker-session.c */
void		 session_frame(struct broker *, struct peer *, struct frame *);
void		 session_peer_gone(struct broker *, struct peer *);
void		 session_timers(struct broker *, int64_t);
void		 session_end(struct broker *, const char *, const char *, int);
void		 session_record_viewers(struct broker *);
void		 session_notice_consumers(struct broker *, const char *);
void		 session_event(struct broker *, const char *, const char *,
		     const char *);
int		 session_effective_rw(const struct broker *,
		     const struct peer *);
void		 session_registry_answer(struct broker *,
		     const struct regq_job *, const struct regq_result *);

/* broker-record.c */
int		 record_open(struct broker *);
void		 record_output(struct broker *, const u_char *, size_t);
void		 record_resize(struct broker *, u_int, u_int);
void		 record_marker(struct broker *, const char *);

/* broker-gap.c */
int		 session_gap(struct broker *, struct buf *, char *, size_t);
void		 session_gap_repaired(struct broker *, const u_char *, size_t);
int		 record_flush(struct broker *, int64_t);
int64_t		 record_wait_ms(const struct broker *, int64_t);
int		 record_fd(const struct broker *);
u_int		 record_paused(const struct broker *);
void		 record_woken(struct broker *);
void		 record_trim(struct broker *);
void		 record_close(struct broker *);
void		 record_end(struct broker *);

/* broker-registry.c */
int		 regq_read_session(struct broker *, struct session *, char *,
		     size_t);
void		 regq_event(struct broker *, const char *, const char *,
		     const char *);
void		 regq_viewers(struct broker *, u_int);
void		 regq_state(struct broker *, enum session_state, const char *,
		     const char *);
int		 regq_check(struct broker *, u_int);
int		 regq_total(struct broker *, u_int);
void		 regq_spool_all(struct broker *);
int64_t		 regq_recheck_ms(const struct broker *);
int64_t		 regq_wait_ms(const struct broker *, int64_t);

/* broker-control.c */
int		 control_may_connect(const struct broker *, uid_t);
void		 control_frame(struct broker *, struct peer *, struct frame *);
int		 regq_fd(const struct broker *);
int		 regq_run(struct broker *);
int		 regq_idle(const struct broker *);

/* broker-confine.c: the sockets' and recordings' directories (admin-init.c). */
#define BROKER_SOCKDIR_MODE	0750
#define BROKER_RECDIR_MODE	02750
int		 confine_identity(struct broker *, char *, size_t);
int		 confine_dirs(struct broker *, char *, size_t);
int		 confine_lock_open(const char *, uid_t, int *, char *, size_t);
int		 confine_landlock(struct broker *);
/* broker-alive.c */
void		 alive_heard(struct peer *, int64_t);
void		 alive_check(struct broker *, int64_t);

/* broker-sandbox.c */
int		 sandbox_identity(struct broker *, char *, size_t);
int		 sandbox_enter(struct broker *, char *, size_t);
void		 sandbox_leave(void);

#endif /* BROKER_H */
