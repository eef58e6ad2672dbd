/*
 * admin-engineer.c: `tunl-admin engineer add NAME KEYFILE|-`, `remove
 * NAME` and `list`: the engineers' public keys, in the one root-owned file
 * (engineer_keys) that the sshd drop-in names as the engineer account's
 * AuthorizedKeysFile. Each line is
 *
 *	environment="TUNL_ENGINEER=NAME",restrict,pty TYPE BASE64 NAME
 *
 * tunl-shell reads the name from the line that holds the key sshd
 * accepted (sshd itself ignores environment= with PermitUserEnvironment
 * off); restrict takes away forwarding and the rest, pty gives `join` its
 * terminal back. A key is checked before it is added (a known type, base64
 * that decodes to a blob naming the same type), a name or key already
 * there is refused, and the file is replaced atomically.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tunl.h"
#include "admin.h"

#define ENG_FILE_MAX	(1024 * 1024)	/* bytes in the keys file */
#define ENG_LINE_MAX	16384		/* bytes in one line */
#define ENG_NAME_MAX	32
#define ENG_BLOB_MAX	8192		/* decoded key bytes */
#define ENG_PREFIX	"environment=\"TUNL_ENGINEER="

static const char *const eng_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
};

static char	 eng_file[ENG_FILE_MAX + 1];
static char	 eng_out[ENG_FILE_MAX + ENG_LINE_MAX];

/* One parsed line of the file. */
struct eng_line {
	char	 name[ENG_NAME_MAX + 1];	/* "" when no name */
	char	 type[64];
	char	 b64[ENG_LINE_MAX];
};

/* The grammar tunl-shell accepts for an engineer's name. */
static int
eng_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > ENG_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static int
eng_type_ok(const char *t)
{
	size_t	 i;

	for (i = 0; i < TUNL_NITEMS(eng_types); i++)
		if (strcmp(t, eng_types[i]) == 0)
			return 1;
	return 0;
}

/*
 * A key's base64 must decode, and the blob must start with its type as an
 * SSH string; then the SHA-256 fingerprint (OpenSSH's form) goes to fp.
 */
