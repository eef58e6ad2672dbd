/*
 * test-cast.c: the asciicast v2 writer and reader. Round trips of random
 * byte streams split anywhere, every UTF-8 edge, the escaping of every
 * byte, the fast escaper written byte for byte as the reference one, file modes and refusals, a writer killed mid-stream, a full disk
 * (and a writer that retries the refused event once there is room),
 * and the reader's refusal of malformed lines. Files are checked with
 * asciinema and python3 when those are installed.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunl.h"
#include "utf8-ref.h"

#define SID		"amber-falcon-river-seven"
#define FFFD		"\xef\xbf\xbd"

static char	 tmpdir[64];

/* ---- helpers ------------------------------------------------------------- */

static void
sample_header(struct cast_header *h)
{
	memset(h, 0, sizeof(*h));
	h->cols = 80;
	h->rows = 24;
	h->timestamp = 1700000000;
	strcpy(h->session, SID);
	strcpy(h->case_ref, "CASE-42");
	strcpy(h->host, "db1.example.com");
	strcpy(h->title, "support session");
}

static void
make_dir(void)
{
	strcpy(tmpdir, "/tmp/test-cast.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

/* Remove tmpdir and the files in it (no subdirectories are made). */
static void
remove_dir(void)
{
	DIR		*d;
	struct dirent	*de;

	assert_non_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(tmpdir), 0);
}

static void
path_of(char *path, size_t len, const char *name)
{
	assert_true((size_t)snprintf(path, len, "%s/%s", tmpdir, name) < len);
}

static int
unlink_in_dir(const char *name)
{
	char	 path[PATH_MAX];

	path_of(path, sizeof(path), name);
	return unlink(path);
}

static u_char *
slurp(const char *name, size_t *lenp)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	u_char		*p;
	int		 fd;

	path_of(path, sizeof(path), name);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(p = malloc((size_t)st.st_size + 1));
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = '\0';
	close(fd);
	*lenp = (size_t)st.st_size;
	return p;
}

/* What a whole recording reads back as. */
struct readback {
	struct cast_header	 hdr;
	u_char			*out;		/* all "o" data */
	size_t			 outlen;
	u_int			 events;
	u_int			 resizes;
	u_int			 sizes[64][2];
	double			 last_t;
	int			 end;		/* the last result */
	int			 torn;
};

/* Read name to its end; any result but TUNL_ERR_EOF is returned in end. */
static void
read_back(const char *name, struct readback *rb)
{
	char			 path[PATH_MAX];
	struct cast_reader	*rd;
	struct cast_event	 ev;
	size_t			 cap = 1024;
	int			 fd, r;

	memset(rb, 0, sizeof(*rb));
	path_of(path, sizeof(path), name);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	r = cast_reader_open_fd(fd, &rd);
	assert_int_equal(r, 0);
	assert_int_equal(cast_reader_header(rd, &rb->hdr), 0);
	assert_non_null(rb->out = malloc(cap));
	while ((r = cast_reader_next(rd, &ev)) == 0) {
		assert_true(ev.t >= rb->last_t);
		rb->last_t = ev.t;
		rb->events++;
		if (ev.type == 'r') {
			if (rb->resizes < 64) {
				rb->sizes[rb->resizes][0] = ev.cols;
				rb->sizes[rb->resizes][1] = ev.rows;
			}
			rb->resizes++;
			continue;
		}
		assert_int_equal(ev.type, 'o');
		while (rb->outlen + buf_len(ev.data) > cap) {
			cap *= 2;
			assert_non_null(rb->out = realloc(rb->out, cap));
		}
		memcpy(rb->out + rb->outlen, buf_ptr(ev.data),
		    buf_len(ev.data));
		rb->outlen += buf_len(ev.data);
	}
	rb->end = r;
	rb->torn = cast_reader_torn(rd);
	if (r != TUNL_ERR_EOF)
		print_message("reader: %s\n", cast_reader_errmsg(rd));
	cast_reader_free(rd);
	close(fd);
}

/* Write chunks (NULL-terminated list of lengths into data) and close. */
static void
write_stream(const char *name, const u_char *data, const size_t *cuts,
    size_t ncuts)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	size_t			 i, off = 0;

	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, name, (gid_t)-1, &h, &w), 0);
	for (i = 0; i < ncuts; i++) {
		assert_int_equal(cast_writer_output(w, (double)i / 10,
		    data + off, cuts[i]), 0);
		off += cuts[i];
	}
	assert_int_equal(cast_writer_close(w), 0);
}

static u_char *
normalise(const u_char *in, size_t len, size_t *outlen)
{
	u_char	*out;

	assert_non_null(out = malloc(3 * len + 1));
	*outlen = utf8_ref_normalise(in, len, out);
	return out;
}

/* ---- names and headers --------------------------------------------------- */

static void
test_names(void **state)
{
	static const char	*bad[] = { "", ".hidden", ".", "..", "a/b",
	    "/abs", "a b", "tab\t", "new\nline", "caf\xc3\xa9", "a*", "a:b",
	    "~x" };
	struct cast_header	 h;
	struct cast_writer	*w;
	char			 name[CAST_NAME_MAX + 2];
	size_t			 i;

	(void)state;
	assert_int_equal(cast_name_check("x"), 0);
	assert_int_equal(cast_name_check(SID ".cast"), 0);
	assert_int_equal(cast_name_check("A-Z_0.9"), 0);
	assert_int_not_equal(cast_name_check(NULL), 0);
	for (i = 0; i < TUNL_NITEMS(bad); i++)
		assert_int_not_equal(cast_name_check(bad[i]), 0);
	memset(name, 'n', CAST_NAME_MAX);
	name[CAST_NAME_MAX] = '\0';
	assert_int_equal(cast_name_check(name), 0);
	name[CAST_NAME_MAX] = 'n';
	name[CAST_NAME_MAX + 1] = '\0';
	assert_int_equal(cast_name_check(name), TUNL_ERR_LENGTH);

	/* The writer refuses them too, and creates nothing. */
	make_dir();
	sample_header(&h);
	for (i = 0; i < TUNL_NITEMS(bad); i++) {
		assert_int_not_equal(cast_writer_open(tmpdir, bad[i],
		    (gid_t)-1, &h, &w), 0);
		assert_null(w);
	}
	assert_int_not_equal(cast_writer_open(tmpdir, name, (gid_t)-1, &h,
	    &w), 0);
	remove_dir();	/* fails if anything was created */
}

static void
test_header(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct readback		 rb;
	const char		*want;
	u_char			*text;
	size_t			 len;

	(void)state;
	make_dir();
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "a.cast", 4242, &h, &w), 0);
	assert_int_equal(cast_writer_close(w), 0);
	text = slurp("a.cast", &len);
	want = "{\"version\": 2, \"width\": 80, \"height\": 24, "
	    "\"timestamp\": 1700000000, \"title\": \"support session\", "
	    "\"tunl\": {\"session\": \"" SID "\", \"case\": \"CASE-42\", "
	    "\"host\": \"db1.example.com\"}}\n";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(text, want, len);
	free(text);
	read_back("a.cast", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_int_equal(rb.torn, 0);
	assert_int_equal(rb.events, 0);
	assert_int_equal(rb.hdr.cols, 80);
	assert_int_equal(rb.hdr.rows, 24);
	assert_int_equal(rb.hdr.timestamp, 1700000000);
	assert_string_equal(rb.hdr.session, SID);
	assert_string_equal(rb.hdr.case_ref, "CASE-42");
	assert_string_equal(rb.hdr.host, "db1.example.com");
	assert_string_equal(rb.hdr.title, "support session");
	free(rb.out);

	/* Hostile strings are escaped; bad UTF-8 becomes U+FFFD. */
	memset(&h, 0, sizeof(h));
	h.cols = CAST_SIZE_MAX;
	h.rows = 1;
	strcpy(h.host, "a\"b\\c\n\x1b]0;x\x07\xff\xe2\x82");
	strcpy(h.case_ref, "\xe2\x80\xa8");
	assert_int_equal(cast_writer_open(tmpdir, "b.cast", (gid_t)-1, &h,
	    &w), 0);
	assert_int_equal(cast_writer_close(w), 0);
	text = slurp("b.cast", &len);
	want = "{\"version\": 2, \"width\": 10000, \"height\": 1, "
	    "\"title\": \"tunl\", \"tunl\": {\"session\": \"\", "
	    "\"case\": \"\\u2028\", "
	    "\"host\": \"a\\\"b\\\\c\\n\\u001b]0;x\\u0007" FFFD FFFD "\"}}\n";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(text, want, len);
	free(text);
	read_back("b.cast", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_int_equal(rb.hdr.timestamp, 0);
	assert_string_equal(rb.hdr.host, "a\"b\\c\n\x1b]0;x\x07" FFFD FFFD);
	assert_string_equal(rb.hdr.case_ref, "\xe2\x80\xa8");
	assert_string_equal(rb.hdr.title, "tunl");
	free(rb.out);

	/* With a session and no title, the title names the session. */
	sample_header(&h);
	h.title[0] = '\0';
	assert_int_equal(cast_writer_open(tmpdir, "c.cast", (gid_t)-1, &h,
	    &w), 0);
	assert_int_equal(cast_writer_close(w), 0);
	read_back("c.cast", &rb);
	assert_string_equal(rb.hdr.title, "tunl " SID);
	free(rb.out);

	/* Sizes, times and unterminated fields are refused. */
	sample_header(&h);
	h.cols = 0;
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_RANGE);
	h.cols = CAST_SIZE_MAX + 1;
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_RANGE);
	sample_header(&h);
	h.rows = 0;
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_RANGE);
	sample_header(&h);
	h.timestamp = -1;
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_RANGE);
	sample_header(&h);
	memset(h.title, 'x', sizeof(h.title));
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_LENGTH);
	assert_int_equal(cast_writer_open(tmpdir, "d", (gid_t)-1, NULL, &w),
	    TUNL_ERR_INVALID);
	assert_int_equal(cast_writer_open(NULL, "d", (gid_t)-1, &h, &w),
	    TUNL_ERR_INVALID);
	remove_dir();
}

