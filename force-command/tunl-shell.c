/*
 * tunl-shell.c: the ForceCommand of both relay accounts. sshd runs it
 * for every session of the customer account (customer_user) and the
 * engineer account (engineer_user); which of the two it serves is decided
 * by the real uid alone, never by anything the client sends.
 *
 * Its options come from the ForceCommand line the operator wrote, never
 * from the client (sshd puts the client's command in SSH_ORIGINAL_COMMAND
 * and nowhere else):
 *	-f PATH			the configuration file (tests)
 *	--authority PATH	tunl-authority (tests)
 *	--broker PATH		tunl-broker, started by produce (tests)
 *	--engineer-keys PATH	the engineer account's authorized_keys
 *
 * Every refusal is one line "tunl: <reason>" on stderr and exit status 1;
 * a command that does not parse exits 2. Each command and its outcome are
 * logged to syslog (LOG_AUTH) with who asked.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "shell.h"

#define SHELL_AUTHORITY_DEFAULT	LIBEXECDIR "/tunl/tunl-authority"
#define SHELL_BROKER_DEFAULT	LIBEXECDIR "/tunl/tunl-broker"
#define SHELL_SHARE_STATIC_DEFAULT	LIBEXECDIR "/tunl/tunl-share-static"

/* --help: the usage on stdout, exit 0. */
static int usage_help;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(usage_help ? stdout : stderr, "tunl: usage: tunl-shell [-f config] "
	    "[--authority path] [--broker path] [--engineer-keys path] "
	    "[--share-static path]\n");
	exit(usage_help ? 0 : SHELL_EXIT_USAGE);
}

/*
 * Refuse: one line on stderr and in the log, then exit. The message is
 * ours; any hostile bytes in it were escaped by the caller, and any
 * control byte left is replaced, so it stays one line.
 */
void
shell_refuse(int status, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; msg[i] != '\0'; i++) {
		if ((u_char)msg[i] < 0x20 || (u_char)msg[i] >= 0x7f)
			msg[i] = '?';
	}
	fprintf(stderr, "tunl: %s\n", msg);
	fflush(stderr);
	info("refused: %s", msg);
	exit(status);
}

/* Read what the fd gives, into b up to its maximum; drop the rest. */
static int
shell_drain(int fd, struct buf *b, int *open)
{
	u_char	 junk[512];
	ssize_t	 n;
	int	 r;

	if (buf_avail(b) > 0) {
		r = buf_read_fd(b, fd, buf_avail(b), NULL);
		if (r == TUNL_ERR_EOF)
			*open = 0;
		else if (r == TUNL_ERR_SYSTEM && errno != EINTR &&
		    errno != EAGAIN)
			*open = 0;
		return 0;
	}
	n = read(fd, junk, sizeof(junk));
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
		*open = 0;
	return 0;
}

/*
 * Run tunl-authority with argv (argv[0] is replaced by the path), no
 * shell, an environment of SSH_CONNECTION and SSH_USER_AUTH only, input
 * on its stdin, its stdout into out (bounded) and its stderr into a
 * bounded buffer whose first line is logged. If that line is
 * "tunl-authority: <reason>" (authority_fail's form), the reason
 * (printable ASCII) is copied to why for the caller to show. Returns its exit status, or -1 if it could not be run
 * or was killed.
 */
#define AUTH_PREFIX	"tunl-authority: "
#define AUTH_PREFIX_LEN	(sizeof(AUTH_PREFIX) - 1)

/*
 * Read what tunl-authority writes on a socket stdout: bytes into out, and
 * the one descriptor it may pass along (admit) into *fdp; a second one is
 * closed.
 */
static void
shell_drain_fd(int fd, struct buf *out, int *fdp, int *open)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		char		 space[CMSG_SPACE(sizeof(int))];
	} cbuf;
	u_char		 data[512];
	ssize_t		 n;
	int		 got;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.space;
	msg.msg_controllen = sizeof(cbuf.space);
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open = 0;
		return;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&got, CMSG_DATA(cm), sizeof(got));
		if (*fdp == -1)
			*fdp = got;
		else
			close(got);
	}
	if (buf_len(out) + (size_t)n <= SHELL_CHILD_OUT_MAX)
		(void)buf_put(out, data, (size_t)n);
}

static int shell_run_authority_fd(struct shell *, const char *const *,
    const char *, struct buf *, char *, size_t, int *);

