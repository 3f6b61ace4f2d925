/*
 * cmd_sync — imapfs sync [-q] DIR [MAILBOX...]: every message under DIR
 * (a mailbox of an imapfs mount, or its root), or under the MAILBOXes
 * named relative to DIR, read once through the mount, so that its body is
 * in the cache (imapfs.1, Cache) before it is needed: ahead of a trip
 * without a network, or of a grep -r. Reading never sets \Seen (the mount
 * fetches with BODY.PEEK), and a body already cached costs no traffic.
 *
 * The files are read by SYNC_THREADS threads side by side, each message
 * whole, in UID order per folder (the mount's read-ahead then fetches
 * folders in large batches). The pages are dropped from the kernel's page
 * cache after each message (the bodies are kept by imapfs, not there). On
 * a terminal a progress line is kept up to date; at the end one line says
 * what was read. A message that went meanwhile is counted as gone, not as
 * a failure; one that cannot be read is named on stderr, and the exit
 * status is then 1. The status of the mount (user.imapfs.status) says how
 * large the cache may grow: more than that to sync is said first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "vfs.h"

#define SYNC_THREADS 4
#define SYNC_BUF (1024 * 1024)

struct item {
	char *path;
	uint64_t size;
};

struct job {
	struct item *v;
	size_t n, cap;
	uint64_t total;
	size_t next;		/* guarded by lock */
	size_t done, gone, failed;	/* guarded by lock */
	uint64_t bytes;		/* guarded by lock */
	pthread_mutex_t lock;
	bool tty, quiet;
	double t0, last;	/* guarded by lock: when the progress line was last drawn */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add(struct job *j, const char *path, uint64_t size)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 1024;
		struct item *g = realloc(j->v, cap * sizeof(*g));

		if (g == NULL)
			return -1;
		j->v = g;
		j->cap = cap;
	}
	j->v[j->n].path = strdup(path);
	if (j->v[j->n].path == NULL)
		return -1;
	j->v[j->n].size = size;
	j->total += size;
	j->n++;
	return 0;
}

