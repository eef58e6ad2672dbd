#!/bin/sh
# Each relay account against a live session (issue 12, part A): a customer
# running tunl-share and two engineers joined through the real sshd. As
# tunl, support, tunlauth and tunl-broker in turn, the test tries what the
# account must not be able to do to the session's socket, its recording
# and the broker, and checks that the operating system or tunl refuses it:
#
# - remove, rename, replace or plant a socket or the lock in the sockets'
#   directory (tunl-broker:tunl 0750: only the broker account can);
# - read the recording (the customer account and tunlauth), rename,
#   remove or append to it (everyone but its owner, tunl-broker);
# - speak to the broker as an account that is neither customer nor
#   engineer (the broker closes the connection, SO_PEERCRED);
# - a socket planted by another account (as root here, standing in for
#   the old group-writable layout) is refused by join before a byte is
#   sent, by its file owner and, when that is forged, by SO_PEERCRED.
#
# A broker or tunl-authority installed without its privilege refuses to
# run and says why.
#
# Then the session goes on: the customer's typing reaches both engineers
# and the recording, and cast still serves the recording.
#
# Not here: the tunl-broker account's own socket and recordings are its
# to change by design; a compromised broker is held by its sandbox
# (seccomp, Landlock), which this test does not attack.
#
# The registry: as tunl, support and tunlauth, opening the database or its
# WAL files (for writing or reading, open(2) or sqlite3) and creating or
# replacing a file in its directory are refused by the kernel; running a
# registry verb of tunl-authority without a login is refused by it. Then
# every engineer verb (list, show, token, unlock, kill) still works through
# tunl-authority, and the customer is told who ended the session.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: confine: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	echo "SKIP: confine: needs $PY (a python every account can run)"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init confine
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
cust_wait_pane "alice joined (read-write)" 1
cust_wait_pane "bob joined (read-only)" 1
wait_screen rw "bob (ro)"

SD=/run/tunl/sessions
SOCK=$SD/$ID.sock
CAST=$H/var/log/tunl/$ID.cast
harness_wait 60 "the recording $CAST" test -s "$CAST"
before_sock=$(relay_in_ns stat -c '%i %U:%G %a' "$SOCK") ||
    harness_fail "no socket $SOCK"
before_cast=$(relay_in_ns stat -c '%i %U:%G %a' "$CAST")
harness_assert_eq "tunl-broker:tunl 750" \
    "$(relay_in_ns stat -c '%U:%G %a' "$SD")" "the sockets' directory"
harness_assert_eq "tunl-broker:tunl-rec 640" "$(relay_in_ns stat -c '%U:%G %a' "$CAST")" \
    "the recording"

# The broker confined itself with Landlock where the kernel has it
# (landlock_create_ruleset, 444 on every architecture, asked its version).
LL=$("$PY" -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))')
if [ "${LL:-0}" -ge 1 ] 2>/dev/null; then
	harness_wait 60 "the broker's Landlock line" \
	    grep -qF "landlock (ABI $LL): filesystem limited" "$H/syslog.log"
else
	harness_wait 60 "the broker's warning that Landlock is missing" \
	    grep -qF "warning: landlock is not available" "$H/syslog.log"
fi

# refused USER WHAT CMD...: CMD, run as USER in the relay's namespace, fails.
refused() {
	_ru=$1
	_rw=$2
	shift 2
	if relay_as "$_ru" "$@" >"$H/attack.out" 2>&1; then
		harness_fail "$_ru could $_rw: $(cat "$H/attack.out")"
	fi
	harness_log "refused: $_ru cannot $_rw ($(tail -n 1 "$H/attack.out"))"
}

# A listener bound where the account tries to bind one.
BIND='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)'

for u in tunl support tunlauth; do
	# The socket and the directory it lives in.
	refused $u "remove the socket" rm -f "$SOCK"
	refused $u "rename the socket" mv -f "$SOCK" "$SD/$ID.old"
	refused $u "link the socket elsewhere" ln "$SOCK" "$SD/$ID.link"
	refused $u "bind a socket of its own in its place" \
	    "$PY" -c "$BIND" "$SD/$ID.fake"
	refused $u "create a file among the sockets" \
	    sh -c ": >'$SD/planted'"
	refused $u "replace the broker's lock" rm -f "$SD/$ID.lock"
	# The recording.
	refused $u "rename the recording" mv -f "$CAST" "$CAST.old"
	refused $u "remove the recording" rm -f "$CAST"
	refused $u "append to the recording" sh -c "echo forged >>'$CAST'"
	refused $u "create a file among the recordings" \
	    sh -c ": >'$H/var/log/tunl/planted.cast'"
done
# Only engineers read recordings: never the customer account, nor tunlauth.
for u in tunl tunlauth; do
	refused $u "read the recording" cat "$CAST"
done

