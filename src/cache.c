/*
 * cache — the body cache (see cache.h for the layout and the contract).
 *
 * In memory: a hash table of entries keyed by (mailbox id, UIDVALIDITY,
 * UID), and one LRU list of the entries that hold a body. An entry is
 * either FETCHING (claimed, no body yet: waiters sleep on c->changed) or
 * READY. All file I/O (writing, checking, unlinking) happens with the lock
 * dropped; an entry carries a serial number so that work done without the
 * lock can tell whether the entry it looked at is still the same one.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "crc32c.h"
#include "log.h"

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

/* ---- keys and names ---------------------------------------------------- */

void cache_set_key_map(struct cache *c, cache_key_map *map, void *ctx)
{
	c->map = map;
	c->map_ctx = ctx;
}

/* The key K stands for (cache_set_key_map): K itself, or *TMP filled in.
 * Called without c->lock: the map takes the caller's locks. */
static const struct cache_key *cache_key_of(const struct cache *c, const struct cache_key *k, struct cache_key *tmp)
{
	if (c->map == NULL)
		return k;
	*tmp = *k;
	c->map(c->map_ctx, k, tmp);
	return tmp;
}

static void cache_mbox_id(const char *mailbox, uint8_t out[16])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)mailbox, strlen(mailbox), md);
	memcpy(out, md, 16);
}

static void cache_hex16(const uint8_t id[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
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
static void cache_entry_name(const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid, char *buf, size_t len)
{
	char hx[33];

	cache_hex16(mbox, hx);
	snprintf(buf, len, "%s/%" PRIu32 ".%" PRIu32, hx, uidvalidity, uid);
}

/* The same with the directory in front, for messages. */
static void cache_entry_path(const struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity,
		       uint32_t uid, char *buf, size_t len)
{
	char name[64];

	cache_entry_name(mbox, uidvalidity, uid, name, sizeof(name));
	snprintf(buf, len, "%s/%s", c->dir, name);
}

int cache_default_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/imapfs", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(buf, len, "%s/.cache/imapfs", home);
	else
		return -ENOENT;	/* never a guess such as /tmp, which others share */
	return 0;
}

int cache_create_excl(int dirfd, const char *prefix, char *name, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)tries << 32 ^ (uint64_t)getpid();
		if (snprintf(name, len, "%s%016" PRIx64, prefix, r) >= (int)len)
			return -ENAMETOOLONG;
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* ---- the cache directory: where it may be ------------------------------ */

#define WALK_MAX_DEPTH 256
#define WALK_MAX_LINKS 40

static int walk_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int walk_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* "nobody (uid 65534)", or "uid 65534" for a uid without a name. */
static void owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s (uid %u)", res->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* May a directory like ST lie on the way to the cache? Owned by root or
 * us, and nobody else may add, remove or rename its entries: not
 * writable by group or others, unless it is root's and sticky (/tmp),
 * where only an entry's owner may rename or remove it, and the entry
 * itself is checked next. */
static int walk_check(const struct stat *st, const char *shown, char *err, unsigned errlen)
{
	char who[160];

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		owner_name(st->st_uid, who, sizeof(who));
		return walk_fail(err, errlen, -EPERM, "%s belongs to %s, not to you or root", shown, who);
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_uid == 0 && (st->st_mode & S_ISVTX)))
		return walk_fail(err, errlen, -EPERM, "%s is writable by %s (mode %04o)", shown,
				 st->st_mode & S_IWOTH ? "others" : "its group", (unsigned)(st->st_mode & 07777));
	return 0;
}

/* SHOWN + "/" + NAME into SHOWN (the path walked so far, for messages). */
static void shown_push(char *shown, size_t len, const char *name, size_t nlen)
{
	size_t n = strlen(shown);

	if (n + (n > 1) + nlen + 1 > len)
		return;		/* only the messages suffer */
	if (n > 1)
		shown[n++] = '/';
	memcpy(shown + n, name, nlen);
	shown[n + nlen] = '\0';
}

static void shown_pop(char *shown)
{
	char *slash = strrchr(shown, '/');

	if (slash != NULL)
		slash[slash == shown ? 1 : 0] = '\0';
}

