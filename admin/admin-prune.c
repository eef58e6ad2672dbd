/*
 * admin-prune.c: tunl-admin prune, retention of recordings and the
 * registry's history.
 *
 * Recordings (<id>.cast, <id>-N.cast in recording_dir) whose last write
 * is older than recording_retention days go, unless their session is
 * still pending, active or locked. Events older than event_retention
 * days go when they name no session, or their session is gone or ended
 * that long ago too; then the sessions that ended that long ago, with
 * their tokens. The registry's deletes run in batches, each a short
 * transaction of its own, so logins and brokers never wait long. 0 days
 * keeps everything of that kind. Run daily by tunl-prune.timer.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

#define PRUNE_BATCH		500	/* registry rows a transaction */
#define PRUNE_DAY		86400
#define PRUNE_SUFFIX		".cast"
#define PRUNE_COPY_DIGITS	3	/* <id>-2.cast ... <id>-100.cast */

struct prune_tally {
	u_int			 recordings;
	unsigned long long	 bytes;
	u_int			 kept_live;
	int64_t			 events;
	int64_t			 sessions;
};

/*
 * The session id a recording's file name names: "<id>.cast" or
 * "<id>-N.cast" (the broker's names, broker-record.c). 0, or -1 for a
 * file that is not one of ours.
 */
static int
prune_recording_id(const char *name, char sid[ID_LEN_MAX])
{
	size_t		 len, slen = sizeof(PRUNE_SUFFIX) - 1, i;
	const char	*dash;

	len = strlen(name);
	if (len <= slen || len - slen >= ID_LEN_MAX ||
	    strcmp(name + len - slen, PRUNE_SUFFIX) != 0)
		return -1;
	len -= slen;
	memcpy(sid, name, len);
	sid[len] = '\0';
	if (id_check(sid) == 0)
		return 0;
	if ((dash = strrchr(sid, '-')) == NULL)
		return -1;
	len = strlen(dash + 1);
	if (len == 0 || len > PRUNE_COPY_DIGITS)
		return -1;
	for (i = 0; i < len; i++)
		if (dash[1 + i] < '0' || dash[1 + i] > '9')
			return -1;
	sid[dash - sid] = '\0';
	return id_check(sid) == 0 ? 0 : -1;
}

/* Whether the session may still write its recording. */
static int
prune_session_live(struct registry *reg, const char *sid, int *live)
{
	struct session	 s;
	int		 r;

	*live = 0;
	r = registry_session_get(reg, sid, &s);
	if (r == TUNL_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	*live = s.state != SESSION_ENDED;
	return 0;
}

static int
prune_recordings(const struct tunl_cfg *cfg, struct registry *reg,
    int64_t before, struct prune_tally *t)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dp = NULL;
	char		 sid[ID_LEN_MAX];
	int		 dfd, live, r = 0;

	if ((dfd = open(cfg->recording_dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		fprintf(stderr, "tunl-admin: prune: %s: %s\n",
		    cfg->recording_dir, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		fprintf(stderr, "tunl-admin: prune: %s: %s\n",
		    cfg->recording_dir, strerror(errno));
		close(dfd);
		return TUNL_ERR_SYSTEM;
	}
	while ((de = readdir(dp)) != NULL) {
		if (prune_recording_id(de->d_name, sid) != 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode) || (int64_t)sb.st_mtime >= before)
			continue;
		if ((r = prune_session_live(reg, sid, &live)) != 0) {
			fprintf(stderr, "tunl-admin: prune: the registry: "
			    "%s\n", registry_errmsg(reg));
			break;
		}
		if (live) {
			t->kept_live++;
			continue;
		}
		if (unlinkat(dfd, de->d_name, 0) == -1) {
			fprintf(stderr, "tunl-admin: prune: %s/%s: %s\n",
			    cfg->recording_dir, de->d_name, strerror(errno));
			r = TUNL_ERR_SYSTEM;
			continue;
		}
		t->recordings++;
		t->bytes += (unsigned long long)sb.st_blocks * 512;
	}
	closedir(dp);
	return r;
}

/* Call fn with batches until one deletes fewer than a batch. */
static int
prune_rows(struct registry *reg, int (*fn)(struct registry *, int64_t,
    u_int), int64_t before, int64_t *total)
{
	int	 n;

	do {
		if ((n = fn(reg, before, PRUNE_BATCH)) < 0) {
			fprintf(stderr, "tunl-admin: prune: the registry: %s\n",
			    registry_errmsg(reg));
			return n;
		}
		*total += n;
	} while (n == PRUNE_BATCH);
	return 0;
}

int
admin_prune(const struct tunl_cfg *cfg)
{
	struct prune_tally	 t;
	struct registry		*reg = NULL;
	char			 detail[EVENT_DETAIL_LEN];
	int64_t			 now = (int64_t)time(NULL);
	int			 r, failed = 0;

	memset(&t, 0, sizeof(t));
	if (geteuid() != 0) {
		fprintf(stderr, "tunl-admin: prune must run as root\n");
		return 1;
	}
	if ((r = registry_open(cfg->database, 0, &reg)) != 0) {
		fprintf(stderr, "tunl-admin: prune: %s: %s\n", cfg->database,
		    registry_errmsg(NULL));
		return 1;
	}
	if (cfg->recording_retention > 0 && prune_recordings(cfg, reg,
	    now - (int64_t)cfg->recording_retention * PRUNE_DAY, &t) != 0)
		failed = 1;
	if (cfg->event_retention > 0) {
		if (prune_rows(reg, registry_prune_events,
		    now - (int64_t)cfg->event_retention * PRUNE_DAY,
		    &t.events) != 0 ||
		    prune_rows(reg, registry_prune_sessions,
		    now - (int64_t)cfg->event_retention * PRUNE_DAY,
		    &t.sessions) != 0)
			failed = 1;
	}
	snprintf(detail, sizeof(detail), "%u recording(s), %lld event(s), "
	    "%lld ended session(s)", t.recordings, (long long)t.events,
	    (long long)t.sessions);
	/* The log says what went, unless nothing did. */
	if ((t.recordings > 0 || t.events > 0 || t.sessions > 0) &&
	    registry_event_add(reg, NULL, "tunl-admin", "pruned", NULL,
	    detail, now) != 0) {
		fprintf(stderr, "tunl-admin: prune: the registry: %s\n",
		    registry_errmsg(reg));
		failed = 1;
	}
	registry_close(reg);
	printf("tunl-admin prune: removed %s (%.1f MiB of recordings); "
	    "kept %u old recording(s) of live sessions\n", detail,
	    (double)t.bytes / (1024.0 * 1024.0), t.kept_live);
	if (cfg->recording_retention == 0)
		printf("tunl-admin prune: recording_retention = 0: "
		    "recordings kept\n");
	if (cfg->event_retention == 0)
		printf("tunl-admin prune: event_retention = 0: events and "
		    "sessions kept\n");
	return failed;
}
