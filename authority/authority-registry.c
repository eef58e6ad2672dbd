/*
 * authority-registry.c: every registry read and write the relay accounts
 * make, since none of them can open the database (docs/security.md, "The
 * accounts' powers"). The database and its directory belong to the broker
 * account and the key group; tunl-shell (as the customer or the engineer
 * account) and tunl-principals (as principals_user) ask this program,
 * which checks who calls and for which session:
 *
 *	session <id>	state, mode, expiry		customer*, engineer
 *	ended <id>	who ended it, in words		customer*, engineer
 *	reap <id>	its broker died: end it		customer*, engineer
 *	restrict <id>	watch and chat only, for good	customer*
 *	host <id>	the customer's host name (stdin)	customer*
 *	list [--json]	sessions not ended		engineer
 *	show <id>	details and events		engineer
 *	kill <id>	end it				engineer
 *	unlock <id>	lift a lock			engineer
 *	live <id>	may its certificate log in	principals_user
 *	listen <id>	its tunnel port, if it may listen	principals_user
 *
 * customer*: only for the session the caller's login is bound to, proved
 * by the login key as for admit (authority_binding). For the engineer,
 * the caller proves its login key too and the name in the log and the
 * events is the one pam_tunl recorded for that login (authority-
 * engineer.c); an "engineer=<name>" line on stdin, if sent, must be the
 * same name.
 *
 * Exit 0: done (answer on stdout); 1: refused (one line on stderr); 3:
 * no such session, or (ended) nobody but the broker or the customer ended
 * it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"
#include "reaper.h"

#define REG_NOT_FOUND	3

struct reg_verb {
	const char	*name;
	int		 customer;	/* only its own session */
	int		 engineer;
	int		 principals;
};

static const struct reg_verb reg_verbs[] = {
	{ "session",	1, 1, 0 },
	{ "ended",	1, 1, 0 },
	{ "reap",	1, 1, 0 },
	{ "restrict",	1, 0, 0 },
	{ "host",	1, 0, 0 },
	{ "list",	0, 1, 0 },
	{ "show",	0, 1, 0 },
	{ "kill",	0, 1, 0 },
	{ "unlock",	0, 1, 0 },
	{ "live",	0, 0, 1 },
	{ "listen",	0, 0, 1 },
};

const char *
authority_registry_verb(const char *name)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(reg_verbs); i++)
		if (strcmp(reg_verbs[i].name, name) == 0)
			return reg_verbs[i].name;
	return NULL;
}

/*
 * "engineer=<name>" (len bytes, an optional final newline, no NUL): the
 * name, as for mint, into who. Fuzzed (fuzz-authority.c).
 */
int
authority_registry_engineer_parse(const char *line, size_t len, char *who,
    size_t wholen)
{
	int	 r;

	if ((r = authority_line_check(line, &len, AUTH_REQUEST_MAX)) != 0)
		return r;
	if (len < 9 || memcmp(line, "engineer=", 9) != 0)
		return TUNL_ERR_INVALID;
	return authority_value(AUTH_CHARS_NAME, line + 9, len - 9, 0, who,
	    wholen);
}

/*
 * One host name (tunl_host_ok), an optional final newline. Fuzzed
 * (fuzz-authority.c).
 */
int
authority_registry_host_parse(const char *line, size_t len, char *host,
    size_t hostlen)
{
	int	 r;

	if ((r = authority_line_check(line, &len, SESSION_HOST_LEN - 1)) != 0)
		return r;
	if (len == 0 || len >= hostlen)
		return TUNL_ERR_INVALID;
	memcpy(host, line, len);
	host[len] = '\0';
	if (!tunl_host_ok(host)) {
		host[0] = '\0';
		return TUNL_ERR_INVALID;
	}
	return 0;
}

/*
 * The name tunl-shell sent on stdin, if any ("" for none): only compared
 * with the login's (authority_engineer), never recorded.
 */
