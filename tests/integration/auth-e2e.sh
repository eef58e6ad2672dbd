#!/bin/sh
# Relay authentication end to end, every part real: sshd with the shipped
# sshd_config.d/tunl.conf and pam.d/tunl, pam_tunl, tunl-shell,
# tunl-authority (setgid) and tunl-principals, on a relay prepared by
# tunl-admin init. An engineer creates sessions with `new`; a customer
# logs in with the id and token, gets a certificate with `sign`, and logs
# in with it. Checks the invariants of SPEC.md 1, 2, 3 and 10 as a user
# meets them: binding to one session, single-use tokens, expiry, the
# failure cap, fail2ban's view, and no secret in logs or ps.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init auth-e2e
. "$top_srcdir/tests/integration/relay.sh"

MODULE=$top_builddir/.libs/pam_tunl.so
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "a sanitizer build's pam_tunl.so cannot load into the stock sshd (test-pam covers it under ASan)"
for f in "$MODULE" "$top_builddir/tunl-shell" "$top_builddir/tunl-authority" \
    "$top_builddir/tunl-principals" "$top_builddir/tests/helpers/syslog-sink"; do
	[ -f "$f" ] || harness_fail "$f is not built"
done
command -v logger >/dev/null 2>&1 || harness_skip "needs logger (util-linux)"

relay_config "failure_cap = 5" "rate_limit = 100" "sign_cooldown = 1"
relay_init
relay_install
# The shipped ForceCommand line names tunl-shell alone; the operator's
# options a test needs (where the authority and the engineers' keys are)
# come from a root-owned wrapper, as an operator's sshd_config would give.
harness_install_libexec "$top_builddir/tunl-shell" tunl-shell.bin
cat >"$H/libexec/tunl-shell" <<EOF2
#!/bin/sh
exec $H/libexec/tunl-shell.bin --authority $H/libexec/tunl-authority --engineer-keys $H/keys/support.authorized_keys
EOF2
chmod 0755 "$H/libexec/tunl-shell"

HARNESS_SUBST_PAM_MODULE=$MODULE
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_CUSTOMER_USER \
    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER
# pam.d/tunl stands above Debian's common-* lines in /etc/pam.d/sshd.
relay_pam_stack
harness_keygen alice
harness_authorize support alice 'environment="TUNL_ENGINEER=alice"'
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
harness_start_sshd
harness_syslog_start

# Watch ps for the whole test: no secret may ever show in an argv. The
# watcher stops (at $H/ps.stop) before its log is searched, since the
# searches' own argv hold the secrets; until then nothing this script runs
# is given a secret on its command line.
(
	while [ ! -e "$H/ps.stop" ]; do
		ps -eo args >>"$H/ps.log" 2>/dev/null
		sleep 0.05
	done
) &
psw=$!
harness_track "$psw"

# login_refused ID TOKEN WHAT: pam_tunl must refuse this login; each
# refusal logs one failure line (counted in nfail).
nfail=0
login_refused() {
	relay_login "$1" "$2" status && harness_fail "$3"
	nfail=$((nfail + 1))
}

field() {
	sed -n "s/^$1 *//p" "$H/out" | head -n 1
}

# new_session [ARGS]: as engineer alice; sets ID and TOKEN.
new_session() {
	harness_ssh_key support alice new "$@" </dev/null >"$H/out" 2>"$H/err" ||
	    harness_fail "new: $(cat "$H/err")"
	ID=$(field session)
	TOKEN=$(sed -n 's/^token *\([0-9]*\).*/\1/p' "$H/out")
	[ -n "$ID" ] && [ -n "$TOKEN" ] || harness_fail "new printed: $(cat "$H/out")"
	printf '%s\n' "$TOKEN" >>"$H/secrets"
}

# sign_cert ID NAME: log in with ID and its token, send a new key to
# `sign`; the certificate goes to $H/client/NAME-cert.pub.
sign_cert() {
	harness_keygen "$2"
	(umask 077 && printf '%s\n' "$1" >"$H/client/answer.id" &&
	    printf '%s\n' "$3" >"$H/client/answer.token")
	grep -q 'answer.token' "$H/bin/askpass" 2>/dev/null || relay_askpass
	harness_ssh_kbd tunl unused sign "$1" <"$H/client/$2.pub" \
	    >"$H/client/$2-cert.pub" 2>"$H/err"
}

