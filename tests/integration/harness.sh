# Integration-test harness for tunl: a private sshd on loopback.
#
# Sourced by every tests/integration/*.sh test (POSIX sh). It follows
# "Route A" of the project's TESTING notes: as root, sshd runs inside a
# private mount namespace where directories of the test's own tree $H are
# bind-mounted over /run, /etc (a copy of the machine's, holding the test's
# passwd, group and pam.d) and /var/log, so nothing is ever written to the
# machine's /etc or /var/log, and nothing done on the machine meanwhile
# (an account added, a log rotated) reaches into the test.
#
#	. "$top_srcdir/tests/integration/harness.sh"
#	harness_init mytest            # skips (77) unless root + unshare + sshd
#	harness_sshd_config "$top_srcdir/tests/integration/my.conf"
#	harness_start_sshd
#	out=$(harness_ssh support 'some command')
#
# Everything the harness starts is stopped by pid when the test exits; the
# tree is removed unless the test failed and KEEP_HARNESS=1.  See README.md
# next to this file for the full list of helpers.

HARNESS_SSHD=/usr/sbin/sshd

# ---- messages and assertions -------------------------------------------

harness_log() {
	printf '%s %s: %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" \
	    "${HARNESS_NAME:-harness}" "$*" >&2
}

harness_fail() {
	printf 'FAIL: %s: %s\n' "${HARNESS_NAME:-harness}" "$*" >&2
	exit 1
}

harness_skip() {
	printf 'SKIP: %s: %s\n' "${HARNESS_NAME:-harness}" "$*" >&2
	exit 77
}

# harness_assert_eq EXPECTED ACTUAL [WHAT]
harness_assert_eq() {
	[ "$1" = "$2" ] && return 0
	printf 'FAIL: %s: %s\n  expected: [%s]\n  actual:   [%s]\n' \
	    "${HARNESS_NAME:-harness}" "${3:-values differ}" "$1" "$2" >&2
	exit 1
}

# harness_assert_contains HAYSTACK NEEDLE [WHAT]   (fixed string)
harness_assert_contains() {
	case $1 in
	*"$2"*) return 0 ;;
	esac
	printf 'FAIL: %s: %s\n  missing: [%s]\n  in:      [%s]\n' \
	    "${HARNESS_NAME:-harness}" "${3:-text not found}" "$2" "$1" >&2
	exit 1
}

# harness_assert_not_contains HAYSTACK NEEDLE [WHAT]
harness_assert_not_contains() {
	case $1 in
	*"$2"*)
		printf 'FAIL: %s: %s\n  unexpected: [%s]\n  in:         [%s]\n' \
		    "${HARNESS_NAME:-harness}" "${3:-unexpected text}" "$2" "$1" >&2
		exit 1 ;;
	esac
	return 0
}

# ---- small utilities ------------------------------------------------------

# harness_wait SECONDS WHAT CMD...: run CMD every 50 ms until it succeeds;
# fail, naming WHAT, once SECONDS have passed without it.  Tests wait for
# a condition this way, never for a duration: the limit is only there so
# that a broken build fails instead of hanging, so make it generous (a
# loaded 2-core machine can be ten times slower than an idle one).
# Before failing it runs $HARNESS_WAIT_DEBUG, if a test set one (a
# function that shows what the failure's log needs: screens, logs).
harness_wait() {
	_hwl=$1
	_hww=$2
	shift 2
	_hwend=$(( $(date +%s) + _hwl ))
	while ! "$@"; do
		if [ "$(date +%s)" -ge "$_hwend" ]; then
			${HARNESS_WAIT_DEBUG:+"$HARNESS_WAIT_DEBUG"}
			harness_fail "waited ${_hwl} s for $_hww"
		fi
		sleep 0.05
	done
	return 0
}

