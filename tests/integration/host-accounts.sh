#!/bin/sh
# A relay made by the harness (here through tools/demo, which uses it)
# keeps working while accounts are added and removed on the machine.
#
# useradd and userdel replace /etc/passwd and /etc/group by renaming a new
# file over the old one; the kernel then drops every mount on the old file
# in every namespace. A relay that had those files bound one by one lost
# its accounts at that moment. Here the "machine" is a private copy: the
# whole test runs in a mount namespace of its own whose /etc and /var/log
# are tmpfs copies, so the useradd and userdel below change nothing on the
# real machine (checked at the end from outside).
#
# Inside: start the demo, check an engineer can list and join, add and
# remove an account, check /etc/passwd really was replaced, then check
# list, a read-only join and a read-write join still work, and that the
# relay's log (tools/demo logs) holds a failed login in the form fail2ban's
# filter reads.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
export top_srcdir top_builddir

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: host-accounts: needs root (the demo runs a private sshd)"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: host-accounts: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
for c in useradd userdel unshare; do
	if ! command -v $c >/dev/null 2>&1; then
		echo "SKIP: host-accounts: needs $c"
		exit 77
	fi
done

# ---- outside: make the stand-in machine, run the test in it ----------------
if [ -z "${TUNL_HOSTACCOUNTS_INNER:-}" ]; then
	_snap() {
		for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow \
		    /etc/subuid /etc/subgid /var/log/lastlog /var/log/faillog; do
			[ -f "$f" ] && stat -c '%n %i %s %Y' "$f" && sha256sum "$f"
		done
	}
	before=$(_snap)
	T=$(mktemp -d /tmp/tunl-hostns.XXXXXX) || exit 1
	mkdir "$T/etc" "$T/log"
	TUNL_HOSTACCOUNTS_INNER=1 unshare --mount --propagation private \
	    sh -c '
		set -e
		mount -t tmpfs -o mode=0755 tunl-host-etc "$1/etc"
		cp -a /etc/. "$1/etc/"
		mount --move "$1/etc" /etc
		mount -t tmpfs -o mode=0755 tunl-host-log "$1/log"
		mount --move "$1/log" /var/log
		shift
		exec sh "$@"
	    ' sh "$T" "$0"
	rc=$?
	rmdir "$T/etc" "$T/log" "$T"
	after=$(_snap)
	if [ "$before" != "$after" ]; then
		echo "FAIL: host-accounts: the machine's account files changed" >&2
		exit 1
	fi
	exit $rc
fi

# ---- inside ---------------------------------------------------------------------
. "$top_srcdir/tests/integration/harness.sh"
harness_init host-accounts
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/demo-lib.sh"
demo_lib_init tunl-hostacct
TMPUSER=tunl-tmp$$
demo_cleanup_more() {
	userdel "$TMPUSER" 2>/dev/null
}

demo_start
ID=$(sed -n 's/^ID=//p' "$D/state")
[ -n "$ID" ] || harness_fail "no session id in $D/state"
list_has_id() {
	# $LIST is the printed command line: split into words on purpose.
	# shellcheck disable=SC2086
	$LIST </dev/null 2>&1 | grep -qF -- "$ID"
}

# Before: the engineer lists the session and joins.
list_has_id || harness_fail "list does not show $ID before the account change"
pane ro1 "$JOIN_RO"
wait_in ro1 "read-only"

# The machine gains and loses an account.
ino_before=$(stat -c %i /etc/passwd)
useradd -l -M -s /usr/sbin/nologin "$TMPUSER" ||
    harness_fail "useradd failed"
getent passwd "$TMPUSER" >/dev/null || harness_fail "useradd made no account"
userdel "$TMPUSER" || harness_fail "userdel failed"
ino_after=$(stat -c %i /etc/passwd)
[ "$ino_before" != "$ino_after" ] ||
    harness_fail "useradd did not replace /etc/passwd: this test tests nothing"

# After: list, a new read-only join, a read-write join that types.
list_has_id || harness_fail "list fails after an account was added and removed on the machine"
pane ro2 "$JOIN_RO"
wait_in ro2 "read-only"
pane rw "$JOIN_RW"
wait_in rw "read-write"
tm send-keys -t t:rw -l 'echo after-$((6*7))'
tm send-keys -t t:rw Enter
wait_in customer after-42
wait_in ro1 after-42
wait_in ro2 after-42

# The relay's own log is captured: a customer's wrong token is in it as
# the line fail2ban's filter finds.
H_DEMO=$(sed -n 's/^H=//p' "$D/state")
PORT=$(sed -n 's/^PORT=//p' "$D/state")
cat >"$H/bin/askpass" <<EOF
#!/bin/sh
case \$1 in
*"Session id"*) echo "$ID" ;;
*) echo 000000 ;;
esac
EOF
chmod 0755 "$H/bin/askpass"
SSH_ASKPASS=$H/bin/askpass SSH_ASKPASS_REQUIRE=force timeout -k 5 60 \
    ssh -F /dev/null -p "$PORT" -o UserKnownHostsFile="$H_DEMO/client/known_hosts" \
    -o StrictHostKeyChecking=yes -o IdentityAgent=none -o IdentityFile=none \
    -o PreferredAuthentications=keyboard-interactive \
    -o NumberOfPasswordPrompts=1 tunl@127.0.0.1 status </dev/null \
    >"$H/bad.out" 2>&1 && harness_fail "a wrong token was accepted"
logged_failure() {
	demo logs --dir "$D" >"$H/logs.out" 2>&1 &&
	    grep -q 'pam_tunl(sshd:auth): authentication failure; rhost=127.0.0.1 user=tunl' \
	    "$H/logs.out"
}
harness_wait 60 "the failed login in tools/demo logs" logged_failure
grep -q '^<' "$H/logs.out" && harness_fail "tools/demo logs kept the <PRI> prefix"
if matched=$(relay_f2b_matched "$H/logs.out"); then
	[ "${matched:-0}" -ge 1 ] ||
	    harness_fail "fail2ban's filter finds nothing in tools/demo logs: $(cat "$H/f2b.out")"
	harness_log "fail2ban-regex matched $matched line(s)"
fi
demo logs --sshd --dir "$D" | grep -q 'Accepted publickey for support' ||
    harness_fail "tools/demo logs --sshd does not show the engineers' logins"

tm kill-server 2>/dev/null
demo stop --dir "$D" >"$H/stop.out" 2>&1 || harness_fail "stop: $(cat "$H/stop.out")"
[ -e "$D" ] && harness_fail "the demo directory $D is left"
harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_log "passed"
exit 0
