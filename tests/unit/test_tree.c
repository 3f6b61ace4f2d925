/*
 * test_tree — the tree's index (tree.c): the hash of (parent, fsname)
 * behind tree_child and the child lists behind readdir must always agree
 * with what a scan of the whole node array says, through additions,
 * hidden nodes that share a name with a visible one, renames and index
 * growth. A table of mailbox names per delimiter; a table of additions
 * and moves (tree_add_mailbox, tree_move) with what each leaves behind:
 * paths and server names found or gone, made-up parents, readdir order;
 * every mailbox of a crowded index renamed in turn; then an account of
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

/* tree_find_raw as a scan: the visible node with server name MAILBOX,
 * lowest index first. */
static long scan_raw(const struct tree *t, const char *mailbox)
{
	size_t i;

	for (i = 1; i < t->n; i++)
		if (!t->nodes[i].hidden && strcmp(t->nodes[i].mailbox, mailbox) == 0)
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
	size_t i, bad_find = 0, bad_raw = 0, bad_list = 0, bad_count = 0;
	unsigned *seen = calloc(t->n, sizeof(*seen));

	for (i = 1; i < t->n; i++) {
		const struct tree_node *nd = &t->nodes[i];

		if (tree_child(t, nd->parent, nd->fsname) != scan_child(t, nd->parent, nd->fsname))
			bad_find++;
		/* (a scan per node: too slow for the 30,000 of many()) */
		if (t->n <= 4096 && tree_find_raw(t, nd->mailbox) != scan_raw(t, nd->mailbox))
			bad_raw++;
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
	CHECK(bad_raw == 0, "%s: %zu server names found differently than by a scan", what, bad_raw);
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

/*
 * Adding and moving mailboxes, table-driven. Each case LISTs NAMES in
 * order ("!" in front: \Noselect), hides (rmdir) HIDE, moves the node at
 * mount path FROM under the node at TO ("" is the root) as FSNAME with
 * server name MAILBOX (tree_move, as rename_dir calls it after the
 * server's RENAME), then LISTs ADD. PAD_BEFORE flat names of padding go
 * first (a crowded index, where the moved nodes share buckets with
 * others), PAD_AFTER last (the index grows and relinks every node).
 * Then:
 *   FOUND    "path=server name": the path leads to a node with that
 *            server name, and tree_find_raw finds that same node by it;
 *            listed and selectable unless in MADEUP (a parent nobody
 *            listed) or NOSELECT (listed \Noselect);
 *   GONE     mount paths that lead nowhere;
 *   RAW_GONE server names tree_find_raw does not find;
 *   DIRS     "path:a,b": the visible children of path, in readdir order;
 *   NODES    the size of the node array, the root included.
 * tree_move refuses nothing: rename_dir checks the target name (-EEXIST)
 * before asking the server, and the kernel never asks to move a directory
 * into itself, so a move into its own subtree has no case here.
 */
static const struct tree_case {
	const char *what;
	char delim;
	const char *names[7];
	const char *hide;
	const char *from, *to, *fsname, *mailbox;
	const char *add[3];
	unsigned pad_before, pad_after;
	const char *found[6];
	const char *madeup[3];
	const char *noselect[2];
	const char *gone[5];
	const char *raw_gone[5];
	const char *dirs[4];
	size_t nodes;
} tree_cases[] = {
	{ .what = "parents nobody listed are made up, once", .delim = '/',
	  .names = { "A/B/c", "A/B/d", "P/x" },
	  .found = { "A=A", "A/B=A/B", "A/B/c=A/B/c", "A/B/d=A/B/d", "P/x=P/x" },
	  .madeup = { "A", "A/B", "P" }, .dirs = { ":A,P", "A:B", "A/B:c,d", "P:x" }, .nodes = 7 },
	{ .what = "a made-up parent listed later is the same node, now listed", .delim = '/',
	  .names = { "A/B/c", "A" }, .found = { "A=A", "A/B/c=A/B/c" }, .madeup = { "A/B" },
	  .dirs = { ":A", "A:B" }, .nodes = 4 },
	{ .what = "\\Noselect, listed first or listed again", .delim = '/',
	  .names = { "!A", "A/x", "B", "!B" }, .found = { "A=A", "A/x=A/x", "B=B" },
	  .noselect = { "A", "B" }, .dirs = { ":A,B", "A:x" }, .nodes = 4 },
	{ .what = "children in LIST order; one name under two parents is two nodes", .delim = '.',
	  .names = { "b", "a", "c", "a.x", "b.x" }, .found = { "a/x=a.x", "b/x=b.x" },
	  .madeup = { NULL }, .dirs = { ":b,a,c", "a:x", "b:x" }, .nodes = 6 },

	{ .what = "a leaf to another parent, renamed", .delim = '/',
	  .names = { "A", "A/x", "B" }, .from = "A/x", .to = "B", .fsname = "y", .mailbox = "B/y",
	  .found = { "A=A", "B=B", "B/y=B/y" }, .gone = { "A/x", "B/x" }, .raw_gone = { "A/x" },
	  .dirs = { ":A,B", "A:", "B:y" }, .nodes = 4 },
	{ .what = "a subtree: children and grandchildren follow, names of their own kept", .delim = '/',
	  .names = { "A", "A/B", "A/B/c", "A/B/c/d", "A/B/e", "Z" }, .from = "A/B", .to = "Z",
	  .fsname = "B2", .mailbox = "Z/B2",
	  .found = { "Z/B2=Z/B2", "Z/B2/c=Z/B2/c", "Z/B2/c/d=Z/B2/c/d", "Z/B2/e=Z/B2/e", "A=A" },
	  .gone = { "A/B", "A/B/c", "A/B/c/d", "Z/B" }, .raw_gone = { "A/B", "A/B/c", "A/B/c/d", "A/B/e" },
	  .dirs = { "A:", "Z:B2", "Z/B2:c,e", "Z/B2/c:d" }, .nodes = 7 },
	{ .what = "the same, and then the index grows", .delim = '/',
	  .names = { "A", "A/B", "A/B/c", "A/B/c/d", "Z" }, .from = "A/B", .to = "Z",
	  .fsname = "B2", .mailbox = "Z/B2", .pad_after = 200,
	  .found = { "Z/B2=Z/B2", "Z/B2/c=Z/B2/c", "Z/B2/c/d=Z/B2/c/d" },
	  .gone = { "A/B", "A/B/c" }, .raw_gone = { "A/B", "A/B/c", "A/B/c/d" },
	  .dirs = { "A:", "Z:B2", "Z/B2:c", "Z/B2/c:d" }, .nodes = 6 + 200 },
	{ .what = "the same in a crowded index that does not grow", .delim = '/',
	  .names = { "A", "A/B", "A/B/c", "A/B/c/d", "Z" }, .from = "A/B", .to = "Z",
	  .fsname = "B2", .mailbox = "Z/B2", .pad_before = 55,
	  .found = { "Z/B2=Z/B2", "Z/B2/c=Z/B2/c", "Z/B2/c/d=Z/B2/c/d", "early000=early000", "early054=early054" },
	  .gone = { "A/B", "A/B/c" }, .raw_gone = { "A/B", "A/B/c", "A/B/c/d" },
	  .dirs = { "A:", "Z:B2", "Z/B2:c", "Z/B2/c:d" }, .nodes = 61 },
	{ .what = "renamed in place: last in readdir order from then on", .delim = '/',
	  .names = { "A", "B", "B/k", "C" }, .from = "B", .to = "", .fsname = "B2", .mailbox = "B2",
	  .found = { "A=A", "B2=B2", "B2/k=B2/k", "C=C" }, .gone = { "B", "B/k" }, .raw_gone = { "B", "B/k" },
	  .dirs = { ":A,C,B2" }, .nodes = 5 },
	{ .what = "out of a made-up parent to the root", .delim = '/',
	  .names = { "A/B/c" }, .from = "A/B", .to = "", .fsname = "B", .mailbox = "B",
	  .found = { "A=A", "B=B", "B/c=B/c" }, .madeup = { "A", "B" }, .gone = { "A/B", "A/B/c" },
	  .raw_gone = { "A/B", "A/B/c" }, .dirs = { ":A,B", "A:", "B:c" }, .nodes = 4 },
	{ .what = "delimiter '.', into the root", .delim = '.',
	  .names = { "INBOX", "INBOX.a", "INBOX.a.b" }, .from = "INBOX/a", .to = "", .fsname = "a",
	  .mailbox = "a", .found = { "INBOX=INBOX", "a=a", "a/b=a.b" }, .gone = { "INBOX/a" },
	  .raw_gone = { "INBOX.a", "INBOX.a.b" }, .dirs = { ":INBOX,a", "INBOX:", "a:b" }, .nodes = 4 },
	{ .what = "names that only start like the moved one stay", .delim = '/',
	  .names = { "A", "A/x", "AB", "AB/y", "A.z" }, .from = "A", .to = "", .fsname = "N", .mailbox = "N",
	  .found = { "N=N", "N/x=N/x", "AB=AB", "AB/y=AB/y", "A.z=A.z" }, .gone = { "A", "A/x" },
	  .raw_gone = { "A", "A/x", "N/y", "NB", "NB/y" }, .dirs = { ":AB,A.z,N", "N:x", "AB:y" }, .nodes = 6 },

	/* the first, middle and last child leave their parent's list whole:
	 * a child listed afterwards goes at its end */
	{ .what = "the first child moves out", .delim = '/',
	  .names = { "P/a", "P/b", "P/c", "Q" }, .from = "P/a", .to = "Q", .fsname = "a", .mailbox = "Q/a",
	  .add = { "P/d" }, .found = { "Q/a=Q/a", "P/d=P/d" }, .madeup = { "P" }, .gone = { "P/a" },
	  .dirs = { "P:b,c,d", "Q:a" }, .nodes = 7 },
	{ .what = "a middle child moves out", .delim = '/',
	  .names = { "P/a", "P/b", "P/c", "Q" }, .from = "P/b", .to = "Q", .fsname = "b", .mailbox = "Q/b",
	  .add = { "P/d" }, .found = { "Q/b=Q/b", "P/d=P/d" }, .madeup = { "P" }, .gone = { "P/b" },
	  .dirs = { "P:a,c,d", "Q:b" }, .nodes = 7 },
	{ .what = "the last child moves out", .delim = '/',
	  .names = { "P/a", "P/b", "P/c", "Q" }, .from = "P/c", .to = "Q", .fsname = "c", .mailbox = "Q/c",
	  .add = { "P/d", "Q/e" }, .found = { "Q/c=Q/c", "P/d=P/d", "Q/e=Q/e" }, .madeup = { "P" },
	  .gone = { "P/c" }, .dirs = { "P:a,b,d", "Q:c,e" }, .nodes = 8 },
	{ .what = "the only child moves out, one comes back", .delim = '/',
	  .names = { "P/a", "Q" }, .from = "P/a", .to = "Q", .fsname = "a", .mailbox = "Q/a",
	  .add = { "P/b" }, .found = { "Q/a=Q/a", "P/b=P/b" }, .madeup = { "P" }, .dirs = { "P:b", "Q:a" },
	  .nodes = 5 },

	/* both names listed again after a move: the old one is a new node,
	 * the new one's children go under the moved node */
	{ .what = "listed again after the move", .delim = '/',
	  .names = { "A", "A/B", "A/B/c" }, .from = "A/B", .to = "", .fsname = "B", .mailbox = "B",
	  .add = { "A/B/c", "B/d" }, .found = { "A/B=A/B", "A/B/c=A/B/c", "B=B", "B/c=B/c", "B/d=B/d" },
	  .madeup = { "A/B" }, .dirs = { ":A,B", "A:B", "B:c,d" }, .nodes = 7 },
	/* rmdir X, then mv Y X: the hidden X keeps its name, the moved node
	 * is the one found */
	{ .what = "onto the name of a hidden mailbox", .delim = '/',
	  .names = { "X", "Y", "Y/c" }, .hide = "X", .from = "Y", .to = "", .fsname = "X", .mailbox = "X",
	  .found = { "X=X", "X/c=X/c" }, .gone = { "Y", "Y/c" }, .raw_gone = { "Y", "Y/c" },
	  .dirs = { ":X" }, .nodes = 4 },
	/* not refused here (rename_dir is): the index stays whole and the
	 * node that had the name keeps it, lowest index first */
	{ .what = "onto a visible name", .delim = '/',
	  .names = { "A", "A/a", "B", "B/b" }, .from = "B", .to = "", .fsname = "A", .mailbox = "A",
	  .found = { "A=A", "A/a=A/a" }, .gone = { "B", "A/b" }, .raw_gone = { "B", "B/b" },
	  .dirs = { ":A,A", "A:a" }, .nodes = 5 },
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The visible children of node IDX, in readdir order, joined by ','. */
static void children_of(const struct tree *t, long idx, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t c = tree_first_child(t, (uint32_t)idx); c != 0; c = tree_next_sibling(t, c))
		if (!t->nodes[c].hidden && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", t->nodes[c].fsname);
}

/* SPEC is "path" SEP "rest": the node at path (or -1), path into PATH for
 * messages, *REST pointing at SEP. */
static long spec_node(const struct tree *t, const char *spec, char sep, char *path, size_t len, const char **rest)
{
	*rest = strchr(spec, sep);
	snprintf(path, len, "%.*s", (int)(*rest - spec), spec);
	return path_node(t, path);
}

static void add_listed(struct tree *t, const struct tree_case *tc, const char *name)
{
	bool noselect = name[0] == '!';

	CHECK(tree_add_mailbox(t, name + noselect, tc->delim, noselect ? "\\Noselect" : "", noselect) == 0,
	      "%s: add %s", tc->what, check_q(name));
}

static void tree_case_run(const struct tree_case *tc)
{
	struct tree t;
	char buf[256];
	size_t k;

	CHECK(tree_init(&t) == 0, "%s: tree_init", tc->what);
	for (k = 0; k < tc->pad_before; k++) {
		snprintf(buf, sizeof(buf), "early%03zu", k);
		add_listed(&t, tc, buf);
	}
	for (k = 0; k < NELEM(tc->names) && tc->names[k] != NULL; k++)
		add_listed(&t, tc, tc->names[k]);
	if (tc->hide != NULL) {
		long h = path_node(&t, tc->hide);

		CHECK(h > 0, "%s: %s to hide not found", tc->what, tc->hide);
		if (h > 0)
			tree_hide(&t, (uint32_t)h);
	}
	if (tc->from != NULL) {
		long from = path_node(&t, tc->from), to = path_node(&t, tc->to);
		uint64_t gen = t.gen;

		CHECK(from > 0 && to >= 0, "%s: %s or %s not found", tc->what, tc->from, tc->to);
		if (from > 0 && to >= 0) {
			CHECK(tree_move(&t, (uint32_t)from, (uint32_t)to, strdup(tc->fsname), strdup(tc->mailbox)) == 0,
			      "%s: tree_move", tc->what);
			CHECK(t.gen != gen, "%s: the hierarchy's generation did not move", tc->what);
		}
	}
	for (k = 0; k < NELEM(tc->add) && tc->add[k] != NULL; k++)
		add_listed(&t, tc, tc->add[k]);
	for (k = 0; k < tc->pad_after; k++) {
		snprintf(buf, sizeof(buf), "late%03zu", k);
		add_listed(&t, tc, buf);
	}
	if (tc->pad_after > 0)
		CHECK(t.nbuckets > 64, "%s: the index did not grow (%zu buckets)", tc->what, t.nbuckets);
	else if (tc->pad_before > 0)
		CHECK(t.nbuckets == 64, "%s: the index grew (%zu buckets)", tc->what, t.nbuckets);

	for (k = 0; k < NELEM(tc->found) && tc->found[k] != NULL; k++) {
		const char *eq;
		char path[128];
		long idx = spec_node(&t, tc->found[k], '=', path, sizeof(path), &eq);

		CHECK(idx > 0, "%s: %s not found", tc->what, path);
		if (idx <= 0)
			continue;
		CHECK(strcmp(t.nodes[idx].mailbox, eq + 1) == 0, "%s: %s is %s, not %s", tc->what, path,
		      check_q(t.nodes[idx].mailbox), check_q(eq + 1));
		CHECK(tree_find_raw(&t, eq + 1) == idx, "%s: tree_find_raw(%s) is %ld, not %ld", tc->what, eq + 1,
		      tree_find_raw(&t, eq + 1), idx);
		if (in_list(tc->madeup, NELEM(tc->madeup), path))
			CHECK(!t.nodes[idx].listed && !t.nodes[idx].selectable, "%s: %s not made up", tc->what, path);
		else if (in_list(tc->noselect, NELEM(tc->noselect), path))
			CHECK(t.nodes[idx].listed && !t.nodes[idx].selectable &&
			      strcmp(t.nodes[idx].attrs, "\\Noselect") == 0, "%s: %s not \\Noselect", tc->what, path);
		else
			CHECK(t.nodes[idx].listed && t.nodes[idx].selectable, "%s: %s not listed and selectable",
			      tc->what, path);
	}
	for (k = 0; k < NELEM(tc->gone) && tc->gone[k] != NULL; k++)
		CHECK(path_node(&t, tc->gone[k]) < 0, "%s: %s found", tc->what, tc->gone[k]);
	for (k = 0; k < NELEM(tc->raw_gone) && tc->raw_gone[k] != NULL; k++)
		CHECK(tree_find_raw(&t, tc->raw_gone[k]) < 0, "%s: server name %s found", tc->what, tc->raw_gone[k]);
	for (k = 0; k < NELEM(tc->dirs) && tc->dirs[k] != NULL; k++) {
		const char *colon;
		char path[128];
		long idx = spec_node(&t, tc->dirs[k], ':', path, sizeof(path), &colon);

		CHECK(idx >= 0, "%s: directory %s not found", tc->what, path);
		if (idx < 0)
			continue;
		children_of(&t, idx, buf, sizeof(buf));
		CHECK(strcmp(buf, colon + 1) == 0, "%s: %s/ lists %s, not %s", tc->what, path, check_q(buf),
		      check_q(colon + 1));
	}
	CHECK(t.n == tc->nodes, "%s: %zu nodes, not %zu", tc->what, t.n, tc->nodes);
	check_consistent(&t, tc->what);
	tree_destroy(&t);
}

static void add_and_move(void)
{
	for (size_t i = 0; i < NELEM(tree_cases); i++)
		tree_case_run(&tree_cases[i]);
}

/* Every mailbox of a crowded index renamed in turn (mv mNN nNN), the
 * index not growing: the moved nodes share hash buckets with others, and
 * each move must leave both chains whole, so every other name is still
 * found and the old one is not. */
static void move_crowded(void)
{
	struct tree t;
	char old[16], new[16];
	long idx[60];
	size_t i, k, bad = 0;

	CHECK(tree_init(&t) == 0, "tree_init");
	for (i = 0; i < 60; i++) {
		snprintf(old, sizeof(old), "m%02zu", i);
		tree_add_mailbox(&t, old, '/', "", false);
		idx[i] = tree_child(&t, 0, old);
	}
	for (i = 0; i < 60; i++) {
		snprintf(new, sizeof(new), "n%02zu", i);
		CHECK(tree_move(&t, (uint32_t)idx[i], 0, strdup(new), strdup(new)) == 0, "tree_move %s", new);
		for (k = 0; k < 60; k++) {
			snprintf(old, sizeof(old), "m%02zu", k);
			snprintf(new, sizeof(new), "n%02zu", k);
			if (k <= i && (tree_child(&t, 0, new) != idx[k] || tree_find_raw(&t, new) != idx[k] ||
				       tree_child(&t, 0, old) != -1 || tree_find_raw(&t, old) != -1))
				bad++;
			if (k > i && (tree_child(&t, 0, old) != idx[k] || tree_find_raw(&t, old) != idx[k]))
				bad++;
		}
	}
	CHECK(bad == 0, "%zu lookups wrong after renames in a crowded index", bad);
	CHECK(t.nbuckets == 64, "the index grew (%zu buckets)", t.nbuckets);
	check_consistent(&t, "crowded renames");
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
	add_and_move();
	move_crowded();
	many();
	changed_time();
	return check_finish("test_tree");
}
