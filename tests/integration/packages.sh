#!/bin/sh
# The Debian packages (debian/) and the README's package quick start, run
# as the README gives it, in a throwaway Debian 12 root (debootstrap; the
# root is cached, each run works on a copy), never on this machine's /etc.
#
# The packages are built with dpkg-buildpackage -us -uc -b from a copy of
# the source tree. The lines between README.md's quickstart-deb markers
# are run exactly (sh -ex), as root inside the root, in a directory that
# holds the .debs and alice.pub, an engineer key the test made: the first
# line (apt install ./tunl_*.deb) alone, so that what installing did is
# checked before the rest runs. One command is stood in for, by a script
# first on PATH: systemctl (the root has no service manager), which takes
# only "reload ssh" and then stops the root's own sshd (Debian's
# configuration: UsePAM yes, sshd_config.d) and starts it again, after
# sshd -t, on a loopback port. The quick start must end with `tunl-admin
# doctor` healthy.
#
# Covered:
#  - installing: the accounts and groups exist; tunl-authority is
#    root:tunl-auth 2755 and tunl-broker tunl-broker:tunl 4750 by
#    dpkg-statoverride; tunl-admin init ran (keys, database); the
#    retention timer is shipped, not enabled; nothing is wired into sshd
#    or PAM; sshd -t passes and another account (alice, a Unix login with
#    a key of her own) still logs in through the root's sshd;
#  - the rest of the quick start: doctor healthy, tunl wired, alice still
#    logs in; the engineer alice (alice.pub's key) makes a session with
#    `new` over ssh to that sshd; the customer's line it prints names that
#    sshd (127.0.0.1 and its port) and pins the root's own host key;
#    `apt install ./tunl-share_*.deb` (the README's customer package)
#    installs tunl-share, and that program, run inside the root as the
#    printed line says (the root's own ssh and tmux), the token typed at
#    its prompt, shares the customer's shell: alice's `join` shows what
#    that shell printed, what alice types runs there, and the end key
#    ends the session for both;
#  - tunl-admin init --host-ca signs the root's host keys, names the
#    certificates in a drop-in that sshd -t accepts, and alice still logs
#    in to the restarted sshd;
#  - `apt-get remove tunl` takes tunl out of sshd and PAM first (prerm
#    runs tunl-admin disable): alice logs in to the running sshd and to
#    one restarted with what is left;
#  - with the include put back by hand, `apt-get purge tunl` takes it out
#    before /etc/pam.d/tunl goes; the overrides, keys, database, the host
#    certificates and their drop-in are gone; sshd -t passes and alice
#    logs in (running and restarted sshd);
#  - the login check can fail: an include of a missing /etc/pam.d/tunl
#    does lock alice out.
#
# A package build takes minutes (the whole tree, twice for the static
# tunl-share): the test runs only with TUNL_TEST_PACKAGES=1, and skips
# without dpkg-buildpackage, debhelper or debootstrap. TUNL_TEST_DEBS=DIR
# uses .debs built before instead (from the same tree: the test checks
# what the README says against them).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ "${TUNL_TEST_PACKAGES:-}" != 1 ] && [ -z "${TUNL_TEST_DEBS:-}" ]; then
	echo "SKIP: packages: builds the Debian packages (minutes): set TUNL_TEST_PACKAGES=1"
	exit 77
fi
for c in dpkg-buildpackage dh debootstrap musl-gcc tmux; do
	command -v $c >/dev/null 2>&1 || {
		echo "SKIP: packages: needs $c (apt-get install dpkg-dev debhelper debootstrap musl-tools tmux)"
		exit 77
	}
done

. "$top_srcdir/tests/integration/harness.sh"
harness_init packages
. "$top_srcdir/tests/integration/chroot-lib.sh"
chroot_base bookworm openssh-server,openssh-client,libsodium23,libsqlite3-0,libcurl4,libseccomp2,libpam-modules,tmux,procps,adduser,passwd,sqlite3

