#!/bin/sh
# The resize policy through the real path (tunl-share(1), RESIZE POLICY):
# a read-write engineer's terminal sets the size of the customer's shared
# pane (no larger than what fits in the customer's terminal beside the
# chat pane), never shrinks the chat pane, and once no read-write engineer is
# left the customer's window goes back to the customer's own size. Every
# engineer's screen is redrawn from a fresh snapshot after each resize,
# and a lone read-write engineer is never told a stale "your terminal
# is smaller" notice.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-resize: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-resize
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# sizes: "MAIN CHAT WINDOW" of the customer's tmux, each WxH.
sizes() {
	_m=$(tmux -S "$CSOCK" display -p -t tunl:0.0 '#{pane_width}x#{pane_height}')
	_c=$(tmux -S "$CSOCK" display -p -t tunl:0.1 '#{pane_width}x#{pane_height} #{window_width}x#{window_height}')
	echo "$_m $_c"
}
sizes_are() {
	[ "$(sizes)" = "$1" ]
}
wait_sizes() {
	harness_wait 60 "the customer's sizes to be [$1] (now [$(sizes)])" \
	    sizes_are "$1"
}
# The snapshot a join draws starts from a cleared screen.
CLEAR=$(printf '\033[H\033[2J')

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
# The customer's terminal is the test's 120x40 window, less tmux's status
# row: the shared pane, its header, the chat pane's header and 8 rows.
wait_sizes "120x29 120x8 120x39"
BEFORE=$(sizes)

# A read-only engineer watches throughout; his screen must be redrawn
# whenever the session's size changes.
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
cust_wait_pane "bob joined (read-only)" 1
harness_assert_eq "$BEFORE" "$(sizes)" "a read-only engineer sets no size"

# ---- a read-write engineer at 60x15 ---------------------------------------------
tm new-window -d -n rw
tm resize-window -t e2e:rw -x 60 -y 15
tm pipe-pane -t e2e:rw "cat >>$H/raw-rw.log"
ro_paints=$(raw_count ro "$CLEAR")
tm send-keys -t e2e:rw "exec sh -c '$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID; echo exit=\$?; sleep 600'" Enter
cust_wait_pane "alice joined (read-write)" 1
# join keeps its last row for its status: the shared pane is 60x14.
wait_sizes "60x14 60x8 60x24"
wait_raw_more ro "$CLEAR" "$ro_paints"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo small-$((3*5))' Enter
wait_screen rw small-15
wait_screen ro small-15

# ---- the same engineer at 250x80 ----------------------------------------------
# Larger than the customer's terminal: the shared pane takes what fits in
# it beside the chat pane, which the customer keeps seeing.
ro_paints=$(raw_count ro "$CLEAR")
rw_paints=$(raw_count rw "$CLEAR")
tm resize-window -t e2e:rw -x 250 -y 80
wait_sizes "$BEFORE"
# Both screens are redrawn for the new size.
wait_raw_more rw "$CLEAR" "$rw_paints"
wait_raw_more ro "$CLEAR" "$ro_paints"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo large-$((5*5))' Enter
wait_screen rw large-25
# The engineer's terminal is never smaller than the session: no "smaller
# than the session" notice was due at any point.
raw_has rw "your terminal is" &&
    harness_fail "the read-write engineer got a notice about a size that was not the session's"

# ---- the engineer leaves: the customer's own size comes back --------------------
tm send-keys -t e2e:rw C-] d
wait_screen rw "exit="
cust_wait_pane "alice left" 1
wait_sizes "$BEFORE"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo back-$((7*7))' Enter
wait_screen ro back-49
harness_log "sizes before, with the engineer at 60x15 and 250x80, and after: as the policy says"
share_finish
