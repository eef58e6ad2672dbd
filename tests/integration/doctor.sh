#!/bin/sh
# tunl-admin doctor on a private relay: healthy when everything is as
# installed (the shipped sshd drop-in read through sshd -T, the shipped
# PAM lines in sshd's stack, the programs with their owners and modes),
# then one thing broken at a time: doctor names it with its fix and exits
# 1, and is healthy again once it is repaired. --fix removes stale
# hand-offs, ends expired sessions and removes dead broker sockets, and
# nothing else. Nothing is written to the machine's /etc.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init doctor
. "$top_srcdir/tests/integration/relay.sh"

MODULE=$top_builddir/.libs/pam_tunl.so
for f in "$MODULE" "$top_builddir/tunl-shell" "$top_builddir/tunl-authority" \
    "$top_builddir/tunl-principals" "$top_builddir/tunl-broker" \
    "$top_builddir/tests/helpers/sock-exec" \
    "$top_builddir/tests/helpers/handoff-tool"; do
	[ -f "$f" ] || harness_fail "$f is not built"
done

# ---- a correct private relay ---------------------------------------------------
relay_config
relay_init
# The harness's plain key for support names no engineer: doctor would say
# so (checked below); give it a name as tunl-admin engineer add does.
sed -i 's/^ssh-/environment="TUNL_ENGINEER=support",restrict,pty ssh-/' \
    "$H/keys/support.authorized_keys" || harness_fail "cannot name the key"
relay_install
harness_install_libexec "$top_builddir/tunl-shell"
harness_install_libexec "$top_builddir/tunl-broker"
chown "$HARNESS_UID_BROKER:$HARNESS_GID_TUNL" "$H/libexec/tunl-broker" &&
    chmod 4750 "$H/libexec/tunl-broker" ||
    harness_fail "cannot make tunl-broker setuid"
PAMDIR=$H/lib/security
mkdir -p "$PAMDIR" && chmod 0755 "$H/lib" "$PAMDIR" &&
    install -m 0644 "$MODULE" "$PAMDIR/pam_tunl.so" ||
    harness_fail "cannot install pam_tunl.so"

HARNESS_SUBST_PAM_MODULE=$PAMDIR/pam_tunl.so
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_CUSTOMER_USER \
    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER
relay_pam_stack
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
harness_sshd_test || harness_fail "sshd -t: $(cat "$H/sshd-t.log")"
F2B=$H/etc/fail2ban
mkdir -p "$F2B/filter.d" "$F2B/jail.d" &&
    cp "$top_srcdir/fail2ban/filter.d/tunl.conf" "$F2B/filter.d/" &&
    cp "$top_srcdir/fail2ban/jail.d/tunl.conf" "$F2B/jail.d/" ||
    harness_fail "cannot install the fail2ban files"

# doctor [ARGS]: run doctor in a namespace like sshd's (its /run/tunl,
# passwd and group); output in $OUT, status in $RC.
doctor() {
	OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" doctor \
	    --libexecdir "$H/libexec" --pamdir "$PAMDIR" \
	    --sshd-config "$H/etc/sshd_config" --pam-dir "$H/etc/pam.d" \
	    --fail2ban-dir "$F2B" "$@" 2>&1)
	RC=$?
}

# healthy [WHAT]: doctor says so and exits 0.
healthy() {
	doctor
	[ "$RC" = 0 ] || harness_fail "${1:-doctor} is not healthy: $OUT"
	harness_assert_contains "$OUT" "tunl-admin doctor: healthy"
	harness_assert_not_contains "$OUT" "PROBLEM"
}

# problem LINE [ARGS]: doctor exits 1 and prints LINE (fixed text).
problem() {
	_want=$1
	shift
	doctor "$@"
	[ "$RC" = 1 ] || harness_fail "doctor exited $RC, expected 1: $OUT"
	harness_assert_contains "$OUT" "$_want"
	harness_assert_contains "$OUT" "tunl-admin doctor: 1 problem(s)"
}

