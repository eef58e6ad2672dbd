/*
 * fuzz-handoff.c: libFuzzer target for the hand-off parser and the
 * SSH_CONNECTION grammar. What parses must format back to the same bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct handoff		 h;
	struct login_info	 li;
	struct buf		*b;
	u_char			 verifier[LOGIN_KEY_LEN];
	char			*s;

	if (handoff_parse((const char *)data, len, &h) == 0) {
		if ((b = buf_new(HANDOFF_FILE_MAX)) == NULL)
			return 0;
		if (handoff_format(&h, b) != 0 || buf_len(b) != len ||
		    memcmp(buf_ptr(b), data, len) != 0)
			__builtin_trap();
		buf_free(b);
	}
	/* The login file's text (login-key.c), never more than its bound. */
	if (len <= 256 && login_file_parse((const char *)data, len, verifier,
	    &li) == 0 && ((li.is_cert && id_check(li.session) != 0) ||
	    (li.is_engineer && proto_name_check(li.engineer) != 0) ||
	    li.is_cert + li.is_engineer + li.has_token > 1))
		__builtin_trap();
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	(void)handoff_check_connection(s);
	(void)handoff_check_source(s);
	free(s);
	return 0;
}
