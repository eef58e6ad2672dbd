/*
 * test-registry.c: the SQLite session registry against real database
 * files in a private temporary directory, including several processes
 * writing at once and a database locked by another connection.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "tunl.h"

#define T0		1700000000	/* a fixed "now" */
#define NCHILDREN	4
#define NROUNDS		200
#define CHILD_BUSY_MS	(10 * 60 * 1000)	/* test_concurrency */

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct registry	*reg;
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tunl-registry-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/registry.db", f->dir);
	if (registry_open(f->path, REGISTRY_CREATE, &f->reg) != 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	struct dirent	*de;
	DIR		*d;
	char		 p[512];

	registry_close(f->reg);
	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A fresh pending session with a random id. */
static void
make_session(struct session *s, int64_t now)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(id_generate(s->id, sizeof(s->id)), 0);
	assert_int_equal(id_check(s->id), 0);
	s->state = SESSION_PENDING;
	s->mode = SESSION_SHARE;
	snprintf(s->case_ref, sizeof(s->case_ref), "CASE-1234");
	snprintf(s->customer, sizeof(s->customer), "ACME Corp");
	snprintf(s->engineer, sizeof(s->engineer), "alice");
	s->created = now;
	s->expires = now + 3600;
}

static void
make_hash(u_char h[TOKEN_HASH_LEN], u_char seed)
{
	u_int	 i;

	for (i = 0; i < TOKEN_HASH_LEN; i++)
		h[i] = (u_char)(seed * 31 + i);
}

