/*
 * test_readsweep — read-ahead for readers in no order (src/readsweep.c):
 * when a folder counts as swept (distinct opens, near opens, another
 * folder swept, a pause starting over), what a pick takes first (the
 * neighbours of the newest opens, outwards), and what bounds it (GROW
 * per message opened, half free (messages and bytes) before a refill,
 * the caller's message and byte bounds, messages TAKE refuses never
 * offered again).
 *
 * Each case is a script of steps on a folder of N messages: an open
 * ('o': position, time, hot; then whether the folder is swept), a run of
 * opens ('r': NPICK positions from POS on, 1 ms apart from time T), or a
 * pick ('p': how many it takes, and the lowest and highest position
 * taken).
 */
#include "check.h"
#include "readsweep.h"

#include <stdlib.h>

#define N 300
#define BIG 200		/* this position is 3 MiB; the others 10 kB (but see BIGFROM) */

struct step {
	char op;		/* 'o' open, 'r' a run of opens, 'p' pick */
	size_t pos;		/* 'o', 'r': the position (the first) */
	uint64_t t;		/* 'o', 'r': its time, ms */
	bool hot;		/* 'o', 'r': another folder is swept */
	bool on;		/* 'o', 'r': swept after it */
	size_t npick;		/* 'p': taken; 'r': how many opens */
	size_t lo, hi;		/* 'p': lowest and highest taken (when npick > 0) */
};

struct tcase {
	const char *what;
	size_t nout;		/* most messages one pick may take (the queue's room) */
	uint64_t max_bytes;
	size_t cached_lo, cached_hi;	/* TAKE refuses [lo, hi) */
	size_t bigfrom;		/* messages from here on are 4 MiB (0: none) */
	struct step steps[16];
};

#define O(p, t, on) { 'o', p, t, false, on, 0, 0, 0 }
#define OH(p, t, on) { 'o', p, t, true, on, 0, 0, 0 }
#define P(n, lo, hi) { 'p', 0, 0, false, false, n, lo, hi }
#define R(p, n, t, on) { 'r', p, t, false, on, n, 0, 0 }
#define MiB (1u << 20)

static const struct tcase cases[] = {
	{ "a handful here and there: nothing", N, 16 * MiB, 0, 0, 0, {
		O(10, 1000, false), O(150, 2000, false), O(60, 3000, false), O(290, 4000, false),
		O(110, 5000, false), O(230, 6000, false), P(0, 0, 0) } },
	{ "the eighth distinct open: a sweep, 4 ahead per open", N, 16 * MiB, 0, 0, 0, {
		O(10, 100, false), O(150, 200, false), O(60, 300, false), O(290, 400, false),
		O(110, 500, false), O(230, 600, false), O(180, 700, false), O(30, 800, true),
		P(32, 8, 292) } },
	{ "the same message again is no news", N, 16 * MiB, 0, 0, 0, {
		O(10, 100, false), O(10, 200, false), O(10, 300, false), O(150, 400, false),
		O(150, 500, false), O(60, 600, false), O(290, 700, false), O(110, 800, false),
		O(230, 900, false), O(180, 1000, false), P(0, 0, 0) } },
	{ "rg: from the end, side by side: the third open, then the run below", N, 16 * MiB, 0, 0, 0, {
		O(299, 10, false), O(298, 20, false), O(297, 30, true), P(12, 285, 296),
		P(0, 0, 0) } },
	{ "a pause longer than the gap starts over", N, 16 * MiB, 0, 0, 0, {
		O(299, 10, false), O(298, 20, false), O(150, 20000, false), O(297, 20010, false),
		P(0, 0, 0), O(10, 20020, false), O(296, 20030, false), O(295, 20040, true),
		P(20, 8, 299) } },	/* 298 and 299 offered again: the cache knows */
	{ "while another folder is swept, two opens are enough", N, 16 * MiB, 0, 0, 0, {
		OH(100, 10, false), OH(200, 20, true), P(8, 98, 202) } },
	{ "a refill waits until half the allowance is free", N, 16 * MiB, 0, 0, 0, {
		O(299, 10, false), O(298, 20, false), O(297, 30, true), P(12, 285, 296),
		O(296, 40, true), P(0, 0, 0),	/* 16 allowed, 11 ahead */
		O(295, 50, true), O(294, 60, true), P(15, 270, 284) } },	/* 24 allowed, 9 ahead: 15 free */
	{ "cached ones are passed over, and the pick goes on past them", N, 16 * MiB, 280, 295, 0, {
		O(299, 10, false), O(298, 20, false), O(297, 30, true), P(12, 270, 296),
		P(0, 0, 0) } },
	{ "the caller's bound on one pick", 10, 16 * MiB, 0, 0, 0, {
		O(10, 100, false), O(150, 200, false), O(60, 300, false), O(290, 400, false),
		O(110, 500, false), O(230, 600, false), O(180, 700, false), O(30, 800, true),
		P(10, 11, 291) } },
	{ "the byte bound: the pick stops where the next would not fit", N, 50000, 0, 0, 0, {
		O(299, 10, false), O(298, 20, false), O(297, 30, true), P(5, 292, 296),
		P(0, 0, 0), O(296, 40, true), P(0, 0, 0),	/* 40000 of 50000 ahead */
		O(295, 50, true), O(294, 60, true), P(3, 289, 291) } },	/* 20000: half free */
	{ "a message over the byte bound is passed over", N, 2 * MiB, 0, 0, 0, {
		O(BIG + 3, 10, false), O(BIG + 2, 20, false), O(BIG + 1, 30, true),
		P(12, BIG - 5, BIG + 10) } },
	{ "an open past the folder's end counts for nothing", N, 16 * MiB, 0, 0, 0, {
		O(N, 10, false), O(N + 1, 20, false), O(N + 2, 30, false), P(0, 0, 0) } },
	{ "no bound but 4 per message opened: 100 opened, the other 200 ahead", N, 1024 * MiB, 0, 0, 0, {
		R(0, 100, 10, true), P(200, 100, 299), P(0, 0, 0) } },
	{ "a large allowance goes in picks as large as the room", 50, 1024 * MiB, 0, 0, 0, {
		R(0, 100, 10, true), P(50, 100, 149), P(50, 150, 199), P(50, 200, 249) } },
	/* 150 on are 4 MiB: the fourth, 153, would go over 16 MiB */
	{ "large messages: 16 MiB ahead while less than 4 MiB were opened", N, 1024 * MiB, 0, 0, 150, {
		O(147, 10, false), O(148, 20, false), O(149, 30, true), P(6, 144, 152),
		P(0, 0, 0) } },
	/* 8 MiB opened: 32 MiB, 4 of them ahead, so 153 to 159 and five small */
	{ "... and 4 times the bytes opened once more", N, 1024 * MiB, 0, 0, 150, {
		O(147, 10, false), O(148, 20, false), O(149, 30, true), P(6, 144, 152),
		O(150, 40, true), O(151, 50, true), P(12, 139, 159) } },
};

