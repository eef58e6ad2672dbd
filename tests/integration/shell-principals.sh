#!/bin/sh
# Stand-in for tunl-principals in shell.sh ([-f CONFIG] %u %i %s %f): the principal
# tunl-<key id> for the customer account, whatever the registry says, so
# that tunl-shell's own checks are what the test exercises.
# The shipped line passes -f CONFIG first.
[ "${1:-}" = -f ] && shift 2
case ${2:-} in
''|*[!a-z-]*) exit 0 ;;
esac
[ "${1:-}" = tunl ] && printf 'tunl-%s\n' "$2"
exit 0
