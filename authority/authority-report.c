/*
 * authority-report.c: what `list` and `show` print for an engineer. The
 * registry is out of the engineer account's reach (docs/security.md, "The
 * accounts' powers"), so tunl-authority reads it and writes these
 * reports straight to tunl-shell's standard output, the engineer's ssh
 * channel. Registry text is escaped (and "-" when empty) for a terminal,
 * or escaped for JSON and kept ASCII.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tunl.h"
#include "authority.h"

#define REPORT_TEXT_MAX	(SESSION_HOST_LEN * 4)	/* escaped text */

static const char *
report_text(const char *s, char *out, size_t outlen)
{
	if (s[0] == '\0')
		return "-";
	(void)log_escape(out, outlen, s, strlen(s));
	return out;
}

static void
report_age(int64_t secs, char *out, size_t outlen)
{
	if (secs < 0)
		secs = 0;
	if (secs < 3600)
		snprintf(out, outlen, "%lldm", (long long)(secs / 60));
	else if (secs < 86400)
		snprintf(out, outlen, "%lldh%02lldm", (long long)(secs / 3600),
		    (long long)(secs % 3600 / 60));
	else
		snprintf(out, outlen, "%lldd", (long long)(secs / 86400));
}

void
authority_time(int64_t t, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

struct report_list {
	int64_t		 now;
	int		 json;
	u_int		 n;
};

static int
report_list_one(const struct session *s, void *arg)
{
	struct report_list	*l = arg;
	char			 host[REPORT_TEXT_MAX], cref[REPORT_TEXT_MAX];
	char			 age[32];
	int64_t			 secs = l->now - s->created;

	if (l->json) {
		printf("%s\n  {\"id\": ", l->n == 0 ? "" : ",");
		(void)json_string_print(stdout, s->id);
		printf(", \"state\": \"%s\", \"mode\": \"%s\", \"host\": ",
		    session_state_name(s->state), session_mode_name(s->mode));
		(void)json_string_print(stdout, s->host);
		printf(", \"case\": ");
		(void)json_string_print(stdout, s->case_ref);
		printf(", \"customer\": ");
		(void)json_string_print(stdout, s->customer);
		printf(", \"engineer\": ");
		(void)json_string_print(stdout, s->engineer);
		printf(", \"created\": %lld, \"expires\": %lld, "
		    "\"age\": %lld, \"viewers\": %u}", (long long)s->created,
		    (long long)s->expires, (long long)(secs < 0 ? 0 : secs),
		    s->viewers);
	} else {
		report_age(secs, age, sizeof(age));
		printf("%-35s %-10s %-10s %-20s %-16s %-6s %u\n", s->id,
		    session_state_name(s->state), session_mode_name(s->mode),
		    report_text(s->host, host, sizeof(host)),
		    report_text(s->case_ref, cref, sizeof(cref)), age,
		    s->viewers);
	}
	l->n++;
	return 0;
}

/* The sessions that have not ended; *np: how many. */
int
authority_report_list(struct registry *reg, int json, int64_t now, u_int *np)
{
	struct report_list	 l = { now, json, 0 };
	int			 r;

	*np = 0;
	if (!json)
		printf("%-35s %-10s %-10s %-20s %-16s %-6s %s\n", "SESSION ID",
		    "STATE", "MODE", "HOST", "CASE", "AGE", "VIEWERS");
	else
		printf("[");
	if ((r = registry_session_list(reg, 0, report_list_one, &l)) != 0)
		return r;
	if (json)
		printf("%s]\n", l.n == 0 ? "" : "\n");
	*np = l.n;
	return 0;
}

static int
report_event(const struct registry_event *e, void *arg)
{
	char	 when[64], actor[EVENT_ACTOR_LEN * 4], src[EVENT_SOURCE_LEN * 4];
	char	 detail[EVENT_DETAIL_LEN * 4];

	(void)arg;
	authority_time(e->at, when, sizeof(when));
	printf("  %s  %-10s %-16s %s%s%s\n", when, e->action,
	    report_text(e->actor, actor, sizeof(actor)),
	    report_text(e->source, src, sizeof(src)),
	    e->detail[0] ? "  " : "",
	    e->detail[0] ? report_text(e->detail, detail, sizeof(detail)) : "");
	return 0;
}

/* One session's details and its event log. */
int
authority_report_show(struct registry *reg, const struct session *s,
    int64_t now)
{
	char	 t[REPORT_TEXT_MAX], when[64], age[32];
	u_int	 port;

	printf("session   %s\n", s->id);
	printf("state     %s\n", session_state_name(s->state));
	printf("mode      %s\n", session_mode_name(s->mode));
	printf("case      %s\n", report_text(s->case_ref, t, sizeof(t)));
	printf("customer  %s\n", report_text(s->customer, t, sizeof(t)));
	printf("host      %s\n", report_text(s->host, t, sizeof(t)));
	printf("engineer  %s\n", report_text(s->engineer, t, sizeof(t)));
	authority_time(s->created, when, sizeof(when));
	report_age(now - s->created, age, sizeof(age));
	printf("created   %s (%s ago)\n", when, age);
	authority_time(s->expires, when, sizeof(when));
	printf("expires   %s\n", when);
	if (s->state == SESSION_ENDED) {
		authority_time(s->ended, when, sizeof(when));
		printf("ended     %s\n", when);
	}
	printf("failures  %u\n", s->failures);
	printf("viewers   %u\n", s->viewers);
	/* The relay port held for the tunnel upgrade, while it is held. */
	if (s->state != SESSION_ENDED &&
	    registry_tunnel_port(reg, s->id, &port) == 0)
		printf("tunnel    port %u\n", port);
	printf("events:\n");
	return registry_event_list(reg, s->id, report_event, NULL);
}
