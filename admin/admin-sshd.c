/*
 * admin-sshd.c: the settings sshd would really use for a login, from
 * `sshd -T -C user=...,host=...,addr=...` (the extended test mode prints
 * every effective keyword in lower case, one "keyword value" per line).
 *
 * sshd is run by absolute path with posix_spawn, no shell, a fixed
 * environment and stdin from /dev/null; its output is read up to a hard
 * bound under a time limit. The output is sshd's and so trusted, but the
 * parser still treats it as text of any shape: only the keywords doctor
 * asks about are kept, each at most once, bounded and free of control
 * characters; anything else is skipped.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

static const struct {
	const char	*keyword;	/* as sshd -T prints it */
	const char	*name;		/* as sshd_config(5) spells it */
} sshd_keys[SSHD_NKEYS] = {
	[SSHD_FORCECOMMAND] = { "forcecommand", "ForceCommand" },
	[SSHD_AUTHMETHODS] = { "authenticationmethods",
	    "AuthenticationMethods" },
	[SSHD_PRINCIPALSCMD] = { "authorizedprincipalscommand",
	    "AuthorizedPrincipalsCommand" },
	[SSHD_PRINCIPALSUSER] = { "authorizedprincipalscommanduser",
	    "AuthorizedPrincipalsCommandUser" },
	[SSHD_TRUSTEDCA] = { "trustedusercakeys", "TrustedUserCAKeys" },
	[SSHD_EXPOSEAUTHINFO] = { "exposeauthinfo", "ExposeAuthInfo" },
	[SSHD_USEPAM] = { "usepam", "UsePAM" },
	[SSHD_KBDINTERACTIVE] = { "kbdinteractiveauthentication",
	    "KbdInteractiveAuthentication" },
	[SSHD_DISABLEFORWARDING] = { "disableforwarding",
	    "DisableForwarding" },
	[SSHD_TCPFORWARDING] = { "allowtcpforwarding", "AllowTcpForwarding" },
	[SSHD_PERMITUSERRC] = { "permituserrc", "PermitUserRC" },
	[SSHD_MAXAUTHTRIES] = { "maxauthtries", "MaxAuthTries" },
	[SSHD_AUTHKEYSFILE] = { "authorizedkeysfile", "AuthorizedKeysFile" },
};

extern char **environ;

const char *
admin_sshd_keyword(enum sshd_key k)
{
	return (u_int)k < SSHD_NKEYS ? sshd_keys[k].keyword : "";
}

const char *
admin_sshd_name(enum sshd_key k)
{
	return (u_int)k < SSHD_NKEYS ? sshd_keys[k].name : "";
}

/* One line (without its newline) into eff, if it is a keyword we keep. */
static int
sshd_parse_line(const char *line, size_t len, struct sshd_eff *eff)
{
	const char	*sp;
	size_t		 klen, vlen, i;
	u_int		 k;

	if ((sp = memchr(line, ' ', len)) == NULL)
		return 0;		/* a keyword without a value */
	klen = (size_t)(sp - line);
	for (k = 0; k < SSHD_NKEYS; k++) {
		if (strlen(sshd_keys[k].keyword) == klen &&
		    memcmp(line, sshd_keys[k].keyword, klen) == 0)
			break;
	}
	if (k == SSHD_NKEYS)
		return 0;		/* not one we check */
	if (eff->seen[k])
		return TUNL_ERR_EXISTS;	/* sshd prints each once */
	vlen = len - klen - 1;
	if (vlen == 0)
		return TUNL_ERR_INVALID;
	if (vlen >= SSHD_VALUE_MAX)
		return TUNL_ERR_LENGTH;
	for (i = 0; i < vlen; i++) {
		if ((u_char)sp[1 + i] < 0x20 || (u_char)sp[1 + i] == 0x7f)
			return TUNL_ERR_INVALID;
	}
	memcpy(eff->value[k], sp + 1, vlen);
	eff->value[k][vlen] = '\0';
	eff->seen[k] = 1;
	return 0;
}

/*
 * Parse sshd -T output. A NUL anywhere is refused (sshd never prints one);
 * a kept keyword that repeats, has no value, a value over SSHD_VALUE_MAX
 * or a control character in it is an error. The last line may lack its
 * newline.
 */
int
admin_sshd_parse(const char *text, size_t len, struct sshd_eff *eff)
{
	const char	*p = text, *nl;
	size_t		 left = len, n;
	int		 r;

	memset(eff, 0, sizeof(*eff));
	if (len > SSHD_OUTPUT_MAX)
		return TUNL_ERR_LENGTH;
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return TUNL_ERR_NUL;
	while (left > 0) {
		if ((nl = memchr(p, '\n', left)) != NULL)
			n = (size_t)(nl - p);
		else
			n = left;
		if ((r = sshd_parse_line(p, n, eff)) != 0)
			return r;
		if (nl == NULL)
			break;
		p = nl + 1;
		left -= n + 1;
	}
	return 0;
}

