/*
 * share-ssh.c: the system's ssh-keygen and ssh, run as argument vectors.
 *
 *  - keygen: an ephemeral ed25519 key in the private directory.
 *  - sign:   ssh tunl@relay sign <id>, answering pam_tunl's two
 *            keyboard-interactive prompts through SSH_ASKPASS pointed at
 *            tunl-share itself; the public key on stdin, the certificate on
 *            stdout. The token goes to the askpass helper over a Unix
 *            socket in the private directory: never in an argv or an
 *            environment.
 *  - produce: ssh -i key -o CertificateFile=cert tunl@relay produce <id>
 *            [--restricted]; stdin and stdout are the frame stream.
 *
 * Host keys are always checked (StrictHostKeyChecking=yes): a relay ssh
 * cannot verify is refused, with ssh's own log in <dir>/ssh.log, which
 * share-diag.c reads to say why a sign failed. With --host-key, ssh checks
 * against a known_hosts file holding only that key, under an alias
 * (HostKeyAlias), so the host and port the customer typed do not matter
 * to the check.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "share.h"

#define SSH_ARGS_MAX		64
#define SSH_CERT_MAX		8192	/* bytes of a certificate line */
#define SSH_SIGN_TIMEOUT	60	/* seconds for the whole sign */
#define ASKPASS_PROMPT_MAX	256

/* The options every ssh invocation gets; the first value of an option wins. */
static size_t
ssh_common(struct share *s, const char **argv, char *khf, size_t khflen)
{
	size_t	 n = 0;

	argv[n++] = "ssh";
	argv[n++] = "-T";
	argv[n++] = "-o"; argv[n++] = "StrictHostKeyChecking=yes";
	argv[n++] = "-o"; argv[n++] = "CheckHostIP=no";
	/* --host-key: our own known_hosts names the relay by this alias. */
	if (s->host_key_alias) {
		argv[n++] = "-o";
		argv[n++] = "HostKeyAlias=" SHARE_HOST_ALIAS;
	}
	if (s->known_hosts[0] != '\0') {
		(void)snprintf(khf, khflen, "UserKnownHostsFile=%s",
		    s->known_hosts);
		argv[n++] = "-o"; argv[n++] = khf;
		argv[n++] = "-o"; argv[n++] = "GlobalKnownHostsFile=none";
	}
	argv[n++] = "-o"; argv[n++] = "UpdateHostKeys=no";
	argv[n++] = "-o"; argv[n++] = "ControlMaster=no";
	argv[n++] = "-o"; argv[n++] = "ControlPath=none";
	argv[n++] = "-o"; argv[n++] = "ForwardAgent=no";
	argv[n++] = "-o"; argv[n++] = "ForwardX11=no";
	argv[n++] = "-o"; argv[n++] = "ClearAllForwardings=yes";
	argv[n++] = "-o"; argv[n++] = "PermitLocalCommand=no";
	argv[n++] = "-o"; argv[n++] = "IdentityAgent=none";
	argv[n++] = "-o"; argv[n++] = "RequestTTY=no";
	argv[n++] = "-o"; argv[n++] = "ServerAliveInterval=10";
	argv[n++] = "-o"; argv[n++] = "ServerAliveCountMax=3";
	argv[n++] = "-o"; argv[n++] = "ConnectTimeout=20";
	argv[n++] = "-o"; argv[n++] = "LogLevel=ERROR";
	if (s->port[0] != '\0') {
		argv[n++] = "-p";
		argv[n++] = s->port;
	}
	return n;
}

