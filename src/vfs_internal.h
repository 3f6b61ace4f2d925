/*
 * vfs_internal — what the vfs_*.c files share: the account state (struct
 * vfs) and an open file's state (struct vfs_file). Internal to src/; fs/
 * sees only vfs.h. Each part's functions are declared in its own header,
 * with its contract: vfs_base.h (sessions, listings, names: what the
 * others build on), vfs_lookup.h, vfs_bodies.h, vfs_remove.h,
 * vfs_pending.h, vfs_append.h, vfs_dedupe.h, vfs_gmail.h, vfs_resync.h,
 * vfs_watch.h, flagpoll.h.
 *
 * Locks: tree.lock (tree.h) guards the mailbox model; pend_lock guards the
 * pending-file list and every field of every pending file; vfs_file.lock
 * an open file's window and cache fill. Their order with the other locks
 * of src/: src/README.md, "Lock order".
 */
#ifndef IMAPFS_VFS_INTERNAL_H
#define IMAPFS_VFS_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "aliases.h"
#include "digests.h"
#include "gmail.h"
#include "pool.h"
#include "ranges.h"
#include "session.h"
#include "tree.h"
#include "vfs.h"

#define WHOLE_MSG	(256 * 1024)	/* below this, open fetches the whole body into the cache */
#define READ_WINDOW	(32 * 1024)	/* first fetch for a read of a large message; doubles while reading on */
#define MAX_WINDOW	(4 * 1024 * 1024)
#define VFS_FILL_RANGES	16		/* separate pieces a cache fill may hold */
#define PROBE_LEN	(64 * 1024)
#define STATUS_TTL	2		/* seconds a STATUS answer is reused */

/* The search views' queries (vfs_search.c): the last VIEW_QUERIES used,
 * each known by a serial number that is part of its directories' inodes.
 * lock is a leaf (vfs_search.h). */
#define VIEW_QUERIES 64
struct view_query;
struct views {
	pthread_mutex_t lock;
	pthread_cond_t swept;			/* a root query's search ended (lock) */
	struct view_query *q[VIEW_QUERIES];	/* guarded by lock; NULL: free */
	uint32_t next_serial;			/* guarded by lock */
	uint64_t tick;				/* guarded by lock: a use count, for the oldest */
};

/* The parts view's messages (vfs_parts.c): the last PARTS_MSGS taken
 * apart, each known by a serial number that is part of its inodes. lock
 * is a leaf (vfs_parts.h). */
#define PARTS_MSGS 64
#define PARTS_FDS 256	/* more done parts than this are reopened from the cache by their readers */
struct parts_msg;
struct parts_view {
	pthread_mutex_t lock;
	struct parts_msg *m[PARTS_MSGS];	/* guarded by lock; NULL: free */
	uint32_t next_serial;			/* guarded by lock */
	uint64_t tick;				/* guarded by lock: a use count, for the oldest */
	uint64_t fds;				/* __atomic: fds the done parts hold */
};

enum {
	VFS_CAPS_OK,		/* from the server at mount, or compared since */
	VFS_CAPS_UNCHECKED,	/* kept ones, not compared with the server yet */
	VFS_CAPS_LOST,		/* the server lost one: changes refused (EROFS) */
};

struct vfs {
	const struct config *cfg;	/* owned by the caller, immutable */
	struct url url;			/* copy (strings owned here) */
	char *password;			/* owned, wiped on free */
	struct tls_ctx *tls;
	struct session_params params;
	struct pool *pool;
	bool condstore;			/* immutable after vfs_new */
	int64_t mounted_at;		/* mtime shown on directories; immutable */
	bool uidplus, move, acl;	/* server capabilities; immutable */
	/* used where offered, for `imapfs status` (immutable): QRESYNC
	 * (ENABLEd: resync asks VANISHED), NAMESPACE, UNSELECT, SASL-IR */
	bool qresync, namespace, unselect, sasl_ir;
	uint64_t append_limit;		/* largest new message (session_append_limit); immutable */
	char personal_delim;		/* delimiter for mailboxes made at the root; immutable */
	char *ns_prefix[16];		/* other users' and shared namespaces; immutable */
	int nns;
	uint64_t sel_epoch;		/* bumped on RENAME/DELETE; __atomic access */
	struct tree tree;		/* see tree.h for its lock */
	struct gmail gm;		/* X-GM-EXT-1 (gmail.h); guarded by tree.lock */
	struct cache *cache;		/* bodies (cache.h has its own lock); immutable pointer */
	char *cache_dir;		/* absolute; also for vfs_pending.c's temporary files; immutable */
	struct prefetch *prefetch;	/* read-ahead of whole folders (prefetch.h); immutable pointer */

