#!/bin/sh
# Issue 11 item 2, where output must be skipped: tunl-share's spool is at
# its cap (--spool-max 1, 1 MiB) while the broker is stopped and the
# customer's pane prints 8 MB. Then, once the broker runs again:
#
# - the relay's recording carries a gap marker saying how many bytes are
#   missing and why, and the screen after it from a snapshot; its output
#   plus the marked bytes is exactly what the customer's own recording
#   (every byte the pane printed) holds;
# - the registry has an output-gap event, the engineer a notice, and the
#   customer's audit log says it, each with dropped_output.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-gap: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-gap
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
command -v base64 >/dev/null 2>&1 || harness_skip "needs base64"
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# The broker stays stopped until the spool is full, however long a loaded
# machine takes: tunl-share waits that out (--silence) rather than
# reconnect, which would mark the gap as a dropped link instead.
share_watched --spool-max 1 --silence 600
share_data 6

BPID=$(ps -eo pid=,args= | awk -v id="$ID" \
    '$2 ~ /tunl-broker$/ && index($0, id) { print $1 }')
[ -n "$BPID" ] || harness_fail "no broker for $ID"
kill -STOP "$BPID"
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    "cat $H/data; echo burst-end-\$((2*8))" Enter
cust_wait_pane "burst-end-16"
spool_full() {
	[ "$(audit_count "the spool for the relay is full")" -ge 1 ]
}
harness_wait 60 "tunl-share to say its spool is full" spool_full
kill -CONT "$BPID"

rec_has() {
	cast_has "$REC" "$1"
}
harness_wait 120 "the end of the burst in the recording" rec_has "burst-end-16"
harness_wait 60 "the gap marker" rec_has "the customer's spool was full; dropped_output="
harness_wait 60 "the screen after the gap in the recording" \
    rec_has "the screen after the gap, from a snapshot"
harness_wait 60 "the end of the burst in the customer's recording" \
    cast_has "$DIR/session.cast" "burst-end-16"

python3 - "$REC" "$DIR/session.cast" <<'PY' || harness_fail "the sizes do not add up"
import json, re, sys
def events(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    assert lines[-1] == "", "torn last line in " + path
    return [json.loads(l) for l in lines[1:-1]]
relay, gaps, repair = 0, 0, False
for ev in events(sys.argv[1]):
    if ev[1] == "m":
        m = re.match(r"tunl: gap: (at least )?(\d+) bytes", ev[2])
        if m:
            assert not m.group(1), "an estimate where the count is known"
            gaps += int(m.group(2))
        repair = ev[2].startswith("tunl: the screen after the gap")
    elif ev[1] == "o":
        if not repair:
            relay += len(ev[2].encode("utf-8"))
        repair = False
cust = sum(len(ev[2].encode("utf-8")) for ev in events(sys.argv[2])
           if ev[1] == "o")
print("relay recorded %d + gaps %d = %d; the customer's recording %d"
      % (relay, gaps, relay + gaps, cust))
assert gaps > 0, "no gap"
assert relay + gaps == cust, "the sizes do not add up"
PY
grep -q "output not sent to the relay: [0-9]* bytes (the customer's spool was full); dropped_output=[1-9]" \
    "$DIR/audit.log" || harness_fail "the customer's audit log does not say"
gap_event() {
	relay_sql "SELECT detail FROM events WHERE session_id = '$ID'
	    AND action = 'output-gap';" | grep -q "bytes: spool full; dropped_output=[1-9]"
}
harness_wait 60 "an output-gap event" gap_event
wait_raw ro "of the customer's output did not reach the relay"
share_finish
