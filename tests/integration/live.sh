#!/bin/sh
# Live sharing end to end through a real sshd with the shipped drop-in:
# the customer's side is the broker's test-producer speaking the protocol
# over `ssh tunl@relay produce` (a session certificate from the relay's
# CA, the real tunl-principals); engineers run `ssh -t support@relay join`
# in panes of a private tmux server; tunl-shell starts the real
# tunl-broker, installed as docs/broker.md says (tunl-broker:tunl 4750).
#
# Covered: both engineers see the output; only the read-write one's keys
# reach the customer; a late joiner gets the current screen; hostile
# escape sequences never reach an engineer's terminal (raw pane log, the
# pane's title, tmux's clipboard); malformed and oversized frames from
# the customer get FRAME_ERROR and the session goes on; the customer's
# connection drops and comes back within the grace period with the
# engineers still there; a stopped engineer does not stall the producer
# or the other engineer and is resynchronised or dropped with a message;
# the detach key; cast equals the recording and parses; replay shows the
# recorded text; SIGKILL of the broker ends the session: the joins end
# with a message, the registry says "broker died", the recording parses.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init live
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "the customer's login goes through pam_tunl, and a sanitizer build's pam_tunl.so cannot load into the stock sshd (test-pam covers it under ASan)"
for c in setpriv sqlite3 python3 tmux; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
[ "$HARNESS_SAFE_TREE" = yes ] ||
    harness_skip "needs a tree only root can write (set HARNESS_TMPDIR)"
. "$top_srcdir/tests/integration/relay.sh"
BROKER=$top_builddir/tunl-broker
TPROD=$top_builddir/tests/helpers/test-producer
SOCKEXEC=$top_builddir/tests/helpers/sock-exec
[ -x "$BROKER" ] && [ -x "$TPROD" ] ||
    harness_skip "tunl-broker and tests/helpers/test-producer are not built here"
[ -x "$SOCKEXEC" ] && [ -x "$top_builddir/tunl-shell" ] ||
    harness_fail "programs not built"

relay_config "producer_grace = 60" "log_level = debug" \
    "consumer_backlog = 4M"
# pam_tunl's session stage gives the certificate login its login key,
# which tunl-authority admit needs before the broker takes a producer.
relay_customer_login alice bob carol dave

# ---- the session and the customer's certificate -----------------------------
S=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
now=$(date +%s)
relay_sql "INSERT INTO sessions (id, state, mode, case_ref, customer, host,
    engineer, created, expires) VALUES ('$S', 'pending', 'share', 'CS-9',
    'acme', 'customer.example', 'alice', $now, $((now + 3600)));" ||
    harness_fail "insert the session"
relay_cert cust
REC=$H/var/log/tunl/$S.cast

# ---- engineers in tmux ---------------------------------------------------------
TMUX_SOCK=tunl-live-$$
tm() {
	tmux -L "$TMUX_SOCK" -f /dev/null "$@"
}
# pane NAME ENGINEER CMD...: a window running ssh -t, then its status.
pane() {
	_pn=$1
	_pe=$2
	shift 2
	if tm has-session 2>/dev/null; then
		tm new-window -d -n "$_pn"
	else
		tm new-session -d -s live -n "$_pn" -x 100 -y 30
		tm set -g default-size 100x30 2>/dev/null
		tm set -g remain-on-exit on
		tm set -g set-clipboard on
		tm set -g allow-rename on
		tm set -g history-limit 0
		harness_track "$(tm display -p '#{pid}')"
	fi
	tm pipe-pane -t "live:$_pn" "cat >>$H/raw-$_pn.log"
	tm send-keys -t "live:$_pn" "exec sh -c '$SSH -o IdentityFile=$H/client/$_pe -t support@127.0.0.1 $*; echo \"exit=\$?\"; sleep 600'" Enter
}
screen() {
	tm capture-pane -p -J -t "live:$1"
}
# wait_screen NAME TEXT [SECS]
wait_screen() {
	_wt=$(( ${3:-60} * 5 ))
	while [ $_wt -gt 0 ]; do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.2
		_wt=$((_wt - 1))
	done
	screen "$1" >&2
	harness_fail "pane $1 never showed [$2]"
}
# The ssh client of a pane (the pane's shell execs sh -c, which runs ssh).
ssh_pid() {
	_pp=$(tm display -p -t "live:$1" '#{pane_pid}')
	for _c in /proc/[0-9]*; do
		[ "$(awk '{ print $4 }' "$_c/stat" 2>/dev/null)" = "$_pp" ] &&
		    [ "$(readlink "$_c/exe" 2>/dev/null)" = "$(command -v ssh)" ] &&
		    { echo "${_c#/proc/}"; return 0; }
	done
	return 1
}

