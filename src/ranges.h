/*
 * ranges — a short sorted list of disjoint byte ranges [off, end), as a
 * cache fill collects a large message's windows in whatever order the
 * kernel's parallel reads bring them (vfs_read.c). Pure code: no locks,
 * no allocation; the caller owns the array and guards it.
 */
#ifndef IMAPFS_RANGES_H
#define IMAPFS_RANGES_H

#include <stdbool.h>
#include <stdint.h>

struct range {
	uint64_t off, end;
};

/* Merge [OFF, END) into R (*N ranges, sorted, disjoint; room for MAX):
 * ranges it overlaps or touches become one. 0, or -1 when it would need
 * a new range and R is full (R unchanged then). */
int ranges_add(struct range *r, int *n, int max, uint64_t off, uint64_t end);

/* Whether R (N ranges, as ranges_add keeps them) covers [0, SIZE). */
bool ranges_cover(const struct range *r, int n, uint64_t size);

#endif