# harness_path_is_safe PATH: true when PATH and every directory above it
# are owned by root and writable by nobody else, which is what sshd demands
# of an AuthorizedPrincipalsCommand (and, with StrictModes, of key files).
harness_path_is_safe() {
	_hp=$1
	case $_hp in
	/*) ;;
	*) return 1 ;;
	esac
	while :; do
		[ -e "$_hp" ] || return 1
		# Owner uid and octal mode; refuse group/world write (022).
		_hsm=$(stat -L -c '%u %a' "$_hp") || return 1
		set -- $_hsm
		[ "$1" = 0 ] || return 1
		[ $((0$2 & 022)) -eq 0 ] || return 1
		[ "$_hp" = / ] && return 0
		_hp=$(dirname "$_hp")
	done
}

# _harness_proc_start PID: the process's start time in clock ticks, or
# nothing when it no longer exists (or is a zombie).
_harness_proc_start() {
	_hst=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# Fields after the command name, which may itself hold spaces.
	set -- ${_hst##*) }
	[ "$1" = Z ] && return 1
	shift 19
	printf '%s\n' "$1"
}

# harness_alive PID: true while PID runs (a zombie counts as gone).
harness_alive() {
	_harness_proc_start "$1" >/dev/null
}

# harness_track PID: stop this process when the harness tears down.
harness_track() {
	# A process may already be gone (a peer refused at once): then there
	# is nothing to stop.
	_ht=$(_harness_proc_start "$1") || return 0
	printf '%s %s\n' "$1" "$_ht" >>"$H/pids"
}

# harness_pids_in_ns NS: pids of every process whose mount namespace is NS
# (as readlink shows it, "mnt:[N]").  One find over /proc, not a readlink
# per process: on a loaded machine a shell loop over /proc takes seconds.
harness_pids_in_ns() {
	[ -n "${1:-}" ] || return 0
	_hpat=$(printf '%s' "$1" | sed 's/[][*?\\]/\\&/g')
	find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$_hpat" 2>/dev/null |
	    sed 's|^/proc/\([0-9]*\)/.*|\1|'
	return 0
}

# Pids of every process inside the sshd's mount namespace.
_harness_ns_pids() {
	harness_pids_in_ns "${HARNESS_NS:-}"
}

# harness_leftovers: print every process the harness started that still
# runs (tracked pids, sshd among them, and anything in sshd's mount
# namespace); empty output means all are gone.
harness_leftovers() {
	# A process killed a moment ago may still be on its way out (on a
	# loaded machine, for a while): give stragglers ten seconds before
	# calling them left over.
	_hwend=$(( $(date +%s) + 10 ))
	while :; do
		_hlo=$({
			_harness_tracked
			_harness_ns_pids
		} | sort -un)
		[ -z "$_hlo" ] || [ "$(date +%s)" -ge "$_hwend" ] && break
		sleep 0.05
	done
	if [ -n "$_hlo" ]; then
		# Say what they are, for the log of a failing test.
		for _hp in $_hlo; do
			printf 'left over: %s %s\n' "$_hp" \
			    "$(tr '\0' ' ' <"/proc/$_hp/cmdline" 2>/dev/null)" >&2
		done
	fi
	[ -z "$_hlo" ] || printf '%s\n' "$_hlo"
}

# Tracked pids still running the process that was tracked (same start
# time), so a recycled pid is never taken for ours.
_harness_tracked() {
	[ -f "$H/pids" ] || return 0
	while read -r _hp _hs; do
		[ "$(_harness_proc_start "$_hp")" = "$_hs" ] && echo "$_hp"
	done <"$H/pids"
	return 0
}

# harness_subst IN OUT [NAME=VALUE ...]
# Copy IN to OUT replacing every @NAME@ with $HARNESS_SUBST_NAME (or with a
# NAME=VALUE given here).  An @NAME@ with no value is an error, so a typo in
# a shipped file cannot slip through unreplaced.  Values are not rescanned.
harness_subst() {
	[ $# -ge 2 ] || harness_fail "usage: harness_subst IN OUT [NAME=VALUE...]"
	_hin=$1
	_hout=$2
	shift 2
	[ -f "$_hin" ] || harness_fail "harness_subst: no such file: $_hin"
	(
		for _hkv; do
			_hk=${_hkv%%=*}
			case $_hk in
			''|*[!A-Z0-9_]*|"$_hkv")
				harness_fail "harness_subst: bad pair: $_hkv" ;;
			esac
			export "HARNESS_SUBST_$_hk=${_hkv#*=}"
		done
		awk '
		{
			line = $0
			out = ""
			while (match(line, /@[A-Z][A-Z0-9_]*@/)) {
				name = substr(line, RSTART + 1, RLENGTH - 2)
				key = "HARNESS_SUBST_" name
				if (key in ENVIRON) {
					out = out substr(line, 1, RSTART - 1) ENVIRON[key]
				} else {
					printf "%s:%d: no value for @%s@\n", \
					    FILENAME, FNR, name > "/dev/stderr"
					bad = 1
					out = out substr(line, 1, RSTART + RLENGTH - 1)
				}
				line = substr(line, RSTART + RLENGTH)
			}
			print out line
		}
		END { exit bad }' "$_hin" >"$_hout.tmp"
	) || { rm -f "$_hout.tmp"; harness_fail "harness_subst: $_hin"; }
	# Rewrite in place: OUT may be a bind-mounted file (keeps its inode).
	cat "$_hout.tmp" >"$_hout" && rm -f "$_hout.tmp"
}

# ---- the machine's files we promise not to touch -------------------------

_harness_host_files() {
	for _hf in /etc/passwd /etc/group /etc/shadow /etc/gshadow \
	    /etc/pam.d/* /etc/ssh/* /etc/ssh/*/* \
	    /var/log/wtmp /var/log/btmp /var/log/lastlog /var/log/faillog; do
		[ -f "$_hf" ] && printf '%s\n' "$_hf"
	done
	return 0
}

# harness_host_snapshot FILE: owner, mode and checksum of the machine's
# account, PAM, sshd and login-record files.
# Inode and time are left out on purpose: someone adding and removing an
# account on the machine while a test runs (useradd and userdel rename new
# files into place) leaves the same contents under new inodes, and that is
# not the test's doing.
harness_host_snapshot() {
	set -- "$1" $(_harness_host_files)
	_hsnap=$1
	shift
	{
		stat -c '%n %u:%g %a' "$@"
		sha256sum "$@"
	} >"$_hsnap" || harness_fail "cannot take a snapshot of the machine's files"
}

# harness_host_unchanged: fail unless those files match the snapshot taken
# by harness_init.
harness_host_unchanged() {
	harness_host_snapshot "$H/host.after"
	if ! cmp -s "$H/host.before" "$H/host.after"; then
		diff "$H/host.before" "$H/host.after" >&2
		harness_fail "the machine's /etc or /var/log changed"
	fi
}

# ---- setup ---------------------------------------------------------------

