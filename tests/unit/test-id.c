/* test-id.c: the session id word list, generation and the id grammar. */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunl.h"

#define NGEN	10000

static int
listed(const char *w)
{
	return id_word_find(w, strlen(w), NULL) == 0;
}

/* Build an id from four word indices into out. */
static void
make_id(char *out, size_t outlen, u_int a, u_int b, u_int c, u_int d)
{
	int	 n;

	n = snprintf(out, outlen, "%s-%s-%s-%s", id_word(a), id_word(b),
	    id_word(c), id_word(d));
	assert_true(n > 0 && (size_t)n < outlen);
}

static void
test_list_shape(void **state)
{
	const char	*w, *prev = NULL;
	size_t		 len, i, j;
	u_int		 idx;

	(void)state;
	assert_int_equal(id_wordlist_len(), ID_WORDLIST_LEN);
	assert_int_equal(ID_WORDLIST_LEN, 2048);
	assert_null(id_word(ID_WORDLIST_LEN));
	assert_null(id_word(UINT_MAX));
	for (i = 0; i < ID_WORDLIST_LEN; i++) {
		w = id_word((u_int)i);
		assert_non_null(w);
		len = strlen(w);
		assert_in_range(len, ID_WORD_MIN, ID_WORD_MAX);
		for (j = 0; j < len; j++)
			assert_in_range(w[j], 'a', 'z');
		if (prev != NULL) {
			/* Strictly sorted, hence unique. */
			assert_true(strcmp(prev, w) < 0);
			/*
			 * In a sorted list a word that is a prefix of any
			 * later word is a prefix of the next one, and words
			 * sharing their first four letters are neighbours,
			 * so comparing neighbours covers every pair.
			 */
			assert_false(strncmp(prev, w, strlen(prev)) == 0);
			assert_false(strncmp(prev, w, 4) == 0);
		}
		/* Binary search finds every word at its own index. */
		assert_int_equal(id_word_find(w, len, &idx), 0);
		assert_int_equal(idx, i);
		prev = w;
	}
	/* The lookup refuses near misses. */
	assert_int_equal(id_word_find("zzzzzzz", 7, NULL), TUNL_ERR_NOT_FOUND);
	assert_int_equal(id_word_find("aaa", 3, NULL), TUNL_ERR_NOT_FOUND);
	assert_int_equal(id_word_find(NULL, 4, NULL), TUNL_ERR_NOT_FOUND);
	w = id_word(100);
	assert_int_equal(id_word_find(w, strlen(w) - 1, NULL),
	    TUNL_ERR_NOT_FOUND);
	assert_int_equal(id_word_find(w, 0, NULL), TUNL_ERR_NOT_FOUND);
	assert_int_equal(id_word_find("abcdefghi", 9, NULL),
	    TUNL_ERR_NOT_FOUND);
}

