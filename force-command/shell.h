/*
 * shell.h: tunl-shell, the ForceCommand of the customer and engineer
 * accounts (tunl-shell(8)).
 */
#ifndef TUNL_SHELL_H
#define TUNL_SHELL_H

#include "tunl.h"
#include "frame.h"

#define SHELL_CMD_MAX		1024	/* bytes in SSH_ORIGINAL_COMMAND */
#define SHELL_WORDS_MAX		16	/* words in it */
#define SHELL_WORD_MAX		128	/* bytes in one word, with NUL */
#define SHELL_CASE_MAX		65	/* [A-Za-z0-9._-]{1,64}, with NUL */
#define SHELL_CUSTOMER_MAX	65	/* [A-Za-z0-9._-]{1,64}, with NUL */
#define SHELL_ENGINEER_MAX	33	/* [a-z_][a-z0-9_.-]{0,31}, with NUL */
#define SHELL_ECHO_MAX		48	/* bytes of hostile input echoed */
#define SHELL_KEYLINE_MAX	1024	/* the public key line for sign */
#define SHELL_CHILD_OUT_MAX	(16 * 1024)	/* authority's stdout */
#define SHELL_CHILD_ERR_MAX	1024	/* authority's stderr */
#define SHELL_GET_MAX		(64 * 1024 * 1024)	/* get tunl-share */
#define REPLAY_SPEED_MIN	25	/* replay --speed, in hundredths */
#define REPLAY_SPEED_MAX	1600

/* Exit statuses. */
#define SHELL_EXIT_OK		0
#define SHELL_EXIT_REFUSED	1
#define SHELL_EXIT_USAGE	2

enum shell_role {
	SHELL_CUSTOMER,
	SHELL_ENGINEER
};

enum shell_verb {
	SHELL_V_STATUS,
	SHELL_V_SIGN,
	SHELL_V_PRODUCE,
	SHELL_V_HELP,
	SHELL_V_NEW,
	SHELL_V_LIST,
	SHELL_V_SHOW,
	SHELL_V_KILL,
	SHELL_V_UNLOCK,
	SHELL_V_TOKEN,
	SHELL_V_JOIN,
	SHELL_V_CONSUME,
	SHELL_V_REPLAY,
	SHELL_V_CAST,
	SHELL_V_TUNNEL,
	SHELL_V_GET
};

/* A parsed command: fixed-size fields, nothing to free. */
struct shell_cmd {
	enum shell_verb	 verb;
	int		 has_id;
	char		 id[ID_LEN_MAX];
	char		 case_ref[SHELL_CASE_MAX];
	char		 customer[SHELL_CUSTOMER_MAX];
	u_int		 ttl;		/* minutes; 0 if not given */
	int		 restricted;
	int		 json;
	int		 read_only;
	u_int		 speed;		/* replay: hundredths; 0 if not given */
	char		 host[SESSION_HOST_LEN];	/* produce --host */
	int		 get_hash;	/* get tunl-share.sha256 */
};

/* What parsing failed on. */
enum shell_args_err {
	SHELL_ARGS_OK = 0,
	SHELL_ARGS_UNKNOWN,	/* not a verb of this account */
	SHELL_ARGS_USAGE	/* a verb used wrongly */
};

/* Everything one run of tunl-shell knows. */
struct shell {
	struct tunl_cfg	 cfg;
	enum shell_role	 role;
	const char	*authority;	/* path of tunl-authority */
	const char	*engineer_keys;	/* authorized_keys to search */
	const char	*broker;	/* path of tunl-broker */
	const char	*share_static;	/* what get tunl-share sends */
	char		 connection[HANDOFF_CONN_MAX];
	char		 rhost[HANDOFF_SOURCE_MAX];	/* client address */
	char		 relay_host[HANDOFF_SOURCE_MAX];	/* ours */
	char		 relay_port[8];		/* our port, from sshd */
	char		 auth_path[CFG_PATH_MAX];	/* $SSH_USER_AUTH */
	char		 login_key[LOGIN_KEY_HEX + 1];	/* "" if none */
	struct sshauth	 auth;
	char		 who[SHELL_ENGINEER_MAX];	/* engineer name */
	char		 session[ID_LEN_MAX];	/* customer's bound session */
	gid_t		 relay_gid;
	int64_t		 now;
};

/* shell-args.c */
int		 shell_args_split(const char *, size_t,
		     char [SHELL_WORDS_MAX][SHELL_WORD_MAX], u_int *);
enum shell_args_err shell_args_parse(enum shell_role, const char *, size_t,
		     u_int, struct shell_cmd *, char *, size_t);
int		 shell_args_case_ok(const char *);
int		 shell_args_customer_ok(const char *);
int		 shell_args_engineer_ok(const char *);
const char	*shell_args_echo(const char *, size_t, char *, size_t);
int		 shell_args_speed(const char *, u_int *);

/* tunl-shell.c */
void		 shell_refuse(int, const char *, ...)
		     TUNL_PRINTF(2, 3) TUNL_NORETURN;