/* ---- escaping and UTF-8 -------------------------------------------------- */

/* How the writer must spell byte b (followed by a newline) in JSON. */
static void
expected_escape(u_int b, char *out, size_t len)
{
	switch (b) {
	case '"':	snprintf(out, len, "\\\""); return;
	case '\\':	snprintf(out, len, "\\\\"); return;
	case '\b':	snprintf(out, len, "\\b"); return;
	case '\f':	snprintf(out, len, "\\f"); return;
	case '\n':	snprintf(out, len, "\\n"); return;
	case '\r':	snprintf(out, len, "\\r"); return;
	case '\t':	snprintf(out, len, "\\t"); return;
	}
	if (b < 0x20 || b == 0x7f)
		snprintf(out, len, "\\u%04x", b);
	else if (b < 0x80)
		snprintf(out, len, "%c", (char)b);
	else
		snprintf(out, len, "%s", FFFD);	/* alone, never well-formed */
}

/* Every byte 0..255, each in its own call followed by a newline. */
static void
test_escape_every_byte(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct readback		 rb;
	char			 line[128], esc[16];
	u_char			 in[2], *text, *norm, *p, *nl;
	size_t			 len, nlen, want;
	u_int			 b;

	(void)state;
	make_dir();
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "e", (gid_t)-1, &h, &w), 0);
	for (b = 0; b < 256; b++) {
		in[0] = (u_char)b;
		in[1] = '\n';
		assert_int_equal(cast_writer_output(w, b, in, 2), 0);
	}
	assert_int_equal(cast_writer_close(w), 0);

	text = slurp("e", &len);
	p = (u_char *)memchr(text, '\n', len) + 1;
	for (b = 0; b < 256; b++) {
		expected_escape(b, esc, sizeof(esc));
		snprintf(line, sizeof(line), "[%u.000000, \"o\", \"%s\\n\"]",
		    b, esc);
		assert_non_null(nl = memchr(p, '\n', len - (size_t)(p - text)));
		*nl = '\0';
		assert_string_equal((char *)p, line);
		*nl = '\n';
		p = nl + 1;
	}
	assert_ptr_equal(p, text + len);

	/* The whole file: UTF-8, and no raw control byte but line ends. */
	norm = normalise(text, len, &nlen);
	assert_int_equal(nlen, len);
	assert_memory_equal(norm, text, len);
	for (p = text; p < text + len; p++)
		assert_true((*p >= 0x20 && *p != 0x7f) || *p == '\n');
	free(norm);
	free(text);

	/* Read back: each byte as the reference normalises it. */
	read_back("e", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_int_equal(rb.events, 256);
	for (b = 0, want = 0; b < 256; b++)
		want += (b < 0x80 ? 1 : 3) + 1;
	assert_int_equal(rb.outlen, want);
	free(rb.out);
	remove_dir();
}

struct utf8_case {
	const char	*in;
	size_t		 inlen;
	const char	*out;
	size_t		 outlen;
};
#define UC(i, o)	{ i, sizeof(i) - 1, o, sizeof(o) - 1 }

static const struct utf8_case utf8_cases[] = {
	UC("A", "A"),
	UC("\xc3\xa9", "\xc3\xa9"),
	UC("\xe2\x82\xac", "\xe2\x82\xac"),
	UC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
	UC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),		/* U+10FFFF */
	UC("\xef\xbf\xbd", FFFD),				/* U+FFFD */
	UC("\xc0\x80", FFFD FFFD),				/* overlong */
	UC("\xc1\xbf", FFFD FFFD),
	UC("\xe0\x80\x80", FFFD FFFD FFFD),
	UC("\xe0\x9f\xbf", FFFD FFFD FFFD),
	UC("\xf0\x80\x80\x80", FFFD FFFD FFFD FFFD),
	UC("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD),
	UC("\xed\xa0\x80", FFFD FFFD FFFD),			/* surrogate */
	UC("\xed\xbf\xbf", FFFD FFFD FFFD),
	UC("\xed\x9f\xbf", "\xed\x9f\xbf"),			/* U+D7FF */
	UC("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD),		/* > 10FFFF */
	UC("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD),
	UC("\xff\xfe", FFFD FFFD),
	UC("\x80", FFFD),					/* stray */
	UC("\xbf\x80\x41", FFFD FFFD "A"),
	UC("\xe2\x82", FFFD),					/* cut short */
	UC("\xf0\x9f\x98", FFFD),
	UC("\xc3", FFFD),
	UC("\xe2\x82\x41", FFFD "A"),
	UC("\xf0\x9f\x98\x41", FFFD "A"),
	UC("\xf0\x9f\x41", FFFD "A"),
	UC("\xc3\xc3\xa9", FFFD "\xc3\xa9"),
	UC("\xe2\x28\xa1", FFFD "(" FFFD),
	UC("\xe1\x80\xe2\x82\xac", FFFD "\xe2\x82\xac"),
	UC("a\"b\\c\x00\x1b[31m\x7f", "a\"b\\c\x00\x1b[31m\x7f"),
	UC("\xc2\x85\xe2\x80\xa8\xe2\x80\xa9", "\xc2\x85\xe2\x80\xa8\xe2\x80\xa9"),
};

/*
 * Each case, whole, split at every point, and byte by byte, must read back
 * as written in the table (and as the reference normaliser says).
 */
static void
test_utf8_edges(void **state)
{
	const struct utf8_case	*uc;
	struct readback		 rb;
	size_t			 i, cut, cuts[16], n, nlen;
	u_char			*norm;
	char			 name[32];

	(void)state;
	make_dir();
	for (i = 0; i < TUNL_NITEMS(utf8_cases); i++) {
		uc = &utf8_cases[i];
		norm = normalise((const u_char *)uc->in, uc->inlen, &nlen);
		assert_int_equal(nlen, uc->outlen);
		assert_memory_equal(norm, uc->out, nlen);
		free(norm);
		for (cut = 0; cut <= uc->inlen + 1; cut++) {
			if (cut <= uc->inlen) {
				cuts[0] = cut;
				cuts[1] = uc->inlen - cut;
				n = 2;
			} else {
				for (n = 0; n < uc->inlen; n++)
					cuts[n] = 1;
			}
			snprintf(name, sizeof(name), "u%zu-%zu", i, cut);
			write_stream(name, (const u_char *)uc->in, cuts, n);
			read_back(name, &rb);
			assert_int_equal(rb.end, TUNL_ERR_EOF);
			if (rb.outlen != uc->outlen ||
			    memcmp(rb.out, uc->out, uc->outlen) != 0)
				fail_msg("case %zu cut %zu differs", i, cut);
			free(rb.out);
		}
	}
	remove_dir();
}

/* The characters that must be escaped in the file, and how. */
static void
test_escape_unicode(void **state)
{
	static const u_char	 in[] = "\xc2\x80\xc2\x9f\xc2\xa0"
	    "\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf/";
	static const char	*want = "[0.000000, \"o\", "
	    "\"\\u0080\\u009f\xc2\xa0\\u2028\\u2029\xef\xbb\xbf/\"]\n";
	struct cast_header	 h;
	struct cast_writer	*w;
	u_char			*text, *line;
	size_t			 len;

	(void)state;
	make_dir();
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "x", (gid_t)-1, &h, &w), 0);
	assert_int_equal(cast_writer_output(w, 0, in, sizeof(in) - 1), 0);
	assert_int_equal(cast_writer_close(w), 0);
	text = slurp("x", &len);
	line = (u_char *)memchr(text, '\n', len) + 1;
	assert_int_equal(len - (size_t)(line - text), strlen(want));
	assert_memory_equal(line, want, strlen(want));
	free(text);
	remove_dir();
}

/* ---- the fast escaper against the reference ------------------------------ */

/*
 * Close two writers (and the descriptors their syncs were left on), then
 * require their files na and nb to be identical byte for byte, and remove
 * them.
 */
