# Shared by the tunl-share tests that run a whole relay (share-*.sh,
# screens.sh, viewers-slow.sh): a private sshd with the shipped drop-ins, pam_tunl,
# tunl-shell, tunl-authority and a setuid tunl-broker, the engineers
# alice, bob and carol, and helpers that drive panes of a private tmux.
#
#	. "$top_srcdir/tests/integration/harness.sh"
#	harness_init NAME
#	. "$top_srcdir/tests/integration/share-lib.sh"
#	share_setup [CONFIG LINE...]	# extra tunl.conf lines
#
# It sets RELAY, KH, SSH, SHARE, SHARE_ENV and XDG (tunl-share's
# XDG_RUNTIME_DIR, removed at exit).
#
# Waits are for a condition, never for a duration; their limits (60 s
# unless said) only bound a failure, and a loaded machine is slow.

. "$top_srcdir/tests/integration/relay.sh"

share_setup() {
	for c in setpriv sqlite3 tmux ssh-keygen; do
		command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
	done
	[ "$HARNESS_SAFE_TREE" = yes ] ||
	    harness_skip "needs a tree only root can write (set HARNESS_TMPDIR)"

	SHARE=$top_builddir/tunl-share
	relay_config "producer_grace = 120" "$@"
	# SHARE_SHELL_ARGS: more options for tunl-shell (share-static.sh).
	RELAY_SHELL_ARGS=${SHARE_SHELL_ARGS:-}
	relay_customer_login alice bob carol
	harness_syslog_start
	KH=$H/client/known_hosts
	RELAY=127.0.0.1:$HARNESS_PORT
	SSH="ssh -F /dev/null -p $HARNESS_PORT -o UserKnownHostsFile=$KH -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes -o PreferredAuthentications=publickey -o ControlPath=none"
	# tunl-share's private directory goes under XDG_RUNTIME_DIR when that is
	# short enough for its sockets' paths, so the test gives it a short one.
	XDG=$(mktemp -d /tmp/tunl-e2e.XXXXXX) || harness_fail "mktemp"
	trap '_rc=$?; rm -rf "$XDG"; (exit $_rc); _harness_exit' EXIT
	SHARE_ENV="env XDG_RUNTIME_DIR=$XDG SHELL=/bin/sh"
}

# new [--restricted]: a session made by alice; sets ID, and TOKENFILE
# holds the token (0600), never a command line.
new() {
	harness_ssh_key support alice -- new --case CS-1 "$@" >"$H/new.out" 2>&1 ||
	    harness_fail "new: $(cat "$H/new.out")"
	ID=$(sed -n 's/^session  *//p' "$H/new.out")
	TOKENFILE=$H/client/token.$ID
	(umask 077 && sed -n 's/^token  *\([^ ]*\).*/\1/p' "$H/new.out" \
	    >"$TOKENFILE")
	rm -f "$H/new.out"
	[ -n "$ID" ] && [ -s "$TOKENFILE" ] || harness_fail "no session made"
}

