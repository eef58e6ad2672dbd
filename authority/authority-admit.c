/*
 * authority-admit.c: tunl-authority admit <id>, the only way a customer
 * login becomes its session's producer (docs/auth-design.md, "Admit").
 *
 * The broker admits a producer only on a connection whose peer has the
 * key group as its effective group (SO_PEERCRED), which only this
 * set-group-ID program has. So before it connects it checks what the
 * broker cannot: the caller proves the login key of its own connection
 * (the login file, readable only by root and the key group); that login
 * is for this session (the hand-off of a keyboard-interactive login, or
 * the certificate's key id recorded by pam_tunl's session stage); the
 * session is pending or active; and no newer token superseded the login
 * (registry_login_current). Then it connects to the session's socket,
 * checks that the broker account listens, writes the producer's hello
 * itself, stating the newest token id its check saw, and passes the
 * connection to its caller (tunl-shell) over its standard output, a Unix
 * socket, with SCM_RIGHTS. A token issued between this check and the
 * broker's own read of the row is then still seen as newer than the
 * login's, and the broker refuses the producer (broker-session.c). A process running as the customer account without a live,
 * current login of that session gets no connection a broker would take
 * as a producer.
 *
 * An engineer's login joins the same way (tunl-authority admit <id>
 * ro|rw <cols> <rows>): the login file pam_tunl's session stage wrote
 * names the engineer sshd authenticated, and this program sends the
 * consumer's hello with that name before it passes the connection on.
 * The broker takes a consumer only on a connection from the key group,
 * so the name it records is never one the engineer account wrote.
 *
 * Exit 0: passed on; 1: refused (one line on stderr); 3: no broker
 * listens (tunl-shell starts one and asks again); 4: the socket is not
 * the broker account's (refused, never replaced).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "frame.h"
#include "authority.h"

#define ADMIT_NO_BROKER	3
#define ADMIT_UNSAFE	4
#define ADMIT_SUPERSEDED 5	/* a newer token: this login no longer produces */

/*
 * 0 if the caller proves the login key of its own connection and that
 * login is for session sid (also used by the registry verbs).
 */
int
authority_binding(const struct authority *a, const char *sid,
    struct login_info *li)
{
	struct group	*gr;
	struct handoff	 h;
	char		 dir[PATH_MAX];
	gid_t		 relay_gid, key_gid;
	int		 r;

	if (a->connection[0] == '\0' ||
	    handoff_check_connection(a->connection) != 0)
		return TUNL_ERR_DENIED;
	/* getgrnam's answer lives until the next call: keep the ids. */
	if ((gr = getgrnam(a->cfg.relay_group)) == NULL)
		return TUNL_ERR_CONFIG;
	relay_gid = gr->gr_gid;
	if ((gr = getgrnam(a->cfg.key_group)) == NULL)
		return TUNL_ERR_CONFIG;
	key_gid = gr->gr_gid;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/auth",
	    a->cfg.runtime_dir) >= sizeof(dir))
		return TUNL_ERR_LENGTH;
	if ((r = login_file_verify(dir, a->connection, key_gid,
	    a->login_key, li)) != 0) {
		if (r != TUNL_ERR_NOT_FOUND && r != TUNL_ERR_DENIED)
			error_r(r, "the login file of this connection");
		return r == TUNL_ERR_NOT_FOUND ? TUNL_ERR_DENIED : r;
	}
	/* An engineer's login may join any live session; nothing else. */
	if (a->role == AUTH_ROLE_ENGINEER)
		return li->is_engineer ? 0 : TUNL_ERR_DENIED;
	if (li->is_engineer)
		return TUNL_ERR_DENIED;
	if (li->is_cert)
		return strcmp(li->session, sid) == 0 ? 0 : TUNL_ERR_DENIED;
	if ((r = handoff_read(dir, a->connection, relay_gid, a->now,
	    (int64_t)a->cfg.session_ttl * 60, &h)) != 0) {
		if (r != TUNL_ERR_NOT_FOUND)
			error_r(r, "the hand-off of this connection");
		return r == TUNL_ERR_NOT_FOUND ? TUNL_ERR_DENIED : r;
	}
	return strcmp(h.session, sid) == 0 ? 0 : TUNL_ERR_DENIED;
}

