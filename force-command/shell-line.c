/*
 * shell-line.c: the line a customer pastes to share a terminal, as `new`,
 * `token` and a plain `ssh -t tunl@relay` print it:
 *
 *	tunl-share --relay HOST[:PORT] --host-key 'TYPE KEY' [...] ID
 *
 * It must work pasted on any machine, with no known_hosts entry for the
 * relay: the address is relay_address (tunl.conf(5)), else the address
 * and port this connection reached, with brackets around an IPv6 address;
 * the host key is sshd's public key (relay_host_key), which tunl-share
 * writes into a known_hosts file of its own and has ssh check.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "shell.h"

#define SHELL_KEYFILE_MAX	(RELAY_HOSTKEY_MAX + 512)	/* with comment */

/*
 * The relay's address as tunl-share --relay takes it: relay_address when
 * set, else the address and port of this connection's server end.
 */
int
shell_line_relay(const struct shell *sh, char *out, size_t outlen)
{
	struct relay_addr	 a;
	long long		 port;

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
	return relay_addr_format(&a, out, outlen);
}

/*
 * sshd's public host key from relay_host_key: a regular file, not a
 * link, read bounded; its first line, checked, without the comment.
 */
int
shell_line_host_key(const struct shell *sh, char *out, size_t outlen)
{
	char		 text[SHELL_KEYFILE_MAX + 1], *nl;
	const char	*why;
	struct stat	 st;
	ssize_t		 n = 0, got;
	int		 fd, r = TUNL_ERR_INVALID;

	if ((fd = open(sh->cfg.relay_host_key, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		error("relay_host_key %s: %s", sh->cfg.relay_host_key,
		    strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		error("relay_host_key %s: not a regular file",
		    sh->cfg.relay_host_key);
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	while ((size_t)n < sizeof(text) - 1) {
		got = read(fd, text + n, sizeof(text) - 1 - (size_t)n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += got;
	}
	text[n] = '\0';
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	else if ((size_t)n >= sizeof(text) - 1) {
		error("relay_host_key %s: first line too long",
		    sh->cfg.relay_host_key);
		goto out;
	}
	if ((r = relay_hostkey_parse(text, out, outlen, &why)) != 0)
		error("relay_host_key %s: %s", sh->cfg.relay_host_key, why);
 out:
	(void)close(fd);
	return r;
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
	int	 have_key;

	if (shell_line_relay(sh, relay, sizeof(relay)) != 0)
		tunl_strlcpy(relay, "RELAY", sizeof(relay));
	have_key = shell_line_host_key(sh, key, sizeof(key)) == 0;
	printf("    tunl-share --relay %s", relay);
	if (have_key)
		printf(" --host-key '%s'", key);
	if (case_ref != NULL && case_ref[0] != '\0')
		printf(" --case %s", case_ref);
	if (restricted)
		printf(" --restricted");
	printf(" %s\n", id);
	if (!have_key)
		printf("    (the relay's host key could not be read: the "
		    "customer needs it in known_hosts;\n     ask the relay's "
		    "operator, see tunl-admin doctor)\n");
}
