/*
 * ops — FUSE low-level handlers: each turns a request into one vfs call and
 * one reply. Nothing here knows IMAP; errors arrive as -errno from vfs and
 * go back to the kernel unchanged.
 *
 * Message bodies never change for a (UIDVALIDITY, UID), so opens keep the
 * kernel page cache (keep_cache) and a message's attributes can be cached.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "deadline.h"
#include "log.h"
#include "owner.h"
#include "readfile.h"
#include "reqcount.h"

/* Every handler calls this before anything else: a request is one file
 * operation, with one deadline for all the IMAP it needs (deadline.h).
 * Calling it again later in the same handler is harmless. */
static struct imapfs *fs_of(fuse_req_t req)
{
	deadline_op_begin();
	return fuse_req_userdata(req);
}

static void to_stat(const struct imapfs *fs, const struct vfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = owner_mode(a->mode, fs->umask);
	st->st_nlink = a->nlink;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)a->mtime;
	st->st_atim.tv_nsec = st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = (long)a->mtime_nsec;
}

static void to_entry(const struct imapfs *fs, const struct vfs_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = a->generation;
	e->attr_timeout = vfs_attr_cacheable(a) ? fs->timeout : 0;
	e->entry_timeout = vfs_attr_cacheable(a) && !a->alias ? fs->timeout : 0;
	to_stat(fs, a, &e->attr);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct imapfs *fs = userdata;

	/* see op_open; a kernel without it would fail every open */
	fs->no_open = fs->ro && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	/* let the kernel ask for big chunks (up to 1 MiB a request; libfuse
	 * sizes its buffers for that): fewer round trips per message */
	conn->max_readahead = 1024 * 1024;
	/* cached bodies go from their file to the kernel by splice(2) */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* READDIRPLUS for every chunk of a listing, not only the first (the
	 * kernel's "auto" mode): grep -r, find and ls -l look at every entry
	 * after listing, and a chunk of entries costs one request where
	 * looking each up costs one per file. It also renews the attributes
	 * a READ made stale (the kernel forgets atime after every read), so
	 * a second grep sends no GETATTR per file either. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct imapfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct vfs_attr a;
	int rc = vfs_lookup(fs->vfs, parent, name, &a);

	reqcount_add(RQ_LOOKUP);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_entry(fs, &a, &e);
	fuse_reply_entry(req, &e);
}

/* Inode numbers are computed, not allocated: nothing to forget. */
static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_attr a;
	struct stat st;
	int rc = vfs_getattr(fs->vfs, ino, &a);

	reqcount_add(RQ_GETATTR);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_stat(fs, &a, &st);
	/* an inode answering for what it became (a forward) is asked again */
	fuse_reply_attr(req, &st, vfs_attr_cacheable(&a) && !a.alias ? fs->timeout : 0);
}

/* A directory handle holds a snapshot, so listing in several readdir calls
 * sees one consistent state. GONE is notify_gone_count before the
 * snapshot was taken: when it moved, a name in the snapshot may be one the
 * kernel was told to forget meanwhile (between two getdents calls of a
 * long listing). READDIRPLUS would make the kernel cache it again, for the
 * whole entry timeout, so such replies give their names no entry timeout:
 * the next stat asks us, and an absent name fails. A reply built before
 * the count moved is safe: the kernel's invalidation takes the directory's
 * lock, which the getdents waiting for that reply holds, so it comes after. */
struct dirsnap {
	struct vfs_dirent *d;
	size_t n;
	uint64_t gone;
};

/* Every open file and directory, listed so that unmount can free what the
 * kernel never released. fi->fh points to one of these. */
struct ops_handle {
	struct ops_handle *prev, *next;	/* guarded by imapfs.hlock */
	struct dirsnap *dir;		/* exactly one of dir and file */
	struct vfs_file *file;
};

static struct ops_handle *handle_new(struct imapfs *fs, struct dirsnap *dir, struct vfs_file *file)
{
	struct ops_handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->dir = dir;
	h->file = file;
	pthread_mutex_lock(&fs->hlock);
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->hlock);
	return h;
}

static struct ops_handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct ops_handle *)(uintptr_t)fi->fh;
}

static struct vfs_file *file_of(const struct fuse_file_info *fi)
{
	return handle_of(fi)->file;
}

static void handle_free(struct imapfs *fs, struct ops_handle *h)
{
	pthread_mutex_lock(&fs->hlock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->hlock);
	free(h);
}

static void dirsnap_free(struct dirsnap *snap)
{
	vfs_dirents_free(snap->d, snap->n);
	free(snap);
}