# screen_has NAME TEXT: whether pane NAME shows TEXT now.
screen_has() {
	screen "$1" | grep -qF -- "$2"
}
# raw_count NAME TEXT: how many times TEXT was sent to pane NAME so far.
raw_count() {
	LC_ALL=C grep -aoF -- "$2" "$H/raw-$1.log" 2>/dev/null | wc -l
}
raw_more() {
	[ "$(raw_count "$1" "$2")" -gt "$3" ]
}
# roundtrip NAME: once it returns, the broker has handled everything pane
# NAME's join sent before. The pane is made smaller than the session, so
# the join sends a resize (behind anything it queued before) and the
# broker answers that the terminal is too small; then the size goes back.
roundtrip() {
	_rtn=$(raw_count "$1" "tunl: your terminal is")
	_rts=$(tm display -p -t "live:$1" '#{window_width} #{window_height}')
	tm resize-window -t "live:$1" -y 6
	harness_wait 60 "the broker's answer to pane $1's resize" \
	    raw_more "$1" "tunl: your terminal is" "$_rtn"
	tm resize-window -t "live:$1" -x "${_rts% *}" -y "${_rts#* }"
}

cleanup_tmux() {
	tm kill-server 2>/dev/null
	return 0
}

# ---- join before a producer: not live ------------------------------------
out=$(harness_ssh_key support alice -tt join "$S" </dev/null 2>&1)
harness_assert_contains "$out" "tunl: session $S is not live"

# ---- the producer comes; two engineers join ----------------------------------
mkfifo "$H/feed"
exec 7<>"$H/feed"
relay_produce 1 cust "$H/feed" -i -e
P1=$PRODN
S1=$SSHN
relay_wait_grep "$H/prod1.log" "snapreq"
pane rw alice join "$S"
# Bob joins once alice is in: the list is in the order of joining.
wait_screen rw "watching: alice"
pane ro bob join "$S" --read-only
wait_screen rw "watching: alice, bob (ro)"
wait_screen ro "watching: alice, bob (ro)"
wait_screen ro "read-only"
harness_assert_eq active "$(sql "SELECT state FROM sessions WHERE id = '$S';")"

printf 'hello-from-customer-1\r\n' >&7
wait_screen rw hello-from-customer-1
wait_screen ro hello-from-customer-1

# ---- keys: only the read-write engineer's reach the customer ----------------
tm send-keys -t live:rw -l 'typed-by-alice'
relay_wait_grep "$H/prod1.log" "keys pane=0 from=alice data=typed-by-alice"
# The producer echoes keys as output: both see alice's, nobody bob's.
wait_screen ro typed-by-alice
tm send-keys -t live:ro -l 'typed-by-bob'
# A notice stays 5 s: the raw log keeps it for a slow look.
relay_wait_grep "$H/raw-ro.log" "your keys are not sent"
# Anything bob's join sent went to the broker before its answer to his
# resize; anything the broker passed on went to the producer before
# alice's next keys: once those are in, bob's would be too.
roundtrip ro
alice_keys() {
	grep -c 'from=alice' "$H/prod1.log"
}
alice_more() {
	[ "$(alice_keys)" -gt "$a0" ]
}
a0=$(alice_keys)
tm send-keys -t live:rw -l 'sync-by-alice'
harness_wait 60 "alice's keys after bob's" alice_more
grep -q 'typed-by-bob' "$H/prod1.log" && harness_fail "a read-only key reached the customer"
grep -q 'from=bob' "$H/prod1.log" && harness_fail "bob's keys reached the customer"

# ---- a late joiner starts from the current screen --------------------------
printf 'current-screen-line\r\n' >&7
wait_screen rw current-screen-line
pane late carol join "$S" --read-only
wait_screen late current-screen-line
wait_screen rw "carol (ro)"

# ---- the hostile corpus never reaches a terminal ------------------------------
title_before=$(tm display -p -t live:ro '#{pane_title}')
if [ -d "$top_srcdir/tests/vtfilter" ]; then
	for f in "$top_srcdir"/tests/vtfilter/*.in; do
		case $f in */input-*) continue ;; esac
		cat "$f" >&7
	done
fi
# The corpus may leave allowed modes set (no autowrap, line drawing,
# insert mode): put them back, as any program would, before the marker.
printf '\033[?7h\033[4l\033[0m\033(B\017\033[r\r\n' >&7
printf '\033]52;c;cHduZWQ=\007\033]0;pwned-title\007\033]8;;http://x/\033\\link\033]8;;\033\\\033P+q544e\033\\\033[c\033[6n\033]1337;File=x\007\005after-hostile\r\n' >&7
wait_screen ro after-hostile
wait_screen rw after-hostile
for p in rw ro late; do
	raw=$H/raw-$p.log
	# tmux copies what a pane was sent to its log a moment after it is
	# shown: everything up to the marker is there once the marker is.
	relay_wait_grep "$raw" after-hostile
	for bad in '\]52;' '\]0;' '\]2;' '\]8;' '\]1337' 'P\+q' '\[c' '\[6n' \
	    '\[>c' '\[21t' '\]10;\?' '\[\?1000h' '\[\?2004h' '_G'; do
		if LC_ALL=C grep -aq "$(printf '\033')$bad" "$raw"; then
			harness_fail "pane $p received ESC$bad"
		fi
	done
	LC_ALL=C grep -aq "$(printf '\005')" "$raw" &&
	    harness_fail "pane $p received ENQ"
