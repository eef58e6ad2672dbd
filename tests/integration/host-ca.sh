#!/bin/sh
# The relay's host key as customers pin it, through a real relay (a
# private sshd with the shipped drop-in, pam_tunl, tunl-shell, tunl-broker
# and the customer's tunl-share in a private tmux):
#  - before a host CA, `tunl-admin host-key` prints sshd's own key as a
#    known_hosts line and `new` puts that key in the customer's line;
#  - `tunl-admin init --host-ca` (the harness's config and sshd_config,
#    never the machine's /etc) makes the CA root 0600, signs sshd's host
#    key for the name given, and writes tunl-hostcert.conf that sshd -t
#    accepts; once sshd is reloaded it serves the certificate;
#  - a client whose known_hosts holds only the line `host-key` prints
#    (@cert-authority) connects with StrictHostKeyChecking=yes, and one
#    with another CA's line is refused;
#  - `new` puts the CA in the line (--host-ca) with its fingerprint as
#    ssh-keygen -l prints it, `new --json` carries the pin, and the get tunl-share commands it prints write that pin to a
#    known_hosts file first, which the customer's own ssh then checks;
#  - tunl-share with --host-ca shares end to end, and with another CA is
#    refused.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

missing=
[ -f "$top_builddir/.libs/pam_tunl.so" ] || missing="$missing pam_tunl.so"
[ -x "$top_builddir/tunl-broker" ] || missing="$missing tunl-broker"
if [ -n "$missing" ]; then
	echo "SKIP: host-ca: not built here:$missing"
	exit 77
fi
if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: host-ca: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi

. "$top_srcdir/tests/integration/harness.sh"
harness_init host-ca
. "$top_srcdir/tests/integration/share-lib.sh"
# Any file serves as the relay's static tunl-share here: the test is the
# pin on the way to it, not the program (share-static.sh runs that).
mkdir -p "$H/libexec" && install -m 0755 "$top_builddir/tunl-share" \
    "$H/libexec/tunl-share-static" || harness_fail "cannot install a tunl-share to serve"
SHARE_SHELL_ARGS="--share-static $H/libexec/tunl-share-static"
share_setup "relay_host_key = $H/etc/ssh_host_ed25519_key.pub" \
    "host_ca_key = $H/etc/tunl/host_ca"
HOSTKEY=$(cut -d' ' -f1,2 "$H/etc/ssh_host_ed25519_key.pub")
PATTERN="[127.0.0.1]:$HARNESS_PORT"

# hostkey ARGS: tunl-admin host-key with the test's config; $OUT, $RC.
hostkey() {
	OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" host-key "$@" 2>&1)
	RC=$?
}
# pinned KNOWN_HOSTS: an engineer's ssh that trusts only that file.
pinned() {
	ssh -F /dev/null -p "$HARNESS_PORT" -o UserKnownHostsFile="$1" \
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
	    -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes \
	    -o PreferredAuthentications=publickey -o ControlPath=none \
	    -o IdentityFile="$H/client/alice" support@127.0.0.1 list \
	    </dev/null >"$H/pinned.out" 2>&1
}

# ==== no host CA: the pin is sshd's own key ===============================
hostkey --hosts "$PATTERN"
[ "$RC" = 0 ] || harness_fail "host-key without a CA: $OUT"
harness_assert_eq "$PATTERN $HOSTKEY" "$OUT" "host-key without a CA"
echo "$OUT" >"$H/client/key_known_hosts"
pinned "$H/client/key_known_hosts" ||
    harness_fail "the single key pin was refused: $(cat "$H/pinned.out")"
harness_ssh_key support alice -- new >"$H/new0.out" 2>&1 ||
    harness_fail "new: $(cat "$H/new0.out")"
harness_assert_contains "$(cat "$H/new0.out")" "--host-key '$HOSTKEY'"
harness_assert_contains "$(cat "$H/new0.out")" "(relay pinned by its host key, $(ssh-keygen -lf "$H/etc/ssh_host_ed25519_key.pub" | awk '{print $2}'))"
harness_assert_contains "$(cat "$H/new0.out")" "echo '$PATTERN $HOSTKEY' > tunl-relay.known"

