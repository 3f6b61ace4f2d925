/*
 * tree — mailbox hierarchy and per-mailbox message metadata.
 *
 * A mailbox name is split at its own delimiter (LIST reports it per
 * mailbox, so personal, other-users and shared namespaces each keep theirs)
 * and every component is mapped to a file name by names.c. Parents the
 * server did not list become plain directories, like \Noselect ones.
 * A node is its exact server name: two names never share a node, and a
 * file name a sibling already has is tagged (names.h) instead.
 *
 * The index: a chained hash of (parent, fsname) over all nodes, hidden
 * ones included (a hidden node may share its name with a visible one;
 * lookups skip it). Nodes are never removed from the array, only hidden
 * or moved, so the index changes only in tree_new_node and tree_move. It
 * has at least as many buckets as nodes and doubles with them: adding a
 * node costs O(1) amortised, where scanning all nodes made a LIST of N
 * mailboxes cost O(N^2).
 */
#include "tree.h"
#include "log.h"
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TREE_MIN_BUCKETS 64

/* FNV-1a of the name, mixed with the parent. */
static size_t tree_hash(uint32_t parent, const char *fsname)
{
	uint64_t h = 14695981039346656037ULL ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL);
	const unsigned char *p;

	for (p = (const unsigned char *)fsname; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static void tree_index_link(struct tree *t, uint32_t idx)
{
	size_t b = tree_hash(t->nodes[idx].parent, t->nodes[idx].fsname) & (t->nbuckets - 1);

	t->nodes[idx].hnext = t->buckets[b];
	t->buckets[b] = idx;
}

static void tree_index_unlink(struct tree *t, uint32_t idx)
{
	size_t b = tree_hash(t->nodes[idx].parent, t->nodes[idx].fsname) & (t->nbuckets - 1);
	uint32_t *p = &t->buckets[b];

	while (*p != 0 && *p != idx)
		p = &t->nodes[*p].hnext;
	if (*p == idx)
		*p = t->nodes[idx].hnext;
	t->nodes[idx].hnext = 0;
}

/* The second index: nodes by their exact server name, so that LIST of N
 * names finds each one's node without a scan (names.h: a node is its
 * server name). FNV-1a of LEN bytes. */
static size_t tree_raw_hash(const char *mailbox, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)mailbox[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static void tree_raw_link(struct tree *t, uint32_t idx)
{
	const char *m = t->nodes[idx].mailbox;
	size_t b = tree_raw_hash(m, strlen(m)) & (t->nbuckets - 1);

	t->nodes[idx].rnext = t->rbuckets[b];
	t->rbuckets[b] = idx;
}

static void tree_raw_unlink(struct tree *t, uint32_t idx)
{
	const char *m = t->nodes[idx].mailbox;
	uint32_t *p = &t->rbuckets[tree_raw_hash(m, strlen(m)) & (t->nbuckets - 1)];

	while (*p != 0 && *p != idx)
		p = &t->nodes[*p].rnext;
	if (*p == idx)
		*p = t->nodes[idx].rnext;
	t->nodes[idx].rnext = 0;
}

/* Make room in the indexes for one more node: double the buckets when
 * there would be more nodes than buckets. */
static int tree_index_reserve(struct tree *t)
{
	size_t nb = t->nbuckets, i;
	uint32_t *b, *rb;

	if (t->n + 1 <= nb)
		return 0;
	while (nb < t->n + 1)
		nb *= 2;
	b = calloc(nb, sizeof(*b));
	rb = calloc(nb, sizeof(*rb));
	if (b == NULL || rb == NULL) {
		free(b);
		free(rb);
		return -ENOMEM;
	}
	free(t->buckets);
	free(t->rbuckets);
	t->buckets = b;
	t->rbuckets = rb;
	t->nbuckets = nb;
	for (i = 1; i < t->n; i++) {
		tree_index_link(t, (uint32_t)i);
		tree_raw_link(t, (uint32_t)i);
	}
	return 0;
}

/* Append IDX to its parent's children. */
static void tree_children_link(struct tree *t, uint32_t idx)
{
	struct tree_node *p = &t->nodes[t->nodes[idx].parent];

	t->nodes[idx].next_sibling = 0;
	if (p->last_child != 0)
		t->nodes[p->last_child].next_sibling = idx;
	else
		p->first_child = idx;
	p->last_child = idx;
}

/* Take IDX out of its parent's children (a walk of its siblings: only a
 * rename does this). */
static void tree_children_unlink(struct tree *t, uint32_t idx)
{
	struct tree_node *p = &t->nodes[t->nodes[idx].parent];
	uint32_t prev = 0, c;

	for (c = p->first_child; c != 0 && c != idx; c = t->nodes[c].next_sibling)
		prev = c;
	if (c != idx)
		return;
	if (prev == 0)
		p->first_child = t->nodes[idx].next_sibling;
	else
		t->nodes[prev].next_sibling = t->nodes[idx].next_sibling;
	if (p->last_child == idx)
		p->last_child = prev;
	t->nodes[idx].next_sibling = 0;
}

int tree_init(struct tree *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->loaded, NULL);
	t->cap = 64;
	t->nodes = calloc(t->cap, sizeof(*t->nodes));
	t->nbuckets = TREE_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->rbuckets = calloc(t->nbuckets, sizeof(*t->rbuckets));
	if (t->nodes == NULL || t->buckets == NULL || t->rbuckets == NULL)
		return -ENOMEM;
	t->nodes[0].parent = 0;
	t->nodes[0].fsname = strdup("");
	t->nodes[0].attrs = strdup("");
	t->nodes[0].state = TREE_READY;
	t->n = 1;
	if (t->nodes[0].fsname == NULL || t->nodes[0].attrs == NULL)
		return -ENOMEM;
	return 0;
}

void tree_msgs_free(struct tree_msg *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(msgs[i].keywords);
		free(msgs[i].gm_labels);
	}
	free(msgs);
}

