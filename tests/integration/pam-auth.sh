#!/bin/sh
# pam_tunl through a real sshd: the shipped pam.d/tunl and
# sshd_config.d/tunl.conf templates, a relay prepared by tunl-admin init,
# keyboard-interactive logins answered by prompt text. Checks: the right
# id and token log in and the ForceCommand sees TUNL_SESSION and a
# root:tunl 0640 hand-off in /run/tunl/auth that is gone once the
# connection closes; a wrong token and a wrong id look the same to the
# client; five failures lock the session; one failure line each, in the
# exact format, matched by the shipped fail2ban filter; the token never
# appears in the sshd log, the syslog, or ps.
#
# tunl-shell and tunl-principals are small stand-ins written below, so that
# this test sees exactly what pam_tunl hands over (tests/integration/
# auth-e2e.sh runs the real programs together).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init pam-auth
. "$top_srcdir/tests/integration/relay.sh"

MODULE=$top_builddir/.libs/pam_tunl.so
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "a sanitizer build's pam_tunl.so cannot load into the stock sshd (test-pam covers it under ASan)"
SINK=$top_builddir/tests/helpers/syslog-sink
MKSESSION=$top_builddir/tests/helpers/pam-mksession
ADMIN=$top_builddir/tunl-admin
for _f in "$MODULE" "$SINK" "$MKSESSION" "$ADMIN"; do
	[ -x "$_f" ] || [ -f "$_f" ] || harness_fail "$_f is not built"
done
[ "$HARNESS_SAFE_TREE" = yes ] ||
    harness_skip "tunl-admin and sshd need a tree only root can write (set HARNESS_TMPDIR)"
command -v logger >/dev/null 2>&1 || harness_skip "needs logger (util-linux)"

# ---- the relay ----------------------------------------------------------

CONF=$H/etc/tunl/tunl.conf

pamt_relay() {
	relay_config "failure_cap = 5" "rate_limit = 100"
	relay_init
}

# pamt_session: a new session; sets ID and TOKEN (never on a command line).
pamt_session() {
	"$MKSESSION" "$CONF" >"$H/session.out" 2>"$H/session.err" ||
	    harness_fail "pam-mksession: $(cat "$H/session.err")"
	ID=$(sed -n 's/^id=//p' "$H/session.out")
	TOKEN=$(sed -n 's/^token=//p' "$H/session.out")
	rm -f "$H/session.out"
	[ -n "$ID" ] && [ -n "$TOKEN" ] || harness_fail "no session made"
	printf '%s\n' "$TOKEN" >>"$H/secrets"
}

# ---- the client side ----------------------------------------------------------

login() {
	relay_login "$@"
}

field() {
	sed -n "s/^$1=//p" "$H/out" | head -n 1
}

failure_lines() {
	grep -c 'pam_tunl(sshd:auth): authentication failure; ' "$H/syslog.log"
}

# ---- stand-ins for the programs of other branches -----------------------------

cat >"$H/tunl-shell" <<'EOF'
#!/bin/sh
# Stand-in ForceCommand: what pam_tunl handed over.
echo "user=$(id -un)"
echo "session=${TUNL_SESSION:-}"
echo "handoff=${TUNL_HANDOFF:-}"
if [ -n "${TUNL_HANDOFF:-}" ] && [ -r "$TUNL_HANDOFF" ]; then
	echo "readable=yes"
	echo "owner=$(stat -c '%U:%G %a' "$TUNL_HANDOFF")"
	echo "handoff_session=$(sed -n 's/^session=//p' "$TUNL_HANDOFF")"
	echo "handoff_connection=$(sed -n 's/^connection=//p' "$TUNL_HANDOFF")"
else
	echo "readable=no"
fi
echo "connection=${SSH_CONNECTION:-}"
EOF
printf '#!/bin/sh\n# Stand-in principals command: no principals.\nexit 0\n' \
    >"$H/tunl-principals"
harness_install_libexec "$H/tunl-shell"
harness_install_libexec "$H/tunl-principals"

# ---- sshd with the shipped drop-ins ----------------------------------------------

HARNESS_SUBST_PAM_MODULE=$MODULE
HARNESS_SUBST_TUNL_CONF=$CONF
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_TUNL_CONF \
    HARNESS_SUBST_CUSTOMER_USER HARNESS_SUBST_ENGINEER_USER \
    HARNESS_SUBST_PRINCIPALS_USER

pamt_relay
relay_pam_stack
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
harness_start_sshd
harness_syslog_start

# ---- the right id and token ---------------------------------------------------------

pamt_session
A=$ID
ATOK=$TOKEN
# Watch ps while logging in. The watcher stops at a flag and is waited
# for, so that no ps of it is still running when its log is searched.
(
	while [ ! -e "$H/ps.stop" ]; do
		ps -eo args >>"$H/ps.log" 2>/dev/null
		sleep 0.02
	done
) &
psw=$!
harness_track "$psw"
login "$A" "$ATOK" || harness_fail "right id and token refused: $(cat "$H/err")"
: >"$H/ps.stop"
wait "$psw"

