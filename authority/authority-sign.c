/*
 * authority-sign.c: `tunl-authority sign <id>`, run for the customer
 * account by tunl-shell's `sign`. It turns a keyboard-interactive login
 * into an OpenSSH user certificate for one session:
 *
 *  - the binding is checked here again, not taken from the caller: the
 *    hand-off that pam_tunl wrote for this very connection (found from
 *    SSH_CONNECTION, which the client cannot set) must name <id>;
 *  - the session must be pending or active and unexpired, and the
 *    signing cooldown must have passed;
 *  - the key on stdin must be exactly one ssh-ed25519 public key;
 *  - ssh-keygen signs it with the CA key (readable through our setgid
 *    group only): key id <id>, principal tunl-<id>, valid from a minute
 *    ago for cert_ttl minutes, serial = the id of the token it consumes
 *    (0 without one), a force-command of tunl-shell and no permission,
 *    but port forwarding when the relay has tunnel ports and the session
 *    is not restricted (only tunnel_user's login may use it, and only to
 *    listen on the session's port: the drop-in and tunl-principals);
 *  - the session's token is consumed, and only then is the certificate
 *    printed. A token yields one certificate: a later `sign` needs a new
 *    keyboard-interactive login, which needs a live token, so once the
 *    token is used no new certificate can be had (with token_required =
 *    no there is no token to consume and the session id alone suffices,
 *    as it does for the login itself).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "authority.h"

#define SIGN_KEYTYPE		"ssh-ed25519"
#define SIGN_CERTTYPE		"ssh-ed25519-cert-v01@openssh.com"
#define SIGN_TMPDIR		"/tmp"
#define SIGN_KEYFILE		"key.pub"
#define SIGN_CERTFILE		"key-cert.pub"

/*
 * Parse "ssh-ed25519 <base64>[ <comment>]" with an optional final
 * newline. The base64 must decode (strictly, padded) to exactly the
 * public key blob: string "ssh-ed25519", string of 32 bytes. The comment
 * is printable ASCII and is dropped. k->line is the canonical line we
 * hand to ssh-keygen, re-encoded from the decoded key.
 */
int
authority_sign_parse_key(const char *line, size_t len, struct sign_key *k)
{
	u_char		 blob[AUTH_ED25519_BLOB + 8];
	struct buf	*b = NULL;
	const u_char	*type, *key;
	const char	*p, *end, *sp, *b64end;
	size_t		 bloblen, typelen, keylen;
	int		 r = TUNL_ERR_INVALID;

	memset(k, 0, sizeof(*k));
	if ((r = authority_line_check(line, &len, AUTH_KEYLINE_MAX)) != 0)
		return r;
	r = TUNL_ERR_INVALID;
	p = line;
	end = line + len;
	typelen = sizeof(SIGN_KEYTYPE) - 1;
	if ((size_t)(end - p) < typelen + 1 ||
	    memcmp(p, SIGN_KEYTYPE " ", typelen + 1) != 0)
		return TUNL_ERR_INVALID;
	p += typelen + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		sp = end;
	if ((size_t)(sp - p) != AUTH_ED25519_B64)
		return TUNL_ERR_INVALID;
	if (sp != end && sp + 1 == end)
		return TUNL_ERR_INVALID;	/* a space and no comment */

	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	if (sodium_base642bin(blob, sizeof(blob), p, (size_t)(sp - p), NULL,
	    &bloblen, &b64end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64end != sp || bloblen != AUTH_ED25519_BLOB)
		return TUNL_ERR_INVALID;

	if ((b = buf_from(blob, bloblen)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = buf_get_string_direct(b, &type, &typelen)) != 0 ||
	    (r = buf_get_string_direct(b, &key, &keylen)) != 0)
		goto out;
	r = TUNL_ERR_INVALID;
	if (typelen != sizeof(SIGN_KEYTYPE) - 1 ||
	    memcmp(type, SIGN_KEYTYPE, typelen) != 0 ||
	    keylen != AUTH_ED25519_LEN || buf_len(b) != 0)
		goto out;
	memcpy(k->key, key, AUTH_ED25519_LEN);
	memcpy(k->line, SIGN_KEYTYPE " ", typelen + 1);
	sodium_bin2base64(k->line + typelen + 1, sizeof(k->line) - typelen - 1,
	    blob, bloblen, sodium_base64_VARIANT_ORIGINAL);
	r = 0;
 out:
	buf_free(b);
	if (r != 0)
		memset(k, 0, sizeof(*k));
	return r;
}

/*
 * What ssh-keygen wrote must be one line: the certificate type, a space,
 * base64, and optionally a comment; printable ASCII, ending in a newline.
 */
int
authority_sign_check_cert(const char *text, size_t len)
{
	size_t	 tlen = sizeof(SIGN_CERTTYPE) - 1, i;
	int	 nb64 = 0;

	if (text == NULL || len < tlen + 2 || len > AUTH_CERT_MAX ||
	    text[len - 1] != '\n')
		return TUNL_ERR_INVALID;
	if (memcmp(text, SIGN_CERTTYPE " ", tlen + 1) != 0)
		return TUNL_ERR_INVALID;
	for (i = tlen + 1; i < len - 1; i++) {
		if ((u_char)text[i] < 0x20 || (u_char)text[i] > 0x7e)
			return TUNL_ERR_INVALID;
		if (text[i] == ' ')
			break;
		nb64++;
	}
	return nb64 > 0 ? 0 : TUNL_ERR_INVALID;
}

/* Write all of len bytes to a new file name in the directory dfd. */
static int
sign_write_file(int dfd, const char *name, const char *p, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd, r = 0;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return TUNL_ERR_SYSTEM;
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = TUNL_ERR_SYSTEM;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1 && r == 0)
		r = TUNL_ERR_SYSTEM;
	return r;
}

