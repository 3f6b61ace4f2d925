/*
 * cache_write — claiming a key for fetching and storing a body: a writer
 * fills an unnamed file (O_TMPFILE, a temporary name where that is
 * missing) or a memfd, and commit writes the header with the CRC-32C,
 * links the file in under its name, puts the entry in the table and the
 * LRU list and evicts what no longer fits. Waiters on a claim are woken
 * by commit, abort or cache_unclaim.
 */
#include "cache_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

/* ---- claiming and storing ---------------------------------------------- */

static void header_fill(struct cache_hdr *h, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAGIC, 8);
	memcpy(h->mbox, mbox, 16);
	h->uidvalidity = uidvalidity;
	h->uid = uid;
}

/* Where a claimed key K's body goes: the key its claim was mapped to when
 * made (the map is not asked again), or, unclaimed, what the map says
 * now. Into MBOX, *UIDVALIDITY, *UID. Without c->lock. */
static void claimed_key(struct cache *c, const struct cache_key *k, uint8_t mbox[16], uint32_t *uidvalidity,
			uint32_t *uid)
{
	struct cache_key mk;
	struct centry *e = NULL;

	if (c->map != NULL) {
		cache_mbox_id(k->mailbox, mbox);
		pthread_mutex_lock(&c->lock);
		e = cache_claim_of(c, mbox, k->uidvalidity, k->uid);
		if (e != NULL) {
			memcpy(mbox, e->mbox, 16);
			*uidvalidity = e->uidvalidity;
			*uid = e->uid;
		}
		pthread_mutex_unlock(&c->lock);
		if (e != NULL)
			return;
	}
	k = cache_key_of(c, k, &mk);
	cache_mbox_id(k->mailbox, mbox);
	*uidvalidity = k->uidvalidity;
	*uid = k->uid;
}