/* Connect to sid's socket; the broker account must own and serve it. */
static int
admit_connect(const struct authority *a, const char *sid, int *fdp)
{
	struct sockaddr_un	 sun;
	struct passwd		*pw;
	struct ucred		 cred;
	struct stat		 st;
	socklen_t		 len = sizeof(cred);
	int			 fd, r;

	*fdp = -1;
	if ((pw = getpwnam(a->cfg.broker_user)) == NULL)
		return TUNL_ERR_CONFIG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/sessions/%s.sock", a->cfg.runtime_dir, sid) >=
	    sizeof(sun.sun_path))
		return TUNL_ERR_LENGTH;
	if (lstat(sun.sun_path, &st) == -1)
		return errno == ENOENT ? TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != pw->pw_uid)
		return TUNL_ERR_UNSAFE;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return TUNL_ERR_SYSTEM;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		r = errno == ECONNREFUSED || errno == ENOENT ?
		    TUNL_ERR_NOT_FOUND : TUNL_ERR_SYSTEM;
		close(fd);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred) || cred.uid != pw->pw_uid) {
		if (len == sizeof(cred))
			error("%s: served by uid %lu (pid %ld), not by the "
			    "broker account", sun.sun_path, (u_long)cred.uid,
			    (long)cred.pid);
		close(fd);
		return TUNL_ERR_UNSAFE;
	}
	*fdp = fd;
	return 0;
}

/*
 * The hello, written whole before the connection is passed on: a
 * consumer's with the name from the login file (never one the caller
 * gave); a producer's with the newest token id the check saw.
 */
static int
admit_hello(int fd, const char *sid, const struct admit_join *j,
    const char *name, int64_t token)
{
	struct proto_hello	 h;
	struct buf		*b;
	size_t			 put;
	int			 r;

	memset(&h, 0, sizeof(h));
	h.version = TUNL_PROTO_VERSION;
	tunl_strlcpy(h.session, sid, sizeof(h.session));
	if (j != NULL) {
		h.role = PROTO_ROLE_CONSUMER;
		tunl_strlcpy(h.engineer, name, sizeof(h.engineer));
		h.mode = j->read_only ? PROTO_MODE_RO : PROTO_MODE_RW;
		h.cols = (u_int16_t)j->cols;
		h.rows = (u_int16_t)j->rows;
	} else {
		h.role = PROTO_ROLE_PRODUCER;
		h.has_token = 1;
		h.token = token;
	}
	if ((b = buf_new(FRAME_HEADER_LEN + 256)) == NULL)
		return TUNL_ERR_ALLOC;
	if ((r = proto_put_hello(b, &h)) != 0)
		goto out;
	while (buf_len(b) > 0) {
		if ((r = buf_write_fd(b, fd, &put)) != 0)
			goto out;
		if (put == 0) {
			r = TUNL_ERR_SYSTEM;
			goto out;
		}
	}
 out:
	buf_free(b);
	return r;
}