healthy "a fresh relay"
harness_assert_contains "$OUT" "ok       sshd for tunl: ForceCommand"
harness_assert_contains "$OUT" "ok       sshd for support: ForceCommand"
harness_assert_contains "$OUT" "ok       $H/etc/pam.d/sshd: pam_tunl decides before"
harness_assert_contains "$OUT" "ok       $H/libexec/tunl-authority"
harness_assert_contains "$OUT" "ok       $F2B/jail.d/tunl.conf"
harness_assert_contains "$OUT" "sessions: 0 pending, 0 active"
doctor -q
harness_assert_eq 0 "$RC" "doctor -q exit status"
harness_assert_not_contains "$OUT" "ok "
# -q before the command works the same.
OUT=$(relay_in_ns "$TUNL_ADMIN" -q -f "$RELAY_CONF" doctor \
    --libexecdir "$H/libexec" --pamdir "$PAMDIR" \
    --sshd-config "$H/etc/sshd_config" --pam-dir "$H/etc/pam.d" \
    --fail2ban-dir "$F2B" 2>&1) || harness_fail "tunl-admin -q doctor: $OUT"
harness_assert_not_contains "$OUT" "ok "
# Bad usage: an unknown option, a relative path.
doctor --bogus
harness_assert_eq 2 "$RC" "unknown doctor option"
doctor --sshd sshd
harness_assert_eq 2 "$RC" "relative --sshd"
harness_assert_contains "$OUT" "needs an absolute path"

# ---- fail2ban absent is a note, not a problem ---------------------------------------
doctor --fail2ban-dir "$H/no-fail2ban"
harness_assert_eq 0 "$RC" "doctor without fail2ban"
harness_assert_contains "$OUT" "note     fail2ban: not installed (no $H/no-fail2ban)"
mv "$F2B/filter.d/tunl.conf" "$H/f2b-filter"
problem "PROBLEM  $F2B/filter.d/tunl.conf: missing; fix: install tunl's fail2ban/filter.d/tunl.conf as $F2B/filter.d/tunl.conf"
mv "$H/f2b-filter" "$F2B/filter.d/tunl.conf"

# ---- programs ------------------------------------------------------------------------
chmod 0755 "$H/libexec/tunl-authority"
problem "PROBLEM  $H/libexec/tunl-authority: is root:tunl-auth 0755, expected root:tunl-auth 2755 (setgid to read the keys); fix: chown root:tunl-auth $H/libexec/tunl-authority && chmod 2755 $H/libexec/tunl-authority"
chmod 2755 "$H/libexec/tunl-authority"
healthy "tunl-authority setgid again"

chmod 0755 "$H/libexec/tunl-broker"
problem "PROBLEM  $H/libexec/tunl-broker: is tunl-broker:tunl 0755, expected tunl-broker:tunl 4750"
harness_assert_contains "$OUT" "fix: chown tunl-broker:tunl $H/libexec/tunl-broker && chmod 4750 $H/libexec/tunl-broker"
chmod 4750 "$H/libexec/tunl-broker"
healthy "tunl-broker 4750 again"

chmod 0775 "$H/libexec"
problem "PROBLEM  $H/libexec: $H/libexec is not owned by root or is writable by group or others (sshd refuses to run tunl-principals"
harness_assert_contains "$OUT" "fix: chown root $H/libexec && chmod go-w $H/libexec"
chmod 0755 "$H/libexec"

chmod 0664 "$H/libexec/tunl-principals"
problem "PROBLEM  $H/libexec/tunl-principals: is root:root 0664, it must be owned by root and writable by root alone (the AuthorizedPrincipalsCommand); fix: chown root:root $H/libexec/tunl-principals && chmod 0755 $H/libexec/tunl-principals"
chmod 0755 "$H/libexec/tunl-principals"

rm "$PAMDIR/pam_tunl.so"
problem "PROBLEM  $PAMDIR/pam_tunl.so: No such file or directory (the PAM module); fix: install it"
install -m 0644 "$MODULE" "$PAMDIR/pam_tunl.so"
healthy "programs repaired"

