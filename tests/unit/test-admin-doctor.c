/*
 * test-admin-doctor.c: the readers tunl-admin doctor uses: sshd -T output
 * (admin_sshd_parse, admin_sshd_run with stand-in sshd programs) and PAM
 * service files (admin_pam_scan), each with well-formed and hostile input.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunl.h"
#include "admin.h"

static struct sshd_eff eff;

#define PARSE(s)	admin_sshd_parse((s), sizeof(s) - 1, &eff)

static void
test_sshd_parse_good(void **state)
{
	(void)state;
	assert_int_equal(PARSE(
	    "port 22\n"
	    "forcecommand /usr/libexec/tunl/tunl-shell\n"
	    "authenticationmethods keyboard-interactive publickey\n"
	    "authorizedprincipalscommand /usr/libexec/tunl/tunl-principals "
	    "-f /etc/tunl/tunl.conf %u %i %s %f\n"
	    "usepam yes\n"
	    "maxauthtries 3\n"
	    "hostkey /etc/ssh/a\n"
	    "hostkey /etc/ssh/b\n"
	    "permituserrc no"), 0);
	assert_true(eff.seen[SSHD_FORCECOMMAND]);
	assert_string_equal(eff.value[SSHD_FORCECOMMAND],
	    "/usr/libexec/tunl/tunl-shell");
	assert_string_equal(eff.value[SSHD_AUTHMETHODS],
	    "keyboard-interactive publickey");
	assert_string_equal(eff.value[SSHD_PRINCIPALSCMD],
	    "/usr/libexec/tunl/tunl-principals -f /etc/tunl/tunl.conf "
	    "%u %i %s %f");
	assert_string_equal(eff.value[SSHD_USEPAM], "yes");
	assert_string_equal(eff.value[SSHD_MAXAUTHTRIES], "3");
	/* The last line needs no newline. */
	assert_string_equal(eff.value[SSHD_PERMITUSERRC], "no");
	assert_false(eff.seen[SSHD_TRUSTEDCA]);
	assert_false(eff.seen[SSHD_EXPOSEAUTHINFO]);
	/* Empty output: nothing seen, not an error. */
	assert_int_equal(admin_sshd_parse("", 0, &eff), 0);
	assert_false(eff.seen[SSHD_FORCECOMMAND]);
	assert_string_equal(admin_sshd_name(SSHD_KBDINTERACTIVE),
	    "KbdInteractiveAuthentication");
	assert_string_equal(admin_sshd_keyword(SSHD_TCPFORWARDING),
	    "allowtcpforwarding");
	assert_string_equal(admin_sshd_keyword(SSHD_NKEYS), "");
}

static void
test_sshd_parse_hostile(void **state)
{
	char	*big;
	size_t	 n;

	(void)state;
	/* Lines that are not "keyword value" for a kept keyword: skipped. */
	assert_int_equal(PARSE("\n\n   \nFORCECOMMAND /x\n forcecommand /y\n"
	    "forcecommand\nforcecommandx /z\nusepam\n"), 0);
	assert_false(eff.seen[SSHD_FORCECOMMAND]);
	assert_false(eff.seen[SSHD_USEPAM]);
	/* A kept keyword twice, or with an empty value. */
	assert_int_equal(PARSE("usepam yes\nusepam no\n"), TUNL_ERR_EXISTS);
	assert_int_equal(PARSE("usepam \n"), TUNL_ERR_INVALID);
	/* Control characters in a kept value, a NUL anywhere. */
	assert_int_equal(PARSE("forcecommand /x\r\n"), TUNL_ERR_INVALID);
	assert_int_equal(PARSE("forcecommand /x\033]0;t\007\n"),
	    TUNL_ERR_INVALID);
	assert_int_equal(PARSE("forcecommand /x\177\n"), TUNL_ERR_INVALID);
	assert_int_equal(PARSE("port 22\0\nusepam yes\n"), TUNL_ERR_NUL);
	/* Control characters in a skipped line do not matter. */
	assert_int_equal(PARSE("banner \033[2J\nusepam yes\n"), 0);
	assert_string_equal(eff.value[SSHD_USEPAM], "yes");

	/* A value at the bound, and one over it. */
	n = strlen("forcecommand ") + SSHD_VALUE_MAX;
	assert_non_null(big = malloc(n + 1));
	memcpy(big, "forcecommand ", 13);
	memset(big + 13, 'a', SSHD_VALUE_MAX);
	big[n] = '\0';
	assert_int_equal(admin_sshd_parse(big, n - 1, &eff), 0);
	assert_int_equal(strlen(eff.value[SSHD_FORCECOMMAND]),
	    SSHD_VALUE_MAX - 1);
	assert_int_equal(admin_sshd_parse(big, n, &eff), TUNL_ERR_LENGTH);
	free(big);
	/* Output over the whole bound. */
	assert_non_null(big = malloc(SSHD_OUTPUT_MAX + 1));
	memset(big, '\n', SSHD_OUTPUT_MAX + 1);
	assert_int_equal(admin_sshd_parse(big, SSHD_OUTPUT_MAX, &eff), 0);
	assert_int_equal(admin_sshd_parse(big, SSHD_OUTPUT_MAX + 1, &eff),
	    TUNL_ERR_LENGTH);
	free(big);
}

