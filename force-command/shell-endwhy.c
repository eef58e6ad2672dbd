/*
 * shell-endwhy.c: who ended a session and why, in words for the
 * customer, from the registry's last "ended" or "locked" event. The
 * broker's end notice says only what it read ("session ended"), and a
 * broker that died says nothing: the customer is owed "ended by
 * engineer alice (kill)" (issue 11 item 8).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

struct endwhy {
	struct registry_event	 ev;
	int			 found;
};

static int
endwhy_event(const struct registry_event *e, void *arg)
{
	struct endwhy	*w = arg;

	if (strcmp(e->action, "ended") == 0 ||
	    strcmp(e->action, "locked") == 0) {
		w->ev = *e;
		w->found = 1;
	}
	return 0;
}

/*
 * Put in out (PROTO_TEXT_MAX + 1 bytes or less) who ended session id and
 * why, when someone other than the broker itself did: an engineer, the
 * relay (a broker that died) or the registry (the failure cap). Returns
 * 0 when out was written, TUNL_ERR_NOT_FOUND when the broker's own words
 * stand (it ended the session, or the customer did), another error when
 * the registry could not be read.
 */
int
shell_end_words(const struct shell *sh, const char *id, char *out,
    size_t len)
{
	struct registry	*reg = NULL;
	struct endwhy	 w;
	const char	*verb;
	int		 r;

	memset(&w, 0, sizeof(w));
	if ((r = registry_open(sh->cfg.database, 0, &reg)) != 0)
		return r;
	(void)registry_set_busy_timeout(reg, 2000);
	if ((r = registry_event_list(reg, id, endwhy_event, &w)) != 0)
		goto out;
	r = TUNL_ERR_NOT_FOUND;
	if (!w.found || strcmp(w.ev.actor, "broker") == 0 ||
	    strcmp(w.ev.actor, "customer") == 0)
		goto out;
	verb = strcmp(w.ev.action, "locked") == 0 ? "locked" : "ended";
	if (strcmp(w.ev.actor, "relay") == 0)
		(void)snprintf(out, len, "tunl: session ended: the relay's "
		    "broker stopped");
	else if (strcmp(w.ev.actor, "registry") == 0)
		(void)snprintf(out, len, "tunl: session %s by the relay%s%s",
		    verb, w.ev.detail[0] != '\0' ? ": " : "", w.ev.detail);
	else
		(void)snprintf(out, len, "tunl: session %s by engineer %s%s%s%s",
		    verb, w.ev.actor, w.ev.detail[0] != '\0' ? " (" : "",
		    w.ev.detail, w.ev.detail[0] != '\0' ? ")" : "");
	r = 0;
 out:
	registry_close(reg);
	return r;
}
