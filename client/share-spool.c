/*
 * share-spool.c: the frames that wait for the relay, on disk.
 *
 * The customer's pane is never held for the relay: tmux keeps reading a
 * pane while any ordinary client (the customer's own terminal) is
 * attached, so a control client that stops reading only makes tmux's
 * server buffer the output, and after 300 s drop the client as "too far
 * behind" (tmux's control.c, server-client.c). So tunl-share reads its
 * control client at once, always, and what the link to the relay cannot
 * take yet goes here, in order, as the frames it will send: OUTPUT,
 * SNAPSHOT, RESIZE and GAP. The frame loop takes whole frames back from
 * the front as the link drains (share_spool_pump).
 *
 * The file is made in the private 0700 directory with O_EXCL and unlinked
 * at once: nothing of it is left behind, whatever ends tunl-share. It
 * holds at most spool_max bytes (--spool-max; SHARE_SPOOL_MAX at most);
 * once there, share_spool_put says TUNL_ERR_FULL and the caller skips
 * output and says how much (a GAP frame). A write error (the customer's disk is full) is the same.
 * Once the spool is empty the file is truncated.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "share.h"

int
share_spool_open(struct share *s)
{
	char	 path[PATH_MAX];
	int	 n;

	s->spool_fd = -1;
	s->spool_rd = s->spool_wr = 0;
	n = snprintf(path, sizeof(path), "%s/spool", s->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TUNL_ERR_LENGTH;
	if ((s->spool_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return TUNL_ERR_SYSTEM;
	(void)unlink(path);
	return 0;
}

void
share_spool_close(struct share *s)
{
	if (s->spool_fd != -1)
		(void)close(s->spool_fd);
	s->spool_fd = -1;
	s->spool_rd = s->spool_wr = 0;
}

u_int64_t
share_spool_len(const struct share *s)
{
	return (u_int64_t)(s->spool_wr - s->spool_rd);
}

/* Append whole frames; TUNL_ERR_FULL past the cap or on a full disk. */
int
share_spool_put(struct share *s, const u_char *p, size_t len)
{
	off_t	 at = s->spool_wr;
	ssize_t	 n;
	size_t	 done = 0;

	if (s->spool_fd == -1)
		return TUNL_ERR_STATE;
	if (len > s->spool_max || share_spool_len(s) > s->spool_max - len)
		return TUNL_ERR_FULL;
	while (done < len) {
		n = pwrite(s->spool_fd, p + done, len - done, at + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* What was written is past wr: overwritten later. */
			return TUNL_ERR_FULL;
		}
		done += (size_t)n;
	}
	s->spool_wr += (off_t)len;
	return 0;
}

static int
spool_read(struct share *s, void *p, size_t len, off_t at)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		n = pread(s->spool_fd, (u_char *)p + done, len - done,
		    at + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return TUNL_ERR_SYSTEM;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Move whole frames from the front of the spool to out while out holds
 * less than high bytes. Returns 0, or TUNL_ERR_SYSTEM if the file cannot
 * be read back (the spool is then emptied: its frames are lost, and
 * *lost says how many bytes).
 */
int
share_spool_pump(struct share *s, struct buf *out, size_t high,
    u_int64_t *lost)
{
	u_char		 hdr[FRAME_HEADER_LEN];
	u_char		*d;
	u_int32_t	 flen;
	int		 r = 0;

	*lost = 0;
	while (share_spool_len(s) > 0 && buf_len(out) < high) {
		if (share_spool_len(s) < FRAME_HEADER_LEN ||
		    (r = spool_read(s, hdr, sizeof(hdr), s->spool_rd)) != 0) {
			r = TUNL_ERR_SYSTEM;
			break;
		}
		flen = (u_int32_t)hdr[0] << 24 | (u_int32_t)hdr[1] << 16 |
		    (u_int32_t)hdr[2] << 8 | hdr[3];
		if (flen < 1 || flen > FRAME_MAX ||
		    share_spool_len(s) < FRAME_HEADER_LEN - 1 + (u_int64_t)flen) {
			r = TUNL_ERR_SYSTEM;
			break;
		}
		if (buf_avail(out) < FRAME_HEADER_LEN - 1 + (size_t)flen)
			break;
		if ((r = buf_reserve(out, FRAME_HEADER_LEN - 1 + flen,
		    &d)) != 0)
			break;
		if ((r = spool_read(s, d, FRAME_HEADER_LEN - 1 + flen,
		    s->spool_rd)) != 0) {
			(void)buf_consume_end(out, FRAME_HEADER_LEN - 1 + flen);
			r = TUNL_ERR_SYSTEM;
			break;
		}
		s->spool_rd += FRAME_HEADER_LEN - 1 + (off_t)flen;
	}
	if (r == TUNL_ERR_SYSTEM) {
		*lost = share_spool_len(s);
		s->spool_rd = s->spool_wr;
	}
	if (share_spool_len(s) == 0 && s->spool_wr > 0) {
		s->spool_rd = s->spool_wr = 0;
		/* Only the space: what is past wr is never read. */
		if (ftruncate(s->spool_fd, 0) == -1)
			debug("spool: ftruncate: %s", strerror(errno));
	}
	return r;
}
