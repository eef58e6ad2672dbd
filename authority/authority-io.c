/*
 * authority-io.c: stdin, stdout and stderr of tunl-authority: bounded
 * reads, whole writes without stdio buffers (which could not be wiped),
 * and the one-line error the caller sees; the grammar of the fields the
 * verbs share, and what they do alike (open the registry, answer).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

/* One line on stderr: what the caller (and so the remote user) sees. */
void
authority_fail(const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tunl-authority: %s\n", msg);
}

/*
 * Read stdin to its end into buf (at most buflen - 1 bytes, then a NUL).
 * More than that is TUNL_ERR_LENGTH, a NUL byte TUNL_ERR_NUL.
 */
int
authority_read_stdin(char *buf, size_t buflen, size_t *lenp)
{
	ssize_t	 n;
	size_t	 len = 0;
	char	 extra;

	*lenp = 0;
	if (buflen == 0)
		return TUNL_ERR_LENGTH;
	while (len < buflen - 1) {
		n = read(STDIN_FILENO, buf + len, buflen - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return TUNL_ERR_SYSTEM;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == buflen - 1) {
		while ((n = read(STDIN_FILENO, &extra, 1)) == -1 &&
		    errno == EINTR)
			;
		if (n != 0)
			return n == -1 ? TUNL_ERR_SYSTEM : TUNL_ERR_LENGTH;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
		return TUNL_ERR_NUL;
	*lenp = len;
	return 0;
}

int
authority_write_stdout(const char *p, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		n = write(STDOUT_FILENO, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return TUNL_ERR_SYSTEM;
		off += (size_t)n;
	}
	return 0;
}

/*
 * The shape every request line must have before its own grammar: one
 * line (a final newline is dropped from *len), at most max bytes, and
 * nothing but printable ASCII.
 */
int
authority_line_check(const char *line, size_t *len, size_t max)
{
	size_t	 i;

	if (line == NULL)
		return TUNL_ERR_INVALID;
	if (*len > 0 && line[*len - 1] == '\n')
		(*len)--;
	if (*len > max)
		return TUNL_ERR_LENGTH;
	for (i = 0; i < *len; i++) {
		if ((u_char)line[i] < 0x20 || (u_char)line[i] > 0x7e)
			return TUNL_ERR_INVALID;
	}
	return 0;
}

static int
authority_char_ok(enum authority_charset set, char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	if (first)
		return 0;
	if (c == '.' || c == '-')
		return 1;
	if (set == AUTH_CHARS_NAME)
		return c == '_' || c == '@';
	return c == '_' || c == ':' || c == '#';
}

/*
 * Copy the value s (len bytes, not NUL-terminated) into out if it matches
 * the grammar: a letter or digit, then letters, digits, '.', '-' and, for
 * a name, '_' and '@', for a case, '_', ':' and '#'; 1 to AUTH_FIELD_MAX
 * bytes. With empty_ok, "-" stands for the empty string.
 */
int
authority_value(enum authority_charset set, const char *s, size_t len,
    int empty_ok, char *out, size_t outlen)
{
	size_t	 i;

	if (empty_ok && len == 1 && s[0] == '-') {
		out[0] = '\0';
		return 0;
	}
	if (len == 0 || len >= outlen || len > AUTH_FIELD_MAX)
		return TUNL_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (!authority_char_ok(set, s[i], i == 0))
			return TUNL_ERR_INVALID;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/*
 * SQLite keeps the -wal and -shm files beside the database; tunl-admin
 * init makes them broker_user:key_group 0660. If something removed them
 * (the sqlite3 tool, as root, removes both when it closes last), the next
 * program to open the registry makes them again, as its own user: for us
 * that is the caller's uid (with our key group, from the directory's
 * set-group-ID bit), which the broker account could not open. So a WAL
 * file that belongs to our real uid is opened to all: the directory
 * (2770, broker_user:key_group) still lets only its owner, the key group
 * and root reach it, and its owner, our caller, cannot search it.
 */
static void
authority_wal_modes(const char *db)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char		 path[PATH_MAX];
	struct stat	 st;
	size_t		 i;

	/*
	 * By path, never by opening the file: closing any descriptor of it
	 * would drop the POSIX locks SQLite holds on it for our connection,
	 * and another process could then truncate the -shm under our map.
	 * A link here can only lead to a file of our caller's (its uid is
	 * ours), which it may change itself.
	 */
	for (i = 0; i < TUNL_NITEMS(suffixes); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", db,
		    suffixes[i]) >= sizeof(path))
			return;
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_uid != getuid() || st.st_uid == 0 ||
		    (st.st_mode & 07777) == 0666)
			continue;
		if (chmod(path, 0666) == -1)
			error("%s: chmod: %s", path, strerror(errno));
		else
			info("%s was made again by uid %lu: opened to the "
			    "broker account (run tunl-admin init to give it "
			    "back to it)", path, (u_long)st.st_uid);
	}
}

/* The registry, or a logged error and the caller told it is unavailable. */
int
authority_open_registry(struct authority *a, struct registry **reg)
{
	int	 r;

	if ((r = registry_open(a->cfg.database, 0, reg)) != 0) {
		error_r(r, "registry %s: %s", a->cfg.database,
		    registry_errmsg(NULL));
		authority_fail("the registry is unavailable");
	} else
		authority_wal_modes(a->cfg.database);
	return r;
}

/*
 * Refuse unless the session `sid` is pending or active and not expired:
 * the one liveness check of every customer verb. `verb` names the verb
 * in the log; the caller is told only that it is not authorised, as for
 * every other refusal of the binding.
 */
int
authority_session_live(struct authority *a, struct registry *reg,
    const char *verb, const char *sid, struct session *s)
{
	int	 r;

	if ((r = registry_session_get(reg, sid, s)) == 0 &&
	    (s->state == SESSION_PENDING || s->state == SESSION_ACTIVE) &&
	    s->expires > a->now)
		return 0;
	error("%s %s refused: session %s", verb, sid, r != 0 ?
	    tunl_err(r) : s->expires <= a->now ? "expired" :
	    session_state_name(s->state));
	authority_fail("not authorised for that session");
	return r != 0 ? r : TUNL_ERR_DENIED;
}

/*
 * The answer of mint and token: "id=", "token=" and "expires=" lines on
 * stdout, written without stdio and wiped afterwards.
 */
int
authority_answer(const char *id, const char *token, int64_t expires)
{
	char	 answer[sizeof("id=\ntoken=\nexpires=\n") + ID_LEN_MAX +
		     TOKEN_LEN_MAX + 24];
	int	 n, r = TUNL_ERR_LENGTH;

	n = snprintf(answer, sizeof(answer), "id=%s\ntoken=%s\nexpires=%lld\n",
	    id, token, (long long)expires);
	if (n >= 0 && (size_t)n < sizeof(answer))
		r = authority_write_stdout(answer, (size_t)n);
	sodium_memzero(answer, sizeof(answer));
	if (r != 0)
		error_r(r, "cannot write the answer for %s", id);
	return r;
}
