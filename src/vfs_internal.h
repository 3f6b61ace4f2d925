/*
 * vfs_internal — what the vfs_*.c files share: the account state, open
 * file state and helpers. Internal to src/; fs/ sees only vfs.h.
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

	pthread_mutex_t pend_lock;
	struct vfs_pending *pending;	/* visible new files, guarded by pend_lock */
	uint64_t next_pending;		/* guarded by pend_lock */
};

/* Inode numbers of new, not yet appended files: a range message and
 * mailbox inodes never reach (node indexes stay far below 2^30). */
#define VFS_PENDING_BIT (1ULL << 62)
static inline bool vfs_ino_is_pending(uint64_t ino) { return (ino & VFS_PENDING_BIT) != 0; }

/*
 * A message being written: create + write + close = one APPEND. The bytes
 * live in an unnamed 0600 file under the cache directory, never in memory.
 * Every field is guarded by vfs.pend_lock. The struct lives while it is
 * listed (name != NULL) or open (opens > 0).
 */
struct vfs_pending {
	struct vfs_pending *next;
	uint64_t ino;
	uint32_t node;		/* mailbox */
	char *name;		/* visible name; NULL once appended or discarded */
	int fd;
	uint64_t size;
	int64_t mtime;		/* INTERNALDATE to use, when mtime_set */
	bool mtime_set;
	mode_t mode;
	uint8_t sysflags;	/* flags to APPEND with (setxattr before close) */
	char *keywords;
	bool flags_set;		/* user.imap.flags was written (else a Maildir name's flags count) */
	bool replacing;		/* renamed or written over message REPLACE: expunge it once stored */
	bool over;		/* opened as message REPLACE with O_TRUNC: has no name of its own */
	struct alias_target replace;
	int opens;
	int writers;		/* open handles that may write */
	bool dirty;		/* written since created or last APPEND */
	bool unflushed;		/* written since the last close (flush) */
	bool busy;		/* an APPEND is running */
};

/* Per open message. node/uid/uidvalidity/size/fd immutable after
 * vfs_open; the window and the cache writer are guarded by lock (the
 * kernel may read in parallel; taken before cache.lock, see src/README.md). A cached body is read from FD (body at
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
};

/* Close and free F's own state (its fd, an unfinished cache fill, its
 * window); a pending file's F->pend is the caller's (vfs_release lets
 * go of it first). */
void vfs_file_free(struct vfs_file *f);

void vfs_dir_attr(const struct vfs *v, uint32_t idx, struct vfs_attr *a);
/* Tree lock held (it may add M to the Gmail table). */
void vfs_msg_attr(struct vfs *v, uint32_t idx, const struct tree_node *n, const struct tree_msg *m,
		  struct vfs_attr *a);
int vfs_session(struct vfs *v, const char *mailbox, struct session **s, struct session_mbox *mb);
int vfs_load(struct vfs *v, uint32_t idx);
/* Message inode INO's listing loaded (vfs_load) and tree.lock taken: 0
 * with the lock HELD and *M the message (valid while it is held), or
 * -errno (-ENOENT: no such node or message) with the lock not held. */
int vfs_lock_msg(struct vfs *v, uint64_t ino, struct tree_msg **m);
int vfs_fetch(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid,
	      uint64_t off, uint32_t len, char **buf, size_t *got);
uint32_t vfs_parse_msg_name(const char *name);
/* The message NAME stands for in node IDX: "UID.eml" of a message it has
 * (returns 0), else a live alias (aliases.h) to a message it still has
 * (returns 1, *AL filled when not NULL). *UID is its UID and *UV the
 * UIDVALIDITY it was found under (both read in one hold of the lock).
 * -ENOENT, or the listing's error. Loads the listing when needed; no lock
 * held. */
int vfs_resolve_name(struct vfs *v, uint32_t idx, const char *name, uint32_t *uid, uint32_t *uv,
		     struct alias_target *al);
