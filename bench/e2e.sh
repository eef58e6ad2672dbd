#!/bin/sh
# End to end, as people feel it, through the real sshd and real tmux on
# both ends (issue 13; bench/README.md). Not a test: figures only, each
# beside two baselines measured in the same run, alternated round by
# round, medians printed.
#
#	sudo sh ../bench/e2e.sh		# from the build directory
#
# A private relay as the share tests make it (share-lib.sh: real sshd,
# pam_tunl, tunl-shell, setuid tunl-broker), max_consumers raised to 64.
#   start  tunl-share started -> its --ready-file appears (the relay has
#          answered); its --timing audit line says where the time went.
#          Baselines: `ssh -tt` to a shell on the same sshd -> the shell's
#          first output; a local `tmux new-session` -> its first output.
#   join   `ssh -t support@relay join ID` -> the customer's screen (a mark
#          it printed) reaches the engineer's terminal. Baselines: the
#          same ssh login to a shell; a local `tmux attach`.
#   echo   a key's round trip (bench/keystroke-rtt.py, BENCH_KEYS keys)
#          through join; plain ssh -tt; a local tmux.
#   bulk   BENCH_MB MiB (cat of a file) with 1, 10, 50 viewers
#          (BENCH_VIEWERS), each a pane of a real tmux: started -> every
#          viewer's screen shows the mark printed after it; whether every
#          viewer ended on the customer's final screen. Baselines: the
#          same cat through plain ssh -tt, and in a local tmux pane.
#   idle   relay processes and their PSS per session with one viewer,
#          and per session for BENCH_IDLE idle sessions (no viewer),
#          beside as many idle plain ssh -tt shells.
# Knobs: BENCH_ROUNDS (3), BENCH_MB (50), BENCH_VIEWERS ("1 10 50"),
# BENCH_KEYS (200), BENCH_IDLE (50), BENCH_PARTS ("start echo bulk idle":
# which parts run), BENCH_SHARE_OLD (another tunl-share binary, e.g. an
# older build: start and join measured with it too, in the same rounds).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
ROUNDS=${BENCH_ROUNDS:-3}
MB=${BENCH_MB:-50}
VIEWERS=${BENCH_VIEWERS:-1 10 50}
KEYS=${BENCH_KEYS:-200}
IDLE=${BENCH_IDLE:-50}
PARTS=${BENCH_PARTS:-start echo bulk idle}
OLD=${BENCH_SHARE_OLD:-}
part() {
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}
. "$top_srcdir/tests/integration/harness.sh"
harness_init bench-e2e
command -v python3 >/dev/null 2>&1 || harness_skip "needs python3"
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup "max_consumers = 64" "max_consumers_total = 512" \
    "consumer_backlog = 1M"
# tunlauth (the principals command's account) has a shell and no
# ForceCommand: the plain-ssh baselines log in as it.
harness_keygen plain
harness_authorize tunlauth plain
PLAIN="$SSH -o IdentityFile=$H/client/plain -tt tunlauth@127.0.0.1"
MARK="sh $top_srcdir/bench/e2e-mark.sh"
WAIT="python3 $top_srcdir/bench/e2e-wait.py"
RTT="python3 $top_srcdir/bench/keystroke-rtt.py $KEYS"
ECHO="python3 $top_srcdir/bench/keystroke-echo.py"
LT_NAME=bench-local-$$
lt() {
	tmux -L "$LT_NAME" -f /dev/null "$@"
}
trap '_rc=$?; lt kill-server 2>/dev/null; tm kill-server 2>/dev/null; rm -rf "$XDG"; (exit $_rc); _harness_exit' EXIT
# The test's tmux lives as long as the run: a window that stays.
pane keep "sleep 86400"

