#!/bin/sh
# The shipped fail2ban jail and filter pass fail2ban's own configuration
# test (fail2ban-client -t) in a copy of the machine's fail2ban
# configuration with only tunl's jail enabled, and the jail reads the
# journal (backend systemd, sshd's journal entries), so it works on a
# journald-only Debian 12 where /var/log/auth.log does not exist. Skips,
# saying why, where fail2ban is not installed. Writes only under a
# private directory.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v fail2ban-client >/dev/null 2>&1 || {
	echo "SKIP: fail2ban-client is not installed (apt-get install fail2ban)"
	exit 77
}
[ -d /etc/fail2ban ] || {
	echo "SKIP: no /etc/fail2ban to take fail2ban's own files from"
	exit 77
}
T=$(mktemp -d "${TMPDIR:-/tmp}/f2b-jail.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}
cp -a /etc/fail2ban/. "$T/" || fail "cannot copy /etc/fail2ban"
# Only tunl's jail: the distribution's sshd jail needs a log file that a
# journald-only machine does not have, and is not ours to test.
rm -f "$T"/jail.d/* "$T"/jail.local "$T"/filter.d/tunl.* 
cp "$top_srcdir/fail2ban/filter.d/tunl.conf" "$T/filter.d/" &&
    cp "$top_srcdir/fail2ban/jail.d/tunl.conf" "$T/jail.d/" ||
    fail "cannot copy tunl's files"
out=$(timeout 120 fail2ban-client -c "$T" -t 2>&1) ||
    fail "fail2ban-client -t: $out"
dump=$(timeout 120 fail2ban-client -c "$T" -d 2>&1) ||
    fail "fail2ban-client -d: $dump"
for want in "['add', 'tunl', 'systemd']" \
    "['set', 'tunl', 'addjournalmatch', '_SYSTEMD_UNIT=ssh.service', '+', '_COMM=sshd']" \
    "pam_tunl" "['set', 'tunl', 'maxretry', 5]"; do
	case $dump in
	*"$want"*) ;;
	*) fail "the jail's dump lacks $want: $dump" ;;
	esac
done
case $dump in
*"'addlogpath'"*) fail "the jail still names a log file: $dump" ;;
esac
# The port is the operator's to set: an override in jail.local is taken.
printf '[tunl]\nport = 2222\n' >"$T/jail.local"
dump=$(timeout 120 fail2ban-client -c "$T" -d 2>&1) ||
    fail "fail2ban-client -d with port 2222: $dump"
case $dump in
*"port=2222"*|*"'port', '2222'"*|*"2222"*) ;;
*) fail "port 2222 did not reach the jail: $dump" ;;
esac
# The filter matches pam_tunl's line (fail2ban-regex, as doctor suggests).
line="Dec  7 12:00:00 relay sshd[4242]: pam_tunl(sshd:auth): authentication failure; rhost=192.0.2.7 user=tunl reason=token"
out=$(timeout 120 fail2ban-regex "$line" "$T/filter.d/tunl.conf" 2>&1) ||
    fail "fail2ban-regex: $out"
case $out in
*"Failregex: 1 total"*) ;;
*) fail "the filter missed pam_tunl's line: $out" ;;
esac
echo "PASS: fail2ban-client -t accepts tunl's jail (backend systemd)"
exit 0
