/*
 * tunl.h: the private interface of libtunl, grouped by the file that
 * defines each function.
 *
 * Rules every function here keeps (the PAM module links this library and
 * runs inside sshd):
 *  - never exit, never abort on bad input, never use a dying allocator;
 *  - return 0 on success or a negative TUNL_ERR_* code (tunl_err() names it);
 *  - check every size before use; wipe secrets before freeing them.
 * Programs that may die on their own errors use lib/die.c (fatal, xmalloc),
 * which is not part of this library.
 */
#ifndef TUNL_H
#define TUNL_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#if defined(__GNUC__)
#define TUNL_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define TUNL_NORETURN		__attribute__((noreturn))
#define TUNL_WUR		__attribute__((warn_unused_result))
#else
#define TUNL_PRINTF(f, a)
#define TUNL_NORETURN
#define TUNL_WUR
#endif

#define TUNL_NITEMS(a)		(sizeof(a) / sizeof((a)[0]))

/* ---- err.c ------------------------------------------------------------- */

#define TUNL_OK				0
#define TUNL_ERR_INTERNAL		-1	/* a bug: should not happen */
#define TUNL_ERR_ALLOC			-2	/* out of memory */
#define TUNL_ERR_LENGTH			-3	/* size over its bound */
#define TUNL_ERR_SHORT			-4	/* not enough data (yet) */
#define TUNL_ERR_INVALID		-5	/* malformed input */
#define TUNL_ERR_RANGE			-6	/* number out of range */
#define TUNL_ERR_NUL			-7	/* embedded NUL in a string */
#define TUNL_ERR_SYSTEM			-8	/* system call failed: see errno */
#define TUNL_ERR_VERSION		-9	/* protocol or schema version */
#define TUNL_ERR_FRAME_TYPE		-10	/* unknown frame type */
#define TUNL_ERR_CONFIG			-11	/* bad configuration */
#define TUNL_ERR_NOT_FOUND		-12	/* no such item */
#define TUNL_ERR_EXISTS			-13	/* item already exists */
#define TUNL_ERR_DB			-14	/* database error */
#define TUNL_ERR_BUSY			-15	/* database locked past timeout */
#define TUNL_ERR_DENIED			-16	/* authentication or policy */
#define TUNL_ERR_EXPIRED		-17	/* past its expiry */
#define TUNL_ERR_LOCKED			-18	/* session locked by failures */
#define TUNL_ERR_STATE			-19	/* wrong state for the request */
#define TUNL_ERR_RATE			-20	/* rate limit reached */
#define TUNL_ERR_UNSAFE			-21	/* unsafe owner, mode or path */
#define TUNL_ERR_CRYPTO			-22	/* libsodium failure */
#define TUNL_ERR_EOF			-23	/* peer closed */
#define TUNL_ERR_FULL			-24	/* queue or disk full */
#define TUNL_ERR_MAX			-24	/* the last code */

const char	*tunl_err(int);

/* ---- buf.c: bounded buffers, in the manner of OpenSSH's sshbuf --------- */

#define BUF_SIZE_MAX		(16 * 1024 * 1024)	/* hard ceiling */

struct buf;

struct buf	*buf_new(size_t max) TUNL_WUR;
struct buf	*buf_from(const void *, size_t) TUNL_WUR;
void		 buf_free(struct buf *);
void		 buf_reset(struct buf *);
size_t		 buf_len(const struct buf *);
size_t		 buf_max(const struct buf *);
size_t		 buf_avail(const struct buf *);
const u_char	*buf_ptr(const struct buf *);
u_char		*buf_mutable_ptr(struct buf *);
int		 buf_reserve(struct buf *, size_t, u_char **);
int		 buf_consume(struct buf *, size_t);
int		 buf_consume_end(struct buf *, size_t);
int		 buf_put(struct buf *, const void *, size_t);
int		 buf_putb(struct buf *, const struct buf *);
int		 buf_putf(struct buf *, const char *, ...) TUNL_PRINTF(2, 3);
int		 buf_putfv(struct buf *, const char *, va_list)
		     TUNL_PRINTF(2, 0);
int		 buf_put_u8(struct buf *, u_int8_t);
int		 buf_put_u16(struct buf *, u_int16_t);
int		 buf_put_u32(struct buf *, u_int32_t);
int		 buf_put_u64(struct buf *, u_int64_t);
int		 buf_put_string(struct buf *, const void *, size_t);
int		 buf_put_cstring(struct buf *, const char *);
int		 buf_get(struct buf *, void *, size_t);
int		 buf_get_u8(struct buf *, u_int8_t *);
int		 buf_get_u16(struct buf *, u_int16_t *);
int		 buf_get_u32(struct buf *, u_int32_t *);
int		 buf_get_u64(struct buf *, u_int64_t *);
int		 buf_peek_u32(const struct buf *, size_t, u_int32_t *);
int		 buf_get_string_direct(struct buf *, const u_char **, size_t *);
int		 buf_get_string(struct buf *, u_char **, size_t *);
int		 buf_get_cstring(struct buf *, char **, size_t *);
char		*buf_dup_string(const struct buf *);
int		 buf_read_fd(struct buf *, int, size_t, size_t *);
int		 buf_write_fd(struct buf *, int, size_t *);

/* ---- util.c: numbers, strings and paths from untrusted text ------------ */

int		 tunl_strtonum(const char *, long long, long long, long long *);
size_t		 tunl_strlcpy(char *, const char *, size_t);
int		 tunl_safe_path(const char *, uid_t, char *, size_t);
int		 tunl_host_ok(const char *);
int		 tunl_open_safely(const char *, int, mode_t, uid_t, int *);
int		 tunl_private_file_create(const char *, gid_t, const void *,
		     size_t);
