/*
 * vfs_pending — new messages written into a mailbox directory.
 *
 * create + write + close is one APPEND, made when the file is closed
 * (flush), of exactly the bytes written, with the INTERNALDATE and flags
 * the writer set before closing (utimens, setxattr user.imap.flags). The
 * bytes wait in an unnamed private file (O_TMPFILE, 0600) in the cache
 * directory, never in memory, so large messages work; APPEND reads them
 * through mmap. Afterwards the file's name is gone and the message is
 * listed under its APPENDUID.
 *
 * An APPEND that fails (the server refused the message, the quota is
 * full, the connection broke) takes the file's name away as a stored one
 * would: the close reports the errno and the log says why, with the
 * server's text. Keeping it would show a message the server does not
 * have, which a later rsync or mv would take for stored (and which would
 * be gone at unmount); the writer still has its source.
 *
 * Offline is the exception: the close fails with ENETDOWN before
 * anything was sent, and the writer (an editor, a cp that already
 * returned) may hold the only copy. So the file keeps its name, bytes
 * and dirty state, stays listed and readable, and once online a touch
 * (pending_send_kept), the next close of a writer or a rename sends it;
 * nothing is sent by itself.
 *
 * Names starting with '.' (rsync's and editors' temporary files) are held
 * until renamed to a visible name; an empty file appends nothing.
 *
 * An APPEND that fails after the command may have reached the server is
 * never simply repeated: we look for the message (Message-ID, among UIDs
 * the mailbox had not used before) and repeat only when it is not there.
 *
 * The APPEND itself is vfs_append.c's; setattr, setxattr, unlink and
 * rename of a new file are vfs_pending_change.c's; a new file written
 * over a stored message is vfs_pending_over.c's.
 */
#include "flags.h"
#include "cache.h"
#include "maildir.h"
#include "deadline.h"
#include "log.h"
#include "names.h"
#include "rights.h"
#include "wire.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_flags.h"
#include "vfs_remove.h"
#include "vfs_files.h"
#include "vfs_pending.h"
#include "vfs_append.h"
#include "vfs_dedupe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers (pend_lock held) ----------------------------------------- */

struct vfs_pending *pending_find_ino(struct vfs *v, uint64_t ino)
{
	struct vfs_pending *p;

	for (p = v->pending; p != NULL; p = p->next)
		if (p->ino == ino)
			return p;
	return NULL;
}

struct vfs_pending *pending_find_name(struct vfs *v, uint32_t node, const char *name)
{
	struct vfs_pending *p;

	for (p = v->pending; p != NULL; p = p->next)
		if (p->name != NULL && !p->over && p->node == node && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

void pending_attr(const struct vfs_pending *p, struct vfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = p->ino;
	a->mode = S_IFREG | (p->mode & 0777);
	a->nlink = p->name ? 1 : 0;
	a->size = p->size;
	a->mtime = p->mtime;
}

/* Free P if nothing refers to it any more; unlinks it from the list. */
void pending_maybe_free(struct vfs *v, struct vfs_pending *p)
{
	struct vfs_pending **pp;

	if (p->name != NULL || p->opens > 0 || p->busy)
		return;
	for (pp = &v->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p->keywords);
	free(p);
}

/* An unnamed private file under the cache directory's tmp/ (cache_dir=,
 * else $XDG_CACHE_HOME/imapfs), whatever cache= says: the bytes of a
 * message being written must not sit in memory. The directory is checked
 * as the cache's is (cache_dir_open). Without any cache directory (no
 * HOME and cache=no) the file is made unnamed in /tmp: with no name
 * nobody else can reach it. */
static int tmpfile_open(struct vfs *v)
{
	char path[4200], why[512], name[64];
	int dfd, fd, rc;

	if (v->cache_dir != NULL) {
		snprintf(path, sizeof(path), "%s/tmp", v->cache_dir);
		rc = cache_dir_open(path, &dfd, why, sizeof(why));
		if (rc < 0) {
			log_err("cannot keep a new message under %s: %s", path, why);
			return rc;
		}
	} else {
		snprintf(path, sizeof(path), "/tmp");
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			rc = -errno;
			log_err("cannot open %s: %s", path, strerror(errno));
			return rc;
		}
	}
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		fd = cache_create_excl(dfd, "new-", name, sizeof(name));
		if (fd >= 0)
			unlinkat(dfd, name, 0);
		else
			errno = -fd;
	}
	if (fd < 0) {
		rc = -errno;
		log_err("cannot create a temporary file in %s: %s", path, strerror(errno));
		close(dfd);
		return rc;
	}
	close(dfd);
	return fd;
}


