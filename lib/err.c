/* err.c: names for the TUNL_ERR_* codes. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tunl.h"

static const char *const tunl_err_names[] = {
	"success",				/*   0 */
	"internal error",			/*  -1 */
	"out of memory",			/*  -2 */
	"length over its limit",		/*  -3 */
	"input too short",			/*  -4 */
	"invalid input",			/*  -5 */
	"number out of range",			/*  -6 */
	"embedded NUL character",		/*  -7 */
	"system error",				/*  -8 */
	"unsupported version",			/*  -9 */
	"unknown frame type",			/* -10 */
	"configuration error",			/* -11 */
	"not found",				/* -12 */
	"already exists",			/* -13 */
	"database error",			/* -14 */
	"database busy",			/* -15 */
	"access denied",			/* -16 */
	"expired",				/* -17 */
	"locked",				/* -18 */
	"wrong state",				/* -19 */
	"rate limit reached",			/* -20 */
	"unsafe ownership or permissions",	/* -21 */
	"cryptographic failure",		/* -22 */
	"end of file",				/* -23 */
	"full",					/* -24 */
};

/*
 * Name an error code. TUNL_ERR_SYSTEM names errno as well, so call this
 * before anything else can change errno.
 */
const char *
tunl_err(int r)
{
	if (r == TUNL_ERR_SYSTEM && errno != 0)
		return strerror(errno);
	if (r > 0 || r < TUNL_ERR_MAX)
		return "unknown error";
	return tunl_err_names[-r];
}

_Static_assert(TUNL_NITEMS(tunl_err_names) == 1 - TUNL_ERR_MAX,
    "every TUNL_ERR_* code needs a name");
