#!/bin/sh
# tunl-admin init and status: what init creates (owners, modes), that it is
# idempotent, that it names missing accounts, that it refuses unsafe
# directories, links and modes instead of using them, and that status says
# in words what is wrong.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init admin
. "$top_srcdir/tests/integration/relay.sh"

# owner:group mode of PATH, as seen inside the namespace.
perm() {
	relay_in_ns stat -c '%U:%G %a' "$1"
}

admin() {
	relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" "$@"
}

# ---- a bad configuration is named by file and line -------------------------
relay_config "token_length = 3"
out=$(admin init 2>&1) && harness_fail "init accepted a bad config"
harness_assert_contains "$out" "tunl.conf:7: token_length: 3 is out of range"

# ---- missing accounts are named, with the command that adds them -------------
# init creates missing accounts with groupadd and useradd; here /etc/group
# and /etc/passwd are files bound into the namespace, which those tools
# cannot rename over, so init must stop, naming what failed
# (admin-wire.sh has init create them in a namespace of its own).
relay_config "customer_user = nosuchcustomer" "key_group = nosuchgroup"
out=$(admin init 2>&1) && harness_fail "init went on without its accounts"
harness_assert_contains "$out" "group nosuchgroup: groupadd failed"
harness_assert_contains "$out" "stopped"
[ -e "$H/var/lib/tunl" ] && harness_fail "init created files before stopping"

# ---- not root: refused ------------------------------------------------------------
relay_config
out=$(relay_as support "$TUNL_ADMIN" -f "$RELAY_CONF" init 2>&1) &&
    harness_fail "init ran as a non-root user"
harness_assert_contains "$out" "init must run as root"

# ---- init creates everything with the documented owners and modes -----------
relay_init
out=$(cat "$H/admin-init.log")
harness_assert_contains "$out" "tunl-admin init: done"
harness_assert_eq "root:root 755" "$(perm "$H/etc/tunl")" "key directory"
harness_assert_eq "root:tunl-auth 640" "$(perm "$H/etc/tunl/token.key")" "token key"
harness_assert_eq "root:tunl-auth 640" "$(perm "$H/etc/tunl/user_ca")" "CA key"
harness_assert_eq "root:root 644" "$(perm "$H/etc/tunl/user_ca.pub")" "CA public key"
harness_assert_eq "tunl-broker:tunl-auth 2770" "$(perm "$H/var/lib/tunl")" "database directory"
harness_assert_eq "tunl-broker:tunl-auth 660" "$(perm "$RELAY_DB")" "database"
for f in "$RELAY_DB-wal" "$RELAY_DB-shm"; do
	harness_assert_eq "tunl-broker:tunl-auth 660" "$(perm "$f")" "$f"
done
harness_assert_eq "root:tunl 750" "$(perm /run/tunl)" "runtime directory"
harness_assert_eq "root:tunl 750" "$(perm /run/tunl/auth)" "hand-off directory"
harness_assert_eq "tunl-broker:tunl 750" "$(perm /run/tunl/sessions)" "socket directory"
harness_assert_eq "tunl-broker:tunl-rec 2750" "$(perm "$H/var/log/tunl")" "recording directory"
harness_assert_eq 32 "$(stat -c %s "$H/etc/tunl/token.key")" "token key size"
case $(cut -d' ' -f1 "$H/etc/tunl/user_ca.pub") in
ssh-ed25519) ;;
*) harness_fail "the CA public key is not ed25519" ;;
esac
# The private runtime dir really is the harness's, not the machine's /run.
[ -d "$H/run/tunl/auth" ] || harness_fail "/run/tunl is not under \$H/run"
[ -e /run/tunl/auth ] && [ ! "$H/run/tunl/auth" -ef /run/tunl/auth ] &&
    harness_log "note: the machine has its own /run/tunl (left alone)"
harness_assert_eq "$(relay_sql 'PRAGMA user_version;')" \
    "$(relay_sql 'PRAGMA user_version;')" "schema version readable"
[ "$(relay_sql 'PRAGMA user_version;')" -ge 1 ] ||
    harness_fail "the schema was not created"
# No relay account but the broker's opens the registry (the others ask
# tunl-authority); the keys stay closed to them.
for u in tunl support tunlauth; do
	relay_as $u sqlite3 -readonly "$RELAY_DB" 'SELECT count(*) FROM sessions;' \
	    >/dev/null 2>&1 && harness_fail "$u can read the registry"
done
relay_as tunl-broker sqlite3 -readonly "$RELAY_DB" 'SELECT count(*) FROM sessions;' \
    >/dev/null 2>&1 || harness_fail "the broker account cannot open the registry"
relay_as tunl cat "$H/etc/tunl/token.key" >/dev/null 2>&1 &&
    harness_fail "the customer account can read the token key"
relay_as support cat "$H/etc/tunl/user_ca" >/dev/null 2>&1 &&
    harness_fail "the engineer account can read the CA key"

