/*
 * fuzz-spool.c: libFuzzer target for the spool of registry writes
 * (lib/spool.c), the one file a dead broker or pam_tunl leaves for others
 * to read and act on.
 *
 * The input becomes a session's spool file, which spool_replay reads and
 * makes against a scratch registry. Checked: it never crashes, a record
 * it makes passed spool_check, and on success the file is gone.
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tunl.h"
#include "reaper.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SID	"aardvark-abide-ability-able"

static char		 dir[64];
static struct registry	*reg;

static void
setup(void)
{
	char	 path[128];

	snprintf(dir, sizeof(dir), "/tmp/fuzz-spool.XXXXXX");
	if (mkdtemp(dir) == NULL)
		__builtin_trap();
	snprintf(path, sizeof(path), "%s/sessions", dir);
	if (mkdir(path, 0700) == -1)
		__builtin_trap();
	snprintf(path, sizeof(path), "%s/reg.db", dir);
	if (registry_open(path, REGISTRY_CREATE, &reg) != 0)
		__builtin_trap();
	(void)registry_set_busy_timeout(reg, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	 path[128];
	u_int	 n = 0;
	int	 fd, r;

	if (reg == NULL)
		setup();
	snprintf(path, sizeof(path), "%s/sessions/" SID ".spool", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		__builtin_trap();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		__builtin_trap();
	close(fd);
	r = spool_replay(reg, dir, SID, &n);
	if (n > len / sizeof(struct spool_rec))
		__builtin_trap();
	if (r == 0 && access(path, F_OK) == 0)
		__builtin_trap();
	(void)unlink(path);
	return 0;
}
