/*
 * vfs — inode-level operations over the tree, the pool and the sessions.
 *
 * Listing a mailbox costs one metadata FETCH, after which lookup, getattr
 * and readdir are answered from memory. Reads fetch BODY.PEEK[]<off.len>
 * windows (never setting \Seen) and keep the last window per open file.
 * The real size of BODY[] is checked once per message, at its first open:
 * RFC822.SIZE is only the server's claim, and stat must agree with read.
 */
#include "vfs.h"
#include "cache.h"
#include "flags.h"
#include "log.h"
#include "prefetch.h"
#include "names.h"
#include "pool.h"
#include "session.h"
#include "tls.h"
#include "tree.h"
#include "vfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- attributes --------------------------------------------------------- */

void vfs_msg_attr(struct vfs *v, uint32_t idx, const struct tree_node *n, const struct tree_msg *m,
		  struct vfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = tree_msg_ino(idx, m->uid);
	/* contents are immutable (open for writing fails), but the owner may
	 * set flags, and the kernel asks for write permission for that; under
	 * -o ro nothing can be set, and the mode says so (imapfs.1: 0400) */
	a->mode = S_IFREG | (v->cfg->ro ? 0400 : 0600);
	a->nlink = 1;
	a->size = m->size;
	a->mtime = m->date;
	a->generation = n->uidvalidity;
	vfs_gmail_attr(v, idx, m, a);	/* Gmail: one inode per message, a link per folder */
}

/* ---- setup -------------------------------------------------------------- */

struct ns_acc {
	char *prefixes[16];
	int n;
	bool have_personal;
	char personal_delim;
};

static void ns_add(void *ctx, char kind, const char *prefix, char delim)
{
	struct ns_acc *acc = ctx;

	if (kind == 'p' && !acc->have_personal) {
		acc->have_personal = true;
		acc->personal_delim = delim;
	}
	if (kind != 'p' && prefix[0] != '\0' && acc->n < 16)
		acc->prefixes[acc->n++] = strdup(prefix);
}

/* The LSUB answer, collected and then sorted, so that marking the
 * subscribed nodes costs O(N log N): looking each name up among all nodes
 * made an account of 40,000 mailboxes take 20 s to mount. */
struct lsub_acc {
	char **v;
	size_t n, cap;
	int rc;
};

static void lsub_add(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct lsub_acc *a = ctx;

	if (a->rc < 0)
		return;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		char **nv = realloc(a->v, cap * sizeof(*nv));

		if (nv == NULL) {
			a->rc = -ENOMEM;
			return;
		}
		a->v = nv;
		a->cap = cap;
	}
	if ((a->v[a->n] = strdup(name)) == NULL) {
		a->rc = -ENOMEM;
		return;
	}
	a->n++;
}

static int lsub_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* LSUB, and mark every node whose server name it lists. */
static int lsub_mark(struct session *s, struct tree *t)
{
	struct lsub_acc acc = { .rc = 0 };
	size_t i;
	int rc;

	rc = session_lsub(s, "*", lsub_add, &acc);
	if (rc == 0)
		rc = acc.rc;
	if (rc == 0 && acc.n > 1)
		qsort(acc.v, acc.n, sizeof(*acc.v), lsub_cmp);
	for (i = 1; rc == 0 && acc.n > 0 && i < t->n; i++) {
		const char *key = t->nodes[i].mailbox;

		if (bsearch(&key, acc.v, acc.n, sizeof(*acc.v), lsub_cmp) != NULL)
			t->nodes[i].subscribed = true;
	}
	for (i = 0; i < acc.n; i++)
		free(acc.v[i]);
	free(acc.v);
	return rc;
}

/* -o subscribed: hide what is neither subscribed nor on the way to a
 * subscribed mailbox. */
static void hide_unsubscribed(struct tree *t)
{
	bool *keep = calloc(t->n, sizeof(*keep));
	size_t i;

	if (keep == NULL)
		return;
	keep[0] = true;
	for (i = 1; i < t->n; i++) {
		uint32_t j = (uint32_t)i;

		if (!t->nodes[i].subscribed)
			continue;
		while (j != 0 && !keep[j]) {
			keep[j] = true;
			j = t->nodes[j].parent;
		}
	}
	for (i = 1; i < t->n; i++) {
		if (!keep[i]) {
			tree_hide(t, (uint32_t)i);
			t->nodes[i].filtered = true;
		}
	}
	free(keep);
}

static void list_add(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct tree *t = ctx;

	if (tree_add_mailbox(t, name, delim, attrs, noselect) < 0)
		log_err("cannot add mailbox %s: out of memory", name);
}

