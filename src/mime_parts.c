/*
 * mime_parts — a message's MIME structure as the entries of its .parts
 * directory (see mime_parts.h for what each entry is).
 */
#include "mime_parts.h"
#include "mime_decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mime_part_clear(struct mime_part *p)
{
	for (size_t i = 0; i < p->nchild; i++)
		mime_part_clear(&p->child[i]);
	free(p->child);
	free(p->charset);
	free(p->filename);
	free(p->encoding);
	p->child = NULL;
	p->nchild = 0;
	p->charset = p->filename = p->encoding = NULL;
}

void mime_entries_free(struct mime_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* Entries, and a hash of their names (open addressing: index + 1 of the
 * entry, 0 free), so that thousands of parts of one name cost no more
 * than a few lookups each. */
struct kslot {
	char *name;
	int next;
};

struct list {
	struct mime_entry *v;
	size_t n, cap;
	size_t *hash;
	size_t hcap;	/* a power of two, at least twice N */
	struct kslot *k;	/* names given a number, and the next to try */
	size_t nk, kcap;
	bool oom;
};

static void list_free_aux(struct list *l)
{
	for (size_t i = 0; i < l->nk; i++)
		free(l->k[i].name);
	free(l->k);
	free(l->hash);
}

static size_t name_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool taken(const struct list *l, const char *name)
{
	for (size_t i = l->hcap ? name_hash(name) & (l->hcap - 1) : 0; l->hcap && l->hash[i];
	     i = (i + 1) & (l->hcap - 1))
		if (strcmp(l->v[l->hash[i] - 1].name, name) == 0)
			return true;
	return false;
}

static void hash_put(size_t *hash, size_t hcap, const char *name, size_t idx)
{
	size_t i = name_hash(name) & (hcap - 1);

	while (hash[i])
		i = (i + 1) & (hcap - 1);
	hash[i] = idx + 1;
}

/* The number to try first for another part named NAME (a slot of the
 * list's own small table, made when new), or NULL when out of room or
 * memory (then from 2). */
static int *next_k(struct list *l, const char *name)
{
	size_t i;

	if (l->nk == l->kcap) {
		size_t cap = l->kcap ? l->kcap * 2 : 16;
		struct kslot *g = realloc(l->k, cap * sizeof(*g));

		if (g == NULL)
			return NULL;
		l->k = g;
		l->kcap = cap;
	}
	for (i = 0; i < l->nk; i++)
		if (strcmp(l->k[i].name, name) == 0)
			return &l->k[i].next;
	l->k[i].name = strdup(name);
	if (l->k[i].name == NULL)
		return NULL;
	l->k[i].next = 2;
	l->nk++;
	return &l->k[i].next;
}

/* Room in the hash for one more name. */
static bool hash_grow(struct list *l)
{
	size_t ncap = l->hcap ? l->hcap * 2 : 64, *nh;

	if ((l->n + 1) * 2 <= l->hcap)
		return true;
	nh = calloc(ncap, sizeof(*nh));
	if (nh == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		hash_put(nh, ncap, l->v[i].name, i);
	free(l->hash);
	l->hash = nh;
	l->hcap = ncap;
	return true;
}

/* Add NAME (copied) unless the list has it: then "stem (2).ext", "(3)" ... */
static void add(struct list *l, const char *name, enum mime_entry_kind kind, const struct mime_part *p)
{
	char *nm = NULL;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct mime_entry *g = realloc(l->v, cap * sizeof(*g));

		if (g == NULL) {
			l->oom = true;
			return;
		}
		l->v = g;
		l->cap = cap;
	}
	if (!taken(l, name)) {
		nm = strdup(name);
	} else {
		const char *dot = strrchr(name, '.');
		size_t stem = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);

		/* from the last number this name was given: a run of one
		 * name costs one try each, not one per name before it */
		int *from = next_k(l, name);

		for (int k = from != NULL && *from > 2 ? *from : 2; k < 100000 && nm == NULL; k++) {
			char *c;

			if (asprintf(&c, "%.*s (%d)%s", (int)stem, name, k, name + stem) < 0) {
				l->oom = true;
				return;
			}
			if (!taken(l, c)) {
				nm = c;
				if (from != NULL)
					*from = k + 1;
			} else {
				free(c);
			}
		}
	}
	if (nm == NULL || !hash_grow(l)) {
		free(nm);
		l->oom = true;
		return;
	}
	hash_put(l->hash, l->hcap, nm, l->n);
	l->v[l->n].name = nm;
	l->v[l->n].kind = kind;
	l->v[l->n].part = p;
	l->n++;
}

