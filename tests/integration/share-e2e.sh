#!/bin/sh
# tunl-share end to end through a real relay: a private sshd with the
# shipped drop-ins, pam_tunl for the customer's token, tunl-shell's
# sign/produce/join, tunl-broker; the customer's tunl-share and the
# engineers' `ssh -t support@relay join` each in panes of a private tmux.
#
# Covered: text the customer's shell prints reaches a joined engineer; an
# engineer's typed echo runs in the customer's pane (capture-pane on the
# customer's private tmux); a read-only engineer never gets a byte in;
# killing the customer's ssh reconnects without the engineers leaving; a
# late joiner sees the screen as it is (tunl-share's snapshot); SIGTERM to
# a joined engineer's tunl-shell puts their terminal's modes back; the
# registry turning a running session restricted stops the keys at once;
# the end key (C-b Q y) ends the session for the engineers too and removes
# key, certificate and socket while the audit log and recording stay; a
# session made restricted never gets a byte in, and neither does a share
# session whose customer ran tunl-share --restricted (the relay records it
# and drops the keys itself); a relay with a wrong host key is refused; the
# token is never in ps (watched throughout), an environment, a log, the
# audit log or the recording.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

missing=
[ -f "$top_builddir/.libs/pam_tunl.so" ] || missing="$missing pam_tunl.so (branch pam)"
[ -x "$top_builddir/tunl-broker" ] || missing="$missing tunl-broker (branch broker)"
[ -f "$top_srcdir/force-command/shell-live.c" ] ||
    missing="$missing tunl-shell produce/join (branch live)"
if [ -n "$missing" ]; then
	echo "SKIP: share-e2e: not built here:$missing"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-e2e: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-e2e
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# ---- a relay whose host key is not the pinned one is refused ----------------
new
ssh-keygen -q -t ed25519 -N '' -f "$H/client/otherhost" </dev/null
sed "s|^\([^ ]*\) .*|\1 $(cut -d' ' -f1,2 "$H/client/otherhost.pub")|" \
    "$KH" >"$H/client/wrong_known_hosts"
out=$($SHARE_ENV "$SHARE" --relay "$RELAY" --known-hosts \
    "$H/client/wrong_known_hosts" --token-file "$TOKENFILE" "$ID" 2>&1 \
    </dev/null) && harness_fail "a relay with a wrong host key was accepted"
harness_assert_contains "$out" "host key could not be verified"