static sqlite3 *
raw_open(const char *path)
{
	sqlite3	*db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static int64_t
raw_count(const char *path, const char *sql)
{
	sqlite3		*db = raw_open(path);
	sqlite3_stmt	*stmt;
	int64_t		 n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static int
count_sessions_cb(const struct session *s, void *arg)
{
	(*(u_int *)arg)++;
	return 0;
}

static int
stop_cb(const struct session *s, void *arg)
{
	return 7;
}

struct event_tally {
	u_int	 total;
	u_int	 with_action;
	char	 action[EVENT_ACTION_LEN];
	struct registry_event last;
};

static int
tally_cb(const struct registry_event *ev, void *arg)
{
	struct event_tally	*t = arg;

	t->total++;
	if (strcmp(ev->action, t->action) == 0)
		t->with_action++;
	t->last = *ev;
	return 0;
}

static u_int
count_events(struct registry *reg, const char *sid, const char *action)
{
	struct event_tally	 t;

	memset(&t, 0, sizeof(t));
	snprintf(t.action, sizeof(t.action), "%s", action);
	assert_int_equal(registry_event_list(reg, sid, tally_cb, &t), 0);
	return t.with_action;
}

static void
test_names(void **state)
{
	enum session_state	 st;
	enum session_mode	 m;
	u_int			 i;

	(void)state;
	for (i = 0; i < SESSION_NSTATES; i++) {
		assert_int_equal(session_state_parse(session_state_name(i),
		    &st), 0);
		assert_int_equal(st, i);
	}
	for (i = 0; i < SESSION_NMODES; i++) {
		assert_int_equal(session_mode_parse(session_mode_name(i),
		    &m), 0);
		assert_int_equal(m, i);
	}
	assert_string_equal(session_state_name(SESSION_LOCKED), "locked");
	assert_string_equal(session_mode_name(SESSION_RESTRICTED),
	    "restricted");
	assert_null(session_state_name((enum session_state)4));
	assert_null(session_mode_name((enum session_mode)3));
	assert_int_equal(session_state_parse("Pending", &st),
	    TUNL_ERR_INVALID);
	assert_int_equal(session_state_parse("", &st), TUNL_ERR_INVALID);
	assert_int_equal(session_state_parse(NULL, &st), TUNL_ERR_INVALID);
	assert_int_equal(session_mode_parse("share ", &m), TUNL_ERR_INVALID);
}

static void
test_create_get_list(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, c, got;
	u_char		 h[TOKEN_HASH_LEN];
	u_int		 n, counts[SESSION_NSTATES];

	make_session(&a, T0);
	make_session(&b, T0 + 1);
	make_session(&c, T0 + 2);
	/* Hostile-looking text is stored as data, never run as SQL. */
	snprintf(a.customer, sizeof(a.customer),
	    "x'); DROP TABLE sessions; --");
	snprintf(a.host, sizeof(a.host), "db-01.example.com");
	snprintf(b.customer, sizeof(b.customer), "M\xc3\xbcller GmbH");
	b.mode = SESSION_RESTRICTED;
	make_hash(h, 1);
	assert_int_equal(registry_session_create(f->reg, &a, h, T0 + 600), 0);
	assert_int_equal(registry_session_create(f->reg, &b, NULL, 0), 0);
	assert_int_equal(registry_session_create(f->reg, &c, NULL, 0), 0);

	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_string_equal(got.id, a.id);
	assert_int_equal(got.state, SESSION_PENDING);
	assert_int_equal(got.mode, SESSION_SHARE);
	assert_string_equal(got.case_ref, "CASE-1234");
	assert_string_equal(got.customer, "x'); DROP TABLE sessions; --");
	assert_string_equal(got.host, "db-01.example.com");
	assert_string_equal(got.engineer, "alice");
	assert_int_equal(got.created, T0);
	assert_int_equal(got.expires, T0 + 3600);
	assert_int_equal(got.ended, 0);
	assert_int_equal(got.failures, 0);
	assert_int_equal(registry_session_get(f->reg, b.id, &got), 0);
	assert_int_equal(got.mode, SESSION_RESTRICTED);
	assert_string_equal(got.customer, "M\xc3\xbcller GmbH");

	assert_int_equal(registry_session_set_state(f->reg, c.id,
	    SESSION_ENDED, "alice", "done", T0 + 10), 0);
	n = 0;
	assert_int_equal(registry_session_list(f->reg, 0, count_sessions_cb,
	    &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(registry_session_list(f->reg, 1, count_sessions_cb,
	    &n), 0);
	assert_int_equal(n, 3);
	/* A callback's non-zero return stops the walk and comes back. */
	assert_int_equal(registry_session_list(f->reg, 1, stop_cb, NULL), 7);

	assert_int_equal(registry_count_by_state(f->reg, counts), 0);
	assert_int_equal(counts[SESSION_PENDING], 2);
	assert_int_equal(counts[SESSION_ACTIVE], 0);
	assert_int_equal(counts[SESSION_ENDED], 1);
	assert_int_equal(counts[SESSION_LOCKED], 0);

	/* A well-formed id that was never created. */
	make_session(&got, T0);
	snprintf(c.id, sizeof(c.id), "%s", got.id);
	assert_int_equal(registry_session_get(f->reg, c.id, &got),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(count_events(f->reg, a.id, "created"), 1);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM sessions"), 3);
}

static void
test_duplicate(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, got;
	u_char		 h[TOKEN_HASH_LEN];

	make_session(&a, T0);
	make_session(&b, T0);
	make_hash(h, 2);
	assert_int_equal(registry_session_create(f->reg, &a, h, T0 + 600), 0);
	/* The same id again, with or without a token. */
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0),
	    TUNL_ERR_EXISTS);
	make_hash(h, 3);
	assert_int_equal(registry_session_create(f->reg, &a, h, T0 + 600),
	    TUNL_ERR_EXISTS);
	/* A new id with a live token's hash: nothing of it is kept. */
	make_hash(h, 2);
	assert_int_equal(registry_session_create(f->reg, &b, h, T0 + 600),
	    TUNL_ERR_EXISTS);
	assert_int_equal(registry_session_get(f->reg, b.id, &got),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM sessions"), 1);
	/* Once consumed, the hash is no longer among the live ones. */
	assert_int_equal(registry_token_consume(f->reg, a.id, NULL, T0 + 1), 0);
	assert_int_equal(registry_session_create(f->reg, &b, h, T0 + 600), 0);
}

/*
 * Bad arguments are refused before any SQL runs: another connection holds
 * the write lock and the busy timeout is zero, so anything that touched
 * the database would come back TUNL_ERR_BUSY instead.
 */
static void
test_invalid_before_sql(void **state)
{
	struct fixture	*f = *state;
	struct session	 s, bad;
	sqlite3		*db;
	u_char		 h[TOKEN_HASH_LEN];
	char		 longid[128], sid[ID_LEN_MAX];
	int		 locked, r;
	u_int		 i;
	const char	*bad_ids[] = {
		"", "amber", "a-b-c-d", "x'); DROP TABLE sessions;--",
		"amber falcon river seven", "../../etc/passwd", NULL,
	};
	const char	*bad_text[] = {
		"line\nbreak", "esc\x1b[31m", "tab\there", "del\x7f",
		"c1\xc2\x9b", "bad\xff", "overlong\xc0\xaf", "bidi\xe2\x80\xae",
		"trunc\xe2\x80", "surrogate\xed\xa0\x80",
	};
	const char	*bad_sources[] = {
		"", "1.2.3", "1.2.3.4.5", "example.com", "::1%lo",
		"10.0.0.1 ", "LOCAL", "10.0.0.1\n",
	};

	make_session(&s, T0);
	make_hash(h, 4);
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(registry_set_busy_timeout(f->reg, 0), 0);
	/* The lock is real: a valid write is turned away. */
	assert_int_equal(registry_session_create(f->reg, &s, h, T0 + 60),
	    TUNL_ERR_BUSY);

	for (i = 0; i < TUNL_NITEMS(bad_ids); i++) {
		bad = s;
		if (bad_ids[i] != NULL) {
			snprintf(bad.id, sizeof(bad.id), "%s", bad_ids[i]);
			assert_int_equal(registry_session_create(f->reg, &bad,
			    h, T0 + 60), TUNL_ERR_INVALID);
		}
		assert_int_equal(registry_session_get(f->reg, bad_ids[i],
		    &bad), TUNL_ERR_INVALID);
		assert_int_equal(registry_session_set_state(f->reg,
		    bad_ids[i], SESSION_ENDED, "alice", NULL, T0),
		    TUNL_ERR_INVALID);
		assert_int_equal(registry_token_consume(f->reg, bad_ids[i],
		    NULL, T0), TUNL_ERR_INVALID);
		assert_int_equal(registry_sign_cooldown(f->reg, bad_ids[i],
		    30, T0), TUNL_ERR_INVALID);
		if (bad_ids[i] != NULL) {
			assert_int_equal(registry_failure_record(f->reg,
			    bad_ids[i], "10.0.0.1", T0, 5, &locked),
			    TUNL_ERR_INVALID);
			assert_int_equal(registry_event_add(f->reg,
			    bad_ids[i], "alice", "note", NULL, NULL, T0),
			    TUNL_ERR_INVALID);
			assert_int_equal(registry_event_list(f->reg,
			    bad_ids[i], tally_cb, NULL), TUNL_ERR_INVALID);
		}
	}
	/* An id longer than any id: not even read past its bound. */
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(registry_session_get(f->reg, longid, &bad),
	    TUNL_ERR_INVALID);
	/* A valid id with a trailing newline. */
	snprintf(longid, sizeof(longid), "%s\n", s.id);
	assert_int_equal(registry_session_get(f->reg, longid, &bad),
	    TUNL_ERR_INVALID);

	for (i = 0; i < TUNL_NITEMS(bad_text); i++) {
		bad = s;
		snprintf(bad.customer, sizeof(bad.customer), "%s",
		    bad_text[i]);
		assert_int_equal(registry_session_create(f->reg, &bad, h,
		    T0 + 60), TUNL_ERR_INVALID);
		bad = s;
		snprintf(bad.case_ref, sizeof(bad.case_ref), "%s",
		    bad_text[i]);
		assert_int_equal(registry_session_create(f->reg, &bad, h,
		    T0 + 60), TUNL_ERR_INVALID);
		bad = s;
		snprintf(bad.host, sizeof(bad.host), "%s", bad_text[i]);
		assert_int_equal(registry_session_create(f->reg, &bad, h,
		    T0 + 60), TUNL_ERR_INVALID);
		assert_int_equal(registry_event_add(f->reg, s.id,
		    bad_text[i], "note", NULL, NULL, T0), TUNL_ERR_INVALID);
		assert_int_equal(registry_event_add(f->reg, s.id, "alice",
		    "note", NULL, bad_text[i], T0), TUNL_ERR_INVALID);
		assert_int_equal(registry_session_set_state(f->reg, s.id,
		    SESSION_ENDED, bad_text[i], NULL, T0), TUNL_ERR_INVALID);
	}
	/* Fields that fill their whole array have no room for the NUL. */
	bad = s;
	memset(bad.customer, 'a', sizeof(bad.customer));
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	memset(bad.host, 'h', sizeof(bad.host));
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.engineer[0] = '\0';
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.state = (enum session_state)9;
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.mode = (enum session_mode)-1;
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.expires = bad.created - 1;
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.created = -1;
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	bad = s;
	bad.ended = T0;		/* pending but already ended */
	assert_int_equal(registry_session_create(f->reg, &bad, h, T0 + 60),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_session_create(f->reg, &s, h, -5),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_session_create(f->reg, NULL, h, T0),
	    TUNL_ERR_INVALID);

	for (i = 0; i < TUNL_NITEMS(bad_sources); i++) {
		assert_int_equal(registry_failure_record(f->reg, NULL,
		    bad_sources[i], T0, 5, &locked), TUNL_ERR_INVALID);
		assert_int_equal(registry_source_allowed(f->reg,
		    bad_sources[i], 5, 60, T0), TUNL_ERR_INVALID);
		assert_int_equal(registry_event_add(f->reg, NULL, "alice",
		    "note", bad_sources[i], NULL, T0), TUNL_ERR_INVALID);
	}
	assert_int_equal(registry_failure_record(f->reg, NULL, NULL, T0, 5,
	    &locked), TUNL_ERR_INVALID);
	assert_int_equal(registry_failure_record(f->reg, NULL, "10.0.0.1",
	    T0, 0, &locked), TUNL_ERR_INVALID);
	assert_int_equal(registry_failure_record(f->reg, NULL, "10.0.0.1",
	    -1, 5, &locked), TUNL_ERR_INVALID);
	assert_int_equal(registry_sign_cooldown(f->reg, s.id, 30, -1),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_token_consume(f->reg, s.id, NULL, -1),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 0, 60,
	    T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 5, 0,
	    T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 5, 60,
	    -1), TUNL_ERR_INVALID);
	assert_int_equal(registry_event_add(f->reg, NULL, "alice",
	    "Bad Action", NULL, NULL, T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_event_add(f->reg, NULL, "alice",
	    "", NULL, NULL, T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_event_add(f->reg, NULL, "alice",
	    "a-much-too-long-action-name-for-the-log", NULL, NULL, T0),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_event_add(f->reg, NULL, "",
	    "note", NULL, NULL, T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_session_set_state(f->reg, s.id,
	    (enum session_state)7, "alice", NULL, T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_token_lookup(f->reg, NULL, T0, sid),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_session_expire(f->reg, -1),
	    TUNL_ERR_INVALID);
	assert_string_not_equal(registry_errmsg(f->reg), "");

	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	/* Nothing at all was written. */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sessions"),
	    0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events"),
	    0);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM source_failures"), 0);
	r = registry_session_create(f->reg, &s, h, T0 + 60);
	assert_int_equal(r, 0);
}

static void
test_token(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, c;
	u_char		 ha[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN];
	u_char		 hc[TOKEN_HASH_LEN], hx[TOKEN_HASH_LEN];
	char		 sid[ID_LEN_MAX];

	make_session(&a, T0);
	make_session(&b, T0);
	make_session(&c, T0);
	make_hash(ha, 10);
	make_hash(hb, 11);
	make_hash(hc, 12);
	make_hash(hx, 13);
	assert_int_equal(registry_session_create(f->reg, &a, ha, T0 + 600), 0);
	assert_int_equal(registry_session_create(f->reg, &b, hb, T0 + 10), 0);
	assert_int_equal(registry_session_create(f->reg, &c, hc, T0 + 600), 0);

	assert_int_equal(registry_token_lookup(f->reg, ha, T0 + 1, sid), 0);
	assert_string_equal(sid, a.id);
	assert_int_equal(registry_token_lookup(f->reg, hx, T0 + 1, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_string_equal(sid, "");
	/* One bit off is another token. */
	ha[TOKEN_HASH_LEN - 1] ^= 1;
	assert_int_equal(registry_token_lookup(f->reg, ha, T0 + 1, sid),
	    TUNL_ERR_NOT_FOUND);
	ha[TOKEN_HASH_LEN - 1] ^= 1;

	/* Single use. */
	assert_int_equal(registry_token_consume(f->reg, a.id, NULL, T0 + 2), 0);
	assert_int_equal(registry_token_lookup(f->reg, ha, T0 + 3, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_consume(f->reg, a.id, NULL, T0 + 3),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(count_events(f->reg, a.id, "token-consumed"), 1);

	/* Expiry: live until the second before, refused from then on. */
	assert_int_equal(registry_token_lookup(f->reg, hb, T0 + 9, sid), 0);
	assert_string_equal(sid, b.id);
	assert_int_equal(registry_token_lookup(f->reg, hb, T0 + 10, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_consume(f->reg, b.id, NULL, T0 + 10),
	    TUNL_ERR_NOT_FOUND);
	/* The session's own expiry counts too. */
	assert_int_equal(registry_token_lookup(f->reg, hc, T0 + 3600, sid),
	    TUNL_ERR_NOT_FOUND);

	/* A locked or ended session's token is dead. */
	assert_int_equal(registry_session_set_state(f->reg, c.id,
	    SESSION_LOCKED, "admin", NULL, T0 + 4), 0);
	assert_int_equal(registry_token_lookup(f->reg, hc, T0 + 5, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_consume(f->reg, c.id, NULL, T0 + 5),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_session_set_state(f->reg, c.id,
	    SESSION_PENDING, "admin", "unlock", T0 + 6), 0);
	assert_int_equal(registry_token_lookup(f->reg, hc, T0 + 7, sid), 0);
	assert_int_equal(registry_session_set_state(f->reg, c.id,
	    SESSION_ENDED, "admin", NULL, T0 + 8), 0);
	assert_int_equal(registry_token_lookup(f->reg, hc, T0 + 9, sid),
	    TUNL_ERR_NOT_FOUND);

	/* A session created without a token has none to consume. */
	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_token_consume(f->reg, a.id, NULL, T0 + 1),
	    TUNL_ERR_NOT_FOUND);
	/* Only the hash is stored. */
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM tokens WHERE length(hash) != 32"), 0);
}

static void
test_failure_cap(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, other, got;
	u_char		 h[TOKEN_HASH_LEN];
	char		 sid[ID_LEN_MAX];
	int		 locked;

	make_session(&a, T0);
	make_hash(h, 20);
	assert_int_equal(registry_session_create(f->reg, &a, h, T0 + 600), 0);

	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.1",
	    T0 + 1, 3, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.2",
	    T0 + 2, 3, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_PENDING);
	assert_int_equal(got.failures, 2);
	assert_int_equal(registry_token_lookup(f->reg, h, T0 + 2, sid), 0);

	/* The third failure reaches the cap of 3: locked now, not later. */
	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.3",
	    T0 + 3, 3, &locked), 0);
	assert_int_equal(locked, 1);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_LOCKED);
	assert_int_equal(got.failures, 3);
	assert_int_equal(registry_token_lookup(f->reg, h, T0 + 4, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(count_events(f->reg, a.id, "locked"), 1);
	assert_int_equal(count_events(f->reg, a.id, "auth-failure"), 3);
	/* Still locked on further failures, and locked only once. */
	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.3",
	    T0 + 4, 3, &locked), 0);
	assert_int_equal(locked, 1);
	assert_int_equal(count_events(f->reg, a.id, "locked"), 1);

	/* Unlocking clears the count. */
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_PENDING, "admin", NULL, T0 + 5), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.failures, 0);
	assert_int_equal(count_events(f->reg, a.id, "unlocked"), 1);
	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.3",
	    T0 + 6, 3, &locked), 0);
	assert_int_equal(locked, 0);

	/* A well-formed but unknown id, or none: only the source counts. */
	make_session(&other, T0);
	assert_int_equal(registry_failure_record(f->reg, other.id,
	    "192.0.2.9", T0 + 7, 1, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(registry_failure_record(f->reg, NULL, "192.0.2.9",
	    T0 + 8, 1, NULL), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM "
	    "source_failures WHERE source = '192.0.2.9'"), 2);
	/* An ended session is never locked. */
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ENDED, "admin", NULL, T0 + 9), 0);
	assert_int_equal(registry_failure_record(f->reg, a.id, "192.0.2.3",
	    T0 + 10, 1, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_ENDED);
}

static void
test_source_rate(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(registry_failure_record(f->reg, NULL, "10.0.0.1",
	    100, 5, NULL), 0);
	assert_int_equal(registry_failure_record(f->reg, NULL, "10.0.0.1",
	    110, 5, NULL), 0);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 3, 60,
	    115), 0);
	assert_int_equal(registry_failure_record(f->reg, NULL, "10.0.0.1",
	    120, 5, NULL), 0);
	/* Three failures in the window: at the limit of 3, refused. */
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 3, 60,
	    121), TUNL_ERR_RATE);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 4, 60,
	    121), 0);
	/* The same address written another way is the same source. */
	assert_int_equal(registry_source_allowed(f->reg, "::ffff:10.0.0.1",
	    3, 60, 121), TUNL_ERR_RATE);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.2", 3, 60,
	    121), 0);
	assert_int_equal(registry_source_allowed(f->reg, "local", 3, 60,
	    121), 0);
	/* At 160 the window is (100, 160]: the first failure falls out. */
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 3, 60,
	    160), 0);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM source_failures"), 2);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 2, 60,
	    160), TUNL_ERR_RATE);
	assert_int_equal(registry_source_allowed(f->reg, "10.0.0.1", 1, 60,
	    200), 0);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM source_failures"), 0);

	/* IPv6: one counter for every spelling of an address. */
	assert_int_equal(registry_failure_record(f->reg, NULL,
	    "2001:db8::1", 300, 5, NULL), 0);
	assert_int_equal(registry_failure_record(f->reg, NULL,
	    "2001:0DB8:0:0::0001", 301, 5, NULL), 0);
	assert_int_equal(registry_source_allowed(f->reg, "2001:db8:0::1", 2,
	    60, 302), TUNL_ERR_RATE);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM "
	    "source_failures WHERE source = '2001:db8::/64'"), 2);

	/*
	 * IPv6 counts by /64: another address in the same /64 is the same
	 * source, the next /64 is another one.
	 */
	assert_int_equal(registry_source_allowed(f->reg,
	    "2001:db8::ffff:ffff:ffff:ffff", 2, 60, 303), TUNL_ERR_RATE);
	assert_int_equal(registry_failure_record(f->reg, NULL,
	    "2001:db8::abcd", 304, 5, NULL), 0);
	assert_int_equal(registry_source_allowed(f->reg, "2001:db8::1", 3,
	    60, 305), TUNL_ERR_RATE);
	assert_int_equal(registry_source_allowed(f->reg, "2001:db8:0:1::1", 1,
	    60, 305), 0);
	assert_int_equal(registry_source_allowed(f->reg, "2001:db9::1", 1,
	    60, 305), 0);
	/* IPv4, mapped or not, stays one address. */
	assert_int_equal(registry_failure_record(f->reg, NULL,
	    "::ffff:198.51.100.7", 306, 5, NULL), 0);
	assert_int_equal(registry_source_allowed(f->reg, "198.51.100.7", 1,
	    60, 307), TUNL_ERR_RATE);
	assert_int_equal(registry_source_allowed(f->reg, "198.51.100.8", 1,
	    60, 307), 0);
}

