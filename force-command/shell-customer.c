/*
 * shell-customer.c: the customer account's verbs (status, sign, produce,
 * help), each behind the binding check of docs/auth-design.md: the
 * session is the one the hand-off names (keyboard-interactive, written by
 * pam_tunl as root) or the one the session certificate names (publickey);
 * if both, they agree; a session named in the command must be that one;
 * and it must be pending or active. Anything else is one line, "tunl: not
 * authorised for that session".
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"

#define NOT_AUTHORISED	"not authorised for that session"

static void __attribute__((noreturn))
shell_customer_deny(const char *why)
{
	info("customer binding refused: %s", why);
	shell_refuse(SHELL_EXIT_REFUSED, NOT_AUTHORISED);
}

/* The session a certificate login is for, from the certificate. */
static int
shell_customer_cert(struct shell *sh, char *id, size_t idlen)
{
	struct sshcert	 cert;
	char		 principal[sizeof("tunl-") + SSHCERT_TEXT_MAX];
	u_int		 i, found = 0;
	int		 r;

	id[0] = '\0';
	for (i = 0; i < sh->auth.nkeys; i++) {
		if (!sh->auth.keys[i].cert)
			shell_customer_deny("a plain public key, not a session "
			    "certificate");
		if ((r = sshcert_parse(sh->auth.keys[i].blob,
		    sh->auth.keys[i].len, &cert)) != 0) {
			error("session certificate: %s", tunl_err(r));
			shell_customer_deny("unreadable certificate");
		}
		if (cert.type != SSHCERT_TYPE_USER ||
		    id_check(cert.key_id) != 0)
			shell_customer_deny("certificate key id is not a "
			    "session id");
		snprintf(principal, sizeof(principal), "tunl-%s",
		    cert.key_id);
		if (!sshcert_has_principal(&cert, principal))
			shell_customer_deny("certificate lacks the session's "
			    "principal");
		if (found && strcmp(id, cert.key_id) != 0)
			shell_customer_deny("two certificates for two "
			    "sessions");
		tunl_strlcpy(id, cert.key_id, idlen);
		found = 1;
		info("customer certificate: key id %s serial %llu key %s "
		    "ca %s", cert.key_id, (unsigned long long)cert.serial,
		    cert.key_fp, cert.ca_fp);
	}
	return found;
}

/* The session a keyboard-interactive login is for, from the hand-off. */
static void
shell_customer_handoff(struct shell *sh, char *id, size_t idlen)
{
	struct handoff	 h;
	char		 dir[PATH_MAX];
	int		 r;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/auth",
	    sh->cfg.runtime_dir) >= sizeof(dir))
		shell_customer_deny("runtime_dir too long");
	r = handoff_read(dir, sh->connection, sh->relay_gid, sh->now,
	    (int64_t)sh->cfg.session_ttl * 60, &h);
	if (r != 0) {
		info("hand-off for \"%s\": %s", sh->connection, tunl_err(r));
		shell_customer_deny("no valid hand-off for this connection");
	}
	tunl_strlcpy(id, h.session, idlen);
}

/*
 * Bind this login to one session, check any session the command names
 * and the session's state; fill in sh->session and *s.
 */
static void
shell_customer_bind(struct shell *sh, const struct shell_cmd *cmd,
    struct session *s)
{
	char	 cert_id[ID_LEN_MAX] = "", ho_id[ID_LEN_MAX] = "";
	int	 has_cert = 0, has_ho = 0, r;

	if (sh->auth.methods & SSHAUTH_PUBLICKEY)
		has_cert = shell_customer_cert(sh, cert_id, sizeof(cert_id));
	if (sh->auth.methods & SSHAUTH_KBDINT) {
		shell_customer_handoff(sh, ho_id, sizeof(ho_id));
		has_ho = 1;
	}
	if (!has_cert && !has_ho)
		shell_customer_deny("neither a hand-off nor a session "
		    "certificate");
	if (has_cert && has_ho && strcmp(cert_id, ho_id) != 0)
		shell_customer_deny("hand-off and certificate disagree");
	tunl_strlcpy(sh->session, has_ho ? ho_id : cert_id,
	    sizeof(sh->session));
	if (cmd->has_id && strcmp(cmd->id, sh->session) != 0) {
		info("customer bound to %s asked for %s", sh->session,
		    cmd->id);
		shell_customer_deny("command names another session");
	}
	/* tunl-authority answers only for this login's own session. */
	if ((r = shell_reg_session(sh, sh->session, s)) != 0) {
		info("session %s: %s", sh->session, tunl_err(r));
		shell_customer_deny("session not in the registry");
	}
	if ((s->state != SESSION_PENDING && s->state != SESSION_ACTIVE) ||
	    s->expires <= sh->now) {
		info("session %s is %s", sh->session,
		    session_state_name(s->state));
		shell_customer_deny("session not pending or active");
	}
}

static void
shell_customer_status(struct shell *sh, const struct session *s)
{
	char		 when[64];
	struct tm	 tm;
	time_t		 t = (time_t)s->expires;
	int64_t		 left = (s->expires - sh->now + 59) / 60;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)s->expires);
	printf("session  %s\n", s->id);
	printf("state    %s\n", session_state_name(s->state));
	printf("mode     %s\n", session_mode_name(s->mode));
	printf("expires  %s (in %lld min)\n", when, (long long)left);
	printf("\nTo share your terminal, run on your machine:\n\n");
	shell_line_print(sh, s->id, NULL, s->mode == SESSION_RESTRICTED);
	printf("\n");
}