# ---- an engineer creates a session --------------------------------------------
new_session --case CS-1 --customer acme
A=$ID
ATOK=$TOKEN
harness_assert_contains "$(cat "$H/out")" "tunl-share --relay"
# The registry holds the token's keyed hash, never the token.
relay_sql .dump >"$H/dump.sql"
# (Matched in the shell: a grep would show the token to the ps watcher.)
case $(cat "$H/dump.sql") in
*"$ATOK"*) harness_fail "the token is stored in clear" ;;
esac
harness_assert_eq alice "$(relay_sql "SELECT engineer FROM sessions WHERE id='$A';")" \
    "the engineer is recorded"

# ---- the customer's first login: id and token ----------------------------------
relay_login "$A" "$ATOK" "status $A" ||
    harness_fail "id and token refused: $(cat "$H/err")"
harness_assert_contains "$(cat "$H/out")" "$A"
harness_assert_contains "$(cat "$H/out")" "pending"
# Bound to A: nothing for another session, even on this good login.
new_session
B=$ID
BTOK=$TOKEN
relay_login "$A" "$ATOK" "status $B" && harness_fail "A's login read B's status"
harness_assert_contains "$(cat "$H/err")" "not authorised for that session"
relay_login "$A" "$ATOK" "produce $B" && harness_fail "A's login produced for B"
relay_login "$A" "$ATOK" "sign $B" </dev/null && harness_fail "A's login signed for B"
harness_assert_contains "$(cat "$H/err")" "not authorised for that session"
# A's token with B's id: refused at authentication, like any wrong token.
login_refused "$B" "$ATOK" "A's token opened B"
err_bind=$(cat "$H/err")
login_refused "$B" 00000000 "a wrong token logged in"
harness_assert_eq "$err_bind" "$(cat "$H/err")" "the same refusal whatever was wrong"
relay_login "$B" "$BTOK" status || harness_fail "B's own token refused"

# ---- the customer signs a key; the token is then used up -----------------------
sign_cert "$A" custa "$ATOK" || harness_fail "sign: $(cat "$H/err")"
ssh-keygen -L -f "$H/client/custa-cert.pub" >"$H/cert.txt" ||
    harness_fail "sign returned no certificate"
harness_assert_contains "$(cat "$H/cert.txt")" "Key ID: \"$A\""
harness_assert_contains "$(cat "$H/cert.txt")" "tunl-$A"
login_refused "$A" "$ATOK" "a used token logged in again"
# The certificate logs in for A, and only A.
harness_ssh_key tunl custa "status $A" </dev/null >"$H/out" 2>"$H/err" ||
    harness_fail "certificate login for A: $(cat "$H/err")"
harness_assert_contains "$(cat "$H/out")" "$A"
harness_ssh_key tunl custa "status $B" </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "A's certificate read B's status"
harness_ssh_key tunl custa "produce $B" </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "A's certificate produced for B"
# A certificate naming B's principal under A's key id (made with the CA
# directly, as only a thief of the CA key could) is refused by sshd.
# (ssh-keygen wants a 0600 copy of the 0640 key when the caller owns it.)
install -m 0600 "$H/etc/tunl/user_ca" "$H/ca-copy"
harness_keygen forged
ssh-keygen -q -s "$H/ca-copy" -I "$A" -n "tunl-$B" \
    -V -1m:+10m "$H/client/forged.pub" || harness_fail "cannot make the forged cert"
harness_ssh_key tunl forged status </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "a certificate whose principal is not its key id's logged in"
# An expired certificate is refused.
harness_keygen oldcert
ssh-keygen -q -s "$H/ca-copy" -I "$A" -n "tunl-$A" \
    -V 20200101:20200102 "$H/client/oldcert.pub" || harness_fail "cannot make the old cert"
rm -f "$H/ca-copy"
harness_ssh_key tunl oldcert status </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "an expired certificate logged in"

# ---- an expired token is refused -------------------------------------------------
new_session
C=$ID
CTOK=$TOKEN
relay_sql "UPDATE tokens SET expires = 1 WHERE session_id = '$C';"
login_refused "$C" "$CTOK" "an expired token logged in"