now() {
	date +%s%N
}
# fig KEY VALUE: one measurement.
fig() {
	echo "$2" >>"$H/fig.$1"
}
median() {
	[ -f "$H/fig.$1" ] || { echo "-"; return; }
	sort -n "$H/fig.$1" | awk '{ a[NR] = $1 }
	    END { if (NR % 2) print a[(NR + 1) / 2];
	    else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# bare NAME COMMAND: a window of the test's tmux without a log of its own
# (the bulk viewers: 50 MiB each would fill the disk).
bare() {
	tm new-window -d -n "$1"
	tm send-keys -t "e2e:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}
gone() {
	tm kill-window -t "e2e:$1" 2>/dev/null
	return 0
}
# launch NAME COMMAND: like pane, but the clock (T0) starts once the
# window's shell is up, just before COMMAND is typed into it.
window_up() {
	[ -n "$(tm capture-pane -p -t "e2e:$1" 2>/dev/null | tr -d ' \n')" ]
}
launch() {
	tm new-window -d -n "$1"
	tm pipe-pane -t "e2e:$1" "cat >>$H/raw-$1.log"
	harness_wait 60 "window $1" window_up "$1"
	T0=$(now)
	tm send-keys -t "e2e:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}
# share_start NAME: a customer in pane NAME; sets ID, CSOCK, AUDIT; the
# seconds to its ready file in $H/last.
share_start() {
	new
	rm -f "$XDG/ready"
	launch "$1" "$SHARE_ENV ${SHARE_BIN:-$SHARE} --timing --relay $RELAY --known-hosts $KH --token-file $TOKENFILE --ready-file $XDG/ready $ID"
	$WAIT "$T0" "$XDG/ready" "" >"$H/last" || harness_fail "no ready file"
	cust_wait_ready "$2"
	AUDIT=${CSOCK%/tmux.sock}/audit.log
}
share_end() {
	tm send-keys -t "e2e:$1" C-b Q
	wait_screen "$1" "End the tunl session?"
	tm send-keys -t "e2e:$1" y
	wait_screen "$1" "exit="
	gone "$1"
}
cprint() {
	tmux -S "$CSOCK" send-keys -t tunl:0.0 "$1" Enter
}

echo "tunl end to end on $(uname -n), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds, medians in seconds"

# ---- start and join, alternated ---------------------------------------------------
n=0
part start || n=$ROUNDS
while [ "$n" -lt "$ROUNDS" ]; do
	n=$((n + 1))
	# tunl: start, then join; then the same with the other binary.
	for which in tunl ${OLD:+old}; do
		SHARE_BIN=$SHARE
		[ "$which" = old ] && SHARE_BIN=$OLD
		share_start "s$n$which" "$n"
		fig "start.$which" "$(cat "$H/last")"
		grep -F 'timing ms:' "$AUDIT" | sed "s/.*timing ms: /$which: /" >>"$H/timing"
		cprint "echo mark-\$(( $n * 1000 + 7 ))"
		cust_wait_pane "mark-$((n * 1000 + 7))"
		launch "j$n$which" "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID --read-only"
		fig "join.$which" "$($WAIT "$T0" "$H/raw-j$n$which.log" "mark-$((n * 1000 + 7))")"
		share_end "s$n$which"
		gone "j$n$which"
	done
	SHARE_BIN=$SHARE
	# plain ssh -tt to a shell: its first output (start and join alike).
	launch "p$n" "$PLAIN $MARK"
	fig login.ssh "$($WAIT "$T0" "$H/raw-p$n.log" started-42)"
	gone "p$n"
	# local tmux: a new server and session; then an attach to it.
	_t0=$(now)
	lt new-session -d -s "l$n" -x 120 -y 40 "$MARK"
	until lt capture-pane -p -t "l$n" 2>/dev/null | grep -q started-42; do :; done
	fig start.tmux "$(python3 -c "import time; print('%.3f' % ((time.time_ns() - $_t0) / 1e9))")"
	launch "a$n" "env -u TMUX tmux -L $LT_NAME attach -t l$n"
	fig join.tmux "$($WAIT "$T0" "$H/raw-a$n.log" started-42)"
	gone "a$n"
	lt kill-session -t "l$n"
done
part start && {
printf '%-34s %10s %16s %16s\n' "" tunl "plain ssh -tt" "local tmux"
printf '%-34s %10s %16s %16s\n' "start: started -> connected" \
    "$(median start.tunl)" "$(median login.ssh)" "$(median start.tmux)"
printf '%-34s %10s %16s %16s\n' "join: started -> first screen" \
    "$(median join.tunl)" "$(median login.ssh)" "$(median join.tmux)"
[ -n "$OLD" ] && printf '%-34s %10s %10s   (%s)\n' "start, join with BENCH_SHARE_OLD" \
    "$(median start.old)" "$(median join.old)" "$OLD"
echo "tunl-share --timing (ms, each round):"
sed 's/^/    /' "$H/timing"
}

# ---- echo -----------------------------------------------------------------------------
if part echo; then
share_start echo 90
tmux -S "$CSOCK" send-keys -t tunl:0.0 "exec $ECHO" Enter
cust_wait_pane echo-ready
$RTT "echo: tunl join" -- $SSH -e none -tt -o IdentityFile="$H/client/alice" \
    support@127.0.0.1 join "$ID" || harness_fail "join: no figure"
$RTT "echo: plain ssh -tt" -- $PLAIN $ECHO || harness_fail "plain ssh: no figure"
$RTT "echo: local tmux" -- env -u TMUX tmux -L "$LT_NAME" -f /dev/null new-session \
    -s kecho -x 120 -y 40 "$ECHO" || harness_fail "local tmux: no figure"
lt kill-session -t kecho 2>/dev/null
tmux -S "$CSOCK" send-keys -t tunl:0.0 C-d
wait_screen echo "exit="
gone echo

fi
# ---- bulk to 1, 10, 50 viewers ----------------------------------------------------------
if part bulk; then
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    i = 0
    while f.tell() < int(sys.argv[2]) * 1048576:
        i += 1
        f.write('bulk line %09d of tunl e2e, some text to fill the row out\n' % i)
" "$XDG/bulk.txt" "$MB"
chmod 0644 "$XDG/bulk.txt"
chmod 0755 "$XDG"
trimmed() {
	head -n "$2" | cut -c "1-$1" | sed 's/ *$//'
}
# same_screen NAME: pane NAME shows the customer's pane, cursor included.
same_screen() {
	_s=$(tmux -S "$CSOCK" display -p -t tunl:0.0 \
	    '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}') || return 1
	set -- "$1" $_s
	tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | trimmed "$2" "$3" >"$H/cust.scr"
	tm capture-pane -p -t "e2e:$1" | trimmed "$2" "$3" >"$H/view.scr"
	{ cat "$H/cust.scr"; yes '' | head -n "$3"; } | head -n "$3" >"$H/cust.cmp"
	{ cat "$H/view.scr"; yes '' | head -n "$3"; } | head -n "$3" >"$H/view.cmp"
	cmp -s "$H/cust.cmp" "$H/view.cmp" &&
	    [ "$(tm display -p -t "e2e:$1" '#{cursor_x} #{cursor_y}')" = "$4 $5" ]
}
# settle NAME: pane NAME comes to show the customer's screen (60 s).
settle() {
	_se=$(( $(date +%s) + 60 ))
	while ! same_screen "$1"; do
		[ "$(date +%s)" -lt "$_se" ] || return 1
		sleep 0.1
	done
}
screen_has_q() {
	tm capture-pane -p -t "e2e:$1" 2>/dev/null | grep -qF -- "$2"
}
# all_show PREFIX COUNT TEXT: every viewer pane PREFIX1..COUNT shows TEXT.
all_show() {
	_i=1
	while [ "$_i" -le "$2" ]; do
		screen_has_q "$1$_i" "$3" || return 1
		_i=$((_i + 1))
	done
}
for v in $VIEWERS; do
	share_start "b$v" "$((200 + v))"
	bare "v${v}_1" "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
	# In batches of 8, each batch in before the next starts: sshd's
	# MaxStartups (10:30:100 by default) refuses some of more
	# logins than 10 under way at once.
	i=2
	while [ "$i" -le "$v" ]; do
		bare "v${v}_$i" "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
		if [ $((i % 8)) = 0 ] || [ "$i" = "$v" ]; then
			harness_wait 300 "$i viewers to see the customer" \
			    all_show "v${v}_" "$i" "ready-$((2 * (200 + v)))"
		fi
		i=$((i + 1))
	done
	harness_wait 300 "$v viewers to see the customer" all_show "v${v}_" "$v" "ready-$((2 * (200 + v)))"
	_t0=$(now)
	cprint "cat $XDG/bulk.txt; echo bulk-done-\$(( $v * 3 + 1 ))"
	harness_wait 900 "every viewer to see the end" all_show "v${v}_" "$v" "bulk-done-$((v * 3 + 1))"
	t=$(python3 -c "import time; print('%.3f' % ((time.time_ns() - $_t0) / 1e9))")
	# Every viewer's screen (the top-left of its pane, as the customer's
	# pane is big) against the customer's pane, once the output is over.
	same=0
	i=1
	while [ "$i" -le "$v" ]; do
		settle "v${v}_$i" && same=$((same + 1))
		i=$((i + 1))
	done
	drops=$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'drop';")
	resyncs=$(relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID' AND action = 'resync';")
	echo "bulk $MB MiB to $v viewer(s): tunl $t s; $same of $v end on the customer's screen; $drops dropped; $resyncs resync events"
	if [ "$v" = 1 ]; then
		# ---- footprint with one viewer, idle ----
		python3 "$top_srcdir/bench/e2e-pss.py" "one session, one viewer" \
		    "$HARNESS_SSHD_PID" 1 "$H"
	fi
	share_end "b$v"
	i=1
	while [ "$i" -le "$v" ]; do
		gone "v${v}_$i"
		i=$((i + 1))
	done
done
# Baselines for bulk: plain ssh -tt, and a local tmux attached in a pane.
_t0=$(now)
bare bp "$PLAIN \"cat $XDG/bulk.txt; echo bulk-done-\\\$((9*9))\""
harness_wait 900 "plain ssh bulk" screen_has_q bp bulk-done-81
echo "bulk $MB MiB, plain ssh -tt: $(python3 -c "import time; print('%.3f' % ((time.time_ns() - $_t0) / 1e9))") s"
gone bp
lt new-session -d -s bulk -x 120 -y 40
bare bl "env -u TMUX tmux -L $LT_NAME attach -t bulk"
harness_wait 60 "local attach" screen_has_q bl '$'
_t0=$(now)
lt send-keys -t bulk "cat $XDG/bulk.txt; echo bulk-done-\$((8*8))" Enter
harness_wait 900 "local tmux bulk" screen_has_q bl bulk-done-64
echo "bulk $MB MiB, local tmux attach: $(python3 -c "import time; print('%.3f' % ((time.time_ns() - $_t0) / 1e9))") s"
gone bl
lt kill-session -t bulk

fi
# ---- idle footprint: BENCH_IDLE sessions, no viewer; as many plain shells ----------
if part idle; then
i=1
while [ "$i" -le "$IDLE" ]; do
	new
	bare "i$i" "$SHARE_ENV $SHARE --no-attach --relay $RELAY --known-hosts $KH --token-file $TOKENFILE --ready-file $XDG/ready.i$i $ID"
	i=$((i + 1))
done
ready_all() {
	_i=1
	while [ "$_i" -le "$IDLE" ]; do
		[ -f "$XDG/ready.i$_i" ] || return 1
		_i=$((_i + 1))
	done
}
harness_wait 900 "$IDLE idle sessions to connect" ready_all
python3 "$top_srcdir/bench/e2e-pss.py" "$IDLE idle sessions, no viewer" \
    "$HARNESS_SSHD_PID" "$IDLE" "$H"
i=1
while [ "$i" -le "$IDLE" ]; do
	gone "i$i"
	i=$((i + 1))
done
i=1
while [ "$i" -le "$IDLE" ]; do
	bare "q$i" "$PLAIN exec $MARK"
	i=$((i + 1))
done
harness_wait 600 "$IDLE plain shells" all_show q "$IDLE" started-42
python3 "$top_srcdir/bench/e2e-pss.py" "$IDLE idle plain ssh -tt shells" \
    "$HARNESS_SSHD_PID" "$IDLE" ""
fi
echo "the machine is shared: figures are noisy (load now $(cut -d' ' -f1-3 /proc/loadavg))"
exit 0
