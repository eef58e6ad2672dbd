/* test-ratelog.c: at most RATELOG_BURST lines a window, the rest held. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"
#include "ratelog.h"

static void
test_burst_then_held(void **state)
{
	struct ratelog	 rl;
	int64_t		 t = 1000;
	int		 i, allowed = 0;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	for (i = 0; i < 100; i++)
		allowed += ratelog_allow(&rl, t + i, "peer", "bad frames");
	assert_int_equal(allowed, RATELOG_BURST);
	assert_int_equal(rl.held, 100 - RATELOG_BURST);
	/* Within the window the tick keeps them; after it, summarised. */
	ratelog_tick(&rl, t + RATELOG_WINDOW_MS - 1, "peer", "bad frames");
	assert_int_equal(rl.held, 100 - RATELOG_BURST);
	ratelog_tick(&rl, t + RATELOG_WINDOW_MS, "peer", "bad frames");
	assert_int_equal(rl.held, 0);
	/* A new window logs again, and summarises what the last one held. */
	for (i = 0; i < 7; i++)
		allowed += ratelog_allow(&rl, t + RATELOG_WINDOW_MS + 1,
		    "peer", "bad frames");
	assert_int_equal(allowed, 2 * RATELOG_BURST);
	assert_int_equal(rl.held, 7 - RATELOG_BURST);
	ratelog_flush(&rl, "peer", "bad frames");
	assert_int_equal(rl.held, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