int64_t		 tunl_now_ms(void);

/* ---- util-ct.c: constant-time compare (libsodium) ------------------------ */

int		 tunl_streq_ct(const void *, const void *, size_t);

/* ---- memzero.c: wiping secrets (libc: explicit_bzero) ------------------ */

void		 tunl_memzero(void *, size_t);

/* ---- log.c: syslog and stderr, untrusted strings escaped --------------- */

#define LOG_TO_STDERR		0x1	/* also write to stderr */
#define LOG_NO_SYSLOG		0x2	/* only stderr (tests, tools) */

enum log_level {
	TUNL_LOG_ERROR = 0,
	TUNL_LOG_INFO,
	TUNL_LOG_VERBOSE,
	TUNL_LOG_DEBUG
};

void		 log_init(const char *, int, int);
void		 log_set_level(enum log_level);
enum log_level	 log_get_level(void);
void		 log_close(void);
void		 log_msg(enum log_level, const char *, ...) TUNL_PRINTF(2, 3);
void		 log_msgv(enum log_level, const char *, va_list)
		     TUNL_PRINTF(2, 0);
void		 log_msg_r(enum log_level, int, const char *, ...)
		     TUNL_PRINTF(3, 4);
size_t		 log_escape(char *, size_t, const void *, size_t);

#define error(...)	log_msg(TUNL_LOG_ERROR, __VA_ARGS__)
#define info(...)	log_msg(TUNL_LOG_INFO, __VA_ARGS__)
#define verbose(...)	log_msg(TUNL_LOG_VERBOSE, __VA_ARGS__)
#define debug(...)	log_msg(TUNL_LOG_DEBUG, __VA_ARGS__)
#define error_r(r, ...)	log_msg_r(TUNL_LOG_ERROR, (r), __VA_ARGS__)
#define info_r(r, ...)	log_msg_r(TUNL_LOG_INFO, (r), __VA_ARGS__)

/* ---- relay-addr.c: the relay's address and host key, as printed ---------- */

#define RELAY_HOST_MAX		254	/* host name or address, with NUL */
#define RELAY_ADDR_MAX		(RELAY_HOST_MAX + 8)	/* "[host]:65535" */
#define RELAY_HOSTKEY_MAX	2048	/* "TYPE BASE64", with NUL */

struct relay_addr {
	char		 host[RELAY_HOST_MAX];	/* no brackets */
	u_int		 port;			/* 0: ssh's default */
	int		 v6;			/* host is an IPv6 address */
};

int		 relay_addr_parse(const char *, struct relay_addr *,
		     const char **);
int		 relay_addr_format(const struct relay_addr *, char *, size_t);
int		 tunl_b64_decode(const char *, size_t, u_char *, size_t,
		     size_t *);
int		 relay_hostkey_parse(const char *, char *, size_t,
		     const char **);
int		 relay_hostkey_load(const char *, char *, size_t,
		     const char **);

/* ---- relay-pin.c: what a customer pins (host CA, else sshd's key) ------- */

#define RELAY_PIN_MAX	(RELAY_HOSTKEY_MAX + RELAY_ADDR_MAX + 32)

struct tunl_cfg;
int		 relay_pin_load(const struct tunl_cfg *, char *, size_t, int *,
		     const char **, const char **);
int		 relay_pin_host(const struct relay_addr *, char *, size_t);
int		 relay_pin_line(const char *, int, const char *, char *,
		     size_t);

/* ---- cfg.c: the configuration file (docs/config.md) -------------------- */

/*
 * The one configuration file. Its path comes from a program's command-line
 * option or the PAM module's argument, never from the environment.
 */
#define CFG_PATH_DEFAULT	SYSCONFDIR "/tunl/tunl.conf"
#define CFG_FILE_MAX		(64 * 1024)	/* bytes in the whole file */
#define CFG_LINE_MAX		1024	/* bytes in a line, without newline */
#define CFG_PATH_MAX		256	/* 255 bytes and NUL */
#define CFG_NAME_MAX		33	/* 32 bytes and NUL */
#define CFG_URL_MAX		512	/* 511 bytes and NUL */
#define CFG_WEBHOOKS_MAX	4	/* webhook_url lines */
#define CFG_DUMP_MAX		8192	/* room for the longest cfg_dump */

#define CFG_DEFAULT_OK		0x1	/* cfg_load: no file at the default
					   path means all defaults */

/* Fixed-size fields only: copy it freely, nothing to free. */
struct tunl_cfg {
	char		 database[CFG_PATH_MAX];
	char		 runtime_dir[CFG_PATH_MAX];
	char		 recording_dir[CFG_PATH_MAX];
	char		 token_key[CFG_PATH_MAX];
	char		 ca_key[CFG_PATH_MAX];
	char		 relay_group[CFG_NAME_MAX];
	char		 customer_user[CFG_NAME_MAX];
	char		 engineer_user[CFG_NAME_MAX];
	char		 broker_user[CFG_NAME_MAX];
	char		 principals_user[CFG_NAME_MAX];
	char		 key_group[CFG_NAME_MAX];
	char		 recording_group[CFG_NAME_MAX];
	char		 tunnel_user[CFG_NAME_MAX];	/* listens for tunnels */
	int		 token_required;	/* 0 or 1 */
	u_int		 token_length;		/* digits */
	u_int		 session_ttl;		/* minutes */
	u_int		 token_ttl;		/* minutes */
	u_int		 cert_ttl;		/* minutes */
	u_int		 failure_cap;		/* failures, then locked */
	u_int		 rate_limit;		/* failures per address */
	u_int		 rate_window;		/* seconds */
	u_int		 sign_cooldown;		/* seconds */
	u_int		 max_consumers;		/* per session */
	u_int		 max_consumers_total;	/* relay-wide */
	size_t		 consumer_backlog;	/* bytes */
	u_int		 producer_grace;	/* seconds */
	u_int		 consumer_stuck;	/* seconds unread, then dropped */
	u_int		 registry_recheck;	/* seconds: broker's safety net */
	u_int		 recording_retention;	/* days; 0 keeps them */
	size_t		 recording_max;	/* output bytes a recording holds;
					   0: no cap */
	u_int		 event_retention;	/* days; 0 keeps them */
	u_int		 tunnel_port_min;	/* relay ports for tunnels; */
	u_int		 tunnel_port_max;	/* both 0: no tunnels */
	u_int		 nwebhooks;
	char		 webhook_url[CFG_WEBHOOKS_MAX][CFG_URL_MAX];
	char		 webhook_key[CFG_PATH_MAX];	/* signs deliveries */
	enum log_level	 log_level;
	char		 relay_address[RELAY_ADDR_MAX];	/* "" when unset */
	char		 relay_host_key[CFG_PATH_MAX];	/* its .pub file */
	char		 host_ca_key[CFG_PATH_MAX];	/* signs host keys */
	char		 engineer_keys[CFG_PATH_MAX];	/* AuthorizedKeysFile */
};