static void
test_source_limit_key(void **state)
{
	char	 key[EVENT_SOURCE_LEN];

	(void)state;
	assert_int_equal(source_limit_key("2001:db8:1:2:3:4:5:6", key), 0);
	assert_string_equal(key, "2001:db8:1:2::/64");
	assert_int_equal(source_limit_key("2001:db8:1:2::", key), 0);
	assert_string_equal(key, "2001:db8:1:2::/64");
	assert_int_equal(source_limit_key("::1", key), 0);
	assert_string_equal(key, "::/64");
	assert_int_equal(source_limit_key(
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", key), 0);
	assert_string_equal(key, "ffff:ffff:ffff:ffff::/64");
	assert_int_equal(source_limit_key("192.0.2.1", key), 0);
	assert_string_equal(key, "192.0.2.1");
	assert_int_equal(source_limit_key("local", key), 0);
	assert_string_equal(key, "local");
	assert_int_equal(source_limit_key("2001:db8::zz", key),
	    TUNL_ERR_INVALID);
	assert_int_equal(source_limit_key("::ffff:192.0.2.1", key),
	    TUNL_ERR_INVALID);
}

static void
test_sign_cooldown(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b;

	make_session(&a, T0);
	make_session(&b, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 30, 1000), 0);
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 30, 1029),
	    TUNL_ERR_RATE);
	/* A refused attempt does not restart the cooldown. */
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 30, 1030), 0);
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 30, 1031),
	    TUNL_ERR_RATE);
	/* A clock that went back is inside the cooldown. */
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 30, 900),
	    TUNL_ERR_RATE);
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 0, 1031), 0);
	/* Unknown session. */
	assert_int_equal(registry_sign_cooldown(f->reg, b.id, 30, 1000),
	    TUNL_ERR_NOT_FOUND);
}

static void
test_transitions(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, c, got;
	u_int		 counts[SESSION_NSTATES];

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_PENDING, "alice", NULL, T0), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "customer", NULL, T0 + 1), 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_PENDING, "alice", NULL, T0 + 2), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "alice", NULL, T0 + 2), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_LOCKED, "admin", "suspicious", T0 + 3), 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_LOCKED, "admin", NULL, T0 + 3), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "admin", NULL, T0 + 4), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_ACTIVE);
	assert_int_equal(got.ended, 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ENDED, "alice", "case closed", T0 + 5), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_ENDED);
	assert_int_equal(got.ended, T0 + 5);
	/* Ended is final. */
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "alice", NULL, T0 + 6), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_LOCKED, "alice", NULL, T0 + 6), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_PENDING, "alice", NULL, T0 + 6), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ENDED, "alice", NULL, T0 + 6), TUNL_ERR_STATE);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.ended, T0 + 5);
	assert_int_equal(count_events(f->reg, a.id, "activated"), 1);
	assert_int_equal(count_events(f->reg, a.id, "locked"), 1);
	assert_int_equal(count_events(f->reg, a.id, "unlocked"), 1);
	assert_int_equal(count_events(f->reg, a.id, "ended"), 1);

	/* Unknown session. */
	make_session(&b, T0);
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_ENDED, "alice", NULL, T0), TUNL_ERR_NOT_FOUND);

	/* Expiry ends pending and active sessions whose time has come. */
	make_session(&b, T0);
	b.expires = T0 + 100;
	make_session(&c, T0);
	c.expires = T0 + 200;
	assert_int_equal(registry_session_create(f->reg, &b, NULL, 0), 0);
	assert_int_equal(registry_session_create(f->reg, &c, NULL, 0), 0);
	assert_int_equal(registry_session_set_state(f->reg, c.id,
	    SESSION_ACTIVE, "customer", NULL, T0 + 1), 0);
	assert_int_equal(registry_session_expire(f->reg, T0 + 99), 0);
	assert_int_equal(registry_session_expire(f->reg, T0 + 100), 1);
	assert_int_equal(registry_session_expire(f->reg, T0 + 100), 0);
	assert_int_equal(registry_session_get(f->reg, b.id, &got), 0);
	assert_int_equal(got.state, SESSION_ENDED);
	assert_int_equal(got.ended, T0 + 100);
	assert_int_equal(registry_session_expire(f->reg, T0 + 500), 1);
	assert_int_equal(registry_session_get(f->reg, c.id, &got), 0);
	assert_int_equal(got.state, SESSION_ENDED);
	assert_int_equal(count_events(f->reg, b.id, "expired"), 1);
	assert_int_equal(count_events(f->reg, c.id, "expired"), 1);
	/* The ended session's end time is not rewritten. */
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.ended, T0 + 5);
	assert_int_equal(registry_count_by_state(f->reg, counts), 0);
	assert_int_equal(counts[SESSION_ENDED], 3);
	assert_int_equal(counts[SESSION_PENDING] + counts[SESSION_ACTIVE] +
	    counts[SESSION_LOCKED], 0);
}

