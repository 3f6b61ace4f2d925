/*
 * vfs_watch_news — what the watcher (vfs_watch.c) makes of what an IDLE
 * reported (struct session_news): which of it the tree already shows, so
 * that news of our own changes (an rm, a mv, a setfattr the tree holds
 * since the operation itself) costs no round trip, while anything else is
 * fetched (vfs_resync.c). Also whether a mailbox's tree still matches
 * what a SELECT or STATUS says of it. No network I/O here; each function
 * takes tree.lock for one short hold.
 */
#ifndef IMAPFS_VFS_WATCH_NEWS_H
#define IMAPFS_VFS_WATCH_NEWS_H

#include "vfs_internal.h"

/* The watcher session's picture of the mailbox it idles on. Its thread
 * only. VALID: it was opened (EXAMINE) when the tree matched it or was
 * brought up to date after, and since then every change there reached
 * us as news (no command but IDLE on the session), so news the tree
 * already shows proves nothing else changed. */
struct watch_view {
	bool valid;
	uint32_t exists;	/* messages in the session's view */
	uint32_t uidnext;	/* a UID from here on is a message new to the view */
	uint32_t uidvalidity;
	uint64_t epoch;		/* vfs.sel_epoch at the EXAMINE */
};

/* What the server said of another mailbox (a STATUS), to compare with the
 * tree again (watch_check_current). */
struct watch_check {
	uint32_t idx;		/* its node */
	uint32_t uidvalidity;	/* 0: not said */
	uint32_t messages;
	bool have_messages;
	uint64_t highestmodseq;	/* 0: not said */
};

/* What to do about one IDLE's news. Owned by the caller: free with
 * watch_verdict_free. */
struct watch_verdict {
	bool idled;		/* the idled mailbox changed unseen: resync it */
	bool others;		/* other mailboxes changed, which ones unknown: STATUS them */
	bool relist;		/* a mailbox the tree does not hold: LIST */
	struct watch_check *check;	/* other loaded mailboxes the tree does not match
					 * (yet), the last STATUS of each */
	size_t ncheck;
	size_t known;		/* news items the tree already showed */
};
void watch_verdict_free(struct watch_verdict *vd);

/* Judge NEWS, reported on the session whose VIEW of node NODE (0: none)
 * it updates; NOTIFY: NOTIFY SET is on (new messages are named by UID).
 * When everything about NODE was known, its HIGHESTMODSEQ moves to what
 * the news said (the tree shows everything up to it). -ENOMEM. */
int watch_news_judge(struct vfs *v, uint32_t node, struct watch_view *view, const struct session_news *news,
		     bool notify, struct watch_verdict *out);

/* Node IDX's tree shows a mailbox the server says holds MESSAGES messages
 * at HIGHESTMODSEQ under UIDVALIDITY (0: not said): nothing changed since
 * the tree was last brought up to date. Never true without a
 * HIGHESTMODSEQ (CONDSTORE) to compare, nor for a listing not loaded. */
bool watch_node_current(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t messages,
			uint64_t highestmodseq);
/* The same for a STATUS the news held (a moment later, our own operation
 * that explains it may have reached the tree). */
bool watch_check_current(struct vfs *v, const struct watch_check *c);

#endif
