#!/bin/sh
# The Debian packages (debian/), built with dpkg-buildpackage -us -uc -b
# from a copy of the source tree and installed with apt-get install
# ./*.deb in a throwaway Debian 12 root (debootstrap; cached root, a copy
# per run), never on this machine's /etc.
#
# Covered: the accounts and groups exist; tunl-authority is root:tunl-auth
# 2755 and tunl-broker tunl-broker:tunl 4750 by dpkg-statoverride;
# tunl-admin init ran (keys, database); nothing is wired into sshd or PAM
# by installing; tunl-prune.timer and its service are in the relay package
# under /usr/lib/systemd/system and not enabled; the root's own sshd then
# lets another account (alice) log
# in, wired (tunl-admin enable, or the README's steps by hand where
# enable is not there yet) or not; `apt-get remove tunl` takes tunl out of
# sshd and PAM first (prerm runs tunl-admin disable) and alice still logs
# in; with the include put back by
# hand, `apt-get purge tunl` takes it out before /etc/pam.d/tunl goes, and
# alice still logs in, sshd -t passes, the overrides, keys and database
# are gone; and the login check can fail: an include of a missing
# /etc/pam.d/tunl does lock alice out. tunl-share's package installs its
# program and man page.
#
# A package build takes minutes (the whole tree, twice for the static
# tunl-share): the test runs only with TUNL_TEST_PACKAGES=1, and skips
# without dpkg-buildpackage, debhelper or debootstrap. TUNL_TEST_DEBS=DIR
# uses .debs built before instead.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ "${TUNL_TEST_PACKAGES:-}" != 1 ] && [ -z "${TUNL_TEST_DEBS:-}" ]; then
	echo "SKIP: packages: builds the Debian packages (minutes): set TUNL_TEST_PACKAGES=1"
	exit 77
fi
for c in dpkg-buildpackage dh debootstrap musl-gcc; do
	command -v $c >/dev/null 2>&1 || {
		echo "SKIP: packages: needs $c (apt-get install dpkg-dev debhelper debootstrap musl-tools)"
		exit 77
	}
done

. "$top_srcdir/tests/integration/harness.sh"
harness_init packages
. "$top_srcdir/tests/integration/chroot-lib.sh"
chroot_base bookworm openssh-server,openssh-client,libsodium23,libsqlite3-0,libcurl4,libseccomp2,libpam-modules,tmux,procps,adduser,passwd,sqlite3

# ---- build ----------------------------------------------------------------
if [ -n "${TUNL_TEST_DEBS:-}" ]; then
	DEBS=$TUNL_TEST_DEBS
else
	DEBS=$H/src
	mkdir -p "$H/src/tunl" || harness_fail "mkdir"
	tar -C "$top_srcdir" --exclude=./.git --exclude='./build*' \
	    --exclude=./autom4te.cache --exclude=./static-share -cf - . |
	    tar -C "$H/src/tunl" -xf - || harness_fail "cannot copy the source"
	harness_log "dpkg-buildpackage -us -uc -b (minutes)"
	(cd "$H/src/tunl" && dpkg-buildpackage -us -uc -b) \
	    >"$H/build.log" 2>&1 || {
		tail -n 40 "$H/build.log" >&2
		harness_fail "dpkg-buildpackage failed"
	}
fi
set -- "$DEBS"/tunl_*.deb
[ -f "$1" ] || harness_fail "no tunl_*.deb in $DEBS"
set -- "$DEBS"/tunl-share_*.deb
[ -f "$1" ] || harness_fail "no tunl-share_*.deb in $DEBS"

# ---- the root, its sshd, and alice ---------------------------------------
R=$H/bookworm
chroot_copy "$R"
root_pids() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/root" 2>/dev/null)" = "$R" ] &&
		    echo "${_p#/proc/}"
	done
}
root_empty() {
	[ -z "$(root_pids)" ]
}
trap '_rc=$?; kill $(root_pids) 2>/dev/null; (exit $_rc); _harness_exit' EXIT
in_root() {
	chroot_run "$R" "$@"
}
mkdir -p "$R/tmp/debs" && cp "$DEBS"/tunl_*.deb "$DEBS"/tunl-share_*.deb \
    "$R/tmp/debs/" || harness_fail "cannot copy the packages"

