/*
 * vfs — the account's lifecycle: vfs_new connects, reads the mailbox tree
 * (LIST, LSUB under -o subscribed, NAMESPACE), opens the body cache and
 * starts the pool and read-ahead; vfs_shutdown and vfs_free undo it.
 * When the server cannot be reached at mount and the cache kept the
 * account's state (vfs_acct.h), the mount is made from that with the
 * pool offline, and caught up when the pool is back online
 * (vfs_back_online; imapfs.1 "OFFLINE").
 * The inode operations live beside it, one job a file: vfs_lookup.c
 * (lookup, getattr, readdir), vfs_read.c (open, read), vfs_xattr.c,
 * vfs_change.c (mkdir, rmdir, unlink, rename, setattr), vfs_pending.c (new
 * files), on vfs_base.c (sessions, listings). Listing a mailbox costs one
 * metadata FETCH, after which lookup, getattr and readdir are answered
 * from memory.
 */
#include "vfs.h"
#include "acctstate.h"
#include "cache.h"
#include "flags.h"
#include "log.h"
#include "prefetch.h"
#include "names.h"
#include "pool.h"
#include "session.h"
#include "tls_ctx.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_acct.h"
#include "vfs_listing.h"
#include "vfs_resync.h"
#include "vfs_parts.h"
#include "vfs_search.h"
#include "vfs_bodies.h"
#include "vfs_watch.h"
#include "vfs_gmail.h"
#include "vfs_pending.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* -o subscribed, after the tree is built: only what is subscribed, and
 * the way to it, shows. */
static void vfs_filter_tree(struct vfs *v)
{
	if (v->cfg->subscribed) {
		v->tree.filtering = true;
		hide_unsubscribed(&v->tree);
	}
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
	if (rc == 0)
		vfs_filter_tree(v);
	return rc;
}

/* Set the capability fields from ACCTSTATE_* bits (before any thread
 * reads them: vfs_new only). */
static void caps_set(struct vfs *v, uint32_t caps)
{
	v->condstore = caps & ACCTSTATE_CONDSTORE;
	v->uidplus = caps & ACCTSTATE_UIDPLUS;
	v->move = caps & ACCTSTATE_MOVE;
	v->acl = caps & ACCTSTATE_ACL;
	v->qresync = caps & ACCTSTATE_QRESYNC;
	v->namespace = caps & ACCTSTATE_NAMESPACE;
	v->unselect = caps & ACCTSTATE_UNSELECT;
	v->sasl_ir = caps & ACCTSTATE_SASL_IR;
}

/* What vfs_new reads from a session it opened: the capabilities, the
 * tree, Gmail's set-up; then the state is kept for a mount without the
 * server. On failure S is closed and ERR says why. */
static int vfs_from_server(struct vfs *v, struct session *s, enum vfs_err *cls, char *err, unsigned errlen)
{
	int rc;

	caps_set(v, vfs_acct_session_caps(v, s));
	v->append_limit = session_append_limit(s);
	rc = vfs_load_tree(v, s);
	if (rc < 0) {
		*cls = VFS_ERR_CONNECT;
		snprintf(err, errlen, "cannot list the mailboxes on %s (see the log above)", v->url.host);
		session_close(s);
		return rc;
	}
	vfs_gmail_setup(v, s);
	__atomic_store_n(&v->tree_live, true, __ATOMIC_SEQ_CST);
	vfs_acct_keep(v);
	return 0;
}

/* The server cannot be reached (WHY says how): the mount is made from
 * the account's state an earlier mount kept, when there is one. 0, or
 * -ENOENT (none: the mount fails as it would have). */
