#!/bin/sh
# bench/auth-path.sh: what the relay's authentication path costs per
# login, as whole processes, beside the exec floor measured in the same
# run (see bench/README.md). Needs root (a private namespace with the test
# accounts, as the integration tests use); `make bench` runs it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
RUNS=${BENCH_RUNS:-200}
PAM_RUNS=${BENCH_PAM_RUNS:-50}
. "$top_srcdir/tests/integration/harness.sh"

harness_init bench-auth-path
command -v setpriv >/dev/null 2>&1 || harness_skip "needs setpriv"
. "$top_srcdir/tests/integration/relay.sh"
SPAWN=$top_builddir/bench/bench-spawn
[ -x "$SPAWN" ] || harness_fail "build bench/bench-spawn first (make bench does)"

relay_config
relay_init
relay_install
install -m 0755 "$SPAWN" "$H/libexec/bench-spawn"
id=$(printf 'engineer=bench case=- customer=- ttl=60 mode=share\n' |
    relay_as support "$H/libexec/tunl-authority" mint | sed -n 's/^id=//p')
[ -n "$id" ] || harness_fail "cannot mint a session"
FP="SHA256:$(printf '%043d' 0 | tr 0 A)"

# median FIELD LINE
us() {
	printf '%s\n' "$2" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"
}

report() {
	_name=$1
	_line=$2
	_floor=$3
	_m=$(us median_us "$_line")
	_p=$(us p90_us "$_line")
	printf '%-34s median %7s us  p90 %7s us  floor+%6s us  (%s)\n' \
	    "$_name" "$_m" "$_p" "$((_m - _floor))" "$_line"
}

echo "auth-path: $RUNS runs each, as tunlauth, on $(uname -n) ($(nproc) cpus)"
# Floor, principals (accepted), principals (refused: unknown user),
# floor again: the two floors show how steady the machine was.
out=$(relay_as tunlauth sh -c '
	s=$1; pr=$2; conf=$3; id=$4; fp=$5; n=$6
	echo "floor1 $("$s" -n "$n" /bin/true)"
	echo "accept $("$s" -n "$n" "$pr" -f "$conf" tunl "$id" 1 "$fp")"
	echo "refuse $("$s" -n "$n" "$pr" -f "$conf" nobody "$id" 1 "$fp")"
	echo "floor2 $("$s" -n "$n" /bin/true)"
' sh "$H/libexec/bench-spawn" "$H/libexec/tunl-principals" "$RELAY_CONF" \
    "$id" "$FP" "$RUNS") || harness_fail "the principals benchmark failed"
floor=$(us median_us "$(printf '%s\n' "$out" | sed -n 's/^floor1 //p')")
report "/bin/true (exec floor)" "$(printf '%s\n' "$out" | sed -n 's/^floor1 //p')" "$floor"
report "tunl-principals, accepted" "$(printf '%s\n' "$out" | sed -n 's/^accept //p')" "$floor"
report "tunl-principals, wrong user" "$(printf '%s\n' "$out" | sed -n 's/^refuse //p')" "$floor"
report "/bin/true again" "$(printf '%s\n' "$out" | sed -n 's/^floor2 //p')" "$floor"
case $out in
*"accept median_us="*"failures=0"*) ;;
*) harness_fail "tunl-principals failed during the benchmark: $out" ;;
esac

# One PAM token check as sshd makes it (bench/pam-check: the module's
# service file, PAM_RHOST and SSH_CONNECTION set, the prompts answered),
# if this build has the module. Every run must succeed: a refused check
# would also pay pam_tunl's random failure delay and measure nothing.
pam=$top_builddir/.libs/pam_tunl.so
if [ ! -f "$pam" ]; then
	echo "pam token check: skipped (no $pam; build the module)"
else
	mkdir -p "$H/lib" "$H/pam-bench" && install -m 0644 "$pam" "$H/lib/pam_tunl.so"
	printf 'auth required %s config=%s\nsession required %s config=%s\n' \
	    "$H/lib/pam_tunl.so" "$RELAY_CONF" "$H/lib/pam_tunl.so" "$RELAY_CONF" \
	    >"$H/pam-bench/tunl-bench"
	# The same token serves every run: auth checks a token, only `sign`
	# consumes it.
	tok=$(printf 'engineer=bench case=- customer=- ttl=60 mode=share\n' |
	    relay_as support "$H/libexec/tunl-authority" mint)
	pid=$(printf '%s\n' "$tok" | sed -n 's/^id=//p')
	ptok=$(printf '%s\n' "$tok" | sed -n 's/^token=//p')
	(umask 077 && printf '%s\n%s\n' "$pid" "$ptok" >"$H/pam-answers")
	out=$(relay_in_ns sh -c '
		s=$1; n=$2; c=$3; d=$4; a=$5
		echo "floor $("$s" -n "$n" /bin/true)"
		echo "pam $("$s" -n "$n" "$c" "$d" tunl-bench tunl "$a")"
	' sh "$H/libexec/bench-spawn" "$PAM_RUNS" "$top_builddir/bench/pam-check" \
	    "$H/pam-bench" "$H/pam-answers") ||
	    harness_fail "the PAM benchmark failed"
	pfloor=$(us median_us "$(printf '%s\n' "$out" | sed -n 's/^floor //p')")
	report "/bin/true (floor, PAM run)" "$(printf '%s\n' "$out" | sed -n 's/^floor //p')" "$pfloor"
	report "pam_tunl token check (whole process)" "$(printf '%s\n' "$out" | sed -n 's/^pam //p')" "$pfloor"
	case $out in
	*"failures=0"*"failures=0"*) ;;
	*) harness_fail "PAM token checks were refused during the benchmark: $out" ;;
	esac
fi
exit 0
