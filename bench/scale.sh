#!/bin/sh
# bench/scale.sh N...: idle sessions on one relay, each with one read-only
# engineer through the real sshd (issue 11). Not a test: figures only,
# at each N (ascending; sessions are added, never restarted) beside a
# baseline measured in the same run with no session.
#
#	sudo sh ../bench/scale.sh 50 200 500 1000	# from the build directory
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
# Then, at each N, over BENCH_IDLE_SECS (10): the CPU of all our processes
# and the brokers' wakeups; the CPU one more `new` and one `list` cost,
# summed over every process; `list` shows every session; every session answers
# (its broker acks a registry-changed frame, its engineer's ssh still
# runs); PSS per session; then everything stops and no event may be
# missing and no row or file may claim a live session.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
[ $# -gt 0 ] || set -- 50
STEPS=$*
for N; do :; done	# the last, the most
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
# While $H/verb-cpu.on exists (only around a measured `new` or `list`),
# sshd's ForceCommand runs tunl-shell under bench/verb-cpu.py, which logs
# the CPU of tunl-shell and the tunl-authority it ran: the part of a
# `new` that is tunl's own, apart from sshd's and PAM's.
install -m 0755 "$top_srcdir/bench/verb-cpu.py" "$H/libexec/verb-cpu.py" ||
    harness_fail "cannot install verb-cpu.py"
: >"$H/verb-cpu.log" && chmod 0666 "$H/verb-cpu.log" ||
    harness_fail "cannot make verb-cpu.log"
_shellcmd=$(sed -n 's/^exec //p' "$H/libexec/tunl-shell")
printf '#!/bin/sh\nif [ -e %s ]; then\n\texec python3 %s %s %s\nfi\nexec %s\n' \
    "$H/verb-cpu.on" "$H/libexec/verb-cpu.py" "$H/verb-cpu.log" "$_shellcmd" \
    "$_shellcmd" >"$H/libexec/tunl-shell"
NS=$(readlink "/proc/$HARNESS_SSHD_PID/ns/mnt")
PIDFILE=$H/client-pids
: >"$PIDFILE"
mkfifo "$H/never" && exec 8<>"$H/never" || harness_fail "fifo"
mkdir -p "$H/e"

echo "scale: N = $STEPS on $(uname -n), $(nproc) cpus, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
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

# verb_cpu CMD...: CMD's output, then the CPU ms tunl-shell and its
# tunl-authority took during it (verb-cpu.py's log), or "?".
verb_cpu() {
	: >"$H/verb-cpu.log"
	: >"$H/verb-cpu.on"
	"$@"
	rm -f "$H/verb-cpu.on"
	awk '{ s += $2; n++ } END { if (n) printf " %.1f\n", s; else print " ?" }' \
	    "$H/verb-cpu.log"
}
new_cost() {	# one `new`, through ssh: "cpu_ms wall_ms rc ... shell_ms"
	verb_cpu $MEASURE new "$NS" "$PIDFILE" -- $SSH \
	    -o IdentityFile="$H/client/alice" support@127.0.0.1 \
	    new --case BENCH-NEW | tr -d '\n'
	echo
}

# ---- baseline: no session ------------------------------------------------------
list_cost() {	# one `list --json`, through ssh: "cpu_ms wall_ms rc ..."
	$MEASURE new "$NS" "$PIDFILE" -- $SSH -o IdentityFile="$H/client/alice" \
	    support@127.0.0.1 list --json
}
# How many of the bench's sessions `list` shows active.
list_active() {
	$SSH -o IdentityFile="$H/client/alice" support@127.0.0.1 list --json \
	    2>/dev/null | python3 -c '
import json, sys
print(sum(1 for s in json.load(sys.stdin)
          if s["state"] == "active" and s["case"].startswith("B-")))' 2>/dev/null ||
	    echo "?"
}
# Columns of the figures' table, one file per step.
mkdir -p "$H/fig"
fig() {	# STEP NAME VALUE
	printf '%s\n' "$3" >"$H/fig/$1.$2"
}
field() { echo "$1" | cut -d' ' -f"$2"; }
# The `new` window (its wall time and half a second) also holds idle CPU.
net() {	# RESULT IDLE_MS: total minus that idle rate over its window
	echo "$1" | awk -v ims="$2" -v secs="$IDLE" '{ printf "%.0f", $1 - ims / secs * ($2 + 500) / 1000 }'
}
# measure STEP SESSIONS: every figure at this step.
measure() {
	_idle=$($MEASURE cpu "$NS" "$PIDFILE" "$IDLE")
	_n1=$(new_cost)
	_n2=$(new_cost)
	_l1=$(list_cost)
	_pss=$($MEASURE pss "$NS" "$PIDFILE")
	_ims=$(field "$_idle" 1)
	fig "$1" procs "$(field "$_idle" 3)"
	fig "$1" idle "$_ims ms; $(field "$_idle" 2)%"
	_nb=$(field "$_idle" 6)
	fig "$1" wakes "$(echo "$_idle" | awk '{ if ($6 > 0) printf "%.2f", $5 / $6; else print "-" }')"
	fig "$1" new "$(field "$_n1" 1), $(field "$_n2" 1)"
	fig "$1" newnet "$(net "$_n1" "$_ims"), $(net "$_n2" "$_ims")"
	fig "$1" newwall "$(field "$_n1" 2)"
	fig "$1" newclient "$(field "$_n1" 4)"
	fig "$1" newrelay "$(field "$_n1" 5)"
	fig "$1" newshell "$(field "$_n1" 7), $(field "$_n2" 7)"
	fig "$1" newbrokers "$(field "$_n1" 6), $(field "$_n2" 6)"
	fig "$1" list "$(field "$_l1" 1)"
	fig "$1" listnet "$(net "$_l1" "$_ims")"
	fig "$1" listwall "$(field "$_l1" 2)"
	fig "$1" top "$(field "$_idle" 4)"
	if [ "$2" -gt 0 ]; then
		fig "$1" listed "$(list_active) of $2"
		fig "$1" joined "$(joined) of $2"
		set -- "$1" "$2" $_pss
		fig "$1" pssb "$(( $3 / $2 ))"
		fig "$1" pssp "$(( $4 / $2 ))"
		fig "$1" psse "$(( $5 / $2 ))"
		fig "$1" psso "$6"
	else
		fig "$1" listed "-"
		fig "$1" joined "-"
		fig "$1" pssb "-"
		fig "$1" pssp "-"
		fig "$1" psse "-"
		fig "$1" psso "$(field "$_pss" 4)"
	fi
	echo "  measured at $2 sessions"
}
# bench_sql SQL: relay_sql as the database's owner (tunl-broker,
# tunl-auth, umask 007). Run as root, the sqlite3 tool makes the -wal and
# -shm files root's whenever it finds them gone (it removes them when it
# closes last), and until it closes no broker's registry call can open the
# database ("unable to open database file"): the bench polls it every
# half second, so that alone lost viewer counts.
bench_sql() {
	(umask 007 && setpriv --reuid="$HARNESS_UID_BROKER" \
	    --regid="$HARNESS_GID_TUNL_AUTH" --clear-groups -- \
	    sqlite3 -batch -bail -cmd '.timeout 5000' "$RELAY_DB" "$1")
}
joined() {	# how many sessions show their one engineer
	bench_sql "SELECT count(*) FROM sessions WHERE viewers = 1;"
}
measure 0 0

# ---- N sessions ---------------------------------------------------------------
# Up to each step, in three phases, each BENCH_PAR (6) at a time, under
# sshd's MaxStartups (10 unauthenticated connections): the `new`s, the
# brokers and their producers, the engineers' joins. A step that fails is
# the first limit, and no more are added.
PAR=${BENCH_PAR:-6}
limit="none within $N sessions"
t0=$(date +%s)
mkdir -p "$H/ids"
one_new() {
	harness_ssh_key support alice -- new --case "B-$1" >"$H/ids/$1.out" 2>&1 &&
	    sed -n 's/^session  *//p' "$H/ids/$1.out" >"$H/ids/$1"
}
# engineers_alive: every engineer's ssh started so far still runs.
# engineers_dead: which did not, each with its exit status (wait gives
# it: they are this shell's children), the load, its ssh log's last lines
# and the relay's log lines for its session.
: >"$H/e/pids"
engineers_alive() {
	while read -r _ep _ei _eid; do
		kill -0 "$_ep" 2>/dev/null || return 1
	done <"$H/e/pids"
	return 0
}
engineers_dead() {
	while read -r _ep _ei _eid; do
		kill -0 "$_ep" 2>/dev/null && continue
		wait "$_ep"
		printf 'engineer %s (session %s): ssh exit status %s at load %s; ' \
		    "$_ei" "$_eid" "$?" "$(cut -d' ' -f1 /proc/loadavg)"
		printf 'ssh: %s; ' "$(tail -n 3 "$H/e/$_ei.log" "$H/e/$_ei.out" 2>/dev/null | tr '\n' ' ')"
		printf 'relay: %s\n' "$(grep -F "$_eid" "$H/syslog.log" 2>/dev/null | tail -n 4 | tr '\n' ' ')"
	done <"$H/e/pids"
}
IDS=
made=0
started=0
done_steps=
for step in $STEPS; do
	[ "$step" -gt "$started" ] || continue
	first=$((started + 1))
	i=$first
	while [ "$i" -le "$step" ]; do
		j=0
		batch=
		while [ "$j" -lt "$PAR" ] && [ "$i" -le "$step" ]; do
			one_new "$i" &
			batch="$batch $!"
			i=$((i + 1))
			j=$((j + 1))
		done
		# These only: sshd and the syslog sink are this shell's children too.
		wait $batch
	done
	i=$first
	while [ "$i" -le "$step" ]; do
		if [ ! -s "$H/ids/$i" ]; then
			limit="new #$i failed: $(tail -n 2 "$H/ids/$i.out" | tr '\n' ' ')"
			break
		fi
		made=$i
		i=$((i + 1))
	done
	echo "  $made sessions made ($(( $(date +%s) - t0 )) s)"
	i=$first
	newids=
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
		newids="$newids $id"
		started=$i
		i=$((i + 1))
	done
	echo "  $started brokers and producers up ($(( $(date +%s) - t0 )) s)"
	i=$first
	for id in $newids; do
		# ssh's own log (-E, VERBOSE) says why one ended, if one does.
		$SSH -tt -E "$H/e/$i.log" -o LogLevel=VERBOSE \
		    -o IdentityFile="$H/client/bob" support@127.0.0.1 join "$id" \
		    --read-only <"$H/never" >"$H/e/$i.out" 2>&1 &
		echo $! >>"$PIDFILE"
		echo "$! $i $id" >>"$H/e/pids"
		harness_track $!
		if [ $((i % PAR)) -eq 0 ]; then
			want=$i
			# An engineer gone ends the wait: it is the limit.
			all_in() {
				engineers_alive || return 0
				[ "$(joined)" -ge "$want" ]
			}
			if ! bench_wait 300 all_in; then
				limit="engineers: only $(joined) of $want joined"
				break
			fi
			if ! engineers_alive; then
				limit="engineers: $(engineers_dead)"
				break
			fi
		fi
		i=$((i + 1))
	done
	want=$started
	all_in() {
		engineers_alive || return 0
		[ "$(joined)" -ge "$want" ]
	}
	bench_wait 300 all_in ||
	    limit="engineers: only $(joined) of $started joined"
	engineers_alive || limit="engineers: $(engineers_dead)"
	echo "sessions started: $started of $step, $(joined) with their engineer, in $(( $(date +%s) - t0 )) s; limit: $limit"
	measure "$started" "$started"
	njoined=$(joined)
	done_steps="$done_steps $started"
	[ "$started" -ge "$step" ] && [ "$limit" = "none within $N sessions" ] || break
done

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
# As many engineers leave as joined (a failed join is the first limit).
left_all() {
	[ "$(bench_sql "SELECT count(*) FROM events WHERE action = 'engineer-left';")" -ge "${njoined:-0}" ]
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
	got=$(bench_sql "SELECT count(*) FROM events WHERE action = '$a';")
	case $a in
	engineer-*) want=${njoined:-0} ;;
	*) want=$started ;;
	esac
	[ "$got" -eq "$want" ] || {
		echo "events $a: $got, want $want"
		lost=$((lost + 1))
	}