static void
same_files(struct cast_writer *wa, int fda, const char *na,
    struct cast_writer *wb, int fdb, const char *nb)
{
	u_char	*a, *b;
	size_t	 alen, blen;

	assert_int_equal(cast_writer_close(wa), 0);
	assert_int_equal(cast_writer_close(wb), 0);
	close(fda);
	close(fdb);
	a = slurp(na, &alen);
	b = slurp(nb, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	assert_int_equal(unlink_in_dir(na), 0);
	assert_int_equal(unlink_in_dir(nb), 0);
}

/*
 * Write the same pieces with cast_writer_output into "fast" and with
 * cast_writer_output_ref into "ref" (same header, same times), with the
 * sync left to us (nothing to sync: the files are removed), and require
 * the two files to be identical byte for byte.
 */
static void
diff_write(const u_char *data, const size_t *cuts, size_t ncuts)
{
	struct cast_header	 h;
	struct cast_writer	*wf, *wr;
	size_t			 i, off = 0;
	int			 fdf, fdr;

	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "fast", (gid_t)-1, &h, &wf),
	    0);
	assert_int_equal(cast_writer_open(tmpdir, "ref", (gid_t)-1, &h, &wr),
	    0);
	assert_int_equal(cast_writer_sync_elsewhere(wf, &fdf), 0);
	assert_int_equal(cast_writer_sync_elsewhere(wr, &fdr), 0);
	for (i = 0; i < ncuts; i++) {
		assert_int_equal(cast_writer_output(wf, (double)i / 8,
		    data + off, cuts[i]), 0);
		assert_int_equal(cast_writer_output_ref(wr, (double)i / 8,
		    data + off, cuts[i]), 0);
		assert_true(cast_writer_size(wf) == cast_writer_size(wr));
		off += cuts[i];
	}
	same_files(wf, fdf, "fast", wr, fdr, "ref");
}

/*
 * cast_writer_reserve makes the line whole at once and changes nothing
 * else: the same events give the same file with and without it, events
 * at the bound included, and a second call is harmless.
 */
static void
test_reserve(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*wp, *wr;
	static u_char		 big[300 * 1024];
	size_t			 i;
	int			 fdp, fdr;

	(void)state;
	for (i = 0; i < sizeof(big); i++) {
		switch (i % 11) {
		case 0:
			big[i] = 0x1b;
			break;
		case 5:
			big[i] = 0xc3;	/* with the next: U+00E9 */
			break;
		case 6:
			big[i] = 0xa9;
			break;
		default:
			big[i] = (u_char)('a' + i % 26);
		}
	}
	make_dir();
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "plain", (gid_t)-1, &h,
	    &wp), 0);
	assert_int_equal(cast_writer_open(tmpdir, "reserved", (gid_t)-1, &h,
	    &wr), 0);
	assert_int_equal(cast_writer_reserve(wr), 0);
	assert_int_equal(cast_writer_reserve(wr), 0);
	assert_true(cast_writer_size(wp) == cast_writer_size(wr));
	assert_int_equal(cast_writer_sync_elsewhere(wp, &fdp), 0);
	assert_int_equal(cast_writer_sync_elsewhere(wr, &fdr), 0);
	assert_int_equal(cast_writer_output(wp, 0.5, big, sizeof(big)), 0);
	assert_int_equal(cast_writer_output(wr, 0.5, big, sizeof(big)), 0);
	assert_int_equal(cast_writer_resize(wp, 1.0, 132, 43), 0);
	assert_int_equal(cast_writer_resize(wr, 1.0, 132, 43), 0);
	assert_int_equal(cast_writer_output(wp, 1.5, big, 6), 0);
	assert_int_equal(cast_writer_output(wr, 1.5, big, 6), 0);
	assert_true(cast_writer_size(wp) == cast_writer_size(wr));
	same_files(wp, fdp, "plain", wr, fdr, "reserved");
	remove_dir();
}

/* Every split of data into two writes, and into three at every pair. */
static void
diff_every_split(const u_char *data, size_t len, int three)
{
	size_t	 cuts[3], i, j;

	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		cuts[1] = len - i;
		diff_write(data, cuts, 2);
		if (!three)
			continue;
		for (j = i; j <= len; j++) {
			cuts[1] = j - i;
			cuts[2] = len - j;
			diff_write(data, cuts, 3);
		}
	}
}

static void
test_fast_matches_ref_short(void **state)
{
	static const char	*tricky[] = {
		/* UTF-8 whole, cut short, ill-formed, and the escaped ones. */
		"a\303\251b\342\202\254c\360\237\230\200d",
		"\xe2\x80\xa8\xe2\x80\xa9\xc2\x80\xc2\x9f\xc2\xa0\x7f",
		"\xed\xa0\x80\xed\x9f\xbf\xc0\xaf\xc1\xbf\xf5\xff\xfe",
		"\xf4\x90\x80\x80\xf4\x8f\xbf\xbf\xf0\x8f\xbf\xbf\xe0\x9f",
		"\xf1\x80\x80x\xe1\x80y\xc3z\x80\xbf\xe2\x82",
		"\xf0\x9f\x98",
		"x\xe2",
		/* Every kind of escape, between and inside runs. */
		"\x1b[1;31mred\x1b[0m\r\n\t\"quoted\\\"\b\f\x01\x1f\x7f",
		"0123456789abcdef0123456789abcdef\0330123456789abcdef\"",
		"\xef\xbf\xbd\xef\xbf\xbe\xef\xbf\xbf\xf3\xa0\x80\x81\xc2",
	};
	u_char			 data[256];
	size_t			 i, len, k;

	(void)state;
	make_dir();
	for (i = 0; i < TUNL_NITEMS(tricky); i++) {
		len = strlen(tricky[i]);
		memcpy(data, tricky[i], len);
		diff_every_split(data, len, len <= 24);
	}
	/* Every byte value alone, after a lead byte, and after a prefix. */
	for (k = 0; k < 256; k++) {
		data[0] = (u_char)k;
		data[1] = 0xe2;
		data[2] = (u_char)k;
		data[3] = 0xf0;
		data[4] = 0x9f;
		data[5] = (u_char)k;
		data[6] = (u_char)k;
		diff_every_split(data, 7, 0);
	}
	remove_dir();
}

/*
 * Events are cut where the next character's escaped form no longer fits
 * in CAST_EVENT_MAX: put every kind of character across that point, at
 * every offset a few bytes either side, split there and elsewhere.
 */
static void
test_fast_matches_ref_event_edge(void **state)
{
	static const char	*tails[] = { "\x1b", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xc2\x9b", "\xe2\x80\xa8", "\xed\xa0\x80",
	    "\xe2\x82", "\"", "z" };
	u_char			*data;
	size_t			 size = CAST_EVENT_MAX + 64, base, i, t, n;
	size_t			 cuts[3];

	(void)state;
	make_dir();
	assert_non_null(data = malloc(size));
	for (t = 0; t < TUNL_NITEMS(tails); t++) {
		n = strlen(tails[t]);
		for (base = CAST_EVENT_MAX - 8; base <= CAST_EVENT_MAX + 2;
		    base++) {
			memset(data, 'a', base);
			for (i = 0; i < 4; i++)
				memcpy(data + base + i * n, tails[t], n);
			cuts[0] = base + 4 * n;
			diff_write(data, cuts, 1);
			cuts[0] = base - 1;
			cuts[1] = 1 + 2 * n;
			cuts[2] = 2 * n;
			diff_write(data, cuts, 3);
		}
	}
	/* Nothing but six-byte escapes, and nothing but C1: cut unevenly. */
	memset(data, 0x1b, size);
	cuts[0] = size;
	diff_write(data, cuts, 1);
	for (i = 0; i + 1 < size; i += 2) {
		data[i] = 0xc2;
		data[i + 1] = 0x85;
	}
	diff_write(data, cuts, 1);
	cuts[0] = 3;
	cuts[1] = size - 4;
	cuts[2] = 1;
	diff_write(data, cuts, 3);
	free(data);
	remove_dir();
}

/* Long random streams of awkward bytes, cut into random pieces. */
static size_t	random_stream(u_char *, size_t);

static void
test_fast_matches_ref_random(void **state)
{
	u_char		*data;
	size_t		 size = 3 * CAST_EVENT_MAX, cuts[64], off, n;
	u_int		 round, i;

	(void)state;
	make_dir();
	assert_non_null(data = malloc(size));
	srandom(4242);
	for (round = 0; round < 24; round++) {
		random_stream(data, size);
		for (i = 0, off = 0; i < TUNL_NITEMS(cuts) && off < size;
		    i++) {
			n = round % 3 == 0 ? (size_t)random() % 64 :
			    (size_t)random() % (size / 16);
			if (n > size - off || i == TUNL_NITEMS(cuts) - 1)
				n = size - off;
			cuts[i] = n;
			off += n;
		}
		diff_write(data, cuts, i);
	}
	free(data);
	remove_dir();
}

/* ---- round trips ---------------------------------------------------------- */

