#!/bin/sh
# A keystroke's round trip through the whole path, as an engineer feels
# it (SPEC.md, "Performance"; bench/README.md). Not a test: figures only.
#
#	sudo sh ../bench/keystroke.sh	# from the build directory
#
# A private relay as the share tests make it (real sshd, pam_tunl,
# tunl-shell, tunl-broker), a customer running tunl-share, and in the
# customer's pane bench/keystroke-echo.py, which answers each byte it
# reads with a numbered line. bench/keystroke-rtt.py then types one key
# at a time through `ssh -tt support@relay join ID` (engineer's ssh ->
# sshd -> join -> broker -> customer's ssh -> tunl-share -> tmux -> the
# pane, and the echo all the way back) and prints the median and p99.
# Beside it, in the same run: the same echo program through a plain
# `ssh -tt` to a shell on the same sshd (the floor any relay over ssh
# pays). With BENCH_OLD_SHARE=/path/to/an/older/tunl-share the figure is
# measured for that build too (e.g. one that spawned a tmux process per
# key). Knobs: BENCH_ROUNDS (300).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
ROUNDS=${BENCH_ROUNDS:-300}
OLD=${BENCH_OLD_SHARE:-}
. "$top_srcdir/tests/integration/harness.sh"
harness_init bench-keystroke
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
# tunlauth (the principals command's account) has a shell and no
# ForceCommand: the plain-ssh baseline logs in as it.
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup
harness_keygen plain
harness_authorize tunlauth plain
RTT="python3 $top_srcdir/bench/keystroke-rtt.py $ROUNDS"
ECHO="python3 $top_srcdir/bench/keystroke-echo.py"

echo "keystroke round trip on $(uname -n), $(nproc) cpus, $ROUNDS keys each"
# share NAME BINARY: a customer running BINARY in pane NAME, the echo
# program in its shell pane; then one engineer's round trips.
run_share() {
	new
	pane "$1" "$SHARE_ENV $2 --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
	cust_wait_ready "$3"
	tmux -S "$CSOCK" send-keys -t tunl:0.0 "exec $ECHO" Enter
	cust_wait_pane echo-ready
	$RTT "$4" -- $SSH -e none -tt -o IdentityFile="$H/client/alice" \
	    support@127.0.0.1 join "$ID" || harness_fail "$4: no figure"
	# The echo program exits at Ctrl-D, then the shell: tunl-share ends.
	tmux -S "$CSOCK" send-keys -t tunl:0.0 C-d
	wait_screen "$1" "exit="
}
$RTT "plain ssh -tt, same sshd" -- $SSH -e none -tt \
    -o IdentityFile="$H/client/plain" tunlauth@127.0.0.1 $ECHO ||
    harness_fail "plain ssh: no figure"
run_share new "$SHARE" 1 "tunl join (this build)"
if [ -n "$OLD" ]; then
	run_share old "$OLD" 2 "tunl join (BENCH_OLD_SHARE)"
fi
$RTT "plain ssh -tt again" -- $SSH -e none -tt \
    -o IdentityFile="$H/client/plain" tunlauth@127.0.0.1 $ECHO ||
    harness_fail "plain ssh: no figure"
exit 0
