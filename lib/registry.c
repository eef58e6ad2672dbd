/*
 * registry.c: the session registry, an SQLite database shared by the PAM
 * module, the ForceCommand, the brokers and tunl-admin.
 *
 * Several processes write at once, so every change, whatever its number
 * of statements, runs in a single BEGIN IMMEDIATE transaction: the write
 * lock is taken up front (waiting up to the busy timeout), never upgraded
 * from a read, so no update is lost and no writer deadlocks another. The
 * database runs in WAL mode, so readers never wait for writers.
 *
 * Every statement is prepared once with bound parameters and kept for the
 * life of the handle; no SQL is ever built from input. Every string
 * argument is checked (ids with id_check, the rest bounded and free of
 * control characters) before any SQL runs. docs/registry.md describes the
 * schema and the rules for changing it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tunl.h"

#define REG_ERRMSG_LEN		256
#define REG_ACTOR_SELF		"registry"	/* actor of our own events */
#define REG_TIME_MAX		((int64_t)1 << 40)	/* far past 2100 */

/* Every statement the registry runs, prepared on first use. */
enum reg_sql {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_USER_VERSION,
	SQL_SESSION_INSERT,
	SQL_TOKEN_INSERT,
	SQL_SESSION_GET,
	SQL_SESSION_LIST,
	SQL_SESSION_LIST_ALL,
	SQL_SESSION_STATE,
	SQL_SESSION_SET_STATE,
	SQL_SESSION_RESTRICT,
	SQL_SESSION_EXPIRE_EVENTS,
	SQL_SESSION_EXPIRE,
	SQL_SESSION_FAIL,
	SQL_SESSION_COUNT,
	SQL_TOKEN_LOOKUP,
	SQL_TOKEN_CONSUME,
	SQL_TOKEN_NEWEST,
	SQL_SOURCE_FAIL,
	SQL_SOURCE_PRUNE,
	SQL_SOURCE_COUNT,
	SQL_COOLDOWN_GET,
	SQL_COOLDOWN_SET,
	SQL_EVENT_INSERT,
	SQL_EVENT_LIST,
	SQL_EVENT_LIST_ALL,
	SQL_SESSION_SET_VIEWERS,
	SQL_SESSION_SET_HOST,
	SQL_VIEWERS_TOTAL,
	SQL_TOKEN_REVOKE,
	SQL_TOKEN_REISSUE,
	SQL_EVENT_AFTER,
	SQL_EVENT_COUNT_AFTER,
	SQL_CURSOR_GET,
	SQL_CURSOR_START,
	SQL_CURSOR_ADVANCE,
	SQL_PRUNE_OPEN,
	SQL_PRUNE_EVENTS,
	SQL_PRUNE_CLOSE,
	SQL_PRUNE_SESSIONS,
	SQL_TUNNEL_GET,
	SQL_TUNNEL_FREE,
	SQL_TUNNEL_INSERT,
	SQL_NSTMTS
};

#define SESSION_COLUMNS \
	"id, state, mode, case_ref, customer, host, engineer, " \
	"created, expires, ended, failures, viewers"
/* Read only: the newest token's id, which only grows (tokens.id). */
#define SESSION_TOKEN_GEN \
	", (SELECT max(t.id) FROM tokens t WHERE t.session_id = sessions.id)"
#define EVENT_COLUMNS \
	"id, session_id, at, actor, action, source, detail"
#define LIVE_STATES	"('pending', 'active')"

static const char *const reg_sql_text[SQL_NSTMTS] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_USER_VERSION] = "PRAGMA user_version",
	[SQL_SESSION_INSERT] =
	    "INSERT INTO sessions (" SESSION_COLUMNS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0)",
	[SQL_TOKEN_INSERT] =
	    "INSERT INTO tokens (session_id, hash, expires) "
	    "VALUES (?1, ?2, ?3)",
	[SQL_SESSION_GET] =
	    "SELECT " SESSION_COLUMNS SESSION_TOKEN_GEN " FROM sessions "
	    "WHERE id = ?1",
	[SQL_SESSION_LIST] =
	    "SELECT " SESSION_COLUMNS SESSION_TOKEN_GEN " FROM sessions "
	    "WHERE state != 'ended' ORDER BY created, id",
	[SQL_SESSION_LIST_ALL] =
	    "SELECT " SESSION_COLUMNS SESSION_TOKEN_GEN " FROM sessions "
	    "ORDER BY created, id",
	[SQL_SESSION_STATE] =
	    "SELECT state, failures FROM sessions WHERE id = ?1",
	[SQL_SESSION_SET_STATE] =
	    "UPDATE sessions SET state = ?2, "
	    "ended = CASE WHEN ?2 = 'ended' THEN ?3 ELSE ended END, "
	    "viewers = CASE WHEN ?2 = 'ended' THEN 0 ELSE viewers END, "
	    "failures = CASE WHEN ?4 THEN 0 ELSE failures END "
	    "WHERE id = ?1",
	[SQL_SESSION_RESTRICT] =
	    "UPDATE sessions SET mode = 'restricted' "
	    "WHERE id = ?1 AND mode != 'restricted' AND state IN " LIVE_STATES,
	[SQL_SESSION_EXPIRE_EVENTS] =
	    "INSERT INTO events (session_id, at, actor, action) "
	    "SELECT id, ?1, '" REG_ACTOR_SELF "', 'expired' FROM sessions "
	    "WHERE state IN " LIVE_STATES " AND expires <= ?1 ORDER BY id",
	[SQL_SESSION_EXPIRE] =
	    "UPDATE sessions SET state = 'ended', ended = ?1, viewers = 0 "
	    "WHERE state IN " LIVE_STATES " AND expires <= ?1",
	[SQL_SESSION_FAIL] =
	    "UPDATE sessions SET failures = failures + 1 WHERE id = ?1",
	[SQL_SESSION_COUNT] =
	    "SELECT state, count(*) FROM sessions GROUP BY state",
	[SQL_TOKEN_LOOKUP] =
	    "SELECT t.session_id, t.hash FROM tokens t "
	    "JOIN sessions s ON s.id = t.session_id "
	    "WHERE t.hash = ?1 AND t.consumed_at IS NULL "
	    "AND t.expires > ?2 AND s.expires > ?2 "
	    "AND s.state IN " LIVE_STATES,
	[SQL_TOKEN_CONSUME] =
	    "UPDATE tokens SET consumed_at = ?2 "
	    "WHERE session_id = ?1 AND (?3 IS NULL OR hash = ?3) "
	    "AND consumed_at IS NULL AND expires > ?2 "
	    "AND EXISTS (SELECT 1 FROM sessions WHERE id = ?1 "
	    "AND expires > ?2 AND state IN " LIVE_STATES ")",
	[SQL_TOKEN_NEWEST] =
	    "SELECT hash, consumed_at, id FROM tokens WHERE session_id = ?1 "
	    "ORDER BY id DESC LIMIT 1",
	[SQL_TOKEN_REVOKE] =
	    "UPDATE tokens SET consumed_at = ?2 "
	    "WHERE session_id = ?1 AND consumed_at IS NULL",
	[SQL_TOKEN_REISSUE] =
	    "INSERT INTO tokens (session_id, hash, expires) "
	    "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM sessions "
	    "WHERE id = ?1 AND expires > ?4 AND state IN " LIVE_STATES ")",
	[SQL_SOURCE_FAIL] =
	    "INSERT INTO source_failures (source, at) VALUES (?1, ?2)",
	[SQL_SOURCE_PRUNE] =
	    "DELETE FROM source_failures WHERE at <= ?1",
	[SQL_SOURCE_COUNT] =
	    "SELECT count(*) FROM source_failures "
	    "WHERE source = ?1 AND at > ?2",
	[SQL_COOLDOWN_GET] =
	    "SELECT last_signed FROM sign_cooldown WHERE session_id = ?1",
	[SQL_COOLDOWN_SET] =
	    "INSERT INTO sign_cooldown (session_id, last_signed) "
	    "VALUES (?1, ?2) ON CONFLICT (session_id) "
	    "DO UPDATE SET last_signed = excluded.last_signed",
	[SQL_EVENT_INSERT] =
	    "INSERT INTO events (session_id, at, actor, action, source, "
	    "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_EVENT_LIST] =
	    "SELECT " EVENT_COLUMNS " FROM events WHERE session_id = ?1 "
	    "ORDER BY id",
	[SQL_EVENT_LIST_ALL] =
	    "SELECT " EVENT_COLUMNS " FROM events ORDER BY id",
	[SQL_SESSION_SET_VIEWERS] =
	    "UPDATE sessions SET viewers = ?2 WHERE id = ?1 "
	    "AND state IN " LIVE_STATES,
	[SQL_SESSION_SET_HOST] =
	    "UPDATE sessions SET host = ?2 WHERE id = ?1 "
	    "AND state IN " LIVE_STATES,
	[SQL_VIEWERS_TOTAL] =
	    "SELECT coalesce(sum(viewers), 0) FROM sessions "
	    "WHERE state IN " LIVE_STATES,
	[SQL_EVENT_AFTER] =
	    "SELECT " EVENT_COLUMNS " FROM events WHERE id > ?1 "
	    "ORDER BY id LIMIT ?2",
	[SQL_EVENT_COUNT_AFTER] =
	    "SELECT count(*) FROM events WHERE id > ?1",
	[SQL_CURSOR_GET] =
	    "SELECT last_event FROM webhook_cursors WHERE url = ?1",
	/* A new URL starts at the newest event: no flood of history. */
	[SQL_CURSOR_START] =
	    "INSERT INTO webhook_cursors (url, last_event, updated) "
	    "SELECT ?1, coalesce(max(id), 0), ?2 FROM events WHERE 1 "
	    "ON CONFLICT (url) DO NOTHING",
	[SQL_CURSOR_ADVANCE] =
	    "UPDATE webhook_cursors SET last_event = ?2, updated = ?3 "
	    "WHERE url = ?1 AND last_event < ?2",
	/*
	 * Retention: events before ?1 that name no session, or whose
	 * session is gone or ended before ?1 too (a session's history goes
	 * as a whole), oldest first, at most ?2 of them. The trigger lets
	 * them go only while events_prune.before says so.
	 */
	[SQL_PRUNE_OPEN] =
	    "UPDATE events_prune SET before = ?1 WHERE one = 1",
	[SQL_PRUNE_EVENTS] =
	    "DELETE FROM events WHERE id IN (SELECT e.id FROM events e "
	    "WHERE e.at < ?1 AND (e.session_id IS NULL OR NOT EXISTS "
	    "(SELECT 1 FROM sessions s WHERE s.id = e.session_id "
	    "AND (s.state != 'ended' OR s.ended >= ?1))) "
	    "ORDER BY e.id LIMIT ?2)",
	[SQL_PRUNE_CLOSE] =
	    "UPDATE events_prune SET before = 0 WHERE one = 1",
	/* Their tokens and cooldowns go with them (ON DELETE CASCADE). */
	[SQL_PRUNE_SESSIONS] =
	    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
	    "WHERE state = 'ended' AND ended < ?1 ORDER BY ended, id "
	    "LIMIT ?2)",
	[SQL_TUNNEL_GET] =
	    "SELECT port FROM tunnels WHERE session_id = ?1",
	/* The lowest port of [?1, ?2] no session that has not ended holds. */
	[SQL_TUNNEL_FREE] =
	    "WITH RECURSIVE p(n) AS (SELECT ?1 UNION ALL "
	    "SELECT n + 1 FROM p WHERE n < ?2) "
	    "SELECT n FROM p WHERE n NOT IN (SELECT t.port FROM tunnels t "
	    "JOIN sessions s ON s.id = t.session_id "
	    "WHERE s.state != 'ended') LIMIT 1",
	[SQL_TUNNEL_INSERT] =
	    "INSERT INTO tunnels (session_id, port) VALUES (?1, ?2)",
};