/* Bytes that find the edges: text, controls, UTF-8 whole and broken. */
static size_t
random_stream(u_char *p, size_t len)
{
	static const char	*pieces[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\xed\xa0\x80", "\xc0\xaf",
	    "\xf4\x90\x80\x80", "\x1b[1;31m", "\x1b]52;c;eA==\x07", "\r\n",
	    "\"\\", "\xef\xbf\xbd", "\xc2\x9b" };
	size_t			 i = 0, n;
	const char		*s;
	u_int			 k;

	while (i < len) {
		k = (u_int)random() % 100;
		if (k < 45)
			p[i++] = (u_char)(0x20 + random() % 0x5f);
		else if (k < 55)
			p[i++] = (u_char)(random() % 0x20);
		else if (k < 80) {
			s = pieces[random() % TUNL_NITEMS(pieces)];
			n = strlen(s);
			if (n > len - i)
				n = len - i;
			memcpy(p + i, s, n);
			i += n;
		} else
			p[i++] = (u_char)random();
	}
	return len;
}

static void
test_roundtrip_random(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct readback		 rb;
	u_char			*in, *norm;
	size_t			 len, off, n, nlen;
	double			 t;
	u_int			 seed, resizes, sizes[64][2];
	char			 name[32];

	(void)state;
	make_dir();
	for (seed = 1; seed <= 40; seed++) {
		srandom(seed);
		len = (size_t)random() % (seed % 8 == 0 ? 400000 : 20000);
		assert_non_null(in = malloc(len + 1));
		random_stream(in, len);
		sample_header(&h);
		snprintf(name, sizeof(name), "r%u", seed);
		assert_int_equal(cast_writer_open(tmpdir, name, (gid_t)-1,
		    &h, &w), 0);
		t = 0;
		resizes = 0;
		for (off = 0; off < len; off += n) {
			n = (size_t)random() % (random() % 4 == 0 ? 9 : 5000);
			if (n > len - off)
				n = len - off;
			/* Now and then a clock that steps back: clamped. */
			t += random() % 10 == 0 ? -0.5 : 0.001 * (random() % 50);
			if (t < 0)
				t = 0;
			assert_int_equal(cast_writer_output(w, t, in + off, n),
			    0);
			if (random() % 20 == 0 && resizes < 64) {
				sizes[resizes][0] = 1 + (u_int)random() % 500;
				sizes[resizes][1] = 1 + (u_int)random() % 200;
				assert_int_equal(cast_writer_resize(w, t,
				    sizes[resizes][0], sizes[resizes][1]), 0);
				resizes++;
			}
		}
		assert_int_equal(cast_writer_close(w), 0);
		read_back(name, &rb);
		assert_int_equal(rb.end, TUNL_ERR_EOF);
		assert_int_equal(rb.torn, 0);
		norm = normalise(in, len, &nlen);
		assert_int_equal(rb.outlen, nlen);
		assert_memory_equal(rb.out, norm, nlen);
		assert_int_equal(rb.resizes, resizes);
		assert_memory_equal(rb.sizes, sizes,
		    resizes * sizeof(sizes[0]));
		free(norm);
		free(rb.out);
		free(in);
	}
	remove_dir();
}

/* A write bigger than one event is cut into events at characters. */
static void
test_big_write(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct readback		 rb;
	u_char			*in, *text, *p, *nl;
	size_t			 len = 1024 * 1024, i, tlen, lines = 0;

	(void)state;
	make_dir();
	assert_non_null(in = malloc(len));
	/* Controls (6 bytes escaped) and 4-byte characters, interleaved. */
	for (i = 0; i + 5 <= len; i += 5)
		memcpy(in + i, "\x01\xf0\x9f\x98\x80", 5);
	len = i;
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "big", (gid_t)-1, &h, &w),
	    0);
	assert_int_equal(cast_writer_output(w, 1, in, len), 0);
	assert_int_equal(cast_writer_close(w), 0);
	text = slurp("big", &tlen);
	for (p = text; p < text + tlen; p = nl + 1) {
		assert_non_null(nl = memchr(p, '\n', tlen - (size_t)(p - text)));
		assert_true((size_t)(nl - p) <= CAST_EVENT_MAX + 32);
		lines++;
	}
	/* 10 escaped bytes per 5 input bytes: 2 MiB in 256 KiB events. */
	assert_true(lines >= 1 + (2 * len) / CAST_EVENT_MAX);
	free(text);
	read_back("big", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_int_equal(rb.events, lines - 1);
	assert_int_equal(rb.outlen, len);
	assert_memory_equal(rb.out, in, len);
	free(rb.out);
	free(in);
	remove_dir();
}

static void
test_resize_and_time(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct readback		 rb;
	u_char			*text, *p;
	size_t			 len;
	const char		*want;

	(void)state;
	make_dir();
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "t", (gid_t)-1, &h, &w), 0);
	assert_int_equal(cast_writer_output(w, 1.5, (const u_char *)"a", 1),
	    0);
	assert_int_equal(cast_writer_resize(w, 2.25, 132, 43), 0);
	assert_int_equal(cast_writer_output(w, 123.4567891,
	    (const u_char *)"b", 1), 0);
	/* Backwards: written at the last time. */
	assert_int_equal(cast_writer_output(w, 100, (const u_char *)"c", 1),
	    0);
	assert_int_equal(cast_writer_resize(w, 0.0000004, 1, 1), 0);
	assert_int_equal(cast_writer_resize(w, 200, CAST_SIZE_MAX,
	    CAST_SIZE_MAX), 0);
	/* Refused, and nothing written for them. */
	assert_int_equal(cast_writer_resize(w, 201, 0, 24), TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_resize(w, 201, 80, CAST_SIZE_MAX + 1),
	    TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_output(w, -1, (const u_char *)"d", 1),
	    TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_output(w, NAN, (const u_char *)"d", 1),
	    TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_output(w, INFINITY,
	    (const u_char *)"d", 1), TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_output(w, CAST_TIME_MAX * 2,
	    (const u_char *)"d", 1), TUNL_ERR_RANGE);
	assert_int_equal(cast_writer_output(w, 300, NULL, 1),
	    TUNL_ERR_INVALID);
	/* Nothing to write: no event, and the clock does not move. */
	assert_int_equal(cast_writer_output(w, 300, NULL, 0), 0);
	assert_int_equal(cast_writer_output(w, 300, (const u_char *)"\xe2",
	    1), 0);
	assert_int_equal(cast_writer_output(w, 300, (const u_char *)"\x82",
	    1), 0);
	assert_int_equal(cast_writer_sync(w), 0);
	assert_int_equal(cast_writer_close(w), 0);

	text = slurp("t", &len);
	p = (u_char *)memchr(text, '\n', len) + 1;
	want = "[1.500000, \"o\", \"a\"]\n"
	    "[2.250000, \"r\", \"132x43\"]\n"
	    "[123.456789, \"o\", \"b\"]\n"
	    "[123.456789, \"o\", \"c\"]\n"
	    "[123.456789, \"r\", \"1x1\"]\n"
	    "[200.000000, \"r\", \"10000x10000\"]\n"
	    "[200.000000, \"o\", \"\xef\xbf\xbd\"]\n";
	assert_int_equal(len - (size_t)(p - text), strlen(want));
	assert_memory_equal(p, want, strlen(want));
	free(text);

	read_back("t", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_int_equal(rb.events, 7);
	assert_int_equal(rb.resizes, 3);
	assert_int_equal(rb.sizes[0][0], 132);
	assert_int_equal(rb.sizes[0][1], 43);
	assert_int_equal(rb.sizes[1][0], 1);
	assert_int_equal(rb.sizes[2][1], CAST_SIZE_MAX);
	assert_true(rb.last_t == 200.0);
	assert_int_equal(rb.outlen, 6);
	assert_memory_equal(rb.out, "abc" FFFD, 6);
	free(rb.out);
	remove_dir();
}

/* ---- the file itself ------------------------------------------------------ */

