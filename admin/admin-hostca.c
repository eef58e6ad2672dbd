/*
 * admin-hostca.c: the relay's host certificate authority, and the line a
 * customer pins.
 *
 * `tunl-admin init --host-ca' makes the CA key (host_ca_key, root 0600,
 * its .pub 0644) when there is none, signs every HostKey sshd has
 * (`sshd -T') with ssh-keygen -h, and names the certificates in a drop-in
 * of their own, sshd_config.d/tunl-hostcert.conf, which `sshd -t' must
 * accept or it is taken back. A customer who pins the CA then trusts
 * every relay it signed: one `@cert-authority' line in known_hosts.
 *
 * `tunl-admin host-key' prints that pin: the @cert-authority line when the
 * CA exists, else sshd's own key (relay_host_key) for this relay alone.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunl.h"
#include "admin.h"

#define HOSTCA_DROPIN		"tunl-hostcert.conf"
#define HOSTCA_KEYS_MAX		16	/* HostKey lines signed */
#define HOSTCA_SSHD_OUT_MAX	(128 * 1024)

/*
 * A principals list for ssh-keygen -n, or a known_hosts pattern list:
 * comma-separated host names, addresses, "[host]:port", with the
 * wildcards * and ?; nothing a shell, ssh-keygen or known_hosts would
 * read otherwise, and no leading '-'.
 */
int
admin_hostca_names_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= HOSTCA_NAMES_MAX || s[0] == '-' || s[0] == ',' ||
	    s[n - 1] == ',' || strstr(s, ",,") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr(".-_:[]*?,", s[i]) != NULL)
			continue;
		return 0;
	}
	return 1;
}

/*
 * The names the relay is reached by, when the operator gave none:
 * relay_address's host, else this machine's name.
 */
static int
hostca_default_host(const struct tunl_cfg *cfg, struct relay_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (cfg->relay_address[0] != '\0')
		return relay_addr_parse(cfg->relay_address, a, NULL);
	if (gethostname(a->host, sizeof(a->host) - 1) == -1)
		return TUNL_ERR_SYSTEM;
	a->host[sizeof(a->host) - 1] = '\0';
	return admin_hostca_names_ok(a->host) ? 0 : TUNL_ERR_INVALID;
}