/* A message moved away, or a new file just stored, is the same file to
 * the kernel for a while (aliases.h): its old inode number INO answers
 * with what it became. 0 and *TO, or -ENOENT. No lock held. */
int vfs_forwarded(struct vfs *v, uint64_t ino, uint64_t *to);
/* After vfs_session: 0 when the mailbox still has the UIDVALIDITY our UIDs
 * come from; otherwise checks S back in, marks node IDX for re-listing,
 * logs and returns -ESTALE (UID n would name another message). */
int vfs_same_uidvalidity(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity,
			 const struct session_mbox *mb, const char *mailbox, uint32_t uid);
/* The five steps before acting on UID of node IDX: vfs_session on
 * MAILBOX, then vfs_same_uidvalidity against UIDVALIDITY (both copied by
 * the caller from the node in one hold of tree.lock). 0 with *S checked
 * out, or -errno with *S checked in (or never out). No lock held. */
int vfs_session_checked(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
			struct session **s);
int vfs_check_dir_ino(const struct vfs *v, uint64_t ino);
/* Whole bodies of UIDS (sorted, each claimed with cache_claim) from node
 * IDX into the cache; every UID ends stored or unclaimed. RETRY: again
 * on a new connection when one breaks (3 attempts at most, within the
 * operation's deadline). With FD non-NULL, *FD and
 * *LEN give the stored body of WANT (-ENOENT when the server did not
 * return it; -EFBIG when a body was far larger than its RFC822.SIZE).
 * vfs_bodies.c. */
int vfs_fetch_bodies(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity,
		     const uint32_t *uids, size_t n, bool retry, uint32_t want, int *fd, uint64_t *len);
/* Whether one message of node IDX can be removed alone (UIDPLUS, or MOVE
 * to a \\Trash elsewhere): else rm, and so replacing, is refused.
 * vfs_remove.c. */
bool vfs_can_remove(struct vfs *v, uint32_t idx);
/* Whether a new file written over NAME, which means TARGET's message, may
 * replace it: not while it was stored a moment ago for another name (a
 * restore whose file names collide with the UIDs it makes). Logged when
 * not. (A name that found it already there keeps a copy: vfs_remove_msg.)
 * vfs_remove.c. */
bool vfs_may_replace(struct vfs *v, const struct alias_target *target, const char *name);
/* NEWUID replaces OLDUID (an edit: same Message-ID) in node IDX: when it
 * has no flags, it takes OLDUID's (\\Deleted aside), so an edited message
 * stays read, answered, flagged. A failure is logged only. vfs_remove.c. */
void vfs_carry_flags(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t olduid, uint32_t newuid);
/* Show a message that just arrived in node IDX (MAILBOX) at once: UID
 * (from APPENDUID/COPYUID, of *UIDVALIDITY; 0 there: any), or when the
 * server did not say (0), the one with Message-ID MID among UIDs >= SINCE
 * (SINCE 0 or MID NULL: none is looked for; *UIDVALIDITY is then set).
 * When it cannot be shown (*SHOWN false) the node is listed anew when next
 * needed. Returns the UID, 0 when not known. vfs_remove.c. */
uint32_t vfs_show_new(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid, uint32_t *uidvalidity,
		      const char *mid, uint32_t since, bool *shown);
/* rm of message UID in node IDX (UIDVALIDITY: the one it must still have;
 * 0: whatever the node has): UID EXPUNGE, or UID MOVE to \Trash without
 * UIDPLUS. NAME is for the log. vfs_remove.c. */
int vfs_remove_msg(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, const char *name);
/* Message UID of node IDX (MAILBOX, selected on S) is about to leave it
 * (rm, mv, replaced): a name written as a copy of it gets a real copy
 * first (UID COPY; *COPY its UID, 0: not said, UINT32_MAX: none needed).
 * vfs_remove.c. */
int vfs_keep_found_copy(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
			const char *mailbox, uint32_t *copy);
