/*
 * cache_internal — what the cache*.c files share: the file header, the
 * entries, struct cache and struct cache_writer, and the helpers each
 * file needs from the others. Internal to src/: everything outside sees
 * only cache.h.
 *
 * In memory: a hash table of entries keyed by (mailbox id, UIDVALIDITY,
 * UID), and one LRU list of the entries that hold a body. An entry is
 * either FETCHING (claimed, no body yet: waiters sleep on c->changed) or
 * READY. All file I/O (writing, checking, unlinking) happens with the lock
 * dropped; an entry carries a serial number so that work done without the
 * lock can tell whether the entry it looked at is still the same one.
 *
 * Who does what: cache.c keeps the table, the LRU list and eviction, scans
 * an existing cache at mount and sets up and frees struct cache;
 * cache_dir.c finds and checks the directory; cache_read.c checks a file
 * and serves a body (cache_get); cache_write.c claims keys and stores
 * bodies. Locks as in cache.h: cache.lock guards the table, the LRU list,
 * the totals, the claims and every entry; it is a leaf lock, never held
 * across file I/O.
 */
#ifndef IMAPFS_CACHE_INTERNAL_H
#define IMAPFS_CACHE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define MAGIC "IMAPFSB1"
#define TMP_PREFIX "tmp."
#define TMP_MAX_AGE 3600	/* a temporary file this old was left by a crash */
#define TOUCH_EVERY 60		/* seconds between mtime updates of a file in use */

struct cache_hdr {
	char magic[8];
	uint8_t mbox[16];
	uint32_t uidvalidity;
	uint32_t uid;
	uint64_t len;		/* body bytes after the header */
	uint32_t crc;		/* CRC-32C of the body */
	uint32_t hcrc;		/* CRC-32C of the header up to here */
	/* the key's RFC822.SIZE claim when stored, 0 unknown; outside hcrc so
	 * that files written before it existed (zero here) stay good: a wrong
	 * value costs a fetch, never wrong bytes (the body has its CRC) */
	uint32_t claim;
	uint8_t pad[12];
};
_Static_assert(sizeof(struct cache_hdr) == CACHE_DATA_OFF, "cache header size");

enum centry_state { CE_FETCHING, CE_READY };

struct centry {
	uint8_t mbox[16];
	uint32_t uidvalidity, uid;
	enum centry_state state;
	uint64_t bytes;		/* file size (header included), READY only */
	uint32_t claim;		/* memory mode: the header's claim (disk: read from the file) */
	uint64_t serial;
	int64_t touched;	/* when the file's mtime was last set (seconds) */
	int fd;			/* memory mode: the memfd; -1 on disk */
	struct centry *hnext;	/* hash chain */
	struct centry *prev, *next;	/* LRU, READY only; head = most recent */
	/* FETCHING with a key map: the key it was claimed under, before
	 * mapping (cache_claim), on the list c->claims[from_uid % NCLAIMS] */
	bool aliased;
	uint8_t from_mbox[16];
	uint32_t from_uidvalidity, from_uid;
	struct centry *aprev, *anext;
};

/* Buckets of the claims made through a key map (a few hundred at most:
 * prefetch's read-ahead bounds them). */
#define NCLAIMS 64

struct cache {
	char *dir;		/* DIR/ACCOUNT, NULL in memory mode, for messages; immutable */
	int dirfd;		/* that directory, as checked at mount (-1 in memory):
				 * every name is resolved under it, so that nothing
				 * done to the path afterwards redirects the cache */
	uint64_t max;		/* immutable */
	bool no_tmpfile;	/* O_TMPFILE or /proc unusable here; __atomic access */
	pthread_mutex_t lock;
	pthread_cond_t changed;	/* an entry left FETCHING */
	struct centry **tab;	/* guarded by lock */
	size_t tabsize, n;
	struct centry *lru_head, *lru_tail;
	uint64_t bytes, serial;
	uint64_t hits, misses, evicted, damaged, stale;
	cache_key_map *map;	/* cache_set_key_map; set before threads, immutable */
	void *map_ctx;
	/* guarded by lock: FETCHING entries claimed through MAP, found by the
	 * caller's key. The map is asked once, at claim time: what the key
	 * stands for may change before the fetch ends (Gmail: the message
	 * leaves the folder), and the claim must be ended where it was made,
	 * or waiters on it would wait for ever. */
	struct centry *claims[NCLAIMS];
};

struct cache_writer {
	struct cache *c;
	struct cache_hdr hdr;
	char *tmp;		/* disk, without O_TMPFILE: the temporary name under dirfd */
	int fd;
	uint32_t crc;		/* of bytes 0..len, while in order */
	uint64_t len;		/* end of the furthest byte written */
	bool scattered;		/* written out of order: crc is computed at commit */
	bool claimed;		/* its creator claimed the key: a failure gives the claim up */
	bool failed;
};

/* ---- cache.c, called without cache.lock ------------------------------- */

/* The key K stands for: K itself, or *TMP filled in by the key map. */
const struct cache_key *cache_key_of(const struct cache *c, const struct cache_key *k, struct cache_key *tmp);
/* The first 16 bytes of SHA-256(MAILBOX): the mailbox's id. */
void cache_mbox_id(const char *mailbox, uint8_t out[16]);
void cache_hex16(const uint8_t id[16], char out[33]);
/* MBOX/UIDVALIDITY.UID under c->dirfd; the same with c->dir in front. */
void cache_entry_name(const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid, char *buf, size_t len);
void cache_entry_path(const struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity,
		      uint32_t uid, char *buf, size_t len);
/* Closes or deletes the entries of a list cache_detach or cache_evict
 * left, and frees them. */
void cache_drop_list(struct cache *c, struct centry *list);

/* ---- cache_read.c, no lock needed -------------------------------------- */

/* The CRC-32C of a file header, and of the LEN body bytes of file FD. */
uint32_t cache_header_crc(const struct cache_hdr *h);
int cache_body_crc(int fd, uint64_t len, uint32_t *crc);

/* ---- cache.c, with cache.lock held ------------------------------------ */

/* Where the entry of (MBOX, UIDVALIDITY, UID) is in its hash chain, or
 * the NULL link at the chain's end. */
struct centry **cache_slot(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid);
/* A new FETCHING entry (NULL: out of memory). */
struct centry *cache_insert(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid);
void cache_lru_unlink(struct cache *c, struct centry *e);
void cache_lru_push(struct cache *c, struct centry *e);
/* E's claim through the key map has ended (see struct cache.claims). */
void cache_unalias(struct cache *c, struct centry *e);
/* The FETCHING entry claimed under the unmapped key, or NULL. */
struct centry *cache_claim_of(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid);
/* Out of the table (and the LRU list and the totals when READY); the
 * caller frees E, or hands it to cache_drop_list after unlocking. */
void cache_detach(struct cache *c, struct centry *e);
/* Detaches least recently used entries until the total fits: a list
 * (through hnext) for cache_drop_list. */
struct centry *cache_evict(struct cache *c);

#endif
