#!/bin/sh
# ForceCommand used by smoke.sh: report what sshd handed to the forced
# command, one key=value per line.  SSH_ORIGINAL_COMMAND is only printed,
# never interpreted: once hex-encoded (to compare byte for byte) and, last,
# as text (it may span lines).
printf 'user=%s\n' "$(id -un)"
printf 'uid=%s\n' "$(id -u)"
printf 'home=%s\n' "$HOME"
printf 'connection=%s\n' "${SSH_CONNECTION-}"
if [ -n "${SSH_USER_AUTH-}" ] && [ -r "$SSH_USER_AUTH" ]; then
	while IFS= read -r line; do
		printf 'auth=%s\n' "$line"
	done <"$SSH_USER_AUTH"
fi
if [ "${SSH_ORIGINAL_COMMAND+set}" = set ]; then
	printf 'command_set=1\n'
	printf 'command_hex=%s\n' "$(printf '%s' "$SSH_ORIGINAL_COMMAND" |
	    od -An -v -tx1 | tr -d ' \n')"
	printf 'command=%s\n' "$SSH_ORIGINAL_COMMAND"
else
	printf 'command_set=0\n'
fi
