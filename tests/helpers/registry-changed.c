/*
 * registry-changed.c: for integration tests, what tunl-shell kill/unlock
 * and pam_tunl do after changing a session's row: tell its broker with a
 * registry-changed frame (lib/notify.c), as whichever account runs this.
 *
 *	registry-changed RUNTIME_DIR SESSION
 *
 * Exits 0 once the broker acknowledged, 2 if the session has no broker,
 * 1 otherwise (refused: the broker closed without an ack).
 */
#include "config.h"

#include <stdio.h>

#include "tunl.h"
#include "reaper.h"

int
main(int argc, char **argv)
{
	int	 r;

	if (argc != 3) {
		fprintf(stderr, "usage: registry-changed RUNTIME_DIR SESSION\n");
		return 1;
	}
	r = broker_notify(argv[1], argv[2]);
	if (r == 0)
		return 0;
	fprintf(stderr, "registry-changed: %s\n", tunl_err(r));
	return r == TUNL_ERR_NOT_FOUND ? 2 : 1;
}