/* Read both pipes to their end, the output up to its bound. */
static int
sshd_collect(int outfd, int errfd, char *out, size_t outmax, size_t *outlen,
    char *err, size_t errmax)
{
	struct pollfd	 pfd[2];
	char		 junk[512];
	size_t		 errlen = 0;
	ssize_t		 n;
	int64_t		 deadline = tunl_now_ms() + SSHD_TIMEOUT_MS, left;
	int		 r = 0, i;

	*outlen = 0;
	pfd[0].fd = outfd;
	pfd[1].fd = errfd;
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		if ((left = deadline - tunl_now_ms()) <= 0)
			return TUNL_ERR_EXPIRED;
		if (poll(pfd, 2, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return TUNL_ERR_SYSTEM;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (i == 0 && *outlen < outmax)
				n = read(outfd, out + *outlen, outmax - *outlen);
			else if (i == 1 && errlen + 1 < errmax)
				n = read(errfd, err + errlen,
				    errmax - 1 - errlen);
			else
				n = read(pfd[i].fd, junk, sizeof(junk));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			if (i == 0 && *outlen < outmax)
				*outlen += (size_t)n;
			else if (i == 0)
				r = TUNL_ERR_LENGTH;	/* drained, refused */
			else if (errlen + 1 < errmax)
				errlen += (size_t)n;
		}
	}
	err[errlen] = '\0';
	return r;
}

/*
 * Run `sshd -T [-f config] -C spec` and parse what it prints. On failure
 * err holds the first line sshd wrote to stderr (escaped), or a reason.
 */
int
admin_sshd_run(const char *sshd, const char *config, const char *spec,
    struct sshd_eff *eff, char *err, size_t errlen)
{
	static char	 env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	static char	 env_lc[] = "LC_ALL=C";
	char		*argv[8], *envp[] = { env_path, env_lc, NULL };
	char		*out = NULL, errtext[SSHD_ERROR_MAX], *nl;
	size_t		 outlen = 0;
	int		 opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 };
	int		 r = TUNL_ERR_SYSTEM, status, argc = 0;
	pid_t		 pid = -1;
	posix_spawn_file_actions_t fa;

	err[0] = '\0';
	errtext[0] = '\0';
	memset(eff, 0, sizeof(*eff));
	if (sshd[0] != '/' || (config != NULL && config[0] != '/')) {
		snprintf(err, errlen, "sshd and its config need absolute paths");
		return TUNL_ERR_INVALID;
	}
	argv[argc++] = (char *)sshd;
	argv[argc++] = (char *)"-T";
	if (config != NULL) {
		argv[argc++] = (char *)"-f";
		argv[argc++] = (char *)config;
	}
	argv[argc++] = (char *)"-C";
	argv[argc++] = (char *)spec;
	argv[argc] = NULL;

	if ((out = malloc(SSHD_OUTPUT_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if (pipe2(opipe, O_CLOEXEC) == -1 || pipe2(epipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, opipe[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, epipe[1], 2) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	r = posix_spawn(&pid, sshd, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		snprintf(err, errlen, "cannot run %s: %s", sshd, strerror(r));
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	r = sshd_collect(opipe[0], epipe[0], out, SSHD_OUTPUT_MAX, &outlen,
	    errtext, sizeof(errtext));
	if (r == TUNL_ERR_EXPIRED) {
		(void)kill(pid, SIGKILL);
		snprintf(err, errlen, "%s -T did not finish in %d seconds",
		    sshd, SSHD_TIMEOUT_MS / 1000);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (r != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "reading %s -T: %s", sshd,
			    tunl_err(r));
		goto out;
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if ((nl = strchr(errtext, '\n')) != NULL)
			*nl = '\0';
		if (errtext[0] != '\0')
			(void)log_escape(err, errlen, errtext, strlen(errtext));
		else
			snprintf(err, errlen, "%s -T failed", sshd);
		r = TUNL_ERR_CONFIG;
		goto out;
	}
	if ((r = admin_sshd_parse(out, outlen, eff)) != 0)
		snprintf(err, errlen, "cannot read %s -T output: %s", sshd,
		    tunl_err(r));
 out:
	if (opipe[0] != -1)
		close(opipe[0]);
	if (opipe[1] != -1)
		close(opipe[1]);
	if (epipe[0] != -1)
		close(epipe[0]);
	if (epipe[1] != -1)
		close(epipe[1]);
	free(out);
	return r;
}
