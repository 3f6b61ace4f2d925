/*
 * vfs_watch — notice what other clients change while we are mounted.
 *
 * One thread with a session of its own (not from the pool, so it never
 * competes with file operations): it EXAMINEs INBOX and IDLEs there, so new
 * mail and expunges in INBOX show within a second or two; IDLE is renewed
 * well before the 29 minutes RFC 2177 allows. Every -o poll=SECONDS it
 * also asks STATUS of each mailbox whose listing we hold, re-syncs those
 * that changed (vfs_resync.c), and compares LIST with the tree to add new and
 * hide removed mailboxes, telling the kernel what vanished.
 *
 * IDLE watches only the selected mailbox. Where the server offers NOTIFY
 * (RFC 5465) the poller asks to hear about every personal mailbox and
 * polls at once when told; without it the others change only at the poll
 * (imapfs.1 says so). Without CONDSTORE, STATUS misses flag changes: each
 * poll also refetches the flags of the mailboxes in recent use, within
 * the bounds flagpoll.c sets. `imapfs status` shows which of these
 * applies (watch_describe).
 *
 * The LIST comparison must not stall file operations on an account of
 * 200,000 mailboxes: the answer is sorted and compared, outside the tree
 * lock, with a sorted copy of the server names the tree holds (taken in
 * short locked slices, and kept while the tree's generation says it is
 * current); the lock is then held only to apply the difference. Each
 * step is O(N log N) or less; the longest hold is measured for
 * `imapfs status`.
 */
#include "deadline.h"
#include "log.h"
#include "vfs_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IDLE_RENEW_MS (25 * 60 * 1000)
#define KNOWN_SLICE 1024	/* nodes copied per hold of the tree lock */

/* One mailbox of a LIST answer. */
struct list_ent {
	char *name;
	char *attrs;
	char delim;
	bool noselect;
};

/* A LIST answer being collected; RC: the first error (out of memory). */
struct listing {
	struct list_ent *v;
	size_t n, cap;
	int rc;
};

/* The server names of the tree's listed nodes (hidden ones only when
 * -o subscribed hides them), sorted, with their indexes, as they were at
 * tree generation GEN. Owned by the watcher thread. */
struct known_ent {
	char *name;
	uint32_t node;
};

struct known {
	struct known_ent *v;
	size_t n;
	uint64_t gen;
	bool valid;
};

struct watch {
	struct vfs *v;		/* borrowed; outlives the watch */
	pthread_t thread;
	int cancel[2];		/* pipe: written once by watch_stop */
	pthread_mutex_t lock;	/* guards s, so watch_stop can cut it */
	struct session *s;	/* used by the thread; replaced under lock */
	uint32_t node;		/* mailbox to IDLE on (0: none); immutable */
	bool poller;		/* this one also polls STATUS and LIST; immutable */
	struct watch *next;	/* the other watchers; immutable */
	struct known known;	/* the poller's copy of the tree's names; its thread only */
	/* how changes reach us, for `imapfs status` (__atomic access): the
	 * connection's mechanism for NODE, and whether NOTIFY SET is on */
	int how;		/* a WATCH_* */
	bool notify;
};

enum { WATCH_CONNECTING, WATCH_IDLE, WATCH_NO_IDLE };

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* When a hold of the tree lock began: wall clock and this thread's CPU
 * time (a busy machine can preempt the holder: the wall clock says what
 * lookups waited, the CPU time what the work under the lock cost). */
struct hold {
	uint64_t wall, cpu;
};

static struct hold hold_begin(void)
{
	struct hold h = { now_ns(), clock_ns(CLOCK_THREAD_CPUTIME_ID) };

	return h;
}

