/*
 * pam_tunl-args.c: the arguments on the module's line in /etc/pam.d.
 *
 * The grammar is strict: each argument is a known name, alone for a flag
 * or "name=value" for a setting, printable ASCII without spaces; no name
 * twice; numbers in their range. Anything else is an error that the
 * caller logs and fails closed on, because a mistyped "config=" or
 * "delay_min=" would otherwise quietly change what the module checks.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pam_tunl.h"

enum pam_tunl_arg_type {
	ARG_FLAG,
	ARG_PATH,
	ARG_MS
};

struct pam_tunl_arg {
	const char		*name;
	enum pam_tunl_arg_type	 type;
};

static const struct pam_tunl_arg pam_tunl_arg_table[] = {
	{ "config",	ARG_PATH },
	{ "audit",	ARG_FLAG },
	{ "debug",	ARG_FLAG },
	{ "delay_min",	ARG_MS },
	{ "delay_max",	ARG_MS },
};

#define ARG_ECHO_MAX	48	/* bytes of a bad argument quoted back */

/* Quote up to ARG_ECHO_MAX bytes of s, every unprintable byte as \xNN. */
static void
pam_tunl_args_echo(char *dst, size_t dstlen, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const u_char		*p = (const u_char *)s;
	size_t			 i, o = 0;

	if (dstlen == 0)
		return;
	for (i = 0; p[i] != '\0' && i < ARG_ECHO_MAX; i++) {
		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)p[i];
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 0xf];
		}
	}
	if (p[i] != '\0' && o + 3 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void
pam_tunl_args_error(char *err, size_t errlen, int n, const char *arg,
    const char *why)
{
	char	 echo[ARG_ECHO_MAX * 4 + 4];

	if (err == NULL || errlen == 0)
		return;
	if (arg == NULL) {
		(void)snprintf(err, errlen, "%s", why);
		return;
	}
	pam_tunl_args_echo(echo, sizeof(echo), arg);
	(void)snprintf(err, errlen, "argument %d \"%s\": %s", n + 1, echo,
	    why);
}

/*
 * An absolute path of at most CFG_PATH_MAX - 1 bytes from the portable
 * file name characters, without empty, "." or ".." components.
 */
static int
pam_tunl_args_path_ok(const char *s)
{
	const char	*c, *e;
	size_t		 n, i;

	n = strnlen(s, CFG_PATH_MAX);
	if (n < 2 || n >= CFG_PATH_MAX || s[0] != '/')
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '/' || s[i] == '.' || s[i] == '_' ||
		    s[i] == '-' || s[i] == '+'))
			return 0;
	}
	for (c = s + 1;; c = e + 1) {
		if ((e = strchr(c, '/')) == NULL)
			e = c + strlen(c);
		n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (*e == '\0')
			break;
	}
	return 1;
}

/*
 * Parse argc/argv (from pam_sm_*) into args, starting from the defaults.
 * 0 on success; TUNL_ERR_INVALID or TUNL_ERR_RANGE with err saying which
 * argument is wrong and why (the argument quoted with control bytes
 * escaped). On failure args holds the defaults again, never a mixture.
 */