void ops_release_all(struct imapfs *fs)
{
	readfile_release_all(fs);
	while (fs->handles != NULL) {
		struct ops_handle *h = fs->handles;

		if (h->dir)
			dirsnap_free(h->dir);
		else
			vfs_release(fs->vfs, h->file);
		handle_free(fs, h);
	}
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct dirsnap *snap = calloc(1, sizeof(*snap));
	struct ops_handle *h;
	int rc;

	if (snap == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* a first listing's own catch-up is no news to this listing; a
	 * folder that cannot be listed fails here, not asked twice */
	rc = vfs_dir_prepare(fs->vfs, ino);
	if (rc == 0) {
		snap->gone = notify_gone_count(fs->notify);
		rc = vfs_readdir(fs->vfs, ino, &snap->d, &snap->n);
	}
	if (rc < 0) {
		free(snap);
		fuse_reply_err(req, -rc);
		return;
	}
	h = handle_new(fs, snap, NULL);
	if (h == NULL) {
		dirsnap_free(snap);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		dirsnap_free(snap);	/* the opener was interrupted */
		handle_free(fs, h);
	}
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	struct imapfs *fs = fs_of(req);
	struct dirsnap *snap = handle_of(fi)->dir;
	char *buf = malloc(size);
	size_t used = 0, i;
	bool stale = plus && notify_gone_count(fs->notify) != snap->gone;

	reqcount_add(RQ_READDIR);
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = (size_t)off; i < snap->n; i++) {
		const struct vfs_dirent *d = &snap->d[i];
		size_t need;

		if (plus) {
			struct fuse_entry_param e;
			bool dot = strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0;

			to_entry(fs, &d->attr, &e);
			if (stale)
				e.entry_timeout = 0;
			if (dot) {
				/* the kernel does not count lookups for these */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = d->attr.ino;
				e.attr.st_mode = owner_mode(d->attr.mode, fs->umask);
			}
			need = fuse_add_direntry_plus(req, buf + used, size - used, d->name, &e, (off_t)i + 1);
		} else {
			struct stat st;

			to_stat(fs, &d->attr, &st);
			need = fuse_add_direntry(req, buf + used, size - used, d->name, &st, (off_t)i + 1);
		}
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ops_handle *h = handle_of(fi);

	dirsnap_free(h->dir);
	handle_free(fs_of(req), h);
	fuse_reply_err(req, 0);
}


/*
 * F was opened with its body from the disk cache, which happens at the
 * first open of a message on this mount (later opens attach the body
 * lazily, vfs_file_attach): the kernel has none of it, and would ask for
 * it with a READ as soon as the open returns. Store it in the kernel's
 * page cache now, before the reply, so the reader finds it there and
 * that round trip is saved. keep_cache (set by the caller) makes the
 * kernel keep it. Best effort: on failure the kernel just reads.
 */
static void push_body(struct imapfs *fs, fuse_ino_t ino, const struct vfs_file *f)
{
	if (push_file(fs->se, ino, f, OPS_PUSH_MAX))
		__atomic_fetch_add(&fs->pushed, 1, __ATOMIC_RELAXED);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_file *f;
	struct ops_handle *h;
	bool size_changed, msg;
	int rc;

	reqcount_add(RQ_OPEN);
	if (fs->no_open) {
		/* Read-only: the kernel refuses every write itself, so an open
		 * has nothing to tell us. ENOSYS makes it stop sending OPEN
		 * (and RELEASE) for every file of this mount: it opens with
		 * fh 0 and keeps the page cache, and READs come without a
		 * handle (readfile_stateless). A file read again costs no
		 * request. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	rc = vfs_open(fs->vfs, ino, fi->flags, &f, &size_changed);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (size_changed) {
		/* The kernel still has RFC822.SIZE: make it ask again. Offset -1
		 * drops attributes only, which is safe from inside a handler. */
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	}
	h = handle_new(fs, NULL, f);
	if (h == NULL) {
		vfs_release(fs->vfs, f);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->keep_cache = !size_changed;
	msg = !vfs_file_is_new(f);
	if (msg)
		fi->noflush = 1;	/* nothing to do at close for a message */
	if (vfs_file_direct(fs->vfs, f)) {
		/* its size may be wrong: reads go to the real end */
		fi->direct_io = 1;
		fi->keep_cache = 0;
	}
	if (msg && !size_changed)
		push_body(fs, ino, f);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		vfs_release(fs->vfs, f);	/* the opener was interrupted */
		handle_free(fs, h);
	} else if (msg) {
		/* (F may be released already) what follows, from another thread */
		push_note(fs->push, ino);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_file *f;
	bool size_changed;
	int rc;

	reqcount_add(RQ_READ);
	if (fi->fh == 0) {
		readfile_stateless(fs, req, ino, size, off);
		return;
	}
	f = file_of(fi);
	rc = vfs_file_attach(fs->vfs, f, &size_changed);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (size_changed)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);	/* as in op_open */
	readfile_reply(fs, req, f, size, off);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ops_handle *h = handle_of(fi);

	reqcount_add(RQ_RELEASE);
	if (h == NULL) {
		/* opened without OPEN (op_open): kernels send no RELEASE for
		 * those, but should one come, there is nothing to free */
		fuse_reply_err(req, 0);
		return;
	}
	vfs_release(fs_of(req)->vfs, h->file);
	handle_free(fs_of(req), h);
	fuse_reply_err(req, 0);
}

static void queue_invals(struct imapfs *fs, const struct vfs_inval *inval, int n)
{
	for (int i = 0; i < n; i++)
		notify_entry(fs->notify, inval[i].parent, inval[i].name);
}

static void reply_entry_or_err(fuse_req_t req, int rc, const struct vfs_attr *a)
{
	struct fuse_entry_param e;

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_entry(fs_of(req), a, &e);
	fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct vfs_attr a;

	reply_entry_or_err(req, vfs_mkdir(fs_of(req)->vfs, parent, name, &a), &a);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -vfs_rmdir(fs_of(req)->vfs, parent, name));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -vfs_unlink(fs_of(req)->vfs, parent, name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_inval inval[VFS_MAX_INVAL];
	struct vfs_attr a;
	int n = 0, rc;

	if (flags & RENAME_EXCHANGE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((flags & RENAME_NOREPLACE) && vfs_lookup(fs->vfs, newparent, newname, &a) == 0) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	rc = vfs_rename(fs->vfs, parent, name, newparent, newname, inval, &n);
	fuse_reply_err(req, -rc);
	queue_invals(fs, inval, n);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct vfs_file *f;
	struct ops_handle *h;
	struct vfs_attr a;
	int rc = vfs_create(fs->vfs, parent, name, mode, &f, &a);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_entry(fs, &a, &e);
	/* the entry changes name at close: do not let the kernel keep it long */
	e.entry_timeout = 0;
	e.attr_timeout = 0;
	h = handle_new(fs, NULL, f);
	if (h == NULL) {
		vfs_release(fs->vfs, f);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;	/* a file being written: no page cache games */
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		vfs_release(fs->vfs, f);
		handle_free(fs, h);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n;

	if (fi->fh == 0) {
		fuse_reply_err(req, EBADF);	/* opened without OPEN: read-only (op_open) */
		return;
	}
	n = vfs_write(fs_of(req)->vfs, file_of(fi), buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_inval inval[VFS_MAX_INVAL];
	int n = 0, rc;

	reqcount_add(RQ_FLUSH);
	if (fi->fh == 0) {
		/* a file opened without OPEN (read-only mounts, see op_open):
		 * nothing is ever written there, and ENOSYS makes the kernel
		 * send no FLUSH at any close from now on */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	rc = vfs_flush(fs->vfs, file_of(fi), inval, &n);
	fuse_reply_err(req, -rc);
	queue_invals(fs, inval, n);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct imapfs *fs = fs_of(req);
	struct vfs_setattr sa = { 0 };
	struct vfs_attr a;
	struct stat st;
	int rc;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa.set_size = true;
		sa.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.set_mtime = true;
		sa.mtime = time(NULL);
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.set_mtime = true;
		sa.mtime = attr->st_mtim.tv_sec;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.set_mode = true;
		sa.mode = attr->st_mode;
	}
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		/* ownership is not ours to give away; chown to ourselves is fine */
		if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->uid) ||
		    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->gid)) {
			fuse_reply_err(req, EPERM);
			return;
		}
		sa.set_owner = true;
	}
	rc = vfs_fsetattr(fs->vfs, fi != NULL && fi->fh != 0 && handle_of(fi)->file != NULL ? file_of(fi) : NULL, ino, &sa, &a);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_stat(fs, &a, &st);
	fuse_reply_attr(req, &st, vfs_attr_cacheable(&a) ? fs->timeout : 0);
}

