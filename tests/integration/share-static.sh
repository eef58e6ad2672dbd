#!/bin/sh
# The static tunl-share (tunl-share-static: musl, no shared library) on an
# older distribution, end to end: a Debian 11 (bullseye, glibc 2.31) root
# made with debootstrap, with that root's own OpenSSH and tmux, as a
# customer on RHEL 8 or Ubuntu 20.04 would run it.
#
# Covered: `new` prints the customer's commands to get tunl-share from the
# relay with its SHA-256, which is the hash of the built tunl-share-static
# and what `get tunl-share.sha256` says; the customer, inside the root,
# runs those printed commands (ssh get tunl-share after the session id and
# token; sha256sum -c) and gets a byte-identical binary; the token is not
# used up by that; the binary got that way then shares the root's shell
# through the relay: what the customer's shell prints reaches a joined
# engineer, what the engineer types runs in the customer's shell; the end
# key ends it; nothing of the root's is left running.
#
# Runs only with TUNL_TEST_STATIC=1 (see below). The root is cached
# (tests/integration/chroot-lib.sh); the test skips when debootstrap, musl-gcc (no tunl-share-static) or the mirror is
# missing. TUNL_TEST_TMUX_MIN says which tmux the root must have: bullseye
# has 3.1c (see README, "Minimum versions").
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

# Opt-in: the first run debootstraps a Debian 11 root and builds tmux in
# it (about 20 minutes on a loaded 2-core machine); later runs reuse the
# cached root and take about a minute. ./tools/test does not set it.
if [ "${TUNL_TEST_STATIC:-}" != 1 ]; then
	echo "SKIP: share-static: makes a Debian 11 root (20 min the first time, then ~1 min): set TUNL_TEST_STATIC=1"
	exit 77
fi
missing=
[ -f "$top_builddir/.libs/pam_tunl.so" ] || missing="$missing pam_tunl.so"
[ -x "$top_builddir/tunl-broker" ] || missing="$missing tunl-broker"
if [ -n "$missing" ]; then
	echo "SKIP: share-static: not built here:$missing"
	exit 77
fi
if [ ! -x "$top_builddir/tunl-share-static" ]; then
	echo "SKIP: share-static: no tunl-share-static (configure found no musl-gcc: apt-get install musl-tools)"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-static: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-static
. "$top_srcdir/tests/integration/chroot-lib.sh"
# Bullseye's own tmux is 3.1c; tunl-share needs 3.2 (attach -f
# ignore-size, refresh-client -f): the root also gets tmux 3.3a, built
# from Debian 12's source, in /usr/local/bin, first in the customer's
# PATH. The root's ssh, libc and the rest are bullseye's.
chroot_base bullseye openssh-client,tmux,procps,build-essential,libevent-dev,libncurses-dev,pkg-config,bison,curl,ca-certificates
chroot_tmux 3.3a e4fd347843bd0772c4f48d6dde625b0b109b7a380ff15db21e97c11a4dcdf93f

harness_install_libexec "$top_builddir/tunl-share-static"
SHARE_SHELL_ARGS="--share-static $H/libexec/tunl-share-static"
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup "relay_host_key = $H/etc/ssh_host_ed25519_key.pub"

# The root: a private copy; /opt/tunl holds what the customer has.
R=$H/bullseye
chroot_copy "$R"
# Every process whose root is the copy, stopped by pid at the end.
root_pids() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/root" 2>/dev/null)" = "$R" ] &&
		    echo "${_p#/proc/}"
	done
}
root_stop() {
	_rp=$(root_pids)
	[ -n "$_rp" ] && kill $_rp 2>/dev/null
	harness_wait 30 "the root's processes to end" root_empty
}
root_empty() {
	[ -z "$(root_pids)" ]
}
trap '_rc=$?; kill $(root_pids) 2>/dev/null; rm -rf "$XDG"; (exit $_rc); _harness_exit' EXIT
harness_log "root: $(chroot "$R" sh -c 'PATH=/usr/local/bin:$PATH; tmux -V; ssh -V 2>&1; ldd --version | head -n 1')"
mkdir -m 0700 "$R/opt/tunl" "$R/tmp/x" || harness_fail "mkdir in the root"
cp "$KH" "$R/opt/tunl/known_hosts"
cat >"$R/opt/tunl/askpass" <<'EOS'
#!/bin/sh
case $1 in
*"Session id: "*) cat /opt/tunl/answer.id ;;
*"Session token: "*) cat /opt/tunl/answer.token ;;
*) exit 1 ;;
esac
EOS
chmod 0755 "$R/opt/tunl/askpass"
# In the root, as its customer would: env -i, the root's PATH and tools.
cat >"$H/bin/in-root" <<EOS
#!/bin/sh
exec unshare --mount --propagation private sh -c '
set -e
mount -t proc proc "\$0/proc"
mount --rbind /dev "\$0/dev"
cd "\$0"
exec chroot "\$0" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
    TERM=\${TERM:-xterm} LANG=C.UTF-8 XDG_RUNTIME_DIR=/tmp/x SHELL=/bin/sh "\$@"
' "$R" "\$@"
EOS
chmod 0755 "$H/bin/in-root"

# ---- new prints how to get it, with the hash of what the relay has --------
harness_ssh_key support alice -- new --case CS-7 >"$H/new.out" 2>&1 ||
    harness_fail "new: $(cat "$H/new.out")"
