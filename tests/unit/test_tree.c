/*
 * test_tree — the tree's index (tree.c): the hash of (parent, fsname)
 * behind tree_child and the child lists behind readdir must always agree
 * with what a scan of the whole node array says, through additions,
 * hidden nodes that share a name with a visible one, renames and index
 * growth. A table of mailbox names per delimiter, then an account of
 * 30,000 mailboxes checked name by name against the scan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tree.h"

/* tree_child as it was: a scan of every node, lowest index first. */
static long scan_child(const struct tree *t, uint32_t parent, const char *fsname)
{
	size_t i;

	for (i = 1; i < t->n; i++)
		if (t->nodes[i].parent == parent && !t->nodes[i].hidden &&
		    strcmp(t->nodes[i].fsname, fsname) == 0)
			return (long)i;
	return -1;
}

/* Node of a '/'-separated mount path, or -1. */
static long path_node(const struct tree *t, const char *path)
{
	char *copy = strdup(path), *save = NULL, *part;
	long idx = 0;

	for (part = strtok_r(copy, "/", &save); part && idx >= 0; part = strtok_r(NULL, "/", &save))
		idx = tree_child(t, (uint32_t)idx, part);
	free(copy);
	return idx;
}

/* Every node is found under its own name, every child list holds exactly
 * the nodes whose parent it is (each once), nchildren counts the visible
 * ones, and a few absent names are not found. */
static void check_consistent(const struct tree *t, const char *what)
{
	size_t i, bad_find = 0, bad_list = 0, bad_count = 0;
	unsigned *seen = calloc(t->n, sizeof(*seen));

	for (i = 1; i < t->n; i++) {
		const struct tree_node *nd = &t->nodes[i];

		if (tree_child(t, nd->parent, nd->fsname) != scan_child(t, nd->parent, nd->fsname))
			bad_find++;
	}
	for (i = 0; i < t->n; i++) {
		uint32_t c, visible = 0;

		for (c = tree_first_child(t, (uint32_t)i); c != 0; c = tree_next_sibling(t, c)) {
			if (t->nodes[c].parent != i || seen[c]++ > 0)
				bad_list++;
			if (!t->nodes[c].hidden)
				visible++;
		}
		if (visible != t->nodes[i].nchildren)
			bad_count++;
	}
	for (i = 1; i < t->n; i++)
		if (seen[i] != 1)
			bad_list++;
	CHECK(bad_find == 0, "%s: %zu nodes found differently than by a scan", what, bad_find);
	CHECK(bad_list == 0, "%s: %zu wrong entries in child lists", what, bad_list);
	CHECK(bad_count == 0, "%s: %zu nodes with a wrong nchildren", what, bad_count);
	CHECK(tree_child(t, 0, "no such mailbox") == -1, "%s: an absent name was found", what);
	free(seen);
}

static const struct {
	char delim;
	const char *names[8];	/* LISTed, in this order */
	const char *path;	/* then: this mount path ... */
	const char *mailbox;	/* ... is this server name (NULL: absent) */
	bool listed;
} cases[] = {
	{ '/', { "INBOX", "Archive/2024", "Archive/2023", NULL }, "Archive/2023", "Archive/2023", true },
	/* a parent the server did not list is made up */
	{ '/', { "Archive/2024", NULL }, "Archive", "Archive", false },
	/* and listed later, it is the same node */
	{ '/', { "A/B/C", "A/B", NULL }, "A/B", "A/B", true },
	{ '.', { "INBOX", "INBOX.Sent", "INBOX.Drafts", NULL }, "INBOX/Drafts", "INBOX.Drafts", true },
	/* '/' in a name when the delimiter is '.' */
	{ '.', { "a/b.c", NULL }, "a%2Fb/c", "a/b.c", true },
	/* a trailing delimiter is a name part of its own (names.h): Foo/%00,
	 * under a made-up Foo */
	{ '/', { "Foo/", NULL }, "Foo/%00", "Foo/", true },
	{ '/', { "Foo/", NULL }, "Foo", "Foo", false },
	{ '/', { "Foo", "Foo/", NULL }, "Foo", "Foo", true },
	{ '/', { "x", NULL }, "y", NULL, false },
	/* one level, no delimiter */
	{ '\0', { "a/b", NULL }, "a%2Fb", "a/b", true },
};