in_root useradd -m -s /bin/sh alice || harness_fail "useradd alice"
harness_keygen alice-root
mkdir -p "$R/home/alice/.ssh" &&
    cp "$H/client/alice-root.pub" "$R/home/alice/.ssh/authorized_keys" &&
    in_root chown -R alice: /home/alice/.ssh || harness_fail "alice's key"
mkdir -p "$R/run/sshd" && chmod 0755 "$R/run/sshd"
_harness_pick_port
PORT=$HARNESS_PORT
HARNESS_PORT=
# The root's sshd, as Debian configures it (UsePAM yes, sshd_config.d),
# on a loopback port; unshare, sh, chroot and env exec: $! is sshd.
unshare --mount --propagation private sh -c "$_CHROOT_MOUNTS" sh "$R" \
    /usr/sbin/sshd -D -e -p "$PORT" -o ListenAddress=127.0.0.1 \
    -o PidFile=/run/sshd-test.pid </dev/null >"$H/root-sshd.log" 2>&1 &
ROOT_SSHD=$!
harness_track $ROOT_SSHD
sshd_up() {
	[ -s "$R/run/sshd-test.pid" ] && [ -n "$(ss -Hltn "sport = :$PORT")" ]
}
harness_wait 60 "the root's sshd to listen" sshd_up
alice_login() {
	timeout -k 5 30 ssh -F /dev/null -p "$PORT" -i "$H/client/alice-root" \
	    -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o LogLevel=ERROR alice@127.0.0.1 echo alice-in 2>"$H/alice.err"
}
# alice_ok WHEN: alice logs in through the root's sshd and PAM stack.
alice_ok() {
	out=$(alice_login) || harness_fail "alice cannot log in $1: $(cat "$H/alice.err"; tail -n 5 "$H/root-sshd.log")"
	harness_assert_eq alice-in "$out" "alice's login $1"
}
sshd_t_ok() {
	in_root /usr/sbin/sshd -t >"$H/sshd-t.out" 2>&1 ||
	    harness_fail "sshd -t fails $1: $(cat "$H/sshd-t.out")"
}
pam_included() {
	grep -Eq '^[[:space:]]*@include[[:space:]]+tunl' "$R/etc/pam.d/sshd"
}
not_wired() {
	pam_included && harness_fail "/etc/pam.d/sshd includes tunl $1"
	[ -e "$R/etc/ssh/sshd_config.d/tunl.conf" ] &&
	    harness_fail "the sshd drop-in is in place $1"
	return 0
}
alice_ok "before anything is installed"

# ---- install --------------------------------------------------------------
in_root sh -c 'cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y ./*.deb' \
    >"$H/install.log" 2>&1 || {
	tail -n 30 "$H/install.log" >&2
	harness_fail "apt-get install ./*.deb failed"
}
for a in tunl support tunl-broker tunlauth; do
	in_root getent passwd "$a" >/dev/null || harness_fail "no account $a"
done
for g in tunl tunl-auth; do
	in_root getent group "$g" >/dev/null || harness_fail "no group $g"
done
harness_assert_eq "root tunl-auth 2755" \
    "$(in_root stat -c '%U %G %a' /usr/libexec/tunl/tunl-authority)" \
    "tunl-authority"
harness_assert_eq "tunl-broker tunl 4750" \
    "$(in_root stat -c '%U %G %a' /usr/libexec/tunl/tunl-broker)" \
    "tunl-broker"
harness_assert_contains "$(in_root dpkg-statoverride --list)" \
    "root tunl-auth 2755 /usr/libexec/tunl/tunl-authority"
[ -f "$R/etc/pam.d/tunl" ] || harness_fail "no /etc/pam.d/tunl"
[ -f "$R/usr/share/tunl/sshd-tunl.conf" ] || harness_fail "no drop-in template"
[ -s "$R/usr/libexec/tunl/tunl-share-static" ] ||
    harness_fail "no tunl-share-static in the package"
[ -d "$R/var/lib/tunl" ] && [ -d "$R/etc/tunl" ] ||
    harness_fail "tunl-admin init did not run: $(tail -n 20 "$H/install.log")"
[ -x "$R/usr/bin/tunl-share" ] && [ -f "$R/usr/share/man/man1/tunl-share.1.gz" ] ||
    harness_fail "tunl-share's package is incomplete"
# The retention timer: shipped where systemd looks, not enabled.
for u in tunl-prune.timer tunl-prune.service; do
	[ -f "$R/usr/lib/systemd/system/$u" ] || harness_fail "no $u in the package"
