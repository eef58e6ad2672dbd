#!/bin/sh
# tunl-admin notify against a small HTTP receiver on 127.0.0.1
# (webhook-server.py): events are delivered in order with a signature a
# receiver can check; a failed delivery is sent again and nothing is lost
# or sent twice after success; a dead URL does not hold up a working one;
# a new URL starts at the end of the log; redirects are not followed; the
# cursor survives a restart; the service stops on SIGTERM; status says
# when a URL falls behind. No sshd is needed.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init webhooks
. "$top_srcdir/tests/integration/relay.sh"
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
# The interpreter itself, found once: a version manager's python3 shim
# runs several shell scripts each time, and the checks below run often.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') && [ -x "$PYTHON" ] ||
    harness_fail "cannot find the python3 interpreter"
command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"

SRV=$H/hooks
KEY=$H/etc/tunl/webhook.key
mkdir -p "$SRV" || harness_fail "mkdir $SRV"

# ---- the shipped unit, as systemd reads it ------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	harness_subst "$top_srcdir/systemd/tunl-notify.service.in" \
	    "$H/tunl-notify.service" SBINDIR="$top_builddir" \
	    TUNL_CONF="$RELAY_CONF" DATABASE_DIR="$H/var/lib/tunl"
	out=$(systemd-analyze verify --man=no "$H/tunl-notify.service" 2>&1) ||
	    harness_fail "systemd-analyze verify: $out"
	harness_assert_eq "" "$out" "systemd-analyze verify says nothing"
else
	harness_log "systemd-analyze is not installed: unit not verified"
fi

"$PYTHON" "$top_srcdir/tests/integration/webhook-server.py" "$SRV" \
    >"$H/server.log" 2>&1 &
SRVPID=$!
harness_track $SRVPID
receiver_up() {
	[ -s "$SRV/port" ] && return 0
	harness_alive $SRVPID ||
	    harness_fail "the receiver died: $(cat "$H/server.log")"
	return 1
}
harness_wait 60 "the receiver to start" receiver_up
PORT=$(cat "$SRV/port")
BASE=http://127.0.0.1:$PORT
# Nothing listens on port 1 of the loopback: refused at once.
DEAD=http://127.0.0.1:1/dead

# config [URL...]: the relay's configuration with these webhook URLs
# (relay_config keeps one line per key, so they are appended here).
config() {
	relay_config "webhook_key = $KEY"
	for _u; do
		echo "webhook_url = $_u" >>"$RELAY_CONF"
	done
}

notify() {
	"$TUNL_ADMIN" notify "$@" -f "$RELAY_CONF"
}

# add_events N [DETAIL-SQL [AGE]]: N events, detail 'n1'.. unless given.
add_events() {
	relay_sql "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1
	    FROM c WHERE i < $1)
	    INSERT INTO events (at, actor, action, source, detail)
	    SELECT CAST(strftime('%s', 'now') AS INTEGER) - ${3:-0}, 'admin',
	    'note', '192.0.2.9', ${2:-"'n' || i"} FROM c;"
}

last_id() {
	relay_sql "SELECT coalesce(max(id), 0) FROM events;"
}

cursor() {
	relay_sql "SELECT last_event FROM webhook_cursors WHERE url = '$1';"
}

check() {
	"$PYTHON" "$top_srcdir/tests/integration/webhook-check.py" "$SRV" \
	    "$KEY" "$1" || harness_fail "a request to $1 fails the receiver's checks"
}

delivered() {
	check "$1" | sed -n 's/^delivered: *//p'
}

requests() {
	check "$1" | grep -c '^[0-9][0-9]* ' || true
}

# cursor_is URL ID: the URL's cursor stands at ID.
cursor_is() {
	[ "$(cursor "$1")" = "$2" ]
}

# delivered_is PATH IDS: the events delivered to PATH, in order, are IDS.
delivered_is() {
	[ "$(delivered "$1")" = "$2" ]
}

# log_has FILE TEXT: FILE holds TEXT (a regular expression for grep).
log_has() {
	grep -q -- "$2" "$1"
}

# notify_and PID LOG CMD...: CMD's status; but if the notify service PID
# has exited, fail at once and show its LOG.
notify_and() {
	harness_alive "$1" || harness_fail "notify exited: $(cat "$2")"
	shift 2
	"$@"
}

# stop_notify PID: SIGTERM, then it must exit 0 having said why.
stop_notify() {
	kill -TERM "$1"
	wait "$1"
	harness_assert_eq 0 $? "exit status after SIGTERM"
}

