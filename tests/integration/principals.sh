#!/bin/sh
# tunl-principals, first run directly as the principals account against a
# prepared registry (its answers and its syslog lines), then as sshd's
# AuthorizedPrincipalsCommand with the shipped sshd_config.d/tunl.conf: a
# certificate from the relay's CA for session A logs in, one naming A but
# carrying B's principal does not, nor A's after A ends, nor an expired
# one. The ForceCommand is a stub here (tunl-shell is another branch's).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init principals
for c in setpriv sqlite3 python3 logger; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
. "$top_srcdir/tests/integration/relay.sh"
HANDOFF=$top_builddir/tests/helpers/authority-handoff
[ -x "$HANDOFF" ] || harness_fail "build tests/helpers/authority-handoff first"

relay_config
relay_init
relay_install
PR=$H/libexec/tunl-principals
AUTH=$H/libexec/tunl-authority
FP="SHA256:$(printf '%043d' 0 | tr 0 A)"
harness_install_libexec "$HARNESS_DIR/principals-stub-shell.sh" tunl-shell

# ---- a syslog that the test can read ------------------------------------
# No syslog daemon is assumed: a small listener takes datagrams on
# $H/log.sock, and the namespace's /dev/log points there (a tmpfs /dev
# holding only null, zero, random, urandom and that link).
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
f = open(sys.argv[2], "ab", 0)
while True:
    f.write(s.recv(65536) + b"\n")
' "$H/log.sock" "$H/syslog.txt" &
harness_track $!
harness_wait 60 "the syslog listener to start" test -S "$H/log.sock"

# log_sync: return once every line sent to the listener so far is in
# $H/syslog.txt. It reads its socket in order, so a marker sent now is
# written after them. Markers are left out of what the checks read
# (log_new).
nsync=0
log_sync() {
	nsync=$((nsync + 1))
	logger --socket-errors=on -u "$H/log.sock" -t tunl-test "sync $nsync" ||
	    harness_fail "cannot write to the syslog listener"
	harness_wait 60 "syslog marker $nsync" \
	    grep -q "tunl-test: sync $nsync\$" "$H/syslog.txt"
}

# log_new N: the lines after the first N, markers left out.
log_new() {
	tail -n +$(($1 + 1)) "$H/syslog.txt" | grep -v 'tunl-test: sync [0-9]*$'
}
mkdir -p "$H/devsave"
for d in null zero random urandom; do : >"$H/devsave/$d"; done

