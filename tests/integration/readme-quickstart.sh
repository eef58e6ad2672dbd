#!/bin/sh
# The README's operator quick start from source, run line by line as the
# README says it (the lines between its quickstart-source markers), as root
# in a throwaway root: a mount namespace where /etc, /usr and /var are
# overlays whose changes go to a tmpfs, /run is a tmpfs, and the source is
# a copy of this tree without its build directories. Only two commands are
# stood in for, by scripts first on PATH: apt-get (no network in tests: it
# checks that every package the README names is installed) and systemctl
# (no service manager in the namespace: "reload ssh" starts or reloads a
# private sshd with the machine's sshd_config as the quick start left it,
# on 127.0.0.1 only). The quick start must end with `tunl-admin doctor`
# healthy; then the engineer the README adds creates a session and a
# customer logs in to it with the token, through that sshd and the PAM
# stack `tunl-admin enable` wired. Nothing is written to the machine.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init readme-quickstart
for c in tar dpkg-query ssh-keygen; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
grep -qw overlay /proc/filesystems 2>/dev/null ||
    harness_skip "the kernel has no overlay file system"
[ -f /etc/ssh/ssh_host_ed25519_key.pub ] ||
    harness_skip "the machine has no sshd ed25519 host key (the quick start uses sshd's own)"
for a in tunl support tunl-broker tunlauth; do
	getent passwd "$a" >/dev/null 2>&1 &&
	    harness_skip "the machine already has an account $a"
done

# The README's lines, exactly, without their indentation.
awk '/<!-- quickstart-source -->/ { on = 1; next }
    /<!-- \/quickstart-source -->/ { on = 0 }
    on && /^    / { print substr($0, 5) }' "$top_srcdir/README.md" \
    >"$H/quickstart.lines"
[ -s "$H/quickstart.lines" ] || harness_fail "no quickstart-source lines in README.md"
grep -q '^autoreconf -fi$' "$H/quickstart.lines" ||
    harness_fail "the quick start does not start the build with autoreconf -fi"
harness_log "quick start: $(tr '\n' ';' <"$H/quickstart.lines")"

