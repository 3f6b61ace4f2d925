/*
 * cache_dir — where the body cache may live: the default directory, the
 * walk from / that opens DIR/ACCOUNT without trusting any name on the way
 * (cache_dir_open, OpenSSH's StrictModes applied to a directory), and
 * private files made under it (cache_create_excl). Nothing here knows the
 * cache's entries; vfs_pending.c uses the same two functions for its own
 * files.
 */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
