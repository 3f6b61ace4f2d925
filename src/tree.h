/*
 * tree — the in-memory model of the account: mailbox hierarchy (from
 * NAMESPACE and LIST) and, per mailbox, the metadata of its messages.
 *
 * Nodes live in one array and are addressed by index; an index never
 * changes while mounted, so the inode of a mailbox is index + 1 (the root,
 * index 0, is FUSE's inode 1) and the inode of a message is
 * (index + 1) << 32 | UID. Nothing needs to be remembered per inode and
 * FORGET costs nothing.
 *
 * A node is found from its parent and file name through a hash index
 * (chained through tree_node.hnext) and a directory's children are linked
 * (first_child / next_sibling), so building a tree of N mailboxes, a
 * lookup and a readdir cost no more than their own size, not N each.
 *
 * Locking: every field of every node, the node array and the index are
 * guarded by tree.lock. Callers copy what they need while holding it and
 * must not keep pointers into the array after unlocking (it may be
 * reallocated).
 * tree.lock is never held across network I/O (its place in the lock
 * order: src/README.md, "Lock order"); loading a mailbox's messages
 * marks it TREE_LOADING, drops the lock, fetches, then installs the result.
 */
#ifndef IMAPFS_TREE_H
#define IMAPFS_TREE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mailmeta.h"

/* One message: ~40 bytes, so 100,000 messages cost a few MiB. */
struct tree_msg {
	uint32_t uid;
	uint32_t size;		/* RFC822.SIZE, or the verified BODY[] length */
	int64_t date;		/* INTERNALDATE, epoch seconds */
	uint64_t modseq;
	char *keywords;		/* malloc'd or NULL, owned by the tree */
	uint64_t gm_msgid;	/* X-GM-MSGID on Gmail (gmail.h), else 0 */
	char *gm_labels;	/* X-GM-LABELS joined by '\n', malloc'd or NULL, owned
				 * by the tree like keywords */
	int16_t tz;		/* minutes east of UTC, for the xattr */
	uint8_t sysflags;	/* SESSION_F_* */
	bool size_exact;	/* size checked against BODY[] */
	uint32_t claimed;	/* RFC822.SIZE as the server last gave it, 0 unknown: when it
				 * moves, the bytes did (cache.h, vfs_resync.c) */
};

enum tree_state { TREE_UNLOADED, TREE_LOADING, TREE_READY };

struct tree_node {
	uint32_t parent;	/* index; the root is its own parent */
	char *fsname;		/* name in the mount (UTF-8, escaped) */
	char *mailbox;		/* raw server name; NULL for the root */
	char delim;		/* hierarchy delimiter, '\0' for flat */
	bool selectable;	/* listed and not \Noselect / \NonExistent */
	char *attrs;		/* LIST attributes, "" when none or not listed */
	uint32_t nchildren;	/* visible child mailboxes, for st_nlink */
	bool hidden;		/* not shown (-o subscribed, or removed by rmdir) */
	/* -o layout=maildir: which of cur/, new/, tmp/ (1 << vfs_maildir_sub)
	 * are not shown yet: those of a mailbox this mount made, until mkdir
	 * makes them (mutt makes a Maildir so), and those rmdir removed */
	uint8_t md_unmade;
	bool filtered;		/* hidden by -o subscribed only: it still exists */
	bool subscribed;	/* in LSUB */
	char *rights;		/* MYRIGHTS (RFC 4314), NULL when unknown */

	enum tree_state state;
	struct tree_msg *msgs;	/* sorted by uid */
	size_t nmsgs;
	uint32_t uidvalidity;

	struct session_status status;	/* cached STATUS */
	time_t status_time;