	/* who to tell about kernel entries that changed (fs/ sets it once
	 * before the loop starts; immutable afterwards) */
	void (*notify)(void *ctx, uint64_t parent, const char *name);
	void *notify_ctx;
	struct watch *watch;		/* the watcher thread, or NULL */
	/* mounted from the account's kept state (vfs_acct.h): the server
	 * could not be reached; immutable. The note says so, for the
	 * adapter to print (owned, NULL when online) */
	bool offline_mount;
	char *offline_note;
	/* an offline mount's capabilities are the kept ones, which the
	 * fields above (immutable, read without a lock) keep: until the first
	 * session back online was compared with them (vfs_back_online),
	 * changes are refused as while offline; if the server lost one this
	 * mount uses, for good, until a remount (vfs_writable).
	 * VFS_CAPS_*; __atomic access */
	int caps_state;
	/* the tree was listed by the server during this mount (at mount, or
	 * by the watcher's LIST once back online), so it may be kept
	 * (__atomic access) */
	bool tree_live;
	uint64_t acct_kept_gen;		/* tree.gen when the state was last kept; tree.lock */
	bool acct_kept;			/* tree.lock */
	bool acct_odd_told;		/* tree.lock: names left out of it were logged */
	/* the watcher's LIST comparison, for `imapfs status` (__atomic access):
	 * mailboxes in its last LIST, how long comparing and applying it took
	 * (ns), and the longest it held tree.lock for it since mount (ns; wall
	 * clock, and the watcher's CPU time during that hold) */
	uint64_t watch_list_n, watch_compare_ns, watch_lock_ns_max, watch_lock_cpu_ns_max;
	/* the last bounded FLAGS refetch without CONDSTORE (flagpoll.c), for
	 * `imapfs status` (__atomic access): mailboxes and messages asked,
	 * messages whose flags had changed, how long it took (ns) */
	uint64_t flagpoll_boxes, flagpoll_msgs, flagpoll_changed, flagpoll_ns;

	struct aliases aliases;		/* names and inodes a change renamed (aliases.h; own lock) */
	struct digests digests;		/* checksums of messages stored lately (digests.h; own lock) */

	struct views views;		/* the search views' queries (vfs_search.h; own lock) */
	struct parts_view parts;	/* messages taken apart (vfs_parts.h; own lock) */

	pthread_mutex_t pend_lock;
	struct vfs_pending *pending;	/* visible new files, guarded by pend_lock */
	uint64_t next_pending;		/* guarded by pend_lock */
};

/* Inode numbers of new, not yet appended files: a range message and
 * mailbox inodes never reach (node indexes stay far below 2^30). */
#define VFS_PENDING_BIT (1ULL << 62)
static inline bool vfs_ino_is_pending(uint64_t ino) { return (ino & VFS_PENDING_BIT) != 0; }
/* Inode numbers of the search views' directories (vfs_search.h): below
 * Gmail's bit (1 << 61) and above every mailbox and message inode (node
 * indexes stay below 2^27). */
#define VFS_VIEW_BIT (1ULL << 60)
static inline bool vfs_ino_is_view(uint64_t ino)
{
	return (ino & (VFS_VIEW_BIT | VFS_PENDING_BIT | (1ULL << 61))) == VFS_VIEW_BIT;
}
/* The parts view's inodes are the views' kind 0 (vfs_parts.h). */
static inline bool vfs_ino_is_parts(uint64_t ino)
{
	return vfs_ino_is_view(ino) && ((ino >> 58) & 3) == 0;
}


/* The Maildir view's cur/, new/ and tmp/ (vfs_maildir.h): bit 63, the
 * subdirectory in bits 32-33 and node index + 1 below, which no other
 * range sets (a misrouted one names no node: ENOENT). */
#define VFS_MAILDIR_BIT (1ULL << 63)
enum vfs_maildir_sub { VFS_MD_CUR = 0, VFS_MD_NEW = 1, VFS_MD_TMP = 2 };
static inline bool vfs_ino_is_maildir(uint64_t ino) { return (ino & VFS_MAILDIR_BIT) != 0; }
static inline uint64_t vfs_maildir_ino(uint32_t idx, enum vfs_maildir_sub sub)
{
	return VFS_MAILDIR_BIT | (uint64_t)sub << 32 | ((uint64_t)idx + 1);
}
static inline uint32_t vfs_maildir_node(uint64_t ino) { return (uint32_t)ino - 1; }
static inline enum vfs_maildir_sub vfs_maildir_sub(uint64_t ino) { return (enum vfs_maildir_sub)((ino >> 32) & 3); }

/* -o layout=maildir (imapfs.1 MAILDIR): mailboxes are Maildirs. */
static inline bool vfs_layout_maildir(const struct vfs *v) { return v->cfg->layout == CONFIG_LAYOUT_MAILDIR; }

/* Per open message. node/uid/uidvalidity/size/fd immutable after
 * vfs_open; the window and the cache writer are guarded by lock (the
 * kernel may read in parallel; no other lock is taken under it, see
 * src/README.md). A cached body is read from FD (body at
 * CACHE_DATA_OFF); a large uncached one through windows, which FILL
 * collects into the cache in whatever order they come (FILLED: the
 * pieces it holds). */
struct vfs_pending;

struct vfs_file {
	uint32_t node;
	uint32_t uid;
	uint32_t uidvalidity;
	uint64_t size;
	int fd;
	pthread_mutex_t lock;
	struct cache_writer *fill;
	struct range filled[VFS_FILL_RANGES];	/* what FILL holds, sorted (ranges.h) */
	int nfilled;
	char *win;
	uint64_t win_off;
	size_t win_len;
	struct vfs_pending *pend;	/* a new message being written, else NULL */
	bool writer;			/* opened for writing (pend only) */
	bool lazy;			/* body not attached yet (vfs_file_attach); guarded by lock */
	/* a part of the parts view (vfs_parts.c): its message (a reference
	 * held until release) and entry; immutable, else NULL. FD is then
	 * the part's cache entry once done, guarded by the message's lock */
	struct parts_msg *pm;
	uint32_t pent;
};

#endif