# ---- the registry: no relay account reaches the database --------------------
# The database and its directory are tunl-broker:tunl-auth (2770, files
# 0660): the broker account, the set-group-ID tunl-authority and root. The
# customer, the engineers and the principals command ask tunl-authority.
DBDIR=${RELAY_DB%/*}
harness_assert_eq "tunl-broker:tunl-auth 2770" \
    "$(relay_in_ns stat -c '%U:%G %a' "$DBDIR")" "the database's directory"
for f in "$RELAY_DB" "$RELAY_DB-wal" "$RELAY_DB-shm"; do
	harness_assert_eq "tunl-broker:tunl-auth 660" \
	    "$(relay_in_ns stat -c '%U:%G %a' "$f")" "$f"
done
before_db=$(relay_sql "SELECT state, mode, failures FROM sessions WHERE id = '$ID';")
# open(2) read-write, as any program (sqlite3 or another) must.
OPEN='import os, sys
flags = {"rw": os.O_RDWR, "ro": os.O_RDONLY}[sys.argv[2]]
try:
    os.open(sys.argv[1], flags)
except PermissionError as e:
    print("kernel refused:", e)
    sys.exit(1)
sys.exit(0)'
# kernel_refused USER WHAT CMD...: refused, with EACCES from the kernel.
kernel_refused() {
	refused "$@"
	grep -q "Permission denied\|unable to open\|authorization denied" \
	    "$H/attack.out" ||
	    harness_fail "$1: $2: not refused by a permission: $(cat "$H/attack.out")"
}
for u in tunl support tunlauth; do
	for f in "$RELAY_DB" "$RELAY_DB-wal" "$RELAY_DB-shm"; do
		kernel_refused $u "open ${f##*/} for writing" \
		    "$PY" -c "$OPEN" "$f" rw
		kernel_refused $u "open ${f##*/} for reading" \
		    "$PY" -c "$OPEN" "$f" ro
	done
	kernel_refused $u "reset the failure counts with sqlite3" \
	    sqlite3 -batch -bail "$RELAY_DB" "UPDATE sessions SET failures = 0;"
	kernel_refused $u "lift restricted mode with sqlite3" \
	    sqlite3 -batch -bail "$RELAY_DB" "UPDATE sessions SET mode = 'share';"
	kernel_refused $u "create a file in the database's directory" \
	    sh -c ": >'$DBDIR/planted'"
	kernel_refused $u "replace the database" \
	    sh -c ": >'$DBDIR/new.db' && mv -f '$DBDIR/new.db' '$RELAY_DB'"
done
# The registry verbs are tunl-authority's; it checks the caller's account.
for u in tunl tunlauth; do
	refused $u "run an engineer's registry verb" \
	    sh -c "echo engineer=mallory | '$H/libexec/tunl-authority' kill '$ID'"
done
# The customer account's verbs need the login key of a login bound to the
# session: a process of that account without one is refused.
refused tunl "restrict a session without a login" \
    env SSH_CONNECTION="127.0.0.1 4000 127.0.0.1 22" \
    "$H/libexec/tunl-authority" restrict "$ID"
harness_assert_contains "$(cat "$H/attack.out")" "not authorised for that session"
harness_assert_eq "$before_db" \
    "$(relay_sql "SELECT state, mode, failures FROM sessions WHERE id = '$ID';")" \
    "the session's row after the attacks"
relay_in_ns test -e "$DBDIR/planted" && harness_fail "a file was planted by the database"

# The broker speaks only to the customer and engineer accounts: anyone
# else's connection is closed before it is read.
CONN='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(60)
try:
    s.sendall(b"\x00\x00\x00\x10hello")
except OSError:
    pass
try:
    d = s.recv(4096)
except OSError:
    d = b""
sys.exit(0 if d else 1)'
for u in tunlauth tunl-broker; do
	uid=$(relay_in_ns id -u "$u")
	refused $u "get an answer from the broker" "$PY" -c "$CONN" "$SOCK"
	harness_wait 60 "the broker to log the refusal of uid $uid" \
	    grep -qF "connection from uid $uid refused" "$H/syslog.log"
done

# ---- a socket nobody but the broker should have made ---------------------------
# A second session, pending, no broker. Root plants a listener run by the
# customer account at its socket's path (the layout before issue 12 let
# the customer account do this itself); join must refuse it and send it
# nothing.
ID1=$ID
new
ID2=$ID
ID=$ID1
FAKE_DIR=$H/run/fake
mkdir -m 0700 "$FAKE_DIR" && chown "$HARNESS_UID_TUNL" "$FAKE_DIR" ||
    harness_fail "mkdir $FAKE_DIR"
LISTEN='import socket, sys, os
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
open(sys.argv[2], "w").close()
n = 0
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            n += len(d)
    except OSError:
        pass
    c.close()
    with open(sys.argv[2], "a") as f:
        f.write("connection %d bytes\n" % n)'
