/*
 * test-webhook.c: the body of a webhook delivery (its bounds) and its
 * signature, against known answers.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "tunl.h"

static void
make_event(struct registry_event *ev, int64_t id, const char *sid)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = id;
	ev->at = 1700000000 + id;
	snprintf(ev->session_id, sizeof(ev->session_id), "%s", sid);
	snprintf(ev->actor, sizeof(ev->actor), "alice");
	snprintf(ev->action, sizeof(ev->action), "joined");
	snprintf(ev->source, sizeof(ev->source), "192.0.2.7");
	snprintf(ev->detail, sizeof(ev->detail), "mode \"rw\"");
}

static void
test_body(void **state)
{
	struct registry_event	 evs[2];
	struct buf		*b;
	char			*s;

	(void)state;
	make_event(&evs[0], 7, "apple-brave-cloud-delta");
	make_event(&evs[1], 8, "");
	evs[1].source[0] = '\0';
	snprintf(evs[1].action, sizeof(evs[1].action), "auth-failure");
	assert_non_null(b = buf_new(WEBHOOK_BODY_MAX));
	assert_int_equal(webhook_body(b, "relay-1.example", 1700000100, evs,
	    2), 0);
	assert_non_null(s = buf_dup_string(b));
	assert_string_equal(s,
	    "{\"relay\":\"relay-1.example\",\"sent\":1700000100,\"events\":["
	    "{\"id\":7,\"session\":\"apple-brave-cloud-delta\","
	    "\"at\":1700000007,\"actor\":\"alice\",\"action\":\"joined\","
	    "\"source\":\"192.0.2.7\",\"detail\":\"mode \\\"rw\\\"\"},"
	    "{\"id\":8,\"session\":null,\"at\":1700000008,"
	    "\"actor\":\"alice\",\"action\":\"auth-failure\","
	    "\"source\":\"\",\"detail\":\"mode \\\"rw\\\"\"}]}");
	free(s);

	/* Bounds: no events, too many, a relay name that is too long. */
	assert_int_equal(webhook_body(b, "r", 0, evs, 0), TUNL_ERR_RANGE);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(webhook_body(b, "r", 0, evs, WEBHOOK_BATCH_MAX + 1),
	    TUNL_ERR_RANGE);
	assert_int_equal(webhook_body(b, NULL, 0, evs, 1), TUNL_ERR_INVALID);
	s = malloc(WEBHOOK_RELAY_MAX + 1);
	assert_non_null(s);
	memset(s, 'r', WEBHOOK_RELAY_MAX);
	s[WEBHOOK_RELAY_MAX] = '\0';
	assert_int_equal(webhook_body(b, s, 0, evs, 1), TUNL_ERR_LENGTH);
	s[WEBHOOK_RELAY_MAX - 1] = '\0';
	assert_int_equal(webhook_body(b, s, 0, evs, 1), 0);
	free(s);
	buf_free(b);

	/* Too small a buffer: an error and an empty buffer, not a part. */
	assert_non_null(b = buf_new(100));
	assert_int_equal(webhook_body(b, "r", 0, evs, 2), TUNL_ERR_LENGTH);
	assert_int_equal(buf_len(b), 0);
	buf_free(b);
}

/*
 * The worst case fits WEBHOOK_BODY_MAX: a full batch whose every field is
 * full of bytes that each take six to escape, fields without a NUL too.
 */
static void
test_body_worst_case(void **state)
{
	struct registry_event	*evs;
	struct buf		*b;
	char			 relay[WEBHOOK_RELAY_MAX];
	size_t			 i;

	(void)state;
	assert_non_null(evs = calloc(WEBHOOK_BATCH_MAX, sizeof(*evs)));
	for (i = 0; i < WEBHOOK_BATCH_MAX; i++) {
		evs[i].id = INT64_MAX;
		evs[i].at = INT64_MIN;
		memset(evs[i].session_id, 0x01, sizeof(evs[i].session_id));
		memset(evs[i].actor, 0xff, sizeof(evs[i].actor));
		memset(evs[i].action, '"', sizeof(evs[i].action));
		memset(evs[i].source, 0x7f, sizeof(evs[i].source));
		memset(evs[i].detail, 0x80, sizeof(evs[i].detail));
	}
	memset(relay, 0x02, sizeof(relay) - 1);
	relay[sizeof(relay) - 1] = '\0';
	assert_non_null(b = buf_new(WEBHOOK_BODY_MAX));
	assert_int_equal(webhook_body(b, relay, INT64_MAX, evs,
	    WEBHOOK_BATCH_MAX), 0);
	assert_true(buf_len(b) < WEBHOOK_BODY_MAX);
	for (i = 0; i < buf_len(b); i++)
		assert_true(buf_ptr(b)[i] >= 0x20 && buf_ptr(b)[i] < 0x7f);
	buf_free(b);
	free(evs);
}

/*
 * HMAC-SHA256 under the key 00 01 .. 1f of "{}": the expected value was
 * computed independently (Python's hmac module), so a receiver written
 * in another language agrees with us.
 */
static void
test_sign(void **state)
{
	u_char		 key[WEBHOOK_KEY_LEN];
	char		 sig[WEBHOOK_SIG_LEN], sig2[WEBHOOK_SIG_LEN];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (u_char)i;
	assert_int_equal(webhook_sign(key, "{}", 2, sig), 0);
	assert_int_equal(strlen(sig), WEBHOOK_SIG_LEN - 1);
	assert_string_equal(sig, "sha256="
	    "86227fe96722a2247dcfee12c07d89c1b0567bbc9aa6a8d804838f66a3da843f");
	/* Any change to body or key changes it; the same input does not. */
	assert_int_equal(webhook_sign(key, "{}", 2, sig2), 0);
	assert_string_equal(sig, sig2);
	assert_int_equal(webhook_sign(key, "{ }", 3, sig2), 0);
	assert_string_not_equal(sig, sig2);
	key[31] ^= 1;
	assert_int_equal(webhook_sign(key, "{}", 2, sig2), 0);
	assert_string_not_equal(sig, sig2);
	assert_int_equal(webhook_sign(key, NULL, 0, sig2), 0);
	assert_int_equal(webhook_sign(NULL, "{}", 2, sig2), TUNL_ERR_INVALID);
	assert_int_equal(webhook_sign(key, NULL, 1, sig2), TUNL_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_worst_case),
		cmocka_unit_test(test_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