struct registry {
	sqlite3		*db;
	int		 readonly;
	int		 busy_ms;	/* the busy timeout set */
	sqlite3_stmt	*stmts[SQL_NSTMTS];
	char		 errmsg[REG_ERRMSG_LEN];
};

/*
 * Why the last registry_open failed, for registry_errmsg(NULL). Our
 * programs and sshd's PAM conversation are single-threaded.
 */
static char	 reg_open_errmsg[REG_ERRMSG_LEN];

static const char *const session_state_names[SESSION_NSTATES] = {
	[SESSION_PENDING] = "pending",
	[SESSION_ACTIVE] = "active",
	[SESSION_ENDED] = "ended",
	[SESSION_LOCKED] = "locked",
};

static const char *const session_mode_names[SESSION_NMODES] = {
	[SESSION_SHARE] = "share",
	[SESSION_RESTRICTED] = "restricted",
	[SESSION_TUNNEL] = "tunnel",
};

/* ---- names ------------------------------------------------------------- */

const char *
session_state_name(enum session_state state)
{
	if ((u_int)state >= SESSION_NSTATES)
		return NULL;
	return session_state_names[state];
}

/* The index of name in a table of n names, or TUNL_ERR_INVALID. */
static int
reg_name_index(const char *const *names, u_int n, const char *name,
    u_int *idx)
{
	u_int	 i;

	if (name == NULL)
		return TUNL_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (strcmp(name, names[i]) == 0) {
			*idx = i;
			return 0;
		}
	}
	return TUNL_ERR_INVALID;
}

int
session_state_parse(const char *name, enum session_state *state)
{
	u_int	 i;

	if (reg_name_index(session_state_names, SESSION_NSTATES, name,
	    &i) != 0)
		return TUNL_ERR_INVALID;
	*state = (enum session_state)i;
	return 0;
}

const char *
session_mode_name(enum session_mode mode)
{
	if ((u_int)mode >= SESSION_NMODES)
		return NULL;
	return session_mode_names[mode];
}

int
session_mode_parse(const char *name, enum session_mode *mode)
{
	u_int	 i;

	if (reg_name_index(session_mode_names, SESSION_NMODES, name, &i) != 0)
		return TUNL_ERR_INVALID;
	*mode = (enum session_mode)i;
	return 0;
}

/* ---- checking arguments ------------------------------------------------ */

static void
reg_set_err(struct registry *reg, const char *msg)
{
	tunl_strlcpy(reg->errmsg, msg, sizeof(reg->errmsg));
}

/* A refused argument: say which, run no SQL. */
static int
reg_invalid(struct registry *reg, const char *what)
{
	snprintf(reg->errmsg, sizeof(reg->errmsg), "invalid %s", what);
	return TUNL_ERR_INVALID;
}

/*
 * Text we store and later print on an operator's terminal: valid UTF-8
 * without C0 or C1 controls, DEL, line separators or bidirectional
 * overrides.
 */