/* The CA key: made when missing, else checked (root, no group or other). */
static int
hostca_key(const struct tunl_cfg *cfg)
{
	const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N",
		    "", "-C", "tunl host CA", "-f", cfg->host_ca_key, NULL };
	char	 err[PATH_MAX + 256], pub[PATH_MAX];
	int	 r, fd;

	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", cfg->host_ca_key) >=
	    sizeof(pub))
		return TUNL_ERR_LENGTH;
	r = admin_fs_check_file(cfg->host_ca_key, 0, 0, 0400, 0077, err,
	    sizeof(err));
	if (r == 0) {
		printf("ok       %s (host CA, root 0600)\n", cfg->host_ca_key);
		goto pub;
	}
	if (r != TUNL_ERR_NOT_FOUND) {
		printf("unsafe   %s: %s; the host CA key must be root:root "
		    "0600\n", cfg->host_ca_key, err[0] ? err : tunl_err(r));
		return r;
	}
	if (access(pub, F_OK) == 0) {
		printf("unsafe   %s exists without its private key %s; "
		    "remove it or restore the key\n", pub, cfg->host_ca_key);
		return TUNL_ERR_EXISTS;
	}
	if ((r = admin_fs_make_parents(cfg->host_ca_key)) != 0 ||
	    (r = admin_fs_dirname(cfg->host_ca_key, err, sizeof(err))) != 0 ||
	    (r = admin_fs_check_parents(cfg->host_ca_key, err,
	    sizeof(err))) != 0) {
		printf("unsafe   %s: parent %s: %s\n", cfg->host_ca_key, err,
		    tunl_err(r));
		return r;
	}
	if ((r = admin_run(SSH_KEYGEN_PATH, argv, err, sizeof(err))) != 0) {
		printf("error    %s: ssh-keygen failed: %s\n",
		    cfg->host_ca_key, err[0] ? err : tunl_err(r));
		return r;
	}
	/* ssh-keygen honours the umask (077 here); make the modes exact. */
	if ((fd = open(cfg->host_ca_key, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return TUNL_ERR_SYSTEM;
	r = fchown(fd, 0, 0) == 0 && fchmod(fd, 0600) == 0 ? 0 :
	    TUNL_ERR_SYSTEM;
	close(fd);
	if (r != 0)
		return r;
	printf("created  %s (host CA, root 0600)\n", cfg->host_ca_key);
 pub:
	if ((fd = open(pub, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		printf("error    %s: %s\n", pub, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	r = fchown(fd, 0, 0) == 0 && fchmod(fd, 0644) == 0 ? 0 :
	    TUNL_ERR_SYSTEM;
	close(fd);
	if (r == 0)
		printf("ok       %s (the pin: tunl-admin host-key)\n", pub);
	return r;
}

/*
 * sshd's host keys, as `sshd -T' names them: up to HOSTCA_KEYS_MAX paths
 * into keys[], each under PATH_MAX. Returns how many, or -1.
 */
static int
hostca_hostkeys(const struct doctor_opts *o, char keys[][PATH_MAX])
{
	static char	 out[HOSTCA_SSHD_OUT_MAX];
	const char	*argv[] = { "sshd", "-T", "-f", o->sshd_config != NULL ?
			    o->sshd_config : "/etc/ssh/sshd_config", NULL };
	char		*line, *next, *p;
	size_t		 len;
	int		 r, n = 0;

	if ((r = admin_run(o->sshd, argv, out, sizeof(out))) != 0) {
		printf("error    %s -T failed: %s\n", o->sshd,
		    out[0] ? out : tunl_err(r));
		return -1;
	}
	for (line = out; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "hostkey ", 8) != 0)
			continue;
		p = line + 8;
		len = strlen(p);
		if (p[0] != '/' || len + sizeof("-cert.pub") >= PATH_MAX ||
		    strpbrk(p, " \t\"'\\") != NULL) {
			printf("error    sshd's HostKey \"%s\": tunl signs only "
			    "absolute paths without blanks or quotes\n", p);
			return -1;
		}
		if (n == HOSTCA_KEYS_MAX) {
			printf("error    sshd has more than %d host keys\n",
			    HOSTCA_KEYS_MAX);
			return -1;
		}
		memcpy(keys[n++], p, len + 1);
	}
	if (n == 0)
		printf("error    %s -T names no HostKey\n", o->sshd);
	return n > 0 ? n : -1;
}

/* Sign one host key's .pub: its -cert.pub beside it, root 0644. */
static int
hostca_sign(const struct tunl_cfg *cfg, const char *key, const char *names,
    const char *id, char *cert, size_t certlen)
{
	const char	*argv[] = { "ssh-keygen", "-q", "-s", cfg->host_ca_key,
			    "-h", "-I", id, "-n", names, NULL, NULL };
	char		 pub[PATH_MAX], err[PATH_MAX + 256];
	int		 r;

	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", key) >= sizeof(pub) ||
	    (size_t)snprintf(cert, certlen, "%s-cert.pub", key) >= certlen)
		return TUNL_ERR_LENGTH;
	argv[9] = pub;
	if ((r = admin_run(SSH_KEYGEN_PATH, argv, err, sizeof(err))) != 0) {
		printf("error    %s: ssh-keygen -s failed: %s\n", pub,
		    err[0] ? err : tunl_err(r));
		return r;
	}
	if (chown(cert, 0, 0) != 0 || chmod(cert, 0644) != 0) {
		printf("error    %s: %s\n", cert, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	printf("signed   %s (host certificate for %s)\n", cert, names);
	return 0;
}

/* sshd_config.d/tunl-hostcert.conf beside sshd's config. */
static int
hostca_dropin_path(const struct doctor_opts *o, char *out, size_t outlen)
{
	char	 dir[PATH_MAX];

	if (admin_fs_dirname(o->sshd_config != NULL ? o->sshd_config :
	    "/etc/ssh/sshd_config", dir, sizeof(dir)) != 0 ||
	    (size_t)snprintf(out, outlen, "%s/sshd_config.d/%s", dir,
	    HOSTCA_DROPIN) >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

int
admin_hostca_init(const struct tunl_cfg *cfg, const struct doctor_opts *o)
{
	static char	 keys[HOSTCA_KEYS_MAX][PATH_MAX];
	static char	 text[HOSTCA_KEYS_MAX * (PATH_MAX + 32) + 512];
	struct relay_addr a;
	const char	*names = o->host_names;
	const char	*argv[] = { "sshd", "-t", "-f", o->sshd_config != NULL ?
			    o->sshd_config : "/etc/ssh/sshd_config", NULL };
	char		 cert[PATH_MAX], dropin[PATH_MAX], id[RELAY_HOST_MAX + 8];
	char		 err[2 * PATH_MAX];
	size_t		 len;
	int		 i, n, r;

	if (names == NULL) {
		if (hostca_default_host(cfg, &a) != 0) {
			printf("error    no name to sign: set relay_address or "
			    "give --host-name NAME[,NAME...]\n");
			return 1;
		}
		names = a.host;
	}
	if (!admin_hostca_names_ok(names)) {
		printf("error    --host-name: host names or addresses, "
		    "separated by commas\n");
		return 1;
	}
	/* The certificate's key id: "tunl-relay " and its first name. */
	n = snprintf(id, sizeof(id), "tunl-relay %.*s",
	    (int)strcspn(names, ","), names);
	if (n < 0 || (size_t)n >= sizeof(id) ||
	    hostca_dropin_path(o, dropin, sizeof(dropin)) != 0) {
		printf("error    a name or path is too long\n");
		return 1;
	}
	if (hostca_key(cfg) != 0 || (n = hostca_hostkeys(o, keys)) < 0)
		return 1;
	len = (size_t)snprintf(text, sizeof(text),
	    "# Written by tunl-admin init --host-ca: sshd's host keys signed "
	    "by\n# tunl's host CA (%s), for customers who pin it\n# (tunl-admin "
	    "host-key). Global lines only; run init --host-ca again to\n"
	    "# sign again. tunl-admin disable leaves it: it changes no "
	    "login.\n", cfg->host_ca_key);
	for (i = 0; i < n; i++) {
		if (hostca_sign(cfg, keys[i], names, id, cert,
		    sizeof(cert)) != 0)
			return 1;
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "HostCertificate %s\n", cert);
		if (len >= sizeof(text))
			return 1;
	}
	if ((r = admin_fs_make_parents(dropin)) != 0 ||
	    (r = admin_fs_replace(dropin, ".tmp", text, len, 0644)) != 0) {
		printf("error    %s: cannot write: %s\n", dropin,
		    r == TUNL_ERR_SYSTEM ? strerror(errno) : tunl_err(r));
		return 1;
	}
	if ((r = admin_run(o->sshd, argv, err, sizeof(err))) != 0) {
		(void)unlink(dropin);
		printf("refused  %s: sshd -t fails with it: %s; removed "
		    "again\n", dropin, err[0] ? err : tunl_err(r));
		return 1;
	}
	printf("written  %s (HostCertificate, checked with sshd -t)\n",
	    dropin);
	printf("tunl-admin init --host-ca: done; reload sshd (systemctl "
	    "reload ssh); customers pin the line tunl-admin host-key "
	    "prints\n");
	return 0;
}

/*
 * tunl-admin host-key [--hosts PATTERN]: the known_hosts line a customer
 * adds (or tunl-share is given), on standard output.
 */
int
admin_host_key(const struct tunl_cfg *cfg, const char *hosts)
{
	struct relay_addr a;
	char		 key[RELAY_HOSTKEY_MAX], host[RELAY_ADDR_MAX];
	char		 line[RELAY_PIN_MAX];
	const char	*path = "", *why = NULL;
	int		 r, is_ca;

	if ((r = relay_pin_load(cfg, key, sizeof(key), &is_ca, &path,
	    &why)) != 0) {
		fprintf(stderr, "tunl-admin: host key %s: %s\n", path,
		    r == TUNL_ERR_SYSTEM ? strerror(errno) :
		    why != NULL ? why : tunl_err(r));
		return 1;
	}
	if (hosts == NULL) {
		if (hostca_default_host(cfg, &a) != 0 ||
		    relay_pin_host(&a, host, sizeof(host)) != 0) {
			fprintf(stderr, "tunl-admin: host-key: set "
			    "relay_address or give --hosts PATTERN\n");
			return 1;
		}
		if (cfg->relay_address[0] == '\0')
			fprintf(stderr, "tunl-admin: relay_address is unset; "
			    "the line names this machine, %s (--hosts "
			    "changes it)\n", host);
		hosts = host;
	} else if (!admin_hostca_names_ok(hosts)) {
		fprintf(stderr, "tunl-admin: --hosts: a known_hosts pattern "
		    "list (names, [host]:port, * and ?, commas)\n");
		return 1;
	}
	if (relay_pin_line(hosts, is_ca, key, line, sizeof(line)) != 0) {
		fprintf(stderr, "tunl-admin: host-key: too long\n");
		return 1;
	}
	printf("%s\n", line);
	return 0;
}
