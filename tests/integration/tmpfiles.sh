#!/bin/sh
# The shipped tmpfiles.d entry recreates the runtime directories exactly as
# tunl-admin init makes them (tunl-admin status then names none), inside
# the harness's namespace, where /run is private.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"
harness_init tmpfiles
. "$top_srcdir/tests/integration/relay.sh"
command -v systemd-tmpfiles >/dev/null 2>&1 ||
    harness_skip "systemd-tmpfiles is not installed"

relay_config
relay_init
harness_subst "$top_srcdir/systemd/tunl-tmpfiles.conf.in" "$H/tunl-tmpfiles.conf" \
    RUNTIME_DIR=/run/tunl RELAY_GROUP=tunl BROKER_USER=tunl-broker
want=$(relay_in_ns stat -c '%n %U:%G %a' /run/tunl /run/tunl/auth /run/tunl/sessions)
# A reboot empties /run.
rm -rf "$H/run/tunl"
relay_in_ns systemd-tmpfiles --create "$H/tunl-tmpfiles.conf" >"$H/tmpfiles.log" 2>&1 ||
    harness_fail "systemd-tmpfiles: $(cat "$H/tmpfiles.log")"
got=$(relay_in_ns stat -c '%n %U:%G %a' /run/tunl /run/tunl/auth /run/tunl/sessions)
harness_assert_eq "$want" "$got" "directories as tunl-admin init makes them"
# status also runs doctor's sshd and PAM checks, which this unwired relay
# fails; the runtime directories must not be among its problems.
relay_in_ns "$TUNL_ADMIN" -f "$RELAY_CONF" -q status >"$H/status.log" 2>&1
grep -q "PROBLEM  /run/tunl" "$H/status.log" &&
    harness_fail "status after tmpfiles: $(cat "$H/status.log")"
harness_host_unchanged
exit 0