static bool is(const struct mime_part *p, const char *type, const char *subtype)
{
	return strcmp(p->type, type) == 0 && (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

/* The first leaf of TYPE/SUBTYPE that is no attachment and has no file
 * name, depth first, not inside a nested message. */
static const struct mime_part *find_body(const struct mime_part *p, const char *subtype)
{
	if (is(p, "multipart", NULL)) {
		for (size_t i = 0; i < p->nchild; i++) {
			const struct mime_part *f = find_body(&p->child[i], subtype);

			if (f != NULL)
				return f;
		}
		return NULL;
	}
	if (is(p, "text", subtype) && !p->attachment && p->filename == NULL)
		return p;
	return NULL;
}

/* Every part with a file name, under it (a file, a forwarded message too:
 * one directory per part, so no directory has two names); every part
 * under its number (leaves as files, message/rfc822 parts as
 * directories). */
static void walk(struct list *names, struct list *nums, const struct mime_part *p)
{
	if (is(p, "multipart", NULL)) {
		for (size_t i = 0; i < p->nchild; i++)
			walk(names, nums, &p->child[i]);
		return;
	}
	if (p->filename != NULL && p->filename[0] != '\0') {
		char *safe = NULL;

		if (mime_safe_name(p->filename, 200, &safe) < 0)
			names->oom = true;
		else
			add(names, safe, MIME_LEAF, p);	/* a forwarded message too: NAME.eml */
		free(safe);
	}
	if (p->section[0] != '\0')
		add(nums, p->section, is(p, "message", "rfc822") && p->nchild == 1 ? MIME_MESSAGE : MIME_LEAF, p);
}

int mime_entries(const struct mime_part *top, const struct mime_part *msg, struct mime_entry **out,
		 size_t *n)
{
	struct list l = { 0 }, names = { 0 }, nums = { 0 };
	const struct mime_part *text = find_body(top, "plain"), *html = find_body(top, "html");
	const struct mime_part *self = msg != NULL ? msg : top;

	*out = NULL;
	*n = 0;
	add(&l, "header", MIME_HEADER, self);
	if (text != NULL)
		add(&l, "text", MIME_TEXT, text);
	if (html != NULL)
		add(&l, "html", MIME_HTML, html);
	add(&l, "raw", MIME_RAW, self);
	/* numbers first, so that no file name can take "1" from part 1 */
	walk(&names, &nums, top);
	for (size_t i = 0; i < nums.n && !l.oom; i++)
		add(&l, nums.v[i].name, nums.v[i].kind, nums.v[i].part);
	for (size_t i = 0; i < names.n && !l.oom; i++)
		add(&l, names.v[i].name, names.v[i].kind, names.v[i].part);
	mime_entries_free(names.v, names.n);
	mime_entries_free(nums.v, nums.n);
	list_free_aux(&names);
	list_free_aux(&nums);
	list_free_aux(&l);
	if (l.oom || names.oom || nums.oom) {
		mime_entries_free(l.v, l.n);
		return -ENOMEM;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

void mime_entry_section(const struct mime_entry *e, const struct mime_part *msg, char *buf, size_t len)
{
	const char *base = msg != NULL ? msg->section : "";

	switch (e->kind) {
	case MIME_HEADER:
		snprintf(buf, len, "%s%sHEADER", base, base[0] ? "." : "");
		break;
	case MIME_RAW:
		snprintf(buf, len, "%s", base);
		break;
	default:
		snprintf(buf, len, "%s", e->part->section);
		break;
	}
}
