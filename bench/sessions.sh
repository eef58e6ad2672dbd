#!/bin/sh
# How many concurrent sessions one relay holds before anything degrades
# (SPEC.md, "Performance"; bench/README.md). Not a test: figures only.
#
#	sudo sh ../bench/sessions.sh	# from the build directory
#
# In a private mount namespace prepared as the broker tests are (the
# harness's accounts, tunl-admin init), it starts idle sessions in steps
# (BENCH_SESSIONS, default "1 25 50 100 200"): for each, a real
# tunl-broker with a test producer connected and nobody watching, which is
# what a session costs the relay between an engineer's visits. At each step
# it measures, on one more session driven by bench/broker-bench (idle mode):
# a keystroke's round trip through the broker (median, p99) beside a plain
# socket pair in the same moment; then the memory of all the idle brokers
# (VmRSS summed, PSS summed: shared library pages divided among them), the
# CPU the idle brokers used over BENCH_IDLE_SECS (5) seconds, and how long
# the last broker took to start. It stops early when a broker cannot start
# (the relay is out of something) and says which step degraded first: a
# keystroke median above twice the best of the earlier steps' (the first
# step alone is noisy), or idle CPU above 5% of one core. Knobs: BENCH_SESSIONS, BENCH_IDLE_SECS, BENCH_ROUNDS (1000).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
STEPS=${BENCH_SESSIONS:-1 25 50 100 200}
IDLE=${BENCH_IDLE_SECS:-5}
ROUNDS=${BENCH_ROUNDS:-1000}
. "$top_srcdir/tests/integration/harness.sh"

harness_init bench-sessions
command -v setpriv >/dev/null 2>&1 || harness_skip "needs setpriv"
. "$top_srcdir/tests/integration/relay.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
DRIVER=$top_builddir/bench/broker-bench
[ -x "$DRIVER" ] || harness_fail "build bench/broker-bench first (make bench does)"
HANDOFF=$top_builddir/tests/helpers/handoff-tool
[ -x "$HANDOFF" ] || harness_fail "build tests/helpers/handoff-tool first (make bench does)"

# Short grace and TTL are not wanted: sessions must stay up while idle.
broker_setup "log_level = info" "max_consumers = 8"

ticks() {	# utime + stime of a pid, in clock ticks
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
kb() {		# FIELD FILE: a "Name:   N kB" line's number
	awk -v k="$1:" '$1 == k { print $2; exit }' "$2" 2>/dev/null
}
now_ms() {
	date +%s%3N
}

PIDS=
n=0
best_median=
degraded=
CLK=$(getconf CLK_TCK)
echo "sessions: on $(uname -n), $(nproc) cpus, $(uname -r)"
printf '%8s %12s %12s %10s %12s %12s %10s %12s\n' sessions "rtt median" \
    "(pair)" "rtt p99" "VmRSS sum" "PSS sum" "PSS/sess" "idle CPU"
for target in $STEPS; do
	start_ms=0
	while [ "$n" -lt "$target" ]; do
		S=$("$HANDOFF" id) || harness_fail "an id"
		broker_session "$S"
		start_ms=$(now_ms)
		if ! (broker_start "$S") >"$H/start.err" 2>&1; then
			echo "broker $((n + 1)) did not start: $(tail -n 3 "$H/start.err")"
			degraded="${degraded:+$degraded; }a broker could not start at $((n + 1)) sessions"
			break 2
		fi
		# broker_start ran in a subshell: its pid is in the harness's list.
		BPID=$(tail -n 1 "$H/pids" | cut -d' ' -f1)
		start_ms=$(( $(now_ms) - start_ms ))
		producer tunl "$S" -n 64
		PIDS="$PIDS $BPID"
		n=$((n + 1))
	done
	sleep 1
	# Idle CPU of every broker over IDLE seconds.
	t0=0
	for p in $PIDS; do
		t=$(ticks "$p")
		t0=$((t0 + ${t:-0}))
	done
	sleep "$IDLE"
	t1=0 rss=0 pss=0
	for p in $PIDS; do
		t=$(ticks "$p")
		r=$(kb VmRSS "/proc/$p/status")
		q=$(kb Pss "/proc/$p/smaps_rollup")
		t1=$((t1 + ${t:-0}))
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${q:-0}))
	done
	cpu_pct=$(awk -v d=$((t1 - t0)) -v hz="$CLK" -v s="$IDLE" \
	    'BEGIN { printf "%.2f", 100 * d / hz / s }')
	# One more session, measured.
	M=$("$HANDOFF" id) || harness_fail "an id"
	broker_session "$M"
	broker_start "$M"
	relay_in_ns "$DRIVER" idle -r "$ROUNDS" -S "$(sock_of "$M")" -s "$M" \
	    -b "$BPID" -P tunl -C support >"$H/idle.out" 2>>"$H/driver.err" ||
	    { cat "$H/driver.err" >&2; harness_fail "broker-bench idle failed"; }
	kill "$BPID" 2>/dev/null
	wait_gone "$BPID" || { kill -9 "$BPID" 2>/dev/null; wait_gone "$BPID"; }
	set -- $(awk '$1 == "latency" { for (i = 2; i <= NF; i++) {
		split($i, a, "="); v[a[1]] = a[2] }
		print v["broker_median_us"], v["pair_median_us"], v["broker_p99_us"] }' \
	    "$H/idle.out")
	[ $# -eq 3 ] || harness_fail "no latency line: $(cat "$H/idle.out")"
	printf '%8d %9s us %9s us %7s us %9s KiB %9s KiB %6s KiB %9s%% (start %s ms)\n' \
	    "$n" "$1" "$2" "$3" "$rss" "$pss" $((pss / n)) "$cpu_pct" "$start_ms"
	if [ -z "$degraded" ] && [ -n "$best_median" ] &&
	    [ "$1" -gt $((2 * best_median)) ]; then
		degraded="keystroke median above twice the best earlier step's at $n sessions"
	fi
	[ -n "$best_median" ] && [ "$best_median" -le "$1" ] || best_median=$1
	if [ -z "$degraded" ] && awk -v c="$cpu_pct" 'BEGIN { exit !(c > 5) }'; then
		degraded="idle brokers above 5% of one core at $n sessions"
	fi
done
echo
if [ -n "$degraded" ]; then
	echo "held $n idle sessions; first to degrade: $degraded"
else
	echo "held $n idle sessions with nothing degraded (raise BENCH_SESSIONS to find the limit)"
fi

harness_stop
exit 0
