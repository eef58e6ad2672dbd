/*
 * ratelog.h: at most a few log lines a window for one kind of fault from
 * one peer, and a summary of the rest (lib/ratelog.c).
 */
#ifndef TUNL_RATELOG_H
#define TUNL_RATELOG_H

#include <sys/types.h>

#include <stdint.h>

#define RATELOG_BURST		5	/* lines logged in a window */
#define RATELOG_WINDOW_MS	10000

struct ratelog {
	int64_t		 window_ms;	/* the current window's start */
	u_int		 logged;	/* lines logged in it */
	u_int64_t	 held;		/* not logged, not yet summarised */
};

int	 ratelog_allow(struct ratelog *, int64_t, const char *, const char *);
void	 ratelog_tick(struct ratelog *, int64_t, const char *, const char *);
void	 ratelog_flush(struct ratelog *, const char *, const char *);

#endif /* TUNL_RATELOG_H */
