/*
 * handoff-tool.c: write or locate a hand-off the way pam_tunl does, for
 * integration tests that run without the PAM module (root only).
 *
 *	handoff-tool write DIR SESSION RHOST CONNECTION METHOD GROUP
 *	handoff-tool path DIR CONNECTION
 *	handoff-tool id			(a fresh session id, for tests)
 */
#include "config.h"

#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tunl.h"

int
main(int argc, char **argv)
{
	struct handoff	 h;
	struct group	*gr;
	char		 path[PATH_MAX];
	int		 r;

	if (argc == 2 && strcmp(argv[1], "id") == 0) {
		if (id_generate(path, sizeof(path)) != 0)
			return 1;
		printf("%s\n", path);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "path") == 0) {
		if ((r = handoff_path(argv[2], argv[3], path,
		    sizeof(path))) != 0) {
			fprintf(stderr, "handoff-tool: %s\n", tunl_err(r));
			return 1;
		}
		printf("%s\n", path);
		return 0;
	}
	if (argc != 8 || strcmp(argv[1], "write") != 0) {
		fprintf(stderr, "usage: handoff-tool write DIR SESSION RHOST "
		    "CONNECTION METHOD GROUP | path DIR CONNECTION\n");
		return 2;
	}
	memset(&h, 0, sizeof(h));
	if (tunl_strlcpy(h.session, argv[3], sizeof(h.session)) >=
	    sizeof(h.session) ||
	    tunl_strlcpy(h.rhost, argv[4], sizeof(h.rhost)) >=
	    sizeof(h.rhost) ||
	    tunl_strlcpy(h.connection, argv[5], sizeof(h.connection)) >=
	    sizeof(h.connection) ||
	    tunl_strlcpy(h.method, argv[6], sizeof(h.method)) >=
	    sizeof(h.method)) {
		fprintf(stderr, "handoff-tool: argument too long\n");
		return 1;
	}
	if ((gr = getgrnam(argv[7])) == NULL) {
		fprintf(stderr, "handoff-tool: no group %s\n", argv[7]);
		return 1;
	}
	h.time = (int64_t)time(NULL);
	if ((r = handoff_write(argv[2], &h, gr->gr_gid, h.time, 3600)) != 0) {
		fprintf(stderr, "handoff-tool: %s\n", tunl_err(r));
		return 1;
	}
	return 0;
}