struct fake {
	const struct tcase *c;
	unsigned offered[N];
};

static uint32_t size_of(const struct tcase *c, size_t i)
{
	return i == BIG ? 3 * MiB : c->bigfrom != 0 && i >= c->bigfrom ? 4 * MiB : 10000;
}

static bool take(void *ctx, size_t pos)
{
	struct fake *f = ctx;

	f->offered[pos]++;
	return !(pos >= f->c->cached_lo && pos < f->c->cached_hi);
}

int main(void)
{
	struct readorder_msg v[N];

	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct tcase *c = &cases[ci];
		struct fake f = { .c = c };
		struct readsweep s;

		for (size_t i = 0; i < N; i++)
			v[i] = (struct readorder_msg){ (uint32_t)(i * 2 + 1), size_of(c, i), 0 };
		CHECK(readsweep_init(&s, N) == 0, "%s: init", c->what);
		for (size_t si = 0; si < 16 && c->steps[si].op != 0; si++) {
			const struct step *st = &c->steps[si];

			if (st->op == 'o') {
				bool on = readsweep_note(&s, st->pos, st->pos < N ? v[st->pos].size : 0, st->t, st->hot);

				CHECK(on == st->on, "%s: step %zu (open %zu): swept %d, want %d", c->what, si, st->pos,
				      on, st->on);
			} else if (st->op == 'r') {
				bool on = false;

				for (size_t i = 0; i < st->npick; i++)
					on = readsweep_note(&s, st->pos + i, v[st->pos + i].size, st->t + i, st->hot);
				CHECK(on == st->on, "%s: step %zu (run from %zu): swept %d, want %d", c->what, si,
				      st->pos, on, st->on);
			} else {
				size_t out[N], k, lo = N, hi = 0;

				k = readsweep_pick(&s, v, c->max_bytes, take, &f, out, c->nout);
				for (size_t i = 0; i < k; i++) {
					lo = out[i] < lo ? out[i] : lo;
					hi = out[i] > hi ? out[i] : hi;
					CHECK(out[i] < c->cached_lo || out[i] >= c->cached_hi,
					      "%s: step %zu took cached %zu", c->what, si, out[i]);
					CHECK(v[out[i]].size <= c->max_bytes, "%s: step %zu took %zu, over the bound",
					      c->what, si, out[i]);
				}
				CHECK(k == st->npick, "%s: step %zu: picked %zu, want %zu", c->what, si, k, st->npick);
				if (k > 0 && st->npick > 0)
					CHECK(lo == st->lo && hi == st->hi, "%s: step %zu: picked [%zu, %zu], want [%zu, %zu]",
					      c->what, si, lo, hi, st->lo, st->hi);
			}
		}
		for (size_t i = 0; i < N; i++)
			CHECK(f.offered[i] <= 1, "%s: position %zu offered %u times", c->what, i, f.offered[i]);
		readsweep_free(&s);
	}

	/* nothing swept, nothing active; swept, active until the gap is over */
	{
		struct readsweep s;

		CHECK(readsweep_init(&s, 0) == 0, "empty folder");
		CHECK(!readsweep_note(&s, 0, 0, 10, true), "empty folder: no sweep");
		CHECK(!readsweep_active(&s, 10), "empty folder: not active");
		readsweep_free(&s);
		CHECK(readsweep_init(&s, N) == 0, "init");
		readsweep_note(&s, 5, 100, 1000, true);
		readsweep_note(&s, 50, 100, 2000, true);
		CHECK(readsweep_active(&s, 2000 + READSWEEP_GAP_MS), "active within the gap");
		CHECK(!readsweep_active(&s, 2001 + READSWEEP_GAP_MS), "not after it");
		readsweep_free(&s);
	}
	return check_finish("test_readsweep");
}
