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
 * The LIST comparison, which must not stall file operations on an
 * account of 200,000 mailboxes, is vfs_watch_list.c's.
 */
#include "deadline.h"
#include "log.h"
#include "vfs_acct.h"
#include "vfs_internal.h"
#include "vfs_resync.h"
#include "vfs_watch.h"
#include "flagpoll.h"
#include "vfs_watch_list.h"
#include "vfs_watch_news.h"

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
#define WATCH_PENDING 16	/* other mailboxes waiting to be looked at again; beyond, STATUS them all */
#define WATCH_RECHECK_MS 1000	/* how long a STATUS waits for our own operation to explain it */

/* Another mailbox to look at again once DUE (CLOCK_MONOTONIC ms): its last
 * STATUS, which our own operation under way (a mv into it whose new
 * message is being fetched) may explain by then (RECHECK), or a resync
 * that failed. */
struct watch_pending {
	struct watch_check c;
	bool recheck;
	int64_t due;
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
	struct watch_known known;	/* the poller's copy of the tree's names; its thread only */
	struct watch_view view;		/* the session's picture of NODE; its thread only */
	bool stale;			/* NODE's last resync failed: try again soon; its thread only */
	struct watch_pending pending[WATCH_PENDING];	/* its thread only */
	size_t npending;
	bool notify_plain;		/* the server refused NOTIFY SET asking for flags; its thread only */
	/* how changes reach us, for `imapfs status` (__atomic access): the
	 * connection's mechanism for NODE, and whether NOTIFY SET is on */
	int how;		/* a WATCH_* */
	bool notify;
};

enum { WATCH_CONNECTING, WATCH_IDLE, WATCH_NO_IDLE };

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

/* Bring node IDX up to date (vfs_resync.c). A listing being loaded may
 * have been answered before the change: wait for it first. A resync that
 * found the tree changed meanwhile (our own operation: -EAGAIN) is asked
 * again at once, a few times. */
static int watch_resync(struct vfs *v, uint32_t idx)
{
	struct tree *t = &v->tree;
	int rc, tries = 0;

	pthread_mutex_lock(&t->lock);
	while (t->nodes[idx].state == TREE_LOADING)
		pthread_cond_wait(&t->loaded, &t->lock);
	pthread_mutex_unlock(&t->lock);
	do
		rc = vfs_resync(v, idx);
	while (rc == -EAGAIN && ++tries < 3);
	return rc;
}

/* STATUS every mailbox whose messages we hold (but the one W idles on:
 * its news and the check before each IDLE cover it); resync those that
 * moved. With CONDSTORE "moved" is against the tree, so a mailbox only we
 * changed, and that the tree shows, is left alone; without it, against
 * the last STATUS. */
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
		bool loaded, moved;

		if (i == w->node && session_has_cap(w->s, "IDLE"))
			continue;
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
		if (st.highestmodseq != 0)
			moved = !watch_node_current(v, (uint32_t)i, st.uidvalidity, st.messages, st.highestmodseq);
		else
			moved = st.messages != old.messages || st.uidnext != old.uidnext || st.unseen != old.unseen ||
				st.uidvalidity != old.uidvalidity;
		if (!moved || watch_resync(v, (uint32_t)i) == 0) {
			pthread_mutex_lock(&t->lock);
			t->nodes[i].watched = st;
			pthread_mutex_unlock(&t->lock);
		}
	}
	return rc;
}

/* Open MAILBOX (W's node) afresh for IDLE, and bring the tree up to date
 * with what it holds unless it is current already (what changed before
 * IDLE began would never be reported by it). */
static int watch_open(struct watch *w, const char *mailbox)
{
	struct vfs *v = w->v;
	struct session_mbox mb;
	uint64_t epoch = __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST);
	int rc;

	w->view.valid = false;
	/* dropped before the EXAMINE: not in what it counts (dropped after
	 * the clear but before the EXAMINE: counted twice, so a resync) */
	pthread_mutex_lock(&v->tree.lock);
	tree_gone_clear(&v->tree.nodes[w->node]);
	pthread_mutex_unlock(&v->tree.lock);
	session_forget_selection(w->s);
	deadline_start(v->cfg->timeout);
	rc = session_select(w->s, mailbox, true, 0, &mb);
	if (rc < 0)
		return rc;
	w->view = (struct watch_view){ .valid = true, .exists = mb.exists, .uidnext = mb.uidnext,
				       .uidvalidity = mb.uidvalidity, .epoch = epoch };
	w->stale = !watch_node_current(v, w->node, mb.uidvalidity, mb.exists, mb.highestmodseq) &&
		   watch_resync(v, w->node) < 0;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Look at C's mailbox again by DUE (an earlier promise stands), with the
 * newer STATUS; *ALL (STATUS every loaded mailbox) when too many wait. */
