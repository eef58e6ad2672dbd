# Throwaway Debian roots for the package and portability tests
# (packages.sh, share-static.sh), made with debootstrap from Debian's
# mirror and cached, since making one takes minutes:
#
#	. "$top_srcdir/tests/integration/chroot-lib.sh"
#	chroot_base SUITE PACKAGE,PACKAGE...	# sets CHROOT_BASE, or skips
#	chroot_copy DIR				# a private copy of it in DIR
#	chroot_run DIR COMMAND...		# COMMAND inside DIR
#
# The cache is /var/lib/tunl-tests/roots/SUITE-<packages hash>, made in a
# temporary directory beside it and renamed into place once complete, so
# an interrupted run leaves no half root behind. A test never changes the
# cached root: it works on a copy (cp -a, a few seconds). The mirror is
# the one apt uses here (TUNL_TEST_MIRROR overrides it).
#
# chroot_run mounts /proc, /dev and /dev/pts inside a mount namespace of
# its own, so nothing is mounted in the machine's namespace and nothing
# is left mounted when the command ends; the network (127.0.0.1) is the
# machine's.

CHROOT_CACHE=${TUNL_TEST_ROOTS:-/var/lib/tunl-tests/roots}

_chroot_mirror() {
	if [ -n "${TUNL_TEST_MIRROR:-}" ]; then
		echo "$TUNL_TEST_MIRROR"
		return
	fi
	_cm=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
	    awk '$2 ~ /debian\/?$/ && $2 !~ /security/ { print $2; exit }')
	[ -n "$_cm" ] || _cm=$(awk '$1 == "deb" && $2 !~ /security/ &&
	    $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list \
	    2>/dev/null)
	echo "${_cm:-http://deb.debian.org/debian}"
}

chroot_base() {
	_cs=$1
	_cp=$2
	[ "$(id -u)" = 0 ] || harness_skip "needs root (debootstrap, chroot)"
	command -v debootstrap >/dev/null 2>&1 ||
	    harness_skip "needs debootstrap (apt-get install debootstrap)"
	command -v unshare >/dev/null 2>&1 || harness_skip "needs unshare"
	_ch=$(printf '%s\n' "$_cp" | cksum | cut -d' ' -f1)
	CHROOT_BASE=$CHROOT_CACHE/$_cs-$_ch
	[ -x "$CHROOT_BASE/bin/sh" ] && return 0
	mkdir -p "$CHROOT_CACHE" && chmod 0700 "$CHROOT_CACHE" ||
	    harness_fail "cannot make $CHROOT_CACHE"
	_ct=$(mktemp -d "$CHROOT_CACHE/.$_cs.XXXXXX") ||
	    harness_fail "mktemp under $CHROOT_CACHE"
	harness_log "debootstrap $_cs ($_cp) into $CHROOT_BASE (minutes, once)"
	# In a mount namespace of its own: the /proc debootstrap mounts in
	# the root cannot outlive it, even if it is killed.
	if ! unshare --mount --propagation private \
	    debootstrap --variant=minbase --include="$_cp" "$_cs" "$_ct" \
	    "$(_chroot_mirror)" >"$_ct.log" 2>&1; then
		tail -n 20 "$_ct.log" >&2
		rm -rf "$_ct"
		if grep -qiE 'resolve|connect|Failed getting release' "$_ct.log"; then
			rm -f "$_ct.log"
			harness_skip "debootstrap $_cs: the Debian mirror is not reachable"
		fi
		rm -f "$_ct.log"
		harness_fail "debootstrap $_cs failed"
	fi
	rm -f "$_ct.log"
	# No service of the root may start (a package's postinst).
	printf '#!/bin/sh\nexit 101\n' >"$_ct/usr/sbin/policy-rc.d" &&
	    chmod 0755 "$_ct/usr/sbin/policy-rc.d" &&
	    rm -rf "$_ct/var/cache/apt/archives/"*.deb ||
	    harness_fail "cannot finish the $_cs root"
	# Another test may have made the same root meanwhile.
	if [ -e "$CHROOT_BASE" ]; then
		rm -rf "$_ct"
	else
		mv -T "$_ct" "$CHROOT_BASE" ||
		    harness_fail "cannot put the $_cs root in place"
	fi
}

# chroot_copy DIR: a private copy of the cached root.
chroot_copy() {
	# The cache is root's alone (0700); the root's own / is 0755, or its
	# other accounts could not reach their files.
	rm -rf "$1" && cp -a "$CHROOT_BASE" "$1" && chmod 0755 "$1" ||
	    harness_fail "cannot copy $CHROOT_BASE to $1"
}

_CHROOT_MOUNTS='
set -e
r=$1
shift
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
exec chroot "$r" "$@"
'

# chroot_run DIR COMMAND...: COMMAND in DIR with /proc and /dev, in a
# mount namespace of its own (unshare and sh exec: $! is the command).
chroot_run() {
	_cr=$1
	shift
	unshare --mount --propagation private sh -c "$_CHROOT_MOUNTS" sh \
	    "$_cr" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME=/root TERM=${TERM:-xterm} LANG=C.UTF-8 "$@"
}

# chroot_tmux VERSION SHA256: the cached root (chroot_base, which must
# include build-essential, libevent-dev, libncurses-dev, pkg-config and
# bison) with tmux VERSION built from Debian's source tarball into
# /usr/local (checked against SHA256); CHROOT_BASE then names that root.
# For a root whose own tmux is older than tunl-share needs.
chroot_tmux() {
	_cv=$1
	_csum=$2
	_cb=$CHROOT_BASE-tmux-$_cv
	if [ ! -x "$_cb/usr/local/bin/tmux" ]; then
		_ct=$(mktemp -d "$CHROOT_CACHE/.tmux.XXXXXX") ||
		    harness_fail "mktemp under $CHROOT_CACHE"
		rmdir "$_ct" && cp -a "$CHROOT_BASE" "$_ct" ||
		    harness_fail "cannot copy $CHROOT_BASE"
		_cu="$(_chroot_mirror)/pool/main/t/tmux/tmux_$_cv.orig.tar.gz"
		harness_log "building tmux $_cv in a copy of $CHROOT_BASE (once)"
		if ! curl -fsS -o "$_ct/tmp/tmux.tar.gz" "$_cu"; then
			rm -rf "$_ct"
			harness_skip "cannot download $_cu"
		fi
		[ "$(sha256sum "$_ct/tmp/tmux.tar.gz" | cut -d' ' -f1)" = "$_csum" ] || {
			rm -rf "$_ct"
			harness_fail "$_cu: wrong SHA-256"
		}
		if ! chroot_run "$_ct" sh -c "cd /tmp && tar xzf tmux.tar.gz &&
		    cd tmux-$_cv && ./configure --prefix=/usr/local >/dev/null &&
		    make -j2 >/dev/null && make install >/dev/null &&
		    cd /tmp && rm -rf tmux-$_cv tmux.tar.gz" \
		    >"$_ct.log" 2>&1; then
			tail -n 20 "$_ct.log" >&2
			rm -rf "$_ct" "$_ct.log"
			harness_fail "cannot build tmux $_cv in the root"
		fi
		rm -f "$_ct.log"
		if [ -e "$_cb" ]; then
			rm -rf "$_ct"
		else
			mv -T "$_ct" "$_cb" || harness_fail "cannot put $_cb in place"
		fi
	fi
	CHROOT_BASE=$_cb
}
