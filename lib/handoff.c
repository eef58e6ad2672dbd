/*
 * handoff.c: the file through which pam_tunl tells the ForceCommand which
 * session a keyboard-interactive login was authenticated for
 * (docs/auth-design.md).
 *
 * The file is named after an (unkeyed) hash of SSH_CONNECTION, which sshd
 * sets identically for PAM and for the session and which the client
 * cannot choose, so the reader recomputes the name from its own
 * environment and never trusts a path handed to it. Only root writes
 * hand-offs (O_EXCL, no links followed, 0640, the relay group); a reader
 * refuses any file that is not exactly that, or whose connection line is
 * not its own, or that is older than the time-to-live.
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"

#define HANDOFF_DOMAIN		"tunl-handoff-v1"
#define HANDOFF_SUFFIX		".handoff"

static int
handoff_check_port(const char *s, size_t len)
{
	char		 buf[8];
	long long	 v;

	if (len == 0 || len > 5)
		return TUNL_ERR_INVALID;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return tunl_strtonum(buf, 0, 65535, &v) == 0 ? 0 : TUNL_ERR_INVALID;
}

/* A numeric IPv4 or IPv6 address, as sshd writes it. */
int
handoff_check_source(const char *s)
{
	u_char	 addr[sizeof(struct in6_addr)];

	if (s == NULL || strnlen(s, HANDOFF_SOURCE_MAX) >= HANDOFF_SOURCE_MAX)
		return TUNL_ERR_INVALID;
	if (inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	return TUNL_ERR_INVALID;
}

/*
 * SSH_CONNECTION is "client-address client-port server-address
 * server-port": four fields, single spaces, numeric addresses.
 */
int
handoff_check_connection(const char *s)
{
	char		 addr[HANDOFF_SOURCE_MAX];
	const char	*p, *sp;
	size_t		 len;
	int		 field;

	if (s == NULL || strnlen(s, HANDOFF_CONN_MAX) >= HANDOFF_CONN_MAX)
		return TUNL_ERR_INVALID;
	p = s;
	for (field = 0; field < 4; field++) {
		sp = strchr(p, ' ');
		if ((sp == NULL) != (field == 3))
			return TUNL_ERR_INVALID;
		len = sp == NULL ? strlen(p) : (size_t)(sp - p);
		if (field % 2 == 0) {
			if (len == 0 || len >= sizeof(addr))
				return TUNL_ERR_INVALID;
			memcpy(addr, p, len);
			addr[len] = '\0';
			if (handoff_check_source(addr) != 0)
				return TUNL_ERR_INVALID;
		} else if (handoff_check_port(p, len) != 0)
			return TUNL_ERR_INVALID;
		if (sp != NULL)
			p = sp + 1;
	}
	return 0;
}

/* dir/<hex of BLAKE2b(domain, connection), first 16 bytes>.handoff */
int
handoff_path(const char *dir, const char *connection, char *out,
    size_t outlen)
{
	crypto_generichash_state	 st;
	u_char				 h[16];
	char				 hex[sizeof(h) * 2 + 1];

	if (handoff_check_connection(connection) != 0)
		return TUNL_ERR_INVALID;
	if (crypto_generichash_init(&st, NULL, 0, sizeof(h)) != 0 ||
	    crypto_generichash_update(&st, (const u_char *)HANDOFF_DOMAIN,
	    sizeof(HANDOFF_DOMAIN)) != 0 ||
	    crypto_generichash_update(&st, (const u_char *)connection,
	    strlen(connection)) != 0 ||
	    crypto_generichash_final(&st, h, sizeof(h)) != 0)
		return TUNL_ERR_CRYPTO;
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if ((size_t)snprintf(out, outlen, "%s/%s" HANDOFF_SUFFIX, dir, hex) >=
	    outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

static int
handoff_valid(const struct handoff *h)
{
	if (id_check(h->session) != 0 ||
	    handoff_check_source(h->rhost) != 0 ||
	    handoff_check_connection(h->connection) != 0 ||
	    (strcmp(h->method, "token") != 0 && strcmp(h->method, "id") != 0) ||
	    h->time <= 0)
		return TUNL_ERR_INVALID;
	return 0;
}

int
handoff_format(const struct handoff *h, struct buf *b)
{
	if (handoff_valid(h) != 0)
		return TUNL_ERR_INVALID;
	return buf_putf(b, "version=%d\nsession=%s\nrhost=%s\nconnection=%s\n"
	    "method=%s\ntime=%lld\n", HANDOFF_VERSION, h->session, h->rhost,
	    h->connection, h->method, (long long)h->time);
}

/*
 * Parse a hand-off: exactly the six lines handoff_format writes, in that
 * order, each ending in a newline, nothing after them.
 */
int
handoff_parse(const char *text, size_t len, struct handoff *h)
{
	static const char *const keys[] = {
		"version", "session", "rhost", "connection", "method", "time"
	};
	char		 line[HANDOFF_CONN_MAX + 16], *val;
	const char	*p = text, *end = text + len, *nl;
	long long	 v;
	size_t		 i, n, klen;

	memset(h, 0, sizeof(*h));
	if (len > HANDOFF_FILE_MAX || memchr(text, '\0', len) != NULL)
		return TUNL_ERR_INVALID;
	for (i = 0; i < TUNL_NITEMS(keys); i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return TUNL_ERR_INVALID;
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			return TUNL_ERR_INVALID;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		klen = strlen(keys[i]);
		if (strncmp(line, keys[i], klen) != 0 || line[klen] != '=')
			return TUNL_ERR_INVALID;
		val = line + klen + 1;
		/* Numbers in their one canonical form: no leading zero. */
		if ((i == 0 || i == 5) && val[0] == '0')
			return TUNL_ERR_INVALID;
		switch (i) {
		case 0:
			if (tunl_strtonum(val, HANDOFF_VERSION,
			    HANDOFF_VERSION, &v) != 0)
				return TUNL_ERR_VERSION;
			break;
		case 1:
			if (tunl_strlcpy(h->session, val, sizeof(h->session)) >=
			    sizeof(h->session))
				return TUNL_ERR_INVALID;
			break;
		case 2:
			if (tunl_strlcpy(h->rhost, val, sizeof(h->rhost)) >=
			    sizeof(h->rhost))
				return TUNL_ERR_INVALID;
			break;
		case 3:
			if (tunl_strlcpy(h->connection, val,
			    sizeof(h->connection)) >= sizeof(h->connection))
				return TUNL_ERR_INVALID;
			break;
		case 4:
			if (tunl_strlcpy(h->method, val, sizeof(h->method)) >=
			    sizeof(h->method))
				return TUNL_ERR_INVALID;
			break;
		case 5:
			if (tunl_strtonum(val, 1, INT64_MAX, &v) != 0)
				return TUNL_ERR_INVALID;
			h->time = v;
			break;
		}
	}
	if (p != end || handoff_valid(h) != 0) {
		memset(h, 0, sizeof(*h));
		return TUNL_ERR_INVALID;
	}
	return 0;
}

/* Remove path if it is a hand-off older than ttl seconds. */
static int
handoff_remove_stale(const char *path, int64_t now, int64_t ttl)
{
	struct stat	 st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : TUNL_ERR_SYSTEM;
	if (S_ISREG(st.st_mode) && (int64_t)st.st_mtime + ttl < now) {
		if (unlink(path) == -1 && errno != ENOENT)
			return TUNL_ERR_SYSTEM;
		return 0;
	}
	return TUNL_ERR_EXISTS;
}

/*
 * Write the hand-off for h->connection into dir (root only). A file of the
 * same name that is older than ttl is stale and replaced; a fresh one is
 * TUNL_ERR_EXISTS.
 */
int
handoff_write(const char *dir, const struct handoff *h, gid_t gid,
    int64_t now, int64_t ttl)
{
	char		 path[PATH_MAX];
	struct buf	*b = NULL;
	int		 r;

	if ((r = handoff_path(dir, h->connection, path, sizeof(path))) != 0)
		return r;
	if ((b = buf_new(HANDOFF_FILE_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = handoff_format(h, b)) != 0)
		goto out;
	if ((r = handoff_remove_stale(path, now, ttl)) != 0)
		goto out;
	r = tunl_private_file_create(path, gid, buf_ptr(b), buf_len(b));
 out:
	buf_free(b);
	return r;
}

/*
 * Read and check the hand-off for connection (the reader's own
 * SSH_CONNECTION): a regular file, owned by root, group gid, mode exactly
 * 0640, not older than ttl, naming that same connection.
 */
int
handoff_read(const char *dir, const char *connection, gid_t gid,
    int64_t now, int64_t ttl, struct handoff *h)
{
	char		 path[PATH_MAX], text[HANDOFF_FILE_MAX + 1];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd = -1, r;

	memset(h, 0, sizeof(*h));
	if ((r = handoff_path(dir, connection, path, sizeof(path))) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_gid != gid ||
	    (st.st_mode & 07777) != 0640 || st.st_size > HANDOFF_FILE_MAX) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	while (len < sizeof(text)) {
		n = read(fd, text + len, sizeof(text) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > HANDOFF_FILE_MAX) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	if ((r = handoff_parse(text, len, h)) != 0)
		goto out;
	if (strcmp(h->connection, connection) != 0) {
		r = TUNL_ERR_DENIED;
		goto out;
	}
	if (h->time > now + 60 || h->time + ttl < now) {
		r = TUNL_ERR_EXPIRED;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		memset(h, 0, sizeof(*h));
	if (fd != -1)
		close(fd);
	return r;
}

int
handoff_remove(const char *dir, const char *connection)
{
	char	 path[PATH_MAX];
	int	 r;

	if ((r = handoff_path(dir, connection, path, sizeof(path))) != 0)
		return r;
	if (unlink(path) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	return 0;
}

/* Remove every hand-off (and login file) in dir older than ttl seconds. */
int
handoff_clean(const char *dir, int64_t now, int64_t ttl, u_int *removed)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	size_t		 len;
	int		 dfd;

	*removed = 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return TUNL_ERR_SYSTEM;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		/* Hand-offs, and the login files beside them (login-key.c). */
		if (!(len == HANDOFF_NAME_LEN &&
		    strcmp(de->d_name + 32, HANDOFF_SUFFIX) == 0) &&
		    !(len == 32 + 6 && strcmp(de->d_name + 32, ".login") == 0))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if ((int64_t)st.st_mtime + ttl < now &&
		    unlinkat(dfd, de->d_name, 0) == 0)
			(*removed)++;
	}
	closedir(d);
	return 0;
}
