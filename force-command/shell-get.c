/*
 * shell-get.c: `get tunl-share` and `get tunl-share.sha256`, for a
 * customer whose machine has no tunl-share (README, "tunl-share"): the
 * static x86_64 tunl-share the relay was installed with, over the same
 * ssh login as everything else (no other listener), and its SHA-256.
 *
 * A customer may get it once logged in for a live session (the usual id
 * and token; the token is not used up: only sign does that); an engineer
 * may get it at any time, and `new` prints the customer's commands with
 * the hash (shell_get_hint), so the customer checks what they received
 * against what their engineer read to them.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "shell.h"

#define GET_CHUNK	(64 * 1024)

/*
 * Open the static tunl-share: a regular file of at most SHELL_GET_MAX
 * bytes. Returns the descriptor and its size, or -1 (logged) when this
 * relay has none.
 */
static int
shell_get_open(const struct shell *sh, off_t *size)
{
	struct stat	 st;
	int		 fd;

	fd = open(sh->share_static, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			error("%s: %s", sh->share_static, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > SHELL_GET_MAX) {
		error("%s: not a regular file of 1 to %d bytes",
		    sh->share_static, SHELL_GET_MAX);
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/* Write all of len bytes to fd; 0 or -1. */
static int
shell_get_write(int fd, const u_char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read the whole file (size bytes) from fd, hashing it into hex, and
 * copying it to out_fd unless that is -1. Returns 0, or -1 (logged).
 */
static int
shell_get_stream(const struct shell *sh, int fd, off_t size, int out_fd,
    char hex[crypto_hash_sha256_BYTES * 2 + 1])
{
	crypto_hash_sha256_state	 st;
	u_char				 h[crypto_hash_sha256_BYTES];
	u_char				*chunk;
	off_t				 done = 0;
	ssize_t				 n;
	int				 ret = -1;

	if ((chunk = malloc(GET_CHUNK)) == NULL) {
		error("get: out of memory");
		return -1;
	}
	crypto_hash_sha256_init(&st);
	while (done < size) {
		n = read(fd, chunk, GET_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || n > size - done) {
			error("%s: changed while read", sh->share_static);
			goto out;
		}
		crypto_hash_sha256_update(&st, chunk, (size_t)n);
		if (out_fd != -1 && shell_get_write(out_fd, chunk,
		    (size_t)n) != 0) {
			info("get: the client stopped reading");
			goto out;
		}
		done += n;
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof(h));
	ret = 0;
 out:
	free(chunk);
	return ret;
}

int
shell_get(struct shell *sh, const struct shell_cmd *cmd)
{
	char	 hex[crypto_hash_sha256_BYTES * 2 + 1];
	off_t	 size = 0;
	int	 fd, rc = SHELL_EXIT_REFUSED;

	if (!cmd->get_hash && isatty(STDOUT_FILENO))
		shell_refuse(SHELL_EXIT_USAGE, "get tunl-share writes a "
		    "program: send it to a file (ssh ... get tunl-share > "
		    "tunl-share), without -t");
	if ((fd = shell_get_open(sh, &size)) == -1)
		shell_refuse(SHELL_EXIT_REFUSED, "this relay has no static "
		    "tunl-share to give; ask the relay's operator");
	if (shell_get_stream(sh, fd, size, cmd->get_hash ? -1 : STDOUT_FILENO,
	    hex) == 0) {
		if (cmd->get_hash)
			printf("%s  tunl-share\n", hex);
		else
			fprintf(stderr, "tunl: sha256 %s  tunl-share "
			    "(%lld bytes)\n", hex, (long long)size);
		info("%s %s from %s: get %s (sha256 %s)",
		    sh->role == SHELL_CUSTOMER ? "customer" : "engineer",
		    sh->role == SHELL_CUSTOMER ? sh->session : sh->who,
		    sh->rhost, cmd->get_hash ? "tunl-share.sha256" :
		    "tunl-share", hex);
		rc = SHELL_EXIT_OK;
	}
	close(fd);
	if (rc != SHELL_EXIT_OK)
		shell_refuse(SHELL_EXIT_REFUSED, "could not send tunl-share");
	return rc;
}

/*
 * For `new`: how a customer without tunl-share gets it from this relay,
 * with its SHA-256 to check. Nothing when the relay has no static build.
 */
void
shell_get_hint(const struct shell *sh)
{
	struct relay_addr	 a;
	char			 relay[RELAY_ADDR_MAX], port[16] = "";
	char			 hex[crypto_hash_sha256_BYTES * 2 + 1];
	char			 pin[RELAY_PIN_MAX];
	off_t			 size;
	int			 fd, r, is_ca, have_pin;

	if ((fd = shell_get_open(sh, &size)) == -1)
		return;
	r = shell_get_stream(sh, fd, size, -1, hex);
	close(fd);
	if (r != 0 || shell_line_relay(sh, relay, sizeof(relay)) != 0 ||
	    relay_addr_parse(relay, &a, NULL) != 0)
		return;
	if (a.port != 0)
		snprintf(port, sizeof(port), "-p %u ", a.port);
	printf("No tunl-share on the customer's machine? This relay gives "
	    "a static x86_64 one\n(any Linux with OpenSSH 8.4 and tmux 3.2 "
	    "or later), after the same id and token:\n\n");
	/*
	 * The pin first, in a known_hosts file of its own: the first ssh to
	 * the relay is checked too, not trusted on first use.
	 */
	have_pin = shell_line_pin(sh, pin, sizeof(pin), &is_ca) == 0;
	if (have_pin) {
		printf("    echo '%s' > tunl-relay.known\n", pin);
		printf("    ssh -o UserKnownHostsFile=tunl-relay.known "
		    "-o StrictHostKeyChecking=yes %s%s@%s get tunl-share "
		    "> tunl-share\n", port, sh->cfg.customer_user, a.host);
	} else
		printf("    ssh %s%s@%s get tunl-share > tunl-share\n", port,
		    sh->cfg.customer_user, a.host);
	printf("    echo '%s  tunl-share' | sha256sum -c && "
	    "chmod +x tunl-share\n\n", hex);
}
