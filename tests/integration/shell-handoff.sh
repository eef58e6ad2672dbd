#!/bin/sh
# pam_exec helper for shell.sh (auth, as root in sshd's namespace), the
# stand-in for pam_tunl's hand-off. $1 is the test's tree, $2 the
# handoff-tool. $1/handoff-mode holds "none", "root ID" (a hand-off as
# pam_tunl writes it) or "forge ID" (the same file, then owned by the
# customer account, as if that account had written it).
h=$1
tool=$2
read -r mode session <"$h/handoff-mode" || exit 1
[ -n "${SSH_CONNECTION:-}" ] || exit 1
case $mode in
none)
	exit 0 ;;
root|forge)
	"$tool" write /run/tunl/auth "$session" "${SSH_CONNECTION%% *}" \
	    "$SSH_CONNECTION" token tunl || exit 1 ;;
*)
	exit 1 ;;
esac
if [ "$mode" = forge ]; then
	path=$("$tool" path /run/tunl/auth "$SSH_CONNECTION") &&
	    chown tunl "$path" || exit 1
fi
printf '%s %s\n' "$mode" "$SSH_CONNECTION" >>"$h/handoff.log"
exit 0