static void
test_list_words(void **state)
{
	/* Words no customer should be asked to read aloud. */
	static const char *const offensive[] = {
		"kill", "dead", "death", "die", "bomb", "slave", "stupid",
		"dumb", "idiot", "hate", "sex", "porn", "nazi", "rape",
		"drug", "drunk", "fat", "ugly", "crap", "damn", "hell",
		"gun", "murder", "suicide", "racist", "satan", "devil",
		"virgin", "nude", "naked", "insane", "crazy", "moron",
		"abuse", "torture", "bastard", "bitch", "whore", "slut",
		"cum", "ass", "butt", "piss", "poop", "vomit", "cancer",
		"corpse", "weapon", "terror", "victim", "loser", "freak",
	};
	/* Homophones and near-homophones: at most one of each set. */
	static const char *const sets[][4] = {
		{ "to", "two", "too", NULL },
		{ "right", "write", "rite", "wright" },
		{ "there", "their", NULL, NULL },
		{ "bare", "bear", NULL, NULL },
		{ "flour", "flower", NULL, NULL },
		{ "weak", "week", NULL, NULL },
		{ "wood", "would", NULL, NULL },
		{ "whole", "hole", NULL, NULL },
		{ "hour", "our", NULL, NULL },
		{ "sale", "sail", NULL, NULL },
		{ "made", "maid", NULL, NULL },
		{ "meet", "meat", NULL, NULL },
		{ "night", "knight", NULL, NULL },
		{ "knot", "not", NULL, NULL },
		{ "seed", "cede", NULL, NULL },
		{ "cell", "sell", NULL, NULL },
		{ "site", "cite", "sight", NULL },
		{ "role", "roll", NULL, NULL },
		{ "steal", "steel", NULL, NULL },
		{ "tail", "tale", NULL, NULL },
		{ "wait", "weight", NULL, NULL },
		{ "weather", "whether", NULL, NULL },
		{ "coarse", "course", NULL, NULL },
		{ "dual", "duel", NULL, NULL },
		{ "four", "for", "fore", NULL },
		{ "eight", "ate", NULL, NULL },
		{ "peak", "peek", "pique", NULL },
		{ "read", "reed", "red", NULL },
		{ "lead", "led", NULL, NULL },
		{ "tear", "tier", NULL, NULL },
		{ "vary", "very", NULL, NULL },
		{ "quiet", "quite", NULL, NULL },
		{ "accept", "except", NULL, NULL },
		{ "affect", "effect", NULL, NULL },
		{ "lose", "loose", NULL, NULL },
		{ "plain", "plane", NULL, NULL },
		{ "pair", "pear", "pare", NULL },
		{ "piece", "peace", NULL, NULL },
		{ "rain", "reign", "rein", NULL },
		{ "waste", "waist", NULL, NULL },
		{ "kernel", "colonel", NULL, NULL },
		{ "cereal", "serial", NULL, NULL },
		{ "current", "currant", NULL, NULL },
		{ "capital", "capitol", NULL, NULL },
		{ "border", "boarder", NULL, NULL },
		{ "cache", "cash", NULL, NULL },
		{ "queue", "cue", NULL, NULL },
		{ "idle", "idol", NULL, NULL },
		{ "sole", "soul", NULL, NULL },
		{ "mail", "male", NULL, NULL },
		{ "main", "mane", NULL, NULL },
		{ "wine", "whine", NULL, NULL },
		{ "wave", "waive", NULL, NULL },
		{ "earn", "urn", NULL, NULL },
		{ "minor", "miner", NULL, NULL },
		{ "peer", "pier", NULL, NULL },
		{ "metal", "medal", "mettle", NULL },
		{ "gray", "grey", NULL, NULL },
		{ "usable", "useable", NULL, NULL },
		{ "emit", "omit", NULL, NULL },
		{ "emission", "omission", NULL, NULL },
		{ "adapt", "adopt", NULL, NULL },
		{ "bizarre", "bazaar", NULL, NULL },
		{ "elicit", "illicit", NULL, NULL },
		{ "access", "axis", "excess", NULL },
		{ "area", "aria", NULL, NULL },
		{ "cease", "seize", "seas", NULL },
		{ "trail", "trial", NULL, NULL },
		{ "defer", "differ", NULL, NULL },
		/* Irregular forms that double a base word. */
		{ "begin", "began", "begun", NULL },
		{ "break", "broke", "broken", NULL },
		{ "bring", "brought", NULL, NULL },
		{ "catch", "caught", NULL, NULL },
		{ "choose", "chose", "chosen", NULL },
		{ "draw", "drew", "drawn", NULL },
		{ "freeze", "froze", "frozen", NULL },
		{ "give", "gave", "given", NULL },
		{ "teach", "taught", NULL, NULL },
		{ "write", "wrote", "written", NULL },
		{ "speak", "spoke", "spoken", NULL },
		{ "steal", "stole", "stolen", NULL },
		{ "mouse", "mice", NULL, NULL },
		{ "child", "children", NULL, NULL },
		{ "hold", "held", NULL, NULL },
		{ "keep", "kept", NULL, NULL },
		{ "know", "knew", "known", NULL },
		{ "fall", "fell", "fallen", NULL },
		{ "leave", "left", NULL, NULL },
		{ "find", "found", NULL, NULL },
		{ "bind", "bound", NULL, NULL },
		{ "become", "became", NULL, NULL },
		{ "arise", "arose", "arisen", NULL },
		{ "use", "used", NULL, NULL },
		{ "sink", "sank", "sunk", NULL },
		{ "ride", "rode", "ridden", NULL },
		{ "drink", "drank", "drunk", NULL },
	};
	size_t	 i, j, n;

	(void)state;
	for (i = 0; i < TUNL_NITEMS(offensive); i++) {
		if (listed(offensive[i]))
			fail_msg("offensive word listed: %s", offensive[i]);
	}
	for (i = 0; i < TUNL_NITEMS(sets); i++) {
		n = 0;
		for (j = 0; j < 4 && sets[i][j] != NULL; j++)
			n += listed(sets[i][j]);
		if (n > 1)
			fail_msg("more than one of the set of \"%s\" listed",
			    sets[i][0]);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_generate(void **state)
{
	char	(*ids)[ID_LEN_MAX];
	u_char	 seen[ID_WORDS][ID_WORDLIST_LEN];
	u_int	 cover[ID_WORDS], idx;
	char	 buf[ID_LEN_MAX + 8], *p, *dash;
	size_t	 i, k, dups = 0;

	(void)state;
	assert_int_equal(id_generate(buf, ID_LEN_MAX - 1), TUNL_ERR_LENGTH);
	assert_int_equal(id_generate(NULL, ID_LEN_MAX), TUNL_ERR_LENGTH);
	assert_int_equal(id_generate(buf, 0), TUNL_ERR_LENGTH);

	ids = calloc(NGEN, sizeof(*ids));
	assert_non_null(ids);
	memset(seen, 0, sizeof(seen));
	memset(cover, 0, sizeof(cover));
	for (i = 0; i < NGEN; i++) {
		assert_int_equal(id_generate(ids[i], sizeof(ids[i])), 0);
		assert_int_equal(id_check(ids[i]), 0);
		/* Count which word each position drew. */
		memcpy(buf, ids[i], sizeof(ids[i]));
		p = buf;
		for (k = 0; k < ID_WORDS; k++) {
			if ((dash = strchr(p, '-')) != NULL)
				*dash = '\0';
			assert_int_equal(id_word_find(p, strlen(p), &idx), 0);
			if (!seen[k][idx]) {
				seen[k][idx] = 1;
				cover[k]++;
			}
			assert_true((dash == NULL) == (k == ID_WORDS - 1));
			if (dash != NULL)
				p = dash + 1;
		}
	}
	/*
	 * 10000 uniform draws from 2048 words miss about 16 of them; fewer
	 * than 1900 distinct words in a position means a biased draw.
	 */
	for (k = 0; k < ID_WORDS; k++)
		assert_true(cover[k] > 1900);
	/* With 44 bits, a repeat among 10000 ids has odds of about 3e-6. */
	qsort(ids, NGEN, sizeof(*ids), cmp_str);
	for (i = 1; i < NGEN; i++)
		dups += strcmp(ids[i - 1], ids[i]) == 0;
	assert_int_equal(dups, 0);
	free(ids);
}

static void
test_check_accepts(void **state)
{
	char	 id[ID_LEN_MAX];
	u_int	 i, longest[4], nlong = 0;

	(void)state;
	make_id(id, sizeof(id), 0, 1, 2, 3);
	assert_int_equal(id_check(id), 0);
	make_id(id, sizeof(id), ID_WORDLIST_LEN - 1, 0, ID_WORDLIST_LEN - 1,
	    7);
	assert_int_equal(id_check(id), 0);
	/* The same word may repeat. */
	make_id(id, sizeof(id), 5, 5, 5, 5);
	assert_int_equal(id_check(id), 0);
	/* An id of four of the longest words fits ID_LEN_MAX exactly. */
	for (i = 0; i < ID_WORDLIST_LEN && nlong < 4; i++) {
		if (strlen(id_word(i)) == ID_WORD_MAX)
			longest[nlong++] = i;
	}
	assert_int_equal(nlong, 4);
	make_id(id, sizeof(id), longest[0], longest[1], longest[2],
	    longest[3]);
	assert_int_equal(strlen(id), ID_LEN_MAX - 1);
	assert_int_equal(id_check(id), 0);
}

static void
test_check_refuses(void **state)
{
	char	 id[ID_LEN_MAX], bad[ID_LEN_MAX + 16], *big;
	size_t	 len, i;

	(void)state;
	make_id(id, sizeof(id), 10, 20, 30, 40);
	len = strlen(id);
	assert_int_equal(id_check(id), 0);

	assert_int_equal(id_check(NULL), TUNL_ERR_INVALID);
	assert_int_equal(id_check(""), TUNL_ERR_INVALID);
	assert_int_equal(id_check("-"), TUNL_ERR_INVALID);
	assert_int_equal(id_check("---"), TUNL_ERR_INVALID);

	/* Three words, and five. */
	snprintf(bad, sizeof(bad), "%s-%s-%s", id_word(10), id_word(20),
	    id_word(30));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s-%s", id, id_word(50));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);

	/* An unknown word, and a listed word cut short. */
	snprintf(bad, sizeof(bad), "%s-%s-%s-zzzz", id_word(10), id_word(20),
	    id_word(30));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	memcpy(bad, id, len + 1);
	bad[len - 1] = '\0';
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);

	/* Uppercase anywhere. */
	for (i = 0; i < len; i++) {
		if (id[i] == '-')
			continue;
		memcpy(bad, id, len + 1);
		bad[i] = (char)(bad[i] - 'a' + 'A');
		assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	}

	/* Double, leading and trailing dashes; spaces; a newline. */
	snprintf(bad, sizeof(bad), "%s--%s-%s-%s", id_word(10), id_word(20),
	    id_word(30), id_word(40));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "-%s", id);
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s-", id);
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s\n", id);
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), " %s", id);
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s ", id);
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s %s-%s-%s", id_word(10), id_word(20),
	    id_word(30), id_word(40));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s_%s-%s-%s", id_word(10), id_word(20),
	    id_word(30), id_word(40));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);

	/*
	 * An embedded NUL: the bytes after it are not seen, so what is
	 * left is three words and a dash, which is refused.
	 */
	memcpy(bad, id, len + 1);
	bad[strrchr(id, '-') - id + 1] = '\0';
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	memcpy(bad, id, len + 1);
	bad[2] = '\0';
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);

	/* Non-ASCII bytes: an accented letter, and a high byte alone. */
	snprintf(bad, sizeof(bad), "%s\xc3\xa9-%s-%s-%s", id_word(10),
	    id_word(20), id_word(30), id_word(40));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	memcpy(bad, id, len + 1);
	bad[0] = (char)0xe1;
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);

	/* Overlong: 10 KB of words, and one letter over the maximum. */
	big = malloc(10 * 1024 + 1);
	assert_non_null(big);
	for (i = 0; i + len + 1 < 10 * 1024; i += len + 1) {
		memcpy(big + i, id, len);
		big[i + len] = '-';
	}
	big[i] = '\0';
	assert_int_equal(id_check(big), TUNL_ERR_INVALID);
	memset(big, 'a', 10 * 1024);
	big[10 * 1024] = '\0';
	assert_int_equal(id_check(big), TUNL_ERR_INVALID);
	free(big);
	memset(bad, 'a', ID_LEN_MAX);
	bad[ID_LEN_MAX] = '\0';
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
	/* A word longer than any listed one. */
	snprintf(bad, sizeof(bad), "%sabcdefghi-%s-%s-%s", "", id_word(20),
	    id_word(30), id_word(40));
	assert_int_equal(id_check(bad), TUNL_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_shape),
		cmocka_unit_test(test_list_words),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