(exec unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" sh "$H" \
    setpriv --reuid=tunl --regid=tunl --init-groups --reset-env -- \
    "$PY" -c "$LISTEN" "$FAKE_DIR/s" "$FAKE_DIR/log") &
FPID=$!
harness_track "$FPID"
harness_wait 60 "the fake listener" test -e "$FAKE_DIR/log"
mv "$FAKE_DIR/s" "$H$SD/$ID2.sock" || harness_fail "cannot plant the fake socket"

# Owned by the customer account: refused on the file's owner.
pane fake1 "$SSH -o IdentityFile=$H/client/carol -t support@127.0.0.1 join $ID2"
wait_screen fake1 "not served by the relay's broker account"
wait_screen fake1 "exit="
# Owned by the broker account, listened on by the customer's: SO_PEERCRED.
chown "$HARNESS_UID_BROKER" "$H$SD/$ID2.sock" &&
    chmod 0666 "$H$SD/$ID2.sock" || harness_fail "chown fake"
pane fake2 "$SSH -o IdentityFile=$H/client/carol -t support@127.0.0.1 join $ID2"
wait_screen fake2 "not served by the relay's broker account"
wait_screen fake2 "exit="
harness_wait 60 "join's log of the forged listener" \
    grep -qF "served by uid $HARNESS_UID_TUNL" "$H/syslog.log"
# The listener got one connection (the SO_PEERCRED case) and no byte.
if grep -v "^connection 0 bytes$" "$FAKE_DIR/log" | grep -q .; then
	harness_fail "the fake broker was sent: $(cat "$FAKE_DIR/log")"
fi
kill "$FPID" 2>/dev/null
rm -f "$H$SD/$ID2.sock"

# ---- without their privilege, broker and authority refuse and say why -----------
# The build's copies are root's 0755: neither setuid nor setgid.
relay_as tunl "$top_builddir/tunl-broker" -F -f "$RELAY_CONF" -s "$ID2" \
    </dev/null >"$H/noprivs.out" 2>&1 &&
    harness_fail "a broker that is not setuid ran: $(cat "$H/noprivs.out")"
harness_assert_contains "$(cat "$H/noprivs.out")" "refusing to run as uid $HARNESS_UID_TUNL: the broker must run as tunl-broker"
relay_as tunl "$top_builddir/tunl-authority" sign "$ID2" </dev/null \
    >"$H/noprivs.out" 2>&1 &&
    harness_fail "an authority that is not setgid ran: $(cat "$H/noprivs.out")"
harness_assert_contains "$(cat "$H/noprivs.out")" "tunl-authority is not installed set-group-ID tunl-auth"
[ -S "$H$SD/$ID2.sock" ] && harness_fail "the refused broker left a socket"

# ---- the session went on, untouched ---------------------------------------------
after_sock=$(relay_in_ns stat -c '%i %U:%G %a' "$SOCK")
harness_assert_eq "$before_sock" "$after_sock" "the socket after the attacks"
harness_assert_eq "$before_cast" "$(relay_in_ns stat -c '%i %U:%G %a' "$CAST")" \
    "the recording after the attacks"
grep -q forged "$CAST" && harness_fail "the recording was written to"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo still-here-$((6*7))' Enter
wait_screen rw still-here-42
wait_screen ro still-here-42
harness_wait 60 "the recording to go on" grep -qF still-here-42 "$CAST"
harness_ssh_key support alice -- cast "$ID" </dev/null >"$H/cast.out" 2>"$H/cast.err" ||
    harness_fail "cast after the attacks: $(cat "$H/cast.err")"
grep -qF still-here-42 "$H/cast.out" || harness_fail "cast lacks the session's output"

# ---- every verb through tunl-authority ----------------------------------------
# eng VERB...: alice's verb through sshd; its output in $H/eng.out.
eng() {
	harness_ssh_key support alice -- "$@" </dev/null >"$H/eng.out" 2>"$H/eng.err" ||
	    harness_fail "$*: $(cat "$H/eng.err")"
}
eng list
grep -q "^$ID  *active  *share .* 2\$" "$H/eng.out" ||
    harness_fail "list does not show the session active with 2 viewers: $(cat "$H/eng.out")"
eng list --json
grep -qF "\"id\": \"$ID\", \"state\": \"active\"" "$H/eng.out" ||
    harness_fail "list --json: $(cat "$H/eng.out")"
eng show "$ID"
harness_assert_contains "$(cat "$H/eng.out")" "state     active"
harness_assert_contains "$(cat "$H/eng.out")" "activated"
eng token "$ID2"
grep -q "^token  *[0-9]" "$H/eng.out" || harness_fail "token: $(cat "$H/eng.out")"
# Locked by its failure cap (set here by root), unlocked by alice.
relay_sql "UPDATE sessions SET state = 'locked' WHERE id = '$ID2';" >/dev/null ||
    harness_fail "cannot lock $ID2"
eng unlock "$ID2"
harness_assert_eq "session $ID2 unlocked (pending)" "$(cat "$H/eng.out")"
eng show "$ID2"
grep -q "unlocked  *alice" "$H/eng.out" || harness_fail "show: no unlock by alice: $(cat "$H/eng.out")"
harness_assert_eq pending "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID2';")"
# kill: the customer is told who ended it (the authority's `ended`, asked
# by the customer's own tunl-shell, bound by its login key).
eng kill "$ID"
harness_assert_eq "session $ID ended" "$(cat "$H/eng.out")"
wait_screen cust "the relay ended the session: tunl: session ended by engineer alice (kill)"
harness_assert_eq ended "$(relay_sql "SELECT state FROM sessions WHERE id = '$ID';")"
harness_log "every account was refused and the session went on"
share_finish
