/*
 * cast.c: asciicast v2 recordings (docs/recording.md).
 *
 * The writer records what the customer's terminal printed ("o" events)
 * and its size changes ("r" events). There is no way to record keystrokes
 * through this interface, on purpose. Every event is formatted into one
 * buffer and written with one write(2), so a killed process leaves a file
 * that is valid up to its last complete line; fdatasync runs at most
 * CAST_SYNC_MS apart or every CAST_SYNC_BYTES while events keep coming,
 * and on close. Bytes arrive split anywhere: an incomplete UTF-8 sequence
 * at the end of one call is held back until the next, ill-formed input
 * becomes U+FFFD (one for each maximal ill-formed subpart, as Unicode
 * recommends), and strings are escaped so that the file holds no raw
 * control character at all.
 *
 * The reader is a strict parser for what the writer produces and for what
 * asciinema's own v2 files hold: a header object, then one event array a
 * line. Every length, number and nesting level is bounded.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tunl.h"

#define CAST_READ_CHUNK		(64 * 1024)
#define CAST_KEY_MAX		256	/* bytes in a header key */
#define CAST_ERRMSG_LEN		128
#define CAST_LINE_SLACK		64	/* room around an event's string */
#define CAST_REPLACEMENT	0xfffd

struct cast_writer {
	int		 fd;
	struct buf	*line;		/* the event being formatted */
	u_char		 pending[4];	/* incomplete UTF-8 held back */
	size_t		 npending;
	u_int64_t	 last_us;	/* time of the last event written */
	u_int64_t	 line_us;	/* time of the event being formatted */
	off_t		 off;		/* bytes of complete lines in the file */
	size_t		 unsynced;	/* written since the last fdatasync */
	struct timespec	 synced_at;
	int		 broken;	/* a failed write could not be undone */
	int		 owed;		/* line holds an event not yet written
					   (cast_writer_retry) */
	int		 sync_elsewhere;	/* the caller runs fdatasync */
};

struct cast_reader {
	int		 fd;
	struct buf	*in;		/* bytes read, not yet parsed */
	struct buf	*data;		/* the last event's decoded string */
	size_t		 scanned;	/* bytes of in searched for '\n' */
	size_t		 consume;	/* the line handed out last */
	u_int		 line;		/* number of the last line read */
	int		 eof;
	int		 torn;		/* the file ended inside a line */
	int		 skipping;	/* discarding an overlong line */
	int		 blank;		/* line number of a blank line seen */
	double		 last_t;
	struct cast_header hdr;
	char		 errmsg[CAST_ERRMSG_LEN];
};

/* A cursor over one line of JSON text. */
struct cast_cur {
	const u_char	*p;
	size_t		 len;
	size_t		 off;
	const char	*why;		/* what was wrong, for the message */
};

/* ---- UTF-8 --------------------------------------------------------------- */

/*
 * Look at the character starting at p (len > 0). Returns 1 with *cp and
 * *used set for a well-formed character; -1 with *cp = U+FFFD and *used
 * the length of the maximal ill-formed subpart (at least 1) for ill-formed
 * bytes; 0 when all len bytes are a well-formed prefix that needs more.
 * Unicode's Table 3-7 gives the ranges of the second byte.
 */
