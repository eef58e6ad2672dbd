#!/bin/sh
# Chat both ways through the real path: the customer writes in the chat
# pane (and sees the line once), a read-write engineer answers from join
# (Ctrl-] c opens a line editor) and reads the recent chat (Ctrl-] h), a
# read-only engineer is told chat is not for them; every line is in the
# registry's event log and the customer's audit log, and in neither
# recording.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-chat: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-chat
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
cust_wait_pane "alice joined (read-write)" 1
cust_wait_pane "bob joined (read-only)" 1
wait_screen rw "bob (ro)"
wait_screen ro "bob (ro)"

# ---- the customer writes; the line is on the chat pane once ----------------------
C1='hello from the customer; 1+1=2'
tmux -S "$CSOCK" send-keys -t tunl:0.1 -l "$C1"
tmux -S "$CSOCK" send-keys -t tunl:0.1 Enter
cust_wait_pane "you: $C1" 1
wait_raw rw "customer: $C1"
wait_raw ro "customer: $C1"
harness_assert_eq 1 \
    "$(tmux -S "$CSOCK" capture-pane -p -t tunl:0.1 | grep -cF -- "$C1")" \
    "the customer's line on the chat pane, times"

# ---- a read-write engineer answers from join --------------------------------------
E1='hi from alice; we are on it'
tm send-keys -t e2e:rw C-] c
wait_raw rw "chat> _"
tm send-keys -t e2e:rw -l "$E1"
tm send-keys -t e2e:rw Enter
cust_wait_pane "alice: $E1" 1
wait_raw ro "alice: $E1"
# Nothing of the chat line went into the customer's shell.
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -qF "we are on it" &&
    harness_fail "the chat line was typed into the customer's shell"

# ---- the recent chat, then a redraw --------------------------------------------
CLEAR=$(printf '\033[H\033[2J')
tm send-keys -t e2e:rw C-] h
wait_screen rw "recent chat (any key: back)"
wait_screen rw "customer: $C1"
wait_screen rw "you: $E1"
paints=$(raw_count rw "$CLEAR")
tm send-keys -t e2e:rw q
wait_raw_more rw "$CLEAR" "$paints"
harness_wait 60 "the history to be gone from alice's screen" \
    sh -c "! tmux -L '$TM' -f /dev/null capture-pane -p -t e2e:rw | grep -qF 'recent chat'"
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q '^q' &&
    harness_fail "the key that closed the history reached the customer"

# ---- a read-only engineer cannot chat ------------------------------------------
tm send-keys -t e2e:ro C-] c
wait_raw ro "read-only: chat is for read-write engineers"

# ---- the logs have every line, the recordings none -----------------------------
chat_events() {
	relay_sql "SELECT actor || '|' || detail FROM events WHERE session_id = '$ID' AND action = 'chat' ORDER BY id;"
}
both_events() {
	chat_events | grep -qxF "customer|$C1" && chat_events | grep -qxF "alice|$E1"
}
harness_wait 60 "both chat lines in the registry's events" both_events
AUDIT=${CSOCK%/tmux.sock}/audit.log
grep -qF "chat sent from=customer \"$C1\"" "$AUDIT" ||
    harness_fail "the customer's own line is not in the audit log"
grep -qF "chat allowed from=alice \"$E1\"" "$AUDIT" ||
    harness_fail "alice's line is not in the audit log"
# A line printed in the shared pane after the chat is in both recordings:
# whatever the chat could have put there would be in them by now.
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-chat-$((6*7))' Enter
wait_screen rw after-chat-42
CAST=$H/var/log/tunl/$ID.cast
harness_wait 60 "the relay's recording to have the line after the chat" \
    cast_has "$CAST" after-chat-42
harness_wait 60 "the customer's recording to have the line after the chat" \
    cast_has "${CSOCK%/tmux.sock}/session.cast" after-chat-42
for f in "$CAST" "${CSOCK%/tmux.sock}/session.cast"; do
	grep -qF "hello from the customer" "$f" && harness_fail "customer chat in $f"
	grep -qF "we are on it" "$f" && harness_fail "alice's chat in $f"
done
harness_log "chat went both ways, with names, into both event logs and neither recording"
share_finish