# harness_init NAME: check prerequisites (else skip), build the private
# tree $H, install the cleanup trap.
harness_init() {
	HARNESS_NAME=$1
	case $HARNESS_NAME in
	''|*[!A-Za-z0-9_-]*) harness_fail "harness_init: bad test name" ;;
	esac
	[ "$(id -u)" = 0 ] ||
	    harness_skip "needs root to run sshd in a private mount namespace"
	for _hc in unshare nsenter ssh ssh-keygen ss timeout awk stat \
	    sha256sum mount; do
		command -v "$_hc" >/dev/null 2>&1 ||
		    harness_skip "needs $_hc, which is not installed"
	done
	[ -x "$HARNESS_SSHD" ] || harness_skip "$HARNESS_SSHD is not installed"
	unshare --mount --propagation private true 2>/dev/null ||
	    harness_skip "cannot create a mount namespace (unshare --mount failed)"

	umask 022
	: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
	: "${top_builddir:=$(pwd)}"
	HARNESS_DIR=$top_srcdir/tests/integration
	HARNESS_LOGDIR=$top_builddir/tests/integration
	mkdir -p "$HARNESS_LOGDIR" || harness_fail "cannot create $HARNESS_LOGDIR"
	rm -f "$HARNESS_LOGDIR/$HARNESS_NAME.sshd.log"

	# sshd refuses an AuthorizedPrincipalsCommand below any directory not
	# owned by root or writable by others, so prefer such a place.
	# A clone under /tmp (world-writable) is not such a place: then use
	# /var/lib/tunl-tests, made here 0755 root and removed when empty.
	HARNESS_SAFE_TREE=no
	HARNESS_VARLIB=
	for _hb in ${HARNESS_TMPDIR:-} "$HARNESS_LOGDIR" /var/lib/tunl-tests; do
		if [ "$_hb" = /var/lib/tunl-tests ] &&
		    harness_path_is_safe /var/lib; then
			mkdir -p -m 0755 "$_hb" 2>/dev/null
			HARNESS_VARLIB=1
		fi
		if harness_path_is_safe "$_hb"; then
			HARNESS_SAFE_TREE=yes
			break
		fi
		HARNESS_VARLIB=
	done
	[ "$HARNESS_SAFE_TREE" = yes ] || _hb=${TMPDIR:-/tmp}
	# Another test may remove an empty /var/lib/tunl-tests at any moment.
	H=
	for _hi in 1 2 3; do
		[ -n "$HARNESS_VARLIB" ] && mkdir -p -m 0755 "$_hb" 2>/dev/null
		H=$(mktemp -d "$_hb/$HARNESS_NAME.XXXXXX" 2>/dev/null) && break
		H=
	done
	[ -n "$H" ] || harness_fail "mktemp -d in $_hb failed"
	case $H in
	*[!A-Za-z0-9_./-]*)
		rm -rf "$H"
		harness_skip "path $H has characters the config files cannot hold" ;;
	esac
	chmod 0755 "$H"
	: >"$H/pids"
	HARNESS_SSHD_PID=
	HARNESS_NS=
	HARNESS_PORT=
	export H HARNESS_NAME
	trap '_harness_exit' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
	[ "$HARNESS_SAFE_TREE" = yes ] ||
	    harness_log "note: $_hb is not root-only; StrictModes off and no AuthorizedPrincipalsCommand (set HARNESS_TMPDIR)"

	harness_host_snapshot "$H/host.before"

	mkdir -p "$H/etc/pam.d" "$H/etc/sshd_config.d" "$H/run/sshd" \
	    "$H/var/log" "$H/home" "$H/keys" "$H/client" "$H/libexec" \
	    "$H/bin" || harness_fail "cannot create the tree under $H"
	chmod 0755 "$H/run" "$H/run/sshd"
	chmod 0700 "$H/client"
	: >"$H/run/utmp"
	: >"$H/var/log/wtmp"
	: >"$H/var/log/lastlog"
	: >"$H/var/log/btmp"
	chmod 0600 "$H/var/log/btmp"

	_harness_users
	_harness_keys
	_harness_sysetc

	# Placeholders every substituted file may use.
	HARNESS_SUBST_H=$H
	HARNESS_SUBST_TOP_SRCDIR=$top_srcdir
	HARNESS_SUBST_TOP_BUILDDIR=$top_builddir
	HARNESS_SUBST_INTEGRATION_DIR=$HARNESS_DIR
	HARNESS_SUBST_LIBEXECDIR=$H/libexec
	HARNESS_SUBST_USER_CA=$H/etc/user_ca.pub
	# The engineers' keys file the drop-in names (tunl.conf engineer_keys).
	HARNESS_SUBST_ENGINEER_KEYS=$H/keys/support.authorized_keys
	export HARNESS_SUBST_ENGINEER_KEYS
	# The account that listens for the tunnel upgrade (tunl.conf
	# tunnel_user), in the drop-in.
	HARNESS_SUBST_TUNNEL_USER=tunl-tunnel
	export HARNESS_SUBST_TUNNEL_USER
	export HARNESS_SUBST_H HARNESS_SUBST_TOP_SRCDIR HARNESS_SUBST_TOP_BUILDDIR \
	    HARNESS_SUBST_INTEGRATION_DIR HARNESS_SUBST_LIBEXECDIR \
	    HARNESS_SUBST_USER_CA
	harness_pam_stack
	harness_log "tree $H"
}

