#!/bin/sh
# tunl-admin prune (retention) on a relay made by tunl-admin init: old
# recordings of ended or unknown sessions go, a live session's stay
# whatever their age, recent ones and files that are not recordings stay;
# old events and ended sessions go in batches (1200 old events here),
# a live session's events stay; the event log refuses deletes again
# afterwards; a second run removes nothing; 0 days keeps everything. The
# shipped timer and service units pass systemd-analyze verify.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init prune
. "$top_srcdir/tests/integration/relay.sh"
MKSESSION=$top_builddir/tests/helpers/pam-mksession

admin() {
	relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" "$@"
}
session() {
	"$MKSESSION" "$RELAY_CONF" >"$H/session.out" 2>"$H/session.err" ||
	    harness_fail "pam-mksession: $(cat "$H/session.err")"
	sed -n 's/^id=//p' "$H/session.out"
	rm -f "$H/session.out"
}
count() {
	relay_sql "$1"
}

relay_config "recording_retention = 30" "event_retention = 60"
relay_init
REC=$H/var/log/tunl
now=$(date +%s)
old=$((now - 100 * 86400))	# past both retentions
mid=$((now - 45 * 86400))	# past recording_retention only

LIVE=$(session)
GONE=$(session)
RECENT=$(session)
UNKNOWN=$(session)
[ -n "$LIVE" ] && [ -n "$GONE" ] && [ -n "$RECENT" ] && [ -n "$UNKNOWN" ] ||
    harness_fail "no sessions made"
# A recording whose session the registry no longer knows.
relay_sql "PRAGMA foreign_keys = ON; DELETE FROM sessions WHERE id = '$UNKNOWN'" ||
    harness_fail "cannot forget a session"
# GONE ended 100 days ago, RECENT 45 days ago; LIVE is still pending.
relay_sql "UPDATE sessions SET state = 'ended', ended = $old, created = $old - 10 WHERE id = '$GONE';
UPDATE sessions SET state = 'ended', ended = $mid, created = $mid - 10 WHERE id = '$RECENT';" ||
    harness_fail "cannot age the sessions"
relay_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
INSERT INTO events (session_id, at, actor, action) SELECT '$GONE', $old, 'alice', 'note' FROM n;
INSERT INTO events (session_id, at, actor, action) VALUES ('$LIVE', $old, 'bob', 'joined');
INSERT INTO events (session_id, at, actor, action) VALUES ('$RECENT', $old, 'bob', 'joined');
INSERT INTO events (session_id, at, actor, action, source) VALUES (NULL, $old, 'pam', 'auth-failure', '192.0.2.9');
INSERT INTO events (session_id, at, actor, action, source) VALUES (NULL, $now, 'pam', 'auth-failure', '192.0.2.10');" ||
    harness_fail "cannot add the old events"
out=$(relay_sql "DELETE FROM events WHERE session_id = '$GONE'" 2>&1) &&
    harness_fail "the event log accepted a delete before prune"
harness_assert_contains "$out" "append-only"

# Recordings, as the broker writes them (tunl-broker:tunl-rec 0640).
rec() {
	printf 'x%.0s' $(seq 1 100) >"$REC/$1" &&
	    chown "$HARNESS_UID_BROKER:$HARNESS_GID_TUNL_REC" "$REC/$1" && chmod 0640 "$REC/$1" &&
	    touch -d "@$2" "$REC/$1" || harness_fail "cannot make $1"
}
rec "$LIVE.cast" "$old"
rec "$GONE.cast" "$old"
rec "$GONE-2.cast" "$old"
rec "$RECENT.cast" "$mid"
rec "$RECENT-2.cast" "$now"
rec "$UNKNOWN.cast" "$old"
rec "notes.txt" "$old"
rec "$GONE-x.cast" "$old"