static int vfs_load_tree(struct vfs *v, struct session *s)
{
	struct ns_acc ns = { .n = 0 };
	int rc, i;

	if (session_has_cap(s, "NAMESPACE")) {
		rc = session_namespace(s, ns_add, &ns);
		if (rc < 0)
			return rc;
	}
	v->personal_delim = ns.have_personal ? ns.personal_delim : '/';
	rc = session_list(s, "*", list_add, &v->tree);
	/* other users' and shared namespaces are not always in "*" */
	for (i = 0; i < ns.n; i++) {
		char *pat;

		if (rc == 0 && ns.prefixes[i] != NULL && asprintf(&pat, "%s*", ns.prefixes[i]) >= 0) {
			rc = session_list(s, pat, list_add, &v->tree);
			free(pat);
		}
		if (ns.prefixes[i] != NULL)
			v->ns_prefix[v->nns++] = ns.prefixes[i];	/* kept for the watcher */
	}
	if (!ns.have_personal) {
		long inbox = tree_child(&v->tree, 0, "INBOX");

		if (inbox > 0 && v->tree.nodes[inbox].delim != '\0')
			v->personal_delim = v->tree.nodes[inbox].delim;
	}
	if (rc == 0)
		rc = lsub_mark(s, &v->tree);
	if (rc == 0 && v->cfg->subscribed) {
		v->tree.filtering = true;
		hide_unsubscribed(&v->tree);
	}
	return rc;
}

/* The body cache: on disk unless cache=no. A directory that is not safe
 * (see cache_dir_open), or no HOME to put the default under, fails the
 * mount; a default directory that cannot be made for another reason
 * (read-only home) falls back to memory with a warning; an unusable
 * cache_dir= the user chose is an error. */
static int vfs_cache_open(struct vfs *v, char *err, unsigned errlen)
{
	const struct config *cfg = v->cfg;
	char dir[4096], account[1024], why[512];
	int rc;

	if (cfg->cache_dir != NULL && cfg->cache_dir[0] != '/') {
		/* relative to where imapfs was started, not to / where the
		 * daemon ends up */
		char cwd[2048];

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "cache_dir=%s: cannot tell the current directory", cfg->cache_dir);
			return -errno;
		}
		snprintf(dir, sizeof(dir), "%s/%s", cwd, cfg->cache_dir);
	} else if (cfg->cache_dir != NULL) {
		snprintf(dir, sizeof(dir), "%s", cfg->cache_dir);
	} else if (cache_default_dir(dir, sizeof(dir)) < 0) {
		if (cfg->cache == CONFIG_CACHE_NO)	/* nothing on disk; see vfs_pending.c */
			return cache_new(NULL, NULL, cfg->cache_size, &v->cache, err, errlen);
		snprintf(err, errlen, "neither HOME nor XDG_CACHE_HOME is set, so there is no private place "
			 "for the body cache: give -o cache_dir=PATH (a directory of your own) or -o cache=no");
		return -EINVAL;
	}
	v->cache_dir = strdup(dir);
	if (v->cache_dir == NULL)
		return -ENOMEM;
	if (cfg->cache == CONFIG_CACHE_NO)
		return cache_new(NULL, NULL, cfg->cache_size, &v->cache, err, errlen);
	snprintf(account, sizeof(account), "%s@%s:%d", v->url.user, v->url.host, v->url.port);
	rc = cache_new(dir, account, cfg->cache_size, &v->cache, why, sizeof(why));
	if (rc == -EPERM) {
		snprintf(err, errlen, "refusing the cache directory %s: %s (give -o cache_dir= a directory "
			 "of your own, or -o cache=no; see cache_dir in imapfs(1))", dir, why);
		return rc;
	}
	if (rc < 0 && cfg->cache_dir == NULL && rc != -ENOMEM) {
		log_warn("cache: %s is unusable (%s); keeping bodies in memory only", dir, why);
		rc = cache_new(NULL, NULL, cfg->cache_size, &v->cache, err, errlen);
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot use the cache directory %s: %s", dir, why);
	return rc;
}

/* prefetch's fetch callback: a batch read ahead, one attempt (a reader
 * that needs one of these messages fetches it itself). */
static int prefetch_fetch(void *ctx, uint32_t node, const char *mailbox, uint32_t uidvalidity,
			  const uint32_t *uids, size_t n)
{
	return vfs_fetch_bodies(ctx, node, mailbox, uidvalidity, uids, n, false, 0, NULL, NULL);
}

int vfs_new(const struct config *cfg, const struct url *url, const char *password,
	    struct vfs **out, enum vfs_err *cls, char *err, unsigned errlen)
{
	struct vfs *v = calloc(1, sizeof(*v));
	enum session_err scls;
	struct session *s;
	int rc;

