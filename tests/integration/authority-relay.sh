# authority-relay.sh: sourced after harness.sh by authority.sh,
# principals.sh and bench/auth-path.sh. A configured relay under $H, and
# ways to run programs against it as the relay's accounts.
#
# tunl-authority is setgid and takes a configuration path (-f) from root
# only, so, run as tunl or support, it reads the built-in path
# (CFG_PATH_DEFAULT). ar_ns therefore runs its command in a private mount
# namespace where $H/etc/tunl is bind-mounted over the built-in
# configuration directory, beside the harness's own binds of /run,
# /etc/passwd and /etc/group. Nothing outside the namespace changes.
#
#   ar_config [LINE...]   write $AR_CONF (extra "key = value" lines win)
#   ar_init               tunl-admin init in the namespace
#   ar_install            install tunl-principals (root 0755) and
#                         tunl-authority (root:tunl-auth 2755) in $H/libexec
#   ar_ns CMD...          run CMD in the namespace, as root
#   ar_as USER CMD...     the same, as USER with its groups, environment reset
#   ar_sql SQL            run SQL on the registry with the sqlite3 tool
#
# (The lead's shared tests/integration/relay.sh was not in this branch's
# tree when this was written; this file covers what these tests need.)

: "${top_builddir:?}"
AR_ADMIN=$top_builddir/tunl-admin
AR_CONF=$H/etc/tunl/tunl.conf
AR_DB=$H/var/lib/tunl/tunl.db

# The built-in configuration path, as tunl-admin reports it.
AR_CFG_DEFAULT=$("$AR_ADMIN" help 2>/dev/null |
    sed -n 's/^The configuration is read from -f, else \(.*\)\.$/\1/p')
[ -n "$AR_CFG_DEFAULT" ] ||
    harness_fail "cannot learn the built-in configuration path from tunl-admin help"
AR_CFG_DIR=$(dirname "$AR_CFG_DEFAULT")
[ "$(basename "$AR_CFG_DEFAULT")" = tunl.conf ] ||
    harness_skip "built-in configuration $AR_CFG_DEFAULT is not named tunl.conf"
# A missing directory is made on a tmpfs over its parent, inside the
# namespace only; allowed only for a parent like /usr/local/etc, never /etc.
if [ ! -d "$AR_CFG_DIR" ]; then
	_arp=$(dirname "$AR_CFG_DIR")
	case $_arp in
	/etc|/) harness_skip "cannot mount over $_arp for $AR_CFG_DIR" ;;
	*/etc) [ -d "$_arp" ] ||
	    harness_skip "neither $AR_CFG_DIR nor $_arp exists" ;;
	*) harness_skip "will not mount a tmpfs over $_arp for $AR_CFG_DIR" ;;
	esac
fi
export AR_ADMIN AR_CONF AR_DB AR_CFG_DEFAULT AR_CFG_DIR

_AR_MOUNTS='
set -e
h=$1
cfgdir=$2
shift 2
mount --bind "$h/run" /run
mount --bind "$h/etc/pam.d" /etc/pam.d
mount --bind "$h/etc/passwd" /etc/passwd
mount --bind "$h/etc/group" /etc/group
if [ ! -d "$cfgdir" ]; then
	mount -t tmpfs -o mode=0755,nosuid,nodev tunl-test "$(dirname "$cfgdir")"
	mkdir -m 0755 "$cfgdir"
fi
mount --bind "$h/etc/tunl" "$cfgdir"
exec "$@"
'

ar_ns() {
	unshare --mount --propagation private sh -c "$_AR_MOUNTS" sh "$H" \
	    "$AR_CFG_DIR" "$@"
}

# ar_as USER CMD...: CMD as USER with its groups and a reset environment
# (put "env NAME=VALUE" before CMD to add to it).
ar_as() {
	_aru=$1
	shift
	ar_ns setpriv --reuid="$_aru" --regid="$_aru" --init-groups \
	    --reset-env -- "$@"
}

ar_config() {
	[ "$HARNESS_SAFE_TREE" = yes ] ||
	    harness_skip "tunl-admin needs a tree whose parents only root can write (set HARNESS_TMPDIR)"
	mkdir -p "$H/etc/tunl" "$H/var/lib" || harness_fail "mkdir under $H"
	chmod 0755 "$H/etc/tunl" "$H/var" "$H/var/lib"
	{
		echo "database = $AR_DB"
		echo "runtime_dir = /run/tunl"
		echo "recording_dir = $H/var/log/tunl"
		echo "token_key = $H/etc/tunl/token.key"
		echo "ca_key = $H/etc/tunl/user_ca"
	} >"$AR_CONF.new"
	for _arl; do
		_ark=${_arl%% *}
		grep -v "^$_ark = " "$AR_CONF.new" >"$AR_CONF.tmp"
		{ cat "$AR_CONF.tmp"; echo "$_arl"; } >"$AR_CONF.new"
	done
	mv "$AR_CONF.new" "$AR_CONF"
	rm -f "$AR_CONF.tmp"
	chmod 0644 "$AR_CONF"
}

ar_init() {
	if ! ar_ns "$AR_ADMIN" -f "$AR_CONF" init >"$H/admin-init.log" 2>&1; then
		# tunl-admin init runs ssh-keygen under umask 077, which leaves
		# the CA's public key 0600 and stops the first run; init is
		# idempotent, so make it readable and run it again.
		grep -q 'user_ca.pub has mode 0600' "$H/admin-init.log" ||
		    harness_fail "tunl-admin init failed: $(cat "$H/admin-init.log")"
		chmod 0644 "$H/etc/tunl/user_ca.pub"
		ar_ns "$AR_ADMIN" -f "$AR_CONF" init >"$H/admin-init.log" 2>&1 ||
		    harness_fail "tunl-admin init failed: $(cat "$H/admin-init.log")"
	fi
	HARNESS_SUBST_USER_CA=$H/etc/tunl/user_ca.pub
	HARNESS_SUBST_TUNL_CONF=$AR_CONF
	export HARNESS_SUBST_USER_CA HARNESS_SUBST_TUNL_CONF
}

ar_install() {
	harness_install_libexec "$top_builddir/tunl-principals"
	harness_install_libexec "$top_builddir/tunl-authority"
	chown "0:$HARNESS_GID_TUNL_AUTH" "$H/libexec/tunl-authority" &&
	    chmod 2755 "$H/libexec/tunl-authority" ||
	    harness_fail "cannot make tunl-authority setgid"
}

ar_sql() {
	command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"
	sqlite3 -batch -bail "$AR_DB" "$1"
}
