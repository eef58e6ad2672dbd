/*
 * admin-wire.c: `tunl-admin enable` and `disable` wire tunl into sshd and
 * its PAM stack, and take it out again, without a moment where sshd's PAM
 * stack is broken for anyone.
 *
 * enable: (1) the PAM module must load and /etc/pam.d/tunl must be there;
 * (2) the sshd drop-in is copied into sshd_config.d and `sshd -t` must
 * accept the result (else the drop-in is put back as it was); (3) the new
 * /etc/pam.d/sshd, with `@include tunl' above `@include common-auth', is
 * parsed by libpam from a scratch copy of the PAM directory (a file that
 * fails to parse or includes a missing file is what makes sshd say "PAM:
 * initialisation failed"), and only then replaces the old one by rename,
 * the old one kept as sshd.tunl-backup.
 *
 * disable: the reverse order: first the include leaves /etc/pam.d/sshd
 * (checked the same way), then the drop-in goes. /etc/pam.d/tunl stays
 * (it is the package's file), so a stack that still names it keeps
 * working at every step.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "tunl.h"
#include "admin.h"

#define WIRE_BACKUP	".tunl-backup"
#define WIRE_NEW	".tunl-new"
#define WIRE_SCRATCH	"/tmp/tunl-pam.XXXXXX"

static char	 wire_text[PAM_FILE_MAX + 1];
static char	 wire_out[PAM_FILE_MAX + 64];

/* The module must load as sshd would load it, and be a PAM module. */
static int
wire_module_loads(const char *pamdir, char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	const char	*e;
	void		*h;
	int		 r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/pam_tunl.so", pamdir) >=
	    sizeof(path))
		return TUNL_ERR_LENGTH;
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(err, errlen, "the PAM module does not load: %s",
		    e != NULL ? e : path);
		return TUNL_ERR_NOT_FOUND;
	}
	if (dlsym(h, "pam_sm_authenticate") == NULL) {
		snprintf(err, errlen, "%s is not a PAM module", path);
		r = TUNL_ERR_INVALID;
	}
	dlclose(h);
	return r;
}

static int
wire_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)arg;
	return PAM_CONV_ERR;	/* nothing is ever asked: no auth runs */
}

/* Copy one regular file of the PAM directory into the scratch one. */
static int
wire_copy(const char *from, const char *to)
{
	size_t	 len;
	int	 fd, r;

	if ((r = admin_fs_read_root(from, wire_text, sizeof(wire_text) - 1,
	    &len)) != 0)
		return r;
	if ((fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return TUNL_ERR_SYSTEM;
	r = write(fd, wire_text, len) == (ssize_t)len ? 0 : TUNL_ERR_SYSTEM;
	if (close(fd) == -1)
		r = TUNL_ERR_SYSTEM;
	return r;
}

static void
wire_scratch_remove(const char *dir)
{
	struct dirent	*de;
	DIR		*dp;
	char		 p[PATH_MAX];

	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir,
			    de->d_name) < sizeof(p))
				(void)unlink(p);
		}
		closedir(dp);
	}
	(void)rmdir(dir);
}

/*
 * The PAM dry run: a scratch directory holding the PAM directory's files
 * with `sshd' replaced by the candidate text, and libpam asked to start
 * the sshd service from it. pam_start reads the whole stack, includes
 * too, and fails as sshd would on a file that cannot be read or parsed.
 */