	if (v == NULL)
		return -ENOMEM;
	v->cfg = cfg;
	v->mounted_at = time(NULL);
	pthread_mutex_init(&v->pend_lock, NULL);
	aliases_init(&v->aliases);
	v->url = *url;
	v->url.user = strdup(url->user);
	v->url.host = strdup(url->host);
	v->password = password ? strdup(password) : NULL;	/* NULL: OAuth2, see session.h */
	rc = tree_init(&v->tree);
	if (v->url.user == NULL || v->url.host == NULL || (password && v->password == NULL) || rc < 0) {
		rc = -ENOMEM;
		*cls = VFS_ERR_CONFIG;
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	rc = vfs_cache_open(v, err, errlen);
	if (rc < 0) {
		*cls = VFS_ERR_CONFIG;
		goto out_free;
	}
	rc = tls_ctx_new(cfg->cafile, &v->tls, err, errlen);
	if (rc < 0) {
		*cls = VFS_ERR_CONFIG;
		goto out_free;
	}
	v->params.url = &v->url;
	v->params.cfg = cfg;
	v->params.tls = v->tls;
	v->params.password = v->password;

	rc = session_open(&v->params, 1, &s, &scls, err, errlen);
	if (rc < 0) {
		*cls = scls == SESSION_ERR_AUTH ? VFS_ERR_AUTH :
		       scls == SESSION_ERR_TLS ? VFS_ERR_TLS : VFS_ERR_CONNECT;
		goto out_tls;
	}
	v->condstore = session_has_cap(s, "CONDSTORE");
	v->uidplus = session_has_cap(s, "UIDPLUS");
	v->move = session_has_cap(s, "MOVE");
	v->acl = session_has_cap(s, "ACL");
	v->qresync = session_qresync(s);
	v->namespace = session_has_cap(s, "NAMESPACE");
	v->unselect = session_has_cap(s, "UNSELECT");
	v->sasl_ir = cfg->auth != CONFIG_AUTH_LOGIN && session_has_cap(s, "SASL-IR");
	v->append_limit = session_append_limit(s);
	rc = vfs_load_tree(v, s);
	if (rc < 0) {
		*cls = VFS_ERR_CONNECT;
		snprintf(err, errlen, "cannot list the mailboxes on %s (see the log above)", url->host);
		session_close(s);
		goto out_tls;
	}
	vfs_gmail_setup(v, s);
	rc = pool_new(&v->params, cfg->max_conns, s, &v->pool);
	if (rc == 0) {
		/* read-ahead on the pool's other sessions; one stays for the reader */
		rc = prefetch_new(&v->tree, v->cache, cfg->max_conns - 1, prefetch_fetch, v, &v->prefetch);
		if (rc < 0) {
			pool_free(v->pool);	/* it owned S: closed with it */
			*cls = VFS_ERR_CONFIG;
			snprintf(err, errlen, "out of memory");
			goto out_tls;
		}
	}
	if (rc < 0) {
		*cls = VFS_ERR_CONFIG;
		snprintf(err, errlen, "out of memory");
		session_close(s);
		goto out_tls;
	}
	log_debug("%zu mailbox directories", v->tree.n - 1);
	*out = v;
	return 0;
out_tls:
	tls_ctx_free(v->tls);
out_free:
	cache_free(v->cache);
	free(v->cache_dir);
	tree_destroy(&v->tree);
	aliases_free(&v->aliases);
	free(v->url.user);
	free(v->url.host);
	if (v->password)
		explicit_bzero(v->password, strlen(v->password));
	free(v->password);
	free(v);
	return rc;
}

void vfs_set_notify(struct vfs *v, void (*cb)(void *ctx, uint64_t parent, const char *name), void *ctx)
{
	v->notify = cb;
	v->notify_ctx = ctx;
}

void vfs_shutdown(struct vfs *v)
{
	/* the pool first: a watcher busy with a pool session then fails fast
	 * instead of holding up the unmount */
	pool_shutdown(v->pool);
	/* read-ahead workers end here, before the adapter's notification
	 * thread goes (they may report stale names) */
	prefetch_stop(v->prefetch);
	watch_stop(v->watch);
	v->watch = NULL;
}

void vfs_free(struct vfs *v)
{
	if (v == NULL)
		return;
	watch_stop(v->watch);
	prefetch_free(v->prefetch);	/* its workers use the pool */
	pool_free(v->pool);
	cache_free(v->cache);
	free(v->cache_dir);
	tls_ctx_free(v->tls);
	tree_destroy(&v->tree);
	gmail_free(&v->gm);
	pending_free_all(v);
	pthread_mutex_destroy(&v->pend_lock);
	aliases_free(&v->aliases);
	for (int i = 0; i < v->nns; i++)
		free(v->ns_prefix[i]);
	free(v->url.user);
	free(v->url.host);
	if (v->password)
		explicit_bzero(v->password, strlen(v->password));
	free(v->password);
	free(v);
}

/* ---- lookup / getattr / readdir ---------------------------------------- */

int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;
	uint32_t idx, uid, uv;
	long child;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc < 0)
		goto out_unlock;
	idx = tree_ino_node(parent);
	child = tree_child(t, idx, name);
	if (child >= 0) {
		vfs_dir_attr(v, (uint32_t)child, out);
		goto out_unlock;
	}
	pthread_mutex_unlock(&t->lock);
	if (pending_lookup(v, idx, name, out) == 0)
		return 0;
	rc = vfs_resolve_name(v, idx, name, &uid, &uv, NULL);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], uid);
	if (m == NULL) {
		rc = -ENOENT;	/* expunged meanwhile */
	} else {
		vfs_msg_attr(v, idx, &t->nodes[idx], m, out);
		/* an alias lives a minute: the kernel must ask each time */
		out->alias = rc == 1;
		rc = 0;
	}
