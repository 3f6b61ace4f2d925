/*
 * cache_read — serving a body from the cache (cache_get, cache_peek): the entry is
 * looked up under cache.lock, its file opened and checked without it
 * (header, length, CRC-32C of the whole body, every time), and a
 * damaged, vanished or stale file leaves the table and the disk. The
 * CRC helpers here serve cache_write.c's commit too.
 */
#include "cache_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

/* ---- reading ----------------------------------------------------------- */

uint32_t cache_header_crc(const struct cache_hdr *h)
{
	return crc32c(0, h, offsetof(struct cache_hdr, hcrc));
}

/* CRC-32C of the LEN body bytes of the cache file FD. */
int cache_body_crc(int fd, uint64_t len, uint32_t *crc)
{
	static const size_t chunk = 256 * 1024;
	char *buf = malloc(chunk);
	uint64_t off = 0;

	if (buf == NULL)
		return -ENOMEM;
	*crc = 0;
	while (off < len) {
		size_t want = len - off < chunk ? (size_t)(len - off) : chunk;
		ssize_t r = pread(fd, buf, want, (off_t)(CACHE_DATA_OFF + off));

		if (r <= 0) {
			free(buf);
			return -EIO;
		}
		*crc = crc32c(*crc, buf, (size_t)r);
		off += (uint64_t)r;
	}
	free(buf);
	return 0;
}

/* Check an entry's file against its key: header, length, checksum. 0, or
 * a reason in WHY. */
static int check_file(int fd, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid,
		      uint64_t *len, uint32_t *claim, const char **why)
{
	struct cache_hdr h;
	struct stat st;
	uint32_t crc;
	int rc;

	if (fstat(fd, &st) < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		*why = "shorter than its header";
		return -EIO;
	}
	if (memcmp(h.magic, MAGIC, 8) != 0 || h.hcrc != cache_header_crc(&h)) {
		*why = "bad header";
		return -EIO;
	}
	if (memcmp(h.mbox, mbox, 16) != 0 || h.uidvalidity != uidvalidity || h.uid != uid) {
		*why = "header names another message";
		return -EIO;
	}
	if ((uint64_t)st.st_size != h.len + sizeof(h)) {
		*why = "length does not match its header (torn write?)";
		return -EIO;
	}
	rc = cache_body_crc(fd, h.len, &crc);
	if (rc < 0) {
		*why = "read error";
		return rc;
	}
	if (crc != h.crc) {
		*why = "checksum mismatch";
		return -EIO;
	}
	*len = h.len;
	*claim = h.claim;
	return 0;
}

/* Was the body of K (LEN bytes, stored under CLAIM) stored for other bytes
 * than the server now has? Only a moved claim tells: RFC822.SIZE may
 * differ from the real length for good (servers count line ends their own
 * way), so the length is compared only for files stored without a claim. */
static bool stale(const struct cache_key *k, uint32_t claim, uint64_t len)
{
	if (k->claim == 0)
		return false;
	return claim != 0 ? claim != k->claim : len != k->claim;
}

static void log_stale(const struct cache_key *k, uint32_t claim, uint64_t len)
{
	if (claim != 0)
		log_warn("cache: %s UID %u: the server's RFC822.SIZE is now %u, it was %u when the "
			 "message was cached: it changed on the server under the same UID; fetching it "
			 "again", k->mailbox, k->uid, k->claim, claim);
	else
		log_warn("cache: %s UID %u: the server's RFC822.SIZE is now %u, the cached copy has %"
			 PRIu64 " bytes: it changed on the server under the same UID; fetching it again",
			 k->mailbox, k->uid, k->claim, len);
}