void tree_destroy(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->nodes[i].fsname);
		free(t->nodes[i].mailbox);
		free(t->nodes[i].attrs);
		free(t->nodes[i].rights);
		tree_msgs_free(t->nodes[i].msgs, t->nodes[i].nmsgs);
		free(t->nodes[i].gone);
	}
	free(t->nodes);
	free(t->buckets);
	free(t->rbuckets);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->loaded);
}

long tree_child(const struct tree *t, uint32_t parent, const char *fsname)
{
	uint32_t i = t->buckets[tree_hash(parent, fsname) & (t->nbuckets - 1)];
	long found = -1;

	/* the lowest index wins, as when this was a scan of the array */
	for (; i != 0; i = t->nodes[i].hnext)
		if (t->nodes[i].parent == parent && !t->nodes[i].hidden &&
		    strcmp(t->nodes[i].fsname, fsname) == 0 && (found < 0 || i < (uint32_t)found))
			found = (long)i;
	return found;
}

/* Append a child of PARENT; returns its index or -errno. */
static long tree_new_node(struct tree *t, uint32_t parent, char *fsname, const char *mailbox, char delim)
{
	struct tree_node *n;

	if (t->n >= TREE_MAX_NODES || tree_index_reserve(t) < 0)
		return -ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap * 2;
		struct tree_node *nn = realloc(t->nodes, cap * sizeof(*nn));

		if (nn == NULL)
			return -ENOMEM;
		t->nodes = nn;
		t->cap = cap;
	}
	n = &t->nodes[t->n];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->fsname = fsname;
	n->mailbox = strdup(mailbox);
	n->attrs = strdup("");
	n->delim = delim;
	n->state = TREE_UNLOADED;
	if (n->mailbox == NULL || n->attrs == NULL) {
		free(n->mailbox);
		free(n->attrs);
		return -ENOMEM;
	}
	t->nodes[parent].nchildren++;
	tree_index_link(t, (uint32_t)t->n);
	tree_raw_link(t, (uint32_t)t->n);
	tree_children_link(t, (uint32_t)t->n);
	return (long)t->n++;
}

/* The visible child of PARENT whose server name is exactly MAILBOX (LEN
 * bytes), or -1. */
static long tree_child_raw(const struct tree *t, uint32_t parent, const char *mailbox, size_t len)
{
	uint32_t i = t->rbuckets[tree_raw_hash(mailbox, len) & (t->nbuckets - 1)];
	long found = -1;

	/* the lowest index wins, as when this was a scan of the array */
	for (; i != 0; i = t->nodes[i].rnext)
		if (t->nodes[i].parent == parent && !t->nodes[i].hidden &&
		    strlen(t->nodes[i].mailbox) == len && memcmp(t->nodes[i].mailbox, mailbox, len) == 0 &&
		    (found < 0 || i < (uint32_t)found))
			found = (long)i;
	return found;
}

/*
 * The file name for component COMP of server name PREFIX under PARENT: the
 * escaped name, tagged (names.h) when it is too long for the kernel or a
 * sibling with another server name already has it, so two mailboxes
 * never share one path. A *FSNAME is malloc'd.
 */
static int tree_fsname(const struct tree *t, uint32_t parent, const char *comp, const char *prefix,
		       char **fsname)
{
	char *name, *tagged;
	unsigned salt;
	int rc;

	rc = names_to_fs(comp, &name);
	if (rc < 0)
		return rc;
	if (strlen(name) <= NAMES_MAX && tree_child(t, parent, name) < 0) {
		*fsname = name;
		return 0;
	}
	for (salt = 0;; salt++) {
		rc = names_tag(name, prefix, salt, &tagged);
		if (rc < 0)
			break;
		if (tree_child(t, parent, tagged) < 0) {
			/* (the tagged name is escaped: safe to log) */
			if (!t->quiet)
				log_info("a mailbox is shown as %s: %s", tagged,
					 strlen(name) > NAMES_MAX ? "its name is longer than 255 bytes"
								  : "another mailbox has the same path");
			*fsname = tagged;
			break;
		}
		free(tagged);
	}
	free(name);
	return rc;
}

