/*
 * aliases — the short-lived name and inode table of aliases.h. A flat
 * array searched linearly: entries live a minute and a burst of mv or cp
 * makes at most a few thousand, and a lookup that finds nothing (the
 * common case: most names are real) costs one pass over what is live.
 * Expired entries are swept on every change.
 */
#include "aliases.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void aliases_init(struct aliases *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
}

static void entry_free(struct alias_entry *e)
{
	free(e->name);
	e->name = NULL;
}

void aliases_free(struct aliases *a)
{
	for (size_t i = 0; i < a->n; i++)
		entry_free(&a->e[i]);
	free(a->e);
	a->e = NULL;
	a->n = a->cap = 0;
	pthread_mutex_destroy(&a->lock);
}

/* Remove entry I (order does not matter). Lock held. */
static void remove_at(struct aliases *a, size_t i)
{
	entry_free(&a->e[i]);
	a->e[i] = a->e[--a->n];
}

/* Drop what expired by NOW. Lock held. */
static void sweep(struct aliases *a, int64_t now)
{
	for (size_t i = 0; i < a->n;) {
		if (a->e[i].expires <= now)
			remove_at(a, i);
		else
			i++;
	}
}

static bool same_key(const struct alias_entry *e, uint32_t node, const char *name, uint64_t ino)
{
	if (name != NULL)
		return e->name != NULL && e->node == node && strcmp(e->name, name) == 0;
	return e->name == NULL && e->ino == ino;
}

/* Index of the live entry with this key, or -1. Lock held. */
static long find(const struct aliases *a, uint32_t node, const char *name, uint64_t ino, int64_t now)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].expires > now && same_key(&a->e[i], node, name, ino))
			return (long)i;
	return -1;
}

static int set(struct aliases *a, uint32_t node, const char *name, uint64_t ino,
	       const struct alias_target *to, int64_t now)
{
	char *copy = NULL;
	long i;
	int rc = 0;

	if (name != NULL && (copy = strdup(name)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	sweep(a, now);
	i = find(a, node, name, ino, now);
	if (i >= 0) {
		remove_at(a, (size_t)i);
	} else if (a->n == ALIASES_MAX) {
		/* full: the one closest to expiring goes */
		size_t oldest = 0;

		for (size_t j = 1; j < a->n; j++)
			if (a->e[j].expires < a->e[oldest].expires)
				oldest = j;
		remove_at(a, oldest);
	}
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		struct alias_entry *ne = realloc(a->e, nc * sizeof(*ne));

		if (ne == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		a->e = ne;
		a->cap = nc;
	}
	a->e[a->n] = (struct alias_entry){
		.node = node, .name = copy, .ino = ino, .to = *to, .expires = now + ALIASES_TTL_S,
	};
	a->n++;
	copy = NULL;
out:
	pthread_mutex_unlock(&a->lock);
	free(copy);
	return rc;
}

static int get(struct aliases *a, uint32_t node, const char *name, uint64_t ino, int64_t now,
	       struct alias_target *to)
{
	long i;

	pthread_mutex_lock(&a->lock);
	i = find(a, node, name, ino, now);
	if (i >= 0)
		*to = a->e[i].to;
	pthread_mutex_unlock(&a->lock);
	return i >= 0 ? 0 : -ENOENT;
}

int aliases_name_set(struct aliases *a, uint32_t node, const char *name, const struct alias_target *to,
		     int64_t now)
{
	return set(a, node, name, 0, to, now);
}

int aliases_name_get(struct aliases *a, uint32_t node, const char *name, int64_t now,
		     struct alias_target *to)
{
	return get(a, node, name, 0, now, to);
}

void aliases_name_drop(struct aliases *a, uint32_t node, const char *name)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n; i++) {
		if (same_key(&a->e[i], node, name, 0)) {
			remove_at(a, i);
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

int aliases_ino_set(struct aliases *a, uint64_t ino, const struct alias_target *to, int64_t now)
{
	return set(a, 0, NULL, ino, to, now);
}

int aliases_ino_get(struct aliases *a, uint64_t ino, int64_t now, struct alias_target *to)
{
	return get(a, 0, NULL, ino, now, to);
}

static bool found_at(const struct alias_entry *e, const struct alias_target *to, int64_t now)
{
	return e->name != NULL && e->expires > now && e->to.found && e->to.node == to->node &&
	       e->to.uid == to->uid && e->to.uidvalidity == to->uidvalidity;
}

bool aliases_found_to(struct aliases *a, const struct alias_target *to, int64_t now)
{
	bool hit = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n && !hit; i++)
		hit = found_at(&a->e[i], to, now);
	pthread_mutex_unlock(&a->lock);
	return hit;
}

bool aliases_appended_elsewhere(struct aliases *a, const struct alias_target *to, const char *name,
				int64_t now)
{
	bool hit = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n && !hit; i++) {
		const struct alias_entry *e = &a->e[i];

		hit = e->name != NULL && e->expires > now && e->to.appended && e->to.node == to->node &&
		      e->to.uid == to->uid && e->to.uidvalidity == to->uidvalidity && strcmp(e->name, name) != 0;
	}
	pthread_mutex_unlock(&a->lock);
	return hit;
}

void aliases_found_retarget(struct aliases *a, const struct alias_target *from, const struct alias_target *to,
			    int64_t now)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n; i++)
		if (found_at(&a->e[i], from, now))
			a->e[i].to = *to;
	pthread_mutex_unlock(&a->lock);
}

void aliases_drop_node(struct aliases *a, uint32_t node)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n;) {
		if ((a->e[i].name != NULL && a->e[i].node == node) || a->e[i].to.node == node)
			remove_at(a, i);
		else
			i++;
	}
	pthread_mutex_unlock(&a->lock);
}
