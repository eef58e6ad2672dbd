#!/bin/sh
# Smoke test of the integration harness: a private sshd on loopback that
# forces a command for "support", refuses keys it does not know, accepts a
# user certificate only through its principals command, drives a keyboard-
# interactive login, listens on 127.0.0.1 only, writes nothing to the
# machine's /etc or /var/log and leaves no process behind.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/harness.sh"

harness_init smoke
dir=$HARNESS_DIR

# field NAME TEXT: the value of the first NAME=... line.
field() {
	printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# ---- the harness's own helpers -----------------------------------------

printf 'a @H@ b @X_1@ c\n@H@@H@ @lower@ @\n' >"$H/subst.in"
harness_subst "$H/subst.in" "$H/subst.out" 'X_1=&\1|/$(x)'
harness_assert_eq "a $H b &\\1|/\$(x) c
$H$H @lower@ @" "$(cat "$H/subst.out")" "harness_subst output"
printf 'x @NO_SUCH_NAME@ y\n' >"$H/subst.bad"
if (harness_subst "$H/subst.bad" "$H/subst.out") 2>"$H/subst.err"; then
	harness_fail "harness_subst accepted an unknown placeholder"
fi
harness_assert_contains "$(cat "$H/subst.err")" "no value for @NO_SUCH_NAME@"

harness_path_is_safe / || harness_fail "/ judged unsafe"
mkdir "$H/unsafe" && chmod 0777 "$H/unsafe" && mkdir "$H/unsafe/sub"
harness_path_is_safe "$H/unsafe/sub" &&
    harness_fail "a directory below a world-writable one judged safe"
harness_path_is_safe "$H/no-such" && harness_fail "a missing path judged safe"
if [ "$HARNESS_SAFE_TREE" = yes ]; then
	harness_path_is_safe "$H/libexec" ||
	    harness_fail "HARNESS_SAFE_TREE=yes but $H/libexec is not safe"
fi

# ---- a private sshd ---------------------------------------------------------

printf 'right-answer-%s\n' "$$" >"$H/pam-answer"
chmod 0600 "$H/pam-answer"
harness_pam_stack "$dir/smoke-pam.conf"
harness_install_libexec "$dir/principals-test.sh"
harness_sshd_config "$dir/smoke-sshd.conf"
harness_start_sshd

# It listens on 127.0.0.1:PORT and nowhere else.
listen=$(ss -Hltnp | grep "pid=$HARNESS_SSHD_PID,")
[ -n "$listen" ] || harness_fail "ss shows no socket for sshd $HARNESS_SSHD_PID"
addrs=$(printf '%s\n' "$listen" | awk '{ print $4 }' | sort -u)
harness_assert_eq "127.0.0.1:$HARNESS_PORT" "$addrs" "sshd's listening sockets"

# ---- ForceCommand sees exactly what was sent, and runs none of it ----------

pwned=/tmp/tunl-smoke-pwned.$$
rm -f "$pwned"
cmd="status; touch $pwned && \$(touch $pwned) \`touch $pwned\` | touch $pwned & '\"*?~<>\\
touch $pwned"
out=$(harness_ssh support "$cmd" </dev/null) ||
    harness_fail "support login failed: $out"
harness_assert_eq support "$(field user "$out")" "ForceCommand user"
harness_assert_eq "$HARNESS_UID_SUPPORT" "$(field uid "$out")" "support uid"
harness_assert_eq "$H/home/support" "$(field home "$out")" "support home"
harness_assert_eq 1 "$(field command_set "$out")" "command was passed"
harness_assert_eq "$(hex "$cmd")" "$(field command_hex "$out")" \
    "SSH_ORIGINAL_COMMAND, byte for byte"
conn=$(field connection "$out")
case $conn in
"127.0.0.1 "[0-9]*" 127.0.0.1 $HARNESS_PORT") ;;
*) harness_fail "SSH_CONNECTION is [$conn]" ;;
esac
harness_assert_eq "publickey $(cut -d' ' -f1,2 "$H/client/support.pub")" \
    "$(field auth "$out")" "ExposeAuthInfo names support's key"
[ -e "$pwned" ] && harness_fail "the forced command ran part of the request"

out=$(harness_ssh support -T </dev/null) ||
    harness_fail "support login without a command failed: $out"
harness_assert_eq 0 "$(field command_set "$out")" "no command sent"
harness_assert_eq support "$(field user "$out")" "ForceCommand user"

# ---- accounts without ForceCommand -----------------------------------------

out=$(harness_ssh tunl 'id -un; id -gn; id -Gn; pwd' </dev/null) ||
    harness_fail "tunl login failed: $out"
harness_assert_eq "tunl
tunl
tunl
$H/home/tunl" "$out" "tunl's identity and home"

# ---- keys it does not know ---------------------------------------------------

harness_keygen stranger
if out=$(harness_ssh_key support stranger true </dev/null 2>&1); then
	harness_fail "an unknown key logged in: $out"