/* Restricting is one way, once, for live sessions only. */
static void
test_restrict(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, got;

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_session_restrict(f->reg, a.id, "customer",
	    T0 + 1), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.mode, SESSION_RESTRICTED);
	assert_int_equal(got.state, SESSION_PENDING);
	assert_int_equal(count_events(f->reg, a.id, "mode-restricted"), 1);
	/* Again: no change, no second event. */
	assert_int_equal(registry_session_restrict(f->reg, a.id, "customer",
	    T0 + 2), 0);
	assert_int_equal(count_events(f->reg, a.id, "mode-restricted"), 1);
	/* Becoming active, being unlocked: still restricted. */
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "customer", NULL, T0 + 3), 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_LOCKED, "pam", NULL, T0 + 4), 0);
	assert_int_equal(registry_session_restrict(f->reg, a.id, "customer",
	    T0 + 5), TUNL_ERR_STATE);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "alice", NULL, T0 + 6), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.mode, SESSION_RESTRICTED);

	/* An ended session keeps its mode; unknown and bad ids refused. */
	make_session(&b, T0);
	assert_int_equal(registry_session_create(f->reg, &b, NULL, 0), 0);
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_ENDED, "alice", NULL, T0 + 1), 0);
	assert_int_equal(registry_session_restrict(f->reg, b.id, "customer",
	    T0 + 2), TUNL_ERR_STATE);
	assert_int_equal(registry_session_get(f->reg, b.id, &got), 0);
	assert_int_equal(got.mode, SESSION_SHARE);
	assert_int_equal(count_events(f->reg, b.id, "mode-restricted"), 0);
	make_session(&b, T0);
	assert_int_equal(registry_session_restrict(f->reg, b.id, "customer",
	    T0), TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_session_restrict(f->reg, "x'; DROP", "c",
	    T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_session_restrict(f->reg, a.id, "", T0),
	    TUNL_ERR_INVALID);
}

static void
test_events(void **state)
{
	struct fixture		*f = *state;
	struct session		 a;
	struct event_tally	 t;
	sqlite3			*db;

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_event_add(f->reg, a.id, "bob", "joined",
	    "::ffff:192.0.2.7", "read-only", T0 + 1), 0);
	assert_int_equal(registry_event_add(f->reg, NULL, "pam", "auth-failure",
	    "2001:db8::2", NULL, T0 + 2), 0);
	assert_int_equal(registry_event_add(f->reg, a.id, "bob", "left",
	    NULL, NULL, T0 + 3), 0);

	memset(&t, 0, sizeof(t));
	snprintf(t.action, sizeof(t.action), "joined");
	assert_int_equal(registry_event_list(f->reg, a.id, tally_cb, &t), 0);
	assert_int_equal(t.total, 3);		/* created, joined, left */
	assert_int_equal(t.with_action, 1);
	assert_string_equal(t.last.action, "left");
	assert_string_equal(t.last.source, "");
	memset(&t, 0, sizeof(t));
	snprintf(t.action, sizeof(t.action), "auth-failure");
	assert_int_equal(registry_event_list(f->reg, NULL, tally_cb, &t), 0);
	assert_int_equal(t.total, 4);
	assert_int_equal(t.with_action, 1);
	assert_string_equal(t.last.session_id, a.id);
	assert_int_equal(t.last.at, T0 + 3);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events "
	    "WHERE source = '192.0.2.7' AND detail = 'read-only'"), 1);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events "
	    "WHERE session_id IS NULL AND source = '2001:db8::2'"), 1);

	/* The log is append-only even for a raw connection. */
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET actor = 'eve'",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events WHERE id = 1",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(db);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events"), 4);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM events WHERE actor = 'eve'"), 0);
}

static void
test_migrations(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	struct session	 a, got;
	struct stat	 st;
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	char		 path[160], sql[64];
	int		 v;

	assert_int_equal(registry_schema_version(f->reg, &v), 0);
	assert_int_equal(v, REGISTRY_SCHEMA_VERSION);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	db = raw_open(f->path);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
	    &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	sqlite3_close(db);

	/* Reopening migrates nothing and keeps the data. */
	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_open(f->path, REGISTRY_CREATE, &reg), 0);
	assert_int_equal(registry_schema_version(reg, &v), 0);
	assert_int_equal(v, REGISTRY_SCHEMA_VERSION);
	assert_int_equal(registry_session_get(reg, a.id, &got), 0);
	registry_close(reg);
	assert_int_equal(registry_open(f->path, 0, &reg), 0);
	registry_close(reg);

	/* Read-only: reads work, writes do not. */
	assert_int_equal(registry_open(f->path, REGISTRY_READONLY, &reg), 0);
	assert_int_equal(registry_session_get(reg, a.id, &got), 0);
	assert_int_equal(registry_event_add(reg, a.id, "alice", "note", NULL,
	    NULL, T0), TUNL_ERR_DB);
	registry_close(reg);
	assert_int_equal(registry_open(f->path,
	    REGISTRY_READONLY | REGISTRY_CREATE, &reg), TUNL_ERR_INVALID);
	assert_null(reg);

	/* A missing file is not created without REGISTRY_CREATE. */
	snprintf(path, sizeof(path), "%s/missing.db", f->dir);
	assert_int_equal(registry_open(path, 0, &reg), TUNL_ERR_NOT_FOUND);
	assert_null(reg);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(registry_open("relative.db", REGISTRY_CREATE, &reg),
	    TUNL_ERR_INVALID);

	/* An unmigrated database cannot be opened read-only. */
	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE x (y)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(registry_open(path, REGISTRY_READONLY, &reg),
	    TUNL_ERR_VERSION);

	/* A database from a newer program is refused, not downgraded. */
	db = raw_open(f->path);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    REGISTRY_SCHEMA_VERSION + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(registry_open(f->path, 0, &reg), TUNL_ERR_VERSION);
	assert_null(reg);
	assert_non_null(strstr(registry_errmsg(NULL), "version"));
	assert_int_equal(registry_open(f->path, REGISTRY_READONLY, &reg),
	    TUNL_ERR_VERSION);
	assert_int_equal(raw_count(f->path, "PRAGMA user_version"),
	    REGISTRY_SCHEMA_VERSION + 1);
}

