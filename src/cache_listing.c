/*
 * cache_listing — mailboxes' listings kept beside the bodies (cache.h,
 * listing.h): DIR/ACCOUNT/listings/MBOX, MBOX the hex of the mailbox's id
 * (cache_mbox_id); and the account's state (acctstate.h) beside them, as
 * DIR/ACCOUNT/listings/account (no listing's name: those are 32 hex
 * digits). Both the same way: Written whole under a temporary name, then renamed
 * over the old one; not flushed to the disk first: a listing a crash
 * left torn fails listing_decode's checksum and the folder is listed
 * anew, so it is never wrong, and nobody waits for the disk. Reached only from the cache's directory descriptor, like
 * the bodies; the directory is 0700 and ours, the files 0600. Memory mode
 * keeps none.
 */
#include "cache.h"
#include "cache_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LISTINGS	"listings"
#define LISTING_MAX	(1ULL << 30)	/* a file larger is no listing of ours */

/* The listings directory under the cache's, made when missing and WANT:
 * its descriptor, or -errno (-ENOENT: none, and not wanted). */
static int listings_dir(const struct cache *c, bool make)
{
	struct stat st;
	int fd;

	if (c->dir == NULL)
		return -ENOENT;
	if (make && mkdirat(c->dirfd, LISTINGS, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(c->dirfd, LISTINGS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		log_warn("cache: %s/%s is not a private directory of yours; no listing is kept there", c->dir,
			 LISTINGS);
		close(fd);
		return -EPERM;
	}
	return fd;
}

#define ACCOUNT_FILE	"account"

static void listing_name(const char *mailbox, char out[33])
{
	uint8_t id[16];

	cache_mbox_id(mailbox, id);
	cache_hex16(id, out);
}

/* Keep LEN bytes at DATA as file NAME of the listings directory; WHAT
 * names it in the log ("the listing of INBOX"). */
static int file_put(struct cache *c, const char *name, const char *what, const void *data, size_t len)
{
	char tmp[64];
	const char *p = data;
	int dfd, fd, rc = 0;

	dfd = listings_dir(c, true);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	fd = cache_create_excl(dfd, ".new-", tmp, sizeof(tmp));
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	while (len > 0 && rc == 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else {
			p += w;
			len -= (size_t)w;
		}
	}
	/* no fsync: a listing a crash tore is refused by its checksum
	 * (the folder is then listed anew), and a lookup that keeps one
	 * does not wait for the disk */
	close(fd);
	if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dfd, tmp, 0);
out:
	if (rc < 0)
		log_warn("cache: cannot keep %s: %s", what, strerror(-rc));
	close(dfd);
	return rc;
}

int cache_listing_put(struct cache *c, const char *mailbox, const void *data, size_t len)
{
	char name[33], what[600];

	listing_name(mailbox, name);
	snprintf(what, sizeof(what), "the listing of %s", mailbox);
	return file_put(c, name, what, data, len);
}

/* File NAME of the listings directory into a malloc'd *DATA (see
 * cache_listing_get); WHAT names it in the log. */
static int file_get(struct cache *c, const char *name, const char *what, char **data, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int dfd, fd, rc = 0;

	*data = NULL;
	*len = 0;
	dfd = listings_dir(c, false);
	if (dfd < 0)
		return dfd == -EPERM ? -EPERM : -ENOENT;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) ||
	    (uint64_t)st.st_size > LISTING_MAX) {
		log_warn("cache: %s is not a private file of yours; not using it", what);
		rc = -EPERM;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)r;
	}
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int cache_listing_get(struct cache *c, const char *mailbox, char **data, size_t *len)
{
	char name[33], what[600];

	listing_name(mailbox, name);
	snprintf(what, sizeof(what), "the listing of %s", mailbox);
	return file_get(c, name, what, data, len);
}

static void file_drop(struct cache *c, const char *name)
{
	int dfd = listings_dir(c, false);

	if (dfd < 0)
		return;
	unlinkat(dfd, name, 0);
	close(dfd);
}

void cache_listing_drop(struct cache *c, const char *mailbox)
{
	char name[33];

	listing_name(mailbox, name);
	file_drop(c, name);
}

int cache_acct_put(struct cache *c, const void *data, size_t len)
{
	return file_put(c, ACCOUNT_FILE, "the account's state", data, len);
}

int cache_acct_get(struct cache *c, char **data, size_t *len)
{
	return file_get(c, ACCOUNT_FILE, "the account's state", data, len);
}

void cache_acct_drop(struct cache *c)
{
	file_drop(c, ACCOUNT_FILE);
}