static void max_store(uint64_t *p, uint64_t d)
{
	uint64_t max = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (d > max && !__atomic_compare_exchange_n(p, &max, d, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Record a hold of the tree lock that began at H. */
static void lock_held(struct vfs *v, struct hold h)
{
	max_store(&v->watch_lock_ns_max, now_ns() - h.wall);
	max_store(&v->watch_lock_cpu_ns_max, clock_ns(CLOCK_THREAD_CPUTIME_ID) - h.cpu);
}

static void set_session(struct watch *w, struct session *s)
{
	struct session *old;

	pthread_mutex_lock(&w->lock);
	old = w->s;
	w->s = s;
	pthread_mutex_unlock(&w->lock);
	session_close(old);
}

/* Sleep MS or until cancelled; true when cancelled. */
static bool watch_sleep(struct watch *w, int ms)
{
	struct pollfd p = { .fd = w->cancel[0], .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

static bool cancelled(struct watch *w)
{
	return watch_sleep(w, 0);
}

/* The server name of the mailbox W idles on, if it can be selected now
 * (it may have been renamed or removed meanwhile): malloc'd, or NULL. */
static char *idle_mailbox(struct watch *w)
{
	struct tree *t = &w->v->tree;
	char *name = NULL;

	pthread_mutex_lock(&t->lock);
	if (w->node != 0 && !t->nodes[w->node].hidden && t->nodes[w->node].selectable)
		name = strdup(t->nodes[w->node].mailbox);
	pthread_mutex_unlock(&t->lock);
	return name;
}

/* STATUS every mailbox whose messages we hold; resync those that moved. */
static int poll_loaded(struct watch *w)
{
	struct vfs *v = w->v;
	struct tree *t = &v->tree;
	size_t i, n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	for (i = 1; i < n && rc == 0; i++) {
		struct session_status st, old;
		char *mailbox = NULL;
		bool loaded;

		pthread_mutex_lock(&t->lock);
		loaded = t->nodes[i].state == TREE_READY && t->nodes[i].selectable && !t->nodes[i].hidden;
		if (loaded)
			mailbox = strdup(t->nodes[i].mailbox);
		old = t->nodes[i].watched;
		pthread_mutex_unlock(&t->lock);
		if (!loaded || mailbox == NULL) {
			free(mailbox);
			continue;
		}
		/* asked only before network I/O: one poll(2) per node would
		 * cost more than the STATUS round trips of a big account */
		if (cancelled(w)) {
			free(mailbox);
			break;
		}
		deadline_start(v->cfg->timeout);
		rc = session_status(w->s, mailbox, &st);
		free(mailbox);
		if (rc < 0 && !session_broken(w->s)) {
			/* refused (deleted meanwhile?): LIST sorts that out */
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		if (st.messages != old.messages || st.uidnext != old.uidnext || st.unseen != old.unseen ||
		    st.uidvalidity != old.uidvalidity || st.highestmodseq != old.highestmodseq) {
			if (vfs_resync(v, (uint32_t)i) == 0) {
				pthread_mutex_lock(&t->lock);
				t->nodes[i].watched = st;
				pthread_mutex_unlock(&t->lock);
			}
		}
	}
	return rc;
}

static void list_collect(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct listing *l = ctx;
	struct list_ent *e;

	if (l->rc < 0)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct list_ent *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL) {
			l->rc = -ENOMEM;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	e = &l->v[l->n];
	e->name = strdup(name);
	e->attrs = strdup(attrs);
	e->delim = delim;
	e->noselect = noselect;
	if (e->name == NULL || e->attrs == NULL) {
		free(e->name);
		free(e->attrs);
		l->rc = -ENOMEM;
		return;
	}
	l->n++;
}

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].attrs);
	}
	free(l->v);
}

static int list_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_ent *)a)->name, ((const struct list_ent *)b)->name);
}

static int known_cmp(const void *a, const void *b)
{
	return strcmp(((const struct known_ent *)a)->name, ((const struct known_ent *)b)->name);
}

/* Descending node index: children (made after their parents) first. */
static int node_desc_cmp(const void *a, const void *b)
{
	uint32_t x = (*(const struct known_ent *const *)a)->node, y = (*(const struct known_ent *const *)b)->node;

	return x > y ? -1 : x < y;
}