int
shell_run_authority(struct shell *sh, const char *const *argv,
    const char *input, struct buf *out, char *why, size_t whylen)
{
	return shell_run_authority_fd(sh, argv, input, out, why, whylen,
	    NULL);
}

/*
 * tunl-authority admit <id> [ro|rw cols rows]: on success *fdp is a
 * connection to the session's broker that the authority opened for this
 * login (for an engineer's join, with the hello already sent under the
 * name pam_tunl recorded; join is then "ro" or "rw").
 */
int
shell_run_admit(struct shell *sh, const char *id, const char *join,
    u_int cols, u_int rows, int *fdp, char *why, size_t whylen)
{
	char		 c[16], r[16];
	const char	*argv[] = { "tunl-authority", "admit", id, join, c, r,
			    NULL };
	struct buf	*out;
	int		 rc;

	snprintf(c, sizeof(c), "%u", cols);
	snprintf(r, sizeof(r), "%u", rows);

	*fdp = -1;
	if ((out = buf_new(SHELL_CHILD_OUT_MAX)) == NULL)
		return -1;
	rc = shell_run_authority_fd(sh, argv, "", out, why, whylen, fdp);
	buf_free(out);
	if (rc != 0 && *fdp != -1) {
		close(*fdp);
		*fdp = -1;
	}
	if (rc == 0 && *fdp == -1)
		rc = -1;
	return rc;
}