/* Read the certificate ssh-keygen left in the directory dfd. */
static int
sign_read_cert(int dfd, char *out, size_t outlen, size_t *lenp)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, r = TUNL_ERR_SYSTEM;

	*lenp = 0;
	if ((fd = openat(dfd, SIGN_CERTFILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK)) == -1)
		return TUNL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (size_t)st.st_size >= outlen) {
		r = TUNL_ERR_LENGTH;
		goto out;
	}
	while (len < outlen - 1) {
		n = read(fd, out + len, outlen - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	*lenp = len;
	r = 0;
 out:
	close(fd);
	return r;
}

/*
 * Run ssh-keygen to sign dir/key.pub, with no shell, an empty
 * environment, stdin, stdout and stderr on /dev/null.
 */
static int
sign_run_keygen(const struct authority *a, const char *sid,
    const char *keypath, int64_t gen, int forward)
{
	char		 principal[sizeof("tunl-") + ID_LEN_MAX];
	char		 validity[32], serial[32], force[PATH_MAX + 32];
	char		 ca[CFG_PATH_MAX], kp[PATH_MAX], id[ID_LEN_MAX];
	char		*const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	pid_t		 pid;
	int		 status, r;
	char		*argv[] = {
		(char *)"ssh-keygen", (char *)"-q", (char *)"-s", ca,
		(char *)"-I", id, (char *)"-n", principal,
		(char *)"-V", validity, (char *)"-z", serial,
		(char *)"-O", (char *)"clear", (char *)"-O", force,
		NULL, NULL, NULL, NULL
	};
	size_t		 n = 16;	/* the first free slot above */

	tunl_strlcpy(ca, a->cfg.ca_key, sizeof(ca));
	tunl_strlcpy(id, sid, sizeof(id));
	if (tunl_strlcpy(kp, keypath, sizeof(kp)) >= sizeof(kp))
		return TUNL_ERR_LENGTH;
	snprintf(principal, sizeof(principal), "tunl-%s", sid);
	snprintf(validity, sizeof(validity), "-1m:+%um", a->cfg.cert_ttl);
	snprintf(serial, sizeof(serial), "%lld", (long long)gen);
	if ((size_t)snprintf(force, sizeof(force),
	    "force-command=%s/tunl/tunl-shell", LIBEXECDIR) >= sizeof(force))
		return TUNL_ERR_LENGTH;
	/*
	 * The tunnel upgrade: port forwarding, which sshd narrows to a
	 * listen on the session's own relay port, and only when logged in
	 * as tunnel_user (the drop-in, tunl-principals' permitlisten). The
	 * customer account keeps DisableForwarding.
	 */
	if (forward) {
		argv[n++] = (char *)"-O";
		argv[n++] = (char *)"permit-port-forwarding";
	}
	argv[n] = kp;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return TUNL_ERR_SYSTEM;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
	    0) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return TUNL_ERR_SYSTEM;
	}
	r = posix_spawn(&pid, SSH_KEYGEN_PATH, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		return TUNL_ERR_SYSTEM;
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return TUNL_ERR_SYSTEM;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return TUNL_ERR_CRYPTO;
	return 0;
}

/*
 * Sign k in a fresh private directory, removed whatever happens; the
 * certificate line is left in cert.
 */