out_unlock:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int getattr_once(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	uint32_t idx;
	struct tree_msg *m;
	int rc = vfs_gmail_resolve(v, &ino);

	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);

	if (vfs_ino_is_pending(ino))
		return pending_getattr(v, ino, out);
	if (!tree_ino_is_msg(ino)) {
		pthread_mutex_lock(&t->lock);
		rc = vfs_check_dir_ino(v, ino);
		if (rc == 0)
			vfs_dir_attr(v, idx, out);
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	rc = vfs_load(v, idx);	/* -ENOENT when IDX is no node (t->n read under tree.lock) */
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], tree_ino_uid(ino));
	if (m == NULL)
		rc = -ENOENT;
	else
		vfs_msg_attr(v, idx, &t->nodes[idx], m, out);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A message moved away, or a new file just stored, is the same file to the
 * kernel for a while (aliases.h): its old inode number answers with what
 * it became. 0 and *TO, or -ENOENT. */
static int forwarded(struct vfs *v, uint64_t ino, uint64_t *to)
{
	struct alias_target a;
	bool ok;

	if (!vfs_ino_is_pending(ino) && !tree_ino_is_msg(ino))
		return -ENOENT;
	if (aliases_ino_get(&v->aliases, ino, vfs_now_s(), &a) < 0)
		return -ENOENT;
	pthread_mutex_lock(&v->tree.lock);
	/* a mailbox recreated since: its UIDs are other messages */
	ok = a.node < v->tree.n && v->tree.nodes[a.node].uidvalidity == a.uidvalidity;
	pthread_mutex_unlock(&v->tree.lock);
	if (!ok)
		return -ENOENT;
	*to = tree_msg_ino(a.node, a.uid);
	return 0;
}

int vfs_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	uint64_t to;
	int rc = getattr_once(v, ino, out);

	if (rc == -ENOENT && forwarded(v, ino, &to) == 0) {
		rc = getattr_once(v, to, out);
		out->ino = ino;	/* what the kernel asked about */
		out->alias = true;
	}
	return rc;
}

void vfs_dirents_free(struct vfs_dirent *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

int vfs_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *nout)
{
	struct tree *t = &v->tree;
	struct vfs_dirent *d = NULL;
	struct tree_node *node;
	size_t n = 0, cap, i;
	uint32_t idx;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, ino);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);
	rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&t->lock);
	node = &t->nodes[idx];
	cap = 2 + node->nchildren + node->nmsgs;
	d = calloc(cap, sizeof(*d));
	if (d == NULL) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	d[n].name = strdup(".");
	vfs_dir_attr(v, idx, &d[n++].attr);
	d[n].name = strdup("..");
	vfs_dir_attr(v, node->parent, &d[n++].attr);
	for (i = tree_first_child(t, idx); i != 0 && n < cap; i = tree_next_sibling(t, (uint32_t)i)) {
		if (t->nodes[i].hidden)
			continue;
		d[n].name = strdup(t->nodes[i].fsname);
		vfs_dir_attr(v, (uint32_t)i, &d[n++].attr);
	}
	for (i = 0; i < node->nmsgs && n < cap; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%" PRIu32 ".eml", node->msgs[i].uid);
		d[n].name = strdup(name);
		vfs_msg_attr(v, idx, node, &node->msgs[i], &d[n++].attr);
	}
	for (i = 0; i < n; i++) {
		if (d[i].name == NULL) {
			rc = -ENOMEM;
			vfs_dirents_free(d, n);
			d = NULL;
			n = 0;
			goto out_unlock;
		}
	}
out_unlock:
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		rc = pending_list(v, idx, &d, &n, &cap);
	if (rc < 0) {
		if (d != NULL)
			vfs_dirents_free(d, n);
		return rc;
	}
	*out = d;
	*nout = n;
	return 0;
}

/* ---- open / read -------------------------------------------------------- */

