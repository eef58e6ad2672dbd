/*
 * tunl-share.c: the customer's program: options, the private directory,
 * the session from start to end (man/tunl-share.1).
 *
 *	tunl-share --relay HOST[:PORT] [--host-key 'TYPE KEY' |
 *	    --host-ca 'TYPE KEY'] [--case C]
 *	    [--restricted] [--known-hosts FILE]
 *	    [--token-fd N | --token-file PATH] SESSION-ID
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

/*
 * Why tunl-share ends when the relay keeps refusing a valid certificate
 * (share-proto.c, proto_refused): the end notice was lost on the way.
 */
#define GONE_N_(n)	#n
#define GONE_N(n)	GONE_N_(n)
#define GONE_WORDS	"the relay no longer accepts this session (it has " \
			"ended, or it is locked): it refused the session " \
			"certificate " GONE_N(SHARE_REFUSED_MAX) " times"

/*
 * Why tunl-share ends when the relay says a newer token has the session
 * (PROTO_ERR_SUPERSEDED): an engineer's `token <id>` made one, for a new
 * tunl-share; this one's certificate no longer produces.
 */
#define SUPERSEDED_WORDS "this session was handed to a newer tunl-share: " \
			"an engineer made a new token for it, and this " \
			"tunl-share's certificate is no longer accepted"

/* --help: the usage on stdout, exit 0. */
static int usage_help;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(usage_help ? stdout : stderr,
	    "usage: tunl-share --relay HOST[:PORT]\n"
	    "           [--host-key 'TYPE KEY' | --host-ca 'TYPE KEY']\n"
	    "           [--case C] [--restricted] [--known-hosts FILE]\n"
	    "           [--token-fd N | --token-file PATH] [--ready-file PATH]\n"
	    "           [--timing] [--spool-max MIB] [--silence SECONDS]\n"
	    "           SESSION-ID\n");
	exit(usage_help ? 0 : 2);
}

static void
on_signal(int sig)
{
	(void)sig;
	share_quit = 1;
}

/* HOST[:PORT] or [V6][:PORT], as relay_address is printed. */
static void
parse_relay(struct share *s, const char *arg)
{
	struct relay_addr	 a;
	const char		*why;

	if (relay_addr_parse(arg, &a, &why) != 0)
		fatal("--relay: %s (HOST, HOST:PORT or [IPV6]:PORT)", why);
	(void)tunl_strlcpy(s->host, a.host, sizeof(s->host));
	s->port[0] = '\0';
	if (a.port != 0)
		(void)snprintf(s->port, sizeof(s->port), "%u", a.port & 0xffff);
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
	set_path(s->snapfile, s->dir, "snapshot");
	set_path(s->sshlog, s->dir, "ssh.log");
}

/*
 * --host-key "TYPE BASE64": the relay's public host key, as the line
 * from the engineer carries it. It is written, alone, to a known_hosts
 * file of our own under an alias, and ssh checks the relay against that
 * file only (StrictHostKeyChecking=yes): nothing is ever learnt from the
 * network and trusted.
 *
 * --host-ca "TYPE BASE64": the operator's host certificate authority
 * instead. The file then holds one `@cert-authority *' line: the relay
 * must show a host certificate that CA signed naming the host given with
 * --relay (ssh checks the certificate's principals against it, so no
 * alias here). The file is ours alone, so "*" trusts that CA for this
 * connection only.
 */
