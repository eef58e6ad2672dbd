#!/bin/sh
# Who may produce (issue 12): through a real sshd with the shipped drop-in
# and pam.d lines, a customer's certificate login becomes its session's
# producer only through tunl-authority admit, which checks the login key
# pam_tunl's session stage gave that login and that no newer token
# superseded it. The broker takes a producer only on a connection admit
# opened.
#
# Covered: a certificate login produces; while its customer is away (the
# reconnect grace) a process running as the customer account connects
# to the session's socket as a producer and is refused, and so is a
# forged `tunl-authority admit` without the login's key; after the
# engineer's `token <id>` the old certificate's login is refused; a
# certificate signed with the new token produces and the session goes on.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init admit
[ -z "${TUNL_SANITIZED:-}" ] ||
    harness_skip "the customer's login goes through pam_tunl, and a sanitizer build's pam_tunl.so cannot load into the stock sshd (test-pam covers it under ASan)"
for c in setpriv sqlite3 python3 ssh-keygen; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done
[ "$HARNESS_SAFE_TREE" = yes ] ||
    harness_skip "needs a tree only root can write (set HARNESS_TMPDIR)"
. "$top_srcdir/tests/integration/relay.sh"
BROKER=$top_builddir/tunl-broker
TPROD=$top_builddir/tests/helpers/test-producer
SOCKEXEC=$top_builddir/tests/helpers/sock-exec
[ -x "$BROKER" ] && [ -x "$TPROD" ] && [ -x "$SOCKEXEC" ] &&
    [ -x "$top_builddir/tunl-shell" ] || harness_fail "programs not built"

relay_config "producer_grace = 600" "log_level = debug"
relay_customer_login alice
harness_syslog_start

# ---- a session whose first token was used to sign the first certificate ----
S=$("$top_builddir/tests/helpers/handoff-tool" id) || harness_fail "an id"
now=$(date +%s)
signed1=$((now - 100))
sql "INSERT INTO sessions (id, state, mode, case_ref, customer, host,
    engineer, created, expires) VALUES ('$S', 'pending', 'share', 'CS-12',
    'acme', 'customer.example', 'alice', $now, $((now + 3600)));"
sql "INSERT INTO tokens (session_id, hash, expires, consumed_at)
    VALUES ('$S', randomblob(32), $((now + 3600)), $signed1);"
# sign puts the id of the token it consumed in the serial.
gen1=$(relay_sql "SELECT max(id) FROM tokens WHERE session_id = '$S'") ||
    harness_fail "the token's id"
relay_cert cust "$gen1"

# Files written as the customer account.
T=$H/t
mkdir -p "$T" && chmod 1777 "$T" || harness_fail "mkdir $T"

gone() {
	! kill -0 "$1" 2>/dev/null
}

# ---- the customer's certificate login produces -----------------------------
relay_produce 1 cust - -i
relay_wait_grep "$H/prod1.log" "snapreq"
# The login key came from pam_tunl's session stage: the login file names
# the certificate, and the key is in no file of the relay.
grep -l "^cert=$gen1 $S\$" "$H/run/tunl/auth/"*.login >/dev/null 2>&1 ||
    harness_fail "no login file for the certificate login"

# ---- the customer goes away: the broker waits (the reconnect grace) ---------
kill "$SSHN" 2>/dev/null
harness_wait 60 "the first producer to end" gone "$PRODN"
harness_wait 60 "the login file to go with its connection" \
    sh -c "! grep -ls '^cert=' '$H/run/tunl/auth/'*.login"

# A process running as the customer account, with no login, connects to
# the session's socket as its producer: refused.
relay_as tunl "$TPROD" -S "/run/tunl/sessions/$S.sock" -s "$S" \
    -l "$T/attack.log" -w 60 </dev/null >/dev/null 2>&1
relay_wait_grep "$T/attack.log" "error 5 a producer must be admitted by tunl-authority"
grep -q "snapreq" "$T/attack.log" &&
    harness_fail "the broker answered an unadmitted producer's hello"

# It asks tunl-authority admit itself, with a made-up login key and a
# connection line: refused, no connection passed.
cat >"$H/admit.py" <<'EOF'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.run(sys.argv[1:], stdout=b, stderr=subprocess.PIPE)
b.close()
a.settimeout(5)
try:
    got = a.recv(16)
except OSError:
    got = b""
sys.stdout.write("rc=%d bytes=%d %s" % (p.returncode, len(got),
    p.stderr.decode(errors="replace")))
EOF
out=$(relay_as tunl env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    TUNL_LOGIN_KEY=$(printf '%064d' 7) python3 "$H/admit.py" \
    "$H/libexec/tunl-authority" admit "$S" 2>&1)
harness_assert_contains "$out" "rc=1 bytes=0 tunl-authority: not authorised for that session" \
    "a forged admit"

# ---- the engineer issues a new token: the old certificate is superseded ----
harness_ssh_key support alice token "$S" </dev/null >"$H/token.out" \
    2>"$H/token.err" || harness_fail "token: $(cat "$H/token.err")"
grep -q '^token *[0-9]' "$H/token.out" || harness_fail "no new token: $(cat "$H/token.out")"
relay_produce 2 cust - -i
relay_wait_grep "$H/prod2.log" "superseded by a newer one"
grep -q "snapreq" "$H/prod2.log" &&
    harness_fail "a superseded certificate's login became the producer"
harness_wait 60 "the refused producer to end" gone "$PRODN"

# ---- a certificate signed with the new token produces ------------------------
# (As sign does it: the newest token consumed, the serial its id.
# share-renew.sh runs the real sign with tunl-share.)
signed2=$(date +%s)
sql "UPDATE tokens SET consumed_at = $signed2 WHERE id =
    (SELECT max(id) FROM tokens WHERE session_id = '$S');"
cp "$H/client/cust" "$H/client/cust2" && cp "$H/client/cust.pub" "$H/client/cust2.pub" ||
    harness_fail "cp key"
gen2=$(relay_sql "SELECT max(id) FROM tokens WHERE session_id = '$S'") ||
    harness_fail "the new token's id"
relay_cert cust2 "$gen2"
relay_produce 3 cust2 - -i
relay_wait_grep "$H/prod3.log" "snapreq"
# The old certificate still is not: one producer, and never the old one.
relay_produce 4 cust - -i
relay_wait_grep "$H/prod4.log" "superseded by a newer one"
kill "$SSHN" 2>/dev/null
harness_stop
harness_host_unchanged
harness_log "passed"
exit 0