out=$(admin prune 2>&1) || harness_fail "prune failed: $out"
harness_log "$out"
# 1200 of GONE's and the old address event; RECENT ended since the cut.
harness_assert_contains "$out" "removed 4 recording(s), 1201 event(s), 1 ended session(s)"
harness_assert_contains "$out" "kept 1 old recording(s) of live sessions"
for f in "$LIVE.cast" "$RECENT-2.cast" notes.txt "$GONE-x.cast"; do
	[ -f "$REC/$f" ] || harness_fail "prune removed $f"
done
for f in "$GONE.cast" "$GONE-2.cast" "$RECENT.cast" "$UNKNOWN.cast"; do
	[ -e "$REC/$f" ] && harness_fail "prune left $f"
done
harness_assert_eq 0 "$(count "SELECT count(*) FROM sessions WHERE id = '$GONE'")" "old ended session"
# Only its "created", written now by pam-mksession, is younger than the cut.
harness_assert_eq 1 "$(count "SELECT count(*) FROM events WHERE session_id = '$GONE'")" "its events"
harness_assert_eq 1 "$(count "SELECT count(*) FROM sessions WHERE id = '$RECENT'")" "recently ended session"
# LIVE: created + the old join; RECENT's old join stays with its session.
harness_assert_eq 2 "$(count "SELECT count(*) FROM events WHERE session_id = '$LIVE'")" "live session's events"
harness_assert_eq 2 "$(count "SELECT count(*) FROM events WHERE session_id = '$RECENT'")" "recent session's events"
harness_assert_eq 1 "$(count "SELECT count(*) FROM events WHERE action = 'auth-failure'")" "address events"
harness_assert_eq 1 "$(count "SELECT count(*) FROM events WHERE action = 'pruned' AND actor = 'tunl-admin'")" "the prune's own event"
harness_assert_eq 1 "$(count "SELECT count(*) FROM tokens t JOIN sessions s ON s.id = t.session_id WHERE s.id = '$LIVE'")" "live token"
harness_assert_eq 0 "$(count "SELECT count(*) FROM tokens WHERE session_id = '$GONE'")" "old token"
out=$(relay_sql "DELETE FROM events WHERE action = 'joined'" 2>&1) &&
    harness_fail "the event log accepted a delete after prune"
harness_assert_contains "$out" "append-only"

# Again: nothing left to remove.
out=$(admin prune 2>&1) || harness_fail "second prune failed: $out"
harness_assert_contains "$out" "removed 0 recording(s), 0 event(s), 0 ended session(s)"

# 0 days keeps everything.
relay_config "recording_retention = 0" "event_retention = 0"
relay_sql "UPDATE sessions SET state = 'ended', ended = $old WHERE id = '$RECENT'"
out=$(admin prune 2>&1) || harness_fail "prune with 0 days failed: $out"
harness_assert_contains "$out" "removed 0 recording(s), 0 event(s), 0 ended session(s)"
harness_assert_contains "$out" "recording_retention = 0: recordings kept"
[ -f "$REC/$LIVE.cast" ] || harness_fail "0 days removed a recording"

# Not root: refused.
out=$(relay_as support "$TUNL_ADMIN" -f "$RELAY_CONF" prune 2>&1) &&
    harness_fail "prune ran as a non-root user"
harness_assert_contains "$out" "prune must run as root"

# The shipped units.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$H/units" || harness_fail mkdir
	sed -e "s|@SBINDIR@|$top_builddir|" -e "s|@DATABASE_DIR@|$H/var/lib/tunl|" \
	    -e "s|@RECORDING_DIR@|$REC|" \
	    "$top_srcdir/systemd/tunl-prune.service.in" >"$H/units/tunl-prune.service"
	cp "$top_srcdir/systemd/tunl-prune.timer" "$H/units/" || harness_fail cp
	out=$(cd "$H/units" && systemd-analyze verify --man=no \
	    ./tunl-prune.timer ./tunl-prune.service 2>&1) ||
	    harness_fail "systemd-analyze verify: $out"
	harness_assert_not_contains "$out" "tunl-prune"
else
	harness_log "no systemd-analyze: the units are not verified"
fi
harness_log "passed"