# ---- a new token for a live session ---------------------------------------------
# token_for ID: as engineer alice; sets TOKEN.
token_for() {
	harness_ssh_key support alice token "$1" </dev/null >"$H/out" 2>"$H/err" ||
	    return 1
	TOKEN=$(sed -n 's/^token *\([0-9]*\).*/\1/p' "$H/out")
	[ -n "$TOKEN" ] || harness_fail "token printed: $(cat "$H/out")"
	printf '%s\n' "$TOKEN" >>"$H/secrets"
}
# C's first token expired unused: a new one lets the customer in.
token_for "$C" || harness_fail "token for C: $(cat "$H/err")"
harness_assert_contains "$(cat "$H/out")" "tunl-share --relay"
relay_login "$C" "$TOKEN" status || harness_fail "C's new token refused: $(cat "$H/err")"
login_refused "$C" "$CTOK" "C's expired token logged in after a new one"
# B's token, never used, stops working when B gets a new one; the new
# one signs a certificate and is then used up like the first.
token_for "$B" || harness_fail "token for B: $(cat "$H/err")"
BTOK2=$TOKEN
login_refused "$B" "$BTOK" "B's replaced token logged in"
sign_cert "$B" custb "$BTOK2" || harness_fail "sign with B's new token: $(cat "$H/err")"
ssh-keygen -L -f "$H/client/custb-cert.pub" >"$H/cert.txt" ||
    harness_fail "sign with a new token returned no certificate"
harness_assert_contains "$(cat "$H/cert.txt")" "Key ID: \"$B\""
login_refused "$B" "$BTOK2" "B's new token logged in twice"
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM events WHERE session_id='$B'
    AND action='token-issued' AND actor='alice';")" "token-issued events by alice"
# The customer account has no such verb, with a token or a certificate.
harness_ssh_key tunl custb "token $B" </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "the customer account issued a token"
# Not for an id that is not a session, nor one that is not an id.
NOID=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
token_for "$NOID" && harness_fail "a token for no session"
harness_assert_contains "$(cat "$H/err")" "no live session"
token_for "../../x" && harness_fail "a token for a malformed id"

# ---- the session ends: its certificate stops working ------------------------------
harness_ssh_key support alice kill "$A" </dev/null >"$H/out" 2>"$H/err" ||
    harness_fail "kill: $(cat "$H/err")"
harness_ssh_key tunl custa status </dev/null >"$H/out" 2>"$H/err" &&
    harness_fail "a certificate for an ended session logged in"
relay_sql "SELECT actor, action FROM events WHERE session_id = '$A';" >"$H/events"
harness_assert_contains "$(cat "$H/events")" "alice"
token_for "$A" && harness_fail "a token for an ended session"
harness_assert_contains "$(cat "$H/err")" "is ended"

# ---- five failures lock a session; fail2ban sees every failure -------------------
new_session
D=$ID
DTOK=$TOKEN
i=0
while [ $i -lt 5 ]; do
	login_refused "$D" "$BTOK" "wrong token $i logged in"
	i=$((i + 1))
done
login_refused "$D" "$DTOK" "a locked session let its token in"
harness_assert_eq locked "$(relay_sql "SELECT state FROM sessions WHERE id='$D';")" \
    "the session is locked"
token_for "$D" && harness_fail "a token for a locked session"
harness_assert_contains "$(cat "$H/err")" "until an engineer unlocks it"
harness_ssh_key support alice unlock "$D" </dev/null >"$H/out" 2>"$H/err" ||
    harness_fail "unlock: $(cat "$H/err")"
relay_login "$D" "$DTOK" status || harness_fail "unlocked session refused its token"

# ---- the customer account cannot forge a hand-off --------------------------------
relay_as tunl sh -c 'echo x > /run/tunl/auth/forged.handoff' 2>/dev/null &&
    harness_fail "the customer account can write hand-offs"

# ---- another process as tunl cannot take a live login's certificate -----------
# E's customer logs in with E's token and runs `sign`, which waits for its
# key. Meanwhile a process running as tunl, not logged in, reads the
# hand-off (the relay group can), takes its connection line and asks
# tunl-authority for a certificate for E: refused, the token untouched,
# no cooldown started, and the real customer then signs.
new_session
E=$ID
ETOK=$TOKEN
harness_keygen custe
harness_keygen thief
rm -f "$H/e.fifo" && mkfifo "$H/e.fifo" || harness_fail "mkfifo"
(umask 077 && printf '%s\n' "$E" >"$H/client/answer.id" &&
    printf '%s\n' "$ETOK" >"$H/client/answer.token")