void		 cfg_defaults(struct tunl_cfg *);
int		 cfg_parse(struct tunl_cfg *, const char *, size_t,
		     const char *, char *, size_t);
int		 cfg_load(struct tunl_cfg *, const char *, int, char *, size_t);
int		 cfg_dump(const struct tunl_cfg *, struct buf *);
int		 cfg_equal(const struct tunl_cfg *, const struct tunl_cfg *);
const char	*cfg_log_level_name(enum log_level);
int		 cfg_name_ok(const char *);

/* ---- id.c, wordlist.c: four-word session ids ----------------------------- */

#define ID_WORDS		4	/* words in a session id */
#define ID_WORDLIST_LEN		2048	/* 11 bits a word, 44 bits an id */
#define ID_WORD_MIN		3	/* letters in the shortest word */
#define ID_WORD_MAX		8	/* letters in the longest word */
#define ID_LEN_MAX		(ID_WORDS * (ID_WORD_MAX + 1))	/* with NUL */

#define ID_INPUT_MAX		128	/* bytes of an id as typed */

int		 id_generate(char *, size_t);	/* id-generate.c */
int		 id_check(const char *);
int		 id_normalise(const char *, char *, size_t);
const char	*id_word(u_int);
size_t		 id_wordlist_len(void);
int		 id_word_find(const char *, size_t, u_int *);

/* ---- token.c: one-time tokens and their keyed hashes -------------------- */

#define TOKEN_DIGITS_DEFAULT	8
#define TOKEN_DIGITS_MIN	6
#define TOKEN_DIGITS_MAX	12
#define TOKEN_LEN_MAX		(TOKEN_DIGITS_MAX + 1)	/* with NUL */
#define TOKEN_KEY_LEN		32	/* the relay's hashing key */
#define TOKEN_HASH_LEN		32	/* keyed BLAKE2b of a token */

int		 token_generate(u_int, char *, size_t);
int		 token_check(const char *, u_int);
int		 token_hash(const u_char *, const char *, u_char *);
int		 token_equal(const u_char *, const u_char *);
int		 token_key_create(const char *, uid_t, gid_t, mode_t);
int		 token_key_load(const char *, uid_t, u_char *);

/* ---- registry.c: the SQLite session registry ----------------------------- */

/*
 * The schema lives in registry-schema.c as an append-only list of
 * migrations (docs/registry.md). Every string argument is checked before
 * any SQL runs; times are unix seconds passed in by the caller.
 */
#define REGISTRY_SCHEMA_VERSION		5
#define REGISTRY_VIEWERS_MAX		65535	/* per session */

#define REGISTRY_CREATE			0x1	/* create the file (0640) */
#define REGISTRY_READONLY		0x2	/* no writes, no migrations */

#define REGISTRY_BUSY_TIMEOUT_MS	30000	/* default wait for a lock */

#define SESSION_CASE_LEN		65	/* with NUL */
#define SESSION_CUSTOMER_LEN		65
#define SESSION_HOST_LEN		256
#define SESSION_ENGINEER_LEN		65
#define EVENT_ACTOR_LEN			65
#define EVENT_ACTION_LEN		33	/* [a-z0-9-], not empty */
#define EVENT_SOURCE_LEN		46	/* INET6_ADDRSTRLEN */
#define EVENT_DETAIL_LEN		257

enum session_state {
	SESSION_PENDING = 0,
	SESSION_ACTIVE,
	SESSION_ENDED,
	SESSION_LOCKED
};
#define SESSION_NSTATES			4

enum session_mode {
	SESSION_SHARE = 0,
	SESSION_RESTRICTED,
	SESSION_TUNNEL
};
#define SESSION_NMODES			3

struct session {
	char			 id[ID_LEN_MAX];
	enum session_state	 state;
	enum session_mode	 mode;
	char			 case_ref[SESSION_CASE_LEN];
	char			 customer[SESSION_CUSTOMER_LEN];
	char			 host[SESSION_HOST_LEN];
	char			 engineer[SESSION_ENGINEER_LEN];
	int64_t			 created;
	int64_t			 expires;
	int64_t			 ended;		/* 0 while not ended */
	u_int			 failures;
	u_int			 viewers;	/* engineers joined now */
	int64_t			 token_gen;	/* newest token's id; 0: none */
};