static void
test_symlink(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	char		 link[160], target[160], dir[160];

	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(registry_open(link, 0, &reg), TUNL_ERR_UNSAFE);
	assert_null(reg);
	assert_int_equal(registry_open(link, REGISTRY_CREATE, &reg),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(registry_open(link, REGISTRY_READONLY, &reg),
	    TUNL_ERR_UNSAFE);
	/* A dangling link is not followed to create its target. */
	snprintf(link, sizeof(link), "%s/dangling.db", f->dir);
	snprintf(target, sizeof(target), "%s/target.db", f->dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(registry_open(link, REGISTRY_CREATE, &reg),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(access(target, F_OK), -1);
	/* Nor is a directory a database. */
	snprintf(dir, sizeof(dir), "%s/adir", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(registry_open(dir, 0, &reg), TUNL_ERR_UNSAFE);
	rmdir(dir);
	/* World-writable: refused. */
	assert_int_equal(chmod(f->path, 0646), 0);
	assert_int_equal(registry_open(f->path, 0, &reg), TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(f->path, 0640), 0);
}

static int
raw_exec(const char *path, const char *sql)
{
	sqlite3	*db = raw_open(path);
	int	 rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/*
 * The file is not trusted blindly: the schema refuses values longer than
 * the C buffers (in bytes, not characters), and the reader refuses what
 * got past it anyway instead of overflowing or cutting it.
 */
static void
test_hostile_file(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, got;
	u_int		 n;
	char		 sql[512];

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	/* 40 two-byte characters: 80 bytes, over the 64-byte bound. */
	snprintf(sql, sizeof(sql), "UPDATE sessions SET customer = "
	    "replace(hex(zeroblob(40)), '00', '\xc3\xa9') WHERE id = '%s'",
	    a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_CONSTRAINT);
	snprintf(sql, sizeof(sql), "UPDATE sessions SET host = X'6162' "
	    "WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_CONSTRAINT);
	snprintf(sql, sizeof(sql), "UPDATE sessions SET state = 'gone' "
	    "WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_CONSTRAINT);
	assert_int_equal(raw_exec(f->path, "INSERT INTO tokens (session_id, "
	    "hash, expires) VALUES ('x', X'00', 1)"), SQLITE_CONSTRAINT);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_string_equal(got.customer, a.customer);

	/* With the checks switched off, the reader still holds the line. */
	snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE sessions SET customer = "
	    "replace(hex(zeroblob(40)), '00', '\xc3\xa9') WHERE id = '%s'",
	    a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(registry_session_get(f->reg, a.id, &got),
	    TUNL_ERR_DB);
	n = 0;
	assert_int_equal(registry_session_list(f->reg, 1, count_sessions_cb,
	    &n), TUNL_ERR_DB);
	assert_int_equal(n, 0);
	snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE sessions SET customer = CAST(X'610062' AS TEXT) "
	    "WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(registry_session_get(f->reg, a.id, &got),
	    TUNL_ERR_DB);
	snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE sessions SET customer = X'6162' WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(registry_session_get(f->reg, a.id, &got),
	    TUNL_ERR_DB);
	snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE sessions SET customer = 'ok', mode = 'root' "
	    "WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(registry_session_get(f->reg, a.id, &got),
	    TUNL_ERR_DB);
	assert_string_not_equal(registry_errmsg(f->reg), "");
	snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE sessions SET mode = 'share' WHERE id = '%s'", a.id);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_string_equal(got.customer, "ok");

	/* The same for events. */
	assert_int_equal(raw_exec(f->path, "PRAGMA ignore_check_constraints "
	    "= ON; INSERT INTO events (at, actor, action) VALUES (1, "
	    "replace(hex(zeroblob(100)), '00', 'x'), 'note')"), SQLITE_OK);
	assert_int_equal(registry_event_list(f->reg, NULL, tally_cb,
	    &(struct event_tally){ .total = 0 }), TUNL_ERR_DB);
}

/*
 * The -wal and -shm files outlive the last writer, so that a reader that
 * may not create files in the directory (the principals command) can
 * still open the database read-only.
 */
static void
test_persist_wal(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	struct session	 a, got;
	struct stat	 st;
	char		 p[160];

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	registry_close(f->reg);
	f->reg = NULL;
	snprintf(p, sizeof(p), "%s-wal", f->path);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(registry_open(f->path, REGISTRY_READONLY, &reg), 0);
	assert_int_equal(registry_session_get(reg, a.id, &got), 0);
	registry_close(reg);
}

/* No half-made side file is left under a temporary name in dir. */
static int
side_temps(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, "-wal.") != NULL ||
		    strstr(de->d_name, "-shm.") != NULL)
			n++;
	closedir(d);
	return n;
}

/*
 * The -wal and -shm files, when something removed them, are made again
 * at the database's mode whatever the opener's umask, and as root with
 * the database's owner, with nothing left under a temporary name; the
 * owner, not in the group, then opens and writes once the group member's
 * files are widened as tunl-authority widens them.
 */
static void
test_side_files(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	struct session	 a;
	struct stat	 st;
	char		 wal[160], shm[160];
	pid_t		 pid;
	int		 status;
	const uid_t	 owner = 64991, other = 64992;
	const gid_t	 group = 64993;

	if (geteuid() != 0)
		skip();
	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	registry_close(f->reg);
	f->reg = NULL;
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	snprintf(shm, sizeof(shm), "%s-shm", f->path);

	/* As root, for a database of another owner. */
	assert_int_equal(chown(f->path, owner, group), 0);
	assert_int_equal(chmod(f->path, 0660), 0);
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(unlink(shm), 0);
	assert_int_equal(registry_open(f->path, 0, &reg), 0);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_uid == owner && st.st_gid == group);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(stat(shm, &st), 0);
	assert_true(st.st_uid == owner && st.st_gid == group);
	assert_int_equal(st.st_mode & 07777, 0660);
	registry_close(reg);
	assert_int_equal(side_temps(f->dir), 0);

	/* As a member of the group, under a umask that keeps all out. */
	assert_int_equal(chown(f->dir, owner, group), 0);
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(unlink(shm), 0);
	if ((pid = fork()) == 0) {
		umask(077);
		if (setgroups(0, NULL) == -1 || setresgid(group, group,
		    group) == -1 || setresuid(other, other, other) == -1)
			_exit(10);
		if (registry_open(f->path, 0, &reg) != 0)
			_exit(11);
		if (registry_session_get(reg, a.id, &a) != 0)
			_exit(12);
		registry_close(reg);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_uid == other && st.st_gid == group);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(stat(shm, &st), 0);
	assert_true(st.st_uid == other && st.st_gid == group);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(side_temps(f->dir), 0);
	assert_int_equal(chmod(wal, 0666), 0);
	assert_int_equal(chmod(shm, 0666), 0);

	/* The owner, not in the group, opens and writes through them. */
	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) == -1 || setresgid(owner, owner,
		    owner) == -1 || setresuid(owner, owner, owner) == -1)
			_exit(10);
		if (registry_open(f->path, 0, &reg) != 0)
			_exit(11);
		if (registry_event_add(reg, a.id, "owner", "note", NULL, NULL,
		    T0) != 0)
			_exit(12);
		registry_close(reg);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chown(f->dir, 0, 0), 0);
}

/* One writer process: its own connection, opened after the fork. */
static int
child_work(const char *path, const char *sid, u_int k, int gate)
{
	struct registry	*reg;
	char		 src[32], c;
	u_int		 i;
	int		 locked, r;

	/* Wait until every child exists, so they all start together. */
	if (read(gate, &c, 1) != 0)
		return 10;
	if ((r = registry_open(path, 0, &reg)) != 0)
		return 11;
	/*
	 * SQLite's busy wait is not fair: a writer that commits and at once
	 * begins again keeps the lock, while a waiter polls every 100 ms, so
	 * a child may wait for all the others' rounds. That is the machine's
	 * speed, not what this test checks (a deferred upgrade fails at once,
	 * whatever the timeout): wait as long as the whole test may take.
	 */
	if ((r = registry_set_busy_timeout(reg, CHILD_BUSY_MS)) != 0) {
		registry_close(reg);
		return 11;
	}
	snprintf(src, sizeof(src), "10.1.0.%u", k + 1);
	for (i = 0; i < NROUNDS; i++) {
		if ((r = registry_failure_record(reg, sid, src, T0 + i,
		    1000000, &locked)) != 0) {
			fprintf(stderr, "child %u: failure_record: %s: %s\n",
			    k, tunl_err(r), registry_errmsg(reg));
			registry_close(reg);
			return 12;
		}
		if ((r = registry_event_add(reg, sid, "child", "note", src,
		    NULL, T0 + i)) != 0) {
			fprintf(stderr, "child %u: event_add: %s: %s\n",
			    k, tunl_err(r), registry_errmsg(reg));
			registry_close(reg);
			return 13;
		}
	}
	/*
	 * Read, then write: with a deferred transaction a writer that
	 * slipped in between would make the upgrade fail at once with
	 * SQLITE_BUSY, whatever the busy timeout.
	 */
	for (i = 0; i < NROUNDS; i++) {
		if ((r = registry_sign_cooldown(reg, sid, 0, T0)) != 0) {
			fprintf(stderr, "child %u: sign_cooldown: %s: %s\n",
			    k, tunl_err(r), registry_errmsg(reg));
			registry_close(reg);
			return 14;
		}
	}
	registry_close(reg);
	return 0;
}

static void
test_concurrency(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, got;
	pid_t		 pids[NCHILDREN], pid;
	char		 sql[128];
	u_int		 k;
	int		 gate[2], status;

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	/* No connection crosses the fork. */
	registry_close(f->reg);
	f->reg = NULL;

	assert_int_equal(pipe(gate), 0);
	for (k = 0; k < NCHILDREN; k++) {
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			close(gate[1]);
			_exit(child_work(f->path, a.id, k, gate[0]));
		}
		pids[k] = pid;
	}
	close(gate[0]);
	close(gate[1]);		/* go */
	for (k = 0; k < NCHILDREN; k++) {
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	assert_int_equal(registry_open(f->path, 0, &f->reg), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.failures, NCHILDREN * NROUNDS);
	assert_int_equal(got.state, SESSION_PENDING);
	assert_int_equal(count_events(f->reg, a.id, "note"),
	    NCHILDREN * NROUNDS);
	assert_int_equal(count_events(f->reg, a.id, "auth-failure"),
	    NCHILDREN * NROUNDS);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM source_failures"), NCHILDREN * NROUNDS);
	for (k = 0; k < NCHILDREN; k++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "source_failures WHERE source = '10.1.0.%u'", k + 1);
		assert_int_equal(raw_count(f->path, sql), NROUNDS);
	}
	/* Ids are strictly increasing with no gaps: nothing lost. */
	assert_int_equal(raw_count(f->path,
	    "SELECT max(id) - min(id) + 1 FROM events"),
	    1 + 2 * NCHILDREN * NROUNDS);
}

