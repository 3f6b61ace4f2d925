/*
 * test_cache — the body cache without a server: CRC-32C against its
 * standard check value (both code paths), store and read back, the file
 * layout and modes, damage of every kind detected (and the file removed),
 * LRU eviction to max_bytes (also across a "remount"), a claim making
 * others wait until the body is stored or the claim dropped, temporary
 * files left by a crash removed at the next start, memory mode, the
 * default directory (never a guess under /tmp), the checks of the cache
 * directory's path (owners, modes, links), a file
 * altered after it was read once, a directory swapped after mount, and
 * a body stale because the server's RFC822.SIZE for it moved.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"
#include "crc32c.h"

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

static char root[256];
static char err[512];

static void test_crc(void)
{
	static const struct {
		const char *in;
		uint32_t want;
	} cases[] = {
		{ "", 0 },
		{ "123456789", 0xE3069283u },	/* the standard check value */
		{ "a", 0xC1D04330u },
	};
	char big[10007];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(crc32c(0, cases[i].in, strlen(cases[i].in)) == cases[i].want,
		      "crc32c(%s) = %08x", cases[i].in, crc32c(0, cases[i].in, strlen(cases[i].in)));
		CHECK(crc32c_portable(0, cases[i].in, strlen(cases[i].in)) == cases[i].want,
		      "table crc32c(%s)", cases[i].in);
	}
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	/* unaligned starts and odd lengths, and in pieces */
	for (size_t off = 0; off < 9; off++) {
		uint32_t a = crc32c(0, big + off, sizeof(big) - off - 5);
		uint32_t b = crc32c_portable(0, big + off, sizeof(big) - off - 5);
		uint32_t c = crc32c(crc32c(0, big + off, 1000), big + off + 1000, sizeof(big) - off - 1005);

		CHECK(a == b && a == c, "crc32c paths differ at offset %zu: %08x %08x %08x", off, a, b, c);
	}
}

/* Store a claimed key's whole body the way vfs_bodies.c does. */
static int store(struct cache *c, const struct cache_key *k, const char *data, size_t len, int *fd)
{
	struct cache_writer *w;
	int rc = cache_writer_new(c, k, &w);

	if (rc < 0)
		return rc;
	cache_writer_claimed(w);
	rc = cache_writer_add(w, data, len);
	if (rc < 0) {
		cache_writer_abort(w);
		return rc;
	}
	return cache_writer_commit(w, fd);
}

/* Whether K is cached or claimed: a claim of it is refused. */
static int taken(struct cache *c, const struct cache_key *k)
{
	if (cache_claim(c, k) == -EEXIST)
		return 1;
	cache_unclaim(c, k);
	return 0;
}

static int read_body(int fd, char *buf, size_t len)
{
	return pread(fd, buf, len, CACHE_DATA_OFF) == (ssize_t)len ? 0 : -1;
}

static void put(struct cache *c, const char *mbox, uint32_t uid, const char *data)
{
	struct cache_key k = { mbox, 7, uid, 0 };

	CHECK(cache_claim(c, &k) == 0, "claim UID %u", uid);
	CHECK(store(c, &k, data, strlen(data), NULL) == 0, "put UID %u", uid);
}

static int get(struct cache *c, const char *mbox, uint32_t uid, char *buf, size_t len)
{
	struct cache_key k = { mbox, 7, uid, 0 };
	uint64_t n;
	int fd, rc = cache_get(c, &k, false, &fd, &n);

	if (rc < 0)
		return rc;
	rc = n == len && read_body(fd, buf, len) == 0 ? 0 : -EIO;
	close(fd);
	return rc;
}