/* ---- hooks for lookup, read and the lifecycle (vfs_lookup.c, vfs_read.c, vfs.c) */

int pending_lookup(struct vfs *v, uint32_t node, const char *name, struct vfs_attr *out)
{
	struct vfs_pending *p;
	int rc = -ENOENT;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_name(v, node, name);
	if (p != NULL) {
		pending_attr(p, out);
		rc = 0;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int pending_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	struct vfs_pending *p;
	int rc = -ENOENT;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	if (p != NULL) {
		pending_attr(p, out);
		rc = 0;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int pending_list(struct vfs *v, uint32_t node, struct vfs_dirent **d, size_t *n, size_t *cap)
{
	struct vfs_pending *p;
	int rc = 0;

	pthread_mutex_lock(&v->pend_lock);
	for (p = v->pending; p != NULL && rc == 0; p = p->next) {
		if (p->name == NULL || p->over || p->node != node)
			continue;
		if (*n == *cap) {
			size_t nc = *cap * 2 + 4;
			struct vfs_dirent *nd = realloc(*d, nc * sizeof(*nd));

			if (nd == NULL) {
				rc = -ENOMEM;
				break;
			}
			*d = nd;
			*cap = nc;
		}
		(*d)[*n].name = strdup(p->name);
		if ((*d)[*n].name == NULL) {
			rc = -ENOMEM;
			break;
		}
		pending_attr(p, &(*d)[*n].attr);
		(*n)++;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

bool pending_any_in(struct vfs *v, uint32_t node)
{
	struct vfs_pending *p;
	bool any = false;

	pthread_mutex_lock(&v->pend_lock);
	for (p = v->pending; p != NULL; p = p->next)
		if (p->name != NULL && !p->over && p->node == node)
			any = true;
	pthread_mutex_unlock(&v->pend_lock);
	return any;
}

static struct vfs_file *file_for(struct vfs_pending *p)
{
	struct vfs_file *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->fd = -1;		/* the bytes are in P's file, not a cached body */
	f->node = p->node;
	f->pend = p;
	return f;
}

int pending_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out)
{
	struct vfs_pending *p;
	struct vfs_file *f;
	int rc = 0;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	if (p == NULL || p->name == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (p->busy && (flags & (O_TRUNC | O_ACCMODE))) {
		rc = -EBUSY;	/* being sent: its bytes must not change now */
		goto out;
	}
	if (flags & O_TRUNC) {
		if (ftruncate(p->fd, 0) < 0) {
			rc = -errno;
			goto out;
		}
		p->size = 0;
		p->dirty = true;
	}
	f = file_for(p);
	if (f == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	p->opens++;
	if ((flags & O_ACCMODE) != O_RDONLY) {
		f->writer = true;
		p->writers++;
	}
	*out = f;
out:
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

ssize_t pending_read(struct vfs_pending *p, char *buf, size_t size, uint64_t off)
{
	ssize_t n = pread(p->fd, buf, size, (off_t)off);

	return n < 0 ? -errno : n;
}

void pending_release(struct vfs *v, struct vfs_pending *p, bool writer)
{
	struct vfs_inval inval[VFS_MAX_INVAL];
	int ninval = 0;

	pthread_mutex_lock(&v->pend_lock);
	p->opens--;
	if (writer)
		p->writers--;
	if (p->writers == 0 && p->unflushed) {
		/* written through a handle that was never flushed (mmap, or a
		 * crashed writer's close): append now, errors go to the log */
		p->unflushed = false;
		p->opens++;	/* our reference while unlocked: nobody frees P */
		pthread_mutex_unlock(&v->pend_lock);
		pending_commit(v, p, inval, &ninval);
		pthread_mutex_lock(&v->pend_lock);
		p->opens--;
	}
	if (p->over && p->writers == 0 && !p->busy && !p->dirty && p->name != NULL) {
		/* written over a message and closed without anything to store
		 * (": > 5.eml", a failed cp): the message stays as it was, and
		 * this has no name of its own to keep it for (one kept while
		 * offline is dirty: pending_open_over finds it again) */
		free(p->name);
		p->name = NULL;
	}
	pending_maybe_free(v, p);
	pthread_mutex_unlock(&v->pend_lock);
}

void pending_free_all(struct vfs *v)
{
	struct vfs_pending *p, *next;

	for (p = v->pending; p != NULL; p = next) {
		next = p->next;
		if (p->name != NULL && p->size > 0)
			log_warn("%s: a new message of %" PRIu64 " bytes that was never stored on the "
				 "server is gone with the mount", p->name, p->size);
		if (p->fd >= 0)
			close(p->fd);
		free(p->name);
		free(p->keywords);
		free(p);
	}
	v->pending = NULL;
}

/* ---- create / write ----------------------------------------------------- */


/* Whether NAME in node IDX (no mailbox of that name) is a new file's or
 * a message's (what vfs_lookup would find there). No lock held. */
static bool name_taken(struct vfs *v, uint32_t idx, const char *name)
{
	struct tree *t = &v->tree;
	struct vfs_attr a;
	uint32_t uid, uv;
	bool found;

	if (pending_lookup(v, idx, name, &a) == 0)
		return true;
	if (vfs_resolve_name(v, idx, name, &uid, &uv, NULL) < 0)
		return false;
	pthread_mutex_lock(&t->lock);
	found = tree_msg_find(&t->nodes[idx], uid) != NULL;	/* else expunged meanwhile */
	pthread_mutex_unlock(&t->lock);
	return found;
}

int vfs_files_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
	       struct vfs_file **out, struct vfs_attr *attr)
{
	struct tree *t = &v->tree;
	uint32_t idx;
	int rc;

	rc = vfs_writable(v, "create");
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	idx = tree_ino_node(parent);
	if (rc == 0 && idx == 0)
		rc = -EPERM;	/* messages live in mailboxes, not at the top */
	else if (rc == 0 && !t->nodes[idx].selectable)
		rc = -EPERM;	/* \Noselect: cannot hold messages */
	else if (rc == 0 && tree_child(t, idx, name) >= 0)
		rc = -EEXIST;
	if (rc == 0)
		rc = rights_check(t->nodes[idx].rights, "i", false, "new message in", t->nodes[idx].mailbox);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (vfs_parse_msg_name(name) != 0 && name_taken(v, idx, name))
		return -EEXIST;	/* a name that is some message's file name is taken by it */
	rc = pending_add(v, idx, name, mode, NULL, false, out);
	if (rc == 0)
		pending_attr((*out)->pend, attr);
	return rc;
}

/* A new pending file NAME in node IDX, open for writing once (*OUT).
 * OVER: it is written over that message, not under a name of its own
 * (not listed, not found by name; see pending_open_over), and REPLACE:
 * the message is expunged once the new one is stored. */
int pending_add(struct vfs *v, uint32_t idx, const char *name, mode_t mode,
		       const struct alias_target *over, bool replace, struct vfs_file **out)
{
	struct vfs_pending *p;
	struct vfs_file *f = NULL;
	int fd, rc = 0;

	fd = tmpfile_open(v);
	if (fd < 0)
		return fd;
	p = calloc(1, sizeof(*p));
	if (p != NULL)
		p->name = strdup(name);
	if (p == NULL || p->name == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	p->fd = fd;
	p->node = idx;
	p->mode = (mode & 0777) ? (mode & 0777) : 0600;
	p->mtime = time(NULL);
	p->opens = 1;
	p->writers = 1;
	if (over != NULL) {
		p->over = true;
		p->replacing = replace;
		p->replace = *over;
	}

	pthread_mutex_lock(&v->pend_lock);
	if (over == NULL && pending_find_name(v, idx, name) != NULL)
		rc = -EEXIST;
	else if ((f = file_for(p)) == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		pthread_mutex_unlock(&v->pend_lock);
		goto fail;
	}
	f->writer = true;
	p->ino = VFS_PENDING_BIT | ++v->next_pending;
	p->next = v->pending;
	v->pending = p;
	pthread_mutex_unlock(&v->pend_lock);
	*out = f;
	return 0;
fail:
	if (p != NULL)
		free(p->name);
	free(p);
	close(fd);
	return rc;
}

ssize_t vfs_write(struct vfs *v, struct vfs_file *f, const char *buf, size_t size, uint64_t off)
{
	struct vfs_pending *p = f->pend;
	ssize_t n;

	if (p == NULL)
		return -EBADF;
	pthread_mutex_lock(&v->pend_lock);
	if (p->name == NULL || p->busy) {
		/* already appended: messages are immutable */
		pthread_mutex_unlock(&v->pend_lock);
		return -EPERM;
	}
	if (off > v->append_limit || size > v->append_limit - off) {
		/* refused now, not after gigabytes: APPEND could not send it */
		log_err("%s: a new message may not exceed %" PRIu64 " bytes (%s); write refused", p->name,
			v->append_limit, v->append_limit < WIRE_LITERAL_MAX ? "the server's APPENDLIMIT" :
			"IMAP's largest literal");
		pthread_mutex_unlock(&v->pend_lock);
		return -EFBIG;
	}
	n = pwrite(p->fd, buf, size, (off_t)off);
	if (n < 0) {
		n = -errno;
	} else {
		if (off + (uint64_t)n > p->size)
			p->size = off + (uint64_t)n;
		p->dirty = true;
		p->unflushed = true;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return n;
}

/* ---- APPEND ------------------------------------------------------------- */

/* Flags from a Maildir name's info suffix (maildir.h), for a file whose
 * user.imap.flags was not written: added to *SYSFLAGS and *KEYWORDS. */
static int maildir_flags(const char *name, uint8_t *sysflags, char **keywords)
{
	struct maildir_info mi;

	if (!maildir_info_parse(name, &mi))
		return 0;
	*sysflags |= mi.sysflags;
	if (mi.trashed)
		log_info("%s: the Maildir flag T (trashed) is not carried over: \\Deleted would let "
			 "the next EXPUNGE of any client remove the message", name);
	if (mi.forwarded) {
		char *kw;

		if (asprintf(&kw, "%s%s$Forwarded", *keywords ? *keywords : "", *keywords ? " " : "") < 0)
			return -ENOMEM;
		free(*keywords);
		*keywords = kw;
	}
	return 0;
}

/*
 * Append P if it is ready: visible name not starting with '.', written,
 * not empty. On success or failure its name is gone, and INVAL gets the
 * kernel entry to drop; on -ENETDOWN (offline, nothing sent) it keeps its
 * name, bytes and dirty state. pend_lock is NOT held on entry.
 */
int pending_commit(struct vfs *v, struct vfs_pending *p, struct vfs_inval *inval, int *ninval)
{
	struct alias_target stored = { 0 }, replace = { 0 };
	uint64_t size, ino;
	int64_t date;
	uint8_t sysflags;
	char *keywords = NULL, *name, shown[256];
	bool from_name, replacing;
	uint32_t idx;
	int rc;

	pthread_mutex_lock(&v->pend_lock);
	if (p->name == NULL || p->busy || !p->dirty || p->size == 0 || p->name[0] == '.') {
		pthread_mutex_unlock(&v->pend_lock);
		return 0;
	}
	p->busy = true;
	snprintf(shown, sizeof(shown), "%s", p->name);
	idx = p->node;
	ino = p->ino;
	size = p->size;
	date = p->mtime_set ? p->mtime : -1;
	sysflags = p->sysflags;
	from_name = !p->flags_set;
	replacing = p->replacing;
	replace = p->replace;
	if (p->keywords != NULL && (keywords = strdup(p->keywords)) == NULL) {
		p->busy = false;
		pthread_mutex_unlock(&v->pend_lock);
		return -ENOMEM;
	}
	pthread_mutex_unlock(&v->pend_lock);

	rc = from_name ? maildir_flags(shown, &sysflags, &keywords) : 0;
	if (rc == 0)
		rc = vfs_append(v, p, idx, shown, size, date, sysflags, keywords,
			       replacing && replace.node == idx ? &replace : NULL, &stored);
	free(keywords);
	if (rc == 0 && stored.uid != 0) {
		/* the name written, and the inode the kernel holds for it,
		 * mean the stored message for a while (mv, sed -i, tar look
		 * at them again right after the close) */
		int64_t now = vfs_now_s();

		aliases_name_set(&v->aliases, idx, shown, &stored, now);
		aliases_ino_set(&v->aliases, ino, &stored, now);
	}
	if (rc == 0 && replacing && stored.appended && stored.uid != 0 && stored.uid != replace.uid &&
	    !vfs_same_msg_id(v, replace.node, replace.uidvalidity, replace.uid, stored.uid)) {
		/* written over another message's name (a restore whose file
		 * names collide with UIDs): not an edit of it, so it stays */
		log_info("%s: stored as UID %u beside UID %u, which is another message (its Message-ID "
			 "differs, or one has none) and is kept", shown, stored.uid, replace.uid);
	} else if (rc == 0 && replacing && stored.appended && stored.uid != 0 && stored.uid != replace.uid) {
		/* renamed or written over an older version of itself: that
		 * one goes now that this one is confirmed stored (never before,
		 * never when nothing new was), its flags kept unless the
		 * writer gave some */
		if (from_name)
			vfs_carry_flags(v, replace.node, replace.uidvalidity, replace.uid, stored.uid);
		rc = vfs_remove_msg(v, replace.node, replace.uid, replace.uidvalidity, shown);
		if (rc == -ENOENT)
			rc = 0;	/* gone already (another client, another writer) */
		if (rc < 0)
			log_err("%s: stored as UID %u, but removing the message it replaces (UID %u) "
				"failed: %s", shown, stored.uid, replace.uid, strerror(-rc));
		else
			log_info("%s: UID %u replaced by UID %u", shown, replace.uid, stored.uid);
		if (rc == 0)	/* the kernel's inode of the old one: the new one */
			aliases_ino_set(&v->aliases, tree_msg_ino(replace.node, replace.uid), &stored,
					vfs_now_s());
	} else if (rc == 0 && replacing && !stored.appended && stored.uid != replace.uid) {
		log_info("%s: identical to UID %u already there, so UID %u is kept", shown, stored.uid,
			 replace.uid);
	}

	pthread_mutex_lock(&v->pend_lock);
	p->busy = false;
	if (rc == -ENETDOWN) {
		/* offline, nothing sent: name, bytes and dirty stay, so the
		 * file can still be read or copied out, and the next close or
		 * rename once online sends it (imapfs.1, OFFLINE) */
		pthread_mutex_unlock(&v->pend_lock);
		log_warn("offline: %s (%" PRIu64 " bytes) is kept here, not stored: close it again "
			 "or rename it once the server can be reached (it is gone at unmount)", shown, size);
		return rc;
	}
	p->dirty = false;
	/* appended, or failed: either way the name goes (the caller's close
	 * reports a failure; a stored message shows under its UID) */
	name = p->name;
	p->name = NULL;
	if (name != NULL && *ninval < VFS_MAX_INVAL) {
		/* under -o layout=maildir a new file shows in cur/ (vfs_maildir.h) */
		inval[*ninval].parent = vfs_layout_maildir(v) ? vfs_maildir_ino(idx, VFS_MD_CUR) : tree_dir_ino(idx);
		snprintf(inval[*ninval].name, sizeof(inval[*ninval].name), "%s", name);
		(*ninval)++;
	}
	free(name);
	pending_maybe_free(v, p);
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int vfs_flush(struct vfs *v, struct vfs_file *f, struct vfs_inval *inval, int *ninval)
{
	bool last;

	*ninval = 0;
	/* only the close of the last handle that can write sends the
	 * message: a reader's close (cat, an indexer) must not send it half
	 * written */
	if (f->pend == NULL || !f->writer)
		return 0;
	pthread_mutex_lock(&v->pend_lock);
	last = f->pend->writers <= 1;
	if (last)
		f->pend->unflushed = false;
	pthread_mutex_unlock(&v->pend_lock);
	return last ? pending_commit(v, f->pend, inval, ninval) : 0;
}
