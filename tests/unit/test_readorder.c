/*
 * test_readorder — the orders read-ahead follows (src/readorder.c): name
 * keys compare as "UID.eml" strings do, the name order of a folder, and
 * whether an open follows the last one closely enough (1 to
 * READORDER_SKIP steps on) in UID or in name order, and where a UID is in
 * UID order.
 */
#include "check.h"
#include "readorder.h"

#include <stdlib.h>

static const uint32_t uids[] = { 1, 2, 3, 9, 10, 11, 19, 20, 99, 100, 101, 1000, 4294967295u };
#define N (sizeof(uids) / sizeof(uids[0]))

/* the name order of UIDS, as `ls` in the C locale would list them */
static const uint32_t byname[N] = { 1, 10, 100, 1000, 101, 11, 19, 2, 20, 3, 4294967295u, 9, 99 };

struct fcase {
	enum readorder order;
	uint32_t last, cur;
	bool follows;
	size_t pos;		/* CUR's position in that order (N: absent) */
};

static const struct fcase fcases[] = {
	{ READORDER_UID, 1, 2, true, 1 },		/* the next one */
	{ READORDER_UID, 1, 10, true, 4 },		/* READORDER_SKIP on */
	{ READORDER_UID, 1, 11, false, 5 },		/* one more: a jump */
	{ READORDER_UID, 2, 1, false, 0 },		/* backwards */
	{ READORDER_UID, 2, 2, false, 1 },		/* the same one again */
	{ READORDER_UID, 5, 9, false, 3 },		/* LAST not in the folder */
	{ READORDER_UID, 9, 7, false, N },		/* CUR not in the folder */
	{ READORDER_UID, 1, 2, true, 1 },
	{ READORDER_NAME, 1, 10, true, 1 },		/* "1.eml" < "10.eml" */
	{ READORDER_NAME, 101, 11, true, 5 },
	{ READORDER_NAME, 1, 2, false, 7 },		/* 2 is 7 names on */
	{ READORDER_NAME, 3, 9, true, 11 },		/* past 4294967295 */
	{ READORDER_NAME, 9, 10, false, 1 },		/* backwards in name order */
	{ READORDER_NAME, 1, 101, true, 4 },		/* READORDER_SKIP on */
	{ READORDER_NAME, 1, 11, false, 5 },		/* one more */
};

static int strcmp_names(uint32_t a, uint32_t b)
{
	char x[32], y[32];

	snprintf(x, sizeof(x), "%u.eml", a);
	snprintf(y, sizeof(y), "%u.eml", b);
	return strcmp(x, y);
}

static int sign(int x) { return (x > 0) - (x < 0); }

int main(void)
{
	struct readorder_msg byuid_v[N], byname_v[N];

	/* keys compare as the names do, for every pair */
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < N; j++) {
			uint64_t a = readorder_name_key(uids[i]), b = readorder_name_key(uids[j]);
			int k = a < b ? -1 : a > b;

			CHECK(k == sign(strcmp_names(uids[i], uids[j])), "key(%u) vs key(%u): %d", uids[i], uids[j], k);
		}

	for (size_t i = 0; i < N; i++) {
		byuid_v[i] = (struct readorder_msg){ uids[i], 100, 0 };
		/* the name order from a shuffled copy */
		byname_v[i] = (struct readorder_msg){ uids[(i * 5) % N], 100, 0 };
	}
	readorder_sort_by_name(byname_v, N);
	for (size_t i = 0; i < N; i++)
		CHECK(byname_v[i].uid == byname[i], "name order [%zu]: %u, want %u", i, byname_v[i].uid, byname[i]);
	readorder_sort_by_name(byname_v, 0);	/* an empty folder: nothing to do */

	for (size_t c = 0; c < sizeof(fcases) / sizeof(fcases[0]); c++) {
		const struct fcase *f = &fcases[c];
		const struct readorder_msg *v = f->order == READORDER_NAME ? byname_v : byuid_v;
		size_t pos = 12345;
		bool got = readorder_follows(v, N, f->order, f->last, f->cur, &pos);

		CHECK(got == f->follows, "%s order: %u after %u: %d", f->order == READORDER_NAME ? "name" : "UID",
		      f->cur, f->last, got);
		CHECK(pos == f->pos, "%s order: %u at %zu, want %zu", f->order == READORDER_NAME ? "name" : "UID",
		      f->cur, pos, f->pos);
	}
	{
		size_t pos = 1;

		CHECK(!readorder_follows(byuid_v, 0, READORDER_UID, 1, 2, &pos) && pos == 0, "empty folder");
	}
	/* a UID's position in UID order; absent ones (and an empty folder): N */
	for (size_t i = 0; i < N; i++)
		CHECK(readorder_uid_pos(byuid_v, N, uids[i]) == i, "UID %u at %zu", uids[i], i);
	CHECK(readorder_uid_pos(byuid_v, N, 0) == N, "UID 0 absent");
	CHECK(readorder_uid_pos(byuid_v, N, 12) == N, "UID 12 absent");
	CHECK(readorder_uid_pos(byuid_v, 0, 1) == 0, "empty folder: 0");
	return check_finish("test_readorder");
}