/* Show COPY (vfs_keep_found_copy) in node IDX, or re-list it when that
 * fails or the copy's UID is not known; nothing for UINT32_MAX.
 * vfs_remove.c. */
void vfs_show_copy(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t copy);
/* Fetch UID's metadata in the session's selected mailbox into node IDX. */
int vfs_refresh_msg(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid);

/* Bring node IDX's listing up to date with the server (new, expunged and
 * re-flagged messages, UIDVALIDITY) and tell the kernel what vanished. */
int vfs_resync(struct vfs *v, uint32_t idx);
void vfs_notify_gone(struct vfs *v, uint64_t parent, const char *name);
/* The kernel's cached attributes of INO are stale (a link count). */
void vfs_notify_inode(struct vfs *v, uint64_t ino);

struct watch;
void watch_stop(struct watch *w);
/* How each kind of change by other clients reaches us (IDLE, NOTIFY,
 * poll; flags by CHANGEDSINCE or FLAGS refetch): lines for `imapfs
 * status`. No network I/O. vfs_watch.c. */
void watch_describe(struct vfs *v, FILE *f);
/* Whether a watcher is IDLEing now (its server offers IDLE and it is
 * connected) and whether NOTIFY SET is on: the capabilities in use, for
 * `imapfs status`. Both false before the watchers connect. */
void watch_caps(struct vfs *v, bool *idle, bool *notify);

/* Monotonic clock in seconds (for tree_node.used). */
time_t vfs_now_s(void);

/* Copy the flags (and MODSEQ, and Gmail labels) of each message of CHANGED
 * into node N, taking over their keywords and labels; messages N does not
 * hold are skipped. A message whose RFC822.SIZE moved (rewritten under its
 * UID) takes the new size and its UID is added to RESIZED (room for
 * CHANGED->n; may be NULL), so the caller can tell the kernel. Returns how
 * many messages' flags differed; when any differed or moved, N's mtime
 * moves (tree_touch). Tree lock held. vfs_resync.c. */
size_t vfs_apply_flags(struct tree_node *n, struct tree_msgbuf *changed, uint32_t *resized,
		       size_t *nresized);

/* Without CONDSTORE: UID FETCH a:b (FLAGS) on S for the mailboxes in recent
 * use, within the bounds flagpoll.c documents (imapfs.1 too). Flag
 * changes found go into the tree. flagpoll.c. */
int flagpoll_run(struct vfs *v, struct session *s);
/* Without CONDSTORE, right after an IDLE on S (node IDX selected) woke up:
 * FETCH (UID FLAGS) the messages it reported re-flagged, into the tree. */
int flagpoll_idle(struct vfs *v, struct session *s, uint32_t idx);
#define FLAGPOLL_RECENT_S (15 * 60)	/* "in recent use": listing asked for this recently */
#define FLAGPOLL_MAILBOXES 8		/* of those, the most recently used, per poll */
#define FLAGPOLL_MESSAGES 4096		/* messages whose flags one poll asks for, in all */

/* A session on MAILBOX (node IDX) for a STORE on UID: checked out, the
 * folder still of UIDVALIDITY and, on Gmail (MSGID != 0), UID still that
 * message (vfs_gmail_recheck). On failure *S is checked in (or was never
 * out). vfs_gmail.c. */
int vfs_store_session(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid,
		      uint32_t uidvalidity, uint64_t msgid, struct session **s);
/* vfs_gmail.c: Gmail (X-GM-EXT-1); each is a no-op on other servers. */
/* After LIST at mount: notice X-GM-EXT-1, apply allmail=, map cache keys. */
void vfs_gmail_setup(struct vfs *v, struct session *s);
/* M's inode number and link count, on Gmail. Tree lock held. */
void vfs_gmail_attr(struct vfs *v, uint32_t idx, const struct tree_msg *m, struct vfs_attr *a);
/* A Gmail inode number -> the plain one of a place showing it (others
 * unchanged). Lock NOT held; may list a folder. */
