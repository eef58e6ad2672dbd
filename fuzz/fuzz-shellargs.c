/*
 * fuzz-shellargs.c: libFuzzer target for tunl-shell's command grammar
 * (both accounts) and its reading of authorized_keys lines. Whatever the
 * bytes, a parse that succeeds yields only values inside their grammar,
 * and a message that quotes the input stays printable ASCII.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* shell-identity.c refuses through tunl-shell.c; never reached here. */
void
shell_refuse(int status, const char *fmt, ...)
{
	(void)status;
	(void)fmt;
	abort();
}

static void
check(enum shell_role role, const uint8_t *data, size_t len)
{
	struct shell_cmd	 c;
	char			 err[512];
	size_t			 i;

	if (shell_args_parse(role, (const char *)data, len, 240, &c, err,
	    sizeof(err)) == SHELL_ARGS_OK) {
		if ((c.has_id && id_check(c.id) != 0) ||
		    (!c.has_id && c.id[0] != '\0') ||
		    (c.case_ref[0] != '\0' && !shell_args_case_ok(c.case_ref)) ||
		    (c.customer[0] != '\0' &&
		    !shell_args_customer_ok(c.customer)) ||
		    c.ttl > 240)
			__builtin_trap();
		return;
	}
	for (i = 0; err[i] != '\0'; i++) {
		if (err[i] < 0x20 || err[i] > 0x7e)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const u_char	 blob[51] = {
		0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1',
		'9', 0, 0, 0, 32
	};
	char			 name[SHELL_ENGINEER_MAX];

	check(SHELL_CUSTOMER, data, len);
	check(SHELL_ENGINEER, data, len);
	if (engineer_keyline((const char *)data, len, blob,
	    sizeof(blob), name, sizeof(name)) == 0 &&
	    !shell_args_engineer_ok(name))
		__builtin_trap();
	return 0;
}
