/*
 * flagpoll — without CONDSTORE, STATUS misses flag changes: a bounded
 * FLAGS refetch for the mailboxes in recent use (flagpoll.c), run by the
 * watcher on its own session S. Writes into the tree under tree.lock,
 * never holding it across the FETCH.
 */
#ifndef IMAPFS_FLAGPOLL_H
#define IMAPFS_FLAGPOLL_H

#include "vfs_internal.h"

/* Without CONDSTORE: UID FETCH a:b (FLAGS) on S for the mailboxes in recent
 * use, within the bounds flagpoll.c documents (imapfs.1 too). Flag
 * changes found go into the tree. */
int flagpoll_run(struct vfs *v, struct session *s);
/* Without CONDSTORE, right after an IDLE on S (node IDX selected) woke up:
 * FETCH (UID FLAGS) the messages it reported re-flagged, into the tree. */
int flagpoll_idle(struct vfs *v, struct session *s, uint32_t idx);
#define FLAGPOLL_RECENT_S (15 * 60)	/* "in recent use": listing asked for this recently */
#define FLAGPOLL_MAILBOXES 8		/* of those, the most recently used, per poll */
#define FLAGPOLL_MESSAGES 4096		/* messages whose flags one poll asks for, in all */

#endif