static void table(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tree t;
		long idx;

		CHECK(tree_init(&t) == 0, "case %zu: tree_init", i);
		for (k = 0; cases[i].names[k] != NULL; k++)
			CHECK(tree_add_mailbox(&t, cases[i].names[k], cases[i].delim, "", false) == 0,
			      "case %zu: add %s", i, check_q(cases[i].names[k]));
		idx = path_node(&t, cases[i].path);
		if (cases[i].mailbox == NULL) {
			CHECK(idx < 0, "case %zu: %s found", i, check_q(cases[i].path));
		} else {
			CHECK(idx > 0, "case %zu: %s not found", i, check_q(cases[i].path));
			if (idx > 0) {
				CHECK(check_streq(t.nodes[idx].mailbox, cases[i].mailbox), "case %zu: %s is %s, not %s",
				      i, cases[i].path, check_q(t.nodes[idx].mailbox), check_q(cases[i].mailbox));
				CHECK(t.nodes[idx].listed == cases[i].listed, "case %zu: listed %d", i,
				      t.nodes[idx].listed);
			}
		}
		check_consistent(&t, "table");
		tree_destroy(&t);
	}
}

/* rmdir hides a node; a mailbox made again under that name is a new node
 * and the one found; a rename moves a node between parents and names. */
static void hide_and_move(void)
{
	struct tree t;
	long a, a2, b, c, d;
	char *fs, *mb;

	CHECK(tree_init(&t) == 0, "tree_init");
	tree_add_mailbox(&t, "A", '/', "", false);
	tree_add_mailbox(&t, "A/B", '/', "", false);
	tree_add_mailbox(&t, "A/B/deep", '/', "", false);
	tree_add_mailbox(&t, "C", '/', "", false);
	a = tree_child(&t, 0, "A");
	b = tree_child(&t, (uint32_t)a, "B");
	c = tree_child(&t, 0, "C");
	CHECK(a > 0 && b > 0 && c > 0, "nodes made");

	tree_hide(&t, (uint32_t)c);
	CHECK(tree_child(&t, 0, "C") == -1, "a hidden node is not found");
	tree_add_mailbox(&t, "C", '/', "", false);
	d = tree_child(&t, 0, "C");
	CHECK(d > 0 && d != c, "made again: a new node (%ld, was %ld)", d, c);
	check_consistent(&t, "after hide and add");

	/* mv A/B C/E */
	fs = strdup("E");
	mb = strdup("C/E");
	CHECK(tree_move(&t, (uint32_t)b, (uint32_t)d, fs, mb) == 0, "tree_move");
	CHECK(tree_child(&t, (uint32_t)a, "B") == -1, "the old name is gone");
	CHECK(tree_child(&t, (uint32_t)d, "E") == b, "the new name finds the node");
	CHECK(t.nodes[a].nchildren == 0 && t.nodes[d].nchildren == 1, "nchildren %u %u",
	      t.nodes[a].nchildren, t.nodes[d].nchildren);
	CHECK(check_streq(t.nodes[tree_child(&t, (uint32_t)b, "deep")].mailbox, "C/E/deep"),
	      "a child follows the rename");
	check_consistent(&t, "after move");

	/* and back, next to a sibling made meanwhile */
	tree_add_mailbox(&t, "A/F", '/', "", false);
	CHECK(tree_move(&t, (uint32_t)b, (uint32_t)a, strdup("B"), strdup("A/B")) == 0, "tree_move back");
	CHECK(tree_child(&t, (uint32_t)a, "B") == b && tree_child(&t, (uint32_t)d, "E") == -1, "moved back");
	check_consistent(&t, "after moving back");
	a2 = tree_child(&t, 0, "A");
	CHECK(a2 == a, "A unchanged");
	tree_destroy(&t);
}

/* An account of 30,000 mailboxes, flat and nested: every one is found
 * under its path as the scan would find it (and the index has grown
 * through many doublings). */
