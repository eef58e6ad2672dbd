/*
 * share-ready.c: --ready-file PATH, how a script knows tunl-share is
 * connected to the relay without reading its screen.
 *
 * While tunl-share is connected (the relay answered its hello) PATH
 * exists and holds one line, "connected SESSION-ID"; it is made whole
 * under a temporary name in the same directory and renamed into place,
 * so a reader never sees half of it. It is removed when the connection
 * is lost (and made again when it comes back) and when tunl-share ends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "share.h"

void
share_ready_set(struct share *s)
{
	char	 tmp[PATH_MAX], line[ID_LEN_MAX + 16];
	int	 fd = -1, n, ok = 0;

	if (s->ready[0] == '\0' || s->ready_on)
		return;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", s->ready, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto out;
	n = snprintf(line, sizeof(line), "connected %s\n", s->session);
	if (n < 0 || (size_t)n >= sizeof(line))
		goto out;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		goto out;
	if (share_write_all(fd, line, (size_t)n) != 0 || close(fd) != 0) {
		fd = -1;
		(void)unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, s->ready) != 0) {
		(void)unlink(tmp);
		goto out;
	}
	ok = 1;
	s->ready_on = 1;
out:
	if (fd != -1)
		(void)close(fd);
	if (!ok)
		(void)share_audit_note(s->audit_fd,
		    "cannot write the ready file");
}

void
share_ready_clear(struct share *s)
{
	if (s->ready[0] == '\0' || !s->ready_on)
		return;
	(void)unlink(s->ready);
	s->ready_on = 0;
}
