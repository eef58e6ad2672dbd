/*
 * fuzz-engineer-keys.c: libFuzzer target for the authorized_keys line
 * reader that pam_tunl's session stage runs as root (engineer_keyline()).
 * The input is one line; it is looked up for a fixed ed25519 key, with a
 * full-size name buffer and with short ones. What it returns must agree
 * across the buffer sizes, a name is given only on success, and a name
 * given is a valid engineer name that the line spells out after
 * TUNL_ENGINEER=.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tunl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The key of every line in the seed corpus. */
static const char key_b64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAINYIq6bdib8IStO9iRUev63b1qKqWEEglxiwcygovyh5";

static int
line_names(const char *line, size_t len, const char *name)
{
	static const char	 var[] = "TUNL_ENGINEER=";
	size_t			 vlen = sizeof(var) - 1, nlen = strlen(name), i;

	for (i = 0; i + vlen + nlen <= len; i++) {
		if (memcmp(line + i, var, vlen) == 0 &&
		    memcmp(line + i + vlen, name, nlen) == 0)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static u_char	 blob[SSHKEY_BLOB_MAX];
	static size_t	 bloblen;
	const char	*line = (const char *)data;
	char		 name[PROTO_NAME_LEN], small[4], none[1] = { 'x' };
	int		 r, rs, rn;

	if (bloblen == 0 && sshkey_from_base64(key_b64, sizeof(key_b64) - 1,
	    blob, sizeof(blob), &bloblen) != 0)
		__builtin_trap();

	memset(name, 'x', sizeof(name));
	memset(small, 'x', sizeof(small));
	r = engineer_keyline(line, len, blob, bloblen, name, sizeof(name));
	rs = engineer_keyline(line, len, blob, bloblen, small, sizeof(small));
	rn = engineer_keyline(line, len, blob, bloblen, none, 0);
	if (r != rs || r != rn || none[0] != 'x')
		__builtin_trap();
	if (r > 0 || r < TUNL_ERR_MAX)
		__builtin_trap();
	if (strnlen(name, sizeof(name)) >= sizeof(name) ||
	    strnlen(small, sizeof(small)) >= sizeof(small))
		__builtin_trap();
	if (r != 0) {
		if (name[0] != '\0' || small[0] != '\0')
			__builtin_trap();
		return 0;
	}
	if (proto_name_check(name) != 0 || !line_names(line, len, name) ||
	    strncmp(name, small, sizeof(small) - 1) != 0)
		__builtin_trap();
	return 0;
}