/*
 * Find the real length of a large BODY[] with as few bytes as possible:
 * ask for the bytes from RFC822.SIZE - 1 on; one byte back means the size
 * was right. (Smaller messages are fetched whole, which gives the length.)
 */
static int vfs_verify_size(struct vfs *v, struct vfs_file *f, uint32_t hint, uint64_t *real)
{
	char *buf = NULL;
	size_t got = 0;
	uint64_t off = (uint64_t)hint - 1;	/* hint >= WHOLE_MSG > 0 */
	int rc;

	for (;;) {
		rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, off, PROBE_LEN, &buf, &got);
		if (rc < 0)
			return rc;
		free(buf);
		buf = NULL;
		if (got == 0 && off > 0) {
			/* shorter than claimed: find the end from the start */
			uint64_t lo = 0, hi = off;	/* real size in [lo, hi] */

			while (lo < hi) {
				uint64_t mid = lo + (hi - lo + 1) / 2;

				rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, mid - 1, 1, &buf, &got);
				if (rc < 0)
					return rc;
				free(buf);
				buf = NULL;
				if (got == 1)
					lo = mid;
				else
					hi = mid - 1;
			}
			*real = lo;
			return 0;
		}
		if (got < PROBE_LEN) {
			*real = off + got;
			return 0;
		}
		off += PROBE_LEN;	/* longer than claimed: keep going */
		if (off > UINT32_MAX)
			return -EFBIG;
	}
}

/* The body's real length is known: remember it (RFC822.SIZE may lie). */
static void vfs_set_real_size(struct vfs *v, struct vfs_file *f, uint32_t hint, uint64_t real,
			      bool *size_changed)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;

	f->size = real;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[f->node], f->uid);
	if (m != NULL && t->nodes[f->node].uidvalidity == f->uidvalidity && !m->size_exact) {
		if (m->size != real)
			log_warn("UID %u: server said RFC822.SIZE %u but BODY[] has %" PRIu64
				 " bytes; using the real size", f->uid, m->size, real);
		m->size = (uint32_t)real;
		m->size_exact = true;
		vfs_gmail_real_size(v, f->node, m);	/* Gmail: its other folders' copies too */
	}
	pthread_mutex_unlock(&t->lock);
	*size_changed = real != hint;
}

/* The body from the cache, or fetched whole into it (waiting for a
 * prefetch that has it in flight). -ENOENT: not there, and not fetched
 * because LARGE says it should be read in windows. CLAIM is the server's
 * RFC822.SIZE now: a copy cached under another one is stale (cache_get). */
static int vfs_open_cached(struct vfs *v, struct vfs_file *f, const char *mailbox, bool large,
			   uint32_t claim, uint64_t *len)
{
	struct cache_key k = { mailbox, f->uidvalidity, f->uid, claim };
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = cache_get(v->cache, &k, true, &f->fd, len);
		if (rc != -ENOENT || large)
			return rc;
		rc = cache_claim(v->cache, &k);
		if (rc == -EEXIST)
			continue;	/* someone else just started on it: wait for them */
		if (rc < 0)
			return rc;
		return vfs_fetch_bodies(v, f->node, mailbox, f->uidvalidity, &f->uid, 1, true, f->uid,
					&f->fd, len);
	}
	/* three other fetchers in a row failed for it: so would we */
	log_err("%s: UID %u could not be fetched", mailbox, f->uid);
	return -EIO;
}

static int open_once(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed);

int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed)
{
	uint64_t to;
	int rc = open_once(v, ino, flags, out, size_changed);

	if (rc == -ENOENT && forwarded(v, ino, &to) == 0) {
		rc = open_once(v, to, flags, out, size_changed);
		/* the kernel's pages and size are the old file's */
		*size_changed = true;
	}
	return rc;
}