static int
shell_run_authority_fd(struct shell *sh, const char *const *argv,
    const char *input, struct buf *out, char *why, size_t whylen, int *fdp)
{
	extern char			**environ;
	posix_spawn_file_actions_t	  fa;
	char				 *envp[4], conn[HANDOFF_CONN_MAX + 16];
	char				  lkenv[sizeof(LOGIN_KEY_ENV) +
					      LOGIN_KEY_HEX + 1];
	u_char				  lk[LOGIN_KEY_LEN];
	const char			 *lkhex;
	char				  authenv[CFG_PATH_MAX + 16];
	char				 *av[8], esc[SHELL_CHILD_ERR_MAX * 4];
	struct pollfd			  pfd[2];
	struct buf			 *errb = NULL;
	int				  in[2] = { -1, -1 }, po[2] = { -1, -1 };
	int				  pe[2] = { -1, -1 }, status, r, n;
	int				  oopen = 1, eopen = 1, rc = -1;
	size_t				  i, inlen, off = 0;
	ssize_t				  w;
	pid_t				  pid;
	char				 *nl;
	const u_char			 *e;
	size_t				  elen, k;

	if (whylen > 0)
		why[0] = '\0';
	(void)environ;
	for (i = 0; argv[i] != NULL; i++) {
		if (i + 1 >= TUNL_NITEMS(av))
			return -1;
		av[i] = (char *)argv[i];
	}
	av[i] = NULL;
	av[0] = (char *)sh->authority;
	n = 0;
	snprintf(conn, sizeof(conn), "SSH_CONNECTION=%s", sh->connection);
	envp[n++] = conn;
	if (sh->auth_path[0] != '\0') {
		snprintf(authenv, sizeof(authenv), "SSH_USER_AUTH=%s",
		    sh->auth_path);
		envp[n++] = authenv;
	}
	/* The login key pam_tunl gave this login, for sign to check. */
	lkenv[0] = '\0';
	lkhex = sh->login_key;
	if (login_key_parse(lkhex, lk) == 0) {
		snprintf(lkenv, sizeof(lkenv), LOGIN_KEY_ENV "=%s", lkhex);
		envp[n++] = lkenv;
	}
	sodium_memzero(lk, sizeof(lk));
	envp[n] = NULL;

	if ((errb = buf_new(SHELL_CHILD_ERR_MAX)) == NULL)
		goto out;
	/* No out: the authority writes to our stdout (list, show). */
	if (pipe2(in, O_CLOEXEC) == -1 || (fdp != NULL ?
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, po) :
	    out != NULL ? pipe2(po, O_CLOEXEC) : 0) == -1 ||
	    pipe2(pe, O_CLOEXEC) == -1) {
		error("pipe: %s", strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	(void)posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	if (po[1] != -1)
		(void)posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	(void)posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	fflush(stdout);
	r = posix_spawn(&pid, sh->authority, &fa, NULL, av, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		error("cannot run %s: %s", sh->authority, strerror(r));
		goto out;
	}
	close(in[0]);
	if (po[1] != -1)
		close(po[1]);
	close(pe[1]);
	in[0] = po[1] = pe[1] = -1;
	if (po[0] == -1)
		oopen = 0;

	/* The input is one short line: write it whole, then close. */
	inlen = strlen(input);
	(void)signal(SIGPIPE, SIG_IGN);
	while (off < inlen) {
		w = write(in[1], input + off, inlen - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	in[1] = -1;

	while (oopen || eopen) {
		pfd[0].fd = oopen ? po[0] : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = eopen ? pe[0] : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (oopen && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (fdp != NULL)
				shell_drain_fd(po[0], out, fdp, &oopen);
			else
				(void)shell_drain(po[0], out, &oopen);
		}
		if (eopen && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			(void)shell_drain(pe[0], errb, &eopen);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (buf_len(errb) > 0) {
		(void)log_escape(esc, sizeof(esc), buf_ptr(errb),
		    buf_len(errb));
		if ((nl = strstr(esc, "\\x0a")) != NULL)
			*nl = '\0';
		info("tunl-authority %s: %s", argv[1], esc);
		e = buf_ptr(errb);
		elen = buf_len(errb);
		if (elen > AUTH_PREFIX_LEN &&
		    memcmp(e, AUTH_PREFIX, AUTH_PREFIX_LEN) == 0) {
			for (k = AUTH_PREFIX_LEN; k < elen && e[k] >= 0x20 &&
			    e[k] < 0x7f; k++)
				;
			if ((k == elen || e[k] == '\n') &&
			    k - AUTH_PREFIX_LEN < whylen) {
				memcpy(why, e + AUTH_PREFIX_LEN,
				    k - AUTH_PREFIX_LEN);
				why[k - AUTH_PREFIX_LEN] = '\0';
			}
		}
	}
	if (status != -1 && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (status != -1 && WIFSIGNALED(status))
		error("tunl-authority %s was ended by signal %d", argv[1],
		    WTERMSIG(status));
	else
		error("tunl-authority %s did not exit normally", argv[1]);
 out:
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (po[i] != -1)
			close(po[i]);
		if (pe[i] != -1)
			close(pe[i]);
	}
	buf_free(errb);
	sodium_memzero(lkenv, sizeof(lkenv));
	return rc;
}

/* Field n (0-based) of SSH_CONNECTION, already checked. */
static void
shell_conn_field(const char *conn, u_int n, char *out, size_t outlen)
{
	const char	*p = conn, *sp;
	size_t		 len;

	while (n-- > 0 && (p = strchr(p, ' ')) != NULL)
		p++;
	out[0] = '\0';
	if (p == NULL)
		return;
	sp = strchr(p, ' ');
	len = sp == NULL ? strlen(p) : (size_t)(sp - p);
	if (len < outlen) {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

/* SSH_USER_AUTH: read the file sshd wrote (bounded) and parse it. */
static void
shell_read_auth(struct shell *sh)
{
	const char	*path = getenv("SSH_USER_AUTH");
	char		*text = NULL;
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd = -1, r;

	if (path == NULL || path[0] != '/' ||
	    tunl_strlcpy(sh->auth_path, path, sizeof(sh->auth_path)) >=
	    sizeof(sh->auth_path))
		shell_refuse(SHELL_EXIT_REFUSED, "no authentication details "
		    "from sshd (ExposeAuthInfo); ask the relay operator");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_size > SSHAUTH_FILE_MAX)
		shell_refuse(SHELL_EXIT_REFUSED, "cannot read the "
		    "authentication details from sshd");
	if ((text = malloc(SSHAUTH_FILE_MAX + 1)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "out of memory");
	while (len <= SSHAUTH_FILE_MAX) {
		n = read(fd, text + len, SSHAUTH_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = sshauth_parse(text, len, &sh->auth);
	free(text);
	if (r != 0) {
		error("%s: %s", sh->auth_path, tunl_err(r));
		shell_refuse(SHELL_EXIT_REFUSED, "cannot read the "
		    "authentication details from sshd");
	}
}

static gid_t
shell_gid(const char *name)
{
	struct group	*gr;

	if ((gr = getgrnam(name)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "group %s does not exist; ask "
		    "the relay operator", name);
	return gr->gr_gid;
}

int
main(int argc, char **argv)
{
	struct shell	 sh;
	struct shell_cmd cmd;
	struct passwd	*pw;
	const char	*cfg_path = NULL, *command, *conn;
	char		 err[512], echo[SHELL_ECHO_MAX * 4 + 4];
	uid_t		 uid = getuid();
	uid_t		 customer_uid, engineer_uid;
	enum shell_args_err e;
	int		 i, r, rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage_help = 1;
		usage();
	}

	memset(&sh, 0, sizeof(sh));
	shell_login_take(&sh);
	log_init("tunl-shell", LOG_AUTH, 0);
	if (sodium_init() == -1)
		shell_refuse(SHELL_EXIT_REFUSED, "cannot initialise libsodium");
	sh.authority = SHELL_AUTHORITY_DEFAULT;
	sh.broker = SHELL_BROKER_DEFAULT;
	sh.share_static = SHELL_SHARE_STATIC_DEFAULT;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-f") == 0)
			cfg_path = argv[++i];
		else if (strcmp(argv[i], "--authority") == 0)
			sh.authority = argv[++i];
		else if (strcmp(argv[i], "--broker") == 0)
			sh.broker = argv[++i];
		else if (strcmp(argv[i], "--engineer-keys") == 0)
			sh.engineer_keys = argv[++i];
		else if (strcmp(argv[i], "--share-static") == 0)
			sh.share_static = argv[++i];
		else
			usage();
	}
	if (sh.authority[0] != '/' || sh.broker[0] != '/' ||
	    sh.share_static[0] != '/' ||
	    (sh.engineer_keys != NULL && sh.engineer_keys[0] != '/'))
		usage();

	if ((r = cfg_load(&sh.cfg, cfg_path, cfg_path == NULL ?
	    CFG_DEFAULT_OK : 0, err, sizeof(err))) != 0) {
		error("configuration: %s", err);
		shell_refuse(SHELL_EXIT_REFUSED, "the relay is misconfigured; "
		    "ask the relay operator");
	}
	log_set_level(sh.cfg.log_level);

	if ((pw = getpwnam(sh.cfg.customer_user)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "account %s does not exist",
		    sh.cfg.customer_user);
	customer_uid = pw->pw_uid;
	if ((pw = getpwnam(sh.cfg.engineer_user)) == NULL)
		shell_refuse(SHELL_EXIT_REFUSED, "account %s does not exist",
		    sh.cfg.engineer_user);
	engineer_uid = pw->pw_uid;
	if (uid == customer_uid && uid != engineer_uid)
		sh.role = SHELL_CUSTOMER;
	else if (uid == engineer_uid && uid != customer_uid)
		sh.role = SHELL_ENGINEER;
	else
		shell_refuse(SHELL_EXIT_REFUSED, "this account may not use "
		    "tunl-shell");
	/* The file tunl-admin engineer writes and the drop-in names. */
	if (sh.role == SHELL_ENGINEER && sh.engineer_keys == NULL)
		sh.engineer_keys = sh.cfg.engineer_keys;

	conn = getenv("SSH_CONNECTION");
	if (conn == NULL || handoff_check_connection(conn) != 0)
		shell_refuse(SHELL_EXIT_REFUSED, "not run by sshd "
		    "(SSH_CONNECTION)");
	tunl_strlcpy(sh.connection, conn, sizeof(sh.connection));
	shell_conn_field(conn, 0, sh.rhost, sizeof(sh.rhost));
	shell_conn_field(conn, 2, sh.relay_host, sizeof(sh.relay_host));
	shell_conn_field(conn, 3, sh.relay_port, sizeof(sh.relay_port));
	sh.relay_gid = shell_gid(sh.cfg.relay_group);
	sh.now = (int64_t)time(NULL);
	shell_read_auth(&sh);

	if ((command = getenv("SSH_ORIGINAL_COMMAND")) == NULL)
		command = "";
	e = shell_args_parse(sh.role, command, strnlen(command,
	    SHELL_CMD_MAX + 1), sh.cfg.session_ttl, &cmd, err, sizeof(err));
	if (e != SHELL_ARGS_OK) {
		info("%s from %s: bad command \"%s\"", sh.role ==
		    SHELL_CUSTOMER ? "customer" : "engineer", sh.rhost,
		    shell_args_echo(command, strlen(command), echo,
		    sizeof(echo)));
		shell_refuse(SHELL_EXIT_USAGE, "%s", err);
	}

	if (sh.role == SHELL_CUSTOMER)
		rc = shell_customer(&sh, &cmd);
	else
		rc = shell_engineer(&sh, &cmd);
	fflush(stdout);
	log_close();
	return rc;
}