# A clean copy of the source tree (no build directories, no configure).
# A build directory inside the source tree (an in-tree build, or make
# distcheck's _build/sub) holds this test's own tree: it is never copied,
# or the copy would take itself in.
src_abs=$(cd "$top_srcdir" && pwd -P)
build_abs=$(cd "$top_builddir" && pwd -P)
inner=./build
case $build_abs in
"$src_abs"/*)
	rel=${build_abs#"$src_abs"/}
	inner=./${rel%%/*} ;;
esac
mkdir "$H/src" && (cd "$top_srcdir" && tar -cf - --exclude='./build*' \
    --exclude='./_build' --exclude='./_inst' --exclude="$inner" \
    --exclude='./.git' --exclude=./configure --exclude='./autom4te.cache' \
    --exclude='./tests/integration/*.*.??????' .) | (cd "$H/src" && tar -xf -) ||
    harness_fail "cannot copy the source tree"
[ -e "$H/src/configure" ] && harness_fail "the copy has a configure"
harness_keygen alice
cp "$H/client/alice.pub" "$H/src/alice.pub"

_harness_pick_port
PIDFILE=$H/sshd-readme.pid
mkdir -p "$H/stub"
cat >"$H/stub/apt-get" <<'EOF'
#!/bin/sh
# Stands in for apt-get in the quick-start test: every package named must
# be installed already (the test has no network).
missing=
for p; do
	case $p in -*|install) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] || { echo "apt-get stand-in: not installed:$missing" >&2; exit 1; }
EOF
cat >"$H/stub/systemctl" <<EOF
#!/bin/sh
# Stands in for systemctl in the quick-start test: "reload ssh" (re)starts
# a private sshd on 127.0.0.1:$HARNESS_PORT with the namespace's config.
[ "\$*" = "reload ssh" ] || { echo "systemctl stand-in: only 'reload ssh'" >&2; exit 1; }
if [ -s "$PIDFILE" ] && kill -0 "\$(cat "$PIDFILE")" 2>/dev/null; then
	kill -HUP "\$(cat "$PIDFILE")"
	exit 0
fi
mkdir -p -m 0755 /run/sshd
/usr/sbin/sshd -t || exit 1
exec /usr/sbin/sshd -o Port=$HARNESS_PORT -o ListenAddress=127.0.0.1 \
    -o PidFile=$PIDFILE -E $H/sshd-readme.log
EOF
chmod 0755 "$H/stub/apt-get" "$H/stub/systemctl"

# The throwaway root, then the README's lines with sh -e, in the copy.
# The test's own tree may lie under one of the overlaid directories (the
# harness puts it in /var/lib when the build directory is private): it is
# held open before the overlays and bound back over its own path after
# them, and the shell goes back into it, so the build, the sshd's pid file
# and its log are in the real tree, not in the throwaway layer.
NS='
set -e
h=$1
shift
exec 9<"$h"
mount -t tmpfs -o mode=0755 tunl-ov "$h/ov"
for d in etc usr var; do
	mkdir -p "$h/ov/$d/up" "$h/ov/$d/work"
	mount -t overlay overlay \
	    -o "lowerdir=/$d,upperdir=$h/ov/$d/up,workdir=$h/ov/$d/work" "/$d"
done
mount --no-canonicalize --bind /proc/self/fd/9 "$h"
exec 9<&-
cd "$h/src"
mount -t tmpfs -o mode=0755 tunl-run /run
# What a machine running sshd has (systemd makes it for ssh.service).
mkdir -m 0755 /run/sshd
exec "$@"
'
mkdir -p "$H/ov"
(cd "$H/src" && PATH="$H/stub:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" timeout -k 10 3000 \
    unshare --mount --propagation private sh -c "$NS" sh "$H" \
    sh -ex "$H/quickstart.lines") >"$H/quickstart.log" 2>&1
rc=$?
[ -s "$PIDFILE" ] && harness_track "$(cat "$PIDFILE")"
[ "$rc" = 0 ] || harness_fail "the quick start failed ($rc): $(tail -40 "$H/quickstart.log")"
harness_assert_contains "$(tail -3 "$H/quickstart.log")" "tunl-admin doctor: healthy"
[ -s "$PIDFILE" ] || harness_fail "no sshd after systemctl reload ssh"

# The engineer the README added creates a session; a customer logs in with
# its token through the PAM stack enable wired.
printf '[127.0.0.1]:%s %s\n' "$HARNESS_PORT" \
    "$(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" >"$H/client/known_hosts"
harness_wait 30 "the quick start's sshd" sh -c "ss -Hltn 'sport = :$HARNESS_PORT' | grep -q ."
out=$(harness_ssh_key support alice new --case readme 2>&1) ||
    harness_fail "the README's engineer cannot create a session: $out"
ID=$(echo "$out" | sed -n 's/^session  *\([a-z-]*\)$/\1/p' | head -1)
TOKEN=$(echo "$out" | sed -n 's/^token  *\([0-9]*\).*$/\1/p' | head -1)
[ -n "$ID" ] && [ -n "$TOKEN" ] || harness_fail "no id and token in: $out"
cat >"$H/bin/askpass" <<'EOF'
#!/bin/sh
# Answer pam_tunl's prompts by their text: the session id, then the token.
printf '%s\n' "$1" >>"$HARNESS_ASKPASS_DIR/askpass.prompts"
case $1 in
*oken*) cat "$HARNESS_ASKPASS_DIR/answer.token" ;;
*) cat "$HARNESS_ASKPASS_DIR/answer.id" ;;
esac
EOF
chmod 0755 "$H/bin/askpass"
(umask 077 && echo "$ID" >"$H/client/answer.id" && echo "$TOKEN" >"$H/client/answer.token")
out=$(harness_ssh_kbd tunl unused status </dev/null 2>&1) ||
    harness_fail "the customer's login: $out (prompts: $(cat "$H/client/askpass.prompts"))"
harness_assert_contains "$out" "$ID"
kill "$(cat "$PIDFILE")" 2>/dev/null
harness_host_unchanged
exit 0