static int64_t
msecs(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
test_busy(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, got;
	sqlite3		*db;
	int64_t		 start, elapsed;
	int		 locked;

	make_session(&a, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_set_busy_timeout(f->reg, -1),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_set_busy_timeout(f->reg, 200), 0);

	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	start = msecs();
	assert_int_equal(registry_event_add(f->reg, a.id, "alice", "note",
	    NULL, NULL, T0), TUNL_ERR_BUSY);
	elapsed = msecs() - start;
	assert_true(elapsed >= 150);
	assert_true(elapsed < 5000);
	assert_non_null(strstr(registry_errmsg(f->reg), "locked"));
	assert_int_equal(registry_failure_record(f->reg, a.id, "10.0.0.1",
	    T0, 3, &locked), TUNL_ERR_BUSY);
	/*
	 * Changes that read before they write wait for the lock too: the
	 * lock is taken first (IMMEDIATE), not upgraded from a read, which
	 * in WAL mode fails at once without waiting.
	 */
	start = msecs();
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "customer", NULL, T0), TUNL_ERR_BUSY);
	assert_true(msecs() - start >= 150);
	start = msecs();
	assert_int_equal(registry_sign_cooldown(f->reg, a.id, 0, T0),
	    TUNL_ERR_BUSY);
	assert_true(msecs() - start >= 150);
	/* Readers are not blocked by a writer (WAL). */
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.failures, 0);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	/* Once the lock is gone the same writes succeed. */
	assert_int_equal(registry_event_add(f->reg, a.id, "alice", "note",
	    NULL, NULL, T0), 0);
	assert_int_equal(registry_failure_record(f->reg, a.id, "10.0.0.1",
	    T0, 3, &locked), 0);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ACTIVE, "customer", NULL, T0), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.failures, 1);
	assert_int_equal(got.state, SESSION_ACTIVE);
	assert_int_equal(count_events(f->reg, a.id, "note"), 1);
}

/* Viewers: counted per live session, summed for the relay-wide cap. */
static void
test_viewers(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, got;
	u_int		 total;

	make_session(&a, T0);
	make_session(&b, T0 + 1);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, 0), 0);
	assert_int_equal(registry_session_create(f->reg, &b, NULL, 0), 0);
	assert_int_equal(registry_viewers_total(f->reg, &total), 0);
	assert_int_equal(total, 0);
	assert_int_equal(registry_session_set_viewers(f->reg, a.id, 3), 0);
	assert_int_equal(registry_session_set_viewers(f->reg, b.id, 2), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.viewers, 3);
	assert_int_equal(registry_session_set_host(f->reg, a.id, "cust-1.lan"),
	    0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_string_equal(got.host, "cust-1.lan");
	assert_int_equal(registry_viewers_total(f->reg, &total), 0);
	assert_int_equal(total, 5);
	/* An ended session counts for nothing and cannot be given viewers. */
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_ENDED, "alice", NULL, T0 + 10), 0);
	assert_int_equal(registry_viewers_total(f->reg, &total), 0);
	assert_int_equal(total, 3);
	assert_int_equal(registry_session_get(f->reg, b.id, &got), 0);
	assert_int_equal(got.viewers, 0);
	assert_int_equal(registry_session_set_viewers(f->reg, b.id, 1),
	    TUNL_ERR_STATE);
	/* Expiry ends a session and its viewers with it. */
	assert_int_equal(registry_session_expire(f->reg, T0 + 7200), 1);
	assert_int_equal(registry_viewers_total(f->reg, &total), 0);
	assert_int_equal(total, 0);
	/* The customer's host name: live sessions only, by its grammar. */
	assert_int_equal(registry_session_set_host(f->reg, a.id, "cust-1.lan"),
	    TUNL_ERR_STATE);	/* a expired above */
	assert_int_equal(registry_session_set_host(f->reg, a.id, "a;b"),
	    TUNL_ERR_INVALID);
	/* Bad arguments never reach SQL. */
	assert_int_equal(registry_session_set_viewers(f->reg, "no-such",
	    1), TUNL_ERR_INVALID);
	assert_int_equal(registry_session_set_viewers(f->reg, a.id,
	    REGISTRY_VIEWERS_MAX + 1), TUNL_ERR_INVALID);
	assert_int_equal(registry_viewers_total(f->reg, NULL),
	    TUNL_ERR_INVALID);
}

/* A version 1 database is migrated forward and keeps its sessions. */
static void
test_migrate_from_v1(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	struct session	 got;
	sqlite3		*db = NULL;
	char		 path[160], sql[512], id[ID_LEN_MAX];
	int		 v;

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, registry_migration(1), NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(id_generate(id, sizeof(id)), 0);
	snprintf(sql, sizeof(sql), "INSERT INTO sessions (id, state, mode, "
	    "case_ref, customer, host, engineer, created, expires, ended, "
	    "failures) VALUES ('%s', 'active', 'share', '', '', '', 'bob', "
	    "1, 99999999999, 0, 0); PRAGMA user_version = 1;", id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(registry_open(path, 0, &reg), 0);
	assert_int_equal(registry_schema_version(reg, &v), 0);
	assert_int_equal(v, REGISTRY_SCHEMA_VERSION);
	assert_int_equal(registry_session_get(reg, id, &got), 0);
	assert_int_equal(got.state, SESSION_ACTIVE);
	assert_int_equal(got.viewers, 0);
	assert_string_equal(got.engineer, "bob");
	registry_close(reg);
}

/*
 * A version 2 database (migrations 1 and 2, as a relay of that release
 * left it) is migrated to 3: its events stay and webhook_cursors is there,
 * empty.
 */
static void
test_migrate_from_v2(void **state)
{
	struct fixture	*f = *state;
	struct registry	*reg;
	struct registry_event ev[4];
	sqlite3		*db = NULL;
	char		 path[160];
	int64_t		 cur;
	size_t		 n;
	int		 v;

	snprintf(path, sizeof(path), "%s/v2.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, registry_migration(1), NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, registry_migration(2), NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO events (at, actor, "
	    "action) VALUES (5, 'admin', 'note'), (6, 'admin', 'note2'); "
	    "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'webhook_cursors'"), 0);

	assert_int_equal(registry_open(path, 0, &reg), 0);
	assert_int_equal(registry_schema_version(reg, &v), 0);
	assert_int_equal(v, REGISTRY_SCHEMA_VERSION);
	assert_int_equal(v, 5);
	assert_int_equal(registry_events_after(reg, 0, ev, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[1].action, "note2");
	assert_int_equal(registry_webhook_cursor(reg, "https://h.example/",
	    0, T0, &cur), TUNL_ERR_NOT_FOUND);
	/* A URL seen first now starts after the events already there. */
	assert_int_equal(registry_webhook_cursor(reg, "https://h.example/",
	    1, T0, &cur), 0);
	assert_int_equal(cur, ev[1].id);
	registry_close(reg);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM "
	    "webhook_cursors"), 1);
	/* The table's own checks hold against a raw writer too. */
	db = raw_open(path);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO webhook_cursors "
	    "VALUES ('', 0, 0)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO webhook_cursors "
	    "VALUES ('https://x', -1, 0)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO webhook_cursors "
	    "VALUES ('https://x', 3.5, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Reading events in batches and keeping a cursor per URL. */
