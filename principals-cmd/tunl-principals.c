/*
 * tunl-principals: sshd's AuthorizedPrincipalsCommand for the customer
 * account.
 *
 *	AuthorizedPrincipalsCommand .../tunl-principals -f CONF %u %i %s %f
 *	AuthorizedPrincipalsCommandUser tunlauth
 *
 * sshd has already checked the certificate's signature against
 * TrustedUserCAKeys; this program decides which principal such a
 * certificate may log in with. It prints "tunl-<id>" (the only principal a
 * session certificate carries) when the user is the customer account, the
 * key id is a well-formed session id, the serial and fingerprint look like
 * what sshd passes, and the session is pending or active and unexpired in
 * the registry. Otherwise it prints nothing and sshd refuses the key.
 *
 * For tunnel_user (the tunnel upgrade, only when the relay has tunnel
 * ports) it prints
 *
 *	permitlisten="127.0.0.1:<port>" tunl-<id>
 *
 * when the session is also not restricted and holds a tunnel port, so
 * that login may listen on that one loopback port and nowhere else (the
 * drop-in allows tunnel_user nothing but remote forwards on 127.0.0.1,
 * and sshd requires both to allow a listen).
 *
 * sshd runs it twice on every certificate login and discards its stderr,
 * so it does the least it can (one config read, one id check, then asks
 * tunl-authority beside it, `live <id>`, since principals_user cannot open
 * the registry) and tells syslog, never stderr, what it
 * decided and why. Everything in argv came from the client's certificate:
 * it is checked before use and escaped before it is logged.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "tunl.h"

#define PR_USER_MAX	64	/* bytes of %u we look at */
#define PR_SERIAL_MAX	20	/* digits in a 64-bit serial */
#define PR_FP_PREFIX	"SHA256:"
#define PR_FP_B64LEN	43	/* unpadded base64 of 32 bytes */
#define PR_LOG_FIELD	128	/* bytes of an escaped argument in a log */

struct pr_args {
	const char	*user;
	const char	*key_id;
	const char	*serial;
	const char	*fingerprint;
};

/* A decimal serial: 1 to 20 digits, no sign, at most LLONG_MAX. */
static int
pr_check_serial(const char *s)
{
	long long	 v;

	if (strnlen(s, PR_SERIAL_MAX + 1) > PR_SERIAL_MAX)
		return TUNL_ERR_LENGTH;
	return tunl_strtonum(s, 0, INT64_MAX, &v);
}

/* "SHA256:" and 43 characters of unpadded standard base64. */
static int
pr_check_fingerprint(const char *s)
{
	size_t	 plen = sizeof(PR_FP_PREFIX) - 1, i;
	char	 c;

	if (strnlen(s, plen + PR_FP_B64LEN + 1) != plen + PR_FP_B64LEN ||
	    strncmp(s, PR_FP_PREFIX, plen) != 0)
		return TUNL_ERR_INVALID;
	for (i = plen; i < plen + PR_FP_B64LEN; i++) {
		c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return TUNL_ERR_INVALID;
	}
	return 0;
}

/*
 * One syslog line per decision: the arguments, each cut to PR_LOG_FIELD
 * bytes, and the reason. log.c passes the whole line through log_escape(),
 * so a newline or escape byte from the certificate arrives as \x0a or
 * \x1b and cannot forge or colour a line (escaping each argument here
 * as well would only double every backslash).
 */
static void
pr_log(int accepted, const struct pr_args *a, const char *reason, u_int port)
{
	int	 w = PR_LOG_FIELD;

#define PR_ARG(s)	w, (s) == NULL ? "-" : (s)
	if (accepted && port != 0)
		info("accepted user=%.*s key_id=%.*s serial=%.*s "
		    "fingerprint=%.*s principal=tunl-%.*s permitlisten="
		    "127.0.0.1:%u", PR_ARG(a->user), PR_ARG(a->key_id),
		    PR_ARG(a->serial), PR_ARG(a->fingerprint),
		    PR_ARG(a->key_id), port);
	else if (accepted)
		info("accepted user=%.*s key_id=%.*s serial=%.*s "
		    "fingerprint=%.*s principal=tunl-%.*s", PR_ARG(a->user),
		    PR_ARG(a->key_id), PR_ARG(a->serial),
		    PR_ARG(a->fingerprint), PR_ARG(a->key_id));
	else
		info("refused user=%.*s key_id=%.*s serial=%.*s "
		    "fingerprint=%.*s reason=%s", PR_ARG(a->user),
		    PR_ARG(a->key_id), PR_ARG(a->serial),
		    PR_ARG(a->fingerprint), reason);
#undef PR_ARG
}

/*
 * The session's state, asked of tunl-authority (`live <id>`, or `listen
 * <id>` for tunnel_user), which sits beside this program: principals_user
 * cannot open the registry (docs/security.md, "The accounts' powers").
 * NULL when the session is live (and, for listen, *port is its tunnel
 * port), else the authority's one word (or ours) for the log.
 */
