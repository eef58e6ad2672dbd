#!/bin/sh
# Who is who, and a newer token ends what older ones opened (issue 12),
# through a real sshd with the shipped drop-in and pam.d lines:
#
# - an engineer's join is recorded under the name sshd authenticated
#   (the engineers' keys file's line for the key), which pam_tunl's
#   session stage put in the login's file and tunl-authority admit sent
#   in the hello; a process of the engineer account that connects to the
#   session's socket itself naming "mallory" is refused, and so is a
#   forged `tunl-authority admit` without a login's key; so is every
#   engineer verb (mint, token, kill, unlock, show, list) that a
#   compromised ForceCommand of alice's own login runs itself naming
#   "mallory", and one outside any engineer login; "mallory" is in no
#   event, and new, token, unlock and kill through sshd record alice;
# - a producer admitted before the engineer's `token <id>` is dropped
#   when the broker hears of the new token, with the reason; and one
#   whose login admit found current just before the token, while the
#   broker had not read the row yet (stopped), is refused all the same.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init ident
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
TCONS=$top_builddir/tests/helpers/test-consumer
SOCKEXEC=$top_builddir/tests/helpers/sock-exec
[ -x "$BROKER" ] && [ -x "$TPROD" ] && [ -x "$TCONS" ] && [ -x "$SOCKEXEC" ] &&
    [ -x "$top_builddir/tunl-shell" ] || harness_fail "programs not built"

relay_config "producer_grace = 600" "log_level = debug"
# The ForceCommand, plus what a compromised one could do: "forge VERB
# [ID]" runs tunl-authority itself in the login's own environment (its
# SSH_CONNECTION and the TUNL_LOGIN_KEY pam_tunl gave it) with a request
# naming "mallory"; "forge-noname VERB [ID]" sends no name at all.
RELAY_SHELL_PRELUDE=$(cat <<EOF
case "\${SSH_ORIGINAL_COMMAND:-}" in
forge\ *|forge-noname\ *)
	set -- \$SSH_ORIGINAL_COMMAND
	case "\$1 \$2" in
	"forge mint") line="engineer=mallory case=- customer=- ttl=5 mode=share" ;;
	"forge token") line="engineer=mallory id=\$3" ;;
	forge\ *) line="engineer=mallory" ;;
	*) line= ;;
	esac
	shift
	# token takes its session from the request line.
	[ "\$1" = token ] && set -- token
	printf '%s' "\${line:+\$line
}" | $H/libexec/tunl-authority "\$@"
	exit \$?
	;;
esac
EOF
)
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

# tunl-authority admit run with a socket as its stdout.
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

# A command on a terminal (join needs one), its output in a file.
cat >"$H/ptyrun.py" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
with open(sys.argv[1], "ab") as log:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        log.write(data)
        log.flush()
os.waitpid(pid, 0)
EOF

events() {
	relay_sql "SELECT actor || ' ' || action FROM events WHERE session_id = '$S' ORDER BY id"
}
has_event() {
	events | grep -qF -- "$1"
}

# ---- the customer's certificate login produces -----------------------------
relay_produce 1 cust - -i
relay_wait_grep "$H/prod1.log" "snapreq"
PROD1=$PRODN
SSH1=$SSHN

# ---- alice joins through sshd: her name is the keys file's ------------------
python3 "$H/ptyrun.py" "$H/join-alice.log" $SSH -o IdentityFile="$H/client/alice" \
    -tt support@127.0.0.1 join "$S" </dev/null &
JOIN=$!
harness_track $JOIN
harness_wait 60 "alice's join in the event log" has_event "alice engineer-joined"
grep -l "^engineer=alice\$" "$H/run/tunl/auth/"*.login >/dev/null 2>&1 ||
    harness_fail "no login file naming alice for her login"
harness_wait 30 "tunl-authority to log alice's admission" \
    grep -q "admitted engineer alice to session $S (read-write)" "$H/syslog.log"

# ---- the engineer account claims another name -------------------------------
# A process of the engineer account (a compromised ForceCommand) connects
# to the session's socket and names "mallory": refused before anything.
relay_as support "$TCONS" -S "/run/tunl/sessions/$S.sock" -s "$S" -u mallory \
    -l "$T/mallory.log" -w 60 </dev/null >/dev/null 2>&1
relay_wait_grep "$T/mallory.log" "error 5 an engineer must be admitted by tunl-authority"
grep -q "snap" "$T/mallory.log" &&
    harness_fail "the broker served a consumer it did not admit"
# It asks tunl-authority admit, with a made-up login key: refused, no
# connection passed; and without one.
out=$(relay_as support env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    TUNL_LOGIN_KEY=$(printf '%064d' 7) python3 "$H/admit.py" \
    "$H/libexec/tunl-authority" admit "$S" rw 80 24 2>&1)
