#!/bin/sh
# make-corpus.sh: write the escape filter's golden files (run it from
# anywhere; it writes beside itself, and the fuzz seeds in
# fuzz/corpus/vtfilter). Every case is one line below, so the hostile bytes
# and what must come out of the filter can be read side by side.
#
#   out NAME IN EXP    screen side: NAME.in filtered must give NAME.exp
#   inp NAME IN EXP    key side: input-NAME.in must give input-NAME.exp
#
# IN and EXP are printf(1) formats: \033 is ESC, \007 BEL, \233 a lone
# 0x9b byte, \302\233 the UTF-8 form of U+009B; %% is a percent sign.
# tests/unit/test-vtfilter.c runs every case whole, byte by byte and split
# in two at every offset.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seeds="$here/../../fuzz/corpus/vtfilter"
cd "$here"
rm -f ./*.in ./*.exp
mkdir -p "$seeds"
rm -f "$seeds"/*

# The fuzz target reads its first byte as the direction (bit 0).
seed() {
	{ printf "$2"; cat "$3"; } >"$seeds/$1"
}
out() {
	printf "$2" >"$1.in"
	printf "$3" >"$1.exp"
	seed "$1" '\000' "$1.in"
}
inp() {
	printf "$2" >"input-$1.in"
	printf "$3" >"input-$1.exp"
	seed "input-$1" '\001' "input-$1.in"
}
# rep N CHAR: CHAR N times.
rep() {
	awk -v n="$1" -v c="$2" 'BEGIN { while (n-- > 0) printf "%s", c }'
}

## ---- screen side: what must never reach an engineer's terminal ----------
# Clipboard write, and the read that exfiltrates it.
out osc52-set		'a\033]52;c;aGVsbG8=\007b'		'ab'
out osc52-query		'a\033]52;c;?\033\\b'			'ab'
out osc52-primary	'\033]52;p;aGk=\007\033]52;;aGk=\033\\x'	'x'
# Titles: set (OSC 0/1/2) and the reports that echo them back.
out osc-title		'\033]0;evil\007\033]1;icon\007\033]2;title\033\\ok\n'	'ok\n'
out title-report	'\033[21t\033[20t\033[22;0t\033[23;0tx'	'x'
out window-report	'\033[14t\033[18t\033[19t\033[8;100;300t\033[3;0;0t\033[9;1t\033[11tx'	'x'
# Queries that make a terminal answer.
out decrqss		'\033P$qm\033\\\033P$q"p\033\\x'		'x'
out xtgettcap		'\033P+q544e\033\\\033P+q6b637531\033\\x'	'x'
out osc50-font		'\033]50;?\007\033]50;#+1\007x'		'x'
out osc-colours		'\033]4;1;?\007\033]10;?\007\033]11;rgb:0000/0000/0000\007\033]12;?\033\\\033]104\007x'	'x'
out enq			'a\005b'				'ab'
out da			'\033[c\033[0c\033[>c\033[>0c\033[=c\033[=0cx'	'x'
out dsr-cpr		'\033[5n\033[6n\033[?6n\033[?15n\033[?996nx'	'x'
out decrqm		'\033[?2004$p\033[4$p\033[?1049$px'	'x'
out xtversion		'\033[>qx\033[>0qy'			'xy'
out decreqtparm		'\033[xx\033[1x'			'x'
out decid		'a\033Zb'				'ab'
out xtsmgraphics	'\033[?1;1;0S\033[?2;1;0Sx'		'x'
out kitty-keyboard	'\033[?u\033[>1u\033[=1;1u\033[<ux'	'x'
out modify-keys		'\033[>4;1m\033[>4m\033[?4mx'		'x'
# Links, vendor file and command channels, images.
out osc8-link		'\033]8;;http://evil.example/\033\\click\033]8;;\033\\'	'click'
out osc1337		'\033]1337;File=name=eA==;inline=1:aGk=\007\033]1337;SetUserVar=a=Yg==\007x'	'x'
out kitty-osc		'\033]5113;ac=send\007\033]99;i=1:d=0;hi\033\\x'	'x'
out osc-misc		'\033]7;file://host/tmp\033\\\033]9;hi\007\033]777;notify;a;b\007\033]133;A\007$ \033]133;B\007ls\n'	'$ ls\n'
out apc-kitty-graphics	'\033_Gf=100,a=T;iVBORw0K\033\\x'	'x'
out pm			'\033^privacy message\033\\x'		'x'
out sos			'\033Xstart of string\033\\x'		'x'
out dcs-tmux		'\033Ptmux;\033\033]52;c;aGk=\007\033\\x'	'x'
out dcs-sixel		'\033Pq\n\r#1~-~\033\\x'		'x'
out printer		'\033[5ix\033[4i\033[?5iy'		'xy'
out resize		'\033[8;50;200t\033[?3h\033[3$|\033[24*|x'	'x'
# Strings without an end: bounded at 4096 bytes (ESC ] 0 ; counts too), or
# ended by the next ESC, so what follows is not swallowed.
printf '\033]0;' >unterminated-osc.in
rep 5000 A >>unterminated-osc.in
printf '\nvisible\n' >>unterminated-osc.in
{ rep 908 A; printf '\nvisible\n'; } >unterminated-osc.exp
seed unterminated-osc '\000' unterminated-osc.in
printf '\033Pq' >unterminated-dcs.in
rep 4200 - >>unterminated-dcs.in
printf 'done\n' >>unterminated-dcs.in
{ rep 107 -; printf 'done\n'; } >unterminated-dcs.exp
seed unterminated-dcs '\000' unterminated-dcs.in
out unterminated-osc-esc	'\033]0;title\033[1mbold\033[0m\n'	'\033[1mbold\033[0m\n'
out unterminated-apc-esc	'\033_Gpayload\033[31mred'		'\033[31mred'
out can-sub		'\033[31\030x\033]0;t\032y\033P\030z'	'xyz'
# A sequence cut by a new ESC restarts cleanly.
out csi-cut-by-esc	'\033[31\033[32mgreen\033[0m'		'\033[32mgreen\033[0m'
out csi-cut-by-string	'\033[\033]0;x\007y'			'y'
out csi-cut-by-utf8	'\033[3\303\251'			'\303\251'
out csi-c0-inside	'\033[3\r1m'				'\r\033[31m'
# 8-bit C1: lone bytes and their UTF-8 forms act as their 7-bit forms.
out c1-raw-csi		'a\2336nb\23331mc'			'ab\033[31mc'
out c1-raw-osc		'a\2350;title\007b\2352;t\234c'		'abc'
out c1-raw-dcs		'a\220$qm\234b\237Gx\234c\236p\234d\230s\234e'	'abcde'
out c1-utf8		'a\302\2336nb\302\23331mc\302\2350;t\302\234d\302\220$q\302\234e'	'ab\033[31mcde'
out c1-other		'a\204b\302\205c\232d\302\232e\217x\216y'	'a\033Db\033Ecdexy'
out c1-in-string	'\033]0;t\2336nx\033]0;\302\234y'	'xy'
# Modes that make a terminal send input, and others off the allowlist.
out mouse-modes		'\033[?1000h\033[?1002h\033[?1003h\033[?1006h\033[?1015h\033[?1005h\033[?1016h\033[?9hx\033[?1000;1006l'	'x'
out bracketed-paste	'\033[?2004hx\033[?2004l'		'x'
out focus		'\033[?1004hx\033[?1004l'		'x'
out modes-mixed		'\033[?1049;1000h\033[?25;1004;12l\033[?;25h'	'\033[?1049h\033[?25;12l\033[?25h'
out modes-ansi		'\033[4;20h\033[2h\033[12l\033[4;2;20l'	'\033[4;20h\033[4;20l'
out modes-other		'\033[?3h\033[?67h\033[?1007h\033[?1036h\033[?69hx'	'x'
# History: RIS becomes a soft reset, ED 3 (scrollback) goes.
out ris			'a\033cb'				'a\033[!p\033[H\033[2Jb'
out scrollback-clear	'\033[H\033[2J\033[3J'			'\033[H\033[2J'
# Cheap amplification and oversized sequences.
out rep-cap		'x\033[80by\033[4096bz\033[4097b\033[99999b\033[1;2b'	'x\033[80by\033[4096bz'
out csi-too-many	'\033[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17Hx\033[1;2;3r'	'x'
out sgr-params		'\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1ma\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1mb\033[65535mc\033[65536md'	'\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1mab\033[65535mcd'
{ printf '\033['; rep 300 1; printf 'mtext'; } >csi-overlong.in
printf 'text' >csi-overlong.exp
seed csi-overlong '\000' csi-overlong.in
{ printf '\033['; rep 5000 1; printf 'm'; } >csi-endless.in
{ rep 906 1; printf 'm'; } >csi-endless.exp
seed csi-endless '\000' csi-endless.in
# Controls: the layout ones stay, the rest go. In invalid-utf8 each bad
# stretch is one U+FFFD; a lone 0x80-0x9f byte is a C1 control, so the 0x90
# after F4 starts a DCS that the next C1 (0x80) ends.
out c0-controls		'a\000b\001c\006d\020e\021f\177g\007h\010i\tj\013k\014l\015m\016n\017o\n'	'abcdefg\007h\010i\tj\013k\014l\015m\016n\017o\n'
out esc-misc		'\033#8\033#3\033%%@\033 G\033 F\033N\033Ox\033\\y\033n\033(%%5z'	'xyz'
out invalid-utf8	'a\377b\300\200c\355\240\200d\342\202e\360\237\230f\364\220\200\200g'	'a\357\277\275b\357\277\275c\357\277\275\357\277\275d\357\277\275e\357\277\275f\357\277\275g'

## ---- screen side: what must pass unchanged -------------------------------
out colours		'\033[0m\033[1;31mred\033[0m \033[38;5;208morange\033[0m \033[38;2;10;20;30mtrue\033[0m \033[4:3mcurly\033[24m\033[58:2::255:0:0mx\033[m\n'	'\033[0m\033[1;31mred\033[0m \033[38;5;208morange\033[0m \033[38;2;10;20;30mtrue\033[0m \033[4:3mcurly\033[24m\033[58:2::255:0:0mx\033[m\n'
out utf8-text		'日本語のテキスト 😀 👩‍💻 café ě ñ\302\240x\n'	'日本語のテキスト 😀 👩‍💻 café ě ñ\302\240x\n'
out line-drawing	'\033)0\033(0lqqk\033(B \016lqk\017 \033(Ax\033(B\n'	'\033)0\033(0lqqk\033(B \016lqk\017 \033(Ax\033(B\n'
out cursor		'\033[5A\033[B\033[2C\033[D\033[E\033[3F\033[10G\033[5;10H\033[f\033[7d\033[2e\033[3a\033[4`\0337\0338\033[s\033[u\033D\033E\033M\033=\033>'	'\033[5A\033[B\033[2C\033[D\033[E\033[3F\033[10G\033[5;10H\033[f\033[7d\033[2e\033[3a\033[4`\0337\0338\033[s\033[u\033D\033E\033M\033=\033>'
out edit		'\033[J\033[1J\033[2J\033[K\033[1K\033[2K\033[?2K\033[5X\033[3@\033[2L\033[2M\033[4P\033[5S\033[2T\033[3;20r\033[r'	'\033[J\033[1J\033[2J\033[K\033[1K\033[2K\033[?2K\033[5X\033[3@\033[2L\033[2M\033[4P\033[5S\033[2T\033[3;20r\033[r'
out tabs-cursor-style	'\033H\033[g\033[3g\033[2I\033[Z\033[2 q\033[ q\033[!p\033[7 q\033[1;2s\033[1g'	'\033H\033[g\033[3g\033[2I\033[Z\033[2 q\033[ q\033[!p'
out cursor-modes	'\033[?25l\033[?25h\033[?12h\033[?1h\033[?7l\033[?6h\033[?5h\033[?2026h\033[?2026l\033[?47h\033[?1047l\033[?1048h'	'\033[?25l\033[?25h\033[?12h\033[?1h\033[?7l\033[?6h\033[?5h\033[?2026h\033[?2026l\033[?47h\033[?1047l\033[?1048h'
# A vim-like session: alt screen, scroll region, redraw; the title stack,
# modifyOtherKeys, paste, focus and DA go, the rest stays.
out fullscreen \
'\033[?1049h\033[22;0;0t\033[>4;2m\033[?1h\033=\033[H\033[2J\033[1;23r\033[?12h\033[?12l\033[?25l\033[1;1H\033[38;5;12m~\033[0m\033[K\r\n~\033[23;1H\033[1m-- INSERT --\033[0m\033[1;1H\033[?25h\033[?2004h\033[?1004h\033[?u\033[c\033[5S\033[2T\033M\033D\033[3L\033[2M\033[4@\033[2P\033[5X\033]0;vim\007\033[?1049l\033[23;0;0t\033[?1l\033>' \
'\033[?1049h\033[?1h\033=\033[H\033[2J\033[1;23r\033[?12h\033[?12l\033[?25l\033[1;1H\033[38;5;12m~\033[0m\033[K\r\n~\033[23;1H\033[1m-- INSERT --\033[0m\033[1;1H\033[?25h\033[5S\033[2T\033M\033D\033[3L\033[2M\033[4@\033[2P\033[5X\033[?1049l\033[?1l\033>'

## ---- key side: keys pass, terminal reports and strings do not ------------
inp keys	'ls -l\r\033[A\033[1;5C\033OP\033O5Q\033[15~\033[3;5~\033[Z\033b\033\177\001\003\000\177\033[27;5;13~\033[97;5u\033[[A\033[1;2R\033[H\033[F\033[1;3D\033\303\251\033 x'	'ls -l\r\033[A\033[1;5C\033OP\033O5Q\033[15~\033[3;5~\033[Z\033b\033\177\001\003\000\177\033[27;5;13~\033[97;5u\033[[A\033[1;2R\033[H\033[F\033[1;3D\033\303\251\033 x'
inp osc52-reply	'a\033]52;c;c2VjcmV0\007b\033]52;c;c2VjcmV0\033\\c'	'abc'
inp reports	'a\033[12;40Rb\033[?1;2cc\033[>41;330;0cd\033[?2004;1$ye\033[2;1$yf\033[Ig\033[Oh\033[0ni\033[8;24;80tj\033[2;1;1;112;112;1;0xk\033[2;1Rl'	'abcdefghijkl'
inp mouse	'a\033[M !!b\033[<0;10;5Mc\033[<0;10;5md\033[32;10;5Me\033[M\340\377\377f'	'abcdef'
inp paste	'\033[200~echo hi\r\033[201~'		'echo hi\r'
inp dcs-replies	'\033P1$r0;1m\033\\\033P1+r544e=787465726d\033\\\033P>|XTerm(388)\033\\x'	'x'
inp strings	'\033_Gi=1;OK\033\\\033^pm\033\\\033Xsos\033\\\033]11;rgb:0/0/0\033\\x'	'x'
inp c1		'a\2336;1Rb\23312;1Rc\233Ad\217Pe\204f\302\233Ag\302\2350;t\234h'	'a\2336;1Rb\23312;1Rc\233Ad\217Pe\204f\302\233Ag\302\2350;t\234h'
inp alt-bracket	'\033]ls\rpwd\r'			'pwd\r'
inp utf8	'héllo 日本 \377x\302\205y'		'héllo 日本 \377x\302\205y'
inp interrupted	'\033[1;\003x\033O\ry'			'\033[1;\003x\033O\ry'

## ---- seeds for fuzz/fuzz-vtfilter-diff.c (fast path against reference) ---
# That target reads a flags byte (bit 0 the direction as above, bits 1-3
# the number K of chunk-length bytes that follow, bit 4 tight out buffers,
# bit 5 a reset before the flush), the K lengths, then the stream. Every
# case goes in whole, a byte at a time, in chunks of 5, 1 and 13 bytes
# with tight buffers, and in chunks of 7 between empty feeds with a reset;
# so does a stream shaped like bench/vtfilter-bench's.
diffseeds="$here/../../fuzz/corpus/vtfilter-diff"
mkdir -p "$diffseeds"
rm -f "$diffseeds"/*
bench="$here/bench-stream.tmp"
printf '\000\033[0m\033[01;34mdrwxr-xr-x\033[0m  2 root root  4096 Jan  1 12:00 \033[01;34metc\033[0m\r\n-rw-r--r--  1 root root 10240 Jan  1 12:00 \033[01;32mbuild.sh\033[0m\r\nlib/vtfilter.c:42:7: \033[1;35mwarning:\033[0m unused variable \342\200\230x\342\200\231 [-Wunused-variable]\r\nJournal: Pr\303\274fung bestanden, \346\227\245\346\234\254\350\252\236 \360\237\230\200 ok\r\n\033[?25l\033[1;24r\033[H\033[2J\033[38;5;244m  1 \033[0m#include <stdio.h>\033[K\r\n\033[24;1H\033[1m-- INSERT --\033[0m\033[3;5H\033[?25h\033[5;1H\033[2L\033[1S\033[12;40H\033(0lqqqqk\033(B\r\n\033]0;user@host: ~/src\007\033[6nplain ascii text of a long log line\r\n' \
    >"$bench"
for f in "$seeds"/* "$bench"; do
	name=${f##*/}
	name=${name%.tmp}
	dir=$(od -An -tu1 -N1 "$f" | tr -d ' ')
	tail -c +2 "$f" >"$here/seed.tmp"
	{ printf "\\$(printf %o "$dir")"; cat "$here/seed.tmp"; } \
	    >"$diffseeds/$name"
	{ printf "\\$(printf %o $((dir | 2)))\\001"; cat "$here/seed.tmp"; } \
	    >"$diffseeds/$name-bytes"
	{ printf "\\$(printf %o $((dir | 0x16)))\\005\\001\\015";
	    cat "$here/seed.tmp"; } >"$diffseeds/$name-tight"
	{ printf "\\$(printf %o $((dir | 0x24)))\\000\\007";
	    cat "$here/seed.tmp"; } >"$diffseeds/$name-empty-reset"
