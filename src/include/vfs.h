/*
 * vfs — the core's whole API towards the FUSE adapter: inode numbers in,
 * plain attributes, names and bytes out. fs/ sees only the public headers
 * in src/include/ (this one, config.h, url.h, log.h and the few helpers the
 * program's commands use); no libetpan or OpenSSL type crosses them.
 *
 * Every function returns 0 (or a byte count) on success and -errno on
 * failure; failures are logged with their cause where they happen.
 * All functions are thread-safe.
 *
 * Where each is implemented (src/README.md has the whole map): vfs.c the
 * lifecycle (vfs_new, vfs_free, vfs_shutdown, vfs_set_notify);
 * vfs_watch.c vfs_watch_*; vfs_search.c lookup, getattr, readdir (the
 * search views there, the rest in vfs_lookup.c);
 * vfs_read.c open, read, release; vfs_xattr.c the *xattr functions;
 * vfs_status.c vfs_status; vfs_change.c mkdir, rmdir, unlink, rename,
 * setattr; vfs_pending.c create, write, flush (new messages).
 */
#ifndef IMAPFS_VFS_H
#define IMAPFS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "url.h"

struct vfs;
struct vfs_file;

struct vfs_attr {
	uint64_t ino;
	mode_t mode;
	nlink_t nlink;
	uint64_t size;
	int64_t mtime;
	uint32_t mtime_nsec;	/* directories: when a change was seen, to the ns (find -newer) */
	uint32_t generation;	/* UIDVALIDITY for messages, so a recreated mailbox's inodes are new */
	bool alias;		/* found under a short-lived alias (imapfs.1, FILES): keep no entry */
};

/* May the kernel cache this (false for new files still being written,
 * whose name and size change at close)? */
bool vfs_attr_cacheable(const struct vfs_attr *a);

/* One directory entry of a snapshot. */
struct vfs_dirent {
	char *name;
	struct vfs_attr attr;
};

/* Exit-code classes for failures in vfs_new. */
enum vfs_err {
	VFS_ERR_CONFIG = 1,
	VFS_ERR_CONNECT,
	VFS_ERR_TLS,
	VFS_ERR_AUTH,
};

/*
 * Connect (first session, before the daemon detaches), log in, read
 * NAMESPACE and LIST. PASSWORD is copied (NULL with OAuth2: see
 * session_params). On failure: -errno, *CLS and a
 * one-line reason in ERR.
 */
int vfs_new(const struct config *cfg, const struct url *url, const char *password,
	    struct vfs **out, enum vfs_err *cls, char *err, unsigned errlen);
/* When vfs_new could not reach the server (the network failed: not TLS,
 * not the login) and mounted from the state the cache kept instead: the
 * one line that says so, for the terminal (vfs_new logged it too). NULL
 * when the mount was made online. Owned by V. imapfs.1, OFFLINE. */
const char *vfs_offline_note(const struct vfs *v);
void vfs_free(struct vfs *v);
/* Tell the core how to drop a stale kernel directory entry (changes made
 * by other clients); NAME NULL: the attributes of inode PARENT changed
 * (Gmail: a link count). Set once, before vfs_watch_start. */
void vfs_set_notify(struct vfs *v, void (*cb)(void *ctx, uint64_t parent, const char *name), void *ctx);
/* Start watching for changes made by other clients (IDLE on INBOX, STATUS
 * polling of mailboxes in use, LIST for new and removed mailboxes), and,
 * on a mount made offline, connecting again (pool.h). Call after the
 * daemon has detached: it starts threads. */
int vfs_watch_start(struct vfs *v);
/* Log a warning for each watch= name that is no mailbox of the mount (as
 * vfs_watch_start does): for the terminal, before the daemon detaches. */
void vfs_watch_check(struct vfs *v);

/* Make blocked network calls fail now (unmount). */
void vfs_shutdown(struct vfs *v);

int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);

/* Load the listing of directory INO (a mailbox) now, if it is not loaded:
 * what loading tells the kernel (a kept listing's catch-up: messages gone
 * since the last mount) then comes before a listing's snapshot, not in
 * the middle of it. 0, or -errno: the listing fails (as vfs_readdir's
 * would). */
int vfs_dir_prepare(struct vfs *v, uint64_t ino);

/* Snapshot of a directory ("." and ".." included). Caller frees with
 * vfs_dirents_free. */
int vfs_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *n);
void vfs_dirents_free(struct vfs_dirent *d, size_t n);

/* Open a message (read-only: messages are immutable, -EPERM otherwise) or
 * a new file still being written. FLAGS are open(2) flags. Verifies the
 * real size of BODY[] once per message; *SIZE_CHANGED tells the caller the
 * kernel's cached size is wrong. */
int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed);
/* An open whose size was already known does not touch the body (the
 * kernel usually has it cached): the first read attaches it. Call before
 * vfs_read_where; cheap when done. *SIZE_CHANGED as for vfs_open. */
