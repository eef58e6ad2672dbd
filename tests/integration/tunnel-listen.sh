#!/bin/sh
# The tunnel upgrade's relay side (issue 14), through the real sshd with
# the shipped drop-in and pam.d lines: each session that is not restricted
# gets its own relay port as it is made (tunnel_port_min..max, registry
# table tunnels); tunl-principals names it in a permitlisten option for
# tunnel_user only, and sshd lets the session's certificate, logged in as
# tunnel_user, listen there and nowhere else.
#
# Covered: ports are given in order, none to a restricted session or past
# the range, and an ended session's port is given again; session A's
# certificate listens on A's port; it cannot listen on B's port, on a port
# outside the range, on the wildcard address, open a direct-tcpip channel
# or run a command; B's certificate cannot listen on A's port; A's
# certificate on the customer account, a token login (keyboard-
# interactive, on the customer account) and the engineer account cannot
# listen at all, and a token cannot log in as tunnel_user; a session made
# restricted after it got a port, and an ended session, can no longer
# listen. The certificates come from the real `sign` (tunl-share's path).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: tunnel-listen: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init tunnel-listen
command -v ss >/dev/null 2>&1 || harness_skip "needs ss"

# Three free ports in a row, outside sshd's and the usual ephemeral range.
_tries=0
while :; do
	_tries=$((_tries + 1))
	[ $_tries -le 50 ] || harness_fail "no three free ports in a row"
	P0=$(( 33000 + $(od -An -N2 -tu2 /dev/urandom) % 4000 ))
	[ -z "$(ss -Hltn "( sport >= :$P0 and sport <= :$((P0 + 2)) )" \
	    2>/dev/null)" ] && break
done

. "$top_srcdir/tests/integration/share-lib.sh"
share_setup "tunnel_port_min = $P0" "tunnel_port_max = $((P0 + 2))"
relay_askpass

port_of() {
	relay_sql "SELECT port FROM tunnels WHERE session_id = '$1';" ||
	    harness_fail "sql"
}
listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -qF "127.0.0.1:$1"
}
not_listening() {
	! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
# sign_cert ID TOKENFILE NAME: the real `sign` after a token login; the
# certificate goes to $H/client/NAME-cert.pub.
sign_cert() {
	harness_keygen "$3"
	(umask 077 && printf '%s\n' "$1" >"$H/client/answer.id" &&
	    cat "$2" >"$H/client/answer.token") ||
	    harness_fail "cannot write the answers"
	harness_ssh_kbd tunl unused sign "$1" <"$H/client/$3.pub" \
	    >"$H/client/$3-cert.pub" 2>"$H/err" ||
	    harness_fail "sign $1: $(cat "$H/err")"
	ssh-keygen -L -f "$H/client/$3-cert.pub" >"$H/$3.cert.txt" ||
	    harness_fail "no certificate for $1"
}
# fwd NAME USER LISTEN: ssh -N with NAME's certificate as USER, asking to
# listen on LISTEN (host:port); exits when the listen is refused.
fwd() {
	exec timeout -k 5 60 $SSH -i "$H/client/$1" \
	    -o CertificateFile="$H/client/$1-cert.pub" -N \
	    -o ExitOnForwardFailure=yes -R "$3:127.0.0.1:$HARNESS_PORT" \
	    "$2@127.0.0.1" </dev/null
}
# refused NAME USER LISTEN: that listen is refused and nothing listens.
refused() {
	_out=$(fwd "$@" 2>&1) && harness_fail "$2 with $1's key listened on $3"
	case $_out in
	*"remote port forwarding failed"*|*"Permission denied"*) ;;
	*) harness_fail "$2 with $1's key on $3: $_out" ;;
	esac
	listening "${3##*:}" && harness_fail "port ${3##*:} is open"
	return 0
}

# ---- ports ------------------------------------------------------------------
new --restricted
harness_assert_eq "" "$(port_of "$ID")" "a restricted session's port"
new
A=$ID
TA=$TOKENFILE
PA=$(port_of "$A")
harness_assert_eq "$P0" "$PA" "the first session's port"
new
B=$ID
TB=$TOKENFILE
PB=$(port_of "$B")
harness_assert_eq "$((P0 + 1))" "$PB" "the second session's port"
new
C=$ID
TC=$TOKENFILE
PC=$(port_of "$C")
harness_assert_eq "$((P0 + 2))" "$PC" "the third session's port"
# The range is used up: a session is still made, without a port.
new
D=$ID
harness_assert_eq "" "$(port_of "$D")" "a port beyond the range"

# show names it.
out=$(harness_ssh_key support alice -- show "$A" </dev/null 2>&1) ||
    harness_fail "show $A: $out"
harness_assert_contains "$out" "tunnel    port $PA"
sign_cert "$A" "$TA" certa
harness_assert_contains "$(cat "$H/certa.cert.txt")" "permit-port-forwarding"
sign_cert "$B" "$TB" certb

