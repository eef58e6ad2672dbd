#!/bin/sh
# tunl-shell through a real sshd with the shipped sshd_config.d/tunl.conf.
#
# Stand-ins: the customer's PAM auth accepts a fixed answer and a root
# helper writes the hand-off for the connection (shell-pam.conf,
# shell-handoff.sh, tests/helpers/handoff-tool), while the engineer's
# login goes through pam_tunl's real session stage (the name the
# engineer verbs record); tunl-authority is a
# script that records what it is given (shell-authority.sh); the
# principals command accepts tunl-<key id> (shell-principals.sh). The
# ForceCommand line of the shipped file runs $H/libexec/tunl-shell, a
# root-owned wrapper that adds the operator's options (-f,
# --authority, --engineer-keys) to the real program.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init shell
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "the engineer's login goes through pam_tunl's session stage, and a sanitizer build's pam_tunl.so cannot load into the stock sshd (test-pam covers it under ASan)"
dir=$HARNESS_DIR
# The built-in configuration directory shows $H/etc/tunl in the relay's
# namespace, for the real tunl-authority (the registry verbs).
. "$top_srcdir/tests/integration/relay.sh"
[ "$HARNESS_SAFE_TREE" = yes ] ||
    harness_skip "needs a tree only root can write (set HARNESS_TMPDIR)"
command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"
tool=$top_builddir/tests/helpers/handoff-tool
[ -x "$top_builddir/tunl-shell" ] && [ -x "$tool" ] &&
    [ -x "$top_builddir/tunl-admin" ] || harness_fail "programs not built"

conf=$H/etc/tunl/tunl.conf
db=$H/var/lib/tunl/tunl.db

# ---- a configured relay (the lead's tests/integration/relay.sh will do
# this for every test; until then, here) --------------------------------

in_ns() {
	unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" sh "$H" \
	    "$@"
}

mkdir -p "$H/etc/tunl" "$H/var/lib" && chmod 0755 "$H/etc/tunl" "$H/var/lib" ||
    harness_fail "mkdir"
cat >"$conf" <<EOF
database = $db
runtime_dir = /run/tunl
recording_dir = $H/var/log/tunl
token_key = $H/etc/tunl/token.key
ca_key = $H/etc/tunl/user_ca
relay_host_key = $H/etc/ssh_host_ed25519_key.pub
engineer_keys = $H/keys/support.authorized_keys
EOF
# No relay_address: the line names the address and port this sshd was
# reached on.
HKEY=$(cut -d' ' -f1,2 "$H/etc/ssh_host_ed25519_key.pub")
in_ns "$top_builddir/tunl-admin" -f "$conf" init >"$H/admin-init.log" 2>&1 ||
    harness_fail "tunl-admin init: $(cat "$H/admin-init.log")"
HARNESS_SUBST_USER_CA=$H/etc/tunl/user_ca.pub
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
HARNESS_SUBST_TUNL_CONF=$conf
# pam_tunl's session stage names the engineer for the engineer verbs.
HARNESS_SUBST_PAM_MODULE=$top_builddir/.libs/pam_tunl.so
export HARNESS_SUBST_USER_CA HARNESS_SUBST_CUSTOMER_USER \
    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER \
    HARNESS_SUBST_TUNL_CONF HARNESS_SUBST_PAM_MODULE

sql() {
	sqlite3 -batch -bail "$db" "$1" || harness_fail "sql: $1"
}

newid() {
	"$tool" id || harness_fail "handoff-tool id"
}

now=$(date +%s)
A=$(newid)
B=$(newid)
K=$(newid)
L=$(newid)
C=$(newid)
exp=$((now + 3600))
for s in "$A pending" "$B pending" "$K active" "$L locked"; do
	set -- $s
	sql "INSERT INTO sessions (id, state, mode, case_ref, engineer, created,
	    expires) VALUES ('$1', '$2', 'share', 'CS-$1', 'bob', $now, $exp);"
done

# ---- programs and sshd ----------------------------------------------------

harness_install_libexec "$top_builddir/tunl-shell" tunl-shell.bin
cat >"$H/libexec/tunl-shell" <<EOF
#!/bin/sh
exec $H/libexec/tunl-shell.bin -f $conf --authority $H/libexec/tunl-authority --engineer-keys $H/keys/support.authorized_keys
EOF
chmod 0755 "$H/libexec/tunl-shell"
harness_subst "$dir/shell-authority.sh" "$H/libexec/tunl-authority"
chmod 0755 "$H/libexec/tunl-authority"
# The real one, for the registry verbs: only it can open the registry.
harness_install_libexec "$top_builddir/tunl-authority" tunl-authority.real
chown "0:$HARNESS_GID_TUNL_AUTH" "$H/libexec/tunl-authority.real" &&
    chmod 2755 "$H/libexec/tunl-authority.real" ||
    harness_fail "cannot make tunl-authority setgid"
