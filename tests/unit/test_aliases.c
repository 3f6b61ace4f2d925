/*
 * test_aliases — the short-lived alias table: a name or an inode resolves
 * to what it was set to, for ALIASES_TTL_S seconds and no longer; setting
 * a name again replaces it; names are per mailbox; a full table drops the
 * entry closest to expiring, never grows past ALIASES_MAX; dropping a
 * mailbox forgets what is in it and what points into it.
 */
#include <stdio.h>
#include <string.h>

#include "aliases.h"
#include "check.h"

static struct alias_target tgt(uint32_t node, uint32_t uid)
{
	return (struct alias_target){ .node = node, .uid = uid, .uidvalidity = 7, .appended = uid % 2 };
}

int main(void)
{
	struct aliases a;
	struct alias_target t, x;
	int64_t now = 1000;

	aliases_init(&a);
	CHECK(aliases_name_get(&a, 3, "13.eml", now, &t) < 0, "empty table finds nothing");

	x = tgt(3, 27);
	CHECK(aliases_name_set(&a, 3, "13.eml", &x, now) == 0, "set");
	CHECK(aliases_name_get(&a, 3, "13.eml", now, &t) == 0 && t.uid == 27 && t.node == 3 &&
	      t.uidvalidity == 7 && t.appended, "get what was set");
	CHECK(aliases_name_get(&a, 4, "13.eml", now, &t) < 0, "names are per mailbox");
	CHECK(aliases_name_get(&a, 3, "13.em", now, &t) < 0, "whole names only");
	CHECK(aliases_name_get(&a, 3, "13.eml", now + ALIASES_TTL_S - 1, &t) == 0, "alive until the TTL");
	CHECK(aliases_name_get(&a, 3, "13.eml", now + ALIASES_TTL_S, &t) < 0, "gone after the TTL");

	x = tgt(3, 28);
	aliases_name_set(&a, 3, "13.eml", &x, now + 10);
	CHECK(aliases_name_get(&a, 3, "13.eml", now + 10, &t) == 0 && t.uid == 28, "set again replaces");
	CHECK(a.n == 1, "one entry per name (%zu)", a.n);
	aliases_name_drop(&a, 3, "13.eml");
	CHECK(aliases_name_get(&a, 3, "13.eml", now + 10, &t) < 0, "dropped");

	/* inode forwards are apart from names */
	x = tgt(5, 9);
	aliases_ino_set(&a, (4ULL << 32) | 13, &x, now);
	CHECK(aliases_ino_get(&a, (4ULL << 32) | 13, now, &t) == 0 && t.node == 5 && t.uid == 9, "ino");
	CHECK(aliases_ino_get(&a, (4ULL << 32) | 14, now, &t) < 0, "other ino");
	CHECK(aliases_name_get(&a, 0, "", now, &t) < 0, "an ino entry is no name");

	/* dropping a mailbox: names in it and targets in it */
	x = tgt(6, 1);
	aliases_name_set(&a, 6, "a", &x, now);
	x = tgt(5, 2);
	aliases_name_set(&a, 6, "b", &x, now);
	x = tgt(6, 3);
	aliases_name_set(&a, 2, "c", &x, now);
	x = tgt(2, 3);
	aliases_name_set(&a, 2, "d", &x, now);
	aliases_drop_node(&a, 6);
	CHECK(aliases_name_get(&a, 6, "a", now, &t) < 0 && aliases_name_get(&a, 6, "b", now, &t) < 0 &&
	      aliases_name_get(&a, 2, "c", now, &t) < 0, "drop_node forgets in and to");
	CHECK(aliases_name_get(&a, 2, "d", now, &t) == 0, "drop_node keeps the rest");

	/* bounded: the oldest go first */
	for (int i = 0; i < ALIASES_MAX + 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%d.eml", i);
		x = tgt(1, (uint32_t)i + 1);
		aliases_name_set(&a, 1, name, &x, now + 20 + i / 1000);
	}
	CHECK(a.n <= ALIASES_MAX, "bounded (%zu)", a.n);
	{
		char name[32];

		snprintf(name, sizeof(name), "%d.eml", ALIASES_MAX + 99);
		CHECK(aliases_name_get(&a, 1, name, now + 25, &t) == 0, "newest kept");
		CHECK(aliases_name_get(&a, 1, "0.eml", now + 25, &t) < 0, "oldest dropped");
	}
	/* expired ones are swept on the next change */
	x = tgt(1, 1);
	aliases_name_set(&a, 1, "late", &x, now + 10000);
	CHECK(a.n == 1, "swept (%zu)", a.n);
	aliases_free(&a);
	return check_finish("test_aliases");
}
