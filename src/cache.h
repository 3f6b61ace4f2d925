/*
 * cache — message bodies kept so that reading them again costs no IMAP
 * traffic. A body never changes for one (mailbox, UIDVALIDITY, UID), so an
 * entry never needs refreshing: it is either there and whole, or absent.
 *
 * One exception: servers that keep mail in mbox files rewrite a message's
 * Status: and X-Status: headers under the same UID (RFC 3501 forbids it).
 * Each entry remembers the RFC822.SIZE the server claimed when it was
 * stored; a lookup with another claim finds it stale, so a changed size
 * means a fresh fetch (the same size with other bytes is not noticed).
 *
 * cache=yes (default): files on disk that outlive the mount,
 *   DIR/ACCOUNT/MBOX/UIDVALIDITY.UID
 * where ACCOUNT is "user@host:port" (unsafe bytes %-escaped) and MBOX is
 * the hex of the first 16 bytes of SHA-256(mailbox name). Directories are
 * 0700, files 0600. Each file is a 64-byte header (magic, key, body
 * length, CRC-32C of the body and of the header) then the body. A file is
 * written unnamed (O_TMPFILE; a temporary name where that is missing) and
 * linked in under its name when complete, and checked
 * (header, length, checksum) every time it is opened, so a torn, short,
 * damaged or altered file is never served: it is deleted and the body is
 * fetched again. The total size is kept under max_bytes by evicting the
 * least recently used files (the order survives remounts through the
 * files' mtimes, touched on use).
 * cache=no: the same entries in anonymous memory (memfd), bounded by
 * max_bytes, gone at unmount; nothing touches the disk.
 *
 * Fetching is coordinated here: a thread about to fetch a body claims its
 * key; others asking for it meanwhile wait for the result instead of
 * fetching it again (prefetch and a reader meet this way).
 *
 * Where: DIR/ACCOUNT is walked at mount one directory at a time without
 * trusting names (cache_dir_open) and then held open; every entry is
 * reached from that descriptor, so a directory renamed or swapped for a
 * link afterwards changes nothing.
 *
 * Thread-safe. cache.lock guards the entry table, the LRU list, the totals
 * and every entry; it is a leaf lock and is never held across file I/O.
 * Ownership: fds handed out belong to the caller; struct cache_writer
 * belongs to whoever created it until commit or abort.
 */
#ifndef IMAPFS_CACHE_H
#define IMAPFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cache;
struct cache_writer;

struct cache_key {
	const char *mailbox;	/* raw server name */
	uint32_t uidvalidity;
	uint32_t uid;
	uint32_t claim;		/* the RFC822.SIZE the server gives now, 0 unknown (see cache_get) */
};

/*
 * Keys that name one body under several names (Gmail: one message shown
 * in many folders, gmail.h): MAP may rewrite *OUT (a copy of IN) to the
 * one key the body is kept under; its mailbox string must outlive the
 * cache. cache_get and cache_claim call it first, without cache.lock
 * held, so callers of those must hold no lock MAP takes. A claim is
 * mapped once, when made: cache_unclaim and cache_writer_new of a key
 * that is claimed use what the key was mapped to then, never ask MAP
 * again (what a key stands for may change meanwhile: the message left
 * the folder, and a claim left behind under another key would keep its
 * waiters waiting for ever); for a key not claimed they ask MAP. Set
 * once, before other threads use the cache.
 */
typedef void cache_key_map(void *ctx, const struct cache_key *in, struct cache_key *out);
void cache_set_key_map(struct cache *c, cache_key_map *map, void *ctx);

/* The body starts at this offset in every fd the cache hands out. */
#define CACHE_DATA_OFF 64

/* Memory mode keeps at most this much, whatever max_bytes says. */
#define CACHE_MEM_MAX (32ULL << 20)

/*
 * DIR NULL: memory mode. Otherwise DIR/ACCOUNT is opened with
 * cache_dir_open (created 0700 where missing) and scanned for existing
 * entries; temporary files left by a crash are removed. -errno with one
 * line in ERR on failure (-EPERM: the path is not safe), nothing logged.
 */
int cache_new(const char *dir, const char *account, uint64_t max_bytes, struct cache **out,
	      char *err, unsigned errlen);
void cache_free(struct cache *c);

/* The default directory: $XDG_CACHE_HOME/imapfs or $HOME/.cache/imapfs,
 * into BUF; -ENOENT when neither is an absolute path (no guess under a
 * shared directory such as /tmp). */
int cache_default_dir(char *buf, size_t len);