	bool listed;		/* the server listed this name (not a made-up parent, nor an
				 * implied one whose last child rmdir removed) */
	uint64_t highestmodseq;	/* largest MODSEQ we know of (CONDSTORE): the tree shows
				 * every change up to it */
	uint32_t own_new;	/* commands of ours that made messages here (APPEND,
				 * MOVE, COPY: vfs_refresh_new) since highestmodseq was
				 * last set; each moved HIGHESTMODSEQ once, so a STATUS
				 * that moved by exactly this much holds nothing else
				 * (vfs_watch_news.c). 0 whenever highestmodseq is set */
	uint64_t gen;		/* bumped by every change to msgs */
	bool kept;		/* the listing was kept in the cache (vfs_listing.h) ... */
	uint64_t kept_gen;	/* ... at this gen, */
	time_t kept_at;		/* ... at this CLOCK_MONOTONIC second */
	struct session_status watched;	/* STATUS at the watcher's last look */
	time_t used;		/* CLOCK_MONOTONIC seconds its listing was last asked for (vfs_load) */
	uint32_t flag_next;	/* UID the next bounded FLAGS refetch starts at (flagpoll.c) */
	int64_t changed_ns;	/* CLOCK_REALTIME ns when imapfs last saw its messages
				 * (added, expunged, re-flagged) or child mailboxes
				 * change, 0 before that: the directory's mtime
				 * (imapfs.1, THE TREE). Guarded by tree.lock like
				 * every field here; set by tree_touch */

	/* UIDs tree_msg_remove dropped lately from a mailbox a watcher idles
	 * on (idled), which that watcher's session may still count until
	 * the server's VANISHED for them reaches it (vfs_watch_news.c): at
	 * most TREE_GONE_MAX, and gone_lost beyond. malloc'd or NULL */
	bool idled;
	bool gone_lost;
	uint16_t ngone;
	uint32_t *gone;

	/* index links, kept by tree.c only; 0 ends a chain (the root is
	 * nobody's child) */
	uint32_t hnext;		/* next node in the same hash bucket */
	uint32_t rnext;		/* next node in the same server-name bucket */
	uint32_t first_child, last_child, next_sibling;	/* hidden ones too */
};

struct tree {
	pthread_mutex_t lock;
	pthread_cond_t loaded;	/* broadcast when a node leaves TREE_LOADING */
	struct tree_node *nodes;	/* guarded by lock */
	size_t n, cap;
	uint32_t *buckets;	/* (parent, fsname) hash -> first node; guarded by lock */
	uint32_t *rbuckets;	/* server name hash -> first node; guarded by lock */
	size_t nbuckets;	/* of each; a power of two, >= n */
	bool filtering;		/* -o subscribed: set before threads exist */
	bool quiet;		/* log nothing (tests' trees; set before use) */
	uint64_t gen;		/* bumped by every change to the hierarchy; lock */
	uint32_t changing;	/* mkdir/rmdir/rename sent and not yet applied; lock */
};

int tree_init(struct tree *t);
void tree_destroy(struct tree *t);

/* Add one LISTed mailbox, creating missing parents as non-selectable
 * directories. Called with the lock held (or before threads exist). */
int tree_add_mailbox(struct tree *t, const char *name, char delim, const char *attrs, bool noselect);

/* Child of PARENT named FSNAME, or -1 (hidden nodes are not found). Lock held. */
long tree_child(const struct tree *t, uint32_t parent, const char *fsname);

/* Walk the children of node P (hidden ones included: test ->hidden):
 *   for (c = tree_first_child(t, p); c != 0; c = tree_next_sibling(t, c))
 * Lock held. */
static inline uint32_t tree_first_child(const struct tree *t, uint32_t p) { return t->nodes[p].first_child; }
static inline uint32_t tree_next_sibling(const struct tree *t, uint32_t c) { return t->nodes[c].next_sibling; }

/* Message UID in node IDX, or NULL. Lock held; pointer valid until unlock. */
struct tree_msg *tree_msg_find(struct tree_node *node, uint32_t uid);

/* Index of NODE's first message with a UID >= UID (nmsgs if none). Lock held. */
size_t tree_msg_first_at(const struct tree_node *node, uint32_t uid);

/* Replace node IDX's message list with MSGS (taken over; sorted here). Lock held. */
void tree_set_msgs(struct tree *t, uint32_t idx, struct tree_msg *msgs, size_t n, uint32_t uidvalidity);

void tree_msgs_free(struct tree_msg *msgs, size_t n);

/* qsort/bsearch order of plain uint32_t UIDs. */
int tree_uid_cmp(const void *a, const void *b);

