/* helper.h: what the broker's test peers share (tests/helpers/). */
#ifndef TEST_HELPER_H
#define TEST_HELPER_H

#include <stdio.h>

#include "tunl.h"
#include "frame.h"

struct hpeer {
	int			 fd;
	struct frame_reader	 fr;
	struct buf		*out;		/* frames waiting to be written */
	FILE			*log;		/* one line per frame, or NULL */
};

void	 h_die(const char *, ...) TUNL_PRINTF(1, 2) TUNL_NORETURN;
int	 h_connect(const char *);
void	 h_init(struct hpeer *, int, size_t);
void	 h_own(struct hpeer *);
void	 h_free(struct hpeer *);
void	 h_send_hello(struct hpeer *, int, const char *, const char *, int,
	     u_int, u_int);
int	 h_flush(struct hpeer *, int);
int	 h_read(struct hpeer *);
int	 h_hex(const char *, u_char *, size_t, size_t *);
void	 h_escape(FILE *, const u_char *, size_t);
int	 h_size(const char *, u_int *, u_int *);
int64_t	 h_now_us(void);
FILE	*h_open_append(const char *);
void	 h_put_oversize(struct hpeer *, size_t);

#endif