int tree_add_mailbox(struct tree *t, const char *name, char delim, const char *attrs, bool noselect)
{
	size_t len = strlen(name);
	const char *p = name, *end;
	uint32_t cur = 0;
	char *attrs_copy;

	t->gen++;
	/* Every component becomes a node, an empty one included: "Foo/" is
	 * Foo/%00, not Foo, so two server names never meet in one node. */
	for (;;) {
		char *comp, *fsname, *prefix;
		long idx;
		int rc;

		end = delim != '\0' ? memchr(p, delim, (size_t)(name + len - p)) : NULL;
		if (end == NULL)
			end = name + len;
		idx = tree_child_raw(t, cur, name, (size_t)(end - name));
		if (idx < 0) {
			comp = strndup(p, (size_t)(end - p));
			prefix = strndup(name, (size_t)(end - name));
			rc = comp == NULL || prefix == NULL ? -ENOMEM
							    : tree_fsname(t, cur, comp, prefix, &fsname);
			free(comp);
			if (rc == 0) {
				idx = tree_new_node(t, cur, fsname, prefix, delim);
				if (idx < 0)
					free(fsname);
				rc = idx < 0 ? (int)idx : 0;
			}
			free(prefix);
			if (rc < 0)
				return rc;
		}
		cur = (uint32_t)idx;
		if (end >= name + len)
			break;
		p = end + 1;
	}
	attrs_copy = strdup(attrs);
	if (attrs_copy == NULL)
		return -ENOMEM;
	free(t->nodes[cur].attrs);
	t->nodes[cur].attrs = attrs_copy;
	t->nodes[cur].selectable = !noselect;
	t->nodes[cur].listed = true;
	return 0;
}

int tree_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct tree_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

struct tree_msg *tree_msg_find(struct tree_node *node, uint32_t uid)
{
	struct tree_msg key = { .uid = uid };

	if (node->msgs == NULL)
		return NULL;
	return bsearch(&key, node->msgs, node->nmsgs, sizeof(key), msg_cmp);
}

