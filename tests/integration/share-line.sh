#!/bin/sh
# The line `new` prints for the customer, through a real relay (share-lib.sh)
# whose tunl.conf sets relay_address (127.0.0.1 and sshd's port, not 22)
# and relay_host_key (the test sshd's public key).
#
# Covered: the line names the port and carries the relay's host key; pasted
# as is (tmux paste-buffer) into a shell with a fresh HOME, no known_hosts
# and only tunl-share added to PATH, it connects, asks for the token on the
# terminal, and shares: an engineer who joins with the id in capitals and
# with spaces sees the customer's shell; the customer's known_hosts stays
# untouched. The same line with another key is refused with a host-key
# message, a closed port says "connection refused" (with the id typed in
# capitals), a wrong token says the token or id was refused, and an IPv6
# relay in brackets ([::1], where the machine has it) is taken and gets
# the same clear refusal. A plain `ssh tunl@relay` answering the id as
# read aloud is shown the same line. The customer's own recording passes
# the escape filter: a clipboard write and a title the shell printed are
# not in session.cast, the text around them is.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ ! -f "$top_builddir/.libs/pam_tunl.so" ]; then
	echo "SKIP: share-line: pam_tunl.so is not built here"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-line: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-line
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup
# The port is known once sshd runs: the configuration is read afresh by
# every login, so it is written again with the relay's address.
relay_config "producer_grace = 120" \
    "relay_address = 127.0.0.1:$HARNESS_PORT" \
    "relay_host_key = $H/etc/ssh_host_ed25519_key.pub"
[ "$HARNESS_PORT" != 22 ] || harness_skip "sshd got port 22"

