/*
 * test_suggest — the edit distance behind "did you mean ...?" for unknown
 * options: known distances (insert, delete, substitute, swap of two
 * neighbours), symmetry, and which candidate suggest_best() picks or
 * refuses (too far, or too short a word for a guess to mean anything).
 */
#include <string.h>

#include "check.h"
#include "suggest.h"

static const struct {
	const char *a, *b;
	unsigned d;
} dist[] = {
	{ "", "", 0 },
	{ "timeout", "timeout", 0 },
	{ "timout", "timeout", 1 },		/* a letter dropped */
	{ "timeoutt", "timeout", 1 },		/* doubled */
	{ "tineout", "timeout", 1 },		/* wrong */
	{ "tiemout", "timeout", 1 },		/* two swapped */
	{ "max_con", "max_conns", 2 },
	{ "", "ro", 2 },
	{ "kitten", "sitting", 3 },
	{ "ca", "abc", 3 },			/* OSA, not full Damerau: 3 */
	{ "cafile", "password_file", 8 },
};

static const struct {
	const char *word;
	const char *want;	/* NULL: no suggestion */
} best[] = {
	{ "timout", "timeout" },
	{ "max_con", "max_conns" },
	{ "cachedir", "cache_dir" },
	{ "allow_others", "allow_other" },
	{ "timeout", NULL },			/* exact: nothing to suggest */
	{ "xyz", NULL },			/* far from everything */
	{ "r", NULL },				/* "ro" is 1 away, but so is anything short */
	{ "password", NULL },			/* 5 from password_file: too far */
};

static const char *const names[] = {
	"ro", "timeout", "max_conns", "poll", "watch", "cafile", "password_file",
	"password_command", "cache", "cache_dir", "cache_size", "allow_other", "debug",
};

int main(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(dist) / sizeof(dist[0]); i++) {
		unsigned d = suggest_distance(dist[i].a, strlen(dist[i].a), dist[i].b);
		unsigned r = suggest_distance(dist[i].b, strlen(dist[i].b), dist[i].a);

		CHECK(d == dist[i].d, "distance(%s, %s) = %u, want %u", dist[i].a, dist[i].b, d, dist[i].d);
		CHECK(d == r, "distance(%s, %s) = %u but reversed %u", dist[i].a, dist[i].b, d, r);
	}
	{
		char longw[SUGGEST_MAX_LEN + 2];

		memset(longw, 'a', sizeof(longw) - 1);
		longw[sizeof(longw) - 1] = '\0';
		CHECK(suggest_distance(longw, strlen(longw), "a") == (unsigned)-1,
		      "a word over SUGGEST_MAX_LEN is far from everything");
	}
	for (i = 0; i < sizeof(best) / sizeof(best[0]); i++) {
		struct suggest s;
		const char *got;

		suggest_init(&s, best[i].word, strlen(best[i].word));
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			suggest_offer(&s, names[k]);
		got = suggest_best(&s);
		CHECK(check_streq(got, best[i].want), "best(%s) = %s, want %s", best[i].word,
		      got ? got : "(none)", best[i].want ? best[i].want : "(none)");
	}
	return check_finish("test_suggest");
}
