#!/bin/sh
# What a script needs, through a real relay (share-lib.sh): `new --json`
# and tunl-share's --ready-file.
#
# Covered: `new --json --case CS-7` prints one JSON object with the id,
# the token (digits), the expiry (epoch seconds in the future, and the
# same instant in UTC), restricted false, host_key true and the customer's
# line exactly as the text form prints it for that id; the token works
# for that id. tunl-share --ready-file PATH makes PATH ("connected ID")
# once the relay answered it, by which time the registry has the session
# active or about to be (the broker writes it just after its answer);
# an engineer who joins then sees the customer's shell. When the session
# ends, PATH is gone. A relative path is refused.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ ! -f "$top_builddir/.libs/pam_tunl.so" ]; then
	echo "SKIP: share-ready: pam_tunl.so is not built here"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-ready: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
PY=$(command -v python3) || {
	echo "SKIP: share-ready: needs python3"
	exit 77
}

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-ready
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup
relay_config "producer_grace = 120" \
    "relay_address = 127.0.0.1:$HARNESS_PORT" \
    "relay_host_key = $H/etc/ssh_host_ed25519_key.pub"

# ---- new --json ------------------------------------------------------------------
harness_ssh_key support alice -- new --case CS-7 --json >"$H/new.json" 2>"$H/new.err" ||
    harness_fail "new --json: $(cat "$H/new.err")"
harness_assert_eq 1 "$(wc -l <"$H/new.json" | tr -d ' ')" "lines new --json prints"
# field NAME: one field of the object, as python prints it.
field() {
	"$PY" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(json.dumps(v) if isinstance(v, bool) or v is None else v)' "$H/new.json" "$1" ||
	    harness_fail "new --json: no field $1 in $(cat "$H/new.json")"
}
ID=$(field id)
TOKEN=$(field token)
EXPIRES=$(field expires)
KEY=$(cut -d' ' -f1,2 "$H/etc/ssh_host_ed25519_key.pub")
case $TOKEN in
'' | *[!0-9]*) harness_fail "new --json: token is not digits" ;;
esac
now=$(date +%s)
[ "$EXPIRES" -gt "$now" ] || harness_fail "new --json: expires $EXPIRES is not after $now"
harness_assert_eq "$(date -u -d "@$EXPIRES" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(field expires_utc)" "expires_utc"
harness_assert_eq false "$(field restricted)" "restricted"
harness_assert_eq true "$(field host_key)" "host_key"
harness_assert_eq \
    "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$KEY' --case CS-7 $ID" \
    "$(field line)" "the customer's line"
harness_assert_eq pending \
    "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" \
    "the new session's state"
TOKENFILE=$H/client/token.$ID
(umask 077 && printf '%s\n' "$TOKEN" >"$TOKENFILE")
rm -f "$H/new.json"

# ---- --ready-file -------------------------------------------------------------------
$SHARE --relay "127.0.0.1:$HARNESS_PORT" --ready-file ready "$ID" \
    >"$H/rel.out" 2>&1 </dev/null && harness_fail "a relative --ready-file was taken"
harness_assert_contains "$(cat "$H/rel.out")" "--ready-file: an absolute path"

READY=$XDG/ready
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE --ready-file $READY $ID"
ready_there() {
	[ -f "$READY" ]
}
harness_wait 120 "tunl-share's ready file" ready_there
harness_assert_eq "connected $ID" "$(cat "$READY")" "the ready file"
state_active() {
	[ "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" = active ]
}
harness_wait 60 "the registry to say active" state_active
cust_wait_ready 1
pane eng "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen eng "watching: alice"
wait_screen eng "ready-2"
# Nothing but the file itself was left beside it.
harness_assert_eq ready "$(ls "$XDG" | grep '^ready')" "files named ready* in the directory"

tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
[ -e "$READY" ] && harness_fail "the ready file outlived tunl-share"

share_finish
