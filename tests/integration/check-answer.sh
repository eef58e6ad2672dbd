#!/bin/sh
# pam_exec helper used by smoke.sh (auth, expose_authtok): succeed only when
# the answer typed at the prompt equals the first line of the file named by
# $1.  pam_exec writes the answer on stdin, NUL-terminated.
[ -r "$1" ] || exit 1
IFS= read -r want <"$1" || exit 1
got=$(tr -d '\000')
[ -n "$want" ] && [ "$got" = "$want" ]