static int
reg_engineer(char *who, size_t wholen)
{
	char	 line[AUTH_REQUEST_MAX + 2];
	size_t	 len;
	int	 r;

	who[0] = '\0';
	if ((r = authority_read_stdin(line, sizeof(line), &len)) != 0)
		return r;
	if (len == 0)
		return 0;
	return authority_registry_engineer_parse(line, len, who, wholen);
}

static int
reg_host(char *host, size_t hostlen)
{
	char	 line[SESSION_HOST_LEN + 2];
	size_t	 len;
	int	 r;

	if ((r = authority_read_stdin(line, sizeof(line), &len)) != 0)
		return r;
	return authority_registry_host_parse(line, len, host, hostlen);
}

/* Get sid or say there is none (exit REG_NOT_FOUND) / it cannot be read. */
static int
reg_get(struct registry *reg, const char *sid, struct session *s)
{
	int	 r;

	if ((r = registry_session_get(reg, sid, s)) == TUNL_ERR_NOT_FOUND) {
		authority_fail("no session %s", sid);
		return REG_NOT_FOUND;
	}
	if (r != 0) {
		error("get %s: %s: %s", sid, tunl_err(r), registry_errmsg(reg));
		authority_fail("cannot read session %s", sid);
		return 1;
	}
	return 0;
}

struct reg_endwhy {
	struct registry_event	 ev;
	int			 found;
};

static int
reg_endwhy_event(const struct registry_event *e, void *arg)
{
	struct reg_endwhy	*w = arg;

	if (strcmp(e->action, "ended") == 0 ||
	    strcmp(e->action, "locked") == 0) {
		w->ev = *e;
		w->found = 1;
	}
	return 0;
}

/*
 * Who ended sid and why, in words for the customer, when someone other
 * than the broker itself or the customer did: an engineer, the relay (a
 * broker that died) or the registry (the failure cap).
 */
static int
reg_ended(struct registry *reg, const char *sid)
{
	struct reg_endwhy	 w;
	char			 out[EVENT_ACTOR_LEN + EVENT_DETAIL_LEN + 64];
	const char		*verb;
	int			 r;

	memset(&w, 0, sizeof(w));
	if ((r = registry_event_list(reg, sid, reg_endwhy_event, &w)) != 0) {
		error("events %s: %s", sid, registry_errmsg(reg));
		authority_fail("cannot read the events of %s", sid);
		return 1;
	}
	if (!w.found || strcmp(w.ev.actor, "broker") == 0 ||
	    strcmp(w.ev.actor, "customer") == 0)
		return REG_NOT_FOUND;
	verb = strcmp(w.ev.action, "locked") == 0 ? "locked" : "ended";
	if (strcmp(w.ev.actor, "relay") == 0)
		(void)snprintf(out, sizeof(out), "tunl: session ended: the "
		    "relay's broker stopped");
	else if (strcmp(w.ev.actor, "registry") == 0)
		(void)snprintf(out, sizeof(out), "tunl: session %s by the "
		    "relay%s%s", verb, w.ev.detail[0] != '\0' ? ": " : "",
		    w.ev.detail);
	else
		(void)snprintf(out, sizeof(out), "tunl: session %s by engineer "
		    "%s%s%s%s", verb, w.ev.actor, w.ev.detail[0] != '\0' ?
		    " (" : "", w.ev.detail, w.ev.detail[0] != '\0' ? ")" : "");
	/* Cut as the protocol's text is: PROTO_TEXT_MAX bytes. */
	out[PROTO_TEXT_MAX < sizeof(out) ? PROTO_TEXT_MAX : sizeof(out) - 1] =
	    '\0';
	printf("%s\n", out);
	return 0;
}

static int
reg_was_active(const struct registry_event *e, void *arg)
{
	if (strcmp(e->action, "activated") == 0)
		*(int *)arg = 1;
	return 0;
}

