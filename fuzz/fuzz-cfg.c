/*
 * fuzz-cfg.c: libFuzzer target for the configuration parser. The input is
 * the file's text, passed in a buffer of its exact size (no NUL after it).
 * A text that parses must dump to a text that parses again to an equal
 * configuration and dumps to the same bytes; a text that fails must leave
 * the configuration untouched and explain itself.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tunl_cfg	 cfg, back, mark;
	struct buf	*b1 = NULL, *b2 = NULL;
	char		 err[512];
	int		 r;

	cfg_defaults(&mark);
	mark.token_length = TOKEN_DIGITS_MAX;
	cfg = mark;
	r = cfg_parse(&cfg, (const char *)data, len, "fuzz.conf", err,
	    sizeof(err));
	if (r != 0) {
		if (r != TUNL_ERR_CONFIG || !cfg_equal(&cfg, &mark) ||
		    strncmp(err, "fuzz.conf:", 10) != 0)
			__builtin_trap();
		return 0;
	}
	/* Success leaves no message behind. */
	if (err[0] != '\0')
		__builtin_trap();
	if ((b1 = buf_new(CFG_DUMP_MAX)) == NULL ||
	    (b2 = buf_new(CFG_DUMP_MAX)) == NULL)
		goto out;
	if (cfg_dump(&cfg, b1) != 0)
		__builtin_trap();
	if (cfg_parse(&back, (const char *)buf_ptr(b1), buf_len(b1),
	    "dump", err, sizeof(err)) != 0)
		__builtin_trap();
	if (!cfg_equal(&cfg, &back))
		__builtin_trap();
	if (cfg_dump(&back, b2) != 0 || buf_len(b1) != buf_len(b2) ||
	    memcmp(buf_ptr(b1), buf_ptr(b2), buf_len(b1)) != 0)
		__builtin_trap();
 out:
	buf_free(b1);
	buf_free(b2);
	return 0;
}
