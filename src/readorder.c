/*
 * readorder — see readorder.h. Moved out of prefetch.c so that the
 * orders can be tested alone (tests/unit/test_readorder.c); same code.
 */
#include "readorder.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_uid(const void *a, const void *b)
{
	const struct readorder_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* "UID.eml" names compare as their decimal strings do ('.' sorts before
 * every digit), which is how rsync and the C locale's globs order them.
 * The key spells the digits in base 11 (digit + 1, 0 = end), left
 * aligned in 10 places, so that comparing keys compares the strings
 * without printing any: 11^10 < 2^64. */
uint64_t readorder_name_key(uint32_t uid)
{
	char d[16];
	int n = snprintf(d, sizeof(d), "%u", uid);
	uint64_t k = 0;

	for (int i = 0; i < 10; i++)
		k = k * 11 + (i < n ? (uint64_t)(d[i] - '0' + 1) : 0);
	return k;
}

static int cmp_name(const void *a, const void *b)
{
	const struct readorder_msg *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

void readorder_sort_by_name(struct readorder_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i].key = readorder_name_key(v[i].uid);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_name);
}

/* Position of UID in V (sorted by CMP), or n. */
static size_t find(const struct readorder_msg *v, size_t n, uint32_t uid, int (*cmp)(const void *, const void *))
{
	struct readorder_msg key = { uid, 0, readorder_name_key(uid) };
	const struct readorder_msg *p = n > 0 ? bsearch(&key, v, n, sizeof(*v), cmp) : NULL;

	return p ? (size_t)(p - v) : n;
}

size_t readorder_uid_pos(const struct readorder_msg *v, size_t n, uint32_t uid)
{
	return find(v, n, uid, cmp_uid);
}

bool readorder_follows(const struct readorder_msg *v, size_t n, enum readorder order, uint32_t last,
		       uint32_t cur, size_t *pos)
{
	int (*cmp)(const void *, const void *) = order == READORDER_NAME ? cmp_name : cmp_uid;
	size_t a = find(v, n, last, cmp), b = find(v, n, cur, cmp);

	*pos = b;
	return a < n && b < n && b > a && b - a <= READORDER_SKIP;
}
