/*
 * notify — a queue of kernel entry invalidations and the thread that sends
 * them (see notify.h for why not from the handlers).
 */
#include "notify.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct notify_item {
	struct notify_item *next;
	uint64_t parent;	/* or the inode whose attributes changed, INODE */
	bool inode;
	char name[];
};

struct notify {
	struct fuse_session *se;	/* immutable */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct notify_item *head, *tail;	/* guarded by lock */
	bool stop;				/* guarded by lock */
	uint64_t gone;				/* atomic: names queued so far */
};

static void *notify_main(void *arg)
{
	struct notify *n = arg;
	struct notify_item *it;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		while (n->head == NULL && !n->stop)
			pthread_cond_wait(&n->more, &n->lock);
		if (n->head == NULL)
			break;
		it = n->head;
		n->head = it->next;
		if (n->head == NULL)
			n->tail = NULL;
		pthread_mutex_unlock(&n->lock);
		/* ENOENT just means the kernel had no such entry cached */
		if (it->inode)
			fuse_lowlevel_notify_inval_inode(n->se, it->parent, -1, 0);
		else
			fuse_lowlevel_notify_inval_entry(n->se, it->parent, it->name, strlen(it->name));
		free(it);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int notify_start(struct fuse_session *se, struct notify **out)
{
	struct notify *n = calloc(1, sizeof(*n));
	int rc;

	if (n == NULL)
		return -ENOMEM;
	n->se = se;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->more, NULL);
	rc = pthread_create(&n->thread, NULL, notify_main, n);
	if (rc != 0) {
		pthread_mutex_destroy(&n->lock);
		pthread_cond_destroy(&n->more);
		free(n);
		return -rc;
	}
	*out = n;
	return 0;
}

void notify_entry(struct notify *n, uint64_t parent, const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	struct notify_item *it = malloc(sizeof(*it) + len + 1);

	/* counted before the queueing, and even when that fails: a listing
	 * that reads the count after this sees the change (ops.c) */
	if (name != NULL)
		__atomic_add_fetch(&n->gone, 1, __ATOMIC_SEQ_CST);
	if (it == NULL)
		return;	/* the entry then only expires with its timeout */
	it->next = NULL;
	it->parent = parent;
	it->inode = name == NULL;
	memcpy(it->name, name != NULL ? name : "", len + 1);
	pthread_mutex_lock(&n->lock);
	if (n->tail)
		n->tail->next = it;
	else
		n->head = it;
	n->tail = it;
	pthread_cond_signal(&n->more);
	pthread_mutex_unlock(&n->lock);
}

uint64_t notify_gone_count(const struct notify *n)
{
	return n != NULL ? __atomic_load_n(&n->gone, __ATOMIC_SEQ_CST) : 0;
}

void notify_stop(struct notify *n)
{
	struct notify_item *it;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	/* after unmount nobody is listening: drop what is left */
	while ((it = n->head) != NULL) {
		n->head = it->next;
		free(it);
	}
	n->tail = NULL;
	pthread_cond_signal(&n->more);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->more);
	free(n);
}