static void watch_pend(struct watch *w, const struct watch_check *c, bool recheck, int64_t due, bool *all)
{
	struct watch_pending *p;
	size_t i;

	for (i = 0; i < w->npending && w->pending[i].c.idx != c->idx; i++)
		;
	if (i == w->npending) {
		if (w->npending == WATCH_PENDING) {
			*all = true;
			return;
		}
		w->pending[w->npending++] = (struct watch_pending){ .c = *c, .recheck = recheck, .due = due };
		return;
	}
	p = &w->pending[i];
	p->c = *c;
	p->recheck = p->recheck || recheck;
	if (due < p->due)
		p->due = due;
}

/* Look at the mailboxes that are due: compare the STATUS again, and
 * resync when the tree still does not match it (or a resync failed: try
 * again within a second). -> ms until the next one is due, or -1. */
static int watch_due(struct watch *w)
{
	struct watch_pending due[WATCH_PENDING];
	int64_t now = mono_ms(), next = -1;
	size_t i, n = 0, o = 0;
	bool all = false;

	for (i = 0; i < w->npending; i++) {
		if (w->pending[i].due <= now)
			due[n++] = w->pending[i];
		else
			w->pending[o++] = w->pending[i];
	}
	w->npending = o;
	for (i = 0; i < n; i++) {
		if (due[i].recheck && watch_check_current(w->v, &due[i].c))
			continue;	/* our own change, in the tree now */
		if (watch_resync(w->v, due[i].c.idx) < 0)
			watch_pend(w, &due[i].c, false, mono_ms() + 1000, &all);
	}
	for (i = 0; i < w->npending; i++)
		if (next < 0 || w->pending[i].due < next)
			next = w->pending[i].due;
	return next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
}

/* Act on what one IDLE reported (NEWS): fetch only what the tree does not
 * show yet. *POLL_NOW: look at every mailbox (LIST too) at once. */
