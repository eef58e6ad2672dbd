#!/bin/sh
# The registry locked for 30 s by someone else (an exclusive transaction
# held by a test helper), through the real sshd, tunl-shell, tunl-broker
# and tunl-share:
#
#  - an engineer joins and leaves a live session meanwhile; the broker's
#    events wait and are retried, and land once the lock is gone;
#  - a customer connects with tunl-share meanwhile: pam_tunl never waits
#    on the lock for reading, spools its login event instead of failing,
#    tunl-authority waits for the lock to sign, and the customer is
#    connected after the lock, never told "wrong id or token";
#  - afterwards the event list is compared with what happened: nothing lost
#    and nothing twice;
#  - `kill` and `unlock` through tunl-shell reach the broker by message:
#    registry_recheck is an hour here, so the broker's own periodic read
#    cannot be what acted.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: registry-lock: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init registry-lock
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup "registry_recheck = 3600"
SESS=$H/run/tunl/sessions

count_events() {	# SID ACTION [ACTOR]
	relay_sql "SELECT count(*) FROM events WHERE session_id = '$1'
	    AND action = '$2' ${3:+AND actor = '$3'};"
}
state_of() {
	relay_sql "SELECT state FROM sessions WHERE id = '$1';"
}
state_is() {
	[ "$(state_of "$1")" = "$2" ]
}
syslog_has() {
	grep -qF -- "$1" "$H/syslog.log" 2>/dev/null
}

# ---- session 1: live before the lock ---------------------------------------
new
ID1=$ID
TOKEN1=$TOKENFILE
pane cust1 "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKEN1 $ID1"
cust_wait_ready 1
CSOCK1=$CSOCK
harness_wait 60 "session 1 active" state_is "$ID1" active
# Session 2 is made now; its customer comes during the lock.
new
ID2=$ID
TOKEN2=$TOKENFILE

# ---- the lock ------------------------------------------------------------------
relay_lock_registry
LOCKED_AT=$(date +%s)
# The customer of session 2, with a tunl-share of its own (its own
# directory, so the helpers find its tmux).
XDG1=$XDG
XDG=$XDG1/c2
mkdir -m 0700 "$XDG" || harness_fail "mkdir $XDG"
pane cust2 "env XDG_RUNTIME_DIR=$XDG SHELL=/bin/sh $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKEN2 $ID2"
# An engineer joins session 1 and leaves, all inside the lock.
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID1 --read-only"
XDG=$XDG1
cust_wait_pane "bob joined (read-only)" 1
tm kill-window -t e2e:ro
cust_wait_pane "bob left" 1
# pam_tunl could not write the login event: it spooled it and went on.
harness_wait 120 "pam_tunl to spool session 2's login" syslog_has \
    "registry busy: login event for $ID2 spooled"
lock_held_30s() {
	[ $(( $(date +%s) - LOCKED_AT )) -ge 30 ]
}
harness_wait 120 "30 s of lock" lock_held_30s
# Nothing of that is in the registry yet: the lock is real.
harness_assert_eq 0 "$(relay_sql "SELECT count(*) FROM events WHERE
    session_id = '$ID1' AND actor = 'bob';")" "bob's events during the lock"
relay_unlock_registry
harness_log "the registry was locked for $(( $(date +%s) - LOCKED_AT )) s"

# ---- after the lock ------------------------------------------------------------
XDG=$XDG1/c2
cust_wait_ready 2
CSOCK2=$CSOCK
XDG=$XDG1
grep -q "wrong id or token\|refused the session id" "$H/raw-cust2.log" &&
    harness_fail "the customer was told the token was wrong"
harness_wait 60 "session 2 active" state_is "$ID2" active
bob_done() {
	[ "$(count_events "$ID1" engineer-left bob)" -ge 1 ]
}
harness_wait 60 "bob's events after the lock" bob_done
login_done() {
	[ "$(count_events "$ID2" login)" -ge 1 ]
}
harness_wait 60 "session 2's spooled login event" login_done
# What happened, each exactly once.
harness_assert_eq 1 "$(count_events "$ID1" engineer-joined bob)" "bob joined"
harness_assert_eq 1 "$(count_events "$ID1" engineer-left bob)" "bob left"
harness_assert_eq 1 "$(count_events "$ID2" login)" "session 2's login"
harness_assert_eq 1 "$(count_events "$ID2" sign)" "session 2's certificate"
harness_assert_eq 1 "$(count_events "$ID2" activated)" "session 2 activated"
harness_assert_eq 1 "$(count_events "$ID2" producer-connected)" \
    "session 2's producer"
[ -e "$SESS/$ID2.spool" ] && harness_fail "the spool of session 2 was left"
harness_log "no event lost over the lock; the customer connected after it"

# ---- unlock and kill, by message ------------------------------------------------
# Locked behind its broker's back (no message): the broker does not know.
relay_sql "UPDATE sessions SET state = 'locked' WHERE id = '$ID1';"
harness_ssh_key support alice -- unlock "$ID1" >"$H/unlock.out" 2>&1 ||
    harness_fail "unlock: $(cat "$H/unlock.out")"
harness_wait 60 "the broker to hear of the unlock" syslog_has \
    "registry-changed from uid $HARNESS_UID_SUPPORT: reading"
tmux -S "$CSOCK1" send-keys -t tunl:0.0 "echo still-\$((2*21))" Enter
cust_wait_pane "still-42"
harness_assert_eq active "$(state_of "$ID1")" "session 1 after the unlock"

harness_ssh_key support alice -- kill "$ID2" >"$H/kill.out" 2>&1 ||
    harness_fail "kill: $(cat "$H/kill.out")"
wait_screen cust2 "session ended"
no_broker_files() {
	[ ! -e "$SESS/$ID2.sock" ] && [ ! -e "$SESS/$ID2.lock" ]
}
harness_wait 60 "session 2's broker to remove its files" no_broker_files
harness_assert_eq 1 "$(count_events "$ID2" broker-exit broker)" \
    "session 2's broker-exit"
harness_log "unlock and kill reached the broker by message"

XDG=$XDG1
share_finish
