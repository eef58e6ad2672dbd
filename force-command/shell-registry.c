/*
 * shell-registry.c: tunl-shell reads and changes the registry only
 * through tunl-authority's registry verbs (authority/authority-registry.c):
 * neither relay account can open the database (docs/security.md, "The
 * accounts' powers"). The authority checks who asks and, for the customer,
 * that the login is bound to the session; the engineer's name goes on its
 * stdin.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

/* What the engineer's verbs send on the authority's stdin. */
static void
shell_reg_input(const struct shell *sh, char *input, size_t len)
{
	if (sh->role == SHELL_ENGINEER)
		(void)snprintf(input, len, "engineer=%s\n", sh->who);
	else
		input[0] = '\0';
}

/*
 * Run tunl-authority verb [arg] with input (NULL: the engineer's name, or
 * nothing for the customer); its answer into out (NULL: straight to our
 * stdout). Returns its exit status, -1 if it could not run; why: its
 * reason, if it gave one.
 */
int
shell_reg_run(struct shell *sh, const char *verb, const char *arg,
    const char *input, struct buf *out, char *why, size_t whylen)
{
	const char	*argv[] = { "tunl-authority", verb, arg, NULL };
	char		 in[SHELL_ENGINEER_MAX + 16];

	if (input == NULL) {
		shell_reg_input(sh, in, sizeof(in));
		input = in;
	}
	return shell_run_authority(sh, argv, input, out, why, whylen);
}

/*
 * A change with no answer (restrict, host, reap): whatever the authority
 * writes is dropped, never mixed into our stdout (the protocol, in
 * produce and join).
 */
int
shell_reg_quiet(struct shell *sh, const char *verb, const char *arg,
    const char *input)
{
	struct buf	*out;
	char		 why[256];
	int		 rc;

	if ((out = buf_new(SHELL_CHILD_OUT_MAX)) == NULL)
		return -1;
	rc = shell_reg_run(sh, verb, arg, input, out, why, sizeof(why));
	buf_free(out);
	return rc;
}

/*
 * An engineer's report or change (list, show, kill, unlock): the
 * authority writes its answer to the engineer; a refusal is ours.
 */
void
shell_reg_report(struct shell *sh, const char *verb, const char *arg)
{
	char	 why[256];
	int	 rc;

	rc = shell_reg_run(sh, verb, arg, NULL, NULL, why, sizeof(why));
	if (rc == 0)
		return;
	info("engineer %s: %s: tunl-authority exited %d", sh->who, verb, rc);
	if (why[0] != '\0')
		shell_refuse(SHELL_EXIT_REFUSED, "%s", why);
	shell_refuse(SHELL_EXIT_REFUSED, "the session registry is not "
	    "available; ask the relay operator");
}

/*
 * A session's state, mode and expiry (the other fields of s are zero).
 * TUNL_ERR_NOT_FOUND: no such session (or, for the customer, not its
 * own); TUNL_ERR_DB: the answer could not be had.
 */
int
shell_reg_session(struct shell *sh, const char *id, struct session *s)
{
	struct buf	*out;
	char		*text = NULL, *line, *next, *v, why[256];
	long long	 n;
	int		 rc, got = 0, r = TUNL_ERR_DB;

	memset(s, 0, sizeof(*s));
	if ((out = buf_new(SHELL_CHILD_OUT_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	rc = shell_reg_run(sh, "session", id, NULL, out, why, sizeof(why));
	if (rc == 3) {
		r = TUNL_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != 0) {
		error("session %s: tunl-authority session exited %d", id, rc);
		goto out;
	}
	if ((text = buf_dup_string(out)) == NULL)
		goto out;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, '=')) == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(line, "state") == 0 && !(got & 1) &&
		    session_state_parse(v, &s->state) == 0)
			got |= 1;
		else if (strcmp(line, "mode") == 0 && !(got & 2) &&
		    session_mode_parse(v, &s->mode) == 0)
			got |= 2;
		else if (strcmp(line, "expires") == 0 && !(got & 4) &&
		    tunl_strtonum(v, 0, INT64_MAX, &n) == 0) {
			s->expires = n;
			got |= 4;
		} else
			goto bad;
	}
	if (got != 7)
		goto bad;
	tunl_strlcpy(s->id, id, sizeof(s->id));
	r = 0;
	goto out;
 bad:
	error("session %s: tunl-authority's answer does not parse", id);
 out:
	free(text);
	buf_free(out);
	return r;
}
