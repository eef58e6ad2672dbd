#!/bin/sh
# Viewers who cannot keep up are resynchronised, never dropped while they
# read; only one that reads nothing for consumer_stuck seconds is
# disconnected, and its join says why.
#
# Through the real sshd, the real tunl-share and tmux on both ends, as in
# screens.sh. Three engineers watch one session while the customer's
# shell prints a burst of some 19 MB (`seq`):
#   alice  read-write, an ordinary terminal (a pane of the test's tmux);
#   bob    read-only, whose ssh client is stopped (SIGSTOP) from before
#          the burst until the broker says he fell behind, then goes on;
#   carol  read-only, whose ssh client's output goes through a reader
#          that takes 8 KiB every 40 ms (about 200 KB/s), slower than the
#          burst on any machine that runs this.
# consumer_backlog is the smallest allowed and consumer_stuck is long
# (60 s), so that bob's pause, which lasts only until the broker has
# acted, can never reach it however slow the machine is.
# Checked: nobody is dropped (no drop event, every join still runs), bob
# was resynchronised (a resync event), and every engineer's terminal ends
# showing exactly the customer's final screen, cursor included (tmux
# renders both: capture-pane of the engineer's pane, top-left, against
# the customer's shell pane).
#
# Then, with consumer_stuck = 2 for a new session: an engineer whose ssh
# client stays stopped while output flows is disconnected once the broker
# has found his connection taking nothing for 2 s (a drop event); when
# his client goes on, his join prints the reason and exits.
#
# Waits are for a condition, never for a duration.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: viewers-slow: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIP: viewers-slow: needs python3"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init viewers-slow
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_built
share_setup "consumer_backlog = 512K" "consumer_stuck = 60"

ctype() {
	cust send-keys -t tunl:0.0 -l "$1"
}
# trimmed W H: the top-left W x H of capture-pane output on stdin, each
# line's trailing spaces removed.
trimmed() {
	head -n "$2" | cut -c "1-$1" | sed 's/ *$//'
}
# same_screen NAME: the engineer's terminal (pane NAME of the test's tmux)
# shows the customer's shell pane, and the cursor is where the
# customer's is. The customer's pane is read twice and must not change
# in between.
same_screen() {
	_s1=$(cust display -p -t tunl:0.0 \
	    '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}') || return 1
	cust capture-pane -p -t tunl:0.0 >"$H/cust.cap" 2>/dev/null || return 1
	_s2=$(cust display -p -t tunl:0.0 \
	    '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}') || return 1
	[ "$_s1" = "$_s2" ] || return 1
	set -- "$1" $_s1
	trimmed "$2" "$3" <"$H/cust.cap" >"$H/cust.want"
	screen "$1" | trimmed "$2" "$3" >"$H/eng-$1.got"
	{ cat "$H/eng-$1.got"; yes '' | head -n "$3"; } | head -n "$3" \
	    >"$H/eng-$1.cmp"
	{ cat "$H/cust.want"; yes '' | head -n "$3"; } | head -n "$3" \
	    >"$H/cust.cmp"
	cmp -s "$H/cust.cmp" "$H/eng-$1.cmp" || return 1
	[ "$(tm display -p -t "e2e:$1" '#{cursor_x} #{cursor_y}')" = "$4 $5" ]
}
wait_same() {
	_name=$1
	harness_wait 300 "engineer pane $1 to show the customer's screen ($2)" \
	    same_screen "$1"
}
viewers_debug() {
	echo "---- engineer ${_name:-?} against the customer ----" >&2
	diff "$H/cust.cmp" "$H/eng-${_name:-x}.cmp" >&2 2>/dev/null
	share_debug
}
HARNESS_WAIT_DEBUG=viewers_debug
# client_of NAME: the pid of the ssh client pane NAME runs.
client_of() {
	_cp=$(tm display -p -t "e2e:$1" '#{pane_pid}') || return 1
	ps -o pid= -o comm= --ppid "$_cp" | awk '$2 == "ssh" { print $1; exit }'
}
# events ACTOR ACTION: how many such registry events this session has.
events() {
	relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND actor = '$1' AND action = '$2';"
}
has_event() {
	[ "$(events "$1" "$2")" -gt 0 ]
}
not_dropped() {
	for _e; do
		harness_assert_eq 0 "$(events "$_e" drop)" "drop events for $_e"
		screen "$_e" | grep -q 'exit=' &&
		    harness_fail "$_e's join ended"
	done
	return 0
}

# The slow reader: 8 KiB every 40 ms from its standard input to its output.
cat >"$H/slowcat.py" <<'EOF'
import os, sys, time
while True:
    d = os.read(0, 8192)
    if not d:
        break
    os.write(1, d)
    time.sleep(0.04)
EOF
chmod 0644 "$H/slowcat.py"

# ---- the customer and three engineers -----------------------------------------
share_start
pane alice "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen alice "watching: alice"
pane bob "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
wait_screen bob "bob (ro)"
pane carol "$SSH -o IdentityFile=$H/client/carol -tt support@127.0.0.1 join $ID --read-only | $PY $H/slowcat.py"
wait_screen carol "carol (ro)"
ctype 'echo before-burst-$((3*3))'
cust send-keys -t tunl:0.0 Enter
cust_wait_pane before-burst-9
for e in alice bob carol; do
	wait_same "$e" "before the burst"
done

# ---- the burst: bob paused, carol slow --------------------------------------------
BOB=$(client_of bob)
[ -n "$BOB" ] || harness_fail "no ssh client in bob's pane"
kill -STOP "$BOB"
ctype 'seq 1 2500000; echo burst-done-$((6*7))'
cust send-keys -t tunl:0.0 Enter
# Bob's client takes nothing; once the relay's buffers are full the broker
# resynchronises him, and he goes on reading.
harness_wait 300 "the broker to resynchronise bob" has_event bob resync
kill -CONT "$BOB"
cust_wait_pane burst-done-42
for e in alice bob carol; do
	wait_same "$e" "after the burst"
done
not_dropped alice bob carol
if has_event carol resync; then
	harness_log "carol (slow reader) was resynchronised $(events carol resync) time(s)"
else
	harness_log "note: carol's reader kept up with this burst"
fi
# One more line after the burst: everyone follows live output again.
ctype 'echo after-burst-$((7*7))'
cust send-keys -t tunl:0.0 Enter
cust_wait_pane after-burst-49
for e in alice bob carol; do
	wait_same "$e" "live again"
done
not_dropped alice bob carol
harness_assert_eq 0 "$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'drop';")" \
    "drop events"

tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
for e in alice bob carol; do
	wait_screen "$e" "exit="
done

# ---- a viewer that reads nothing is disconnected, and told why ---------------------
relay_config "producer_grace = 120" "consumer_backlog = 512K" "consumer_stuck = 2"
new
pane cust2 "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 2
pane stuck "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
wait_screen stuck "bob (ro)"
BOB=$(client_of stuck)
[ -n "$BOB" ] || harness_fail "no ssh client in the stuck pane"
kill -STOP "$BOB"
ctype 'seq 1 2500000; echo flood-done-$((8*8))'
cust send-keys -t tunl:0.0 Enter
harness_wait 300 "the broker to disconnect bob" has_event bob drop
kill -CONT "$BOB"
wait_screen stuck "nothing read for 2 seconds"
wait_screen stuck "exit="
cust_wait_pane flood-done-64

share_finish
