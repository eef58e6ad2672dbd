/*
 * tunl-authority: the one program besides root that can read the token
 * key and the user CA key. It is installed root:<key_group> 2755; those
 * keys are root:<key_group> 0640, and no account is in that group, so
 * tunl-shell (which parses whatever customers and engineers send) never
 * holds either key and must ask this program:
 *
 *	tunl-authority [-f config] mint		engineer account only
 *	tunl-authority [-f config] token		engineer account only
 *	tunl-authority [-f config] sign <id>	customer account only
 *	tunl-authority [-f config] admit <id>	customer account only
 *	tunl-authority [-f config] admit <id> ro|rw <cols> <rows>
 *						engineer account only (join)
 *	tunl-authority [-f config] <registry verb> [<id>|--json]
 *		session, ended, reap, restrict, host, list, show, kill,
 *		unlock, live: every registry read and write of the relay
 *		accounts, which cannot open the database themselves
 *		(authority-registry.c)
 *
 * Being setgid it trusts nothing from its caller but its real uid: the
 * environment is cleared (SSH_CONNECTION and SSH_USER_AUTH, which sshd
 * sets and the client cannot, are kept), the umask is 077, stdin, stdout
 * and stderr must be open, and a configuration path on the command line
 * is honoured only for root. Errors are one line on stderr and exit 1;
 * decisions go to syslog (LOG_AUTH). See tunl-authority(8) and
 * docs/auth-design.md.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

#define AUTH_RUN_MAX	60	/* seconds before SIGALRM ends us */

#if defined(__SANITIZE_ADDRESS__)
#define AUTH_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUTH_ASAN	1
#endif
#endif

#ifdef AUTH_ASAN
/*
 * Sanitizer builds only. LeakSanitizer stops the process with ptrace at
 * exit, which a set-group-ID (non-dumpable) process refuses, and the
 * environment that could say so is ours to ignore; so leak checking is
 * off here. The unit tests and fuzz targets check these parsers for
 * leaks.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/*
 * A descriptor 0, 1 or 2 that is closed gets /dev/null, so that nothing
 * we open later lands there; but a caller that closed one is refused.
 */
static int
authority_check_stdfds(void)
{
	int	 fd, ok = 1;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		ok = 0;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			return -1;
	}
	return ok ? 0 : -1;
}

/*
 * Keep SSH_CONNECTION (bounded, checked when used) and SSH_USER_AUTH, drop
 * everything else the caller set (LD_*, PATH, TZ, locale, ...).
 */
static void
authority_clear_env(struct authority *a)
{
	const char	*conn, *userauth;
	char		 ua[PATH_MAX];

	a->connection[0] = '\0';
	ua[0] = '\0';
	if ((conn = getenv("SSH_CONNECTION")) != NULL &&
	    strnlen(conn, HANDOFF_CONN_MAX) < HANDOFF_CONN_MAX)
		tunl_strlcpy(a->connection, conn, sizeof(a->connection));
	/* The login key: only its exact grammar is kept; wiped after use. */
	a->login_key[0] = '\0';
	if ((conn = getenv(LOGIN_KEY_ENV)) != NULL &&
	    strnlen(conn, LOGIN_KEY_HEX + 1) == LOGIN_KEY_HEX)
		tunl_strlcpy(a->login_key, conn, sizeof(a->login_key));
	if ((userauth = getenv("SSH_USER_AUTH")) != NULL &&
	    strnlen(userauth, sizeof(ua)) < sizeof(ua))
		tunl_strlcpy(ua, userauth, sizeof(ua));
	(void)clearenv();
	if (a->connection[0] != '\0')
		(void)setenv("SSH_CONNECTION", a->connection, 1);
	if (ua[0] != '\0')
		(void)setenv("SSH_USER_AUTH", ua, 1);
}

