#!/bin/sh
# recording_max through the real path (issue 12): sshd with pam_tunl,
# tunl-share driving the customer's tmux, alice joined read-write through
# `ssh support@relay join`. The customer's program prints four times the
# cap: the session ends there. tunl-share tells the customer why, removes
# the key and certificate and exits 0 (the customer's shell goes on);
# alice is told; the recording ends with the marker; the registry says
# ended; a `recording-full` event names the cause. (recording-max.sh is
# the same cap on the broker alone.)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-recmax: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-recmax
. "$top_srcdir/tests/integration/share-lib.sh"
CAP=65536
share_setup "recording_max = 64K"
WHY="the recording reached its size limit (recording_max, $CAP bytes of output)"

share_start
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
# Four times the cap, in lines of 64, then a word that must never reach
# the relay (the session ended long before it; the command line, which is
# echoed, does not hold it).
cust send-keys -t tunl:0.0 \
    "head -c $((4 * CAP)) /dev/zero | tr '\\0' x | fold -w 64; echo after-the-cap-\$((6*7))" Enter

# (share_ended_alone, with the reason read from the audit log and in two
# parts on the screen: the line is wider than the pane.)
wait_screen cust "session ended. Key and certificate removed"
wait_screen cust "the relay ended the session: tunl: session ended:"
wait_screen cust "exit=0"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
grep -qF "tunl-share ended by the relay: tunl: session ended: $WHY" \
    "$DIR/audit.log" || harness_fail "the audit log does not say why it ended"
wait_screen rw "the recording reached its size limit"
ended() {
	[ "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID'")" = ended ]
}
harness_wait 60 "the registry to say ended" ended
state=$(relay_sql "SELECT state FROM sessions WHERE id = '$ID'")
harness_assert_eq ended "$state" "the session's state"
relay_sql "SELECT action FROM events WHERE session_id = '$ID'" |
    grep -qx recording-full || harness_fail "no recording-full event"

# The recording: no more output than the cap, and its last marker says why.
res=$(relay_cast_summary "$REC") || harness_fail "cannot read $REC"
bytes=$(echo "$res" | sed -n 1p)
mark=$(echo "$res" | sed -n 2p)
[ "$bytes" -gt 0 ] && [ "$bytes" -le $CAP ] ||
    harness_fail "the recording holds $bytes bytes of output, cap $CAP"
harness_assert_contains "$mark" "$WHY" "the recording's last marker"
cast_has "$REC" "after-the-cap-42" &&
    harness_fail "output after the cap reached the recording"
harness_log "the session ended at recording_max; customer and engineer told"
share_finish