ID=$(sed -n 's/^session  *//p' "$H/new.out")
(umask 077 && sed -n 's/^token  *\([^ ]*\).*/\1/p' "$H/new.out" \
    >"$R/opt/tunl/answer.token")
[ -n "$ID" ] && [ -s "$R/opt/tunl/answer.token" ] ||
    harness_fail "no session made: $(cat "$H/new.out")"
printf '%s\n' "$ID" >"$R/opt/tunl/answer.id"
WANT=$(sha256sum "$top_builddir/tunl-share-static" | cut -d' ' -f1)
PINLINE=$(sed -n "s/^    \(echo '.*' > tunl-relay.known\)$/\1/p" "$H/new.out")
GET=$(sed -n 's/^    \(ssh .* get tunl-share > tunl-share\)$/\1/p' "$H/new.out")
CHECK=$(sed -n 's/^    \(echo .* sha256sum -c .*\)$/\1/p' "$H/new.out")
harness_assert_eq "echo '[127.0.0.1]:$HARNESS_PORT $(cut -d' ' -f1,2 "$H/etc/ssh_host_ed25519_key.pub")' > tunl-relay.known" \
    "$PINLINE" "the pin new prints"
harness_assert_eq "ssh -o UserKnownHostsFile=tunl-relay.known -o StrictHostKeyChecking=yes -p $HARNESS_PORT tunl@127.0.0.1 get tunl-share > tunl-share" \
    "$GET" "the get command new prints"
harness_assert_contains "$CHECK" "echo '$WANT  tunl-share' | sha256sum -c"
harness_assert_eq "$WANT  tunl-share" \
    "$(harness_ssh_key support alice -- get tunl-share.sha256)" \
    "get tunl-share.sha256"

# ---- the customer runs exactly those lines, in the root --------------------
# The printed lines, with only what a test needs added: the prompts
# answered by an askpass. The relay's key is the one the printed pin line
# wrote: nothing else is trusted.
SSHOPTS="-F /dev/null -o GlobalKnownHostsFile=/dev/null -o PreferredAuthentications=keyboard-interactive -o IdentityFile=none"
# ssh takes its options before the destination: put ours in front.
"$H/bin/in-root" sh -c "cd /opt/tunl && $PINLINE && SSH_ASKPASS=/opt/tunl/askpass SSH_ASKPASS_REQUIRE=force ssh $SSHOPTS ${GET#ssh } </dev/null" \
    >"$H/get.out" 2>&1 || harness_fail "get tunl-share: $(cat "$H/get.out")"
harness_assert_contains "$(cat "$H/get.out")" "tunl: sha256 $WANT"
harness_assert_eq "$WANT" "$(sha256sum "$R/opt/tunl/tunl-share" | cut -d' ' -f1)" \
    "the binary the customer got"
"$H/bin/in-root" sh -c "cd /opt/tunl && $CHECK" >"$H/check.out" 2>&1 ||
    harness_fail "the printed check failed: $(cat "$H/check.out")"
harness_assert_contains "$(cat "$H/check.out")" "tunl-share: OK"
# No tty: a program is not written to a terminal.
out=$("$H/bin/in-root" sh -c "SSH_ASKPASS=/opt/tunl/askpass SSH_ASKPASS_REQUIRE=force ssh $SSHOPTS -o UserKnownHostsFile=/opt/tunl/known_hosts -o StrictHostKeyChecking=yes -p $HARNESS_PORT tunl@127.0.0.1 get /etc/passwd" </dev/null 2>&1) &&
    harness_fail "get /etc/passwd was answered"
harness_assert_contains "$out" "get tunl-share or get tunl-share.sha256"

# ---- the binary got that way shares the root's shell -----------------------
cp "$R/opt/tunl/answer.token" "$R/opt/tunl/token"
XDG0=$XDG
rm -rf "$XDG0"
XDG=$R/tmp/x
pane cust "$H/bin/in-root /opt/tunl/tunl-share --relay 127.0.0.1:$HARNESS_PORT --known-hosts /opt/tunl/known_hosts --token-file /opt/tunl/token $ID"
# The root's tmux, not the machine's, talks to the root's tmux server.
ctmux() {
	chroot "$R" /usr/local/bin/tmux -S "${CSOCK#"$R"}" "$@"
}
cust_tmux_up() {
	CSOCK=$(cust_sock) && ctmux has-session -t tunl 2>/dev/null
}
cust_pane_has() {
	CSOCK=$(cust_sock) &&
	    ctmux capture-pane -p -t "tunl:0.$2" 2>/dev/null | grep -qF -- "$1"
}
harness_wait 120 "tunl-share to start its tmux" cust_tmux_up
ctmux send-keys -t tunl:0.0 'echo ready-$((2*21))' Enter
cust_wait_pane ready-42
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen rw "alice"
ctmux send-keys -t tunl:0.0 'echo customer-$((20+3)) $(cat /etc/debian_version)' Enter
wait_screen rw "customer-23 11."
tm send-keys -t e2e:rw 'echo engineer-$((40+2))' Enter
cust_wait_pane engineer-42

# ---- the end key ends it; nothing of the root's is left running ------------
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
wait_screen rw "session ended: the customer ended it"
harness_wait 60 "the root's tmux to end" root_empty
root_stop
tm kill-server 2>/dev/null
harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
rm -rf "$R"
harness_log "passed"
exit 0
