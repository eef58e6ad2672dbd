#!/bin/sh
# AuthorizedPrincipalsCommand used by smoke.sh (installed root-owned under
# $H/libexec, as sshd requires).  Arguments: LOG USER KEY-ID.  Records who
# ran it, then accepts the single principal "smoke-USER".
log=$1
user=$2
keyid=$3
printf 'ran_as=%s user=%s key_id=%s\n' "$(id -un)" "$user" "$keyid" >>"$log"
case $user in
''|*[!a-z0-9_-]*) exit 1 ;;
esac
printf 'smoke-%s\n' "$user"
