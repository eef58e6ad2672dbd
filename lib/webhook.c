/*
 * webhook.c: what a webhook delivery carries (docs/webhooks.md): the JSON
 * body built from registry events, and its HMAC-SHA256 signature.
 *
 * The body is plain ASCII whatever the input: every string goes through
 * json_string_put() (lib/json-string.c). Registry text is already checked when it is written; this code
 * does not rely on that. Sending is tunl-admin notify's job (libcurl); no
 * network code lives here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tunl.h"

_Static_assert(WEBHOOK_KEY_LEN == TOKEN_KEY_LEN,
    "the webhook key file is made and read like the token key");
_Static_assert(WEBHOOK_KEY_LEN == crypto_auth_hmacsha256_KEYBYTES,
    "HMAC-SHA256 takes a 32-byte key");

/* A fixed-size field as a JSON string: up to its first NUL or its end. */
static int
webhook_field(struct buf *b, const char *name, const char *s, size_t size)
{
	int	 r;

	if ((r = buf_putf(b, "\"%s\":", name)) != 0)
		return r;
	return json_string_put(b, s, strnlen(s, size));
}

static int
webhook_event(struct buf *b, const struct registry_event *ev)
{
	int	 r;

	if ((r = buf_putf(b, "{\"id\":%" PRId64 ",\"session\":", ev->id)) != 0)
		return r;
	if (ev->session_id[0] == '\0')
		r = buf_put(b, "null", 4);
	else
		r = json_string_put(b, ev->session_id,
		    strnlen(ev->session_id, sizeof(ev->session_id)));
	if (r != 0 ||
	    (r = buf_putf(b, ",\"at\":%" PRId64 ",", ev->at)) != 0 ||
	    (r = webhook_field(b, "actor", ev->actor,
	    sizeof(ev->actor))) != 0 ||
	    (r = buf_put(b, ",", 1)) != 0 ||
	    (r = webhook_field(b, "action", ev->action,
	    sizeof(ev->action))) != 0 ||
	    (r = buf_put(b, ",", 1)) != 0 ||
	    (r = webhook_field(b, "source", ev->source,
	    sizeof(ev->source))) != 0 ||
	    (r = buf_put(b, ",", 1)) != 0 ||
	    (r = webhook_field(b, "detail", ev->detail,
	    sizeof(ev->detail))) != 0)
		return r;
	return buf_put(b, "}", 1);
}

/*
 * Replace the contents of b with the body of one delivery:
 *	{"relay":"...","sent":N,"events":[{"id":N,"session":"..."|null,
 *	"at":N,"actor":"...","action":"...","source":"...","detail":"..."}]}
 * n is 1 to WEBHOOK_BATCH_MAX events, oldest first; relay is at most
 * WEBHOOK_RELAY_MAX - 1 bytes. On failure b is left empty.
 */
int
webhook_body(struct buf *b, const char *relay, int64_t sent,
    const struct registry_event *evs, size_t n)
{
	size_t	 i, rlen;
	int	 r;

	if (b == NULL)
		return TUNL_ERR_INVALID;
	buf_reset(b);
	if (relay == NULL || evs == NULL)
		return TUNL_ERR_INVALID;
	if (n == 0 || n > WEBHOOK_BATCH_MAX)
		return TUNL_ERR_RANGE;
	if ((rlen = strnlen(relay, WEBHOOK_RELAY_MAX)) >= WEBHOOK_RELAY_MAX)
		return TUNL_ERR_LENGTH;
	if ((r = buf_put(b, "{\"relay\":", 9)) != 0 ||
	    (r = json_string_put(b, relay, rlen)) != 0 ||
	    (r = buf_putf(b, ",\"sent\":%" PRId64 ",\"events\":[",
	    sent)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((i > 0 && (r = buf_put(b, ",", 1)) != 0) ||
		    (r = webhook_event(b, &evs[i])) != 0)
			goto out;
	}
	r = buf_put(b, "]}", 2);
 out:
	if (r != 0)
		buf_reset(b);
	return r;
}

/*
 * The signature header's value for a body: "sha256=" and the lower-case
 * hex of HMAC-SHA256(key, body). The key is WEBHOOK_KEY_LEN bytes.
 */
int
webhook_sign(const u_char *key, const void *body, size_t len,
    char sig[WEBHOOK_SIG_LEN])
{
	u_char	 mac[crypto_auth_hmacsha256_BYTES];

	if (key == NULL || sig == NULL || (body == NULL && len != 0))
		return TUNL_ERR_INVALID;
	if (sodium_init() == -1)
		return TUNL_ERR_CRYPTO;
	if (body == NULL)
		body = "";
	if (crypto_auth_hmacsha256(mac, body, len, key) != 0)
		return TUNL_ERR_CRYPTO;
	memcpy(sig, "sha256=", 7);
	sodium_bin2hex(sig + 7, WEBHOOK_SIG_LEN - 7, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return 0;
}