# ---- sshd: the drop-in missing, then one setting wrong ----------------------------------
harness_sshd_config
doctor
harness_assert_eq 1 "$RC" "doctor without the drop-in"
harness_assert_contains "$OUT" "PROBLEM  sshd for tunl: no ForceCommand, so the tunl drop-in is not in effect; fix: install tunl's sshd_config.d/tunl.conf as $H/etc/sshd_config.d/tunl.conf and include it at the top of $H/etc/sshd_config (\"Include $H/etc/sshd_config.d/*.conf\")"
harness_assert_contains "$OUT" "PROBLEM  sshd for support: no ForceCommand"
harness_assert_contains "$OUT" "tunl-admin doctor: 2 problem(s)"
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
healthy "the drop-in back"

sed 's/MaxAuthTries 3/MaxAuthTries 6/' "$top_srcdir/sshd_config.d/tunl.conf.in" \
    >"$H/tunl-maxauth.conf.in"
harness_sshd_config "$H/tunl-maxauth.conf.in"
doctor
harness_assert_eq 1 "$RC" "doctor with MaxAuthTries 6"
harness_assert_contains "$OUT" "PROBLEM  sshd for tunl: MaxAuthTries is 6, expected 3; fix: set \"MaxAuthTries 3\" in the \"Match User tunl\" block of $H/etc/sshd_config.d/tunl.conf"
harness_assert_contains "$OUT" "PROBLEM  sshd for support: MaxAuthTries is 6"
sed 's/KbdInteractiveAuthentication yes/KbdInteractiveAuthentication no/' \
    "$top_srcdir/sshd_config.d/tunl.conf.in" >"$H/tunl-kbd.conf.in"
harness_sshd_config "$H/tunl-kbd.conf.in"
problem "PROBLEM  sshd for tunl: KbdInteractiveAuthentication is no, expected yes"
# sshd itself refusing its configuration is named with the command to run.
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
echo "NoSuchKeyword yes" >>"$H/etc/sshd_config"
doctor
harness_assert_eq 1 "$RC" "doctor with a broken sshd_config"
harness_assert_contains "$OUT" "PROBLEM  sshd for tunl: sshd -T failed:"
harness_assert_contains "$OUT" "fix: run \"/usr/sbin/sshd -t -f $H/etc/sshd_config\""
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
healthy "sshd repaired"

# ---- PAM: tunl missing, after common-auth, then where it belongs ---------------------------
printf '# sshd\n@include common-auth\naccount required pam_nologin.so\n@include common-account\n' \
    >"$H/etc/pam.d/sshd"
problem "PROBLEM  $H/etc/pam.d/sshd: pam_tunl is not in the auth stack; fix: add the line \"@include tunl\" above line 2 (\"@include common-auth\")"
printf '# sshd\n@include common-auth\n@include tunl\naccount required pam_nologin.so\n' \
    >"$H/etc/pam.d/sshd"
harness_subst "$top_srcdir/pam.d/tunl.in" "$H/etc/pam.d/tunl"
problem "PROBLEM  $H/etc/pam.d/sshd: pam_tunl (line 3) comes after \"@include common-auth\" (line 2), so the usual stack answers the customer first; fix: move line 3 above line 2"
printf '# sshd\n@include tunl\n@include common-auth\naccount required pam_nologin.so\n' \
    >"$H/etc/pam.d/sshd"
healthy "@include tunl above common-auth"
rm "$H/etc/pam.d/tunl"
problem "PROBLEM  $H/etc/pam.d/tunl: missing; fix: install tunl's pam.d/tunl as $H/etc/pam.d/tunl"
# The pasted lines after another module's auth line.
relay_pam_stack
{ echo "auth optional pam_env.so"; cat "$H/etc/pam.d/sshd"; } >"$H/pam.tmp" &&
    cat "$H/pam.tmp" >"$H/etc/pam.d/sshd"