struct ent {
	char *name;
	unsigned long uid;	/* 0: a directory */
	uint64_t size;
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The messages of DIR and of every mailbox under it, into J: its
 * messages in UID order, then its children by name. 0 or -1 (said). */
static int collect(struct job *j, const char *dir)
{
	struct ent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0, dfd;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "imapfs: sync: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	dfd = dirfd(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		/* a message under either layout's name (vfs_name_uid): in a
		 * Maildir (-o layout=maildir) its cur/ is walked like a
		 * mailbox, and tmp/'s files are no messages yet */
		if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && vfs_name_uid(de->d_name) != 0))
			continue;
		if (n == cap) {
			struct ent *g = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (g == NULL) {
				rc = -1;
				break;
			}
			v = g;
		}
		v[n].name = strdup(de->d_name);
		if (v[n].name == NULL) {
			rc = -1;
			break;
		}
		v[n].uid = S_ISDIR(st.st_mode) ? 0 : vfs_name_uid(de->d_name);
		v[n].size = (uint64_t)st.st_size;
		n++;
	}
	if (rc == 0 && errno != 0) {
		fprintf(stderr, "imapfs: sync: %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), ent_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char p[PATH_MAX];

		if (snprintf(p, sizeof(p), "%s/%s", dir, v[i].name) >= (int)sizeof(p)) {
			fprintf(stderr, "imapfs: sync: %s/%s: path too long\n", dir, v[i].name);
			rc = -1;
		} else if (v[i].uid != 0) {
			rc = add(j, p, v[i].size);
		} else {
			rc = collect(j, p);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

/* Lock held. */
static void progress(struct job *j, bool final)
{
	double t = now();

	if (j->quiet || !j->tty || (!final && t - j->last < 0.2))
		return;
	j->last = t;
	fprintf(stderr, "\rimapfs: sync: %zu of %zu messages, %.1f of %.1f MiB", j->done, j->n,
		(double)j->bytes / 1048576.0, (double)j->total / 1048576.0);
	if (final)
		fputs("\n", stderr);
}

/* All of PATH read, and its pages dropped: the bytes read, or -errno. */
static int64_t read_one(const char *path, char *buf)
{
	int64_t total = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf, SYNC_BUF)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			total = -errno;
			break;
		}
		total += r;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return total;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	char *buf = malloc(SYNC_BUF);

	if (buf == NULL)
		return NULL;
	for (;;) {
		size_t i;
		int64_t got;

		pthread_mutex_lock(&j->lock);
		i = j->next < j->n ? j->next++ : j->n;
		pthread_mutex_unlock(&j->lock);
		if (i == j->n)
			break;
		got = read_one(j->v[i].path, buf);
		pthread_mutex_lock(&j->lock);
		if (got >= 0) {
			j->done++;
			j->bytes += (uint64_t)got;
		} else if (got == -ENOENT || got == -ESTALE) {
			j->gone++;	/* expunged meanwhile: nothing to keep */
		} else {
			j->failed++;
			if (j->tty && !j->quiet)
				fputs("\n", stderr);
			fprintf(stderr, "imapfs: sync: %s: %s\n", j->v[i].path, strerror((int)-got));
		}
		progress(j, false);
		pthread_mutex_unlock(&j->lock);
	}
	free(buf);
	return NULL;
}

/* The cache's limit from the mount's status ("cache use: N bodies, X MiB
 * of Y MiB"), in bytes; 0 when it cannot be told. */
static uint64_t cache_limit(const char *path, bool *memory)
{
	char root[PATH_MAX], *text = NULL, *p;
	double used = 0, max = 0;
	size_t len = 0;
	uint64_t bodies = 0;

	*memory = false;
	if (status_read(path, root, &text, &len) < 0)
		return UINT64_MAX;	/* said: not a mount */
	p = memmem(text, len, "cache use: ", 11);
	if (p != NULL && sscanf(p, "cache use: %" SCNu64 " bodies, %lf MiB of %lf MiB", &bodies, &used, &max) != 3)
		max = 0;
	*memory = memmem(text, len, "cache: in memory only", 21) != NULL;
	free(text);
	return (uint64_t)(max * 1048576.0);
}

int cmd_sync(int argc, char **argv)
{
	struct job j = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[SYNC_THREADS];
	char dir[PATH_MAX];
	uint64_t limit;
	bool memory;
	int i = 0, started = 0, rc = 0;

	if (argc > 0 && (strcmp(argv[0], "-q") == 0 || strcmp(argv[0], "--quiet") == 0)) {
		j.quiet = true;
		i++;
	}
	if (argc - i < 1 || argv[i][0] == '-') {
		fprintf(stderr, "usage: imapfs sync [-q] DIR [MAILBOX...]   (see imapfs(1), Cache)\n");
		return EXIT_USAGE;
	}
	if (cmd_dir_arg("sync", argv[i], dir) < 0)
		return EXIT_USAGE;
	limit = cache_limit(dir, &memory);
	if (limit == UINT64_MAX)
		return EXIT_USAGE;
	if (argc - i == 1) {
		rc = collect(&j, dir);
	} else {
		for (int k = i + 1; k < argc && rc == 0; k++) {
			char p[PATH_MAX];
			struct stat st;

			if (snprintf(p, sizeof(p), "%s/%s", dir, argv[k]) >= (int)sizeof(p) || stat(p, &st) < 0 ||
			    !S_ISDIR(st.st_mode)) {
				fprintf(stderr, "imapfs: sync: %s is no mailbox under %s\n", argv[k], dir);
				rc = -1;
			} else {
				rc = collect(&j, p);
			}
		}
	}
	if (rc < 0)
		goto out;
	if (memory)
		fprintf(stderr, "imapfs: sync: this mount keeps bodies in memory only (cache=no): they go "
			"at unmount\n");
	else if (limit > 0 && j.total > limit)
		fprintf(stderr, "imapfs: sync: %.1f MiB to sync, but the cache holds at most %.1f MiB "
			"(-o cache_size=): the bodies read first give way to later ones\n",
			(double)j.total / 1048576.0, (double)limit / 1048576.0);
	j.tty = isatty(STDERR_FILENO);
	j.t0 = now();
	for (int k = 1; k < SYNC_THREADS; k++)
		if (pthread_create(&th[started], NULL, worker, &j) == 0)
			started++;
	worker(&j);
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_lock(&j.lock);
	progress(&j, true);
	pthread_mutex_unlock(&j.lock);
	if (!j.quiet)
		fprintf(stderr, "imapfs: sync: %zu messages, %.1f MiB in %.1f s; %zu gone meanwhile\n",
			j.done, (double)j.bytes / 1048576.0, now() - j.t0, j.gone);
	if (j.failed > 0) {
		fprintf(stderr, "imapfs: sync: %zu messages could not be read (named above)\n", j.failed);
		rc = -1;
	}
out:
	for (size_t k = 0; k < j.n; k++)
		free(j.v[k].path);
	free(j.v);
	return rc < 0 ? EXIT_USAGE : 0;
}
