/*
 * authority-io.c: stdin, stdout and stderr of tunl-authority: bounded
 * reads, whole writes without stdio buffers (which could not be wiped),
 * and the one-line error the caller sees.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