# ---- idempotent: a second run changes nothing ----------------------------------
sum1=$(sha256sum "$H/etc/tunl/token.key" "$H/etc/tunl/user_ca" | awk '{print $1}')
out=$(admin init 2>&1) || harness_fail "second init failed: $out"
harness_assert_not_contains "$out" "created"
sum2=$(sha256sum "$H/etc/tunl/token.key" "$H/etc/tunl/user_ca" | awk '{print $1}')
harness_assert_eq "$sum1" "$sum2" "keys kept by a second init"

# ---- status: what init made is right, with counts ------------------------------
# status runs every doctor check, and this relay is not wired into an sshd
# (admin-wire.sh has one that is), so it is not healthy; but nothing init
# made is named.
out=$(admin status 2>&1) && harness_fail "status called an unwired relay healthy: $out"
# (The harness's own key for support names no engineer: doctor says so.)
harness_assert_not_contains "$(echo "$out" | grep -v "$H/keys/")" "PROBLEM  $H/"
harness_assert_not_contains "$out" "PROBLEM  /run/tunl"
harness_assert_contains "$out" "tunl-admin status: "
harness_assert_contains "$out" "sessions: 0 pending, 0 active, 0 locked, 0 ended (0 in all)"
out=$(admin -q status 2>&1)
harness_assert_not_contains "$out" "ok "

# ---- the customer account in the recording group is a problem -------------------
cp "$H/etc/group" "$H/group.saved"
sed 's/^tunl-rec:x:\([0-9]*\):support$/tunl-rec:x:\1:support,tunl/' \
    "$H/group.saved" >"$H/etc/group"
grep -q '^tunl-rec:x:[0-9]*:support,tunl$' "$H/etc/group" ||
    harness_fail "could not add tunl to tunl-rec"
out=$(admin status 2>&1) &&
    harness_fail "status called a relay healthy whose customer account reads recordings"
harness_assert_contains "$out" "PROBLEM  recording_group: the customer account tunl is in group tunl-rec and could read every recording; fix: gpasswd -d tunl tunl-rec"
cat "$H/group.saved" >"$H/etc/group"

# ---- unsafe things stop init and show in status ----------------------------------
chmod 02777 "$H/var/log/tunl"
out=$(admin init 2>&1) && harness_fail "init accepted a world-writable recording dir"
harness_assert_contains "$out" "unsafe   $H/var/log/tunl"
harness_assert_contains "$out" "chmod 2750 $H/var/log/tunl"
harness_assert_eq "tunl-broker:tunl-rec 2777" "$(perm "$H/var/log/tunl")" "init changed nothing"
out=$(admin status 2>&1) && harness_fail "status called a world-writable dir healthy"
harness_assert_contains "$out" "PROBLEM  $H/var/log/tunl: is tunl-broker:tunl-rec 2777, expected tunl-broker:tunl-rec 2750 (recordings); fix: chown tunl-broker:tunl-rec $H/var/log/tunl && chmod 2750 $H/var/log/tunl"
chmod 2750 "$H/var/log/tunl"

chmod 0644 "$H/etc/tunl/token.key"
out=$(admin init 2>&1) && harness_fail "init accepted a world-readable token key"
harness_assert_contains "$out" "unsafe   $H/etc/tunl/token.key"
out=$(admin status 2>&1) && harness_fail "status accepted a world-readable token key"
harness_assert_contains "$out" "PROBLEM  $H/etc/tunl/token.key"
chmod 0640 "$H/etc/tunl/token.key"

# A link where the CA key should be is refused, never followed.
mv "$H/etc/tunl/user_ca" "$H/etc/tunl/user_ca.real"
ln -s "$H/etc/tunl/user_ca.real" "$H/etc/tunl/user_ca"
out=$(admin init 2>&1) && harness_fail "init followed a link for the CA key"
harness_assert_contains "$out" "$H/etc/tunl/user_ca is not a regular file"
rm "$H/etc/tunl/user_ca"
mv "$H/etc/tunl/user_ca.real" "$H/etc/tunl/user_ca"

# A parent writable by others makes a path unsafe however it is set up.
mkdir -m 1777 "$H/shared"
relay_config "recording_dir = $H/shared/rec"
out=$(admin init 2>&1) && harness_fail "init used a dir under a world-writable parent"
harness_assert_contains "$out" "unsafe   $H/shared/rec: $H/shared is writable by others"
[ -e "$H/shared/rec" ] && harness_fail "init created a dir under an unsafe parent"

# A public CA key without its private key is not silently replaced.
relay_config
mv "$H/etc/tunl/user_ca" "$H/etc/tunl/user_ca.kept"
out=$(admin init 2>&1) && harness_fail "init replaced a lone CA public key"
harness_assert_contains "$out" "exists without its private key"
mv "$H/etc/tunl/user_ca.kept" "$H/etc/tunl/user_ca"

out=$(admin status 2>&1)
harness_assert_not_contains "$(echo "$out" | grep -v "$H/keys/")" "PROBLEM  $H/"
harness_host_unchanged
exit 0
