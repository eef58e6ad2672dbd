/*
 * share-timing.c: --timing, where tunl-share's start goes. Each step
 * (making the key, signing, starting tmux and its control client,
 * connecting and the relay's answer) is measured from the end of the one
 * before; once the relay has answered, one audit line gives them all in
 * milliseconds with the total since the start, for bench/e2e.sh and for
 * anyone who wants to know why a start is slow.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tunl.h"
#include "share.h"

static int64_t
timing_now_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
share_timing_start(struct share *s)
{
	if (!s->timing)
		return;
	s->timing_t0 = s->timing_last = timing_now_us();
	s->timing_line[0] = '\0';
}

/* The step just finished: its time since the last mark. */
void
share_timing_mark(struct share *s, const char *step)
{
	size_t	 len;
	int64_t	 now;

	if (!s->timing || s->timing_t0 == 0)
		return;
	now = timing_now_us();
	len = strlen(s->timing_line);
	(void)snprintf(s->timing_line + len, sizeof(s->timing_line) - len,
	    "%s%s=%.1f", len > 0 ? " " : "", step,
	    (double)(now - s->timing_last) / 1000.0);
	s->timing_last = now;
}

/* Once, when the relay first answers: the audit line. */
void
share_timing_done(struct share *s)
{
	char	 line[sizeof(s->timing_line) + 64];

	if (!s->timing || s->timing_t0 == 0)
		return;
	share_timing_mark(s, "connect");
	(void)snprintf(line, sizeof(line), "timing ms: %s total=%.1f",
	    s->timing_line,
	    (double)(timing_now_us() - s->timing_t0) / 1000.0);
	(void)share_audit_note(s->audit_fd, line);
	s->timing_t0 = 0;
}