static int
reg_text_ok(const u_char *s, size_t len)
{
	size_t		 i = 0, n, k;
	u_int32_t	 cp, min;
	u_char		 c;

	while (i < len) {
		c = s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||	/* surrogates */
		    (cp >= 0x80 && cp <= 0x9f) ||	/* C1 controls */
		    cp == 0x2028 || cp == 0x2029 ||	/* separators */
		    (cp >= 0x202a && cp <= 0x202e) ||	/* bidi embeds */
		    (cp >= 0x2066 && cp <= 0x2069))	/* bidi isolates */
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * A string of fewer than size bytes (so it fits a buffer of size with its
 * NUL), at least min bytes, made of acceptable text.
 */
static int
reg_check_text(const char *s, size_t min, size_t size)
{
	const char	*nul;
	size_t		 len;

	if (s == NULL || (nul = memchr(s, '\0', size)) == NULL)
		return 0;
	len = (size_t)(nul - s);
	return len >= min && reg_text_ok((const u_char *)s, len);
}

static int
reg_check_id(const char *id)
{
	if (id == NULL || memchr(id, '\0', ID_LEN_MAX) == NULL)
		return 0;
	return id_check(id) == 0;
}

/* Actions are short names: lower-case letters, digits and dashes. */
static int
reg_check_action(const char *action)
{
	size_t	 i;

	if (action == NULL || action[0] == '\0')
		return 0;
	for (i = 0; action[i] != '\0'; i++) {
		if (i >= EVENT_ACTION_LEN - 1)
			return 0;
		if ((action[i] < 'a' || action[i] > 'z') &&
		    (action[i] < '0' || action[i] > '9') && action[i] != '-')
			return 0;
	}
	return 1;
}

static int
reg_check_time(int64_t t)
{
	return t >= 0 && t <= REG_TIME_MAX;
}

/*
 * A source address: "local", or a numeric IPv4 or IPv6 address, stored in
 * its canonical text so that one host has one counter (an IPv4-mapped IPv6
 * address counts as the IPv4 address).
 */
static int
reg_canon_source(const char *src, char out[EVENT_SOURCE_LEN])
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (src == NULL || memchr(src, '\0', EVENT_SOURCE_LEN) == NULL)
		return 0;
	if (strcmp(src, "local") == 0) {
		tunl_strlcpy(out, src, EVENT_SOURCE_LEN);
		return 1;
	}
	if (inet_pton(AF_INET, src, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, EVENT_SOURCE_LEN) != NULL;
	if (inet_pton(AF_INET6, src, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		return inet_ntop(AF_INET, &a4, out, EVENT_SOURCE_LEN) != NULL;
	}
	return inet_ntop(AF_INET6, &a6, out, EVENT_SOURCE_LEN) != NULL;
}

/* ---- SQLite plumbing --------------------------------------------------- */

/* Keep SQLite's message for registry_errmsg and map its code to ours. */
static int
reg_fail(struct registry *reg, int rc)
{
	const char	*msg = NULL;

	if (reg->db != NULL)
		msg = sqlite3_errmsg(reg->db);
	if (msg == NULL)
		msg = sqlite3_errstr(rc);
	reg_set_err(reg, msg);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TUNL_ERR_BUSY;
	case SQLITE_READONLY:
		/*
		 * On a connection opened to write, read-only means a -wal or
		 * -shm file another account had just made and not yet opened
		 * to us (tunl-authority widens its own only after opening
		 * them), or SQLite's own passing states (recovery, a -shm not
		 * yet set up): all over in a moment, so a busy registry,
		 * which callers try again.
		 */
		if (!reg->readonly)
			return TUNL_ERR_BUSY;
		return TUNL_ERR_DB;
	case SQLITE_NOMEM:
		return TUNL_ERR_ALLOC;
	default:
		return TUNL_ERR_DB;
	}
}

/* The cached statement, reset and unbound, ready for new parameters. */
static int
reg_stmt(struct registry *reg, enum reg_sql which, sqlite3_stmt **stmtp)
{
	int	 rc;

	*stmtp = NULL;
	if (reg->stmts[which] == NULL) {
		rc = sqlite3_prepare_v3(reg->db, reg_sql_text[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &reg->stmts[which], NULL);
		if (rc != SQLITE_OK)
			return reg_fail(reg, rc);
	}
	sqlite3_reset(reg->stmts[which]);
	sqlite3_clear_bindings(reg->stmts[which]);
	*stmtp = reg->stmts[which];
	return 0;
}

/*
 * Finish with a statement: a reset ends its read of the database and the
 * cleared bindings forget pointers into the caller's memory.
 */
static void
reg_release(sqlite3_stmt *stmt)
{
	if (stmt != NULL) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
}

static int
reg_bind_text(struct registry *reg, sqlite3_stmt *stmt, int idx,
    const char *s)
{
	int	 rc;

	if (s == NULL)
		rc = sqlite3_bind_null(stmt, idx);
	else
		rc = sqlite3_bind_text(stmt, idx, s, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : reg_fail(reg, rc);
}

static int
reg_bind_int(struct registry *reg, sqlite3_stmt *stmt, int idx, int64_t v)
{
	int	 rc;

	rc = sqlite3_bind_int64(stmt, idx, v);
	return rc == SQLITE_OK ? 0 : reg_fail(reg, rc);
}

static int
reg_bind_blob(struct registry *reg, sqlite3_stmt *stmt, int idx,
    const u_char *p, size_t len)
{
	int	 rc;

	rc = sqlite3_bind_blob(stmt, idx, p, (int)len, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : reg_fail(reg, rc);
}

/* Step a statement: 1 for a row, 0 when done, or an error. */
static int
reg_step(struct registry *reg, sqlite3_stmt *stmt)
{
	int	 rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return reg_fail(reg, rc);
}

/* Run a statement that returns no rows. */
static int
reg_exec(struct registry *reg, sqlite3_stmt *stmt)
{
	int	 r;

	if ((r = reg_step(reg, stmt)) == 1) {
		reg_set_err(reg, "statement returned rows");
		r = TUNL_ERR_INTERNAL;
	}
	return r;
}

static int
reg_simple(struct registry *reg, enum reg_sql which)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if ((r = reg_stmt(reg, which, &stmt)) != 0)
		return r;
	r = reg_exec(reg, stmt);
	reg_release(stmt);
	return r;
}

/* Take the write lock now, waiting at most the busy timeout. */
static int
reg_begin(struct registry *reg)
{
	if (reg->readonly) {
		reg_set_err(reg, "registry opened read-only");
		return TUNL_ERR_DB;
	}
	return reg_simple(reg, SQL_BEGIN);
}

static int
reg_commit(struct registry *reg)
{
	return reg_simple(reg, SQL_COMMIT);
}

/* Undo an open transaction, keeping the error message that caused it. */
static void
reg_rollback(struct registry *reg)
{
	char	 saved[REG_ERRMSG_LEN];

	if (sqlite3_get_autocommit(reg->db))
		return;
	memcpy(saved, reg->errmsg, sizeof(saved));
	(void)reg_simple(reg, SQL_ROLLBACK);
	memcpy(reg->errmsg, saved, sizeof(saved));
}

/*
 * Copy a text column into a fixed buffer. A value that does not fit or
 * holds a NUL was not written by us: refuse it rather than cut it.
 * NULL reads as the empty string.
 */
static int
reg_col_text(struct registry *reg, sqlite3_stmt *stmt, int col, char *dst,
    size_t dstlen)
{
	const u_char	*p;
	int		 len;

	dst[0] = '\0';
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return 0;
	if (sqlite3_column_type(stmt, col) != SQLITE_TEXT ||
	    (p = sqlite3_column_text(stmt, col)) == NULL) {
		reg_set_err(reg, "unexpected value in the database");
		return TUNL_ERR_DB;
	}
	len = sqlite3_column_bytes(stmt, col);
	if (len < 0 || (size_t)len >= dstlen ||
	    memchr(p, '\0', (size_t)len) != NULL) {
		reg_set_err(reg, "oversized value in the database");
		return TUNL_ERR_DB;
	}
	memcpy(dst, p, (size_t)len);
	dst[len] = '\0';
	return 0;
}

static int
reg_col_state(struct registry *reg, sqlite3_stmt *stmt, int col,
    enum session_state *state)
{
	const char	*s = (const char *)sqlite3_column_text(stmt, col);

	if (session_state_parse(s, state) != 0) {
		reg_set_err(reg, "unknown session state in the database");
		return TUNL_ERR_DB;
	}
	return 0;
}

static int
reg_row_session(struct registry *reg, sqlite3_stmt *stmt, struct session *s)
{
	const char	*mode;
	int64_t		 failures, viewers;
	int		 r;

	memset(s, 0, sizeof(*s));
	if ((r = reg_col_text(reg, stmt, 0, s->id, sizeof(s->id))) != 0 ||
	    (r = reg_col_state(reg, stmt, 1, &s->state)) != 0 ||
	    (r = reg_col_text(reg, stmt, 3, s->case_ref,
	    sizeof(s->case_ref))) != 0 ||
	    (r = reg_col_text(reg, stmt, 4, s->customer,
	    sizeof(s->customer))) != 0 ||
	    (r = reg_col_text(reg, stmt, 5, s->host, sizeof(s->host))) != 0 ||
	    (r = reg_col_text(reg, stmt, 6, s->engineer,
	    sizeof(s->engineer))) != 0)
		return r;
	mode = (const char *)sqlite3_column_text(stmt, 2);
	if (session_mode_parse(mode, &s->mode) != 0) {
		reg_set_err(reg, "unknown session mode in the database");
		return TUNL_ERR_DB;
	}
	s->created = sqlite3_column_int64(stmt, 7);
	s->expires = sqlite3_column_int64(stmt, 8);
	s->ended = sqlite3_column_int64(stmt, 9);
	failures = sqlite3_column_int64(stmt, 10);
	s->failures = failures < 0 ? 0 : failures > UINT_MAX ? UINT_MAX :
	    (u_int)failures;
	viewers = sqlite3_column_int64(stmt, 11);
	s->viewers = viewers < 0 ? 0 : viewers > UINT_MAX ? UINT_MAX :
	    (u_int)viewers;
	s->token_gen = sqlite3_column_int64(stmt, 12);	/* NULL: 0 */
	return 0;
}

static int
reg_event_insert(struct registry *reg, const char *sid, int64_t now,
    const char *actor, const char *action, const char *source,
    const char *detail)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (source == NULL)
		source = "";
	if (detail == NULL)
		detail = "";
	if ((r = reg_stmt(reg, SQL_EVENT_INSERT, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 3, actor)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 4, action)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 5, source)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 6, detail)) != 0)
		goto out;
	r = reg_exec(reg, stmt);
 out:
	reg_release(stmt);
	return r;
}

/* Read the state (and failure count) of a session inside a transaction. */
static int
reg_session_state(struct registry *reg, const char *sid,
    enum session_state *state, int64_t *failures)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if ((r = reg_stmt(reg, SQL_SESSION_STATE, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		reg_set_err(reg, "no such session");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = reg_col_state(reg, stmt, 0, state)) != 0)
		goto out;
	if (failures != NULL)
		*failures = sqlite3_column_int64(stmt, 1);
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/* ---- opening ----------------------------------------------------------- */

static int
reg_user_version(struct registry *reg, int *version)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if ((r = reg_stmt(reg, SQL_USER_VERSION, &stmt)) != 0)
		return r;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		reg_set_err(reg, "no user_version");
		r = TUNL_ERR_DB;
		goto out;
	}
	*version = sqlite3_column_int(stmt, 0);
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

static int
reg_check_version(struct registry *reg, int version)
{
	if (version < 0 || version > REGISTRY_SCHEMA_VERSION) {
		snprintf(reg->errmsg, sizeof(reg->errmsg),
		    "database schema version %d is not one this program "
		    "knows (%d)", version, REGISTRY_SCHEMA_VERSION);
		return TUNL_ERR_VERSION;
	}
	return 0;
}

/*
 * Bring the schema up to REGISTRY_SCHEMA_VERSION. The version is read
 * again under the write lock, so when several processes open a fresh
 * database at once exactly one of them migrates it.
 */
