#!/bin/sh
# pam-symbols.sh: pam_tunl.so runs inside sshd, so it must export nothing
# but the pam_sm_* entry points and must not be able to end sshd or log
# around PAM: no reference to exit, abort, the programs' dying helpers
# (lib/die.c) or openlog/syslog (lib/log.c). The check itself is tried on
# a small object that breaks each rule, so it cannot pass by accident.
set -u
: "${top_builddir:=.}"
so=$top_builddir/.libs/pam_tunl.so

command -v nm >/dev/null 2>&1 || { echo "SKIP: nm is not installed"; exit 77; }
[ -f "$so" ] || { echo "FAIL: $so is not built"; exit 1; }

exports='pam_sm_acct_mgmt
pam_sm_authenticate
pam_sm_close_session
pam_sm_open_session
pam_sm_setcred'
forbidden='exit _exit _Exit quick_exit abort __assert_fail err errx verr verrx
fatal fatal_r fatalx xmalloc xcalloc xrealloc xreallocarray xstrdup
xasprintf'
# lib/log.c: the module logs with pam_syslog only. The build drops log.c's
# unused code with --gc-sections; sanitizer and fuzzing builds keep every
# function alive in their coverage tables, so there (and only there, as
# such builds are never installed) these are not looked for.
logging='openlog closelog syslog vsyslog __syslog_chk __vsyslog_chk
log_init log_msg log_msgv log_msg_r'

# check FILE: print every broken rule; status 1 if any.
check() {
	_bad=0
	# Defined dynamic symbols, version suffixes dropped.
	_def=$(nm -D --defined-only "$1" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u)
	_extra=$(printf '%s\n' "$_def" | grep -vxF "$exports" | grep -v '^$')
	if [ -n "$_extra" ]; then
		echo "exports more than pam_sm_*: $(echo $_extra)"
		_bad=1
	fi
	if [ "$_def" != "$exports" ]; then
		echo "exports [$(echo $_def)], not exactly the five pam_sm_* entry points"
		_bad=1
	fi
	# Undefined symbols, from the dynamic table and the full one.
	_und=$( { nm -u "$1"; nm -D -u "$1"; } 2>/dev/null |
	    awk '{ s = $NF; sub(/@.*/, "", s); print s }' | sort -u)
	_rules=$forbidden
	if printf '%s\n' "$_und" | grep -q '^__\(asan\|ubsan\|sanitizer_cov\)_'; then
		echo "note: instrumented build; log.c's symbols not checked" >&2
	else
		_rules="$_rules $logging"
	fi
	for _f in $_rules; do
		if printf '%s\n' "$_und" | grep -qxF "$_f"; then
			echo "references $_f"
			_bad=1
		fi
	done
	return $_bad
}

status=0
if ! out=$(check "$so"); then
	echo "FAIL: $so:"
	printf '%s\n' "$out"
	status=1
else
	echo "ok: $so exports only pam_sm_* and references nothing that exits"
fi

# The check must catch a module that breaks the rules.
cc=${CC:-cc}
if command -v "$cc" >/dev/null 2>&1; then
	t=$(mktemp -d) || exit 1
	trap 'rm -rf "$t"' EXIT
	cat >"$t/bad.c" <<'EOF'
#include <stdlib.h>
#include <syslog.h>
int pam_sm_authenticate(void) { openlog("x", 0, 0); exit(1); }
int pam_sm_setcred(void) { abort(); }
int pam_sm_acct_mgmt(void) { return 0; }
int pam_sm_open_session(void) { return 0; }
int pam_sm_close_session(void) { return 0; }
int helper_leaks_out(void) { return 1; }
EOF
	if "$cc" -shared -fPIC -o "$t/bad.so" "$t/bad.c" 2>"$t/cc.err"; then
		if out=$(check "$t/bad.so"); then
			echo "FAIL: the check passed a module that exits and exports more"
			status=1
		else
			for want in 'references exit' 'references abort' \
			    'references openlog' 'helper_leaks_out'; do
				case $out in
				*"$want"*) ;;
				*) echo "FAIL: the check missed: $want"; status=1 ;;
				esac
			done
		fi
	else
		echo "note: $cc cannot build the self-test object; skipped it"
	fi
fi
exit $status