L=$(grep -n '^auth.*pam_tunl.so' "$H/etc/pam.d/sshd" | head -n 1 | cut -d: -f1)
problem "PROBLEM  $H/etc/pam.d/sshd: pam_tunl (line $L) comes after the auth line of pam_env.so (line 1); fix: move line $L above line 1"
# Without pam_tunl's session lines engineer logins get no name: the
# engineer verbs would refuse.
relay_pam_stack
grep -v '^session.*pam_tunl.so' "$H/etc/pam.d/sshd" >"$H/pam.tmp" &&
    cat "$H/pam.tmp" >"$H/etc/pam.d/sshd"
problem "PROBLEM  $H/etc/pam.d/sshd: pam_tunl has no session line, so engineer logins get no name and join, new, token, list, show, kill and unlock are refused; fix: add the two session lines of tunl's pam.d/tunl"
# A guard of the session line that leaves out the engineer account (as
# pam.d/tunl had it before engineers' logins needed the session stage),
# then one that leaves out the customer: each named with the exact line.
relay_pam_stack
sed 's/^\(session.*pam_succeed_if.so quiet user\) in tunl:support$/\1 = tunl/' \
    "$H/etc/pam.d/sshd" >"$H/pam.tmp" && cat "$H/pam.tmp" >"$H/etc/pam.d/sshd"
G=$(grep -n '^session.*pam_succeed_if.so quiet user = tunl$' "$H/etc/pam.d/sshd" | cut -d: -f1)
[ -n "$G" ] || harness_fail "no guard line to change: $(cat "$H/etc/pam.d/sshd")"
problem "PROBLEM  $H/etc/pam.d/sshd: line $G, the guard of pam_tunl's session line $((G + 1)) (\"quiet user = tunl\"), does not let the engineer account support through, so engineer logins get no name and join, new, token, list, show, kill and unlock are refused; fix: make line $G \"session [success=ignore default=1] pam_succeed_if.so quiet user in tunl:support\""
sed 's/^\(session.*pam_succeed_if.so quiet user\) = tunl$/\1 in support:alice/' \
    "$H/etc/pam.d/sshd" >"$H/pam.tmp" && cat "$H/pam.tmp" >"$H/etc/pam.d/sshd"
problem "PROBLEM  $H/etc/pam.d/sshd: line $G, the guard of pam_tunl's session line $((G + 1)) (\"quiet user in support:alice\"), does not let the customer account tunl through, so certificate logins get no key and cannot produce; fix: make line $G \"session [success=ignore default=1] pam_succeed_if.so quiet user in tunl:support\""
relay_pam_stack
healthy "the relay's PAM stack back"

# ---- an upgrade: init gives an older layout's owners the table's -------------
# The owners and modes a relay installed before issue 12 has: the relay
# group could write the database, its directory, the sockets' and the
# recordings' directories. doctor names each; init (the package's
# postinst runs it) sets them, says what they were, and doctor is healthy.
old_layout() {
	relay_in_ns sh -c '
	    chown root:tunl "$1" "$2" "$3" /run/tunl/sessions &&
	    chmod 2770 "$1" "$3" /run/tunl/sessions && chmod 0660 "$2" &&
	    for f in "$2-wal" "$2-shm"; do
		[ ! -e "$f" ] || { chown root:tunl "$f" && chmod 0660 "$f"; } || exit 1
	    done' sh "$H/var/lib/tunl" "$RELAY_DB" "$H/var/log/tunl" ||
	    harness_fail "cannot make the old layout"
}
old_layout
doctor
harness_assert_eq 1 "$RC" "doctor on the old layout: $OUT"
harness_assert_contains "$OUT" "PROBLEM  $H/var/lib/tunl: is root:tunl 2770, expected tunl-broker:tunl-auth 2770"
harness_assert_contains "$OUT" "PROBLEM  $RELAY_DB: is root:tunl 0660, expected tunl-broker:tunl-auth 0660"
harness_assert_contains "$OUT" "PROBLEM  /run/tunl/sessions: is root:tunl 2770"
harness_assert_contains "$OUT" "PROBLEM  $H/var/log/tunl: is root:tunl 2770"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/init-old.log" 2>&1 ||
    harness_fail "init on the old layout: $(cat "$H/init-old.log")"
