/*
 * relay-pin.c: what a customer pins to know the relay. When the host
 * certificate authority's public key (host_ca_key with ".pub") exists, it
 * is the pin: sshd presents host certificates it signed, and one
 * `@cert-authority' line serves every relay of the operator. Otherwise the
 * pin is sshd's own public host key (relay_host_key).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tunl.h"

/*
 * The pin as "TYPE BASE64" into key, *is_ca set when it is the host CA.
 * A host CA .pub that exists but cannot be read or holds no key is an
 * error, not a reason to fall back: the operator meant it to be the pin.
 * Returns as relay_hostkey_load, with *path the file it read (the CA's
 * path is in a static buffer, valid until the next call).
 */
int
relay_pin_load(const struct tunl_cfg *cfg, char *key, size_t keylen,
    int *is_ca, const char **path, const char **why)
{
	static char	 pub[CFG_PATH_MAX + 8];
	int		 r;

	*is_ca = 0;
	if (why != NULL)
		*why = NULL;
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", cfg->host_ca_key) >=
	    sizeof(pub))
		return TUNL_ERR_LENGTH;
	r = relay_hostkey_load(pub, key, keylen, why);
	if (r == 0) {
		*is_ca = 1;
		*path = pub;
		return 0;
	}
	if (r != TUNL_ERR_SYSTEM || errno != ENOENT) {
		*path = pub;
		return r;
	}
	*path = cfg->relay_host_key;
	return relay_hostkey_load(cfg->relay_host_key, key, keylen, why);
}

/*
 * The known_hosts name OpenSSH looks the relay up by: the host alone on
 * port 22, else "[host]:port" (an IPv6 address without its brackets on
 * port 22, as ssh writes it).
 */
int
relay_pin_host(const struct relay_addr *a, char *out, size_t outlen)
{
	int	 n;

	if (a->port == 0 || a->port == 22)
		n = snprintf(out, outlen, "%s", a->host);
	else
		n = snprintf(out, outlen, "[%s]:%u", a->host, a->port);
	if (n < 0 || (size_t)n >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * The known_hosts line for the pin: "@cert-authority HOSTS TYPE KEY" for
 * a host CA, "HOSTS TYPE KEY" for a single key. hosts is a known_hosts
 * pattern list (no space, no quote, no newline).
 */
int
relay_pin_line(const char *hosts, int is_ca, const char *key, char *out,
    size_t outlen)
{
	int	 n;

	if (hosts[0] == '\0' || strpbrk(hosts, " \t\r\n\"'#") != NULL)
		return TUNL_ERR_INVALID;
	n = snprintf(out, outlen, "%s%s %s", is_ca ? "@cert-authority " : "",
	    hosts, key);
	if (n < 0 || (size_t)n >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}