harness_assert_contains "$out" "rc=1 bytes=0 tunl-authority: not authorised for that session" \
    "a forged admit to join"
out=$(relay_as support env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    python3 "$H/admit.py" "$H/libexec/tunl-authority" admit "$S" rw 80 24 2>&1)
harness_assert_contains "$out" "rc=1 bytes=0 tunl-authority: not authorised for that session" \
    "an admit to join without a login key"
# Joining is for the engineer account only.
out=$(relay_as tunl env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    python3 "$H/admit.py" "$H/libexec/tunl-authority" admit "$S" rw 80 24 2>&1)
harness_assert_contains "$out" "rc=1 bytes=0 tunl-authority: admit to join is for the engineer account only" \
    "the customer account asking to join"
# A compromised ForceCommand of alice's own login (through sshd, with the
# login key pam_tunl gave it) asks the engineer verbs directly, naming
# "mallory": each is refused, and nothing changes.
before=$(relay_sql "SELECT state || ' ' || (SELECT count(*) FROM tokens
    WHERE session_id = '$S') FROM sessions WHERE id = '$S'")
nsess=$(relay_sql "SELECT count(*) FROM sessions")
for v in "mint" "token $S" "kill $S" "unlock $S" "show $S" "list"; do
	harness_ssh_key support alice forge $v </dev/null >"$H/forge.out" \
	    2>"$H/forge.err" &&
	    harness_fail "forged $v naming mallory ran: $(cat "$H/forge.out")"
	harness_assert_contains "$(cat "$H/forge.err")" \
	    "the request names another engineer than this login's" \
	    "forged $v naming mallory"
done
harness_assert_eq "$before" "$(relay_sql "SELECT state || ' ' ||
    (SELECT count(*) FROM tokens WHERE session_id = '$S') FROM sessions
    WHERE id = '$S'")" "the session after the forged verbs"
harness_assert_eq "$nsess" "$(relay_sql "SELECT count(*) FROM sessions")" \
    "sessions after the forged mint"
# Without a name the verb runs, under the login's name: show is read-only,
# and the authority logs it as alice's.
harness_ssh_key support alice forge-noname show "$S" </dev/null \
    >"$H/forge.out" 2>"$H/forge.err" ||
    harness_fail "show without a name: $(cat "$H/forge.err")"
harness_assert_contains "$(cat "$H/forge.out")" "engineer  alice" \
    "show in alice's login"
harness_wait 30 "the authority to log alice's show" \
    grep -q "engineer alice: show $S" "$H/syslog.log"
# The same verbs run outside any engineer login (no login file for the
# connection, or no login key at all) are refused with the fix.
out=$(printf 'engineer=alice\n' | relay_as support \
    env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    TUNL_LOGIN_KEY=$(printf '%064d' 7) "$H/libexec/tunl-authority" kill "$S" 2>&1) &&
    harness_fail "kill without a login ran: $out"
harness_assert_contains "$out" "no engineer login recorded by pam_tunl" \
    "kill without a login file"