struct registry_event {
	int64_t			 id;
	char			 session_id[ID_LEN_MAX];	/* "" if none */
	int64_t			 at;
	char			 actor[EVENT_ACTOR_LEN];
	char			 action[EVENT_ACTION_LEN];
	char			 source[EVENT_SOURCE_LEN];	/* "" if none */
	char			 detail[EVENT_DETAIL_LEN];
};

struct registry;

const char	*session_state_name(enum session_state);
int		 session_state_parse(const char *, enum session_state *);
const char	*session_mode_name(enum session_mode);
int		 session_mode_parse(const char *, enum session_mode *);

int		 registry_open(const char *, int, struct registry **);
void		 registry_close(struct registry *);
const char	*registry_errmsg(struct registry *);
int		 registry_set_busy_timeout(struct registry *, int);
int		 registry_schema_version(struct registry *, int *);
int		 registry_session_create(struct registry *,
		     const struct session *, const u_char *, int64_t);
int		 registry_session_get(struct registry *, const char *,
		     struct session *);
int		 registry_session_list(struct registry *, int,
		     int (*)(const struct session *, void *), void *);
int		 registry_session_set_state(struct registry *, const char *,
		     enum session_state, const char *, const char *, int64_t);
int		 registry_session_restrict(struct registry *, const char *,
		     const char *, int64_t);
int		 registry_session_expire(struct registry *, int64_t);
int		 registry_token_lookup(struct registry *, const u_char *,
		     int64_t, char [ID_LEN_MAX]);
int		 registry_token_consume(struct registry *, const char *,
		     const u_char *, int64_t);
int		 registry_token_reissue(struct registry *, const char *,
		     const u_char *, int64_t, const char *, int64_t);
int		 registry_failure_record(struct registry *, const char *,
		     const char *, int64_t, u_int, int *);
int		 registry_source_allowed(struct registry *, const char *,
		     u_int, u_int, int64_t);
int		 registry_sign_cooldown(struct registry *, const char *,
		     u_int, int64_t);
int		 registry_event_add(struct registry *, const char *,
		     const char *, const char *, const char *, const char *,
		     int64_t);
int		 registry_event_list(struct registry *, const char *,
		     int (*)(const struct registry_event *, void *), void *);
int		 registry_count_by_state(struct registry *,
		     u_int [SESSION_NSTATES]);
int		 registry_session_set_viewers(struct registry *, const char *,
		     u_int);
int		 registry_viewers_total(struct registry *, u_int *);
int		 registry_session_set_host(struct registry *, const char *,
		     const char *);
int		 registry_events_after(struct registry *, int64_t,
		     struct registry_event *, size_t, size_t *);
int		 registry_events_count_after(struct registry *, int64_t,
		     int64_t *);
int		 registry_webhook_cursor(struct registry *, const char *, int,
		     int64_t, int64_t *);
int		 registry_webhook_advance(struct registry *, const char *,
		     int64_t, int64_t);
#define REGISTRY_PRUNE_BATCH_MAX	10000	/* rows in one transaction */
int		 registry_prune_events(struct registry *, int64_t, u_int);
int		 registry_prune_sessions(struct registry *, int64_t, u_int);
int		 registry_tunnel_assign(struct registry *, const char *, u_int,
		     u_int, u_int *);
int		 registry_tunnel_port(struct registry *, const char *, u_int *);

/* registry-schema.c */
const char	*registry_migration(int);

/* ---- login-key.c: the per-login secret (docs/auth-design.md) ---------- */

#define LOGIN_KEY_LEN		32
#define LOGIN_KEY_HEX		(LOGIN_KEY_LEN * 2)
#define LOGIN_KEY_ENV		"TUNL_LOGIN_KEY"

int		 login_key_parse(const char *, u_char [LOGIN_KEY_LEN]);
void		 login_key_new(u_char [LOGIN_KEY_LEN], char [LOGIN_KEY_HEX + 1]);
int		 login_key_verifier(const u_char [LOGIN_KEY_LEN],
		     u_char [LOGIN_KEY_LEN]);
int		 login_file_write(const char *, const char *,
		     const u_char [LOGIN_KEY_LEN], const u_char *, gid_t, int64_t,
		     int64_t);
int		 login_file_check(const char *, const char *, gid_t,
		     const char *, u_char [TOKEN_HASH_LEN], int *);
int		 login_file_write_cert(const char *, const char *,
		     const u_char [LOGIN_KEY_LEN], const char *, int64_t, gid_t);
int		 login_file_write_engineer(const char *, const char *,
		     const u_char [LOGIN_KEY_LEN], const char *, gid_t);

/* What a login used, from its login file. */
#define ENGINEER_NAME_LEN	33	/* [a-z_][a-z0-9_.-]{0,31}, NUL */
struct login_info {
	int		 has_token;	/* token: its keyed hash */
	u_char		 token[TOKEN_HASH_LEN];
	int		 is_cert;	/* session certificate: */
	char		 session[ID_LEN_MAX];	/* its key id */
	int64_t		 serial;	/* its serial (the sign time) */
	int		 is_engineer;	/* an engineer's login: */
	char		 engineer[ENGINEER_NAME_LEN]; /* the name sshd gave */
};
int		 login_file_verify(const char *, const char *, gid_t,
		     const char *, struct login_info *);
int		 login_file_parse(const char *, size_t, u_char [LOGIN_KEY_LEN],
		     struct login_info *);	/* fuzzed */
/* registry.c */
int		 registry_login_current(struct registry *, const char *,
		     const struct login_info *, int64_t *);
int		 login_file_remove(const char *, const char *);

/* engineer-keys.c: the engineer a plain key belongs to */
int		 engineer_keyline(const char *, size_t, const u_char *, size_t,
		     char *, size_t);		/* fuzzed */
int		 engineer_keys_name(const char *, const u_char *, size_t, char *,
		     size_t);

