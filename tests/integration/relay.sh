# relay.sh: sourced after harness.sh by tests that need a configured tunl
# relay: a tunl.conf under $H and `tunl-admin init` run with the harness's
# private /run, passwd and group.
#
# tunl-authority is setgid and takes a configuration path (-f) from root
# only, so, run as tunl or support, it reads the built-in path. The
# harness's namespaces (sshd's and relay_in_ns's) therefore bind
# $H/etc/tunl over the built-in configuration directory (HARNESS_CFG_DIR).
#
#   relay_config [LINE...]   write $RELAY_CONF (extra key = value lines win)
#   relay_init               tunl-admin init; output in $H/admin-init.log
#   relay_install            put tunl-principals (root 0755) and
#                            tunl-authority (root:tunl-auth 2755) in $H/libexec
#   relay_in_ns CMD...       run CMD, as root, in a fresh private namespace
#                            with the same binds as sshd's (so it sees the
#                            same /run/tunl); works before sshd is started
#   relay_as USER CMD...     the same, as USER with its groups and a reset
#                            environment (put "env NAME=VALUE" before CMD)
#   relay_sql SQL            run SQL on the registry with the sqlite3 tool
#   relay_login ID TOKEN [CMD]  keyboard-interactive login as tunl answering
#                            pam_tunl's prompts by their text (never argv);
#                            output in $H/out, errors in $H/err
#   relay_customer_login [ENGINEER...]  after relay_config: the whole relay
#                            for certificate logins through pam_tunl (below)
#   relay_cert KEY [SERIAL]  a session certificate for $H/client/KEY.pub
#   relay_produce N KEY INPUT [ARGS...]  a test-producer as the customer
#   relay_wait_grep FILE TEXT [SECS]  wait for TEXT in FILE, else fail

: "${top_builddir:?}"
TUNL_ADMIN=$top_builddir/tunl-admin
RELAY_CONF=$H/etc/tunl/tunl.conf
RELAY_DB=$H/var/lib/tunl/tunl.db

# The built-in configuration path, as tunl-admin reports it.
RELAY_CFG_DEFAULT=$("$TUNL_ADMIN" help 2>/dev/null |
    sed -n 's/^The configuration is read from -f, else \(.*\)\.$/\1/p')
[ -n "$RELAY_CFG_DEFAULT" ] ||
    harness_fail "cannot learn the built-in configuration path from tunl-admin help"
HARNESS_CFG_DIR=${RELAY_CFG_DEFAULT%/*}
[ "${RELAY_CFG_DEFAULT##*/}" = tunl.conf ] ||
    harness_skip "built-in configuration $RELAY_CFG_DEFAULT is not named tunl.conf"
# A missing directory gets a tmpfs over its parent, in the namespace only:
# allowed for a parent like /usr/local/etc, never for /etc or /.
if [ ! -d "$HARNESS_CFG_DIR" ]; then
	_rp=${HARNESS_CFG_DIR%/*}
	case $_rp in
	/etc|/|'') harness_skip "cannot mount over $_rp for $HARNESS_CFG_DIR" ;;
	*/etc) [ -d "$_rp" ] ||
	    harness_skip "neither $HARNESS_CFG_DIR nor $_rp exists" ;;
	*) harness_skip "will not mount a tmpfs over $_rp for $HARNESS_CFG_DIR" ;;
	esac
fi
export TUNL_ADMIN RELAY_CONF RELAY_DB RELAY_CFG_DEFAULT HARNESS_CFG_DIR

relay_in_ns() {
	unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" sh "$H" \
	    "$@"
}

relay_as() {
	_ru=$1
	shift
	relay_in_ns setpriv --reuid="$_ru" --regid="$_ru" --init-groups \
	    --reset-env -- "$@"
}

relay_config() {
	[ "$HARNESS_SAFE_TREE" = yes ] ||
	    harness_skip "tunl-admin needs a tree whose parents only root can write (set HARNESS_TMPDIR)"
	mkdir -p "$H/etc/tunl" "$H/var/lib" || harness_fail "mkdir under $H"
	chmod 0755 "$H/etc/tunl" "$H/var" "$H/var/lib"
	{
		echo "database = $RELAY_DB"
		echo "runtime_dir = /run/tunl"
		echo "recording_dir = $H/var/log/tunl"
		echo "token_key = $H/etc/tunl/token.key"
		echo "ca_key = $H/etc/tunl/user_ca"
		echo "engineer_keys = $H/keys/support.authorized_keys"
	} >"$RELAY_CONF.new"
	# A repeated key is an error: extra lines replace the defaults above.
	for _rl; do
		_rk=${_rl%% *}
		grep -v "^$_rk = " "$RELAY_CONF.new" >"$RELAY_CONF.tmp"
		{ cat "$RELAY_CONF.tmp"; echo "$_rl"; } >"$RELAY_CONF.new"
	done
	mv "$RELAY_CONF.new" "$RELAY_CONF"
	rm -f "$RELAY_CONF.tmp"
	chmod 0644 "$RELAY_CONF"
}