# ==== init --host-ca, in the harness's paths ===============================
OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init --host-ca \
    --host-name 127.0.0.1 --sshd "$HARNESS_SSHD" \
    --sshd-config "$H/etc/sshd_config" 2>&1) ||
    harness_fail "init --host-ca: $OUT"
DROPIN=$H/etc/sshd_config.d/tunl-hostcert.conf
CERT=$H/etc/ssh_host_ed25519_key-cert.pub
harness_assert_contains "$OUT" "created  $H/etc/tunl/host_ca (host CA, root 0600)"
harness_assert_contains "$OUT" "signed   $CERT (host certificate for 127.0.0.1)"
harness_assert_contains "$OUT" "written  $DROPIN"
harness_assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$H/etc/tunl/host_ca")" "host CA key"
harness_assert_eq "root:root 644" "$(stat -c '%U:%G %a' "$H/etc/tunl/host_ca.pub")" "host CA public key"
harness_assert_eq "HostCertificate $CERT" "$(grep -v '^#' "$DROPIN")" "the drop-in"
certinfo=$(ssh-keygen -L -f "$CERT") || harness_fail "not a certificate: $CERT"
harness_assert_contains "$certinfo" "host certificate"
harness_assert_contains "$certinfo" "Signing CA: ED25519 $(ssh-keygen -lf "$H/etc/tunl/host_ca.pub" | awk '{print $2}')"
harness_assert_eq "127.0.0.1" "$(printf '%s\n' "$certinfo" | sed -n '/Principals:/{n;s/^ *//p}')" "the certificate's principal"
# Again: the same CA signs again, nothing else changes.
sum=$(sha256sum <"$H/etc/tunl/host_ca")
OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init --host-ca \
    --host-name 127.0.0.1 --sshd "$HARNESS_SSHD" \
    --sshd-config "$H/etc/sshd_config" 2>&1) ||
    harness_fail "second init --host-ca: $OUT"
harness_assert_contains "$OUT" "ok       $H/etc/tunl/host_ca (host CA, root 0600)"
harness_assert_eq "$sum" "$(sha256sum <"$H/etc/tunl/host_ca")" "the CA after a second init"
# A name no certificate may carry is refused before anything runs.
OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init --host-ca \
    --host-name '-O x' 2>&1) && harness_fail "a bad --host-name was taken"
harness_assert_contains "$OUT" "--host-name: host names or addresses"

# doctor names the CA as the pin, and a CA key others may read is a problem.
doctor_ca() {
	OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" doctor \
	    --libexecdir "$H/libexec" --sshd "$HARNESS_SSHD" \
	    --sshd-config "$H/etc/sshd_config" --pam-dir "$H/etc/pam.d" \
	    --fail2ban-dir "$H/no-fail2ban" 2>&1)
}
doctor_ca
harness_assert_contains "$OUT" "$H/etc/tunl/host_ca: host CA (ssh-ed25519), the pin customers get"
chmod 0640 "$H/etc/tunl/host_ca"
doctor_ca
harness_assert_contains "$OUT" "PROBLEM  $H/etc/tunl/host_ca: host CA key:"
chmod 0600 "$H/etc/tunl/host_ca"

hostkey --hosts "$PATTERN"
[ "$RC" = 0 ] || harness_fail "host-key with a CA: $OUT"
CAKEY=$(cut -d' ' -f1,2 "$H/etc/tunl/host_ca.pub")
harness_assert_eq "@cert-authority $PATTERN $CAKEY" "$OUT" "host-key with a CA"
echo "$OUT" >"$H/client/ca_known_hosts"

# ==== sshd reloaded serves the certificate ==================================
kill -HUP "$HARNESS_SSHD_PID" || harness_fail "cannot reload sshd"
served() { pinned "$H/client/ca_known_hosts"; }
harness_wait 60 "sshd to serve the host certificate" served
# Another CA's line for the same name is refused.
ssh-keygen -q -t ed25519 -N '' -f "$H/client/other_ca" </dev/null
echo "@cert-authority $PATTERN $(cut -d' ' -f1,2 "$H/client/other_ca.pub")" \
    >"$H/client/wrong_known_hosts"
pinned "$H/client/wrong_known_hosts" &&
    harness_fail "a client pinning another CA connected"
harness_assert_contains "$(cat "$H/pinned.out")" "Host key verification failed"