# ---- share: output out, an engineer's echo in, read-only gets nothing in -----
# Watch ps while tunl-share signs and produces: never the token in an argv.
ps_watch_start
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
ps_watch_stop
# The token is in no process's argv or environment, nor in a log.
TOKEN=$(cat "$TOKENFILE")
for p in /proc/[0-9]*; do
	{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | relay_holds_token "$TOKEN" &&
	    harness_fail "the token is in the argv of pid ${p#/proc/}"
	{ tr '\0' '\n' <"$p/environ"; } 2>/dev/null | relay_holds_token "$TOKEN" &&
	    harness_fail "the token is in the environment of pid ${p#/proc/}"
done
[ -s "$H/ps.log" ] || harness_fail "ps was not watched"
for f in "$H/ps.log" "$H/syslog.log" "$H/sshd.log" "${CSOCK%/tmux.sock}/ssh.log"; do
	relay_holds_token "$TOKEN" "$f" && harness_fail "the token is in $f"
done
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
# Both are in once each one's status row names bob (who joins last is
# not fixed; alice's names bob only once she is in herself).
wait_screen rw "bob (ro)"
wait_screen ro "bob (ro)"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo customer-$((20+3))' Enter
wait_screen rw customer-23
wait_screen ro customer-23
tm send-keys -t e2e:rw -l 'echo engineer-$((40+2))'
tm send-keys -t e2e:rw Enter
cust_wait_pane engineer-42
type_refused ro 'echo readonly-$((1+1))'
# Anything bob's join sent reached the broker before its answer to his
# resize, and went on to tunl-share before alice's next keys: once those
# ran in the customer's pane, bob's would have run before them.
roundtrip ro
tm send-keys -t e2e:rw -l 'echo engineer-$((40+3))'
tm send-keys -t e2e:rw Enter
cust_wait_pane engineer-43
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'readonly' &&
    harness_fail "a read-only engineer's keys reached the customer"
AUDIT=${CSOCK%/tmux.sock}/audit.log
relay_holds_token "$TOKEN" "$AUDIT" && harness_fail "the token is in the audit log"
grep -q 'keys allowed pane=main from=alice' "$AUDIT" ||
    harness_fail "the audit log lacks alice's keys"
# The customer's machine named itself: `list` shows it, and who watches.
LIST=$($SSH -o IdentityFile=$H/client/alice support@127.0.0.1 list </dev/null)
harness_assert_contains "$LIST" "$ID"
harness_assert_contains "$(printf '%s\n' "$LIST" | grep "^$ID ")" " $(hostname) "
harness_assert_eq 2 "$(printf '%s\n' "$LIST" | awk -v id="$ID" '$1 == id { print $NF }')" \
    "VIEWERS in list while two engineers watch"

# ---- killing the customer's ssh: reconnect, the engineers stay -------------
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$(command -v ssh)" ] || continue
	{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q " produce $ID" &&
	    kill "${p#/proc/}"
done
# The notice lasts until the customer is back, which may be quicker than a
# capture: the pane's raw log has it.
wait_raw rw "tunl: customer reconnecting"
wait_raw rw "tunl: customer connected"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-$((5*5))' Enter
wait_screen rw after-25
screen rw | grep -q 'exit=' && harness_fail "the engineer was dropped"
# A late joiner starts from the customer's screen as it is (tunl-share's
# snapshot of the pane), not from an empty one.
pane late "$SSH -o IdentityFile=$H/client/carol -t support@127.0.0.1 join $ID --read-only"
wait_screen late after-25
wait_screen late customer-23

# ---- SIGTERM to a joined engineer's tunl-shell: the terminal is put back ----
# join drew on the engineer's alternate screen (through ssh, on the
# terminal of the test's tmux pane); a signal must not leave it there.
harness_assert_eq 1 "$(tm display -p -t e2e:late '#{alternate_on}')" \
    "join is on the alternate screen"
# Bob's and carol's tunl-shell both run "join ID --read-only": carol's is
# the one started last.
JPID=
_jstart=0
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$H/libexec/tunl-shell.bin" ] ||
	    continue
	{ tr '\0' '\n' <"$p/environ"; } 2>/dev/null |
	    grep -qx "SSH_ORIGINAL_COMMAND=join $ID --read-only" || continue
	_st=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f20) || continue
	if [ -n "$_st" ] && [ "$_st" -gt "$_jstart" ]; then
		_jstart=$_st
		JPID=${p#/proc/}
	fi
done
[ -n "$JPID" ] || harness_fail "carol's tunl-shell join not found"
kill -TERM "$JPID"
wait_screen late "exit="
harness_assert_eq "0 1 0 0 0 1 0" \
    "$(tm display -p -t e2e:late '#{alternate_on} #{cursor_flag} #{insert_flag} #{keypad_cursor_flag} #{origin_flag} #{wrap_flag} #{mouse_any_flag}')" \
    "terminal modes after SIGTERM (alternate, cursor, insert, keypad, origin, wrap, mouse)"
screen rw | grep -q 'exit=' && harness_fail "the others left with carol"

# ---- the registry turns the running session restricted: keys stop ----------
# (What produce --restricted does for a broker that already runs.)
relay_sql "UPDATE sessions SET mode = 'restricted' WHERE id = '$ID';"
# A change by tunl's own programs tells the broker at once; so here.
relay_as support "$top_builddir/tests/helpers/registry-changed" /run/tunl "$ID" ||
    harness_fail "the broker of $ID was not told"
wait_raw rw "tunl: the session is now restricted: watch and chat only"
wait_screen rw "read-only (restricted)"
type_refused rw 'echo late-$((6+1))'
# Whatever alice's join sent is with the broker after its answer to her
# resize; whatever the broker passed on is with tunl-share once it heard
# of carol joining after that; then the customer's own line runs after
# any keys typed into the pane.
roundtrip rw
customer_synced sync1 carol
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo still-$((8+1))' Enter
cust_wait_pane still-9
wait_screen rw still-9
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'late-7' &&
    harness_fail "keys reached the customer after the session turned restricted"
# The customer's chat pane names the change of mode.
cust_wait_pane "alice joined (read-only)" 1

# ---- the end key: the session ends for everyone, secrets removed -----------
DIR=${CSOCK%/tmux.sock}
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "audit log: $DIR/audit.log"
wait_screen cust "exit=0"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] || [ -e "$DIR/key.pub" ] &&
    harness_fail "key or certificate left behind"
[ -e "$DIR/tmux.sock" ] && harness_fail "the tmux socket was left behind"
[ -s "$DIR/audit.log" ] && [ -s "$DIR/session.cast" ] ||
    harness_fail "audit log or recording missing"
[ "$(stat -c %a "$DIR/audit.log")" = 600 ] || harness_fail "audit log not 0600"
relay_holds_token "$TOKEN" "$DIR/audit.log" "$DIR/session.cast" &&
    harness_fail "the token is in the audit log or the recording"
# The engineers are told, and nobody waits for a reconnect.
wait_screen rw "session ended: the customer ended it"
wait_screen rw "exit="
wait_screen ro "exit="
# The broker writes it from a child of its own as the session ends.
state_is() {
	[ "$(relay_sql "SELECT $1 FROM sessions WHERE id = '$ID';")" = "$2" ]
}
harness_wait 60 "the registry to say the session ended" state_is state ended
harness_assert_eq ended "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" \
    "the registry after the end key"

# ---- a session the engineer made restricted never gets a byte in ------------
new --restricted
pane rcust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 2
pane rrw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen rrw "read-only (restricted)"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo shown-$((3+4))' Enter
wait_screen rrw shown-7
type_refused rrw 'echo restricted-$((3+3))'
# As above: through the broker, then tunl-share, then the pane.
roundtrip rrw
customer_synced sync2 bob
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo synced-$((5+6))' Enter
cust_wait_pane synced-11
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'restricted-6' &&
    harness_fail "keys reached a restricted customer"
tm send-keys -t e2e:rcust C-b Q
wait_screen rcust "End the tunl session?"
tm send-keys -t e2e:rcust y
wait_screen rcust "exit=0"

# ---- tunl-share --restricted on a share session: the relay enforces it too --
new
harness_assert_eq share "$(relay_sql "SELECT mode FROM sessions WHERE id = '$ID';")"
pane scust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE --restricted $ID"
cust_wait_ready 3
# produce --restricted records it before it reaches the broker.
harness_wait 60 "the registry to say the session is restricted" \
    state_is mode restricted
harness_assert_eq restricted "$(relay_sql "SELECT mode FROM sessions WHERE id = '$ID';")" \
    "the registry after tunl-share --restricted"
harness_assert_eq customer "$(relay_sql "SELECT actor FROM events WHERE session_id = '$ID' AND action = 'mode-restricted';")" \
    "the mode-restricted event"
pane srw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen srw "read-only (restricted)"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo seen-$((4+4))' Enter
wait_screen srw seen-8
type_refused srw 'echo typed-$((9+9))'
# As above: through the broker, then tunl-share, then the pane.
roundtrip srw
customer_synced sync3 bob
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo synced-$((6+6))' Enter
cust_wait_pane synced-12
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'typed-18' &&
    harness_fail "keys reached a customer who ran tunl-share --restricted"
# The relay dropped them: none ever reached tunl-share to be refused there.
grep -q '^[^ ]* keys ' "${CSOCK%/tmux.sock}/audit.log" &&
    harness_fail "the relay sent keys to a restricted customer"
tm send-keys -t e2e:scust C-b Q
wait_screen scust "End the tunl session?"
tm send-keys -t e2e:scust y
wait_screen scust "exit=0"

share_finish
