/*
 * fuzz-relay-line.c: libFuzzer target for what the customer's line and
 * tunl-share parse from outside: the relay address (relay_addr_parse),
 * the relay's host key (relay_hostkey_parse), an id as typed
 * (id_normalise), and ssh's log (share_diag_ssh, client/share-diag.c).
 *
 * The first byte picks the parser; the rest, NUL-terminated, is its
 * input. What is accepted must keep the grammar's promises: an address
 * prints back to a form that parses to the same address; a host key is
 * printable, one space, and a fixed point; an id passes id_check and
 * normalises to itself; the relay's line from ssh's log is printable.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "share.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_addr(const char *s)
{
	struct relay_addr	 a, b;
	char			 out[RELAY_ADDR_MAX];

	if (relay_addr_parse(s, &a, NULL) != 0)
		return;
	if (a.host[0] == '\0' || a.port > 65535 ||
	    relay_addr_format(&a, out, sizeof(out)) != 0 ||
	    relay_addr_parse(out, &b, NULL) != 0 ||
	    strcmp(a.host, b.host) != 0 || a.port != b.port || a.v6 != b.v6 ||
	    strcmp(out, s) != 0)
		__builtin_trap();
}

static void
check_hostkey(const char *s)
{
	char	 out[RELAY_HOSTKEY_MAX], again[RELAY_HOSTKEY_MAX];
	size_t	 i, spaces = 0;

	if (relay_hostkey_parse(s, out, sizeof(out), NULL) != 0)
		return;
	for (i = 0; out[i] != '\0'; i++) {
		if ((u_char)out[i] < 0x20 || (u_char)out[i] >= 0x7f)
			__builtin_trap();
		spaces += out[i] == ' ';
	}
	if (spaces != 1 || relay_hostkey_parse(out, again, sizeof(again),
	    NULL) != 0 || strcmp(out, again) != 0)
		__builtin_trap();
}

static void
check_id(const char *s)
{
	char	 out[ID_LEN_MAX], again[ID_LEN_MAX];

	if (id_normalise(s, out, sizeof(out)) != 0) {
		if (out[0] != '\0')
			__builtin_trap();
		return;
	}
	if (id_check(out) != 0 || id_normalise(out, again,
	    sizeof(again)) != 0 || strcmp(out, again) != 0)
		__builtin_trap();
}

static void
check_diag(const char *s, size_t len)
{
	char		 d[SHARE_DIAG_DETAIL_MAX];
	enum share_diag	 c;
	size_t		 i;

	c = share_diag_ssh(s, len, d, sizeof(d));
	if (c > SHARE_DIAG_RELAY || (c != SHARE_DIAG_RELAY && d[0] != '\0'))
		__builtin_trap();
	for (i = 0; d[i] != '\0'; i++) {
		if ((u_char)d[i] < 0x20 || (u_char)d[i] >= 0x7f)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s;

	if (len < 1)
		return 0;
	if ((s = malloc(len)) == NULL)
		return 0;
	memcpy(s, data + 1, len - 1);
	s[len - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		check_addr(s);
		break;
	case 1:
		check_hostkey(s);
		break;
	case 2:
		check_id(s);
		break;
	default:
		check_diag(s, len - 1);
		break;
	}
	free(s);
	return 0;
}
