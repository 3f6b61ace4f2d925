/*
 * test_ranges — the byte ranges a cache fill collects (src/ranges.c):
 * each case adds windows in some order and checks the ranges kept, and
 * whether they cover the whole body. The kernel's parallel reads bring
 * windows out of order, overlapping, touching, or far apart.
 */
#include "check.h"
#include "ranges.h"

#include <inttypes.h>

#define MAXR 4

struct rcase {
	const char *what;
	struct range add[8];	/* windows in arrival order; end 0 ends the list */
	int full_at;		/* index of the add that must fail (range list full), -1: none */
	struct range want[MAXR];
	int nwant;
	uint64_t size;		/* the body's size, for ranges_cover */
	bool covers;
};

static const struct rcase cases[] = {
	{ "one window", { { 0, 10 } }, -1, { { 0, 10 } }, 1, 10, true },
	{ "in order, touching", { { 0, 10 }, { 10, 20 } }, -1, { { 0, 20 } }, 1, 20, true },
	{ "reverse order, touching", { { 10, 20 }, { 0, 10 } }, -1, { { 0, 20 } }, 1, 20, true },
	{ "gap kept apart", { { 0, 10 }, { 20, 30 } }, -1, { { 0, 10 }, { 20, 30 } }, 2, 30, false },
	{ "gap filled joins both", { { 0, 10 }, { 20, 30 }, { 10, 20 } }, -1, { { 0, 30 } }, 1, 30, true },
	{ "inserted before", { { 20, 30 }, { 0, 5 } }, -1, { { 0, 5 }, { 20, 30 } }, 2, 30, false },
	{ "inserted between", { { 0, 5 }, { 40, 50 }, { 20, 30 } }, -1,
	  { { 0, 5 }, { 20, 30 }, { 40, 50 } }, 3, 50, false },
	{ "overlap extends both ends", { { 10, 20 }, { 5, 25 } }, -1, { { 5, 25 } }, 1, 25, false },
	{ "inside an existing one", { { 0, 30 }, { 10, 20 } }, -1, { { 0, 30 } }, 1, 30, true },
	{ "spans three", { { 0, 5 }, { 10, 15 }, { 20, 25 }, { 3, 22 } }, -1, { { 0, 25 } }, 1, 25, true },
	{ "spans two of three", { { 0, 5 }, { 10, 15 }, { 20, 25 }, { 12, 20 } }, -1,
	  { { 0, 5 }, { 10, 25 } }, 2, 25, false },
	{ "full: a fifth apart is refused", { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 6, 7 }, { 8, 9 } }, 4,
	  { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 6, 7 } }, 4, 9, false },
	{ "full: one that merges is taken", { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 6, 7 }, { 1, 2 } }, -1,
	  { { 0, 3 }, { 4, 5 }, { 6, 7 } }, 3, 7, false },
	{ "covers past the size", { { 0, 64 } }, -1, { { 0, 64 } }, 1, 60, true },
	{ "not from 0", { { 1, 64 } }, -1, { { 1, 64 } }, 1, 60, false },
	{ "short of the size", { { 0, 59 } }, -1, { { 0, 59 } }, 1, 60, false },
};

int main(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct rcase *k = &cases[c];
		struct range r[MAXR];
		int n = 0;

		for (int i = 0; i < 8 && k->add[i].end != 0; i++) {
			int rc = ranges_add(r, &n, MAXR, k->add[i].off, k->add[i].end);

			CHECK(rc == (i == k->full_at ? -1 : 0), "%s: add #%d returned %d", k->what, i, rc);
		}
		CHECK(n == k->nwant, "%s: %d ranges, want %d", k->what, n, k->nwant);
		for (int i = 0; i < n && i < k->nwant; i++)
			CHECK(r[i].off == k->want[i].off && r[i].end == k->want[i].end,
			      "%s: range %d is [%" PRIu64 ", %" PRIu64 "), want [%" PRIu64 ", %" PRIu64 ")",
			      k->what, i, r[i].off, r[i].end, k->want[i].off, k->want[i].end);
		CHECK(ranges_cover(r, n, k->size) == k->covers, "%s: covers [0, %" PRIu64 ") should be %d",
		      k->what, k->size, k->covers);
	}
	return check_finish("test_ranges");
}
