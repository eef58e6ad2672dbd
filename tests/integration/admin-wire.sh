#!/bin/sh
# tunl-admin's operator steps on a private relay, through a real sshd:
#  - init with no configuration file and none of the accounts: it writes a
#    commented default file, creates the groups and accounts (groupadd,
#    useradd) and is idempotent; config, status and doctor take a missing
#    file as the defaults;
#  - enable refuses (changing nothing) when the PAM module does not load,
#    when sshd -t rejects the drop-in, or when libpam cannot start the new
#    stack; then wires the drop-in and "@include tunl" above common-auth,
#    with a backup, idempotently;
#  - engineer add / remove / list: junk, duplicate keys and names refused;
#    an added engineer logs in and is recorded by name, a removed one is
#    refused;
#  - status and doctor are healthy on the wired relay; a customer logs in;
#  - disable takes both out, PAM first: engineers still log in, customers
#    no longer; make uninstall refuses while sshd's PAM stack includes tunl.
# Nothing is written to the machine's /etc.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init admin-wire
. "$top_srcdir/tests/integration/relay.sh"
for c in setpriv sqlite3 useradd groupadd; do
	command -v $c >/dev/null 2>&1 || harness_skip "needs $c"
done

# ==== init with no configuration file and no accounts ===========================
# A namespace of its own: /etc is a directory copy of the machine's (so
# useradd can replace /etc/passwd in it), /run a tmpfs, and the built-in
# state and configuration directories are on tmpfs or bound to $H, so the
# built-in paths init writes to are all private.
: >"$H/empty.conf"
LSTATE=$("$TUNL_ADMIN" -f "$H/empty.conf" config 2>/dev/null |
    sed -n 's|^database = \(.*\)/lib/tunl/tunl.db$|\1|p')