static void
test_file_safety(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct stat		 st;
	char			 path[PATH_MAX], other[PATH_MAX];
	u_char			*text;
	size_t			 len;
	mode_t			 old;
	gid_t			 gid;
	int			 fd;

	(void)state;
	make_dir();
	sample_header(&h);

	/* 0640 exactly, whatever the umask. */
	old = umask(0);
	assert_int_equal(cast_writer_open(tmpdir, "m0", (gid_t)-1, &h, &w),
	    0);
	assert_int_equal(cast_writer_close(w), 0);
	umask(0277);
	assert_int_equal(cast_writer_open(tmpdir, "m1", (gid_t)-1, &h, &w),
	    0);
	assert_int_equal(cast_writer_close(w), 0);
	umask(old);
	path_of(path, sizeof(path), "m0");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	path_of(path, sizeof(path), "m1");
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* The group: any as root; as others only their own, else kept. */
	gid = geteuid() == 0 ? 4242 : getegid();
	assert_int_equal(cast_writer_open(tmpdir, "g", gid, &h, &w), 0);
	assert_int_equal(cast_writer_close(w), 0);
	path_of(path, sizeof(path), "g");
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	if (geteuid() != 0) {
		print_message("not root: a foreign group is left alone\n");
		assert_int_equal(cast_writer_open(tmpdir, "g2", 4242, &h, &w),
		    0);
		assert_int_equal(cast_writer_close(w), 0);
		path_of(path, sizeof(path), "g2");
		assert_int_equal(lstat(path, &st), 0);
		assert_int_not_equal(st.st_gid, 4242);
	}

	/* Never an existing file: it is left as it was. */
	assert_int_equal(cast_writer_open(tmpdir, "m0", (gid_t)-1, &h, &w),
	    TUNL_ERR_EXISTS);
	assert_null(w);
	path_of(path, sizeof(path), "plain");
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(cast_writer_open(tmpdir, "plain", (gid_t)-1, &h,
	    &w), TUNL_ERR_EXISTS);
	text = slurp("plain", &len);
	assert_int_equal(len, 4);
	assert_memory_equal(text, "keep", 4);
	free(text);

	/* Never through a link, dangling or not. */
	path_of(path, sizeof(path), "link");
	path_of(other, sizeof(other), "target");
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(cast_writer_open(tmpdir, "link", (gid_t)-1, &h, &w),
	    TUNL_ERR_EXISTS);
	assert_int_equal(lstat(other, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_true((fd = open(other, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_int_equal(cast_writer_open(tmpdir, "link", (gid_t)-1, &h, &w),
	    TUNL_ERR_EXISTS);
	assert_int_equal(lstat(other, &st), 0);
	assert_int_equal(st.st_size, 0);

	/* The directory itself must not be a link, nor world-writable. */
	path_of(path, sizeof(path), "dirlink");
	assert_int_equal(symlink(tmpdir, path), 0);
	assert_int_equal(cast_writer_open(path, "x", (gid_t)-1, &h, &w),
	    TUNL_ERR_SYSTEM);
	assert_null(w);
	assert_int_equal(cast_writer_open(other, "x", (gid_t)-1, &h, &w),
	    TUNL_ERR_SYSTEM);	/* not a directory */
	path_of(path, sizeof(path), "missing");
	assert_int_equal(cast_writer_open(path, "x", (gid_t)-1, &h, &w),
	    TUNL_ERR_SYSTEM);
	assert_int_equal(chmod(tmpdir, 01777), 0);
	assert_int_equal(cast_writer_open(tmpdir, "x", (gid_t)-1, &h, &w),
	    TUNL_ERR_UNSAFE);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	path_of(path, sizeof(path), "x");
	assert_int_equal(lstat(path, &st), -1);
	remove_dir();
}

/* ---- crashes and full disks ----------------------------------------------- */

static void
crash_child(int selfkill)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	char			 data[4096];
	u_int			 i;
	int			 n;

	sample_header(&h);
	if (cast_writer_open(tmpdir, "crash", (gid_t)-1, &h, &w) != 0)
		_exit(2);
	for (i = 0;; i++) {
		/* Event i: its number, then filler up to a size from i. */
		n = snprintf(data, sizeof(data), "event %u|", i);
		memset(data + n, 'a' + i % 26, 1 + (i * 37) % 3000);
		n += 1 + (int)((i * 37) % 3000);
		if (cast_writer_output(w, i * 0.001, (u_char *)data,
		    (size_t)n) != 0)
			_exit(3);
		if (selfkill && i == 999)
			raise(SIGKILL);
	}
}

/* Check the events of a crashed recording: 0, 1, 2, ... in order. */
static u_int
crash_check(void)
{
	char			 path[PATH_MAX], want[4096];
	struct cast_reader	*rd;
	struct cast_event	 ev;
	u_int			 i = 0;
	int			 fd, n, r;

	path_of(path, sizeof(path), "crash");
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
	while ((r = cast_reader_next(rd, &ev)) == 0) {
		n = snprintf(want, sizeof(want), "event %u|", i);
		memset(want + n, 'a' + i % 26, 1 + (i * 37) % 3000);
		n += 1 + (int)((i * 37) % 3000);
		assert_int_equal(buf_len(ev.data), n);
		assert_memory_equal(buf_ptr(ev.data), want, (size_t)n);
		i++;
	}
	/* The end, perhaps inside a torn line, and never an error. */
	assert_int_equal(r, TUNL_ERR_EOF);
	if (cast_reader_torn(rd))
		print_message("crash: torn last line after %u events\n", i);
	cast_reader_free(rd);
	close(fd);
	return i;
}

static void
test_crash(void **state)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int64_t		 end;
	pid_t		 pid, w = 0;
	int		 status, reached = 0;

	(void)state;
	make_dir();

	/* A writer that kills itself after 1000 events, without closing. */
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		crash_child(1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(crash_check(), 1000);
	path_of(path, sizeof(path), "crash");
	assert_int_equal(unlink(path), 0);

	/*
	 * One killed from outside in the middle of its stream, once it has
	 * written 2 MiB however long a loaded machine takes (the limit is
	 * for a broken build). It is killed before anything is asserted, so
	 * a failure never leaves it writing.
	 */
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		crash_child(0);
	end = tunl_now_ms() + 60 * 1000;
	while (!reached && tunl_now_ms() < end) {
		if ((w = waitpid(pid, &status, WNOHANG)) != 0)
			break;
		if (stat(path, &st) == 0 && st.st_size > 2 * 1024 * 1024)
			reached = 1;
		else
			usleep(1000);
	}
	if (w == 0) {
		(void)kill(pid, SIGKILL);
		w = waitpid(pid, &status, 0);
	}
	assert_int_equal(w, pid);
	assert_true(reached);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(crash_check() > 100);
	remove_dir();
}

/* The data of big event i: its number, a dot, then z up to 300 bytes. */
static void
full_data(char *data, size_t len, u_int i)
{
	memset(data, 'z', len);
	data[snprintf(data, len, "%u", i)] = '.';
}

/*
 * In a child: write 300-byte events until the disk or the file size limit
 * says no, then 1-byte events until they fail too; the refusal must be
 * TUNL_ERR_FULL, and lasting (a resize line is longer than the last
 * refused one). Then either close with a held-back byte that cannot be
 * written (TUNL_ERR_FULL), or, with grow, make room and check the same
 * writer goes on. Read the file back: every event that was accepted is
 * there, and nothing else. Returns 0 when all holds, 77 when the setup is
 * impossible, another number for the check that failed.
 */
static int
full_child(const char *dir, const char *name, int (*grow)(void))
{
	struct cast_header	 h;
	struct cast_writer	*w;
	struct cast_reader	*rd;
	struct cast_event	 ev;
	char			 path[PATH_MAX], data[300];
	u_int			 big = 0, small = 0, i;
	int			 fd, r;

	sample_header(&h);
	if (cast_writer_open(dir, name, (gid_t)-1, &h, &w) != 0)
		return 10;
	for (i = 0; i < 100000; i++) {
		full_data(data, sizeof(data), i);
		if ((r = cast_writer_output(w, i, (u_char *)data,
		    sizeof(data))) != 0)
			break;
		big++;
	}
	if (i == 100000 || r != TUNL_ERR_FULL || big < 2)
		return 11;
	for (; i < 100000; i++) {
		if ((r = cast_writer_output(w, i, (u_char *)"s", 1)) != 0)
			break;
		small++;
	}
	if (r != TUNL_ERR_FULL)
		return 12;
	if (cast_writer_resize(w, i, 80, 24) != TUNL_ERR_FULL)
		return 13;
	if (grow == NULL) {
		/* Held-back bytes that cannot be written at close. */
		if (cast_writer_output(w, i, (u_char *)"\xe2", 1) != 0)
			return 14;
		if (cast_writer_close(w) != TUNL_ERR_FULL)
			return 15;
	} else {
		if (grow() != 0)
			return 20;
		if (cast_writer_output(w, i, (u_char *)"again", 5) != 0 ||
		    cast_writer_output(w, i, (u_char *)"\xe2", 1) != 0 ||
		    cast_writer_close(w) != 0)
			return 21;
	}

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) || (fd = open(path, O_RDONLY)) == -1 ||
	    cast_reader_open_fd(fd, &rd) != 0)
		return 16;
	for (i = 0; (r = cast_reader_next(rd, &ev)) == 0; i++) {
		if (i < big) {
			full_data(data, sizeof(data), i);
			if (buf_len(ev.data) != sizeof(data) ||
			    memcmp(buf_ptr(ev.data), data, sizeof(data)) != 0)
				return 17;
		} else if (i < big + small) {
			if (buf_len(ev.data) != 1 || *buf_ptr(ev.data) != 's')
				return 18;
		} else if (grow != NULL && i == big + small) {
			if (buf_len(ev.data) != 5 ||
			    memcmp(buf_ptr(ev.data), "again", 5) != 0)
				return 22;
		} else if (grow != NULL && i == big + small + 1) {
			if (buf_len(ev.data) != 3 ||
			    memcmp(buf_ptr(ev.data), FFFD, 3) != 0)
				return 23;
		} else
			return 24;
	}
	if (r != TUNL_ERR_EOF || cast_reader_torn(rd) ||
	    i != big + small + (grow != NULL ? 2 : 0))
		return 19;
	cast_reader_free(rd);
	close(fd);
	return 0;
}

static void
run_full_child(int (*setup)(void), int (*grow)(void))
{
	char	 path[PATH_MAX];
	pid_t	 pid;
	int	 status;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		int	 r;

		if ((r = setup()) != 0)
			_exit(r);
		if ((r = full_child(tmpdir, "full", NULL)) != 0)
			_exit(r);
		path_of(path, sizeof(path), "full");
		if (unlink(path) == -1)
			_exit(30);
		if (grow != NULL && (r = full_child(tmpdir, "grow", grow)) != 0)
			_exit(r);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		skip();
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A file size limit: writes past it fail with EFBIG (SIGXFSZ ignored). */
static int
setup_fsize(void)
{
	struct rlimit	 rl;

	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 77;
	rl.rlim_cur = 6000;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 77;
	return 0;
}

static int
grow_fsize(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_FSIZE, &rl);
}

static void
test_full_fsize(void **state)
{
	(void)state;
	make_dir();
	run_full_child(setup_fsize, grow_fsize);
	remove_dir();
}

/* A tiny tmpfs in a private mount namespace: real ENOSPC (root only). */
static int
setup_tmpfs(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# tmpfs ENOSPC test needs root: skipped\n");
		return 77;
	}
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tunl-test", tmpdir, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=16k,mode=0700") == -1) {
		fprintf(stderr, "# cannot mount a tmpfs (%s): skipped\n",
		    strerror(errno));
		return 77;
	}
	return 0;
}

