/*
 * cache — message bodies kept so that reading them again costs no IMAP
 * traffic. A body never changes for one (mailbox, UIDVALIDITY, UID), so an
 * entry never needs refreshing: it is either there and whole, or absent.
 *
 * cache=yes (default): files on disk that outlive the mount,
 *   DIR/ACCOUNT/MBOX/UIDVALIDITY.UID
 * where ACCOUNT is "user@host:port" (unsafe bytes %-escaped) and MBOX is
 * the hex of the first 16 bytes of SHA-256(mailbox name). Directories are
 * 0700, files 0600. Each file is a 64-byte header (magic, key, body
 * length, CRC-32C of the body and of the header) then the body. A file is
 * written unnamed (O_TMPFILE; a temporary name where that is missing) and
 * linked in under its name when complete, and checked
 * (header, length, checksum) the first time a mount uses it, so a torn,
 * short or damaged file is never served: it is deleted and the body is
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

struct cache;
struct cache_writer;

struct cache_key {
	const char *mailbox;	/* raw server name */
	uint32_t uidvalidity;
	uint32_t uid;
};

/* The body starts at this offset in every fd the cache hands out. */
#define CACHE_DATA_OFF 64

/* Memory mode keeps at most this much, whatever max_bytes says. */
#define CACHE_MEM_MAX (32ULL << 20)

/*
 * DIR NULL: memory mode. Otherwise DIR/ACCOUNT is created (0700, must be
 * ours) and scanned for existing entries; temporary files left by a crash
 * are removed. -errno with a log line on failure.
 */
int cache_new(const char *dir, const char *account, uint64_t max_bytes, struct cache **out);
void cache_free(struct cache *c);

/* The default directory: $XDG_CACHE_HOME/imapfs or ~/.cache/imapfs, into
 * BUF. */
void cache_default_dir(char *buf, size_t len);

/* mkdir -p PATH, new levels 0700; the last level must be a directory of
 * ours and is made 0700 if it is not. -errno (logged). */
int cache_private_dir(const char *path);

/*
 * The body of K: 0 with *FD (the caller's; body at CACHE_DATA_OFF) and its
 * length in *LEN, or -ENOENT. With WAIT, a body another thread is fetching
 * is waited for. A damaged file is logged, deleted, and reported as absent.
 */
int cache_get(struct cache *c, const struct cache_key *k, bool wait, int *fd, uint64_t *len);

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
/* The writer's creator holds the claim on its key (cache_claim): a
 * failed commit gives the claim up. Writers without it never touch
 * another thread's claim. */
void cache_writer_claimed(struct cache_writer *w);
/* Would a body of LEN bytes be kept at all? */
bool cache_fits(const struct cache *c, uint64_t len);
int cache_writer_commit(struct cache_writer *w, int *fd);
void cache_writer_abort(struct cache_writer *w);

struct cache_stats {
	bool disk;
	char dir[512];		/* the account's directory, "" in memory mode */
	uint64_t bytes, max;	/* in use (headers included) and the limit */
	uint64_t entries;
	uint64_t hits, misses, evicted, damaged;
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