harness_install_libexec "$dir/shell-principals.sh" tunl-principals
: >"$H/authority.log"
chmod 0666 "$H/authority.log"

printf 'answer-%s\n' "$$" >"$H/pam-answer"
chmod 0600 "$H/pam-answer"
echo none >"$H/handoff-mode"
harness_pam_stack "$dir/shell-pam.conf"
harness_keygen alice
harness_authorize support alice 'environment="TUNL_ENGINEER=alice",no-pty'
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
harness_start_sshd

# run WHO CMD...: out, err and rc of one ssh (WHO: alice, support, kbd).
run() {
	_who=$1
	shift
	case $_who in
	alice) harness_ssh_key support alice "$@" >"$H/out" 2>"$H/err" ;;
	support) harness_ssh support "$@" >"$H/out" 2>"$H/err" ;;
	kbd) harness_ssh_kbd tunl "answer-$$" "$@" >"$H/out" 2>"$H/err" ;;
	key) harness_ssh_key tunl custkey "$@" >"$H/out" 2>"$H/err" ;;
	esac
	rc=$?
	out=$(cat "$H/out")
	err=$(cat "$H/err")
}

# expect_refusal RC LINE: exactly one line on stderr, that status.
expect_refusal() {
	harness_assert_eq "$2" "$err" "stderr"
	harness_assert_eq "$1" "$rc" "exit status for [$2]"
	harness_assert_eq "" "$out" "no output on refusal"
}

# ---- engineers --------------------------------------------------------------

run alice help </dev/null
harness_assert_eq 0 "$rc" "help: $err"
harness_assert_contains "$out" "new [--case C] [--customer NAME]"

# K's broker: a stand-in that holds the session's lock as a broker does.
# R is active with no broker at all: list's reaper ends it (broker-died).
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)' "$H/run/tunl/sessions/$K.lock" "$H/k.locked" &
KLOCK=$!
harness_track "$KLOCK"
k_locked() {
	[ -e "$H/k.locked" ]
}
harness_wait 60 "the stand-in broker of $K" k_locked
R=$(newid)
sql "INSERT INTO sessions (id, state, mode, case_ref, engineer, created,
    expires) VALUES ('$R', 'active', 'share', 'CS-R', 'bob', $now, $exp);"
run alice list </dev/null
harness_assert_eq 0 "$rc" "list: $err"
harness_assert_not_contains "$out" "$R" "list shows a session without a broker"
harness_assert_eq "ended" "$(sql "SELECT state FROM sessions WHERE id = '$R'")" \
    "the session without a broker after list"
harness_assert_contains "$(sql "SELECT actor || ' ' || action FROM events
    WHERE session_id = '$R'")" "broker broker-died" "its end's cause"
harness_assert_contains "$out" "SESSION ID"
harness_assert_contains "$out" "VIEWERS"
harness_assert_contains "$out" "$A"
harness_assert_contains "$out" "$L"
harness_assert_contains "$(printf '%s\n' "$out" | grep "^$K ")" " active "

run alice list --json </dev/null
harness_assert_eq 0 "$rc" "list --json: $err"
harness_assert_contains "$out" "{\"id\": \"$A\", \"state\": \"pending\""
harness_assert_contains "$out" "\"case\": \"CS-$A\""

printf 'id=%s\ntoken=12345678\nexpires=%s\n' "$C" "$exp" >"$H/stub-mint.out"
: >"$H/authority.log"
run alice new --case CS-77 --customer ACME.Corp --ttl 30 --restricted \
    </dev/null
harness_assert_eq 0 "$rc" "new: $err"
harness_assert_contains "$out" "session  $C"
harness_assert_contains "$out" "token    12345678"
harness_assert_contains "$out" \
    "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$HKEY' --case CS-77 --restricted $C"
alog=$(cat "$H/authority.log")
harness_assert_contains "$alog" "argv=mint
user=support"
harness_assert_contains "$alog" \
    "stdin=engineer=alice case=CS-77 customer=ACME.Corp ttl=30 mode=restricted"
printf '%s\n' "$alog" | grep -qx 'more=' ||
    harness_fail "tunl-shell sent more than one line: $alog"
