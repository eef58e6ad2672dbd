/*
 * pam-check: one PAM token check, as sshd would make it, for the auth-path
 * benchmark: pam_start_confdir on a private service directory, PAM_RHOST
 * and SSH_CONNECTION set, the conversation answering "Session id: " and
 * "Session token: " from a file, pam_authenticate, then pam_close_session
 * to remove the hand-off it wrote. Exit 0 when authentication succeeded.
 *
 *	pam-check SERVICE-DIR SERVICE USER ANSWERS
 */
#include "config.h"

#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	answer_id[128], answer_token[128];

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct pam_response	*r;
	const char		*a;
	int			 i;

	(void)arg;
	if (n <= 0 || n > 8 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		if (strcmp(msg[i]->msg, "Session id: ") == 0)
			a = answer_id;
		else if (strcmp(msg[i]->msg, "Session token: ") == 0)
			a = answer_token;
		else
			a = "";
		if ((r[i].resp = strdup(a)) == NULL) {
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int
read_line(FILE *f, char *buf, size_t len)
{
	if (fgets(buf, (int)len, f) == NULL)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int
main(int argc, char **argv)
{
#ifdef HAVE_PAM_START_CONFDIR
	struct pam_conv	 c = { conv, NULL };
	pam_handle_t	*ph = NULL;
	char		 env[128];
	FILE		*f;
	int		 r;

	if (argc != 5) {
		fprintf(stderr, "usage: pam-check dir service user answers\n");
		return 2;
	}
	if ((f = fopen(argv[4], "r")) == NULL ||
	    read_line(f, answer_id, sizeof(answer_id)) != 0 ||
	    read_line(f, answer_token, sizeof(answer_token)) != 0) {
		fprintf(stderr, "pam-check: cannot read %s\n", argv[4]);
		return 2;
	}
	fclose(f);
	/* A port of our own, so concurrent or stale hand-offs never clash. */
	snprintf(env, sizeof(env), "SSH_CONNECTION=127.0.0.1 %u 127.0.0.1 22",
	    (u_int)(getpid() % 65536));
	if (pam_start_confdir(argv[2], argv[3], &c, argv[1], &ph) !=
	    PAM_SUCCESS)
		return 2;
	if (pam_set_item(ph, PAM_RHOST, "127.0.0.1") != PAM_SUCCESS ||
	    pam_putenv(ph, env) != PAM_SUCCESS)
		return 2;
	r = pam_authenticate(ph, 0);
	if (r == PAM_SUCCESS)
		(void)pam_close_session(ph, 0);
	pam_end(ph, r);
	return r == PAM_SUCCESS ? 0 : 1;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "pam-check: this Linux-PAM has no pam_start_confdir\n");
	return 77;
#endif
}