size_t tree_msg_first_at(const struct tree_node *node, uint32_t uid)
{
	size_t lo = 0, hi = node->nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (node->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void tree_set_msgs(struct tree *t, uint32_t idx, struct tree_msg *msgs, size_t n, uint32_t uidvalidity)
{
	struct tree_node *node = &t->nodes[idx];
	size_t i, o;

	if (n > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(msgs, n, sizeof(*msgs), msg_cmp);
	/* a server that repeats a UID gets one file for it, never two */
	for (i = 0, o = 0; i < n; i++) {
		if (o > 0 && msgs[o - 1].uid == msgs[i].uid) {
			free(msgs[i].keywords);
			free(msgs[i].gm_labels);
			continue;
		}
		msgs[o++] = msgs[i];
	}
	tree_gone_clear(node);	/* a new listing: what was dropped is not in it */
	tree_msgs_free(node->msgs, node->nmsgs);
	node->gen++;
	node->msgs = msgs;
	node->nmsgs = o;
	node->uidvalidity = uidvalidity;
}

void tree_touch(struct tree_node *node)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	node->changed_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int tree_msg_insert(struct tree_node *node, const struct tree_msg *m)
{
	struct tree_msg *old = tree_msg_find(node, m->uid), *nv;
	size_t pos;

	node->gen++;
	if (old != NULL) {
		bool keep = old->size_exact && old->claimed == m->claimed;
		uint32_t size = old->size;

		/* a refetch that found what we had changes nothing visible */
		if (old->sysflags != m->sysflags || !same_str(old->keywords, m->keywords) ||
		    !same_str(old->gm_labels, m->gm_labels) || old->claimed != m->claimed)
			tree_touch(node);

		free(old->keywords);
		free(old->gm_labels);
		*old = *m;
		if (keep) {
			old->size = size;
			old->size_exact = true;
		}
		return 0;
	}
	nv = realloc(node->msgs, (node->nmsgs + 1) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	node->msgs = nv;
	for (pos = node->nmsgs; pos > 0 && nv[pos - 1].uid > m->uid; pos--)
		;
	memmove(nv + pos + 1, nv + pos, (node->nmsgs - pos) * sizeof(*nv));
	nv[pos] = *m;
	node->nmsgs++;
	tree_touch(node);
	return 0;
}

void tree_msg_remove(struct tree_node *node, uint32_t uid)
{
	struct tree_msg *m = tree_msg_find(node, uid);
	size_t pos;

	if (m == NULL)
		return;
	node->gen++;
	pos = (size_t)(m - node->msgs);
	free(m->keywords);
	free(m->gm_labels);
	memmove(m, m + 1, (node->nmsgs - pos - 1) * sizeof(*m));
	node->nmsgs--;
	tree_touch(node);
	if (!node->idled)
		return;
	if (node->gone == NULL)
		node->gone = malloc(TREE_GONE_MAX * sizeof(*node->gone));
	if (node->gone != NULL && node->ngone < TREE_GONE_MAX)
		node->gone[node->ngone++] = uid;
	else
		node->gone_lost = true;
}

void tree_gone_clear(struct tree_node *node)
{
	node->ngone = 0;
	node->gone_lost = false;
}

bool tree_gone_has(const struct tree_node *node, uint32_t uid)
{
	size_t i;

	for (i = 0; i < node->ngone; i++)
		if (node->gone[i] == uid)
			return true;
	return false;
}

void tree_gone_seen(struct tree_node *node, uint32_t first, uint32_t last)
{
	size_t i, o;

	for (i = 0, o = 0; i < node->ngone; i++)
		if (node->gone[i] < first || node->gone[i] > last)
			node->gone[o++] = node->gone[i];
	node->ngone = (uint16_t)o;
}

long tree_find_raw(const struct tree *t, const char *mailbox)
{
	uint32_t i = t->rbuckets[tree_raw_hash(mailbox, strlen(mailbox)) & (t->nbuckets - 1)];
	long found = -1;

	for (; i != 0; i = t->nodes[i].rnext)
		if (!t->nodes[i].hidden && strcmp(t->nodes[i].mailbox, mailbox) == 0 &&
		    (found < 0 || i < (uint32_t)found))
			found = (long)i;
	return found;
}

void tree_change_begin(struct tree *t)
{
	t->changing++;
	t->gen++;
}

void tree_change_end(struct tree *t)
{
	if (t->changing > 0)
		t->changing--;
	t->gen++;
}

void tree_hide(struct tree *t, uint32_t idx)
{
	if (idx == 0 || t->nodes[idx].hidden)
		return;
	t->gen++;
	t->nodes[idx].hidden = true;
	t->nodes[t->nodes[idx].parent].nchildren--;
}

int tree_move(struct tree *t, uint32_t idx, uint32_t newparent, char *fsname, char *mailbox)
{
	char *old = t->nodes[idx].mailbox;
	size_t oldlen = strlen(old), i;

	t->gen++;
	for (i = 1; i < t->n; i++) {
		struct tree_node *d = &t->nodes[i];
		char *name;

		if (i == idx || strncmp(d->mailbox, old, oldlen) != 0 ||
		    d->mailbox[oldlen] != t->nodes[idx].delim || d->mailbox[oldlen] == '\0')
			continue;
		if (asprintf(&name, "%s%s", mailbox, d->mailbox + oldlen) < 0)
			return -ENOMEM;
		tree_raw_unlink(t, (uint32_t)i);
		free(d->mailbox);
		d->mailbox = name;
		tree_raw_link(t, (uint32_t)i);
	}
	tree_raw_unlink(t, idx);
	tree_index_unlink(t, idx);
	tree_children_unlink(t, idx);
	t->nodes[t->nodes[idx].parent].nchildren--;
	t->nodes[newparent].nchildren++;
	t->nodes[idx].parent = newparent;
	free(t->nodes[idx].fsname);
	t->nodes[idx].fsname = fsname;
	t->nodes[idx].mailbox = mailbox;
	tree_index_link(t, idx);
	tree_raw_link(t, idx);
	tree_children_link(t, idx);
	free(old);
	return 0;
}

int tree_msgbuf_add(void *ctx, const struct session_msg *m)
{
	struct tree_msgbuf *b = ctx;
	struct tree_msg *t;

	if (m->uid <= b->after)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct tree_msg *nv = realloc(b->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		b->v = nv;
		b->cap = cap;
	}
	t = &b->v[b->n];
	memset(t, 0, sizeof(*t));
	t->uid = m->uid;
	t->size = m->size;
	t->claimed = m->have_size ? m->size : 0;
	t->date = m->date;
	t->tz = m->tz;
	t->sysflags = m->sysflags;
	t->modseq = m->modseq;
	t->gm_msgid = m->gm_msgid;
	if (m->keywords != NULL && (t->keywords = strdup(m->keywords)) == NULL)
		return -ENOMEM;
	if (m->gm_labels != NULL && (t->gm_labels = strdup(m->gm_labels)) == NULL) {
		free(t->keywords);
		return -ENOMEM;
	}
	b->n++;
	return 0;
}
