/*
 * cache — the body cache (see cache.h for the layout and the contract,
 * cache_internal.h for the data structures and how the files split the
 * work): the keys and the names of the files, the table of entries, the
 * LRU list and eviction, the scan of an existing cache at mount, setup,
 * teardown and the statistics.
 */
#include "cache_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "log.h"

/* ---- keys and names ---------------------------------------------------- */

void cache_set_key_map(struct cache *c, cache_key_map *map, void *ctx)
{
	c->map = map;
	c->map_ctx = ctx;
}

/* The key K stands for (cache_set_key_map): K itself, or *TMP filled in.
 * Called without c->lock: the map takes the caller's locks. */
const struct cache_key *cache_key_of(const struct cache *c, const struct cache_key *k, struct cache_key *tmp)
{
	if (c->map == NULL)
		return k;
	*tmp = *k;
	c->map(c->map_ctx, k, tmp);
	return tmp;
}

void cache_mbox_id(const char *mailbox, uint8_t out[16])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)mailbox, strlen(mailbox), md);
	memcpy(out, md, 16);
}

void cache_hex16(const uint8_t id[16], char out[33])
{
	static const char hex[] = "0123456789abcdef";

	/* by hand: on every open that reaches the cache, 16 snprintf calls
	 * showed in the profile */
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[32] = '\0';
}

