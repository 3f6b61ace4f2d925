/*
 * readsweep — see readsweep.h. Each message of the folder has a few bits:
 * opened (since the evidence began), ahead (picked, not opened yet) and
 * passed (cached, in flight or refused when offered: never offered
 * again, for the life of the state, so a pick costs no more than the
 * messages it looks at once).
 */
#include "readsweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST_OPENED	1u
#define ST_AHEAD	2u
#define ST_PASSED	4u

int readsweep_init(struct readsweep *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->st = calloc(n ? n : 1, 1);
	if (s->st == NULL)
		return -ENOMEM;
	s->n = n;
	return 0;
}

void readsweep_free(struct readsweep *s)
{
	free(s->st);
	memset(s, 0, sizeof(*s));
}

/* A pause: what the reader did before says nothing about what comes. */
static void restart(struct readsweep *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->st[i] &= (uint8_t)~(ST_OPENED | ST_AHEAD);
	s->nrecent = 0;
	s->opened = 0;
	s->opened_bytes = 0;
	s->nears = 0;
	s->on = false;
	s->ahead = 0;
	s->ahead_bytes = 0;
}

static bool near_recent(const struct readsweep *s, size_t pos)
{
	for (unsigned i = 0; i < s->nrecent; i++) {
		size_t r = s->recent[i];

		if ((r < pos ? pos - r : r - pos) <= READSWEEP_NEAR)
			return true;
	}
	return false;
}

bool readsweep_note(struct readsweep *s, size_t pos, uint32_t size, uint64_t now_ms, bool hot)
{
	if (s->last_ms != 0 && now_ms > s->last_ms + READSWEEP_GAP_MS)
		restart(s);
	if (now_ms > s->last_ms)
		s->last_ms = now_ms;
	if (pos >= s->n)
		return s->on;
	if (s->st[pos] & ST_AHEAD) {
		s->st[pos] &= (uint8_t)~ST_AHEAD;
		s->ahead--;
		s->ahead_bytes -= s->ahead_bytes < size ? s->ahead_bytes : size;
	}
	if (s->st[pos] & ST_OPENED)
		return s->on;	/* opened again: no news */
	s->st[pos] |= ST_OPENED;
	s->opened++;
	s->opened_bytes += size;
	if (near_recent(s, pos))
		s->nears++;
	memmove(&s->recent[1], &s->recent[0], (READSWEEP_RECENT - 1) * sizeof(s->recent[0]));
	s->recent[0] = pos;
	if (s->nrecent < READSWEEP_RECENT)
		s->nrecent++;
	if (s->opened >= (hot ? READSWEEP_MIN_HOT : READSWEEP_MIN) || s->nears >= READSWEEP_NEARS)
		s->on = true;
	return s->on;
}

bool readsweep_active(const struct readsweep *s, uint64_t now_ms)
{
	return s->on && now_ms <= s->last_ms + READSWEEP_GAP_MS;
}

/* Where one anchor's outward scan is: the next position below (DOWN
 * positions remain there) and above (UP), and which side is next. */
struct cursor {
	size_t down, up;	/* below: positions [0, down) remain; above: [up, n) */
	bool upnext;
	unsigned scanned;
};

/* The next position of C that is neither opened, ahead nor passed, or N
 * when its scan is over. */
static size_t next_free(const struct readsweep *s, struct cursor *c)
{
	while (c->scanned < READSWEEP_SCAN && (c->down > 0 || c->up < s->n)) {
		size_t p;

		if ((c->upnext && c->up < s->n) || c->down == 0)
			p = c->up++;
		else
			p = --c->down;
		c->upnext = !c->upnext;
		c->scanned++;
		if (!(s->st[p] & (ST_OPENED | ST_AHEAD | ST_PASSED)))
			return p;
	}
	return s->n;
}

/* Is at least NEED of ALLOWED free, with USED taken? NEED is capped at
 * half the allowance. */
static bool refill(uint64_t allowed, uint64_t used, uint64_t need)
{
	if (need > allowed / 2)
		need = allowed / 2;
	return used < allowed && allowed - used >= need;
}

size_t readsweep_pick(struct readsweep *s, const struct readorder_msg *v, uint64_t max_bytes,
		      readsweep_take_fn *take, void *ctx, size_t *out, size_t nout)
{
	struct cursor cur[READSWEEP_RECENT];
	uint64_t allowed = (uint64_t)READSWEEP_GROW * s->opened;
	uint64_t bytes = (uint64_t)READSWEEP_GROW * s->opened_bytes;
	size_t k = 0, budget;
	bool live = true;

	if (!s->on)
		return 0;
	if (bytes < READSWEEP_FLOOR)
		bytes = READSWEEP_FLOOR;
	if (bytes > max_bytes)
		bytes = max_bytes;
	/* wait until enough is free: one batch, not a message at a time */
	if (!refill(allowed, s->ahead, READSWEEP_REFILL) || !refill(bytes, s->ahead_bytes, READSWEEP_REFILL_BYTES))
		return 0;
	budget = allowed - s->ahead < nout ? (size_t)(allowed - s->ahead) : nout;
	for (unsigned a = 0; a < s->nrecent; a++)
		cur[a] = (struct cursor){ .down = s->recent[a], .up = s->recent[a] + 1, .upnext = true };
	/* one message per anchor in turn, newest anchor first */
	while (k < budget && live) {
		live = false;
		for (unsigned a = 0; a < s->nrecent && k < budget; a++) {
			size_t p = next_free(s, &cur[a]);

			if (p == s->n)
				continue;
			live = true;
			if (v[p].size > max_bytes) {
				s->st[p] |= ST_PASSED;	/* more than read-ahead may ever hold */
				continue;
			}
			if (s->ahead_bytes + v[p].size > bytes)
				return k;	/* full: the rest waits for the reader */
			if (!take(ctx, p)) {
				s->st[p] |= ST_PASSED;
				continue;
			}
			s->st[p] |= ST_AHEAD;
			s->ahead++;
			s->ahead_bytes += v[p].size;
			out[k++] = p;
		}
	}
	return k;
}