/* `imapfs status` reads this read-only attribute of the root; it is not
 * listed, so getfattr -d and rsync -X do not copy daemon state around. */
static bool is_status_xattr(fuse_ino_t ino, const char *name)
{
	return ino == FUSE_ROOT_ID && strcmp(name, VFS_STATUS_XATTR) == 0;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	if (is_status_xattr(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req, -vfs_setxattr(fs_of(req)->vfs, ino, name, value, size));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (is_status_xattr(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req, -vfs_removexattr(fs_of(req)->vfs, ino, name));
}

static void reply_xattr_value(fuse_req_t req, size_t size, const char *val, size_t len)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

/* The status text, with the adapter's own line (reqcount.h). */
static int status_text(struct imapfs *fs, char **val, size_t *len)
{
	int rc = vfs_status(fs->vfs, val, len);

	if (rc < 0)
		return rc;
	return reqcount_status(val, len, __atomic_load_n(&fs->pushed, __ATOMIC_RELAXED) + push_count(fs->push));
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct imapfs *fs = fs_of(req);
	char *val;
	size_t len;
	int rc = is_status_xattr(ino, name) ? status_text(fs, &val, &len) :
		 vfs_getxattr(fs->vfs, ino, name, &val, &len);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_xattr_value(req, size, val, len);
	free(val);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct imapfs *fs = fs_of(req);
	char *list;
	size_t len;
	int rc = vfs_listxattr(fs->vfs, ino, &list, &len);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_xattr_value(req, size, list, len);
	free(list);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_namemax = 255,
	};

	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops imapfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.rename = op_rename,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.setattr = op_setattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
};