static bool unhex16(const char *s, uint8_t id[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return strlen(s) == 32;
}

static size_t hash_key(const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h;

	memcpy(&h, mbox, 8);
	h ^= (uint64_t)uidvalidity * 0x9E3779B97F4A7C15ULL;
	h ^= (uint64_t)uid * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	return (size_t)h;
}

/* MBOX/UIDVALIDITY.UID, the entry's name under c->dirfd. */
void cache_entry_name(const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid, char *buf, size_t len)
{
	char hx[33];

	cache_hex16(mbox, hx);
	snprintf(buf, len, "%s/%" PRIu32 ".%" PRIu32, hx, uidvalidity, uid);
}

/* The same with the directory in front, for messages. */
void cache_entry_path(const struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity,
		       uint32_t uid, char *buf, size_t len)
{
	char name[64];

	cache_entry_name(mbox, uidvalidity, uid, name, sizeof(name));
	snprintf(buf, len, "%s/%s", c->dir, name);
}

/* ---- the table (lock held) --------------------------------------------- */

struct centry **cache_slot(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	struct centry **pp = &c->tab[hash_key(mbox, uidvalidity, uid) & (c->tabsize - 1)];

	while (*pp != NULL && !((*pp)->uid == uid && (*pp)->uidvalidity == uidvalidity &&
				memcmp((*pp)->mbox, mbox, 16) == 0))
		pp = &(*pp)->hnext;
	return pp;
}

static int grow(struct cache *c)
{
	size_t nsize = c->tabsize ? c->tabsize * 2 : 1024;
	struct centry **nt = calloc(nsize, sizeof(*nt));

	if (nt == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->tabsize; i++) {
		struct centry *e = c->tab[i], *next;

		for (; e != NULL; e = next) {
			size_t h = hash_key(e->mbox, e->uidvalidity, e->uid) & (nsize - 1);

			next = e->hnext;
			e->hnext = nt[h];
			nt[h] = e;
		}
	}
	free(c->tab);
	c->tab = nt;
	c->tabsize = nsize;
	return 0;
}

struct centry *cache_insert(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	struct centry *e, **pp;

	if (c->n + 1 > c->tabsize && grow(c) < 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	memcpy(e->mbox, mbox, 16);
	e->uidvalidity = uidvalidity;
	e->uid = uid;
	e->fd = -1;
	e->serial = ++c->serial;
	pp = cache_slot(c, mbox, uidvalidity, uid);
	e->hnext = *pp;
	*pp = e;
	c->n++;
	return e;
}

void cache_lru_unlink(struct cache *c, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

void cache_lru_push(struct cache *c, struct centry *e)
{
	e->prev = NULL;
	e->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

/* E's claim has ended: it no longer answers for the key it was claimed
 * under. */
void cache_unalias(struct cache *c, struct centry *e)
{
	if (!e->aliased)
		return;
	if (e->aprev != NULL)
		e->aprev->anext = e->anext;
	else
		c->claims[e->from_uid % NCLAIMS] = e->anext;
	if (e->anext != NULL)
		e->anext->aprev = e->aprev;
	e->aprev = e->anext = NULL;
	e->aliased = false;
}

/* The FETCHING entry claimed under the unmapped key (MBOX, UIDVALIDITY,
 * UID), or NULL. */
struct centry *cache_claim_of(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	struct centry *e = c->claims[uid % NCLAIMS];

	while (e != NULL && !(e->from_uid == uid && e->from_uidvalidity == uidvalidity &&
			      memcmp(e->from_mbox, mbox, 16) == 0))
		e = e->anext;
	return e;
}

/* Take E out of the table (and the LRU and the totals when READY); the
 * caller frees it, after closing or unlinking outside the lock. */
void cache_detach(struct cache *c, struct centry *e)
{
	struct centry **pp = cache_slot(c, e->mbox, e->uidvalidity, e->uid);

	if (*pp == e)
		*pp = e->hnext;
	c->n--;
	cache_unalias(c, e);
	if (e->state == CE_READY) {
		cache_lru_unlink(c, e);
		c->bytes -= e->bytes;
	}
}

/* Detach least recently used entries until the total fits; returns them
 * as a list (through hnext) to be removed outside the lock. */
struct centry *cache_evict(struct cache *c)
{
	struct centry *out = NULL;

	while (c->bytes > c->max && c->lru_tail != NULL) {
		struct centry *e = c->lru_tail;

		cache_detach(c, e);
		c->evicted++;
		e->hnext = out;
		out = e;
	}
	return out;
}

/* Delete the files (or close the memfds) of a detached list. */
void cache_drop_list(struct cache *c, struct centry *list)
{
	while (list != NULL) {
		struct centry *next = list->hnext;
		char path[4200];

		if (list->fd >= 0) {
			close(list->fd);
		} else if (c->dir != NULL) {
			cache_entry_name(list->mbox, list->uidvalidity, list->uid, path, sizeof(path));
			if (unlinkat(c->dirfd, path, 0) < 0 && errno != ENOENT)
				log_warn("cache: cannot remove %s/%s: %s", c->dir, path, strerror(errno));
		}
		free(list);
		list = next;
	}
}

/* ---- scanning an existing cache at mount ------------------------------- */

struct scanned {
	struct centry *e;
	int64_t stamp;
};

static int by_stamp(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

static void scan_mailbox(struct cache *c, const char *name, struct scanned **v, size_t *n, size_t *cap)
{
	uint8_t id[16];
	struct dirent *de;
	struct stat dst;
	DIR *d;
	int dfd;
	time_t now = time(NULL);

	if (!unhex16(name, id))
		return;
	/* only a directory of ours (a link here was not made by imapfs) */
	dfd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (fstat(dfd, &dst) < 0 || dst.st_uid != geteuid() || (dst.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warn("cache: %s/%s is not a private directory of yours; not using it", c->dir, name);
		close(dfd);
		return;
	}
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		uint32_t uv, uid;
		struct stat st;
		char tail;
		struct centry *e;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			/* left by a crash (or another mount writing right now:
			 * hence the age) */
			if (now - st.st_mtime > TMP_MAX_AGE)
				unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (sscanf(de->d_name, "%" SCNu32 ".%" SCNu32 "%c", &uv, &uid, &tail) != 2)
			continue;
		{
			char canon[32];

			/* only our own spelling ("01.5" or "+1.5" would be a
			 * second entry for one key) */
			snprintf(canon, sizeof(canon), "%" PRIu32 ".%" PRIu32, uv, uid);
			if (strcmp(canon, de->d_name) != 0)
				continue;
		}
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;
			struct scanned *nv = realloc(*v, ncap * sizeof(**v));

			if (nv == NULL)
				break;
			*v = nv;
			*cap = ncap;
		}
		e = cache_insert(c, id, uv, uid);
		if (e == NULL)
			break;
		e->state = CE_READY;
		e->bytes = (uint64_t)st.st_size;
		e->touched = st.st_mtime;
		(*v)[*n].e = e;
		(*v)[*n].stamp = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		(*n)++;
	}
	closedir(d);
}

static void scan(struct cache *c)
{
	struct scanned *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct centry *gone;
	int fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			scan_mailbox(c, de->d_name, &v, &n, &cap);
	closedir(d);
	/* oldest first onto the front: the newest ends up at the head */
	if (n > 0)
		qsort(v, n, sizeof(*v), by_stamp);
	for (size_t i = 0; i < n; i++) {
		cache_lru_push(c, v[i].e);
		c->bytes += v[i].e->bytes;
	}
	free(v);
	gone = cache_evict(c);	/* cache_size may have been lowered */
	cache_drop_list(c, gone);
	log_debug("cache: %s: %zu bodies, %" PRIu64 " bytes", c->dir, c->n, c->bytes);
}

/* ---- setup ------------------------------------------------------------- */

int cache_new(const char *dir, const char *account, uint64_t max_bytes, struct cache **out,
	      char *err, unsigned errlen)
{
	struct cache *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	snprintf(err, errlen, "out of memory");
	if (c == NULL)
		return -ENOMEM;
	c->dirfd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	c->max = max_bytes;
	if (grow(c) < 0)
		goto fail;
	if (dir != NULL) {
		size_t len = strlen(dir) + 3 * strlen(account) + 2;
		char *p;

		c->dir = malloc(len);
		if (c->dir == NULL)
			goto fail;
		p = c->dir + snprintf(c->dir, len, "%s/", dir);
		/* the account as a readable file name: %-escape all but a
		 * safe set (no '/', no leading dot) */
		for (const char *a = account; *a; a++) {
			unsigned char ch = (unsigned char)*a;

			if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '@' || ch == '-' || ch == '_' || ch == '+' || ch == ':' || (ch == '.' && a != account))
				*p++ = (char)ch;
			else
				p += sprintf(p, "%%%02X", ch);
		}
		*p = '\0';
		rc = cache_dir_open(c->dir, &c->dirfd, err, errlen);
		if (rc < 0)
			goto fail;
		scan(c);
	} else {
		if (c->max > CACHE_MEM_MAX)
			c->max = CACHE_MEM_MAX;
	}
	*out = c;
	return 0;
fail:
	if (c->dirfd >= 0)
		close(c->dirfd);
	free(c->dir);
	free(c->tab);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
	return rc;
}

void cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->tabsize; i++) {
		struct centry *e = c->tab[i], *next;

		for (; e != NULL; e = next) {
			next = e->hnext;
			if (e->fd >= 0)
				close(e->fd);
			free(e);
		}
	}
	free(c->tab);
	free(c->dir);
	if (c->dirfd >= 0)
		close(c->dirfd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->disk = c->dir != NULL;
	if (c->dir != NULL)
		snprintf(out->dir, sizeof(out->dir), "%s", c->dir);
	pthread_mutex_lock(&c->lock);
	out->bytes = c->bytes;
	out->max = c->max;
	out->entries = c->n;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evicted = c->evicted;
	out->damaged = c->damaged;
	out->stale = c->stale;
	pthread_mutex_unlock(&c->lock);
}