static int
reg_migrate(struct registry *reg)
{
	char	 sql[64];
	int	 version, v, rc, r;

	if ((r = reg_user_version(reg, &version)) != 0 ||
	    (r = reg_check_version(reg, version)) != 0)
		return r;
	if (version == REGISTRY_SCHEMA_VERSION)
		return 0;
	if (reg->readonly) {
		snprintf(reg->errmsg, sizeof(reg->errmsg),
		    "database schema version %d needs migrating to %d",
		    version, REGISTRY_SCHEMA_VERSION);
		return TUNL_ERR_VERSION;
	}
	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_user_version(reg, &version)) != 0 ||
	    (r = reg_check_version(reg, version)) != 0)
		goto out;
	for (v = version + 1; v <= REGISTRY_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(reg->db, registry_migration(v), NULL, NULL,
		    NULL);
		if (rc != SQLITE_OK) {
			r = reg_fail(reg, rc);
			goto out;
		}
	}
	/* A pragma takes no parameters; this is our own constant. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    REGISTRY_SCHEMA_VERSION);
	if ((rc = sqlite3_exec(reg->db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
		r = reg_fail(reg, rc);
		goto out;
	}
	r = reg_commit(reg);
 out:
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/* Per-connection settings: safety first, then WAL for concurrency. */
static int
reg_configure(struct registry *reg)
{
	sqlite3_stmt	*stmt = NULL;
	const char	*mode;
	int		 rc, r, persist;

	sqlite3_extended_result_codes(reg->db, 1);
	sqlite3_busy_timeout(reg->db, REGISTRY_BUSY_TIMEOUT_MS);
	reg->busy_ms = REGISTRY_BUSY_TIMEOUT_MS;
	/* No schema tricks, no double-quoted strings as literals. */
	sqlite3_db_config(reg->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(reg->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(reg->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	sqlite3_db_config(reg->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_db_config(reg->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
	    NULL);
	rc = sqlite3_exec(reg->db, "PRAGMA foreign_keys = ON; "
	    "PRAGMA secure_delete = ON;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return reg_fail(reg, rc);
	if (reg->readonly)
		return 0;

	/*
	 * Keep the -wal and -shm files when the last writer closes: a
	 * reader without write access to the directory (the principals
	 * command) cannot create them and could not open the database.
	 */
	persist = 1;
	(void)sqlite3_file_control(reg->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist);
	/* ... but keep the kept WAL from growing without bound. */
	rc = sqlite3_exec(reg->db, "PRAGMA journal_size_limit = 4194304;",
	    NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return reg_fail(reg, rc);
	rc = sqlite3_prepare_v2(reg->db, "PRAGMA journal_mode = WAL", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK)
		return reg_fail(reg, rc);
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (r != 1 || mode == NULL || strcmp(mode, "wal") != 0) {
		reg_set_err(reg, "cannot switch the database to WAL mode");
		r = TUNL_ERR_DB;
		goto out;
	}
	r = 0;
 out:
	sqlite3_finalize(stmt);
	return r;
}

/*
 * SQLite makes a missing -wal or -shm file itself, with the database's
 * mode under its caller's umask, and only then widens it to that mode
 * (and, as root, gives it the database's owner). Another account that
 * opens it in between finds it unwritable, falls back to read-only and
 * fails its writes ("attempt to write a readonly database"). So
 * registry_open runs SQLite's opening under a umask that keeps no bit of
 * the database's mode away, and root, for a database it does not own,
 * makes a missing one here whole under a temporary name, at the
 * database's mode and owner, and links it into place: it appears ready
 * or not at all. Failures are left to SQLite's own path.
 */
static void
reg_side_files(const char *path, const struct stat *db)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char		 side[PATH_MAX], tmp[PATH_MAX];
	struct stat	 st;
	size_t		 i;
	int		 fd, ok;

	for (i = 0; i < TUNL_NITEMS(suffixes); i++) {
		if ((size_t)snprintf(side, sizeof(side), "%s%s", path,
		    suffixes[i]) >= sizeof(side) ||
		    (size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", side) >=
		    sizeof(tmp))
			return;
		if (lstat(side, &st) == 0 || errno != ENOENT)
			continue;
		if ((fd = mkstemp(tmp)) == -1)
			return;
		ok = fchown(fd, db->st_uid, db->st_gid) == 0 &&
		    fchmod(fd, db->st_mode & 0660) == 0;
		close(fd);
		if (ok && link(tmp, side) == -1 && errno != EEXIST)
			ok = 0;
		(void)unlink(tmp);
		if (!ok)
			return;
	}
}

/*
 * Open (and with REGISTRY_CREATE create, mode 0640) the registry at the
 * absolute path, never through a symbolic link, and apply any missing
 * migrations. On failure *regp is NULL and registry_errmsg(NULL) says why.
 */
int
registry_open(const char *path, int flags, struct registry **regp)
{
	struct registry	*reg = NULL;
	struct stat	 st;
	mode_t		 mask;
	int		 oflags, fd, rc, r;

	reg_open_errmsg[0] = '\0';
	if (regp == NULL)
		return TUNL_ERR_INVALID;
	*regp = NULL;
	if (path == NULL || path[0] != '/' ||
	    memchr(path, '\0', PATH_MAX) == NULL ||
	    (flags & ~(REGISTRY_CREATE | REGISTRY_READONLY)) != 0 ||
	    ((flags & REGISTRY_CREATE) && (flags & REGISTRY_READONLY))) {
		tunl_strlcpy(reg_open_errmsg, "invalid path or flags",
		    sizeof(reg_open_errmsg));
		return TUNL_ERR_INVALID;
	}
	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return TUNL_ERR_ALLOC;
	reg->readonly = (flags & REGISTRY_READONLY) != 0;

	if (flags & REGISTRY_CREATE) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, 0640);
		if (fd == -1 && errno != EEXIST) {
			snprintf(reg->errmsg, sizeof(reg->errmsg),
			    "create: %s", strerror(errno));
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
		if (fd != -1) {
			/* The umask may not take group read away. */
			if (fchmod(fd, 0640) == -1) {
				snprintf(reg->errmsg, sizeof(reg->errmsg),
				    "fchmod: %s", strerror(errno));
				close(fd);
				r = TUNL_ERR_SYSTEM;
				goto out;
			}
			close(fd);
		}
	}
	if (lstat(path, &st) == -1) {
		snprintf(reg->errmsg, sizeof(reg->errmsg), "%s",
		    strerror(errno));
		r = errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & S_IWOTH) != 0) {
		reg_set_err(reg, "not a regular file, or world-writable");
		r = TUNL_ERR_UNSAFE;
		goto out;
	}

	/* The side files appear at their final mode (reg_side_files). */
	if (!reg->readonly && geteuid() == 0 && st.st_uid != 0)
		reg_side_files(path, &st);
	mask = umask(S_IXUSR | S_IXGRP | S_IRWXO);

	/* NOFOLLOW again: the path may have changed since lstat. */
	oflags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_PRIVATECACHE |
	    (reg->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
	if ((rc = sqlite3_open_v2(path, &reg->db, oflags, NULL)) != SQLITE_OK)
		r = reg_fail(reg, rc);
	else
		r = reg_configure(reg);
	umask(mask);
	if (r != 0 || (r = reg_migrate(reg)) != 0)
		goto out;
	*regp = reg;
	reg = NULL;
	r = 0;
 out:
	if (reg != NULL) {
		tunl_strlcpy(reg_open_errmsg, reg->errmsg,
		    sizeof(reg_open_errmsg));
		registry_close(reg);
	}
	return r;
}

void
registry_close(struct registry *reg)
{
	u_int	 i;

	if (reg == NULL)
		return;
	for (i = 0; i < SQL_NSTMTS; i++)
		sqlite3_finalize(reg->stmts[i]);
	if (reg->db != NULL)
		sqlite3_close(reg->db);
	tunl_memzero(reg, sizeof(*reg));
	free(reg);
}

/*
 * The reason for the last failure on reg, or with NULL for the last
 * failed registry_open. For logs only: it may name SQL objects, never
 * values.
 */
const char *
registry_errmsg(struct registry *reg)
{
	if (reg == NULL)
		return reg_open_errmsg;
	return reg->errmsg;
}

/* How long a write waits for another process's lock before TUNL_ERR_BUSY. */
int
registry_set_busy_timeout(struct registry *reg, int ms)
{
	int	 rc;

	if (ms < 0)
		return reg_invalid(reg, "busy timeout");
	if ((rc = sqlite3_busy_timeout(reg->db, ms)) != SQLITE_OK)
		return reg_fail(reg, rc);
	reg->busy_ms = ms;
	return 0;
}

int
registry_schema_version(struct registry *reg, int *version)
{
	if (version == NULL)
		return reg_invalid(reg, "version");
	return reg_user_version(reg, version);
}

/* ---- sessions ---------------------------------------------------------- */

static int
reg_check_session(struct registry *reg, const struct session *s)
{
	if (s == NULL)
		return reg_invalid(reg, "session");
	if (!reg_check_id(s->id))
		return reg_invalid(reg, "session id");
	if (session_state_name(s->state) == NULL)
		return reg_invalid(reg, "session state");
	if (session_mode_name(s->mode) == NULL)
		return reg_invalid(reg, "session mode");
	if (!reg_check_text(s->case_ref, 0, sizeof(s->case_ref)))
		return reg_invalid(reg, "case");
	if (!reg_check_text(s->customer, 0, sizeof(s->customer)))
		return reg_invalid(reg, "customer");
	if (!reg_check_text(s->host, 0, sizeof(s->host)))
		return reg_invalid(reg, "host");
	if (!reg_check_text(s->engineer, 1, sizeof(s->engineer)))
		return reg_invalid(reg, "engineer");
	if (!reg_check_time(s->created) || !reg_check_time(s->expires) ||
	    s->expires < s->created)
		return reg_invalid(reg, "session times");
	if (s->state == SESSION_ENDED ?
	    (!reg_check_time(s->ended) || s->ended < s->created) :
	    s->ended != 0)
		return reg_invalid(reg, "session end time");
	return 0;
}

/*
 * Record a new session and, unless token_hash is NULL, its one-time
 * token's keyed hash. TUNL_ERR_EXISTS if the id is taken or the hash
 * belongs to another unconsumed token.
 */
int
registry_session_create(struct registry *reg, const struct session *s,
    const u_char *token_hash, int64_t token_expires)
{
	sqlite3_stmt	*stmt = NULL;
	int		 r, ext;

	if ((r = reg_check_session(reg, s)) != 0)
		return r;
	if (token_hash != NULL && !reg_check_time(token_expires))
		return reg_invalid(reg, "token expiry");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_stmt(reg, SQL_SESSION_INSERT, &stmt)) != 0)
		goto out;
	if ((r = reg_bind_text(reg, stmt, 1, s->id)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 2,
	    session_state_name(s->state))) != 0 ||
	    (r = reg_bind_text(reg, stmt, 3,
	    session_mode_name(s->mode))) != 0 ||
	    (r = reg_bind_text(reg, stmt, 4, s->case_ref)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 5, s->customer)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 6, s->host)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 7, s->engineer)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 8, s->created)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 9, s->expires)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 10, s->ended)) != 0)
		goto out;
	if ((r = reg_exec(reg, stmt)) != 0)
		goto constraint;
	reg_release(stmt);
	stmt = NULL;

	if (token_hash != NULL) {
		if ((r = reg_stmt(reg, SQL_TOKEN_INSERT, &stmt)) != 0)
			goto out;
		if ((r = reg_bind_text(reg, stmt, 1, s->id)) != 0 ||
		    (r = reg_bind_blob(reg, stmt, 2, token_hash,
		    TOKEN_HASH_LEN)) != 0 ||
		    (r = reg_bind_int(reg, stmt, 3, token_expires)) != 0)
			goto out;
		if ((r = reg_exec(reg, stmt)) != 0)
			goto constraint;
	}
	if ((r = reg_event_insert(reg, s->id, s->created, s->engineer,
	    "created", NULL, session_mode_name(s->mode))) != 0)
		goto out;
	r = reg_commit(reg);
	goto out;

 constraint:
	ext = sqlite3_extended_errcode(reg->db);
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    ext == SQLITE_CONSTRAINT_UNIQUE)
		r = TUNL_ERR_EXISTS;
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