done
harness_assert_eq "$title_before" "$(tm display -p -t live:ro '#{pane_title}')" \
    "the pane's title"
harness_assert_eq "" "$(tm list-buffers)" "tmux clipboard buffers"
harness_assert_not_contains "$(screen ro)" "pwned-title"

# ---- bad frames from the customer: an error each, the session goes on -------
# The first producer leaves; a second comes within the grace period with a
# resize of its own window (allowed: 100x30), a frame of an unknown type,
# a keys frame (relay-bound only), a malformed output frame (empty) and an
# oversized one; then real output.
kill "$S1" 2>/dev/null
wait "$S1" 2>/dev/null
exec 7>&-
wait "$P1" 2>/dev/null
# The broker tells the engineers it waits for the customer; a join that
# ended with the producer would have ended by then.
relay_wait_grep "$H/raw-rw.log" "tunl: customer reconnecting"
screen rw | grep -q "exit=" && harness_fail "alice's join ended with the producer"
mkfifo "$H/feed2"
exec 7<>"$H/feed2"
relay_produce 2 cust "$H/feed2" -i -e -X 300000 -x 00000005220064001e0000000299ff00000001210000000110
P2=$PRODN
S2=$SSHN
relay_wait_grep "$H/prod2.log" "error 3 frame type 0x99"
# Errors come back in order: none for the resize before the 0x99 frame.
grep -q 'frame type 0x22' "$H/prod2.log" &&
    harness_fail "the customer's own resize was refused"
relay_wait_grep "$H/prod2.log" "error 3 frame type 0x21"
relay_wait_grep "$H/prod2.log" "error 2 malformed"
relay_wait_grep "$H/prod2.log" "error 4 frame of 300001 bytes, over 262144, skipped"
printf 'second-producer-here\r\n' >&7
wait_screen rw second-producer-here
wait_screen ro second-producer-here
harness_assert_not_contains "$(screen rw)" "exit="

# ---- one engineer stops reading; nobody else waits --------------------------
BOBSSH=$(ssh_pid ro) || harness_fail "no ssh process for bob's pane"
kill -STOP "$BOBSSH"
# 24 MB in chunks of 400 kB: bob's 4 MB backlog and what ssh and the
# kernel hold for him overflow many times over. Each chunk goes once alice
# and carol show the one before, so the engineers who read are never more
# than about a megabyte behind however slow the machine (at a fixed pace a
# loaded machine's tmux fell behind and had alice dropped, which is the
# broker doing its job, not what this part tests). A producer held up by
# bob shows as a chunk that never reaches them.
#
# Bob's client goes on once the broker has resynchronised or dropped him
# (its registry event), while the flood still flows. Not later: a dropped
# view's connection is closed 30 s after the drop and his join's last
# words wait 2 s for a terminal that reads (docs/broker.md), so a client
# stopped for the whole flood (slower than that on a loaded machine) was
# never told.
bob_event() {
	[ -n "$(sql "SELECT action FROM events WHERE session_id = '$S' AND actor = 'bob' AND action IN ('resync', 'drop');")" ]
}
BOBSTOPPED=yes
bob_go_on() {
	[ -n "$BOBSTOPPED" ] || return 0
	kill -CONT "$BOBSSH"
	BOBSTOPPED=
}
cr=$(printf '\r')
i=0
while [ $i -lt 60 ]; do
	bob_event && bob_go_on
	if [ $i -gt 0 ]; then
		for p in rw late; do
			harness_wait 120 "flood chunk $((i - 1)) in pane $p (the producer stalled?)" \
			    screen_has $p "flood line $((i - 1)) for"
		done
	fi
	yes "flood line $i for the slow-engineer test: the quick brown fox$cr" |
	    head -c 400000 >&7
	i=$((i + 1))
done
printf 'after-the-flood\r\n' >&7
wait_screen rw after-the-flood 120
wait_screen late after-the-flood 120
# The broker's registry calls are made by children of its own, in order,
# just after the notice: the write may come a moment later.
harness_wait 120 "a resync or drop event for bob" bob_event
bob_go_on
# The notice is on his screen for 5 s only: look in what his pane was sent.
bob_told() {
	LC_ALL=C grep -aqE 'resynchronising|tunl: disconnected' "$H/raw-ro.log"
}
harness_wait 120 "bob to be told he was resynchronised or dropped" bob_told

