# relay.sh: sourced after harness.sh by tests that need a configured tunl
# relay: a tunl.conf under $H and `tunl-admin init` run with the harness's
# private /run, passwd and group.
#
#   relay_config [LINE...]   write $RELAY_CONF (extra key = value lines win)
#   relay_init               tunl-admin init; output in $H/admin-init.log
#   relay_in_ns CMD...       run CMD in a fresh private namespace with the
#                            same binds as sshd's (so it sees the same
#                            /run/tunl); works before sshd is started
#   relay_as USER CMD...     the same, as USER (and its groups)
#   relay_sql SQL            run SQL on the registry with the sqlite3 tool

: "${top_builddir:?}"
TUNL_ADMIN=$top_builddir/tunl-admin
RELAY_CONF=$H/etc/tunl/tunl.conf
export TUNL_ADMIN RELAY_CONF

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
	chmod 0755 "$H/etc/tunl" "$H/var/lib" "$H/var"
	{
		echo "database = $H/var/lib/tunl/tunl.db"
		echo "runtime_dir = /run/tunl"
		echo "recording_dir = $H/var/log/tunl"
		echo "token_key = $H/etc/tunl/token.key"
		echo "ca_key = $H/etc/tunl/user_ca"
		for _rl; do
			echo "$_rl"
		done
	} >"$RELAY_CONF.new"
	# A later line for the same key is an error, so let extra lines win
	# by dropping the defaults above that they name.
	for _rl; do
		_rk=${_rl%% *}
		grep -v "^$_rk = " "$RELAY_CONF.new" >"$RELAY_CONF.tmp"
		{ cat "$RELAY_CONF.tmp"; echo "$_rl"; } >"$RELAY_CONF.new"
	done
	awk '!seen[$0]++' "$RELAY_CONF.new" >"$RELAY_CONF"
	rm -f "$RELAY_CONF.new" "$RELAY_CONF.tmp"
	chmod 0644 "$RELAY_CONF"
	RELAY_DB=$H/var/lib/tunl/tunl.db
	export RELAY_DB
}

relay_init() {
	relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" init >"$H/admin-init.log" 2>&1 ||
	    harness_fail "tunl-admin init failed: $(cat "$H/admin-init.log")"
	HARNESS_SUBST_USER_CA=$H/etc/tunl/user_ca.pub
	export HARNESS_SUBST_USER_CA
}

relay_sql() {
	command -v sqlite3 >/dev/null 2>&1 || harness_skip "needs the sqlite3 tool"
	sqlite3 -batch -bail "$RELAY_DB" "$1"
}
