#!/bin/sh
# Full-screen programs through a real relay: what the engineer's terminal
# shows is the customer's screen, step by step, and after join or replay
# the engineer's own screen is back as it was.
#
# The customer's tunl-share and the engineers' `ssh -t support@relay join`
# run in panes of a private tmux, as in share-e2e.sh. Every byte an
# engineer's pane was sent is logged (pipe-pane) and rendered with pyte
# (screens-render.py, which gives pyte the terminal's second screen); the
# rendered screen is compared with `tmux capture-pane -p` of the
# customer's shell pane, cursor included, after each step: a prompt, vim
# opened, moved in, scrolled and edited, :q!, a screen switch by hand
# (47 and 1047), less paged and quit, top, a late joiner while less and
# while vim is open, and the read-write engineer's terminal resized (to
# 100x30 and back) while vim is open. After join detaches and after a replay of the session, the
# engineer's terminal is on its normal screen showing what it showed
# before, the stream entered and left the alternate screen exactly once
# (the customer's own switches never reached it), and the engineer's
# scrollback holds nothing of the customer's.
#
# Waits are for a condition (the screens agreeing), never for a duration.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: screens: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
VIM=$(command -v vim || command -v vim.tiny || command -v vi) || VIM=
for c in "$VIM" less top; do
	if [ -z "$c" ] || ! command -v "$c" >/dev/null 2>&1; then
		echo "SKIP: screens: needs vim (or vim.tiny), less and top"
		exit 77
	fi
done

. "$top_srcdir/tests/integration/harness.sh"
harness_init screens
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_built
share_need_pyte
share_setup

# ---- helpers ------------------------------------------------------------------

# ctype TEXT: type TEXT literally into the customer's shell pane.
ctype() {
	cust send-keys -t tunl:0.0 -l "$1"
}
ckey() {
	cust send-keys -t tunl:0.0 "$@"
}
cust_alt_is() {
	[ "$(cust display -p -t tunl:0.0 '#{alternate_on}')" = "$1" ]
}
cust_top_line_is() {
	[ "$(cust capture-pane -p -t tunl:0.0 | head -n 1)" = "$1" ]
}
cust_top_line_is_not() {
	! cust_top_line_is "$1"
}
screens_debug() {
	echo "---- step ${_step:-?}: engineer $_name against the customer ----" >&2
	cat "$H/diff-$_name.txt" >&2 2>/dev/null
	share_debug
}
HARNESS_WAIT_DEBUG=screens_debug
# rendered NAME FIELD: a field of the rendered state of pane NAME's terminal.
rendered() {
	"$PYTE" "$RENDER" "$H/raw-$1.log" \
	    $(tm display -p -t "e2e:$1" '#{pane_width} #{pane_height}') |
	    "$PYTE" -c 'import json, sys
v = json.load(sys.stdin)[sys.argv[1]]
print("\n".join(v) if isinstance(v, list) else v)' "$2"
}

# A file to look at, and the customer's session with an engineer.
seq 1 300 | sed 's/^/line number /' >"$XDG/lines.txt"
chmod 0644 "$XDG/lines.txt"
share_start
ctype 'echo before-vim-$((3*3))'
ckey Enter
cust_wait_pane before-vim-9
# Something of the engineer's own on the screen join will leave alone.
pane eng "echo engineer-own-\$((6*7)); $SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
wait_screen eng "watching: alice"
wait_same eng prompt

# ---- vim: open, move, scroll, edit, quit ----------------------------------------
ctype "$VIM -u NONE -N -i NONE $XDG/lines.txt"
ckey Enter
harness_wait 120 "vim to start" cust_top_line_is "line number 1"
wait_same eng "vim open"
harness_assert_eq 1 "$(cust display -p -t tunl:0.0 '#{alternate_on}')" \
    "vim is on the customer's alternate screen"
ckey G
cust_wait_pane "line number 300"
wait_same eng "vim G"
ckey g g
harness_wait 120 "vim to go to the top" cust_top_line_is "line number 1"
ckey C-e C-e
harness_wait 120 "vim to scroll" cust_top_line_is "line number 3"
wait_same eng "vim scrolled"
ctype 'ihello-edit'
ckey Escape
cust_wait_pane "hello-editline number 3"
wait_same eng "vim edit"
ctype ':q!'
ckey Enter
harness_wait 120 "vim to leave the alternate screen" cust_alt_is 0
cust_wait_pane before-vim-9
wait_same eng "vim quit"
# The customer left its alternate screen; the engineer did not leave join's.
harness_assert_eq 1 "$(tm display -p -t e2e:eng '#{alternate_on}')" \
    "the engineer's terminal is still on join's alternate screen"
ctype 'echo after-vim-$((4*4))'
ckey Enter
cust_wait_pane after-vim-16
wait_same eng "prompt after vim"

# ---- the switches by hand: 47 keeps what the alternate screen had ----------------
ctype "printf '\\033[?47hforty-seven\\n'"
ckey Enter
harness_wait 120 "the customer's pane to switch (47)" cust_alt_is 1
cust_wait_pane forty-seven
wait_same eng "47 set"
ctype "printf '\\033[?47l'"
ckey Enter
harness_wait 120 "the customer's pane to switch back (47)" cust_alt_is 0
wait_same eng "47 reset"
ctype "printf '\\033[?1047hten-forty-seven\\033[?1047l'; echo after-1047-\$((5*5))"
ckey Enter
cust_wait_pane after-1047-25
wait_same eng "1047"