/*
 * The directory PATH (absolute), like mkdir -p with new levels 0700, as
 * an O_RDONLY descriptor in *FD (the caller's). Like OpenSSH's StrictModes,
 * refused with -EPERM and one line in ERR unless, walking from / one
 * level at a time (openat with O_NOFOLLOW, checks made on the directory
 * held, not on its name):
 *   - every directory on the way belongs to root or to us (geteuid) and
 *     is not writable by group or others, except that a root-owned
 *     sticky directory such as /tmp may be (only an entry's owner can
 *     rename or remove it there, and the entry is checked next);
 *   - a symbolic link on the way belongs to root or to us; it is then
 *     followed and what it points to is checked the same way;
 *   - PATH itself belongs to us and is not writable by group or others;
 *     read or search bits for them are taken away (chmod 700).
 * Other failures: -errno with a line in ERR.
 */
int cache_dir_open(const char *path, int *fd, char *err, unsigned errlen);

/* A new file PREFIX + 16 random hex digits under DIRFD, O_EXCL and
 * O_NOFOLLOW, mode 0600; its name into NAME. The fd, or -errno. */
int cache_create_excl(int dirfd, const char *prefix, char *name, size_t len);

/*
 * The body of K: 0 with *FD (the caller's; body at CACHE_DATA_OFF) and its
 * length in *LEN, or -ENOENT. With WAIT, a body another thread is fetching
 * is waited for. A damaged file is logged, deleted, and reported as absent.
 * So is a stale one: K->claim is not 0 and differs from the claim the body
 * was stored with (or, stored without one, from the body's length).
 * Writers store K->claim with the body.
 */
int cache_get(struct cache *c, const struct cache_key *k, bool wait, int *fd, uint64_t *len);
/* cache_get without waiting, for a look ahead of any reader: a body that
 * is not there (yet) is not counted as a miss. */
int cache_peek(struct cache *c, const struct cache_key *k, int *fd, uint64_t *len);

/* Claim K for fetching: 0 when the caller must end with a writer's
 * commit (cache_writer_claimed) or cache_unclaim; -EEXIST when it is cached or another
 * thread is fetching it. */
int cache_claim(struct cache *c, const struct cache_key *k);
void cache_unclaim(struct cache *c, const struct cache_key *k);

/* A body, written in pieces, kept once committed (waiters are woken).
 * commit checks nothing about completeness: the caller commits only a
 * whole body. With FD non-NULL, commit gives *FD, an fd of the stored
 * body for the caller (valid even if eviction drops the entry at once,
 * e.g. a body larger than the whole cache). Commit and abort free W. */
int cache_writer_new(struct cache *c, const struct cache_key *k, struct cache_writer **out);
int cache_writer_add(struct cache_writer *w, const void *data, size_t len);
/* Bytes at OFF, in any order (the kernel's parallel read-ahead): the
 * checksum is then computed at commit. */
int cache_writer_pwrite(struct cache_writer *w, uint64_t off, const void *data, size_t len);
/* The end of the furthest byte written. */
uint64_t cache_writer_len(const struct cache_writer *w);
/* Read back up to LEN bytes at OFF of what W holds so far (the parts view
 * serves a part while it is being decoded): the count, or -errno. */
ssize_t cache_writer_pread(const struct cache_writer *w, void *buf, size_t len, uint64_t off);
/* The writer's creator holds the claim on its key (cache_claim): a
 * failed commit gives the claim up. Writers without it never touch
 * another thread's claim. */
void cache_writer_claimed(struct cache_writer *w);
/* Would a body of LEN bytes be kept at all? */
bool cache_fits(const struct cache *c, uint64_t len);
int cache_writer_commit(struct cache_writer *w, int *fd);
void cache_writer_abort(struct cache_writer *w);

/* Mailboxes' listings kept beside the bodies (cache_listing.c; their
 * bytes are listing.h's): put replaces MAILBOX's whole, crash-safe (0, or
 * -errno and a log line); get gives a malloc'd copy (-ENOENT when there is
 * none, or in memory mode; -EPERM when the file is not a private one of
 * ours); drop removes it. No cache.lock: files of their own. */
int cache_listing_put(struct cache *c, const char *mailbox, const void *data, size_t len);
int cache_listing_get(struct cache *c, const char *mailbox, char **data, size_t *len);
void cache_listing_drop(struct cache *c, const char *mailbox);
/* The account's state (acctstate.h), kept the same way beside them. */
int cache_acct_put(struct cache *c, const void *data, size_t len);
int cache_acct_get(struct cache *c, char **data, size_t *len);
void cache_acct_drop(struct cache *c);

struct cache_stats {
	bool disk;
	char dir[512];		/* the account's directory, "" in memory mode */
	uint64_t bytes, max;	/* in use (headers included) and the limit */
	uint64_t entries;
	uint64_t hits, misses, evicted, damaged;
	uint64_t stale;		/* dropped: the server's RFC822.SIZE for them moved */
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
