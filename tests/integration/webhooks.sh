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

python3 "$top_srcdir/tests/integration/webhook-server.py" "$SRV" \
    >"$H/server.log" 2>&1 &
harness_track $!
i=0
while [ ! -s "$SRV/port" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "the receiver did not start: $(cat "$H/server.log")"
	sleep 0.1
done
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
	python3 "$top_srcdir/tests/integration/webhook-check.py" "$SRV" \
	    "$KEY" "$1" || harness_fail "a request to $1 fails the receiver's checks"
}

delivered() {
	check "$1" | sed -n 's/^delivered: *//p'
}

requests() {
	check "$1" | grep -c '^[0-9][0-9]* ' || true
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
python3 "$top_srcdir/tests/integration/webhook-check.py" "$SRV" \
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
i=0
until [ "$(delivered /flaky/g)" = "$want" ]; do
	i=$((i + 1))
	[ $i -le 600 ] || harness_fail "the service did not deliver to a recovering URL: $(cat "$H/notify.log")"
	sleep 0.1
done
harness_assert_contains "$(delivered /ok/a)" "$want"
harness_assert_eq "500 $first-$((first + 3))
500 $first-$((first + 3))
200 $first-$((first + 3))" "$(check /flaky/g | grep '^[0-9]')" \
    "two failures, then the same batch delivered"
harness_assert_eq 1 "$(grep -c 'failing' "$H/notify.log")" "one line on failing"
harness_assert_eq 1 "$(grep -c 'recovered after 2 failed' "$H/notify.log")" \
    "one line on recovery"
i=0
until [ "$(cursor "$BASE/flaky/g")" = "$((first + 3))" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || harness_fail "the cursor did not move"
	sleep 0.1
done
kill -TERM $pid
i=0
while harness_alive $pid; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "notify did not stop on SIGTERM"
	sleep 0.1
done
wait $pid
harness_assert_eq 0 $? "exit status after SIGTERM"
harness_assert_contains "$(cat "$H/notify.log")" "stopping on a signal"

# ---- the cursor survives a restart: only what came while it was down -----------
n_ok=$(requests /ok/a)
first=$(($(last_id) + 1))
add_events 2
"$TUNL_ADMIN" notify -f "$RELAY_CONF" >"$H/notify2.log" 2>&1 &
pid=$!
harness_track $pid
i=0
until [ "$(requests /flaky/g)" -ge 4 ] && [ "$(requests /ok/a)" -gt "$n_ok" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "no delivery after the restart: $(cat "$H/notify2.log")"
	sleep 0.1
done
harness_assert_eq "200 $first-$((first + 1))" \
    "$(check /flaky/g | grep '^[0-9]' | tail -n 1)" "only the new events"
harness_assert_eq "$((n_ok + 1))" "$(requests /ok/a)" "one more request"
kill -TERM $pid
wait $pid
harness_assert_eq 0 $? "exit status after SIGTERM"
harness_assert_contains "$(status)" "up to date"

# ---- a locked registry: delivered once, the cursor moves when it can ----------
n_ok=$(requests /ok/a)
first=$(($(last_id) + 1))
add_events 2
# Another process holds the write lock until $H/release appears.
python3 -c '
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
i=0
until [ -e "$H/locked" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "could not lock the registry"
	sleep 0.1
done
"$TUNL_ADMIN" notify -f "$RELAY_CONF" >"$H/notify3.log" 2>&1 &
pid=$!
harness_track $pid
i=0
until grep -q 'registry busy' "$H/notify3.log"; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "notify did not notice the lock: $(cat "$H/notify3.log")"
	sleep 0.1
done
harness_assert_eq "$((n_ok + 1))" "$(requests /ok/a)" "delivered under the lock"
harness_assert_eq "$((first - 1))" "$(cursor "$BASE/ok/a")" "cursor not moved yet"
touch "$H/release"
wait $locker
i=0
until [ "$(cursor "$BASE/ok/a")" = "$((first + 1))" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || harness_fail "the cursor did not move after the lock: $(cat "$H/notify3.log")"
	sleep 0.1
done
harness_assert_eq "$((n_ok + 1))" "$(requests /ok/a)" "nothing sent twice"
harness_assert_eq 1 "$(grep -c 'registry busy' "$H/notify3.log")" "one line when busy"
i=0
until grep -q 'registry usable again' "$H/notify3.log"; do
	i=$((i + 1))
	[ $i -le 100 ] || harness_fail "no line when the registry came back"
	sleep 0.1
done
kill -TERM $pid
wait $pid
harness_assert_eq 0 $? "exit status after SIGTERM"

harness_host_unchanged
exit 0