static void
test_webhook_cursors(void **state)
{
	struct fixture		*f = *state;
	struct registry		*ro;
	struct registry_event	 ev[8];
	const char		*a = "https://a.example/hook";
	const char		*b = "http://10.0.0.1:8080/b";
	char			 bad[CFG_URL_MAX + 1];
	int64_t			 cur, cb, count, first;
	size_t			 n;
	int			 i;

	/* An empty log: a new URL starts at 0, nothing to read. */
	assert_int_equal(registry_webhook_cursor(f->reg, a, 1, T0, &cur), 0);
	assert_int_equal(cur, 0);
	assert_int_equal(registry_events_after(f->reg, cur, ev, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(registry_events_count_after(f->reg, 0, &count), 0);
	assert_int_equal(count, 0);

	for (i = 0; i < 5; i++)
		assert_int_equal(registry_event_add(f->reg, NULL, "admin",
		    "note", i % 2 ? "192.0.2.1" : NULL, "dÃ©tail",
		    T0 + i), 0);
	/* A batch is bounded and ordered; the next one goes on from it. */
	assert_int_equal(registry_events_after(f->reg, cur, ev, 3, &n), 0);
	assert_int_equal(n, 3);
	first = ev[0].id;
	assert_true(ev[0].id < ev[1].id && ev[1].id < ev[2].id);
	assert_string_equal(ev[1].source, "192.0.2.1");
	assert_string_equal(ev[0].source, "");
	assert_string_equal(ev[0].session_id, "");
	assert_string_equal(ev[2].detail, "dÃ©tail");
	assert_int_equal(ev[2].at, T0 + 2);
	assert_int_equal(registry_events_after(f->reg, ev[2].id, ev, 8, &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(registry_events_count_after(f->reg, cur, &count), 0);
	assert_int_equal(count, 5);

	/* A second URL, first seen now, starts at the end. */
	assert_int_equal(registry_webhook_cursor(f->reg, b, 1, T0, &cb), 0);
	assert_int_equal(cb, ev[1].id);
	assert_int_equal(registry_events_count_after(f->reg, cb, &count), 0);
	assert_int_equal(count, 0);

	/* Advancing one URL leaves the other; a cursor never goes back. */
	assert_int_equal(registry_webhook_advance(f->reg, a, first + 2, T0),
	    0);
	assert_int_equal(registry_webhook_cursor(f->reg, a, 1, T0, &cur), 0);
	assert_int_equal(cur, first + 2);
	assert_int_equal(registry_webhook_advance(f->reg, a, first, T0), 0);
	assert_int_equal(registry_webhook_cursor(f->reg, a, 0, 0, &cur), 0);
	assert_int_equal(cur, first + 2);
	assert_int_equal(registry_webhook_cursor(f->reg, b, 0, 0, &cur), 0);
	assert_int_equal(cur, cb);
	assert_int_equal(registry_events_count_after(f->reg, first + 2,
	    &count), 0);
	assert_int_equal(count, 2);

	/* Unknown URLs, refused arguments: no SQL, nothing created. */
	assert_int_equal(registry_webhook_advance(f->reg, "https://new.example",
	    3, T0), TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_webhook_cursor(f->reg, "https://new.example",
	    0, 0, &cur), TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_webhook_cursor(f->reg, "", 1, T0, &cur),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_webhook_cursor(f->reg, "https://a b", 1, T0,
	    &cur), TUNL_ERR_INVALID);
	assert_int_equal(registry_webhook_cursor(f->reg, "https://a\n", 1, T0,
	    &cur), TUNL_ERR_INVALID);
	memset(bad, 'x', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(registry_webhook_cursor(f->reg, bad, 1, T0, &cur),
	    TUNL_ERR_INVALID);
	bad[CFG_URL_MAX - 1] = '\0';
	assert_int_equal(registry_webhook_cursor(f->reg, bad, 1, T0, &cur), 0);
	assert_int_equal(registry_webhook_cursor(f->reg, a, 1, -1, &cur),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_webhook_cursor(f->reg, a, 0, 0, NULL),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_webhook_advance(f->reg, a, -1, T0),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_events_after(f->reg, -1, ev, 8, &n),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_events_after(f->reg, 0, ev, 0, &n),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_events_after(f->reg, 0, NULL, 8, &n),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_events_count_after(f->reg, 0, NULL),
	    TUNL_ERR_INVALID);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM "
	    "webhook_cursors"), 3);

	/* Read-only (status): cursors and counts read, nothing created. */
	assert_int_equal(registry_open(f->path, REGISTRY_READONLY, &ro), 0);
	assert_int_equal(registry_webhook_cursor(ro, a, 0, 0, &cur), 0);
	assert_int_equal(cur, first + 2);
	assert_int_equal(registry_events_count_after(ro, cur, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(registry_webhook_cursor(ro, "https://ro.example", 1,
	    T0, &cur), TUNL_ERR_DB);
	assert_int_equal(registry_webhook_advance(ro, a, first + 4, T0),
	    TUNL_ERR_DB);
	registry_close(ro);
}

/* A new token for a live session; the old unused one stops working. */
static void
test_token_reissue(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, got;
	u_char		 ha[TOKEN_HASH_LEN], hn[TOKEN_HASH_LEN];
	u_char		 hm[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN];
	char		 sid[ID_LEN_MAX];

	make_session(&a, T0);
	make_session(&b, T0);
	make_hash(ha, 20);
	make_hash(hn, 21);
	make_hash(hm, 22);
	make_hash(hb, 23);
	assert_int_equal(registry_session_create(f->reg, &a, ha, T0 + 600), 0);
	assert_int_equal(registry_session_create(f->reg, &b, hb, T0 + 600), 0);

	/* The first token unused: replaced, and dead from then on. */
	assert_int_equal(registry_token_reissue(f->reg, a.id, hn, T0 + 900,
	    "bob", T0 + 5), 0);
	assert_int_equal(registry_token_lookup(f->reg, ha, T0 + 6, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_lookup(f->reg, hn, T0 + 6, sid), 0);
	assert_string_equal(sid, a.id);
	assert_int_equal(count_events(f->reg, a.id, "token-issued"), 1);
	/* The other session's token is untouched. */
	assert_int_equal(registry_token_lookup(f->reg, hb, T0 + 6, sid), 0);
	assert_string_equal(sid, b.id);

	/* A hash another live token holds: EXISTS, nothing changed. */
	assert_int_equal(registry_token_reissue(f->reg, a.id, hb, T0 + 900,
	    "bob", T0 + 6), TUNL_ERR_EXISTS);
	assert_int_equal(registry_token_lookup(f->reg, hb, T0 + 6, sid), 0);
	assert_string_equal(sid, b.id);
	assert_int_equal(registry_token_lookup(f->reg, hn, T0 + 6, sid), 0);
	assert_string_equal(sid, a.id);
	assert_int_equal(count_events(f->reg, a.id, "token-issued"), 1);

	/* Consumed (a certificate was signed), then a new one later on. */
	assert_int_equal(registry_token_consume(f->reg, a.id, NULL, T0 + 7), 0);
	assert_int_equal(registry_token_lookup(f->reg, hn, T0 + 8, sid),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_reissue(f->reg, a.id, hm, T0 + 1200,
	    "bob", T0 + 1000), 0);
	assert_int_equal(registry_token_lookup(f->reg, hm, T0 + 1001, sid), 0);
	/* By hash: only the token named, and only while it is live. */
	assert_int_equal(registry_token_consume(f->reg, a.id, hn, T0 + 1002),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_token_lookup(f->reg, hm, T0 + 1002, sid), 0);
	assert_int_equal(registry_token_consume(f->reg, a.id, hm, T0 + 1002),
	    0);
	assert_int_equal(registry_token_consume(f->reg, a.id, hm, T0 + 1003),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(count_events(f->reg, a.id, "token-issued"), 2);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_int_equal(got.state, SESSION_PENDING);


	/* Not for a locked, ended or expired session, nor an unknown one. */
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_LOCKED, "admin", NULL, T0 + 10), 0);
	assert_int_equal(registry_token_reissue(f->reg, b.id, hn, T0 + 900,
	    "bob", T0 + 11), TUNL_ERR_NOT_FOUND);
	/* ...and the refused call revoked nothing: the rollback kept hb. */
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_PENDING, "admin", "unlock", T0 + 12), 0);
	assert_int_equal(registry_token_lookup(f->reg, hb, T0 + 13, sid), 0);
	assert_int_equal(registry_token_reissue(f->reg, a.id, hn, T0 + 3700,
	    "bob", T0 + 3600), TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_session_set_state(f->reg, b.id,
	    SESSION_ENDED, "admin", NULL, T0 + 14), 0);
	assert_int_equal(registry_token_reissue(f->reg, b.id, hn, T0 + 900,
	    "bob", T0 + 15), TUNL_ERR_NOT_FOUND);
	make_session(&got, T0);
	assert_int_equal(registry_token_reissue(f->reg, got.id, hn, T0 + 900,
	    "bob", T0 + 15), TUNL_ERR_NOT_FOUND);

	/* Bad arguments never reach SQL. */
	assert_int_equal(registry_token_reissue(f->reg, "not-an-id", hn,
	    T0 + 900, "bob", T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_token_reissue(f->reg, a.id, NULL,
	    T0 + 900, "bob", T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_token_reissue(f->reg, a.id, hn, T0,
	    "bob", T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_token_reissue(f->reg, a.id, hn, T0 + 900,
	    "", T0), TUNL_ERR_INVALID);
	assert_int_equal(registry_token_reissue(f->reg, a.id, hn, T0 + 900,
	    "bo\nb", T0), TUNL_ERR_INVALID);
}

/* A newer token ends what older ones opened (registry_login_current). */
static void
test_login_current(void **state)
{
	struct fixture		*f = *state;
	struct session		 a, b, got;
	struct login_info	 tok1, tok2, cert1, cert2, none;
	u_char			 h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	int64_t			 seen;

	make_session(&a, T0);
	make_session(&b, T0);
	make_hash(h1, 30);
	make_hash(h2, 31);
	memset(&tok1, 0, sizeof(tok1));
	tok1.has_token = 1;
	memcpy(tok1.token, h1, sizeof(h1));
	tok2 = tok1;
	memcpy(tok2.token, h2, sizeof(h2));
	memset(&cert1, 0, sizeof(cert1));
	cert1.is_cert = 1;
	memset(&none, 0, sizeof(none));

	assert_int_equal(registry_session_create(f->reg, &a, h1, T0 + 600), 0);
	/* sign puts the consumed token's id in the serial. */
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_true(got.token_gen > 0);
	cert1.serial = got.token_gen;
	/* Token 1 unused: its login is current, no certificate is. */
	assert_int_equal(registry_login_current(f->reg, a.id, &tok1, NULL), 0);
	assert_int_equal(registry_login_current(f->reg, a.id, &tok2, NULL),
	    TUNL_ERR_DENIED);
	assert_int_equal(registry_login_current(f->reg, a.id, &cert1, NULL),
	    TUNL_ERR_DENIED);
	/* Signed with it at T0 + 10: that certificate is current. */
	assert_int_equal(registry_token_consume(f->reg, a.id, h1,
	    T0 + 10), 0);
	assert_int_equal(registry_login_current(f->reg, a.id, &tok1, NULL), 0);
	assert_int_equal(registry_login_current(f->reg, a.id, &cert1, NULL), 0);
	/*
	 * token <id>, in the very second of that sign: every older login is
	 * superseded all the same (the serial is no time).
	 */
	assert_int_equal(registry_token_reissue(f->reg, a.id, h2, T0 + 900,
	    "bob", T0 + 10), 0);
	assert_int_equal(registry_session_get(f->reg, a.id, &got), 0);
	assert_true(got.token_gen > cert1.serial);
	cert2 = cert1;
	cert2.serial = got.token_gen;
	assert_int_equal(registry_login_current(f->reg, a.id, &tok1, NULL),
	    TUNL_ERR_DENIED);
	assert_int_equal(registry_login_current(f->reg, a.id, &cert1, NULL),
	    TUNL_ERR_DENIED);
	assert_int_equal(registry_login_current(f->reg, a.id, &tok2, NULL), 0);
	/* The check says which token it saw (admit tells the broker). */
	seen = -1;
	assert_int_equal(registry_login_current(f->reg, a.id, &tok2, &seen),
	    0);
	assert_int_equal(seen, got.token_gen);
	/* Signed with the new one, same second: only the new certificate. */
	assert_int_equal(registry_token_consume(f->reg, a.id, h2,
	    T0 + 10), 0);
	assert_int_equal(registry_login_current(f->reg, a.id, &cert2, NULL), 0);
	assert_int_equal(registry_login_current(f->reg, a.id, &cert1, NULL),
	    TUNL_ERR_DENIED);
	/* A session without tokens (token_required = no): nothing to end. */
	assert_int_equal(registry_session_create(f->reg, &b, NULL, 0), 0);
	seen = -1;
	assert_int_equal(registry_login_current(f->reg, b.id, &none, &seen), 0);
	assert_int_equal(seen, 0);
	assert_int_equal(registry_login_current(f->reg, b.id, &cert1, NULL), 0);
	assert_int_equal(registry_login_current(f->reg, b.id, &tok1, NULL),
	    TUNL_ERR_DENIED);
	assert_int_equal(registry_login_current(f->reg, "not-an-id", &none, NULL),
	    TUNL_ERR_INVALID);
}

/*
 * Retention: old events of ended sessions (and of none) go, in batches;
 * a live or locked session's events stay whatever their age; ended
 * sessions go with their tokens; the log is append-only again after.
 */
static void
test_prune(void **state)
{
	struct fixture	*f = *state;
	struct session	 live, locked, old, recent;
	u_char		 h[TOKEN_HASH_LEN];
	sqlite3		*db;
	int64_t		 cut = T0 + 1000;
	int		 i, n, total;

	make_session(&live, T0);
	make_session(&locked, T0);
	make_session(&old, T0);
	make_session(&recent, T0);
	make_hash(h, 9);
	assert_int_equal(registry_session_create(f->reg, &live, NULL, T0), 0);
	assert_int_equal(registry_session_create(f->reg, &locked, NULL, T0),
	    0);
	assert_int_equal(registry_session_create(f->reg, &old, h, T0), 0);
	assert_int_equal(registry_session_create(f->reg, &recent, NULL, T0),
	    0);
	assert_int_equal(registry_sign_cooldown(f->reg, old.id, 10, T0 + 1),
	    0);
	assert_int_equal(registry_session_set_state(f->reg, locked.id,
	    SESSION_LOCKED, "registry", NULL, T0 + 2), 0);
	assert_int_equal(registry_session_set_state(f->reg, old.id,
	    SESSION_ENDED, "alice", NULL, T0 + 3), 0);
	/* 1203 old events of the ended session, two batches and a bit. */
	for (i = 0; i < 1200; i++)
		assert_int_equal(registry_event_add(f->reg, old.id, "alice",
		    "note", NULL, NULL, T0 + 4), 0);
	assert_int_equal(registry_event_add(f->reg, live.id, "bob", "joined",
	    NULL, NULL, T0 + 5), 0);
	assert_int_equal(registry_event_add(f->reg, NULL, "pam",
	    "auth-failure", "192.0.2.1", NULL, T0 + 6), 0);
	/* After the cut: kept even though its session ends. */
	assert_int_equal(registry_event_add(f->reg, old.id, "alice", "late",
	    NULL, NULL, cut), 0);
	assert_int_equal(registry_session_set_state(f->reg, recent.id,
	    SESSION_ENDED, "alice", NULL, cut + 1), 0);

	/* Nothing may be deleted outside prune, before or after it. */
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events_prune",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO events_prune "
	    "VALUES (1, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(registry_prune_events(f->reg, cut, 0),
	    TUNL_ERR_INVALID);
	assert_int_equal(registry_prune_events(f->reg, cut,
	    REGISTRY_PRUNE_BATCH_MAX + 1), TUNL_ERR_INVALID);
	assert_int_equal(registry_prune_events(f->reg, -1, 10),
	    TUNL_ERR_INVALID);
	total = 0;
	for (i = 0; i < 10; i++) {
		n = registry_prune_events(f->reg, cut, 500);
		assert_true(n >= 0 && n <= 500);
		total += n;
		if (n < 500)
			break;
	}
	/* created + ended + 1200 notes of old; the address's failure. */
	assert_int_equal(total, 1203);
	assert_int_equal(registry_prune_events(f->reg, cut, 500), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events "
	    "WHERE session_id IS NULL"), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events e "
	    "JOIN sessions s ON s.id = e.session_id "
	    "WHERE s.state = 'pending'"), 2);	/* created, joined */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events e "
	    "JOIN sessions s ON s.id = e.session_id "
	    "WHERE s.state = 'locked'"), 2);	/* created, locked */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events "
	    "WHERE action = 'late'"), 1);
	assert_int_equal(raw_count(f->path, "SELECT before FROM events_prune"),
	    0);

	/* Sessions: the one ended before the cut, with its token. */
	assert_int_equal(registry_prune_sessions(f->reg, cut, 10), 1);
	assert_int_equal(registry_prune_sessions(f->reg, cut, 10), 0);
	assert_int_equal(registry_session_get(f->reg, old.id, &old),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sessions"),
	    3);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM tokens"), 0);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM sign_cooldown"), 0);
	/* A later cut takes the recently ended one, never a live one. */
	assert_int_equal(registry_prune_sessions(f->reg, cut + 1000000, 10), 1);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sessions "
	    "WHERE state = 'ended'"), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sessions"),
	    2);
	/* The late event outlived its session; it goes at a later cut. */
	assert_int_equal(registry_prune_events(f->reg, cut + 1000000, 500),
	    3);	/* late, and recent's created and ended */
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM events"), 4);

	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM events",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/*
 * Tunnel ports: the lowest free one of the range, the same one asked
 * again, none when the range is used up, free again when its session
 * has ended (a locked session keeps its port).
 */