static void many(void)
{
	struct tree t;
	char name[64], path[64];
	size_t i, missing = 0;

	CHECK(tree_init(&t) == 0, "tree_init");
	for (i = 0; i < 30000; i++) {
		if (i % 2)
			snprintf(name, sizeof(name), "flat%06zu", i);
		else
			snprintf(name, sizeof(name), "group%03zu/box%06zu", i % 200, i);
		CHECK(tree_add_mailbox(&t, name, '/', "", false) == 0, "add %s", name);
	}
	CHECK(t.nbuckets >= t.n, "index smaller than the tree: %zu buckets, %zu nodes", t.nbuckets, t.n);
	for (i = 0; i < 30000; i++) {
		long idx;

		if (i % 2)
			snprintf(path, sizeof(path), "flat%06zu", i);
		else
			snprintf(path, sizeof(path), "group%03zu/box%06zu", i % 200, i);
		idx = path_node(&t, path);
		if (idx <= 0 || strcmp(t.nodes[idx].mailbox, path) != 0)
			missing++;
	}
	CHECK(missing == 0, "%zu of 30000 mailboxes not found under their path", missing);
	CHECK(t.nodes[0].nchildren == 15000 + 100, "root has %u children", t.nodes[0].nchildren);
	check_consistent(&t, "30000 mailboxes");
	tree_destroy(&t);
}

/* A message, with KEYWORDS (copied; NULL for none), for tree_msg_insert. */
static struct tree_msg msg(uint32_t uid, uint8_t sysflags, const char *keywords)
{
	struct tree_msg m = { .uid = uid, .size = 100, .claimed = 100, .sysflags = sysflags };

	m.keywords = keywords ? strdup(keywords) : NULL;
	return m;
}

/* tree_node.changed_ns, the mailbox's mtime (imapfs.1, THE TREE): the
 * listing a mailbox is loaded with leaves it alone; a new message, an
 * expunge, and a refetch that found other flags move it; a refetch that
 * found the same flags, or removing a UID that is not there, does not. */
static void changed_time(void)
{
	struct tree t;
	struct tree_node *n;
	struct tree_msg *v, m;
	int64_t t0;
	long a;

	CHECK(tree_init(&t) == 0, "tree_init");
	tree_add_mailbox(&t, "A", '/', "", false);
	a = tree_child(&t, 0, "A");
	CHECK(a > 0, "node made");
	v = calloc(2, sizeof(*v));
	v[0] = msg(1, 0, NULL);
	v[1] = msg(2, 0, "$x");
	tree_set_msgs(&t, (uint32_t)a, v, 2, 7);
	n = &t.nodes[a];
	n->state = TREE_READY;
	CHECK(n->changed_ns == 0, "loading moves nothing: %lld", (long long)n->changed_ns);

	m = msg(2, 0, "$x");
	CHECK(tree_msg_insert(n, &m) == 0 && n->changed_ns == 0, "same flags again: nothing moved");
	m = msg(2, SESSION_F_FLAGGED, "$x");
	CHECK(tree_msg_insert(n, &m) == 0 && n->changed_ns > 0, "other flags: moved");
	t0 = n->changed_ns;
	m = msg(2, SESSION_F_FLAGGED, "$y");
	CHECK(tree_msg_insert(n, &m) == 0 && n->changed_ns >= t0 && n->changed_ns > 0, "other keywords");
	t0 = n->changed_ns = 1;	/* from here on, any move is visible */
	tree_msg_remove(n, 99);
	CHECK(n->changed_ns == t0, "removing an absent UID moves nothing");
	m = msg(3, 0, NULL);
	CHECK(tree_msg_insert(n, &m) == 0 && n->changed_ns > t0, "a new message moves it");
	n->changed_ns = t0;
	tree_msg_remove(n, 1);
	CHECK(n->changed_ns > t0 && n->nmsgs == 2, "an expunge moves it");
	CHECK(t.nodes[0].changed_ns == 0, "the parent is left alone");
	tree_destroy(&t);
}

int main(void)
{
	table();
	hide_and_move();
	many();
	changed_time();
	return check_finish("test_tree");
}
