#!/bin/sh
# Stand-in for tunl-shell (written in parallel on another branch) as the
# ForceCommand in principals.sh: it only reports who logged in and how, so
# the test can see which certificate sshd accepted.
auth=
[ -n "${SSH_USER_AUTH:-}" ] && [ -r "$SSH_USER_AUTH" ] &&
    auth=$(cut -d' ' -f1,2 "$SSH_USER_AUTH" | head -n 1)
printf 'stub-shell user=%s auth=%s\n' "$(id -un)" "$auth"
