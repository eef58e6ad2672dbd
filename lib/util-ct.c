/*
 * util-ct.c: constant-time comparison (libsodium's), apart from util.c so
 * that util.c stays libc only.
 */
#include "config.h"

#include <sodium.h>

#include "tunl.h"

/* 1 when the two buffers are equal, in time that does not depend on them. */
int
tunl_streq_ct(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}