/* A growing array of fetched messages. tree_msgbuf_add has the shape of a
 * session_msg_cb, so a metadata FETCH can stream straight into it; UIDs
 * not above AFTER are skipped (a "n:*" FETCH always returns the largest
 * UID, even below n). Free with tree_msgs_free(buf.v, buf.n). */
struct tree_msgbuf {
	struct tree_msg *v;
	size_t n, cap;
	uint32_t after;
};
int tree_msgbuf_add(void *buf, const struct session_msg *m);

/* Insert (or replace) one message in a READY node, keeping UID order; the
 * keywords and gm_labels strings are taken over. A replaced message whose
 * RFC822.SIZE claim did not move keeps the size checked against its
 * BODY[]. Lock held. Changes to the hierarchy and
 * to a node's messages bump t->gen / node->gen, so work that read the
 * server without the lock can tell that its picture is out of date.
 * A new message, or a replaced one whose flags, labels or size differ,
 * also moves the node's mtime (tree_touch); the listing a mailbox is
 * loaded with (tree_set_msgs) does not. */
int tree_msg_insert(struct tree_node *node, const struct tree_msg *m);
/* Remove UID from a node's list, if there (and then tree_touch it). Lock held. */
void tree_msg_remove(struct tree_node *node, uint32_t uid);

/* The watcher's record of UIDs dropped lately (tree_node.gone): forget
 * it all (the watcher's session opens the mailbox afresh; the listing is
 * replaced), whether UID is in it, and forget FIRST..LAST (the server
 * said they vanished). Lock held. */
#define TREE_GONE_MAX 256
void tree_gone_clear(struct tree_node *node);
bool tree_gone_has(const struct tree_node *node, uint32_t uid);
void tree_gone_seen(struct tree_node *node, uint32_t first, uint32_t last);

/* NODE's content or children changed now: its directory mtime moves
 * (tree_node.changed_ns). Lock held. */
void tree_touch(struct tree_node *node);

/* The visible node whose server name is exactly MAILBOX, wherever it is
 * in the hierarchy, or -1. Lock held. */
long tree_find_raw(const struct tree *t, const char *mailbox);

/* A change to the hierarchy (mkdir, rmdir, rename) is sent to the server
 * now (begin) or is applied to the tree, or failed (end). Both bump gen:
 * a LIST that overlapped the change must not be compared with the tree
 * (the watcher's, vfs_watch_list.c), since its answer may hold the
 * server's side of the change and the tree not yet ours; while one is in
 * flight (changing > 0) no LIST is applied. Lock held. */
void tree_change_begin(struct tree *t);
void tree_change_end(struct tree *t);

/* Hide node IDX (rmdir, -o subscribed); its parent loses a child. Lock held. */
void tree_hide(struct tree *t, uint32_t idx);

/* Re-parent node IDX as NEWPARENT/FSNAME with server name MAILBOX (taken
 * over, like FSNAME); descendants' server names follow. Lock held. */
int tree_move(struct tree *t, uint32_t idx, uint32_t newparent, char *fsname, char *mailbox);

#define TREE_INO_ROOT 1ULL
/* Node indexes stay below TREE_MAX_NODES, so that message inodes never
 * reach the bits of the other inode ranges (vfs_internal.h: views at
 * 1 << 60, Gmail at 1 << 61, new files at 1 << 62). */
#define TREE_MAX_NODES ((1U << 27) - 2)
static inline uint64_t tree_dir_ino(uint32_t idx) { return (uint64_t)idx + 1; }
static inline uint64_t tree_msg_ino(uint32_t idx, uint32_t uid) { return ((uint64_t)idx + 1) << 32 | uid; }
static inline bool tree_ino_is_msg(uint64_t ino) { return (ino & 0xffffffffULL) != 0 && (ino >> 32) != 0; }
static inline uint32_t tree_ino_node(uint64_t ino) { return tree_ino_is_msg(ino) ? (uint32_t)((ino >> 32) - 1) : (uint32_t)(ino - 1); }
static inline uint32_t tree_ino_uid(uint64_t ino) { return (uint32_t)ino; }

#endif
