#!/bin/sh
# tunl-broker: one producer and several consumers through a real broker
# (no sshd): output to every consumer byte for byte, keys only from
# read-write engineers, late joiners start from a snapshot, resize
# follows the smallest read-write engineer, bad frames get an error and
# the session goes on, the wrong accounts and one consumer too many are
# refused, a second broker exits 3, the producer may come back within
# the grace period, and SIGTERM ends the session cleanly.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init broker
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

broker_setup "max_consumers = 4" "producer_grace = 20"
S=aardvark-abide-ability-able
broker_session "$S"
broker_start "$S"
B=$BPID
BLOG=$H/broker-$S.log

state_is() {
	[ "$(relay_sql "SELECT state FROM sessions WHERE id = '$S';")" = "$1" ]
}

viewers_are() {
	[ "$(relay_sql "SELECT viewers FROM sessions WHERE id = '$S';")" = "$1" ]
}

# size_at_least FILE BYTES
size_at_least() {
	[ "$(fsize "$1")" -ge "$2" ]
}

both_have() {
	size_at_least "$T/alice.out" "$1" && size_at_least "$T/bob.out" "$1"
}

# ---- the socket, the identity and the sandbox -------------------------------
harness_assert_eq "tunl-broker:tunl 660" \
    "$(relay_in_ns stat -c '%U:%G %a' "$(sock_of "$S")")" "socket owner and mode"
