/*
 * registry-schema.c: the registry's schema as an ordered list of
 * migrations.
 *
 * Migration n (counting from 1) takes a database whose user_version is
 * n - 1 to version n. registry.c applies the missing ones in a single
 * IMMEDIATE transaction and then sets user_version. The list only ever
 * grows: a migration that has been released is never edited, because
 * databases in the field have already run it. Change the schema by
 * appending a new step and raising REGISTRY_SCHEMA_VERSION in tunl.h.
 *
 * The SQL here is fixed text; nothing from outside is ever pasted into it.
 */
#include "config.h"

#include "tunl.h"

/*
 * A text column of min to max bytes (SQLite's length() counts characters;
 * the C side's bounds count bytes), so nothing in the file can be longer
 * than the buffer that will read it.
 */
#define TEXT_BYTES(col, min, max) \
	"typeof(" #col ") = 'text' AND " \
	"length(CAST(" #col " AS BLOB)) BETWEEN " #min " AND " #max

static const char *const registry_migrations[] = {
	/* 1: sessions, tokens, rate limits, cooldowns, the event log. */
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY NOT NULL"
	"    CHECK (" TEXT_BYTES(id, 1, 35) "),"
	"  state TEXT NOT NULL"
	"    CHECK (state IN ('pending', 'active', 'ended', 'locked')),"
	"  mode TEXT NOT NULL"
	"    CHECK (mode IN ('share', 'restricted', 'tunnel')),"
	"  case_ref TEXT NOT NULL DEFAULT ''"
	"    CHECK (" TEXT_BYTES(case_ref, 0, 64) "),"
	"  customer TEXT NOT NULL DEFAULT ''"
	"    CHECK (" TEXT_BYTES(customer, 0, 64) "),"
	"  host TEXT NOT NULL DEFAULT ''"
	"    CHECK (" TEXT_BYTES(host, 0, 255) "),"
	"  engineer TEXT NOT NULL"
	"    CHECK (" TEXT_BYTES(engineer, 1, 64) "),"
	"  created INTEGER NOT NULL CHECK (typeof(created) = 'integer'),"
	"  expires INTEGER NOT NULL CHECK (typeof(expires) = 'integer'),"
	"  ended INTEGER NOT NULL DEFAULT 0 CHECK (typeof(ended) = 'integer'),"
	"  failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0)"
	");"
	"CREATE INDEX sessions_state ON sessions (state, expires);"

	/*
	 * Tokens are stored only as keyed hashes (BLAKE2b under the relay's
	 * key, token.c). A hash is unique among unconsumed tokens.
	 */
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id TEXT NOT NULL"
	"    REFERENCES sessions (id) ON DELETE CASCADE,"
	"  hash BLOB NOT NULL"
	"    CHECK (typeof(hash) = 'blob' AND length(hash) = 32),"
	"  expires INTEGER NOT NULL CHECK (typeof(expires) = 'integer'),"
	"  consumed_at INTEGER"
	");"
	"CREATE UNIQUE INDEX tokens_live_hash ON tokens (hash)"
	"  WHERE consumed_at IS NULL;"
	"CREATE INDEX tokens_session ON tokens (session_id);"

	/* One row per failed attempt, pruned once outside every window. */
	"CREATE TABLE source_failures ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL CHECK (" TEXT_BYTES(source, 1, 45) "),"
	"  at INTEGER NOT NULL CHECK (typeof(at) = 'integer')"
	");"
	"CREATE INDEX source_failures_source ON source_failures (source, at);"
	"CREATE INDEX source_failures_at ON source_failures (at);"

	"CREATE TABLE sign_cooldown ("
	"  session_id TEXT PRIMARY KEY NOT NULL"
	"    REFERENCES sessions (id) ON DELETE CASCADE,"
	"  last_signed INTEGER NOT NULL CHECK (typeof(last_signed) = 'integer')"
	");"

	/*
	 * The audit log. No foreign key: it outlives sessions and records
	 * attempts against ids that never existed. Triggers refuse any
	 * change to a row once written.
	 */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  session_id TEXT CHECK (session_id IS NULL OR"
	"    " TEXT_BYTES(session_id, 1, 35) "),"
	"  at INTEGER NOT NULL CHECK (typeof(at) = 'integer'),"
	"  actor TEXT NOT NULL CHECK (" TEXT_BYTES(actor, 1, 64) "),"
	"  action TEXT NOT NULL CHECK (" TEXT_BYTES(action, 1, 32) "),"
	"  source TEXT NOT NULL DEFAULT ''"
	"    CHECK (" TEXT_BYTES(source, 0, 45) "),"
	"  detail TEXT NOT NULL DEFAULT ''"
	"    CHECK (" TEXT_BYTES(detail, 0, 256) ")"
	");"
	"CREATE INDEX events_session ON events (session_id, id);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",

	/*
	 * 2: how many engineers each session's broker has connected, so the
	 * relay-wide cap (max_consumers_total) can be kept and `list` can
	 * show viewers. Ended sessions have none.
	 */
	"ALTER TABLE sessions ADD COLUMN viewers INTEGER NOT NULL DEFAULT 0"
	"  CHECK (typeof(viewers) = 'integer' AND viewers >= 0);",

	/*
	 * 3: how far each webhook URL has been delivered (tunl-admin
	 * notify): the id of the last event its receiver acknowledged. A
	 * URL starts at the last event that existed when it was first
	 * seen; rows of URLs taken out of the configuration stay.
	 */
	"CREATE TABLE webhook_cursors ("
	"  url TEXT PRIMARY KEY NOT NULL"
	"    CHECK (" TEXT_BYTES(url, 1, 511) "),"
	"  last_event INTEGER NOT NULL"
	"    CHECK (typeof(last_event) = 'integer' AND last_event >= 0),"
	"  updated INTEGER NOT NULL CHECK (typeof(updated) = 'integer')"
	");",

	/*
	 * 4: retention (tunl-admin prune). The log stays append-only for
	 * every event at or after events_prune.before, which is 0 except
	 * inside prune's own transaction; a missing row counts as 0, so
	 * nothing can be deleted by removing it. Updates stay refused.
	 */
	"CREATE TABLE events_prune ("
	"  one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  before INTEGER NOT NULL CHECK (typeof(before) = 'integer')"
	");"
	"INSERT INTO events_prune (one, before) VALUES (1, 0);"
	"DROP TRIGGER events_no_delete;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  WHEN OLD.at >= coalesce((SELECT before FROM events_prune"
	"    WHERE one = 1), 0)"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",

	/*
	 * 5: the tunnel upgrade's relay ports. When tunnel_port_min/max
	 * are set, each session that is not restricted gets one port of
	 * that range as it is made; the port is free again once its
	 * session has ended (a row stays until prune removes the session).
	 */
	"CREATE TABLE tunnels ("
	"  session_id TEXT PRIMARY KEY NOT NULL"
	"    REFERENCES sessions (id) ON DELETE CASCADE,"
	"  port INTEGER NOT NULL"
	"    CHECK (typeof(port) = 'integer' AND port BETWEEN 1024 AND 65535)"
	");"
	"CREATE INDEX tunnels_port ON tunnels (port);",
};

/* The list and the version the code claims must agree. */
_Static_assert(TUNL_NITEMS(registry_migrations) == REGISTRY_SCHEMA_VERSION,
    "REGISTRY_SCHEMA_VERSION must equal the number of migrations");

/*
 * The SQL that takes the schema from version - 1 to version, or NULL if
 * there is no such migration.
 */
const char *
registry_migration(int version)
{
	if (version < 1 || version > REGISTRY_SCHEMA_VERSION)
		return NULL;
	return registry_migrations[version - 1];
}