# The machine's accounts plus ours, uids and gids unused on the machine.
_harness_users() {
	set -- $(awk -F: '
	    FILENAME == "/etc/passwd" { used[$3] = 1 }
	    FILENAME == "/etc/group" { used[$3] = 1 }
	    END {
		n = 0
		for (i = 61000; i < 65000 && n < 7; i++)
			if (!(i in used)) { printf "%d ", i; n++ }
	    }' /etc/passwd /etc/group)
	[ $# -eq 7 ] || harness_fail "no seven free ids from 61000 up"
	HARNESS_UID_TUNL=$1
	HARNESS_UID_SUPPORT=$2
	HARNESS_UID_TUNLAUTH=$3
	HARNESS_UID_BROKER=$4
	HARNESS_GID_TUNL=$1
	# tunl-auth: the keys' group, no members (tunl-authority is setgid).
	HARNESS_GID_TUNL_AUTH=$5
	# tunl-rec: may read recordings; the engineer account alone is in it.
	HARNESS_GID_TUNL_REC=$6
	# tunl-tunnel: listens for the tunnel upgrade; its own group only.
	HARNESS_UID_TUNNEL=$7
	export HARNESS_UID_TUNL HARNESS_UID_SUPPORT HARNESS_UID_TUNLAUTH \
	    HARNESS_UID_BROKER HARNESS_GID_TUNL HARNESS_GID_TUNL_AUTH \
	    HARNESS_GID_TUNL_REC HARNESS_UID_TUNNEL

	_hmine='$1 != "tunl" && $1 != "support" && $1 != "tunlauth" && $1 != "tunl-broker" && $1 != "tunl-auth" && $1 != "tunl-rec" && $1 != "tunl-tunnel"'
	{
		awk -F: "$_hmine" /etc/passwd
		# No "x": these accounts have no shadow entry (pam_unix account
		# then succeeds) and no password that could ever match.
		echo "tunl:*:$1:$1:tunl test customer:$H/home/tunl:/bin/sh"
		echo "support:*:$2:$2:tunl test engineer:$H/home/support:/bin/sh"
		echo "tunlauth:*:$3:$3:tunl principals:$H/home/tunlauth:/bin/sh"
		echo "tunl-broker:*:$4:$4:tunl broker:$H/home/tunl-broker:/bin/sh"
		echo "tunl-tunnel:*:$7:$7:tunl tunnel:$H/home/tunl-tunnel:/usr/sbin/nologin"
	} >"$H/etc/passwd"
	{
		awk -F: "$_hmine" /etc/group
		echo "tunl:x:$1:tunl,support,tunl-broker,tunlauth"
		echo "support:x:$2:"
		echo "tunlauth:x:$3:"
		echo "tunl-broker:x:$4:"
		echo "tunl-auth:x:$5:"
		echo "tunl-rec:x:$6:support"
		echo "tunl-tunnel:x:$7:"
	} >"$H/etc/group"
	chmod 0644 "$H/etc/passwd" "$H/etc/group"

	for _hu in tunl:$1 support:$2 tunlauth:$3 tunl-broker:$4 \
	    tunl-tunnel:$7; do
		mkdir "$H/home/${_hu%%:*}" &&
		    chown "${_hu#*:}:${_hu#*:}" "$H/home/${_hu%%:*}" &&
		    chmod 0755 "$H/home/${_hu%%:*}" ||
		    harness_fail "cannot make home for ${_hu%%:*}"
	done
}

# $H/sysetc: the machine's /etc as the namespaces see it, a copy taken now
# (a directory bound over /etc survives accounts being added on the
# machine; see _HARNESS_MOUNTS).  The copy keeps none of the machine's
# secrets: no password hashes, no sshd host keys (the test's sshd has its
# own), no tunl configuration (tunl-admin, CA and token keys: the relay's
# namespace sees $H/etc/tunl), no TLS private keys.
_harness_sysetc() {
	mkdir "$H/sysetc" && cp -a /etc/. "$H/sysetc/" ||
	    harness_fail "cannot copy /etc to $H/sysetc"
	rm -f "$H/sysetc/ssh/"ssh_host_*_key
	for _hd in tunl ssl/private; do
		[ -d "$H/sysetc/$_hd" ] || continue
		rm -rf "$H/sysetc/$_hd" && mkdir -m 0700 "$H/sysetc/$_hd" ||
		    harness_fail "cannot empty $H/sysetc/$_hd"
	done
	for _hf in shadow gshadow shadow- gshadow-; do
		[ -f "$H/sysetc/$_hf" ] || continue
		awk -F: -v OFS=: '{ if (NF > 1) $2 = "*"; print }' \
		    "$H/sysetc/$_hf" >"$H/sysetc/$_hf.tmp" &&
		    cat "$H/sysetc/$_hf.tmp" >"$H/sysetc/$_hf" &&
		    rm -f "$H/sysetc/$_hf.tmp" ||
		    harness_fail "cannot blank $H/sysetc/$_hf"
	done
	# The mount points for the test's own files.
	for _hf in passwd group; do
		[ -f "$H/sysetc/$_hf" ] && [ ! -L "$H/sysetc/$_hf" ] || {
			rm -rf "$H/sysetc/$_hf"
			: >"$H/sysetc/$_hf"
		}
	done
	[ -d "$H/sysetc/pam.d" ] && [ ! -L "$H/sysetc/pam.d" ] || {
		rm -rf "$H/sysetc/pam.d"
		mkdir "$H/sysetc/pam.d"
	}
	return 0
}

# harness_keygen NAME: an ed25519 client key pair $H/client/NAME{,.pub}.
harness_keygen() {
	ssh-keygen -q -t ed25519 -N '' -C "$1@$HARNESS_NAME" \
	    -f "$H/client/$1" </dev/null ||
	    harness_fail "ssh-keygen for $1 failed"
}

# harness_authorize USER KEYNAME [OPTIONS]: let KEYNAME log in as USER,
# with authorized_keys OPTIONS (e.g. 'environment="X=y"') if given.
harness_authorize() {
	[ -f "$H/client/$2.pub" ] || harness_fail "no client key $2"
	if [ -n "${3:-}" ]; then
		printf '%s %s\n' "$3" "$(cat "$H/client/$2.pub")"
	else
		cat "$H/client/$2.pub"
	fi >>"$H/keys/$1.authorized_keys"
	chmod 0644 "$H/keys/$1.authorized_keys"
}

# harness_user_cert KEYNAME KEYID PRINCIPALS [VALIDITY]: sign
# $H/client/KEYNAME.pub with the user CA (-cert.pub beside it, which ssh
# then offers with the key).
harness_user_cert() {
	ssh-keygen -q -s "$H/etc/user_ca" -I "$2" -n "$3" -V "${4:-+10m}" \
	    "$H/client/$1.pub" </dev/null ||
	    harness_fail "signing $1 failed"
}

_harness_keys() {
	ssh-keygen -q -t ed25519 -N '' -C "host@$HARNESS_NAME" \
	    -f "$H/etc/ssh_host_ed25519_key" </dev/null &&
	ssh-keygen -q -t ed25519 -N '' -C "user-ca@$HARNESS_NAME" \
	    -f "$H/etc/user_ca" </dev/null ||
	    harness_fail "ssh-keygen failed"
	for _hu in tunl support; do
		harness_keygen "$_hu"
		harness_authorize "$_hu" "$_hu"
	done
}

# harness_install_libexec SRC [NAME]: copy a program into $H/libexec
# (root-owned, 0755, as sshd wants its helper commands).
harness_install_libexec() {
	cp "$1" "$H/libexec/${2:-$(basename "$1")}" &&
	    chown 0:0 "$H/libexec/${2:-$(basename "$1")}" &&
	    chmod 0755 "$H/libexec/${2:-$(basename "$1")}" ||
	    harness_fail "cannot install $1 in $H/libexec"
}

# harness_pam_stack [FILE]: write the namespace's /etc/pam.d/sshd.  FILE's
# lines (placeholders substituted) come first; every management group it
# does not mention keeps the harness default: auth denies everything (so no
# keyboard-interactive login succeeds by accident), account and session go
# through pam_unix.  Safe to call while sshd runs.
harness_pam_stack() {
	: >"$H/etc/pam.d/sshd.new"
	if [ -n "${1:-}" ]; then
		harness_subst "$1" "$H/etc/pam.d/sshd.part"
		cat "$H/etc/pam.d/sshd.part" >>"$H/etc/pam.d/sshd.new"
	else
		: >"$H/etc/pam.d/sshd.part"
	fi
	for _hg in auth account session password; do
		grep -Eq "^[[:space:]]*-?${_hg}[[:space:]]" "$H/etc/pam.d/sshd.part" &&
		    continue
		case $_hg in
		auth) echo "auth required pam_deny.so" ;;
		account) echo "account required pam_unix.so" ;;
		session) echo "session required pam_unix.so" ;;
		password) echo "password required pam_deny.so" ;;
		esac
	done >>"$H/etc/pam.d/sshd.new"
	cat "$H/etc/pam.d/sshd.new" >"$H/etc/pam.d/sshd"
	rm -f "$H/etc/pam.d/sshd.new" "$H/etc/pam.d/sshd.part"
	# Services other than sshd see only this in the namespace.
	printf 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n' \
	    >"$H/etc/pam.d/other"
}