static int open_once(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed)
{
	struct tree *t = &v->tree;
	uint32_t idx, hint, claim;
	struct vfs_file *f;
	struct tree_msg *m;
	char *mailbox = NULL;
	uint64_t real;
	bool exact;
	int rc;

	*size_changed = false;
	rc = vfs_gmail_resolve(v, &ino);
	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);
	if (vfs_ino_is_pending(ino))
		return pending_open(v, ino, flags, out);
	if (!tree_ino_is_msg(ino))
		return -EISDIR;
	if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) && v->cfg->ro)
		return -EROFS;
	/* bytes of a message never change; written over, whole or in
	 * place, it is replaced by a new one (imapfs.1, Changes) */
	if ((flags & O_ACCMODE) != O_RDONLY)
		return pending_open_over(v, ino, !(flags & O_TRUNC), out);
	if (flags & O_TRUNC)
		return -EPERM;	/* O_RDONLY|O_TRUNC: nothing to write with */
	rc = vfs_load(v, idx);	/* -ENOENT when IDX is no node (t->n read under tree.lock) */
	if (rc < 0)
		return rc;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->fd = -1;
	f->node = idx;
	f->uid = tree_ino_uid(ino);

	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], f->uid);
	if (m != NULL)
		mailbox = strdup(t->nodes[idx].mailbox);
	if (m == NULL || mailbox == NULL) {
		pthread_mutex_unlock(&t->lock);
		rc = m == NULL ? -ENOENT : -ENOMEM;
		goto out_free;
	}
	f->uidvalidity = t->nodes[idx].uidvalidity;
	f->size = m->size;
	hint = m->size;
	exact = m->size_exact;
	claim = m->claimed;
	pthread_mutex_unlock(&t->lock);

	/* what a process reading the folder will want next goes ahead now */
	prefetch_note(v->prefetch, idx, f->uid);

	rc = vfs_open_cached(v, f, mailbox, hint >= WHOLE_MSG, claim, &real);
	if (rc == -EFBIG) {
		/* far larger than RFC822.SIZE said: too large to take whole,
		 * so read it in windows like any large message */
		log_warn("%s: UID %u is much larger than its RFC822.SIZE %u; reading it in parts",
			 mailbox, f->uid, hint);
		rc = -ENOENT;
		hint = hint > WHOLE_MSG ? hint : WHOLE_MSG;
		exact = false;
	}
	if (rc == 0) {
		if (real > UINT32_MAX) {
			rc = -EFBIG;
			goto out_free;
		}
		vfs_set_real_size(v, f, hint, real, size_changed);
	} else if (rc == -ENOENT && hint >= WHOLE_MSG) {
		/* large: read in windows; check the size the server claimed */
		if (!exact) {
			rc = vfs_verify_size(v, f, hint, &real);
			if (rc < 0)
				goto out_free;
			if (real > UINT32_MAX) {
				rc = -EFBIG;
				goto out_free;
			}
			vfs_set_real_size(v, f, hint, real, size_changed);
		}
		{
			struct cache_key k = { mailbox, f->uidvalidity, f->uid, claim };

			/* (a body larger than the whole cache is not collected) */
			if (!cache_fits(v->cache, f->size) || cache_writer_new(v->cache, &k, &f->fill) < 0)
				f->fill = NULL;	/* not cached, still readable */
		}
	} else {
		goto out_free;
	}
	free(mailbox);
	*out = f;
	return 0;
out_free:
	free(mailbox);
	if (f->fd >= 0)
		close(f->fd);
	free(f->win);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return rc;
}

/* A window arrived: collect it into the cache. The kernel may read ahead
 * in parallel, so windows can come out of order; once they cover the
 * whole body the cache file is complete, and the writer is returned for
 * the caller to commit once it has let go of the lock (the commit reads
 * the whole body back and renames files): f->fill is NULL from then on,
 * so a second reader completing the same fill finds nothing to commit.
 * Lock held. */
static struct cache_writer *vfs_fill(struct vfs_file *f, const char *data, size_t got, uint64_t off)
{
	struct cache_writer *done;

	if (f->fill == NULL || got == 0)
		return NULL;
	if (cache_writer_pwrite(f->fill, off, data, got) < 0)
		goto drop;
	if (ranges_add(f->filled, &f->nfilled, VFS_FILL_RANGES, off, off + got) < 0)
		goto drop;	/* a reader jumping all over: not worth keeping */
	if (ranges_cover(f->filled, f->nfilled, f->size)) {
		done = f->fill;
		f->fill = NULL;
		return done;
	}
	return NULL;
drop:
	cache_writer_abort(f->fill);
	f->fill = NULL;
	return NULL;
}