st=$(cat "/proc/$B/status")
harness_assert_contains "$st" "NoNewPrivs:	1"
harness_assert_contains "$st" "Seccomp:	2"
# Every thread (the loop, the recording's writer and sync threads) is filtered.
nt=0
for t in /proc/$B/task/*; do
	ts=$(cat "$t/status")
	harness_assert_contains "$ts" "NoNewPrivs:	1"
	harness_assert_contains "$ts" "Seccomp:	2"
	nt=$((nt + 1))
done
harness_assert_eq 3 "$nt" "threads: the loop, the recording's writer and its sync"
harness_assert_eq "$HARNESS_UID_BROKER" \
    "$(awk '/^Uid:/ { print $2 $3 $4 $5 == $2 $2 $2 $2 ? $2 : "mixed" }' \
    "/proc/$B/status")" "broker runs as tunl-broker only"
harness_assert_eq "$HARNESS_GID_TUNL" "$(awk '/^Groups:/ { print $2 }' \
    "/proc/$B/status")" "relay group only"

# ---- a second broker for the session exits 3 --------------------------------
out=$(relay_in_ns "$BROKER" -F -f "$RELAY_CONF" -s "$S" 2>&1)
harness_assert_eq 3 $? "second broker's exit status"
harness_assert_contains "$out" "already has a broker"

# ---- two consumers wait; the producer comes and streams ---------------------
consumer support "$S" alice -c 100x30 -o "$T/alice.out" -l "$T/alice.log" \
    -n "$T/alice.notes" -k 'echo hi'
ALICE=$!
wait_grep "$T/alice.log" "viewers 1 alice:rw"
consumer support "$S" bob -r -c 60x20 -o "$T/bob.out" -l "$T/bob.log" \
    -n "$T/bob.notes" -k 'rm -rf /'
BOB=$!
wait_grep "$T/alice.log" "waiting for the customer"
wait_grep "$T/bob.log" "viewers 2 alice:rw bob:ro"
producer tunl "$S" -n 300000 -o "$T/sent" -l "$T/prod.log" -d "$T/prod.done"
PROD=$!
wait_grep "$T/prod.done" "done 300000"
wait_grep "$T/prod.log" "keys pane=0 from=alice data=echo hi"
# The broker's registry calls are made in order by children of its own,
# just after the hello.
harness_wait 60 "the session to be marked active" state_is active
harness_wait 60 "all output at both consumers" both_have 300000
cmp "$T/sent" "$T/alice.out" || harness_fail "alice's output differs"
cmp "$T/sent" "$T/bob.out" || harness_fail "bob's output differs"

# Keys: alice's arrive tagged with her name; bob's (read-only) never.
# Once the broker says it dropped bob's keys they can no longer arrive.
wait_grep "$BLOG" "key bytes dropped (read-only)"
harness_assert_not_contains "$(cat "$T/prod.log")" "from=bob"
harness_assert_not_contains "$(cat "$T/prod.log")" "rm -rf"
# The customer sees who is watching, and how.
wait_grep "$T/prod.log" "viewers 2 alice:rw bob:ro"

# Resize: the read-write engineer's size; bob (read-only) never counts.
wait_grep "$T/prod.log" "resize 100x30"
harness_assert_not_contains "$(cat "$T/prod.log")" "resize 60x20"
wait_grep "$T/bob.notes" "your terminal is 60x20, the session is 80x24"
consumer support "$S" dave -c 90x40 -l "$T/dave.log"
DAVE=$!
wait_grep "$T/prod.log" "resize 90x30"
wait_grep "$T/prod.log" "status dave joined read-write"
wait_grep "$T/prod.log" "viewers 3 alice:rw bob:ro dave:rw"

# ---- a late joiner gets the screen first -----------------------------------------
last=$(tail -n 1 "$T/sent" | tr -d '\r\n')
consumer support "$S" carol -r -p "$T/carol.snap" -l "$T/carol.log" -o "$T/carol.out"
CAROL=$!
wait_grep "$T/carol.snap" "$last"
first=$(grep -E '^(snapshot|output)' "$T/carol.log" | head -n 1)
case $first in
snapshot*) ;;
*) harness_fail "carol's first screen bytes were not a snapshot: $first" ;;
esac

# ---- one consumer too many is refused -----------------------------------------------
consumer support "$S" erin -l "$T/erin.log"
wait_grep "$T/erin.log" "error 7 session full"
wait_grep "$T/erin.log" "eof"
# The registry knows how many watch (`list` shows it).
harness_wait 60 "4 viewers recorded in the registry" viewers_are 4

# ---- wrong accounts and roles are refused ---------------------------------------------
consumer tunl "$S" mallory -l "$T/mallory.log"
wait_grep "$T/mallory.log" "error 5 this account may not join"
producer support "$S" -l "$T/fakeprod.log"
wait_grep "$T/fakeprod.log" "error 5 this account may not produce"
# The customer account's uid alone is not enough: a producer's connection
# must come from tunl-authority admit (its effective group is the key
# group). Any other process of the account is refused, busy or not.
unadmitted_producer tunl "$S" -l "$T/unadmitted.log"
wait_grep "$T/unadmitted.log" "error 5 a producer must be admitted by tunl-authority"
wait_grep "$BLOG" "refused: not opened by tunl-authority admit"
# Nor is the engineer account's uid: the name in a consumer's hello is
# believed only from tunl-authority admit, which took it from what sshd
# authenticated. A process of the account naming "mallory" is refused and
# leaves no trace of that name in the registry.
unadmitted_consumer support "$S" mallory -l "$T/mallory-eng.log"
wait_grep "$T/mallory-eng.log" "error 5 an engineer must be admitted by tunl-authority"
wait_grep "$BLOG" 'refused: a consumer not opened by tunl-authority admit'
relay_sql "SELECT actor FROM events WHERE session_id = '$S'" |
    grep -q mallory && harness_fail "the registry recorded a name the engineer account claimed"
# The broker closes such a connection at once: the consumer leaves at the
# end of the stream (-w only bounds a broken build), and only then is
# its log checked for a hello.
relay_as tunlauth "$TCONS" -S "$(sock_of "$S")" -s "$S" -u oscar \
    -l "$T/oscar.log" -w 60 >/dev/null 2>&1
harness_assert_eq eof "$(cat "$T/oscar.log" 2>/dev/null)" \
    "another account's connection: closed, nothing else"
wait_grep "$BLOG" "uid $HARNESS_UID_TUNLAUTH refused"

# ---- a second producer while the first is alive ---------------------------------------
producer tunl "$S" -l "$T/prod2.log"
wait_grep "$T/prod2.log" "error 6 producer already connected"

# ---- malformed, unknown and oversized frames: an error, and on we go -------------------
kill "$DAVE" "$CAROL"
wait_gone "$DAVE" && wait_gone "$CAROL" || harness_fail "consumers did not stop"
wait_grep "$BLOG" "dave left"
wait_grep "$BLOG" "carol left"
consumer support "$S" frank -r -l "$T/frank.log" -o "$T/frank.out" \
    -x 00000006220050000000 -X 300000
FRANK=$!
# 0x22 resize with a byte too many; then a frame over FRAME_MAX.
wait_grep "$T/frank.log" "error 2 malformed resize frame"
wait_grep "$T/frank.log" "error 4 frame of 300001 bytes, over 262144, skipped"
consumer support "$S" gina -r -l "$T/gina.log" -x 000000027f00
GINA=$!
wait_grep "$T/gina.log" "error 3 unexpected frame type 0x7f"
wait_grep "$BLOG" "unexpected frame type 0x7f"
# ---- the producer goes and comes back within the grace period ---------------------
kill "$PROD"
wait_gone "$PROD" || harness_fail "producer did not stop"
wait_grep "$T/alice.notes" "customer reconnecting"
wait_grep "$T/bob.notes" "customer reconnecting"
# From the new producer, bad frames too: a resize of 0x0, a snapshot cut
# short, a frame over FRAME_MAX; then 1000 bytes of output.
producer tunl "$S" -n 1000 -o "$T/sent2" -l "$T/prod2b.log" \
    -d "$T/prod2b.done" -x 00000005220000000000000003110000 -X 262144
PROD=$!
wait_grep "$T/prod2b.log" "error 2 malformed resize frame"
wait_grep "$T/prod2b.log" "error 2 malformed snapshot frame"
wait_grep "$T/prod2b.log" "error 4 frame of 262145 bytes, over 262144, skipped"
wait_grep "$T/prod2b.done" "done 1000"
wait_grep "$T/alice.notes" "customer connected"
harness_wait 60 "the new output at alice" size_at_least "$T/alice.out" 301000
tail -c 1000 "$T/alice.out" | cmp - "$T/sent2" ||
    harness_fail "output after the reconnect differs"
harness_alive "$ALICE" || harness_fail "alice left when the producer did"
harness_alive "$BOB" || harness_fail "bob left when the producer did"
harness_alive "$B" || harness_fail "the broker ended within the grace period"

# ---- restricted session: nobody's keys reach the customer ------------------------------
R=abide-ability-able-abolish
broker_session "$R" restricted
broker_start "$R"
RB=$BPID
consumer support "$R" alice -l "$T/r-alice.log" -k 'id' -C 'hello'
RA=$!
producer tunl "$R" -n 100 -l "$T/r-prod.log" -d "$T/r-prod.done"
RP=$!
wait_grep "$T/r-alice.log" "hello mode=1"
wait_grep "$T/r-alice.log" "viewers 1 alice:ro"
wait_grep "$T/r-prod.log" "chat alice hello"
wait_grep "$H/broker-$R.log" "key bytes dropped (read-only (restricted session))"
harness_assert_not_contains "$(cat "$T/r-prod.log")" "keys "
harness_assert_not_contains "$(cat "$T/r-prod.log")" "resize"

# ---- the hostile corpus never reaches a consumer unfiltered ----------------------------
# Each output case of tests/vtfilter streamed by a producer of its own (the
# filter starts afresh with each producer): the consumer must receive
# exactly the filter's expected output, case after case.
C=ability-able-abolish-abrupt
broker_session "$C"
broker_start "$C"
CB=$BPID
consumer support "$C" victor -r -o "$T/victor.out" -l "$T/victor.log"
wait_grep "$T/victor.log" "viewers 1 victor:ro"
: >"$T/victor.exp"
ncases=0
for in in "$top_srcdir"/tests/vtfilter/*.in; do
	[ -f "$in" ] || continue
	case ${in##*/} in input-*) continue ;; esac
	cp "$in" "$T/case.in" && chmod 0644 "$T/case.in"
	cat "${in%.in}.exp" >>"$T/victor.exp"
	producer tunl "$C" -f "$T/case.in" -w 0
	wait_gone $! || harness_fail "producer of ${in##*/} did not finish"
	want=$(fsize "$T/victor.exp")
	harness_wait 60 "the filtered output of ${in##*/}" \
	    size_at_least "$T/victor.out" "$want"
	cmp "$T/victor.exp" "$T/victor.out" >/dev/null ||
	    harness_fail "filtered output of ${in##*/} differs from its .exp"
	ncases=$((ncases + 1))