seq_ids() {
	# seq_ids FIRST LAST: "FIRST FIRST+1 ... LAST"
	awk -v a="$1" -v b="$2" 'BEGIN { s = ""; for (i = a; i <= b; i++)
	    s = s (i > a ? " " : "") i; print s }'
}

status() {
	relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" status 2>&1
}

# ---- no URL: nothing to do, no key made, and status says so ----------------
config
relay_init
[ -e "$KEY" ] && harness_fail "init made a webhook key with no webhook_url"
harness_assert_not_contains "$(cat "$H/admin-init.log")" "webhook signing key" \
    "init without webhooks"
out=$(notify --once 2>&1) || harness_fail "notify without URLs: $out"
harness_assert_contains "$out" "nothing to deliver"
harness_assert_contains "$(status)" "none configured"

# ---- a URL: status asks for init, init makes the key once ---------------------
config "$BASE/ok/a"
harness_assert_contains "$(status)" "$KEY"
relay_init
harness_assert_eq "root:root 600" \
    "$(relay_in_ns stat -c '%U:%G %a' "$KEY")" "webhook key owner and mode"
harness_assert_eq 32 "$(stat -c %s "$KEY")" "webhook key size"
harness_assert_contains "$(cat "$H/admin-init.log")" "webhook signing key"
# init leaves an existing key alone.
sum=$(sha256sum <"$KEY")
relay_init
harness_assert_eq "$sum" "$(sha256sum <"$KEY")" "init keeps the webhook key"

# ---- a new URL starts at the end of the log ------------------------------------
add_events 3
config "$BASE/ok/a"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
harness_assert_eq 0 "$(requests /ok/a)" "history is not sent to a new URL"
harness_assert_eq "$(last_id)" "$(cursor "$BASE/ok/a")" "new cursor at the end"
harness_assert_contains "$(status)" "up to date"

# ---- delivery: in order, in bounded batches, signed, escaped ------------------
start=$(last_id)
add_events 60
# A detail with quotes, a backslash and non-ASCII text (registry text is
# valid UTF-8 without controls).
add_events 1 "'say \"hi\" \\ caf' || char(233) || ' ' || char(128512)"
# An event made by a real command: doctor --fix ends an expired session.
sid=apple-brave-cloud-delta
relay_sql "INSERT INTO sessions (id, state, mode, engineer, created, expires)
    VALUES ('$sid', 'pending', 'share', 'alice', 1, 2);"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" doctor --fix \
    --sshd /nonexistent/sshd --pam-dir "$H/none" \
    --fail2ban-dir "$H/none" >"$H/doctor.log" 2>&1
harness_assert_contains "$(cat "$H/doctor.log")" "sessions"
end=$(last_id)
[ "$end" -eq $((start + 62)) ] || harness_fail "doctor --fix made no event"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
harness_assert_eq "$(seq_ids $((start + 1)) "$end")" "$(delivered /ok/a)" \
    "every event once, in order"
harness_assert_eq "200 $((start + 1))-$((start + 50))
200 $((start + 51))-$end" "$(check /ok/a | grep '^[0-9][0-9]* ')" \
    "batches of at most 50"
got=$(check /ok/a | grep "^event $((start + 61)) ")
harness_assert_eq "event $((start + 61)) - note 192.0.2.9 \"say \\\"hi\\\" \\\\ caf\\u00e9 \\ud83d\\ude00\"" \
    "$got" "quotes, backslash and non-ASCII escaped"
grep -q '\\u00e9' "$SRV/requests.jsonl" ||
    harness_fail "non-ASCII was not sent as a \\u escape"
got=$(check /ok/a | grep "^event $end ")
harness_assert_eq "event $end $sid expired - \"\"" "$got" \
    "the event doctor --fix wrote"
harness_assert_eq "$end" "$(cursor "$BASE/ok/a")" "cursor after delivery"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
harness_assert_eq 2 "$(requests /ok/a)" "nothing sent twice"

# A body signed with another key is refused by the checker (the check
# above can fail).
head -c 32 /dev/zero >"$H/other.key"
"$PYTHON" "$top_srcdir/tests/integration/webhook-check.py" "$SRV" \
    "$H/other.key" /ok/a >/dev/null 2>&1 &&
    harness_fail "the receiver's check accepted a wrong key"

