/*
 * admin-notify.c: `tunl-admin notify` posts the registry's events to the
 * configured webhook URLs (docs/webhooks.md).
 *
 * It follows the append-only events table with one cursor per URL in the
 * registry (webhook_cursors): read the events after the cursor, post them
 * as one signed JSON body, and move the cursor only when the receiver
 * answers 2xx. Nothing on the authentication path waits for it: the PAM
 * module, tunl-shell and the brokers only append events, and this process
 * alone talks HTTP. Delivery is at least once, in id order, per URL.
 *
 * libcurl is held to http and https, follows no redirect, always verifies
 * TLS, uses no proxy, and every transfer is bounded in time and in the
 * size of the reply it reads (and throws away). A URL that fails is tried
 * again after 2 s, doubling to 5 min; its log says when it starts failing
 * and when it recovers, never once per attempt. The key and signatures
 * are never logged, and URLs are logged as scheme://host only.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tunl.h"
#include "die.h"
#include "admin.h"

#define NOTIFY_POLL_MS		2000	/* between looks at the events */
#define NOTIFY_BACKOFF_MIN	2	/* seconds after a first failure */
#define NOTIFY_BACKOFF_MAX	300	/* ... doubling up to this;
					   NOTIFY_BEHIND_MAX in admin.h is
					   more than this and a timeout */
#define NOTIFY_CONNECT_MS	5000L	/* connecting, TLS included */
#define NOTIFY_TIMEOUT_MS	15000L	/* a whole delivery */
#define NOTIFY_REPLY_MAX	(64 * 1024)	/* reply bytes read, then dropped */
#define NOTIFY_BUSY_MS		1000	/* wait for the registry's lock */
#define NOTIFY_WHY_MAX		256

struct notify_url {
	const char	*url;
	char		 label[NOTIFY_LABEL_MAX];	/* scheme://host */
	int		 failing;
	u_int		 failures;	/* attempts since the last success */
	u_int		 backoff;	/* seconds; 0 while healthy */
	int64_t		 next_ms;	/* monotonic: not before */
	int64_t		 acked;		/* delivered, cursor maybe not moved */
};

struct notify {
	const struct tunl_cfg	*cfg;
	struct registry		*reg;
	CURL			*curl;
	struct buf		*body;
	u_char			 key[WEBHOOK_KEY_LEN];
	char			 relay[WEBHOOK_RELAY_MAX];
	int			 db_trouble;	/* logged: registry unusable */
	int			 db_failed;	/* a call failed this round */
	u_int			 nurls;
	struct notify_url	 urls[CFG_WEBHOOKS_MAX];
	struct registry_event	 evs[WEBHOOK_BATCH_MAX];
	size_t			 reply;		/* bytes of the current reply */
	char			 curlerr[CURL_ERROR_SIZE];
};

static volatile sig_atomic_t notify_stop;

static void
notify_signal(int sig)
{
	(void)sig;
	notify_stop = 1;
}

/*
 * What logs and status call the i-th URL (from 0): "#N scheme://host",
 * the host with its port and without any user name, password, path or
 * query (which may hold a secret), escaped.
 */
void
admin_notify_label(u_int i, const char *url, char *out, size_t outlen)
{
	const char	*host, *end, *at;
	char		 tmp[CFG_URL_MAX];
	size_t		 slen, hlen;

	if ((host = strstr(url, "://")) == NULL) {
		snprintf(out, outlen, "#%u", i + 1);
		return;
	}
	slen = (size_t)(host - url) + 3;
	host += 3;
	end = host + strcspn(host, "/?#");
	for (at = host; at < end; at++) {
		if (*at == '@')
			host = at + 1;
	}
	hlen = (size_t)(end - host);
	if (slen + hlen >= sizeof(tmp)) {
		snprintf(out, outlen, "#%u", i + 1);
		return;
	}
	memcpy(tmp, url, slen);
	memcpy(tmp + slen, host, hlen);
	snprintf(out, outlen, "#%u ", i + 1);
	(void)log_escape(out + strlen(out), outlen - strlen(out), tmp,
	    slen + hlen);
}