INIT=$(cat "$H/init-old.log")
harness_assert_contains "$INIT" "set      $H/var/lib/tunl  (database: the broker account and tunl-authority only: was root:tunl 2770, now tunl-broker:tunl-auth 2770)"
harness_assert_contains "$INIT" "set      /run/tunl/sessions  (broker sockets: was root:tunl 2770, now tunl-broker:tunl 0750)"
harness_assert_contains "$INIT" "set      $H/var/log/tunl  (recordings: was root:tunl 2770, now tunl-broker:tunl-rec 2750)"
harness_assert_contains "$INIT" "set      $RELAY_DB  (registry, schema version"
harness_assert_contains "$INIT" "tunl-broker:tunl-auth 0660; was root:tunl 0660)"
harness_assert_contains "$INIT" "tunl-admin init: done"
healthy "after init on the old layout"
# A second init has nothing left to change.
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/init-old.log" 2>&1 ||
    harness_fail "init again: $(cat "$H/init-old.log")"
harness_assert_not_contains "$(cat "$H/init-old.log")" "set      "
# What no tunl made is left alone, with the fix: a directory writable by
# others, a database with a second link.
relay_in_ns chmod 2777 "$H/var/log/tunl"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/init-old.log" 2>&1 &&
    harness_fail "init took a recordings directory writable by others"
harness_assert_contains "$(cat "$H/init-old.log")" "unsafe   $H/var/log/tunl"
harness_assert_eq "2777" "$(relay_in_ns stat -c %a "$H/var/log/tunl")" \
    "the mode init left"
relay_in_ns chmod 2750 "$H/var/log/tunl"
ln "$RELAY_DB" "$H/db-link" && relay_in_ns chown root:tunl "$RELAY_DB" ||
    harness_fail "cannot link the database"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/init-old.log" 2>&1 &&
    harness_fail "init took a database with two links"
harness_assert_contains "$(cat "$H/init-old.log")" "unsafe   $RELAY_DB"
harness_assert_eq "root:tunl" "$(relay_in_ns stat -c %U:%G "$RELAY_DB")" \
    "the owners init left"
rm -f "$H/db-link"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/init-old.log" 2>&1 ||
    harness_fail "init after the link went: $(cat "$H/init-old.log")"
healthy "after the second upgrade"

# ---- a stale hand-off: reported, then removed by --fix ----------------------------------------
STALE=$H/run/tunl/auth/0123456789abcdef0123456789abcdef.handoff
FRESH=$H/run/tunl/auth/fedcba9876543210fedcba9876543210.handoff
: >"$STALE" && touch -d '2 days ago' "$STALE" && : >"$FRESH" ||
    harness_fail "cannot make the hand-offs"
problem "PROBLEM  /run/tunl/auth: 1 hand-off(s) older than session_ttl"
harness_assert_contains "$OUT" "fix: tunl-admin doctor --fix removes them"
doctor --fix
harness_assert_eq 0 "$RC" "doctor --fix with a stale hand-off: $OUT"
harness_assert_contains "$OUT" "fixed    /run/tunl/auth: removed 1 stale hand-off(s)"
harness_assert_contains "$OUT" "tunl-admin doctor: fixed 1 item(s)"
[ -e "$STALE" ] && harness_fail "--fix left the stale hand-off"
[ -e "$FRESH" ] || harness_fail "--fix removed a fresh hand-off"
rm -f "$FRESH"
healthy "hand-offs cleaned"

# ---- an expired session still active; its broker socket ------------------------------------------
S=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
now=$(date +%s)
relay_sql "INSERT INTO sessions (id, state, mode, case_ref, customer, host,
    engineer, created, expires) VALUES ('$S', 'active', 'share', 'CS-1',
    'acme', 'customer.example', 'alice', $((now - 7200)), $((now - 60)));" ||
    harness_fail "insert the session"
