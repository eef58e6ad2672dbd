#!/bin/sh
# A snapshot and the output after it arrive in order: an engineer whose
# screen is redrawn while the customer's program prints misses none of
# what was printed (issue 13: the capture is saved by tmux in a wait
# during which the pane's output goes on; that output must follow the
# snapshot, not go before it).
#
# The customer's shell runs rounds; each round enters and leaves the
# alternate screen (so the engineer's join asks for a redraw, as after
# vim), clears the screen and prints 1500 digits, one write each, so the
# redraw is taken while it prints. Each digit has a cell of its own: one
# that reached the relay before the snapshot (and so was dropped for the
# engineer waiting for it) but is not in it stays blank on the engineer's
# screen. After each round the engineer's rendered screen must be the
# customer's pane (share-lib.sh same_screen). A round waits for the
# test's go, so the screens are compared at rest.
#
# Waits are for a condition (the screens agreeing), never for a duration.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: snap-order: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
. "$top_srcdir/tests/integration/harness.sh"
harness_init snap-order
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_built
share_need_pyte
share_setup

order_debug() {
	echo "---- ${_step:-?}: engineer $_name against the customer ----" >&2
	cat "$H/diff-$_name.txt" >&2 2>/dev/null
	share_debug
}
HARNESS_WAIT_DEBUG=order_debug

ROUNDS=12
cat >"$XDG/rounds.sh" <<'SCRIPT'
# rounds.sh DIR N: N rounds, each after DIR/go-I appears.
i=0
while [ "$i" -lt "$2" ]; do
	i=$((i + 1))
	while [ ! -e "$1/go-$i" ]; do sleep 0.05; done
	printf '\033[?1049h\033[Halternate %d\033[?1049l\033[H\033[2J' "$i"
	j=0
	while [ "$j" -lt 1500 ]; do
		j=$((j + 1))
		printf '%d' $((j % 10))
	done
	printf '\n'
	printf 'round-%d-done\n' "$i"
done
SCRIPT
chmod 0755 "$XDG" && chmod 0644 "$XDG/rounds.sh"

share_start
pane eng "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen eng "watching: alice"
wait_same eng "joined"
cust send-keys -t tunl:0.0 -l "sh $XDG/rounds.sh $XDG $ROUNDS"
cust send-keys -t tunl:0.0 Enter
n=0
while [ "$n" -lt "$ROUNDS" ]; do
	n=$((n + 1))
	: >"$XDG/go-$n"
	chmod 0644 "$XDG/go-$n"
	cust_wait_pane "round-$n-done"
	wait_same eng "round $n"
done
share_finish