TM=tunl-share-test-$$
tm() {
	tmux -L "$TM" -f /dev/null "$@"
}
# pane NAME COMMAND: a window of the test's tmux running COMMAND.
pane() {
	if tm has-session 2>/dev/null; then
		tm new-window -d -n "$1"
	else
		tm new-session -d -s e2e -n "$1" -x 120 -y 40
		tm set -g remain-on-exit on
		harness_track "$(tm display -p '#{pid}')"
	fi
	tm pipe-pane -t "e2e:$1" "cat >>$H/raw-$1.log"
	tm send-keys -t "e2e:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}
screen() {
	tm capture-pane -p -t "e2e:$1"
}
# Every wait of these tests shows the panes and logs when it fails.
HARNESS_WAIT_DEBUG=share_debug
# wait_screen NAME TEXT [SECS]: TEXT on pane NAME.
screen_has() {
	screen "$1" | grep -qF -- "$2"
}
wait_screen() {
	harness_wait "${3:-120}" "pane $1 to show [$2]" screen_has "$1" "$2"
}
# What a failing test needs to see: the panes, ssh's and the relay's logs.
share_debug() {
	for _w in $(tm list-windows -F '#{window_name}' 2>/dev/null); do
		echo "---- pane $_w ----" >&2
		screen "$_w" >&2
	done
	for _d in "$XDG"/tunl-share.*; do
		[ -d "$_d" ] || continue
		for _f in ssh.log audit.log; do
			[ -f "$_d/$_f" ] || continue
			echo "---- $_d/$_f ----" >&2
			tail -n 30 "$_d/$_f" >&2
		done
	done
	if [ -f "$H/syslog.log" ]; then
		echo "---- syslog ----" >&2
		tail -n 40 "$H/syslog.log" >&2
	fi
}
# wait_raw NAME TEXT [SECS]: TEXT in what pane NAME was sent.
raw_has() {
	grep -aqF -- "$2" "$H/raw-$1.log" 2>/dev/null
}
wait_raw() {
	harness_wait "${3:-120}" "pane $1 to be sent [$2]" raw_has "$1" "$2"
}
# cast_has FILE TEXT: TEXT in the output of asciicast FILE. Events are
# decoded and joined first: where the recorder cut the stream into events
# depends on timing, so a string can be split between two of them. A torn
# last line (the recorder is still writing) is left for the next look.
cast_has() {
	python3 - "$1" "$2" <<'PY' 2>/dev/null
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")
except OSError:
    sys.exit(1)
out = []
for l in lines[1:]:
    try:
        ev = json.loads(l)
    except ValueError:
        continue
    if isinstance(ev, list) and len(ev) == 3 and ev[1] in ("o", "m"):
        out.append(ev[2])
sys.exit(0 if sys.argv[2] in "".join(out) else 1)
PY
}
# The customer's private tmux: its socket is in tunl-share's directory.
cust_sock() {
	for _d in "$XDG"/tunl-share.*; do
		[ -S "$_d/tmux.sock" ] && { echo "$_d/tmux.sock"; return 0; }
	done
	return 1
}
# cust_wait_pane TEXT [PANE]: TEXT on the customer's shell pane (0), or
# on PANE (1: the chat pane).
cust_pane_has() {
	CSOCK=$(cust_sock) &&
	    tmux -S "$CSOCK" capture-pane -p -t "tunl:0.$2" 2>/dev/null |
	    grep -qF -- "$1"
}
cust_wait_pane() {
	harness_wait 120 "the customer's pane ${2:-0} to show [$1]" \
	    cust_pane_has "$1" "${2:-0}"
}
# The customer's shell is ready when it runs what is typed into it (its
# prompt is the login shell's, "# " for root).
cust_tmux_up() {
	CSOCK=$(cust_sock) && tmux -S "$CSOCK" has-session -t tunl 2>/dev/null
}
cust_wait_ready() {
	harness_wait 120 "tunl-share to start its tmux" cust_tmux_up
	tmux -S "$CSOCK" send-keys -t tunl:0.0 "echo ready-\$((2*$1))" Enter
	cust_wait_pane "ready-$((2*$1))"
}

# raw_count NAME TEXT: how many times TEXT was sent to pane NAME so far.
raw_count() {
	LC_ALL=C grep -aoF -- "$2" "$H/raw-$1.log" 2>/dev/null | wc -l
}
raw_more() {
	[ "$(raw_count "$1" "$2")" -gt "$3" ]
}
# wait_raw_more NAME TEXT COUNT: TEXT sent to pane NAME more than COUNT times.
wait_raw_more() {
	harness_wait 120 "pane $1 to be sent [$2] again" raw_more "$1" "$2" "$3"
}
# type_refused NAME TEXT: type TEXT and Enter on pane NAME, whose join may
# not send keys, and wait until it has read them (it says so).
type_refused() {
	_trn=$(raw_count "$1" "your keys are not sent")
	tm send-keys -t "e2e:$1" -l "$2"
	tm send-keys -t "e2e:$1" Enter
	wait_raw_more "$1" "your keys are not sent" "$_trn"
}
# roundtrip NAME: once it returns, the broker has handled everything pane
# NAME's join sent before. The pane is made smaller than the session, so
# the join sends a resize (behind anything it queued before) and the
# broker answers that the terminal is too small; then the size goes back.
roundtrip() {
	_rtn=$(raw_count "$1" "tunl: your terminal is")
	_rts=$(tm display -p -t "e2e:$1" '#{window_width} #{window_height}')
	tm resize-window -t "e2e:$1" -y 6
	wait_raw_more "$1" "tunl: your terminal is" "$_rtn"
	tm resize-window -t "e2e:$1" -x "${_rts% *}" -y "${_rts#* }"
}
# audit_count TEXT: lines of the current tunl-share's audit log with TEXT.
audit_count() {
	grep -cF -- "$1" "${CSOCK%/tmux.sock}/audit.log" 2>/dev/null
}
audit_more() {
	[ "$(audit_count "$1")" -gt "$2" ]
}
# customer_synced NAME ENGINEER: once it returns, tunl-share has taken
# every frame the broker queued for it before. ENGINEER joins read-only in
# a new pane NAME; the broker tells tunl-share so behind those frames, and
# tunl-share's audit log has a line for every frame, in order.
customer_synced() {
	_csn=$(audit_count "$2 joined")
	pane "$1" "$SSH -o IdentityFile=$H/client/$2 -t support@127.0.0.1 join $ID --read-only"
	harness_wait 120 "tunl-share to hear that $2 joined" \
	    audit_more "$2 joined" "$_csn"
}

# ps_watch_start, ps_watch_stop: every process's argv, every 50 ms, into
# $H/ps.log, to show that a token was never in one. Stop it (it waits
# until the sampler is gone) before searching the log: a ps still running
# could record that search, whose argv holds the token.
ps_watch_start() {
	rm -f "$H/ps.stop"
	(
		while [ ! -e "$H/ps.stop" ]; do
			ps -eww -o args >>"$H/ps.log" 2>/dev/null
			sleep 0.05
		done
	) &
	PSWATCH=$!
	harness_track $PSWATCH
}
ps_watch_stop() {
	: >"$H/ps.stop"
	wait "$PSWATCH"
}

# share_start [TUNL-SHARE OPTION...]: a new session and tunl-share started
# on it in pane cust, its shell ready; DIR is tunl-share's private
# directory, REC the relay's recording.
share_start() {
	new
	pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH $* --token-file $TOKENFILE $ID"
	cust_wait_ready 1
	DIR=${CSOCK%/tmux.sock}
	REC=$H/var/log/tunl/$ID.cast
}

# share_watched [TUNL-SHARE OPTION...]: share_start, then alice joined
# read-only in pane ro.
share_watched() {
	share_start "$@"
	pane ro "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID --read-only"
	cust_wait_pane "alice joined (read-only)" 1
}

# share_flood WORD: share_start, alice joined read-write (pane rw); then
# the customer's shell prints WORD-42 without end, and alice has seen it.
share_flood() {
	share_start
	pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
	cust_wait_pane "alice joined (read-write)" 1
	tmux -S "$CSOCK" send-keys -t tunl:0.0 "yes $1-\$((2*21))" Enter
	wait_raw rw "$1-42"
}

# share_data MIB: $H/data, MIB MiB of random bytes in base64 lines.
share_data() {
	head -c $(($1 * 1024 * 1024)) /dev/urandom | base64 -w 76 >"$H/data" ||
	    harness_fail "no data"
}

# cust ARG...: tmux on the customer's private server.
cust() {
	tmux -S "$CSOCK" "$@"
}

# share_need_built: skip unless pam_tunl.so and tunl-broker are built here.
share_need_built() {
	_missing=
	[ -f "$top_builddir/.libs/pam_tunl.so" ] ||
	    _missing="$_missing pam_tunl.so"
	[ -x "$top_builddir/tunl-broker" ] || _missing="$_missing tunl-broker"
	[ -z "$_missing" ] || harness_skip "not built here:$_missing"
}

# share_need_pyte: PYTE, a python3 that has pyte (Debian's python3-pyte is
# for the system python, which may not be the first python3 on PATH), and
# RENDER, the script that renders a pane's bytes with it; or skip.
share_need_pyte() {
	PYTE=
	for _p in /usr/bin/python3 python3; do
		if command -v "$_p" >/dev/null 2>&1 &&
		    "$_p" -c 'import pyte' >/dev/null 2>&1; then
			PYTE=$_p
			break
		fi
	done
	[ -n "$PYTE" ] ||
	    harness_skip "needs pyte (apt-get install python3-pyte)"
	RENDER=$top_srcdir/tests/integration/screens-render.py
}

# same_screen NAME: the screen engineer pane NAME's terminal shows,
# rendered from every byte it was sent (share_need_pyte), is the
# customer's pane: each row of the pane's width and height, and the
# cursor, where it is and whether it shows. The pane is read once before
# and once after (cursor and size) and must not change in between.
same_screen() {
	cust capture-pane -p -t tunl:0.0 >"$H/cust.cap" 2>/dev/null || return 1
	_ss=$(cust display -p -t tunl:0.0 \
	    '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y} #{cursor_flag}') ||
	    return 1
	cust capture-pane -p -t tunl:0.0 >"$H/cust.cap2" 2>/dev/null || return 1
	cmp -s "$H/cust.cap" "$H/cust.cap2" || return 1
	_es=$(tm display -p -t "e2e:$1" '#{pane_width} #{pane_height}')
	# shellcheck disable=SC2086
	"$PYTE" "$RENDER" "$H/raw-$1.log" $_es "$H/cust.cap" $_ss \
	    >"$H/diff-$1.txt" 2>&1
}
# wait_same NAME STEP: wait for pane NAME to show the customer's screen;
# _name and _step say which, for a debug function.
wait_same() {
	_name=$1
	_step=$2
	harness_wait 120 "engineer pane $1 to show the customer's screen ($2)" \
	    same_screen "$1"
}

# share_ended_alone WHY: tunl-share ended by itself while its shell
# printed, said "the relay ended the session: WHY", and the shell it was
# started from runs on (the pane prints its status); its key and
# certificate are gone and its audit log says the relay ended it.
share_ended_alone() {
	wait_screen cust "session ended. Key and certificate removed"
	wait_screen cust "the relay ended the session: $1"
	wait_screen cust "exit=0"
	[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
	    harness_fail "key or certificate left behind"
	grep -qF "tunl-share ended by the relay: $1" "$DIR/audit.log" ||
	    harness_fail "the audit log does not say the relay ended it: $1"
}

# share_finish: the end of every share test once its checks passed: the
# test's tmux and every process the harness started are stopped, nothing
# is left running and nothing of the machine's changed.
share_finish() {
	tm kill-server 2>/dev/null
	harness_stop
	harness_assert_eq "" "$(harness_leftovers)" "processes left"
	harness_host_unchanged
	harness_log "passed"
	exit 0
}

# share_link_setup: tunl-share's link to the relay, cut on demand. Every
# ssh tunl-share starts from now on (SHARE_ENV puts a wrapper first on its
# PATH) looks at $H/link, set with `link STATE`:
#	up	the relay as it is;
#	down	ssh is sent to a port where nothing listens (connection
#		refused: a relay that is down);
#	hang	ssh waits before it starts, as on a dead network.
# share_pid, after share_start: tunl-share's pid; share_ssh_pid: its ssh.
share_link_setup() {
	_realssh=$(command -v ssh) || harness_skip "needs ssh"
	_deadport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	    harness_fail "no free port"
	mkdir -p "$H/cutbin"
	cat >"$H/cutbin/ssh" <<EOF
#!/bin/sh
while [ "\$(cat $H/link)" = hang ]; do
	sleep 0.1
done
if [ "\$(cat $H/link)" = down ]; then
	prev=
	first=
	for a do
		[ -n "\$first" ] || { set --; first=1; }
		[ "\$prev" = -p ] && a=$_deadport
		set -- "\$@" "\$a"
		prev=\$a
	done
fi
exec $_realssh "\$@"
EOF
	chmod 0755 "$H/cutbin/ssh"
	link up
	SHARE_ENV="$SHARE_ENV PATH=$H/cutbin:$PATH"
}
link() {
	echo "$1" >"$H/link.tmp" && mv "$H/link.tmp" "$H/link"
}
share_pid() {
	ps -eo pid=,args= | awk -v s="$SHARE" -v id="$ID" \
	    '$2 == s && index($0, id) { print $1 }'
}
share_ssh_pid() {
	pgrep -x -P "$(share_pid)" ssh
}