static int
eng_key_ok(const char *type, const char *b64, char *fp, size_t fplen)
{
	u_char	 blob[ENG_BLOB_MAX], h[crypto_hash_sha256_BYTES];
	char	 enc[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	size_t	 n, tl = strlen(type);

	if (sodium_base642bin(blob, sizeof(blob), b64, strlen(b64), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n < 4 + tl)
		return TUNL_ERR_INVALID;
	if (blob[0] != 0 || blob[1] != 0 || ((size_t)blob[2] << 8 |
	    blob[3]) != tl || memcmp(blob + 4, type, tl) != 0)
		return TUNL_ERR_INVALID;
	crypto_hash_sha256(h, blob, n);
	sodium_bin2base64(enc, sizeof(enc), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if ((size_t)snprintf(fp, fplen, "SHA256:%s", enc) >= fplen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/* The next word of s (space or tab separated) into out; NULL at the end. */
static const char *
eng_word(const char *s, char *out, size_t outlen)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	n = strcspn(s, " \t");
	if (n >= outlen)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return s + n;
}

/*
 * Parse one line of the keys file (NUL-terminated, no newline): our own
 * prefix with the name, then the rest of the options, type and key.
 * Returns 1 for a key line, 0 for a blank or comment line, -1 for junk.
 */
static int
eng_parse(const char *line, struct eng_line *e)
{
	const char	*p = line, *q;
	char		 opts[ENG_LINE_MAX];
	size_t		 n;

	memset(e, 0, sizeof(*e));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if (strncmp(p, ENG_PREFIX, sizeof(ENG_PREFIX) - 1) == 0) {
		q = p + sizeof(ENG_PREFIX) - 1;
		n = strcspn(q, "\"");
		if (q[n] != '"' || n > ENG_NAME_MAX)
			return -1;
		memcpy(e->name, q, n);
		e->name[n] = '\0';
		if (!eng_name_ok(e->name))
			return -1;
	}
	/* Options (if any) then the type: the first word that is a type. */
	if ((p = eng_word(p, opts, sizeof(opts))) == NULL)
		return -1;
	if (eng_type_ok(opts))
		tunl_strlcpy(e->type, opts, sizeof(e->type));
	else if ((p = eng_word(p, e->type, sizeof(e->type))) == NULL ||
	    !eng_type_ok(e->type))
		return -1;
	if (eng_word(p, e->b64, sizeof(e->b64)) == NULL)
		return -1;
	return 1;
}

static int
eng_load(const char *path, size_t *len)
{
	int	 r;

	if ((r = admin_fs_read_root(path, eng_file, ENG_FILE_MAX, len)) == 0)
		return 0;
	if (r == TUNL_ERR_SYSTEM && errno == ENOENT) {
		eng_file[0] = '\0';
		*len = 0;
		return 0;
	}
	if (r == TUNL_ERR_LENGTH)
		printf("tunl-admin: %s: larger than %d bytes\n", path,
		    ENG_FILE_MAX);
	else
		printf("tunl-admin: %s: %s\n", path, r == TUNL_ERR_UNSAFE ?
		    "not a regular file owned by root and writable by root "
		    "alone" : strerror(errno));
	return r;
}

/* Replace the file: root:root 0644 (the layout table), synced, renamed. */
static int
eng_store(const char *path, const char *data, size_t len)
{
	const struct admin_layout *it = admin_layout_find(LAYOUT_ENGINEER_KEYS);
	char	 bad[PATH_MAX];
	int	 r;

	if (admin_fs_check_parents(path, bad, sizeof(bad)) != 0) {
		printf("tunl-admin: %s: %s is not root's alone; fix that "
		    "first\n", path, bad);
		return TUNL_ERR_UNSAFE;
	}
	if ((r = admin_fs_replace(path, ".new", data, len, it->mode)) != 0)
		printf("tunl-admin: %s: cannot write: %s\n", path,
		    r == TUNL_ERR_LENGTH ? "path too long" : strerror(errno));
	return r;
}

/* Read the new key: one line from a file, or from stdin for "-". */
static int
eng_read_key(const char *src, char *line, size_t len)
{
	FILE	*f;
	int	 r = TUNL_ERR_INVALID;

	if (strcmp(src, "-") == 0)
		f = stdin;
	else if ((f = fopen(src, "re")) == NULL) {
		printf("tunl-admin: %s: %s\n", src, strerror(errno));
		return TUNL_ERR_SYSTEM;
	}
	while (fgets(line, (int)len, f) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(f)) {
			printf("tunl-admin: %s: a line is longer than %zu "
			    "bytes\n", src, len);
			r = TUNL_ERR_LENGTH;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		r = 0;
		break;
	}
	if (f != stdin)
		fclose(f);
	if (r == TUNL_ERR_INVALID)
		printf("tunl-admin: %s: no public key in it\n", src);
	return r;
}

static int
eng_add(const struct tunl_cfg *cfg, const char *name, const char *src)
{
	static char	 keyline[ENG_LINE_MAX];
	struct eng_line	 nk, e;
	char		 fp[128], efp[128], *line, *save = NULL;
	size_t		 len, o;
	int		 r, k;

	if (!eng_name_ok(name)) {
		printf("tunl-admin: \"%.40s\" is not an engineer name: 1 to "
		    "32 of a-z 0-9 _ . - starting with a letter or _\n", name);
		return 1;
	}
	if (eng_read_key(src, keyline, sizeof(keyline)) != 0)
		return 1;
	/* The key file's line: [options] type base64 [comment]. */
	if (eng_parse(keyline, &nk) != 1 ||
	    eng_key_ok(nk.type, nk.b64, fp, sizeof(fp)) != 0) {
		printf("tunl-admin: %s: not an OpenSSH public key (want a line "
		    "like \"ssh-ed25519 AAAA... comment\", from a .pub "
		    "file)\n", src);
		return 1;
	}
	if (eng_load(cfg->engineer_keys, &len) != 0)
		return 1;
	o = 0;
	for (line = strtok_r(eng_file, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		k = eng_parse(line, &e);
		if (k == 1 && strcmp(e.name, name) == 0) {
			printf("tunl-admin: engineer %s already has a key; "
			    "fix: tunl-admin engineer remove %s first\n", name,
			    name);
			return 1;
		}
		if (k == 1 && strcmp(e.b64, nk.b64) == 0) {
			printf("tunl-admin: this key (%s) is already there%s%s;"
			    " one key names one engineer\n", fp,
			    e.name[0] ? " for " : "", e.name);
			return 1;
		}
		if (k == 1 && eng_key_ok(e.type, e.b64, efp,
		    sizeof(efp)) == 0 && strcmp(efp, fp) == 0) {
			printf("tunl-admin: this key (%s) is already there\n",
			    fp);
			return 1;
		}
		len = strlen(line);
		memcpy(eng_out + o, line, len);
		o += len;
		eng_out[o++] = '\n';
	}
	r = snprintf(eng_out + o, sizeof(eng_out) - o,
	    ENG_PREFIX "%s\",restrict,pty %s %s %s\n", name, nk.type, nk.b64,
	    name);
	if (r < 0 || (size_t)r >= sizeof(eng_out) - o ||
	    o + (size_t)r > ENG_FILE_MAX) {
		printf("tunl-admin: %s would grow past %d bytes\n",
		    cfg->engineer_keys, ENG_FILE_MAX);
		return 1;
	}
	o += (size_t)r;
	if (eng_store(cfg->engineer_keys, eng_out, o) != 0)
		return 1;
	printf("added    engineer %s, %s key %s, to %s\n", name, nk.type, fp,
	    cfg->engineer_keys);
	return 0;
}

static int
eng_remove(const struct tunl_cfg *cfg, const char *name)
{
	struct eng_line	 e;
	char		*line, *save = NULL;
	size_t		 len, o = 0;
	int		 removed = 0;

	if (!eng_name_ok(name)) {
		printf("tunl-admin: \"%.40s\" is not an engineer name\n", name);
		return 1;
	}
	if (eng_load(cfg->engineer_keys, &len) != 0)
		return 1;
	for (line = strtok_r(eng_file, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (eng_parse(line, &e) == 1 && strcmp(e.name, name) == 0) {
			removed++;
			continue;
		}
		len = strlen(line);
		memcpy(eng_out + o, line, len);
		o += len;
		eng_out[o++] = '\n';
	}
	if (removed == 0) {
		printf("tunl-admin: no engineer %s in %s\n", name,
		    cfg->engineer_keys);
		return 1;
	}
	if (eng_store(cfg->engineer_keys, eng_out, o) != 0)
		return 1;
	printf("removed  engineer %s from %s; their open sessions go on "
	    "until they end\n", name, cfg->engineer_keys);
	return 0;
}

static int
eng_list(const struct tunl_cfg *cfg)
{
	struct eng_line	 e;
	char		 fp[128], *line, *save = NULL;
	size_t		 len;
	u_int		 lineno = 0;
	int		 k, bad = 0;

	if (eng_load(cfg->engineer_keys, &len) != 0)
		return 1;
	printf("%-20s %-12s %s\n", "ENGINEER", "TYPE", "FINGERPRINT");
	/* strtok_r skips empty lines, so count them by hand. */
	for (line = eng_file; line != NULL && *line != '\0'; line = save) {
		lineno++;
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		k = eng_parse(line, &e);
		if (k == 0)
			continue;
		if (k < 0 || eng_key_ok(e.type, e.b64, fp, sizeof(fp)) != 0) {
			printf("%-20s line %u is not a key line\n", "?",
			    lineno);
			bad++;
			continue;
		}
		printf("%-20s %-12s %s\n", e.name[0] ? e.name :
		    "(no name)", e.type, fp);
	}
	return bad > 0 ? 1 : 0;
}

int
admin_engineer(const struct tunl_cfg *cfg, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2)
		return eng_list(cfg);
	if (geteuid() != 0 && argc >= 2 && strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "tunl-admin: engineer %s must run as root\n",
		    argv[1]);
		return 1;
	}
	umask(022);
	if (argc == 4 && strcmp(argv[1], "add") == 0)
		return eng_add(cfg, argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return eng_remove(cfg, argv[2]);
	fprintf(stderr, "usage: tunl-admin engineer add NAME KEYFILE|-\n"
	    "       tunl-admin engineer remove NAME\n"
	    "       tunl-admin engineer list\n");
	return 2;
}

/*
 * For doctor: the keys file's lines, each a key with a valid name. Returns
 * the number of bad lines (what goes in err names the first), -1 when the
 * file cannot be read.
 */
int
admin_engineer_check(const struct tunl_cfg *cfg, u_int *keys, char *err,
    size_t errlen)
{
	struct eng_line	 e;
	char		 fp[128], *line, *next;
	size_t		 len;
	u_int		 lineno = 0;
	int		 k, bad = 0;

	*keys = 0;
	err[0] = '\0';
	if (access(cfg->engineer_keys, F_OK) != 0)
		return -1;
	if (eng_load(cfg->engineer_keys, &len) != 0)
		return -1;
	for (line = eng_file; line != NULL && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		k = eng_parse(line, &e);
		if (k == 0)
			continue;
		if (k < 0 || e.name[0] == '\0' ||
		    eng_key_ok(e.type, e.b64, fp, sizeof(fp)) != 0) {
			if (bad++ == 0)
				snprintf(err, errlen, "line %u is not \"%s"
				    "NAME\\\",restrict,pty TYPE KEY\"", lineno,
				    ENG_PREFIX);
			continue;
		}
		(*keys)++;
	}
	return bad;
}