int
registry_session_get(struct registry *reg, const char *sid,
    struct session *s)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (s == NULL)
		return reg_invalid(reg, "session");
	if ((r = reg_stmt(reg, SQL_SESSION_GET, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		reg_set_err(reg, "no such session");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	r = reg_row_session(reg, stmt, s);
 out:
	reg_release(stmt);
	return r;
}

/*
 * Call cb for each session (ended ones too if include_ended), oldest
 * first. A non-zero return from cb stops the walk and is returned. cb
 * must not call back into the same registry handle.
 */
int
registry_session_list(struct registry *reg, int include_ended,
    int (*cb)(const struct session *, void *), void *arg)
{
	sqlite3_stmt	*stmt;
	struct session	 s;
	int		 r;

	if (cb == NULL)
		return reg_invalid(reg, "callback");
	if ((r = reg_stmt(reg, include_ended ? SQL_SESSION_LIST_ALL :
	    SQL_SESSION_LIST, &stmt)) != 0)
		return r;
	while ((r = reg_step(reg, stmt)) == 1) {
		if ((r = reg_row_session(reg, stmt, &s)) != 0)
			break;
		if ((r = cb(&s, arg)) != 0)
			break;
	}
	reg_release(stmt);
	return r;
}

/* Which state changes are allowed. Ended is final. */
static int
reg_transition_ok(enum session_state from, enum session_state to)
{
	switch (from) {
	case SESSION_PENDING:
		return to == SESSION_ACTIVE || to == SESSION_ENDED ||
		    to == SESSION_LOCKED;
	case SESSION_ACTIVE:
		return to == SESSION_ENDED || to == SESSION_LOCKED;
	case SESSION_LOCKED:
		return to == SESSION_PENDING || to == SESSION_ACTIVE ||
		    to == SESSION_ENDED;
	case SESSION_ENDED:
		return 0;
	}
	return 0;
}

static const char *
reg_transition_action(enum session_state from, enum session_state to)
{
	if (from == SESSION_LOCKED && to != SESSION_ENDED)
		return "unlocked";
	switch (to) {
	case SESSION_ACTIVE:
		return "activated";
	case SESSION_ENDED:
		return "ended";
	case SESSION_LOCKED:
		return "locked";
	default:
		return "state";
	}
}

/*
 * Move a session to a new state and log it. TUNL_ERR_STATE for a change
 * that is not allowed (see reg_transition_ok). Unlocking clears the
 * failure count, or the next failure would lock it again at once.
 */
int
registry_session_set_state(struct registry *reg, const char *sid,
    enum session_state to, const char *actor, const char *detail,
    int64_t now)
{
	sqlite3_stmt		*stmt = NULL;
	enum session_state	 from;
	int			 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (session_state_name(to) == NULL)
		return reg_invalid(reg, "session state");
	if (!reg_check_text(actor, 1, EVENT_ACTOR_LEN))
		return reg_invalid(reg, "actor");
	if (detail != NULL && !reg_check_text(detail, 0, EVENT_DETAIL_LEN))
		return reg_invalid(reg, "detail");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_session_state(reg, sid, &from, NULL)) != 0)
		goto out;
	if (!reg_transition_ok(from, to)) {
		snprintf(reg->errmsg, sizeof(reg->errmsg),
		    "session cannot go from %s to %s",
		    session_state_name(from), session_state_name(to));
		r = TUNL_ERR_STATE;
		goto out;
	}
	if ((r = reg_stmt(reg, SQL_SESSION_SET_STATE, &stmt)) != 0)
		goto out;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 2, session_state_name(to))) != 0 ||
	    (r = reg_bind_int(reg, stmt, 3, now)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 4, from == SESSION_LOCKED)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if ((r = reg_event_insert(reg, sid, now, actor,
	    reg_transition_action(from, to), NULL, detail)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/*
 * Make a pending or active session restricted (watch and chat only), with
 * a "mode-restricted" event. One way: nothing here turns a session back
 * to share, and a session already restricted stays as it is, without a
 * second event. TUNL_ERR_STATE when the session is ended or locked,
 * TUNL_ERR_NOT_FOUND when there is none.
 */
int
registry_session_restrict(struct registry *reg, const char *sid,
    const char *actor, int64_t now)
{
	sqlite3_stmt		*stmt = NULL;
	enum session_state	 state;
	int			 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!reg_check_text(actor, 1, EVENT_ACTOR_LEN))
		return reg_invalid(reg, "actor");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_session_state(reg, sid, &state, NULL)) != 0)
		goto out;
	if (state != SESSION_PENDING && state != SESSION_ACTIVE) {
		snprintf(reg->errmsg, sizeof(reg->errmsg),
		    "a session that is %s cannot change its mode",
		    session_state_name(state));
		r = TUNL_ERR_STATE;
		goto out;
	}
	if ((r = reg_stmt(reg, SQL_SESSION_RESTRICT, &stmt)) != 0)
		goto out;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if (sqlite3_changes(reg->db) > 0 &&
	    (r = reg_event_insert(reg, sid, now, actor, "mode-restricted",
	    NULL, NULL)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/*
 * Run the statement which in a transaction of its own, with the time t
 * in ?1 and, unless batch is 0, batch in ?2; open (t in ?1) and close
 * run before and after it, or SQL_NSTMTS for none. Returns how many rows
 * which changed, or an error with everything rolled back.
 */
static int
reg_tx_count(struct registry *reg, enum reg_sql which, enum reg_sql open,
    enum reg_sql close, int64_t t, u_int batch)
{
	sqlite3_stmt	*stmt = NULL;
	int		 r, n = 0;

	if (!reg_check_time(t))
		return reg_invalid(reg, "time");
	if ((r = reg_begin(reg)) != 0)
		return r;
	if (open != SQL_NSTMTS) {
		if ((r = reg_stmt(reg, open, &stmt)) != 0 ||
		    (r = reg_bind_int(reg, stmt, 1, t)) != 0 ||
		    (r = reg_exec(reg, stmt)) != 0)
			goto out;
		reg_release(stmt);
		stmt = NULL;
	}
	if ((r = reg_stmt(reg, which, &stmt)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 1, t)) != 0 ||
	    (batch != 0 && (r = reg_bind_int(reg, stmt, 2, batch)) != 0) ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	n = sqlite3_changes(reg->db);
	if (close != SQL_NSTMTS) {
		reg_release(stmt);
		stmt = NULL;
		if ((r = reg_stmt(reg, close, &stmt)) != 0 ||
		    (r = reg_exec(reg, stmt)) != 0)
			goto out;
	}
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0) {
		reg_rollback(reg);
		return r;
	}
	return n;
}

/*
 * End every pending or active session whose expiry has come, with an
 * event for each. Returns how many, or an error.
 */
int
registry_session_expire(struct registry *reg, int64_t now)
{
	return reg_tx_count(reg, SQL_SESSION_EXPIRE, SQL_SESSION_EXPIRE_EVENTS,
	    SQL_NSTMTS, now, 0);
}

/*
 * Count the sessions in each state. A state missing from the result
 * counts zero.
 */
int
registry_count_by_state(struct registry *reg, u_int counts[SESSION_NSTATES])
{
	sqlite3_stmt		*stmt;
	enum session_state	 state;
	int64_t			 n;
	int			 r;

	if (counts == NULL)
		return reg_invalid(reg, "counts");
	memset(counts, 0, SESSION_NSTATES * sizeof(*counts));
	if ((r = reg_stmt(reg, SQL_SESSION_COUNT, &stmt)) != 0)
		return r;
	while ((r = reg_step(reg, stmt)) == 1) {
		if ((r = reg_col_state(reg, stmt, 0, &state)) != 0)
			break;
		n = sqlite3_column_int64(stmt, 1);
		counts[state] = n > UINT_MAX ? UINT_MAX : (u_int)n;
	}
	reg_release(stmt);
	return r;
}

/*
 * Record how many engineers a live session's broker has connected. An
 * ended session keeps none; a session that is no longer live is left
 * as it is (TUNL_ERR_STATE), so a late broker cannot bring one back.
 */
int
registry_session_set_viewers(struct registry *reg, const char *sid,
    u_int viewers)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (viewers > REGISTRY_VIEWERS_MAX)
		return reg_invalid(reg, "viewer count");
	if ((r = reg_stmt(reg, SQL_SESSION_SET_VIEWERS, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, viewers)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if (sqlite3_changes(reg->db) == 0) {
		reg_set_err(reg, "no live session with that id");
		r = TUNL_ERR_STATE;
	}
 out:
	reg_release(stmt);
	return r;
}

/*
 * The customer's host name, as its tunl-share reports it when producing:
 * [A-Za-z0-9] then [A-Za-z0-9.-], at most 253 bytes. Only a live session.
 */
int
registry_session_set_host(struct registry *reg, const char *sid,
    const char *host)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!tunl_host_ok(host))
		return reg_invalid(reg, "host name");
	if ((r = reg_stmt(reg, SQL_SESSION_SET_HOST, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 2, host)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if (sqlite3_changes(reg->db) == 0) {
		reg_set_err(reg, "no live session with that id");
		r = TUNL_ERR_STATE;
	}
 out:
	reg_release(stmt);
	return r;
}

/* The engineers joined across every live session of the relay. */
int
registry_viewers_total(struct registry *reg, u_int *total)
{
	sqlite3_stmt	*stmt;
	int64_t		 n;
	int		 r;

	if (total == NULL)
		return reg_invalid(reg, "total");
	*total = 0;
	if ((r = reg_stmt(reg, SQL_VIEWERS_TOTAL, &stmt)) != 0)
		return r;
	if ((r = reg_step(reg, stmt)) == 1) {
		n = sqlite3_column_int64(stmt, 0);
		*total = n < 0 ? 0 : n > UINT_MAX ? UINT_MAX : (u_int)n;
		r = 0;
	} else if (r == 0) {
		reg_set_err(reg, "no result");
		r = TUNL_ERR_INTERNAL;
	}
	reg_release(stmt);
	return r;
}

/* ---- tokens ------------------------------------------------------------ */

/*
 * Find the session of a live token (unconsumed, unexpired, its session
 * pending or active and unexpired) by its keyed hash. The hash is a MAC
 * under the relay's secret key, so the index lookup tells an attacker
 * nothing about stored tokens; the stored value is still compared in
 * constant time before it is trusted. Every failure is TUNL_ERR_NOT_FOUND:
 * the caller must not learn which condition failed.
 */
int
registry_token_lookup(struct registry *reg, const u_char *hash, int64_t now,
    char sid[ID_LEN_MAX])
{
	sqlite3_stmt	*stmt;
	const void	*stored;
	char		 found[ID_LEN_MAX];
	int		 r;

	if (hash == NULL || sid == NULL)
		return reg_invalid(reg, "token hash");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	sid[0] = '\0';
	if ((r = reg_stmt(reg, SQL_TOKEN_LOOKUP, &stmt)) != 0)
		return r;
	if ((r = reg_bind_blob(reg, stmt, 1, hash, TOKEN_HASH_LEN)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		reg_set_err(reg, "no live token");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	stored = sqlite3_column_blob(stmt, 1);
	if (stored == NULL ||
	    sqlite3_column_bytes(stmt, 1) != TOKEN_HASH_LEN ||
	    !token_equal(stored, hash)) {
		reg_set_err(reg, "no live token");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = reg_col_text(reg, stmt, 0, found, sizeof(found))) != 0)
		goto out;
	if (!reg_check_id(found)) {
		reg_set_err(reg, "bad session id in the database");
		r = TUNL_ERR_DB;
		goto out;
	}
	memcpy(sid, found, sizeof(found));
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/*
 * Consume a live token of the session: it will never match again. With
 * hash, exactly the token whose keyed hash it is (the token a login used,
 * login-key.c): a token that `token <id>` superseded, or that another
 * sign consumed, is TUNL_ERR_NOT_FOUND, and no other token of the session
 * is touched. With hash NULL, whichever token of the session is live.
 * This is the authoritative single-use check: of two logins racing with
 * the same token, only one sees 0 here. TUNL_ERR_NOT_FOUND if there is
 * none.
 */
int
registry_token_consume(struct registry *reg, const char *sid,
    const u_char *hash, int64_t now)
{
	sqlite3_stmt	*stmt = NULL;
	int		 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if ((r = reg_begin(reg)) != 0)
		return r;
	/* A NULL blob binds SQL NULL: any of the session's tokens. */
	if ((r = reg_stmt(reg, SQL_TOKEN_CONSUME, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0 ||
	    (r = reg_bind_blob(reg, stmt, 3, hash,
	    hash != NULL ? TOKEN_HASH_LEN : 0)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if (sqlite3_changes(reg->db) == 0) {
		reg_set_err(reg, hash != NULL ?
		    "the login's token is no longer live" : "no live token");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = reg_event_insert(reg, sid, now, REG_ACTOR_SELF,
	    "token-consumed", NULL, NULL)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/*
 * Is a login of session sid still current (login-key.c, struct
 * login_info)? A newer token ends what older ones opened: a login by
 * token is current while its token is the session's newest; a login by
 * certificate while the session's newest token has been consumed and is
 * the one whose id is the certificate's serial (sign puts the token's id
 * there: ids only grow, so a certificate from an older token never
 * passes, whatever second it was signed in). A
 * session that never had a token has nothing to supersede. 0 when
 * current, TUNL_ERR_DENIED when superseded. *newestp (if not NULL) is
 * the id of the session's newest token the check saw (0: none), which
 * admit states to the broker: a token issued after this check supersedes
 * the login even if the broker reads the row only after it.
 */
int
registry_login_current(struct registry *reg, const char *sid,
    const struct login_info *li, int64_t *newestp)
{
	sqlite3_stmt	*stmt;
	const void	*stored;
	int64_t		 newest;
	int		 r, used;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (li == NULL)
		return reg_invalid(reg, "login");
	if (newestp != NULL)
		*newestp = 0;
	if ((r = reg_stmt(reg, SQL_TOKEN_NEWEST, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		r = li->has_token ? TUNL_ERR_DENIED : 0;
		goto out;
	}
	stored = sqlite3_column_blob(stmt, 0);
	if (stored == NULL || sqlite3_column_bytes(stmt, 0) != TOKEN_HASH_LEN) {
		reg_set_err(reg, "bad token hash in the database");
		r = TUNL_ERR_DB;
		goto out;
	}
	used = sqlite3_column_type(stmt, 1) != SQLITE_NULL;
	newest = sqlite3_column_int64(stmt, 2);
	if (newestp != NULL)
		*newestp = newest;
	if (li->has_token)
		r = token_equal(stored, li->token) ? 0 : TUNL_ERR_DENIED;
	else if (li->is_cert)
		r = used && newest == li->serial ? 0 : TUNL_ERR_DENIED;
	else
		r = 0;
	if (r != 0)
		reg_set_err(reg, "a newer token superseded this login");
 out:
	reg_release(stmt);
	return r;
}

/*
 * Give a live session (pending or active, not expired, not locked) a new
 * one-time token: every token of the session not yet used stops working,
 * and the new hash is stored with its expiry, in one transaction, with a
 * "token-issued" event naming actor. For a customer whose certificate
 * expired, or whose first token expired unused. TUNL_ERR_NOT_FOUND if the
 * session is not live; TUNL_ERR_EXISTS if the hash belongs to another
 * unused token (the caller draws another).
 */
int
registry_token_reissue(struct registry *reg, const char *sid,
    const u_char *token_hash, int64_t token_expires, const char *actor,
    int64_t now)
{
	sqlite3_stmt	*stmt = NULL;
	int		 r, ext;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (token_hash == NULL)
		return reg_invalid(reg, "token hash");
	if (!reg_check_time(now) || !reg_check_time(token_expires) ||
	    token_expires <= now)
		return reg_invalid(reg, "token expiry");
	if (actor == NULL || !reg_check_text(actor, 1, EVENT_ACTOR_LEN))
		return reg_invalid(reg, "actor");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_stmt(reg, SQL_TOKEN_REVOKE, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	reg_release(stmt);
	stmt = NULL;

	if ((r = reg_stmt(reg, SQL_TOKEN_REISSUE, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_blob(reg, stmt, 2, token_hash,
	    TOKEN_HASH_LEN)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 3, token_expires)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 4, now)) != 0)
		goto out;
	if ((r = reg_exec(reg, stmt)) != 0) {
		ext = sqlite3_extended_errcode(reg->db);
		if (ext == SQLITE_CONSTRAINT_UNIQUE)
			r = TUNL_ERR_EXISTS;
		goto out;
	}
	if (sqlite3_changes(reg->db) == 0) {
		reg_set_err(reg, "no live session");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = reg_event_insert(reg, sid, now, actor, "token-issued", NULL,
	    NULL)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/* ---- failures, rate limits, cooldowns ---------------------------------- */

/*
 * Count a failed attempt from source and, if sid names a known session,
 * against that session (with an event). When the session's count reaches
 * cap while it is pending or active, it is locked. *locked (if not NULL)
 * is set when the session is locked after this call. An unknown sid only
 * counts against the source.
 */
int
registry_failure_record(struct registry *reg, const char *sid,
    const char *source, int64_t now, u_int cap, int *locked)
{
	sqlite3_stmt		*stmt = NULL;
	enum session_state	 state;
	char			 src[EVENT_SOURCE_LEN], key[EVENT_SOURCE_LEN];
	int64_t			 failures;
	int			 r, lock = 0;

	if (locked != NULL)
		*locked = 0;
	if (sid != NULL && !reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!reg_canon_source(source, src) || source_limit_key(src, key) != 0)
		return reg_invalid(reg, "source address");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if (cap == 0)
		return reg_invalid(reg, "failure cap");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_stmt(reg, SQL_SOURCE_FAIL, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, key)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	reg_release(stmt);
	stmt = NULL;
	if (sid == NULL)
		goto commit;

	if ((r = reg_stmt(reg, SQL_SESSION_FAIL, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	if (sqlite3_changes(reg->db) == 0)
		goto commit;
	if ((r = reg_session_state(reg, sid, &state, &failures)) != 0 ||
	    (r = reg_event_insert(reg, sid, now, REG_ACTOR_SELF,
	    "auth-failure", src, NULL)) != 0)
		goto out;
	if ((state == SESSION_PENDING || state == SESSION_ACTIVE) &&
	    failures >= (int64_t)cap) {
		reg_release(stmt);
		if ((r = reg_stmt(reg, SQL_SESSION_SET_STATE, &stmt)) != 0 ||
		    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
		    (r = reg_bind_text(reg, stmt, 2, "locked")) != 0 ||
		    (r = reg_bind_int(reg, stmt, 3, now)) != 0 ||
		    (r = reg_bind_int(reg, stmt, 4, 0)) != 0 ||
		    (r = reg_exec(reg, stmt)) != 0)
			goto out;
		if ((r = reg_event_insert(reg, sid, now, REG_ACTOR_SELF,
		    "locked", src, "failure cap reached")) != 0)
			goto out;
		state = SESSION_LOCKED;
	}
	lock = state == SESSION_LOCKED;
 commit:
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0) {
		reg_rollback(reg);
		return r;
	}
	if (locked != NULL)
		*locked = lock;
	return 0;
}

/*
 * 0 if source has had fewer than limit failures in the last window_secs
 * seconds, TUNL_ERR_RATE if not. The count is a plain read, which in WAL
 * mode never waits for a writer: a login is never held up, or refused,
 * because another process holds the write lock. Rows older than the
 * window are then deleted (every caller uses the one configured window)
 * if the lock is free at once; if not, the next call deletes them.
 */
int
registry_source_allowed(struct registry *reg, const char *source,
    u_int limit, u_int window_secs, int64_t now)
{
	sqlite3_stmt	*stmt = NULL;
	char		 src[EVENT_SOURCE_LEN], key[EVENT_SOURCE_LEN];
	int64_t		 since, n;
	int		 r;

	if (!reg_canon_source(source, src) || source_limit_key(src, key) != 0)
		return reg_invalid(reg, "source address");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if (limit == 0 || window_secs == 0)
		return reg_invalid(reg, "rate limit");
	since = now - (int64_t)window_secs;

	if ((r = reg_stmt(reg, SQL_SOURCE_COUNT, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, key)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, since)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) != 1) {
		if (r == 0) {
			reg_set_err(reg, "count returned no row");
			r = TUNL_ERR_DB;
		}
		goto out;
	}
	n = sqlite3_column_int64(stmt, 0);
	reg_release(stmt);
	stmt = NULL;
	if (!reg->readonly) {
		/* Housekeeping: never waited for. */
		sqlite3_busy_timeout(reg->db, 0);
		if (reg_begin(reg) == 0) {
			if (reg_stmt(reg, SQL_SOURCE_PRUNE, &stmt) == 0 &&
			    reg_bind_int(reg, stmt, 1, since) == 0 &&
			    reg_exec(reg, stmt) == 0) {
				reg_release(stmt);
				stmt = NULL;
				(void)reg_commit(reg);
			}
			reg_release(stmt);
			stmt = NULL;
			reg_rollback(reg);
		}
		sqlite3_busy_timeout(reg->db, reg->busy_ms);
		reg->errmsg[0] = '\0';
	}
	if (n >= (int64_t)limit) {
		reg_set_err(reg, "source over its failure limit");
		r = TUNL_ERR_RATE;
	} else
		r = 0;
 out:
	reg_release(stmt);
	return r;
}

/*
 * Check and stamp the signing cooldown of a session in one step:
 * TUNL_ERR_RATE (and no stamp) if the last signing was less than
 * cooldown_secs ago, else 0 and now becomes the last signing time.
 * A clock that went backwards counts as inside the cooldown.
 */
int
registry_sign_cooldown(struct registry *reg, const char *sid,
    u_int cooldown_secs, int64_t now)
{
	sqlite3_stmt		*stmt = NULL;
	enum session_state	 state;
	int64_t			 last;
	int			 r;

	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_session_state(reg, sid, &state, NULL)) != 0)
		goto out;
	if ((r = reg_stmt(reg, SQL_COOLDOWN_GET, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 1) {
		last = sqlite3_column_int64(stmt, 0);
		if (now - last < (int64_t)cooldown_secs) {
			reg_set_err(reg, "signing cooldown");
			r = TUNL_ERR_RATE;
			goto out;
		}
	}
	reg_release(stmt);
	if ((r = reg_stmt(reg, SQL_COOLDOWN_SET, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, now)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	reg_release(stmt);
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/* ---- events ------------------------------------------------------------ */

/*
 * Append an event. sid, source and detail may be NULL; the session need
 * not exist (attempts against unknown ids are worth recording).
 */
int
registry_event_add(struct registry *reg, const char *sid, const char *actor,
    const char *action, const char *source, const char *detail, int64_t now)
{
	char	 src[EVENT_SOURCE_LEN];
	int	 r;

	if (sid != NULL && !reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (!reg_check_text(actor, 1, EVENT_ACTOR_LEN))
		return reg_invalid(reg, "actor");
	if (!reg_check_action(action))
		return reg_invalid(reg, "action");
	if (source != NULL && !reg_canon_source(source, src))
		return reg_invalid(reg, "source address");
	if (detail != NULL && !reg_check_text(detail, 0, EVENT_DETAIL_LEN))
		return reg_invalid(reg, "detail");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");

	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_event_insert(reg, sid, now, actor, action,
	    source == NULL ? NULL : src, detail)) != 0 ||
	    (r = reg_commit(reg)) != 0)
		reg_rollback(reg);
	return r;
}

/* One row of EVENT_COLUMNS. */
static int
reg_row_event(struct registry *reg, sqlite3_stmt *stmt,
    struct registry_event *ev)
{
	int	 r;

	memset(ev, 0, sizeof(*ev));
	ev->id = sqlite3_column_int64(stmt, 0);
	ev->at = sqlite3_column_int64(stmt, 2);
	if ((r = reg_col_text(reg, stmt, 1, ev->session_id,
	    sizeof(ev->session_id))) != 0 ||
	    (r = reg_col_text(reg, stmt, 3, ev->actor,
	    sizeof(ev->actor))) != 0 ||
	    (r = reg_col_text(reg, stmt, 4, ev->action,
	    sizeof(ev->action))) != 0 ||
	    (r = reg_col_text(reg, stmt, 5, ev->source,
	    sizeof(ev->source))) != 0 ||
	    (r = reg_col_text(reg, stmt, 6, ev->detail,
	    sizeof(ev->detail))) != 0)
		return r;
	return 0;
}

/*
 * Call cb for each event of a session (of every session if sid is NULL),
 * oldest first. A non-zero return from cb stops the walk and is returned.
 * cb must not call back into the same registry handle.
 */
int
registry_event_list(struct registry *reg, const char *sid,
    int (*cb)(const struct registry_event *, void *), void *arg)
{
	sqlite3_stmt		*stmt;
	struct registry_event	 ev;
	int			 r;

	if (sid != NULL && !reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (cb == NULL)
		return reg_invalid(reg, "callback");
	if ((r = reg_stmt(reg, sid == NULL ? SQL_EVENT_LIST_ALL :
	    SQL_EVENT_LIST, &stmt)) != 0)
		return r;
	if (sid != NULL && (r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	while ((r = reg_step(reg, stmt)) == 1) {
		if ((r = reg_row_event(reg, stmt, &ev)) != 0)
			break;
		if ((r = cb(&ev, arg)) != 0)
			break;
	}
 out:
	reg_release(stmt);
	return r;
}

/*
 * Up to max events with an id above after, oldest first, into evs; *n
 * says how many. Ids only grow and a writer holds the lock from the
 * insert to its commit, so an event never appears below one already
 * read: a reader that remembers the last id it saw misses nothing.
 */
int
registry_events_after(struct registry *reg, int64_t after,
    struct registry_event *evs, size_t max, size_t *n)
{
	sqlite3_stmt	*stmt;
	size_t		 got = 0;
	int		 r;

	if (n == NULL)
		return reg_invalid(reg, "count");
	*n = 0;
	if (after < 0)
		return reg_invalid(reg, "event id");
	if (evs == NULL || max == 0 || max > INT_MAX)
		return reg_invalid(reg, "event batch");
	if ((r = reg_stmt(reg, SQL_EVENT_AFTER, &stmt)) != 0)
		return r;
	if ((r = reg_bind_int(reg, stmt, 1, after)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, (int64_t)max)) != 0)
		goto out;
	while (got < max && (r = reg_step(reg, stmt)) == 1) {
		if ((r = reg_row_event(reg, stmt, &evs[got])) != 0)
			goto out;
		got++;
	}
	if (r < 0)
		goto out;
	*n = got;
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/* How many events have an id above after. */
int
registry_events_count_after(struct registry *reg, int64_t after,
    int64_t *count)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (count == NULL || after < 0)
		return reg_invalid(reg, "event id");
	*count = 0;
	if ((r = reg_stmt(reg, SQL_EVENT_COUNT_AFTER, &stmt)) != 0)
		return r;
	if ((r = reg_bind_int(reg, stmt, 1, after)) != 0 ||
	    (r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 1)
		*count = sqlite3_column_int64(stmt, 0);
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/* A webhook URL as the configuration holds it: printable ASCII. */
static int
reg_check_url(const char *url)
{
	size_t	 i;

	if (url == NULL || url[0] == '\0')
		return 0;
	for (i = 0; url[i] != '\0'; i++) {
		if (i >= CFG_URL_MAX - 1 || (u_char)url[i] <= 0x20 ||
		    (u_char)url[i] >= 0x7f)
			return 0;
	}
	return 1;
}

static int
reg_cursor_get(struct registry *reg, const char *url, int64_t *last)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if ((r = reg_stmt(reg, SQL_CURSOR_GET, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, url)) != 0 ||
	    (r = reg_step(reg, stmt)) < 0)
		goto out;
	if (r == 0) {
		reg_set_err(reg, "no cursor for this URL");
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	*last = sqlite3_column_int64(stmt, 0);
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/*
 * The id of the last event delivered to url. A URL without a cursor is
 * TUNL_ERR_NOT_FOUND, unless create is set: then it gets one at the
 * newest event (now is its time), in one transaction, so history is
 * never sent to a URL just added.
 */
int
registry_webhook_cursor(struct registry *reg, const char *url, int create,
    int64_t now, int64_t *last)
{
	sqlite3_stmt	*stmt;
	int		 r;

	if (last == NULL || !reg_check_url(url))
		return reg_invalid(reg, "webhook URL");
	*last = 0;
	if (!create)
		return reg_cursor_get(reg, url, last);
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_stmt(reg, SQL_CURSOR_START, &stmt)) != 0)
		goto out;
	if ((r = reg_bind_text(reg, stmt, 1, url)) == 0 &&
	    (r = reg_bind_int(reg, stmt, 2, now)) == 0)
		r = reg_exec(reg, stmt);
	reg_release(stmt);
	if (r != 0 || (r = reg_cursor_get(reg, url, last)) != 0)
		goto out;
	r = reg_commit(reg);
 out:
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/*
 * Move url's cursor forward to last (never back: a second dispatcher
 * that delivered less cannot undo the first's progress). A URL without a
 * cursor is TUNL_ERR_NOT_FOUND.
 */
int
registry_webhook_advance(struct registry *reg, const char *url, int64_t last,
    int64_t now)
{
	sqlite3_stmt	*stmt;
	int64_t		 cur;
	int		 r;

	if (!reg_check_url(url))
		return reg_invalid(reg, "webhook URL");
	if (last < 0)
		return reg_invalid(reg, "event id");
	if (!reg_check_time(now))
		return reg_invalid(reg, "time");
	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_cursor_get(reg, url, &cur)) != 0 ||
	    (r = reg_stmt(reg, SQL_CURSOR_ADVANCE, &stmt)) != 0)
		goto out;
	if ((r = reg_bind_text(reg, stmt, 1, url)) == 0 &&
	    (r = reg_bind_int(reg, stmt, 2, last)) == 0 &&
	    (r = reg_bind_int(reg, stmt, 3, now)) == 0)
		r = reg_exec(reg, stmt);
	reg_release(stmt);
	if (r == 0)
		r = reg_commit(reg);
 out:
	if (r != 0)
		reg_rollback(reg);
	return r;
}

/* ---- retention ------------------------------------------------------------ */

/*
 * One batch of retention: delete at most batch rows with the statement
 * which (before in ?1, batch in ?2) in a transaction of their own, so a
 * login or a broker waits for one short batch at most. open and close
 * (or SQL_NSTMTS for none) run around it. Returns how many were deleted.
 */
static int
reg_prune_batch(struct registry *reg, enum reg_sql which, enum reg_sql open,
    enum reg_sql close, int64_t before, u_int batch)
{
	if (batch == 0 || batch > REGISTRY_PRUNE_BATCH_MAX)
		return reg_invalid(reg, "batch size");
	return reg_tx_count(reg, which, open, close, before, batch);
}

/*
 * Delete up to batch events older than before (unix seconds) that name
 * no session, or whose session no longer exists or ended before before
 * too. A pending, active or locked session's events are kept whatever
 * their age, and so are those of a session that ended since. Returns how
 * many went; call again until fewer than batch.
 */
int
registry_prune_events(struct registry *reg, int64_t before, u_int batch)
{
	return reg_prune_batch(reg, SQL_PRUNE_EVENTS, SQL_PRUNE_OPEN,
	    SQL_PRUNE_CLOSE, before, batch);
}

/*
 * Delete up to batch sessions that ended before before, with their
 * tokens and signing cooldowns. Never a session that has not ended.
 * Returns how many went; call again until fewer than batch.
 */
int
registry_prune_sessions(struct registry *reg, int64_t before, u_int batch)
{
	return reg_prune_batch(reg, SQL_PRUNE_SESSIONS, SQL_NSTMTS,
	    SQL_NSTMTS, before, batch);
}

/* ---- tunnels: one relay port per session --------------------------------- */

static int
reg_tunnel_read(struct registry *reg, const char *sid, u_int *port)
{
	sqlite3_stmt	*stmt;
	int64_t		 n;
	int		 r;

	*port = 0;
	if ((r = reg_stmt(reg, SQL_TUNNEL_GET, &stmt)) != 0)
		return r;
	if ((r = reg_bind_text(reg, stmt, 1, sid)) != 0)
		goto out;
	if ((r = reg_step(reg, stmt)) == 0) {
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if (r < 0)
		goto out;
	n = sqlite3_column_int64(stmt, 0);
	if (n < 1024 || n > 65535) {
		r = reg_invalid(reg, "tunnel port");
		goto out;
	}
	*port = (u_int)n;
	r = 0;
 out:
	reg_release(stmt);
	return r;
}

/*
 * Give session sid a tunnel port: the one it has, or the lowest port of
 * [lo, hi] that no session still not ended holds. TUNL_ERR_FULL when
 * every port is taken, TUNL_ERR_NOT_FOUND when there is no such session.
 */
int
registry_tunnel_assign(struct registry *reg, const char *sid, u_int lo,
    u_int hi, u_int *port)
{
	sqlite3_stmt	*stmt = NULL;
	int64_t		 n;
	int		 r;

	*port = 0;
	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	if (lo < 1024 || hi > 65535 || lo > hi)
		return reg_invalid(reg, "tunnel port range");
	if ((r = reg_begin(reg)) != 0)
		return r;
	if ((r = reg_tunnel_read(reg, sid, port)) == 0)
		goto commit;
	if (r != TUNL_ERR_NOT_FOUND)
		goto fail;
	if ((r = reg_stmt(reg, SQL_TUNNEL_FREE, &stmt)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 1, lo)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, hi)) != 0)
		goto fail;
	if ((r = reg_step(reg, stmt)) < 0)
		goto fail;
	if (r == 0) {
		reg_set_err(reg, "every tunnel port is taken");
		r = TUNL_ERR_FULL;
		goto fail;
	}
	n = sqlite3_column_int64(stmt, 0);
	reg_release(stmt);
	stmt = NULL;
	if ((r = reg_stmt(reg, SQL_TUNNEL_INSERT, &stmt)) != 0 ||
	    (r = reg_bind_text(reg, stmt, 1, sid)) != 0 ||
	    (r = reg_bind_int(reg, stmt, 2, n)) != 0 ||
	    (r = reg_exec(reg, stmt)) != 0)
		goto fail;
	*port = (u_int)n;
 commit:
	if ((r = reg_commit(reg)) == 0)
		goto out;
 fail:
	*port = 0;
	reg_rollback(reg);
 out:
	reg_release(stmt);
	return r;
}

/* Session sid's tunnel port; TUNL_ERR_NOT_FOUND when it has none. */
int
registry_tunnel_port(struct registry *reg, const char *sid, u_int *port)
{
	*port = 0;
	if (!reg_check_id(sid))
		return reg_invalid(reg, "session id");
	return reg_tunnel_read(reg, sid, port);
}
