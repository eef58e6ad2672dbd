/*
 * fuzz-pamargs.c: libFuzzer target for pam_tunl's argument parser. The
 * input is split at NUL bytes into an argv (as if each piece were one
 * word of the module's line in /etc/pam.d) and parsed. Whatever is
 * accepted must be within the grammar: an absolute configuration path,
 * delays within 0-5000 ms with the minimum not above the maximum; on
 * refusal the arguments are the defaults again and the error text is
 * printable.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pam_tunl.h"

#define FUZZ_ARGS	(PAM_TUNL_ARGS_MAX + 4)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pam_tunl_args	 a;
	const char		*argv[FUZZ_ARGS];
	char			*copy, *p, *end, err[PAM_TUNL_ERR_MAX];
	size_t			 i;
	int			 argc = 0, r;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	for (p = copy; p <= end && argc < FUZZ_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	if (size == 0)
		argc = 0;

	r = pam_tunl_args_parse(&a, argc, argv, err, sizeof(err));
	if (r == 0) {
		if (a.config[0] != '/' || strlen(a.config) >= CFG_PATH_MAX ||
		    strstr(a.config, "/../") != NULL ||
		    strstr(a.config, "//") != NULL ||
		    a.delay_min > a.delay_max ||
		    a.delay_max > PAM_TUNL_DELAY_LIMIT ||
		    (a.audit != 0 && a.audit != 1) ||
		    (a.debug != 0 && a.debug != 1) || err[0] != '\0')
			__builtin_trap();
	} else {
		if ((r != TUNL_ERR_INVALID && r != TUNL_ERR_RANGE) ||
		    strcmp(a.config, CFG_PATH_DEFAULT) != 0 ||
		    a.delay_min != PAM_TUNL_DELAY_MIN_DEFAULT ||
		    a.delay_max != PAM_TUNL_DELAY_MAX_DEFAULT ||
		    a.audit != 0 || a.debug != 0 || err[0] == '\0' ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		for (i = 0; err[i] != '\0'; i++) {
			if ((u_char)err[i] < 0x20 || (u_char)err[i] >= 0x7f)
				__builtin_trap();
		}
	}
	free(copy);
	return 0;
}