/* One byte on stdout carrying fd. */
static int
admit_pass(int fd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		char		 space[CMSG_SPACE(sizeof(int))];
	} cbuf;
	char		 one = 'A';
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = &one;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.space;
	msg.msg_controllen = sizeof(cbuf.space);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	do {
		n = sendmsg(STDOUT_FILENO, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : TUNL_ERR_SYSTEM;
}

/* ro|rw <cols> <rows>, an engineer's join (tunl-shell join). */
int
authority_admit_join(char *const *av, int ac, struct admit_join *j)
{
	long long	 n;

	memset(j, 0, sizeof(*j));
	if (ac != 3)
		return TUNL_ERR_INVALID;
	if (strcmp(av[0], "ro") == 0)
		j->read_only = 1;
	else if (strcmp(av[0], "rw") != 0)
		return TUNL_ERR_INVALID;
	if (tunl_strtonum(av[1], 1, PROTO_COLS_MAX, &n) != 0)
		return TUNL_ERR_RANGE;
	j->cols = (u_int)n;
	if (tunl_strtonum(av[2], 1, PROTO_ROWS_MAX, &n) != 0)
		return TUNL_ERR_RANGE;
	j->rows = (u_int)n;
	return 0;
}

int
authority_admit(struct authority *a, const char *sid,
    const struct admit_join *join)
{
	struct registry		*reg = NULL;
	struct login_info	 li;
	struct session		 s;
	struct stat		 st;
	char			 esc[ID_LEN_MAX * 4];
	int64_t			 newest = 0;
	int			 r, fd = -1, status = 1;

	memset(&li, 0, sizeof(li));
	(void)log_escape(esc, sizeof(esc), sid, strnlen(sid, ID_LEN_MAX));
	if (!(a->role == AUTH_ROLE_CUSTOMER && join == NULL) &&
	    !(a->role == AUTH_ROLE_ENGINEER && join != NULL)) {
		error("admit %s refused: uid %lu is not the %s account",
		    esc, (u_long)a->uid, join == NULL ? "customer" :
		    "engineer");
		authority_fail(join == NULL ? "admit is for the customer "
		    "account only" : "admit to join is for the engineer "
		    "account only");
		goto out;
	}
	if (id_check(sid) != 0) {
		error("admit refused: bad session id \"%s\"", esc);
		authority_fail("not authorised for that session");
		goto out;
	}
	if (fstat(STDOUT_FILENO, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		authority_fail("admit passes a connection: its standard "
		    "output must be a Unix socket");
		goto out;
	}
	r = authority_binding(a, sid, &li);
	sodium_memzero(a->login_key, sizeof(a->login_key));
	if (r != 0) {
		error_r(r, "admit %s refused: no login key of this connection "
		    "for that session", sid);
		authority_fail("not authorised for that session");
		goto out;
	}
	if (authority_open_registry(a, &reg) != 0)
		goto out;
	if (authority_session_live(a, reg, "admit", sid, &s) != 0)
		goto out;
	if (join == NULL && (r = registry_login_current(reg, sid, &li,
	    &newest)) != 0) {
		error("admit %s refused: %s", sid, r == TUNL_ERR_DENIED ?
		    "a newer token superseded this login" :
		    registry_errmsg(reg));
		authority_fail(r == TUNL_ERR_DENIED ? PROTO_SUPERSEDED_WORDS :
		    "the relay is busy; try again");
		if (r == TUNL_ERR_DENIED)
			status = ADMIT_SUPERSEDED;
		goto out;
	}
	registry_close(reg);
	reg = NULL;
	if ((r = admit_connect(a, sid, &fd)) != 0) {
		if (r == TUNL_ERR_NOT_FOUND) {
			status = ADMIT_NO_BROKER;
			goto out;
		}
		error_r(r, "admit %s: the session's socket", sid);
		authority_fail("the session's socket is not served by the "
		    "relay's broker");
		if (r == TUNL_ERR_UNSAFE)
			status = ADMIT_UNSAFE;
		goto out;
	}
	if ((r = admit_hello(fd, sid, join, li.engineer, newest)) != 0) {
		error_r(r, "admit %s: the hello for %s", sid, join != NULL ?
		    li.engineer : "the customer");
		authority_fail("cannot reach the session's broker");
		goto out;
	}
	if ((r = admit_pass(fd)) != 0) {
		error("admit %s: cannot pass the connection: %s", sid,
		    strerror(errno));
		goto out;
	}
	if (join != NULL)
		info("admitted engineer %s to session %s (%s)", li.engineer,
		    sid, join->read_only ? "read-only" : "read-write");
	else
		info("admitted the %s login of session %s as its producer "
		    "(newest token %lld)", li.is_cert ? "certificate" :
		    "keyboard-interactive", sid, (long long)newest);
	status = 0;
 out:
	if (fd != -1)
		close(fd);
	registry_close(reg);
	sodium_memzero(&li, sizeof(li));
	return status;
}
