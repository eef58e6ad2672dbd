#!/bin/sh
# Stand-in for tunl-authority in shell.sh (installed with @H@ filled in):
# records the arguments, user, environment and standard input tunl-shell
# gives it, then answers as the real one would (docs/auth-design.md); the
# registry verbs are passed to the real one.
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
list|show|kill|unlock|ended|reap|restrict|host|live)
	# The registry verbs: the real tunl-authority (setgid), which alone
	# can open the registry, answers; it gets the line we read.
	printf '%s\n' "$line" | exec @H@/libexec/tunl-authority.real "$@" ;;
session)
	# The customer's session verb needs a login key pam_tunl would give;
	# these logins have none, so the row comes from what the test read
	# out of the registry as root ($H/stub-sessions: id state mode
	# expires), as the real one prints it.
	if [ "$(id -un)" = support ]; then
		printf '%s\n' "$line" | exec @H@/libexec/tunl-authority.real "$@"
	fi
	awk -v id="$2" '$1 == id { print "state=" $2; print "mode=" $3;
	    print "expires=" $4; f = 1 } END { exit !f }' @H@/stub-sessions &&
	    exit 0
	echo "tunl-authority: no session $2" >&2
	exit 3 ;;
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