static ssize_t vfs_pread_cached(struct vfs_file *f, char *buf, size_t want, uint64_t off)
{
	size_t done = 0;

	while (done < want) {
		ssize_t r = pread(f->fd, buf + done, want - done, (off_t)(CACHE_DATA_OFF + off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("UID %u: cannot read the cached body: %s", f->uid, strerror(errno));
			return -EIO;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t vfs_read(struct vfs *v, struct vfs_file *f, char *buf, size_t size, uint64_t off)
{
	struct cache_writer *done;
	uint64_t want, winlen;
	char *data = NULL;
	size_t got = 0;
	bool sequential;
	int rc;

	if (f->pend != NULL)
		return pending_read(f->pend, buf, size, off);
	if (off >= f->size)
		return 0;
	want = f->size - off < size ? f->size - off : size;
	if (f->fd >= 0)
		return vfs_pread_cached(f, buf, want, off);

	pthread_mutex_lock(&f->lock);
	if (f->win != NULL && off >= f->win_off && off + want <= f->win_off + f->win_len) {
		memcpy(buf, f->win + (off - f->win_off), want);
		pthread_mutex_unlock(&f->lock);
		return (ssize_t)want;
	}
	/* reading on from where the last window ended: grow the window */
	sequential = f->win != NULL && off == f->win_off + f->win_len;
	winlen = sequential ? f->win_len * 2 : READ_WINDOW;
	pthread_mutex_unlock(&f->lock);

	if (winlen < READ_WINDOW)
		winlen = READ_WINDOW;
	if (winlen > MAX_WINDOW)
		winlen = MAX_WINDOW;
	if (winlen < want)
		winlen = want;
	if (winlen > f->size - off)
		winlen = f->size - off;
	rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, off, (uint32_t)winlen, &data, &got);
	if (rc == -ENOENT)
		return -ESTALE;	/* expunged by someone while we had it open */
	if (rc < 0)
		return rc;
	if (got < want) {
		log_err("UID %u: server returned %zu bytes at offset %" PRIu64 " where %" PRIu64
			" were expected", f->uid, got, off, want);
		want = got;
	}
	memcpy(buf, data, want);
	pthread_mutex_lock(&f->lock);
	done = vfs_fill(f, data, got, off);
	free(f->win);
	f->win = data;
	f->win_off = off;
	f->win_len = got;
	pthread_mutex_unlock(&f->lock);
	if (done != NULL)
		cache_writer_commit(done, NULL);	/* slow: outside f->lock */
	return (ssize_t)want;
}

int vfs_read_where(const struct vfs_file *f, size_t size, uint64_t off, int *fd, int64_t *pos, size_t *len)
{
	if (f->pend != NULL || f->fd < 0)
		return -ENOENT;
	*fd = f->fd;
	*pos = (int64_t)(CACHE_DATA_OFF + off);
	*len = off >= f->size ? 0 : f->size - off < size ? (size_t)(f->size - off) : size;
	return 0;
}

bool vfs_attr_cacheable(const struct vfs_attr *a)
{
	return !vfs_ino_is_pending(a->ino);
}

bool vfs_file_is_new(const struct vfs_file *f)
{
	return f->pend != NULL;
}

void vfs_release(struct vfs *v, struct vfs_file *f)
{
	if (f == NULL)
		return;
	if (f->pend != NULL)
		pending_release(v, f->pend, f->writer);
	vfs_file_free(f);
}

/* ---- extended attributes ----------------------------------------------- */

static const char *const file_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.modseq",
};
/* Gmail: user.imap.labels too (read-only modseq stays last, as above) */
static const char *const gmail_file_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.labels", "user.imap.modseq",
};
static const char *const dir_xattrs[] = {
	"user.imap.attributes", "user.imap.subscribed", "user.imap.messages", "user.imap.unseen",
	"user.imap.uidnext", "user.imap.uidvalidity",
};

static void date_string(const struct tree_msg *m, char *buf, size_t len)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t local = (time_t)(m->date + (int64_t)m->tz * 60);
	int tz = m->tz < 0 ? -m->tz : m->tz;
	struct tm tm;

	gmtime_r(&local, &tm);
	snprintf(buf, len, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, m->tz < 0 ? '-' : '+',
		 tz / 60, tz % 60);
}

/* user.imap.flags of M: whole up to FLAGS_XATTR_MAX bytes (what getxattr
 * can return), else cut after the last whole flag, with a log line. */
static int msg_flags_xattr(const struct tree_msg *m, char **val, size_t *len)
{
	size_t dropped;
	int rc = flags_format(m->sysflags, m->keywords, FLAGS_XATTR_MAX, val, len, &dropped);

	/* at warning level once (ls -l and getfattr ask again and again) */
	static bool warned;

	if (rc == 0 && dropped > 0)
		log_msg(__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED) ? LOG_DEBUG : LOG_WARNING,
			"UID %u: %zu of its flags are not shown in user.imap.flags (longer than %d "
			"bytes in all, or not IMAP atoms)", m->uid, dropped, FLAGS_XATTR_MAX);
	return rc;
}