static int
reg_unlock(struct authority *a, struct registry *reg, const char *sid,
    const char *who)
{
	struct session		 s;
	enum session_state	 to;
	int			 active = 0, r;

	if ((r = reg_get(reg, sid, &s)) != 0)
		return r;
	if (s.state != SESSION_LOCKED) {
		authority_fail("session %s is not locked (it is %s)", sid,
		    session_state_name(s.state));
		return 1;
	}
	/* Back to the state it had: active once a producer connected. */
	if ((r = registry_event_list(reg, sid, reg_was_active,
	    &active)) != 0) {
		error("events %s: %s", sid, tunl_err(r));
		authority_fail("cannot unlock %s", sid);
		return 1;
	}
	to = active ? SESSION_ACTIVE : SESSION_PENDING;
	if ((r = registry_session_set_state(reg, sid, to, who, "unlock",
	    a->now)) != 0) {
		error("unlock %s: %s: %s", sid, tunl_err(r),
		    registry_errmsg(reg));
		authority_fail("cannot unlock %s", sid);
		return 1;
	}
	info("engineer %s: unlock %s (now %s)", who, sid,
	    session_state_name(to));
	printf("session %s unlocked (%s)\n", sid, session_state_name(to));
	return 0;
}

static int
reg_kill(struct authority *a, struct registry *reg, const char *sid,
    const char *who)
{
	struct session	 s;
	int		 r;

	if ((r = reg_get(reg, sid, &s)) != 0)
		return r;
	if (s.state == SESSION_ENDED) {
		authority_fail("session %s has already ended", sid);
		return 1;
	}
	if ((r = registry_session_set_state(reg, sid, SESSION_ENDED, who,
	    "kill", a->now)) != 0) {
		error("kill %s: %s: %s", sid, tunl_err(r),
		    registry_errmsg(reg));
		authority_fail("cannot end session %s", sid);
		return 1;
	}
	info("engineer %s: kill %s", who, sid);
	printf("session %s ended\n", sid);
	return 0;
}

/* Sessions whose broker is gone are ended first (lib/reaper.c). */
static void
reg_reap_all(struct authority *a, struct registry *reg)
{
	struct reap_result	 res;
	int			 r;

	if ((r = reap_sessions(reg, a->cfg.runtime_dir, NULL, REAP_FILES,
	    a->now, &res)) != 0)
		error("reaper: %s: %s", tunl_err(r), registry_errmsg(reg));
	if (res.ended > 0)
		info("reaper: %u sessions whose broker was gone ended",
		    res.ended);
}

static int
reg_reap_one(struct authority *a, struct registry *reg, const char *sid,
    const char *who)
{
	struct reap_result	 res;
	int			 r;

	if ((r = reap_session(reg, a->cfg.runtime_dir, sid, a->now,
	    &res)) != 0) {
		error("session %s: reaper: %s: %s", sid, tunl_err(r),
		    registry_errmsg(reg));
		authority_fail("cannot end session %s", sid);
		return 1;
	}
	if (res.ended > 0)
		info("session %s: the broker died (noticed by %s); session "
		    "ended", sid, who);
	return 0;
}

/*
 * Why session sid may not log in now, as one word for tunl-principals,
 * or NULL when it is live (pending or active, unexpired); *s is its row.
 */
static const char *
reg_why_not_live(struct authority *a, struct registry *reg, const char *sid,
    struct session *s)
{
	int	 r;

	r = registry_session_get(reg, sid, s);
	if (r == TUNL_ERR_NOT_FOUND)
		return "unknown-session";
	if (r != 0) {
		error_r(r, "registry: %s", registry_errmsg(reg));
		return "registry-error";
	}
	if (s->state == SESSION_LOCKED)
		return "locked";
	if (s->state != SESSION_PENDING && s->state != SESSION_ACTIVE)
		return "ended";
	if (s->expires <= a->now)
		return "expired";
	return NULL;
}