static enum authority_role
authority_role(const struct tunl_cfg *cfg, uid_t uid)
{
	struct passwd	*pw;

	if ((pw = getpwnam(cfg->customer_user)) != NULL && pw->pw_uid == uid)
		return AUTH_ROLE_CUSTOMER;
	if ((pw = getpwnam(cfg->engineer_user)) != NULL && pw->pw_uid == uid)
		return AUTH_ROLE_ENGINEER;
	if ((pw = getpwnam(cfg->principals_user)) != NULL && pw->pw_uid == uid)
		return AUTH_ROLE_PRINCIPALS;
	return AUTH_ROLE_NONE;
}

/* --help: the usage on stdout, exit 0. */
static int usage_help;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(usage_help ? stdout : stderr, "usage: tunl-authority [-f config] mint\n"
	    "       tunl-authority [-f config] token\n"
	    "       tunl-authority [-f config] sign id\n"
	    "       tunl-authority [-f config] admit id [ro|rw cols rows]\n"
	    "       tunl-authority [-f config] session|ended|reap|restrict|"
	    "host|show|kill|unlock|live id\n"
	    "       tunl-authority [-f config] list [--json]\n");
	exit(usage_help ? 0 : 2);
}

int
main(int argc, char **argv)
{
	struct authority	 a;
	struct admit_join	 join;
	const char		*cfgpath = NULL, *verb;
	char			 err[512];
	int			 r, status;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage_help = 1;
		usage();
	}

	if (authority_check_stdfds() != 0) {
		openlog("tunl-authority", LOG_PID, LOG_AUTH);
		syslog(LOG_ERR, "refused: stdin, stdout or stderr was closed");
		return 1;
	}
	memset(&a, 0, sizeof(a));
	authority_clear_env(&a);
	umask(077);
	(void)alarm(AUTH_RUN_MAX);
	a.uid = getuid();
	a.now = (int64_t)time(NULL);
	log_init("tunl-authority", LOG_AUTH, 0);
	if (sodium_init() == -1) {
		authority_fail("libsodium cannot start");
		return 1;
	}

	/* No getopt: its behaviour depends on the environment. */
	if (argc >= 3 && strcmp(argv[1], "-f") == 0) {
		if (a.uid != 0) {
			error("refused -f from uid %lu", (u_long)a.uid);
			authority_fail("-f is for root only");
			return 1;
		}
		cfgpath = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		usage();
	verb = argv[1];
	if (strcmp(verb, "mint") == 0 || strcmp(verb, "token") == 0) {
		if (argc != 2)
			usage();
	} else if (strcmp(verb, "sign") == 0) {
		if (argc != 3)
			usage();
	} else if (strcmp(verb, "admit") == 0) {
		if (argc != 3 && authority_admit_join(argv + 3, argc - 3,
		    &join) != 0)
			usage();
	} else if (authority_registry_verb(verb) != NULL) {
		if (argc != 3 && !(argc == 2 && strcmp(verb, "list") == 0))
			usage();
	} else
		usage();

	if ((r = cfg_load(&a.cfg, cfgpath, cfgpath == NULL ?
	    CFG_DEFAULT_OK : 0, err, sizeof(err))) != 0) {
		error("configuration: %s", err);
		authority_fail("the relay's configuration is unusable");
		return 1;
	}
	log_set_level(a.cfg.log_level);
	a.role = authority_role(&a.cfg, a.uid);
	if (authority_privilege(&a) != 0)
		return 1;

	if (strcmp(verb, "mint") == 0)
		status = authority_mint(&a);
	else if (strcmp(verb, "token") == 0)
		status = authority_token(&a);
	else if (strcmp(verb, "admit") == 0)
		status = authority_admit(&a, argv[2], argc == 3 ? NULL :
		    &join);
	else if (authority_registry_verb(verb) != NULL)
		status = authority_registry(&a, verb, argc == 3 ? argv[2] :
		    NULL);
	else
		status = authority_sign(&a, argv[2]);
	log_close();
	return status;
}