# pr USER ARGS...: run tunl-principals as USER; stdout in $out, status $rc;
# its log lines are in $H/syslog.txt when pr returns.
pr() {
	_pu=$1
	shift
	out=$(relay_in_ns sh -c '
set -e
h=$1
shift
for d in null zero random urandom; do mount --bind /dev/$d "$h/devsave/$d"; done
mount -t tmpfs -o mode=0755 tunl-dev /dev
for d in null zero random urandom; do
	: >/dev/$d
	mount --bind "$h/devsave/$d" /dev/$d
done
ln -s "$h/log.sock" /dev/log
exec "$@"' sh "$H" setpriv --reuid="$_pu" --regid="$_pu" --init-groups \
	    --reset-env -- "$PR" "$@" 2>"$H/pr.err")
	rc=$?
	log_sync
}

# accept ID ARGS...: prints exactly tunl-ID.
accept() {
	_ai=$1
	shift
	pr "$@"
	[ "$rc" = 0 ] || harness_fail "tunl-principals $*: exit $rc"
	harness_assert_eq "tunl-$_ai" "$out" "tunl-principals $*"
}

# refuse REASON ARGS...: prints nothing, exits 0, logs the reason.
refuse() {
	_rr=$1
	shift
	_before=$(wc -l <"$H/syslog.txt")
	pr "$@"
	[ "$rc" = 0 ] || harness_fail "tunl-principals $*: exit $rc"
	harness_assert_eq "" "$out" "tunl-principals $* must print nothing"
	_line=$(log_new "$_before")
	harness_assert_contains "$_line" "reason=$_rr" "log of tunl-principals $*"
}

field() {
	printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

# Engineer pat's login, as pam_tunl's session stage records it: mint
# takes the name from it.
PAT_CONN="127.0.0.1 41001 127.0.0.1 22"
PAT_KEY=$(relay_in_ns "$HANDOFF" -e /run/tunl/auth tunl-auth pat \
    "$PAT_CONN") || harness_fail "cannot write pat's login file"

mint() {
	printf 'engineer=pat case=- customer=- ttl=%s mode=share\n' "$1" |
	    relay_as support env SSH_CONNECTION="$PAT_CONN" \
	    TUNL_LOGIN_KEY="$PAT_KEY" "$AUTH" mint | sed -n 's/^id=//p'
}

# A's token too: its certificate is signed the real way below.
A_OUT=$(printf 'engineer=pat case=- customer=- ttl=30 mode=share\n' |
    relay_as support env SSH_CONNECTION="$PAT_CONN" \
    TUNL_LOGIN_KEY="$PAT_KEY" "$AUTH" mint)
A=$(field id "$A_OUT")
TOKEN_A=$(field token "$A_OUT")
L=$(mint 30)
E=$(mint 30)
X=$(mint 30)
U=$(mint 30)
for s in A L E X U; do
	eval "v=\$$s"
	[ -n "$v" ] || harness_fail "cannot mint session $s"
done
relay_sql "UPDATE sessions SET state = 'locked' WHERE id = '$L';
    UPDATE sessions SET state = 'ended', ended = created WHERE id = '$E';
    UPDATE sessions SET created = created - 7200, expires = created - 3600
        WHERE id = '$X';
    DELETE FROM tokens WHERE session_id = '$U';
    DELETE FROM sessions WHERE id = '$U';"

# ---- direct runs ------------------------------------------------------------

accept "$A" tunlauth -f "$RELAY_CONF" tunl "$A" 1700000000 "$FP"
# The built-in configuration path (mounted over in the namespace) too.
accept "$A" tunlauth tunl "$A" 0 "$FP"
relay_sql "UPDATE sessions SET state = 'active' WHERE id = '$A'"
accept "$A" tunlauth -f "$RELAY_CONF" tunl "$A" 18446744073709551 "$FP"
log=$(cat "$H/syslog.txt")
harness_assert_contains "$log" "tunl-principals[" "syslog ident"
harness_assert_contains "$log" "accepted user=tunl key_id=$A serial=1700000000 fingerprint=$FP principal=tunl-$A"

refuse locked tunlauth -f "$RELAY_CONF" tunl "$L" 1 "$FP"
refuse ended tunlauth -f "$RELAY_CONF" tunl "$E" 1 "$FP"
refuse expired tunlauth -f "$RELAY_CONF" tunl "$X" 1 "$FP"
refuse unknown-session tunlauth -f "$RELAY_CONF" tunl "$U" 1 "$FP"
for bad in "" "../../etc/passwd" "$(printf '%s' "$A" | tr a-z A-Z)" \
    "$A-extra" "${A%-*}" "$A " "tunl-$A" "$A;id"; do
	refuse bad-key-id tunlauth -f "$RELAY_CONF" tunl "$bad" 1 "$FP"
done
refuse wrong-user tunlauth -f "$RELAY_CONF" support "$A" 1 "$FP"
refuse wrong-user tunlauth -f "$RELAY_CONF" root "$A" 1 "$FP"
refuse wrong-user tunlauth -f "$RELAY_CONF" "tunl " "$A" 1 "$FP"
for bad in "" -1 +1 12a 0x10 123456789012345678901 " 1"; do
	refuse bad-serial tunlauth -f "$RELAY_CONF" tunl "$A" "$bad" "$FP"
done
for bad in "" "MD5:00:11" "SHA256:short" "${FP}A" "SHA256:$(printf '%043d' 0 | tr 0 '*')" \
    "sha256:${FP#SHA256:}"; do
	refuse bad-fingerprint tunlauth -f "$RELAY_CONF" tunl "$A" 1 "$bad"
done
refuse bad-arguments tunlauth -f "$RELAY_CONF" tunl "$A" 1
refuse bad-arguments tunlauth -f "$RELAY_CONF" tunl "$A" 1 "$FP" extra
refuse bad-arguments tunlauth
refuse bad-arguments tunlauth tunl "$A" 1 "$FP" x y
refuse bad-config tunlauth -f "$H/no-such.conf" tunl "$A" 1 "$FP"

# Hostile arguments are escaped: no second line, no raw escape byte.
before=$(wc -l <"$H/syslog.txt")
refuse bad-key-id tunlauth -f "$RELAY_CONF" tunl "$(printf 'x\nForged: line\033[2J')" 1 "$FP"
new=$(log_new "$before")
harness_assert_eq 1 "$(printf '%s\n' "$new" | wc -l)" "one log line per decision"
harness_assert_contains "$new" 'key_id=x\x0aForged: line\x1b[2J'
printf '%s' "$new" | grep -q "$(printf '\033')" &&
    harness_fail "an escape byte reached the log"

# Read-only: the registry is not written by any of this.
harness_assert_eq 0 "$(relay_sql "SELECT count(*) FROM events WHERE actor != 'pat'
    AND action NOT IN ('created')")" "tunl-principals wrote no events"

# ---- through sshd ----------------------------------------------------------

HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_CUSTOMER_USER HARNESS_SUBST_ENGINEER_USER \
    HARNESS_SUBST_PRINCIPALS_USER
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
grep -q "tunl-principals -f $RELAY_CONF %u %i %s %f" \
    "$H/etc/sshd_config.d/"*.conf || harness_fail "the drop-in's principals line"
harness_start_sshd

# A's certificate, issued the real way: hand-off, then tunl-authority sign.
CONN_A="127.0.0.1 40001 127.0.0.1 22"
harness_keygen a
LK_A=$(relay_in_ns "$HANDOFF" /run/tunl/auth tunl "$A" "$CONN_A" 0 \
    tunl-auth "$H/etc/tunl/token.key" "$TOKEN_A") ||
    harness_fail "hand-off for $A"
relay_as tunl env SSH_CONNECTION="$CONN_A" TUNL_LOGIN_KEY="$LK_A" \
    "$AUTH" sign "$A" \
    <"$H/client/a.pub" >"$H/client/a-cert.pub" ||
    harness_fail "tunl-authority sign for $A"

out=$(harness_ssh_key tunl a status </dev/null 2>"$H/ssh.err") ||
    harness_fail "A's certificate was refused: $(cat "$H/ssh.err")"
harness_assert_contains "$out" "stub-shell user=tunl auth=publickey ssh-ed25519-cert-v01@openssh.com"

# The tests sign the next certificates themselves, with a copy of the CA
# key that ssh-keygen accepts from root (0600).
install -m 0600 "$H/etc/tunl/user_ca" "$H/ca-copy"
cert() {
	ssh-keygen -q -s "$H/ca-copy" -I "$2" -n "$3" -V "$4" \
	    "$H/client/$1.pub" </dev/null || harness_fail "signing $1"
}
B=$(mint 30)
harness_keygen ab
cert ab "$A" "tunl-$B" -1m:+10m
if out=$(harness_ssh_key tunl ab status </dev/null 2>&1); then
	harness_fail "key id $A with principal tunl-$B logged in: $out"
fi
harness_assert_contains "$out" "Permission denied"
harness_keygen b
cert b "$B" "tunl-$B" -1m:+10m
out=$(harness_ssh_key tunl b status </dev/null 2>&1) ||
    harness_fail "B's own certificate was refused: $out"
harness_keygen bl
cert bl "$L" "tunl-$L" -1m:+10m
if out=$(harness_ssh_key tunl bl status </dev/null 2>&1); then
	harness_fail "a certificate for locked $L logged in"
fi
harness_keygen old
cert old "$B" "tunl-$B" -20m:-10m
if out=$(harness_ssh_key tunl old status </dev/null 2>&1); then
	harness_fail "an expired certificate logged in"
fi
# sshd's log lines come through its monitor, maybe after the client is gone.
harness_wait 60 "sshd to say the certificate expired" \
    grep -q expired "$H/sshd.log"
# Not for the engineer account either.
if out=$(harness_ssh_key support a status </dev/null 2>&1); then
	harness_fail "A's certificate logged in as support"
fi

# A ends: its certificate, still within its validity, no longer works.
relay_sql "UPDATE sessions SET state = 'ended', ended = created WHERE id = '$A'"
if out=$(harness_ssh_key tunl a status </dev/null 2>&1); then
	harness_fail "A's certificate logged in after A ended: $out"
fi
harness_assert_contains "$out" "Permission denied"
# (sshd's namespace has the machine's /dev/log, so those decisions are
# not in $H/syslog.txt; the direct runs above check the log lines.)

harness_stop
harness_host_unchanged
harness_log "passed"
exit 0