relay_init() {
	relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/admin-init.log" 2>&1 ||
	    harness_fail "tunl-admin init failed: $(cat "$H/admin-init.log")"
	HARNESS_SUBST_USER_CA=$H/etc/tunl/user_ca.pub
	HARNESS_SUBST_TUNL_CONF=$RELAY_CONF
	export HARNESS_SUBST_USER_CA HARNESS_SUBST_TUNL_CONF
}

relay_install() {
	harness_install_libexec "$top_builddir/tunl-principals"
	harness_install_libexec "$top_builddir/tunl-authority"
	chown "0:$HARNESS_GID_TUNL_AUTH" "$H/libexec/tunl-authority" &&
	    chmod 2755 "$H/libexec/tunl-authority" ||
	    harness_fail "cannot make tunl-authority setgid"
}

# relay_holds_token TOKEN [FILE...]: whether the token (digits) appears in
# the files (or standard input) as a number of its own. Inside a longer
# number (an epoch time in another process's argv, say) it is a
# coincidence, not a leak, and a machine-wide ps log holds many numbers.
# The pattern goes to grep through a 0600 file, never argv: a ps sampler
# running meanwhile would otherwise record the token in grep's command line.
relay_holds_token() {
	_rht=$1
	shift
	(umask 077 && printf '(^|[^0-9])%s([^0-9]|$)\n' "$_rht" \
	    >"$H/client/token.pat") || harness_fail "cannot write a pattern file"
	LC_ALL=C grep -qaE -f "$H/client/token.pat" -- "$@"
	_rhr=$?
	rm -f "$H/client/token.pat"
	return $_rhr
}

# Waits for a lock as tunl's programs do (REGISTRY_BUSY_TIMEOUT_MS): the
# registry is written by many short-lived processes (each broker's calls
# included), and the last connection to close checkpoints under a brief
# exclusive lock.
relay_sql() {
	command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"
	sqlite3 -batch -bail -cmd '.timeout 5000' "$RELAY_DB" "$1"
}

# relay_lock_registry: another process (pid $RELAY_LOCKER) holds the
# registry's write lock from now until relay_unlock_registry; should the
# test be gone, it lets go after 10 minutes and exits 1.
relay_lock_registry() {
	rm -f "$H/registry.locked" "$H/registry.unlock"
	python3 - "$RELAY_DB" "$H/registry.locked" "$H/registry.unlock" \
	    <<'PY' 2>"$H/locker.err" &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
end = time.monotonic() + 600
while not os.path.exists(sys.argv[3]):
    if time.monotonic() > end:
        sys.exit(1)
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
	RELAY_LOCKER=$!
	harness_track "$RELAY_LOCKER"
	harness_wait 60 "the registry to be locked" _relay_locked
}

_relay_locked() {
	[ -e "$H/registry.locked" ] && return 0
	harness_alive "$RELAY_LOCKER" ||
	    harness_fail "the lock holder exited before locking: $(cat "$H/locker.err")"
	return 1
}

_relay_lock_gone() {
	! harness_alive "$RELAY_LOCKER"
}

# relay_unlock_registry: fail unless the lock is still held (nothing the
# test checked meanwhile may have happened after it went), then let go.
relay_unlock_registry() {
	harness_alive "$RELAY_LOCKER" ||
	    harness_fail "the registry's lock went before the test let go"
	touch "$H/registry.unlock"
	harness_wait 60 "the lock holder to let go" _relay_lock_gone
	wait "$RELAY_LOCKER"
	harness_assert_eq 0 $? "the lock holder's exit status"
}

# relay_f2b_matched LOG: how many lines of LOG (a syslog sink's file, or a
# syslog daemon's) the shipped fail2ban filter matches, by fail2ban-regex;
# returns 1, printing nothing, where fail2ban is not installed. The filter
# includes common.conf from fail2ban's own filter.d, copied beside it.
relay_f2b_matched() {
	command -v fail2ban-regex >/dev/null 2>&1 &&
	    [ -d /etc/fail2ban/filter.d ] || return 1
	# A syslog daemon's file: no <PRI> prefix.
	sed 's/^<[0-9]*>//' "$1" >"$H/f2b.log"
	mkdir -p "$H/f2b/filter.d"
	cp "$top_srcdir/fail2ban/filter.d/tunl.conf" "$H/f2b/filter.d/"
	for _rc in /etc/fail2ban/filter.d/common.conf \
	    /etc/fail2ban/filter.d/common.local; do
		[ -f "$_rc" ] && cp "$_rc" "$H/f2b/filter.d/"
	done
	fail2ban-regex "$H/f2b.log" "$H/f2b/filter.d/tunl.conf" \
	    >"$H/f2b.out" 2>&1 ||
	    harness_fail "fail2ban-regex: $(cat "$H/f2b.out")"
	sed -n 's/^Lines: .* \([0-9][0-9]*\) matched.*/\1/p' "$H/f2b.out"
}

