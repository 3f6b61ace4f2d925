/*
 * suggest — "did you mean ...?" for a mistyped name: the edit distance
 * between two words and the nearest of a list of candidates. Pure code, no
 * I/O; config.c uses it for unknown -o options.
 */
#ifndef IMAPFS_SUGGEST_H
#define IMAPFS_SUGGEST_H

#include <stddef.h>

/* Optimal string alignment distance (Levenshtein plus the swap of two
 * neighbouring letters, each costing 1) between A (ALEN bytes) and B.
 * Words longer than SUGGEST_MAX_LEN count as far from everything. */
#define SUGGEST_MAX_LEN 64
unsigned suggest_distance(const char *a, size_t alen, const char *b);

/*
 * Offer candidates one by one to a struct suggest started with
 * suggest_init(WORD, WLEN); suggest_best() is then the nearest one close
 * enough to be a likely typo (at most 2 edits, and fewer than half of the
 * word's letters), or NULL. Candidates are not copied: they must outlive
 * the struct.
 */
struct suggest {
	const char *word;
	size_t wlen;
	const char *best;
	unsigned dist;
};
void suggest_init(struct suggest *s, const char *word, size_t wlen);
void suggest_offer(struct suggest *s, const char *candidate);
const char *suggest_best(const struct suggest *s);

#endif