static void known_free(struct known *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* Copy the tree's names into W->known, a slice of nodes per hold of the
 * lock. Node indexes never change and every change to names bumps
 * tree.gen, so slices taken at one generation make one consistent copy;
 * -EAGAIN when the tree changed meanwhile. */
static int known_build(struct watch *w)
{
	struct vfs *v = w->v;
	struct tree *t = &v->tree;
	struct known k = { 0 };
	size_t n, i = 1;
	int rc = 0;

	known_free(&w->known);
	pthread_mutex_lock(&t->lock);
	k.gen = t->gen;
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	k.v = malloc((n ? n : 1) * sizeof(*k.v));
	if (k.v == NULL)
		return -ENOMEM;
	while (rc == 0 && i < n) {
		size_t end = i + KNOWN_SLICE < n ? i + KNOWN_SLICE : n;
		struct hold h;

		pthread_mutex_lock(&t->lock);
		h = hold_begin();
		if (t->gen != k.gen)
			rc = -EAGAIN;
		for (; rc == 0 && i < end; i++) {
			const struct tree_node *nd = &t->nodes[i];

			if (!nd->listed || (nd->hidden && !nd->filtered))
				continue;
			k.v[k.n].name = strdup(nd->mailbox);
			if (k.v[k.n].name == NULL) {
				rc = -ENOMEM;
				break;
			}
			k.v[k.n++].node = (uint32_t)i;
		}
		lock_held(v, h);
		pthread_mutex_unlock(&t->lock);
	}
	if (rc < 0) {
		known_free(&k);
		return rc;
	}
	if (k.n > 1)
		qsort(k.v, k.n, sizeof(*k.v), known_cmp);
	k.valid = true;
	w->known = k;
	return 0;
}

/* LIST again: add new mailboxes, hide the ones that are gone. */
static int poll_list(struct watch *w)
{
	struct vfs *v = w->v;
	struct tree *t = &v->tree;
	struct listing now = { .rc = 0 };
	struct { uint64_t parent; char *name; } *gone = NULL;
	size_t *add = NULL, nadd = 0, ngone = 0, nhidden = 0, i, j, o;
	const struct known_ent **drop = NULL;
	uint64_t *added = NULL;	/* per add[]: its parent's inode once added, else 0 */
	size_t nadded = 0;
	uint64_t gen, tcmp;
	struct hold h;
	int rc;

	/* the tree's generation before LIST: a change we make meanwhile
	 * (mkdir, rmdir, rename) may or may not be in the answer */
	pthread_mutex_lock(&t->lock);
	gen = t->gen;
	pthread_mutex_unlock(&t->lock);
	/* LIST outside the lock, into a plain array; one deadline for the
	 * LIST commands together, as for a file operation */
	deadline_start(v->cfg->timeout);
	rc = session_list(w->s, "*", list_collect, &now);
	/* the same patterns as at mount: other namespaces are not always in "*" */
	for (i = 0; rc == 0 && i < (size_t)v->nns; i++) {
		char *pat;

		if (asprintf(&pat, "%s*", v->ns_prefix[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = session_list(w->s, pat, list_collect, &now);
		free(pat);
	}
	if (rc == 0)
		rc = now.rc;
	if (rc < 0)
		goto out;
	tcmp = now_ns();
	if (now.n > 1)
		qsort(now.v, now.n, sizeof(*now.v), list_ent_cmp);
	/* the patterns may overlap: one entry per name */
	for (i = 0, o = 0; i < now.n; i++) {
		if (o > 0 && strcmp(now.v[o - 1].name, now.v[i].name) == 0) {
			free(now.v[i].name);
			free(now.v[i].attrs);
			continue;
		}
		now.v[o++] = now.v[i];
	}
	now.n = o;

	/* the tree's names, copied again only when it changed */
	if (!w->known.valid || w->known.gen != gen) {
		rc = known_build(w);
		if (rc == -EAGAIN)
			rc = 0;		/* changing right now: compare next time */
		if (rc < 0)
			goto out;
	}
	/* the tree changed while LIST ran: the answer may predate that
	 * change; compare next time (the copy is kept if it is current) */
	if (!w->known.valid || w->known.gen != gen)
		goto out;

	/* compare, outside the lock: a merge of two sorted lists */
	add = malloc((now.n ? now.n : 1) * sizeof(*add));
	drop = malloc((w->known.n ? w->known.n : 1) * sizeof(*drop));
	if (add == NULL || drop == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0, j = 0; i < now.n || j < w->known.n;) {
		int c = i == now.n ? 1 : j == w->known.n ? -1 : strcmp(now.v[i].name, w->known.v[j].name);

		if (c < 0) {
			add[nadd++] = i++;
		} else if (c > 0) {
			drop[ngone++] = &w->known.v[j++];
		} else {
			/* seen; a name the tree holds twice is seen twice */
			const char *name = now.v[i++].name;

			while (j < w->known.n && strcmp(w->known.v[j].name, name) == 0)
				j++;
		}
	}
	__atomic_store_n(&v->watch_list_n, (uint64_t)now.n, __ATOMIC_RELAXED);
	if (nadd == 0 && ngone == 0) {
		__atomic_store_n(&v->watch_compare_ns, now_ns() - tcmp, __ATOMIC_RELAXED);
		goto out;
	}
	/* children before their parents: a parent that is gone with all
	 * its children goes in the same round */
	if (ngone > 1)
		qsort(drop, ngone, sizeof(*drop), node_desc_cmp);
	gone = calloc(ngone ? ngone : 1, sizeof(*gone));
	added = calloc(nadd ? nadd : 1, sizeof(*added));
	if (gone == NULL || added == NULL) {
		rc = -ENOMEM;
		goto out;
	}

	/* apply the difference: the only part that holds the lock */
	pthread_mutex_lock(&t->lock);
	h = hold_begin();
	if (t->gen != gen) {
		/* we changed mailboxes ourselves meanwhile: the answer may
		 * predate that; compare next time */
		lock_held(v, h);
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	for (i = 0; i < ngone; i++) {
		struct tree_node *nd = &t->nodes[drop[i]->node];

		if (!nd->listed || nd->hidden || nd->nchildren > 0)
			continue;
		gone[nhidden].parent = tree_dir_ino(nd->parent);
		gone[nhidden].name = strdup(nd->fsname);
		tree_touch(&t->nodes[nd->parent]);	/* its mtime moves */
		tree_hide(t, drop[i]->node);
		drop[nhidden++] = drop[i];	/* for the log, after unlocking */
	}
	/* new mailboxes (made by another client); under -o subscribed only
	 * subscribed ones are shown, and those are read at mount */
	for (i = 0; i < nadd && !t->filtering; i++) {
		const struct list_ent *e = &now.v[add[i]];

		if (tree_add_mailbox(t, e->name, e->delim, e->attrs, e->noselect) == 0) {
			long k = tree_find_raw(t, e->name);
			uint32_t parent = k > 0 ? t->nodes[k].parent : 0;

			tree_touch(&t->nodes[parent]);	/* its mtime moves */
			added[i] = tree_dir_ino(parent);
			nadded++;
		}
	}
	lock_held(v, h);
	pthread_mutex_unlock(&t->lock);
	__atomic_store_n(&v->watch_compare_ns, now_ns() - tcmp, __ATOMIC_RELAXED);

	for (i = 0; i < nadd; i++)
		if (added[i] && !now.v[add[i]].noselect)
			log_info("new mailbox %s", now.v[add[i]].name);
	for (i = 0; i < nhidden; i++)
		log_info("mailbox %s is gone", drop[i]->name);
	/* a mailbox that came or went may reuse a name some session has
	 * selected: make every selection be sent again */
	if (nhidden > 0 || nadded > 0)
		__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
	/* the parents' attributes (mtime, link count) are cached too */
	for (i = 0; i < nadd; i++)
		if (added[i] != 0)
			vfs_notify_inode(v, added[i]);
	for (i = 0; i < nhidden; i++) {
		vfs_notify_inode(v, gone[i].parent);
		if (gone[i].name != NULL)
			vfs_notify_gone(v, gone[i].parent, gone[i].name);
		free(gone[i].name);
	}
out:
	free(gone);
	free(added);
	free(add);
	free(drop);
	listing_free(&now);
	return rc;
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	struct vfs *v = w->v;
	time_t last_poll = time(NULL);	/* the mount has just listed everything */
	bool notify = false;		/* NOTIFY SET active on w->s */
	int poll_ms = v->cfg->poll * 1000;
	/* after a failed connect: wait 1 s, then 2, 4... up to the poll
	 * interval, so changes show soon after the server is back */
	int backoff_ms = 1000, backoff_max = poll_ms > 0 ? poll_ms : 30000;

	while (!cancelled(w)) {
		struct session_mbox mb;
		enum session_err cls;
		char err[256], *mailbox;
		bool changed = false;
		int rc = 0, wait_ms;

		if (w->s == NULL) {
			struct session *s;

			deadline_start(v->cfg->timeout);
			if (session_open(&v->params, 0, &s, &cls, err, sizeof(err)) < 0) {
				log_warn("watcher: cannot connect (%s); changes by other clients will show "
					 "late; trying again in %d s", err, backoff_ms / 1000);
				if (watch_sleep(w, backoff_ms))
					break;
				backoff_ms = backoff_ms * 2 < backoff_max ? backoff_ms * 2 : backoff_max;
				continue;
			}
			backoff_ms = 1000;
			set_session(w, s);
			deadline_start(v->cfg->timeout);
			/* the poller asks to hear about every mailbox at once */
			notify = w->poller && poll_ms > 0 && session_notify(w->s) == 0;
			/* changes made before NOTIFY SET are not reported by it:
			 * look at every mailbox once right away */
			if (notify)
				last_poll = 0;
			__atomic_store_n(&w->notify, notify, __ATOMIC_RELAXED);
			__atomic_store_n(&w->how, session_has_cap(w->s, "IDLE") ? WATCH_IDLE : WATCH_NO_IDLE,
					 __ATOMIC_RELAXED);
		}
		if (w->poller && poll_ms > 0 && time(NULL) - last_poll >= v->cfg->poll) {
			last_poll = time(NULL);
			/* LIST first: a mailbox deleted or renamed by another
			 * client is hidden before we ask its STATUS */
			rc = poll_list(w);
			if (rc == 0)
				rc = poll_loaded(w);
			/* without CONDSTORE, STATUS misses flag changes: fetch
			 * the flags of the mailboxes in recent use */
			if (rc == 0 && !v->condstore)
				rc = flagpoll_run(v, w->s);
		}
		mailbox = idle_mailbox(w);
		wait_ms = w->poller && poll_ms > 0 ? poll_ms : IDLE_RENEW_MS;
		if (rc == 0 && mailbox != NULL && session_has_cap(w->s, "IDLE")) {
			session_forget_selection(w->s);
			deadline_start(v->cfg->timeout);
			rc = session_select(w->s, mailbox, true, 0, &mb);
			/* what changed before IDLE began would never be
			 * reported by it: catch up first */
			if (rc == 0)
				vfs_resync(v, w->node);
			if (rc == 0)
				rc = session_idle(w->s, wait_ms < IDLE_RENEW_MS ? wait_ms : IDLE_RENEW_MS,
						  w->cancel[0], &changed);
			/* without CONDSTORE resync fetches no flags: fetch
			 * those IDLE said changed (before any other command,
			 * which would replace what it said) */
			if (rc == 0 && changed && !v->condstore)
				rc = flagpoll_idle(v, w->s, w->node);
			if (rc == 0 && changed)
				vfs_resync(v, w->node);
			/* with NOTIFY the news may be about another mailbox:
			 * look at all of them now, not at the next poll */
			if (rc == 0 && changed && notify)
				last_poll = 0;
		} else if (rc == 0) {
			free(mailbox);
			mailbox = NULL;
			if (watch_sleep(w, wait_ms))
				break;
		}
		free(mailbox);	/* also when the poll above failed */
		if (rc < 0 || session_broken(w->s)) {
			set_session(w, NULL);
			if (watch_sleep(w, 1000))
				break;
		}
	}
	return NULL;
}

static int watch_one(struct vfs *v, uint32_t node, bool poller)
{
	struct watch *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->v = v;
	w->node = node;
	w->poller = poller;
	pthread_mutex_init(&w->lock, NULL);
	if (pipe2(w->cancel, O_CLOEXEC) < 0) {
		rc = -errno;
		pthread_mutex_destroy(&w->lock);
		free(w);
		return rc;
	}
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	if (rc != 0) {
		close(w->cancel[0]);
		close(w->cancel[1]);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -rc;
	}
	w->next = v->watch;
	v->watch = w;
	return 0;
}

/* Node of mount path PATH ("INBOX", "Lists/dev"), or -1. Tree lock held. */
static long path_node(struct tree *t, const char *path)
{
	char *copy = strdup(path), *save = NULL, *part;
	long idx = 0;

	if (copy == NULL)
		return -1;
	for (part = strtok_r(copy, "/", &save); part && idx >= 0; part = strtok_r(NULL, "/", &save))
		idx = tree_child(t, (uint32_t)idx, part);
	free(copy);
	return idx > 0 && t->nodes[idx].selectable ? idx : -1;
}

/* The watch list has PATH, which is no mailbox of the mount. */
static void warn_missing(const struct vfs *v, const char *path)
{
	log_warn("watch=%s: no mailbox %s on %s; not watched (watch= takes mount paths "
		 "such as INBOX or Lists/dev, as ls shows them)", path, path, v->url.host);
}

void vfs_watch_check(struct vfs *v)
{
	char *copy = v->cfg->watch ? strdup(v->cfg->watch) : NULL, *save = NULL, *path;

	for (path = copy ? strtok_r(copy, ",", &save) : NULL; path != NULL; path = strtok_r(NULL, ",", &save)) {
		long idx;

		pthread_mutex_lock(&v->tree.lock);
		idx = path_node(&v->tree, path);
		pthread_mutex_unlock(&v->tree.lock);
		if (idx < 0)
			warn_missing(v, path);
	}
	free(copy);
}

int vfs_watch_start(struct vfs *v)
{
	const char *list = v->cfg->watch ? v->cfg->watch : "INBOX";
	char *copy = strdup(list), *save = NULL, *path;
	bool first = true;
	int rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	/* allmail=only hides INBOX: its new mail arrives in All Mail too */
	if (v->cfg->watch == NULL && v->gm.on && v->gm.allmail == CONFIG_ALLMAIL_ONLY) {
		long all;

		pthread_mutex_lock(&v->tree.lock);
		all = gmail_special(&v->gm, &v->tree, GMAIL_ALL);
		pthread_mutex_unlock(&v->tree.lock);
		if (all > 0) {
			free(copy);
			return watch_one(v, (uint32_t)all, true);
		}
	}
	/* one connection idles on each watched mailbox (IDLE watches only the
	 * selected one); the first also polls the rest */
	for (path = strtok_r(copy, ",", &save); path != NULL && rc == 0; path = strtok_r(NULL, ",", &save)) {
		long idx;

		pthread_mutex_lock(&v->tree.lock);
		idx = path_node(&v->tree, path);
		pthread_mutex_unlock(&v->tree.lock);
		if (idx < 0) {
			warn_missing(v, path);
			continue;
		}
		rc = watch_one(v, (uint32_t)idx, first);
		first = false;
	}
	if (rc == 0 && first)
		rc = watch_one(v, 0, true);	/* nothing to idle on: poll only */
	free(copy);
	return rc;
}

void watch_stop(struct watch *w)
{
	if (w == NULL)
		return;
	watch_stop(w->next);
	if (write(w->cancel[1], "x", 1) < 0) {
		/* the pipe cannot be full: one byte, written once */
	}
	{
		/* the thread sees the pipe at once when idle; if it is stuck in
		 * a slow command, cut the connection rather than wait for it */
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 2;
		if (pthread_timedjoin_np(w->thread, NULL, &deadline) != 0) {
			pthread_mutex_lock(&w->lock);
			if (w->s != NULL)
				session_shutdown(w->s);
			pthread_mutex_unlock(&w->lock);
			pthread_join(w->thread, NULL);
		}
	}
	pthread_mutex_destroy(&w->lock);
	known_free(&w->known);
	session_close(w->s);
	close(w->cancel[0]);
	close(w->cancel[1]);
	free(w);
}

/* Server name of node IDX and how many mailboxes' listings we hold. */
static void describe_tree(struct vfs *v, uint32_t idx, char *name, size_t len, size_t *held)
{
	struct tree *t = &v->tree;
	size_t i;

	*held = 0;
	pthread_mutex_lock(&t->lock);
	snprintf(name, len, "%s", idx != 0 && idx < t->n ? t->nodes[idx].mailbox : "");
	/* the server chose it: no line breaks into the "key: value" lines */
	for (i = 0; name[i] != '\0'; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			name[i] = '?';
	for (i = 1; i < t->n; i++)
		if (t->nodes[i].state == TREE_READY && !t->nodes[i].hidden)
			(*held)++;
	pthread_mutex_unlock(&t->lock);
}

void watch_describe(struct vfs *v, FILE *f)
{
	const struct watch *w, *poller = NULL;
	int poll_s = v->cfg->poll;
	char name[512];
	size_t held;

	for (w = v->watch; w != NULL; w = w->next) {
		int how = __atomic_load_n(&w->how, __ATOMIC_RELAXED);

		if (w->poller)
			poller = w;
		if (w->node == 0)
			continue;
		describe_tree(v, w->node, name, sizeof(name), &held);
		if (how == WATCH_IDLE)
			fprintf(f, "watch %s: IDLE (within seconds)\n", name);
		else if (how == WATCH_NO_IDLE && poll_s > 0)
			fprintf(f, "watch %s: STATUS poll every %d s (the server has no IDLE)\n", name, poll_s);
		else if (how == WATCH_NO_IDLE)
			fprintf(f, "watch %s: not watched (the server has no IDLE, and poll=0)\n", name);
		else
			fprintf(f, "watch %s: not connected yet\n", name);
	}
	describe_tree(v, 0, name, sizeof(name), &held);
	if (poller == NULL || poll_s == 0) {
		fprintf(f, "watch other mailboxes: not watched (%s)\n", poller ? "poll=0" : "no watcher");
	} else if (__atomic_load_n(&poller->notify, __ATOMIC_RELAXED)) {
		fprintf(f, "watch other mailboxes: NOTIFY (within seconds), and LIST and STATUS of the %zu "
			"whose listing we hold every %d s\n", held, poll_s);
	} else {
		fprintf(f, "watch other mailboxes: LIST and STATUS of the %zu whose listing we hold every %d s "
			"(%s)\n", held, poll_s, __atomic_load_n(&poller->how, __ATOMIC_RELAXED) == WATCH_CONNECTING ?
			"not connected yet" : "the server has no NOTIFY");
	}
	if (v->condstore)
		fprintf(f, "watch flags: CHANGEDSINCE (CONDSTORE), when STATUS shows a change\n");
	else if (poller == NULL || poll_s == 0)
		fprintf(f, "watch flags: not polled (no CONDSTORE, and poll=0)\n");
	else
		fprintf(f, "watch flags: FLAGS refetch every %d s (no CONDSTORE) of up to %d mailboxes used in "
			"the last %d min, %d messages a poll; last poll: %" PRIu64 " mailboxes, %" PRIu64
			" messages, %" PRIu64 " re-flagged, %.1f ms\n", poll_s, FLAGPOLL_MAILBOXES,
			FLAGPOLL_RECENT_S / 60, FLAGPOLL_MESSAGES,
			__atomic_load_n(&v->flagpoll_boxes, __ATOMIC_RELAXED),
			__atomic_load_n(&v->flagpoll_msgs, __ATOMIC_RELAXED),
			__atomic_load_n(&v->flagpoll_changed, __ATOMIC_RELAXED),
			__atomic_load_n(&v->flagpoll_ns, __ATOMIC_RELAXED) / 1e6);
}

void watch_caps(struct vfs *v, bool *idle, bool *notify)
{
	const struct watch *w;

	*idle = *notify = false;
	for (w = v->watch; w != NULL; w = w->next) {
		if (w->node != 0 && __atomic_load_n(&w->how, __ATOMIC_RELAXED) == WATCH_IDLE)
			*idle = true;
		if (__atomic_load_n(&w->notify, __ATOMIC_RELAXED))
			*notify = true;
	}
}