/* source-prefix.c: IPv6 sources are counted by /64 */
int		 source_limit_key(const char *, char [EVENT_SOURCE_LEN]);

/* json-string.c: text as a JSON string, ASCII whatever the input */
int		 json_string_put(struct buf *, const char *, size_t);
int		 json_string_print(FILE *, const char *);

/* ---- webhook.c: webhook bodies and signatures (docs/webhooks.md) ------- */

#define WEBHOOK_BATCH_MAX	50	/* events in one delivery */
#define WEBHOOK_RELAY_MAX	256	/* relay name, with NUL */
#define WEBHOOK_KEY_LEN		32	/* HMAC-SHA256 key bytes */
#define WEBHOOK_SIG_LEN		(7 + 64 + 1)	/* "sha256=", hex, NUL */
/*
 * Room for the largest body: every byte of every field escaped as \uXXXX
 * (6 bytes) is about 2.7 KB an event, 135 KB a batch.
 */
#define WEBHOOK_BODY_MAX	(256 * 1024)

int		 webhook_body(struct buf *, const char *, int64_t,
		     const struct registry_event *, size_t);
int		 webhook_sign(const u_char *, const void *, size_t,
		     char [WEBHOOK_SIG_LEN]);

/* ---- handoff.c: the binding PAM hands to the ForceCommand ------------------ */

#define HANDOFF_VERSION		1
#define HANDOFF_FILE_MAX	1024	/* bytes in a hand-off file */
#define HANDOFF_CONN_MAX	128	/* SSH_CONNECTION, with NUL */
#define HANDOFF_METHOD_MAX	8	/* "token" or "id", with NUL */
#define HANDOFF_SOURCE_MAX	46	/* INET6_ADDRSTRLEN */
#define HANDOFF_NAME_LEN	(32 + 8)	/* hex + ".handoff" */

struct handoff {
	char		 session[ID_LEN_MAX];
	char		 rhost[HANDOFF_SOURCE_MAX];
	char		 connection[HANDOFF_CONN_MAX];
	char		 method[HANDOFF_METHOD_MAX];
	int64_t		 time;
};

int		 handoff_check_connection(const char *);
int		 handoff_check_source(const char *);
int		 handoff_path(const char *, const char *, char *, size_t);
int		 handoff_format(const struct handoff *, struct buf *);
int		 handoff_parse(const char *, size_t, struct handoff *);
int		 handoff_write(const char *, const struct handoff *, gid_t,
		     int64_t, int64_t);
int		 handoff_read(const char *, const char *, gid_t, int64_t,
		     int64_t, struct handoff *);
int		 handoff_remove(const char *, const char *);
int		 handoff_clean(const char *, int64_t, int64_t, u_int *);

/* ---- sshcert.c: ExposeAuthInfo, OpenSSH certificates, fingerprints ------ */

#define SSHAUTH_FILE_MAX	(64 * 1024)	/* bytes in $SSH_USER_AUTH */
#define SSHAUTH_LINE_MAX	16384	/* bytes in one of its lines */
#define SSHAUTH_METHOD_MAX	64	/* bytes in a method name, with NUL */
#define SSHAUTH_KEYS_MAX	4	/* publickey lines kept */
#define SSHKEY_TYPE_MAX		64	/* key type name, with NUL */
#define SSHKEY_BLOB_MAX		8192	/* decoded key or certificate */
#define SSHKEY_B64_MAX		(((SSHKEY_BLOB_MAX + 2) / 3) * 4)
#define SSHKEY_FP_LEN		(7 + 43 + 1)	/* "SHA256:" + base64 + NUL */
#define SSHCERT_PRINCIPALS_MAX	16
#define SSHCERT_TEXT_MAX	256	/* key id or principal, with NUL */
#define SSHCERT_TYPE_USER	1
#define SSHCERT_TYPE_HOST	2

#define SSHAUTH_PUBLICKEY	0x1
#define SSHAUTH_KBDINT		0x2	/* keyboard-interactive[/device] */
#define SSHAUTH_PASSWORD	0x4
#define SSHAUTH_OTHER		0x8

struct sshauth_key {
	char		 type[SSHKEY_TYPE_MAX];
	int		 cert;		/* an OpenSSH certificate */
	u_char		 blob[SSHKEY_BLOB_MAX];
	size_t		 len;
};

struct sshauth {
	u_int			 methods;	/* SSHAUTH_* */
	u_int			 nkeys;
	struct sshauth_key	 keys[SSHAUTH_KEYS_MAX];
};

struct sshcert {
	char		 key_type[SSHKEY_TYPE_MAX];	/* the cert type */
	u_int32_t	 type;		/* SSHCERT_TYPE_* */
	u_int64_t	 serial;
	char		 key_id[SSHCERT_TEXT_MAX];
	u_int		 nprincipals;
	char		 principals[SSHCERT_PRINCIPALS_MAX][SSHCERT_TEXT_MAX];
	u_int64_t	 valid_after;
	u_int64_t	 valid_before;
	char		 key_fp[SSHKEY_FP_LEN];	/* the certified key */
	char		 ca_type[SSHKEY_TYPE_MAX];
	char		 ca_fp[SSHKEY_FP_LEN];	/* the signing CA key */
};

int		 sshauth_parse(const char *, size_t, struct sshauth *);
int		 sshcert_parse(const u_char *, size_t, struct sshcert *);
int		 sshcert_has_principal(const struct sshcert *, const char *);
int		 sshkey_check(const u_char *, size_t, char *, size_t);
int		 sshkey_check_type_name(const char *, size_t);
int		 sshkey_fingerprint(const u_char *, size_t, char *, size_t);
int		 sshkey_from_base64(const char *, size_t, u_char *, size_t,
		     size_t *);