/* Room comes back: the tmpfs grows. */
static int
grow_tmpfs(void)
{
	return mount("tunl-test", tmpdir, "tmpfs", MS_REMOUNT | MS_NOSUID |
	    MS_NODEV, "size=64k");
}

static void
test_full_tmpfs(void **state)
{
	(void)state;
	make_dir();
	run_full_child(setup_tmpfs, grow_tmpfs);
	remove_dir();
}

/*
 * The stream a retrying writer must record whole: text with two- and
 * three-byte characters, written in pieces that cut them anywhere.
 */
#define RETRY_LEN	(22 * 2800)	/* whole characters: 2800 lines */
#define RETRY_PIECE	7001

static void
retry_data(u_char *d, size_t len)
{
	static const char	 words[] = "h\xc3\xa9llo w\xc3\xb6rld "
				     "\xe2\x82\xac 42\r\n";
	size_t			 i;

	for (i = 0; i < len; i++)
		d[i] = (u_char)words[i % (sizeof(words) - 1)];
}

/*
 * In a child: write the stream until a write is refused; retry the owed
 * event while still full (refused again, still owed), then make room,
 * retry (it goes through) and go on from the byte cast_writer_output_part
 * said. 0 when every step answered as it must; the parent reads back.
 */
static int
retry_child(const char *dir, int (*setup)(void), int (*grow)(void))
{
	struct cast_header	 h;
	struct cast_writer	*w;
	u_char			*data;
	size_t			 off = 0, n, took;
	int			 r, refused = 0;

	if ((r = setup()) != 0)
		return r;
	if ((data = malloc(RETRY_LEN)) == NULL)
		return 10;
	retry_data(data, RETRY_LEN);
	sample_header(&h);
	if (cast_writer_open(dir, "retry", (gid_t)-1, &h, &w) != 0)
		return 11;
	while (off < RETRY_LEN) {
		n = RETRY_LEN - off < RETRY_PIECE ? RETRY_LEN - off :
		    RETRY_PIECE;
		r = cast_writer_output_part(w, 1.0, data + off, n, &took);
		if (took > n)
			return 12;
		off += took;
		if (r == 0) {
			if (took != n)
				return 13;
			continue;
		}
		if (r != TUNL_ERR_FULL || !cast_writer_owed(w) || refused)
			return 14;
		refused = 1;
		/* Still full: refused again, and still owed. */
		if (cast_writer_retry(w) != TUNL_ERR_FULL ||
		    !cast_writer_owed(w))
			return 15;
		if (grow() != 0)
			return 16;
		if (cast_writer_retry(w) != 0 || cast_writer_owed(w))
			return 17;
	}
	if (!refused)
		return 18;
	if (cast_writer_close(w) != 0)
		return 19;
	free(data);
	return 0;
}

static void
run_retry_child(int (*setup)(void), int (*grow)(void))
{
	struct readback	 rb;
	u_char		*want;
	size_t		 i;
	pid_t		 pid;
	int		 status;

	make_dir();
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		_exit(retry_child(tmpdir, setup, grow));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		remove_dir();
		skip();
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	read_back("retry", &rb);
	assert_int_equal(rb.end, TUNL_ERR_EOF);
	assert_false(rb.torn);
	assert_non_null(want = malloc(RETRY_LEN));
	retry_data(want, RETRY_LEN);
	for (i = 0; i < rb.outlen && i < RETRY_LEN && rb.out[i] == want[i]; i++)
		;
	if (i < RETRY_LEN || rb.outlen != RETRY_LEN)
		fprintf(stderr, "# read back %zu bytes, %d wanted; the first "
		    "difference at %zu\n", rb.outlen, RETRY_LEN, i);
	assert_int_equal(rb.outlen, RETRY_LEN);
	assert_memory_equal(rb.out, want, RETRY_LEN);
	free(want);
	free(rb.out);
	remove_dir();
}

static void
test_retry_fsize(void **state)
{
	(void)state;
	run_retry_child(setup_fsize, grow_fsize);
}

/* ---- the reader on hostile files ----------------------------------------- */

#define HDR	"{\"version\": 2, \"width\": 80, \"height\": 24}\n"

static int
text_fd(const char *text, size_t len)
{
	char	 path[PATH_MAX];
	int	 fd;

	path_of(path, sizeof(path), "in");
	(void)unlink(path);
	assert_true((fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

struct bad_header {
	const char	*text;
	int		 want;
};

static void
test_reader_headers(void **state)
{
	static const struct bad_header	 cases[] = {
		{ "", TUNL_ERR_EOF },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24}",
		    TUNL_ERR_EOF },				/* torn */
		{ "\n", TUNL_ERR_INVALID },
		{ "[]\n", TUNL_ERR_INVALID },
		{ "2\n", TUNL_ERR_INVALID },
		{ "{}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 1, \"width\": 80, \"height\": 24}\n",
		    TUNL_ERR_VERSION },
		{ "{\"version\": 3, \"width\": 80, \"height\": 24}\n",
		    TUNL_ERR_VERSION },
		{ "{\"version\": \"2\", \"width\": 80, \"height\": 24}\n",
		    TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 0, \"height\": 24}\n",
		    TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": 10001, \"height\": 24}\n",
		    TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": 80.5, \"height\": 24}\n",
		    TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": -80, \"height\": 24}\n",
		    TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": 80}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"width\": 80, "
		    "\"height\": 24}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24} x\n",
		    TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24,}\n",
		    TUNL_ERR_INVALID },
		{ "{\"version\": 2 \"width\": 80, \"height\": 24}\n",
		    TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"x\": 1e400}\n", TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"x\": 123456789012345678901234567890123}\n",
		    TUNL_ERR_RANGE },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"x\": 01}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"x\": tru}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"a\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"a\x01\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"a\xff\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"\xed\xa0\x80\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"a\\u0000\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"\\x41\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"title\": \"\\u12\"}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"tunl\": []}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"tunl\": {\"session\": \"1234567890123456789012345678901"
		    "234567\"}}\n", TUNL_ERR_LENGTH },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"tunl\": {\"host\": 7}}\n", TUNL_ERR_INVALID },
		{ "{\"version\": 2, \"width\": 80, \"height\": 24, "
		    "\"tunl\": {\"case\": \"a\", \"case\": \"b\"}}\n",
		    TUNL_ERR_INVALID },
	};
	struct cast_reader	*rd;
	struct cast_header	 h;
	char			 text[4096], err[128];
	size_t			 i, n;
	int			 fd, r;

	(void)state;
	make_dir();
	for (i = 0; i < TUNL_NITEMS(cases); i++) {
		fd = text_fd(cases[i].text, strlen(cases[i].text));
		r = cast_reader_open_fd_err(fd, &rd, err, sizeof(err));
		if (r != cases[i].want)
			fail_msg("header case %zu: %d (%s), want %d", i, r,
			    err, cases[i].want);
		assert_null(rd);
		assert_true(strncmp(err, "line 1: ", 8) == 0);
		close(fd);
	}

	/* Nesting: 15 levels inside the header are fine, 16 are not. */
	for (n = 15; n <= 16; n++) {
		r = snprintf(text, sizeof(text), "{\"version\": 2, "
		    "\"width\": 80, \"height\": 24, \"x\": ");
		for (i = 0; i < n; i++) {
			if (i % 2 == 0)
				r += snprintf(text + r,
				    sizeof(text) - (size_t)r, "{\"k\": ");
			else
				text[r++] = '[';
		}
		text[r++] = '1';
		for (i = n; i > 0; i--)
			text[r++] = (i - 1) % 2 == 0 ? '}' : ']';
		r += snprintf(text + r, sizeof(text) - (size_t)r, "}\n");
		fd = text_fd(text, (size_t)r);
		assert_int_equal(cast_reader_open_fd(fd, &rd),
		    n == 15 ? 0 : TUNL_ERR_INVALID);
		cast_reader_free(rd);
		close(fd);
	}

	/* What asciinema writes, and every JSON form in fields we skip. */
	strcpy(text, "{\"version\": 2, \"width\": 213, \"height\": 58, "
	    "\"timestamp\": 1598627066, \"idle_time_limit\": 2.5e0, "
	    "\"command\": null, \"title\": \"Demo \\\"x\\\" \\u00e9\\ud83d"
	    "\\ude00\", \"env\": {\"TERM\": \"xterm-256color\", "
	    "\"SHELL\": \"/bin/zsh\"}, \"theme\": {\"fg\": \"#d0d0d0\", "
	    "\"palette\": \"#000:#111\"}, \"x\": [true, false, null, -1.5E-3, "
	    "0, {}, [], \"\"]}\r\n");
	fd = text_fd(text, strlen(text));
	assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
	assert_int_equal(cast_reader_header(rd, &h), 0);
	assert_int_equal(h.cols, 213);
	assert_int_equal(h.rows, 58);
	assert_int_equal(h.timestamp, 1598627066);
	assert_string_equal(h.title, "Demo \"x\" \xc3\xa9\xf0\x9f\x98\x80");
	assert_string_equal(h.session, "");
	cast_reader_free(rd);
	close(fd);

	/* A long title is cut at a character boundary. */
	r = snprintf(text, sizeof(text), "{\"version\": 2, \"width\": 1, "
	    "\"height\": 1, \"title\": \"a");
	for (i = 0; i < 100; i++)
		r += snprintf(text + r, sizeof(text) - (size_t)r, "\xc3\xa9");
	r += snprintf(text + r, sizeof(text) - (size_t)r, "\"}\n");
	fd = text_fd(text, (size_t)r);
	assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
	assert_int_equal(cast_reader_header(rd, &h), 0);
	assert_int_equal(strlen(h.title), 127);
	assert_int_equal(h.title[0], 'a');
	assert_int_equal((u_char)h.title[125], 0xc3);
	assert_int_equal((u_char)h.title[126], 0xa9);
	cast_reader_free(rd);
	close(fd);
	remove_dir();
}

