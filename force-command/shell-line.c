/*
 * shell-line.c: the line a customer pastes to share a terminal, as `new`,
 * `token` and a plain `ssh -t tunl@relay` print it:
 *
 *	tunl-share --relay HOST[:PORT] --host-key 'TYPE KEY' [...] ID
 *	tunl-share --relay HOST[:PORT] --host-ca 'TYPE KEY' [...] ID
 *
 * It must work pasted on any machine and into any shell, with no
 * known_hosts entry for the relay: the address is relay_address (tunl.conf(5)), else the address
 * and port this connection reached, with brackets around an IPv6 address;
 * the pin is the host CA's public key when `tunl-admin init --host-ca'
 * made one (host_ca_key), else sshd's public key (relay_host_key), which
 * tunl-share writes into a known_hosts file of its own and has ssh check.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tunl.h"
#include "shell.h"

/*
 * The relay's address as tunl-share --relay takes it: relay_address when
 * set, else the address and port of this connection's server end.
 */
int
shell_line_relay(const struct shell *sh, char *out, size_t outlen)
{
	struct relay_addr	 a, check;
	long long		 port;
	int			 r;

	if (sh->cfg.relay_address[0] != '\0') {
		/* cfg.c stored it in the printed form already. */
		if (tunl_strlcpy(out, sh->cfg.relay_address, outlen) >= outlen)
			return TUNL_ERR_LENGTH;
		return 0;
	}
	memset(&a, 0, sizeof(a));
	if (tunl_strlcpy(a.host, sh->relay_host, sizeof(a.host)) >=
	    sizeof(a.host) || a.host[0] == '\0')
		return TUNL_ERR_INVALID;
	a.v6 = strchr(a.host, ':') != NULL;
	if (tunl_strtonum(sh->relay_port, 1, 65535, &port) == 0 && port != 22)
		a.port = (u_int)port;
	/* Only what tunl-share will take (not, say, a zone "%eth0"). */
	if ((r = relay_addr_format(&a, out, outlen)) != 0 ||
	    (r = relay_addr_parse(out, &check, NULL)) != 0) {
		if (outlen > 0)
			out[0] = '\0';
		return r;
	}
	return 0;
}

/*
 * The pin, checked: the host CA's public key (*is_ca set) when there is
 * one, else sshd's public host key, from relay_host_key.
 */
int
shell_line_host_key(const struct shell *sh, char *out, size_t outlen,
    int *is_ca)
{
	const char	*why, *path = "";
	int		 r;

	r = relay_pin_load(&sh->cfg, out, outlen, is_ca, &path, &why);
	if (r == TUNL_ERR_SYSTEM)
		error("host key %s: %s", path, strerror(errno));
	else if (r != 0)
		error("host key %s: %s", path,
		    why != NULL ? why : tunl_err(r));
	return r;
}

/* The option that carries the pin in the line. */
static const char *
shell_line_pin_opt(int is_ca)
{
	return is_ca ? "--host-ca" : "--host-key";
}

/*
 * The customer's line for session id, unindented, with the options the
 * session needs, into out. *have_key says whether sshd's host key is in
 * it. Returns TUNL_ERR_LENGTH when it does not fit.
 */