/* cache_get, and cache_peek with QUIET: an absent body is no miss. */
static int get(struct cache *c, const struct cache_key *k, bool wait, bool quiet, int *fdp, uint64_t *lenp)
{
	struct cache_key mk;
	uint8_t id[16];
	struct centry *e;
	uint64_t serial, len = 0;
	uint32_t claim = 0;
	bool touch, damaged = false, old = false;
	int64_t now = time(NULL);
	int fd = -1, rc;
	const char *why = NULL;
	char path[4200], name[64];

	k = cache_key_of(c, k, &mk);
	cache_mbox_id(k->mailbox, id);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		e = *cache_slot(c, id, k->uidvalidity, k->uid);
		if (e == NULL || e->state == CE_READY || !wait)
			break;
		pthread_cond_wait(&c->changed, &c->lock);
	}
	if (e == NULL || e->state != CE_READY) {
		if (!quiet)
			c->misses++;
		pthread_mutex_unlock(&c->lock);
		return -ENOENT;
	}
	cache_lru_unlink(c, e);
	cache_lru_push(c, e);
	serial = e->serial;
	touch = now - e->touched > TOUCH_EVERY;
	if (touch)
		e->touched = now;
	if (e->fd >= 0) {
		/* memory: nothing can damage it */
		len = e->bytes - CACHE_DATA_OFF;
		if (stale(k, e->claim, len)) {
			claim = e->claim;
			cache_detach(c, e);
			c->misses++;
			c->stale++;
			pthread_mutex_unlock(&c->lock);
			log_stale(k, claim, len);
			e->hnext = NULL;
			cache_drop_list(c, e);
			return -ENOENT;
		}
		fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
		if (fd >= 0)
			c->hits++;
		pthread_mutex_unlock(&c->lock);
		if (fd < 0)
			return -errno;
		*fdp = fd;
		*lenp = len;
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	cache_entry_name(id, k->uidvalidity, k->uid, name, sizeof(name));
	fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* gone (someone cleaned the directory): a plain miss; out of
		 * fds or the like: a miss too, and the file stays */
		rc = -errno;
		why = strerror(errno);
	} else {
		/* every open checks the whole body, not only the first: a
		 * file changed since (same length, other bytes) is never
		 * served, and CRC-32C costs far less than the read itself */
		rc = check_file(fd, id, k->uidvalidity, k->uid, &len, &claim, &why);
		damaged = rc == -EIO;
		if (rc == 0 && stale(k, claim, len)) {
			old = true;
			rc = -ESTALE;
		}
	}
	if (rc == 0 && touch) {
		/* the mtime carries the LRU order over to the next mount (to
		 * the minute: a write per open would cost more than it tells) */
		futimens(fd, (const struct timespec[2]){ { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_NOW } });
	}

	pthread_mutex_lock(&c->lock);
	e = *cache_slot(c, id, k->uidvalidity, k->uid);
	if (e == NULL || e->serial != serial) {
		/* evicted or replaced meanwhile: an fd we opened is still good */
		e = NULL;
	}
	if (rc == 0) {
		c->hits++;
	} else {
		c->misses++;
		/* a damaged or vanished file leaves the index; only a damaged
		 * one that is still this entry's is deleted */
		if (e != NULL && e->state == CE_READY && (damaged || old || rc == -ENOENT)) {
			cache_detach(c, e);
			free(e);
		} else {
			damaged = old = false;
		}
		if (damaged)
			c->damaged++;
		if (old)
			c->stale++;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		/* the full path only for the log: formatting it costs more
		 * than the open when the kernel has the body already */
		cache_entry_path(c, id, k->uidvalidity, k->uid, path, sizeof(path));
		if (damaged) {
			log_warn("cache: %s: %s; fetching the message again", path, why);
			unlinkat(c->dirfd, name, 0);
		} else if (old) {
			log_stale(k, claim, len);
			unlinkat(c->dirfd, name, 0);
		} else if (rc != -ENOENT && rc != -ESTALE) {
			log_warn("cache: cannot use %s: %s; fetching the message instead", path, why);
		}
		return -ENOENT;
	}
	*fdp = fd;
	*lenp = len;
	return 0;
}

int cache_get(struct cache *c, const struct cache_key *k, bool wait, int *fdp, uint64_t *lenp)
{
	return get(c, k, wait, false, fdp, lenp);
}

int cache_peek(struct cache *c, const struct cache_key *k, int *fdp, uint64_t *lenp)
{
	return get(c, k, false, true, fdp, lenp);
}