# ---- sshd ----------------------------------------------------------------

# A port nothing listens on, outside the usual ephemeral range.
_harness_pick_port() {
	_hi=0
	while [ $_hi -lt 50 ]; do
		_hp=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000 ))
		if [ -z "$(ss -Hltn "sport = :$_hp" 2>/dev/null)" ]; then
			HARNESS_PORT=$_hp
			export HARNESS_PORT
			return 0
		fi
		_hi=$((_hi + 1))
	done
	harness_fail "no free port found"
}

_harness_write_sshd_config() {
	[ -n "$HARNESS_PORT" ] || _harness_pick_port
	_hsm=no
	[ "$HARNESS_SAFE_TREE" = yes ] && _hsm=yes
	cat >"$H/etc/sshd_config" <<EOF
# Written by tests/integration/harness.sh for $HARNESS_NAME.
# Drop-ins first, as Debian's sshd_config does: their global lines win.
Include $H/etc/sshd_config.d/*.conf
Port $HARNESS_PORT
ListenAddress 127.0.0.1
AddressFamily inet
PidFile $H/run/sshd.pid
HostKey $H/etc/ssh_host_ed25519_key
KexAlgorithms curve25519-sha256
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AuthorizedKeysFile $H/keys/%u.authorized_keys
TrustedUserCAKeys $H/etc/user_ca.pub
ExposeAuthInfo yes
UseDNS no
StrictModes $_hsm
LogLevel VERBOSE
LoginGraceTime 30
PrintMotd no
PrintLastLog no
X11Forwarding no
EOF
}

# harness_sshd_config [FILE...]: write $H/etc/sshd_config; each FILE is
# substituted (harness_subst) into $H/etc/sshd_config.d/ and included
# before the harness's own lines, so its global settings win.
harness_sshd_config() {
	rm -f "$H/etc/sshd_config.d/"*.conf
	_hn=10
	for _hx; do
		_hbase=$(basename "$_hx")
		harness_subst "$_hx" "$H/etc/sshd_config.d/$_hn-${_hbase%.conf}.conf"
		_hn=$((_hn + 1))
	done
	_harness_write_sshd_config
}

# The bind mounts, as a script for sh -c with $1 = $H; then runs "$@".
# Only directories of the machine are mounted over, never a single file:
# useradd, userdel, vipw and logrotate replace /etc/passwd, /etc/group or
# a login record by renaming a new file over it, and the kernel then drops
# every mount on the old file in every namespace, so a test or demo relay
# would lose its accounts (or write the machine's records) the moment
# anyone added an account on the machine.  /etc becomes $H/sysetc, a copy
# taken by harness_init, and the test's own files are bound into that
# copy, which nothing outside the test renames.
_HARNESS_MOUNTS='
set -e
h=$1
shift
mount --bind "$h/run" /run
mount --bind "$h/sysetc" /etc
mount --bind "$h/etc/pam.d" /etc/pam.d
mount --bind "$h/etc/passwd" /etc/passwd
mount --bind "$h/etc/group" /etc/group
mount --bind "$h/var/log" /var/log
# tunl programs that take no -f from their caller (tunl-authority is
# setgid) read the built-in configuration directory: show them $H/etc/tunl
# there. A missing directory is made on a tmpfs over its parent, inside
# the namespace only (relay.sh checks the parent is not /etc or /).
cfgdir=${HARNESS_CFG_DIR:-}
if [ -n "$cfgdir" ] && [ -d "$h/etc/tunl" ]; then
	if [ ! -d "$cfgdir" ]; then
		mount -t tmpfs -o mode=0755,nosuid,nodev tunl-test "${cfgdir%/*}"
		mkdir -m 0755 "$cfgdir"
	fi
	mount --bind "$h/etc/tunl" "$cfgdir"
fi
exec "$@"
'

# harness_sshd_test: sshd -t on the config inside a namespace like the
# server's; its output is in $H/sshd-t.log.  Returns sshd's status.
harness_sshd_test() {
	[ -f "$H/etc/sshd_config" ] || harness_sshd_config
	unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" sh "$H" \
	    "$HARNESS_SSHD" -t -f "$H/etc/sshd_config" >"$H/sshd-t.log" 2>&1
}

# harness_start_sshd: check the config, start sshd in its namespace and
# wait until it accepts connections.
harness_start_sshd() {
	[ -z "$HARNESS_SSHD_PID" ] || harness_fail "sshd already started"
	[ -f "$H/etc/sshd_config" ] || harness_sshd_config
	if ! harness_sshd_test; then
		cat "$H/sshd-t.log" >&2
		harness_fail "sshd -t refused $H/etc/sshd_config"
	fi
	_htry=1
	while :; do
		: >"$H/sshd.log"
		rm -f "$H/run/sshd.pid"
		unshare --mount --propagation private sh -c "$_HARNESS_MOUNTS" \
		    sh "$H" "$HARNESS_SSHD" -D -e -f "$H/etc/sshd_config" \
		    </dev/null >>"$H/sshd.log" 2>&1 &
		# unshare and sh exec, so this is sshd's own pid.
		HARNESS_SSHD_PID=$!
		_hst=$(_harness_proc_start "$HARNESS_SSHD_PID") &&
		    printf '%s %s\n' "$HARNESS_SSHD_PID" "$_hst" >>"$H/pids"
		if _harness_wait_sshd; then
			break
		fi
		wait "$HARNESS_SSHD_PID" 2>/dev/null
		HARNESS_SSHD_PID=
		if grep -Eq 'Bind to port|Cannot bind|Address already in use' \
		    "$H/sshd.log" && [ $_htry -lt 5 ]; then
			harness_log "port $HARNESS_PORT taken, retrying"
			HARNESS_PORT=
			_harness_write_sshd_config
			_htry=$((_htry + 1))
			continue
		fi
		cat "$H/sshd.log" >&2
		harness_fail "sshd did not start"
	done

	HARNESS_NS=$(readlink "/proc/$HARNESS_SSHD_PID/ns/mnt") ||
	    harness_fail "cannot read sshd's mount namespace"
	if [ "$HARNESS_NS" = "$(readlink /proc/$$/ns/mnt)" ]; then
		HARNESS_NS=
		harness_fail "sshd runs in the harness's own mount namespace"
	fi
	# Hold the namespace open: a namespace's id is reused once it is
	# freed, and a test running beside this one could otherwise get
	# sshd's old id and have its processes taken for ours at teardown.
	exec 9<"/proc/$HARNESS_SSHD_PID/ns/mnt" ||
	    harness_fail "cannot hold sshd's mount namespace"
	echo "[127.0.0.1]:$HARNESS_PORT $(cut -d' ' -f1,2 \
	    "$H/etc/ssh_host_ed25519_key.pub")" >"$H/client/known_hosts"
	export HARNESS_SSHD_PID HARNESS_NS
	harness_log "sshd pid $HARNESS_SSHD_PID on 127.0.0.1:$HARNESS_PORT"
}

# Up to 60 s (a loaded machine): the PidFile names our process and the
# port accepts.
_harness_wait_sshd() {
	_hwend=$(( $(date +%s) + 60 ))
	while [ "$(date +%s)" -lt "$_hwend" ]; do
		harness_alive "$HARNESS_SSHD_PID" || return 1
		if [ -s "$H/run/sshd.pid" ] &&
		    [ -n "$(ss -Hltn "sport = :$HARNESS_PORT")" ]; then
			read -r _hpid <"$H/run/sshd.pid"
			[ "$_hpid" = "$HARNESS_SSHD_PID" ] ||
			    harness_fail "PidFile says $_hpid, started $HARNESS_SSHD_PID"
			return 0
		fi
		sleep 0.05
	done
	cat "$H/sshd.log" >&2
	harness_fail "sshd not ready after 60 s"
}

# harness_nsenter CMD...: run CMD in sshd's mount namespace (sees its /run).
harness_nsenter() {
	[ -n "$HARNESS_SSHD_PID" ] || harness_fail "harness_nsenter: no sshd"
	nsenter --mount --target "$HARNESS_SSHD_PID" -- "$@"
}

# ---- syslog ---------------------------------------------------------------

# harness_syslog_start: a syslog stand-in ($HARNESS_SYSLOG_PID) whose lines
# go to $H/syslog.log, seen as /dev/log inside sshd's namespace. /dev there
# is replaced by a tmpfs holding the machine's device nodes (bind-mounted; /dev/ptmx made
# anew so that ssh -t still gets a pty) and the sink's socket, so the
# machine's /dev is left as it was.
harness_syslog_start() {
	: >"$H/syslog.log"
	"$top_builddir/tests/helpers/syslog-sink" "$H/syslog.sock" "$H/syslog.log" 2>"$H/syslog-sink.err" &
	_hsp=$!
	HARNESS_SYSLOG_PID=$_hsp
	harness_track "$_hsp"
	harness_wait 60 "syslog-sink to listen" _harness_sink_up
	mkdir -p "$H/devns"
	harness_nsenter sh -c '
		set -e
		d=$1/devns
		mount -t tmpfs -o mode=0755,nosuid tunl-dev "$d"
		for e in /dev/* /dev/.[!.]*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			n=$d/${e#/dev/}
			if [ -L "$e" ]; then
				ln -s "$(readlink "$e")" "$n"
			elif [ "$e" = /dev/ptmx ] && [ -c "$e" ]; then
				# The kernel finds the pty instance as "pts"
				# beside the ptmx node it opened: a node bound
				# alone has no such sibling (openpty fails with
				# ENOENT), a node made here has our pts.
				mknod -m 0666 "$n" c 5 2
			elif [ -d "$e" ]; then
				mkdir "$n"
				mount --rbind "$e" "$n"
			else
				: >"$n"
				mount --bind "$e" "$n"
			fi
		done
		rm -f "$d/log"
		: >"$d/log"
		mount --bind "$1/syslog.sock" "$d/log"
		mount --move "$d" /dev
		test -S /dev/log
	' sh "$H" || harness_fail "cannot put the syslog sink at /dev/log"
}

_harness_sink_up() {
	[ -S "$H/syslog.sock" ] && return 0
	harness_alive "$HARNESS_SYSLOG_PID" ||
	    harness_fail "syslog-sink: $(cat "$H/syslog-sink.err")"
	return 1
}

# harness_syslog_sync: return once every line sent to the syslog sink so
# far is in $H/syslog.log.  The sink reads its socket in order, so a marker
# sent now is written after all of them (pam_tunl, for one, logs before
# sshd answers the client).
HARNESS_SYSLOG_NSYNC=0
harness_syslog_sync() {
	HARNESS_SYSLOG_NSYNC=$((HARNESS_SYSLOG_NSYNC + 1))
	logger --socket-errors=on -u "$H/syslog.sock" -t tunl-test \
	    "sync $HARNESS_SYSLOG_NSYNC" ||
	    harness_fail "cannot write to the syslog sink"
	harness_wait 60 "syslog marker $HARNESS_SYSLOG_NSYNC" \
	    grep -q "tunl-test: sync $HARNESS_SYSLOG_NSYNC\$" "$H/syslog.log"
}

# ---- the client -----------------------------------------------------------

# _harness_ssh_run MODE USER KEY [ssh options...] [--] [CMD...]
# Caller's options go first so they win ("first -o wins").
_harness_ssh_run() {
	_hmode=$1
	_huser=$2
	_hkey=$3
	shift 3
	[ -n "$HARNESS_PORT" ] && [ -f "$H/client/known_hosts" ] ||
	    harness_fail "ssh before harness_start_sshd"
	# Count the leading option words (getopt rules of ssh(1)).
	_hn=0
	_hnext=0
	_hdash=0
	for _ha; do
		if [ $_hnext = 1 ]; then
			_hnext=0
			_hn=$((_hn + 1))
			continue
		fi
		case $_ha in
		--) _hdash=1; break ;;
		-?*) ;;
		*) break ;;
		esac
		_hn=$((_hn + 1))
		_hr=${_ha#-}
		while [ -n "$_hr" ]; do
			_hc=${_hr%"${_hr#?}"}
			_hr=${_hr#?}
			case $_hc in
			[bceilmopBDEFIJLOQRSwW])
				[ -z "$_hr" ] && _hnext=1
				break ;;
			esac
		done
	done
	_hm=$(($# - _hn - _hdash))
	# Reorder to: options, harness options, destination, command.  First
	# rotate the caller's options to the end (dropping a "--"):
	_hi=0
	while [ $_hi -lt $_hn ]; do
		set -- "$@" "$1"
		shift
		_hi=$((_hi + 1))
	done
	[ $_hdash = 1 ] && shift
	# "$@" is now: command..., options...; append ours and the
	# destination, then rotate the command to the end.
	set -- "$@" -F /dev/null -p "$HARNESS_PORT" \
	    -o UserKnownHostsFile="$H/client/known_hosts" \
	    -o GlobalKnownHostsFile=/dev/null \
	    -o StrictHostKeyChecking=yes -o CheckHostIP=no \
	    -o IdentityAgent=none -o IdentitiesOnly=yes \
	    -o ConnectTimeout=10 -o ServerAliveInterval=10 \
	    -o ControlPath=none -o UpdateHostKeys=no
	if [ "$_hmode" = key ]; then
		set -- "$@" -o BatchMode=yes \
		    -o PreferredAuthentications=publickey \
		    -o IdentityFile="$H/client/$_hkey"
	else
		set -- "$@" -o PreferredAuthentications=keyboard-interactive \
		    -o NumberOfPasswordPrompts=1 -o IdentityFile=none
	fi
	set -- "$@" "$_huser@127.0.0.1"
	_hi=0
	while [ $_hi -lt $_hm ]; do
		set -- "$@" "$1"
		shift
		_hi=$((_hi + 1))
	done
	if [ "$_hmode" = key ]; then
		timeout -k 5 "${HARNESS_SSH_TIMEOUT:-30}" ssh "$@"
	else
		SSH_ASKPASS=$H/bin/askpass SSH_ASKPASS_REQUIRE=force \
		    HARNESS_ASKPASS_DIR=$H/client \
		    timeout -k 5 "${HARNESS_SSH_TIMEOUT:-30}" ssh "$@"
	fi
}

# harness_ssh USER [ssh options...] [--] CMD...: log in with USER's own key.
harness_ssh() {
	_hu=$1
	shift
	_harness_ssh_run key "$_hu" "$_hu" "$@"
}

# harness_ssh_key USER KEYNAME [ssh options...] [--] CMD...: log in as USER
# offering only $H/client/KEYNAME (and its certificate, if any).
harness_ssh_key() {
	_hu=$1
	_hk=$2
	shift 2
	_harness_ssh_run key "$_hu" "$_hk" "$@"
}

# harness_ssh_kbd USER ANSWER [ssh options...] [--] CMD...: keyboard-
# interactive login; every prompt is answered with ANSWER through an
# askpass program (never argv) and appended to $H/client/askpass.prompts.
harness_ssh_kbd() {
	_hu=$1
	(umask 077 && printf '%s\n' "$2" >"$H/client/askpass.answer") ||
	    harness_fail "cannot write the askpass answer"
	shift 2
	if [ ! -x "$H/bin/askpass" ]; then
		cat >"$H/bin/askpass" <<'EOF'
#!/bin/sh
# ssh's askpass for the harness: record the prompt, answer from a file.
printf '%s\n' "$1" >>"$HARNESS_ASKPASS_DIR/askpass.prompts"
cat "$HARNESS_ASKPASS_DIR/askpass.answer"
EOF
		chmod 0755 "$H/bin/askpass"
	fi
	_harness_ssh_run kbd "$_hu" "" "$@"
}

# ---- teardown -------------------------------------------------------------

# _harness_kill_wait PIDS: TERM, up to 5 s, then KILL; reap our children.
_harness_kill_wait() {
	[ -n "$1" ] || return 0
	for _hk in $1; do
		kill -TERM "$_hk" 2>/dev/null
	done
	_hw=0
	while [ $_hw -lt 100 ]; do
		_hleft=
		for _hk in $1; do
			harness_alive "$_hk" && _hleft="$_hleft $_hk"
		done
		[ -z "$_hleft" ] && break
		sleep 0.05
		_hw=$((_hw + 1))
	done
	for _hk in $_hleft; do
		harness_log "pid $_hk ignored SIGTERM; killing"
		kill -KILL "$_hk" 2>/dev/null
	done
	# SIGKILL is not instant either (a process in an uninterruptible
	# sleep on a busy disk): wait until they are really gone.
	_hw=0
	while [ -n "$_hleft" ] && [ $_hw -lt 400 ]; do
		_hl2=
		for _hk in $_hleft; do
			harness_alive "$_hk" && _hl2="$_hl2 $_hk"
		done
		_hleft=$_hl2
		[ -n "$_hleft" ] && sleep 0.05
		_hw=$((_hw + 1))
	done
	for _hk in $1; do
		wait "$_hk" 2>/dev/null
	done
	return 0
}

# harness_stop: stop sshd and everything else the harness started (by pid;
# anything left in sshd's mount namespace, whatever started it, too).
harness_stop() {
	[ -n "${H:-}" ] || return 0
	# sshd before the rest, so that nothing new starts.
	_hsshd=
	_hrest=
	for _hp in $(_harness_tracked); do
		if [ "$_hp" = "${HARNESS_SSHD_PID:-}" ]; then
			_hsshd=$_hp
		else
			_hrest="$_hrest $_hp"
		fi
	done
	_harness_kill_wait "$_hsshd"
	_harness_kill_wait "$_hrest"
	# Whatever else is left in sshd's namespace (sessions, helpers run
	# with harness_nsenter); in rounds, as a dying session may start a child.
	# Once it is empty the namespace is gone and its id may be reused, so
	# it is never scanned for killing again.
	if [ -n "${HARNESS_NS:-}" ] && [ "${HARNESS_NS_EMPTY:-0}" = 0 ]; then
		_hround=0
		while [ $_hround -lt 5 ]; do
			_hns=$(_harness_ns_pids)
			if [ -z "$_hns" ]; then
				HARNESS_NS_EMPTY=1
				break
			fi
			_harness_kill_wait "$_hns"
			_hround=$((_hround + 1))
		done
		[ -z "$(_harness_ns_pids)" ] && HARNESS_NS_EMPTY=1
	fi
	return 0
}

_harness_exit() {
	_hrc=$?
	# Finish cleaning up even if stderr is gone or a second ^C comes.
	trap '' HUP INT PIPE TERM
	trap - EXIT
	harness_stop
	exec 9<&-
	if [ -n "${H:-}" ] && [ -d "$H" ]; then
		if [ $_hrc -ne 0 ] && [ $_hrc -ne 77 ]; then
			if [ -s "$H/sshd.log" ]; then
				echo "---- last lines of the sshd log ----" >&2
				tail -n 40 "$H/sshd.log" >&2
				cp "$H/sshd.log" \
				    "$HARNESS_LOGDIR/$HARNESS_NAME.sshd.log" 2>/dev/null &&
				    echo "(whole log: $HARNESS_LOGDIR/$HARNESS_NAME.sshd.log)" >&2
			fi
		fi
		if [ $_hrc -ne 0 ] && [ $_hrc -ne 77 ] &&
		    [ "${KEEP_HARNESS:-0}" = 1 ]; then
			echo "KEEP_HARNESS=1: kept $H" >&2
		else
			rm -rf "$H"
		fi
	fi
	# Leave no trace of the fallback place once no test uses it.
	[ -n "${HARNESS_VARLIB:-}" ] && rmdir /var/lib/tunl-tests 2>/dev/null
	exit $_hrc
}
