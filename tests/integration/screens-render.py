#!/usr/bin/python3
# screens-render.py LOG COLS ROWS: what a terminal of COLS x ROWS shows
# after receiving the bytes in LOG, rendered with pyte (python3-pyte).
#
# pyte has one screen; a terminal has two. The switches between them
# (modes 47, 1047, 1049 set and reset) are taken out of the stream here
# and handled with two pyte screens, as xterm does: 1049 saves the cursor
# and clears the alternate screen on the way in, and restores the cursor
# on the way out. pyte also lacks scroll up/down (CSI S, CSI T), which
# programs under tmux's "screen" terminal use; they are added.
#
# Prints JSON: which screen is on ("normal" or "alt"), how many times the
# stream entered and left the alternate screen, the cursor (x, y) and the
# lines of both screens, trailing spaces removed.
#
# screens-render.py LOG COLS ROWS EXPECT W H [X Y [SHOWN]]: compare
# instead. The top-left W x H of the screen that is on must show what the
# file EXPECT holds (`tmux capture-pane -p` of the pane being watched),
# the cursor must be at X, Y and shown (SHOWN 1) or hidden (0) when they
# are given; exit 1 with both screens side by side when it is not.
import json
import re
import sys

import pyte

SWITCH = re.compile(rb"\x1b\[\?(47|1047|1049)([hl])")


class Screen(pyte.Screen):
    def _margins(self):
        if self.margins is None:
            return 0, self.lines - 1
        return self.margins.top, self.margins.bottom

    def scroll_up(self, count=None, *args, **kwargs):
        top, bottom = self._margins()
        y = self.cursor.y
        self.cursor.y = bottom
        for _ in range(max(count or 1, 1)):
            self.index()
        self.cursor.y = y

    def scroll_down(self, count=None, *args, **kwargs):
        top, bottom = self._margins()
        y = self.cursor.y
        self.cursor.y = top
        for _ in range(max(count or 1, 1)):
            self.reverse_index()
        self.cursor.y = y


class Stream(pyte.ByteStream):
    csi = dict(pyte.ByteStream.csi, S="scroll_up", T="scroll_down")


def lines(screen):
    return [line.rstrip() for line in screen.display]


def compare(cur, args):
    width, height = int(args[1]), int(args[2])
    with open(args[0], "rb") as f:
        want = f.read().decode("utf-8", "replace").split("\n")
    want = [w.rstrip() for w in want[:height]]
    want += [""] * (height - len(want))
    got = [line[:width].rstrip() for line in lines(cur)[:height]]
    got += [""] * (height - len(got))
    ok = got == want
    where = ""
    if len(args) >= 5:
        # A cursor past the last column waits to wrap; pyte and tmux say
        # so differently: it is on that column.
        x, y = min(int(args[3]), width - 1), int(args[4])
        gx = min(cur.cursor.x, width - 1)
        where = " cursor: engineer %d,%d, customer %d,%d" % (
            gx, cur.cursor.y, x, y)
        ok = ok and (gx, cur.cursor.y) == (x, y)
    if len(args) >= 6:
        shown = not cur.cursor.hidden
        where += " shown: engineer %d, customer %s" % (shown, args[5])
        ok = ok and shown == (args[5] == "1")
    if ok:
        return 0
    sys.stdout.write("screens differ%s\n" % where)
    for i in range(height):
        mark = "  " if got[i] == want[i] else "! "
        sys.stdout.write("%s%3d engineer |%s|\n" % (mark, i, got[i]))
        if got[i] != want[i]:
            sys.stdout.write("%s%3d customer |%s|\n" % (mark, i, want[i]))
    return 1


def main():
    path, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, "rb") as f:
        data = f.read()
    normal = Screen(cols, rows)
    alt = Screen(cols, rows)
    streams = {"normal": Stream(normal), "alt": Stream(alt)}
    on = "normal"
    saved = (0, 0)
    enters = leaves = 0
    pos = 0
    for m in SWITCH.finditer(data):
        streams[on].feed(data[pos:m.start()])
        pos = m.end()
        mode, what = m.group(1), m.group(2)
        if what == b"h" and on == "normal":
            enters += 1
            if mode == b"1049":
                saved = (normal.cursor.x, normal.cursor.y)
            if mode != b"47":
                alt.reset()
            alt.cursor.x, alt.cursor.y = normal.cursor.x, normal.cursor.y
            on = "alt"
        elif what == b"l" and on == "alt":
            leaves += 1
            if mode == b"1049":
                normal.cursor.x, normal.cursor.y = saved
            else:
                normal.cursor.x, normal.cursor.y = alt.cursor.x, alt.cursor.y
            on = "normal"
    streams[on].feed(data[pos:])
    cur = alt if on == "alt" else normal
    if len(sys.argv) > 4:
        sys.exit(compare(cur, sys.argv[4:]))
    json.dump({"on": on, "enters": enters, "leaves": leaves,
               "cursor": [cur.cursor.x, cur.cursor.y],
               "normal": lines(normal), "alt": lines(alt)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