done
harness_log "hostile corpus: $ncases cases through the broker"
# The generic check as well: none of the dangerous introducers arrived.
python3 - "$T/victor.out" <<'PY' || harness_fail "a forbidden sequence reached the consumer"
import re, sys
d = open(sys.argv[1], "rb").read()
for pat in (rb"\x1b\]52", rb"\x1b\]8;", rb"\x1b\]1337", rb"\x1bP", rb"\x1b_",
            rb"\x1b\^", rb"\x1bX", rb"\x1b\[[0-9;]*n", rb"\x1b\[[>=]?c",
            rb"\x1b\]0;", rb"\x1b\]2;", rb"\x05"):
    assert not re.search(pat, d), pat
PY
kill -TERM "$CB"
wait_gone "$CB" || harness_fail "corpus broker ignored SIGTERM"

# ---- SIGTERM ends the session cleanly ---------------------------------------------------
kill -TERM "$B"
wait_gone "$B" || harness_fail "broker ignored SIGTERM"
wait "$B"
harness_assert_eq 0 $? "broker's exit status after SIGTERM"
wait_grep "$T/alice.notes" "session ended: stopped by signal"
harness_assert_eq ended "$(relay_sql "SELECT state FROM sessions WHERE id = '$S';")" \
    "state after SIGTERM"