done
stale=$(bench_sql "SELECT count(*) FROM sessions WHERE state IN ('active')
    OR (state = 'pending' AND case_ref LIKE 'B-%');")
files=$(ls "$H/run/tunl/sessions" | grep -c '\.\(sock\|lock\|spool\)$')

# ---- the figures ----------------------------------------------------------------
row() {	# LABEL NAME
	printf '%-46s' "$1"
	for c in 0 $done_steps; do
		printf ' %15s' "$(cat "$H/fig/$c.$2" 2>/dev/null || echo -)"
	done
	echo
}
echo
printf '%-46s' "sessions (each with its broker and engineer)"
printf ' %15s' "baseline (0)"
for c in $done_steps; do printf ' %15s' "$c"; done
echo
row "processes counted" procs
row "idle CPU over ${IDLE}s (ms; % of a core)" idle
row "wakeups a second per broker" wakes
row "one \`new\`: CPU, all processes (ms)" new
row "  minus idle CPU over its window (ms)" newnet
row "  wall (ms)" newwall
row "  the ssh client (ms)" newclient
row "  sshd, PAM, tunl-shell, authority (ms)" newrelay
row "    of which tunl-shell and authority (ms)" newshell
row "  all the brokers together (ms)" newbrokers
row "one \`list --json\`: CPU, all processes (ms)" list
row "  minus idle CPU over its window (ms)" listnet
row "  wall (ms)" listwall
row "\`list\` shows active" listed
row "sessions with their engineer" joined
row "PSS per session: broker (kB)" pssb
row "PSS per session: producer (kB)" pssp
row "PSS per session: engineer path (kB)" psse
row "PSS of the rest, in all (kB)" psso
for c in 0 $done_steps; do
	echo "idle CPU by program at $c: $(cat "$H/fig/$c.top")"
done
echo "first limit reached: $limit"
echo "sessions answering: $answered of $started brokers acked; $alive of $started engineers' ssh still running"
echo "after stopping: events missing: $lost kinds; rows still active: $stale; session files left: $files; $reaper"

exec 8>&-
tm kill-server 2>/dev/null
harness_stop