/* The reply is read and dropped; past NOTIFY_REPLY_MAX the transfer ends. */
static size_t
notify_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct notify	*n = arg;
	size_t		 len = size * nmemb;

	(void)ptr;
	if (nmemb != 0 && len / nmemb != size)
		return 0;
	if (len > NOTIFY_REPLY_MAX - n->reply)
		return 0;
	n->reply += len;
	return len;
}

/* SIGTERM cuts a transfer short. */
static int
notify_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return notify_stop ? 1 : 0;
}

/* The options every delivery shares, set once on the reused handle. */
static int
notify_curl_setup(struct notify *n)
{
	CURL	*c = n->curl;

	if (
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
#else
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    NOTIFY_CONNECT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, NOTIFY_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "tunl/" PACKAGE_VERSION) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, notify_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, n) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, notify_progress) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, n->curlerr) != CURLE_OK)
		return TUNL_ERR_INTERNAL;
	return 0;
}

/*
 * POST the body built for events first..last to u. 0 for a 2xx answer;
 * otherwise TUNL_ERR_DENIED (an answer, not 2xx) or TUNL_ERR_SYSTEM (no
 * answer), with the reason in why.
 */
static int
notify_post(struct notify *n, struct notify_url *u, int64_t first,
    int64_t last, char *why, size_t whylen)
{
	struct curl_slist	*hdrs = NULL, *h;
	char			 sig[WEBHOOK_SIG_LEN];
	char			 line[64 + WEBHOOK_SIG_LEN];
	long			 code = 0;
	CURLcode		 cc;
	int			 r;

	if ((r = webhook_sign(n->key, buf_ptr(n->body), buf_len(n->body),
	    sig)) != 0) {
		snprintf(why, whylen, "cannot sign: %s", tunl_err(r));
		return r;
	}
	/* "Expect:" empty: no 100-continue round trip before the body. */
	if ((hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    (h = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto nomem;
	hdrs = h;
	snprintf(line, sizeof(line), "X-Tunl-Signature: %s", sig);
	if ((h = curl_slist_append(hdrs, line)) == NULL)
		goto nomem;
	hdrs = h;
	snprintf(line, sizeof(line), "X-Tunl-Delivery: %" PRId64 "-%" PRId64,
	    first, last);
	if ((h = curl_slist_append(hdrs, line)) == NULL)
		goto nomem;
	hdrs = h;

	n->reply = 0;
	n->curlerr[0] = '\0';
	if (curl_easy_setopt(n->curl, CURLOPT_URL, u->url) != CURLE_OK ||
	    curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)buf_len(n->body)) != CURLE_OK ||
	    curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS,
	    (const char *)buf_ptr(n->body)) != CURLE_OK) {
		snprintf(why, whylen, "cannot set up the request");
		r = TUNL_ERR_INTERNAL;
		goto out;
	}
	cc = curl_easy_perform(n->curl);
	(void)curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR)
			snprintf(why, whylen, "reply larger than %d bytes",
			    NOTIFY_REPLY_MAX);
		else
			(void)log_escape(why, whylen, n->curlerr[0] ?
			    n->curlerr : curl_easy_strerror(cc),
			    strnlen(n->curlerr[0] ? n->curlerr :
			    curl_easy_strerror(cc), CURL_ERROR_SIZE));
		r = TUNL_ERR_SYSTEM;
	} else if (code < 200 || code > 299) {
		snprintf(why, whylen, "HTTP status %ld", code);
		r = TUNL_ERR_DENIED;
	} else
		r = 0;
	goto out;
 nomem:
	snprintf(why, whylen, "out of memory");
	r = TUNL_ERR_ALLOC;
 out:
	/* The handle must not keep pointers to what is freed here. */
	(void)curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	tunl_memzero(sig, sizeof(sig));
	tunl_memzero(line, sizeof(line));
	return r;
}

/* The registry failed: say so once, until a whole round works again. */
static void
notify_db_trouble(struct notify *n, int r, const char *what)
{
	n->db_failed = 1;
	if (n->db_trouble)
		return;
	n->db_trouble = 1;
	if (r == TUNL_ERR_BUSY)
		info("registry busy (%s); trying again every %d s", what,
		    NOTIFY_POLL_MS / 1000);
	else
		error("registry: cannot %s: %s (%s); trying again every %d s",
		    what, tunl_err(r), registry_errmsg(n->reg),
		    NOTIFY_POLL_MS / 1000);
}