harness_assert_contains "$alog" "env=SSH_CONNECTION=127.0.0.1 "
harness_assert_not_contains "$alog" "env=HOME=" "authority environment"
harness_assert_not_contains "$alog" "env=SSH_ORIGINAL_COMMAND" \
    "authority environment"
harness_assert_not_contains "$alog" "env=USER=" "authority environment"

: >"$H/authority.log"
run alice new --ttl 99999 </dev/null
expect_refusal 2 "tunl: new: --ttl: \"99999\" is not a number of minutes from 1 to 240"
harness_assert_eq "" "$(cat "$H/authority.log")" "authority not run"

run alice show "$A" </dev/null
harness_assert_eq 0 "$rc" "show: $err"
harness_assert_contains "$out" "session   $A"
harness_assert_contains "$out" "case      CS-$A"
harness_assert_contains "$out" "events:"

run alice kill "$K" </dev/null
harness_assert_eq 0 "$rc" "kill: $err"
harness_assert_eq "session $K ended" "$out"
harness_assert_eq "ended" "$(sql "SELECT state FROM sessions WHERE id = '$K'")"
harness_assert_eq "alice|ended" \
    "$(sql "SELECT actor, action FROM events WHERE session_id = '$K'")" \
    "kill event names the engineer"
run alice kill "$K" </dev/null
expect_refusal 1 "tunl: session $K has already ended"
run alice show "$K" </dev/null
harness_assert_contains "$out" "ended"
harness_assert_contains "$out" "alice"

run alice unlock "$L" </dev/null
harness_assert_eq 0 "$rc" "unlock: $err"
harness_assert_eq "session $L unlocked (pending)" "$out"
harness_assert_eq "pending" "$(sql "SELECT state FROM sessions WHERE id = '$L'")"
harness_assert_eq "alice|unlocked" \
    "$(sql "SELECT actor, action FROM events WHERE session_id = '$L'")" \
    "unlock event names the engineer"
run alice unlock "$A" </dev/null
expect_refusal 1 "tunl: session $A is not locked (it is pending)"
run alice show amber-falcon-river </dev/null
expect_refusal 2 "tunl: show: \"amber-falcon-river\" is not a session id (four words, e.g. amber-falcon-river-seven)"

for v in join consume; do
	run alice "$v" "$A" </dev/null
	expect_refusal 1 "tunl: join needs a terminal: use ssh -t"
done
for v in replay cast; do
	run alice "$v" "$A" </dev/null
	expect_refusal 1 "tunl: no recording of session $A"
done
run alice tunnel "$A" </dev/null
expect_refusal 1 "tunl: tunnel is not available on this relay yet"
run alice replay "$A" --speed 20 </dev/null
expect_refusal 2 'tunl: replay: --speed: "20" is not a speed from 0.25 to 16'

# A key without a name.
run support list </dev/null
expect_refusal 1 "tunl: your key does not name an engineer; ask the relay operator"

# Unknown commands: one line, input escaped.
run alice frobnicate </dev/null
expect_refusal 2 'tunl: unknown command "frobnicate"; try help'
run alice "$(printf 'list\033[2J')" </dev/null
expect_refusal 2 'tunl: unknown command "list\x1b[2J"; try help'

# Shell syntax is never run.
pwned=/tmp/tunl-shell-pwned.$$
rm -f "$pwned"
for cmd in "list; touch $pwned" "list && touch $pwned" "\$(touch $pwned)" \
    "\`touch $pwned\`" "list | touch $pwned" "list
touch $pwned" "new --case x\$(touch\ $pwned)"; do
	run alice "$cmd" </dev/null
	[ "$rc" = 2 ] || harness_fail "[$cmd] exited $rc: $out $err"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
	    harness_fail "[$cmd] gave more than one line: $err"
	[ -e "$pwned" ] && harness_fail "[$cmd] ran"
done
harness_nsenter test -e "$pwned" && harness_fail "a command ran in sshd's namespace"

# ---- customers: keyboard-interactive and the hand-off ------------------------

# The rows the stand-in answers the customer's `session` with, read now.
sql "SELECT id, state, mode, expires FROM sessions;" | tr '|' ' ' \
    >"$H/stub-sessions" && chmod 0644 "$H/stub-sessions" ||
    harness_fail "cannot write $H/stub-sessions"

