# demo-lib.sh: sourced after harness.sh by the tests that drive tools/demo
# (demo.sh, host-accounts.sh): a demo in a directory of the test's own, the
# commands it printed run each in a window of a private tmux, and what
# those windows and the customer show.
#
#   demo_lib_init PREFIX   make $D (/var/lib/PREFIX.XXXXXX), install the
#                          cleanup (stop the demo, kill the tmux, remove $D)
#   demo ARGS...           tools/demo ARGS
#   demo_start             demo start in $D on this build; skips as it does;
#                          output in $H/start.out, the printed commands in
#                          $CUSTOMER $JOIN_RW $JOIN_RO $WATCH $LIST, the
#                          customer's tmux socket in $CSOCK
#   pane NAME COMMAND      a window running COMMAND (then "exit=N")
#   screen NAME            what window NAME shows
#   customer               what the customer's shell pane shows
#   wait_in NAME|customer TEXT [SECONDS]   wait until it shows TEXT

# Through sh: a distribution tarball may not keep the executable bit.
demo() {
	sh "$top_srcdir/tools/demo" "$@"
}

tm() {
	tmux -L "$TM" -f /dev/null "$@"
}

demo_lib_init() {
	for _dc in tmux setpriv; do
		command -v $_dc >/dev/null 2>&1 || harness_skip "needs $_dc"
	done
	harness_path_is_safe /var/lib ||
	    harness_skip "/var/lib is writable by others than root"
	D=$(mktemp -d "/var/lib/$1.XXXXXX") || harness_fail "mktemp"
	chmod 0755 "$D"
	TM=$1-$$
	trap '_rc=$?; demo_cleanup; (exit $_rc); _harness_exit' EXIT
}

# Also run by the EXIT trap; a test may add to it with demo_cleanup_more.
demo_cleanup_more() { :; }
demo_cleanup() {
	tm kill-server 2>/dev/null
	[ -f "$D/state" ] && demo stop --dir "$D" >/dev/null 2>&1
	rm -rf "$D"
	demo_cleanup_more
}

# The command tools/demo printed after "  (X) ...:".
_demo_printed() {
	sed -n "s/^  ($1) [^:]*: *//p" "$H/start.out"
}

demo_start() {
	demo --no-deps --no-build --build-dir "$top_builddir" --dir "$D" start \
	    >"$H/start.out" 2>"$H/start.err"
	_drc=$?
	# The relay's harness skips where the tests' relay cannot run (a
	# build whose configuration directory has no parent to mount over,
	# as in distcheck): then so does the test.
	[ $_drc -eq 77 ] && harness_skip "tools/demo: $(grep '^SKIP' "$H/start.err")"
	if [ $_drc -ne 0 ]; then
		cat "$H/start.out" "$H/start.err" >&2
		harness_fail "tools/demo start failed"
	fi
	CUSTOMER=$(_demo_printed a)
	JOIN_RW=$(_demo_printed b)
	JOIN_RO=$(_demo_printed c)
	WATCH=$(_demo_printed d)
	LIST=$(sed -n 's/^  sessions on the relay: *//p' "$H/start.out")
	for _dv in "$CUSTOMER" "$JOIN_RW" "$JOIN_RO" "$WATCH" "$LIST"; do
		[ -n "$_dv" ] || {
			cat "$H/start.out" >&2
			harness_fail "tools/demo did not print all its commands"
		}
	done
	case $CUSTOMER in
	"tmux -S "*" attach") ;;
	*) harness_fail "not a tmux attach: $CUSTOMER" ;;
	esac
	CSOCK=${CUSTOMER#tmux -S }
	CSOCK=${CSOCK% attach}
	[ -S "$CSOCK" ] || harness_fail "no customer tmux at $CSOCK"
}

pane() {
	if tm has-session 2>/dev/null; then
		tm new-window -d -n "$1"
	else
		tm new-session -d -s t -n "$1" -x 120 -y 40
		tm set -g remain-on-exit on
		harness_track "$(tm display -p '#{pid}')"
	fi
	tm send-keys -t "t:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}

screen() {
	tm capture-pane -p -t "t:$1"
}

customer() {
	tmux -S "$CSOCK" capture-pane -p -t tunl:0.0
}

wait_in() {
	_wt=$(( $(date +%s) + ${3:-60} ))
	while [ "$(date +%s)" -lt $_wt ]; do
		if [ "$1" = customer ]; then
			customer | grep -qF -- "$2" && return 0
		else
			screen "$1" | grep -qF -- "$2" && return 0
		fi
		sleep 0.2
	done
	for _w in $(tm list-windows -F '#{window_name}' 2>/dev/null); do
		echo "---- pane $_w ----" >&2
		screen "$_w" >&2
	done
	echo "---- the customer ----" >&2
	customer >&2
	harness_fail "$1 never showed [$2]"
}
