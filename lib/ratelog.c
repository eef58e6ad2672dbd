/*
 * ratelog.c: rate-limited log lines for faults a peer can repeat at will
 * (bad frames): a flood of them must not become a flood of syslog lines.
 * In each RATELOG_WINDOW_MS window the first RATELOG_BURST are logged;
 * the rest are counted, and one summary line says how many were not
 * logged, when the window is over (at the next fault or the caller's
 * tick) and when the peer goes (ratelog_flush).
 *
 * who and what only label the summary ("consumer alice", "bad frames").
 */
#include "config.h"

#include "tunl.h"
#include "ratelog.h"

/* 1: log this one; 0: counted, and summarised later. */
int
ratelog_allow(struct ratelog *rl, int64_t now, const char *who,
    const char *what)
{
	if (rl->window_ms == 0 || now - rl->window_ms >= RATELOG_WINDOW_MS) {
		ratelog_flush(rl, who, what);
		rl->window_ms = now;
		rl->logged = 0;
	}
	if (rl->logged < RATELOG_BURST) {
		rl->logged++;
		return 1;
	}
	rl->held++;
	return 0;
}

/* The window is over: say what was not logged in it. */
void
ratelog_tick(struct ratelog *rl, int64_t now, const char *who,
    const char *what)
{
	if (rl->held > 0 && now - rl->window_ms >= RATELOG_WINDOW_MS)
		ratelog_flush(rl, who, what);
}

void
ratelog_flush(struct ratelog *rl, const char *who, const char *what)
{
	if (rl->held == 0)
		return;
	info("%s: %llu more %s not logged (at most %d lines in %d s)",
	    who, (unsigned long long)rl->held, what, RATELOG_BURST,
	    RATELOG_WINDOW_MS / 1000);
	rl->held = 0;
}