/*
 * After a round that made registry calls: usable again only if none
 * failed. A read can succeed while another process holds the write lock,
 * so one call that worked says nothing; judging call by call would log
 * "usable again" and "busy" in turn while the lock is held.
 */
static void
notify_db_round(struct notify *n)
{
	if (n->db_failed)
		return;
	if (n->db_trouble)
		info("registry usable again");
	n->db_trouble = 0;
}

static void
notify_failed(struct notify_url *u, const char *why)
{
	u->failures++;
	u->backoff = u->backoff == 0 ? NOTIFY_BACKOFF_MIN :
	    u->backoff * 2 > NOTIFY_BACKOFF_MAX ? NOTIFY_BACKOFF_MAX :
	    u->backoff * 2;
	u->next_ms = tunl_now_ms() + (int64_t)u->backoff * 1000;
	if (!u->failing)
		info("webhook %s: failing (%s); retrying from %u s, doubling "
		    "up to %u s", u->label, why, NOTIFY_BACKOFF_MIN,
		    NOTIFY_BACKOFF_MAX);
	u->failing = 1;
}

static void
notify_delivered(struct notify_url *u)
{
	if (u->failing)
		info("webhook %s: recovered after %u failed attempt(s)",
		    u->label, u->failures);
	u->failing = 0;
	u->failures = 0;
	u->backoff = 0;
	u->next_ms = 0;
}

/*
 * One batch to one URL: 1 when a full batch went (more may wait), 0 when
 * everything pending went or nothing was pending, TUNL_ERR_DENIED when the
 * delivery failed, another error when the registry did.
 */
static int
notify_batch(struct notify *n, struct notify_url *u)
{
	char	 why[NOTIFY_WHY_MAX];
	int64_t	 cursor, now = (int64_t)time(NULL);
	size_t	 count;
	int	 r;

	/* A read first: an idle round takes no write lock. */
	r = registry_webhook_cursor(n->reg, u->url, 0, now, &cursor);
	if (r == TUNL_ERR_NOT_FOUND)
		r = registry_webhook_cursor(n->reg, u->url, 1, now, &cursor);
	if (r != 0) {
		notify_db_trouble(n, r, "read a webhook cursor");
		return r;
	}
	if (u->acked > cursor) {
		/* Delivered earlier, but the cursor could not move then. */
		if ((r = registry_webhook_advance(n->reg, u->url, u->acked,
		    now)) != 0) {
			notify_db_trouble(n, r, "move a webhook cursor");
			return r;
		}
		cursor = u->acked;
	}
	if ((r = registry_events_after(n->reg, cursor, n->evs,
	    WEBHOOK_BATCH_MAX, &count)) != 0) {
		notify_db_trouble(n, r, "read events");
		return r;
	}
	if (count == 0)
		return 0;
	if ((r = webhook_body(n->body, n->relay, now, n->evs, count)) != 0) {
		snprintf(why, sizeof(why), "cannot build the body: %s",
		    tunl_err(r));
		notify_failed(u, why);
		return TUNL_ERR_DENIED;
	}
	if (notify_post(n, u, n->evs[0].id, n->evs[count - 1].id, why,
	    sizeof(why)) != 0) {
		/* Cut short by SIGTERM: not the receiver's failure. */
		if (!notify_stop)
			notify_failed(u, why);
		return TUNL_ERR_DENIED;
	}
	notify_delivered(u);
	u->acked = n->evs[count - 1].id;
	debug("webhook %s: delivered events %" PRId64 "-%" PRId64, u->label,
	    n->evs[0].id, u->acked);
	if ((r = registry_webhook_advance(n->reg, u->url, u->acked,
	    now)) != 0) {
		notify_db_trouble(n, r, "move a webhook cursor");
		return r;
	}
	return count == WEBHOOK_BATCH_MAX ? 1 : 0;
}