# ==== new: the CA in the line, the pin in the JSON and the get commands ======
harness_ssh_key support alice -- new --json >"$H/new.json" 2>&1 ||
    harness_fail "new --json: $(cat "$H/new.json")"
python3 - "$H/new.json" "@cert-authority $PATTERN $CAKEY" "--host-ca '$CAKEY'" <<'PY' ||
import json, sys
j = json.load(open(sys.argv[1]))
assert j["host_ca"] is True, j
assert j["pin"] == sys.argv[2], j
assert sys.argv[3] in j["line"], j
PY
    harness_fail "new --json lacks the pin: $(cat "$H/new.json")"
harness_ssh_key support alice -- new >"$H/new.out" 2>&1 ||
    harness_fail "new: $(cat "$H/new.out")"
ID=$(sed -n 's/^session  *//p' "$H/new.out")
TOKENFILE=$H/client/token.$ID
(umask 077 && sed -n 's/^token  *\([^ ]*\).*/\1/p' "$H/new.out" >"$TOKENFILE")
[ -n "$ID" ] && [ -s "$TOKENFILE" ] || harness_fail "no session made"
harness_assert_contains "$(cat "$H/new.out")" "--host-ca '$CAKEY'"
harness_assert_contains "$(cat "$H/new.out")" "(relay pinned by its host CA, $(ssh-keygen -lf "$H/etc/tunl/host_ca.pub" | awk '{print $2}'))"
PINLINE=$(sed -n "s/^    \(echo '.*' > tunl-relay.known\)$/\1/p" "$H/new.out")
GET=$(sed -n 's/^    \(ssh .* get tunl-share > tunl-share\)$/\1/p' "$H/new.out")
harness_assert_eq "echo '@cert-authority $PATTERN $CAKEY' > tunl-relay.known" \
    "$PINLINE" "the pin line new prints"
harness_assert_eq "ssh -o UserKnownHostsFile=tunl-relay.known -o StrictHostKeyChecking=yes -p $HARNESS_PORT tunl@127.0.0.1 get tunl-share > tunl-share" \
    "$GET" "the get command new prints"
# The customer runs them (its session's id and token answered by askpass).
mkdir -p "$H/client/cust" && (cd "$H/client/cust" && eval "$PINLINE") ||
    harness_fail "the printed pin line failed"
grep -q 'answer.token' "$H/bin/askpass" 2>/dev/null || relay_askpass
(umask 077 && printf '%s\n' "$ID" >"$H/client/answer.id" &&
    cp "$TOKENFILE" "$H/client/answer.token") || harness_fail "answers"
SSHOPTS="-F /dev/null -o GlobalKnownHostsFile=/dev/null -o PreferredAuthentications=keyboard-interactive -o IdentityFile=none -o IdentityAgent=none"
(cd "$H/client/cust" && SSH_ASKPASS=$H/bin/askpass SSH_ASKPASS_REQUIRE=force \
    HARNESS_ASKPASS_DIR=$H/client DISPLAY=none sh -c "ssh $SSHOPTS ${GET#ssh }" </dev/null >"$H/get.out" 2>&1) ||
    harness_fail "the printed get failed: $(cat "$H/get.out")"
cmp -s "$H/client/cust/tunl-share" "$H/libexec/tunl-share-static" ||
    harness_fail "the customer did not get the relay's tunl-share"

# ==== tunl-share pinning the CA: refused with another CA, shares with ours ======
out=$($SHARE_ENV "$SHARE" --relay "$RELAY" --host-ca \
    "$(cut -d' ' -f1,2 "$H/client/other_ca.pub")" --token-file "$TOKENFILE" \
    "$ID" 2>&1 </dev/null) && harness_fail "tunl-share took a relay another CA signed"
harness_assert_contains "$out" "host key could not be verified"
harness_assert_contains "$out" "--host-ca"
pane cust "$SHARE_ENV $SHARE --relay $RELAY --host-ca \"$CAKEY\" --token-file $TOKENFILE $ID"
cust_wait_ready 1
pane rw "$SSH -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
tmux -S "$CSOCK" send-keys -t tunl:0.0 'echo pinned-$((40+2))' Enter
wait_screen rw pinned-42
tm send-keys -t e2e:rw -l 'echo typed-$((30+3))'
tm send-keys -t e2e:rw Enter
cust_wait_pane typed-33

share_finish
