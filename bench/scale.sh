#!/bin/sh
# bench/scale.sh N: N idle sessions on one relay, each with one read-only
# engineer through the real sshd (issue 11). Not a test: figures only,
# each beside a baseline measured in the same run with no session.
#
#	sudo sh ../bench/scale.sh 200		# from the build directory
#
# The relay is the integration tests' (tests/integration/share-lib.sh): a
# private sshd with the shipped drop-ins and pam_tunl, tunl-shell,
# tunl-authority and a setuid tunl-broker. Per session:
#   - `new` through ssh, as an engineer would;
#   - its broker started as the customer account does (tunl-shell produce
#     runs the same setuid tunl-broker), and a test-producer as the
#     customer's side (tunl-share would add a tmux server and an ssh per
#     session: see bench/README.md);
#   - one engineer: a real `ssh -tt support@relay join ID --read-only`, so
#     the engineer's sshd, tunl-shell join and ssh client all count.
# Then, over BENCH_IDLE_SECS (10): the CPU of all our processes; the CPU
# one more `new` costs, summed over every process; every session answers
# (its broker acks a registry-changed frame, its engineer's ssh still
# runs); PSS per session; then everything stops and no event may be
# missing and no row or file may claim a live session.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
N=${1:-50}
IDLE=${BENCH_IDLE_SECS:-10}
. "$top_srcdir/tests/integration/harness.sh"
harness_init bench-scale
. "$top_srcdir/tests/integration/share-lib.sh"
MEASURE="python3 $top_srcdir/bench/scale-measure.py"
TPROD=$top_builddir/tests/helpers/test-producer
NOTIFY=$top_builddir/tests/helpers/registry-changed
[ -x "$TPROD" ] && [ -x "$NOTIFY" ] ||
    harness_fail "build the test helpers first (make check TESTS= does)"

# The relay-wide cap on engineers (256 by default) would be the first limit.
share_setup "max_consumers_total = 4096" "log_level = info"
NS=$(readlink "/proc/$HARNESS_SSHD_PID/ns/mnt")
PIDFILE=$H/client-pids
: >"$PIDFILE"
mkfifo "$H/never" && exec 8<>"$H/never" || harness_fail "fifo"
mkdir -p "$H/e"

echo "scale: N=$N on $(uname -n), $(nproc) cpus, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "limits: nofile $(ulimit -n), nproc $(awk '/Max processes/ { print $3 }' /proc/self/limits), pid_max $(cat /proc/sys/kernel/pid_max), threads-max $(cat /proc/sys/kernel/threads-max), sshd MaxStartups 10:30:100 (default; the engineers log in one at a time)"

# bench_wait SECS CMD...: until CMD succeeds, every half second; 1 if it
# never did (the bench goes on and reports it).
bench_wait() {
	_bwend=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_bwend" ] || return 1
		sleep 0.5
	done
}

new_cost() {	# one `new`, through ssh: "cpu_ms wall_ms rc"
	$MEASURE new "$NS" "$PIDFILE" -- $SSH -o IdentityFile="$H/client/alice" \
	    support@127.0.0.1 new --case BENCH-NEW
}

# ---- baseline: no session ------------------------------------------------------
base_idle=$($MEASURE cpu "$NS" "$PIDFILE" "$IDLE")
base_new=$(new_cost)
base_new2=$(new_cost)

# ---- N sessions ---------------------------------------------------------------
# In three phases, each BENCH_PAR (6) at a time, under sshd's MaxStartups
# (10 unauthenticated connections): the `new`s, the brokers and their
# producers, the engineers' joins. A step that fails is the first limit.
PAR=${BENCH_PAR:-6}
limit="none within $N sessions"
t0=$(date +%s)
mkdir -p "$H/ids"
one_new() {
	harness_ssh_key support alice -- new --case "B-$1" >"$H/ids/$1.out" 2>&1 &&
	    sed -n 's/^session  *//p' "$H/ids/$1.out" >"$H/ids/$1"
}
i=1
while [ "$i" -le "$N" ]; do
	j=0
	batch=
	while [ "$j" -lt "$PAR" ] && [ "$i" -le "$N" ]; do
		one_new "$i" &
		batch="$batch $!"
		i=$((i + 1))
		j=$((j + 1))
	done
	# These only: sshd and the syslog sink are this shell's children too.
	wait $batch