# ---- less: page, quit ---------------------------------------------------------------
ctype "less $XDG/lines.txt"
ckey Enter
harness_wait 120 "less to start" cust_top_line_is "line number 1"
wait_same eng "less open"
ckey f
harness_wait 120 "less to page" cust_top_line_is_not "line number 1"
wait_same eng "less paged"
ckey q
harness_wait 120 "less to leave the alternate screen" cust_alt_is 0
wait_same eng "less quit"

# ---- top ---------------------------------------------------------------------------------
ctype 'top -d 5'
ckey Enter
cust_wait_pane "load average"
wait_same eng "top"
ckey q
harness_wait 120 "top to leave the alternate screen" cust_alt_is 0
wait_same eng "top quit"

# ---- a late joiner while less is open sees less -----------------------------------
ctype "less $XDG/lines.txt"
ckey Enter
harness_wait 120 "less to start again" cust_top_line_is "line number 1"
wait_same eng "less again"
pane late "echo carol-own-\$((7*8)); $SSH -o IdentityFile=$H/client/carol -t support@127.0.0.1 join $ID --read-only"
wait_screen late "carol (ro)"
wait_same late "late joiner, less open"
ckey q
harness_wait 120 "less to leave the alternate screen again" cust_alt_is 0
wait_same late "late joiner, less quit"
wait_same eng "less quit again"
ctype 'echo last-$((9*9))'
ckey Enter
cust_wait_pane last-81
wait_same late "late joiner, prompt"
wait_same eng "last prompt"

# ---- a late joiner while vim is open sees vim, and follows it ---------------------
ctype "$VIM -u NONE -N -i NONE $XDG/lines.txt"
ckey Enter
harness_wait 120 "vim to start again" cust_top_line_is "line number 1"
ckey j j j
wait_same eng "vim again"
pane late2 "echo bob-own-\$((9*7)); $SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
wait_screen late2 "bob (ro)"
wait_same late2 "late joiner, vim open"
ckey C-e C-e C-e
harness_wait 120 "vim to scroll" cust_top_line_is "line number 4"
wait_same late2 "late joiner, vim scrolled"
ckey C-y
harness_wait 120 "vim to scroll back" cust_top_line_is "line number 3"
wait_same late2 "late joiner, vim scrolled back"
wait_same eng "vim scrolled back"

# ---- a resize while vim is open: every engineer's screen follows -------------------
# The read-write engineer's terminal sets the customer's shared pane (less
# join's status row); vim redraws for it, the engineers are redrawn.
cust_size_is() {
	[ "$(cust display -p -t tunl:0.0 '#{pane_width}x#{pane_height}')" = "$1" ]
}
SIZE_BEFORE=$(cust display -p -t tunl:0.0 '#{pane_width}x#{pane_height}')
tm resize-window -t e2e:eng -x 100 -y 30
harness_wait 120 "the customer's pane to take 100x29" cust_size_is 100x29
wait_same eng "resized to 100x30, vim"
wait_same late2 "late joiner, after the resize"
# Back to the engineer's first size: the customer's terminal caps it.
tm resize-window -t e2e:eng -x 120 -y 40
harness_wait 120 "the customer's pane to take $SIZE_BEFORE again" \
    cust_size_is "$SIZE_BEFORE"
wait_same eng "resized back, vim"
wait_same late2 "late joiner, resized back"
ctype ':q!'
ckey Enter
harness_wait 120 "vim to leave the alternate screen again" cust_alt_is 0
wait_same late2 "late joiner, vim quit"
wait_same eng "vim quit again"

# ---- after join: the engineer's own screen, as it was ------------------------------
# own_screen NAME MARK: pane NAME's terminal is on its normal screen,
# which shows MARK (printed before join or replay) and nothing of the
# customer's; the stream went to the alternate screen and back once.
own_screen() {
	harness_assert_eq normal "$(rendered "$1" on)" "the screen $1 ends on"
	harness_assert_eq 1 "$(rendered "$1" enters)" \
	    "times $1's terminal entered the alternate screen"
	harness_assert_eq 1 "$(rendered "$1" leaves)" \
	    "times $1's terminal left the alternate screen"
	_own=$(rendered "$1" normal)
	harness_assert_contains "$_own" "$2"
	harness_assert_not_contains "$_own" "line number"
	harness_assert_not_contains "$_own" "before-vim-9"
	# The same on the pane's real terminal (tmux), scrollback included.
	_hist=$(tm capture-pane -p -S - -t "e2e:$1")
	harness_assert_contains "$_hist" "$2"
	harness_assert_not_contains "$_hist" "line number"
	harness_assert_not_contains "$_hist" "before-vim-9"
	harness_assert_eq "0 1 0 0 0 1 0" \
	    "$(tm display -p -t "e2e:$1" '#{alternate_on} #{cursor_flag} #{insert_flag} #{keypad_cursor_flag} #{origin_flag} #{wrap_flag} #{mouse_any_flag}')" \
	    "$1's terminal modes (alternate, cursor, insert, keypad, origin, wrap, mouse)"
}
tm send-keys -t e2e:eng C-] d
wait_screen eng "exit=0"
wait_screen eng "tunl: detached from $ID"
own_screen eng engineer-own-42
tm send-keys -t e2e:late2 C-] d
wait_screen late2 "exit=0"
own_screen late2 bob-own-63

# ---- replay: the same for a recording --------------------------------------------------
pane rep "echo replay-own-\$((8*8)); $SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 replay $ID --speed 16"
wait_screen rep "exit=0" 300
wait_screen rep "tunl: replayed"
own_screen rep replay-own-64

# ---- the end key ends it for everyone ---------------------------------------------------
tm send-keys -t e2e:cust C-b Q
wait_screen cust "End the tunl session?"
tm send-keys -t e2e:cust y
wait_screen cust "exit=0"
wait_screen late "exit="

share_finish