static void
test_tunnel_ports(void **state)
{
	struct fixture	*f = *state;
	struct session	 a, b, c, d;
	u_int		 port;

	make_session(&a, T0);
	make_session(&b, T0);
	make_session(&c, T0);
	make_session(&d, T0);
	assert_int_equal(registry_session_create(f->reg, &a, NULL, T0), 0);
	assert_int_equal(registry_session_create(f->reg, &b, NULL, T0), 0);
	assert_int_equal(registry_session_create(f->reg, &c, NULL, T0), 0);
	assert_int_equal(registry_session_create(f->reg, &d, NULL, T0), 0);
	assert_int_equal(registry_tunnel_port(f->reg, a.id, &port),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(port, 0);
	assert_int_equal(registry_tunnel_assign(f->reg, a.id, 41000, 41001,
	    &port), 0);
	assert_int_equal(port, 41000);
	assert_int_equal(registry_tunnel_assign(f->reg, a.id, 41000, 41001,
	    &port), 0);
	assert_int_equal(port, 41000);
	assert_int_equal(registry_tunnel_assign(f->reg, b.id, 41000, 41001,
	    &port), 0);
	assert_int_equal(port, 41001);
	assert_int_equal(registry_tunnel_assign(f->reg, c.id, 41000, 41001,
	    &port), TUNL_ERR_FULL);
	assert_int_equal(port, 0);
	assert_int_equal(registry_tunnel_port(f->reg, c.id, &port),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(registry_tunnel_port(f->reg, b.id, &port), 0);
	assert_int_equal(port, 41001);
	/* Locked keeps it; ended frees it for the next session. */
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_LOCKED, "registry", NULL, T0 + 1), 0);
	assert_int_equal(registry_tunnel_assign(f->reg, c.id, 41000, 41001,
	    &port), TUNL_ERR_FULL);
	assert_int_equal(registry_session_set_state(f->reg, a.id,
	    SESSION_ENDED, "alice", NULL, T0 + 2), 0);
	assert_int_equal(registry_tunnel_assign(f->reg, c.id, 41000, 41001,
	    &port), 0);
	assert_int_equal(port, 41000);
	/* Bad arguments before any SQL. */
	assert_int_equal(registry_tunnel_assign(f->reg, d.id, 80, 41001,
	    &port), TUNL_ERR_INVALID);
	assert_int_equal(registry_tunnel_assign(f->reg, d.id, 41001, 41000,
	    &port), TUNL_ERR_INVALID);
	assert_int_equal(registry_tunnel_assign(f->reg, "not an id", 41000,
	    41001, &port), TUNL_ERR_INVALID);
	assert_int_equal(registry_tunnel_assign(f->reg,
	    "amber-falcon-river-seven", 41000, 41001, &port) < 0, 1);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		T(test_create_get_list),
		T(test_duplicate),
		T(test_invalid_before_sql),
		T(test_token),
		T(test_token_reissue),
		T(test_login_current),
		T(test_failure_cap),
		T(test_source_rate),
		cmocka_unit_test(test_source_limit_key),
		T(test_sign_cooldown),
		T(test_transitions),
		T(test_restrict),
		T(test_events),
		T(test_migrations),
		T(test_symlink),
		T(test_hostile_file),
		T(test_persist_wal),
		T(test_side_files),
		T(test_concurrency),
		T(test_busy),
		T(test_viewers),
		T(test_migrate_from_v1),
		T(test_migrate_from_v2),
		T(test_webhook_cursors),
		T(test_prune),
		T(test_tunnel_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
