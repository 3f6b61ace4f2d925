/*
 * test_gmail — Gmail's labels and links without a server: the
 * user.imap.labels grammar (table-driven, and what is shown parses back),
 * the wire gate for labels, the msgid table (one inode per msgid, found
 * again when its folder loses it) and link counts from labels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gmail.h"
#include "tree.h"
#include "wire.h"

static const struct {
	const char *in;
	int rc;
	int replace;
	const char *add, *del;	/* '\n'-joined raw (modified UTF-7) */
} cases[] = {
	{ "", 0, 1, NULL, NULL },
	{ "\n", 0, 1, NULL, NULL },
	{ "Work", 0, 1, "Work", NULL },
	{ "\\Inbox Work \"To do\"", 0, 1, "\\Inbox\nWork\nTo do", NULL },
	{ "+Work", 0, 0, "Work", NULL },
	{ "-\\Inbox", 0, 0, NULL, "\\Inbox" },
	{ "+\"a \\\"b\\\" \\\\c\" -Old", 0, 0, "a \"b\" \\c", "Old" },
	{ "+Caf\xc3\xa9", 0, 0, "Caf&AOk-", NULL },
	{ "+A&B", 0, 0, "A&-B", NULL },
	{ "Work +Old", -EINVAL, 0, NULL, NULL },
	{ "+", -EINVAL, 0, NULL, NULL },
	{ "\"\"", -EINVAL, 0, NULL, NULL },
	{ "\"unterminated", -EINVAL, 0, NULL, NULL },
	{ "+\"a\rb\"", -EINVAL, 0, NULL, NULL },
	{ "+bad\xff", -EILSEQ, 0, NULL, NULL },
	{ "+\"a\tb\"", 0, 0, "a&AAk-b", NULL },	/* a tab inside quotes is the label's */
	/* quoted: a user label, even starting with '\' (encoded as one) */
	{ "+\"\\\\Caf\xc3\xa9\"", 0, 0, "\\Caf&AOk-", NULL },
	{ "+\\Caf\xc3\xa9", 0, 0, "\\Caf\xc3\xa9", NULL },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool replace = false;
		char *add = NULL, *del = NULL;
		int rc = gmail_labels_parse(cases[i].in, strlen(cases[i].in), &replace, &add, &del);

		CHECK(rc == cases[i].rc, "case %zu %s: rc %d", i, check_q(cases[i].in), rc);
		if (rc == 0)
			CHECK(replace == (cases[i].replace != 0) && check_streq(add, cases[i].add) &&
			      check_streq(del, cases[i].del), "case %zu %s: replace %d add %s del %s", i,
			      check_q(cases[i].in), replace, check_q(add),
			      check_q(del));
		free(add);
		free(del);
	}
	/* a NUL inside the value is not a label ending early */
	{
		bool r;
		char *a = NULL, *d = NULL;

		CHECK(gmail_labels_parse("+a\0b", 4, &r, &a, &d) == -EINVAL, "embedded NUL refused");
	}
}

static void test_format(void)
{
	static const struct {
		const char *raw, *shown;
	} fmt[] = {
		{ NULL, "" },
		{ "", "" },
		{ "\\Inbox\nWork", "\\Inbox Work" },
		{ "To do\n\\Important", "\"To do\" \\Important" },
		{ "Caf&AOk-", "Caf\xc3\xa9" },
		{ "+plus\na\"q\\b", "\"+plus\" \"a\\\"q\\\\b\"" },
		{ "bad&-utf7-&", "bad&-utf7-&" },	/* not valid modified UTF-7: as sent */
		/* blanks at either end survive the round trip */
		{ " lead\ntrail ", "\" lead\" \"trail \"" },
		/* a user label starting with '\' is quoted, so it is not
		 * written back as a system label; system labels are not */
		{ "\\Foo\n\\Starred", "\"\\\\Foo\" \\Starred" },
	};

	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		char *out = NULL, *add = NULL, *del = NULL;
		size_t len = 0;
		bool replace;

		CHECK(gmail_labels_format(fmt[i].raw, &out, &len) == 0 && strcmp(out, fmt[i].shown) == 0 &&
		      len == strlen(out), "format %zu: %s", i, check_q(out));
		/* what is shown is what setfattr takes back */
		if (fmt[i].raw != NULL && i != 6)
			CHECK(gmail_labels_parse(out, len, &replace, &add, &del) == 0 && replace &&
			      check_streq(add, fmt[i].raw[0] ? fmt[i].raw : NULL) && del == NULL,
			      "format %zu parses back: %s", i, check_q(add));
		free(out);
		free(add);
		free(del);
	}
}