/* --once: everything pending to every URL; 0 if every URL took it all. */
static int
notify_once(struct notify *n)
{
	u_int	 i;
	int	 r, ok = 1;

	n->db_failed = 0;
	for (i = 0; i < n->nurls && !notify_stop; i++) {
		while ((r = notify_batch(n, &n->urls[i])) == 1 && !notify_stop)
			;
		if (r != 0)
			ok = 0;
	}
	notify_db_round(n);
	return ok && !notify_stop ? 0 : 1;
}

/* Until SIGTERM: every URL that is due, then a pause unless more waits. */
static int
notify_loop(struct notify *n)
{
	struct timespec	 ts;
	struct notify_url *u;
	u_int		 i;
	int		 more, tried;

	while (!notify_stop) {
		more = tried = 0;
		n->db_failed = 0;
		for (i = 0; i < n->nurls && !notify_stop; i++) {
			u = &n->urls[i];
			if (u->next_ms != 0 && tunl_now_ms() < u->next_ms)
				continue;
			tried = 1;
			if (notify_batch(n, u) == 1)
				more = 1;
		}
		/* Every URL waiting out its backoff: no word on the registry. */
		if (tried)
			notify_db_round(n);
		if (more || notify_stop)
			continue;
		ts.tv_sec = NOTIFY_POLL_MS / 1000;
		ts.tv_nsec = (NOTIFY_POLL_MS % 1000) * 1000000L;
		/* A signal ends the pause early (no SA_RESTART). */
		(void)nanosleep(&ts, NULL);
	}
	info("stopping on a signal");
	return 0;
}

static int
notify_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = notify_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int
admin_notify(const struct tunl_cfg *cfg, const char *cfgpath, int once)
{
	struct notify	*n = NULL;
	u_int		 i;
	int		 r, ret = 1, curl_up = 0;

	if (cfg->nwebhooks == 0) {
		info("no webhook_url in %s: nothing to deliver", cfgpath);
		return 0;
	}
	if (notify_signals() == -1) {
		error("cannot set up signals: %s", strerror(errno));
		return 1;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		fatal("out of memory");
	n->cfg = cfg;
	if ((r = token_key_load(cfg->webhook_key, 0, n->key)) != 0) {
		error("webhook key %s: %s (it must be root's, 32 bytes, not "
		    "readable by others; tunl-admin init creates it)",
		    cfg->webhook_key, tunl_err(r));
		goto out;
	}
	if (gethostname(n->relay, sizeof(n->relay) - 1) == -1 ||
	    n->relay[0] == '\0')
		tunl_strlcpy(n->relay, "unknown", sizeof(n->relay));
	if ((n->body = buf_new(WEBHOOK_BODY_MAX)) == NULL)
		fatal("out of memory");
	if ((r = registry_open(cfg->database, 0, &n->reg)) != 0) {
		error("registry %s: %s (%s)", cfg->database, tunl_err(r),
		    registry_errmsg(NULL));
		goto out;
	}
	/* The relay's own writers come first: wait little, retry later. */
	if ((r = registry_set_busy_timeout(n->reg, NOTIFY_BUSY_MS)) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		error("cannot start libcurl");
		goto out;
	}
	curl_up = 1;
	if ((n->curl = curl_easy_init()) == NULL ||
	    notify_curl_setup(n) != 0) {
		error("cannot set up libcurl");
		goto out;
	}
	for (i = 0; i < cfg->nwebhooks; i++) {
		n->urls[i].url = cfg->webhook_url[i];
		admin_notify_label(i, cfg->webhook_url[i], n->urls[i].label,
		    sizeof(n->urls[i].label));
	}
	n->nurls = cfg->nwebhooks;
	if (once)
		ret = notify_once(n);
	else {
		info("delivering events to %u webhook URL(s)", n->nurls);
		ret = notify_loop(n);
	}
 out:
	if (n != NULL) {
		if (n->curl != NULL)
			curl_easy_cleanup(n->curl);
		registry_close(n->reg);
		buf_free(n->body);
		tunl_memzero(n->key, sizeof(n->key));
		free(n);
	}
	if (curl_up)
		curl_global_cleanup();
	return ret;
}