# ---- a failed delivery is sent again, then nothing twice ---------------------------
config "$BASE/ok/a" "$BASE/flaky/f"
out=$(notify --once 2>&1) || harness_fail "notify --once (new flaky URL): $out"
echo 1 >"$SRV/fail.f"
first=$(($(last_id) + 1))
add_events 3
out=$(notify --once 2>&1) && harness_fail "--once said success though a URL failed"
harness_assert_contains "$out" "failing"
harness_assert_contains "$out" "HTTP status 500"
harness_assert_not_contains "$out" "sha256="
harness_assert_eq "500 $first-$((first + 2))" "$(check /flaky/f | grep '^[0-9]')" \
    "the failed attempt"
harness_assert_eq "$((first - 1))" "$(cursor "$BASE/flaky/f")" \
    "cursor kept after a failure"
harness_assert_contains "$(delivered /ok/a)" "$first $((first + 1)) $((first + 2))"
out=$(notify --once 2>&1) || harness_fail "notify --once (retry): $out"
harness_assert_eq "500 $first-$((first + 2))
200 $first-$((first + 2))" "$(check /flaky/f | grep '^[0-9]')" \
    "the same batch again"
harness_assert_eq "$first $((first + 1)) $((first + 2))" \
    "$(delivered /flaky/f)" "delivered once"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
harness_assert_eq 2 "$(requests /flaky/f)" "nothing duplicated after success"

# ---- a dead URL and a redirect hold nobody up; no redirect is followed -----------
config "$DEAD" "$BASE/redirect" "$BASE/ok/a"
out=$(notify --once 2>&1)
# The first round only starts the new URLs' cursors.
first=$(($(last_id) + 1))
add_events 2 "'old'" 1000
out=$(notify --once 2>&1) && harness_fail "--once succeeded with a dead URL"
harness_assert_contains "$out" "http://127.0.0.1:1"
harness_assert_not_contains "$out" "/dead"
harness_assert_contains "$(delivered /ok/a)" "$first $((first + 1))"
harness_assert_eq "302 $first-$((first + 1))" "$(check /redirect | grep '^[0-9]')" \
    "the redirect is an answer, not 2xx"
harness_assert_eq 0 "$(grep -c '"/target"' "$SRV/requests.jsonl")" \
    "the redirect was not followed"
harness_assert_eq "$((first - 1))" "$(cursor "$BASE/redirect")" \
    "no progress on a redirect"
out=$(status)
harness_assert_contains "$out" "PROBLEM  webhook #1 http://127.0.0.1:1: behind: 2 event(s)"
harness_assert_contains "$out" "webhook #3 http://127.0.0.1:$PORT: up to date"
# A URL taken out of the configuration keeps its cursor.
config "$BASE/ok/a"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
harness_assert_eq "$((first - 1))" "$(cursor "$DEAD")" "a removed URL's cursor stays"

# ---- the service: retries with backoff, one line per change, SIGTERM --------------
config "$BASE/ok/a" "$BASE/flaky/g"
out=$(notify --once 2>&1) || harness_fail "notify --once: $out"
echo 2 >"$SRV/fail.g"
"$TUNL_ADMIN" notify -f "$RELAY_CONF" >"$H/notify.log" 2>&1 &
pid=$!
harness_track $pid
first=$(($(last_id) + 1))
add_events 4
want="$first $((first + 1)) $((first + 2)) $((first + 3))"
# Backoff is 2 s, then 4 s: the limit is for a broken build only.
harness_wait 60 "delivery to a recovering URL" \
    notify_and $pid "$H/notify.log" delivered_is /flaky/g "$want"
# The cursors move after the answer is taken (and logged), so from here
# the log holds every line about these deliveries.
harness_wait 30 "the recovered URL's cursor" \
    cursor_is "$BASE/flaky/g" "$((first + 3))"
harness_wait 30 "the healthy URL's cursor" cursor_is "$BASE/ok/a" "$((first + 3))"
harness_assert_contains "$(delivered /ok/a)" "$want"
harness_assert_eq "500 $first-$((first + 3))
500 $first-$((first + 3))
200 $first-$((first + 3))" "$(check /flaky/g | grep '^[0-9]')" \
    "two failures, then the same batch delivered"
harness_assert_eq 1 "$(grep -c 'failing' "$H/notify.log")" "one line on failing"
harness_assert_eq 1 "$(grep -c 'recovered after 2 failed' "$H/notify.log")" \
    "one line on recovery"
stop_notify $pid
harness_assert_contains "$(cat "$H/notify.log")" "stopping on a signal"