ev=$(events_of "$S")
for e in "customer activated" "customer producer-connected" \
    "alice engineer-joined read-write" "bob engineer-joined read-only" \
    "customer producer-disconnected" "broker ended stopped by signal" \
    "broker broker-exit stopped by signal"; do
	harness_assert_contains "$ev" "$e" "registry events"
done
case $ev in
*"erin engineer-joined"*) harness_fail "a refused consumer was logged as joined" ;;
esac
[ -S "$H/run/tunl/sessions/$S.sock" ] && harness_fail "socket left behind"
# The recording: asciicast v2, 0640, every byte the consumers saw.
rec=$H/var/log/tunl/$S.cast
harness_assert_eq "tunl-broker:tunl-rec 640" \
    "$(relay_in_ns stat -c '%U:%G %a' "$rec")" "recording owner and mode"
python3 - "$rec" "$T/rec.out" "$S" <<'PY' || harness_fail "recording is not valid asciicast"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "recording does not end with a newline"
head = json.loads(lines[0])
assert head["version"] == 2, head
assert sys.argv[3] in json.dumps(head), "no session id in the header"
out, last = [], 0.0
for l in lines[1:-1]:
    t, kind, data = json.loads(l)
    assert t >= last, "time goes back"
    last = t
    assert kind in ("o", "r"), kind
    if kind == "o":
        out.append(data)
open(sys.argv[2], "w", encoding="utf-8", newline="").write("".join(out))
PY
cat "$T/sent" "$T/sent2" | cmp - "$T/rec.out" ||
    harness_fail "the recording differs from the output"
harness_alive "$RB" || harness_fail "the other session's broker died"
kill -TERM "$RB"
wait_gone "$RB" || harness_fail "second broker ignored SIGTERM"
harness_host_unchanged
exit 0