struct bad_event {
	const char	*line;
	int		 want;
};

static void
test_reader_events(void **state)
{
	static const struct bad_event	 cases[] = {
		{ "[1.0, \"o\"]", TUNL_ERR_INVALID },
		{ "[1.0, \"o\", \"x\", 4]", TUNL_ERR_INVALID },
		{ "[1.0 \"o\", \"x\"]", TUNL_ERR_INVALID },
		{ "[\"1\", \"o\", \"x\"]", TUNL_ERR_INVALID },
		{ "[1, 2, \"x\"]", TUNL_ERR_INVALID },
		{ "[1, \"o\", 3]", TUNL_ERR_INVALID },
		{ "[1, \"o\", null]", TUNL_ERR_INVALID },
		{ "[1, \"x\", \"a\"]", TUNL_ERR_INVALID },
		{ "[1, \"oo\", \"a\"]", TUNL_ERR_INVALID },
		{ "[1, \"\", \"a\"]", TUNL_ERR_INVALID },
		{ "[1, \"\\u0000\", \"a\"]", TUNL_ERR_INVALID },
		{ "[-1, \"o\", \"a\"]", TUNL_ERR_RANGE },
		{ "[1e10, \"o\", \"a\"]", TUNL_ERR_RANGE },
		{ "[1e999999, \"o\", \"a\"]", TUNL_ERR_RANGE },
		{ "[01, \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "[1., \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "[.5, \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "[1e, \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "[+1, \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "[NaN, \"o\", \"a\"]", TUNL_ERR_INVALID },
		{ "{\"t\": 1}", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"a\"] x", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"a\"]]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"a]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"\t\"]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"\xc0\xaf\"]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"\xe2\x82\"]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"\\q\"]", TUNL_ERR_INVALID },
		{ "[1, \"o\", \"\\u00g0\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"80x\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"0x24\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"080x24\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"80x24x\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"10001x5\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"80 x 24\"]", TUNL_ERR_INVALID },
		{ "[1, \"r\", \"\"]", TUNL_ERR_INVALID },
	};
	struct cast_reader	*rd;
	struct cast_event	 ev;
	char			 text[512];
	size_t			 i;
	int			 fd, r;

	(void)state;
	make_dir();
	for (i = 0; i < TUNL_NITEMS(cases); i++) {
		/* The bad line between two good ones. */
		r = snprintf(text, sizeof(text), HDR "[0.5, \"o\", \"a\"]\n"
		    "%s\n[2, \"o\", \"b\"]\n", cases[i].line);
		fd = text_fd(text, (size_t)r);
		assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
		assert_int_equal(cast_reader_next(rd, &ev), 0);
		r = cast_reader_next(rd, &ev);
		if (r != cases[i].want)
			fail_msg("event case %zu: %d (%s), want %d", i, r,
			    cast_reader_errmsg(rd), cases[i].want);
		assert_int_equal(cast_reader_line(rd), 3);
		assert_true(strncmp(cast_reader_errmsg(rd), "line 3: ", 8) ==
		    0);
		assert_null(ev.data);
		/* The line is skipped: reading goes on after it. */
		assert_int_equal(cast_reader_next(rd, &ev), 0);
		assert_int_equal(cast_reader_line(rd), 4);
		assert_memory_equal(buf_ptr(ev.data), "b", 1);
		assert_int_equal(cast_reader_next(rd, &ev), TUNL_ERR_EOF);
		assert_int_equal(cast_reader_torn(rd), 0);
		cast_reader_free(rd);
		close(fd);
	}
	remove_dir();
}

struct want {
	const char	*s;
	size_t		 len;
};
#define W(s)	{ s, sizeof(s) - 1 }

/* Read text (len bytes, or all of it if len is 0) and expect want. */
static void
expect_events(const char *text, size_t len, const struct want *want,
    size_t nwant, int end, int torn)
{
	struct cast_reader	*rd;
	struct cast_event	 ev;
	size_t			 i = 0;
	int			 fd, r;

	fd = text_fd(text, len == 0 ? strlen(text) : len);
	assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
	while ((r = cast_reader_next(rd, &ev)) == 0) {
		assert_true(i < nwant);
		assert_int_equal(buf_len(ev.data), want[i].len);
		assert_memory_equal(buf_ptr(ev.data), want[i].s, want[i].len);
		i++;
	}
	assert_int_equal(i, nwant);
	assert_int_equal(r, end);
	assert_int_equal(cast_reader_torn(rd), torn);
	cast_reader_free(rd);
	close(fd);
}

static void
test_reader_strings_and_ends(void **state)
{
	static const struct want esc[] = { W("\"\\/\b\f\n\r\t"),
	    W("A\xc3\xa9"), W("\xf0\x9f\x98\x80"), W(FFFD), W(FFFD "x"),
	    W(FFFD "A"), W(FFFD FFFD), W("\xf4\x8f\xbf\xbf"), W("\x00z"),
	    W("\xe2\x80\xa8") };
	static const struct want two[] = { W("a"), W("b") };
	static const struct want sizes[] = { W("1x1"), W("10000x10000") };
	static const char	 strings[] = HDR
	    "[0, \"o\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]\n"
	    "[0, \"o\", \"\\u0041\\u00E9\"]\n"
	    "[0, \"o\", \"\\ud83d\\ude00\"]\n"
	    "[0, \"o\", \"\\ud800\"]\n"		/* lone high */
	    "[0, \"o\", \"\\udc00x\"]\n"		/* lone low */
	    "[0, \"o\", \"\\ud800\\u0041\"]\n"	/* high, then not low */
	    "[0, \"o\", \"\\ude00\\ud83d\"]\n"	/* the wrong order */
	    "[0, \"o\", \"\\udbff\\udfff\"]\n"
	    "[0, \"o\", \"\\u0000z\"]\n"
	    "[0, \"i\", \"\\u2028\"]\n";
	static const char	 prefix[] = HDR "[1, \"o\", \"a\"]\n"
	    "[1.5, \"o\", \"";
	struct cast_reader	*rd;
	struct cast_event	 ev;
	char			*big;
	size_t			 n, pre;
	int			 fd;

	(void)state;
	make_dir();
	expect_events(strings, sizeof(strings) - 1, esc, TUNL_NITEMS(esc),
	    TUNL_ERR_EOF, 0);

	/* Spacing, CRLF, markers, resizes, equal times, exponents. */
	expect_events(HDR " [ 1 , \"o\" , \"a\" ] \r\n[1.0e0,\"m\",\"b\"]\n",
	    0, two, 2, TUNL_ERR_EOF, 0);
	expect_events(HDR "[1, \"r\", \"1x1\"]\n[1, \"r\", \"10000x10000\"]\n",
	    0, sizes, 2, TUNL_ERR_EOF, 0);

	/* Blank lines at the end are fine; inside, they are not. */
	expect_events(HDR "[1, \"o\", \"a\"]\n[2, \"o\", \"b\"]\n\n \n",
	    0, two, 2, TUNL_ERR_EOF, 0);
	expect_events(HDR "[1, \"o\", \"a\"]\n\n[2, \"o\", \"b\"]\n",
	    0, two, 1, TUNL_ERR_INVALID, 0);

	/* A torn last line is the end, flagged, not an error. */
	expect_events(HDR "[1, \"o\", \"a\"]\n[2, \"o\", \"b\"]\n[3, \"o\", \"c",
	    0, two, 2, TUNL_ERR_EOF, 1);
	expect_events(HDR "[1, \"o\", \"a\"]\n[2, \"o\", \"b\"]\n[3, \"o\", "
	    "\"c\"]", 0, two, 2, TUNL_ERR_EOF, 1);

	/* Times going backwards are refused (the writer never does it). */
	expect_events(HDR "[1, \"o\", \"a\"]\n[0.5, \"o\", \"b\"]\n",
	    0, two, 1, TUNL_ERR_INVALID, 0);

	/* A line over CAST_LINE_MAX is refused and skipped. */
	pre = strlen(prefix);
	n = CAST_LINE_MAX + 100;
	assert_non_null(big = malloc(pre + n + 200));
	memcpy(big, prefix, pre);
	memset(big + pre, 'x', n);
	memcpy(big + pre + n, "\"]\n[2, \"o\", \"b\"]\n", 17);
	fd = text_fd(big, pre + n + 17);
	assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
	assert_int_equal(cast_reader_next(rd, &ev), 0);
	assert_int_equal(cast_reader_next(rd, &ev), TUNL_ERR_LENGTH);
	assert_int_equal(cast_reader_line(rd), 3);
	assert_int_equal(cast_reader_next(rd, &ev), 0);
	assert_int_equal(cast_reader_line(rd), 4);
	assert_memory_equal(buf_ptr(ev.data), "b", 1);
	assert_int_equal(cast_reader_next(rd, &ev), TUNL_ERR_EOF);
	cast_reader_free(rd);
	close(fd);

	/* Exactly at the limit is fine; one more byte is not. */
	for (n = CAST_LINE_MAX - 14; n <= CAST_LINE_MAX - 13; n++) {
		memset(big + pre, 'x', n);
		memcpy(big + pre + n, "\"]\n", 3);
		fd = text_fd(big, pre + n + 3);
		assert_int_equal(cast_reader_open_fd(fd, &rd), 0);
		assert_int_equal(cast_reader_next(rd, &ev), 0);
		if (n == CAST_LINE_MAX - 14) {
			assert_int_equal(cast_reader_next(rd, &ev), 0);
			assert_int_equal(buf_len(ev.data), n);
		} else
			assert_int_equal(cast_reader_next(rd, &ev),
			    TUNL_ERR_LENGTH);
		assert_int_equal(cast_reader_next(rd, &ev), TUNL_ERR_EOF);
		cast_reader_free(rd);
		close(fd);
	}
	free(big);
	remove_dir();
}

/* ---- other players --------------------------------------------------------- */

/*
 * Run argv with stdout into the file out and, when tty is set, a pseudo
 * terminal of its own as controlling terminal (asciinema cat opens
 * /dev/tty). Returns the exit status, or 127 when the program is missing.
 */
static int
run_to_file(char *const argv[], const char *out, int tty)
{
	char	 conf[PATH_MAX];
	pid_t	 pid;
	int	 status, fd, m;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		if (tty) {
			/* The first terminal a session leader opens is its. */
			if (setsid() == -1 ||
			    (m = posix_openpt(O_RDWR | O_NOCTTY)) == -1 ||
			    grantpt(m) == -1 || unlockpt(m) == -1 ||
			    ptsname(m) == NULL ||
			    (fd = open(ptsname(m), O_RDWR)) == -1)
				_exit(125);
			(void)fd;
		}
		if ((fd = open(out, O_CREAT | O_TRUNC | O_WRONLY, 0600)) == -1 ||
		    dup2(fd, 1) == -1)
			_exit(126);
		if ((fd = open("/dev/null", O_RDWR)) == -1 || dup2(fd, 0) == -1)
			_exit(126);
		/* asciinema keeps an install id in its config home. */
		if ((size_t)snprintf(conf, sizeof(conf), "%s/config",
		    tmpdir) >= sizeof(conf))
			_exit(126);
		setenv("ASCIINEMA_CONFIG_HOME", conf, 1);
		setenv("LC_ALL", "C.UTF-8", 1);
		setenv("PYTHONIOENCODING", "utf-8", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const char py_check[] =
    "import json, sys\n"
    "lines = open(sys.argv[1], 'rb').read().decode('utf-8').split('\\n')\n"
    "assert lines[-1] == ''\n"
    "h = json.loads(lines[0])\n"
    "assert h['version'] == 2 and h['width'] == 80 and h['height'] == 24\n"
    "assert h['tunl']['session'] == sys.argv[2]\n"
    "out, last = [], 0\n"
    "for line in lines[1:-1]:\n"
    "    t, k, d = json.loads(line)\n"
    "    assert isinstance(t, float) and t >= last and k in 'or'\n"
    "    last = t\n"
    "    if k == 'o':\n"
    "        out.append(d)\n"
    "sys.stdout.buffer.write(''.join(out).encode('utf-8'))\n";

/*
 * A recording with everything awkward in it, played by asciinema (`cat`)
 * and parsed by python3's json module: both must give back exactly the
 * normalised output.
 */
static void
test_other_players(void **state)
{
	struct cast_header	 h;
	struct cast_writer	*w;
	char			 path[PATH_MAX], out[PATH_MAX];
	char			 a0[16], a1[16], a4[64];
	char			*argv[6];
	u_char			*in, *norm, *got;
	size_t			 len = 60000, nlen, glen, off, n;
	int			 st, ran = 0;

	(void)state;
	make_dir();
	srandom(7);
	assert_non_null(in = malloc(len));
	random_stream(in, len);
	sample_header(&h);
	assert_int_equal(cast_writer_open(tmpdir, "play.cast", (gid_t)-1, &h,
	    &w), 0);
	for (off = 0; off < len; off += n) {
		n = 1 + (size_t)random() % 700;
		if (n > len - off)
			n = len - off;
		assert_int_equal(cast_writer_output(w, off / 1e4, in + off, n),
		    0);
		if (off % 7 == 0)
			assert_int_equal(cast_writer_resize(w, off / 1e4,
			    100, 30), 0);
	}
	assert_int_equal(cast_writer_close(w), 0);
	norm = normalise(in, len, &nlen);
	path_of(path, sizeof(path), "play.cast");
	path_of(out, sizeof(out), "played");

	strcpy(a0, "asciinema");
	strcpy(a1, "cat");
	argv[0] = a0;
	argv[1] = a1;
	argv[2] = path;
	argv[3] = NULL;
	if ((st = run_to_file(argv, out, 1)) == 127)
		print_message("asciinema not installed: not played\n");
	else {
		assert_int_equal(st, 0);
		got = slurp("played", &glen);
		assert_int_equal(glen, nlen);
		assert_memory_equal(got, norm, nlen);
		free(got);
		ran++;
	}

	strcpy(a0, "python3");
	strcpy(a1, "-c");
	strcpy(a4, SID);
	argv[0] = a0;
	argv[1] = a1;
	argv[2] = (char *)py_check;
	argv[3] = path;
	argv[4] = a4;
	argv[5] = NULL;
	if ((st = run_to_file(argv, out, 0)) == 127)
		print_message("python3 not installed: JSON not checked\n");
	else {
		assert_int_equal(st, 0);
		got = slurp("played", &glen);
		assert_int_equal(glen, nlen);
		assert_memory_equal(got, norm, nlen);
		free(got);
		ran++;
	}
	free(norm);
	free(in);
	/* What asciinema kept, if it ran. */
	path_of(path, sizeof(path), "config/install-id");
	assert_true(unlink(path) == 0 || errno == ENOENT);
	path_of(path, sizeof(path), "config");
	assert_true(rmdir(path) == 0 || errno == ENOENT);
	remove_dir();
	if (ran == 0)
		skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_utf8_edges),
		cmocka_unit_test(test_escape_unicode),
		cmocka_unit_test(test_fast_matches_ref_short),
		cmocka_unit_test(test_fast_matches_ref_event_edge),
		cmocka_unit_test(test_fast_matches_ref_random),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_big_write),
		cmocka_unit_test(test_resize_and_time),
		cmocka_unit_test(test_file_safety),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_full_fsize),
		cmocka_unit_test(test_full_tmpfs),
		cmocka_unit_test(test_retry_fsize),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_reader_headers),
		cmocka_unit_test(test_reader_events),
		cmocka_unit_test(test_reader_strings_and_ends),
		cmocka_unit_test(test_other_players),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
