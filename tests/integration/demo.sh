#!/bin/sh
# tools/demo against this build: `tools/demo --no-deps --no-build start`
# in a demo directory of the test's own, then the commands it printed,
# each run as printed in a pane of a private tmux: the read-only join sees
# the customer's prompt and what the customer's shell prints, the
# read-write join's typing runs in the customer's shell, the read-only
# join's and the watcher's never do; `status` says what runs; `stop`
# leaves no process, no mount and no tree, and the machine's /etc and
# login records are as they were.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: demo: needs root (the demo runs a private sshd)"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: demo: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
. "$top_srcdir/tests/integration/harness.sh"
harness_init demo-test
for c in sqlite3 findmnt; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
. "$top_srcdir/tests/integration/demo-lib.sh"
demo_lib_init tunl-demo-test

# ---- start ---------------------------------------------------------------------
demo_start
cat "$H/start.out" >&2
harness_assert_eq "$CUSTOMER -r" "$WATCH" "the watch command"
# The token was fed through a file, and that file is gone.
H_DEMO=$(sed -n 's/^H=//p' "$D/state")
[ -n "$H_DEMO" ] && [ -d "$H_DEMO" ] || harness_fail "no demo tree in $D"
[ -e "$H_DEMO/client/token" ] && harness_fail "the token file was left"
[ -e "$H_DEMO/client/new.out" ] && harness_fail "new's output was left"
demo status --dir "$D" >"$H/status.out" 2>&1 ||
    harness_fail "status: $(cat "$H/status.out")"
harness_assert_contains "$(cat "$H/status.out")" "running:"
harness_assert_contains "$(cat "$H/status.out")" "tunl-share"

# ---- the printed commands, each in a pane -------------------------------------
pane ro "$JOIN_RO"
wait_in ro "read-only"
pane rw "$JOIN_RW"
wait_in rw "read-write"
pane cust "$CUSTOMER"
wait_in cust "Session id, read it aloud"
pane watch "$WATCH"
wait_in watch "Session id, read it aloud"
# The customer's shell is ready for typing once it shows its prompt.
prompt_shown() {
	customer | grep -v '^$' | tail -n 1 | grep -Eq '[#$] ?$'
}
harness_wait 60 "the customer's prompt" prompt_shown
# The customer types (through its own tmux, as a keyboard would).
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo demo-$((6*7))' Enter
wait_in ro demo-42
# The read-only engineer sees the customer's prompt after the output.
ro_prompt() {
	screen ro | grep -A1 -F 'demo-42' | tail -n 1 | grep -Eq '[#$] ?$'
}
harness_wait 60 "the prompt after the output in the read-only join" ro_prompt
wait_in watch demo-42
# The read-write engineer types; it runs in the customer's shell.
tm send-keys -t t:rw -l 'echo engineer-$((50+5))'
tm send-keys -t t:rw Enter
wait_in customer engineer-55
wait_in ro engineer-55
# Neither the read-only engineer nor the watcher gets a byte in. Both
# then leave, through the same input as their typing; once the broker has
# seen bob's join go (the read-write join's viewer list loses him) it has
# handled all bob sent before, and a tmux client that has detached has
# been read to the end. A line the read-write engineer types after that
# reaches the customer after anything they could have let through.
tm send-keys -t t:ro -l 'echo ro-$((1+2))'
tm send-keys -t t:ro Enter
tm send-keys -t t:ro 'C-]' d
tm send-keys -t t:watch -l 'echo watch-$((2+2))'
tm send-keys -t t:watch Enter
tm send-keys -t t:watch C-b d
wait_in ro "exit="
wait_in watch "exit="
bob_gone() {
	screen rw | grep -q 'watching: alice |' &&
	    ! screen rw | grep -q 'bob (ro)'
}
harness_wait 60 "bob to leave the read-write join's viewer list" bob_gone
tm send-keys -t t:rw -l 'echo after-$((3+4))'
tm send-keys -t t:rw Enter
wait_in customer after-7
customer | grep -q 'ro-3\|watch-4' &&
    harness_fail "the read-only engineer or the watcher typed into the customer's shell"

# ---- stop ----------------------------------------------------------------------
# Everything the demo recorded, and everything in the relay's namespace.
NS=$(sed -n 's/^NS=//p' "$D/state")
# Hold the relay's namespace until it has been checked: once freed, its id
# can be given to a namespace of a test running beside this one (which may
# run a demo too), whose processes would be taken for the demo's.
HOLDER=$(sed -n 's/^HOLDER=//p' "$D/state")
exec 8<"/proc/$HOLDER/ns/mnt" || harness_fail "cannot hold the relay's namespace"
[ "$(readlink "/proc/$$/fd/8")" = "$NS" ] ||
    harness_fail "the demo's holder $HOLDER is not in the relay's namespace"
PIDS=$(cat "$D/procs" "$H_DEMO/pids" 2>/dev/null | awk '{ print $1 ":" $2 }')
tm kill-server 2>/dev/null
demo stop --dir "$D" >"$H/stop.out" 2>&1 ||
    harness_fail "stop: $(cat "$H/stop.out")"
harness_assert_contains "$(cat "$H/stop.out")" "stopped"
for p in $PIDS; do
	[ "$(_harness_proc_start "${p%:*}")" = "${p#*:}" ] &&
	    harness_fail "pid ${p%:*} still runs: $(tr '\0' ' ' <"/proc/${p%:*}/cmdline")"
done
# A process the stop killed may still be finishing a system call that
# sleeps uninterruptibly (a file sync on a busy disk): up to 30 s for
# that, then name whatever is left.
ns_left() {
	harness_pids_in_ns "$NS"
}
i=$(( $(date +%s) + 30 ))
while [ -n "$(ns_left)" ] && [ "$(date +%s)" -lt $i ]; do
	sleep 0.05
done
for p in $(ns_left); do
	harness_fail "pid $p still runs in the relay's namespace: $(tr '\0' ' ' \
	    <"/proc/$p/cmdline" 2>/dev/null) ($(awk '/^State:/ { print $2, $3 }' \
	    "/proc/$p/status" 2>/dev/null)); stop said: $(cat "$H/stop.out")"
done
exec 8<&-
[ -e "$D" ] && harness_fail "the demo directory $D is left"
findmnt -rn -o TARGET | grep -qF "$D" && harness_fail "a mount under $D is left"
[ -S "$CSOCK" ] && harness_fail "the customer's tmux socket is left"
demo status --dir "$D" >/dev/null 2>&1 && harness_fail "status after stop"

harness_stop
harness_assert_eq "" "$(harness_leftovers)" "processes left"
harness_host_unchanged
harness_log "passed"
exit 0