int vfs_gmail_resolve(struct vfs *v, uint64_t *ino);
/* For a write to inode *INO: vfs_gmail_resolve, except that a message
 * found in All Mail, Trash or Spam is acted on in a label folder that
 * shows it when there is one; *UIDVALIDITY and *MSGID are what the place
 * had when checked (both 0 for a plain inode). Lock NOT held. */
int vfs_gmail_resolve_write(struct vfs *v, uint64_t *ino, uint32_t *uidvalidity, uint64_t *msgid);
/* Does UID of node IDX still hold MSGID under UIDVALIDITY (true when MSGID
 * is 0)? Checked again right before a STORE. Lock held. */
bool vfs_gmail_still(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, uint64_t msgid);
/* The same, right before a STORE on session S (which has the folder
 * selected): 0, or -ENOENT with S checked in. Lock NOT held. */
int vfs_gmail_recheck(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
		      uint64_t msgid);
/* M's exact size, learned in folder NODE, given to its copies in the
 * other loaded folders it can be in. Lock held. */
void vfs_gmail_real_size(struct vfs *v, uint32_t node, const struct tree_msg *m);
/* X-GM-MSGID of UID in node IDX, 0 when none. Lock NOT held. */
uint64_t vfs_gmail_msgid(struct vfs *v, uint32_t idx, uint32_t uid);
/* A change moved MSGID between folders (rm, mv, labels): every other
 * loaded folder that shows it or that LABELS ('\n'-joined, may be NULL),
 * All Mail, Trash or Spam name is listed again when next used, and the
 * kernel forgets its names there. Lock NOT held. */
void vfs_gmail_changed(struct vfs *v, uint32_t except, uint64_t msgid, const char *labels);
/* Labels changed on the server: GONE (may be NULL) taken from and ADDED
 * (may be NULL) put into the labels of every loaded copy of MSGID, so link
 * counts and user.imap.labels stay right without listing anything again.
 * Lock NOT held. */
void vfs_gmail_relabel(struct vfs *v, uint64_t msgid, const char *gone, const char *added);
/* MSGID left folder FROM by rm (TO 0) or mv (to folder TO): relabel its
 * copies (between label folders), or list again the folders that gain
 * or lose it (All Mail, Trash or Spam involved). Lock NOT held. */
void vfs_gmail_moved(struct vfs *v, uint32_t from, uint32_t to, uint64_t msgid);
/* getxattr user.imap.labels of M in node IDX (lock held); setxattr
 * (INO plain; lock NOT held). */
int vfs_gmail_labels_xattr(struct vfs *v, uint32_t idx, const struct tree_msg *m, char **val, size_t *len);
int vfs_gmail_setlabels(struct vfs *v, uint64_t ino, uint32_t uidvalidity, uint64_t msgid, const char *val,
			size_t len);

/* vfs_pending.c, pend_lock held: the pending file of inode INO, or of
 * visible NAME in node NODE (NULL when none); its attributes; free P
 * when nothing refers to it any more (unlinked from the list). */
struct vfs_pending *pending_find_ino(struct vfs *v, uint64_t ino);
struct vfs_pending *pending_find_name(struct vfs *v, uint32_t node, const char *name);
void pending_attr(const struct vfs_pending *p, struct vfs_attr *a);
void pending_maybe_free(struct vfs *v, struct vfs_pending *p);
/* Append P if it is ready (visible name not starting with '.', written,
 * not empty); INVAL gets the kernel entry to drop. pend_lock NOT held.
 * vfs_pending.c. */
int pending_commit(struct vfs *v, struct vfs_pending *p, struct vfs_inval *inval, int *ninval);
/* APPEND P's bytes (SIZE) to node IDX as NAME (for the log), with DATE,
 * SYSFLAGS and KEYWORDS; OVER: the message it is written over (may be
 * NULL). *STORED: where it went. No lock held, p->busy set by the caller
 * (no one else appends or frees it). vfs_append.c. */
