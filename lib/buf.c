/*
 * buf.c: bounded buffers.
 *
 * A buffer holds the bytes between off and size of its allocation and
 * never grows past its maximum, fixed at creation. Every get checks that
 * the bytes are there before it touches them; every put checks the maximum
 * before it allocates. Integers are big-endian on the wire. Strings are a
 * u32 length followed by the bytes. buf_free and buf_reset wipe the memory,
 * so a buffer that held a secret leaves nothing behind; they wipe the
 * bytes that ever held data (below "dirty"), not the whole allocation, so
 * emptying a large buffer that held a little costs a little.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"

#define BUF_ALLOC_MIN	256

/*
 * The bytes held, for the hot paths in this file: buf_len() itself is an
 * exported function, which a shared-library build may not inline.
 */
#define BUF_USED(b)	((b)->size - (b)->off)

struct buf {
	u_char	*d;		/* allocation */
	size_t	 off;		/* first unread byte */
	size_t	 size;		/* end of data */
	size_t	 alloc;		/* allocated bytes */
	size_t	 dirty;		/* d[0..dirty) may hold data; the rest is
				   untouched or wiped */
	size_t	 max;		/* hard ceiling on size - off */
};

struct buf *
buf_new(size_t max)
{
	struct buf	*b;

	if (max == 0 || max > BUF_SIZE_MAX)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max;
	return b;
}

struct buf *
buf_from(const void *p, size_t len)
{
	struct buf	*b;

	if ((b = buf_new(len == 0 ? 1 : len)) == NULL)
		return NULL;
	if (buf_put(b, p, len) != 0) {
		buf_free(b);
		return NULL;
	}
	return b;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL) {
		tunl_memzero(b->d, b->alloc);
		free(b->d);
	}
	tunl_memzero(b, sizeof(*b));
	free(b);
}

/* Empty the buffer, wiping what it held, but keep the allocation. */
void
buf_reset(struct buf *b)
{
	if (b->d != NULL && b->dirty > 0)
		tunl_memzero(b->d, b->dirty);
	b->off = b->size = b->dirty = 0;
}

size_t
buf_len(const struct buf *b)
{
	return b->size - b->off;
}

size_t
buf_max(const struct buf *b)
{
	return b->max;
}

/* How many more bytes may be put before the maximum is reached. */
size_t
buf_avail(const struct buf *b)
{
	return b->max - BUF_USED(b);
}

const u_char *
buf_ptr(const struct buf *b)
{
	return b->d == NULL ? (const u_char *)"" : b->d + b->off;
}

u_char *
buf_mutable_ptr(struct buf *b)
{
	return b->d == NULL ? NULL : b->d + b->off;
}

/*
 * Make room for len more bytes at the end and return a pointer to them.
 * Consumed space at the front is reclaimed before growing.
 */
int
buf_reserve(struct buf *b, size_t len, u_char **dp)
{
	size_t	 need, nalloc;
	u_char	*nd;

	if (dp != NULL)
		*dp = NULL;
	if (len > b->max - BUF_USED(b))
		return TUNL_ERR_LENGTH;
	if (b->off > 0 && b->size + len > b->alloc) {
		memmove(b->d, b->d + b->off, b->size - b->off);
		b->size -= b->off;
		tunl_memzero(b->d + b->size, b->dirty - b->size);
		b->dirty = b->size;
		b->off = 0;
	}
	need = b->size + len;
	if (need > b->alloc) {
		nalloc = b->alloc < BUF_ALLOC_MIN ? BUF_ALLOC_MIN : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
		if (nalloc > b->max)
			nalloc = b->max > need ? b->max : need;
		/* Grow by copy so the old bytes can be wiped. */
		if ((nd = malloc(nalloc)) == NULL)
			return TUNL_ERR_ALLOC;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->size);
			tunl_memzero(b->d, b->dirty);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
		b->dirty = b->size;
	}
	if (dp != NULL)
		*dp = b->d + b->size;
	b->size += len;
	if (b->size > b->dirty)
		b->dirty = b->size;
	return 0;
}

int
buf_consume(struct buf *b, size_t len)
{
	if (len > BUF_USED(b))
		return TUNL_ERR_SHORT;
	b->off += len;
	if (b->off == b->size)
		b->off = b->size = 0;
	return 0;
}