/* A stand-in for sshd: a shell script at an absolute path. */
static void
write_script(const char *path, const char *body)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0700), 0);
}

static void
test_sshd_run(void **state)
{
	char	 dir[] = "/tmp/tunl-doctor-XXXXXX", prog[64], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/sshd", dir);

	/* The arguments arrive as given, one word each, no shell between. */
	write_script(prog, "[ \"$1 $2 $3 $4 $5 $#\" = "
	    "\"-T -f /etc/x y -C user=a;b,host=relay,addr=127.0.0.1 5\" ] "
	    "|| exit 3\nprintf 'usepam yes\\nforcecommand /p/tunl-shell\\n'");
	assert_int_equal(admin_sshd_run(prog, "/etc/x y",
	    "user=a;b,host=relay,addr=127.0.0.1", &eff, err, sizeof(err)), 0);
	assert_string_equal(eff.value[SSHD_USEPAM], "yes");
	assert_string_equal(eff.value[SSHD_FORCECOMMAND], "/p/tunl-shell");

	/* A failing sshd: its first stderr line, escaped, is the reason. */
	write_script(prog, "printf 'bad line 3\\033[2J\\nmore\\n' >&2\n"
	    "exit 255");
	assert_int_equal(admin_sshd_run(prog, NULL, "user=a", &eff, err,
	    sizeof(err)), TUNL_ERR_CONFIG);
	assert_non_null(strstr(err, "bad line 3"));
	assert_null(strchr(err, '\033'));
	assert_null(strstr(err, "more"));

	/* Output past the bound is drained and refused. */
	write_script(prog, "head -c 400000 /dev/zero | tr '\\0' x");
	assert_int_equal(admin_sshd_run(prog, NULL, "user=a", &eff, err,
	    sizeof(err)), TUNL_ERR_LENGTH);

	/* Hostile output from a successful run is refused by the parser. */
	write_script(prog, "printf 'usepam yes\\nusepam no\\n'");
	assert_int_equal(admin_sshd_run(prog, NULL, "user=a", &eff, err,
	    sizeof(err)), TUNL_ERR_EXISTS);

	/* Relative paths are refused before anything runs. */
	assert_int_equal(admin_sshd_run("sshd", NULL, "user=a", &eff, err,
	    sizeof(err)), TUNL_ERR_INVALID);
	assert_int_equal(admin_sshd_run(prog, "etc/x", "user=a", &eff, err,
	    sizeof(err)), TUNL_ERR_INVALID);
	/* A program that is not there. */
	assert_int_not_equal(admin_sshd_run("/nonexistent/sshd", NULL,
	    "user=a", &eff, err, sizeof(err)), 0);

	assert_int_equal(unlink(prog), 0);
	assert_int_equal(rmdir(dir), 0);
}

static struct pam_order po;

#define SCAN(s)	admin_pam_scan((s), sizeof(s) - 1, &po)

