/*
 * die.c: the dying helpers for programs (never linked into the PAM module,
 * where nothing may exit): fatal() and an allocator that stops the program
 * rather than return NULL.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunl.h"
#include "die.h"

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_msgv(TUNL_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatal_r(int r, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fatal("%s: %s", msg, tunl_err(r));
}

void *
xmalloc(size_t len)
{
	void	*p;

	if (len == 0 || (p = malloc(len)) == NULL)
		fatal("xmalloc: out of memory allocating %zu bytes", len);
	return p;
}

void *
xcalloc(size_t n, size_t len)
{
	void	*p;

	if (n == 0 || len == 0 || (p = calloc(n, len)) == NULL)
		fatal("xcalloc: out of memory allocating %zu * %zu bytes",
		    n, len);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup: out of memory");
	return p;
}