# ---- the cursor survives a restart: only what came while it was down -----------
n_ok=$(requests /ok/a)
first=$(($(last_id) + 1))
add_events 2
"$TUNL_ADMIN" notify -f "$RELAY_CONF" >"$H/notify2.log" 2>&1 &
pid=$!
harness_track $pid
# Both cursors at the end: every delivery is answered, so SIGTERM below
# cuts nothing short.
harness_wait 60 "delivery after the restart" \
    notify_and $pid "$H/notify2.log" cursor_is "$BASE/flaky/g" "$((first + 1))"
harness_wait 30 "the healthy URL's cursor after the restart" \
    cursor_is "$BASE/ok/a" "$((first + 1))"
harness_assert_eq 4 "$(requests /flaky/g)" "one more request to the flaky URL"
harness_assert_eq "200 $first-$((first + 1))" \
    "$(check /flaky/g | grep '^[0-9]' | tail -n 1)" "only the new events"
harness_assert_eq "$((n_ok + 1))" "$(requests /ok/a)" "one more request"
stop_notify $pid
harness_assert_contains "$(status)" "up to date"

# ---- a locked registry: delivered once, the cursor moves when it can ----------
# While another process holds the write lock, notify still reads and
# delivers, cannot move the cursors, and says so in one line; once the
# lock is gone the cursors move, nothing is sent again, and one line says
# the registry is usable again.
n_ok=$(requests /ok/a)
n_g=$(requests /flaky/g)
first=$(($(last_id) + 1))
add_events 2
# Another process holds the write lock until $H/release appears.
"$PYTHON" -c '
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2] + "/locked", "w").close()
while not os.path.exists(sys.argv[2] + "/release"):
    time.sleep(0.05)
db.execute("COMMIT")
' "$RELAY_DB" "$H" &
locker=$!
harness_track $locker
locked() {
	[ -e "$H/locked" ] && return 0
	harness_alive $locker || harness_fail "the locker exited before locking"
	return 1
}
harness_wait 60 "the registry to be locked" locked
"$TUNL_ADMIN" notify -f "$RELAY_CONF" >"$H/notify3.log" 2>&1 &
pid=$!
harness_track $pid
# Logged once a delivery is made and its cursor cannot move: both URLs
# are then tried in the same round, so wait for both requests too.
harness_wait 60 "notify to notice the lock" \
    notify_and $pid "$H/notify3.log" log_has "$H/notify3.log" 'registry busy'
requests_are() {
	[ "$(requests /ok/a)" = "$1" ] && [ "$(requests /flaky/g)" = "$2" ]
}
harness_wait 60 "a delivery to each URL under the lock" \
    notify_and $pid "$H/notify3.log" requests_are $((n_ok + 1)) $((n_g + 1))
harness_assert_eq "$((first - 1))" "$(cursor "$BASE/ok/a")" "cursor not moved yet"
harness_assert_eq "$((first - 1))" "$(cursor "$BASE/flaky/g")" \
    "the other cursor not moved yet"
harness_assert_not_contains "$(cat "$H/notify3.log")" "usable again" \
    "usable again while the lock is held"
touch "$H/release"
wait $locker
harness_assert_eq 0 $? "the locker's exit status"
harness_wait 60 "the cursors to move after the lock" notify_and $pid \
    "$H/notify3.log" cursor_is "$BASE/ok/a" "$((first + 1))"
harness_wait 60 "the other cursor to move after the lock" notify_and $pid \
    "$H/notify3.log" cursor_is "$BASE/flaky/g" "$((first + 1))"
# Said after the first round with no registry trouble, so after the
# moves above: from then on the log holds every line about the lock.
harness_wait 60 "a line when the registry came back" \
    notify_and $pid "$H/notify3.log" log_has "$H/notify3.log" 'registry usable again'
harness_assert_eq "$((n_ok + 1))" "$(requests /ok/a)" "nothing sent twice"
harness_assert_eq "$((n_g + 1))" "$(requests /flaky/g)" "nothing sent twice (other URL)"
harness_assert_contains "$(delivered /ok/a)" "$((first - 1)) $first $((first + 1))" \
    "no event lost"
harness_assert_eq "200 $first-$((first + 1))" \
    "$(check /flaky/g | grep '^[0-9]' | tail -n 1)" "no event lost (other URL)"
# One line when the trouble starts, one when it ends, whatever the
# number of rounds the lock was held across.
harness_assert_eq 1 "$(grep -c 'registry busy' "$H/notify3.log")" "one line when busy"
harness_assert_eq 1 "$(grep -c 'registry usable again' "$H/notify3.log")" \
    "one line when usable again"
stop_notify $pid

harness_host_unchanged
exit 0