static void test_remove(void)
{
	static const struct {
		const char *in, *label, *out;
	} rm[] = {
		{ "a\nX\nb", "X", "a\nb" },
		{ "X\nb", "X", "b" },
		{ "a\nX", "X", "a" },
		{ "X", "X", "" },
		{ "XY\nX", "X", "XY" },
		{ "\\Inbox\nWork", "\\INBOX", "Work" },
		{ "work\nWork", "Work", "work" },	/* user labels: exact */
		{ "", "X", "" },
	};

	for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", rm[i].in);
		gmail_labels_remove(buf, rm[i].label);
		CHECK(strcmp(buf, rm[i].out) == 0, "remove %zu: %s", i, check_q(buf));
	}
}

static void test_wire(void)
{
	CHECK(wire_label_list("\\Inbox\nWork\nTo do") == 0, "labels pass");
	CHECK(wire_label_list("") == 0, "no labels pass");
	CHECK(wire_label_list("a\rb") < 0, "CR refused");
	CHECK(wire_label_list("caf\xc3\xa9") < 0, "8-bit refused (modified UTF-7 only)");
	CHECK(wire_label_list("a\x01") < 0, "control byte refused");
	CHECK(wire_label_list(NULL) < 0, "NULL refused");
}

/* A tree like a Gmail account's LIST, with messages in folders. */
static void add_msg(struct tree *t, long node, uint32_t uid, uint64_t msgid, const char *labels)
{
	struct tree_msg *m = calloc(1, sizeof(*m));

	m->uid = uid;
	m->gm_msgid = msgid;
	m->gm_labels = labels ? strdup(labels) : NULL;
	tree_set_msgs(t, (uint32_t)node, m, 1, 7);
	t->nodes[node].state = TREE_READY;
}

static long node_of(struct tree *t, const char *mailbox)
{
	return tree_find_raw(t, mailbox);
}