# ---- A's certificate as tunnel_user: its own port, nothing else -------------
harness_log "ports given; A's certificate as tunl-tunnel"
fwd certa tunl-tunnel "127.0.0.1:$PA" >"$H/fwda.out" 2>&1 &
FWD=$!
harness_track "$FWD"
fwd_debug() { ss -ltn >&2; cat "$H/fwda.out" >&2; tail -n 20 "$H/sshd.log" >&2; }
HARNESS_WAIT_DEBUG=fwd_debug
harness_wait 60 "the relay to listen on A's port $PA" listening "$PA"
# What listens is the tunnel account's sshd, on loopback only.
ss -Hltnp "sport = :$PA" | grep -q '"sshd"' ||
    harness_fail "not sshd on $PA: $(ss -Hltnp "sport = :$PA")"
harness_syslog_sync
grep -q "principal=tunl-$A permitlisten=127.0.0.1:$PA" "$H/syslog.log" ||
    harness_fail "tunl-principals did not log the permitlisten"
kill "$FWD" 2>/dev/null
wait "$FWD" 2>/dev/null
harness_wait 60 "port $PA to be closed" not_listening "$PA"
HARNESS_WAIT_DEBUG=share_debug

harness_log "A's certificate elsewhere"
refused certa tunl-tunnel "127.0.0.1:$PB"
refused certa tunl-tunnel "127.0.0.1:$((P0 + 3))"
refused certa tunl-tunnel "0.0.0.0:$PA"
refused certa tunl-tunnel "localhost:$PA"
# No forwarding the other way (-W is a direct-tcpip channel), no command.
harness_log "no -W, no command"
out=$(timeout -k 5 60 $SSH -i "$H/client/certa" \
    -o CertificateFile="$H/client/certa-cert.pub" \
    -W "127.0.0.1:$HARNESS_PORT" tunl-tunnel@127.0.0.1 </dev/null 2>&1) &&
    harness_fail "tunnel_user opened a direct-tcpip channel"
out=$(timeout -k 5 60 $SSH -i "$H/client/certa" \
    -o CertificateFile="$H/client/certa-cert.pub" \
    tunl-tunnel@127.0.0.1 echo ran-a-command </dev/null 2>&1) &&
    harness_fail "tunnel_user ran a command: $out"
harness_assert_not_contains "$out" "ran-a-command"

# ---- another session's certificate, other accounts ---------------------------
harness_log "B's certificate, other accounts"
refused certb tunl-tunnel "127.0.0.1:$PA"
# B's own port works: the refusal above is about the port, not B.
fwd certb tunl-tunnel "127.0.0.1:$PB" >"$H/fwdb.out" 2>&1 &
FWD=$!
harness_track "$FWD"
harness_wait 60 "the relay to listen on B's port $PB" listening "$PB"
kill "$FWD" 2>/dev/null
wait "$FWD" 2>/dev/null
harness_wait 60 "port $PB to be closed" not_listening "$PB"
# The customer account listens nowhere, with a certificate or a token.
refused certa tunl "127.0.0.1:$PA"
(umask 077 && printf '%s\n' "$C" >"$H/client/answer.id" &&
    cat "$TC" >"$H/client/answer.token") || harness_fail "answers"
: >"$H/client/askpass.prompts"
out=$(harness_ssh_kbd tunl unused -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$PC:127.0.0.1:$HARNESS_PORT" </dev/null 2>&1) &&
    harness_fail "a token login listened on $PC"
harness_assert_contains "$(cat "$H/client/askpass.prompts")" "Session token"
harness_assert_contains "$out" "remote port forwarding failed"
listening "$PC" && harness_fail "port $PC is open"
# A token cannot log in as the tunnel account at all.
: >"$H/client/askpass.prompts"
out=$(harness_ssh_kbd tunl-tunnel unused -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$PC:127.0.0.1:$HARNESS_PORT" </dev/null 2>&1) &&
    harness_fail "a token login as tunl-tunnel"
harness_assert_contains "$out" "Permission denied"
harness_assert_eq "" "$(cat "$H/client/askpass.prompts")" "prompts for tunl-tunnel"
# The engineer account forwards nothing.
out=$(harness_ssh_key support alice -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$PC:127.0.0.1:$HARNESS_PORT" </dev/null 2>&1) &&
    harness_fail "the engineer account listened"
harness_assert_contains "$out" "remote port forwarding failed"

# ---- restricted later, and ended: no more listening ----------------------------
harness_log "restricted, ended"
relay_sql "UPDATE sessions SET mode = 'restricted' WHERE id = '$B';" ||
    harness_fail "sql"
refused certb tunl-tunnel "127.0.0.1:$PB"
harness_syslog_sync
grep -q "refused user=tunl-tunnel key_id=$B .*reason=restricted" \
    "$H/syslog.log" || harness_fail "no refusal of the restricted session"
harness_ssh_key support alice -- kill "$A" >/dev/null 2>&1 ||
    harness_fail "kill $A"
refused certa tunl-tunnel "127.0.0.1:$PA"
out=$(harness_ssh_key support alice -- show "$A" </dev/null 2>&1) ||
    harness_fail "show $A: $out"
harness_assert_not_contains "$out" "tunnel "
# A's port is free again for the next session.
new
harness_assert_eq "$PA" "$(port_of "$ID")" "the ended session's port, again"

harness_log "a session's certificate listens on its own port only, as tunnel_user only"
share_finish