fi
harness_assert_contains "$out" "Permission denied" "unknown key refused"
fp=$(ssh-keygen -lf "$H/client/stranger.pub" | awk '{ print $2 }')
# sshd's log lines come through its monitor, maybe after the client is gone.
harness_wait 60 "sshd to log the refusal" \
    grep -q "Failed publickey for support from 127.0.0.1" "$H/sshd.log"
harness_wait 60 "sshd to log the refused key's fingerprint" \
    grep -qF -- "$fp" "$H/sshd.log"
if out=$(harness_ssh_key tunl support true </dev/null 2>&1); then
	harness_fail "support's key logged in as tunl: $out"
fi
harness_assert_contains "$out" "Permission denied" "key of another user refused"

# ---- certificates through AuthorizedPrincipalsCommand ------------------------

if [ "$HARNESS_SAFE_TREE" = yes ]; then
	harness_keygen tunl-good
	harness_user_cert tunl-good smoke-good smoke-tunl
	out=$(harness_ssh_key tunl tunl-good 'id -un' </dev/null) ||
	    harness_fail "certificate with principal smoke-tunl refused: $out"
	harness_assert_eq tunl "$out" "certificate login"
	harness_assert_contains "$(cat "$H/home/tunlauth/principals.log")" \
	    "ran_as=tunlauth user=tunl key_id=smoke-good" \
	    "principals command ran as tunlauth"

	# A principal matching the user name is not enough: the command rules.
	harness_keygen tunl-bad
	harness_user_cert tunl-bad smoke-bad tunl
	if out=$(harness_ssh_key tunl tunl-bad true </dev/null 2>&1); then
		harness_fail "certificate without the command's principal logged in"
	fi
	harness_assert_contains "$out" "Permission denied" "wrong principal refused"
else
	harness_log "tree is not root-only: certificate checks not run"
fi

# ---- keyboard-interactive through an askpass program -----------------------

out=$(harness_ssh_kbd tunl "right-answer-$$" 'id -un' </dev/null) ||
    harness_fail "keyboard-interactive login with the right answer failed: $out"
harness_assert_eq tunl "$out" "keyboard-interactive login"
harness_assert_contains "$(cat "$H/client/askpass.prompts")" "Password" \
    "askpass saw the PAM prompt"
if out=$(harness_ssh_kbd tunl "wrong-answer" true </dev/null 2>&1); then
	harness_fail "keyboard-interactive login with a wrong answer succeeded"
fi
harness_assert_contains "$out" "Permission denied" "wrong answer refused"

# ---- login records go to the private files --------------------------------

harness_ssh tunl -tt true </dev/null >/dev/null 2>&1 ||
    harness_fail "tunl login with a terminal failed"
[ -s "$H/var/log/wtmp" ] || harness_fail "the private wtmp was not written"

# ---- sshd's namespace: what helpers run with harness_nsenter see ----------

inside=$(harness_nsenter sh -c 'test -d /run/sshd && echo run-ok;
    grep -c "^tunlauth:" /etc/passwd; grep "^tunl:" /etc/group') ||
    harness_fail "harness_nsenter failed"
harness_assert_eq "run-ok
1
tunl:x:$HARNESS_GID_TUNL:tunl,support,tunl-broker,tunlauth" "$inside" \
    "the namespace sees the private /run, passwd and group"
grep -q "^tunlauth:" /etc/passwd &&
    harness_fail "the test account is visible in the machine's /etc/passwd"

# Processes to clean up: one tracked by pid outside the namespace, one
# started inside it and never tracked. The inner one names its pid once it
# is in the namespace (then execs sleep in that same process).
sleep 300 &
outside=$!
harness_track "$outside"
harness_nsenter sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1" && exec sleep 301' \
    sh "$H/inner.pid" 2>/dev/null &
inner=$!
harness_wait 60 "the process in sshd's namespace to start" test -s "$H/inner.pid"
inner_pid=$(cat "$H/inner.pid")
# harness_leftovers names sshd, the tracked sleep and the inner one.
left=$(harness_leftovers 2>/dev/null)
for p in "$HARNESS_SSHD_PID" "$outside" "$inner_pid"; do
	printf '%s\n' "$left" | grep -qx "$p" ||
	    harness_fail "harness_leftovers does not name pid $p: $left"
done

# ---- tear down: nothing left, nothing touched -----------------------------

sshd_pid=$HARNESS_SSHD_PID
harness_stop
wait "$inner" 2>/dev/null
harness_alive "$outside" && harness_fail "tracked pid $outside still runs"
left=$(harness_leftovers)
[ -n "$left" ] && ps -o pid,ppid,stat,lstart,args -p "$(echo $left | tr ' ' ,)" >&2
harness_assert_eq "" "$left" "processes left after harness_stop"
harness_alive "$sshd_pid" && harness_fail "sshd $sshd_pid still runs"
[ -z "$(ss -Hltn "sport = :$HARNESS_PORT")" ] ||
    harness_fail "port $HARNESS_PORT still listens"
harness_host_unchanged
[ -e "$pwned" ] && harness_fail "$pwned exists"
harness_log "passed"
exit 0