problem "PROBLEM  sessions: 1 session(s) past their expiry still marked pending or active; fix: tunl-admin doctor --fix ends them"

# A dead socket: sock-exec killed while it waits to accept leaves its
# socket behind with nothing listening.  The listeners bind a name relative
# to the sessions directory: seen from outside the namespace the full path
# can be longer than a socket address holds (108 bytes) when the build tree
# is deep and the id long.
SDIR=$H/run/tunl/sessions
SOCK=$SDIR/$S.sock
# wait_sock WHAT PID [FILE]: until FILE (default the socket) exists;
# fail at once if PID exits first.
wait_sock() {
	_wf=${3:-$SOCK}
	harness_wait 60 "$1 to listen on $SOCK" sock_ready "$1" "$2" "$_wf"
}
sock_ready() {
	kill -0 "$2" 2>/dev/null ||
	    harness_fail "$1 exited before it listened on $SOCK: $(cat "$H/$1.log" 2>/dev/null)"
	test -e "$3"
}
(cd "$SDIR" && exec "$top_builddir/tests/helpers/sock-exec" "$S.sock" true) \
    </dev/null >"$H/sock-exec.log" 2>&1 &
LPID=$!
harness_track "$LPID"
wait_sock sock-exec "$LPID"
kill "$LPID" 2>/dev/null
wait "$LPID" 2>/dev/null
[ -S "$SOCK" ] || harness_fail "the socket went with its listener; cannot test"
doctor
harness_assert_eq 1 "$RC" "doctor with an expired session and its socket"
harness_assert_contains "$OUT" "PROBLEM  /run/tunl/sessions: 1 broker socket(s) of sessions that are not live; fix: tunl-admin doctor --fix removes those nothing listens on"
harness_assert_contains "$OUT" "tunl-admin doctor: 2 problem(s)"

