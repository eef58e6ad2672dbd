#!/bin/sh
# An engineer's keys reach the customer's pane exactly, through the real
# path: the engineer's ssh (in a pane of the test's tmux) -> sshd ->
# tunl-shell join -> tunl-broker -> the customer's ssh -> tunl-share ->
# its tmux control-mode client -> the customer's pane.
#
# The customer's pane runs `dd bs=1 count=N of=FILE` on a raw terminal,
# so it writes every byte it is given as it gets it; the file must equal what was typed:
#   1. every byte 0x00-0xff alone, each one waited for before the next
#      (so each travels in a frame of its own: a lone `;` once vanished,
#      tmux read it as a command separator), Alt-a, UTF-8 one byte at a
#      time (the relay passes every byte over 0x7f at once, as it came);
#   2. the same bytes and more UTF-8 in random splits, none waited for;
#   3. a 64 KiB bracketed paste.
# Ctrl-] is join's escape key: typed twice, it sends one.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"

if [ -n "${TUNL_SANITIZED:-}" ]; then
	echo "SKIP: share-keys: a sanitizer build's pam_tunl.so cannot load into the stock sshd"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "SKIP: share-keys: needs python3"; exit 77; }

. "$top_srcdir/tests/integration/harness.sh"
harness_init share-keys
. "$top_srcdir/tests/integration/share-lib.sh"
share_setup

# ---- the corpora (python3 writes bytes exactly) --------------------------
# one.bin: what the customer must receive in step 1; one.keys: the same as
# the hex arguments the engineer's terminal is given, one line a key.
python3 - "$H" <<'EOF' || harness_fail "cannot write the corpora"
import random, sys
h = sys.argv[1]
one = [bytes([b]) for b in range(0x00, 0x100)]
one.append(b"\x1ba")                       # Alt-a
one += [bytes([b]) for b in "é✓日🎉".encode()]  # UTF-8, a byte at a time
with open(h + "/one.bin", "wb") as f:
    f.write(b"".join(one))
# Each line: how many bytes the customer must have once this key is in,
# then the key's bytes in hex.
with open(h + "/one.keys", "w") as f:
    sent = 0
    for k in one:
        sent += len(k)
        # join's escape key, Ctrl-], sends itself when typed twice
        k = k.replace(b"\x1d", b"\x1d\x1d")
        f.write("%d %s\n" % (sent, " ".join("%02x" % c for c in k)))
rnd = random.Random(4242)
text = bytes(range(0x00, 0x100)).replace(b"\x1b", b"") + \
    "a;b ; \\ \" ' $HOME #{x} {}; naïve ✓ 日本語 🎉\r\n".encode() * 3
with open(h + "/split.bin", "wb") as f:
    f.write(text)
with open(h + "/split.keys", "w") as f:
    i = 0
    while i < len(text):
        n = rnd.randint(1, 7)
        k = text[i:i + n].replace(b"\x1d", b"\x1d\x1d")
        f.write(" ".join("%02x" % c for c in k) + "\n")
        i += n
words = ["echo", "a;", ";", "b\\", "'q'", '"d"', "$x", "#c", "{", "}",
         "ü", "✓", "日本", "\t", "x" * 40]
paste = bytearray()
while len(paste) < 65536:
    paste += rnd.choice(words).encode() + rnd.choice([b" ", b"\n"])
with open(h + "/paste.bin", "wb") as f:
    f.write(bytes(paste[:65536]))
EOF

new
pane cust "$SHARE_ENV $SHARE --relay $RELAY --known-hosts $KH --token-file $TOKENFILE $ID"
cust_wait_ready 1
# The engineer's ssh has no escape character: ~ after Enter is a key.
pane rw "$SSH -e none -o IdentityFile=$H/client/alice -t support@127.0.0.1 join $ID"
cust_wait_pane "alice joined (read-write)" 1
wait_screen rw "watching: alice"

size_of() {
	stat -c %s "$1" 2>/dev/null || echo 0
}
size_over() {
	[ "$(size_of "$1")" -gt "$2" ]
}
# receive NAME N: the customer's pane takes the size of NAME.bin raw into
# NAME.out, a byte at a time; returns once dd runs on a raw terminal.
cust_running() {
	[ "$(tmux -S "$CSOCK" display -p -t tunl:0.0 '#{pane_current_command}')" = "$1" ]
}
receive() {
	_n=$(size_of "$H/$1.bin")
	tmux -S "$CSOCK" send-keys -t tunl:0.0 \
	    "stty raw -echo -iexten; dd bs=1 count=$_n of=$H/$1.out status=none; stty sane; echo got-\$((1+$2))" Enter
	harness_wait 60 "dd to read the keys" cust_running dd
}
# received NAME N: dd has written all of NAME.bin and the shell is back.
received() {
	cust_wait_pane "got-$(($2 + 1))"
	cmp "$H/$1.bin" "$H/$1.out" ||
	    harness_fail "$1: the customer's pane got other bytes than were typed (see $H/$1.bin, $H/$1.out)"
}

# ---- 1. one byte at a time ----------------------------------------------------
receive one 10
while read -r want keys; do
	# shellcheck disable=SC2086
	tm send-keys -t e2e:rw -H $keys
	harness_wait 60 "the customer's pane to have $want bytes (key $keys)" \
	    size_over "$H/one.out" $((want - 1))
done <"$H/one.keys"
received one 10
AUDIT=${CSOCK%/tmux.sock}/audit.log
grep -qF 'keys allowed pane=main from=alice n=1 ";"' "$AUDIT" ||
    harness_fail "no frame carried a ; alone (audit log)"

# ---- 2. random splits, not waited for --------------------------------------
receive split 20
while read -r keys; do
	# shellcheck disable=SC2086
	tm send-keys -t e2e:rw -H $keys
done <"$H/split.keys"
received split 20

# ---- 3. a 64 KiB bracketed paste ------------------------------------------------
# The engineer's terminal wraps it in the paste marks when join's screen
# asked for them; either way the customer's pane gets the text exactly.
receive paste 30
tm load-buffer -b keys "$H/paste.bin"
tm paste-buffer -p -r -d -b keys -t e2e:rw
received paste 30

# Nothing was refused by tmux, nothing dropped for a full queue.
grep -qF 'tmux refused a command' "$AUDIT" && harness_fail "tmux refused a command"
grep -qF 'keys dropped' "$AUDIT" && harness_fail "keys were dropped"
harness_log "every byte typed reached the customer's pane as it was typed"
share_finish