/* tunl-authority admit's exits besides 0 and 1 (refused). */
#define SHELL_ADMIT_NO_BROKER	3	/* nobody listens */
#define SHELL_ADMIT_UNSAFE	4	/* the socket is not the broker's */
#define SHELL_ADMIT_SUPERSEDED	5	/* a newer token has the session */
int		 shell_run_admit(struct shell *, const char *, const char *,
		     u_int, u_int, int *, char *, size_t);
int		 shell_run_authority(struct shell *, const char *const *,
		     const char *, struct buf *, char *, size_t);

/* shell-registry.c: the registry, through tunl-authority */
int		 shell_reg_run(struct shell *, const char *, const char *,
		     const char *, struct buf *, char *, size_t);
int		 shell_reg_quiet(struct shell *, const char *, const char *,
		     const char *);
void		 shell_reg_report(struct shell *, const char *, const char *);
int		 shell_reg_session(struct shell *, const char *,
		     struct session *);

/* shell-line.c: the line the customer pastes */
int		 shell_line_relay(const struct shell *, char *, size_t);
int		 shell_line_host_key(const struct shell *, char *, size_t,
		     int *);
int		 shell_line_pin(const struct shell *, char *, size_t, int *);
int		 shell_line_format(const struct shell *, const char *,
		     const char *, int, char *, size_t, int *);
void		 shell_line_print(const struct shell *, const char *,
		     const char *, int);

/* shell-get.c: get tunl-share */
int		 shell_get(struct shell *, const struct shell_cmd *);
void		 shell_get_hint(const struct shell *);

/* shell-customer.c */
int		 shell_customer(struct shell *, const struct shell_cmd *);

/* shell-engineer.c */
int		 shell_engineer(struct shell *, const struct shell_cmd *);

/* shell-endwhy.c */
int		 shell_end_words(struct shell *, const char *, char *,
		     size_t);

/* shell-live.c: what produce, join and replay share */
#define LIVE_QUEUE_MAX		(2 * (FRAME_HEADER_LEN + FRAME_MAX))
#define LIVE_START_WAIT_MS	15000	/* for a broker to say it is ready */
#define LIVE_CONNECT_TRIES	50	/* 100 ms apart */
#define LIVE_FLUSH_MS		2000	/* last words before exit */

int		 shell_live_sockpath(const struct shell *, const char *, char *,
		     size_t);
int		 shell_live_connect(const struct shell *, const char *, int *);
int		 shell_live_start(struct shell *, const char *, int *);
int		 shell_live_alive(const struct shell *, const char *);
void		 shell_live_broker_died(struct shell *, const char *,
		     const char *);
void		 shell_live_nonblock(int);
void		 shell_live_flush(int, struct buf *, int);
int		 shell_live_term_raw(int);
void		 shell_live_term_restore(void);

/* shell-produce.c */
int		 shell_produce(struct shell *);

/* shell-join.c */
#define JOIN_DETACH_KEY		0x1d	/* Ctrl-] */
#define JOIN_DETACH_NAME	"Ctrl-] d"
#define JOIN_NOTICE_MS		5000	/* a notice stays this long */
#define JOIN_STATUS_MS		1000	/* status row redrawn at most */
#define JOIN_OUT_MAX		(8 * 1024 * 1024)	/* terminal backlog */
/* Room for one frame's output through the filter and the screen stage. */
#define JOIN_FRAME_ROOM		\
	(VTSCREEN_OUT_MAX(VTFILTER_OUT_MAX(FRAME_PAYLOAD_MAX)) + 1024)
#define JOIN_CHAT_LINES		16	/* chat history kept */
#define JOIN_CHAT_SHOWN		200	/* bytes of a line kept for it */

/* What a key press means, one byte at a time (shell_join_key). */
enum join_key {
	JOIN_KEY_SEND,		/* send the byte */
	JOIN_KEY_HOLD,		/* the escape: wait for the next byte */
	JOIN_KEY_DETACH,	/* leave the session */
	JOIN_KEY_HELP,		/* show the keys */
	JOIN_KEY_CHAT,		/* open the chat line */
	JOIN_KEY_HISTORY,	/* show the recent chat */
	JOIN_KEY_SEND_BOTH	/* send the escape, then the byte */
};

enum join_key	 shell_join_key(int *, u_char);
int		 shell_join(struct shell *, const struct shell_cmd *);

/* shell-replay.c */
#define REPLAY_IDLE_MAX_MS	2000	/* recorded gaps are cut to this */
#define REPLAY_FILES_MAX	100	/* <id>.cast, <id>-2.cast ... */

int		 shell_replay_open(struct shell *, const char *, char *, size_t,
		     int *);
int		 shell_replay(struct shell *, const struct shell_cmd *);
int		 shell_cast(struct shell *, const struct shell_cmd *);

/* shell-identity.c */
int		 shell_identity_engineer(struct shell *);

/* shell-login.c */
void		 shell_login_take(struct shell *);

#endif /* TUNL_SHELL_H */
