/*
 * pam_tunl-util.c: what the auth, account and session stages share: the
 * configuration, the hand-off directory and group, the source address,
 * the failure delay and the clock.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "pam_tunl.h"

#define GROUP_BUF_MAX	(1024 * 1024)	/* getgrnam_r's scratch, at most */

int
pam_tunl_group(const char *name, gid_t *gid)
{
	struct group	 gr, *res = NULL;
	char		*buf = NULL, *nbuf;
	size_t		 len = 1024;
	int		 e, r;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			r = TUNL_ERR_ALLOC;
			goto out;
		}
		buf = nbuf;
		e = getgrnam_r(name, &gr, buf, len, &res);
		if (e != ERANGE)
			break;
		if (len >= GROUP_BUF_MAX) {
			r = TUNL_ERR_LENGTH;
			goto out;
		}
		len *= 2;
	}
	if (e != 0 || res == NULL) {
		r = e != 0 ? TUNL_ERR_SYSTEM : TUNL_ERR_NOT_FOUND;
		goto out;
	}
	*gid = gr.gr_gid;
	r = 0;
 out:
	free(buf);
	return r;
}

/*
 * Everything a stage needs before it looks at the login: the configuration
 * (args->config, which must exist), the hand-off directory, the relay
 * group's gid and SSH_CONNECTION from the PAM environment (NULL when not
 * under sshd; the caller decides). Problems are logged here;
 * TUNL_ERR_CONFIG or another code is returned.
 */
int
pam_tunl_load(pam_handle_t *pamh, const struct pam_tunl_args *args,
    struct pam_tunl_ctx *ctx)
{
	char	 err[512];
	int	 r;

	memset(ctx, 0, sizeof(*ctx));
	if (sodium_init() == -1) {
		pam_syslog(pamh, LOG_ERR, "libsodium failed to initialise");
		return TUNL_ERR_CRYPTO;
	}
	if ((r = cfg_load(&ctx->cfg, args->config, 0, err, sizeof(err))) !=
	    0) {
		pam_syslog(pamh, LOG_ERR, "configuration: %s", err);
		return r;
	}
	if ((size_t)snprintf(ctx->authdir, sizeof(ctx->authdir), "%s/auth",
	    ctx->cfg.runtime_dir) >= sizeof(ctx->authdir)) {
		pam_syslog(pamh, LOG_ERR, "runtime_dir is too long");
		return TUNL_ERR_CONFIG;
	}
	if ((r = pam_tunl_group(ctx->cfg.relay_group, &ctx->relay_gid)) !=
	    0) {
		/* relay_group passed the name grammar in cfg_load. */
		pam_syslog(pamh, LOG_ERR, "relay_group %s: %s",
		    ctx->cfg.relay_group, r == TUNL_ERR_NOT_FOUND ?
		    "no such group" : tunl_err(r));
		return TUNL_ERR_CONFIG;
	}
	ctx->handoff_ttl = (int64_t)ctx->cfg.session_ttl * 60;
	ctx->connection = pam_getenv(pamh, "SSH_CONNECTION");
	if (ctx->connection != NULL &&
	    handoff_check_connection(ctx->connection) != 0) {
		pam_syslog(pamh, LOG_ERR, "SSH_CONNECTION is malformed");
		return TUNL_ERR_INVALID;
	}
	if (args->debug)
		pam_syslog(pamh, LOG_DEBUG, "configuration %s, hand-offs in "
		    "%s (group %s)", args->config, ctx->authdir,
		    ctx->cfg.relay_group);
	return 0;
}

/*
 * The source address of the login for the rate limit and the log:
 * PAM_RHOST, which sshd sets to the numeric client address (UseDNS no),
 * or "local" when it is unset or empty. Anything else (a host name) is
 * TUNL_ERR_INVALID: it could not be rate-limited, nor safely logged.
 */
int
pam_tunl_source(pam_handle_t *pamh, char *out, size_t outlen)
{
	const void	*item = NULL;
	const char	*rhost;

	if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS)
		item = NULL;
	rhost = item;
	if (rhost == NULL || *rhost == '\0')
		rhost = "local";
	else if (handoff_check_source(rhost) != 0)
		return TUNL_ERR_INVALID;
	if (tunl_strlcpy(out, rhost, outlen) >= outlen)
		return TUNL_ERR_LENGTH;
	return 0;
}

/*
 * Sleep a uniformly random time between min and max milliseconds, so that
 * a failure's timing tells nothing about which check failed (nor does
 * the database's speed).
 */
void
pam_tunl_delay(u_int min, u_int max)
{
	struct timespec	 ts;
	u_int		 ms;

	if (max < min || max > PAM_TUNL_DELAY_LIMIT)
		return;
	ms = min + randombytes_uniform(max - min + 1);
	if (ms == 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int64_t
pam_tunl_now(void)
{
	return (int64_t)time(NULL);
}