echo "root $A" >"$H/handoff-mode"
run kbd status </dev/null
harness_assert_eq 0 "$rc" "status: $err"
harness_assert_contains "$out" "session  $A"
harness_assert_contains "$out" "state    pending"
harness_assert_contains "$out" "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$HKEY' $A"
run kbd </dev/null
harness_assert_eq 0 "$rc" "plain login: $err"
harness_assert_contains "$out" "tunl-share --relay 127.0.0.1:$HARNESS_PORT --host-key '$HKEY' $A"
run kbd status "$A" </dev/null
harness_assert_eq 0 "$rc" "status A: $err"

: >"$H/authority.log"
for cmd in "status $B" "sign $B" "produce $B"; do
	run kbd $cmd </dev/null
	expect_refusal 1 "tunl: not authorised for that session"
done
harness_assert_eq "" "$(cat "$H/authority.log")" "authority not run for B"
run kbd produce "$A" </dev/null
expect_refusal 1 "tunl: produce: no tunl protocol hello; run tunl-share"
run kbd list </dev/null
expect_refusal 2 'tunl: unknown command "list"; try help'

# sign: the key line is checked, then passed on without its comment.
harness_keygen custkey
run kbd sign <"$H/client/custkey.pub"
harness_assert_eq 0 "$rc" "sign: $err"
harness_assert_eq "ssh-ed25519-cert-v01@openssh.com AAAAstubcert tunl-stub" "$out"
alog=$(cat "$H/authority.log")
harness_assert_contains "$alog" "argv=sign $A
user=tunl"
harness_assert_contains "$alog" "stdin=$(cut -d' ' -f1,2 "$H/client/custkey.pub")
more="
printf '%s\n' "$alog" | grep -qx 'more=' ||
    harness_fail "tunl-shell sent more than the key line: $alog"
harness_assert_contains "$alog" "env=SSH_USER_AUTH="
harness_assert_not_contains "$alog" "env=HOME=" "authority environment"
touch "$H/stub-sign-refuse"
run kbd sign <"$H/client/custkey.pub"
expect_refusal 1 "tunl: signed too recently; try again in a few seconds"
rm -f "$H/stub-sign-refuse"
: >"$H/authority.log"
printf 'ssh-rsa AAAAB3NzaC1yc2E= x\n' >"$H/badkey"
run kbd sign <"$H/badkey"
[ "$rc" = 2 ] || harness_fail "sign with an RSA key: $rc $err"
printf 'ssh-ed25519 AAAA; touch %s\n' "$pwned" >"$H/badkey"
run kbd sign <"$H/badkey"
[ "$rc" = 2 ] || harness_fail "sign with a bad key: $rc $err"
# (The binding's `session` ran; sign was never asked.)
harness_assert_not_contains "$(cat "$H/authority.log")" "argv=sign" \
    "authority not asked to sign bad keys"

# An ended session no longer binds.
echo "root $K" >"$H/handoff-mode"
run kbd status </dev/null
expect_refusal 1 "tunl: not authorised for that session"

# A hand-off that root did not write.
echo "forge $A" >"$H/handoff-mode"
run kbd status </dev/null
expect_refusal 1 "tunl: not authorised for that session"
harness_assert_contains "$(tail -n 1 "$H/handoff.log")" "forge 127.0.0.1 "

# No hand-off at all.
echo none >"$H/handoff-mode"
run kbd status </dev/null
expect_refusal 1 "tunl: not authorised for that session"

# ---- customers: session certificates -------------------------------------

# ssh-keygen refuses its caller's own key when the group may read it.
(umask 077 && cp "$H/etc/tunl/user_ca" "$H/ca-copy") || harness_fail "cp CA"
ssh-keygen -q -s "$H/ca-copy" -I "$A" -n "tunl-$A" -V -1m:+10m \
    "$H/client/custkey.pub" </dev/null || harness_fail "signing"
run key status </dev/null
harness_assert_eq 0 "$rc" "certificate status: $err"
harness_assert_contains "$out" "session  $A"
run key status "$B" </dev/null
expect_refusal 1 "tunl: not authorised for that session"
run key produce "$B" </dev/null
expect_refusal 1 "tunl: not authorised for that session"
# A certificate for an ended session.
ssh-keygen -q -s "$H/ca-copy" -I "$K" -n "tunl-$K" -V -1m:+10m \
    "$H/client/custkey.pub" </dev/null || harness_fail "signing"
run key status </dev/null
expect_refusal 1 "tunl: not authorised for that session"

# ---- the log -------------------------------------------------------------
harness_stop
harness_host_unchanged
[ -e "$pwned" ] && harness_fail "$pwned exists"
harness_log "passed"
exit 0