static int
sign_certificate(const struct authority *a, const char *sid, int64_t gen,
    int forward, const struct sign_key *k, char *cert, size_t certlen,
    size_t *lenp)
{
	char	 dir[] = SIGN_TMPDIR "/tunl-authority.XXXXXX";
	char	 keypath[sizeof(dir) + sizeof(SIGN_KEYFILE) + 1];
	char	 keyline[sizeof(k->line) + 1];
	int	 dfd = -1, r;

	*lenp = 0;
	if (mkdtemp(dir) == NULL)
		return TUNL_ERR_SYSTEM;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		r = TUNL_ERR_SYSTEM;
		goto out;
	}
	snprintf(keypath, sizeof(keypath), "%s/%s", dir, SIGN_KEYFILE);
	snprintf(keyline, sizeof(keyline), "%s\n", k->line);
	if ((r = sign_write_file(dfd, SIGN_KEYFILE, keyline,
	    strlen(keyline))) != 0 ||
	    (r = sign_run_keygen(a, sid, keypath, gen, forward)) != 0 ||
	    (r = sign_read_cert(dfd, cert, certlen, lenp)) != 0)
		goto out;
	r = authority_sign_check_cert(cert, *lenp);
 out:
	if (dfd != -1) {
		(void)unlinkat(dfd, SIGN_KEYFILE, 0);
		(void)unlinkat(dfd, SIGN_CERTFILE, 0);
		close(dfd);
	}
	if (rmdir(dir) == -1 && r == 0)
		r = TUNL_ERR_SYSTEM;
	if (r != 0) {
		sodium_memzero(cert, certlen);
		*lenp = 0;
	}
	return r;
}

/*
 * The hand-off for our own connection must name sid, and the caller must
 * prove the login key pam_tunl gave that login (its login file, readable
 * only by root and the key group, holds the key's verifier). The token the
 * login used comes back in token (*has_token).
 */
static int
sign_check_binding(const struct authority *a, const char *sid,
    struct handoff *h, u_char token[TOKEN_HASH_LEN], int *has_token)
{
	struct group	*gr, *kg;
	char		 dir[PATH_MAX];
	int		 r;

	*has_token = 0;

	if (a->connection[0] == '\0' ||
	    handoff_check_connection(a->connection) != 0)
		return TUNL_ERR_DENIED;
	if ((gr = getgrnam(a->cfg.relay_group)) == NULL)
		return TUNL_ERR_CONFIG;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/auth",
	    a->cfg.runtime_dir) >= sizeof(dir))
		return TUNL_ERR_LENGTH;
	if ((r = handoff_read(dir, a->connection, gr->gr_gid, a->now,
	    (int64_t)a->cfg.session_ttl * 60, h)) != 0)
		return r;
	if (strcmp(h->session, sid) != 0)
		return TUNL_ERR_DENIED;
	if ((kg = getgrnam(a->cfg.key_group)) == NULL)
		return TUNL_ERR_CONFIG;
	if ((r = login_file_check(dir, a->connection, kg->gr_gid,
	    a->login_key, token, has_token)) != 0)
		return r == TUNL_ERR_NOT_FOUND ? TUNL_ERR_DENIED : r;
	return 0;
}

