#!/bin/sh
# Issue 11: a registry the broker cannot open for a while loses nothing.
# Through the real sshd, tunl-shell, tunl-broker and tunl-share.
#
# The sqlite3 tool run as root (an operator looking, or a test) removes the
# -wal and -shm files when it closes last, and makes them root's own when it
# finds them gone: until they are removed again, every other account's
# open fails with "unable to open database file" (not "busy"). The broker's
# writes made then were dropped. Here the two files are made root's 0600
# while alice, watching a live session, leaves: the broker's
# `engineer-left` event and viewer count must wait, be made again, and
# land once the files are gone; nothing twice.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: registry-unopened: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init registry-unopened
. "$top_srcdir/tests/integration/share-lib.sh"
share_need_built
# The broker's own periodic read must not be what repairs anything.
share_setup "registry_recheck = 3600"

count_events() {	# ACTION
	relay_sql "SELECT count(*) FROM events WHERE session_id = '$ID'
	    AND action = '$1';"
}
viewers_are() {
	[ "$(relay_sql "SELECT viewers FROM sessions WHERE id = '$ID';")" = "$1" ]
}
syslog_has() {
	grep -qF -- "$1" "$H/syslog.log" 2>/dev/null
}

share_watched
harness_wait 60 "alice counted in the registry" viewers_are 1
harness_assert_eq 1 "$(count_events engineer-joined)" "engineer-joined"

# ---- the -wal and -shm files made root's ------------------------------------------
# relay_sql checkpoints the WAL and, closing last, removes both files; then
# they are made again, empty, root's and 0600 (noclobber: never over one a
# broker made meanwhile, which could hold data).
block() {
	relay_sql "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null &&
	    (set -C; umask 077; : >"$RELAY_DB-wal" && : >"$RELAY_DB-shm")
}
harness_wait 60 "the registry's WAL files made root's" block
tm kill-window -t e2e:ro
harness_wait 60 "the broker's write to fail and be retried" \
    syslog_has "unable to open database file; trying again"
# (No sqlite3 look meanwhile: as root it would open the blocked files.)
cust_wait_pane "alice left" 1

# ---- the files gone again: what waited lands, once -------------------------------
rm -f "$RELAY_DB-wal" "$RELAY_DB-shm"
harness_wait 60 "the viewer count to land" viewers_are 0
left_once() {
	[ "$(count_events engineer-left)" = 1 ]
}
harness_wait 60 "the engineer-left event to land" left_once
harness_assert_eq 1 "$(count_events engineer-joined)" "engineer-joined, once"
harness_assert_eq active "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")" \
    "the session"
# The session still works: bob joins and sees the customer's shell.
pane ro2 "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
cust_wait_pane "bob joined (read-only)" 1
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-$((20+2))' Enter
wait_screen ro2 after-22
share_finish
