/*
 * authority-privilege.c: tunl-authority refuses to run without the group
 * it is installed set-group-ID to (key_group). Installed without it (the
 * group did not exist at `make install`, or a package lost the mode), it
 * would run as its caller, fail to read the keys halfway through and
 * leave the operator guessing; it says what is wrong instead.
 */
#include "config.h"

#include <grp.h>
#include <stdio.h>
#include <unistd.h>

#include "tunl.h"
#include "authority.h"

int
authority_privilege(const struct authority *a)
{
	struct group	*gr;

	if (a->uid == 0)
		return 0;	/* root reads the keys without the group */
	if ((gr = getgrnam(a->cfg.key_group)) == NULL) {
		error("no group %s (key_group)", a->cfg.key_group);
		authority_fail("the relay is not set up: no group %s",
		    a->cfg.key_group);
		return -1;
	}
	if (getegid() != gr->gr_gid) {
		error("refused: running with group %lu, not %s: tunl-authority "
		    "must be installed root:%s mode 2755", (u_long)getegid(),
		    a->cfg.key_group, a->cfg.key_group);
		authority_fail("tunl-authority is not installed set-group-ID "
		    "%s (it must be root:%s 2755; make install as root, then "
		    "tunl-admin doctor)", a->cfg.key_group, a->cfg.key_group);
		return -1;
	}
	return 0;
}