/* Drop len bytes from the end (undo a partial put). */
int
buf_consume_end(struct buf *b, size_t len)
{
	if (len > buf_len(b))
		return TUNL_ERR_SHORT;
	b->size -= len;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t len)
{
	u_char	*d;
	int	 r;

	if (len == 0)
		return 0;
	/* Fast path, for the many small puts of the filter and recording. */
	if (len <= b->alloc - b->size && len <= b->max - BUF_USED(b)) {
		memcpy(b->d + b->size, p, len);
		b->size += len;
		if (b->size > b->dirty)
			b->dirty = b->size;
		return 0;
	}
	if ((r = buf_reserve(b, len, &d)) != 0)
		return r;
	memcpy(d, p, len);
	return 0;
}

int
buf_putb(struct buf *b, const struct buf *from)
{
	return buf_put(b, buf_ptr(from), buf_len(from));
}

int
buf_putfv(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 len, r;
	u_char	*d;

	va_copy(ap2, ap);
	len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len < 0)
		return TUNL_ERR_INVALID;
	/* vsnprintf writes a NUL: reserve it, then drop it. */
	if ((r = buf_reserve(b, (size_t)len + 1, &d)) != 0)
		return r;
	va_copy(ap2, ap);
	if (vsnprintf((char *)d, (size_t)len + 1, fmt, ap2) != len)
		r = TUNL_ERR_INTERNAL;
	va_end(ap2);
	(void)buf_consume_end(b, r == 0 ? 1 : (size_t)len + 1);
	return r;
}

int
buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_putfv(b, fmt, ap);
	va_end(ap);
	return r;
}

int
buf_put_u8(struct buf *b, u_int8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, u_int16_t v)
{
	u_char	 p[2] = { (u_char)(v >> 8), (u_char)v };

	return buf_put(b, p, sizeof(p));
}

int
buf_put_u32(struct buf *b, u_int32_t v)
{
	u_char	 p[4] = { (u_char)(v >> 24), (u_char)(v >> 16),
		    (u_char)(v >> 8), (u_char)v };

	return buf_put(b, p, sizeof(p));
}

int
buf_put_u64(struct buf *b, u_int64_t v)
{
	int	 r;

	if ((r = buf_put_u32(b, (u_int32_t)(v >> 32))) != 0)
		return r;
	if ((r = buf_put_u32(b, (u_int32_t)v)) != 0) {
		(void)buf_consume_end(b, 4);
		return r;
	}
	return 0;
}

int
buf_put_string(struct buf *b, const void *p, size_t len)
{
	int	 r;

	if (len > UINT32_MAX || len + 4 > buf_avail(b))
		return TUNL_ERR_LENGTH;
	if ((r = buf_put_u32(b, (u_int32_t)len)) != 0)
		return r;
	return buf_put(b, p, len);
}

int
buf_put_cstring(struct buf *b, const char *s)
{
	return buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
buf_get(struct buf *b, void *p, size_t len)
{
	if (len > buf_len(b))
		return TUNL_ERR_SHORT;
	if (p != NULL && len > 0)
		memcpy(p, buf_ptr(b), len);
	return buf_consume(b, len);
}

int
buf_get_u8(struct buf *b, u_int8_t *v)
{
	return buf_get(b, v, 1);
}

int
buf_get_u16(struct buf *b, u_int16_t *v)
{
	u_char	 p[2];
	int	 r;

	if ((r = buf_get(b, p, sizeof(p))) != 0)
		return r;
	if (v != NULL)
		*v = (u_int16_t)((p[0] << 8) | p[1]);
	return 0;
}

int
buf_peek_u32(const struct buf *b, size_t at, u_int32_t *v)
{
	const u_char	*p;

	if (at > buf_len(b) || buf_len(b) - at < 4)
		return TUNL_ERR_SHORT;
	p = buf_ptr(b) + at;
	if (v != NULL)
		*v = ((u_int32_t)p[0] << 24) | ((u_int32_t)p[1] << 16) |
		    ((u_int32_t)p[2] << 8) | (u_int32_t)p[3];
	return 0;
}

int
buf_get_u32(struct buf *b, u_int32_t *v)
{
	int	 r;

	if ((r = buf_peek_u32(b, 0, v)) != 0)
		return r;
	return buf_consume(b, 4);
}

int
buf_get_u64(struct buf *b, u_int64_t *v)
{
	u_int32_t	 hi, lo;
	int		 r;

	if (buf_len(b) < 8)
		return TUNL_ERR_SHORT;
	if ((r = buf_get_u32(b, &hi)) != 0 || (r = buf_get_u32(b, &lo)) != 0)
		return r;
	if (v != NULL)
		*v = ((u_int64_t)hi << 32) | lo;
	return 0;
}

/*
 * Point at a string inside the buffer without copying. The length is
 * checked against what the buffer holds before anything is consumed, so a
 * failed get leaves the buffer as it was.
 */
int
buf_get_string_direct(struct buf *b, const u_char **vp, size_t *lenp)
{
	u_int32_t	 len;
	int		 r;

	if (vp != NULL)
		*vp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_u32(b, 0, &len)) != 0)
		return r;
	if (len > buf_len(b) - 4)
		return TUNL_ERR_SHORT;
	if (vp != NULL)
		*vp = buf_ptr(b) + 4;
	if (lenp != NULL)
		*lenp = len;
	return buf_consume(b, 4 + (size_t)len);
}

