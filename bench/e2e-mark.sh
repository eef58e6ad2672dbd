#!/bin/sh
# e2e-mark.sh [COMMAND...]: the baselines' first screen for bench/e2e.sh:
# print a mark that the typed command line does not contain, then run
# COMMAND (a shell by default).
echo "started-$((6 * 7))"
[ $# -gt 0 ] || set -- sh
exec "$@"
