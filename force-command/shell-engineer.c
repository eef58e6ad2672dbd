/*
 * shell-engineer.c: the engineer account's verbs. Who the engineer is
 * comes first (shell-identity.c) and is recorded with every event.
 * Creating a session needs the token key, which this program never
 * holds, so `new` asks tunl-authority (docs/auth-design.md); so do the
 * other verbs, because the engineer account cannot open the registry
 * (shell-registry.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"
#include "reaper.h"

static void
shell_time(int64_t t, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

static void
shell_engineer_help(void)
{
	printf("tunl relay commands for support engineers:\n"
	    "  new [--case C] [--customer NAME] [--ttl MIN] [--restricted] "
	    "[--json]\n"
	    "                   create a session; prints its id, token and "
	    "the line for the customer\n"
	    "  list [--json]    sessions that have not ended\n"
	    "  show ID          a session's details and event log\n"
	    "  kill ID          end a session\n"
	    "  unlock ID        unlock a session locked by failed logins\n"
	    "  token ID         a new one-time token for a live session (its "
	    "certificate\n"
	    "                   expired, or its first token did); older "
	    "unused ones stop working\n"
	    "  join ID [--read-only]\n"
	    "                   watch the customer's terminal live (needs "
	    "ssh -t); consume is the\n"
	    "                   same; " JOIN_DETACH_NAME " detaches, Ctrl-] "
	    "Ctrl-] sends Ctrl-]\n"
	    "  replay ID [--speed X]\n"
	    "                   play the recording (X from 0.25 to 16; "
	    "pauses cut to 2 s)\n"
	    "  cast ID          the recording as asciicast v2 on stdout\n"
	    "  get tunl-share   the static tunl-share customers may get "
	    "(> file);\n"
	    "                   get tunl-share.sha256 prints its SHA-256\n"
	    "  help             this text\n"
	    "Not yet available here: tunnel.\n"
	    "C and NAME: letters, digits, '.', '_' and '-', at most 64.\n");
}

/* Parse tunl-authority mint's output: id=, token=, expires= lines. */
static int
shell_mint_output(struct shell *sh, struct buf *out, char *id, char *token,
    int64_t *expires)
{
	char		*text, *line, *next, *v;
	long long	 n;
	int		 got = 0, r = TUNL_ERR_INVALID;

	if ((text = buf_dup_string(out)) == NULL)
		return TUNL_ERR_INVALID;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			goto out;
		*v++ = '\0';
		if (strcmp(line, "id") == 0 && !(got & 1)) {
			if (id_check(v) != 0)
				goto out;
			tunl_strlcpy(id, v, ID_LEN_MAX);
			got |= 1;
		} else if (strcmp(line, "token") == 0 && !(got & 2)) {
			if (strcmp(v, "-") != 0 &&
			    token_check(v, sh->cfg.token_length) != 0)
				goto out;
			tunl_strlcpy(token, v, TOKEN_LEN_MAX);
			got |= 2;
		} else if (strcmp(line, "expires") == 0 && !(got & 4)) {
			if (tunl_strtonum(v, 1, INT64_MAX, &n) != 0)
				goto out;
			*expires = n;
			got |= 4;
		} else
			goto out;
	}
	if (got == 7)
		r = 0;
 out:
	tunl_memzero(text, strlen(text));
	free(text);
	return r;
}

/*
 * Ask tunl-authority (which alone holds the token key) for a session or a
 * token: run verb with input, then read its id=, token=, expires= answer.
 * Any failure refuses the command: with the authority's own reason when
 * it gave one, else "the relay could not <what>".
 */
static void
shell_authority_answer(struct shell *sh, const char *verb, const char *input,
    const char *what, char *id, char *token, int64_t *expires)
{
	const char	*argv[] = { "tunl-authority", verb, NULL };
	char		 why[256];
	struct buf	*out;
	int		 rc;

	if ((out = buf_new(SHELL_CHILD_OUT_MAX)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	rc = shell_run_authority(sh, argv, input, out, why, sizeof(why));
	if (rc != 0) {
		buf_free(out);
		info("engineer %s: %s: tunl-authority exited %d", sh->who,
		    verb, rc);
		if (why[0] != '\0')
			shell_refuse(SHELL_EXIT_REFUSED, "%s", why);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay could not %s",
		    what);
	}
	rc = shell_mint_output(sh, out, id, token, expires);
	buf_free(out);
	if (rc != 0) {
		error("engineer %s: %s: tunl-authority's answer does not "
		    "parse", sh->who, verb);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay could not %s",
		    what);
	}
}