int
authority_sign(struct authority *a, const char *sid)
{
	struct registry	*reg = NULL;
	struct session	 s;
	struct handoff	 h;
	struct sign_key	 k;
	char		 line[AUTH_KEYLINE_MAX + 2], cert[AUTH_CERT_MAX + 1];
	char		 esc[ID_LEN_MAX * 4], detail[64], live[ID_LEN_MAX];
	u_char		 token[TOKEN_HASH_LEN];
	size_t		 len, certlen = 0;
	int		 r, status = 1, has_token = 0;

	memset(&h, 0, sizeof(h));
	memset(token, 0, sizeof(token));
	(void)log_escape(esc, sizeof(esc), sid, strnlen(sid, ID_LEN_MAX));
	if (a->role != AUTH_ROLE_CUSTOMER) {
		error("sign %s refused: uid %lu is not the customer account",
		    esc, (u_long)a->uid);
		authority_fail("sign is for the customer account only");
		goto out;
	}
	if (id_check(sid) != 0) {
		error("sign refused: bad session id \"%s\"", esc);
		authority_fail("not authorised for that session");
		goto out;
	}
	r = sign_check_binding(a, sid, &h, token, &has_token);
	sodium_memzero(a->login_key, sizeof(a->login_key));
	if (r != 0) {
		error_r(r, "sign %s refused: no hand-off and login key for "
		    "this connection naming it%s%s", sid,
		    h.session[0] ? ", it names " : "", h.session);
		authority_fail("not authorised for that session");
		goto out;
	}
	if ((r = authority_read_stdin(line, sizeof(line), &len)) != 0 ||
	    (r = authority_sign_parse_key(line, len, &k)) != 0) {
		error_r(r, "sign %s: bad public key", sid);
		authority_fail("expected one ssh-ed25519 public key line on "
		    "stdin");
		goto out;
	}
	if (authority_open_registry(a, &reg) != 0)
		goto out;
	if (authority_session_live(a, reg, "sign", sid, &s) != 0)
		goto out;
	/*
	 * A login whose token is no longer live (superseded by `token <id>`,
	 * or used) is refused before the cooldown is taken, so an old login
	 * cannot lock the customer out of signing. The consume below stays
	 * the authoritative single-use check.
	 */
	if (has_token && ((r = registry_token_lookup(reg, token, a->now,
	    live)) != 0 || strcmp(live, sid) != 0)) {
		if (r == TUNL_ERR_BUSY) {
			error_r(r, "sign %s refused", sid);
			authority_fail("the relay is busy; try again in a "
			    "minute");
			goto out;
		}
		if (r == 0 || r == TUNL_ERR_NOT_FOUND) {
			error("sign %s refused: the login's token is no longer "
			    "live", sid);
			authority_fail("the session's token has already been "
			    "used");
		} else {
			error_r(r, "sign %s refused", sid);
			authority_fail("the registry is unavailable");
		}
		goto out;
	}
	if ((r = registry_sign_cooldown(reg, sid, a->cfg.sign_cooldown,
	    a->now)) != 0) {
		error_r(r, "sign %s refused", sid);
		if (r == TUNL_ERR_RATE)
			authority_fail("signed too recently; wait %u seconds",
			    a->cfg.sign_cooldown);
		else if (r == TUNL_ERR_BUSY)
			authority_fail("the relay is busy; try again in a "
			    "minute");
		else
			authority_fail("the registry is unavailable");
		goto out;
	}
	/*
	 * The serial is the id of the token this sign consumes: the newest
	 * (a live token is always the newest, `token <id>` ending the older
	 * ones; if a newer one comes meanwhile the consume below fails).
	 * Ids only grow, so admit can tell this certificate from any signed
	 * with an older token, even in the same second.
	 */
	if ((r = sign_certificate(a, sid, s.token_gen,
	    a->cfg.tunnel_port_min != 0 && s.mode != SESSION_RESTRICTED, &k,
	    cert, sizeof(cert), &certlen)) != 0) {
		error_r(r, "sign %s: ssh-keygen failed", sid);
		authority_fail("cannot sign the key");
		goto out;
	}
	/*
	 * A login is tied to its token: consume that one or nothing. A token
	 * superseded by `token <id>` is no longer live, so its login cannot
	 * sign, nor use up the new token.
	 */
	if (has_token)
		r = registry_token_consume(reg, sid, token, a->now);
	else if (a->cfg.token_required)
		r = TUNL_ERR_NOT_FOUND;
	else if ((r = registry_token_consume(reg, sid, NULL, a->now)) ==
	    TUNL_ERR_NOT_FOUND)
		r = 0;
	if (r != 0) {
		error_r(r, "sign %s refused: token not consumed: %s", sid,
		    registry_errmsg(reg));
		if (r == TUNL_ERR_NOT_FOUND)
			authority_fail("the session's token has already been "
			    "used");
		else if (r == TUNL_ERR_BUSY)
			authority_fail("the relay is busy; try again in a "
			    "minute");
		else
			authority_fail("the registry is unavailable");
		goto out;
	}
	snprintf(detail, sizeof(detail), "serial=%lld",
	    (long long)s.token_gen);
	if ((r = registry_event_add(reg, sid, "customer", "sign",
	    h.rhost[0] ? h.rhost : NULL, detail, a->now)) != 0)
		error_r(r, "sign %s: event not recorded: %s", sid,
		    registry_errmsg(reg));
	info("signed a certificate for session %s serial %lld from %s", sid,
	    (long long)s.token_gen, h.rhost[0] ? h.rhost : "-");
	if (authority_write_stdout(cert, certlen) != 0) {
		error("sign %s: cannot write the certificate", sid);
		goto out;
	}
	status = 0;
 out:
	registry_close(reg);
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(token, sizeof(token));
	return status;
}