/* live: one word for tunl-principals, "live" or why not. */
static int
reg_live(struct authority *a, struct registry *reg, const char *sid)
{
	struct session	 s;
	const char	*why;

	if ((why = reg_why_not_live(a, reg, sid, &s)) == NULL)
		why = "live";
	printf("%s\n", why);
	return 0;
}

/*
 * listen: for a login as tunnel_user, "port <n>" when the session is
 * live, not restricted and holds a tunnel port, else one word saying why
 * not (as live, or "restricted", "no-port").
 */
static int
reg_listen(struct authority *a, struct registry *reg, const char *sid)
{
	struct session	 s;
	const char	*why;
	u_int		 port = 0;
	int		 r;

	why = reg_why_not_live(a, reg, sid, &s);
	if (why == NULL && s.mode == SESSION_RESTRICTED)
		why = "restricted";
	else if (why == NULL && a->cfg.tunnel_port_min == 0)
		why = "no-port";
	else if (why == NULL) {
		r = registry_tunnel_port(reg, sid, &port);
		if (r == TUNL_ERR_NOT_FOUND)
			why = "no-port";
		else if (r != 0) {
			error("registry: %s: %s", tunl_err(r),
			    registry_errmsg(reg));
			why = "registry-error";
		} else if (port < a->cfg.tunnel_port_min ||
		    port > a->cfg.tunnel_port_max)
			why = "no-port";	/* the range changed since */
	}
	if (why != NULL)
		printf("%s\n", why);
	else
		printf("port %u\n", port);
	return 0;
}

static int
reg_session(struct registry *reg, const char *sid)
{
	struct session	 s;
	int		 r;

	if ((r = reg_get(reg, sid, &s)) != 0)
		return r;
	printf("state=%s\nmode=%s\nexpires=%lld\n",
	    session_state_name(s.state), session_mode_name(s.mode),
	    (long long)s.expires);
	return 0;
}

/* Who may run verb on sid; for the customer, its login must be for sid. */
static int
reg_allowed(struct authority *a, const struct reg_verb *v, const char *sid,
    char *who, size_t wholen)
{
	struct login_info	 li;
	int			 r;

	switch (a->role) {
	case AUTH_ROLE_CUSTOMER:
		if (!v->customer)
			break;
		memset(&li, 0, sizeof(li));
		r = authority_binding(a, sid, &li);
		sodium_memzero(a->login_key, sizeof(a->login_key));
		sodium_memzero(&li, sizeof(li));
		if (r != 0) {
			error_r(r, "%s %s refused: no login key of this "
			    "connection for that session", v->name, sid);
			authority_fail("not authorised for that session");
			return -1;
		}
		tunl_strlcpy(who, "customer", wholen);
		return 0;
	case AUTH_ROLE_ENGINEER:
		if (!v->engineer)
			break;
		if (reg_engineer(who, wholen) != 0) {
			authority_fail("%s: standard input holds nothing or "
			    "one line \"engineer=<name>\"", v->name);
			return -1;
		}
		return authority_engineer(a, v->name, who, who, wholen);
	case AUTH_ROLE_PRINCIPALS:
		if (!v->principals)
			break;
		tunl_strlcpy(who, "principals", wholen);
		return 0;
	default:
		break;
	}
	error("%s refused: uid %lu may not", v->name, (u_long)a->uid);
	authority_fail("%s is not for this account", v->name);
	return -1;
}

/*
 * Run the registry verb name with its argument arg (a session id; for
 * list, NULL or "--json").
 */
