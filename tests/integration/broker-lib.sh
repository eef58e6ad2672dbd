# broker-lib.sh: sourced by the broker's integration tests after
# harness.sh and relay.sh. No sshd: the broker and the test peers run in
# private namespaces with the harness's /run, passwd and group
# (relay_in_ns), the peers as the harness's customer (tunl) and engineer
# (support) accounts (relay_as), so SO_PEERCRED sees the real uids.
#
#   broker_setup [CFG-LINE...]      tunl.conf + tunl-admin init
#   broker_session SID [MODE]       a pending session in the registry
#   broker_start SID                tunl-broker -F in the background: $BPID
#   producer USER SID ARGS...       test-producer in the background: $!
#                                   (as if tunl-authority admit opened it)
#   unadmitted_producer USER SID... the same without the key group
#   consumer USER SID NAME ARGS...  test-consumer in the background: $!
#                                   (admitted, as for producer)
#   unadmitted_consumer USER SID NAME ARGS... the same without the key group
#   wait_grep FILE TEXT [SECS]      until FILE holds TEXT (fixed string)
#   wait_gone PID [SECS]            until PID has exited
#   registry_changed SID [USER]     tell SID's broker its row changed, as
#                                   USER (default support), as kill does
#
# The limits of the waits (60 s, or SECS if more) are only there so that
# a broken build fails instead of hanging: on a loaded machine a broker
# under the sanitizers may take many times longer than on an idle one.

BROKER=$top_builddir/tunl-broker
TPROD=$top_builddir/tests/helpers/test-producer
TCONS=${TCONS_OVERRIDE:-$top_builddir/tests/helpers/test-consumer}
[ -x "$BROKER" ] && [ -x "$TPROD" ] && [ -x "$TCONS" ] ||
    harness_skip "tunl-broker or the test peers are not built"

# Files the peers write, as their own accounts.
T=$H/t
mkdir -p "$T" && chmod 1777 "$T" || harness_fail "mkdir $T"

broker_setup() {
	relay_config "log_level = debug" "$@"
	relay_init
}

broker_session() {
	_bnow=$(date +%s)
	relay_sql "INSERT INTO sessions (id, state, mode, case_ref, customer,
	    host, engineer, created, expires) VALUES ('$1', 'pending',
	    '${2:-share}', 'CASE-42', 'acme', 'customer.example', 'alice',
	    $_bnow, $((_bnow + 3600)));" || harness_fail "insert session $1"
}

sock_of() {
	echo "/run/tunl/sessions/$1.sock"
}

# In the background, with exec all the way down, so that $! is the pid of
# the program itself (a backgrounded function would be a subshell).
bg_in_ns() {
	(exec unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" \
	    sh "$H" "$@") &
}

bg_as() {
	_bu=$1
	shift
	bg_in_ns setpriv --reuid="$_bu" --regid="$_bu" --init-groups \
	    --reset-env -- "$@"
}

broker_start() {
	bg_in_ns "$BROKER" -F -f "$RELAY_CONF" -s "$1" \
	    </dev/null >>"$H/broker-$1.log" 2>&1
	BPID=$!
	harness_track "$BPID"
	harness_wait 60 "the socket of the broker for $1" _broker_listening "$1"
	# Ready means set up: the sandbox is in place before the loop runs.
	wait_grep "$H/broker-$1.log" "broker ready"
}

# The broker's socket is there; fail, showing its log, if it has exited.
_broker_listening() {
	[ -S "$H/run/tunl/sessions/$1.sock" ] && return 0
	harness_alive "$BPID" && return 1
	cat "$H/broker-$1.log" >&2
	harness_fail "broker for $1 exited during setup"
}

# A producer as the customer account (a consumer as the engineer account)
# stands in for a connection that tunl-authority admit opened: its
# effective group is the key group (tunl-auth), which the broker requires
# of both. unadmitted_producer and unadmitted_consumer are any other
# process of the account, which the broker refuses.
bg_as_admitted() {
	_bu=$1
	shift
	bg_in_ns setpriv --reuid="$_bu" --regid=tunl-auth --init-groups \
	    --reset-env -- "$@"
}

producer() {
	_pu=$1
	_ps=$2
	shift 2
	bg_as_admitted "$_pu" "$TPROD" -S "$(sock_of "$_ps")" -s "$_ps" "$@" \
	    2>>"$H/producer.err"
	harness_track $!
}

unadmitted_producer() {
	_pu=$1
	_ps=$2
	shift 2
	bg_as "$_pu" "$TPROD" -S "$(sock_of "$_ps")" -s "$_ps" "$@" \
	    2>>"$H/producer.err"
	harness_track $!
}

consumer() {
	_cu=$1
	_cs=$2
	_cn=$3
	shift 3
	bg_as_admitted "$_cu" "$TCONS" -S "$(sock_of "$_cs")" -s "$_cs" -u "$_cn" "$@" \
	    2>>"$H/consumer-$_cn.err"
	harness_track $!
}

unadmitted_consumer() {
	_cu=$1
	_cs=$2
	_cn=$3
	shift 3
	bg_as "$_cu" "$TCONS" -S "$(sock_of "$_cs")" -s "$_cs" -u "$_cn" "$@" \
	    2>>"$H/consumer-$_cn.err"
	harness_track $!
}

# _wait_limit [SECS]: the limit in seconds, at least 60.
_wait_limit() {
	if [ "${1:-0}" -gt 60 ]; then
		echo "$1"
	else
		echo 60
	fi
}

# Not harness_wait: a failure shows the file waited on.
wait_grep() {
	_wl=$(_wait_limit "${3:-}")
	_wend=$(( $(date +%s) + _wl ))
	until [ -f "$1" ] && grep -qF -- "$2" "$1"; do
		if [ "$(date +%s)" -ge "$_wend" ]; then
			echo "---- $1 ----" >&2
			cat "$1" >&2 2>/dev/null
			harness_fail "no '$2' in $1 after $_wl s"
		fi
		sleep 0.05
	done
	return 0
}

# Returns 1 if PID still runs at the limit (the caller says what failed).
wait_gone() {
	_wl=$(_wait_limit "${2:-}")
	_wend=$(( $(date +%s) + _wl ))
	while harness_alive "$1"; do
		[ "$(date +%s)" -lt "$_wend" ] || return 1
		sleep 0.05
	done
	return 0
}

# The size of a file (0 if missing).
fsize() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# Events of a session as "actor action detail" lines.
events_of() {
	relay_sql "SELECT actor || ' ' || action || ' ' || detail FROM events
	    WHERE session_id = '$1' ORDER BY id;"
}

# What tunl-shell kill and unlock do after their write: tell the broker.
registry_changed() {
	relay_as "${2:-support}" "$top_builddir/tests/helpers/registry-changed" \
	    /run/tunl "$1" || harness_fail "the broker of $1 was not told"
}
