/*
 * tunl-admin: the operator's command. It prepares the relay (init) and
 * says whether it is healthy (status).
 */
#include "config.h"

#include <errno.h>
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
	    "  init     create the database, keys and directories (as root)\n"
	    "  status   say whether the relay is healthy\n"
	    "  config   print the effective configuration\n"
	    "  help     this text\n"
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

int
main(int argc, char **argv)
{
	struct tunl_cfg	 cfg;
	const char	*path = NULL, *cmd;
	char		 err[512];
	int		 ch, r, quiet = 0, flags = 0;

	log_init("tunl-admin", LOG_AUTH, LOG_TO_STDERR | LOG_NO_SYSLOG);
	while ((ch = getopt(argc, argv, "f:hq")) != -1) {
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
	if (argc != 1)
		usage(2);
	cmd = argv[0];
	if (strcmp(cmd, "help") == 0)
		usage(0);

	if (path == NULL) {
		path = CFG_PATH_DEFAULT;
		flags = CFG_DEFAULT_OK;
	}
	if ((r = cfg_load(&cfg, path, flags, err, sizeof(err))) != 0) {
		fprintf(stderr, "tunl-admin: %s\n", err);
		return 1;
	}
	log_set_level(cfg.log_level);

	if (strcmp(cmd, "init") == 0)
		return admin_init(&cfg, path);
	if (strcmp(cmd, "status") == 0)
		return admin_status(&cfg, path, quiet);
	if (strcmp(cmd, "config") == 0)
		return admin_config(&cfg);
	(void)log_escape(err, 64, cmd, strlen(cmd));
	fprintf(stderr, "tunl-admin: unknown command \"%s\"\n", err);
	usage(2);
}
