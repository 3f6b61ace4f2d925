/*
 * readorder — the two orders in which a process reads a folder's
 * messages one after another, and whether an open follows the last one
 * in either: UID order (grep -r: our readdir order) or name order
 * ("10.eml" < "9.eml": rsync, shell globs). prefetch.c decides from it
 * what to fetch ahead. Pure code: no locks, no I/O; arrays are the
 * caller's.
 */
#ifndef IMAPFS_READORDER_H
#define IMAPFS_READORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READORDER_SKIP 4	/* a reader may skip this many (already cached, say) */

enum readorder { READORDER_NONE, READORDER_UID, READORDER_NAME };

struct readorder_msg {
	uint32_t uid, size;
	uint64_t key;		/* readorder_name_key(uid), set in the name-order array */
};

/* A key that compares as "UID.eml" names do (as strings). */
uint64_t readorder_name_key(uint32_t uid);
/* Set every key of V (N messages) and sort V into name order. */
void readorder_sort_by_name(struct readorder_msg *v, size_t n);
/* The position of UID in V (N messages in UID order), or N. */
size_t readorder_uid_pos(const struct readorder_msg *v, size_t n, uint32_t uid);
/* Is CUR a few steps (1 to READORDER_SKIP) after LAST in V (N messages,
 * sorted in ORDER: READORDER_UID or READORDER_NAME)? *POS: CUR's
 * position in V (N when absent). */
bool readorder_follows(const struct readorder_msg *v, size_t n, enum readorder order, uint32_t last,
		       uint32_t cur, size_t *pos);

#endif