int cache_claim(struct cache *c, const struct cache_key *k)
{
	struct cache_key mk;
	const struct cache_key *m = cache_key_of(c, k, &mk);
	uint8_t id[16], from[16];
	struct centry *e;
	int rc = 0;

	cache_mbox_id(m->mailbox, id);
	if (c->map != NULL)
		cache_mbox_id(k->mailbox, from);
	pthread_mutex_lock(&c->lock);
	if (*cache_slot(c, id, m->uidvalidity, m->uid) != NULL ||
	    (c->map != NULL && cache_claim_of(c, from, k->uidvalidity, k->uid) != NULL)) {
		rc = -EEXIST;
	} else if ((e = cache_insert(c, id, m->uidvalidity, m->uid)) == NULL) {
		rc = -ENOMEM;
	} else if (c->map != NULL) {
		/* remember what it was claimed as (see c->claims) */
		memcpy(e->from_mbox, from, 16);
		e->from_uidvalidity = k->uidvalidity;
		e->from_uid = k->uid;
		e->aliased = true;
		e->anext = c->claims[k->uid % NCLAIMS];
		if (e->anext != NULL)
			e->anext->aprev = e;
		c->claims[k->uid % NCLAIMS] = e;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_unclaim(struct cache *c, const struct cache_key *k)
{
	uint8_t id[16];
	uint32_t uidvalidity, uid;
	struct centry *e;

	claimed_key(c, k, id, &uidvalidity, &uid);
	pthread_mutex_lock(&c->lock);
	e = *cache_slot(c, id, uidvalidity, uid);
	if (e != NULL && e->state == CE_FETCHING) {
		cache_detach(c, e);
		free(e);
		pthread_cond_broadcast(&c->changed);
	}
	pthread_mutex_unlock(&c->lock);
}

int cache_writer_new(struct cache *c, const struct cache_key *k, struct cache_writer **out)
{
	struct cache_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->c = c;
	{
		uint8_t id[16];
		uint32_t uidvalidity, uid;

		/* the key its claim was made under, mapped once then: the
		 * writer carries it from here on */
		claimed_key(c, k, id, &uidvalidity, &uid);
		header_fill(&w->hdr, id, uidvalidity, uid);
		w->hdr.claim = k->claim;
	}
	if (c->dir == NULL) {
		w->fd = memfd_create("imapfs-body", MFD_CLOEXEC);
	} else {
		char hx[33], tmp[64];

		cache_hex16(w->hdr.mbox, hx);
		/* an unnamed file, linked in at commit: nothing half-written
		 * ever has a name, a crash leaves nothing behind, and the
		 * directory is locked once per body instead of three times.
		 * Names are resolved under the directory checked at mount,
		 * never through a link. */
		w->fd = -1;
		if (!__atomic_load_n(&c->no_tmpfile, __ATOMIC_RELAXED)) {
			w->fd = openat(c->dirfd, hx, O_TMPFILE | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (w->fd < 0 && errno == ENOENT && (mkdirat(c->dirfd, hx, 0700) == 0 || errno == EEXIST))
				w->fd = openat(c->dirfd, hx, O_TMPFILE | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (w->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
				__atomic_store_n(&c->no_tmpfile, true, __ATOMIC_RELAXED);
		}
		if (w->fd < 0 && __atomic_load_n(&c->no_tmpfile, __ATOMIC_RELAXED)) {
			/* a file system without O_TMPFILE: a temporary name */
			if (mkdirat(c->dirfd, hx, 0700) < 0 && errno != EEXIST) {
				rc = -errno;
				log_err("cache: cannot create %s/%s: %s", c->dir, hx, strerror(errno));
				free(w);
				return rc;
			}
			snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX, hx);
			w->tmp = malloc(64);
			if (w->tmp == NULL) {
				free(w);
				return -ENOMEM;
			}
			w->fd = cache_create_excl(c->dirfd, tmp, w->tmp, 64);
			if (w->fd < 0) {
				errno = -w->fd;
				w->fd = -1;
			}
		}
	}
	if (w->fd < 0) {
		rc = -errno;
		log_err("cache: cannot create a file for UID %u: %s", k->uid, strerror(errno));
		free(w->tmp);
		free(w);
		return rc;
	}
	/* the header goes in last, at commit: until then the file is short
	 * of a valid header and never mistaken for a whole body */
	if (lseek(w->fd, CACHE_DATA_OFF, SEEK_SET) < 0)
		w->failed = true;
	*out = w;
	return 0;
}

int cache_writer_add(struct cache_writer *w, const void *data, size_t len)
{
	const char *p = data;

	if (w->failed)
		return -EIO;
	if (w->scattered)
		return cache_writer_pwrite(w, w->len, data, len);
	w->crc = crc32c(w->crc, data, len);
	w->len += len;
	while (len > 0) {
		ssize_t r = write(w->fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? errno : ENOSPC;

			log_err("cache: cannot write a body: %s", strerror(err));
			w->failed = true;
			return -err;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int cache_writer_pwrite(struct cache_writer *w, uint64_t off, const void *data, size_t len)
{
	const char *p = data;
	uint64_t at = off;

	if (w->failed)
		return -EIO;
	if (off == w->len && !w->scattered)
		return cache_writer_add(w, data, len);
	w->scattered = true;
	while (len > 0) {
		ssize_t r = pwrite(w->fd, p, len, (off_t)(CACHE_DATA_OFF + at));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->failed = true;
			return r < 0 ? -errno : -ENOSPC;
		}
		p += r;
		at += (uint64_t)r;
		len -= (size_t)r;
	}
	if (at > w->len)
		w->len = at;
	return 0;
}

uint64_t cache_writer_len(const struct cache_writer *w)
{
	return w->len;
}

ssize_t cache_writer_pread(const struct cache_writer *w, void *buf, size_t len, uint64_t off)
{
	ssize_t r;

	if (w->failed)
		return -EIO;
	if (off >= w->len)
		return 0;
	if (len > w->len - off)
		len = (size_t)(w->len - off);
	do
		r = pread(w->fd, buf, len, (off_t)(CACHE_DATA_OFF + off));
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

void cache_writer_abort(struct cache_writer *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	if (w->tmp != NULL)
		unlinkat(w->c->dirfd, w->tmp, 0);
	free(w->tmp);
	free(w);
}

int cache_writer_commit(struct cache_writer *w, int *fdp)
{
	struct cache *c = w->c;
	struct cache_hdr *h = &w->hdr;
	struct centry *e, *gone = NULL;
	char path[4200];
	bool keep = true;
	int rc = 0;

	if (fdp != NULL)
		*fdp = -1;
	/* written out of order: the checksum comes from reading it back */
	if (w->scattered && !w->failed && cache_body_crc(w->fd, w->len, &w->crc) < 0)
		w->failed = true;
	h->len = w->len;
	h->crc = w->crc;
	h->hcrc = cache_header_crc(h);
	if (w->failed || pwrite(w->fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h)) {
		rc = -EIO;
		goto fail;
	}
	if (fdp != NULL) {
		*fdp = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
		if (*fdp < 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (c->dir != NULL) {
		cache_entry_name(h->mbox, h->uidvalidity, h->uid, path, sizeof(path));
		pthread_mutex_lock(&c->lock);
		e = *cache_slot(c, h->mbox, h->uidvalidity, h->uid);
		keep = e == NULL || e->state == CE_FETCHING;
		pthread_mutex_unlock(&c->lock);
		/* larger than the whole cache: the caller gets its fd, the
		 * cache keeps what it has rather than emptying itself */
		if (w->len + sizeof(*h) > c->max)
			keep = false;
		/* the name appears only now that the file is whole */
		if (keep && w->tmp != NULL && renameat(c->dirfd, w->tmp, c->dirfd, path) < 0) {
			log_err("cache: cannot rename %s/%s: %s", c->dir, w->tmp, strerror(errno));
			keep = false;
		} else if (keep && w->tmp == NULL) {
			char proc[64];

			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
			if (linkat(AT_FDCWD, proc, c->dirfd, path, AT_SYMLINK_FOLLOW) < 0) {
				if (errno != EEXIST)	/* EEXIST: another mount stored it */
					log_err("cache: cannot link %s/%s: %s", c->dir, path, strerror(errno));
				if (errno == ENOENT)	/* no /proc: use names from now on */
					__atomic_store_n(&c->no_tmpfile, true, __ATOMIC_RELAXED);
				keep = false;
			}
		}
		if (!keep && w->tmp != NULL)
			unlinkat(c->dirfd, w->tmp, 0);
		close(w->fd);
		w->fd = -1;
	}
	pthread_mutex_lock(&c->lock);
	e = *cache_slot(c, h->mbox, h->uidvalidity, h->uid);
	if (w->len + sizeof(*h) > c->max)
		keep = false;
	if (keep && (e == NULL || e->state == CE_FETCHING)) {
		if (e == NULL)
			e = cache_insert(c, h->mbox, h->uidvalidity, h->uid);
		if (e != NULL) {
			cache_unalias(c, e);
			e->state = CE_READY;
			e->touched = time(NULL);
			e->bytes = w->len + sizeof(*h);
			e->claim = h->claim;
			e->fd = w->fd;	/* memory mode keeps the memfd */
			w->fd = -1;
			c->bytes += e->bytes;
			cache_lru_push(c, e);
			gone = cache_evict(c);
		}
	} else if (e != NULL && e->state == CE_FETCHING && w->claimed) {
		cache_detach(c, e);
		free(e);
	}
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	cache_drop_list(c, gone);
	if (w->fd >= 0)
		close(w->fd);
	free(w->tmp);
	free(w);
	return 0;
fail:
	if (fdp != NULL && *fdp >= 0) {
		close(*fdp);
		*fdp = -1;
	}
	{
		/* let waiters go and fetch it themselves */
		pthread_mutex_lock(&c->lock);
		e = *cache_slot(c, h->mbox, h->uidvalidity, h->uid);
		if (e != NULL && e->state == CE_FETCHING && w->claimed) {
			cache_detach(c, e);
			free(e);
		}
		pthread_cond_broadcast(&c->changed);
		pthread_mutex_unlock(&c->lock);
	}
	cache_writer_abort(w);
	return rc;
}

bool cache_fits(const struct cache *c, uint64_t len)
{
	return len + CACHE_DATA_OFF <= c->max;
}

void cache_writer_claimed(struct cache_writer *w)
{
	w->claimed = true;
}