static int vfs_from_cache(struct vfs *v, const char *why)
{
	struct acctstate st;
	char when[64];
	struct tm tm;
	time_t saved;
	int rc = 0;

	if (vfs_acct_read(v, &st) < 0)
		return -ENOENT;
	caps_set(v, st.caps);
	v->append_limit = st.append_limit;
	v->personal_delim = st.personal_delim;
	for (int i = 0; i < st.nns; i++) {
		v->ns_prefix[v->nns] = strdup(st.ns_prefix[i]);
		if (v->ns_prefix[v->nns] != NULL)
			v->nns++;
	}
	for (size_t i = 0; i < st.nboxes && rc == 0; i++) {
		const struct acctstate_box *b = &st.boxes[i];
		long idx;

		rc = tree_add_mailbox(&v->tree, b->name, b->delim, b->attrs != NULL ? b->attrs : "",
				      b->bits & ACCTSTATE_BOX_NOSELECT);
		idx = rc == 0 ? tree_find_raw(&v->tree, b->name) : -1;
		if (idx > 0)
			v->tree.nodes[idx].subscribed = b->bits & ACCTSTATE_BOX_SUBSCRIBED;
	}
	vfs_filter_tree(v);
	saved = (time_t)st.saved;
	if (localtime_r(&saved, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(when, sizeof(when), "an earlier mount");
	if (rc == 0 && asprintf(&v->offline_note, "%s; mounted from the cache of %s; changes are refused "
				"(ENETDOWN) until the server can be reached again", why, when) < 0) {
		v->offline_note = NULL;
		rc = -ENOMEM;
	}
	acctstate_free(&st);
	if (rc < 0)
		return rc;
	v->offline_mount = true;
	__atomic_store_n(&v->caps_state, VFS_CAPS_UNCHECKED, __ATOMIC_SEQ_CST);
	return 0;
}

/* The pool is back online (pool.h; on its reconnect thread, no lock
 * held): every folder we hold a listing of catches up with what other
 * clients changed meanwhile (vfs_resync: QRESYNC or its fallbacks). The
 * tree's own changes come with the watcher's next LIST, which its
 * reconnect asks for at once (vfs_watch.c). */
static void vfs_back_online(void *ctx)
{
	struct vfs *v = ctx;
	struct tree *t = &v->tree;
	size_t n, done = 0;

	if (vfs_acct_caps_check(v) < 0)
		return;	/* offline again, or a remount is needed (logged) */
	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 1; i < n; i++) {
		bool ready;
		int rc, tries = 0;

		pthread_mutex_lock(&t->lock);
		ready = t->nodes[i].state == TREE_READY && t->nodes[i].selectable && !t->nodes[i].hidden;
		pthread_mutex_unlock(&t->lock);
		if (!ready)
			continue;
		/* (-EAGAIN: the tree changed meanwhile; look again) */
		do
			rc = vfs_resync(v, (uint32_t)i);
		while (rc == -EAGAIN && ++tries < 3);
		if (rc == -ESHUTDOWN || rc == -ENETDOWN)
			break;	/* unmounting, or offline again */
		done += rc == 0;
	}
	log_info("back online: %zu folders brought up to date", done);
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
	names_set_maildir(cfg->layout == CONFIG_LAYOUT_MAILDIR);	/* before the first name */
	pthread_mutex_init(&v->pend_lock, NULL);
	aliases_init(&v->aliases);
	vfs_views_init(v);
	vfs_parts_init(v);
	digests_init(&v->digests);
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
	/* only when the network failed: a TLS or login failure, or a server
	 * that answered wrongly, fails the mount as ever */
	if (rc < 0 && pool_unreachable(rc, scls) && vfs_from_cache(v, err) == 0) {
		s = NULL;	/* the pool starts offline */
		log_warn("%s", v->offline_note);
	} else if (rc < 0) {
		*cls = scls == SESSION_ERR_AUTH ? VFS_ERR_AUTH :
		       scls == SESSION_ERR_TLS ? VFS_ERR_TLS : VFS_ERR_CONNECT;
		goto out_tls;
	} else {
		rc = vfs_from_server(v, s, cls, err, errlen);
		if (rc < 0)
			goto out_tls;
	}
	rc = pool_new(&v->params, cfg->max_conns, s, vfs_back_online, v, &v->pool);
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
	vfs_views_free(v);
	vfs_parts_free(v);
	digests_destroy(&v->digests);
	for (int i = 0; i < v->nns; i++)
		free(v->ns_prefix[i]);
	free(v->offline_note);
	free(v->url.user);
	free(v->url.host);
	if (v->password)
		explicit_bzero(v->password, strlen(v->password));
	free(v->password);
	free(v);
	return rc;
}

const char *vfs_offline_note(const struct vfs *v)
{
	return v->offline_note;
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
	/* every folder's listing as it is now, for the next mount */
	vfs_listing_keep_all(v);
	cache_free(v->cache);
	free(v->cache_dir);
	tls_ctx_free(v->tls);
	tree_destroy(&v->tree);
	gmail_free(&v->gm);
	pending_free_all(v);
	pthread_mutex_destroy(&v->pend_lock);
	aliases_free(&v->aliases);
	vfs_views_free(v);
	vfs_parts_free(v);
	digests_destroy(&v->digests);
	for (int i = 0; i < v->nns; i++)
		free(v->ns_prefix[i]);
	free(v->offline_note);
	free(v->url.user);
	free(v->url.host);
	if (v->password)
		explicit_bzero(v->password, strlen(v->password));
	free(v->password);
	free(v);
}