static void
write_host_key(struct share *s, const char *key, int ca)
{
	char	 line[RELAY_HOSTKEY_MAX + sizeof(SHARE_HOST_ALIAS) + 32];
	int	 fd, n;

	set_path(s->known_hosts, s->dir, "known_hosts");
	/* ssh splits UserKnownHostsFile at blanks. */
	if (strpbrk(s->known_hosts, " \t\"'\\") != NULL)
		fatal("%s: the private directory's path holds a blank or a "
		    "quote", s->known_hosts);
	if (ca)
		n = snprintf(line, sizeof(line), "@cert-authority * %s\n",
		    key);
	else
		n = snprintf(line, sizeof(line), "%s %s\n", SHARE_HOST_ALIAS,
		    key);
	if (n < 0 || (size_t)n >= sizeof(line))
		fatal("%s: too long", ca ? "--host-ca" : "--host-key");
	if ((fd = open(s->known_hosts, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		fatal("%s: %s", s->known_hosts, strerror(errno));
	if (share_write_all(fd, line, (size_t)n) != 0)
		fatal("%s: cannot write", s->known_hosts);
	(void)close(fd);
	if (ca)
		s->host_ca_pin = 1;
	else
		s->host_key_alias = 1;
}

static void
ready_at_exit(void)
{
	share_ready_clear(&S);
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
	(void)unlink(s->snapfile);
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

/* Say in words why the relay was not reached or did not sign. */
static void
sign_failed(struct share *s)
{
	const char	*port = s->port[0] != '\0' ? s->port : "22";

	fprintf(stderr, "tunl-share: ");
	switch (s->diag) {
	case SHARE_DIAG_HOSTKEY_CHANGED:
	case SHARE_DIAG_HOSTKEY_UNKNOWN:
		fprintf(stderr, "refusing the relay %s: its host key could "
		    "not be verified.\n", s->host);
		if (s->host_key_alias)
			fprintf(stderr, "The key it showed is not the one "
			    "given with --host-key: the line you were given\n"
			    "may be wrong or old, or someone is in the way. "
			    "Check it with your support contact.\n");
		else if (s->host_ca_pin)
			fprintf(stderr, "It showed no host certificate of the "
			    "authority given with --host-ca for\nthat name: "
			    "the line may be wrong or old, or someone is in "
			    "the way. Check it\nwith your support contact.\n");
		else if (s->diag == SHARE_DIAG_HOSTKEY_CHANGED)
			fprintf(stderr, "It is not the key your known_hosts "
			    "holds for it: the key changed, or someone\nis "
			    "in the way. Check with your support contact.\n");
		else
			fprintf(stderr, "Ask your support contact for the "
			    "whole line to paste: it carries the relay's\n"
			    "host key (--host-key).\n");
		break;
	case SHARE_DIAG_REFUSED:
		fprintf(stderr, "cannot reach the relay: %s refused the "
		    "connection on port %s\n(connection refused: nothing "
		    "listens there). Check the host and the port in the\n"
		    "line you were given.\n", s->host, port);
		break;
	case SHARE_DIAG_RESOLVE:
		fprintf(stderr, "cannot find the relay: the name %s does not "
		    "resolve.\nCheck its spelling, or this machine's DNS.\n",
		    s->host);
		break;
	case SHARE_DIAG_UNREACHABLE:
		fprintf(stderr, "cannot reach the relay %s on port %s (no "
		    "route, or timed out):\na firewall may be in the way.\n",
		    s->host, port);
		break;
	case SHARE_DIAG_DENIED:
		fprintf(stderr, "the relay refused the session id or the "
		    "token (a wrong or already used token,\nor the session "
		    "is over or locked). Ask your support contact for a new "
		    "token.\n");
		break;
	case SHARE_DIAG_RELAY:
		fprintf(stderr, "the relay did not issue a session "
		    "certificate; it said:\n  %s\n", s->diag_detail);
		break;
	case SHARE_DIAG_CLOSED:
		fprintf(stderr, "the relay %s closed the connection before "
		    "it could sign (it may be\nbusy or refusing this "
		    "address for a while). Try again in a minute.\n",
		    s->host);
		break;
	default:
		fprintf(stderr, "the relay did not issue a session "
		    "certificate (wrong id or token, or the\nsession is "
		    "over).\n");
		break;
	}
	fprintf(stderr, "ssh's messages are in %s\n", s->sshlog);
}

/* The sign's second half; tmux, if it was started meanwhile, goes too. */
static void
sign_or_die(struct share *s, struct share_sign *sg, const char *token)
{
	if (share_ssh_sign_end(s, sg, token) != 0) {
		share_tmux_kill(s);
		sign_failed(s);
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
		{ "host-key",	required_argument,	NULL, 'K' },
		{ "host-ca",	required_argument,	NULL, 'A' },
		{ "token-fd",	required_argument,	NULL, 'f' },
		{ "token-file",	required_argument,	NULL, 'F' },
		{ "relay-fd",	required_argument,	NULL, 'T' },
		{ "no-attach",	no_argument,		NULL, 'n' },
		{ "chat-pane",	required_argument,	NULL, 'C' },
		{ "ready-file",	required_argument,	NULL, 'Y' },
		{ "timing",	no_argument,		NULL, 'M' },
		{ "spool-max",	required_argument,	NULL, 'S' },
		{ "silence",	required_argument,	NULL, 'L' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct share		*s = &S;
	struct cast_header	 ch;
	struct share_sign	 sg = { .pid = -1, .lfd = -1, .in = -1,
				     .out = -1, .logfd = -1 };
	pid_t			 keygen_pid = -1;
	char			 endnote[PROTO_TEXT_MAX + 64];
	struct sigaction	 sa;
	char			 token[SHARE_TOKEN_MAX + 1];
	char			 note[160];
	const char		*token_file = NULL, *ask, *why;
	char			 host_key[RELAY_HOSTKEY_MAX], idin[ID_INPUT_MAX];
	size_t			 idlen;
	int			 i;
	long long		 v;
	ssize_t			 n;
	int			 ch_, token_fd = -1, r;
	int			 relay_host_key_given = 0, host_ca = 0;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage_help = 1;
		usage();
	}

	/* ssh's askpass: the prompt is our only argument. */
	if ((ask = getenv(SHARE_ASKPASS_ENV)) != NULL && argc == 2)
		return share_askpass_main(ask, argv[1]);
	if (argc == 3 && strcmp(argv[1], "--chat-pane") == 0)
		return share_chat_pane_main(argv[2]);

	log_init("tunl-share", 0, LOG_TO_STDERR | LOG_NO_SYSLOG);
	memset(s, 0, sizeof(*s));
	s->relay_fd = s->audit_fd = s->chat_fd = s->chat_listen = -1;
	s->spool_fd = -1;
	s->spool_max = SHARE_SPOOL_MAX;
	s->alive_ms = SHARE_ALIVE_MS;
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
		case 'K':
			if (relay_host_key_given++ ||
			    relay_hostkey_parse(optarg, host_key,
			    sizeof(host_key), &why) != 0)
				fatal("--host-key: %s", relay_host_key_given > 1 ?
				    "given twice" : why);
			break;
		case 'A':
			host_ca = 1;
			if (relay_host_key_given++ ||
			    relay_hostkey_parse(optarg, host_key,
			    sizeof(host_key), &why) != 0)
				fatal("--host-ca: %s", relay_host_key_given > 1 ?
				    "given twice, or with --host-key" : why);
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
		case 'M':
			s->timing = 1;
			break;
		case 'Y':
			if (optarg[0] != '/' ||
			    strlen(optarg) + 32 >= sizeof(s->ready))
				fatal("--ready-file: an absolute path");
			(void)tunl_strlcpy(s->ready, optarg, sizeof(s->ready));
			break;
		case 'S':
			if (tunl_strtonum(optarg, 1, SHARE_SPOOL_MAX >> 20,
			    &v) != 0)
				fatal("--spool-max: 1 to %llu (MiB)",
				    SHARE_SPOOL_MAX >> 20);
			s->spool_max = (u_int64_t)v << 20;
			break;
		case 'L':
			if (tunl_strtonum(optarg, SHARE_ALIVE_MS / 1000,
			    SHARE_SILENCE_MAX, &v) != 0)
				fatal("--silence: %d to %d (seconds)",
				    SHARE_ALIVE_MS / 1000, SHARE_SILENCE_MAX);
			s->alive_ms = (int64_t)v * 1000;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	/* The id as read aloud: any case, words apart or joined by '-'. */
	if (argc < 1 || argc > ID_WORDS)
		usage();
	for (i = 0, idlen = 0; i < argc; i++) {
		if (idlen + strlen(argv[i]) + 2 > sizeof(idin))
			fatal("not a session id: too long");
		if (i > 0)
			idin[idlen++] = ' ';
		memcpy(idin + idlen, argv[i], strlen(argv[i]));
		idlen += strlen(argv[i]);
		idin[idlen] = '\0';
	}
	if (id_normalise(idin, s->session,
	    sizeof(s->session)) != 0)
		fatal("not a session id: four words, e.g. amber-falcon-river-"
		    "seven");
	if (relay_host_key_given && s->known_hosts[0] != '\0')
		fatal("--%s and --known-hosts exclude each other",
		    host_ca ? "host-ca" : "host-key");
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

	share_timing_start(s);
	umask(077);
	make_dir(s);
	/* Whatever way it ends, the ready file does not outlive it. */
	if (s->ready[0] != '\0')
		(void)atexit(ready_at_exit);
	if (relay_host_key_given)
		write_host_key(s, host_key, host_ca);
	if (share_audit_open(s->audit, &s->audit_fd) != 0)
		fatal("audit log %s: %s", s->audit, strerror(errno));
	(void)share_audit_note(s->audit_fd, s->restricted ?
	    "started (restricted)" : "started");
	if (s->relay_fd == -1) {
		get_token(s, token_fd, token_file, token, sizeof(token));
		share_timing_mark(s, "setup");
		/*
		 * The sign's ssh starts first: its key exchange and login
		 * are the longest wait, and need neither the key (it goes on
		 * ssh's input, read after the login) nor tmux.
		 */
		if (share_ssh_sign_begin(s, &sg) != 0) {
			sign_failed(s);
			remove_secrets(s);
			exit(1);
		}
		if (share_ssh_keygen_start(s, &keygen_pid) != 0) {
			share_ssh_sign_abort(s, &sg);
			fatal("cannot run ssh-keygen");
		}
		share_timing_mark(s, "ssh-sign");
	}

	/*
	 * tmux needs no certificate: it starts while ssh makes its key
	 * exchange and login for the sign. Its prompt waits for us.
	 */
	r = TUNL_ERR_ALLOC;
	if (ctlmode_init(&s->ctl) != 0 || share_ui_init(s) != 0 ||
	    (r = share_tmux_start(s)) != 0) {
		if (s->relay_fd == -1) {
			(void)share_ssh_keygen_wait(keygen_pid);
			share_ssh_sign_abort(s, &sg);
			remove_secrets(s);
		}
		fatal_r(r, "cannot start tmux on %s (or make %s)", s->sock,
		    s->chatsock);
	}
	share_timing_mark(s, "tmux");
	if (s->relay_fd == -1) {
		if (share_ssh_keygen_wait(keygen_pid) != 0 ||
		    share_ssh_sign_key(s, &sg) != 0) {
			share_ssh_sign_abort(s, &sg);
			share_tmux_kill(s);
			remove_secrets(s);
			fatal("ssh-keygen failed");
		}
		share_timing_mark(s, "keygen");
		sign_or_die(s, &sg, token);
		tunl_memzero(token, sizeof(token));
		share_timing_mark(s, "sign");
		/*
		 * The relay's login takes longer than anything tmux does: it
		 * starts now and goes on while the control client attaches;
		 * what the relay says waits in the pipe until the frame loop
		 * reads it. If this fails the loop tries again as after a
		 * lost link.
		 */
		if (share_ssh_produce(s) == 0)
			s->early = 1;
		share_timing_mark(s, "ssh");
	}
	share_ui_header(s);
	share_ui_status(s);
	if ((r = share_tmux_control(s)) != 0)
		fatal_r(r, "cannot attach the tmux control client");
	share_timing_mark(s, "control");
	(void)clock_gettime(CLOCK_MONOTONIC, &s->start);
	memset(&ch, 0, sizeof(ch));
	(void)share_tmux_size(s, &ch.cols, &ch.rows, &ch.cols, &ch.rows);
	s->cols = ch.cols;
	s->rows = ch.rows;
	ch.timestamp = (int64_t)time(NULL);
	(void)tunl_strlcpy(ch.session, s->session, sizeof(ch.session));
	(void)tunl_strlcpy(ch.case_ref, s->case_ref, sizeof(ch.case_ref));
	(void)tunl_strlcpy(ch.title, "tunl-share", sizeof(ch.title));
	/* The recording passes the relay's escape filter too: it is the
	 * file most likely to be handed to someone to play. */
	vtfilter_init(&s->cast_vf, VTFILTER_OUTPUT);
	if (ch.cols == 0 || ch.rows == 0 ||
	    (s->cast_buf = buf_new(VTFILTER_OUT_MAX(SHARE_CAST_CHUNK))) ==
	    NULL || cast_writer_open(s->dir, "session.cast", (gid_t)-1, &ch,
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
	share_timing_mark(s, "attach");

	if ((r = share_proto_run(s)) != 0)
		error_r(r, "frame loop");
	share_spool_close(s);
	if (s->dropped_output > 0 || s->spool_peak > 0) {
		(void)snprintf(note, sizeof(note), "output: dropped_output=%llu "
		    "bytes; the spool held at most %llu bytes",
		    (unsigned long long)s->dropped_output,
		    (unsigned long long)s->spool_peak);
		(void)share_audit_note(s->audit_fd, note);
	}

	/* Superseded: a bye would end the session under the newer one. */
	if (!s->relay_ended && !s->superseded)
		share_proto_bye(s);
	if (s->relay_ended) {
		(void)snprintf(endnote, sizeof(endnote), "ended by the relay: %s",
		    s->end_words);
		(void)share_audit_note(s->audit_fd, endnote);
	} else if (s->superseded)
		(void)share_audit_note(s->audit_fd, "ended: " SUPERSEDED_WORDS);
	else if (s->relay_gone)
		(void)share_audit_note(s->audit_fd, "ended: " GONE_WORDS);
	else if (s->refused > 0)
		/* Quit between refusals: the session may be over already. */
		(void)share_audit_note(s->audit_fd, "ended by the customer, "
		    "while the relay refused the session certificate (the "
		    "session may have ended, or be locked)");
	else
		(void)share_audit_note(s->audit_fd, "ended by the customer");
	share_ssh_stop(s, SHARE_BYE_MS);
	share_tmux_kill(s);
	if (s->attach_pid > 0)
		share_reap(s->attach_pid, SHARE_BYE_MS);
	if (s->cw != NULL) {
		share_proto_cast_flush(s);
		(void)cast_writer_close(s->cw);
	}
	buf_free(s->cast_buf);
	buf_free(s->snap_hold);
	buf_free(s->snap_state);
	share_ready_clear(s);
	remove_secrets(s);
	(void)close(s->audit_fd);
	if (s->relay_ended)
		printf("tunl-share: the relay ended the session: %s\n",
		    s->end_words);
	else if (s->superseded)
		printf("tunl-share: " SUPERSEDED_WORDS ".\n  Nothing was "
		    "ended: the session goes on with the tunl-share started "
		    "with the new token.\n");
	else if (s->relay_gone)
		printf("tunl-share: " GONE_WORDS ".\n  Ask your support "
		    "contact for a new session if you still need one.\n");
	printf("tunl-share: session ended. Key and certificate removed.\n"
	    "  audit log: %s\n  recording: %s\n", s->audit, s->cast);
	return 0;
}
