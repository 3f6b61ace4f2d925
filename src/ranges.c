/*
 * ranges — see ranges.h. Moved out of vfs_fill (vfs.c) so that the merge
 * can be tested alone (tests/unit/test_ranges.c); same steps.
 */
#include "ranges.h"

#include <string.h>

int ranges_add(struct range *r, int *n, int max, uint64_t off, uint64_t end)
{
	int i, j;

	/* merge [off, end) into the sorted, disjoint covered ranges */
	for (i = 0; i < *n && r[i].end < off; i++)
		;
	j = i;
	while (j < *n && r[j].off <= end) {
		if (r[j].off < off)
			off = r[j].off;
		if (r[j].end > end)
			end = r[j].end;
		j++;
	}
	if (j == i) {
		if (*n == max)
			return -1;
		memmove(&r[i + 1], &r[i], (size_t)(*n - i) * sizeof(r[0]));
		(*n)++;
	} else if (j > i + 1) {
		memmove(&r[i + 1], &r[j], (size_t)(*n - j) * sizeof(r[0]));
		*n -= j - i - 1;
	}
	r[i].off = off;
	r[i].end = end;
	return 0;
}

bool ranges_cover(const struct range *r, int n, uint64_t size)
{
	return n == 1 && r[0].off == 0 && r[0].end >= size;
}