int
pam_tunl_args_parse(struct pam_tunl_args *args, int argc, const char **argv,
    char *err, size_t errlen)
{
	const struct pam_tunl_arg	*a;
	const char			*arg, *eq, *val;
	char				 name[16];
	u_int				 seen = 0;
	long long			 ms;
	size_t				 len, nlen, i;
	int				 n, r = TUNL_ERR_INVALID;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(args, 0, sizeof(*args));
	tunl_strlcpy(args->config, CFG_PATH_DEFAULT, sizeof(args->config));
	args->delay_min = PAM_TUNL_DELAY_MIN_DEFAULT;
	args->delay_max = PAM_TUNL_DELAY_MAX_DEFAULT;

	if (argc < 0 || (argc > 0 && argv == NULL)) {
		pam_tunl_args_error(err, errlen, 0, NULL, "no argument list");
		goto out;
	}
	if (argc > PAM_TUNL_ARGS_MAX) {
		pam_tunl_args_error(err, errlen, 0, NULL,
		    "too many arguments");
		goto out;
	}
	for (n = 0; n < argc; n++) {
		if ((arg = argv[n]) == NULL) {
			pam_tunl_args_error(err, errlen, n, "", "missing");
			goto out;
		}
		len = strnlen(arg, PAM_TUNL_ARG_MAX);
		if (len == 0 || len >= PAM_TUNL_ARG_MAX) {
			pam_tunl_args_error(err, errlen, n, arg,
			    len == 0 ? "empty" : "too long");
			goto out;
		}
		for (i = 0; i < len; i++) {
			if ((u_char)arg[i] <= 0x20 || (u_char)arg[i] >= 0x7f)
				break;
		}
		if (i != len) {
			pam_tunl_args_error(err, errlen, n, arg,
			    "holds a space or a control character");
			goto out;
		}
		eq = strchr(arg, '=');
		nlen = eq == NULL ? len : (size_t)(eq - arg);
		a = NULL;
		for (i = 0; i < TUNL_NITEMS(pam_tunl_arg_table); i++) {
			if (strlen(pam_tunl_arg_table[i].name) == nlen &&
			    strncmp(pam_tunl_arg_table[i].name, arg,
			    nlen) == 0) {
				a = &pam_tunl_arg_table[i];
				break;
			}
		}
		if (a == NULL) {
			pam_tunl_args_error(err, errlen, n, arg,
			    "unknown argument");
			goto out;
		}
		if (seen & (1U << i)) {
			pam_tunl_args_error(err, errlen, n, arg,
			    "given twice");
			goto out;
		}
		seen |= 1U << i;
		tunl_strlcpy(name, a->name, sizeof(name));
		if (a->type == ARG_FLAG) {
			if (eq != NULL) {
				pam_tunl_args_error(err, errlen, n, arg,
				    "takes no value");
				goto out;
			}
			if (strcmp(name, "audit") == 0)
				args->audit = 1;
			else
				args->debug = 1;
			continue;
		}
		if (eq == NULL || eq[1] == '\0') {
			pam_tunl_args_error(err, errlen, n, arg,
			    "needs a value (name=value)");
			goto out;
		}
		val = eq + 1;
		if (a->type == ARG_PATH) {
			if (!pam_tunl_args_path_ok(val)) {
				pam_tunl_args_error(err, errlen, n, arg,
				    "not an absolute path of letters, digits "
				    "and ._+- without . or .. components");
				goto out;
			}
			tunl_strlcpy(args->config, val, sizeof(args->config));
			continue;
		}
		if ((r = tunl_strtonum(val, 0, PAM_TUNL_DELAY_LIMIT,
		    &ms)) != 0) {
			pam_tunl_args_error(err, errlen, n, arg,
			    r == TUNL_ERR_RANGE ? "out of range (0-5000 ms)" :
			    "not a number of milliseconds");
			if (r != TUNL_ERR_RANGE)
				r = TUNL_ERR_INVALID;
			goto out;
		}
		r = TUNL_ERR_INVALID;
		if (strcmp(name, "delay_min") == 0)
			args->delay_min = (u_int)ms;
		else
			args->delay_max = (u_int)ms;
	}
	if (args->delay_min > args->delay_max) {
		pam_tunl_args_error(err, errlen, 0, NULL,
		    "delay_min is larger than delay_max");
		r = TUNL_ERR_RANGE;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		memset(args, 0, sizeof(*args));
		tunl_strlcpy(args->config, CFG_PATH_DEFAULT,
		    sizeof(args->config));
		args->delay_min = PAM_TUNL_DELAY_MIN_DEFAULT;
		args->delay_max = PAM_TUNL_DELAY_MAX_DEFAULT;
	}
	return r;
}
