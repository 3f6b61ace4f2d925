/*
 * activity — process-wide counters of what the mail core fetched, for
 * `imapfs status` and `imapfs status --watch` (which diffs two reads to
 * show rates). Cheap enough for every body: relaxed atomic adds, no lock.
 * The daemon serves one mount, so process-wide means per mount.
 */
#ifndef IMAPFS_ACTIVITY_H
#define IMAPFS_ACTIVITY_H

#include <stdint.h>

struct activity_stats {
	uint64_t msgs;		/* whole message bodies received since mount */
	uint64_t bytes;		/* body bytes received since mount (whole and partial) */
};

/* A body (MSGS 1) or a window of one (MSGS 0) of BYTES arrived. Any thread. */
void activity_fetched(uint64_t msgs, uint64_t bytes);
void activity_get(struct activity_stats *out);

#endif