# ---- the detach key -----------------------------------------------------------
pane det dave join "$S" --read-only
wait_screen det "watching:"
tm send-keys -t live:det C-] d
wait_screen det "tunl: detached from $S"
wait_screen det "exit=0"

# ---- replay, cast ----------------------------------------------------------------
# The recording is written a moment after the output goes out: wait until
# it holds the last output, in whole lines, so that cast (which copies the
# file as it is) gets them all.
rec_has() {
	python3 - "$REC" "$1" <<'EOF' 2>/dev/null
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8")
lines = data.split("\n")
assert data.endswith("\n")
out = "".join(e[2] for e in map(json.loads, lines[1:-1]) if e[1] == "o")
sys.exit(0 if sys.argv[2] in out else 1)
EOF
}
harness_wait 60 "the recording $REC to hold after-the-flood" rec_has after-the-flood
harness_ssh_key support alice cast "$S" </dev/null >"$H/cast.out" 2>"$H/err" ||
    harness_fail "cast: $(cat "$H/err")"
[ -s "$H/cast.out" ] || harness_fail "cast wrote nothing"
head -c "$(stat -c %s "$H/cast.out")" "$REC" | cmp -s - "$H/cast.out" ||
    harness_fail "cast output is not the recording"
python3 - "$H/cast.out" <<'EOF' || harness_fail "cast output is not asciicast v2"
import json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").split("\n")
if lines[-1] == "":
    lines.pop()
h = json.loads(lines[0])
assert h["version"] == 2 and h["width"] > 0, h
for l in lines[1:]:
    e = json.loads(l)
    assert e[1] in ("o", "r"), e
EOF
harness_ssh_key support alice replay "$S" </dev/null >"$H/replay.out" 2>"$H/err" ||
    harness_fail "replay without a terminal: $(cat "$H/err")"
grep -q hello-from-customer-1 "$H/replay.out" ||
    harness_fail "replay output lacks the recorded text"
LC_ALL=C grep -aq "$(printf '\033')]52;" "$H/replay.out" &&
    harness_fail "replay passed OSC 52"
# At 16 times the speed it may be over before a capture: the pane's raw
# log holds what was drawn.
pane rep alice replay "$S" --speed 16
relay_wait_grep "$H/raw-rep.log" hello-from-customer-1
wait_screen rep "tunl: replayed $S.cast" 60

# ---- the broker is killed: the session ends cleanly --------------------------
BPID=
for c in /proc/[0-9]*; do
	[ "$(readlink "$c/ns/mnt" 2>/dev/null)" = "$HARNESS_NS" ] || continue
	cmd=$(tr '\0' ' ' <"$c/cmdline" 2>/dev/null)
	case $cmd in
	"$H/libexec/tunl-broker -s $S ") BPID=${c#/proc/} ;;
	esac
done
[ -n "$BPID" ] || harness_fail "cannot find the session's broker"
kill -KILL "$BPID"
wait_screen rw "ended: the relay's broker stopped"
wait_screen rw "exit=1"
wait_screen late "exit="
# Whichever of tunl-shell's processes sees the broker gone first records
# it; that may come a moment after the engineers' panes have shown it.
ended() {
	[ "$(sql "SELECT state FROM sessions WHERE id = '$S';")" = ended ]
}
harness_wait 60 "the registry to say the session ended" ended
harness_assert_eq ended "$(sql "SELECT state FROM sessions WHERE id = '$S';")"
harness_assert_contains "$(sql "SELECT detail FROM events WHERE session_id = '$S' AND action = 'ended';")" \
    "broker died"
# Put down to the broker's death, not to the engineer who noticed it.
harness_assert_eq broker "$(sql "SELECT actor FROM events WHERE session_id = '$S' AND action = 'ended';")" \
    "who ended the session"
harness_assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE session_id = '$S' AND action = 'broker-died';")" \
    "the broker-died event"
relay_wait_grep "$H/prod2.log" "broker stopped"
python3 - "$REC" <<'EOF' || harness_fail "the recording does not parse after the kill"
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8")
lines = data.split("\n")
# Complete lines only: a torn last line is all a kill may leave.
if not data.endswith("\n"):
    lines.pop()
elif lines[-1] == "":
    lines.pop()
json.loads(lines[0])
for l in lines[1:]:
    json.loads(l)
assert any("hello-from-customer-1" in l for l in lines)
EOF
# The terminal came back: the panes' shells print after the joins.
harness_assert_contains "$(screen rw)" "exit=1"
out=$(harness_ssh_key support alice -tt join "$S" </dev/null 2>&1)
harness_assert_contains "$out" "tunl: session $S is not live"

exec 7>&-
cleanup_tmux
harness_stop
harness_host_unchanged
harness_log "passed"
exit 0