int vfs_file_attach(struct vfs *v, struct vfs_file *f, bool *size_changed);
/* Read up to SIZE bytes at OFF into BUF; returns the byte count (0 at EOF). */
ssize_t vfs_read(struct vfs *v, struct vfs_file *f, char *buf, size_t size, uint64_t off);
/* A message whose body is in the cache can be read straight from its fd
 * (the adapter splices it to the kernel): 0 with the fd (F's: do not
 * close it), the position of byte OFF in it, and how many bytes of SIZE
 * there are (0 at EOF). -ENOENT: use vfs_read. */
int vfs_read_where(const struct vfs_file *f, size_t size, uint64_t off, int *fd, int64_t *pos, size_t *len);
void vfs_release(struct vfs *v, struct vfs_file *f);
/* For storing bodies into the kernel's page cache ahead of a reader
 * (fs/push.c): the inode numbers of up to MAX messages after message INO
 * of its folder, in UID order (the count); and INO's body when it is in
 * the disk cache, no larger than MAX bytes and of the size the kernel
 * was given (never fetched, never waited for; -ENOENT otherwise): read it
 * with vfs_read_where, release it with vfs_release. */
int vfs_next_msgs(struct vfs *v, uint64_t ino, uint64_t *out, int max);
int vfs_open_if_cached(struct vfs *v, uint64_t ino, uint64_t max, struct vfs_file **out);
/* True for a new file being written (it needs flush at close). */
bool vfs_file_is_new(const struct vfs_file *f);
/* True when the kernel must not trust the size it was given for F: reads
 * go past it to the real end (a new file; a part of the parts view whose
 * size was told from its two ends and is not yet decoded, imapfs.1
 * PARTS). Asked once, at open. */
bool vfs_file_direct(struct vfs *v, const struct vfs_file *f);

/* Extended attributes. getxattr: the value in a malloc'd *VAL of *LEN bytes
 * (not NUL-terminated); -ENODATA when absent. listxattr: NUL-separated names. */
int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, char **val, size_t *len);
int vfs_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len);

/* `imapfs status`: the read-only xattr VFS_STATUS_XATTR on the mount root
 * gives this text (account, capabilities in use, connections, errors) in
 * a malloc'd *OUT of *LEN bytes. No network I/O. vfs_status.c. */
#define VFS_STATUS_XATTR "user.imapfs.status"
int vfs_status(struct vfs *v, char **out, size_t *len);

/* `imapfs search`: is QUERY a query of the search views (DIR/.search/QUERY,
 * imapfs.1 SEARCH)? 0, or -EINVAL with the reason in WHY. Pure: no mount
 * needed. vfs_search.c. */
int vfs_search_check(const char *query, char *why, size_t len);

/* `imapfs search` and `imapfs sync`: the UID a message's file name
 * carries, in either layout ("12.eml", or -o layout=maildir's
 * "UIDVALIDITY_0000000012_BOX.imapfs,U=12:2,FLAGS"); 0 for any other
 * name. Pure. vfs_maildir.c. */
uint32_t vfs_name_uid(const char *name);

/* ---- changes (each is one IMAP change; see imapfs.1) ---- */

/* A kernel directory entry a change made stale: the adapter drops it after
 * replying (never from inside the handler that holds the directory). */
struct vfs_inval {
	uint64_t parent;
	char name[256];
};
#define VFS_MAX_INVAL 2

int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name);
int vfs_unlink(struct vfs *v, uint64_t parent, const char *name);
int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, struct vfs_inval *inval, int *ninval);

/* New message: create, write, then flush (close) appends it. */
int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
	       struct vfs_file **out, struct vfs_attr *attr);
ssize_t vfs_write(struct vfs *v, struct vfs_file *f, const char *buf, size_t size, uint64_t off);
int vfs_flush(struct vfs *v, struct vfs_file *f, struct vfs_inval *inval, int *ninval);

struct vfs_setattr {
	bool set_size, set_mtime, set_mode, set_owner;
	uint64_t size;
	int64_t mtime;
	mode_t mode;
};
int vfs_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out);
/* setattr through an open file F (may be NULL: as vfs_setattr). A message
 * opened with O_TRUNC to be written over takes the times and size set
 * through its descriptor (cp -p) until it is closed. */
int vfs_fsetattr(struct vfs *v, struct vfs_file *f, uint64_t ino, const struct vfs_setattr *sa,
		 struct vfs_attr *out);
int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name, const char *val, size_t len);
/* `imapfs flag`: written with setxattr on a folder, this attribute changes
 * the flags of many of its messages in one flight (one UID STORE with a
 * UID set, two for a "+" and "-" change, and the UID FETCH of their
 * flags). The value: a flags change in
 * user.imap.flags's grammar ("+\Seen", "-\Flagged -$Todo"), or "=" and
 * the flags to set exactly; then, each after a NUL byte, the file names of
 * the messages in that folder: +\Seen NUL 12.eml NUL 13.eml. Every
 * name is looked up before anything is sent, and only UIDs are sent.
 * Not listed, not readable. vfs_flags.c. */
#define VFS_FLAG_XATTR "user.imapfs.flag"
int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name);

#endif