harness_ssh_kbd tunl unused sign "$E" <"$H/e.fifo" \
    >"$H/client/custe-cert.pub" 2>"$H/e.err" &
epid=$!
harness_track "$epid"
exec 7>"$H/e.fifo"
e_handoff() {
	relay_as tunl sh -c 'grep -l "^session=$1\$" /run/tunl/auth/*.handoff' \
	    sh "$E" >"$H/e.path" 2>/dev/null
}
harness_wait 60 "E's hand-off" e_handoff
EPATH=$(head -n 1 "$H/e.path")
ECONN=$(relay_as tunl sed -n 's/^connection=//p' "$EPATH")
[ -n "$ECONN" ] || harness_fail "the hand-off for $E has no connection line"
relay_as tunl env SSH_CONNECTION="$ECONN" "$H/libexec/tunl-authority" \
    sign "$E" <"$H/client/thief.pub" >"$H/out" 2>"$H/err" &&
    harness_fail "a process as tunl with E's connection line got a certificate"
harness_assert_contains "$(cat "$H/err")" "not authorised for that session"
[ -s "$H/out" ] && harness_fail "the refused sign printed [$(cat "$H/out")]"
# The login key is not where another tunl process can read it.
relay_as tunl sh -c 'cat /run/tunl/auth/*.login' >/dev/null 2>&1 &&
    harness_fail "the customer account read a login file"
# Once tunl-shell runs (it waits for the key on its standard input), it
# is non-dumpable: another tunl process cannot read its environment, where
# the login key came in. (Before it starts, the key is in the environment
# of the shell that starts it: docs/security.md, "The window before
# tunl-shell starts".)
e_shell_sealed() {
	# This test's own (other tests on the machine may run theirs).
	_pids=$(relay_in_ns pgrep -u tunl -f "^$H/libexec/tunl-shell.bin") ||
	    return 1
	for _p in $_pids; do
		relay_as tunl cat "/proc/$_p/environ" >/dev/null 2>&1 && return 1
	done
	return 0
}
harness_wait 60 "tunl-shell's environment closed to the tunl account" \
    e_shell_sealed
harness_assert_eq 1 "$(relay_sql "SELECT count(*) FROM tokens
    WHERE session_id = '$E' AND consumed_at IS NULL")" \
    "the refused sign left E's token alone"
cat "$H/client/custe.pub" >&7
exec 7>&-
wait "$epid" || harness_fail "E's own sign: $(cat "$H/e.err")"
ssh-keygen -L -f "$H/client/custe-cert.pub" >"$H/cert.txt" ||
    harness_fail "E's customer got no certificate"
harness_assert_contains "$(cat "$H/cert.txt")" "Key ID: \"$E\""

# One failure line for each refused login: none lost, none twice.
harness_syslog_sync
fails=$(grep -c 'pam_tunl(sshd:auth): authentication failure; rhost=127.0.0.1 ' "$H/syslog.log")
harness_assert_eq "$nfail" "$fails" "failure lines logged, one per refused login"
if matched=$(relay_f2b_matched "$H/syslog.log"); then
	harness_assert_eq "$fails" "$matched" "failures fail2ban-regex matched"
else
	harness_log "fail2ban-regex not installed: filter not checked"
fi

# ---- no secret in logs or ps ---------------------------------------------------------
# The watcher first: once wait returns, no ps of it runs to see the
# searches below. Then sshd and its sessions, so its log is complete.
: >"$H/ps.stop"
wait "$psw"
[ -s "$H/ps.log" ] || harness_fail "ps captured nothing"
harness_stop
while read -r s; do
	for f in "$H/sshd.log" "$H/syslog.log" "$H/ps.log"; do
		relay_holds_token "$s" "$f" && harness_fail "a token appears in $(basename "$f")"
	done
done <"$H/secrets"
for k in "$H/etc/tunl/user_ca" "$H/etc/tunl/token.key"; do
	b64=$(base64 -w0 <"$k" | cut -c1-24)
	grep -qF -- "$b64" "$H/sshd.log" "$H/syslog.log" "$H/ps.log" &&
	    harness_fail "key material of $k appears in a log"
done

harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
harness_log "passed"
exit 0
