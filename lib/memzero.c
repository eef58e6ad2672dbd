/*
 * memzero.c: wiping secrets, with libc only.
 *
 * explicit_bzero (glibc 2.25, the BSDs) is a memset the compiler may not
 * remove as a dead store. Where it is missing, memset is called through a
 * volatile function pointer, which the compiler cannot see through.
 */
#include "config.h"

#include <string.h>

#include "tunl.h"

#ifndef HAVE_EXPLICIT_BZERO
static void *(*const volatile tunl_memset)(void *, int, size_t) = memset;
#endif

void
tunl_memzero(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, len);
#else
	tunl_memset(p, 0, len);
#endif
}
