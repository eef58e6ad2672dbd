#!/bin/sh
# tunl-authority, installed root:tunl-auth 2755 as on a relay, run as the
# relay's accounts in a private namespace: `mint` (engineer only) creates a
# session and stores only the token's keyed hash; `sign` (customer only)
# needs the hand-off of its own connection naming that session, issues a
# certificate bound to it and consumes the token; the accounts cannot read
# the keys themselves; a hostile environment changes nothing.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init authority
command -v setpriv >/dev/null 2>&1 || harness_skip "needs setpriv"
command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"
. "$top_srcdir/tests/integration/relay.sh"

HANDOFF=$top_builddir/tests/helpers/authority-handoff
[ -x "$HANDOFF" ] || harness_fail "build tests/helpers/authority-handoff first"

# A cooldown of an hour: a second sign "at once" is inside it however slow
# the machine (the end of a cooldown is checked with a short one below).
relay_config "sign_cooldown = 3600" "cert_ttl = 30"
relay_init
relay_install
AUTH=$H/libexec/tunl-authority
CONN_A="127.0.0.1 40001 127.0.0.1 22"
CONN_X="127.0.0.1 40009 127.0.0.1 22"

field() {
	printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

# eng_login NAME PORT: the login file pam_tunl's session stage writes for
# engineer NAME logged in from PORT; ECONN_<NAME> and EKEY_<NAME> are that
# login's SSH_CONNECTION and TUNL_LOGIN_KEY, for the engineer verbs.
eng_login() {
	_k=$(relay_in_ns "$HANDOFF" -e /run/tunl/auth tunl-auth "$1" \
	    "127.0.0.1 $2 127.0.0.1 22") ||
	    harness_fail "cannot write the login file of engineer $1"
	eval "ECONN_$1='127.0.0.1 $2 127.0.0.1 22' EKEY_$1=$_k"
}

# as_eng NAME USER CMD...: run CMD as USER in engineer NAME's login.
as_eng() {
	_n=$1
	shift
	eval "_c=\${ECONN_$_n:-} _k=\${EKEY_$_n:-}"
	_u=$1
	shift
	relay_as "$_u" env SSH_CONNECTION="$_c" TUNL_LOGIN_KEY="$_k" "$@"
}

# mint USER REQUEST: run mint as USER in the login of the engineer the
# request names; stdout in $out, stderr in $err, status in $rc.
mint() {
	_m=$(printf '%s\n' "$2" | sed -n 's/^engineer=\([a-z]*\) .*/\1/p')
	out=$(printf '%s\n' "$2" | as_eng "$_m" "$1" "$AUTH" mint 2>"$H/err")
	rc=$?
	err=$(cat "$H/err")
}

# sign USER CONNECTION ID KEYFILE [env...]: likewise for sign (as relay_as
# does it), with $H/tmp as its /tmp, where tunl-authority makes its signing
# directory: the machine's /tmp holds those of tests running beside this.
mkdir -m 1777 "$H/tmp" || harness_fail "mkdir $H/tmp"
sign() {
	_su=$1
	_sc=$2
	_si=$3
	_sk=$4
	shift 4
	[ -n "$_sc" ] && set -- SSH_CONNECTION="$_sc" "$@"
	out=$(relay_in_ns sh -c 'mount --bind "$1" /tmp && shift && exec "$@"' \
	    sh "$H/tmp" setpriv --reuid="$_su" --regid="$_su" --init-groups \
	    --reset-env -- env "$@" "$AUTH" sign "$_si" <"$_sk" 2>"$H/err")
	rc=$?
	err=$(cat "$H/err")
}

expect_fail() {
	[ "$rc" = 1 ] || harness_fail "$1: exit $rc (out [$out] err [$err])"
	[ -z "$out" ] || harness_fail "$1: printed [$out]"
	harness_assert_contains "$err" "$2" "$1"
	n=$(printf '%s\n' "$err" | wc -l)
	harness_assert_eq 1 "$n" "$1: one line on stderr"
}

nsessions() {
	relay_sql "SELECT count(*) FROM sessions"
}

# ---- the installation: who can read what ---------------------------------

harness_assert_eq "0:$HARNESS_GID_TUNL_AUTH 2755" \
    "$(stat -c '%u:%g %a' "$AUTH")" "tunl-authority owner and mode"
for f in token.key user_ca; do
	harness_assert_eq "0:$HARNESS_GID_TUNL_AUTH 640" \
	    "$(stat -c '%u:%g %a' "$H/etc/tunl/$f")" "$f owner and mode"
	for u in tunl support tunlauth; do
		if relay_as "$u" cat "$H/etc/tunl/$f" >/dev/null 2>&1; then
			harness_fail "$u could read $f"
		fi
	done
done

eng_login alice 41001
eng_login bob 41002
eng_login carol 41003

# ---- mint --------------------------------------------------------------------

# Times are checked against the clock read before and after each run, never
# against a guess of how long a run takes.
now=$(date +%s)
mint support "engineer=alice case=CASE-1 customer=acme ttl=30 mode=share"
now1=$(date +%s)
[ "$rc" = 0 ] || harness_fail "mint as support: exit $rc: $err"
harness_assert_eq "" "$err" "mint's stderr"
A=$(field id "$out")
TOKEN=$(field token "$out")
expires=$(field expires "$out")
printf '%s\n' "$A" | grep -Eqx '[a-z]{3,8}(-[a-z]{3,8}){3}' ||
    harness_fail "minted id [$A]"
printf '%s\n' "$TOKEN" | grep -Eqx '[0-9]{8}' || harness_fail "token [$TOKEN]"
harness_assert_eq 3 "$(printf '%s\n' "$out" | wc -l)" "mint prints three lines"
[ "$expires" -ge $((now + 1800)) ] && [ "$expires" -le $((now1 + 1800)) ] ||
    harness_fail "expires $expires is not now + 30 min ($now to $now1)"

row=$(relay_sql "SELECT state, mode, case_ref, customer, engineer, expires
    FROM sessions WHERE id = '$A'")
harness_assert_eq "pending|share|CASE-1|acme|alice|$expires" "$row" \
    "the registry's row for $A"
# The token lives as long as the session here (token_ttl 60 > ttl 30).
harness_assert_eq "32|1|$expires" "$(relay_sql "SELECT length(hash),
    consumed_at IS NULL, expires FROM tokens WHERE session_id = '$A'")" \
    "token row: a 32-byte hash, live, expiring with the session"
# The token itself is nowhere in the database, in any encoding we know.
relay_sql ".dump" >"$H/dump.sql"
hexdigits=$(printf '%s' "$TOKEN" | od -An -tx1 | tr -d ' \n')
if grep -q "$TOKEN" "$H/dump.sql" || grep -qi "$hexdigits" "$H/dump.sql"; then
	harness_fail "the token appears in the database"
fi
harness_assert_eq "created|alice" "$(relay_sql "SELECT action, actor FROM events
    WHERE session_id = '$A'")" "the creation event names the engineer"

# Empty case and customer, default ttl (session_ttl = 240), restricted.
now=$(date +%s)
mint support "engineer=bob case=- customer=- ttl=- mode=restricted"
now1=$(date +%s)
[ "$rc" = 0 ] || harness_fail "mint with empty fields: $err"
B=$(field id "$out")
expires=$(field expires "$out")
[ "$expires" -ge $((now + 14400)) ] && [ "$expires" -le $((now1 + 14400)) ] ||
    harness_fail "default ttl: expires $expires, now $now to $now1"
harness_assert_eq "restricted||" "$(relay_sql "SELECT mode, case_ref, customer
    FROM sessions WHERE id = '$B'")" "empty case and customer stored empty"
# token_ttl (60) is shorter than this session's 240 minutes: both are
# counted from the same moment of minting.
harness_assert_eq $((expires - 14400 + 3600)) \
    "$(relay_sql "SELECT expires FROM tokens WHERE session_id = '$B'")" \
    "token expiry: 60 minutes from minting"

count=$(nsessions)
mint tunl "engineer=alice case=- customer=- ttl=5 mode=share"
expect_fail "mint as the customer account" \
    "mint is for the engineer account only"
mint tunlauth "engineer=alice case=- customer=- ttl=5 mode=share"
expect_fail "mint as the principals account" \
    "mint is for the engineer account only"
mint support "engineer=alice case=- customer=- ttl=5 mode=share extra=1"
expect_fail "mint with an extra field" "bad request"
mint support "engineer=alice case=\$(reboot) customer=- ttl=5 mode=share"
expect_fail "mint with a shell word in the case" "bad request"
mint support "engineer=alice case=- customer=- ttl=241 mode=share"
expect_fail "mint beyond session_ttl" "ttl is longer than the relay allows"
out=$(head -c 600 /dev/zero | tr '\0' 'a' | relay_as support "$AUTH" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "mint with an oversized request" "bad request"
out=$(printf 'engineer=alice case=- customer=- ttl=5 mode=share\n' |
    relay_as support "$AUTH" -f "$RELAY_CONF" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "-f from a non-root caller" "-f is for root only"
# Root may name a configuration, but root is neither account.
out=$(printf 'engineer=alice case=- customer=- ttl=5 mode=share\n' |
    relay_in_ns "$AUTH" -f "$RELAY_CONF" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "mint as root" "mint is for the engineer account only"
# The engineer's name is the one pam_tunl recorded for the login: without
# an engineer login the verbs refuse and say what to fix; a request naming
# another engineer than the login's is refused.
out=$(printf 'engineer=alice case=- customer=- ttl=5 mode=share\n' |
    relay_as support "$AUTH" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "mint without an engineer login" \
    "the relay's PAM session stage must run pam_tunl for the engineer account"
out=$(printf 'engineer=alice case=- customer=- ttl=5 mode=share\n' |
    relay_as support env SSH_CONNECTION="127.0.0.1 41009 127.0.0.1 22" \
    TUNL_LOGIN_KEY="$EKEY_alice" "$AUTH" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "mint with alice's key on a connection without a login" \
    "no engineer login recorded by pam_tunl"
out=$(printf 'engineer=alice case=- customer=- ttl=5 mode=share\n' |
    as_eng bob support "$AUTH" mint 2>"$H/err")
rc=$?
err=$(cat "$H/err")
expect_fail "mint in bob's login naming alice" \
    "the request names another engineer than this login's"
# A closed stdout: refused before anything is read or written.
relay_as support "$AUTH" mint </dev/null >&- 2>/dev/null &&
    harness_fail "mint ran with stdout closed"
harness_assert_eq "$count" "$(nsessions)" "refused mints created nothing"

# ---- sign ------------------------------------------------------------------

harness_keygen cust
harness_keygen other
ssh-keygen -q -t rsa -b 2048 -N '' -f "$H/client/rsa" </dev/null ||
    harness_fail "ssh-keygen rsa"

# The customer account cannot forge a hand-off.
if relay_as tunl sh -c 'echo x >/run/tunl/auth/forged.handoff' 2>/dev/null; then
	harness_fail "the customer account wrote into /run/tunl/auth"
fi

# The hand-off and the login file, as pam_tunl writes them after a login
# with $TOKEN; LK_A is the login key the login's environment would hold.
LK_A=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$A" "$CONN_A" 0 \
    tunl-auth "$H/etc/tunl/token.key" "$TOKEN") ||
    harness_fail "cannot write the hand-off for $A"
KA=TUNL_LOGIN_KEY=$LK_A
# The login file is for root and the key group only.
harness_assert_eq "0:$HARNESS_GID_TUNL_AUTH 640" \
    "$(relay_in_ns sh -c 'stat -c "%u:%g %a" /run/tunl/auth/*.login' |
    sort -u)" \
    "the login file's owner and mode"
if relay_as tunl sh -c 'cat /run/tunl/auth/*.login' >/dev/null 2>&1; then
	harness_fail "the customer account read a login file"
fi

sign support "$CONN_A" "$A" "$H/client/cust.pub"
expect_fail "sign as the engineer account" \
    "sign is for the customer account only"
sign tunl "" "$A" "$H/client/cust.pub"
expect_fail "sign without SSH_CONNECTION" "not authorised for that session"
sign tunl "$CONN_X" "$A" "$H/client/cust.pub" "$KA"
expect_fail "sign from a connection without a hand-off" \
    "not authorised for that session"
sign tunl "$CONN_A" "$B" "$H/client/cust.pub" "$KA"
expect_fail "sign for B with A's hand-off" "not authorised for that session"
sign tunl "$CONN_A" "../../etc/passwd" "$H/client/cust.pub" "$KA"
expect_fail "sign with a path for an id" "not authorised for that session"
# The connection line alone is not enough: it is in the hand-off, which
# the customer account can read. Without the login key, or with a wrong
# or malformed one, sign refuses.
sign tunl "$CONN_A" "$A" "$H/client/cust.pub"
expect_fail "sign with A's connection line but no login key" \
    "not authorised for that session"
sign tunl "$CONN_A" "$A" "$H/client/cust.pub" \
    TUNL_LOGIN_KEY=$(printf '%064d' 7)
expect_fail "sign with a wrong login key" "not authorised for that session"
sign tunl "$CONN_A" "$A" "$H/client/cust.pub" TUNL_LOGIN_KEY="$LK_A"x
expect_fail "sign with a malformed login key" "not authorised for that session"
sign tunl "$CONN_A" "$A" "$H/client/rsa.pub" "$KA"
expect_fail "sign an RSA key" "expected one ssh-ed25519 public key"
cat "$H/client/cust.pub" "$H/client/other.pub" >"$H/client/two.pub"
sign tunl "$CONN_A" "$A" "$H/client/two.pub" "$KA"
expect_fail "sign two keys" "expected one ssh-ed25519 public key"
harness_assert_eq 0 "$(relay_sql "SELECT count(*) FROM sign_cooldown")" \
    "refusals so far did not start a cooldown"

# A hostile environment: a preloaded library and a PATH with its own
# ssh-keygen, each of which would leave a marker if it ever ran.
mkdir -p "$H/evil" && chmod 0755 "$H/evil"
cat >"$H/evil/evil.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void
evil(void)
{
	int fd = open("$H/evil/preloaded", O_WRONLY | O_CREAT, 0666);
	if (fd != -1)
		close(fd);
}
EOF
cc -shared -fPIC -o "$H/evil/evil.so" "$H/evil/evil.c" ||
    harness_fail "cannot build the preload library"
printf '#!/bin/sh\ntouch %s/evil/path-used\nexit 1\n' "$H" >"$H/evil/ssh-keygen"
chmod 0755 "$H/evil/ssh-keygen" "$H/evil/evil.so"
chmod 0777 "$H/evil"
# Sanity: the library does leave its marker in an ordinary program.
relay_as tunl env LD_PRELOAD="$H/evil/evil.so" true
[ -e "$H/evil/preloaded" ] || harness_fail "the preload marker does not work"
rm -f "$H/evil/preloaded"

now=$(date +%s)
sign tunl "$CONN_A" "$A" "$H/client/cust.pub" "$KA" \
    LD_PRELOAD="$H/evil/evil.so" LD_LIBRARY_PATH="$H/evil" \
    PATH="$H/evil:/usr/bin:/bin" TMPDIR="$H/evil" HOME="$H/evil"
now1=$(date +%s)
[ "$rc" = 0 ] || harness_fail "sign for $A: exit $rc: $err"
harness_assert_eq "" "$err" "sign's stderr"
[ -e "$H/evil/preloaded" ] && harness_fail "LD_PRELOAD reached tunl-authority or ssh-keygen"
[ -e "$H/evil/path-used" ] && harness_fail "PATH chose the ssh-keygen"
harness_assert_eq "" "$(ls "$H/evil" | grep -v -e '^evil' -e '^ssh-keygen$')" \
    "nothing was written to TMPDIR or HOME"
harness_assert_eq "" "$(ls -A "$H/tmp")" \
    "the signing directory was removed"

printf '%s\n' "$out" >"$H/client/cust-cert.pub"
case $out in
"ssh-ed25519-cert-v01@openssh.com "*) ;;
*) harness_fail "sign printed [$out]" ;;
esac
ssh-keygen -Lf "$H/client/cust-cert.pub" >"$H/cert.txt" ||
    harness_fail "ssh-keygen -L cannot read the certificate"
cert=$(cat "$H/cert.txt")
harness_assert_contains "$cert" "Type: ssh-ed25519-cert-v01@openssh.com user certificate"
harness_assert_contains "$cert" "Public key: ED25519-CERT $(ssh-keygen -lf "$H/client/cust.pub" | awk '{ print $2 }')" \
    "the certificate is for the customer's key"
harness_assert_contains "$cert" "Signing CA: ED25519 $(ssh-keygen -lf "$H/etc/tunl/user_ca.pub" | awk '{ print $2 }')" \
    "signed by the relay's CA"
harness_assert_contains "$cert" "Key ID: \"$A\""
principals=$(sed -n '/Principals:/,/Critical Options:/p' "$H/cert.txt" |
    sed '1d;$d' | tr -d ' \t')
harness_assert_eq "tunl-$A" "$principals" "exactly one principal"
critical=$(sed -n '/Critical Options:/,/Extensions:/p' "$H/cert.txt" |
    sed '1d;$d' | sed 's/^[[:space:]]*//')
case $critical in
"force-command /"*/tunl/tunl-shell) ;;
*) harness_fail "critical options [$critical]: want only force-command tunl-shell" ;;
esac
ext=$(sed -n '/Extensions:/,$p' "$H/cert.txt" | sed '1d' | tr -d ' \t')
harness_assert_eq "" "$ext" "no extensions: no pty, forwarding, agent, X11, rc"
# The serial is the id of the token this sign consumed (admit tells a
# certificate from an older token's by it, whatever the second).
serial=$(sed -n 's/^[[:space:]]*Serial: //p' "$H/cert.txt")
tokid=$(relay_sql "SELECT id FROM tokens WHERE session_id = '$A' AND consumed_at IS NOT NULL ORDER BY id DESC LIMIT 1")
[ -n "$tokid" ] && [ "$serial" = "$tokid" ] ||
    harness_fail "serial $serial is not the consumed token's id ($tokid)"
# ssh-keygen counts from its own now, within the sign.
valid=$(sed -n 's/^[[:space:]]*Valid: from \(.*\) to \(.*\)$/\1 \2/p' "$H/cert.txt")
set -- $valid
from=$(date -d "$1" +%s)
to=$(date -d "$2" +%s)
[ "$from" -ge $((now - 60)) ] && [ "$from" -le $((now1 - 60)) ] ||
    harness_fail "valid from $1, not a minute before signing ($now to $now1)"
[ "$to" -ge $((now + 1800)) ] && [ "$to" -le $((now1 + 1800)) ] ||
    harness_fail "valid to $2, not 30 min after signing ($now to $now1; cert_ttl 30)"

harness_assert_eq 0 "$(relay_sql "SELECT consumed_at IS NULL FROM tokens
    WHERE session_id = '$A'")" "the token is consumed"
harness_assert_eq "customer|serial=$serial|127.0.0.1" "$(relay_sql "SELECT actor,
    detail, source FROM events WHERE session_id = '$A' AND action = 'sign'")" \
    "the sign event"

# Again at once with the same login: its token is used, so it is refused
# as such before the cooldown is looked at (a refused login must not take
# the cooldown: an old login could otherwise lock the customer out), and
# the cooldown's stamp is the first sign's. The cooldown itself is for
# certificate logins' renewals (share-renew.sh; test-registry).
stamp=$(relay_sql "SELECT * FROM sign_cooldown")
sign tunl "$CONN_A" "$A" "$H/client/other.pub" "$KA"
expect_fail "a second sign with the used token" \
    "the session's token has already been used"
harness_assert_eq "$stamp" "$(relay_sql "SELECT * FROM sign_cooldown")" \
    "a refused sign stamps no cooldown"
relay_config "sign_cooldown = 1" "cert_ttl = 30"
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM events
    WHERE session_id = '$A' AND action = 'sign'")" "one certificate for one token"

# A session that is locked or ended gets no certificate, hand-off or not.
CONN_B="127.0.0.1 40002 127.0.0.1 22"
LK_B=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$B" "$CONN_B" 0 \
    tunl-auth "$H/etc/tunl/token.key" -) ||
    harness_fail "cannot write the hand-off for $B"
relay_sql "UPDATE sessions SET state = 'locked' WHERE id = '$B'"
sign tunl "$CONN_B" "$B" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_B"
expect_fail "sign for a locked session" "not authorised for that session"
relay_sql "UPDATE sessions SET state = 'pending', expires = 1000 WHERE id = '$B'"
sign tunl "$CONN_B" "$B" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_B"
expect_fail "sign for an expired session" "not authorised for that session"

# A hand-off older than session_ttl (240 min) is refused.
mint support "engineer=carol case=- customer=- ttl=10 mode=share"
C=$(field id "$out")
CONN_C="127.0.0.1 40003 127.0.0.1 22"
TC=$(field token "$out")
LK_C=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$C" "$CONN_C" 14500 \
    tunl-auth "$H/etc/tunl/token.key" "$TC") ||
    harness_fail "cannot write an old hand-off for $C"
sign tunl "$CONN_C" "$C" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_C"
expect_fail "sign with a stale hand-off" "not authorised for that session"
harness_assert_eq 1 "$(relay_sql "SELECT consumed_at IS NULL FROM tokens
    WHERE session_id = '$C'")" "refusals leave the token alone"

# A long cooldown from here: a refused sign must not take it, so the
# login with the new token signs at once (it would wait an hour if the
# refusal below had stamped it).
relay_config "sign_cooldown = 3600" "cert_ttl = 30"
# A login is tied to its token. D's customer logged in with TD; an
# engineer then issues a new token: the older login can neither sign nor
# use up the new token.
mint support "engineer=carol case=- customer=- ttl=10 mode=share"
D=$(field id "$out")
TD=$(field token "$out")
CONN_D="127.0.0.1 40004 127.0.0.1 22"
LK_D=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$D" "$CONN_D" 0 \
    tunl-auth "$H/etc/tunl/token.key" "$TD") ||
    harness_fail "cannot write the hand-off for $D"
# Another login's environment on this connection proves nothing.
sign tunl "$CONN_D" "$D" "$H/client/other.pub" "$KA"
expect_fail "sign for D with A's login key" "not authorised for that session"
sign tunl "$CONN_A" "$D" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_D"
expect_fail "sign for D on A's connection with D's key" \
    "not authorised for that session"
out=$(printf 'engineer=carol id=%s\n' "$D" | as_eng carol support "$AUTH" token \
    2>"$H/err") || harness_fail "token for $D: $(cat "$H/err")"
TD2=$(field token "$out")
[ -n "$TD2" ] && [ "$TD2" != "$TD" ] || harness_fail "no new token for $D"
sign tunl "$CONN_D" "$D" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_D"
expect_fail "sign with a login of a superseded token" \
    "the session's token has already been used"
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM tokens
    WHERE session_id = '$D' AND consumed_at IS NULL")" \
    "the new token is still unused"
# A login with the new token signs (and consumes that token).
CONN_D2="127.0.0.1 40005 127.0.0.1 22"
LK_D2=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$D" "$CONN_D2" 0 \
    tunl-auth "$H/etc/tunl/token.key" "$TD2") ||
    harness_fail "cannot write the second hand-off for $D"
sign tunl "$CONN_D2" "$D" "$H/client/other.pub" TUNL_LOGIN_KEY="$LK_D2"
[ "$rc" = 0 ] || harness_fail "sign for $D with the new token: exit $rc: $err"
harness_assert_eq 0 "$(relay_sql "SELECT count(*) FROM tokens
    WHERE session_id = '$D' AND consumed_at IS NULL")" \
    "the new token was consumed"

harness_host_unchanged
harness_log "passed"
exit 0