static int
wire_pam_dry_run(const char *confdir, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct pam_conv	 conv = { wire_conv, NULL };
	pam_handle_t	*pamh = NULL;
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp = NULL;
	char		 scratch[] = WIRE_SCRATCH, from[PATH_MAX], to[PATH_MAX];
	char		 why[256];
	const char	*msg;
	size_t		 got;
	ssize_t		 n;
	pid_t		 pid;
	int		 fd, pr, status = 0, pfd[2] = { -1, -1 };
	int		 r = TUNL_ERR_SYSTEM;

	if (mkdtemp(scratch) == NULL) {
		snprintf(err, errlen, "cannot make a scratch directory: %s",
		    strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if ((dp = opendir(confdir)) == NULL) {
		snprintf(err, errlen, "%s: %s", confdir, strerror(errno));
		goto out;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "sshd") == 0)
			continue;
		if ((size_t)snprintf(from, sizeof(from), "%s/%s", confdir,
		    de->d_name) >= sizeof(from) ||
		    (size_t)snprintf(to, sizeof(to), "%s/%s", scratch,
		    de->d_name) >= sizeof(to))
			continue;
		if (lstat(from, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (wire_copy(from, to) != 0) {
			snprintf(err, errlen, "cannot copy %s for the check",
			    from);
			goto out;
		}
	}
	if ((size_t)snprintf(to, sizeof(to), "%s/sshd", scratch) >=
	    sizeof(to) || (fd = open(to, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		goto out;
	pr = write(fd, text, len) == (ssize_t)len;
	if (close(fd) == -1 || !pr)
		goto out;
	/*
	 * libpam runs in a child: it loads the stack's modules, and on a
	 * stack it cannot start it does not free all it allocated; neither
	 * belongs in tunl-admin. The child writes libpam's words to a pipe
	 * and exits 0 when the stack starts.
	 */
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		pr = pam_start_confdir("sshd", "tunl-admin-check", &conv,
		    scratch, &pamh);
		if (pr != PAM_SUCCESS) {
			msg = pam_strerror(pamh, pr);
			if (msg != NULL)
				(void)!write(pfd[1], msg, strnlen(msg, 200));
			_exit(1);
		}
		(void)pam_end(pamh, PAM_SUCCESS);
		_exit(0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	got = 0;
	while (got < sizeof(why) - 1) {
		n = read(pfd[0], why + got, sizeof(why) - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	why[got] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "libpam cannot start sshd's stack with "
		    "it: %s (sshd would refuse every login)",
		    why[0] != '\0' ? why : "no reason given");
		r = TUNL_ERR_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (dp != NULL)
		closedir(dp);
	wire_scratch_remove(scratch);
	return r;
}

/* Whether a PAM line (len bytes) names tunl: `@include tunl' or pam_tunl. */
static int
wire_pam_line_is_tunl(const char *line, size_t len)
{
	char		 copy[PAM_LINE_MAX], *tok, *save = NULL;
	const char	*base;
	int		 n = 0, inc = 0;

	if (len >= sizeof(copy))
		return 0;
	memcpy(copy, line, len);
	copy[len] = '\0';
	for (tok = strtok_r(copy, " \t\r", &save); tok != NULL && n < 4;
	    tok = strtok_r(NULL, " \t\r", &save), n++) {
		if (tok[0] == '#')
			return 0;
		if (n == 0 && strcmp(tok, "@include") == 0) {
			inc = 1;
			continue;
		}
		if (inc)
			return n == 1 && strcmp(tok, "tunl") == 0;
		base = strrchr(tok, '/');
		base = base != NULL ? base + 1 : tok;
		if (strcmp(base, "pam_tunl.so") == 0)
			return 1;
	}
	return 0;
}

/*
 * Build the new sshd PAM file in wire_out: add `@include tunl' before
 * line `at' (1-based; 0: none added), and drop every line that names tunl
 * when `drop' is set.
 */
static int
wire_pam_edit(const char *text, size_t len, u_int at, int drop, size_t *outlen,
    int *dropped)
{
	static const char inc[] = "# tunl-admin enable: customers' logins go "
	    "through pam_tunl (tunl-admin disable removes it)\n@include tunl\n";
	const char	*p = text, *end = text + len, *nl;
	size_t		 o = 0, ll;
	u_int		 lineno = 1;

	*dropped = 0;
	while (p < end || (at != 0 && lineno == at)) {
		if (at != 0 && lineno == at) {
			if (o + sizeof(inc) - 1 > sizeof(wire_out))
				return TUNL_ERR_LENGTH;
			memcpy(wire_out + o, inc, sizeof(inc) - 1);
			o += sizeof(inc) - 1;
			at = 0;
			if (p >= end)
				break;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (drop && (wire_pam_line_is_tunl(p, ll - (nl != NULL)) ||
		    (ll > 1 && strncmp(p, "# tunl-admin enable:", 20) == 0))) {
			(*dropped)++;
		} else {
			if (o + ll + 1 > sizeof(wire_out))
				return TUNL_ERR_LENGTH;
			memcpy(wire_out + o, p, ll);
			o += ll;
			if (nl == NULL)
				wire_out[o++] = '\n';
		}
		p += ll;
		lineno++;
	}
	*outlen = o;
	return 0;
}

static int
wire_paths(const struct doctor_opts *o, char *pam, char *pamtunl,
    char *dropin, size_t len)
{
	char	 dir[PATH_MAX];
	char	*s;

	tunl_strlcpy(dir, o->sshd_config != NULL ? o->sshd_config :
	    "/etc/ssh/sshd_config", sizeof(dir));
	if ((s = strrchr(dir, '/')) != NULL)
		*s = '\0';
	if ((size_t)snprintf(pam, len, "%s/sshd", o->pam_confdir) >= len ||
	    (size_t)snprintf(pamtunl, len, "%s/tunl", o->pam_confdir) >=
	    len ||
	    (size_t)snprintf(dropin, len, "%s/sshd_config.d/tunl.conf",
	    dir) >= len)
		return TUNL_ERR_LENGTH;
	return 0;
}

static int
wire_sshd_test(const struct doctor_opts *o, char *err, size_t errlen)
{
	const char *argv[] = { "sshd", "-t", "-f", o->sshd_config != NULL ?
	    o->sshd_config : "/etc/ssh/sshd_config", NULL };

	return admin_run(o->sshd, argv, err, errlen);
}

/* Install the drop-in; on `sshd -t' failure put back what was there. */
static int
wire_dropin_add(const struct doctor_opts *o, const char *dropin)
{
	static char	 old[PAM_FILE_MAX + 1], src[PAM_FILE_MAX + 1];
	size_t		 oldlen = 0, srclen;
	char		 err[2 * PATH_MAX];
	int		 had, r;

	if ((r = admin_fs_read_root(o->dropin_src, src, sizeof(src) - 1,
	    &srclen)) != 0) {
		printf("refused  %s: cannot read tunl's sshd drop-in: %s; fix: "
		    "install tunl (make install) or name it with --dropin\n",
		    o->dropin_src, r == TUNL_ERR_SYSTEM ? strerror(errno) :
		    tunl_err(r));
		return r;
	}
	had = admin_fs_read_root(dropin, old, sizeof(old) - 1, &oldlen) == 0;
	if (had && oldlen == srclen && memcmp(old, src, srclen) == 0) {
		printf("ok       %s (the sshd drop-in is in place)\n", dropin);
		return 0;
	}
	if ((r = admin_fs_replace(dropin, WIRE_NEW, src, srclen, 0644)) != 0) {
		printf("error    %s: cannot write: %s\n", dropin,
		    strerror(errno));
		return r;
	}
	if ((r = wire_sshd_test(o, err, sizeof(err))) != 0) {
		printf("refused  %s: sshd -t fails with it: %s\n", dropin,
		    err[0] ? err : tunl_err(r));
		if (had)
			r = admin_fs_replace(dropin, WIRE_NEW, old, oldlen, 0644);
		else
			r = unlink(dropin) == 0 ? 0 : TUNL_ERR_SYSTEM;
		printf("%s %s\n", r == 0 ? "restored" : "error   ", dropin);
		return TUNL_ERR_INVALID;
	}
	printf("added    %s (the sshd drop-in; sshd -t accepts it)\n",
	    dropin);
	return 0;
}

/* Write the new PAM file, keeping the old one as the backup first. */
static int
wire_pam_replace(const char *path, const char *old, size_t oldlen,
    const char *text, size_t len)
{
	struct stat	 st;
	char		 bak[PATH_MAX];
	mode_t		 mode = 0644;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 0644;
	if ((size_t)snprintf(bak, sizeof(bak), "%s%s", path, WIRE_BACKUP) >=
	    sizeof(bak) ||
	    admin_fs_replace(bak, WIRE_NEW, old, oldlen, mode) != 0) {
		printf("error    %s: cannot keep a backup: %s\n", bak,
		    strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	if (admin_fs_replace(path, WIRE_NEW, text, len, mode) != 0) {
		printf("error    %s: cannot write: %s\n", path,
		    strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	printf("backup   %s\n", bak);
	return 0;
}

int
admin_enable(const struct tunl_cfg *cfg, const struct doctor_opts *o)
{
	static char		 old[PAM_FILE_MAX + 1];
	struct pam_order	 po;
	char			 pam[PATH_MAX], pamtunl[PATH_MAX];
	char			 dropin[PATH_MAX], err[2 * PATH_MAX];
	size_t			 oldlen, len;
	u_int			 at;
	int			 r, dropped, already;

	(void)cfg;
	if (geteuid() != 0) {
		fprintf(stderr, "tunl-admin: enable must run as root\n");
		return 1;
	}
	umask(022);
	if (wire_paths(o, pam, pamtunl, dropin, sizeof(pam)) != 0) {
		fprintf(stderr, "tunl-admin: a path is too long\n");
		return 1;
	}
	if (wire_module_loads(o->pamdir, err, sizeof(err)) != 0) {
		printf("refused  %s; fix: install tunl (make install) or name "
		    "the module's directory with --pamdir\n", err);
		return 1;
	}
	if (admin_fs_read_root(pamtunl, wire_text, sizeof(wire_text) - 1,
	    &len) != 0 ||
	    admin_pam_scan(wire_text, len, &po) != 0 || po.tunl_line == 0 ||
	    po.tunl_include) {
		printf("refused  %s: missing or without a pam_tunl auth line; "
		    "fix: install tunl's pam.d/tunl there (make install)\n",
		    pamtunl);
		return 1;
	}
	if ((r = admin_fs_read_root(pam, old, sizeof(old) - 1, &oldlen)) != 0 ||
	    (r = admin_pam_scan(old, oldlen, &po)) != 0) {
		printf("refused  %s: cannot read it: %s\n", pam,
		    r == TUNL_ERR_SYSTEM ? strerror(errno) : tunl_err(r));
		return 1;
	}
	at = po.common_line != 0 ? po.common_line : po.other_line;
	if (at == 0) {
		printf("refused  %s has neither \"@include common-auth\" nor "
		    "any auth line: add \"@include tunl\" by hand where the "
		    "auth stack starts\n", pam);
		return 1;
	}
	already = po.tunl_line != 0 && po.tunl_line < at;
	if (!already) {
		/* Any tunl line in the wrong place goes; one include goes in. */
		if ((r = wire_pam_edit(old, oldlen, 0, 1, &len,
		    &dropped)) != 0 ||
		    (r = admin_pam_scan(wire_out, len, &po)) != 0) {
			printf("refused  %s: %s\n", pam, tunl_err(r));
			return 1;
		}
		memcpy(wire_text, wire_out, len);
		at = po.common_line != 0 ? po.common_line : po.other_line;
		if ((r = wire_pam_edit(wire_text, len, at, 0, &len,
		    &dropped)) != 0) {
			printf("refused  %s: %s\n", pam, tunl_err(r));
			return 1;
		}
	} else
		memcpy(wire_out, old, len = oldlen);
	/* Checked before anything changes: nothing is left half done. */
	if (wire_pam_dry_run(o->pam_confdir, wire_out, len, err,
	    sizeof(err)) != 0) {
		printf("refused  %s: the new stack fails the PAM check: %s; "
		    "nothing was changed\n", pam, err);
		return 1;
	}
	if (wire_dropin_add(o, dropin) != 0)
		return 1;
	if (already) {
		printf("ok       %s (pam_tunl already decides first, line "
		    "%u)\n", pam, po.tunl_line);
		goto done;
	}
	if (wire_pam_replace(pam, old, oldlen, wire_out, len) != 0)
		return 1;
	printf("added    %s: \"@include tunl\" above line %u (checked with "
	    "libpam first)\n", pam, at);
 done:
	printf("tunl-admin enable: done; now reload sshd (systemctl reload "
	    "ssh) and run tunl-admin doctor\n");
	return 0;
}

int
admin_disable(const struct tunl_cfg *cfg, const struct doctor_opts *o)
{
	static char	 old[PAM_FILE_MAX + 1];
	char		 pam[PATH_MAX], pamtunl[PATH_MAX], dropin[PATH_MAX];
	char		 err[2 * PATH_MAX];
	size_t		 oldlen, len;
	int		 r, dropped;

	(void)cfg;
	if (geteuid() != 0) {
		fprintf(stderr, "tunl-admin: disable must run as root\n");
		return 1;
	}
	umask(022);
	if (wire_paths(o, pam, pamtunl, dropin, sizeof(pam)) != 0) {
		fprintf(stderr, "tunl-admin: a path is too long\n");
		return 1;
	}
	/* PAM first: /etc/pam.d/tunl stays until nothing includes it. */
	if ((r = admin_fs_read_root(pam, old, sizeof(old) - 1, &oldlen)) != 0) {
		printf("refused  %s: cannot read it: %s\n", pam,
		    r == TUNL_ERR_SYSTEM ? strerror(errno) : tunl_err(r));
		return 1;
	}
	if ((r = wire_pam_edit(old, oldlen, 0, 1, &len, &dropped)) != 0) {
		printf("refused  %s: %s\n", pam, tunl_err(r));
		return 1;
	}
	if (dropped == 0)
		printf("ok       %s (does not name tunl)\n", pam);
	else {
		if (wire_pam_dry_run(o->pam_confdir, wire_out, len, err,
		    sizeof(err)) != 0) {
			printf("refused  %s: without tunl's lines the stack "
			    "fails the PAM check: %s; nothing was changed\n",
			    pam, err);
			return 1;
		}
		if (wire_pam_replace(pam, old, oldlen, wire_out, len) != 0)
			return 1;
		printf("removed  %s: tunl's lines (checked with libpam "
		    "first)\n", pam);
	}
	if (unlink(dropin) == 0)
		printf("removed  %s (the sshd drop-in)\n", dropin);
	else if (errno == ENOENT)
		printf("ok       %s (not there)\n", dropin);
	else {
		printf("error    %s: %s\n", dropin, strerror(errno));
		return 1;
	}
	if ((r = wire_sshd_test(o, err, sizeof(err))) != 0)
		printf("warning  sshd -t now fails: %s; fix that before "
		    "reloading sshd\n", err[0] ? err : tunl_err(r));
	printf("tunl-admin disable: done; %s stays (nothing includes it); "
	    "reload sshd (systemctl reload ssh)\n", pamtunl);
	return r == 0 ? 0 : 1;
}