# An askpass that answers pam_tunl's prompts by their text, from files.
relay_askpass() {
	cat >"$H/bin/askpass" <<'EOF'
#!/bin/sh
printf '%s\n' "$1" >>"$HARNESS_ASKPASS_DIR/askpass.prompts"
case $1 in
*"Session id: "*) cat "$HARNESS_ASKPASS_DIR/answer.id" ;;
*"Session token: "*) cat "$HARNESS_ASKPASS_DIR/answer.token" ;;
*) cat "$HARNESS_ASKPASS_DIR/askpass.answer" ;;
esac
EOF
	chmod 0755 "$H/bin/askpass"
}

relay_login() {
	grep -q 'answer.token' "$H/bin/askpass" 2>/dev/null || relay_askpass
	(umask 077 && printf '%s\n' "$1" >"$H/client/answer.id" &&
	    printf '%s\n' "$2" >"$H/client/answer.token") ||
	    harness_fail "cannot write the answers"
	: >"$H/client/askpass.prompts"
	harness_ssh_kbd tunl unused "${3:-status}" </dev/null \
	    >"$H/out" 2>"$H/err"
}

# relay_pam_stack: the namespace's /etc/pam.d/sshd as on a Debian relay:
# the shipped pam.d/tunl first (`@include tunl` above common-auth), then
# the lines of Debian's common-auth, common-account and common-session.
# (pam_setcred replays auth; pam_succeed_if's setcred says PAM_IGNORE, so
# the customer's credentials come from pam_unix as on a real relay.)
relay_pam_stack() {
	{
		cat "$top_srcdir/pam.d/tunl.in"
		echo "auth [success=1 default=ignore] pam_unix.so nullok"
		echo "auth requisite pam_deny.so"
		echo "auth required pam_permit.so"
		echo "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so"
		echo "account requisite pam_deny.so"
		echo "account required pam_permit.so"
		echo "session required pam_unix.so"
	} >"$H/pam-stack.in"
	harness_pam_stack "$H/pam-stack.in"
}

# relay_customer_login [ENGINEER...]: after relay_config, a relay where a
# customer's certificate login goes through pam_tunl (whose session stage
# gives it the login key tunl-authority admit needs before the broker
# takes a producer) and each ENGINEER has a key in the engineers' keys
# file: tunl-admin init, tunl-broker installed as docs/broker.md says
# (tunl-broker:tunl 4750), tunl-shell as the ForceCommand, the pam.d
# stack and the shipped drop-in, sshd started. $RELAY_SHELL_PRELUDE, if
# set, is shell text the ForceCommand runs before tunl-shell;
# $RELAY_SHELL_ARGS, more options for tunl-shell. Engineers' keys:
# $H/client/ENGINEER (relay_cert makes the customer's). Sets $SSH (everything the
# harness's ssh would give, for commands run by others) and sql() (SQL
# that must succeed).
relay_customer_login() {
	relay_init
	relay_install
	harness_install_libexec "$top_builddir/tunl-broker"
	chown "$HARNESS_UID_BROKER:$HARNESS_GID_TUNL" \
	    "$H/libexec/tunl-broker" &&
	    chmod 4750 "$H/libexec/tunl-broker" ||
	    harness_fail "cannot make tunl-broker setuid"
	harness_install_libexec "$top_builddir/tunl-shell" tunl-shell.bin
	{
		echo "#!/bin/sh"
		[ -z "${RELAY_SHELL_PRELUDE:-}" ] ||
		    printf '%s\n' "$RELAY_SHELL_PRELUDE"
		echo "exec $H/libexec/tunl-shell.bin -f $RELAY_CONF" \
		    "--authority $H/libexec/tunl-authority" \
		    "--broker $H/libexec/tunl-broker" \
		    "--engineer-keys $H/keys/support.authorized_keys" \
		    "${RELAY_SHELL_ARGS:-}"
	} >"$H/libexec/tunl-shell" && chmod 0755 "$H/libexec/tunl-shell" ||
	    harness_fail "cannot write the ForceCommand"

	HARNESS_SUBST_PAM_MODULE=$top_builddir/.libs/pam_tunl.so
	HARNESS_SUBST_CUSTOMER_USER=tunl
	HARNESS_SUBST_ENGINEER_USER=support
	HARNESS_SUBST_PRINCIPALS_USER=tunlauth
	export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_CUSTOMER_USER \
	    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER
	for _rce in "$@"; do
		harness_keygen "$_rce"
		harness_authorize support "$_rce" \
		    "environment=\"TUNL_ENGINEER=$_rce\""
	done
	relay_pam_stack
	harness_sshd_config "$top_srcdir/sshd_config.d/tunl.conf.in"
	harness_start_sshd

	SSH="ssh -F /dev/null -p $HARNESS_PORT -o UserKnownHostsFile=$H/client/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes -o PreferredAuthentications=publickey -o ControlPath=none -o UpdateHostKeys=no"
	sql() {
		relay_sql "$1" || harness_fail "sql: $1"
	}
}

