/*
 * reqcount — the requests the kernel sent for files, counted for `imapfs
 * status`: what reading costs beyond the local disk is these round trips
 * (imapfs.1, Cache), so the status shows them, and the tests count them
 * per file read.
 *
 * Counters are process-wide (one mount per process) and atomic.
 */
#ifndef IMAPFS_REQCOUNT_H
#define IMAPFS_REQCOUNT_H

#include <stddef.h>

enum reqcount_kind {
	RQ_LOOKUP, RQ_GETATTR, RQ_OPEN, RQ_READ, RQ_FLUSH, RQ_RELEASE, RQ_READDIR, RQ_N
};

void reqcount_add(enum reqcount_kind k);
/* *VAL (malloc'd status text of *LEN bytes, replaced) with the "kernel
 * requests" line added before its "errors:" line, PUSHED the bodies
 * stored into the page cache. 0, or -ENOMEM (*VAL freed). */
int reqcount_status(char **val, size_t *len, unsigned long pushed);

#endif