static void
test_pam_scan_good(void **state)
{
	(void)state;
	/* Debian's stack with the include where it belongs. */
	assert_int_equal(SCAN(
	    "# PAM configuration for the Secure Shell service\n"
	    "\n"
	    "@include tunl\n"
	    "# Standard Un*x authentication.\n"
	    "@include common-auth\n"
	    "account    required     pam_nologin.so\n"
	    "@include common-account\n"), 0);
	assert_int_equal(po.tunl_line, 3);
	assert_true(po.tunl_include);
	assert_int_equal(po.common_line, 5);
	assert_int_equal(po.other_line, 0);

	/* The lines pasted in, bracketed controls with spaces. */
	assert_int_equal(SCAN(
	    "auth\t[success=ignore default=1]\tpam_succeed_if.so quiet user = tunl\n"
	    "auth\t[success=done default=die]\t/lib/security/pam_tunl.so config=/etc/tunl/tunl.conf\n"
	    "auth [success=1 default=ignore] pam_unix.so nullok\n"
	    "account required pam_unix.so\n"), 0);
	assert_int_equal(po.tunl_line, 2);
	assert_false(po.tunl_include);
	assert_string_equal(po.module, "/lib/security/pam_tunl.so");
	assert_int_equal(po.other_line, 3);
	assert_string_equal(po.other_module, "pam_unix.so");
	assert_int_equal(po.common_line, 0);
	assert_int_equal(po.session_line, 0);

	/* pam.d/tunl's session lines: the guard is not the module's line. */
	assert_int_equal(SCAN(
	    "auth [success=done default=die] pam_tunl.so\n"
	    "session [success=ignore default=1] pam_succeed_if.so quiet user in tunl:support\n"
	    "session optional /lib/security/pam_tunl.so config=/etc/tunl/tunl.conf\n"
	    "#session optional pam_tunl.so\n"
	    "-session optional pam_tunl.so\n"), 0);
	assert_int_equal(po.session_line, 3);
	assert_int_equal(po.tunl_line, 1);
	assert_int_equal(po.guard_line, 2);
	assert_false(po.guard_more);
	assert_string_equal(po.guard, "quiet user in tunl:support");
	/* Only the line just before pam_tunl's is its guard. */
	assert_int_equal(SCAN(
	    "session [success=ignore default=1] pam_succeed_if.so user = tunl\n"
	    "session required pam_limits.so\n"
	    "session optional pam_tunl.so\n"), 0);
	assert_int_equal(po.session_line, 3);
	assert_int_equal(po.guard_line, 0);
	assert_int_equal(SCAN("session optional pam_tunl.so\n"), 0);
	assert_int_equal(po.guard_line, 0);
	assert_int_equal(SCAN("session optional pam_tunl_other.so\n"
	    "account required pam_tunl.so\n"), 0);
	assert_int_equal(po.session_line, 0);

	/* After common-auth; Red Hat's include syntax; "-auth". */
	assert_int_equal(SCAN(
	    "auth substack password-auth\n"
	    "-auth optional pam_tunl.so\n"), 0);
	assert_int_equal(po.common_line, 1);
	assert_int_equal(po.tunl_line, 2);
	assert_string_equal(po.module, "pam_tunl.so");
	assert_int_equal(SCAN("auth include tunl\nauth include system-auth"),
	    0);
	assert_int_equal(po.tunl_line, 1);
	assert_true(po.tunl_include);
	assert_int_equal(po.common_line, 2);

	/* Not there at all; commented out; only in account. */
	assert_int_equal(SCAN("#@include tunl\n  # auth required pam_tunl.so\n"
	    "account required pam_tunl.so\n@include common-auth\n"), 0);
	assert_int_equal(po.tunl_line, 0);
	assert_int_equal(po.common_line, 4);
	/* A comment after a line ends it. */
	assert_int_equal(SCAN("@include common-auth# x\n@include tunl#y\n"), 0);
	assert_int_equal(po.common_line, 1);
	assert_int_equal(po.tunl_line, 2);
}

static void
test_pam_scan_hostile(void **state)
{
	char	*big;

	(void)state;
	/* Broken lines are passed over, never misread. */
	assert_int_equal(SCAN("auth [success=done pam_tunl.so\n"
	    "auth\n@include\nauth required\n"
	    "@includetunl\nauthx required pam_tunl.so\n"
	    "auth required pam_tunlXso\n"), 0);
	assert_int_equal(po.tunl_line, 0);
	assert_int_equal(po.common_line, 0);
	assert_int_equal(po.other_line, 1 + 6);
	assert_string_equal(po.other_module, "pam_tunlXso");
	assert_int_equal(SCAN("@include tunl\0\n"), TUNL_ERR_NUL);
	/* A module path longer than its field. */
	assert_non_null(big = malloc(PAM_FILE_MAX + 1));
	memcpy(big, "auth required /", 15);
	memset(big + 15, 'a', 2000);
	memcpy(big + 2015, "/pam_tunl.so\n", 13);
	assert_int_equal(admin_pam_scan(big, 2028, &po), TUNL_ERR_LENGTH);
	/* Another module's long name is cut, not refused. */
	memcpy(big, "auth required ", 14);
	memset(big + 14, 'a', 2000);
	memcpy(big + 2014, ".so\n", 4);
	assert_int_equal(admin_pam_scan(big, 2018, &po), 0);
	assert_int_equal(po.other_line, 1);
	assert_int_equal(strlen(po.other_module), sizeof(po.other_module) - 1);
	/* A line over PAM_LINE_MAX, a file over PAM_FILE_MAX. */
	memset(big, '#', PAM_FILE_MAX + 1);
	assert_int_equal(admin_pam_scan(big, PAM_LINE_MAX, &po), 0);
	assert_int_equal(admin_pam_scan(big, PAM_LINE_MAX + 1, &po),
	    TUNL_ERR_LENGTH);
	memset(big, '\n', PAM_FILE_MAX + 1);
	assert_int_equal(admin_pam_scan(big, PAM_FILE_MAX, &po), 0);
	assert_int_equal(admin_pam_scan(big, PAM_FILE_MAX + 1, &po),
	    TUNL_ERR_LENGTH);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sshd_parse_good),
		cmocka_unit_test(test_sshd_parse_hostile),
		cmocka_unit_test(test_sshd_run),
		cmocka_unit_test(test_pam_scan_good),
		cmocka_unit_test(test_pam_scan_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