# Something listening on it (a stand-in for a broker that should have
# gone): reported by --fix, never removed. The socket file appears at
# bind, before listen: the listener says when it listens, and runs until
# it is killed.
if command -v python3 >/dev/null 2>&1; then
	mv "$SOCK" "$H/dead.sock"
	(cd "$SDIR" && exec python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").close()
while True:
    time.sleep(3600)' "$S.sock" "$H/python3.listening") </dev/null >"$H/python3.log" 2>&1 &
	PPID_L=$!
	harness_track "$PPID_L"
	wait_sock python3 "$PPID_L" "$H/python3.listening"
	doctor --fix
	harness_assert_eq 1 "$RC" "--fix with a listener left: $OUT"
	harness_assert_contains "$OUT" "fixed    sessions: ended 1 session(s) past their expiry"
	harness_assert_contains "$OUT" "PROBLEM  /run/tunl/sessions/$S.sock: something still listens on it though session $S is not live; fix: stop that process"
	[ -S "$SOCK" ] || harness_fail "--fix removed a socket something listens on"
	kill "$PPID_L" 2>/dev/null
	wait "$PPID_L" 2>/dev/null
	rm -f "$SOCK"
	mv "$H/dead.sock" "$SOCK"
	problem "PROBLEM  /run/tunl/sessions: 1 broker socket(s) of sessions that are not live"
	doctor --fix
	harness_assert_eq 0 "$RC" "--fix of a dead socket: $OUT"
else
	harness_log "note: no python3; the listening-socket case is not tested"
	doctor --fix
	harness_assert_eq 0 "$RC" "--fix of an expired session and a dead socket: $OUT"
	harness_assert_contains "$OUT" "fixed    sessions: ended 1 session(s) past their expiry"
fi
# Nothing listened: --fix removed it.
harness_assert_contains "$OUT" "fixed    /run/tunl/sessions/$S.sock: removed the dead socket of session $S"
[ -e "$SOCK" ] && harness_fail "--fix left the dead socket"
harness_assert_eq ended "$(relay_sql "SELECT state FROM sessions WHERE id='$S';")" \
    "--fix ended the session"
healthy "state cleaned"

# --fix gives the helpers their owners and modes back (the layout table)...
chmod 0755 "$H/libexec/tunl-authority"
chown root:root "$H/libexec/tunl-broker"
doctor --fix
harness_assert_eq 0 "$RC" "--fix of the helpers' modes: $OUT"
harness_assert_contains "$OUT" "fixed    $H/libexec/tunl-authority: was root:tunl-auth 0755, now root:tunl-auth 2755"
harness_assert_contains "$OUT" "fixed    $H/libexec/tunl-broker: was root:root"
harness_assert_eq "tunl-auth 2755" "$(relay_in_ns stat -c '%G %a' "$H/libexec/tunl-authority")" "authority after --fix"
harness_assert_eq "tunl-broker:tunl 4750" "$(relay_in_ns stat -c '%U:%G %a' "$H/libexec/tunl-broker")" "broker after --fix"
# The registry as the relay group had it before issue 12: doctor names the
# owners it must have and the command; --fix gives them back.
relay_in_ns chown root:tunl "$RELAY_DB" || harness_fail "chown $RELAY_DB"
# (The WAL files SQLite makes again as root take the database's owners,
# so doctor may name them as well.)
doctor
[ "$RC" = 1 ] || harness_fail "doctor exited $RC, expected 1: $OUT"
harness_assert_contains "$OUT" "PROBLEM  $RELAY_DB: is root:tunl 0660, expected tunl-broker:tunl-auth 0660 (registry); fix: chown tunl-broker:tunl-auth $RELAY_DB && chmod 0660 $RELAY_DB"
relay_in_ns chown root:tunl "${RELAY_DB%/*}" &&
    chmod 2770 "${RELAY_DB%/*}" || harness_fail "chown ${RELAY_DB%/*}"
doctor --fix
harness_assert_eq 0 "$RC" "--fix of the registry's owners: $OUT"
harness_assert_contains "$OUT" "fixed    $RELAY_DB: was root:tunl 0660, now tunl-broker:tunl-auth 0660"
harness_assert_contains "$OUT" "fixed    ${RELAY_DB%/*}: was root:tunl 2770, now tunl-broker:tunl-auth 2770"
healthy "the registry's owners back"
# ...and the engineers' keys file its mode; a link there is never followed.
chmod 0666 "$H/keys/support.authorized_keys"
doctor --fix
harness_assert_eq 0 "$RC" "--fix of the keys file: $OUT"
harness_assert_eq "644" "$(stat -c %a "$H/keys/support.authorized_keys")" "keys file after --fix"
mv "$H/keys/support.authorized_keys" "$H/keys/real.keys"
ln -s "$H/keys/real.keys" "$H/keys/support.authorized_keys"
problem "PROBLEM  $H/keys/support.authorized_keys: is not a regular file" --fix
rm "$H/keys/support.authorized_keys"
mv "$H/keys/real.keys" "$H/keys/support.authorized_keys"
# --fix repairs nothing that is not its to repair: a group-writable
# directory above the programs stays as it is.
chmod 0775 "$H/libexec"
problem "PROBLEM  $H/libexec: $H/libexec is not owned by root or is writable by group or others" --fix
harness_assert_eq "775" "$(stat -c %a "$H/libexec")" "--fix changed the libexec dir"
chmod 0755 "$H/libexec"
# A key line without an engineer's name is named, with its fix.
cp "$H/keys/support.authorized_keys" "$H/keys/saved.keys"
cat "$H/client/tunl.pub" >>"$H/keys/support.authorized_keys"
problem "PROBLEM  $H/keys/support.authorized_keys: 1 line(s) tunl-shell cannot take a name from, the first: line 2"
cat "$H/keys/saved.keys" >"$H/keys/support.authorized_keys"
healthy "the end"

harness_host_unchanged
exit 0