# ---- the README's lines ----------------------------------------------------
# Exactly as written, without their indentation.
awk '/<!-- quickstart-deb -->/ { on = 1; next }
    /<!-- \/quickstart-deb -->/ { on = 0 }
    on && /^    / { print substr($0, 5) }' "$top_srcdir/README.md" \
    >"$H/quickstart.lines"
[ -s "$H/quickstart.lines" ] || harness_fail "no quickstart-deb lines in README.md"
FIRST=$(head -n 1 "$H/quickstart.lines")
case $FIRST in
*" ./tunl_"*.deb) ;;
*) harness_fail "the package quick start does not begin by installing ./tunl_*.deb: $FIRST" ;;
esac
tail -n +2 "$H/quickstart.lines" >"$H/quickstart.rest"
grep -q 'alice\.pub' "$H/quickstart.rest" ||
    harness_fail "the package quick start adds no engineer from alice.pub"
harness_log "quick start: $(tr '\n' ';' <"$H/quickstart.lines")"

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
# root_runs NAME: a process of the root's runs the program NAME.
root_runs() {
	for _rp in $(root_pids); do
		[ "$(cat "/proc/$_rp/comm" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}
TM=tunl-packages-test-$$
tm() {
	tmux -L "$TM" -f /dev/null "$@"
}
trap '_rc=$?; tm kill-server 2>/dev/null; kill $(root_pids) 2>/dev/null; (exit $_rc); _harness_exit' EXIT
in_root() {
	chroot_run "$R" "$@"
}
# What the operator has: a directory with the packages and the engineer's
# key. The test's own files (the stand-in, the lines) are elsewhere.
QS=/root/quickstart
mkdir -p "$R$QS" "$R/tmp/qs-stub" &&
    cp "$DEBS"/tunl_*.deb "$DEBS"/tunl-share_*.deb "$R$QS/" &&
    cp "$H/quickstart.lines" "$H/quickstart.rest" "$R/tmp/qs-stub/" ||
    harness_fail "cannot copy the packages"
harness_keygen alice
cp "$H/client/alice.pub" "$R$QS/alice.pub" || harness_fail "alice.pub"

in_root useradd -m -s /bin/sh alice || harness_fail "useradd alice"
harness_keygen alice-root
mkdir -p "$R/home/alice/.ssh" &&
    cp "$H/client/alice-root.pub" "$R/home/alice/.ssh/authorized_keys" &&
    in_root chown -R alice: /home/alice/.ssh || harness_fail "alice's key"
_harness_pick_port
PORT=$HARNESS_PORT
HARNESS_PORT=
SSHD_PID=$R/run/sshd-test.pid
# The stand-in for systemctl, inside the root.
cat >"$R/tmp/qs-stub/systemctl" <<EOF
#!/bin/sh
# Stands in for systemctl in the package test (the root has no service
# manager): "reload ssh" stops the root's sshd if it runs and starts it
# again with the configuration as it is now, on 127.0.0.1:$PORT only.
# It returns once the new sshd listens (it writes its pid file then).
[ "\$*" = "reload ssh" ] || { echo "systemctl stand-in: only 'reload ssh'" >&2; exit 1; }
# What systemd makes for ssh.service.
mkdir -p -m 0755 /run/sshd
/usr/sbin/sshd -t || exit 1
pidfile=/run/sshd-test.pid
if [ -s \$pidfile ] && kill -0 "\$(cat \$pidfile)" 2>/dev/null; then
	kill -TERM "\$(cat \$pidfile)"
	# sshd closes its listening socket, then removes its pid file.
	n=0
	while [ -e \$pidfile ]; do
		n=\$((n + 1))
		[ \$n -le 1200 ] || { echo "systemctl stand-in: sshd did not stop" >&2; exit 1; }
		sleep 0.1
	done
fi
rm -f \$pidfile
/usr/sbin/sshd -p $PORT -o ListenAddress=127.0.0.1 -o PidFile=\$pidfile \
    -E /var/log/sshd-test.log </dev/null || exit 1
n=0
while [ ! -s \$pidfile ]; do
	n=\$((n + 1))
	[ \$n -le 1200 ] || { echo "systemctl stand-in: sshd did not start" >&2; exit 1; }
	sleep 0.1
done
EOF
chmod 0755 "$R/tmp/qs-stub/systemctl"
# reload_ssh WHEN: what "systemctl reload ssh" does here.
reload_ssh() {
	in_root /tmp/qs-stub/systemctl reload ssh </dev/null >"$H/reload.out" 2>&1 ||
	    harness_fail "the root's sshd does not start $1: $(cat "$H/reload.out"; root_sshd_log)"
}
root_sshd_log() {
	tail -n 5 "$R/var/log/sshd-test.log" 2>/dev/null
}
# qs_run FILE: README lines in FILE, run as the README says, in $QS.
qs_run() {
	in_root env PATH=/tmp/qs-stub:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    sh -c 'cd "$1" && exec sh -ex "$2"' sh "$QS" "$1" </dev/null
}
alice_login() {
	timeout -k 5 30 ssh -F /dev/null -p "$PORT" -i "$H/client/alice-root" \
	    -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o LogLevel=ERROR alice@127.0.0.1 echo alice-in 2>"$H/alice.err"
}
# alice_ok WHEN: alice logs in through the root's sshd and PAM stack.
alice_ok() {
	out=$(alice_login) || harness_fail "alice cannot log in $1: $(cat "$H/alice.err"; root_sshd_log)"
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
reload_ssh "before anything is installed"
alice_ok "before anything is installed"

# ---- the quick start's first line: install --------------------------------
printf '%s\n' "$FIRST" >"$R/tmp/qs-stub/quickstart.first"
qs_run /tmp/qs-stub/quickstart.first >"$H/install.log" 2>&1 || {
	tail -n 30 "$H/install.log" >&2
	harness_fail "the quick start's $FIRST failed"
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
# The relay's package alone: the customer's program is the other one.
[ -e "$R/usr/bin/tunl-share" ] && harness_fail "./tunl_*.deb installed tunl-share"
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

# ---- the rest of the quick start -------------------------------------------
qs_run /tmp/qs-stub/quickstart.rest >"$H/quickstart.log" 2>&1 || {
	tail -n 40 "$H/quickstart.log" >&2
	root_sshd_log >&2
	harness_fail "the package quick start failed"
}
harness_assert_contains "$(tail -n 3 "$H/quickstart.log")" "tunl-admin doctor: healthy"
harness_log "the quick start ended: $(tail -n 1 "$H/quickstart.log")"
pam_included || harness_fail "the quick start did not wire PAM"
[ -f "$R/etc/ssh/sshd_config.d/tunl.conf" ] ||
    harness_fail "the quick start did not put the sshd drop-in in place"
harness_assert_contains "$(in_root tunl-admin engineer list)" "alice"
sshd_t_ok "wired"
alice_ok "wired"

# ---- the engineer makes a session; the customer shares through it ----------
printf '[127.0.0.1]:%s %s\n' "$PORT" \
    "$(cut -d' ' -f1,2 "$R/etc/ssh/ssh_host_ed25519_key.pub")" >"$H/client/known_hosts"
SSH="ssh -F /dev/null -p $PORT -o UserKnownHostsFile=$H/client/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes -o PreferredAuthentications=publickey -o ControlPath=none -o IdentityFile=$H/client/alice"
timeout -k 5 60 $SSH support@127.0.0.1 new --case CS-15 </dev/null \
    >"$H/new.out" 2>&1 || harness_fail "the engineer cannot make a session: $(cat "$H/new.out"; root_sshd_log)"
ID=$(sed -n 's/^session  *\([a-z-]*\)$/\1/p' "$H/new.out" | head -n 1)
TOKEN=$(sed -n 's/^token  *\([0-9]*\).*$/\1/p' "$H/new.out" | head -n 1)
LINE=$(sed -n 's/^    \(tunl-share --relay .*\)$/\1/p' "$H/new.out" | head -n 1)
[ -n "$ID" ] && [ -n "$TOKEN" ] && [ -n "$LINE" ] ||
    harness_fail "no id, token and customer's line in: $(cat "$H/new.out")"
harness_assert_eq "tunl-share --relay 127.0.0.1:$PORT --host-key '$(cut -d' ' -f1,2 "$R/etc/ssh/ssh_host_ed25519_key.pub")' --case CS-15 $ID" \
    "$LINE" "the customer's line new printed"
harness_log "the customer's line: $LINE"

# The customer's package, as the README's "Getting tunl-share" says.
in_root sh -c "cd $QS && apt install ./tunl-share_*.deb" </dev/null \
    >"$H/install-share.log" 2>&1 || {
	tail -n 30 "$H/install-share.log" >&2
	harness_fail "apt install ./tunl-share_*.deb failed"
}
harness_assert_eq "tunl-share: /usr/bin/tunl-share" \
    "$(in_root dpkg -S /usr/bin/tunl-share)" "tunl-share's owner"
[ -f "$R/usr/share/man/man1/tunl-share.1.gz" ] ||
    harness_fail "tunl-share's package has no man page"

# The customer, inside the root as root would be, pastes the line.
mkdir -m 0700 "$R/root/customer" "$R/tmp/x" || harness_fail "mkdir in the root"
printf 'cd /root/customer\n%s\n' "$LINE" >"$R/root/customer/share.sh"
cat >"$H/bin/in-root" <<EOS
#!/bin/sh
exec unshare --mount --propagation private sh -c '
set -e
mount -t proc proc "\$0/proc"
mount --rbind /dev "\$0/dev"
cd "\$0"
exec chroot "\$0" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
    TERM=\${TERM:-xterm} LANG=C.UTF-8 XDG_RUNTIME_DIR=/tmp/x SHELL=/bin/sh "\$@"
' "$R" "\$@"
EOS
chmod 0755 "$H/bin/in-root"
# pane NAME COMMAND: a window of the test's tmux (the terminals) running
# COMMAND.
pane() {
	if tm has-session 2>/dev/null; then
		tm new-window -d -n "$1"
	else
		tm new-session -d -s e2e -n "$1" -x 120 -y 40
		tm set -g remain-on-exit on
		harness_track "$(tm display -p '#{pid}')"
	fi
	tm send-keys -t "e2e:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}
screen_has() {
	tm capture-pane -p -t "e2e:$1" | grep -qF -- "$2"
}
wait_screen() {
	harness_wait 120 "pane $1 to show [$2]" screen_has "$1" "$2"
}
packages_debug() {
	for _w in $(tm list-windows -F '#{window_name}' 2>/dev/null); do
		echo "---- pane $_w ----" >&2
		tm capture-pane -p -t "e2e:$_w" >&2
	done
	echo "---- the root's sshd ----" >&2
	tail -n 20 "$R/var/log/sshd-test.log" >&2 2>/dev/null
}
HARNESS_WAIT_DEBUG=packages_debug
# The customer's tmux is the root's, its socket in tunl-share's directory.
ctmux() {
	chroot "$R" /usr/bin/tmux -S "${CSOCK#"$R"}" "$@"
}
cust_tmux_up() {
	for _d in "$R"/tmp/x/tunl-share.*; do
		[ -S "$_d/tmux.sock" ] && CSOCK=$_d/tmux.sock
	done
	[ -n "${CSOCK:-}" ] && ctmux has-session -t tunl 2>/dev/null
}
# cust_pane_has TEXT [PANE]: TEXT on the customer's shell pane (0), or on
# PANE (1: the chat pane).
cust_pane_has() {
	ctmux capture-pane -p -t "tunl:0.${2:-0}" 2>/dev/null | grep -qF -- "$1"
}
CSOCK=
pane cust "$H/bin/in-root sh /root/customer/share.sh"
wait_screen cust "Session token (not shown)"
tm send-keys -t e2e:cust -l "$TOKEN"
tm send-keys -t e2e:cust Enter
harness_wait 120 "tunl-share to start the root's tmux" cust_tmux_up
ctmux send-keys -t tunl:0.0 'echo ready-$((2*21))' Enter
harness_wait 120 "the customer's shell" cust_pane_has ready-42
pane rw "$SSH -t support@127.0.0.1 join $ID"
# Joined: tunl-share's chat pane says so (the engineer's pane already
# shows her name in the command line typed into it).
harness_wait 120 "the customer to hear that alice joined" \
    cust_pane_has "alice joined (read-write)" 1
ctmux send-keys -t tunl:0.0 'echo customer-$((20+3)) $(cat /etc/debian_version)' Enter
wait_screen rw "customer-23 12."
harness_log "alice's join shows the customer's shell (root: $(chroot "$R" sh -c 'tmux -V; ssh -V 2>&1'| tr '\n' ' '))"
tm send-keys -t e2e:rw 'echo engineer-$((40+2))' Enter
harness_wait 120 "the engineer's keys in the customer's shell" cust_pane_has engineer-42
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
wait_screen rw "session ended: the customer ended it"
root_no_share() {
	! root_runs tmux && ! root_runs tunl-share
}
harness_wait 60 "the customer's tmux and tunl-share to end" root_no_share
tm kill-server 2>/dev/null

# ---- a host CA ---------------------------------------------------------------
in_root tunl-admin init --host-ca --host-name 127.0.0.1 >"$H/hostca.out" 2>&1 ||
    harness_fail "tunl-admin init --host-ca: $(cat "$H/hostca.out")"
HOSTCERT=/etc/ssh/sshd_config.d/tunl-hostcert.conf
[ -f "$R$HOSTCERT" ] || harness_fail "init --host-ca wrote no $HOSTCERT"
CERTS=$(sed -n 's/^HostCertificate[[:space:]]\{1,\}\(\/.*-cert\.pub\)$/\1/p' "$R$HOSTCERT")
[ -n "$CERTS" ] || harness_fail "no HostCertificate in $HOSTCERT: $(cat "$R$HOSTCERT")"
for c in $CERTS; do
	[ -s "$R$c" ] || harness_fail "no host certificate $c"
done
in_root tunl-admin host-key >"$H/host-key.out" 2>&1 ||
    harness_fail "tunl-admin host-key: $(cat "$H/host-key.out")"
harness_assert_contains "$(cat "$H/host-key.out")" "@cert-authority"
sshd_t_ok "with the host certificates"
reload_ssh "with the host certificates"
alice_ok "with the host certificates"

# ---- remove: out of sshd and PAM first -------------------------------------
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y tunl \
    >"$H/remove.log" 2>&1 || {
	tail -n 30 "$H/remove.log" >&2
	harness_fail "apt-get remove tunl failed"
}
harness_assert_contains "$(cat "$H/remove.log")" "taken out of sshd and its PAM stack"
# prerm did it with the operator's own command.
harness_assert_contains "$(cat "$H/remove.log")" "tunl-admin disable: done"
[ -e "$R/usr/libexec/tunl/tunl-shell" ] && harness_fail "tunl-shell still installed"
not_wired "after remove"
sshd_t_ok "after remove"
alice_ok "after remove (the running sshd)"
reload_ssh "after remove"
alice_ok "after remove (sshd restarted)"

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
[ -e "$R$HOSTCERT" ] && harness_fail "$HOSTCERT left after purge"
for c in $CERTS; do
	[ -e "$R$c" ] && harness_fail "host certificate $c left after purge"
done
harness_assert_not_contains "$(in_root dpkg-statoverride --list)" "tunl"
sshd_t_ok "after purge"
alice_ok "after purge (the running sshd)"
reload_ssh "after purge"
alice_ok "after purge (sshd restarted)"

# ---- the login check can fail: an include of a missing file locks out ------
cp -p "$R/etc/pam.d/sshd" "$H/pam-sshd.saved"
printf '@include tunl\n' | cat - "$H/pam-sshd.saved" >"$R/etc/pam.d/sshd"
alice_login >/dev/null && harness_fail "alice logged in through a broken PAM stack"
cat "$H/pam-sshd.saved" >"$R/etc/pam.d/sshd"
alice_ok "with the stack repaired"

# ---- stop -----------------------------------------------------------------
kill "$(cat "$SSHD_PID")"
harness_wait 30 "the root's processes to end" root_empty
harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
rm -rf "$R"
harness_log "passed"
exit 0