# relay_cert KEY [SERIAL]: the relay's certificate for session $S on
# $H/client/KEY.pub (made first if there is none), as sign makes it (sign
# puts the id of the token it consumed in the serial), signed with a
# copy of the user CA.
relay_cert() {
	[ -f "$H/client/$1.pub" ] || harness_keygen "$1"
	[ -f "$H/ca-copy" ] ||
	    (umask 077 && cp "$H/etc/tunl/user_ca" "$H/ca-copy") ||
	    harness_fail "cp CA"
	ssh-keygen -q -s "$H/ca-copy" -I "$S" -n "tunl-$S" -V -1m:+30m \
	    ${2:+-z "$2"} "$H/client/$1.pub" </dev/null ||
	    harness_fail "signing $1"
}

# relay_produce N KEY INPUT [ARGS...]: tests/helpers/test-producer (with
# ARGS) for session $S through `ssh tunl@relay produce` with the key
# $H/client/KEY (and its certificate), reading INPUT; INPUT "-" is a fresh
# fifo $H/feedN opened read-write, so it never ends by itself and the
# producer stays until the test stops it (an asynchronous command's stdin
# would be /dev/null). Its log in $H/prodN.log, its ssh's stderr in
# $H/prodN.err; sets $PRODN and $SSHN.
relay_produce() {
	_rpn=$1
	_rpk=$2
	_rpi=$3
	shift 3
	rm -f "$H/bridge$_rpn.sock"
	"$top_builddir/tests/helpers/sock-exec" "$H/bridge$_rpn.sock" $SSH \
	    -o IdentityFile="$H/client/$_rpk" -T tunl@127.0.0.1 produce \
	    2>"$H/prod$_rpn.err" &
	SSHN=$!
	harness_track $SSHN
	harness_wait 30 "bridge $_rpn to listen" test -S "$H/bridge$_rpn.sock"
	if [ "$_rpi" = - ]; then
		_rpi=$H/feed$_rpn
		rm -f "$_rpi"
		mkfifo "$_rpi" || harness_fail "mkfifo"
		"$top_builddir/tests/helpers/test-producer" \
		    -S "$H/bridge$_rpn.sock" -s "$S" -l "$H/prod$_rpn.log" \
		    "$@" <>"$_rpi" &
	else
		"$top_builddir/tests/helpers/test-producer" \
		    -S "$H/bridge$_rpn.sock" -s "$S" -l "$H/prod$_rpn.log" \
		    "$@" <"$_rpi" &
	fi
	PRODN=$!
	harness_track $PRODN
}

# relay_wait_grep FILE TEXT [SECS]: the limit only bounds a failure (a
# loaded machine is slow), so it is generous. On failure FILE and the
# producers' ssh errors are shown.
relay_wait_grep() {
	_rwt=$(( ${3:-60} * 20 ))
	while [ $_rwt -gt 0 ]; do
		[ -f "$1" ] && grep -qF -- "$2" "$1" && return 0
		sleep 0.05
		_rwt=$((_rwt - 1))
	done
	echo "---- $1 ----" >&2
	cat "$1" "$H/prod"*.err >&2 2>/dev/null
	harness_fail "no '$2' in $1 after ${3:-60} s"
}

# relay_cast_summary CAST: two lines, the bytes of output (UTF-8) the
# recording's output events hold, then the text of its last marker event
# (empty without one). Fails when the file is not a readable cast.
relay_cast_summary() {
	python3 - "$1" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
out = 0
marks = []
for line in lines[1:]:
    e = json.loads(line)
    if e[1] == "o":
        out += len(e[2].encode("utf-8"))
    elif e[1] == "m":
        marks.append(e[2])
print(out)
print(marks[-1] if marks else "")
PY
}
