/*
 * watch — notice what other clients change while we are mounted.
 *
 * One thread with a session of its own (not from the pool, so it never
 * competes with file operations): it EXAMINEs INBOX and IDLEs there, so new
 * mail and expunges in INBOX show within a second or two; IDLE is renewed
 * well before the 29 minutes RFC 2177 allows. Every -o poll=SECONDS it
 * also asks STATUS of each mailbox whose listing we hold, re-syncs those
 * that changed (resync.c), and compares LIST with the tree to add new and
 * hide removed mailboxes, telling the kernel what vanished.
 *
 * Without NOTIFY support in libetpan, IDLE can watch only one mailbox; the
 * others are polled (imapfs.1 says so).
 */
#include "deadline.h"
#include "log.h"
#include "vfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IDLE_RENEW_MS (25 * 60 * 1000)

struct watch {
	struct vfs *v;		/* borrowed; outlives the watch */
	pthread_t thread;
	int cancel[2];		/* pipe: written once by watch_stop */
	pthread_mutex_t lock;	/* guards s, so watch_stop can cut it */
	struct session *s;	/* used by the thread; replaced under lock */
	uint32_t node;		/* mailbox to IDLE on (0: none); immutable */
	bool poller;		/* this one also polls STATUS and LIST; immutable */
	struct watch *next;	/* the other watchers; immutable */
};

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
	for (i = 1; i < n && rc == 0 && !cancelled(w); i++) {
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

static void list_seen(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct tree *t = ctx;
	size_t i;

	for (i = 1; i < t->n; i++) {
		if (t->nodes[i].listed && (!t->nodes[i].hidden || t->nodes[i].filtered) &&
		    strcmp(t->nodes[i].mailbox, name) == 0) {
			t->nodes[i].seen = true;
			return;
		}
	}
	/* new mailbox (made by another client); under -o subscribed only
	 * subscribed ones are shown, and those are read at mount */
	if (t->filtering)
		return;
	if (tree_add_mailbox(t, name, delim, attrs, noselect) == 0 && !noselect)
		log_info("new mailbox %s", name);
}

static void list_add_scratch(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	tree_add_mailbox(ctx, name, delim, attrs, noselect);
}

/* LIST again: add new mailboxes, hide the ones that are gone. */
static int poll_list(struct watch *w)
{
	struct vfs *v = w->v;
	struct tree *t = &v->tree;
	struct { uint64_t parent; char *name; } *gone = NULL;
	size_t i, ngone = 0;
	uint64_t gen, gen_after_compare = 0;
	bool added = false;
	int rc;
	struct tree scratch;

	/* LIST into the tree under its lock would hold the lock across I/O:
	 * list into a scratch tree first, then compare. */
	rc = tree_init(&scratch);
	if (rc < 0)
		return rc;
	scratch.quiet = true;	/* the real tree says what it shows */
	pthread_mutex_lock(&t->lock);
	gen = t->gen;
	pthread_mutex_unlock(&t->lock);
	/* one deadline for the LIST commands together, as for a file operation */
	deadline_start(v->cfg->timeout);
	rc = session_list(w->s, "*", list_add_scratch, &scratch);
	/* the same patterns as at mount: other namespaces are not always in "*" */
	for (i = 0; rc == 0 && i < (size_t)v->nns; i++) {
		char *pat;

		if (asprintf(&pat, "%s*", v->ns_prefix[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = session_list(w->s, pat, list_add_scratch, &scratch);
		free(pat);
	}
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&t->lock);
	if (t->gen != gen) {
		/* we changed mailboxes ourselves while LIST ran: the answer may
		 * predate that; compare next time */
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	for (i = 1; i < t->n; i++)
		t->nodes[i].seen = false;
	gen_after_compare = t->gen;
	for (i = 1; i < scratch.n; i++) {
		if (scratch.nodes[i].listed)
			list_seen(t, scratch.nodes[i].mailbox, scratch.nodes[i].delim, scratch.nodes[i].attrs,
				  !scratch.nodes[i].selectable);
	}
	gone = calloc(t->n, sizeof(*gone));
	for (i = 1; gone != NULL && i < t->n; i++) {
		struct tree_node *nd = &t->nodes[i];

		if (!nd->listed || nd->hidden || nd->seen || nd->nchildren > 0)
			continue;
		gone[ngone].parent = tree_dir_ino(nd->parent);
		gone[ngone].name = strdup(nd->fsname);
		ngone++;
		log_info("mailbox %s is gone", nd->mailbox);
		tree_hide(t, (uint32_t)i);
	}
	added = t->gen != gen_after_compare;
	pthread_mutex_unlock(&t->lock);
	/* a mailbox that came or went may reuse a name some session has
	 * selected: make every selection be sent again */
	if (ngone > 0 || added)
		__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < ngone; i++) {
		if (gone[i].name != NULL)
			vfs_notify_gone(v, gone[i].parent, gone[i].name);
		free(gone[i].name);
	}
out:
	free(gone);
	tree_destroy(&scratch);
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
		}
		if (w->poller && poll_ms > 0 && time(NULL) - last_poll >= v->cfg->poll) {
			last_poll = time(NULL);
			/* LIST first: a mailbox deleted or renamed by another
			 * client is hidden before we ask its STATUS */
			rc = poll_list(w);
			if (rc == 0)
				rc = poll_loaded(w);
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

int vfs_watch_start(struct vfs *v)
{
	const char *list = v->cfg->watch ? v->cfg->watch : "INBOX";
	char *copy = strdup(list), *save = NULL, *path;
	bool first = true;
	int rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	/* one connection idles on each watched mailbox (IDLE watches only the
	 * selected one); the first also polls the rest */
	for (path = strtok_r(copy, ",", &save); path != NULL && rc == 0; path = strtok_r(NULL, ",", &save)) {
		long idx;

		pthread_mutex_lock(&v->tree.lock);
		idx = path_node(&v->tree, path);
		pthread_mutex_unlock(&v->tree.lock);
		if (idx < 0) {
			log_warn("watch: no mailbox %s to watch here (give mount paths such as INBOX or "
				 "Lists/dev); it is polled like the others", path);
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
	session_close(w->s);
	close(w->cancel[0]);
	close(w->cancel[1]);
	free(w);
}