# A port nothing listens on, for the "connection refused" case.
closed_port() {
	_cp=$((40000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
	while [ -n "$(ss -Hltn "sport = :$_cp" 2>/dev/null)" ]; do
		_cp=$((_cp + 1))
	done
	echo "$_cp"
}

# ---- the line: port and host key --------------------------------------------
new
harness_ssh_key support alice -- token "$ID" >"$H/token.out" 2>&1 ||
    harness_fail "token: $(cat "$H/token.out")"
# token made a new one: the first no longer works.
(umask 077 && sed -n 's/^token  *\([^ ]*\).*/\1/p' "$H/token.out" >"$TOKENFILE")
harness_ssh_key support alice -- new --case CS-2 >"$H/new.out" 2>&1 ||
    harness_fail "new: $(cat "$H/new.out")"
LINE=$(sed -n 's/^    \(tunl-share .*\)$/\1/p' "$H/new.out")
ID2=$(sed -n 's/^session  *//p' "$H/new.out")
KEY=$(cut -d' ' -f1,2 "$H/etc/ssh_host_ed25519_key.pub")
harness_assert_eq \
    "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$KEY' --case CS-2 $ID2" \
    "$LINE" "the line new prints"
# token prints the whole line too.
harness_assert_contains "$(cat "$H/token.out")" \
    "    tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$KEY' $ID"
rm -f "$H/new.out" "$H/token.out"

# The customer's machine: a fresh HOME and a PATH with tunl-share in it.
CHOME=$H/customer-home
mkdir -p "$CHOME" "$H/custbin"
ln -s "$SHARE" "$H/custbin/tunl-share"
CENV="env -i HOME=$CHOME PATH=$H/custbin:/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR=$XDG SHELL=/bin/sh TERM=screen"
SPOKEN=$(printf '%s' "$ID" | tr 'a-z-' 'A-Z ')
UPPER=$(printf '%s' "$ID" | tr 'a-z' 'A-Z')
ERR=$H/client/share.err

# ---- a wrong host key is refused, and says so --------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$H/client/otherhost" </dev/null
OTHER=$(cut -d' ' -f1,2 "$H/client/otherhost.pub")
$CENV "$SHARE" --relay "127.0.0.1:$HARNESS_PORT" --host-key "$OTHER" \
    --token-file "$TOKENFILE" "$ID" </dev/null >"$ERR" 2>&1 &&
    harness_fail "a relay with another host key was accepted"
harness_assert_contains "$(cat "$ERR")" "its host key could not be verified"
harness_assert_contains "$(cat "$ERR")" "not the one given with --host-key"

# ---- a closed port: connection refused, the id typed in capitals -------------
CP=$(closed_port)
$CENV "$SHARE" --relay "127.0.0.1:$CP" --host-key "$KEY" \
    --token-file "$TOKENFILE" "$UPPER" </dev/null >"$ERR" 2>&1 &&
    harness_fail "a closed port worked"
harness_assert_contains "$(cat "$ERR")" "refused the connection on port $CP"
harness_assert_contains "$(cat "$ERR")" "connection refused"
harness_assert_not_contains "$(cat "$ERR")" "not a session id"
harness_assert_not_contains "$(cat "$ERR")" "wrong id or token"

# ---- IPv6 in brackets, where the machine has ::1 ------------------------------
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	CP=$(closed_port)
	$CENV "$SHARE" --relay "[::1]:$CP" --host-key "$KEY" \
	    --token-file "$TOKENFILE" $SPOKEN </dev/null >"$ERR" 2>&1 &&
	    harness_fail "a closed IPv6 port worked"
	harness_assert_contains "$(cat "$ERR")" "::1 refused the connection on port $CP"
else
	harness_log "no ::1 here: the IPv6 connection is skipped"
fi
$CENV "$SHARE" --relay "::1:$CP" --token-file "$TOKENFILE" "$ID" \
    </dev/null >"$ERR" 2>&1 && harness_fail "an unbracketed IPv6 address was taken"
harness_assert_contains "$(cat "$ERR")" "in brackets"

# ---- a wrong token: the relay refused it, in those words ---------------------
(umask 077 && echo 00000000 >"$H/client/wrong.token")
$CENV "$SHARE" --relay "127.0.0.1:$HARNESS_PORT" --host-key "$KEY" \
    --token-file "$H/client/wrong.token" "$ID" </dev/null >"$ERR" 2>&1 &&
    harness_fail "a wrong token was accepted"
harness_assert_contains "$(cat "$ERR")" "refused the session id or the token"

# ---- the line for $ID, pasted as is into the customer's shell ---------------
# (the id as printed; the token typed when asked, through a tmux buffer so
# that it is in no argv).
PASTE=$H/client/line
printf '%s\n' "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$KEY' $ID" >"$PASTE"
pane cust "$CENV sh"
tm load-buffer -b line "$PASTE"
tm paste-buffer -b line -t e2e:cust
wait_screen cust "Session token (not shown):"
tm load-buffer -b tok "$TOKENFILE"
tm paste-buffer -b tok -t e2e:cust
cust_wait_ready 1
[ -e "$CHOME/.ssh/known_hosts" ] &&
    harness_fail "tunl-share wrote the customer's known_hosts"
DIR=${CSOCK%/tmux.sock}
[ "$(stat -c %a "$DIR/known_hosts")" = 600 ] ||
    harness_fail "tunl-share's own known_hosts is not 0600"

# An engineer joins with the id as read aloud: capitals, spaces.
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $SPOKEN --read-only"
wait_screen ro "bob (ro)"
# The recording: a clipboard write and a title, between two lines of text.
tmux -S "$CSOCK" send-keys -t tunl:0.0 \
    'o=]5; t=]0; p=aGVs; printf "before-osc\n\033${o}2;c;${p}bG8=\007\033${t};${p}title\007after-osc-$((3+4))\n"' Enter
wait_screen ro after-osc-7
cust_wait_pane after-osc-7

# ---- the plain ssh login shows the same line ----------------------------------
harness_ssh_key support alice -- token "$ID2" >"$H/token2.out" 2>&1 ||
    harness_fail "token: $(cat "$H/token2.out")"
TOKEN2=$(sed -n 's/^token  *\([^ ]*\).*/\1/p' "$H/token2.out")
rm -f "$H/token2.out"
relay_login "$(printf '%s' "$ID2" | tr 'a-z-' 'A-Z ')" "$TOKEN2" status ||
    harness_fail "status with the id read aloud: $(cat "$H/err")"
harness_assert_contains "$(cat "$H/out")" \
    "    tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$KEY' $ID2"

# ---- the end: the recording kept nothing the filter drops ---------------------
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "recording: $DIR/session.cast"
CAST=$DIR/session.cast
[ -s "$CAST" ] || harness_fail "no recording"
grep -q 'after-osc-7' "$CAST" || harness_fail "the recording lacks the text"
grep -q 'before-osc' "$CAST" || harness_fail "the recording lacks the text"
grep -q 'aGVsbG8' "$CAST" && harness_fail "the clipboard write is in the recording"
grep -q 'aGVstitle' "$CAST" && harness_fail "the title is in the recording"

share_finish
