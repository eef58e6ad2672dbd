#!/bin/sh
# tunl-share end to end through a real relay: a private sshd with the
# shipped drop-ins, pam_tunl for the customer's token, tunl-shell's
# sign/produce/join, tunl-broker; the customer's tunl-share and the
# engineers' `ssh -t support@relay join` each in panes of a private tmux.
#
# Covered: text the customer's shell prints reaches a joined engineer; an
# engineer's typed echo runs in the customer's pane (capture-pane on the
# customer's private tmux); a read-only engineer never gets a byte in; a
# restricted session never gets a byte in; killing the customer's ssh
# reconnects without the engineers leaving; a relay with a wrong host key
# is refused; the token is never in ps (cmdline, environ) or the audit log.
#
# It needs parts built on other branches (pam_tunl, tunl-broker, tunl-shell
# with produce); it skips, naming what is missing, until they are here.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

missing=
[ -f "$top_builddir/.libs/pam_tunl.so" ] || missing="$missing pam_tunl.so (branch pam)"
[ -x "$top_builddir/tunl-broker" ] || missing="$missing tunl-broker (branch broker)"
[ -f "$top_srcdir/force-command/shell-live.c" ] ||
    missing="$missing tunl-shell produce/join (branch live)"
if [ -n "$missing" ]; then
	echo "SKIP: share-e2e: not built here:$missing"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-e2e
for c in setpriv sqlite3 tmux ssh-keygen; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
[ "$HARNESS_SAFE_TREE" = yes ] ||
    harness_skip "needs a tree only root can write (set HARNESS_TMPDIR)"
. "$top_srcdir/tests/integration/relay.sh"

SHARE=$top_builddir/tunl-share
relay_config "producer_grace = 120"
relay_init
relay_install
harness_install_libexec "$top_builddir/tunl-broker"
chown "$HARNESS_UID_BROKER:$HARNESS_GID_TUNL" "$H/libexec/tunl-broker" &&
    chmod 4755 "$H/libexec/tunl-broker" ||
    harness_fail "cannot make tunl-broker setuid"
harness_install_libexec "$top_builddir/tunl-shell" tunl-shell.bin
cat >"$H/libexec/tunl-shell" <<EOF
#!/bin/sh
exec $H/libexec/tunl-shell.bin -f $RELAY_CONF --broker $H/libexec/tunl-broker --engineer-keys $H/keys/support.authorized_keys
EOF
chmod 0755 "$H/libexec/tunl-shell"
HARNESS_SUBST_PAM_MODULE=$top_builddir/.libs/pam_tunl.so
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_CUSTOMER_USER \
    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER
for e in alice bob; do
	harness_keygen "$e"
	harness_authorize support "$e" "environment=\"TUNL_ENGINEER=$e\""
done
relay_pam_stack
harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
harness_start_sshd
KH=$H/client/known_hosts
RELAY=127.0.0.1:$HARNESS_PORT
SSH="ssh -F /dev/null -p $HARNESS_PORT -o UserKnownHostsFile=$KH -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes -o PreferredAuthentications=publickey -o ControlPath=none"

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

TM=tunl-share-e2e-$$
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
	tm send-keys -t "e2e:$1" "exec sh -c '$2; echo exit=\$?; sleep 600'" Enter
}
screen() {
	tm capture-pane -p -t "e2e:$1"
}
wait_screen() {
	_wt=$(( ${3:-20} * 5 ))
	while [ $_wt -gt 0 ]; do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.2
		_wt=$((_wt - 1))
	done
	screen "$1" >&2
	harness_fail "pane $1 never showed [$2]"
}
# The customer's private tmux: its socket is in tunl-share's directory.
cust_sock() {
	for _d in "$H"/xdg/tunl-share.*; do
		[ -S "$_d/tmux.sock" ] && { echo "$_d/tmux.sock"; return 0; }
	done
	return 1
}
cust_wait_pane() {
	_wt=100
	while [ $_wt -gt 0 ]; do
		CSOCK=$(cust_sock) &&
		    tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 2>/dev/null |
		    grep -qF -- "$1" && return 0
		sleep 0.2
		_wt=$((_wt - 1))
	done
	harness_fail "the customer's pane never showed [$1]"
}
mkdir -p "$H/xdg" && chmod 0700 "$H/xdg"
SHARE_ENV="env XDG_RUNTIME_DIR=$H/xdg SHELL=/bin/sh PS1=\$\\ "

