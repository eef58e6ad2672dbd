/*
 * shell-endwhy.c: who ended a session and why, in words for the
 * customer, from the registry's last "ended" or "locked" event (asked of
 * tunl-authority, `ended <id>`). The broker's end notice says only what
 * it read ("session ended"), and a broker that died says nothing: the
 * customer is owed "ended by engineer alice (kill)" (issue 11 item 8).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

/*
 * Put in out (PROTO_TEXT_MAX + 1 bytes or less) who ended session id and
 * why, when someone other than the broker itself did: an engineer, the
 * relay (a broker that died) or the registry (the failure cap). Returns
 * 0 when out was written, TUNL_ERR_NOT_FOUND when the broker's own words
 * stand (it ended the session, or the customer did), another error when
 * the registry could not be read.
 */
int
shell_end_words(struct shell *sh, const char *id, char *out,
    size_t len)
{
	struct buf	*b;
	const u_char	*p;
	char		 why[256];
	size_t		 n;
	int		 rc, r = TUNL_ERR_DB;

	if ((b = buf_new(PROTO_TEXT_MAX + 2)) == NULL)
		return TUNL_ERR_ALLOC;
	rc = shell_reg_run(sh, "ended", id, NULL, b, why,
	    sizeof(why));
	if (rc == 3)
		r = TUNL_ERR_NOT_FOUND;
	else if (rc == 0) {
		p = buf_ptr(b);
		for (n = 0; n < buf_len(b) && p[n] >= 0x20 && p[n] < 0x7f; n++)
			;
		if (n > 0 && n < len && n <= PROTO_TEXT_MAX) {
			memcpy(out, p, n);
			out[n] = '\0';
			r = 0;
		}
	}
	buf_free(b);
	return r;
}