/* The path of the only body file of UID under the account dir. */
static int body_path(const char *acct, uint32_t uid, char *out, size_t len)
{
	char d[512], name[32];
	struct dirent *de;
	DIR *dir;
	int found = -1;

	snprintf(name, sizeof(name), "7.%u", uid);
	dir = opendir(acct);
	while (dir && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(d, sizeof(d), "%s/%s/%s", acct, de->d_name, name);
		if (access(d, F_OK) == 0) {
			snprintf(out, len, "%s", d);
			found = 0;
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

static void test_store_and_damage(void)
{
	static const char *const bodies[] = { "first body\r\n", "second, longer body\r\n", "3\r\n", "fourth\r\n" };
	char acct[512], path[1024], buf[64];
	struct cache *c;
	struct stat st;
	int fd;

	snprintf(acct, sizeof(acct), "%s/me@host:993", root);
	CHECK(cache_new(root, "me@host:993", 1 << 20, &c, err, sizeof(err)) == 0 || (c = NULL), "cache_new");
	if (c == NULL)
		return;
	CHECK(stat(acct, &st) == 0 && (st.st_mode & 0777) == 0700, "account dir mode %o", st.st_mode & 0777);
	for (uint32_t i = 0; i < 4; i++)
		put(c, "INBOX", i + 1, bodies[i]);
	for (uint32_t i = 0; i < 4; i++) {
		memset(buf, 0, sizeof(buf));
		CHECK(get(c, "INBOX", i + 1, buf, strlen(bodies[i])) == 0 && strcmp(buf, bodies[i]) == 0,
		      "read back UID %u: %s", i + 1, buf);
	}
	CHECK(get(c, "Other", 1, buf, 3) == -ENOENT, "another mailbox's UID 1 is not INBOX's");
	CHECK(body_path(acct, 1, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
	      (st.st_mode & 0777) == 0600, "body file mode %o", st.st_mode & 0777);
	cache_free(c);

	/* damage, then a new instance (a remount) must notice each kind */
	body_path(acct, 1, path, sizeof(path));
	fd = open(path, O_RDWR);
	pwrite(fd, "X", 1, CACHE_DATA_OFF + 2);	/* a flipped byte */
	close(fd);
	body_path(acct, 2, path, sizeof(path));
	truncate(path, CACHE_DATA_OFF + 4);		/* torn */
	body_path(acct, 3, path, sizeof(path));
	fd = open(path, O_RDWR);
	pwrite(fd, "garbage!", 8, 0);			/* header */
	close(fd);
	CHECK(cache_new(root, "me@host:993", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new again");
	for (uint32_t i = 0; i < 3; i++)
		CHECK(get(c, "INBOX", i + 1, buf, strlen(bodies[i])) == -ENOENT,
		      "damaged UID %u served", i + 1);
	CHECK(get(c, "INBOX", 4, buf, strlen(bodies[3])) == 0, "undamaged UID 4 lost");
	for (uint32_t i = 0; i < 3; i++)
		CHECK(body_path(acct, i + 1, path, sizeof(path)) < 0, "damaged UID %u not removed", i + 1);
	{
		struct cache_stats s;

		cache_get_stats(c, &s);
		CHECK(s.damaged == 3 && s.hits == 1, "stats: %llu damaged, %llu hits",
		      (unsigned long long)s.damaged, (unsigned long long)s.hits);
	}
	cache_free(c);
}

static void test_lru(void)
{
	char body[1000], buf[1000];
	struct cache *c;
	struct cache_stats s;
	const uint64_t each = sizeof(body) - 1 + CACHE_DATA_OFF;

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	/* room for three */
	CHECK(cache_new(root, "lru@host:1", 3 * each + 10, &c, err, sizeof(err)) == 0, "cache_new lru");
	for (uint32_t uid = 1; uid <= 3; uid++)
		put(c, "L", uid, body);
	CHECK(get(c, "L", 1, buf, sizeof(body) - 1) == 0, "UID 1");	/* 1 is now the most recent */
	put(c, "L", 4, body);		/* evicts 2, the least recently used */
	CHECK(get(c, "L", 2, buf, sizeof(body) - 1) == -ENOENT, "UID 2 should be evicted");
	CHECK(get(c, "L", 1, buf, sizeof(body) - 1) == 0, "UID 1 evicted");
	CHECK(get(c, "L", 3, buf, sizeof(body) - 1) == 0, "UID 3 evicted");
	CHECK(get(c, "L", 4, buf, sizeof(body) - 1) == 0, "UID 4 evicted");
	cache_get_stats(c, &s);
	CHECK(s.bytes <= 3 * each + 10 && s.evicted == 1, "bytes %llu evicted %llu",
	      (unsigned long long)s.bytes, (unsigned long long)s.evicted);
	/* a body larger than the whole cache: the caller still gets it */
	{
		struct cache_key k = { "L", 7, 99, 0 };
		char *huge = malloc(4 * each);
		uint64_t n;
		int fd = -1;

		memset(huge, 'h', 4 * each);
		CHECK(cache_claim(c, &k) == 0, "claim huge");
		CHECK(store(c, &k, huge, 4 * each, &fd) == 0 && fd >= 0, "put huge");
		CHECK(fd >= 0 && pread(fd, huge, 4, CACHE_DATA_OFF + 5) == 4 && memcmp(huge, "hhhh", 4) == 0,
		      "huge body readable from its fd");
		if (fd >= 0)
			close(fd);
		CHECK(cache_get(c, &k, false, &fd, &n) == -ENOENT, "huge body kept beyond the limit");
		free(huge);
	}
	cache_free(c);
	/* a smaller limit at the next start trims to it */
	CHECK(cache_new(root, "lru@host:1", each + 10, &c, err, sizeof(err)) == 0, "cache_new smaller");
	cache_get_stats(c, &s);
	CHECK(s.bytes <= each + 10 && s.entries == 1, "after restart with a smaller limit: %llu bytes %llu entries",
	      (unsigned long long)s.bytes, (unsigned long long)s.entries);
	cache_free(c);
}

struct waiter {
	struct cache *c;
	int rc;
	char buf[16];
};

static void *wait_get(void *arg)
{
	struct waiter *w = arg;
	struct cache_key k = { "W", 7, 5, 0 };
	uint64_t n;
	int fd;

	w->rc = cache_get(w->c, &k, true, &fd, &n);
	if (w->rc == 0) {
		read_body(fd, w->buf, (size_t)n);
		close(fd);
	}
	return NULL;
}

static void test_claims(void)
{
	struct cache_key k = { "W", 7, 5, 0 };
	struct waiter w = { 0 };
	pthread_t th;
	struct cache *c;

	CHECK(cache_new(root, "w@host:1", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new claims");
	w.c = c;
	CHECK(cache_claim(c, &k) == 0, "claim");
	CHECK(cache_claim(c, &k) == -EEXIST, "second claim must fail");
	CHECK(taken(c, &k), "claimed key is taken");
	pthread_create(&th, NULL, wait_get, &w);
	usleep(100 * 1000);
	CHECK(store(c, &k, "waited", 6, NULL) == 0, "put");
	pthread_join(th, NULL);
	CHECK(w.rc == 0 && memcmp(w.buf, "waited", 6) == 0, "waiter got %d %.6s", w.rc, w.buf);

	/* an unclaim wakes the waiter with "absent" */
	k.uid = 6;
	CHECK(cache_claim(c, &k) == 0, "claim 6");
	memset(&w, 0, sizeof(w));
	w.c = c;
	{
		struct waiter *wp = &w;
		struct cache_key k6 = { "W", 7, 6, 0 };

		(void)wp;
		pthread_create(&th, NULL, wait_get, &w);
		usleep(50 * 1000);
		cache_unclaim(c, &k6);
		pthread_join(th, NULL);
	}
	CHECK(!taken(c, &k), "unclaimed key still there");
	cache_free(c);
}

static void test_crash_leftovers(void)
{
	char dir[512], tmp[600];
	struct cache *c;
	struct cache_writer *w;
	struct cache_key k = { "T", 7, 1, 0 };
	int fd;

	CHECK(cache_new(root, "t@host:1", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new t");
	/* a writer abandoned halfway leaves no final name */
	CHECK(cache_writer_new(c, &k, &w) == 0, "writer");
	cache_writer_add(w, "half", 4);
	cache_writer_abort(w);
	CHECK(!taken(c, &k), "aborted writer left an entry");
	cache_free(c);
	/* an old temporary file (a crash) is removed at the next start */
	snprintf(dir, sizeof(dir), "%s/t@host:1/0123456789abcdef0123456789abcdef", root);
	mkdir(dir, 0700);
	snprintf(tmp, sizeof(tmp), "%s/tmp.abcdef", dir);
	fd = open(tmp, O_CREAT | O_WRONLY, 0600);
	write(fd, "partial", 7);
	close(fd);
	{
		struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };

		utimensat(AT_FDCWD, tmp, old, 0);
	}
	CHECK(cache_new(root, "t@host:1", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new t again");
	CHECK(access(tmp, F_OK) != 0, "old temporary file not removed");
	cache_free(c);
}

/* Pieces written out of order (parallel read-ahead) make a whole body
 * whose checksum holds at the next start. */
static void test_scattered(void)
{
	struct cache_key k = { "S", 7, 9, 0 };
	struct cache_writer *w;
	struct cache *c;
	char buf[32];

	CHECK(cache_new(root, "s@host:1", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new s");
	CHECK(cache_writer_new(c, &k, &w) == 0, "writer s");
	cache_writer_pwrite(w, 10, "klmnopqrst", 10);
	cache_writer_pwrite(w, 0, "abcdefghij", 10);
	cache_writer_pwrite(w, 20, "uvwxyz", 6);
	CHECK(cache_writer_len(w) == 26, "len %llu", (unsigned long long)cache_writer_len(w));
	CHECK(cache_writer_commit(w, NULL) == 0, "commit s");
	cache_free(c);
	CHECK(cache_new(root, "s@host:1", 1 << 20, &c, err, sizeof(err)) == 0, "cache_new s again");
	memset(buf, 0, sizeof(buf));
	CHECK(get(c, "S", 9, buf, 26) == 0 && strcmp(buf, "abcdefghijklmnopqrstuvwxyz") == 0,
	      "scattered body: %s", buf);
	cache_free(c);
}

static void test_memory(void)
{
	struct cache *c;
	struct cache_stats s;
	char buf[16];

	CHECK(cache_new(NULL, NULL, 1ULL << 40, &c, err, sizeof(err)) == 0, "memory cache");
	put(c, "M", 1, "in memory");
	CHECK(get(c, "M", 1, buf, 9) == 0 && memcmp(buf, "in memory", 9) == 0, "memory read back");
	cache_get_stats(c, &s);
	CHECK(!s.disk && s.max == CACHE_MEM_MAX, "memory mode limit %llu", (unsigned long long)s.max);
	cache_free(c);
}

/* A body stored under one RFC822.SIZE claim is stale for a lookup with
 * another (an mbox server rewrote the message under its UID): dropped,
 * file and all, and counted. The same claim serves it even when the body's
 * length differs (a server that counts its own way), no claim never drops
 * it, and a body stored without one is compared by length. Disk (DIR) and
 * memory (NULL). */
static void test_claim_moved(const char *dir)
{
	struct cache_key k = { "C", 7, 1, 9 }, lie = { "C", 7, 1, 11 }, none = { "C", 7, 1, 0 };
	struct cache_key old = { "C", 7, 2, 0 }, old3 = { "C", 7, 2, 3 }, old4 = { "C", 7, 2, 4 };
	struct cache_stats st;
	struct cache *c;
	char acct[600], path[600];
	uint64_t len;
	int fd;

	CHECK(cache_new(dir, "claims@host:1", 1ULL << 30, &c, err, sizeof(err)) == 0, "cache: %s", err);
	CHECK(cache_claim(c, &lie) == 0 && store(c, &lie, "hello", 5, NULL) == 0, "store under claim 11");
	CHECK(cache_get(c, &lie, false, &fd, &len) == 0 && len == 5, "same claim, other length: served");
	close(fd);
	CHECK(cache_get(c, &none, false, &fd, &len) == 0, "no claim: served");
	close(fd);
	CHECK(cache_get(c, &k, false, &fd, &len) == -ENOENT, "claim moved 11 -> 9: stale");
	CHECK(cache_get(c, &lie, false, &fd, &len) == -ENOENT, "dropped, not only skipped");
	CHECK(!taken(c, &lie), "the key is free to be fetched again");
	if (dir != NULL) {
		snprintf(acct, sizeof(acct), "%s/claims@host:1", dir);
		CHECK(body_path(acct, 1, path, sizeof(path)) < 0, "the stale file is deleted");
	}
	CHECK(cache_claim(c, &old) == 0 && store(c, &old, "abc", 3, NULL) == 0, "store without a claim");
	CHECK(cache_get(c, &old3, false, &fd, &len) == 0 && len == 3, "no claim stored, length matches");
	close(fd);
	CHECK(cache_get(c, &old4, false, &fd, &len) == -ENOENT, "no claim stored, length differs: stale");
	cache_get_stats(c, &st);
	CHECK(st.stale == 2 && st.damaged == 0, "stale %llu damaged %llu", (unsigned long long)st.stale,
	      (unsigned long long)st.damaged);
	cache_free(c);
}

/* A key map as Gmail's (vfs_gmail.c): INBOX UID 5 and All UID 9 are one
 * message, kept under M; once REMAPPED is false INBOX UID 5 no longer
 * maps (the message left INBOX while its body was being fetched). */
static bool remapped;

static void remap(void *ctx, const struct cache_key *in, struct cache_key *out)
{
	(void)ctx;
	if ((strcmp(in->mailbox, "INBOX") == 0 && in->uid == 5 && remapped) ||
	    (strcmp(in->mailbox, "All") == 0 && in->uid == 9)) {
		out->mailbox = "M";
		out->uidvalidity = 1;
		out->uid = 42;
	}
}

/* A claim is mapped once, when made: the unclaim or the body that ends
 * it lands on the key it was claimed as even when the map says otherwise
 * by then; before, the claim under M stayed FETCHING and a wait for All
 * UID 9 never ended. Disk (DIR) and memory (NULL). */
static void test_claim_remapped(const char *dir)
{
	struct cache_key in = { "INBOX", 7, 5, 0 }, all = { "All", 3, 9, 0 };
	struct cache *c;
	char buf[8];
	uint64_t len;
	int fd;

	CHECK(cache_new(dir, "remap@host:1", 1ULL << 30, &c, err, sizeof(err)) == 0, "cache: %s", err);
	cache_set_key_map(c, remap, NULL);
	remapped = true;
	CHECK(cache_claim(c, &in) == 0, "claim INBOX 5");
	CHECK(cache_claim(c, &all) == -EEXIST, "All 9 is the same message: claimed");
	CHECK(cache_claim(c, &in) == -EEXIST, "INBOX 5 claimed");
	remapped = false;
	CHECK(cache_claim(c, &in) == -EEXIST, "INBOX 5 still claimed once it no longer maps");
	cache_unclaim(c, &in);
	CHECK(cache_claim(c, &all) == 0, "unclaim of INBOX 5 freed M: All 9 can be claimed");
	cache_unclaim(c, &all);

	remapped = true;
	CHECK(cache_claim(c, &in) == 0, "claim INBOX 5 again");
	remapped = false;
	CHECK(store(c, &in, "body", 4, NULL) == 0, "store INBOX 5");
	CHECK(cache_get(c, &all, false, &fd, &len) == 0 && len == 4, "the body went under M: All 9 has it");
	if (fd >= 0 && len == 4) {
		CHECK(read_body(fd, buf, 4) == 0 && memcmp(buf, "body", 4) == 0, "All 9 body");
		close(fd);
	}
	CHECK(cache_get(c, &in, false, &fd, &len) == -ENOENT, "nothing under the plain INBOX key");
	CHECK(cache_claim(c, &in) == 0, "INBOX 5 (plain now) is free");
	cache_unclaim(c, &in);
	cache_free(c);
}

/* The default directory never falls back to a shared one such as /tmp. */
static void test_default_dir(void)
{
	static const struct {
		const char *xdg, *home;	/* NULL: unset */
		int want;
		const char *dir;
	} cases[] = {
		{ "/x/cache", "/home/me", 0, "/x/cache/imapfs" },
		{ NULL, "/home/me", 0, "/home/me/.cache/imapfs" },
		{ "relative", "/home/me", 0, "/home/me/.cache/imapfs" },
		{ NULL, NULL, -ENOENT, NULL },
		{ NULL, "", -ENOENT, NULL },
		{ "", "relative/home", -ENOENT, NULL },
	};
	char *saved_xdg = getenv("XDG_CACHE_HOME"), *saved_home = getenv("HOME");
	char buf[256];

	saved_xdg = saved_xdg ? strdup(saved_xdg) : NULL;
	saved_home = saved_home ? strdup(saved_home) : NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		if (cases[i].xdg)
			setenv("XDG_CACHE_HOME", cases[i].xdg, 1);
		else
			unsetenv("XDG_CACHE_HOME");
		if (cases[i].home)
			setenv("HOME", cases[i].home, 1);
		else
			unsetenv("HOME");
		buf[0] = '\0';
		rc = cache_default_dir(buf, sizeof(buf));
		CHECK(rc == cases[i].want && (cases[i].dir == NULL || strcmp(buf, cases[i].dir) == 0),
		      "XDG_CACHE_HOME=%s HOME=%s: %d %s", check_q(cases[i].xdg), check_q(cases[i].home), rc, buf);
	}
	if (saved_xdg)
		setenv("XDG_CACHE_HOME", saved_xdg, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	if (saved_home)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	free(saved_xdg);
	free(saved_home);
}

/* cache_dir_open: what may lie on the way to the cache and what may not.
 * Paths are under BASE (ours, 0700); OTHER is a uid that is not ours. */
static void test_dir_rules(void)
{
	static const struct {
		const char *setup;	/* shell commands run in BASE first */
		const char *path;	/* walked, relative to BASE ("" = BASE) */
		int want;		/* 0 or -errno */
		const char *why;	/* a part of the refusal's line */
		bool needs_root;	/* chown to another user */
	} cases[] = {
		{ "", "new/deeper/cache", 0, NULL, false },
		{ "mkdir -m 755 open", "open", 0, NULL, false },		/* made 0700 */
		{ "mkdir -m 777 ww", "ww", -EPERM, "writable by others (mode 0777)", false },
		{ "mkdir -m 770 gw", "gw", -EPERM, "writable by its group", false },
		{ "mkdir -m 777 mid", "mid/cache", -EPERM, "mid is writable by others", false },
		{ "mkdir -m 1777 sticky", "sticky/cache", 0, NULL, true },	/* root's, like /tmp */
		{ "mkdir -m 700 real && ln -s real link", "link/cache", 0, NULL, false },
		{ "mkdir -m 700 r2 sub && ln -s ../r2 sub/rel", "sub/rel/x/../cache", 0, NULL, false },
		{ "touch file", "file/cache", -ENOTDIR, "is not a directory", false },
		{ "mkdir -m 777 theirs && chown 65534 theirs", "theirs", -EPERM,
		  "theirs belongs to nobody (uid 65534), not to you", true },
		{ "mkdir -m 777 theirs2 && chown 65534 theirs2", "theirs2/acct", -EPERM,
		  "theirs2 belongs to nobody (uid 65534), not to you or root", true },
		{ "mkdir -m 700 mine && ln -s mine evil && chown -h 65534 evil", "evil/acct", -EPERM,
		  "evil is a symbolic link that belongs to nobody", true },
		{ "mkdir -m 755 elsewhere && chown 65534 elsewhere && ln -s elsewhere good", "good", -EPERM,
		  "elsewhere belongs to nobody", true },
		{ "mkdir -m 1777 st2 && mkdir -m 700 st2/pre && chown 65534 st2/pre", "st2/pre/acct", -EPERM,
		  "pre belongs to nobody", true },
	};
	char base[300], cmd[1200], path[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stat st;
		int fd = -1, rc;

		if (cases[i].needs_root && geteuid() != 0)
			continue;
		snprintf(base, sizeof(base), "%s-rules%zu", root, i);
		snprintf(cmd, sizeof(cmd), "mkdir -m 700 -p '%s' && cd '%s'%s%s", base, base,
			 cases[i].setup[0] ? " && " : "", cases[i].setup);
		CHECK(system(cmd) == 0, "setup %s", cases[i].setup);
		snprintf(path, sizeof(path), "%s/%s", base, cases[i].path);
		err[0] = '\0';
		rc = cache_dir_open(path, &fd, err, sizeof(err));
		CHECK(rc == cases[i].want, "%s: %d, want %d (%s)", cases[i].path, rc, cases[i].want, err);
		if (cases[i].why != NULL)
			CHECK(strstr(err, cases[i].why) != NULL, "%s: reason \"%s\", want \"%s\"", cases[i].path,
			      err, cases[i].why);
		if (rc == 0) {
			CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700 &&
			      st.st_uid == geteuid(), "%s: fd %d mode %o", cases[i].path, fd, st.st_mode & 0777);
			close(fd);
		} else {
			CHECK(fd == -1, "%s: fd %d on failure", cases[i].path, fd);
		}
	}
	CHECK(cache_dir_open("relative/path", &(int){ 0 }, err, sizeof(err)) == -EINVAL, "a relative path");
}

/* A file altered after it was read once, same length: the next open
 * checks it again and does not serve it. Before, only the length was
 * looked at once a file had been verified in this mount. */
static void test_altered_after_first_read(void)
{
	static const char body[] = "Subject: real\r\n\r\nthe server's bytes\r\n";
	char acct[512], path[1024], buf[64];
	struct cache_stats s;
	struct cache *c;
	int fd;

	snprintf(acct, sizeof(acct), "%s/alter@host:1", root);
	CHECK(cache_new(root, "alter@host:1", 1 << 20, &c, err, sizeof(err)) == 0 || (c = NULL), "cache_new alter");
	if (c == NULL)
		return;
	put(c, "INBOX", 1, body);
	CHECK(get(c, "INBOX", 1, buf, strlen(body)) == 0, "first read");
	CHECK(get(c, "INBOX", 1, buf, strlen(body)) == 0, "second read");
	CHECK(body_path(acct, 1, path, sizeof(path)) == 0, "body file");
	fd = open(path, O_RDWR);
	CHECK(pwrite(fd, "Subject: FAKE", 13, CACHE_DATA_OFF) == 13, "forge");
	close(fd);
	CHECK(get(c, "INBOX", 1, buf, strlen(body)) == -ENOENT, "an altered file was served");
	CHECK(body_path(acct, 1, path, sizeof(path)) < 0, "the altered file was not removed");
	cache_get_stats(c, &s);
	CHECK(s.damaged == 1, "%llu damaged", (unsigned long long)s.damaged);
	cache_free(c);
}

/* The account directory renamed away and replaced by a link after the
 * cache opened it: new bodies still go where the cache checked. */
static void test_swapped_after_open(void)
{
	char acct[512], moved[512], evil[512], path[1024], buf[16];
	struct cache *c;
	DIR *d;
	int n = 0;

	snprintf(acct, sizeof(acct), "%s/swap@host:1", root);
	snprintf(moved, sizeof(moved), "%s/swap-moved", root);
	snprintf(evil, sizeof(evil), "%s/swap-evil", root);
	CHECK(cache_new(root, "swap@host:1", 1 << 20, &c, err, sizeof(err)) == 0 || (c = NULL), "cache_new swap");
	if (c == NULL)
		return;
	put(c, "INBOX", 1, "one\r\n");
	CHECK(rename(acct, moved) == 0 && mkdir(evil, 0777) == 0 && symlink(evil, acct) == 0, "swap");
	put(c, "INBOX", 2, "two\r\n");
	CHECK(get(c, "INBOX", 1, buf, 5) == 0 && get(c, "INBOX", 2, buf, 5) == 0, "both served");
	CHECK(body_path(moved, 2, path, sizeof(path)) == 0, "UID 2 is not in the directory checked");
	d = opendir(evil);
	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	CHECK(n == 2, "the link's target got %d entries", n - 2);
	cache_free(c);
}

int main(void)
{
	char tmpl[] = "/tmp/imapfs-test-cache-XXXXXX";
	char cmd[300];

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s/a", tmpl);
	test_crc();
	test_store_and_damage();
	test_lru();
	test_claims();
	test_crash_leftovers();
	test_scattered();
	test_memory();
	test_claim_moved(root);
	test_claim_moved(NULL);
	test_claim_remapped(root);
	test_claim_remapped(NULL);
	test_default_dir();
	test_dir_rules();
	test_altered_after_first_read();
	test_swapped_after_open();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	return check_finish("test_cache");
}