static void test_links(void)
{
	struct tree t;
	struct gmail g = { .on = true };
	long inbox, work, all, trash, travel;
	uint64_t ino, ino2;
	uint32_t node = 0, uid = 0;

	CHECK(tree_init(&t) == 0, "tree");
	t.quiet = true;
	tree_add_mailbox(&t, "INBOX", '/', "\\HasNoChildren", false);
	tree_add_mailbox(&t, "[Gmail]", '/', "\\Noselect \\HasChildren", true);
	tree_add_mailbox(&t, "[Gmail]/Alle Nachrichten", '/', "\\HasNoChildren \\All", false);
	tree_add_mailbox(&t, "[Gmail]/Papierkorb", '/', "\\HasNoChildren \\Trash", false);
	tree_add_mailbox(&t, "Work", '/', "\\HasNoChildren", false);
	tree_add_mailbox(&t, "Travel", '/', "\\HasNoChildren", false);
	inbox = node_of(&t, "INBOX");
	work = node_of(&t, "Work");
	travel = node_of(&t, "Travel");
	all = node_of(&t, "[Gmail]/Alle Nachrichten");
	trash = node_of(&t, "[Gmail]/Papierkorb");
	CHECK(gmail_special(&g, &t, GMAIL_ALL) == all && gmail_special(&g, &t, GMAIL_TRASH) == trash &&
	      gmail_special(&g, &t, GMAIL_INBOX) == inbox, "special folders by attribute, not name");

	add_msg(&t, inbox, 5, 42, "\\Inbox\nWork\nNoFolder");
	add_msg(&t, work, 9, 42, "\\Inbox\nWork\nNoFolder");
	add_msg(&t, all, 3, 42, "\\Inbox\nWork\nNoFolder");
	add_msg(&t, trash, 2, 43, "\\Trash\nTravel");
	CHECK(gmail_nlink(&g, &t, (uint32_t)inbox, &t.nodes[inbox].msgs[0]) == 3, "INBOX + Work + All");
	CHECK(gmail_nlink(&g, &t, (uint32_t)all, &t.nodes[all].msgs[0]) == 3, "same from All Mail");
	/* RENAME Work Job (and Work/Sub, not Workshop) */
	{
		char *keep = t.nodes[all].msgs[0].gm_labels;

		t.nodes[all].msgs[0].gm_labels = strdup("Work\nWork/Sub\nWorkshop\n\\Inbox");
		gmail_label_renamed(&t, "Work", "Job", '/');
		CHECK(strcmp(t.nodes[all].msgs[0].gm_labels, "Job\nJob/Sub\nWorkshop\n\\Inbox") == 0,
		      "labels renamed: %s", check_q(t.nodes[all].msgs[0].gm_labels));
		free(t.nodes[all].msgs[0].gm_labels);
		t.nodes[all].msgs[0].gm_labels = keep;
	}
	CHECK(gmail_nlink(&g, &t, (uint32_t)trash, &t.nodes[trash].msgs[0]) == 1,
	      "in Trash: shown there only (not in All Mail nor in Travel)");

	ino = gmail_ino(&g, &t, 42, (uint32_t)work, 9);
	CHECK(gmail_ino_is(ino) && gmail_ino(&g, &t, 42, (uint32_t)inbox, 5) == ino &&
	      gmail_ino(&g, &t, 42, (uint32_t)all, 3) == ino, "one inode for msgid 42");
	ino2 = gmail_ino(&g, &t, 43, (uint32_t)trash, 2);
	CHECK(ino2 != ino && gmail_msgid(&g, ino2) == 43, "another msgid, another inode");
	CHECK(gmail_locate(&g, &t, ino, &node, &uid) == 0 && node == (uint32_t)all && uid == 3,
	      "found where last seen");
	/* All Mail loses it: found again elsewhere */
	tree_set_msgs(&t, (uint32_t)all, NULL, 0, 7);
	CHECK(gmail_locate(&g, &t, ino, &node, &uid) == 0 && node != (uint32_t)all &&
	      (node == (uint32_t)inbox || node == (uint32_t)work), "found in another folder");
	/* gone everywhere loaded, last seen in an unloaded folder: load it */
	t.nodes[inbox].state = TREE_UNLOADED;
	t.nodes[work].state = TREE_UNLOADED;
	CHECK(gmail_locate(&g, &t, ino, &node, &uid) == -EAGAIN, "ask to load its folder");
	CHECK(gmail_locate(&g, &t, GMAIL_INO_BIT | 999, &node, &uid) == -ENOENT, "unknown inode");
	CHECK(!gmail_ino_is(((uint64_t)travel + 1) << 32 | 5) && !gmail_ino_is(1ULL << 62 | 1),
	      "plain and pending inodes are not Gmail's");
	/* the table is bounded: past it, a new msgid gets no inode (plain
	 * file), known ones keep theirs */
	g.max = g.n;
	CHECK(gmail_ino(&g, &t, 44, (uint32_t)travel, 7) == 0 && g.full, "past the bound: plain");
	CHECK(gmail_ino(&g, &t, 42, (uint32_t)inbox, 5) == ino, "a known msgid keeps its inode");
	gmail_free(&g);
	/* it left each of its last places but one, oldest first: found
	 * there without a search */
	{
		struct gmail h = { .on = true };
		uint64_t i3;

		t.nodes[inbox].state = TREE_READY;
		t.nodes[work].state = TREE_READY;
		add_msg(&t, all, 3, 42, "\\Inbox\nWork");
		i3 = gmail_ino(&h, &t, 42, (uint32_t)work, 9);
		gmail_ino(&h, &t, 42, (uint32_t)inbox, 5);
		gmail_ino(&h, &t, 42, (uint32_t)all, 3);
		tree_set_msgs(&t, (uint32_t)all, NULL, 0, 7);
		tree_set_msgs(&t, (uint32_t)inbox, NULL, 0, 7);
		CHECK(gmail_locate(&h, &t, i3, &node, &uid) == 0 && node == (uint32_t)work && uid == 9,
		      "found in an older place: %u %u", node, uid);
		/* gone from every loaded folder: not found, and found again as
		 * soon as a folder lists it (the skipped search is redone once
		 * anything changed) */
		tree_set_msgs(&t, (uint32_t)work, NULL, 0, 7);
		t.nodes[inbox].state = TREE_READY;
		CHECK(gmail_locate(&h, &t, i3, &node, &uid) == -ENOENT, "gone everywhere");
		CHECK(gmail_locate(&h, &t, i3, &node, &uid) == -ENOENT, "still gone, nothing changed");
		add_msg(&t, travel, 11, 42, "Travel");
		CHECK(gmail_locate(&h, &t, i3, &node, &uid) == 0 && node == (uint32_t)travel && uid == 11,
		      "found once a folder lists it: %u %u", node, uid);
		gmail_free(&h);
	}
	gmail_free(&g);
	tree_destroy(&t);
}

int main(void)
{
	test_parse();
	test_format();
	test_wire();
	test_remove();
	test_links();
	return check_finish("test_gmail");
}