out=$(printf 'engineer=alice\n' | relay_as support \
    env SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 $HARNESS_PORT" \
    "$H/libexec/tunl-authority" kill "$S" 2>&1) &&
    harness_fail "kill without a login key ran: $out"
harness_assert_contains "$out" \
    "the relay's PAM session stage must run pam_tunl for the engineer account" \
    "kill without a login key"
grep -q "mallory" "$H/syslog.log" ||
    harness_fail "the refusals of mallory's requests were not logged"
events | grep -q mallory &&
    harness_fail "the registry recorded a name the engineer account claimed: $(events)"
# The real join still runs.
kill -0 "$JOIN" 2>/dev/null ||
    harness_fail "alice's join ended: $(cat "$H/join-alice.log")"

# ---- a newer token drops the producer it supersedes -------------------------
harness_ssh_key support alice token "$S" </dev/null >"$H/token.out" \
    2>"$H/token.err" || harness_fail "token: $(cat "$H/token.err")"
grep -q '^token *[0-9]' "$H/token.out" || harness_fail "no new token: $(cat "$H/token.out")"
relay_wait_grep "$H/prod1.log" "superseded by a newer one"
harness_wait 60 "the superseded producer to end" gone "$PROD1"
harness_wait 60 "its ssh to end" gone "$SSH1"
harness_wait 60 "the event that says why" has_event "broker producer-superseded"
# Its certificate does not bring it back (admit.sh shows the rest).
relay_produce 2 cust - -i
relay_wait_grep "$H/prod2.log" "superseded by a newer one"
kill "$SSHN" 2>/dev/null

# ---- a token issued between admit's check and the broker's read ------------
# The customer signs with the new token (its certificate's serial is that
# token's id) and logs in again while the session's broker is stopped:
# admit finds the login current and passes the connection on, and the
# broker has not read the row yet. Now alice issues another token; only
# then does the broker go on and read the row. It must not take as
# current a login the newer token superseded: admit told it which token
# it checked.
gen2=$(relay_sql "SELECT max(id) FROM tokens WHERE session_id = '$S'") ||
    harness_fail "the new token's id"
sql "UPDATE tokens SET consumed_at = $(date +%s) WHERE id = $gen2"
relay_cert cust "$gen2"
BP=
for _p in $(harness_pids_in_ns "$HARNESS_NS"); do
	[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = tunl-broker ] || continue
	tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | grep -q -- "-s $S" &&
	    { BP=$_p; break; }
done
[ -n "$BP" ] || harness_fail "no broker process for $S"
race_fail() {
	kill -CONT "$BP" 2>/dev/null
	harness_fail "$1"
}
kill -STOP "$BP" || harness_fail "cannot stop the broker"
relay_produce 3 cust - -i
PROD3=$PRODN
SSH3=$SSHN
_wt=1200
until grep -q "admitted the certificate login of session $S as its producer (newest token $gen2)" \
    "$H/syslog.log" 2>/dev/null; do
	[ $_wt -gt 0 ] || race_fail "admit did not pass the login on: $(cat "$H/prod3.err")"
	sleep 0.05
	_wt=$((_wt - 1))
done
harness_ssh_key support alice token "$S" </dev/null >"$H/token3.out" \
    2>"$H/token3.err" || race_fail "token: $(cat "$H/token3.err")"
grep -q '^token *[0-9]' "$H/token3.out" ||
    race_fail "no new token: $(cat "$H/token3.out")"
gen3=$(relay_sql "SELECT max(id) FROM tokens WHERE session_id = '$S'")
[ "$gen3" -gt "$gen2" ] || race_fail "the token did not change ($gen2, $gen3)"
kill -CONT "$BP" || harness_fail "cannot resume the broker"
relay_wait_grep "$H/prod3.log" "superseded by a newer one"
harness_wait 60 "the superseded producer to end" gone "$PROD3"
harness_wait 60 "its ssh to end" gone "$SSH3"
grep -q "snap" "$H/prod3.log" &&
    harness_fail "the broker served a producer superseded before it read the row"
harness_assert_eq "producer-superseded pid=" "$(relay_sql "SELECT action || ' ' ||
    substr(detail, 1, 4) FROM events WHERE session_id = '$S' AND
    detail LIKE '%at-admission'")" "the event of the refusal at admission"
harness_wait 30 "the broker to log why" grep -q \
    "refused: a newer token was issued after its admission (token $gen2, now $gen3)" \
    "$H/syslog.log"
kill -0 "$BP" 2>/dev/null || harness_fail "the broker ended"

kill "$JOIN" 2>/dev/null
harness_wait 60 "alice's join to end" gone "$JOIN"
kill "$SSHN" 2>/dev/null

# ---- new, token, unlock and kill through sshd record alice ------------------
harness_ssh_key support alice new --ttl 10 </dev/null >"$H/new.out" \
    2>"$H/new.err" || harness_fail "new: $(cat "$H/new.err")"
N=$(sed -n 's/^session  *//p' "$H/new.out")
[ -n "$N" ] || harness_fail "new printed no session: $(cat "$H/new.out")"
harness_assert_eq "alice" "$(relay_sql "SELECT engineer FROM sessions
    WHERE id = '$N'")" "the new session's engineer"
harness_assert_eq "alice" "$(relay_sql "SELECT actor FROM events
    WHERE session_id = '$N' AND action = 'created'")" "who created $N"
sql "UPDATE sessions SET state = 'locked' WHERE id = '$N'"
harness_ssh_key support alice unlock "$N" </dev/null >"$H/unlock.out" \
    2>"$H/unlock.err" || harness_fail "unlock: $(cat "$H/unlock.err")"
harness_ssh_key support alice kill "$N" </dev/null >"$H/kill.out" \
    2>"$H/kill.err" || harness_fail "kill: $(cat "$H/kill.err")"
harness_assert_eq "alice|unlocked
alice|ended" "$(relay_sql "SELECT actor, action FROM events
    WHERE session_id = '$N' AND action IN ('unlocked', 'ended')
    ORDER BY id")" "who unlocked and ended $N"
harness_assert_eq "alice" "$(relay_sql "SELECT group_concat(DISTINCT actor)
    FROM events WHERE action = 'token-issued'")" "who issued tokens"
relay_sql "SELECT actor FROM events" | grep -q mallory &&
    harness_fail "mallory is in an event: $(relay_sql "SELECT * FROM events")"
harness_stop
harness_host_unchanged
harness_log "passed"
exit 0