done
rm -f "$here/seed.tmp" "$bench"

## ---- seeds for fuzz/fuzz-vtscreen.c (the engineer's screen stage) -------
# That target reads the customer's rows (first byte modulo 64, 0: any) and
# a chunking seed, then a screen-side stream: every screen-side case with
# 23 rows, and a few full-screen sessions with their own switches.
scrseeds="$here/../../fuzz/corpus/vtscreen"
mkdir -p "$scrseeds"
rm -f "$scrseeds"/*
for f in "$here"/*.in; do
	name=${f##*/}
	case $name in input-*) continue ;; esac
	{ printf '\027\005'; cat "$f"; } >"$scrseeds/${name%.in}"
done
printf '\027\003$ vim\r\n\033[?1049h\033[22;0;0t\033[1;23r\033[?12h\033[?12l\033[H\033[2J\033[?25l~\r\n~\033[23;1H"f" 3L\033[1;1H\033[?25h\033[?1l\033>\033[?1049l\033[23;0;0t$ ' \
    >"$scrseeds/session-vim"
printf '\000\011\033[?47hforty\033[?47l\033[?1047;25h\033[?1047l\033[r\033[!p\033[999;1H\033[999d\033[4 q\033H\033[3g' \
    >"$scrseeds/session-modes"
printf '\005\001\033[?1049h\033[5;40r\033[40;1H\033[?1049h\033[?1049l\033[?1049l' \
    >"$scrseeds/session-small"