/*
 * new --json: one JSON object on one line, for scripts: the session's id,
 * its token (null when the relay asks for none), when it expires (epoch
 * seconds, and UTC in ISO 8601), and the customer's line as `new` prints
 * it, with whether a host key is in it, whether that is a host CA, and
 * the pin as a known_hosts line for the customer's own ssh (null without
 * one).
 */
static void
shell_engineer_new_json(struct shell *sh, const struct shell_cmd *cmd,
    const char *id, const char *token, int64_t expires)
{
	char		 line[RELAY_ADDR_MAX + RELAY_HOSTKEY_MAX + 256];
	char		 utc[32], pin[RELAY_PIN_MAX];
	struct tm	 tm;
	time_t		 tt = (time_t)expires;
	int		 have_key, is_ca = 0, have_pin;

	if (shell_line_format(sh, id, cmd->case_ref, cmd->restricted, line,
	    sizeof(line), &have_key) != 0)
		line[0] = '\0';
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		utc[0] = '\0';
	printf("{\"id\":");
	(void)json_string_print(stdout, id);
	printf(",\"token\":");
	if (strcmp(token, "-") != 0)
		(void)json_string_print(stdout, token);
	else
		printf("null");
	printf(",\"expires\":%lld,\"expires_utc\":", (long long)expires);
	(void)json_string_print(stdout, utc);
	printf(",\"restricted\":%s,\"line\":",
	    cmd->restricted ? "true" : "false");
	(void)json_string_print(stdout, line);
	have_pin = shell_line_pin(sh, pin, sizeof(pin), &is_ca) == 0;
	printf(",\"host_key\":%s,\"host_ca\":%s,\"pin\":",
	    have_key ? "true" : "false",
	    have_pin && is_ca ? "true" : "false");
	if (have_pin)
		(void)json_string_print(stdout, pin);
	else
		printf("null");
	printf("}\n");
}

static int
shell_engineer_new(struct shell *sh, const struct shell_cmd *cmd)
{
	char		 input[512], id[ID_LEN_MAX];
	char		 token[TOKEN_LEN_MAX], when[64];
	int64_t		 expires = 0;
	u_int		 ttl = cmd->ttl != 0 ? cmd->ttl : sh->cfg.session_ttl;

	snprintf(input, sizeof(input), "engineer=%s case=%s customer=%s "
	    "ttl=%u mode=%s\n", sh->who,
	    cmd->case_ref[0] != '\0' ? cmd->case_ref : "-",
	    cmd->customer[0] != '\0' ? cmd->customer : "-", ttl,
	    cmd->restricted ? "restricted" : "share");
	shell_authority_answer(sh, "mint", input, "create a session", id,
	    token, &expires);
	info("engineer %s: new session %s (case %s, %u min, %s)", sh->who, id,
	    cmd->case_ref[0] ? cmd->case_ref : "-", ttl,
	    cmd->restricted ? "restricted" : "share");
	if (cmd->json) {
		shell_engineer_new_json(sh, cmd, id, token, expires);
		tunl_memzero(token, sizeof(token));
		return SHELL_EXIT_OK;
	}
	shell_time(expires, when, sizeof(when));
	printf("session  %s\n", id);
	if (strcmp(token, "-") != 0)
		printf("token    %s  (one use; the customer types it when "
		    "asked)\n", token);
	printf("expires  %s (in %lld min)\n", when,
	    (long long)((expires - sh->now + 59) / 60));
	printf("\nGive the customer this line:\n\n");
	shell_line_print(sh, id, cmd->case_ref, cmd->restricted);
	printf("\n");
	if (strcmp(token, "-") != 0)
		printf("and, when it asks, the token above.\n\n");
	shell_get_hint(sh);
	tunl_memzero(token, sizeof(token));
	return SHELL_EXIT_OK;
}

/*
 * A new one-time token for a live session: the customer's certificate
 * expired and tunl-share asks for a token to sign a new one, or the
 * first token expired before it was used.
 */