done
IDS=
made=0
i=1
while [ "$i" -le "$N" ]; do
	if [ ! -s "$H/ids/$i" ]; then
		limit="new #$i failed: $(tail -n 2 "$H/ids/$i.out" | tr '\n' ' ')"
		break
	fi
	made=$i
	i=$((i + 1))
done
echo "  $made sessions made ($(( $(date +%s) - t0 )) s)"
started=0
i=1
while [ "$i" -le "$made" ]; do
	id=$(cat "$H/ids/$i")
	if ! harness_nsenter setpriv --reuid=tunl --regid=tunl --init-groups \
	    --reset-env -- "$H/libexec/tunl-broker" -f "$RELAY_CONF" -s "$id" \
	    >"$H/broker-start.out" 2>&1; then
		limit="broker #$i did not start: $(tr '\n' ' ' <"$H/broker-start.out")"
		break
	fi
	# The key group stands in for tunl-authority admit (docs/broker.md).
	harness_nsenter setpriv --reuid=tunl --regid=tunl-auth --init-groups \
	    --reset-env -- "$TPROD" -S "/run/tunl/sessions/$id.sock" -s "$id" \
	    -n 200 -w 86400 2>>"$H/producers.err" &
	harness_track $!
	IDS="$IDS $id"
	started=$i
	i=$((i + 1))
done
echo "  $started brokers and producers up ($(( $(date +%s) - t0 )) s)"
joined() {	# how many sessions show their one engineer
	relay_sql "SELECT count(*) FROM sessions WHERE viewers = 1;"
}
i=1
for id in $IDS; do
	$SSH -tt -o IdentityFile="$H/client/bob" support@127.0.0.1 join "$id" \
	    --read-only <"$H/never" >"$H/e/$i.out" 2>&1 &
	echo $! >>"$PIDFILE"
	harness_track $!
	if [ $((i % PAR)) -eq 0 ]; then
		want=$i
		all_in() {
			[ "$(joined)" -ge "$want" ]
		}
		if ! bench_wait 300 all_in; then
			limit="engineers: only $(joined) of $want joined"
			break
		fi
	fi
	i=$((i + 1))
done
want=$started
all_in() {
	[ "$(joined)" -ge "$want" ]
}
bench_wait 300 all_in ||
    limit="engineers: only $(joined) of $started joined"
echo "sessions started: $started of $N, $(joined) with their engineer, in $(( $(date +%s) - t0 )) s; first limit reached: $limit"

idle=$($MEASURE cpu "$NS" "$PIDFILE" "$IDLE")
n_new=$(new_cost)
n_new2=$(new_cost)
pss=$($MEASURE pss "$NS" "$PIDFILE")

# Every session answers.
answered=0
for id in $IDS; do
	harness_nsenter "$NOTIFY" /run/tunl "$id" 2>/dev/null && answered=$((answered + 1))
done
alive=0
for p in $(cat "$PIDFILE"); do
	kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
done

# ---- stop everything -------------------------------------------------------------
for p in $(cat "$PIDFILE"); do
	kill -TERM "$p" 2>/dev/null
done
left_all() {
	[ "$(relay_sql "SELECT count(*) FROM events WHERE action = 'engineer-left';")" -ge "$started" ]
}
bench_wait 300 left_all ||
    echo "not every engineer-left event came within 300 s"
brokers=$(harness_pids_in_ns "$NS" | while read -r p; do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = tunl-broker ] && echo "$p"; done)
for p in $brokers; do
	kill -TERM "$p" 2>/dev/null
