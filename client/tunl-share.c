/*
 * tunl-share.c: the customer's program: options, the private directory,
 * the session from start to end (man/tunl-share.1).
 *
 *	tunl-share --relay HOST[:PORT] [--case C] [--restricted]
 *	    [--known-hosts FILE] [--token-fd N | --token-file PATH] SESSION-ID
 *
 * The same program also runs as two helpers it starts itself: ssh's askpass
 * (when TUNL_SHARE_ASKPASS names the socket to ask) and the chat pane
 * (--chat-pane DIR).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "share.h"
#include "die.h"

extern volatile sig_atomic_t share_quit;

static struct share	 S;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: tunl-share --relay HOST[:PORT] [--case C] [--restricted]\n"
	    "           [--known-hosts FILE] [--token-fd N | --token-file PATH]"
	    "\n           SESSION-ID\n");
	exit(2);
}

static void
on_signal(int sig)
{
	(void)sig;
	share_quit = 1;
}

/* HOST[:PORT] or [V6]:PORT; host names and addresses only. */
static void
parse_relay(struct share *s, const char *arg)
{
	const char	*colon, *host = arg, *end;
	long long	 port;
	size_t		 len, i;

	if (arg[0] == '[') {
		host = arg + 1;
		if ((end = strchr(host, ']')) == NULL)
			fatal("--relay: missing ']'");
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			fatal("--relay: junk after ']'");
	} else {
		colon = strrchr(arg, ':');
		end = colon != NULL ? colon : arg + strlen(arg);
	}
	len = (size_t)(end - host);
	if (len == 0 || len > SHARE_HOST_MAX || host[0] == '-')
		fatal("--relay: bad host");
	for (i = 0; i < len; i++) {
		char	 c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    (arg[0] == '[' && c == ':')))
			fatal("--relay: bad character in host");
	}
	memcpy(s->host, host, len);
	s->host[len] = '\0';
	if (colon != NULL) {
		if (tunl_strtonum(colon + 1, 1, 65535, &port) != 0)
			fatal("--relay: bad port");
		(void)snprintf(s->port, sizeof(s->port), "%lld", port);
	}
}

static void
set_path(char *dst, const char *dir, const char *name)
{
	if ((size_t)snprintf(dst, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fatal("path too long: %s/%s", dir, name);
}

/* The private directory: mkdtemp under $XDG_RUNTIME_DIR or /tmp, 0700. */
static void
make_dir(struct share *s)
{
	const char	*base = getenv("XDG_RUNTIME_DIR");
	struct stat	 st;

	if (base == NULL || base[0] != '/' || stat(base, &st) == -1 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    strlen(base) > 64)
		base = "/tmp";
	(void)snprintf(s->dir, sizeof(s->dir), "%s/tunl-share.XXXXXX", base);
	if (mkdtemp(s->dir) == NULL)
		fatal("mkdtemp %s: %s", s->dir, strerror(errno));
	if (chmod(s->dir, 0700) == -1)
		fatal("chmod %s: %s", s->dir, strerror(errno));
	set_path(s->key, s->dir, "key");
	set_path(s->cert, s->dir, "key-cert.pub");
	set_path(s->sock, s->dir, "tmux.sock");
	set_path(s->audit, s->dir, "audit.log");
	set_path(s->cast, s->dir, "session.cast");
	set_path(s->chatsock, s->dir, "chat.sock");
	set_path(s->asksock, s->dir, "askpass.sock");
	set_path(s->sshlog, s->dir, "ssh.log");
}

/* Remove the secrets and the sockets; keep the log and the recording. */
static void
remove_secrets(struct share *s)
{
	char	 pub[PATH_MAX];

	set_path(pub, s->dir, "key.pub");
	(void)unlink(s->key);
	(void)unlink(pub);
	(void)unlink(s->cert);
	(void)unlink(s->chatsock);
	(void)unlink(s->asksock);
	(void)unlink(s->sock);
}

static void
get_token(struct share *s, int fd, const char *file, char *tok, size_t len)
{
	int	 r, tty = 0, own = 0;

	if (file != NULL) {
		if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			fatal("--token-file %s: %s", file, strerror(errno));
		own = 1;
	} else if (fd == -1) {
		if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) ==
		    -1)
			fatal("no terminal to ask for the token on: use "
			    "--token-fd or --token-file");
		own = tty = 1;
		dprintf(fd, "Session %s\nSession token (not shown): ",
		    s->session);
	}
	r = share_read_secret(fd, tty, tok, len);
	if (own)
		(void)close(fd);
	if (r != 0)
		fatal("could not read the token (empty, too long or not "
		    "printable)");
}