harness_assert_eq tunl "$(field user)" "ForceCommand user"
harness_assert_eq "$A" "$(field session)" "TUNL_SESSION"
harness_assert_eq yes "$(field readable)" "the hand-off is readable by tunl"
harness_assert_eq "root:tunl 640" "$(field owner)" "hand-off owner and mode"
harness_assert_eq "$A" "$(field handoff_session)" "hand-off session"
harness_assert_eq "$(field connection)" "$(field handoff_connection)" \
    "hand-off connection"
handoff=$(field handoff)
case $handoff in
/run/tunl/auth/[0-9a-f]*.handoff) ;;
*) harness_fail "hand-off path is [$handoff]" ;;
esac
prompts=$(cat "$H/client/askpass.prompts")
harness_assert_contains "$prompts" "Session id: "
harness_assert_contains "$prompts" "Session token: "
[ "$(wc -l <"$H/client/askpass.prompts")" -eq 2 ] ||
    harness_fail "expected two prompts, got: $prompts"

# The hand-off lives as long as the connection.
harness_wait 60 "hand-off $handoff to go after the connection closed" \
    test ! -e "$H$handoff"
harness_syslog_sync
[ "$(failure_lines)" -eq 0 ] || harness_fail "failure logged for a good login"

# ---- wrong token, wrong id: the same refusal ------------------------------------------

wrong=$(printf '%s' "$ATOK" | tr '0123456789' '1234567890')
printf '%s\n' "$wrong" >>"$H/secrets"
pamt_session
B=$ID
BTOK=$TOKEN
if login "$B" "$wrong"; then
	harness_fail "a wrong token logged in"
fi
err_token=$(cat "$H/err")
harness_assert_contains "$err_token" "Permission denied"
[ "$(wc -l <"$H/client/askpass.prompts")" -eq 2 ] ||
    harness_fail "wrong token: not asked both questions"
if login "zzz-$B" "$BTOK"; then
	harness_fail "a wrong id logged in"
fi
err_id=$(cat "$H/err")
harness_assert_eq "$err_token" "$err_id" \
    "the client sees the same refusal for a wrong token and a wrong id"
[ "$(wc -l <"$H/client/askpass.prompts")" -eq 2 ] ||
    harness_fail "wrong id: not asked both questions"
# A's token with B's id: the binding.
if login "$B" "$ATOK"; then
	harness_fail "session A's token logged in for session B"
fi
harness_assert_eq "$err_token" "$(cat "$H/err")" "refusal for A's token"

# pam_syslog sends these from the [pam] child.
harness_syslog_sync
log=$(cat "$H/syslog.log")
harness_assert_contains "$log" \
    "pam_tunl(sshd:auth): authentication failure; rhost=127.0.0.1 user=tunl reason=bad-token"
harness_assert_contains "$log" \
    "pam_tunl(sshd:auth): authentication failure; rhost=127.0.0.1 user=tunl reason=bad-id"
harness_assert_eq 3 "$(failure_lines)" "failure lines so far"

# ---- five failures lock the session ----------------------------------------------------

pamt_session
C=$ID
CTOK=$TOKEN
i=0
while [ $i -lt 5 ]; do
	# B's token is a real token, just not C's.
	login "$C" "$BTOK" && harness_fail "wrong token $i logged in"
	i=$((i + 1))
done
if login "$C" "$CTOK"; then
	harness_fail "a locked session's right token logged in"
fi
harness_assert_eq "$err_token" "$(cat "$H/err")" "refusal when locked"
harness_syslog_sync
log=$(cat "$H/syslog.log")
harness_assert_contains "$log" "session $C locked"
harness_assert_contains "$log" \
    "authentication failure; rhost=127.0.0.1 user=tunl reason=locked"
harness_assert_eq 9 "$(failure_lines)" "failure lines in all"
# And B, never locked, still logs in with its own token.
login "$B" "$BTOK" || harness_fail "session B refused: $(cat "$H/err")"
harness_assert_eq "$B" "$(field session)" "TUNL_SESSION for B"

# authpriv.notice (10 * 8 + 5), as the filter's jail expects from auth.log.
harness_assert_eq 9 "$(grep -c '^<85>.*pam_tunl(sshd:auth): authentication failure; ' \
    "$H/syslog.log")" "failure lines at authpriv.notice"
# Every failure line in exactly the documented form.
bad=$(grep 'authentication failure' "$H/syslog.log" | grep -Ev \
    'pam_tunl\(sshd:auth\): authentication failure; rhost=127\.0\.0\.1 user=tunl reason=(bad-token|bad-id|unknown-session|locked|expired|rate-limited|bad-input|internal)$')
[ -z "$bad" ] || harness_fail "failure lines not in the documented form: $bad"

# ---- fail2ban ---------------------------------------------------------------------------

if matched=$(relay_f2b_matched "$H/syslog.log"); then
	harness_assert_eq 9 "$matched" "lines fail2ban-regex matched"
else
	harness_log "fail2ban-regex not installed: filter not checked"
fi

# ---- secrets ------------------------------------------------------------------------------

# sshd and its sessions stopped first, so that its log is complete.
harness_stop
while read -r s; do
	for f in "$H/sshd.log" "$H/syslog.log" "$H/ps.log"; do
		if relay_holds_token "$s" "$f"; then
			harness_fail "a token appears in $(basename "$f")"
		fi
	done
done <"$H/secrets"
[ -s "$H/ps.log" ] || harness_fail "ps captured nothing"

harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
harness_log "passed"
exit 0