static int msg_xattr(struct vfs *v, uint64_t ino, const char *name, char *out, size_t len,
		     char **big, size_t *biglen)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	struct tree_msg *m;
	int rc;

	rc = vfs_load(v, idx);	/* -ENOENT when IDX is no node (t->n read under tree.lock) */
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], tree_ino_uid(ino));
	if (m == NULL)
		rc = -ENOENT;
	else if (strcmp(name, "user.imap.flags") == 0)
		rc = msg_flags_xattr(m, big, biglen);
	else if (strcmp(name, "user.imap.uid") == 0)
		snprintf(out, len, "%" PRIu32, m->uid);
	else if (strcmp(name, "user.imap.internaldate") == 0)
		date_string(m, out, len);
	else if (strcmp(name, "user.imap.modseq") == 0 && v->condstore)
		snprintf(out, len, "%" PRIu64, m->modseq);
	else if (strcmp(name, "user.imap.labels") == 0)
		rc = vfs_gmail_labels_xattr(v, idx, m, big, biglen);
	else
		rc = -ENODATA;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int dir_status(struct vfs *v, uint32_t idx, struct session_status *st)
{
	struct tree *t = &v->tree;
	struct session *s;
	char *mailbox;
	time_t now = time(NULL);
	int rc;

	pthread_mutex_lock(&t->lock);
	if (t->nodes[idx].status_time != 0 && now - t->nodes[idx].status_time < STATUS_TTL) {
		*st = t->nodes[idx].status;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	mailbox = strdup(t->nodes[idx].mailbox);
	pthread_mutex_unlock(&t->lock);
	if (mailbox == NULL)
		return -ENOMEM;
	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		rc = session_status(s, mailbox, st);
		pool_checkin(v->pool, s);
	}
	free(mailbox);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	t->nodes[idx].status = *st;
	t->nodes[idx].status_time = now;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int dir_xattr(struct vfs *v, uint64_t ino, const char *name, char *out, size_t len)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	struct session_status st;
	bool selectable;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, ino);
	if (rc == 0 && idx == 0)
		rc = -ENODATA;
	if (rc == 0 && strcmp(name, "user.imap.attributes") == 0) {
		snprintf(out, len, "%s", t->nodes[idx].attrs);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	if (rc == 0 && strcmp(name, "user.imap.subscribed") == 0) {
		snprintf(out, len, "%d", t->nodes[idx].subscribed ? 1 : 0);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	selectable = rc == 0 && t->nodes[idx].selectable;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (!selectable || strncmp(name, "user.imap.", 10) != 0)
		return -ENODATA;
	name += 10;
	if (strcmp(name, "messages") && strcmp(name, "unseen") && strcmp(name, "uidnext") &&
	    strcmp(name, "uidvalidity"))
		return -ENODATA;
	rc = dir_status(v, idx, &st);
	if (rc < 0)
		return rc;
	snprintf(out, len, "%" PRIu32,
		 strcmp(name, "messages") == 0 ? st.messages :
		 strcmp(name, "unseen") == 0 ? st.unseen :
		 strcmp(name, "uidnext") == 0 ? st.uidnext : st.uidvalidity);
	return 0;
}

int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, char **val, size_t *len)
{
	char buf[4096];
	int rc;

	/* only user.* exists here. Saying "not supported" (not "no such
	 * attribute") for security.selinux and system.posix_acl_access lets
	 * ls -l ask once per directory instead of twice per file */
	if (strncmp(name, "user.", 5) != 0)
		return -EOPNOTSUPP;
	if (vfs_ino_is_pending(ino))
		return -ENODATA;	/* set before close, applied by APPEND */
	rc = vfs_gmail_resolve(v, &ino);
	if (rc < 0)
		return rc;
	*val = NULL;
	rc = tree_ino_is_msg(ino) ? msg_xattr(v, ino, name, buf, sizeof(buf), val, len)
				  : dir_xattr(v, ino, name, buf, sizeof(buf));
	if (rc < 0 || *val != NULL)
		return rc;
	*val = strdup(buf);
	if (*val == NULL)
		return -ENOMEM;
	*len = strlen(buf);
	return 0;
}

int vfs_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len)
{
	const char *const *names;
	size_t n, i, total = 0;
	char *out;
	bool selectable = true;
	int rc = vfs_gmail_resolve(v, &ino);

	if (rc < 0)
		return rc;

	if (vfs_ino_is_pending(ino)) {
		names = file_xattrs;
		n = 0;
	} else if (tree_ino_is_msg(ino)) {
		names = file_xattrs;
		n = v->condstore ? 4 : 3;
		if (v->gm.on) {
			names = gmail_file_xattrs;
			n = v->condstore ? 5 : 4;
		}
	} else {
		uint32_t idx = tree_ino_node(ino);

		pthread_mutex_lock(&v->tree.lock);
		if (vfs_check_dir_ino(v, ino) < 0) {
			pthread_mutex_unlock(&v->tree.lock);
			return -ENOENT;
		}
		selectable = v->tree.nodes[idx].selectable;
		pthread_mutex_unlock(&v->tree.lock);
		names = dir_xattrs;
		n = idx == 0 ? 0 : selectable ? 6 : 2;
	}
	for (i = 0; i < n; i++)
		total += strlen(names[i]) + 1;
	out = malloc(total + 1);
	if (out == NULL)
		return -ENOMEM;
	total = 0;
	for (i = 0; i < n; i++) {
		memcpy(out + total, names[i], strlen(names[i]) + 1);
		total += strlen(names[i]) + 1;
	}
	*list = out;
	*len = total;
	return 0;
}