[ -n "$LSTATE" ] || harness_fail "cannot learn the built-in state directory"
VARTOP=$LSTATE
while [ ! -d "$VARTOP" ]; do VARTOP=${VARTOP%/*}; done
CFGOK=yes
case $VARTOP in
/|/usr|'') CFGOK=no ;;
esac
case $HARNESS_CFG_DIR in
/etc/*|"$VARTOP"/*) ;;
*) [ -d "$HARNESS_CFG_DIR" ] || CFGOK=no ;;
esac
if [ "$CFGOK" = yes ]; then
	mkdir "$H/etc3" "$H/cfg3" && cp -a "$H/sysetc/." "$H/etc3/" ||
	    harness_fail "cannot copy /etc"
	# The machine's accounts only (the copy has the test's bound in).
	cp /etc/passwd /etc/group "$H/etc3/" && rm -rf "$H/etc3/tunl" ||
	    harness_fail "cannot copy passwd and group"
	for a in tunl support tunl-broker tunlauth; do
		grep -q "^$a:" "$H/etc3/passwd" &&
		    harness_skip "the machine already has an account $a"
	done
	NS3='
set -e
h=$1
shift
mount -t tmpfs -o mode=0755 tunl-run /run
mount --bind "$h/etc3" /etc
mount -t tmpfs -o mode=0755 tunl-var "$VARTOP"
mkdir -p -m 0755 "$LSTATE"
[ -d "$HARNESS_CFG_DIR" ] || mkdir -p -m 0755 "$HARNESS_CFG_DIR"
mount --bind "$h/cfg3" "$HARNESS_CFG_DIR"
exec "$@"
'
	export VARTOP LSTATE
	ns3() {
		unshare --mount --propagation private sh -c "$NS3" sh "$H" "$@"
	}
	out=$(ns3 "$TUNL_ADMIN" config 2>&1) ||
	    harness_fail "config with no file: $out"
	harness_assert_contains "$out" "database = $LSTATE/lib/tunl/tunl.db"
	out=$(ns3 "$TUNL_ADMIN" status 2>&1)
	harness_assert_not_contains "$out" "tunl.conf: No such file"
	harness_assert_contains "$out" "tunl-admin status: "
	out=$(ns3 sh -c "'$TUNL_ADMIN' init && '$TUNL_ADMIN' config && id tunl && id support && getent group tunl-auth && stat -c '%n %U:%G %a' '$LSTATE/lib/tunl' /run/tunl/sessions '$HARNESS_CFG_DIR/engineers.keys' && echo ==== && '$TUNL_ADMIN' init" 2>&1) ||
	    harness_fail "init with no file and no accounts: $out"
	harness_assert_contains "$out" "created  $RELAY_CFG_DEFAULT"
	harness_assert_contains "$out" "created  group tunl"
	harness_assert_contains "$out" "created  group tunl-auth"
	harness_assert_contains "$out" "created  account support (group tunl)"
	harness_assert_contains "$out" "created  account tunl-broker (group tunl)"
	harness_assert_contains "${out%%====*}" "tunl-admin init: done"
	# The database directory: the broker account and tunl-authority only.
	harness_assert_contains "$out" "$LSTATE/lib/tunl tunl-broker:tunl-auth 2770"
	harness_assert_contains "$out" "/run/tunl/sessions tunl-broker:tunl 750"
	harness_assert_contains "$out" "$HARNESS_CFG_DIR/engineers.keys root:root 644"
	harness_assert_contains "$out" "groups=$(sed -n 's/^tunl:x:\([0-9]*\):.*/\1/p' "$H/etc3/group")(tunl)"
	grep -q '^#database = ' "$H/cfg3/tunl.conf" ||
	    harness_fail "the default file is not commented: $(cat "$H/cfg3/tunl.conf")"
	grep -v '^#' "$H/cfg3/tunl.conf" | grep -q . &&
	    harness_fail "the default file sets something: $(cat "$H/cfg3/tunl.conf")"
	# The engineer account's home is a real directory.
	home=$(awk -F: '$1 == "support" { print $6 }' "$H/etc3/passwd")
	[ -d "$home" ] || harness_fail "support's home $home is not a directory"
	# The second init (in the same namespace) changes nothing.
	harness_assert_not_contains "${out##*====}" "created"
	harness_assert_contains "${out##*====}" "tunl-admin init: done"
else
	harness_log "note: built-in paths ($LSTATE, $HARNESS_CFG_DIR) cannot be made private here; init without a file not tested"
fi

# ==== a relay to wire ==============================================================
relay_config
relay_init
relay_install
harness_install_libexec "$top_builddir/tunl-broker"
chown "$HARNESS_UID_BROKER:$HARNESS_GID_TUNL" "$H/libexec/tunl-broker" &&
    chmod 4750 "$H/libexec/tunl-broker" ||
    harness_fail "cannot make tunl-broker setuid"
# tunl-shell with its test paths; the engineers' keys come from tunl.conf.
harness_install_libexec "$top_builddir/tunl-shell" tunl-shell.bin
printf '#!/bin/sh\nexec %s -f %s --authority %s --broker %s "$@"\n' \
    "$H/libexec/tunl-shell.bin" "$RELAY_CONF" "$H/libexec/tunl-authority" \
    "$H/libexec/tunl-broker" >"$H/libexec/tunl-shell"
chmod 0755 "$H/libexec/tunl-shell"
PAMDIR=$H/lib/security
mkdir -p "$PAMDIR" && chmod 0755 "$H/lib" "$PAMDIR" &&
    install -m 0644 "$top_builddir/.libs/pam_tunl.so" "$PAMDIR/pam_tunl.so" ||
    harness_fail "cannot install pam_tunl.so"
HARNESS_SUBST_PAM_MODULE=$PAMDIR/pam_tunl.so
HARNESS_SUBST_CUSTOMER_USER=tunl
HARNESS_SUBST_ENGINEER_USER=support
HARNESS_SUBST_PRINCIPALS_USER=tunlauth
export HARNESS_SUBST_PAM_MODULE HARNESS_SUBST_CUSTOMER_USER \
    HARNESS_SUBST_ENGINEER_USER HARNESS_SUBST_PRINCIPALS_USER
# A Debian-like stack without tunl: sshd includes common-auth; the tunl
# file is installed (as make install does) but not included.
harness_subst "$top_srcdir/pam.d/tunl.in" "$H/etc/pam.d/tunl"
printf '%s\n' "auth [success=1 default=ignore] pam_unix.so nullok" \
    "auth requisite pam_deny.so" "auth required pam_permit.so" \
    >"$H/etc/pam.d/common-auth"
printf '%s\n' "# sshd's stack" "@include common-auth" \
    "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so" \
    "account requisite pam_deny.so" "account required pam_permit.so" \
    "session required pam_unix.so" >"$H/etc/pam.d/sshd"
cp "$H/etc/pam.d/sshd" "$H/pam-sshd.orig"
harness_sshd_config
harness_subst "$top_srcdir/sshd_config.d/tunl.conf.in" "$H/dropin.conf"
DROPIN=$H/etc/sshd_config.d/tunl.conf
rm -f "$H/keys/support.authorized_keys"
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >/dev/null 2>&1 ||
    harness_fail "init after removing the keys file"

# admin CMD [ARGS]: tunl-admin CMD with the test's paths; $OUT, $RC.
admin() {
	_cmd=$1
	shift
	OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" "$_cmd" \
	    --libexecdir "$H/libexec" --pamdir "$PAMDIR" \
	    --sshd-config "$H/etc/sshd_config" --pam-dir "$H/etc/pam.d" \
	    --fail2ban-dir "$H/no-fail2ban" --dropin "$H/dropin.conf" "$@" 2>&1)
	RC=$?
}
# eng ARGS: tunl-eng ARGS; $OUT, $RC.
eng() {
	OUT=$(relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" engineer "$@" 2>&1)
	RC=$?
}
unchanged() {
	cmp -s "$H/etc/pam.d/sshd" "$H/pam-sshd.orig" ||
	    harness_fail "$1 changed sshd's PAM file: $(cat "$H/etc/pam.d/sshd")"
	[ -e "$DROPIN" ] && harness_fail "$1 left the drop-in"
	[ -e "$H/etc/pam.d/sshd.tunl-backup" ] && harness_fail "$1 made a backup"
	return 0
}

# ==== enable refuses what would break sshd, changing nothing ====================
admin status
[ "$RC" = 1 ] || harness_fail "status called an unwired relay healthy: $OUT"
harness_assert_contains "$OUT" "PROBLEM  sshd for tunl: no ForceCommand"

admin enable --pamdir "$H/lib"
[ "$RC" = 1 ] || harness_fail "enable without a loadable module: $OUT"
harness_assert_contains "$OUT" "refused  the PAM module does not load"
unchanged "enable without a module"

cp "$H/dropin.conf" "$H/dropin.good"
echo "NoSuchKeyword yes" >>"$H/dropin.conf"
admin enable
[ "$RC" = 1 ] || harness_fail "enable with a drop-in sshd rejects: $OUT"
harness_assert_contains "$OUT" "sshd -t fails with it"
unchanged "enable with a bad drop-in"
cp "$H/dropin.good" "$H/dropin.conf"

cp "$H/etc/pam.d/tunl" "$H/pam-tunl.good"
echo "@include no-such-pam-file" >>"$H/etc/pam.d/tunl"
admin enable
[ "$RC" = 1 ] || harness_fail "enable with a stack libpam cannot start: $OUT"
harness_assert_contains "$OUT" "fails the PAM check"
unchanged "enable with a broken pam.d/tunl"
cp "$H/pam-tunl.good" "$H/etc/pam.d/tunl"

# ==== enable ==================================================================================
admin enable
[ "$RC" = 0 ] || harness_fail "enable: $OUT"
harness_assert_contains "$OUT" "added    $DROPIN"
harness_assert_contains "$OUT" "\"@include tunl\" above line 2"
cmp -s "$H/etc/pam.d/sshd.tunl-backup" "$H/pam-sshd.orig" ||
    harness_fail "the backup is not the old file"
cmp -s "$DROPIN" "$H/dropin.conf" || harness_fail "the drop-in is not tunl's"
inc=$(grep -n '^@include tunl$' "$H/etc/pam.d/sshd" | cut -d: -f1)
common=$(grep -n '^@include common-auth$' "$H/etc/pam.d/sshd" | cut -d: -f1)
[ -n "$inc" ] && [ "$inc" -lt "$common" ] ||
    harness_fail "the include is not above common-auth: $(cat "$H/etc/pam.d/sshd")"
sh "$top_srcdir/tools/pam-wired" "$H/etc/pam.d/sshd" ||
    harness_fail "pam-wired does not see the include"
cp "$H/etc/pam.d/sshd" "$H/pam-sshd.wired"
admin enable
[ "$RC" = 0 ] || harness_fail "second enable: $OUT"
harness_assert_not_contains "$OUT" "added"
cmp -s "$H/etc/pam.d/sshd" "$H/pam-sshd.wired" || harness_fail "second enable changed the PAM file"

# ==== engineers =================================================================================
harness_keygen alice
harness_keygen bob
eng add alice "$H/client/alice.pub"
[ "$RC" = 0 ] || harness_fail "engineer add alice: $OUT"
fp=$(ssh-keygen -lf "$H/client/alice.pub" | awk '{print $2}')
harness_assert_contains "$OUT" "added    engineer alice, ssh-ed25519 key $fp"
OUT=$(relay_in_ns sh -c "'$TUNL_ADMIN' -f '$RELAY_CONF' engineer add bob - <'$H/client/bob.pub'" 2>&1) ||
    harness_fail "engineer add bob from stdin: $OUT"
harness_assert_eq "root:root 644" "$(stat -c '%U:%G %a' "$H/keys/support.authorized_keys")" "keys file"
grep -q "^environment=\"TUNL_ENGINEER=alice\",restrict,pty ssh-ed25519 " \
    "$H/keys/support.authorized_keys" || harness_fail "alice's line: $(cat "$H/keys/support.authorized_keys")"
sum=$(sha256sum <"$H/keys/support.authorized_keys")
eng add carol "$H/client/alice.pub"
[ "$RC" = 1 ] || harness_fail "a duplicate key was added: $OUT"
harness_assert_contains "$OUT" "already there for alice"
eng add alice "$H/client/bob.pub"
[ "$RC" = 1 ] || harness_fail "a duplicate name was added: $OUT"
harness_assert_contains "$OUT" "engineer alice already has a key"
echo "ssh-ed25519 bm90IGEga2V5 junk" >"$H/junk.pub"
eng add dave "$H/junk.pub"
[ "$RC" = 1 ] || harness_fail "junk was added: $OUT"
harness_assert_contains "$OUT" "not an OpenSSH public key"
eng add 'Eve"x' "$H/client/bob.pub"
[ "$RC" = 1 ] || harness_fail "a bad name was added: $OUT"
harness_assert_eq "$sum" "$(sha256sum <"$H/keys/support.authorized_keys")" "refusals changed the keys file"
eng list
[ "$RC" = 0 ] || harness_fail "engineer list: $OUT"
harness_assert_contains "$OUT" "alice"
harness_assert_contains "$OUT" "$fp"
harness_assert_contains "$OUT" "bob"

# ==== the wired relay: healthy, engineers and customers log in ====================
admin doctor
[ "$RC" = 0 ] || harness_fail "doctor on the wired relay: $OUT"
admin status
[ "$RC" = 0 ] || harness_fail "status on the wired relay: $OUT"
harness_assert_contains "$OUT" "tunl-admin status: healthy"
harness_assert_contains "$OUT" "recordings: 0 file(s), 0.0 MiB on disk in $H/var/log/tunl"
# A directory of the layout table with a wrong mode: status is not
# healthy; doctor --fix gives it the table's mode back.
chmod 2770 "$H/var/log/tunl"
admin status
[ "$RC" = 1 ] || harness_fail "status with a wrong recording dir mode: $OUT"
harness_assert_contains "$OUT" "PROBLEM  $H/var/log/tunl: is tunl-broker:tunl-rec 2770, expected tunl-broker:tunl-rec 2750"
admin doctor --fix
[ "$RC" = 0 ] || harness_fail "doctor --fix of the recording dir: $OUT"
harness_assert_contains "$OUT" "fixed    $H/var/log/tunl: was tunl-broker:tunl-rec 2770, now tunl-broker:tunl-rec 2750"
admin status --fix
[ "$RC" = 2 ] || harness_fail "status accepted --fix: $OUT"
harness_start_sshd
SSH="ssh -F /dev/null -p $HARNESS_PORT -o UserKnownHostsFile=$H/client/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o IdentityAgent=none -o IdentitiesOnly=yes -o BatchMode=yes -o PreferredAuthentications=publickey -o ControlPath=none"
# A sanitizer build's pam_tunl.so cannot load into the stock sshd
# (pam-auth.sh skips whole for it): the engineer's verbs, which need
# pam_tunl's session stage, and the customer's logins are then left to
# the main build's run of this test; the logins themselves are checked
# in both.
if [ -z "${TUNL_SANITIZED:-}" ]; then
	out=$($SSH -i "$H/client/alice" support@127.0.0.1 new --case 4711 2>&1) ||
	    harness_fail "alice's new: $out"
	ID=$(echo "$out" | sed -n 's/^session  *\([a-z-]*\)$/\1/p' | head -1)
	TOKEN=$(echo "$out" | sed -n 's/^token  *\([0-9]*\).*$/\1/p' | head -1)
	[ -n "$ID" ] && [ -n "$TOKEN" ] || harness_fail "no id and token in: $out"
	harness_assert_eq alice "$(relay_sql "SELECT engineer FROM sessions WHERE id='$ID';")" \
	    "the session's engineer"
	relay_login "$ID" "$TOKEN" status ||
	    harness_fail "the customer's login through the wired PAM stack: $(cat "$H/err")"
fi
eng remove bob
[ "$RC" = 0 ] || harness_fail "engineer remove bob: $OUT"
# ssh's own failure (255) is a refused login; tunl's refusals exit lower.
rc=0
$SSH -i "$H/client/bob" support@127.0.0.1 list >/dev/null 2>&1 || rc=$?
[ "$rc" = 255 ] || harness_fail "a removed engineer logged in (exit $rc)"
rc=0
$SSH -i "$H/client/alice" support@127.0.0.1 list >/dev/null 2>&1 || rc=$?
[ "$rc" != 255 ] || harness_fail "alice cannot log in after bob left"
[ -n "${TUNL_SANITIZED:-}" ] || [ "$rc" = 0 ] ||
    harness_fail "alice's list after bob left: exit $rc"

# ==== make uninstall refuses while the include is there ============================
DEST=$H/dest
make -C "$top_builddir" install DESTDIR="$DEST" >"$H/install.log" 2>&1 ||
    harness_fail "make install DESTDIR: $(tail -20 "$H/install.log")"
PAMD=$(cd "$DEST" && find . -path '*/pam.d/tunl' | head -1)
[ -n "$PAMD" ] || harness_fail "make install put no pam.d/tunl under $DEST"
PAMD=$DEST/${PAMD#./}
cp "$H/etc/pam.d/sshd" "${PAMD%/tunl}/sshd"
make -C "$top_builddir" uninstall DESTDIR="$DEST" >"$H/uninstall.log" 2>&1 &&
    harness_fail "make uninstall went on with sshd including tunl"
harness_assert_contains "$(cat "$H/uninstall.log")" "run \"tunl-admin disable\" first"
[ -f "$PAMD" ] || harness_fail "make uninstall removed pam.d/tunl under an include"
cp "$H/pam-sshd.orig" "${PAMD%/tunl}/sshd"
make -C "$top_builddir" uninstall DESTDIR="$DEST" >"$H/uninstall.log" 2>&1 ||
    harness_fail "make uninstall without the include: $(tail -20 "$H/uninstall.log")"
[ -e "$PAMD" ] && harness_fail "make uninstall left pam.d/tunl"
rm -rf "$DEST"

# ==== disable: PAM first, then the drop-in; nobody else locked out ===================
# A token issued while wired, to try after disable.
if [ -z "${TUNL_SANITIZED:-}" ]; then
	out=$($SSH -i "$H/client/alice" support@127.0.0.1 token "$ID" 2>&1) ||
	    harness_fail "token: $out"
	TOKEN=$(echo "$out" | sed -n 's/^token  *\([0-9]*\).*$/\1/p' | head -1)
fi
admin disable
[ "$RC" = 0 ] || harness_fail "disable: $OUT"
harness_assert_contains "$OUT" "removed  $H/etc/pam.d/sshd: tunl's lines"
harness_assert_contains "$OUT" "removed  $DROPIN"
cmp -s "$H/etc/pam.d/sshd" "$H/pam-sshd.orig" ||
    harness_fail "disable did not restore the stack: $(cat "$H/etc/pam.d/sshd")"
sh "$top_srcdir/tools/pam-wired" "$H/etc/pam.d/sshd" &&
    harness_fail "pam-wired still sees tunl"
[ -f "$H/etc/pam.d/tunl" ] || harness_fail "disable removed pam.d/tunl"
# sshd reads PAM files at each login: the engineer still gets in (ssh
# itself fails with 255), though tunl's verbs now refuse, since no
# pam_tunl session stage names the engineer; the customer's token no
# longer works.
rc=0
out=$($SSH -i "$H/client/alice" support@127.0.0.1 list 2>&1) || rc=$?
[ "$rc" -ne 255 ] || harness_fail "an engineer was locked out after disable: $out"
harness_assert_contains "$out" "pam_tunl"
if [ -z "${TUNL_SANITIZED:-}" ]; then
	relay_login "$ID" "$TOKEN" status &&
	    harness_fail "a customer logged in through a stack without pam_tunl"
fi
admin disable
[ "$RC" = 0 ] || harness_fail "second disable: $OUT"
harness_assert_not_contains "$OUT" "removed"
harness_host_unchanged
exit 0