int
authority_registry(struct authority *a, const char *name, const char *arg)
{
	const struct reg_verb	*v = NULL;
	struct registry		*reg = NULL;
	struct session		 s;
	char			 who[AUTH_ENGINEER_MAX + 1], esc[ID_LEN_MAX * 4];
	char			 host[SESSION_HOST_LEN];
	const char		*sid = arg;
	size_t			 i;
	u_int			 n;
	int			 json = 0, status = 1, r;

	for (i = 0; i < TUNL_NITEMS(reg_verbs); i++)
		if (strcmp(reg_verbs[i].name, name) == 0)
			v = &reg_verbs[i];
	if (v == NULL)
		return 2;
	if (strcmp(name, "list") == 0) {
		if (arg != NULL && strcmp(arg, "--json") != 0)
			return 2;
		json = arg != NULL;
		sid = NULL;
	} else if (arg == NULL)
		return 2;
	else if (id_check(arg) != 0) {
		(void)log_escape(esc, sizeof(esc), arg,
		    strnlen(arg, ID_LEN_MAX));
		error("%s refused: bad session id \"%s\"", name, esc);
		authority_fail("not authorised for that session");
		return 1;
	}
	if (reg_allowed(a, v, sid, who, sizeof(who)) != 0)
		return 1;
	if (strcmp(name, "host") == 0 && reg_host(host, sizeof(host)) != 0) {
		authority_fail("host: send one host name on standard input");
		return 1;
	}
	if (authority_open_registry(a, &reg) != 0)
		return 1;

	if (a->role == AUTH_ROLE_ENGINEER && strcmp(name, "session") != 0 &&
	    strcmp(name, "ended") != 0 && strcmp(name, "reap") != 0 &&
	    (r = registry_session_expire(reg, a->now)) < 0)
		error("expire: %s: %s", tunl_err(r), registry_errmsg(reg));

	if (strcmp(name, "session") == 0)
		status = reg_session(reg, sid);
	else if (strcmp(name, "ended") == 0)
		status = reg_ended(reg, sid);
	else if (strcmp(name, "reap") == 0)
		status = reg_reap_one(a, reg, sid, who);
	else if (strcmp(name, "live") == 0)
		status = reg_live(a, reg, sid);
	else if (strcmp(name, "listen") == 0)
		status = reg_listen(a, reg, sid);
	else if (strcmp(name, "restrict") == 0) {
		if ((r = registry_session_restrict(reg, sid, "customer",
		    a->now)) != 0) {
			error("session %s: cannot make it restricted: %s: %s",
			    sid, tunl_err(r), registry_errmsg(reg));
			authority_fail("the relay could not make the session "
			    "restricted; not sharing");
		} else {
			info("session %s: restricted by the customer", sid);
			status = 0;
		}
	} else if (strcmp(name, "host") == 0) {
		if ((r = registry_session_set_host(reg, sid, host)) != 0) {
			error("session %s: cannot record the host: %s: %s",
			    sid, tunl_err(r), registry_errmsg(reg));
			authority_fail("the relay could not record the host");
		} else
			status = 0;
	} else if (strcmp(name, "list") == 0) {
		reg_reap_all(a, reg);
		if ((r = authority_report_list(reg, json, a->now, &n)) != 0) {
			error("list: %s: %s", tunl_err(r),
			    registry_errmsg(reg));
			fflush(stdout);
			authority_fail("cannot list sessions");
		} else {
			info("engineer %s: list (%u sessions)", who, n);
			status = 0;
		}
	} else if (strcmp(name, "show") == 0) {
		if ((status = reg_get(reg, sid, &s)) == 0) {
			if ((r = authority_report_show(reg, &s, a->now)) != 0) {
				error("events %s: %s: %s", sid, tunl_err(r),
				    registry_errmsg(reg));
				fflush(stdout);
				authority_fail("cannot read the events of %s",
				    sid);
				status = 1;
			} else
				info("engineer %s: show %s", who, sid);
		}
	} else if (strcmp(name, "kill") == 0)
		status = reg_kill(a, reg, sid, who);
	else if (strcmp(name, "unlock") == 0)
		status = reg_unlock(a, reg, sid, who);
	registry_close(reg);
	if (fflush(stdout) != 0 && status == 0)
		status = 1;
	return status;
}
