#!/bin/sh
# The retention timer as the relay package ships it, cheaply (no package
# build; packages.sh checks the built .deb when TUNL_TEST_PACKAGES=1):
#  - `make install` with Debian's prefix puts tunl-prune.timer and
#    tunl-prune.service in usr/lib/systemd/system, a path the relay
#    package's debian/tunl.install takes;
#  - the timer starts the service of its name daily, the service runs
#    tunl-admin prune once (oneshot);
#  - nothing enables it: dh_installsystemd runs with --no-enable and no
#    maintainer script calls systemctl enable;
#  - systemd-analyze verify accepts both units, where systemd-analyze is
#    installed (ExecStart pointed at the built tunl-admin, which it checks).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

fail() {
	echo "FAIL: units: $*" >&2
	exit 1
}

T=$(mktemp -d "${TMPDIR:-/tmp}/tunl-units.XXXXXX") || fail "mktemp"
trap 'rm -rf "$T"' EXIT

# ---- installed where the package takes them from -----------------------------
make -s -C "$top_builddir" prefix=/usr DESTDIR="$T/root" \
    install-dist_systemdunitDATA install-nodist_systemdunitDATA \
    >"$T/install.log" 2>&1 || fail "make install of the units: $(cat "$T/install.log")"
U=$T/root/usr/lib/systemd/system
for f in tunl-prune.timer tunl-prune.service tunl-notify.service; do
	[ -f "$U/$f" ] || fail "$f is not installed in /usr/lib/systemd/system"
done
grep -qx 'usr/lib/systemd/system' "$top_srcdir/debian/tunl.install" ||
    grep -qx 'usr/lib/systemd/system/tunl-prune.timer' "$top_srcdir/debian/tunl.install" ||
    fail "debian/tunl.install does not take the timer"

# ---- what the units say --------------------------------------------------------
# unit_value FILE SECTION KEY: the last value of KEY in [SECTION].
unit_value() {
	awk -v s="[$2]" -v k="$3" '
	/^\[/ { in_s = ($0 == s); next }
	in_s && index($0, k "=") == 1 { v = substr($0, length(k) + 2) }
	END { print v }' "$1"
}
[ "$(unit_value "$U/tunl-prune.timer" Timer OnCalendar)" = daily ] ||
    fail "the timer is not daily"
unit=$(unit_value "$U/tunl-prune.timer" Timer Unit)
[ -z "$unit" ] || [ "$unit" = tunl-prune.service ] ||
    fail "the timer starts $unit"
[ "$(unit_value "$U/tunl-prune.timer" Install WantedBy)" = timers.target ] ||
    fail "the timer is not wanted by timers.target once enabled"
[ "$(unit_value "$U/tunl-prune.service" Service Type)" = oneshot ] ||
    fail "the service is not oneshot"
exec_start=$(unit_value "$U/tunl-prune.service" Service ExecStart)
case $exec_start in
/*/tunl-admin\ prune) ;;
*) fail "the service runs \"$exec_start\", not tunl-admin prune" ;;
esac

# ---- not enabled by the package ---------------------------------------------------
grep -Eq '^[[:space:]]*dh_installsystemd .*--no-enable' "$top_srcdir/debian/rules" ||
    fail "debian/rules lets dh_installsystemd enable the units"
if grep -n 'systemctl[[:space:]].*enable' "$top_srcdir"/debian/*.postinst \
    "$top_srcdir"/debian/*.preinst 2>/dev/null; then
	fail "a maintainer script enables a unit"
fi

# ---- systemd's own check --------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/verify"
	sed "s|^ExecStart=.*|ExecStart=$top_builddir/tunl-admin prune|" \
	    "$U/tunl-prune.service" >"$T/verify/tunl-prune.service"
	cp "$U/tunl-prune.timer" "$T/verify/tunl-prune.timer"
	(cd "$T/verify" && systemd-analyze verify --man=no \
	    tunl-prune.timer tunl-prune.service) >"$T/verify.log" 2>&1 ||
	    fail "systemd-analyze verify: $(cat "$T/verify.log")"
	echo "units: systemd-analyze verify passed"
else
	echo "units: no systemd-analyze here; the units were parsed only"
fi
echo "units: passed"
exit 0
