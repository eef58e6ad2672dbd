#!/bin/sh
# Run one cmocka test program for automake's TAP driver. cmocka 1.1
# reports a skipped test as "not ok N # SKIP", which TAP counts as a
# failure; a skip is "ok N # SKIP". The program's exit status is kept.
"$@" >"${TMPDIR:-/tmp}/tap-run.$$" 2>&1
rc=$?
sed 's/^not ok \([0-9][0-9]*\)\( -\)\{0,1\} *# SKIP/ok \1 # SKIP/' \
    "${TMPDIR:-/tmp}/tap-run.$$"
rm -f "${TMPDIR:-/tmp}/tap-run.$$"
exit $rc