static int
cast_utf8_next(const u_char *p, size_t len, u_int32_t *cp, size_t *used)
{
	u_int32_t	 v;
	u_char		 lo = 0x80, hi = 0xbf, b;
	size_t		 n, i;

	b = p[0];
	if (b < 0x80) {
		*cp = b;
		*used = 1;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		v = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		v = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (b == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		v = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* no overlong forms */
		else if (b == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else {
		/* A stray continuation byte, C0, C1 or F5..FF. */
		*cp = CAST_REPLACEMENT;
		*used = 1;
		return -1;
	}
	for (i = 1; i < n; i++) {
		if (i >= len) {
			*used = len;
			return 0;
		}
		b = p[i];
		if (b < lo || b > hi) {
			*cp = CAST_REPLACEMENT;
			*used = i;
			return -1;
		}
		lo = 0x80;
		hi = 0xbf;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	*used = n;
	return 1;
}

static size_t
cast_utf8_put(u_char *d, u_int32_t cp)
{
	if (cp < 0x80) {
		d[0] = (u_char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (u_char)(0xc0 | (cp >> 6));
		d[1] = (u_char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (u_char)(0xe0 | (cp >> 12));
		d[1] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (u_char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (u_char)(0xf0 | (cp >> 18));
	d[1] = (u_char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (u_char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- JSON escaping ------------------------------------------------------- */

/* A byte that stands for itself inside a JSON string. */
static int
cast_plain(u_char b)
{
	return b >= 0x20 && b < 0x7f && b != '"' && b != '\\';
}

/*
 * How many bytes the character takes inside a JSON string. C0 and C1
 * controls, DEL and the two characters JavaScript treats as line ends are
 * escaped, so the file never holds a raw control character and is safe to
 * print on a terminal.
 */
static size_t
cast_escaped_len(u_int32_t cp)
{
	switch (cp) {
	case '"': case '\\': case '\b': case '\f': case '\n': case '\r':
	case '\t':
		return 2;
	}
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    cp == 0x2028 || cp == 0x2029)
		return 6;
	if (cp < 0x80)
		return 1;
	if (cp < 0x800)
		return 2;
	if (cp < 0x10000)
		return 3;
	return 4;
}

static int
cast_escape_put(struct buf *b, u_int32_t cp)
{
	static const char	 hex[] = "0123456789abcdef";
	u_char			 d[6];
	size_t			 n;

	switch (cp) {
	case '"':	return buf_put(b, "\\\"", 2);
	case '\\':	return buf_put(b, "\\\\", 2);
	case '\b':	return buf_put(b, "\\b", 2);
	case '\f':	return buf_put(b, "\\f", 2);
	case '\n':	return buf_put(b, "\\n", 2);
	case '\r':	return buf_put(b, "\\r", 2);
	case '\t':	return buf_put(b, "\\t", 2);
	}
	if (cast_escaped_len(cp) == 6) {
		d[0] = '\\';
		d[1] = 'u';
		d[2] = (u_char)hex[(cp >> 12) & 0xf];
		d[3] = (u_char)hex[(cp >> 8) & 0xf];
		d[4] = (u_char)hex[(cp >> 4) & 0xf];
		d[5] = (u_char)hex[cp & 0xf];
		return buf_put(b, d, 6);
	}
	n = cast_utf8_put(d, cp);
	return buf_put(b, d, n);
}

/* Escape a whole C string (a header field) between double quotes. */
static int
cast_escape_cstring(struct buf *b, const char *s)
{
	const u_char	*p = (const u_char *)s;
	size_t		 len = strlen(s), used;
	u_int32_t	 cp;
	int		 r;

	if ((r = buf_put(b, "\"", 1)) != 0)
		return r;
	while (len > 0) {
		if (cast_utf8_next(p, len, &cp, &used) == 0) {
			/* Cut short at the end: one replacement. */
			cp = CAST_REPLACEMENT;
			used = len;
		}
		if ((r = cast_escape_put(b, cp)) != 0)
			return r;
		p += used;
		len -= used;
	}
	return buf_put(b, "\"", 1);
}

/*
 * The fast path's pieces. cast_escape_store writes what cast_escape_put
 * appends, into space the caller has reserved (at most 6 bytes).
 */
static size_t
cast_escape_store(u_char *d, u_int32_t cp)
{
	static const char	 hex[] = "0123456789abcdef";
	u_char			 c = 0;

	switch (cp) {
	case '"':	c = '"'; break;
	case '\\':	c = '\\'; break;
	case '\b':	c = 'b'; break;
	case '\f':	c = 'f'; break;
	case '\n':	c = 'n'; break;
	case '\r':	c = 'r'; break;
	case '\t':	c = 't'; break;
	}
	if (c != 0) {
		d[0] = '\\';
		d[1] = c;
		return 2;
	}
	if (cast_escaped_len(cp) == 6) {
		d[0] = '\\';
		d[1] = 'u';
		d[2] = (u_char)hex[(cp >> 12) & 0xf];
		d[3] = (u_char)hex[(cp >> 8) & 0xf];
		d[4] = (u_char)hex[(cp >> 4) & 0xf];
		d[5] = (u_char)hex[cp & 0xf];
		return 6;
	}
	return cast_utf8_put(d, cp);
}

/*
 * Copy the bytes at the start of p[0..n) that stand for themselves
 * (cast_plain: printable ASCII other than '"' and '\') to d, and say how
 * many. Nothing is read past p + n or written past d + n. With SSE2, 16
 * bytes are loaded, stored and tested at once: a signed compare below
 * 0x20 catches the C0 controls and every byte from 0x80 up (negative as
 * signed), three more compares catch '"', '\' and DEL. Bytes stored past
 * the first one that does not stand for itself are overwritten by the
 * caller, which carries on from there.
 */
static size_t
cast_plain_copy(const u_char *p, size_t n, u_char *d)
{
	size_t		 i = 0;
#if defined(__SSE2__)
	__m128i		 x, m, sp, qu, bs, del;
	int		 bits;

	sp = _mm_set1_epi8(0x20);
	qu = _mm_set1_epi8('"');
	bs = _mm_set1_epi8('\\');
	del = _mm_set1_epi8(0x7f);
	for (; n - i >= 16; i += 16) {
		x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		_mm_storeu_si128((__m128i *)(void *)(d + i), x);
		m = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, sp),
		    _mm_cmpeq_epi8(x, qu)), _mm_or_si128(_mm_cmpeq_epi8(x, bs),
		    _mm_cmpeq_epi8(x, del)));
		if ((bits = _mm_movemask_epi8(m)) != 0)
			return i + (size_t)__builtin_ctz((u_int)bits);
	}
#endif
	for (; i < n && cast_plain(p[i]); i++)
		d[i] = p[i];
	return i;
}

/*
 * The escaped form of an ASCII byte that does not stand for itself, and
 * its length: what cast_escape_put writes for it, without the switch.
 */
static size_t
cast_escape_ascii(u_char *d, u_char b)
{
	static const char	 hex[] = "0123456789abcdef";
	static const u_char	 named[0x20] = { ['\b'] = 'b', ['\t'] = 't',
	    ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r' };

	d[0] = '\\';
	if (b == '"' || b == '\\') {
		d[1] = b;
		return 2;
	}
	if (b < 0x20 && named[b] != 0) {
		d[1] = named[b];
		return 2;
	}
	d[1] = 'u';
	d[2] = '0';
	d[3] = '0';
	d[4] = (u_char)hex[b >> 4];
	d[5] = (u_char)hex[b & 0xf];
	return 6;
}

/* ---- writer -------------------------------------------------------------- */

/* A file name: [A-Za-z0-9._-]{1,CAST_NAME_MAX}, not starting with a dot. */
int
cast_name_check(const char *name)
{
	size_t	 i;
	char	 c;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return TUNL_ERR_INVALID;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CAST_NAME_MAX)
			return TUNL_ERR_LENGTH;
		c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
			continue;
		return TUNL_ERR_INVALID;
	}
	return 0;
}

static int
cast_field_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
cast_header_check(const struct cast_header *h)
{
	if (h->cols < 1 || h->cols > CAST_SIZE_MAX ||
	    h->rows < 1 || h->rows > CAST_SIZE_MAX || h->timestamp < 0)
		return TUNL_ERR_RANGE;
	if (!cast_field_ok(h->session, sizeof(h->session)) ||
	    !cast_field_ok(h->case_ref, sizeof(h->case_ref)) ||
	    !cast_field_ok(h->host, sizeof(h->host)) ||
	    !cast_field_ok(h->title, sizeof(h->title)))
		return TUNL_ERR_LENGTH;
	return 0;
}

static int
cast_header_format(const struct cast_header *h, struct buf *b)
{
	char	 title[CAST_TITLE_LEN];
	int	 r;

	if (h->title[0] != '\0')
		tunl_strlcpy(title, h->title, sizeof(title));
	else if (h->session[0] != '\0')
		snprintf(title, sizeof(title), "tunl %s", h->session);
	else
		tunl_strlcpy(title, "tunl", sizeof(title));
	if ((r = buf_putf(b, "{\"version\": 2, \"width\": %u, "
	    "\"height\": %u", h->cols, h->rows)) != 0)
		return r;
	if (h->timestamp > 0 && (r = buf_putf(b, ", \"timestamp\": %lld",
	    (long long)h->timestamp)) != 0)
		return r;
	if ((r = buf_put(b, ", \"title\": ", 11)) != 0 ||
	    (r = cast_escape_cstring(b, title)) != 0 ||
	    (r = buf_put(b, ", \"tunl\": {\"session\": ", 22)) != 0 ||
	    (r = cast_escape_cstring(b, h->session)) != 0 ||
	    (r = buf_put(b, ", \"case\": ", 10)) != 0 ||
	    (r = cast_escape_cstring(b, h->case_ref)) != 0 ||
	    (r = buf_put(b, ", \"host\": ", 10)) != 0 ||
	    (r = cast_escape_cstring(b, h->host)) != 0 ||
	    (r = buf_put(b, "}}\n", 3)) != 0)
		return r;
	return 0;
}

/* Is gid our effective group or one of our supplementary groups? */
static int
cast_in_group(gid_t gid)
{
	gid_t	*groups = NULL;
	int	 n, i, found = 0;

	if (gid == getegid())
		return 1;
	if ((n = getgroups(0, NULL)) <= 0)
		return 0;
	if ((groups = calloc((size_t)n, sizeof(*groups))) == NULL)
		return 0;
	if ((n = getgroups(n, groups)) > 0) {
		for (i = 0; i < n; i++) {
			if (groups[i] == gid)
				found = 1;
		}
	}
	free(groups);
	return found;
}

static int
cast_errno_code(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return TUNL_ERR_FULL;
	}
	return TUNL_ERR_SYSTEM;
}

static int64_t
cast_ms_since(const struct timespec *then)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return CAST_SYNC_MS;	/* cannot tell: sync to be safe */
	return ((int64_t)now.tv_sec - then->tv_sec) * 1000 +
	    (now.tv_nsec - then->tv_nsec) / 1000000;
}

static int
cast_datasync(struct cast_writer *w)
{
	if (fdatasync(w->fd) == -1)
		return cast_errno_code(errno);
	w->unsynced = 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &w->synced_at);
	return 0;
}

/*
 * Write the formatted line with one write(2), looping only on short
 * writes. If the line cannot be written whole, whatever part of it reached
 * the file is cut off again, so the file still ends with a complete line
 * and later events follow it cleanly.
 */
static int
cast_write_line(struct cast_writer *w)
{
	const u_char	*p = buf_ptr(w->line);
	size_t		 left = buf_len(w->line), len = left;
	ssize_t		 n;
	int		 saved, r;

	while (left > 0) {
		n = write(w->fd, p, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	w->off += (off_t)len;
	w->unsynced += len;
	w->last_us = w->line_us;
	w->owed = 0;
	if (w->sync_elsewhere)
		return 0;
	if (w->unsynced >= CAST_SYNC_BYTES ||
	    cast_ms_since(&w->synced_at) >= CAST_SYNC_MS)
		return cast_datasync(w);
	return 0;

 fail:
	saved = errno;
	r = cast_errno_code(saved);
	if (left != len) {
		if (ftruncate(w->fd, w->off) == -1 ||
		    lseek(w->fd, w->off, SEEK_SET) == -1)
			w->broken = 1;
	}
	/* The line stays formatted: cast_writer_retry writes it whole. */
	w->owed = !w->broken;
	errno = saved;
	return r;
}

/*
 * The last event could not be written (TUNL_ERR_FULL, TUNL_ERR_SYSTEM):
 * write it now, whole. 0 once it is in the file (or if nothing was owed);
 * else the same errors, and it is still owed. Writing another event
 * instead gives it up (the bytes it held are not recorded).
 */
int
cast_writer_retry(struct cast_writer *w)
{
	if (w->broken)
		return TUNL_ERR_STATE;
	if (!w->owed)
		return 0;
	return cast_write_line(w);
}

/* An event is owed (cast_writer_retry). */
int
cast_writer_owed(const struct cast_writer *w)
{
	return w->owed;
}

/* Microseconds for t, which must be finite, not negative, bounded. */
static int
cast_writer_time(struct cast_writer *w, double t, u_int64_t *usp)
{
	u_int64_t	 us;

	if (!isfinite(t) || t < 0 || t > CAST_TIME_MAX)
		return TUNL_ERR_RANGE;
	us = (u_int64_t)(t * 1e6 + 0.5);
	/* Times never go backwards in the file. */
	if (us < w->last_us)
		us = w->last_us;
	*usp = us;
	return 0;
}

/*
 * The line buffer is emptied without a wipe between events: it only ever
 * holds what is written to the file next, and buf_free wipes all of it
 * when the writer closes. (A wipe per event cost a memset of the whole
 * space the fast path reserves, several times the event itself.)
 */
static int
cast_event_start(struct cast_writer *w, u_int64_t us, char type)
{
	(void)buf_consume_end(w->line, buf_len(w->line));
	w->owed = 0;
	w->line_us = us;
	return buf_putf(w->line, "[%llu.%06llu, \"%c\", \"",
	    (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000), type);
}

/*
 * Create dir/name (never following a link, never reusing a file), give it
 * group gid and mode 0640, and write the header line. gid (gid_t)-1 keeps
 * the group the file was created with; so does a gid that an unprivileged
 * caller is not a member of (the kernel would refuse the change).
 */
int
cast_writer_open(const char *dir, const char *name, gid_t gid,
    const struct cast_header *h, struct cast_writer **wp)
{
	struct cast_writer	*w = NULL;
	struct stat		 st;
	int			 dfd = -1, created = 0, saved, r;

	*wp = NULL;
	if (dir == NULL || h == NULL)
		return TUNL_ERR_INVALID;
	if ((r = cast_name_check(name)) != 0 || (r = cast_header_check(h)) != 0)
		return r;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TUNL_ERR_ALLOC;
	w->fd = -1;
	if ((w->line = buf_new(CAST_EVENT_MAX + CAST_LINE_SLACK)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	if ((r = cast_header_format(h, w->line)) != 0)
		goto out;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (fstat(dfd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if ((st.st_mode & S_IWOTH) != 0) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if ((w->fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) == -1) {
		r = errno == EEXIST ? TUNL_ERR_EXISTS : TUNL_ERR_SYSTEM;
		goto out;
	}
	created = 1;
	if (gid != (gid_t)-1 && (geteuid() == 0 || cast_in_group(gid))) {
		if (fchown(w->fd, (uid_t)-1, gid) == -1) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
	}
	/* Explicitly, whatever the umask. */
	if (fchmod(w->fd, 0640) == -1 || fstat(w->fd, &st) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0640) {
		r = TUNL_ERR_UNSAFE;
		goto out;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &w->synced_at) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	if ((r = cast_write_line(w)) != 0 || (r = cast_datasync(w)) != 0)
		goto out;
	/* The new name itself survives a crash too (best effort). */
	(void)fsync(dfd);
	*wp = w;
	w = NULL;
	r = 0;
 out:
	saved = errno;
	if (w != NULL) {
		if (created)
			(void)unlinkat(dfd, name, 0);
		if (w->fd != -1)
			close(w->fd);
		buf_free(w->line);
		free(w);
	}
	if (dfd != -1)
		close(dfd);
	errno = saved;
	return r;
}

/*
 * The reference escaper: one character at a time through buf_put. It is
 * what cast_writer_output was before the fast path below, kept so that
 * tests and fuzz/fuzz-cast-diff.c can check that both write the same
 * bytes for every input, however it is split. Not for production use.
 */
int
cast_writer_output_ref(struct cast_writer *w, double t, const u_char *p,
    size_t len)
{
	u_char		 tmp[8];
	u_int32_t	 cp;
	u_int64_t	 us;
	size_t		 start, used, k, room;
	int		 r;

	if (w->broken)
		return TUNL_ERR_STATE;
	if (len > 0 && p == NULL)
		return TUNL_ERR_INVALID;
	if ((r = cast_writer_time(w, t, &us)) != 0)
		return r;
	while (len > 0) {
		if ((r = cast_event_start(w, us, 'o')) != 0)
			return r;
		start = buf_len(w->line);
		if (w->npending > 0) {
			/* Finish the character held back last time. */
			k = len < 4 ? len : 4;
			memcpy(tmp, w->pending, w->npending);
			memcpy(tmp + w->npending, p, k);
			if (cast_utf8_next(tmp, w->npending + k, &cp,
			    &used) == 0) {
				/* Still incomplete: all of p is held. */
				memcpy(w->pending + w->npending, p, len);
				w->npending += len;
				return 0;
			}
			if (used < w->npending)
				return TUNL_ERR_INTERNAL;
			used -= w->npending;
			w->npending = 0;
			if ((r = cast_escape_put(w->line, cp)) != 0)
				return r;
			p += used;
			len -= used;
		}
		while (len > 0) {
			/* A run of plain ASCII goes in at once. */
			room = CAST_EVENT_MAX - (buf_len(w->line) - start);
			for (k = 0; k < len && k < room && cast_plain(p[k]); k++)
				;
			if (k > 0) {
				if ((r = buf_put(w->line, p, k)) != 0)
					return r;
				p += k;
				len -= k;
				continue;
			}
			if (cast_utf8_next(p, len, &cp, &used) == 0) {
				/* len < 4 here: a prefix is shorter than 4. */
				memcpy(w->pending, p, len);
				w->npending = len;
				len = 0;
				break;
			}
			if (buf_len(w->line) - start + cast_escaped_len(cp) >
			    CAST_EVENT_MAX)
				break;
			if ((r = cast_escape_put(w->line, cp)) != 0)
				return r;
			p += used;
			len -= used;
		}
		if (buf_len(w->line) == start)
			break;
		if ((r = buf_put(w->line, "\"]\n", 3)) != 0 ||
		    (r = cast_write_line(w)) != 0)
			return r;
	}
	return 0;
}

/*
 * Record output. The bytes are cut into events of at most CAST_EVENT_MAX
 * escaped bytes, each written with one write(2). An incomplete UTF-8
 * sequence at the end is held back for the next call; if nothing but such
 * a sequence remains, no event is written. When an event cannot be
 * written (TUNL_ERR_FULL, TUNL_ERR_SYSTEM), the events before it are in
 * the file, it and the rest of this call's bytes are not, and the writer
 * can still be used and closed.
 *
 * This writes exactly what cast_writer_output_ref writes, faster: the
 * longest the event can become is reserved once; printable ASCII is
 * found and copied 16 bytes at a time (cast_plain_copy), well-formed
 * UTF-8 that needs no escape is copied as it is checked, and only the
 * other bytes go through an escaper. A character goes into the event only
 * if its escaped form still fits, as in the reference, so events are cut
 * at the same places.
 */
int
cast_writer_output(struct cast_writer *w, double t, const u_char *p,
    size_t len)
{
	size_t	 took;

	return cast_writer_output_part(w, t, p, len, &took);
}

/*
 * As cast_writer_output, and *tookp says how many of the bytes the writer
 * has taken: all of them on success; on a failed write, those of the
 * events written and of the one now owed (cast_writer_retry), so that a
 * caller that retries goes on from p + *tookp and loses nothing.
 */
int
cast_writer_output_part(struct cast_writer *w, double t, const u_char *p,
    size_t len, size_t *tookp)
{
	u_char		 tmp[8], *s, *d;
	u_int32_t	 cp;
	u_int64_t	 us;
	size_t		 used, k, want, avail, i, e, n, took;
	const size_t	 total = len;
	int		 r, rc;

	*tookp = 0;
	if (w->broken)
		return TUNL_ERR_STATE;
	if (len > 0 && p == NULL)
		return TUNL_ERR_INVALID;
	if ((r = cast_writer_time(w, t, &us)) != 0)
		return r;
	while (len > 0) {
		if ((r = cast_event_start(w, us, 'o')) != 0)
			return r;
		/*
		 * No character takes more than 6 bytes escaped per byte of
		 * input, the one held back included: 6 * len + 6 bounds the
		 * event, and so does CAST_EVENT_MAX. 3 more end the line.
		 */
		want = len >= CAST_EVENT_MAX / 6 ? CAST_EVENT_MAX : 6 * len + 6;
		if ((r = buf_reserve(w->line, want + 3, &s)) != 0)
			return r;
		d = s;
		avail = CAST_EVENT_MAX;
		if (w->npending > 0) {
			/* Finish the character held back last time. */
			k = len < 4 ? len : 4;
			memcpy(tmp, w->pending, w->npending);
			memcpy(tmp + w->npending, p, k);
			if (cast_utf8_next(tmp, w->npending + k, &cp,
			    &used) == 0) {
				/* Still incomplete: all of p is held. */
				memcpy(w->pending + w->npending, p, len);
				w->npending += len;
				(void)buf_consume_end(w->line,
				    buf_len(w->line));
				*tookp = total;
				return 0;
			}
			if (used < w->npending)
				return TUNL_ERR_INTERNAL;
			used -= w->npending;
			w->npending = 0;
			e = cast_escape_store(d, cp);
			d += e;
			avail -= e;
			p += used;
			len -= used;
		}
		/* d moves with i: plain bytes are copied as they are found. */
		i = 0;
		took = len;
		while (i < len) {
			n = cast_plain_copy(p + i, len - i < avail ?
			    len - i : avail, d);
			i += n;
			d += n;
			avail -= n;
			if (i == len)
				break;
			if (p[i] < 0x80) {
				/* Needs escaping, or the event is full. */
				if (avail < 6 && (cast_plain(p[i]) ? 1 :
				    cast_escaped_len(p[i])) > avail) {
					took = i;
					break;
				}
				e = cast_escape_ascii(d, p[i]);
				d += e;
				avail -= e;
				i++;
				continue;
			}
			if ((rc = cast_utf8_next(p + i, len - i, &cp,
			    &used)) == 0) {
				/* A prefix at the end: fewer than 4 bytes. */
				memcpy(w->pending, p + i, len - i);
				w->npending = len - i;
				break;
			}
			e = cast_escaped_len(cp);
			if (e > avail) {
				took = i;
				break;
			}
			avail -= e;
			if (rc == 1 && e == used) {
				/* Well-formed and needs no escape. */
				for (k = 0; k < used; k++)
					*d++ = p[i + k];
			} else
				d += cast_escape_store(d, cp);
			i += used;
		}
		p += took;
		len -= took;
		*tookp = total - len;
		if (d == s) {
			(void)buf_consume_end(w->line, buf_len(w->line));
			break;
		}
		memcpy(d, "\"]\n", 3);
		d += 3;
		if ((r = buf_consume_end(w->line,
		    want + 3 - (size_t)(d - s))) != 0 ||
		    (r = cast_write_line(w)) != 0)
			return r;
	}
	*tookp = total;
	return 0;
}

/* Record a size change: [t, "r", "COLSxROWS"]. */
int
cast_writer_resize(struct cast_writer *w, double t, u_int cols, u_int rows)
{
	u_int64_t	 us;
	int		 r;

	if (w->broken)
		return TUNL_ERR_STATE;
	if (cols < 1 || cols > CAST_SIZE_MAX || rows < 1 ||
	    rows > CAST_SIZE_MAX)
		return TUNL_ERR_RANGE;
	if ((r = cast_writer_time(w, t, &us)) != 0)
		return r;
	if ((r = cast_event_start(w, us, 'r')) != 0 ||
	    (r = buf_putf(w->line, "%ux%u\"]\n", cols, rows)) != 0)
		return r;
	return cast_write_line(w);
}

/*
 * A marker ("m") event: a label, as asciinema's markers have, that says
 * what happened to the recording at this point (a gap in the output and
 * why, docs/recording.md). Ill-formed UTF-8 in it becomes U+FFFD.
 */
int
cast_writer_marker(struct cast_writer *w, double t, const char *label)
{
	u_int64_t	 us;
	int		 r;

	if (w->broken)
		return TUNL_ERR_STATE;
	if (label == NULL || strlen(label) > CAST_MARKER_MAX)
		return TUNL_ERR_LENGTH;
	if ((r = cast_writer_time(w, t, &us)) != 0)
		return r;
	(void)buf_consume_end(w->line, buf_len(w->line));
	w->owed = 0;
	w->line_us = us;
	if ((r = buf_putf(w->line, "[%llu.%06llu, \"m\", ",
	    (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000))) != 0 ||
	    (r = cast_escape_cstring(w->line, label)) != 0 ||
	    (r = buf_put(w->line, "]\n", 2)) != 0)
		return r;
	return cast_write_line(w);
}

/*
 * From now on the writer never calls fdatasync itself, not even on close:
 * the caller does, on *fdp, a duplicate of the file's descriptor (with
 * close-on-exec) that is the caller's to close. A thread of its own can
 * sync that descriptor while this one writes, and a duplicate cannot be
 * closed and its number reused under it. cast_writer_size says how far the
 * file's complete lines go.
 */
int
cast_writer_sync_elsewhere(struct cast_writer *w, int *fdp)
{
	int	 fd;

	*fdp = -1;
	if (w->broken)
		return TUNL_ERR_STATE;
	if ((fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return TUNL_ERR_SYSTEM;
	w->sync_elsewhere = 1;
	*fdp = fd;
	return 0;
}

/*
 * Allocate the line buffer to its bound now, so that no event written
 * later allocates memory: for a writer driven by a thread that must not
 * (the broker's, which runs beside forks). Costs address space only, until
 * events fill it.
 */
int
cast_writer_reserve(struct cast_writer *w)
{
	size_t	 more;
	int	 r;

	if (w->broken)
		return TUNL_ERR_STATE;
	more = buf_avail(w->line);
	if (more == 0)
		return 0;
	if ((r = buf_reserve(w->line, more, NULL)) != 0)
		return r;
	return buf_consume_end(w->line, more);
}

/* Bytes of complete lines written to the file so far, header included. */
off_t
cast_writer_size(const struct cast_writer *w)
{
	return w->off;
}

/* Push what has been written to the disk now (e.g. from an idle timer). */
int
cast_writer_sync(struct cast_writer *w)
{
	if (w->unsynced == 0)
		return 0;
	return cast_datasync(w);
}

/*
 * Write a held-back partial character as U+FFFD, sync (unless that was
 * left to the caller), close and free. The writer is freed whatever the
 * result; the result is the first error.
 */
int
cast_writer_close(struct cast_writer *w)
{
	int	 r = 0, r2, saved;

	if (w == NULL)
		return 0;
	/* An event still owed gets one last try; the rest follows it. */
	if (w->owed && !w->broken && (r = cast_write_line(w)) != 0)
		w->broken = 1;
	if (w->npending > 0 && !w->broken) {
		w->npending = 0;
		if ((r = cast_event_start(w, w->last_us, 'o')) == 0 &&
		    (r = cast_escape_put(w->line, CAST_REPLACEMENT)) == 0 &&
		    (r = buf_put(w->line, "\"]\n", 3)) == 0)
			r = cast_write_line(w);
	}
	if (!w->sync_elsewhere && (r2 = cast_datasync(w)) != 0 && r == 0)
		r = r2;
	saved = errno;
	if (close(w->fd) == -1 && r == 0) {
		saved = errno;
		r = TUNL_ERR_SYSTEM;
	}
	buf_free(w->line);
	tunl_memzero(w->pending, sizeof(w->pending));
	free(w);
	errno = saved;
	return r;
}

/* ---- JSON parsing -------------------------------------------------------- */

static void
cast_ws(struct cast_cur *c)
{
	while (c->off < c->len && (c->p[c->off] == ' ' ||
	    c->p[c->off] == '\t' || c->p[c->off] == '\r'))
		c->off++;
}

static int
cast_peek(struct cast_cur *c)
{
	return c->off < c->len ? c->p[c->off] : -1;
}

static int
cast_expect(struct cast_cur *c, u_char ch, const char *why)
{
	cast_ws(c);
	if (cast_peek(c) != ch) {
		c->why = why;
		return TUNL_ERR_INVALID;
	}
	c->off++;
	return 0;
}

static int
cast_hex4(struct cast_cur *c, u_int32_t *v)
{
	size_t	 i;
	u_char	 ch;

	*v = 0;
	if (c->len - c->off < 4)
		return TUNL_ERR_INVALID;
	for (i = 0; i < 4; i++) {
		ch = c->p[c->off + i];
		*v <<= 4;
		if (ch >= '0' && ch <= '9')
			*v |= (u_int32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			*v |= (u_int32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			*v |= (u_int32_t)(ch - 'A' + 10);
		else
			return TUNL_ERR_INVALID;
	}
	c->off += 4;
	return 0;
}

/*
 * A JSON string, decoded into out (or only checked when out is NULL).
 * Raw text must be well-formed UTF-8 without control characters; a lone
 * surrogate escape decodes to U+FFFD.
 */
static int
cast_string(struct cast_cur *c, struct buf *out)
{
	u_char		 d[4];
	u_int32_t	 cp, lo;
	size_t		 used, save;
	int		 ch, r;

	if ((r = cast_expect(c, '"', "expected a string")) != 0)
		return r;
	for (;;) {
		if ((ch = cast_peek(c)) == -1) {
			c->why = "unterminated string";
			return TUNL_ERR_INVALID;
		}
		if (ch == '"') {
			c->off++;
			return 0;
		}
		if (ch < 0x20) {
			c->why = "control character in a string";
			return TUNL_ERR_INVALID;
		}
		if (ch != '\\') {
			/* A run of plain ASCII goes in at once. */
			for (used = 0; c->off + used < c->len &&
			    cast_plain(c->p[c->off + used]); used++)
				;
			if (used == 0 && cast_utf8_next(c->p + c->off,
			    c->len - c->off, &cp, &used) != 1) {
				c->why = "ill-formed UTF-8 in a string";
				return TUNL_ERR_INVALID;
			}
			if (out != NULL && (r = buf_put(out, c->p + c->off,
			    used)) != 0)
				goto toolong;
			c->off += used;
			continue;
		}
		c->off++;
		switch (cast_peek(c)) {
		case '"':	cp = '"'; break;
		case '\\':	cp = '\\'; break;
		case '/':	cp = '/'; break;
		case 'b':	cp = '\b'; break;
		case 'f':	cp = '\f'; break;
		case 'n':	cp = '\n'; break;
		case 'r':	cp = '\r'; break;
		case 't':	cp = '\t'; break;
		case 'u':
			c->off++;
			if (cast_hex4(c, &cp) != 0) {
				c->why = "bad \\u escape";
				return TUNL_ERR_INVALID;
			}
			if (cp >= 0xdc00 && cp <= 0xdfff)
				cp = CAST_REPLACEMENT;
			else if (cp >= 0xd800 && cp <= 0xdbff) {
				/* A low surrogate must follow at once. */
				save = c->off;
				if (c->len - c->off >= 6 &&
				    c->p[c->off] == '\\' &&
				    c->p[c->off + 1] == 'u') {
					c->off += 2;
					if (cast_hex4(c, &lo) == 0 &&
					    lo >= 0xdc00 && lo <= 0xdfff) {
						cp = 0x10000 +
						    ((cp - 0xd800) << 10) +
						    (lo - 0xdc00);
						goto decoded;
					}
				}
				c->off = save;
				cp = CAST_REPLACEMENT;
			}
			goto decoded;
		default:
			c->why = "bad escape in a string";
			return TUNL_ERR_INVALID;
		}
		c->off++;
 decoded:
		if (out != NULL &&
		    (r = buf_put(out, d, cast_utf8_put(d, cp))) != 0)
			goto toolong;
	}
 toolong:
	c->why = r == TUNL_ERR_LENGTH ? "string too long" : NULL;
	return r;
}

/*
 * A JSON number: no sign unless neg_ok, no leading zeros, an optional
 * fraction and exponent, at most CAST_NUMBER_MAX characters. Values above
 * 1e300 (and so any infinity) are refused.
 */
static int
cast_number(struct cast_cur *c, int neg_ok, double *vp)
{
	static const double	 p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5,
	    1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	    1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	u_int64_t		 mant = 0;
	size_t			 start;
	double			 v;
	int			 neg = 0, eneg = 0, nd = 0, d;
	long			 e10 = 0, ex = 0;

	cast_ws(c);
	start = c->off;
	if (cast_peek(c) == '-') {
		if (!neg_ok) {
			c->why = "negative number";
			return TUNL_ERR_RANGE;
		}
		neg = 1;
		c->off++;
	}
	d = cast_peek(c);
	if (d == '0')
		c->off++;
	else if (d >= '1' && d <= '9') {
		while ((d = cast_peek(c)) >= '0' && d <= '9') {
			if (nd < 19) {
				mant = mant * 10 + (u_int64_t)(d - '0');
				nd += mant != 0;
			} else
				e10++;
			c->off++;
		}
	} else {
		c->why = "expected a number";
		return TUNL_ERR_INVALID;
	}
	if (cast_peek(c) == '.') {
		c->off++;
		if ((d = cast_peek(c)) < '0' || d > '9') {
			c->why = "bad number";
			return TUNL_ERR_INVALID;
		}
		while ((d = cast_peek(c)) >= '0' && d <= '9') {
			if (nd < 19) {
				mant = mant * 10 + (u_int64_t)(d - '0');
				nd += mant != 0;
				e10--;
			}
			c->off++;
		}
	}
	if (cast_peek(c) == 'e' || cast_peek(c) == 'E') {
		c->off++;
		if (cast_peek(c) == '+' || cast_peek(c) == '-')
			eneg = c->p[c->off++] == '-';
		if ((d = cast_peek(c)) < '0' || d > '9') {
			c->why = "bad number";
			return TUNL_ERR_INVALID;
		}
		while ((d = cast_peek(c)) >= '0' && d <= '9') {
			if (ex < 100000)
				ex = ex * 10 + (d - '0');
			c->off++;
		}
	}
	if (c->off - start > CAST_NUMBER_MAX) {
		c->why = "number too long";
		return TUNL_ERR_RANGE;
	}
	e10 += eneg ? -ex : ex;
	v = (double)mant;
	if (mant != 0 && e10 > 0) {
		while (e10 > 0 && v <= 1e300) {
			d = e10 > 22 ? 22 : (int)e10;
			v *= p10[d];
			e10 -= d;
		}
		if (v > 1e300) {
			c->why = "number too large";
			return TUNL_ERR_RANGE;
		}
	} else if (mant != 0 && e10 < 0) {
		while (e10 < 0 && v != 0) {
			d = e10 < -22 ? 22 : (int)-e10;
			v /= p10[d];
			e10 += d;
		}
	}
	*vp = neg ? -v : v;
	return 0;
}

static int
cast_literal(struct cast_cur *c, const char *word)
{
	size_t	 n = strlen(word);

	if (c->len - c->off < n || memcmp(c->p + c->off, word, n) != 0) {
		c->why = "unexpected character";
		return TUNL_ERR_INVALID;
	}
	c->off += n;
	return 0;
}

/* Check and skip any JSON value, nested at most CAST_DEPTH_MAX deep. */
static int
cast_skip(struct cast_cur *c, u_int depth)
{
	double	 v;
	int	 ch, close, r;

	cast_ws(c);
	switch ((ch = cast_peek(c))) {
	case '"':
		return cast_string(c, NULL);
	case 't':
		return cast_literal(c, "true");
	case 'f':
		return cast_literal(c, "false");
	case 'n':
		return cast_literal(c, "null");
	case '{':
	case '[':
		break;
	default:
		if (ch == '-' || (ch >= '0' && ch <= '9'))
			return cast_number(c, 1, &v);
		c->why = ch == -1 ? "missing value" : "unexpected character";
		return TUNL_ERR_INVALID;
	}
	if (depth >= CAST_DEPTH_MAX) {
		c->why = "nested too deeply";
		return TUNL_ERR_INVALID;
	}
	close = ch == '{' ? '}' : ']';
	c->off++;
	cast_ws(c);
	if (cast_peek(c) == close) {
		c->off++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if ((r = cast_string(c, NULL)) != 0 ||
			    (r = cast_expect(c, ':', "expected ':'")) != 0)
				return r;
		}
		if ((r = cast_skip(c, depth + 1)) != 0)
			return r;
		cast_ws(c);
		if (cast_peek(c) == close) {
			c->off++;
			return 0;
		}
		if ((r = cast_expect(c, ',', "expected ',' or an end")) != 0)
			return r;
	}
}

static int
cast_end(struct cast_cur *c)
{
	cast_ws(c);
	if (c->off != c->len) {
		c->why = "text after the value";
		return TUNL_ERR_INVALID;
	}
	return 0;
}

/* ---- reader -------------------------------------------------------------- */

static int
cast_reader_fail(struct cast_reader *rd, int r, const char *why)
{
	snprintf(rd->errmsg, sizeof(rd->errmsg), "line %u: %s", rd->line,
	    why != NULL ? why : tunl_err(r));
	return r;
}

/*
 * The next line, without its newline. It stays in rd->in until the next
 * call. A line longer than CAST_LINE_MAX is TUNL_ERR_LENGTH and skipped;
 * bytes after the last newline at the end of the file are a torn line:
 * TUNL_ERR_EOF with rd->torn set.
 */
static int
cast_read_line(struct cast_reader *rd, const u_char **linep, size_t *lenp)
{
	const u_char	*p, *nl;
	size_t		 n, got;
	int		 r;

	if (rd->consume > 0) {
		(void)buf_consume(rd->in, rd->consume);
		rd->consume = 0;
	}
	for (;;) {
		p = buf_ptr(rd->in);
		n = buf_len(rd->in);
		nl = NULL;
		if (rd->scanned < n)
			nl = memchr(p + rd->scanned, '\n', n - rd->scanned);
		if (nl != NULL) {
			rd->scanned = 0;
			rd->consume = (size_t)(nl - p) + 1;
			if (rd->skipping) {
				rd->skipping = 0;
				(void)buf_consume(rd->in, rd->consume);
				rd->consume = 0;
				continue;
			}
			rd->line++;
			if ((size_t)(nl - p) > CAST_LINE_MAX)
				return cast_reader_fail(rd, TUNL_ERR_LENGTH,
				    "line too long");
			*linep = p;
			*lenp = (size_t)(nl - p);
			return 0;
		}
		rd->scanned = n;
		if (n > CAST_LINE_MAX) {
			/* Drop what we have; skip to the next newline. */
			buf_reset(rd->in);
			rd->scanned = 0;
			if (!rd->skipping) {
				rd->skipping = 1;
				rd->line++;
				return cast_reader_fail(rd, TUNL_ERR_LENGTH,
				    "line too long");
			}
		}
		if (rd->eof) {
			if (n > 0 && !rd->skipping) {
				rd->line++;
				rd->torn = 1;
				buf_reset(rd->in);
				rd->scanned = 0;
				return cast_reader_fail(rd, TUNL_ERR_EOF,
				    "incomplete last line");
			}
			return TUNL_ERR_EOF;
		}
		r = buf_read_fd(rd->in, rd->fd, CAST_READ_CHUNK, &got);
		if (r == TUNL_ERR_EOF)
			rd->eof = 1;
		else if (r != 0)
			return cast_reader_fail(rd, r, NULL);
	}
}

static int
cast_blank(const u_char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	}
	return 1;
}

/* Decode a string into a C string field: no NUL, at most size - 1 bytes. */
static int
cast_string_field(struct cast_cur *c, struct buf *tmp, char *dst, size_t size,
    int truncate)
{
	const u_char	*p;
	size_t		 len;
	int		 r;

	buf_reset(tmp);
	if ((r = cast_string(c, tmp)) != 0)
		return r;
	p = buf_ptr(tmp);
	len = buf_len(tmp);
	if (memchr(p, '\0', len) != NULL) {
		c->why = "NUL in a header string";
		return TUNL_ERR_INVALID;
	}
	if (len >= size) {
		if (!truncate) {
			c->why = "header string too long";
			return TUNL_ERR_LENGTH;
		}
		/* Cut at a character boundary. */
		len = size - 1;
		while (len > 0 && (p[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

static int
cast_uint_field(struct cast_cur *c, double max, u_int64_t *vp)
{
	double	 v;
	int	 r;

	if ((r = cast_number(c, 0, &v)) != 0)
		return r;
	if (v > max || v != (double)(u_int64_t)v) {
		c->why = "number out of range";
		return TUNL_ERR_RANGE;
	}
	*vp = (u_int64_t)v;
	return 0;
}

/* The "tunl" object of the header: session, case, host. */
static int
cast_header_tunl(struct cast_cur *c, struct buf *key, struct buf *tmp,
    struct cast_header *h)
{
	int	 r, seen = 0, bit;

	if ((r = cast_expect(c, '{', "\"tunl\" must be an object")) != 0)
		return r;
	cast_ws(c);
	if (cast_peek(c) == '}') {
		c->off++;
		return 0;
	}
	for (;;) {
		buf_reset(key);
		if ((r = cast_string(c, key)) != 0 ||
		    (r = cast_expect(c, ':', "expected ':'")) != 0)
			return r;
		bit = 0;
		if (buf_len(key) == 7 && memcmp(buf_ptr(key), "session", 7) == 0) {
			bit = 1;
			r = cast_string_field(c, tmp, h->session,
			    sizeof(h->session), 0);
		} else if (buf_len(key) == 4 &&
		    memcmp(buf_ptr(key), "case", 4) == 0) {
			bit = 2;
			r = cast_string_field(c, tmp, h->case_ref,
			    sizeof(h->case_ref), 0);
		} else if (buf_len(key) == 4 &&
		    memcmp(buf_ptr(key), "host", 4) == 0) {
			bit = 4;
			r = cast_string_field(c, tmp, h->host,
			    sizeof(h->host), 0);
		} else
			r = cast_skip(c, 2);
		if (r != 0)
			return r;
		if (seen & bit) {
			c->why = "duplicate key";
			return TUNL_ERR_INVALID;
		}
		seen |= bit;
		cast_ws(c);
		if (cast_peek(c) == '}') {
			c->off++;
			return 0;
		}
		if ((r = cast_expect(c, ',', "expected ',' or '}'")) != 0)
			return r;
	}
}

static int
cast_key_is(const struct buf *key, const char *name)
{
	size_t	 n = strlen(name);

	return buf_len(key) == n && memcmp(buf_ptr(key), name, n) == 0;
}

static int
cast_header_parse(struct cast_cur *c, struct cast_header *h)
{
	struct buf	*key = NULL, *tmp = NULL;
	u_int64_t	 v;
	int		 r, seen = 0, bit;

	memset(h, 0, sizeof(*h));
	if ((key = buf_new(CAST_KEY_MAX)) == NULL ||
	    (tmp = buf_new(CAST_LINE_MAX)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	if ((r = cast_expect(c, '{', "the header must be an object")) != 0)
		goto out;
	cast_ws(c);
	if (cast_peek(c) == '}') {
		c->off++;
		goto done;
	}
	for (;;) {
		buf_reset(key);
		if ((r = cast_string(c, key)) != 0) {
			if (r == TUNL_ERR_LENGTH)
				c->why = "key too long";
			goto out;
		}
		if ((r = cast_expect(c, ':', "expected ':'")) != 0)
			goto out;
		bit = 0;
		if (cast_key_is(key, "version")) {
			bit = 1;
			if ((r = cast_uint_field(c, 1e6, &v)) == 0 && v != 2) {
				c->why = "not asciicast version 2";
				r = TUNL_ERR_VERSION;
			}
		} else if (cast_key_is(key, "width")) {
			bit = 2;
			if ((r = cast_uint_field(c, CAST_SIZE_MAX, &v)) == 0)
				h->cols = (u_int)v;
		} else if (cast_key_is(key, "height")) {
			bit = 4;
			if ((r = cast_uint_field(c, CAST_SIZE_MAX, &v)) == 0)
				h->rows = (u_int)v;
		} else if (cast_key_is(key, "timestamp")) {
			bit = 8;
			if ((r = cast_uint_field(c, 1e15, &v)) == 0)
				h->timestamp = (int64_t)v;
		} else if (cast_key_is(key, "title")) {
			bit = 16;
			r = cast_string_field(c, tmp, h->title,
			    sizeof(h->title), 1);
		} else if (cast_key_is(key, "tunl")) {
			bit = 32;
			r = cast_header_tunl(c, key, tmp, h);
		} else
			r = cast_skip(c, 1);
		if (r != 0)
			goto out;
		if (seen & bit) {
			c->why = "duplicate key";
			r = TUNL_ERR_INVALID;
			goto out;
		}
		seen |= bit;
		cast_ws(c);
		if (cast_peek(c) == '}') {
			c->off++;
			break;
		}
		if ((r = cast_expect(c, ',', "expected ',' or '}'")) != 0)
			goto out;
	}
 done:
	if ((r = cast_end(c)) != 0)
		goto out;
	if ((seen & 7) != 7) {
		c->why = "version, width and height are required";
		r = TUNL_ERR_INVALID;
		goto out;
	}
	if (h->cols == 0 || h->rows == 0) {
		c->why = "width and height must be at least 1";
		r = TUNL_ERR_RANGE;
		goto out;
	}
	r = 0;
 out:
	buf_free(key);
	buf_free(tmp);
	return r;
}

/* "COLSxROWS", each 1..CAST_SIZE_MAX without leading zeros. */
static int
cast_parse_size(const struct buf *b, u_int *cols, u_int *rows)
{
	const u_char	*p = buf_ptr(b);
	size_t		 len = buf_len(b), i = 0, start;
	u_int		 v[2];
	int		 k;

	for (k = 0; k < 2; k++) {
		if (k == 1) {
			if (i >= len || p[i] != 'x')
				return TUNL_ERR_INVALID;
			i++;
		}
		start = i;
		v[k] = 0;
		while (i < len && p[i] >= '0' && p[i] <= '9' && i - start < 6)
			v[k] = v[k] * 10 + (u_int)(p[i++] - '0');
		if (i == start || p[start] == '0' || v[k] > CAST_SIZE_MAX)
			return TUNL_ERR_INVALID;
	}
	if (i != len)
		return TUNL_ERR_INVALID;
	*cols = v[0];
	*rows = v[1];
	return 0;
}

static int
cast_event_parse(struct cast_reader *rd, struct cast_cur *c,
    struct cast_event *ev)
{
	u_char	 type[2];
	double	 t;
	int	 r;

	memset(type, 0, sizeof(type));
	if ((r = cast_expect(c, '[', "an event must be an array")) != 0)
		return r;
	if ((r = cast_number(c, 0, &t)) != 0)
		return r;
	if (t > CAST_TIME_MAX) {
		c->why = "time out of range";
		return TUNL_ERR_RANGE;
	}
	if (t < rd->last_t) {
		c->why = "time goes backwards";
		return TUNL_ERR_INVALID;
	}
	if ((r = cast_expect(c, ',', "expected ','")) != 0)
		return r;
	buf_reset(rd->data);
	if ((r = cast_string(c, rd->data)) != 0)
		return r;
	type[0] = buf_len(rd->data) == 1 ? buf_ptr(rd->data)[0] : 0;
	if (type[0] != 'o' && type[0] != 'r' && type[0] != 'i' &&
	    type[0] != 'm') {
		c->why = "unknown event type";
		return TUNL_ERR_INVALID;
	}
	if ((r = cast_expect(c, ',', "expected ','")) != 0)
		return r;
	buf_reset(rd->data);
	if ((r = cast_string(c, rd->data)) != 0)
		return r;
	if ((r = cast_expect(c, ']', "expected ']'")) != 0 ||
	    (r = cast_end(c)) != 0)
		return r;
	ev->cols = ev->rows = 0;
	if (type[0] == 'r' &&
	    cast_parse_size(rd->data, &ev->cols, &ev->rows) != 0) {
		c->why = "bad size in a resize event";
		return TUNL_ERR_INVALID;
	}
	ev->t = t;
	ev->type = (char)type[0];
	ev->data = rd->data;
	rd->last_t = t;
	return 0;
}

/*
 * Read the header from fd (which stays the caller's: it is not closed).
 * An empty file, or one whose first line is incomplete, is TUNL_ERR_EOF.
 * err, if given, receives "line N: reason" on failure.
 */
int
cast_reader_open_fd_err(int fd, struct cast_reader **rp, char *err,
    size_t errlen)
{
	struct cast_reader	*rd;
	struct cast_cur		 c;
	const u_char		*line;
	size_t			 len;
	int			 r;

	*rp = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (fd < 0)
		return TUNL_ERR_INVALID;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return TUNL_ERR_ALLOC;
	rd->fd = fd;
	if ((rd->in = buf_new(CAST_LINE_MAX + CAST_READ_CHUNK + 1)) == NULL ||
	    (rd->data = buf_new(CAST_LINE_MAX)) == NULL) {
		r = TUNL_ERR_ALLOC;
		goto out;
	}
	if ((r = cast_read_line(rd, &line, &len)) != 0) {
		if (r == TUNL_ERR_EOF && !rd->torn) {
			rd->line = 1;
			(void)cast_reader_fail(rd, r, "empty file");
		}
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.p = line;
	c.len = len;
	if ((r = cast_header_parse(&c, &rd->hdr)) != 0) {
		(void)cast_reader_fail(rd, r, c.why);
		goto out;
	}
	*rp = rd;
	rd = NULL;
 out:
	if (rd != NULL) {
		if (err != NULL && errlen > 0)
			tunl_strlcpy(err, rd->errmsg, errlen);
		cast_reader_free(rd);
	}
	return r;
}

int
cast_reader_open_fd(int fd, struct cast_reader **rp)
{
	return cast_reader_open_fd_err(fd, rp, NULL, 0);
}

int
cast_reader_header(struct cast_reader *rd, struct cast_header *h)
{
	*h = rd->hdr;
	return 0;
}

/*
 * The next event. TUNL_ERR_EOF at the end (cast_reader_torn says whether
 * the file ended inside a line). A bad line is TUNL_ERR_INVALID (or
 * _RANGE, _LENGTH) with cast_reader_line and cast_reader_errmsg saying
 * where and why; the line is skipped, so reading may go on.
 */
int
cast_reader_next(struct cast_reader *rd, struct cast_event *ev)
{
	struct cast_cur	 c;
	const u_char	*line;
	size_t		 len;
	int		 r;

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		if ((r = cast_read_line(rd, &line, &len)) != 0)
			return r;
		if (cast_blank(line, len)) {
			if (rd->blank == 0)
				rd->blank = (int)rd->line;
			continue;
		}
		if (rd->blank != 0) {
			rd->blank = 0;
			return cast_reader_fail(rd, TUNL_ERR_INVALID,
			    "blank line before this one");
		}
		break;
	}
	memset(&c, 0, sizeof(c));
	c.p = line;
	c.len = len;
	if ((r = cast_event_parse(rd, &c, ev)) != 0) {
		memset(ev, 0, sizeof(*ev));
		buf_reset(rd->data);
		return cast_reader_fail(rd, r, c.why);
	}
	return 0;
}

u_int
cast_reader_line(const struct cast_reader *rd)
{
	return rd->line;
}

int
cast_reader_torn(const struct cast_reader *rd)
{
	return rd->torn;
}

const char *
cast_reader_errmsg(const struct cast_reader *rd)
{
	return rd->errmsg;
}

void
cast_reader_free(struct cast_reader *rd)
{
	if (rd == NULL)
		return;
	buf_free(rd->in);
	buf_free(rd->data);
	free(rd);
}
