/*
 * relay-addr.c: how a customer reaches the relay, as the line the engineer
 * hands out spells it (docs/config.md, relay_address; tunl-share(1)).
 *
 *  - an address: a host name or IPv4 address, or an IPv6 address in
 *    brackets, then an optional ":port" ("relay.example.com",
 *    "192.0.2.7:2222", "[2001:db8::7]:2222"). An IPv6 address without
 *    brackets is refused with a message that says to add them: its last
 *    group could be taken for a port.
 *  - a host key: "TYPE BASE64" as in a .pub file, without its comment; the
 *    key blob must decode and name the same type.
 *
 * The relay's configuration, the ForceCommand that prints the line and
 * tunl-share that reads it all parse with these functions, so what one
 * prints the other takes. Libc only: tunl-share links this file.
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"

/* The host key types an OpenSSH server offers. */
static const char *const relay_key_types[] = {
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-rsa",
};

static int
relay_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * A DNS name or dotted IPv4 address of len bytes: labels of letters,
 * digits and '-', 1 to 63 bytes, neither starting nor ending with '-',
 * joined by single dots; at most RELAY_HOST_MAX - 1 bytes.
 */
static int
relay_name_ok(const char *s, size_t len)
{
	size_t	 i, label = 0;

	if (len == 0 || len >= RELAY_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!relay_is_alnum(s[i]) && s[i] != '-')
			return 0;
		if (label == 0 && s[i] == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label != 0 && s[len - 1] != '-';
}

/* An IPv6 address of len bytes, as inet_pton takes it; no zone. */
static int
relay_v6_ok(const char *s, size_t len)
{
	char		 tmp[INET6_ADDRSTRLEN];
	u_char		 bin[16];
	size_t		 i;

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' ||
		    s[i] == '.'))
			return 0;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, bin) == 1;
}

/* A port: 1 to 5 decimal digits, no sign, no leading zero, 1-65535. */
static int
relay_port_parse(const char *s, u_int *port)
{
	u_int	 v = 0;
	size_t	 i;

	if (s[0] == '\0' || s[0] == '0')
		return TUNL_ERR_INVALID;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 5 || s[i] < '0' || s[i] > '9')
			return TUNL_ERR_INVALID;
		v = v * 10 + (u_int)(s[i] - '0');
	}
	if (v > 65535)
		return TUNL_ERR_INVALID;
	*port = v;
	return 0;
}

/*
 * Parse s, HOST[:PORT] or [V6][:PORT], into *a (port 0 when none was
 * given: ssh's default). Returns 0, or TUNL_ERR_INVALID with *why (when
 * why is not NULL) saying what is wrong; *a is then zeroed.
 */
int
relay_addr_parse(const char *s, struct relay_addr *a, const char **why)
{
	const char	*host, *end, *colon = NULL, *w = NULL;
	size_t		 len;
	int		 r = TUNL_ERR_INVALID;

	memset(a, 0, sizeof(*a));
	if (s == NULL || s[0] == '\0') {
		w = "empty address";
		goto out;
	}
	if (strnlen(s, RELAY_ADDR_MAX) >= RELAY_ADDR_MAX) {
		w = "address is too long";
		goto out;
	}
	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL) {
			w = "missing ']' after an IPv6 address";
			goto out;
		}
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0') {
			w = "only \":PORT\" may follow ']'";
			goto out;
		}
		len = (size_t)(end - host);
		if (!relay_v6_ok(host, len)) {
			w = "not an IPv6 address inside [ ]";
			goto out;
		}
		a->v6 = 1;
	} else {
		host = s;
		if ((colon = strchr(s, ':')) != NULL &&
		    strchr(colon + 1, ':') != NULL) {
			w = "an IPv6 address is written in brackets, "
			    "[ADDRESS]:PORT";
			goto out;
		}
		end = colon != NULL ? colon : s + strlen(s);
		len = (size_t)(end - host);
		if (!relay_name_ok(host, len)) {
			w = "not a host name or address (letters, digits, "
			    "'-' and '.')";
			goto out;
		}
	}
	if (colon != NULL && relay_port_parse(colon + 1, &a->port) != 0) {
		w = "the port is not a number from 1 to 65535";
		goto out;
	}
	memcpy(a->host, host, len);
	a->host[len] = '\0';
	r = 0;
 out:
	if (r != 0)
		memset(a, 0, sizeof(*a));
	if (why != NULL)
		*why = w;
	return r;
}

/*
 * Write a as tunl-share --relay takes it: brackets around an IPv6
 * address, ":port" unless the port is 0 (ssh's default). Returns 0 or
 * TUNL_ERR_LENGTH.
 */
int
relay_addr_format(const struct relay_addr *a, char *out, size_t outlen)
{
	char	 port[16] = "";
	int	 n;

	if (a->port > 65535)
		return TUNL_ERR_RANGE;
	if (a->port != 0)
		(void)snprintf(port, sizeof(port), ":%u", a->port);
	n = snprintf(out, outlen, "%s%s%s%s", a->v6 ? "[" : "", a->host,
	    a->v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return TUNL_ERR_LENGTH;
	}
	return 0;
}

