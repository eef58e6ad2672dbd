#!/bin/sh
# Stand-in for tunl-authority in shell.sh (installed with @H@ filled in):
# records the arguments, user, environment and standard input tunl-shell
# gives it, then answers as the real one would (docs/auth-design.md).
log=@H@/authority.log
{
	printf 'argv=%s\n' "$*"
	printf 'user=%s\n' "$(id -un)"
	env | LC_ALL=C sort | sed 's/^/env=/'
	IFS= read -r line
	printf 'stdin=%s\n' "$line"
	printf 'more=%s\n' "$(od -An -c | tr -d ' \n')"
} >>"$log"
case $1 in
mint)
	cat @H@/stub-mint.out ;;
sign)
	if [ -e @H@/stub-sign-refuse ]; then
		echo 'tunl-authority: signed too recently; try again in a few seconds' >&2
		exit 1
	fi
	echo 'ssh-ed25519-cert-v01@openssh.com AAAAstubcert tunl-stub' ;;
*)
	exit 2 ;;
esac