/*
 * Tell the session's broker, if one runs, that its row changed: it reads
 * the row at once (docs/protocol.md, "registry-changed"). A broker that
 * does not answer is asked once more; still without an answer, the
 * engineer is told that the change takes effect at the broker's own
 * periodic read (registry_recheck), at the latest.
 */
static void
shell_tell_broker(struct shell *sh, const char *id)
{
	int	 r;

	r = broker_notify(sh->cfg.runtime_dir, id);
	if (r != 0 && r != TUNL_ERR_NOT_FOUND)
		r = broker_notify(sh->cfg.runtime_dir, id);
	if (r != 0 && r != TUNL_ERR_NOT_FOUND) {
		error("session %s: the broker was not told of the change: %s",
		    id, tunl_err(r));
		fprintf(stderr, "tunl: the session's broker did not answer; "
		    "it will find the change within %u minutes\n",
		    (sh->cfg.registry_recheck * 5 / 4 + 59) / 60);
	}
}

static int
shell_engineer_token(struct shell *sh, const struct shell_cmd *cmd)
{
	char		 input[128 + ID_LEN_MAX], id[ID_LEN_MAX];
	char		 token[TOKEN_LEN_MAX], when[64];
	int64_t		 expires = 0;

	snprintf(input, sizeof(input), "engineer=%s id=%s\n", sh->who,
	    cmd->id);
	shell_authority_answer(sh, "token", input, "issue a token", id, token,
	    &expires);
	if (strcmp(id, cmd->id) != 0 || strcmp(token, "-") == 0) {
		tunl_memzero(token, sizeof(token));
		error("engineer %s: token %s: tunl-authority answered for "
		    "another session or with no token", sh->who, cmd->id);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay could not issue "
		    "a token");
	}
	info("engineer %s: new token for session %s", sh->who, id);
	shell_tell_broker(sh, id);
	shell_time(expires, when, sizeof(when));
	printf("session  %s\n", id);
	printf("token    %s  (one use; any older unused token no longer "
	    "works)\n", token);
	printf("expires  %s (in %lld min)\n", when,
	    (long long)((expires - sh->now + 59) / 60));
	printf("\nThe customer types it when tunl-share asks for a new "
	    "token (in its chat pane),\nor when starting again:\n\n");
	shell_line_print(sh, id, NULL, 0);
	tunl_memzero(token, sizeof(token));
	return SHELL_EXIT_OK;
}

int
shell_engineer(struct shell *sh, const struct shell_cmd *cmd)
{
	shell_identity_engineer(sh);

	switch (cmd->verb) {
	case SHELL_V_JOIN:
	case SHELL_V_CONSUME:
		return shell_join(sh, cmd);
	case SHELL_V_REPLAY:
		return shell_replay(sh, cmd);
	case SHELL_V_CAST:
		return shell_cast(sh, cmd);
	case SHELL_V_TUNNEL:
		info("engineer %s from %s: tunnel %s", sh->who, sh->rhost,
		    cmd->id);
		shell_refuse(SHELL_EXIT_REFUSED, "tunnel is not available on "
		    "this relay yet");
	default:
		break;
	}

	switch (cmd->verb) {
	case SHELL_V_HELP:
		shell_engineer_help();
		return SHELL_EXIT_OK;
	case SHELL_V_NEW:
		return shell_engineer_new(sh, cmd);
	case SHELL_V_TOKEN:
		return shell_engineer_token(sh, cmd);
	case SHELL_V_GET:
		return shell_get(sh, cmd);
	default:
		break;
	}

	switch (cmd->verb) {
	case SHELL_V_LIST:
		shell_reg_report(sh, "list", cmd->json ? "--json" : NULL);
		break;
	case SHELL_V_SHOW:
		shell_reg_report(sh, "show", cmd->id);
		break;
	case SHELL_V_KILL:
	case SHELL_V_UNLOCK:
		shell_reg_report(sh, cmd->verb == SHELL_V_KILL ? "kill" :
		    "unlock", cmd->id);
		info("engineer %s: %s %s", sh->who, cmd->verb == SHELL_V_KILL ?
		    "kill" : "unlock", cmd->id);
		shell_tell_broker(sh, cmd->id);
		break;
	default:
		shell_refuse(SHELL_EXIT_USAGE, "unknown command; try help");
	}
	return SHELL_EXIT_OK;
}