/* ---- cast.c: asciicast v2 recordings (docs/recording.md) ----------------- */

#define CAST_NAME_MAX		128	/* bytes in a recording's file name */
#define CAST_SIZE_MAX		10000	/* columns or rows */
#define CAST_TIME_MAX		1e9	/* seconds from the start */
#define CAST_EVENT_MAX		(256 * 1024)	/* escaped bytes of one
						   event's string */
#define CAST_LINE_MAX		(1024 * 1024)	/* reader: bytes in a line */
#define CAST_DEPTH_MAX		16	/* reader: JSON nesting */
#define CAST_NUMBER_MAX		32	/* reader: characters in a number */
#define CAST_SYNC_MS		1000	/* fdatasync at least this often... */
#define CAST_SYNC_BYTES		(4 * 1024 * 1024)	/* ...or after this many */
#define CAST_CASE_LEN		65	/* with NUL, as SESSION_CASE_LEN */
#define CAST_HOST_LEN		256	/* with NUL, as SESSION_HOST_LEN */
#define CAST_TITLE_LEN		128	/* with NUL */

/* Fixed-size fields only; strings are NUL-terminated, "" when absent. */
struct cast_header {
	u_int		 cols, rows;	/* 1..CAST_SIZE_MAX */
	int64_t		 timestamp;	/* unix seconds of the start, 0 if none */
	char		 session[ID_LEN_MAX];
	char		 case_ref[CAST_CASE_LEN];
	char		 host[CAST_HOST_LEN];
	char		 title[CAST_TITLE_LEN];
};

/*
 * One event from the reader. data belongs to the reader and stays valid
 * until the next cast_reader_next or cast_reader_free.
 */
struct cast_event {
	double		 t;		/* seconds, never decreasing */
	char		 type;		/* 'o', 'r', 'i' or 'm' */
	struct buf	*data;		/* decoded bytes of the string */
	u_int		 cols, rows;	/* for 'r': the parsed size */
};

struct cast_writer;
struct cast_reader;

int		 cast_name_check(const char *);
int		 cast_writer_open(const char *, const char *, gid_t,
		     const struct cast_header *, struct cast_writer **);
int		 cast_writer_output(struct cast_writer *, double,
		     const u_char *, size_t);
int		 cast_writer_output_ref(struct cast_writer *, double,
		     const u_char *, size_t);	/* tests: the reference */
int		 cast_writer_output_part(struct cast_writer *, double,
		     const u_char *, size_t, size_t *);
int		 cast_writer_retry(struct cast_writer *);
int		 cast_writer_owed(const struct cast_writer *);
int		 cast_writer_resize(struct cast_writer *, double, u_int, u_int);
#define CAST_MARKER_MAX		1024	/* bytes in a marker's label */
int		 cast_writer_marker(struct cast_writer *, double, const char *);
int		 cast_writer_sync(struct cast_writer *);
int		 cast_writer_sync_elsewhere(struct cast_writer *, int *);
int		 cast_writer_reserve(struct cast_writer *);
off_t		 cast_writer_size(const struct cast_writer *);
int		 cast_writer_close(struct cast_writer *);
int		 cast_reader_open_fd(int, struct cast_reader **);
int		 cast_reader_open_fd_err(int, struct cast_reader **, char *,
		     size_t);
int		 cast_reader_header(struct cast_reader *, struct cast_header *);
int		 cast_reader_next(struct cast_reader *, struct cast_event *);
u_int		 cast_reader_line(const struct cast_reader *);
int		 cast_reader_torn(const struct cast_reader *);
const char	*cast_reader_errmsg(const struct cast_reader *);
void		 cast_reader_free(struct cast_reader *);

/* ---- vtfilter.c: the escape filter (docs/escape-filter.md) ---------------- */

/*
 * A stateful filter for terminal byte streams that may arrive split
 * anywhere. OUTPUT is what a customer's screen sends to an engineer's
 * terminal; INPUT is what an engineer's terminal sends back as keys.
 * Fixed-size fields only: no heap, nothing to free.
 */
#define VTFILTER_OUTPUT		0	/* customer's screen -> engineer */
#define VTFILTER_INPUT		1	/* engineer's keys -> customer */

#define VTFILTER_SEQ_MAX	256	/* bytes of an escape sequence kept */
#define VTFILTER_STRING_MAX	4096	/* bytes before a string is cut */
#define VTFILTER_PARAMS_MAX	16	/* parameters of a CSI sequence */
#define VTFILTER_SGR_PARAMS_MAX	32	/* parameters of an SGR sequence */
#define VTFILTER_PARAM_MAX	65535	/* largest parameter value */
#define VTFILTER_REP_MAX	4096	/* largest REP (CSI b) count */
/* Room in out that always suffices for one vtfilter_feed of n bytes. */
#define VTFILTER_OUT_MAX(n)	((n) * 6 + VTFILTER_SEQ_MAX + 16)

/* What was dropped, by kind (vtfilter_stats.dropped_by_class). */
enum vtfilter_class {
	VTFILTER_CLASS_OSC = 0,	/* ESC ] strings */
	VTFILTER_CLASS_DCS,	/* ESC P strings */
	VTFILTER_CLASS_APC,	/* ESC _ strings */
	VTFILTER_CLASS_PM,	/* ESC ^ strings */
	VTFILTER_CLASS_SOS,	/* ESC X strings */
	VTFILTER_CLASS_CSI,	/* CSI sequences off the allowlist */
	VTFILTER_CLASS_MODE,	/* mode numbers off the allowlist */
	VTFILTER_CLASS_ESC,	/* other escape sequences */
	VTFILTER_CLASS_CTRL,	/* C0 controls and DEL */
	VTFILTER_CLASS_C1,	/* 8-bit C1 controls not converted */
	VTFILTER_CLASS_REPORT,	/* input: terminal reports, mouse, paste marks */
	VTFILTER_NCLASSES
};

