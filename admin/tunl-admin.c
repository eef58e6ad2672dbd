/*
 * tunl-admin: the operator's command. It prepares the relay (init),
 * says whether it is healthy (status) and what to fix (doctor), and
 * posts session events to webhooks (notify) and removes what is older
 * than the retention allows (prune).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "tunl.h"
#include "die.h"
#include "admin.h"

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: tunl-admin [-q] [-f config] command\n"
	    "commands:\n"
	    "  init [--host-ca [--host-name NAME[,NAME...]]]\n"
	    "           create the accounts, database, keys and directories\n"
	    "           and set the helpers' owners and modes (as root);\n"
	    "           --host-ca: also a host CA (host_ca_key) that signs\n"
	    "           sshd's host keys for NAMEs (default: relay_address)\n"
	    "  host-key [--hosts PATTERN]\n"
	    "           print the known_hosts line customers pin: the host CA\n"
	    "           (@cert-authority) when there is one, else sshd's key\n"
	    "  enable   wire tunl into sshd: the drop-in, then \"@include tunl\"\n"
	    "           in sshd's PAM stack, each checked first (as root)\n"
	    "  disable  take both out again, PAM first (as root)\n"
	    "  engineer add NAME KEYFILE|-   engineer remove NAME\n"
	    "  engineer list\n"
	    "           the engineers' keys (engineer_keys, root's)\n"
	    "  status   say whether the relay is healthy: every check of\n"
	    "           doctor (as root), plus session counts and disk use\n"
	    "  doctor [-q] [--fix] [options]\n"
	    "           accounts, files, programs, sshd, PAM, stale state\n"
	    "           and fail2ban, each problem with its fix (as root)\n"
	    "  notify [--once] [-f config]\n"
	    "           post session events to the webhook URLs (a service;\n"
	    "           --once: what is pending, then exit)\n"
	    "  prune    remove recordings older than recording_retention days,\n"
	    "           events and ended sessions older than event_retention\n"
	    "           days, never a live session's (as root; tunl-prune.timer)\n"
	    "  config   print the effective configuration\n"
	    "  help     this text\n"
	    "options of init, enable, disable, status and doctor, for tests\n"
	    "and unusual layouts:\n"
	    "  --libexecdir DIR --pamdir DIR --sshd PATH --sshd-config FILE\n"
	    "  --pam-dir DIR --fail2ban-dir DIR --dropin FILE\n"
	    "The configuration is read from -f, else %s.\n", CFG_PATH_DEFAULT);
	exit(status);
}

static int
admin_config(const struct tunl_cfg *cfg)
{
	struct buf	*b;
	int		 r;

	if ((b = buf_new(CFG_DUMP_MAX)) == NULL)
		fatal("out of memory");
	if ((r = cfg_dump(cfg, b)) != 0)
		fatal_r(r, "cannot print the configuration");
	fwrite(buf_ptr(b), 1, buf_len(b), stdout);
	buf_free(b);
	return 0;
}

static int
doctor_path(const char *opt, const char *arg)
{
	if (arg[0] != '/' || strlen(arg) >= PATH_MAX - 64) {
		fprintf(stderr, "tunl-admin: doctor %s needs an absolute path "
		    "(under %d bytes)\n", opt, PATH_MAX - 64);
		return -1;
	}
	return 0;
}

/* doctor's own options, after the command word (argv[0] is "doctor"). */
static void
doctor_args(int argc, char **argv, struct doctor_opts *o)
{
	static const struct option longopts[] = {
		{ "fix",		no_argument,		NULL, 'F' },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "libexecdir",		required_argument,	NULL, 'L' },
		{ "pamdir",		required_argument,	NULL, 'P' },
		{ "sshd",		required_argument,	NULL, 'S' },
		{ "sshd-config",	required_argument,	NULL, 'C' },
		{ "pam-dir",		required_argument,	NULL, 'D' },
		{ "fail2ban-dir",	required_argument,	NULL, 'B' },
		{ "dropin",		required_argument,	NULL, 'I' },
		{ "host-ca",		no_argument,		NULL, 'H' },
		{ "host-name",		required_argument,	NULL, 'N' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	const char	**dst;
	int		  ch, idx;

	optind = 0;		/* glibc: start over, argv[0] is the command */
	while ((ch = getopt_long(argc, argv, "+q", longopts, &idx)) != -1) {
		dst = NULL;
		switch (ch) {
		case 'F':
			o->fix = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'L':
			dst = &o->libexecdir;
			break;
		case 'P':
			dst = &o->pamdir;
			break;
		case 'S':
			dst = &o->sshd;
			break;
		case 'C':
			dst = &o->sshd_config;
			break;
		case 'D':
			dst = &o->pam_confdir;
			break;
		case 'B':
			dst = &o->fail2ban_dir;
			break;
		case 'I':
			dst = &o->dropin_src;
			break;
		case 'H':
			o->host_ca = 1;
			break;
		case 'N':
			if (!admin_hostca_names_ok(optarg)) {
				fprintf(stderr, "tunl-admin: --host-name: host "
				    "names or addresses, separated by "
				    "commas\n");
				usage(2);
			}
			o->host_names = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
		if (dst != NULL) {
			if (doctor_path(longopts[idx].name, optarg) != 0)
				usage(2);
			*dst = optarg;
		}
	}
	if (optind != argc)
		usage(2);
}

/* host-key's option, after the command word: --hosts PATTERN. */
static void
hostkey_args(int argc, char **argv, const char **hosts)
{
	static const struct option longopts[] = {
		{ "hosts",	required_argument,	NULL, 'H' },
		{ NULL,		0,			NULL, 0 }
	};
	int	 ch;

	optind = 0;		/* glibc: start over, argv[0] is the command */
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (ch != 'H')
			usage(2);
		*hosts = optarg;
	}
	if (optind != argc)
		usage(2);
}

/* notify's options, after the command word: --once, and -f as before it. */
static void
notify_args(int argc, char **argv, int *once, const char **path)
{
	static const struct option longopts[] = {
		{ "once",	no_argument,	NULL, 'o' },
		{ NULL,		0,		NULL, 0 }
	};
	int	 ch;

	optind = 0;		/* glibc: start over, argv[0] is the command */
	while ((ch = getopt_long(argc, argv, "+f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			*once = 1;
			break;
		case 'f':
			*path = optarg;
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

int
main(int argc, char **argv)
{
	struct tunl_cfg	 cfg;
	struct doctor_opts dopt = {
		.libexecdir = LIBEXECDIR "/tunl",
		.pamdir = PAMDIR,
		.sshd = SSHD_PATH,
		.sshd_config = NULL,
		.pam_confdir = "/etc/pam.d",
		.fail2ban_dir = "/etc/fail2ban",
		.dropin_src = DATADIR "/tunl/sshd-tunl.conf",
		.verb = "doctor",
	};
	const char	*path = NULL, *cmd, *hosts = NULL;
	char		 err[512];
	int		 ch, r, quiet = 0, flags = 0, once = 0, dflt;

	log_init("tunl-admin", LOG_AUTH, LOG_TO_STDERR | LOG_NO_SYSLOG);
	/* "+": stop at the command; doctor has options of its own. */
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		usage(0);
	while ((ch = getopt(argc, argv, "+f:hq")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(2);
	cmd = argv[0];
	if (strcmp(cmd, "help") == 0)
		usage(0);
	if (strcmp(cmd, "doctor") == 0 || strcmp(cmd, "status") == 0 ||
	    strcmp(cmd, "init") == 0 || strcmp(cmd, "enable") == 0 ||
	    strcmp(cmd, "disable") == 0) {
		dopt.quiet = quiet;
		doctor_args(argc, argv, &dopt);
		if (dopt.fix && strcmp(cmd, "doctor") != 0)
			usage(2);
		if ((dopt.host_ca || dopt.host_names != NULL) &&
		    strcmp(cmd, "init") != 0)
			usage(2);
		if (dopt.host_names != NULL && !dopt.host_ca)
			usage(2);
	} else if (strcmp(cmd, "engineer") == 0) {
		if (argc < 2)
			usage(2);
	} else if (strcmp(cmd, "host-key") == 0)
		hostkey_args(argc, argv, &hosts);
	else if (strcmp(cmd, "notify") == 0)
		notify_args(argc, argv, &once, &path);
	else if (argc != 1)
		usage(2);

	/* No -f: a missing default file means every default. */
	if (path == NULL)
		flags = CFG_DEFAULT_OK;
	if ((r = cfg_load(&cfg, path, flags, err, sizeof(err))) != 0) {
		fprintf(stderr, "tunl-admin: %s\n", err);
		return 1;
	}
	log_set_level(cfg.log_level);
	dflt = path == NULL;
	if (path == NULL)
		path = CFG_PATH_DEFAULT;

	if (strcmp(cmd, "init") == 0) {
		if ((r = admin_init(&cfg, path, dopt.libexecdir, dflt)) != 0 ||
		    !dopt.host_ca)
			return r;
		return admin_hostca_init(&cfg, &dopt);
	}
	if (strcmp(cmd, "host-key") == 0)
		return admin_host_key(&cfg, hosts);
	if (strcmp(cmd, "enable") == 0)
		return admin_enable(&cfg, &dopt);
	if (strcmp(cmd, "disable") == 0)
		return admin_disable(&cfg, &dopt);
	if (strcmp(cmd, "engineer") == 0)
		return admin_engineer(&cfg, argc, argv);
	if (strcmp(cmd, "status") == 0) {
		/* Healthy only when doctor's every check passes. */
		if (geteuid() != 0)
			return admin_status(&cfg, path, quiet);
		dopt.verb = "status";
		return admin_doctor(&cfg, path, &dopt);
	}
	if (strcmp(cmd, "doctor") == 0)
		return admin_doctor(&cfg, path, &dopt);
	if (strcmp(cmd, "config") == 0)
		return admin_config(&cfg);
	if (strcmp(cmd, "notify") == 0)
		return admin_notify(&cfg, path, once);
	if (strcmp(cmd, "prune") == 0)
		return admin_prune(&cfg);
	(void)log_escape(err, 64, cmd, strlen(cmd));
	fprintf(stderr, "tunl-admin: unknown command \"%s\"\n", err);
	usage(2);
}