int cache_dir_open(const char *path, int *out, char *err, unsigned errlen)
{
	int stack[WALK_MAX_DEPTH];
	size_t depth = 0;
	char shown[4096] = "/", *rest = NULL, *p;
	int links = 0, tries = 0, fd = -1, rc;
	struct stat st;

	*out = -1;
	if (path[0] != '/')
		return walk_fail(err, errlen, -EINVAL, "%s is not an absolute path", path);
	rest = strdup(path);
	if (rest == NULL)
		return walk_fail(err, errlen, -ENOMEM, "out of memory");
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = walk_fail(err, errlen, -errno, "/: %s", strerror(errno));
		goto out;
	}
	stack[depth++] = fd;
	if (fstat(fd, &st) < 0) {
		rc = walk_fail(err, errlen, -errno, "/: %s", strerror(errno));
		goto out;
	}
	rc = walk_check(&st, "/", err, errlen);
	if (rc < 0)
		goto out;
	p = rest;
	for (;;) {
		char *name, *target;
		size_t nlen;
		ssize_t tl;
		int top = stack[depth - 1];
		const char *sep = depth > 1 ? "/" : "";

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		name = p;
		nlen = strcspn(p, "/");
		p += nlen;
		if (*p == '/')
			*p++ = '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth > 1) {
				close(stack[--depth]);
				shown_pop(shown);
			}
			continue;
		}
		if (fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				rc = walk_fail(err, errlen, -errno, "%s%s%s: %s", shown, sep, name, strerror(errno));
				goto out;
			}
			/* a missing level: made private */
			if (mkdirat(top, name, 0700) < 0 && errno != EEXIST) {
				rc = walk_fail(err, errlen, -errno, "cannot create %s%s%s: %s", shown, sep, name,
					       strerror(errno));
				goto out;
			}
			if (fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				rc = walk_fail(err, errlen, -errno, "%s%s%s: %s", shown, sep, name, strerror(errno));
				goto out;
			}
		}
		if (S_ISLNK(st.st_mode)) {
			char who[160];
			size_t rlen = strlen(p);

			/* followed only if root or we made it: the directory
			 * holding it has passed, but a sticky one (/tmp) lets
			 * anybody add links */
			if (st.st_uid != 0 && st.st_uid != geteuid()) {
				owner_name(st.st_uid, who, sizeof(who));
				rc = walk_fail(err, errlen, -EPERM, "%s%s%s is a symbolic link that belongs to %s",
					       shown, sep, name, who);
				goto out;
			}
			if (++links > WALK_MAX_LINKS) {
				rc = walk_fail(err, errlen, -ELOOP, "%s: too many symbolic links", path);
				goto out;
			}
			target = malloc(PATH_MAX + 1 + rlen + 1);
			if (target == NULL) {
				rc = walk_fail(err, errlen, -ENOMEM, "out of memory");
				goto out;
			}
			tl = readlinkat(top, name, target, PATH_MAX);
			if (tl <= 0) {
				rc = walk_fail(err, errlen, tl < 0 ? -errno : -ENOENT, "%s%s%s: %s", shown, sep, name,
					       tl < 0 ? strerror(errno) : "empty symbolic link");
				free(target);
				goto out;
			}
			/* the link's text, then what was left of the path */
			target[tl] = '/';
			memcpy(target + tl + 1, p, rlen + 1);
			free(rest);
			rest = p = target;
			if (rest[0] == '/') {
				while (depth > 1)
					close(stack[--depth]);
				snprintf(shown, sizeof(shown), "/");
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = walk_fail(err, errlen, -ENOTDIR, "%s%s%s is not a directory", shown,
				       sep, name);
			goto out;
		}
		if (depth == WALK_MAX_DEPTH) {
			rc = walk_fail(err, errlen, -ENAMETOOLONG, "%s: too deep", path);
			goto out;
		}
		/* the checks are made on what we hold, not on the name */
		fd = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == ENOENT) && ++tries < 10) {
			/* changed under us: look again (rest still holds NAME) */
			name[nlen] = p > name + nlen ? '/' : '\0';
			p = name;
			continue;
		}
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = walk_fail(err, errlen, -errno, "%s%s%s: %s", shown, sep, name, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		stack[depth++] = fd;
		shown_push(shown, sizeof(shown), name, nlen);
		rc = walk_check(&st, shown, err, errlen);
		if (rc < 0)
			goto out;
	}
	/* the cache directory itself must be ours, and private */
	if (fstat(stack[depth - 1], &st) < 0) {
		rc = walk_fail(err, errlen, -errno, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		char who[160];

		owner_name(st.st_uid, who, sizeof(who));
		rc = walk_fail(err, errlen, -EPERM, "%s belongs to %s, not to you", shown, who);
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = walk_fail(err, errlen, -EPERM, "%s is writable by %s (mode %04o): run chmod 700 %s", shown,
			       st.st_mode & S_IWOTH ? "others" : "its group", (unsigned)(st.st_mode & 07777), shown);
		goto out;
	}
	fd = openat(stack[depth - 1], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = walk_fail(err, errlen, -errno, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0700) < 0) {
		rc = walk_fail(err, errlen, -errno, "chmod 700 %s: %s", shown, strerror(errno));
		close(fd);
		goto out;
	}
	*out = fd;
	rc = 0;
out:
	while (depth > 0)
		close(stack[--depth]);
	free(rest);
	return rc;
}

/* ---- the table (lock held) --------------------------------------------- */

static struct centry **cache_slot(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
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

static struct centry *cache_insert(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
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

static void cache_lru_unlink(struct cache *c, struct centry *e)
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

static void cache_lru_push(struct cache *c, struct centry *e)
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
static void cache_unalias(struct cache *c, struct centry *e)
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
static struct centry *cache_claim_of(struct cache *c, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	struct centry *e = c->claims[uid % NCLAIMS];

	while (e != NULL && !(e->from_uid == uid && e->from_uidvalidity == uidvalidity &&
			      memcmp(e->from_mbox, mbox, 16) == 0))
		e = e->anext;
	return e;
}

/* Take E out of the table (and the LRU and the totals when READY); the
 * caller frees it, after closing or unlinking outside the lock. */
static void cache_detach(struct cache *c, struct centry *e)
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
static struct centry *cache_evict(struct cache *c)
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
static void cache_drop_list(struct cache *c, struct centry *list)
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

/* ---- reading ----------------------------------------------------------- */

static void header_fill(struct cache_hdr *h, const uint8_t mbox[16], uint32_t uidvalidity, uint32_t uid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAGIC, 8);
	memcpy(h->mbox, mbox, 16);
	h->uidvalidity = uidvalidity;
	h->uid = uid;
}

static uint32_t cache_header_crc(const struct cache_hdr *h)
{
	return crc32c(0, h, offsetof(struct cache_hdr, hcrc));
}

/* CRC-32C of the LEN body bytes of the cache file FD. */
static int cache_body_crc(int fd, uint64_t len, uint32_t *crc)
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

int cache_get(struct cache *c, const struct cache_key *k, bool wait, int *fdp, uint64_t *lenp)
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
	cache_entry_path(c, id, k->uidvalidity, k->uid, path, sizeof(path));
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

/* ---- claiming and storing ---------------------------------------------- */

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
