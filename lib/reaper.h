/*
 * reaper.h: what is left of a session's broker on disk, and the three
 * things done with it (docs/registry.md, "Brokers that are gone").
 *
 *	spool.c		registry writes a broker could not make, kept in
 *			<runtime_dir>/sessions/<id>.spool until replayed
 *	reaper.c	rows whose broker is gone ended, stale files removed
 *	notify.c	a broker told that its session's row changed
 */
#ifndef TUNL_REAPER_H
#define TUNL_REAPER_H

#include <stdint.h>

#include "tunl.h"

#define SPOOL_MAGIC		"tunlsp01"
#define SPOOL_MAX_RECORDS	4096	/* a file larger is cut there */
#define SPOOL_LOCK_WAIT_MS	5000	/* for the spool's own lock */

enum spool_op {
	SPOOL_EVENT = 1,
	SPOOL_STATE = 2
};

/* One pending write, as written to the file (fixed size, host order). */
struct spool_rec {
	char		 magic[8];
	int32_t		 op;		/* enum spool_op */
	int32_t		 state;		/* SPOOL_STATE: the new state */
	int64_t		 at;		/* when it happened */
	int32_t		 has_detail;
	char		 actor[EVENT_ACTOR_LEN];
	char		 action[EVENT_ACTION_LEN];	/* SPOOL_EVENT */
	char		 detail[EVENT_DETAIL_LEN];
};

int	 spool_path(const char *, const char *, const char *, char *, size_t);
int	 spool_append(const char *, const char *, const struct spool_rec *);
int	 spool_check(const struct spool_rec *);
int	 spool_replay(struct registry *, const char *, const char *, u_int *);

struct reap_result {
	u_int	 ended;		/* rows ended: broker-died */
	u_int	 replayed;	/* spooled writes made */
	u_int	 files;		/* stale sockets, locks, spools removed */
	u_int	 busy;		/* left for later: the registry was locked */
};

#define REAP_FILES	0x01	/* stale sockets and locks too, not only spools */

int	 reap_sessions(struct registry *, const char *, const char *, int,
	     int64_t, struct reap_result *);
int	 reap_session(struct registry *, const char *, const char *,
	     int64_t, struct reap_result *);

#define NOTIFY_WAIT_MS		2000

int	 broker_notify(const char *, const char *);

#endif /* TUNL_REAPER_H */