int vfs_append(struct vfs *v, struct vfs_pending *p, uint32_t idx, const char *name, uint64_t size,
	       int64_t date, uint8_t sysflags, const char *keywords, const struct alias_target *over,
	       struct alias_target *stored);
/* vfs_pending.c: hooks used by the other vfs files */
int pending_lookup(struct vfs *v, uint32_t node, const char *name, struct vfs_attr *out);
int pending_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);
/* Append visible pending names of NODE to a dirent array (realloc'd). */
int pending_list(struct vfs *v, uint32_t node, struct vfs_dirent **d, size_t *n, size_t *cap);
int pending_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out);
/* open for writing of message INO (cp onto an existing name: O_TRUNC; an
 * editor writing in place: KEEP, the file starts with the message's
 * bytes): a new file that replaces it when closed, as a rename over it
 * would. */
int pending_open_over(struct vfs *v, uint64_t ino, bool keep, struct vfs_file **out);
/* The new file being written over message INO (pending_open_over), or 0:
 * setxattr carries no file handle, so cp -a's flags for the new message
 * arrive for the message's inode. */
uint64_t pending_over_ino(struct vfs *v, uint64_t ino);
ssize_t pending_read(struct vfs_pending *p, char *buf, size_t size, uint64_t off);
void pending_release(struct vfs *v, struct vfs_pending *p, bool writer);
bool pending_any_in(struct vfs *v, uint32_t node);
void pending_free_all(struct vfs *v);
struct flags_change;
int pending_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out);
int pending_setflags(struct vfs *v, uint64_t ino, const struct flags_change *c);
/* user.imap.internaldate written on a new file: its INTERNALDATE. */
int pending_setdate(struct vfs *v, uint64_t ino, const char *val, size_t len);
int pending_unlink(struct vfs *v, uint32_t node, const char *name);
/* rename of a new file; REPLACE (may be NULL): the message NEWNAME names,
 * expunged once the new file is stored (never when an identical message
 * was found instead, vfs_dedupe.c). */
int pending_rename(struct vfs *v, uint32_t node, const char *name, uint32_t newnode,
		   const char *newname, const struct alias_target *replace,
		   struct vfs_inval *inval, int *ninval);

/* The Message-ID header's value ("<...>") from DATA's header block, or NULL
 * (malloc'd). vfs_dedupe.c. */
char *vfs_find_msgid(const char *data, size_t len);
/* The Message-ID of message UID of node IDX (from its first 64 KiB,
 * BODY.PEEK), malloc'd, or NULL. vfs_dedupe.c. */
char *vfs_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid);
/* Whether messages A and B of node IDX have the same Message-ID (both
 * have one): B is an edit of A (sed -i, an editor's save), not another
 * message that happens to be written over A's name. vfs_dedupe.c. */
bool vfs_same_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b);
/* Whether messages A and B of node IDX have the same bytes. vfs_dedupe.c. */
bool vfs_same_bytes(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b);
/* SIZE plus one for every bare LF or CR in DATA: its size once stored. */
uint64_t vfs_crlf_size(const char *data, size_t size);
/* Whether node IDX already holds a message identical to the new one in
 * DATA (SIZE bytes): one with the same bytes once every bare LF or CR is
 * CRLF, as the server stores them. Only messages with a Message-ID are
 * looked for, and OVER (may be NULL: the message the new one is written
 * over), which is compared whatever its headers. 1 with *UID and *UIDVALIDITY; 0 when there is none; -errno when
 * the check failed (the caller then appends: a duplicate is better than a
 * message lost). No lock held. vfs_dedupe.c. */
int vfs_find_identical(struct vfs *v, uint32_t idx, const char *data, size_t size,
		       const struct alias_target *over, uint32_t *uid, uint32_t *uidvalidity);

#endif
