/* die.h: helpers that end the program; for programs only, never lib/ or PAM. */
#ifndef TUNL_DIE_H
#define TUNL_DIE_H

#include <stddef.h>

void	 fatal(const char *, ...) TUNL_PRINTF(1, 2) TUNL_NORETURN;
void	 fatal_r(int, const char *, ...) TUNL_PRINTF(2, 3) TUNL_NORETURN;
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);

#endif /* TUNL_DIE_H */