/* Copy a string out of the buffer, NUL-terminated for convenience. */
int
buf_get_string(struct buf *b, u_char **vp, size_t *lenp)
{
	const u_char	*p;
	size_t		 len;
	u_char		*v;
	u_int32_t	 wire;
	int		 r;

	*vp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_u32(b, 0, &wire)) != 0)
		return r;
	if (wire > buf_len(b) - 4)
		return TUNL_ERR_SHORT;
	if ((v = malloc((size_t)wire + 1)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0) {
		free(v);
		return r;
	}
	memcpy(v, p, len);
	v[len] = '\0';
	*vp = v;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

/* As buf_get_string, but a string with an embedded NUL is refused. */
int
buf_get_cstring(struct buf *b, char **vp, size_t *lenp)
{
	u_int32_t	 wire;
	int		 r;

	*vp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_u32(b, 0, &wire)) != 0)
		return r;
	if (wire > buf_len(b) - 4)
		return TUNL_ERR_SHORT;
	if (memchr(buf_ptr(b) + 4, '\0', wire) != NULL)
		return TUNL_ERR_NUL;
	return buf_get_string(b, (u_char **)vp, lenp);
}

/* A NUL-terminated copy of the contents, or NULL if they hold a NUL. */
char *
buf_dup_string(const struct buf *b)
{
	size_t	 len = buf_len(b);
	char	*s;

	if (len > 0 && memchr(buf_ptr(b), '\0', len) != NULL)
		return NULL;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, buf_ptr(b), len);
	s[len] = '\0';
	return s;
}

/*
 * Read at most want bytes from fd into the buffer (never past its maximum).
 * Returns TUNL_ERR_EOF at end of file, TUNL_ERR_FULL when the buffer has no
 * room, TUNL_ERR_SYSTEM with errno set (EAGAIN included) on failure.
 */
int
buf_read_fd(struct buf *b, int fd, size_t want, size_t *got)
{
	u_char	*d;
	ssize_t	 n;
	int	 r;

	if (got != NULL)
		*got = 0;
	if (want > buf_avail(b))
		want = buf_avail(b);
	if (want == 0)
		return TUNL_ERR_FULL;
	if ((r = buf_reserve(b, want, &d)) != 0)
		return r;
	do {
		n = read(fd, d, want);
	} while (n == -1 && errno == EINTR);
	if (n <= 0) {
		(void)buf_consume_end(b, want);
		return n == 0 ? TUNL_ERR_EOF : TUNL_ERR_SYSTEM;
	}
	(void)buf_consume_end(b, want - (size_t)n);
	if (got != NULL)
		*got = (size_t)n;
	return 0;
}

/* Write what the buffer holds to fd, consuming what was written. */
int
buf_write_fd(struct buf *b, int fd, size_t *put)
{
	ssize_t	 n;

	if (put != NULL)
		*put = 0;
	if (buf_len(b) == 0)
		return 0;
	do {
		n = write(fd, buf_ptr(b), buf_len(b));
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return TUNL_ERR_SYSTEM;
	if (put != NULL)
		*put = (size_t)n;
	return buf_consume(b, (size_t)n);
}