static void
sign_or_die(struct share *s, const char *token)
{
	int	 r;

	r = share_ssh_sign(s, token);
	if (r == TUNL_ERR_UNSAFE) {
		fprintf(stderr, "tunl-share: refusing the relay %s: its host "
		    "key could not be verified.\nAsk your support contact for "
		    "the relay's host key line and pass it with --known-hosts "
		    "FILE.\nssh's messages are in %s\n", s->host, s->sshlog);
		remove_secrets(s);
		exit(1);
	}
	if (r != 0) {
		fprintf(stderr, "tunl-share: the relay did not issue a session "
		    "certificate (wrong id or token, or the session is over)."
		    "\nssh's messages are in %s\n", s->sshlog);
		remove_secrets(s);
		exit(1);
	}
}

/* Attach the customer's terminal, and wait for it to detach or end. */
static pid_t
attach_terminal(struct share *s)
{
	const char *const argv[] = { "tmux", "-f", "/dev/null", "-S", s->sock,
	    "attach-session", "-t", SHARE_SESSION, NULL };
	pid_t	 pid;

	if (share_spawn(argv, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO,
	    &pid) != 0)
		fatal("cannot run tmux attach");
	return pid;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "relay",	required_argument,	NULL, 'r' },
		{ "case",	required_argument,	NULL, 'c' },
		{ "restricted",	no_argument,		NULL, 'R' },
		{ "known-hosts", required_argument,	NULL, 'k' },
		{ "token-fd",	required_argument,	NULL, 'f' },
		{ "token-file",	required_argument,	NULL, 'F' },
		{ "relay-fd",	required_argument,	NULL, 'T' },
		{ "no-attach",	no_argument,		NULL, 'n' },
		{ "chat-pane",	required_argument,	NULL, 'C' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct share		*s = &S;
	struct cast_header	 ch;
	struct sigaction	 sa;
	char			 token[SHARE_TOKEN_MAX + 1];
	const char		*token_file = NULL, *ask;
	long long		 v;
	ssize_t			 n;
	int			 ch_, token_fd = -1, r, st;

	/* ssh's askpass: the prompt is our only argument. */
	if ((ask = getenv(SHARE_ASKPASS_ENV)) != NULL && argc == 2)
		return share_askpass_main(ask, argv[1]);
	if (argc == 3 && strcmp(argv[1], "--chat-pane") == 0)
		return share_chat_pane_main(argv[2]);

	log_init("tunl-share", 0, LOG_TO_STDERR | LOG_NO_SYSLOG);
	memset(s, 0, sizeof(*s));
	s->relay_fd = s->audit_fd = s->chat_fd = s->chat_listen = -1;
	s->rin = s->rout = s->ctl_in = s->ctl_out = -1;
	while ((ch_ = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch_) {
		case 'r':
			parse_relay(s, optarg);
			break;
		case 'c':
			if (strlen(optarg) >= sizeof(s->case_ref) ||
			    proto_text_check(optarg, strlen(optarg)) != 0)
				fatal("--case: at most %zu printable bytes",
				    sizeof(s->case_ref) - 1);
			(void)tunl_strlcpy(s->case_ref, optarg,
			    sizeof(s->case_ref));
			break;
		case 'R':
			s->restricted = 1;
			break;
		case 'k':
			if (optarg[0] != '/' || strlen(optarg) >= PATH_MAX ||
			    strpbrk(optarg, " \t\"'\\") != NULL)
				fatal("--known-hosts: an absolute path without "
				    "spaces or quotes");
			(void)tunl_strlcpy(s->known_hosts, optarg,
			    sizeof(s->known_hosts));
			break;
		case 'f':
			if (tunl_strtonum(optarg, 0, 1024, &v) != 0)
				fatal("--token-fd: a descriptor number");
			token_fd = (int)v;
			break;
		case 'F':
			token_file = optarg;
			break;
		case 'T':
			if (tunl_strtonum(optarg, 3, 1024, &v) != 0)
				fatal("--relay-fd: a descriptor number over 2");
			s->relay_fd = (int)v;
			break;
		case 'n':
			s->no_attach = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if (id_check(argv[0]) != 0)
		fatal("not a session id: four words, e.g. amber-falcon-river-"
		    "seven");
	(void)tunl_strlcpy(s->session, argv[0], sizeof(s->session));
	if (s->host[0] == '\0' && s->relay_fd == -1)
		fatal("--relay HOST is needed");
	if (token_fd != -1 && token_file != NULL)
		fatal("--token-fd and --token-file exclude each other");
	if ((n = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1)) <= 0)
		fatal("cannot find this program's own path");
	s->self[n] = '\0';
	(void)unsetenv("TMUX");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	umask(077);
	make_dir(s);
	if (share_audit_open(s->audit, &s->audit_fd) != 0)
		fatal("audit log %s: %s", s->audit, strerror(errno));
	(void)share_audit_note(s->audit_fd, s->restricted ?
	    "started (restricted)" : "started");
	if (s->relay_fd == -1) {
		get_token(s, token_fd, token_file, token, sizeof(token));
		if (share_ssh_keygen(s) != 0)
			fatal("ssh-keygen failed");
		sign_or_die(s, token);
		tunl_memzero(token, sizeof(token));
	}

	if (ctlmode_init(&s->ctl) != 0 || share_ui_init(s) != 0)
		fatal("out of memory or cannot make %s", s->chatsock);
	if ((r = share_tmux_start(s)) != 0)
		fatal_r(r, "cannot start tmux on %s", s->sock);
	share_ui_header(s);
	share_ui_status(s);
	if ((r = share_tmux_control(s)) != 0)
		fatal_r(r, "cannot attach the tmux control client");
	(void)clock_gettime(CLOCK_MONOTONIC, &s->start);
	memset(&ch, 0, sizeof(ch));
	(void)share_tmux_size(s, &ch.cols, &ch.rows, &ch.cols, &ch.rows);
	s->cols = ch.cols;
	s->rows = ch.rows;
	ch.timestamp = (int64_t)time(NULL);
	(void)tunl_strlcpy(ch.session, s->session, sizeof(ch.session));
	(void)tunl_strlcpy(ch.case_ref, s->case_ref, sizeof(ch.case_ref));
	(void)tunl_strlcpy(ch.title, "tunl-share", sizeof(ch.title));
	if (ch.cols == 0 || ch.rows == 0 ||
	    cast_writer_open(s->dir, "session.cast", (gid_t)-1, &ch,
	    &s->cw) != 0)
		s->cw = NULL;

	printf("tunl-share: sharing session %s through %s%s.\n"
	    "  watch from another terminal: tmux -S %s attach -r\n"
	    "  end the session: C-b Q (in the tmux window)\n",
	    s->session, s->relay_fd != -1 ? "a test link" : s->host,
	    s->restricted ? " (restricted: watch and chat only)" : "",
	    s->sock);
	fflush(stdout);
	if (!s->no_attach)
		s->attach_pid = attach_terminal(s);

	if ((r = share_proto_run(s)) != 0)
		error_r(r, "frame loop");

	share_proto_bye(s);
	(void)share_audit_note(s->audit_fd, "ended by the customer");
	share_ssh_stop(s, SHARE_BYE_MS);
	share_tmux_kill(s);
	if (s->attach_pid > 0) {
		while (waitpid(s->attach_pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (s->cw != NULL)
		(void)cast_writer_close(s->cw);
	remove_secrets(s);
	(void)close(s->audit_fd);
	printf("tunl-share: session ended. Key and certificate removed.\n"
	    "  audit log: %s\n  recording: %s\n", s->audit, s->cast);
	return 0;
}
