#!/usr/bin/env python3
# The far end of bench/keystroke.sh: on a raw terminal, answer every byte
# read with "K<n>" (n counts the bytes), so the driver can tell the echo
# of its n-th key from anything else on the screen.
import os
import sys
import termios
import tty

fd = sys.stdin.fileno()
saved = termios.tcgetattr(fd)
tty.setraw(fd)
os.write(1, b"\033[H\033[2Jecho-ready\r\n")
n = 0
try:
    while True:
        b = os.read(fd, 1)
        if not b or b == b"\x04":
            break
        n += 1
        os.write(1, b"K%06d\r\n" % n)
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, saved)