done
in_root dpkg -L tunl | grep -qx /usr/lib/systemd/system/tunl-prune.timer ||
    harness_fail "the timer is not the relay package's"
ls "$R"/etc/systemd/system/*.wants/tunl-prune.timer 2>/dev/null &&
    harness_fail "installing enabled the retention timer"
not_wired "after install"
sshd_t_ok "after install"
alice_ok "after install"

# ---- wired, as the operator does it ---------------------------------------
if in_root tunl-admin enable >"$H/enable.out" 2>&1; then
	harness_log "wired by tunl-admin enable"
	ENABLE=yes
else
	# tunl-admin without enable: the README's steps by hand.
	harness_log "no tunl-admin enable here ($(head -n 1 "$H/enable.out")): wiring by hand"
	ENABLE=no
	cp "$R/usr/share/tunl/sshd-tunl.conf" "$R/etc/ssh/sshd_config.d/tunl.conf"
	awk '/^@include common-auth/ && !d { print "@include tunl"; d = 1 } { print }' \
	    "$R/etc/pam.d/sshd" >"$R/etc/pam.d/sshd.new" &&
	    cat "$R/etc/pam.d/sshd.new" >"$R/etc/pam.d/sshd" &&
	    rm -f "$R/etc/pam.d/sshd.new"
fi
pam_included || harness_fail "not wired: $(cat "$H/enable.out")"
sshd_t_ok "wired"
alice_ok "wired"
in_root tunl-admin doctor >"$H/doctor.out" 2>&1
DOCTOR=$?
harness_log "tunl-admin doctor (exit $DOCTOR):"
sed 's/^/    /' "$H/doctor.out" >&2
if [ "$ENABLE" = yes ]; then
	harness_assert_eq 0 "$DOCTOR" "tunl-admin doctor after enable"
fi

# ---- remove: out of sshd and PAM first -------------------------------------
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y tunl \
    >"$H/remove.log" 2>&1 || {
	tail -n 30 "$H/remove.log" >&2
	harness_fail "apt-get remove tunl failed"
}
harness_assert_contains "$(cat "$H/remove.log")" "taken out of sshd and its PAM stack"
# prerm did it with the operator's own command.
if [ "$ENABLE" = yes ]; then
	harness_assert_contains "$(cat "$H/remove.log")" "tunl-admin disable: done"
fi
[ -e "$R/usr/libexec/tunl/tunl-shell" ] && harness_fail "tunl-shell still installed"
not_wired "after remove"
sshd_t_ok "after remove"
alice_ok "after remove"

# ---- purge, with the include put back by hand meanwhile --------------------
awk '/^@include common-auth/ && !d { print "@include tunl"; d = 1 } { print }' \
    "$R/etc/pam.d/sshd" >"$R/etc/pam.d/sshd.new" &&
    cat "$R/etc/pam.d/sshd.new" >"$R/etc/pam.d/sshd" && rm -f "$R/etc/pam.d/sshd.new"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y tunl \
    >"$H/purge.log" 2>&1 || {
	tail -n 30 "$H/purge.log" >&2
	harness_fail "apt-get purge tunl failed"
}
not_wired "after purge"
[ -e "$R/etc/pam.d/tunl" ] && harness_fail "/etc/pam.d/tunl left after purge"
[ -e "$R/etc/tunl" ] || [ -e "$R/var/lib/tunl" ] &&
    harness_fail "keys or database left after purge"
harness_assert_not_contains "$(in_root dpkg-statoverride --list)" "tunl"
sshd_t_ok "after purge"
alice_ok "after purge"

# ---- the login check can fail: an include of a missing file locks out ------
cp -p "$R/etc/pam.d/sshd" "$H/pam-sshd.saved"
printf '@include tunl\n' | cat - "$H/pam-sshd.saved" >"$R/etc/pam.d/sshd"
alice_login >/dev/null && harness_fail "alice logged in through a broken PAM stack"
cat "$H/pam-sshd.saved" >"$R/etc/pam.d/sshd"
alice_ok "with the stack repaired"

# ---- stop -----------------------------------------------------------------
kill "$ROOT_SSHD"
harness_wait 30 "the root's processes to end" root_empty
harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
rm -rf "$R"
harness_log "passed"
exit 0