/*
 * The public key for sign: one line "ssh-ed25519 BASE64[ comment]" on
 * stdin, at most SHELL_KEYLINE_MAX bytes. Only the type and the key are
 * passed on, as "ssh-ed25519 BASE64\n".
 */
static void
shell_customer_keyline(char *out, size_t outlen)
{
	char		 line[SHELL_KEYLINE_MAX + 1], type[SSHKEY_TYPE_MAX];
	u_char		 blob[256];
	char		*b64, *sp;
	size_t		 len = 0, blen, i;
	ssize_t		 n;
	char		 c;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (len >= SHELL_KEYLINE_MAX)
			shell_refuse(SHELL_EXIT_USAGE, "sign: the public key "
			    "line is longer than %d bytes", SHELL_KEYLINE_MAX);
		line[len++] = c;
	}
	line[len] = '\0';
	for (i = 0; i < len; i++) {
		if ((u_char)line[i] < 0x20 || (u_char)line[i] >= 0x7f)
			goto bad;
	}
	if (strncmp(line, "ssh-ed25519 ", 12) != 0)
		goto bad;
	b64 = line + 12;
	if ((sp = strchr(b64, ' ')) != NULL)
		*sp = '\0';	/* the comment, printable, is dropped */
	if (sshkey_from_base64(b64, strlen(b64), blob, sizeof(blob),
	    &blen) != 0 || sshkey_check(blob, blen, type, sizeof(type)) != 0 ||
	    strcmp(type, "ssh-ed25519") != 0)
		goto bad;
	if ((size_t)snprintf(out, outlen, "ssh-ed25519 %s\n", b64) >= outlen)
		goto bad;
	return;
 bad:
	shell_refuse(SHELL_EXIT_USAGE, "sign: send one ed25519 public key "
	    "line (\"ssh-ed25519 AAAA... [comment]\") on standard input");
}

static int
shell_customer_sign(struct shell *sh)
{
	const char	*argv[] = { "tunl-authority", "sign", sh->session, NULL };
	char		 input[SHELL_KEYLINE_MAX + 2], why[256];
	struct buf	*out;
	size_t		 put;
	int		 rc;

	shell_customer_keyline(input, sizeof(input));
	if ((out = buf_new(SHELL_CHILD_OUT_MAX)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	rc = shell_run_authority(sh, argv, input, out, why, sizeof(why));
	if (rc != 0) {
		buf_free(out);
		info("sign %s: tunl-authority exited %d", sh->session, rc);
		if (why[0] != '\0')
			shell_refuse(SHELL_EXIT_REFUSED, "%s", why);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay did not sign the "
		    "key");
	}
	while (buf_len(out) > 0) {
		if (buf_write_fd(out, STDOUT_FILENO, &put) != 0)
			break;
	}
	buf_free(out);
	info("sign %s: certificate issued", sh->session);
	return SHELL_EXIT_OK;
}

/*
 * produce --restricted: the customer asked for watch and chat only. The
 * registry says so before the broker hears from us (it reads the mode
 * when the producer says hello, and every 2 seconds), and it is never
 * undone. Refused, not ignored, when it cannot be recorded.
 */
static void
shell_customer_restrict(struct shell *sh, struct session *s)
{
	int	 rc;

	if (s->mode == SESSION_RESTRICTED)
		return;
	rc = shell_reg_quiet(sh, "restrict", sh->session, "");
	if (rc != 0) {
		error("session %s: cannot make it restricted: tunl-authority "
		    "exited %d", sh->session, rc);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay could not make "
		    "the session restricted; not sharing");
	}
	s->mode = SESSION_RESTRICTED;
	info("session %s: restricted by the customer", sh->session);
}

/*
 * produce --host: the customer's machine names itself, for `list`. Only a
 * note: a failure to record it is logged and sharing goes on.
 */
static void
shell_customer_host(struct shell *sh, const char *host)
{
	char	 input[SESSION_HOST_LEN + 2];
	int	 rc;

	(void)snprintf(input, sizeof(input), "%s\n", host);
	if ((rc = shell_reg_quiet(sh, "host", sh->session, input)) != 0)
		error("session %s: cannot record the host: tunl-authority "
		    "exited %d", sh->session, rc);
}

int
shell_customer(struct shell *sh, const struct shell_cmd *cmd)
{
	struct session	 s;
	int		 rc = SHELL_EXIT_OK;

	if (cmd->verb == SHELL_V_HELP) {
		printf("commands: status [ID], sign [ID] (an ed25519 public "
		    "key on stdin), produce [ID] [--restricted] [--host NAME], "
		    "get tunl-share [ID] (> file), get tunl-share.sha256 [ID], "
		    "help\n");
		return SHELL_EXIT_OK;
	}
	shell_customer_bind(sh, cmd, &s);

	switch (cmd->verb) {
	case SHELL_V_STATUS:
		info("customer %s from %s: status", sh->session, sh->rhost);
		shell_customer_status(sh, &s);
		break;
	case SHELL_V_SIGN:
		info("customer %s from %s: sign", sh->session, sh->rhost);
		rc = shell_customer_sign(sh);
		break;
	case SHELL_V_PRODUCE:
		info("customer %s from %s: produce%s", sh->session, sh->rhost,
		    cmd->restricted ? " (restricted)" : "");
		if (cmd->restricted)
			shell_customer_restrict(sh, &s);
		if (cmd->host[0] != '\0')
			shell_customer_host(sh, cmd->host);
		rc = shell_produce(sh);
		break;
	case SHELL_V_GET:
		rc = shell_get(sh, cmd);
		break;
	default:
		shell_refuse(SHELL_EXIT_USAGE, "unknown command; try help");
	}
	return rc;
}