int
shell_line_format(const struct shell *sh, const char *id,
    const char *case_ref, int restricted, char *out, size_t outlen,
    int *have_key)
{
	char		 relay[RELAY_ADDR_MAX], key[RELAY_HOSTKEY_MAX];
	const char	*q;
	int		 n, is_ca;

	if (shell_line_relay(sh, relay, sizeof(relay)) != 0)
		tunl_strlcpy(relay, "RELAY", sizeof(relay));
	*have_key = shell_line_host_key(sh, key, sizeof(key), &is_ca) == 0;
	/* Brackets are a glob to the customer's shell (zsh refuses it). */
	q = strchr(relay, '[') != NULL ? "'" : "";
	n = snprintf(out, outlen, "tunl-share --relay %s%s%s%s%s%s%s%s%s%s%s %s",
	    q, relay, q,
	    *have_key ? " " : "", *have_key ? shell_line_pin_opt(is_ca) : "",
	    *have_key ? " '" : "", *have_key ? key : "",
	    *have_key ? "'" : "",
	    case_ref != NULL && case_ref[0] != '\0' ? " --case " : "",
	    case_ref != NULL ? case_ref : "",
	    restricted ? " --restricted" : "", id);
	if (n < 0 || (size_t)n >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/* The SHA-256 fingerprint of a "TYPE BASE64" key, as ssh-keygen -l. */
static int
shell_line_fingerprint(const char *key, char *out, size_t outlen)
{
	static u_char	 blob[SSHKEY_BLOB_MAX];
	const char	*b64;
	size_t		 blen;

	if ((b64 = strchr(key, ' ')) == NULL ||
	    tunl_b64_decode(b64 + 1, strlen(b64 + 1), blob, sizeof(blob),
	    &blen) != 0)
		return TUNL_ERR_INVALID;
	return sshkey_fingerprint(blob, blen, out, outlen);
}

/*
 * Print the customer's line for session id, indented, with the options
 * the session needs. Without a readable host key the line is still
 * printed, and a second line says what is missing.
 */
void
shell_line_print(const struct shell *sh, const char *id,
    const char *case_ref, int restricted)
{
	char	 relay[RELAY_ADDR_MAX], key[RELAY_HOSTKEY_MAX];
	char	 fp[SSHKEY_FP_LEN];
	int	 have_key, is_ca;

	if (shell_line_relay(sh, relay, sizeof(relay)) != 0)
		tunl_strlcpy(relay, "RELAY", sizeof(relay));
	have_key = shell_line_host_key(sh, key, sizeof(key), &is_ca) == 0;
	/* Brackets are a glob to the customer's shell (zsh refuses it). */
	if (strchr(relay, '[') != NULL)
		printf("    tunl-share --relay '%s'", relay);
	else
		printf("    tunl-share --relay %s", relay);
	if (have_key)
		printf(" %s '%s'", shell_line_pin_opt(is_ca), key);
	if (case_ref != NULL && case_ref[0] != '\0')
		printf(" --case %s", case_ref);
	if (restricted)
		printf(" --restricted");
	printf(" %s\n", id);
	/* What to read aloud, or compare with tunl-admin host-key. */
	if (have_key && shell_line_fingerprint(key, fp, sizeof(fp)) == 0)
		printf("    (relay pinned by its %s, %s)\n",
		    is_ca ? "host CA" : "host key", fp);
	if (!have_key)
		printf("    (the relay's host key could not be read: the "
		    "customer needs it in known_hosts;\n     ask the relay's "
		    "operator, see tunl-admin doctor)\n");
}

/*
 * The known_hosts line a customer's own ssh needs for this relay (before
 * `get tunl-share', say): "@cert-authority HOST KEY" with a host CA, else
 * "HOST KEY", HOST as ssh looks the relay up ("[host]:port" off port 22).
 */
int
shell_line_pin(const struct shell *sh, char *out, size_t outlen, int *is_ca)
{
	struct relay_addr	 a;
	char			 relay[RELAY_ADDR_MAX], key[RELAY_HOSTKEY_MAX];
	char			 host[RELAY_ADDR_MAX];
	int			 r;

	if (outlen > 0)
		out[0] = '\0';
	if ((r = shell_line_relay(sh, relay, sizeof(relay))) != 0 ||
	    (r = relay_addr_parse(relay, &a, NULL)) != 0 ||
	    (r = relay_pin_host(&a, host, sizeof(host))) != 0 ||
	    (r = shell_line_host_key(sh, key, sizeof(key), is_ca)) != 0)
		return r;
	return relay_pin_line(host, *is_ca, key, out, outlen);
}
