/*
 * suggest — edit distance for "did you mean ...?" (see suggest.h).
 *
 * The optimal string alignment variant of Damerau-Levenshtein, since the
 * typos people make in option names are a letter dropped, doubled, wrong
 * or two letters swapped ("timout", "tiemout", "max_con"). Three rows of
 * the table are enough; words are short option names.
 */
#include "suggest.h"

#include <string.h>

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
	unsigned m = a < b ? a : b;

	return m < c ? m : c;
}

unsigned suggest_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), i, j;
	unsigned rows[3][SUGGEST_MAX_LEN + 1];
	unsigned *pp, *prev, *cur;

	if (alen > SUGGEST_MAX_LEN || blen > SUGGEST_MAX_LEN)
		return (unsigned)-1;
	pp = rows[0];
	prev = rows[1];
	cur = rows[2];
	for (j = 0; j <= blen; j++)
		prev[j] = (unsigned)j;
	for (i = 1; i <= alen; i++) {
		unsigned *t;

		cur[0] = (unsigned)i;
		for (j = 1; j <= blen; j++) {
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
		}
		t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[blen];
}

void suggest_init(struct suggest *s, const char *word, size_t wlen)
{
	s->word = word;
	s->wlen = wlen;
	s->best = NULL;
	s->dist = (unsigned)-1;
}

void suggest_offer(struct suggest *s, const char *candidate)
{
	unsigned d = suggest_distance(s->word, s->wlen, candidate);

	if (d < s->dist) {
		s->dist = d;
		s->best = candidate;
	}
}

const char *suggest_best(const struct suggest *s)
{
	if (s->best == NULL || s->dist == 0 || s->dist > 2 || 2 * s->dist >= s->wlen)
		return NULL;
	return s->best;
}
