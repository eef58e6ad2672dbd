#!/bin/sh
# Run every libFuzzer target in fuzz/ for a short time on its seed corpus
# (a smoke run inside make check; long runs are `make fuzz`). A crash,
# leak or sanitizer report fails the test and leaves the reproducer in
# fuzz/crashes/.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
secs=${FUZZ_SMOKE_SECONDS:-10}
status=0
ran=0
mkdir -p "$top_builddir/fuzz/crashes"
for bin in "$top_builddir"/fuzz/fuzz-*; do
	[ -x "$bin" ] || continue
	case $bin in *.c|*.o|*.sh) continue ;; esac
	name=${bin##*/fuzz-}
	corpus="$top_srcdir/fuzz/corpus/$name"
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -R "$corpus"/. "$work"/ 2>/dev/null
	dict=
	[ -f "$top_srcdir/fuzz/dict/$name.dict" ] && dict="-dict=$top_srcdir/fuzz/dict/$name.dict"
	echo "fuzz-$name: ${secs}s"
	if ! "$bin" -max_total_time="$secs" -max_len=300000 -rss_limit_mb=1024 \
	    -artifact_prefix="$top_builddir/fuzz/crashes/$name-" $dict "$work" \
	    >"$top_builddir/fuzz/fuzz-$name.log" 2>&1; then
		echo "fuzz-$name FAILED; see fuzz/fuzz-$name.log"
		tail -n 30 "$top_builddir/fuzz/fuzz-$name.log"
		status=1
	else
		grep -E '^(#[0-9]+[[:space:]]+DONE|Done)' "$top_builddir/fuzz/fuzz-$name.log" | tail -n 1
	fi
	rm -rf "$work"
	ran=$((ran + 1))
done
if [ "$ran" -eq 0 ]; then
	echo "no fuzz targets built"
	exit 77
fi
exit $status
