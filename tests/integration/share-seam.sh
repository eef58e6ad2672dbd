#!/bin/sh
# Issue 11 item 7: rows shown twice at the seam after a customer
# reconnect. The customer's link is cut (share_link_setup) while the pane
# prints more than the link and the broker hold at once, so tunl-share's
# spool has output waiting when it connects again, and the pane goes on
# printing while it does. The engineer's screen, rendered with pyte from
# every byte its pane was sent, must then be the customer's pane, row for
# row and the cursor (same_screen), and stay so as output goes on.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-seam: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
. "$top_srcdir/tests/integration/harness.sh"
harness_init share-seam
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_pyte
share_setup
share_link_setup

ctype() {
	cust send-keys -t tunl:0.0 -l "$1"
	cust send-keys -t tunl:0.0 Enter
}
seam_debug() {
	echo "---- step ${_step:-?} ----" >&2
	cat "$H/diff-eng.txt" >&2 2>/dev/null
	share_debug
}
HARNESS_WAIT_DEBUG=seam_debug
reconnected() {
	[ "$(audit_count "connected to the relay")" -ge "$1" ]
}

share_start
harness_wait 120 "tunl-share to connect" reconnected 1
pane eng "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID --read-only"
wait_screen eng "watching: alice"
ctype 'seq 1 100 | sed "s/^/row before /"'
cust_wait_pane "row before 100"
wait_same eng "before the cut"

# The link is cut; 2 MB are printed while it is down, into the spool.
link hang
kill -KILL "$(share_ssh_pid)" || harness_fail "no ssh under tunl-share"
ctype 'seq 1 120000 | sed "s/^/row while cut /"'
cust_wait_pane "row while cut 120000"
# It comes back while the pane prints on.
ctype 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "row while back $i"; done'
link up
harness_wait 120 "tunl-share to connect again" reconnected 2
cust_wait_pane "row while back 3000"
wait_same eng "after the reconnect"
ctype 'seq 1 30 | sed "s/^/row after /"'
cust_wait_pane "row after 30"
wait_same eng "output after the reconnect"
share_finish
