/*
 * share-diag.c: why ssh failed, from what it wrote to <dir>/ssh.log.
 *
 * ssh runs with LogLevel=ERROR, so its stderr holds only its own error
 * lines and what the relay's ForceCommand printed ("tunl: ..."). Each
 * cause tunl-share can name has a few fixed phrases that OpenSSH has used
 * for many releases; the text is searched, never run or shown as is: the
 * relay's own line is copied out with everything outside printable ASCII
 * replaced. The log is the relay's words as much as ssh's, so it is
 * treated as outside input: bounded, and NUL bytes end nothing.
 */
#include "config.h"

#include <string.h>

#include "share.h"

struct share_diag_phrase {
	enum share_diag	 cause;
	const char	*text;
};

/* In order of precedence: the first cause found wins. */
static const struct share_diag_phrase share_diag_phrases[] = {
	{ SHARE_DIAG_HOSTKEY_CHANGED, "REMOTE HOST IDENTIFICATION HAS CHANGED" },
	{ SHARE_DIAG_HOSTKEY_CHANGED, "Host key for " },
	{ SHARE_DIAG_HOSTKEY_UNKNOWN, "host key is known for" },
	{ SHARE_DIAG_HOSTKEY_UNKNOWN, "Host key verification failed" },
	{ SHARE_DIAG_REFUSED, "Connection refused" },
	{ SHARE_DIAG_RESOLVE, "Could not resolve hostname" },
	{ SHARE_DIAG_RESOLVE, "Name or service not known" },
	{ SHARE_DIAG_RESOLVE, "Temporary failure in name resolution" },
	{ SHARE_DIAG_UNREACHABLE, "No route to host" },
	{ SHARE_DIAG_UNREACHABLE, "Network is unreachable" },
	{ SHARE_DIAG_UNREACHABLE, "Connection timed out" },
	{ SHARE_DIAG_UNREACHABLE, "Operation timed out" },
	{ SHARE_DIAG_DENIED, "Permission denied" },
	{ SHARE_DIAG_CLOSED, "Connection closed by" },
	{ SHARE_DIAG_CLOSED, "Connection reset by" },
	{ SHARE_DIAG_CLOSED, "kex_exchange_identification" },
};

/* memmem over len bytes that may hold NULs. */
static const char *
share_diag_find(const char *hay, size_t len, const char *needle)
{
	size_t	 n = strlen(needle), i;

	if (n == 0 || n > len)
		return NULL;
	for (i = 0; i + n <= len; i++) {
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	}
	return NULL;
}

/*
 * The first line of text (len bytes) that the relay's ForceCommand wrote,
 * "tunl: ...", copied to out with every byte outside printable ASCII made
 * '?', at most outlen - 1 bytes. Returns 1 when there was one.
 */
static int
share_diag_relay_line(const char *text, size_t len, char *out, size_t outlen)
{
	size_t	 i, n = 0;

	for (i = 0; i + 6 <= len; i++) {
		if ((i == 0 || text[i - 1] == '\n') &&
		    memcmp(text + i, "tunl: ", 6) == 0)
			break;
	}
	if (i + 6 > len || outlen == 0)
		return 0;
	for (; i < len && text[i] != '\n' && text[i] != '\r' &&
	    n + 1 < outlen; i++) {
		out[n++] = ((u_char)text[i] >= 0x20 &&
		    (u_char)text[i] < 0x7f) ? text[i] : '?';
	}
	out[n] = '\0';
	return 1;
}

/* One short phrase for a cause, for the chat pane. */
const char *
share_diag_phrase(enum share_diag cause)
{
	switch (cause) {
	case SHARE_DIAG_HOSTKEY_CHANGED:
	case SHARE_DIAG_HOSTKEY_UNKNOWN:
		return "the relay's host key could not be verified";
	case SHARE_DIAG_REFUSED:
		return "the relay refused the connection (nothing listens on "
		    "its port)";
	case SHARE_DIAG_RESOLVE:
		return "the relay's name does not resolve";
	case SHARE_DIAG_UNREACHABLE:
		return "no route to the relay, or it timed out";
	case SHARE_DIAG_DENIED:
		return "the relay did not accept that token";
	case SHARE_DIAG_CLOSED:
		return "the relay closed the connection";
	case SHARE_DIAG_RELAY:
		return "the relay refused";
	default:
		return "the relay did not issue a certificate";
	}
}

/*
 * What ssh's log (len bytes of text, at most SHARE_DIAG_LOG_MAX looked
 * at) says went wrong. detail (outlen bytes, may be NULL) gets the
 * relay's own line for SHARE_DIAG_RELAY, else is emptied.
 */
enum share_diag
share_diag_ssh(const char *text, size_t len, char *detail, size_t detaillen)
{
	enum share_diag	 cause = SHARE_DIAG_UNKNOWN;
	size_t		 i;

	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	if (text == NULL)
		return SHARE_DIAG_UNKNOWN;
	if (len > SHARE_DIAG_LOG_MAX)
		len = SHARE_DIAG_LOG_MAX;
	for (i = 0; i < TUNL_NITEMS(share_diag_phrases); i++) {
		if (share_diag_find(text, len, share_diag_phrases[i].text) !=
		    NULL) {
			cause = share_diag_phrases[i].cause;
			break;
		}
	}
	/* The relay's refusal says more than ssh's "closed" or nothing. */
	if ((cause == SHARE_DIAG_UNKNOWN || cause == SHARE_DIAG_CLOSED) &&
	    detail != NULL && share_diag_relay_line(text, len, detail,
	    detaillen))
		cause = SHARE_DIAG_RELAY;
	return cause;
}