# ---- a relay whose host key is not the pinned one is refused ----------------
new
ssh-keygen -q -t ed25519 -N '' -f "$H/client/otherhost" </dev/null
sed "s|^\([^ ]*\) .*|\1 $(cut -d' ' -f1,2 "$H/client/otherhost.pub")|" \
    "$KH" >"$H/client/wrong_known_hosts"
out=$($SHARE_ENV "$SHARE" --relay "$RELAY" --known-hosts \
    "$H/client/wrong_known_hosts" --token-file "$TOKENFILE" "$ID" 2>&1 \
    </dev/null) && harness_fail "a relay with a wrong host key was accepted"
harness_assert_contains "$out" "host key could not be verified"

# ---- share: output out, an engineer's echo in, read-only gets nothing in -----
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_pane '$'
# The token is in no process's argv or environment, nor in the audit log.
TOKEN=$(cat "$TOKENFILE")
for p in /proc/[0-9]*; do
	tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$TOKEN" &&
	    harness_fail "the token is in the argv of pid ${p#/proc/}"
	tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qF -- "$TOKEN" &&
	    harness_fail "the token is in the environment of pid ${p#/proc/}"
done
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
pane ro "$SSH -o IdentityFile=$H/client/bob -t support@127.0.0.1 join $ID --read-only"
sleep 2
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo customer-$((20+3))' Enter
wait_screen rw customer-23
wait_screen ro customer-23
tm send-keys -t e2e:rw -l 'echo engineer-$((40+2))'
tm send-keys -t e2e:rw Enter
cust_wait_pane engineer-42
tm send-keys -t e2e:ro -l 'echo readonly-$((1+1))'
tm send-keys -t e2e:ro Enter
sleep 2
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'readonly' &&
    harness_fail "a read-only engineer's keys reached the customer"
AUDIT=${CSOCK%/tmux.sock}/audit.log
grep -qF -- "$TOKEN" "$AUDIT" && harness_fail "the token is in the audit log"
grep -q 'keys allowed pane=main from=alice' "$AUDIT" ||
    harness_fail "the audit log lacks alice's keys"

# ---- killing the customer's ssh: reconnect, the engineers stay -------------
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$(command -v ssh)" ] || continue
	tr '\0' ' ' <"$p/cmdline" | grep -q " produce $ID" && kill "${p#/proc/}"
done
sleep 1
wait_screen rw "reconnect" 20
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo after-$((5*5))' Enter
wait_screen rw after-25 40
screen rw | grep -q 'exit=' && harness_fail "the engineer was dropped"

# ---- the end key ends it: key and certificate removed, log kept ---------------
DIR=${CSOCK%/tmux.sock}
tmux -S "$CSOCK" kill-session -t tunl
wait_screen cust "audit log: $DIR/audit.log"
[ -e "$DIR/key" ] || [ -e "$DIR/key-cert.pub" ] &&
    harness_fail "key or certificate left behind"
[ -s "$DIR/audit.log" ] && [ -s "$DIR/session.cast" ] ||
    harness_fail "audit log or recording missing"

# ---- a restricted session never gets a byte in -----------------------------
new --restricted
pane rcust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
sleep 3
CSOCK=
for d in "$H"/xdg/tunl-share.*; do
	[ -S "$d/tmux.sock" ] && CSOCK=$d/tmux.sock
done
[ -n "$CSOCK" ] || harness_fail "the restricted tunl-share did not start"
pane rrw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
sleep 2
tm send-keys -t e2e:rrw -l 'echo restricted-$((3+3))'
tm send-keys -t e2e:rrw Enter
sleep 2
tmux -S "$CSOCK" capture-pane -p -t tunl:0.0 | grep -q 'restricted-6' &&
    harness_fail "keys reached a restricted customer"
tmux -S "$CSOCK" kill-session -t tunl
tm kill-server 2>/dev/null
exit 0