struct vtfilter_stats {
	u_int64_t	 dropped_seqs;	/* sequences, strings, controls */
	u_int64_t	 dropped_bytes;	/* input bytes they held */
	u_int64_t	 rewritten;	/* passed in a changed form */
	u_int64_t	 cut;		/* strings or sequences over a bound */
	u_int64_t	 replaced;	/* invalid UTF-8 made U+FFFD */
	u_int64_t	 c1;		/* 8-bit C1 controls seen */
	u_int64_t	 dropped_by_class[VTFILTER_NCLASSES];
};

struct vtfilter {
	int			 direction;	/* VTFILTER_OUTPUT or _INPUT */
	int			 state;
	int			 string_kind;	/* enum vtfilter_class */
	int			 overflow;	/* seq[] ran out of room */
	int			 esc_sent;	/* input: ESC passed at a feed end */
	int			 c1;		/* sequence began with a C1 */
	u_int			 utf8_need;	/* continuation bytes to come */
	u_int			 utf8_have;	/* bytes of it seen */
	u_int32_t		 utf8_cp;
	u_char			 utf8_lo, utf8_hi;	/* next byte's range */
	u_int			 mouse_skip;	/* input: X10 mouse bytes left */
	size_t			 seq_raw;	/* input bytes of this sequence */
	size_t			 seqlen;	/* bytes in seq[] */
	u_char			 seq[VTFILTER_SEQ_MAX];	/* after the ESC */
	struct vtfilter_stats	 stats;
};

void		 vtfilter_init(struct vtfilter *, int);
int		 vtfilter_feed(struct vtfilter *, const u_char *, size_t,
		     struct buf *);
/* The byte-at-a-time path the fast one must match (tests, benchmarks). */
int		 vtfilter_feed_reference(struct vtfilter *, const u_char *,
		     size_t, struct buf *);
int		 vtfilter_flush(struct vtfilter *, struct buf *);
void		 vtfilter_reset(struct vtfilter *);
void		 vtfilter_stats(const struct vtfilter *,
		     struct vtfilter_stats *);
const char	*vtfilter_class_name(int);

/* ---- vtscreen.c: the engineer's side of a shared screen ------------------- */

/*
 * Between the escape filter and the engineer's terminal in join and
 * replay: the customer's alternate-screen switches become events, its
 * screen stays within its rows, and what it changed is put back at the
 * end (docs/escape-filter.md). Fixed size, no heap.
 */
#define VTSCREEN_NONE		0
#define VTSCREEN_ENTER		1	/* the customer entered its alternate screen */
#define VTSCREEN_LEAVE		2	/* ...left it: redraw its normal screen */

#define VTSCREEN_T_CURSOR	0x01	/* cursor style (DECSCUSR) */
#define VTSCREEN_T_BLINK	0x02	/* cursor blinking (mode 12) */
#define VTSCREEN_T_TABS		0x04	/* tab stops */

#define VTSCREEN_ROWS_MAX	1000
#define VTSCREEN_COLS_MAX	1000
/* Room in out that always suffices for one vtscreen_feed of n bytes. */
#define VTSCREEN_OUT_MAX(n)	((n) * 4 + 16)

struct vtscreen {
	u_int		 rows;		/* the customer's rows here; 0: any */
	int		 alt;		/* the customer's alternate screen is on */
	u_int		 touched;	/* VTSCREEN_T_*: to put back at the end */
};

void		 vtscreen_init(struct vtscreen *, u_int);
void		 vtscreen_set_rows(struct vtscreen *, u_int);
void		 vtscreen_reset(struct vtscreen *);
int		 vtscreen_feed(struct vtscreen *, const u_char *, size_t,
		     struct buf *, size_t *, int *);
int		 vtscreen_enter(struct buf *);
int		 vtscreen_leave(const struct vtscreen *, u_int, struct buf *);

/* ---- proto.c: frame payloads (docs/protocol.md) ---------------------------- */

/*
 * Encoders append one whole frame (header and payload) to out, or nothing:
 * TUNL_ERR_FULL when out lacks room, TUNL_ERR_LENGTH/INVALID/RANGE when a
 * field breaks its bound. Decoders take a frame's payload and consume it;
 * every field is checked, and trailing bytes are TUNL_ERR_INVALID. Pointers
 * a decoder returns (output, snapshot, keys bytes) point into the payload
 * and stay valid until that buffer is next reset or written.
 */
#define PROTO_ROLE_PRODUCER	1
#define PROTO_ROLE_CONSUMER	2
#define PROTO_ROLE_BROKER	3	/* the broker's reply */

#define PROTO_MODE_RW		0	/* consumer: read-write */
#define PROTO_MODE_RO		1	/* consumer: read-only */
#define PROTO_SESSION_SHARE	0	/* broker reply: session mode */
#define PROTO_SESSION_RESTRICTED 1

#define PROTO_NAME_LEN		ENGINEER_NAME_LEN	/* login-key.c */
#define PROTO_TEXT_MAX		200	/* error, status, notice bytes */
#define PROTO_CHAT_MAX		1024	/* chat text bytes */
#define PROTO_KEYS_MAX		4096	/* keys bytes in one frame */
#define PROTO_COLS_MAX		1000
#define PROTO_ROWS_MAX		500
#define PROTO_VIEWERS_MAX	64
#define PROTO_SNAPSHOT_HDR	12	/* u32 id + four u16 */
/* The broker's notice when a running session turns restricted. */
#define PROTO_NOTICE_RESTRICTED	\
	"tunl: the session is now restricted: watch and chat only"