done
no_brokers() {
	for p in $brokers; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
bench_wait 300 no_brokers ||
    echo "some brokers still run after 300 s"
harness_nsenter "$TUNL_ADMIN" -f "$RELAY_CONF" status >"$H/status.out" 2>&1
reaper=$(grep "reaper" "$H/status.out" | head -n 1)

# No event lost: each session's life, exactly once.
lost=0
for a in engineer-joined engineer-left producer-connected \
    producer-disconnected broker-exit; do
	got=$(relay_sql "SELECT count(*) FROM events WHERE action = '$a';")
	[ "$got" -eq "$started" ] || {
		echo "events $a: $got, want $started"
		lost=$((lost + 1))
	}
done
stale=$(relay_sql "SELECT count(*) FROM sessions WHERE state IN ('active')
    OR (state = 'pending' AND case_ref LIKE 'B-%');")
files=$(ls "$H/run/tunl/sessions" | grep -c '\.\(sock\|lock\|spool\)$')

# ---- the figures ----------------------------------------------------------------
set -- $base_idle; b_ms=$1 b_pct=$2 b_n=$3 b_top=${4:--}
set -- $idle; i_ms=$1 i_pct=$2 i_n=$3 i_top=${4:--}
set -- $pss; p_broker=$1 p_prod=$2 p_eng=$3 p_other=$4 p_nb=$5
per() { [ "$started" -gt 0 ] && echo $(( $1 / started )) || echo 0; }
echo
printf '%-44s %16s %16s\n' "" "baseline (0)" "$started sessions"
printf '%-44s %16s %16s\n' "processes counted" "$b_n" "$i_n"
printf '%-44s %16s %16s\n' "idle CPU over ${IDLE}s (ms; % of a core)" \
    "$b_ms; $b_pct%" "$i_ms; $i_pct%"
printf '%-44s %16s %16s\n' "one \`new\`: CPU over all processes (ms)" \
    "$(echo "$base_new" | cut -d' ' -f1), $(echo "$base_new2" | cut -d' ' -f1)" \
    "$(echo "$n_new" | cut -d' ' -f1), $(echo "$n_new2" | cut -d' ' -f1)"
printf '%-44s %16s %16s\n' "one \`new\`: wall (ms)" \
    "$(echo "$base_new" | cut -d' ' -f2)" "$(echo "$n_new" | cut -d' ' -f2)"
f() { echo "$1" | cut -d' ' -f"$2"; }
printf '%-44s %16s %16s\n' "  of which the ssh client (ms)" "$(f "$base_new" 4)" "$(f "$n_new" 4)"
printf '%-44s %16s %16s\n' "  of which sshd, PAM, tunl-shell, authority" "$(f "$base_new" 5)" "$(f "$n_new" 5)"
printf '%-44s %16s %16s\n' "  of which all the brokers together (ms)" "$(f "$base_new" 6)" "$(f "$n_new" 6)"
# The `new` window (its wall time and half a second) also holds idle CPU.
net() {	# RESULT IDLE_MS: total minus that idle rate over its window
	echo "$1" | awk -v ims="$2" -v secs="$IDLE" '{ printf "%.0f", $1 - ims / secs * ($2 + 500) / 1000 }'
}
printf '%-44s %16s %16s\n' "one \`new\` minus idle CPU over its window" \
    "$(net "$base_new" "$b_ms")" "$(net "$n_new" "$i_ms"), $(net "$n_new2" "$i_ms")"
echo "idle CPU by program, $started sessions: $i_top"
echo
echo "PSS per session: broker $(per "$p_broker") kB, producer (test-producer) $(per "$p_prod") kB, engineer path (sshd, tunl-shell join, ssh) $(per "$p_eng") kB; the rest $p_other kB in all ($p_nb brokers counted)"
echo "sessions answering: $answered of $started brokers acked; $alive of $started engineers' ssh still running"
echo "after stopping: events missing: $lost kinds; rows still active: $stale; session files left: $files; $reaper"

exec 8>&-
tm kill-server 2>/dev/null
harness_stop