static int
relay_b64_val(u_char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict padded base64 of len bytes (a multiple of 4) into out; *outlen
 * is the number of bytes decoded. Libc only: tunl-share reads its
 * certificate with it too.
 */
int
tunl_b64_decode(const char *s, size_t len, u_char *out, size_t outmax,
    size_t *outlen)
{
	u_int32_t	 acc;
	size_t		 i, j, n = 0, pad;
	int		 v;

	if (len == 0 || len % 4 != 0)
		return TUNL_ERR_INVALID;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == len && j >= 2) {
				pad++;
				acc <<= 6;
				continue;
			}
			if (pad > 0 || (v = relay_b64_val((u_char)s[i + j])) < 0)
				return TUNL_ERR_INVALID;
			acc = (acc << 6) | (u_int32_t)v;
		}
		if (n + 3 - pad > outmax)
			return TUNL_ERR_LENGTH;
		out[n++] = (acc >> 16) & 0xff;
		if (pad < 2)
			out[n++] = (acc >> 8) & 0xff;
		if (pad < 1)
			out[n++] = acc & 0xff;
	}
	*outlen = n;
	return 0;
}

/*
 * Check a host key given as "TYPE BASE64" (a .pub line; a comment after
 * a second space is dropped) and write "TYPE BASE64" to out. TYPE is one
 * of the types an OpenSSH server offers, and the key blob must decode and
 * begin with the same type. Returns 0, or TUNL_ERR_INVALID (or
 * TUNL_ERR_LENGTH for out too small) with *why set.
 */
int
relay_hostkey_parse(const char *s, char *out, size_t outlen,
    const char **why)
{
	u_char		 blob[RELAY_HOSTKEY_MAX];
	const char	*sp, *b64, *end, *w = NULL;
	size_t		 tlen, blen, n, i;
	u_int32_t	 slen;
	int		 r = TUNL_ERR_INVALID, known = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (s == NULL || strnlen(s, RELAY_HOSTKEY_MAX) >= RELAY_HOSTKEY_MAX) {
		w = "host key is empty or too long";
		goto out;
	}
	if ((sp = strchr(s, ' ')) == NULL) {
		w = "host key must be \"TYPE BASE64\", as in the relay's "
		    ".pub file";
		goto out;
	}
	tlen = (size_t)(sp - s);
	for (i = 0; i < TUNL_NITEMS(relay_key_types); i++) {
		if (strlen(relay_key_types[i]) == tlen &&
		    memcmp(relay_key_types[i], s, tlen) == 0)
			known = 1;
	}
	if (!known) {
		w = "not a host key type (ssh-ed25519, ecdsa-sha2-nistp256, "
		    "-384, -521 or ssh-rsa)";
		goto out;
	}
	b64 = sp + 1;
	if ((end = strchr(b64, ' ')) == NULL)
		end = b64 + strlen(b64);
	n = (size_t)(end - b64);
	if (tunl_b64_decode(b64, n, blob, sizeof(blob), &blen) != 0 ||
	    blen < 4) {
		w = "the key is not base64";
		goto out;
	}
	slen = ((u_int32_t)blob[0] << 24) | ((u_int32_t)blob[1] << 16) |
	    ((u_int32_t)blob[2] << 8) | blob[3];
	if (slen != tlen || blen - 4 < slen ||
	    memcmp(blob + 4, s, tlen) != 0 || blen - 4 == slen) {
		w = "the key's blob does not match its type";
		goto out;
	}
	if (tlen + 1 + n + 1 > outlen) {
		w = "host key is too long";
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	memcpy(out, s, tlen + 1 + n);
	out[tlen + 1 + n] = '\0';
	r = 0;
 out:
	if (why != NULL)
		*why = w;
	return r;
}

/*
 * Read a host key from a .pub file (sshd's, relay_host_key): a regular
 * file, not followed through a link, its first line at most
 * RELAY_HOSTKEY_MAX + 512 bytes (a comment may follow the key), checked
 * with relay_hostkey_parse. Returns 0; TUNL_ERR_SYSTEM (errno kept) when
 * it cannot be opened or read; TUNL_ERR_UNSAFE when it is not a regular
 * file; TUNL_ERR_INVALID with *why when it holds no host key.
 */
int
relay_hostkey_load(const char *path, char *out, size_t outlen,
    const char **why)
{
	char		 text[RELAY_HOSTKEY_MAX + 512 + 1], *nl;
	struct stat	 st;
	ssize_t		 got;
	size_t		 n = 0;
	int		 fd, r = TUNL_ERR_INVALID, saved;

	if (why != NULL)
		*why = NULL;
	if (outlen > 0)
		out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (why != NULL)
			*why = "not a regular file";
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	while (n < sizeof(text) - 1) {
		got = read(fd, text + n, sizeof(text) - 1 - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	text[n] = '\0';
	if ((nl = memchr(text, '\n', n)) != NULL) {
		*nl = '\0';
		n = (size_t)(nl - text);
	} else if (n >= sizeof(text) - 1) {
		if (why != NULL)
			*why = "its first line is too long";
		goto out;
	}
	if (strnlen(text, n) != n) {
		if (why != NULL)
			*why = "it holds a NUL byte";
		goto out;
	}
	r = relay_hostkey_parse(text, out, outlen, why);
 out:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}
