#!/bin/sh
# Every program answers --help (and -h) with its usage on stdout and exit
# status 0, and still refuses an unknown option with a non-zero status.
set -u
: "${top_builddir:=$(pwd)}"
rc=0
for p in tunl-admin tunl-shell tunl-share tunl-authority tunl-broker \
    tunl-principals; do
	for opt in --help -h; do
		out=$("$top_builddir/$p" $opt 2>/dev/null)
		st=$?
		case $st:$out in
		0:usage:*|0:"tunl: usage:"*) ;;
		*) echo "FAIL: $p $opt: status $st, stdout: $out"; rc=1 ;;
		esac
	done
done
for p in tunl-admin tunl-shell tunl-share tunl-authority tunl-broker; do
	"$top_builddir/$p" --no-such-option >/dev/null 2>&1 </dev/null &&
	    { echo "FAIL: $p accepted --no-such-option"; rc=1; }
done
[ $rc = 0 ] && echo "PASS: --help works for every program"
exit $rc