static int
ssh_log_open(struct share *s)
{
	return open(s->sshlog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
}

/* Why ssh failed, from what it wrote to its log since offset from. */
static void
ssh_log_diagnose(struct share *s, off_t from)
{
	char	 b[SHARE_DIAG_LOG_MAX];
	ssize_t	 n = 0;
	int	 fd;

	s->diag = SHARE_DIAG_UNKNOWN;
	s->diag_detail[0] = '\0';
	if ((fd = open(s->sshlog, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (lseek(fd, from, SEEK_SET) != -1)
		n = read(fd, b, sizeof(b));
	(void)close(fd);
	if (n > 0)
		s->diag = share_diag_ssh(b, (size_t)n, s->diag_detail,
		    sizeof(s->diag_detail));
}

static off_t
ssh_log_size(struct share *s)
{
	struct stat	 st;

	if (stat(s->sshlog, &st) == -1)
		return 0;
	return st.st_size;
}

/*
 * Start ssh-keygen making the key; *pid is waited for with
 * share_ssh_keygen_wait. It runs while the sign's ssh logs in.
 */
int
share_ssh_keygen_start(struct share *s, pid_t *pid)
{
	const char *const argv[] = { "ssh-keygen", "-t", "ed25519", "-N", "",
	    "-q", "-C", "tunl-share", "-f", s->key, NULL };

	*pid = -1;
	return share_spawn(argv, -1, -1, STDERR_FILENO, pid);
}

int
share_ssh_keygen_wait(pid_t pid)
{
	if (pid <= 0 || share_wait(pid) != 0)
		return TUNL_ERR_SYSTEM;
	return 0;
}

int
share_ssh_keygen(struct share *s)
{
	pid_t	 pid;
	int	 r;

	if ((r = share_ssh_keygen_start(s, &pid)) != 0)
		return r;
	return share_ssh_keygen_wait(pid);
}

/* ---- certificates: just enough to learn valid_before --------------------- */

/*
 * Read valid_before from an ed25519 user certificate file
 * ("ssh-ed25519-cert-v01@openssh.com BASE64 [comment]"): type, nonce,
 * public key, serial, type, key id, principals, valid_after, valid_before.
 */
int
share_ssh_cert_expiry(const char *path, u_int64_t *expiry)
{
	static const char	 type[] = "ssh-ed25519-cert-v01@openssh.com";
	char			 line[SSH_CERT_MAX], *b64, *sp;
	u_char			 blob[SSH_CERT_MAX];
	struct buf		*b = NULL;
	const u_char		*p;
	size_t			 len, blen;
	u_int64_t		 u64;
	u_int32_t		 u32;
	ssize_t			 n;
	int			 fd, r = TUNL_ERR_INVALID;

	*expiry = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	n = read(fd, line, sizeof(line) - 1);
	(void)close(fd);
	if (n <= 0)
		return TUNL_ERR_INVALID;
	line[n] = '\0';
	if ((sp = strchr(line, '\n')) != NULL)
		*sp = '\0';
	if (strncmp(line, type, sizeof(type) - 1) != 0 ||
	    line[sizeof(type) - 1] != ' ')
		return TUNL_ERR_INVALID;
	b64 = line + sizeof(type);
	if ((sp = strchr(b64, ' ')) != NULL)
		*sp = '\0';
	if (tunl_b64_decode(b64, strlen(b64), blob, sizeof(blob), &blen) != 0)
		return TUNL_ERR_INVALID;
	if ((b = buf_from(blob, blen)) == NULL)
		return TUNL_ERR_ALLOC;
	if (buf_get_string_direct(b, &p, &len) != 0 ||
	    len != sizeof(type) - 1 || memcmp(p, type, len) != 0 ||
	    buf_get_string_direct(b, &p, &len) != 0 ||	/* nonce */
	    buf_get_string_direct(b, &p, &len) != 0 ||	/* public key */
	    buf_get_u64(b, &u64) != 0 ||		/* serial */
	    buf_get_u32(b, &u32) != 0 ||		/* type */
	    buf_get_string_direct(b, &p, &len) != 0 ||	/* key id */
	    buf_get_string_direct(b, &p, &len) != 0 ||	/* principals */
	    buf_get_u64(b, &u64) != 0 ||		/* valid after */
	    buf_get_u64(b, expiry) != 0)
		goto out;
	r = 0;
 out:
	buf_free(b);
	return r;
}

/* ---- askpass ------------------------------------------------------------- */

/*
 * tunl-share as ssh's askpass program: ask the main process over the
 * socket for the answer to prompt, print it. Exits 1 when there is none.
 */
int
share_askpass_main(const char *sock, const char *prompt)
{
	char	 answer[SHARE_TOKEN_MAX + 2], msg[ASKPASS_PROMPT_MAX + 2];
	size_t	 len;
	int	 fd = -1, rc = 1;

	len = strnlen(prompt, ASKPASS_PROMPT_MAX + 1);
	if (len > ASKPASS_PROMPT_MAX || strchr(prompt, '\n') != NULL)
		return 1;
	memcpy(msg, prompt, len);
	msg[len++] = '\n';
	if (share_sock_connect(sock, &fd) != 0 ||
	    share_write_all(fd, msg, len) != 0 ||
	    share_sock_line(fd, answer, sizeof(answer) - 1, 30000) != 0)
		goto out;
	len = strlen(answer);
	answer[len++] = '\n';
	if (share_write_all(STDOUT_FILENO, answer, len) == 0)
		rc = 0;
 out:
	tunl_memzero(answer, sizeof(answer));
	if (fd != -1)
		(void)close(fd);
	return rc;
}

/*
 * Which of pam_tunl's prompts this is: 1 for "Session id: ", 2 for
 * "Session token: ", 0 for anything else. ssh (since OpenSSH 8.7) puts
 * "(user@host) " before a keyboard-interactive prompt; that prefix, and
 * only that, is skipped: one parenthesised word, then one space.
 */
int
share_askpass_prompt(const char *prompt)
{
	const char	*p = prompt, *rp;

	if (p[0] == '(') {
		if ((rp = strchr(p, ')')) == NULL || rp[1] != ' ' ||
		    rp == p + 1 || memchr(p, ' ', (size_t)(rp - p)) != NULL)
			return 0;
		p = rp + 2;
	}
	if (strcmp(p, "Session id: ") == 0)
		return 1;
	if (strcmp(p, "Session token: ") == 0)
		return 2;
	return 0;
}

/*
 * Answer one askpass connection on lfd: the session id for pam_tunl's
 * "Session id: ", the token for "Session token: ", nothing for anything
 * else (ssh then fails). Returns 1 for the id, 2 for the token, 0 when a
 * prompt was refused, or a negative code.
 */
int
share_askpass_answer(int lfd, const char *id, const char *token)
{
	char		 prompt[ASKPASS_PROMPT_MAX + 1], msg[SHARE_TOKEN_MAX + 2];
	const char	*a = NULL;
	int		 fd, r, which = 0;

	if ((r = share_sock_accept(lfd, &fd)) != 0)
		return r;
	if ((r = share_sock_line(fd, prompt, sizeof(prompt), 5000)) != 0)
		goto out;
	switch (share_askpass_prompt(prompt)) {
	case 1:
		a = id;
		which = 1;
		break;
	case 2:
		if (token != NULL) {
			a = token;
			which = 2;
		}
		break;
	}
	if (a != NULL) {
		(void)snprintf(msg, sizeof(msg), "%s\n", a);
		if ((r = share_write_all(fd, msg, strlen(msg))) != 0)
			goto out;
	}
	r = which;
 out:
	tunl_memzero(msg, sizeof(msg));
	(void)close(fd);
	return r;
}

/* ---- sign ------------------------------------------------------------------ */

static int
read_file(const char *path, char *out, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	n = read(fd, out, len - 1);
	(void)close(fd);
	if (n <= 0)
		return TUNL_ERR_INVALID;
	out[n] = '\0';
	return 0;
}

/* A certificate line from the relay: one printable line of the right type. */
static int
cert_line_ok(const u_char *p, size_t len)
{
	static const char	 type[] = "ssh-ed25519-cert-v01@openssh.com ";
	size_t			 i;

	if (len < sizeof(type) || memcmp(p, type, sizeof(type) - 1) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && i == len - 1)
			break;
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Get a certificate for our key with the token, in three steps: begin
 * starts ssh (its key exchange and login go on by themselves); key gives
 * it the public key, once made, on its standard input, which it sends
 * only after the login; end answers its askpass prompts with the id and
 * token, waits for the certificate and writes it. Between them the caller
 * may do what does not need the certificate (make the key, start tmux):
 * ssh's first prompt waits for end. end returns 0 on success;
 * TUNL_ERR_UNSAFE when the relay's host key could not be verified;
 * TUNL_ERR_DENIED when the relay refused. Every begin that returned 0 is
 * followed by end or abort.
 */
int
share_ssh_sign_begin(struct share *s, struct share_sign *sg)
{
	const char	*argv[SSH_ARGS_MAX];
	char		 khf[PATH_MAX + 32], dest[SHARE_HOST_MAX + 8];
	size_t		 n;
	int		 in[2] = { -1, -1 }, out[2] = { -1, -1 }, r;

	sg->pid = -1;
	sg->lfd = sg->in = sg->out = sg->logfd = -1;
	sg->logpos = 0;
	sg->cert = NULL;
	n = ssh_common(s, argv, khf, sizeof(khf));
	argv[n++] = "-o"; argv[n++] = "BatchMode=no";
	argv[n++] = "-o"; argv[n++] = "IdentityFile=none";
	argv[n++] = "-o"; argv[n++] = "PubkeyAuthentication=no";
	argv[n++] = "-o"; argv[n++] = "PasswordAuthentication=no";
	argv[n++] = "-o"; argv[n++] = "PreferredAuthentications=keyboard-interactive";
	argv[n++] = "-o"; argv[n++] = "NumberOfPasswordPrompts=1";
	(void)snprintf(dest, sizeof(dest), "tunl@%s", s->host);
	argv[n++] = "--";
	argv[n++] = dest;
	argv[n++] = "sign";
	argv[n++] = s->session;
	argv[n] = NULL;

	if ((sg->cert = buf_new(SSH_CERT_MAX)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = share_sock_listen(s->asksock, &sg->lfd)) != 0)
		goto out;
	r = TUNL_ERR_SYSTEM;
	if ((sg->logfd = ssh_log_open(s)) == -1 || pipe2(in, O_CLOEXEC) == -1 ||
	    pipe2(out, O_CLOEXEC) == -1)
		goto out;
	sg->logpos = ssh_log_size(s);
	if (setenv("SSH_ASKPASS", s->self, 1) == -1 ||
	    setenv("SSH_ASKPASS_REQUIRE", "force", 1) == -1 ||
	    setenv(SHARE_ASKPASS_ENV, s->asksock, 1) == -1)
		goto out;
	r = share_spawn(argv, in[0], out[1], sg->logfd, &sg->pid);
	(void)unsetenv("SSH_ASKPASS");
	(void)unsetenv("SSH_ASKPASS_REQUIRE");
	(void)unsetenv(SHARE_ASKPASS_ENV);
	if (r != 0)
		goto out;
	sg->in = in[1];
	sg->out = out[0];
	in[1] = out[0] = -1;
	r = 0;
 out:
	if (in[0] != -1) (void)close(in[0]);
	if (in[1] != -1) (void)close(in[1]);
	if (out[0] != -1) (void)close(out[0]);
	if (out[1] != -1) (void)close(out[1]);
	if (r != 0)
		share_ssh_sign_abort(s, sg);
	return r;
}

/* The public key, made meanwhile, to the sign's ssh; its input ends. */
int
share_ssh_sign_key(struct share *s, struct share_sign *sg)
{
	char	 pub[1024], pubpath[PATH_MAX + 8];
	int	 r;

	if (sg->in == -1)
		return TUNL_ERR_INVALID;
	(void)snprintf(pubpath, sizeof(pubpath), "%s.pub", s->key);
	/*
	 * One short line: it fits in the pipe at once. If ssh has already
	 * gone (a host key it could not verify, a refusal), the write fails
	 * and end says why from ssh's log: not a failure of the key.
	 */
	if ((r = read_file(pubpath, pub, sizeof(pub))) == 0)
		(void)share_write_all(sg->in, pub, strlen(pub));
	(void)close(sg->in);
	sg->in = -1;
	return r;
}

/* A sign begun and not finished (the program is giving up). */
void
share_ssh_sign_abort(struct share *s, struct share_sign *sg)
{
	if (sg->in != -1) {
		(void)close(sg->in);
		sg->in = -1;
	}
	if (sg->pid > 0) {
		(void)kill(sg->pid, SIGTERM);
		(void)share_wait(sg->pid);
		sg->pid = -1;
	}
	if (sg->lfd != -1) {
		(void)close(sg->lfd);
		(void)unlink(s->asksock);
		sg->lfd = -1;
	}
	if (sg->out != -1) {
		(void)close(sg->out);
		sg->out = -1;
	}
	if (sg->logfd != -1) {
		(void)close(sg->logfd);
		sg->logfd = -1;
	}
	buf_free(sg->cert);
	sg->cert = NULL;
}

int
share_ssh_sign_end(struct share *s, struct share_sign *sg, const char *token)
{
	char		 chunk[1024];
	struct pollfd	 pfd[2];
	time_t		 deadline;
	ssize_t		 got;
	int		 fd, r, st, open_out = 1;

	deadline = time(NULL) + SSH_SIGN_TIMEOUT;
	while (open_out) {
		if (time(NULL) > deadline) {
			(void)kill(sg->pid, SIGTERM);
			break;
		}
		pfd[0].fd = sg->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sg->out;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			(void)share_askpass_answer(sg->lfd, s->session, token);
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			got = read(sg->out, chunk, sizeof(chunk));
			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0)
				open_out = 0;
			else if (buf_put(sg->cert, chunk, (size_t)got) != 0)
				open_out = 0;	/* too long: refused below */
		}
	}
	st = share_wait(sg->pid);
	sg->pid = -1;
	if (st != 0 || !cert_line_ok(buf_ptr(sg->cert), buf_len(sg->cert))) {
		ssh_log_diagnose(s, sg->logpos);
		r = s->diag == SHARE_DIAG_HOSTKEY_CHANGED ||
		    s->diag == SHARE_DIAG_HOSTKEY_UNKNOWN ? TUNL_ERR_UNSAFE :
		    TUNL_ERR_DENIED;
		goto out;
	}
	(void)unlink(s->cert);
	if ((fd = open(s->cert, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	r = share_write_all(fd, buf_ptr(sg->cert), buf_len(sg->cert));
	(void)close(fd);
	if (r == 0 && (r = share_ssh_cert_expiry(s->cert, &s->cert_expiry)) != 0)
		r = TUNL_ERR_DENIED;
 out:
	share_ssh_sign_abort(s, sg);
	return r;
}

/*
 * Both halves at once: for a new token given in the chat pane, when
 * nothing else is waiting to run meanwhile.
 */
int
share_ssh_sign(struct share *s, const char *token)
{
	struct share_sign	 sg;
	int			 r;

	if ((r = share_ssh_sign_begin(s, &sg)) != 0)
		return r;
	if ((r = share_ssh_sign_key(s, &sg)) != 0) {
		share_ssh_sign_abort(s, &sg);
		return r;
	}
	return share_ssh_sign_end(s, &sg, token);
}

/* ---- produce ---------------------------------------------------------------- */

int
share_ssh_produce(struct share *s)
{
	const char	*argv[SSH_ARGS_MAX];
	char		 khf[PATH_MAX + 32], dest[SHARE_HOST_MAX + 8];
	char		 cf[PATH_MAX + 32], me[256];
	size_t		 n;
	int		 in[2] = { -1, -1 }, out[2] = { -1, -1 }, logfd, r;

	n = ssh_common(s, argv, khf, sizeof(khf));
	(void)snprintf(cf, sizeof(cf), "CertificateFile=%s", s->cert);
	argv[n++] = "-o"; argv[n++] = "BatchMode=yes";
	argv[n++] = "-o"; argv[n++] = "IdentitiesOnly=yes";
	argv[n++] = "-o"; argv[n++] = "PreferredAuthentications=publickey";
	argv[n++] = "-i"; argv[n++] = s->key;
	argv[n++] = "-o"; argv[n++] = cf;
	(void)snprintf(dest, sizeof(dest), "tunl@%s", s->host);
	argv[n++] = "--";
	argv[n++] = dest;
	argv[n++] = "produce";
	argv[n++] = s->session;
	/* The relay enforces it too: never back to share (tunl-shell(8)). */
	if (s->restricted)
		argv[n++] = "--restricted";
	/* Our name, for the engineers' `list`; only if it fits the grammar. */
	if (gethostname(me, sizeof(me)) == 0 &&
	    (me[sizeof(me) - 1] = '\0', tunl_host_ok(me))) {
		argv[n++] = "--host";
		argv[n++] = me;
	}
	argv[n] = NULL;

	if ((logfd = ssh_log_open(s)) == -1)
		return TUNL_ERR_SYSTEM;
	s->produce_log = ssh_log_size(s);
	r = TUNL_ERR_SYSTEM;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		goto out;
	if ((r = share_spawn(argv, in[0], out[1], logfd, &s->ssh_pid)) != 0)
		goto out;
	s->rout = in[1];
	s->rin = out[0];
	in[1] = out[0] = -1;
	(void)fcntl(s->rout, F_SETFL, O_NONBLOCK);
	(void)fcntl(s->rin, F_SETFL, O_NONBLOCK);
	r = 0;
 out:
	if (in[0] != -1) (void)close(in[0]);
	if (in[1] != -1) (void)close(in[1]);
	if (out[0] != -1) (void)close(out[0]);
	if (out[1] != -1) (void)close(out[1]);
	(void)close(logfd);
	return r;
}

/*
 * After a produce ssh ended before the relay said a word: 1 when its log
 * says the login was refused ("Permission denied": sshd took the
 * connection and refused our key and certificate), 0 for anything else
 * (nothing listening, no route, a timeout, a hang-up). Call it once ssh
 * has exited, so that its last line is in the log.
 */
int
share_ssh_refused(struct share *s)
{
	ssh_log_diagnose(s, s->produce_log);
	return s->diag == SHARE_DIAG_DENIED;
}

/*
 * Close the connection: ssh gets EOF on its input. With grace_ms, ssh has
 * that long to pass on what it was given and leave by itself (the relay
 * hangs up once it has read everything: the end notice must get there);
 * whatever it prints meanwhile is read and dropped. Then SIGTERM.
 */
void
share_ssh_stop(struct share *s, int grace_ms)
{
	struct pollfd	 pfd;
	char		 junk[4096];
	pid_t		 w;
	int		 left = grace_ms;

	if (s->rout != -1 && s->rout != s->rin)
		(void)close(s->rout);
	s->rout = -1;
	while (s->ssh_pid > 0 && left > 0) {
		if ((w = waitpid(s->ssh_pid, NULL, WNOHANG)) == s->ssh_pid ||
		    (w == -1 && errno != EINTR)) {
			s->ssh_pid = 0;
			break;
		}
		pfd.fd = s->rin;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) > 0 && s->rin != -1 &&
		    read(s->rin, junk, sizeof(junk)) == 0) {
			(void)close(s->rin);
			s->rin = -1;
		}
		left -= 50;
	}
	if (s->rin != -1)
		(void)close(s->rin);
	s->rin = -1;
	if (s->ssh_pid > 0) {
		/* A stopped ssh (a frozen link) takes SIGTERM on SIGCONT. */
		(void)kill(s->ssh_pid, SIGTERM);
		(void)kill(s->ssh_pid, SIGCONT);
		share_reap(s->ssh_pid, SHARE_BYE_MS);
		s->ssh_pid = 0;
	}
	s->connected = 0;
	share_ready_clear(s);
}
