/*
 * log.c: messages to syslog and, for tools and tests, to stderr.
 *
 * Callers pass untrusted strings through log_escape() first (as tmux runs
 * stravis), so a peer cannot forge log lines or smuggle terminal escapes
 * into an operator's terminal. The PAM module does not use this file: it
 * logs with pam_syslog only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "tunl.h"

#define LOG_LINE_MAX	1024

static const char	*log_progname = "tunl";
static int		 log_flags = LOG_TO_STDERR | LOG_NO_SYSLOG;
static int		 log_opened;
static enum log_level	 log_level = TUNL_LOG_INFO;

void
log_init(const char *progname, int facility, int flags)
{
	log_progname = progname;
	log_flags = flags;
	if (!(flags & LOG_NO_SYSLOG)) {
		openlog(progname, LOG_PID | LOG_NDELAY, facility);
		log_opened = 1;
	}
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_close(void)
{
	if (log_opened)
		closelog();
	log_opened = 0;
}

static int
log_priority(enum log_level level)
{
	switch (level) {
	case TUNL_LOG_ERROR:
		return LOG_ERR;
	case TUNL_LOG_INFO:
		return LOG_INFO;
	case TUNL_LOG_VERBOSE:
		return LOG_INFO;
	case TUNL_LOG_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_INFO;
}

/*
 * The message itself is escaped too: a caller that forgot to escape an
 * untrusted argument still cannot put a newline or a control byte into the
 * log.
 */
static void
log_emit(enum log_level level, const char *msg)
{
	char	 esc[LOG_LINE_MAX * 4 + 1];

	(void)log_escape(esc, sizeof(esc), msg, strlen(msg));
	if (!(log_flags & LOG_NO_SYSLOG))
		syslog(log_priority(level), "%s", esc);
	if (log_flags & LOG_TO_STDERR)
		fprintf(stderr, "%s: %s\n", log_progname, esc);
}

void
log_msgv(enum log_level level, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX];
	int	 saved_errno = errno;

	if (level > log_level)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(level, msg);
	errno = saved_errno;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_msgv(level, fmt, ap);
	va_end(ap);
}

/* Log a message followed by the name of error r. */
void
log_msg_r(enum log_level level, int r, const char *fmt, ...)
{
	char	 msg[LOG_LINE_MAX];
	va_list	 ap;
	int	 saved_errno = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = saved_errno;
	log_msg(level, "%s: %s", msg, tunl_err(r));
	errno = saved_errno;
}

/*
 * Copy len bytes of src into dst as printable ASCII: bytes from 0x20 to
 * 0x7e stay as they are (except backslash, doubled), everything else
 * becomes \xNN. The result is always NUL-terminated and truncated at a
 * whole escape. Returns the length written.
 */
size_t
log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const u_char		*s = src;
	size_t			 i, o = 0;

	if (dstlen == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)s[i];
		} else if (s[i] == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 0xf];
		}
	}
	dst[o] = '\0';
	return o;
}