/*
 * Why the relay refuses a producer whose login's token is no longer the
 * session's newest (`token <id>` made another): the broker's error frame
 * and tunl-authority admit's refusal both say it, with PROTO_ERR_SUPERSEDED,
 * from which tunl-share knows that the session went to a newer tunl-share.
 */
#define PROTO_SUPERSEDED_WORDS	"this login's token was superseded by a " \
				"newer one; log in with the new token"

/* Codes carried by FRAME_ERROR. */
#define PROTO_ERR_VERSION	1	/* protocol version differs */
#define PROTO_ERR_MALFORMED	2	/* payload does not parse */
#define PROTO_ERR_TYPE		3	/* unknown or unexpected type */
#define PROTO_ERR_LENGTH	4	/* frame over FRAME_MAX */
#define PROTO_ERR_DENIED	5	/* wrong peer, session or role */
#define PROTO_ERR_BUSY		6	/* producer already connected */
#define PROTO_ERR_FULL		7	/* too many consumers */
#define PROTO_ERR_TIMEOUT	8	/* no HELLO in time */
#define PROTO_ERR_ENDED		9	/* the session is over */
#define PROTO_ERR_INTERNAL	10
#define PROTO_ERR_SUPERSEDED	11	/* a newer token has the session */

struct proto_hello {
	u_int16_t	 version;
	u_int8_t	 role;			/* PROTO_ROLE_* */
	char		 session[ID_LEN_MAX];
	char		 engineer[PROTO_NAME_LEN];	/* consumer only */
	u_int8_t	 mode;		/* consumer: PROTO_MODE_*;
					   broker: PROTO_SESSION_* */
	u_int16_t	 cols;		/* consumer, broker; 0 = unknown */
	u_int16_t	 rows;
	int		 has_token;	/* producer: token below is stated */
	int64_t		 token;		/* the newest token id (0: none)
					   that admit's check of the login
					   saw (docs/protocol.md) */
};

struct proto_error {
	u_int16_t	 code;
	char		 message[PROTO_TEXT_MAX + 1];
};

struct proto_snapshot {
	u_int32_t	 id;
	u_int16_t	 cols, rows;
	u_int16_t	 cx, cy;	/* cursor, 0-based, inside the screen */
	const u_char	*data;
	size_t		 len;
};

struct proto_chat {
	char		 from[PROTO_NAME_LEN];
	char		 text[PROTO_CHAT_MAX + 1];
};

struct proto_keys {
	u_int8_t	 pane;		/* FRAME_PANE_* */
	char		 engineer[PROTO_NAME_LEN];
	const u_char	*data;
	size_t		 len;		/* 1 .. PROTO_KEYS_MAX */
};

struct proto_viewer {
	char		 name[PROTO_NAME_LEN];
	u_int8_t	 mode;		/* PROTO_MODE_* */
};

struct proto_viewers {
	u_int16_t		 count;
	struct proto_viewer	 v[PROTO_VIEWERS_MAX];
};

int		 proto_name_check(const char *);
int		 proto_text_check(const void *, size_t);
int		 proto_put_hello(struct buf *, const struct proto_hello *);
int		 proto_get_hello(struct buf *, struct proto_hello *);
int		 proto_put_error(struct buf *, u_int16_t, const char *);
int		 proto_get_error(struct buf *, struct proto_error *);
int		 proto_put_u32(struct buf *, u_int8_t, u_int32_t);
int		 proto_get_u32(struct buf *, u_int32_t *);
int		 proto_put_output(struct buf *, const void *, size_t);
int		 proto_get_output(struct buf *, const u_char **, size_t *);
int		 proto_put_snapshot(struct buf *, const struct proto_snapshot *);
int		 proto_get_snapshot(struct buf *, struct proto_snapshot *);
int		 proto_put_chat(struct buf *, const struct proto_chat *);
int		 proto_get_chat(struct buf *, struct proto_chat *);
int		 proto_put_keys(struct buf *, const struct proto_keys *);
int		 proto_get_keys(struct buf *, struct proto_keys *);
int		 proto_put_resize(struct buf *, u_int, u_int);
int		 proto_get_resize(struct buf *, u_int16_t *, u_int16_t *);
int		 proto_put_empty(struct buf *, u_int8_t);
int		 proto_get_empty(struct buf *);
int		 proto_put_text(struct buf *, u_int8_t, const char *);
int		 proto_get_text(struct buf *, char [PROTO_TEXT_MAX + 1]);
int		 proto_put_viewers(struct buf *, const struct proto_viewers *);
int		 proto_get_viewers(struct buf *, struct proto_viewers *);

/* ---- proto-gap.c: the GAP frame (docs/protocol.md) ------------------------ */

/* Why output of the customer's pane did not reach the relay. */
#define PROTO_GAP_SPOOL_FULL	1	/* tunl-share's spool was at its cap */
#define PROTO_GAP_LINK_LOST	2	/* the link dropped with bytes queued */
#define PROTO_GAP_REASON_MAX	2
/* Flags. */
#define PROTO_GAP_REPAIRED	0x01	/* a snapshot follows: the screen is
					   whole again */
#define PROTO_GAP_AT_LEAST	0x02	/* bytes is a lower bound: what the
					   dropped link held is not known */
#define PROTO_GAP_FLAGS		0x03

struct proto_gap {
	u_int8_t	 reason;	/* PROTO_GAP_* */
	u_int8_t	 flags;
	u_int64_t	 bytes;		/* this gap */
	u_int64_t	 total;		/* every gap of this tunl-share so far */
};

int		 proto_put_gap(struct buf *, const struct proto_gap *);
int		 proto_get_gap(struct buf *, struct proto_gap *);
const char	*proto_gap_reason(u_int8_t);

#endif /* TUNL_H */