static int watch_news(struct watch *w, const struct session_news *news, bool notify, bool *poll_now)
{
	struct vfs *v = w->v;
	struct watch_verdict vd;
	size_t i;
	int rc;

	rc = watch_news_judge(v, w->node, &w->view, news, notify, &vd);
	if (rc < 0)
		return rc;
	if (w->stale)
		vd.idled = true;	/* the last resync failed: whatever was said */
	if (vd.idled || vd.ncheck > 0 || vd.others || vd.relist)
		log_debug("watcher: news of %zu items, %zu known already; resync%s%s, %zu others to look "
			  "at again%s%s", news->n, vd.known, vd.idled ? " the idled mailbox" : "",
			  vd.idled ? "" : " nothing", vd.ncheck, vd.others ? ", STATUS all" : "",
			  vd.relist ? ", LIST" : "");
	/* without CONDSTORE resync fetches no flags: fetch those IDLE said
	 * changed (before any other command, which would replace what it
	 * said) */
	if (vd.idled && !v->condstore) {
		rc = flagpoll_idle(v, w->s, w->node);
		/* news that FETCH brought was not read: open it afresh */
		w->view.valid = false;
	}
	if (rc == 0 && vd.idled)
		w->stale = watch_resync(v, w->node) < 0;
	/* another mailbox's STATUS our own mv into it may explain once its
	 * new message is fetched: look again in a moment, then resync */
	for (i = 0; i < vd.ncheck; i++)
		watch_pend(w, &vd.check[i], true, mono_ms() + WATCH_RECHECK_MS, &vd.others);
	/* a STATUS libetpan did not keep, or news not understood: STATUS
	 * every loaded mailbox (on this session: its view starts anew) */
	if (rc == 0 && vd.others && !vd.relist) {
		rc = poll_loaded(w);
		w->view.valid = false;
	}
	*poll_now = vd.relist;
	watch_verdict_free(&vd);
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
	/* the connection was lost, or the mount was made offline: what
	 * changed meanwhile is looked at once connected (LIST, STATUS) */
	bool missed = v->offline_mount;

	while (!cancelled(w)) {
		enum session_err cls;
		char err[256], *mailbox;
		bool changed = false;
		int rc = 0, wait_ms;

		if (w->s == NULL) {
			struct session *s;

			deadline_start(v->cfg->timeout);
			rc = session_open(&v->params, 0, &s, &cls, err, sizeof(err));
			if (rc < 0) {
				/* a refused login: rarely (pool.h), not every poll */
				int retry_ms = pool_refused_login(rc, cls) ? POOL_REFUSED_MS : backoff_ms;

				log_warn("watcher: cannot connect (%s); changes by other clients will show "
					 "late; trying again in %d s", err, retry_ms / 1000);
				if (watch_sleep(w, retry_ms))
					break;
				if (retry_ms == backoff_ms)
					backoff_ms = backoff_ms * 2 < backoff_max ? backoff_ms * 2 : backoff_max;
				continue;
			}
			backoff_ms = 1000;
			set_session(w, s);
			if (missed)
				last_poll = 0;
			missed = false;
			deadline_start(v->cfg->timeout);
			/* the poller asks to hear about every mailbox at once */
			notify = w->poller && poll_ms > 0 && session_notify(w->s, !w->notify_plain) == 0;
			/* refused (a BAD breaks the connection: the next one asks
			 * plainly), new messages are reported by UID alone */
			if (!notify && !w->notify_plain && w->poller && poll_ms > 0 &&
			    session_has_cap(w->s, "NOTIFY")) {
				w->notify_plain = true;
				notify = !session_broken(w->s) && session_notify(w->s, false) == 0;
			}
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
			rc = watch_list_poll(v, w->s, &w->known);
			if (rc == 0) {
				/* the tree is the server's now: kept for a
				 * mount without it (vfs_acct.h) */
				__atomic_store_n(&v->tree_live, true, __ATOMIC_SEQ_CST);
				vfs_acct_keep(v);
				rc = poll_loaded(w);
			}
			/* without CONDSTORE, STATUS misses flag changes: fetch
			 * the flags of the mailboxes in recent use */
			if (rc == 0 && !v->condstore)
				rc = flagpoll_run(v, w->s);
			/* news those commands brought was not read: open the
			 * idled mailbox afresh */
			w->view.valid = false;
		}
		mailbox = idle_mailbox(w);
		wait_ms = w->poller && poll_ms > 0 ? poll_ms : IDLE_RENEW_MS;
		if (rc == 0 && mailbox != NULL && session_has_cap(w->s, "IDLE")) {
			struct session_news news = { 0 };
			bool poll_now = false;

			if (!w->view.valid || w->view.epoch != __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST))
				rc = watch_open(w, mailbox);
			else if (w->stale)
				w->stale = watch_resync(v, w->node) < 0;
			/* a failed resync is tried again within a second; other
			 * mailboxes are looked at again when due */
			if (w->stale)
				wait_ms = 1000;
			if (rc == 0 && w->npending > 0) {
				int due = watch_due(w);

				if (due >= 0 && due < wait_ms)
					wait_ms = due > 0 ? due : 1;
			}
			if (rc == 0)
				rc = session_idle(w->s, wait_ms < IDLE_RENEW_MS ? wait_ms : IDLE_RENEW_MS,
						  w->cancel[0], &changed, &news);
			if (rc == 0 && changed)
				rc = watch_news(w, &news, notify, &poll_now);
			session_news_free(&news);
			if (poll_now)
				last_poll = 0;
		} else if (rc == 0) {
			free(mailbox);
			mailbox = NULL;
			if (watch_sleep(w, wait_ms))
				break;
		}
		free(mailbox);	/* also when the poll above failed */
		if (rc < 0 || session_broken(w->s)) {
			w->view.valid = false;
			missed = true;
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
	if (node != 0) {
		/* its list keeps what it drops for the news (vfs_watch_news.c) */
		pthread_mutex_lock(&v->tree.lock);
		v->tree.nodes[node].idled = true;
		pthread_mutex_unlock(&v->tree.lock);
	}
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

	pool_start(v->pool);	/* a mount made offline starts connecting */
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
	watch_known_free(&w->known);
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