static const char *
pr_ask_authority(const char *verb, const char *id, u_int *port)
{
	static const char *const words[] = { "unknown-session", "locked",
	    "ended", "expired", "registry-error", "restricted", "no-port" };
	posix_spawn_file_actions_t	 fa;
	char				 self[PATH_MAX], path[PATH_MAX];
	char				 ans[64], *slash, *nl;
	long long			 v;
	char				*argv[] = { path, (char *)verb,
					     (char *)id, NULL };
	char				*envp[] = { NULL };
	int				 po[2] = { -1, -1 }, status, r;
	const char			*why = "registry-error";
	size_t				 len = 0, i;
	ssize_t				 n, sl;
	pid_t				 pid = -1;

	if ((sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0 ||
	    (size_t)sl >= sizeof(self) - 1)
		return why;
	self[sl] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return why;
	*slash = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/tunl-authority", self) >=
	    sizeof(path) || pipe2(po, O_CLOEXEC) == -1)
		return why;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0);
	(void)posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	(void)posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
	    0);
	r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		error("cannot run %s: %s", path, strerror(r));
		pid = -1;
		goto out;
	}
	close(po[1]);
	po[1] = -1;
	while (len < sizeof(ans) - 1) {
		n = read(po[0], ans + len, sizeof(ans) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	ans[len] = '\0';
 out:
	for (i = 0; i < 2; i++)
		if (po[i] != -1)
			close(po[i]);
	if (pid == -1)
		return why;
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return why;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error("tunl-authority live %s: exit %d", id,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return why;
	}
	if (strcmp(verb, "live") == 0 && strcmp(ans, "live\n") == 0)
		return NULL;
	if (strcmp(verb, "listen") == 0 && strncmp(ans, "port ", 5) == 0 &&
	    (nl = strchr(ans, '\n')) != NULL && nl[1] == '\0') {
		*nl = '\0';
		if (tunl_strtonum(ans + 5, 1024, 65535, &v) != 0)
			return why;
		*port = (u_int)v;
		return NULL;
	}
	for (i = 0; i < TUNL_NITEMS(words); i++) {
		if (strncmp(ans, words[i], strlen(words[i])) == 0 &&
		    ans[strlen(words[i])] == '\n')
			return words[i];
	}
	return why;
}

/*
 * Decide. Returns NULL when the certificate may log in, else the reason
 * for the log.
 */
static const char *
pr_decide(const char *cfgpath, int cfgflags, const struct pr_args *a,
    u_int *port)
{
	struct tunl_cfg	 cfg;
	char		 err[512];
	int		 r, tunnel;

	*port = 0;
	if ((r = cfg_load(&cfg, cfgpath, cfgflags, err, sizeof(err))) != 0) {
		error("configuration: %s", err);
		return "bad-config";
	}
	if (strnlen(a->user, PR_USER_MAX + 1) > PR_USER_MAX)
		return "wrong-user";
	if (strcmp(a->user, cfg.customer_user) == 0)
		tunnel = 0;
	else if (strcmp(a->user, cfg.tunnel_user) == 0 &&
	    cfg.tunnel_port_min != 0)
		tunnel = 1;
	else
		return "wrong-user";
	if (id_check(a->key_id) != 0)
		return "bad-key-id";
	if (pr_check_serial(a->serial) != 0)
		return "bad-serial";
	if (pr_check_fingerprint(a->fingerprint) != 0)
		return "bad-fingerprint";

	return pr_ask_authority(tunnel ? "listen" : "live", a->key_id, port);
}

int
main(int argc, char **argv)
{
	struct pr_args	 a = { NULL, NULL, NULL, NULL };
	const char	*cfgpath = CFG_PATH_DEFAULT, *why;
	u_int		 port = 0;
	int		 cfgflags = CFG_DEFAULT_OK;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: tunl-principals [-f config] user key-id serial "
		    "fingerprint\n(sshd's AuthorizedPrincipalsCommand: "
		    "\"%%u %%i %%s %%f\"; see tunl-principals(8))\n");
		return 0;
	}
	log_init("tunl-principals", LOG_AUTH, 0);

	/* "-f PATH" first, written by the operator in sshd_config. */
	if (argc >= 3 && strcmp(argv[1], "-f") == 0) {
		cfgpath = argv[2];
		cfgflags = 0;
		argc -= 2;
		argv += 2;
	}
	if (argc != 5) {
		pr_log(0, &a, "bad-arguments", 0);
		return 0;
	}
	a.user = argv[1];
	a.key_id = argv[2];
	a.serial = argv[3];
	a.fingerprint = argv[4];

	why = pr_decide(cfgpath, cfgflags, &a, &port);
	pr_log(why == NULL, &a, why, port);
	if (why == NULL) {
		/*
		 * tunnel_user's login may listen on its session's port and
		 * nowhere else; the customer account forwards nothing.
		 */
		if (port != 0)
			printf("permitlisten=\"127.0.0.1:%u\" ", port);
		printf("tunl-%s\n", a.key_id);
		if (fflush(stdout) != 0)
			error("cannot write the principal");
	}
	log_close();
	return 0;
}
