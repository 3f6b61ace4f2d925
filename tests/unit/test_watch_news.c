/*
 * test_watch_news — the watcher's judgement of what an IDLE reported
 * (vfs_watch_news.c): news of our own changes, which the tree shows
 * already, must cost nothing, and anything else, above all another
 * client's change reported in the same breath as ours, must be fetched.
 * A tree of INBOX (idled on, UIDs 1-5 at MODSEQ 10) and Archive (2
 * messages at MODSEQ 20); a table of cases, each a change made to the
 * tree as our own operation would make it, the news the server sends,
 * and the verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vfs_internal.h"
#include "vfs_watch_news.h"

enum { INBOX = 1, ARCHIVE = 2 };

static struct tree_msg mk(uint32_t uid, uint64_t modseq, uint8_t sys)
{
	struct tree_msg m = { .uid = uid, .size = 100, .modseq = modseq, .sysflags = sys, .claimed = 100 };

	return m;
}

static void setup(struct vfs *v)
{
	struct tree_msg *in = calloc(5, sizeof(*in)), *ar = calloc(2, sizeof(*ar));
	uint32_t i;

	memset(v, 0, sizeof(*v));
	tree_init(&v->tree);
	v->tree.quiet = true;
	tree_add_mailbox(&v->tree, "INBOX", '/', "", false);
	tree_add_mailbox(&v->tree, "Archive", '/', "\\Archive", false);
	for (i = 0; i < 5; i++)
		in[i] = mk(i + 1, 10, 0);
	ar[0] = mk(1, 20, 0);
	ar[1] = mk(2, 20, 0);
	tree_set_msgs(&v->tree, INBOX, in, 5, 7);
	tree_set_msgs(&v->tree, ARCHIVE, ar, 2, 8);
	v->tree.nodes[INBOX].state = v->tree.nodes[ARCHIVE].state = TREE_READY;
	v->tree.nodes[INBOX].highestmodseq = 10;
	v->tree.nodes[ARCHIVE].highestmodseq = 20;
	v->tree.nodes[INBOX].idled = true;
}

/* News items, written short. */
#define vanished(a, b) { .kind = SESSION_NEWS_VANISHED, .uid = (a), .last = (b) }
#define fetch(seq, u, m, fl, sys) { .kind = SESSION_NEWS_FETCH, .n = (seq), .uid = (u), .modseq = (m), \
				    .have_flags = (fl), .sysflags = (sys) }
#define exists(c) { .kind = SESSION_NEWS_EXISTS, .n = (c) }
#define modseq(m) { .kind = SESSION_NEWS_MODSEQ, .modseq = (m) }
#define status(mb, c, h) { .kind = SESSION_NEWS_STATUS, .mailbox = (char *)(mb), \
			   .st = { .messages = (c), .highestmodseq = (h) }, \
			   .st_have = SESSION_ST_MESSAGES | SESSION_ST_HIGHESTMODSEQ }

/* Our own operations, as they leave the tree. */
enum own { NONE, RM2, FLAG4, MV_IN6, MV_ARCHIVE, LISTED6 };

static void own(struct vfs *v, enum own op)
{
	struct tree_node *in = &v->tree.nodes[INBOX], *ar = &v->tree.nodes[ARCHIVE];
	struct tree_msg m;

	switch (op) {
	case NONE:
		break;
	case RM2:		/* rm INBOX/2.eml: UID EXPUNGE, then dropped */
		tree_msg_remove(in, 2);
		break;
	case FLAG4:		/* setfattr: UID STORE, the refetch says MODSEQ 11 */
		m = mk(4, 11, SESSION_F_FLAGGED);
		tree_msg_insert(in, &m);
		break;
	case MV_IN6:		/* mv Archive/x INBOX/: UID 6 made there at MODSEQ 11 */
		m = mk(6, 11, SESSION_F_SEEN);
		tree_msg_insert(in, &m);
		in->own_new++;
		break;
	case MV_ARCHIVE:	/* mv INBOX/x Archive/: UID 3 made there at MODSEQ 21 */
		m = mk(3, 21, 0);
		tree_msg_insert(ar, &m);
		ar->own_new++;
		break;
	case LISTED6:		/* a listing fetched UID 6, which then vanished unseen */
		m = mk(6, 11, 0);
		tree_msg_insert(in, &m);
		break;
	}
}

struct want {
	bool idled, others, relist;
	uint32_t resync;	/* 0, or the one mailbox to resync */
	uint64_t inbox_modseq, archive_modseq;	/* the tree's after */
};

struct tcase {
	const char *name;
	enum own op;
	bool notify, invalid;
	struct session_news_item items[6];
	size_t n;
	struct want want;
};

static const struct tcase cases[] = {
	{ "own rm", RM2, true, false, { vanished(2, 2), modseq(12) }, 2, { .inbox_modseq = 12, .archive_modseq = 20 } },
	{ "own rm, the STORE's news first", RM2, true, false,
	  { fetch(2, 2, 11, true, SESSION_F_DELETED), vanished(2, 2), modseq(12) }, 3,
	  { .inbox_modseq = 12, .archive_modseq = 20 } },
	{ "own rm, its news not yet in", RM2, true, false, { fetch(4, 5, 10, true, 0), modseq(10) }, 2,
	  { .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "another client's expunge", NONE, true, false, { vanished(3, 3), modseq(11) }, 2,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own rm and another client's expunge at once", RM2, true, false, { vanished(2, 3), modseq(13) }, 2,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own rm, news of it before the tree dropped it", NONE, true, false, { vanished(2, 2), modseq(12) }, 2,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own flag", FLAG4, true, false, { fetch(4, 4, 11, true, SESSION_F_FLAGGED), modseq(11) }, 2,
	  { .inbox_modseq = 11, .archive_modseq = 20 } },
	{ "own flag, then another client's on the same message", FLAG4, true, false,
	  { fetch(4, 4, 12, true, SESSION_F_FLAGGED | SESSION_F_SEEN), modseq(12) }, 2,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own flag and another client's on another message", FLAG4, true, false,
	  { fetch(4, 4, 11, true, SESSION_F_FLAGGED), fetch(1, 1, 12, true, SESSION_F_SEEN), modseq(12) }, 3,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "flag news before our refetch", NONE, true, false, { fetch(4, 4, 11, true, SESSION_F_FLAGGED) }, 1,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own mv in, news with flags", MV_IN6, true, false,
	  { exists(6), fetch(6, 6, 11, true, SESSION_F_SEEN), modseq(11) }, 3,
	  { .inbox_modseq = 11, .archive_modseq = 20 } },
	{ "own mv in, then flagged by another client", MV_IN6, true, false,
	  { exists(6), fetch(6, 6, 12, true, SESSION_F_SEEN | SESSION_F_FLAGGED), modseq(12) }, 3,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own mv in, news by UID alone", MV_IN6, true, false, { exists(6), fetch(6, 6, 0, false, 0), modseq(11) }, 3,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own mv in and another client's append", MV_IN6, true, false,
	  { exists(7), fetch(6, 6, 11, true, SESSION_F_SEEN), modseq(12) }, 3,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own mv in without NOTIFY", MV_IN6, false, false, { exists(6), modseq(11) }, 2,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "a message that came and went unseen", LISTED6, true, false, { modseq(12) }, 1,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "an expunge by number", NONE, true, false,
	  { { .kind = SESSION_NEWS_EXPUNGE, .n = 2 } }, 1, { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "something not understood", NONE, true, false, { { .kind = SESSION_NEWS_OTHER } }, 1,
	  { .idled = true, .others = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "the session's view not current", NONE, true, true, { modseq(10) }, 1,
	  { .idled = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "own mv to Archive", MV_ARCHIVE, true, false, { status("Archive", 3, 21) }, 1,
	  { .inbox_modseq = 10, .archive_modseq = 21 } },
	{ "own mv to Archive and another client's change there", MV_ARCHIVE, true, false,
	  { status("Archive", 3, 22) }, 1, { .resync = ARCHIVE, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "another client's change in Archive", NONE, true, false, { status("Archive", 2, 21) }, 1,
	  { .resync = ARCHIVE, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "Archive as it was", NONE, true, false, { status("Archive", 2, 20) }, 1,
	  { .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "a STATUS libetpan did not keep", NONE, true, false, { status(NULL, 0, 0) }, 1,
	  { .others = true, .inbox_modseq = 10, .archive_modseq = 20 } },
	{ "a mailbox we do not know", NONE, true, false, { status("Lists", 1, 3) }, 1,
	  { .relist = true, .inbox_modseq = 10, .archive_modseq = 20 } },
};

static void run(const struct tcase *c)
{
	struct vfs v;
	struct watch_view view = { .valid = !c->invalid, .exists = 5, .uidnext = 6, .uidvalidity = 7 };
	struct session_news news = { .v = (struct session_news_item *)c->items, .n = c->n };
	struct watch_verdict vd;
	int rc;

	setup(&v);
	own(&v, c->op);
	rc = watch_news_judge(&v, INBOX, &view, &news, c->notify, &vd);
	CHECK(rc == 0, "%s: rc %d", c->name, rc);
	CHECK(vd.idled == c->want.idled, "%s: resync INBOX %d, want %d", c->name, vd.idled, c->want.idled);
	CHECK(vd.others == c->want.others, "%s: others %d, want %d", c->name, vd.others, c->want.others);
	CHECK(vd.relist == c->want.relist, "%s: relist %d, want %d", c->name, vd.relist, c->want.relist);
	CHECK(vd.ncheck == (c->want.resync ? 1u : 0u) && (vd.ncheck == 0 || vd.check[0].idx == c->want.resync),
	      "%s: %zu others to resync", c->name, vd.ncheck);
	CHECK(v.tree.nodes[INBOX].highestmodseq == c->want.inbox_modseq, "%s: INBOX at %llu, want %llu", c->name,
	      (unsigned long long)v.tree.nodes[INBOX].highestmodseq, (unsigned long long)c->want.inbox_modseq);
	CHECK(v.tree.nodes[ARCHIVE].highestmodseq == c->want.archive_modseq, "%s: Archive at %llu, want %llu",
	      c->name, (unsigned long long)v.tree.nodes[ARCHIVE].highestmodseq,
	      (unsigned long long)c->want.archive_modseq);
	watch_verdict_free(&vd);
	tree_destroy(&v.tree);
}

/* The same check for a SELECT or STATUS (watch_node_current). */
static void current_cases(void)
{
	struct vfs v;

	setup(&v);
	CHECK(watch_node_current(&v, ARCHIVE, 8, 2, 20), "current: unchanged");
	CHECK(!watch_node_current(&v, ARCHIVE, 8, 2, 0), "current: without HIGHESTMODSEQ never");
	CHECK(!watch_node_current(&v, ARCHIVE, 9, 2, 20), "current: another UIDVALIDITY");
	CHECK(!watch_node_current(&v, ARCHIVE, 8, 3, 20), "current: another count");
	own(&v, MV_ARCHIVE);
	CHECK(!watch_node_current(&v, ARCHIVE, 8, 3, 22), "current: one step too many");
	CHECK(watch_node_current(&v, ARCHIVE, 8, 3, 21), "current: our own mv");
	CHECK(v.tree.nodes[ARCHIVE].highestmodseq == 21 && v.tree.nodes[ARCHIVE].own_new == 0,
	      "current: taken as the tree's");
	tree_destroy(&v.tree);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
	current_cases();
	return check_finish("test_watch_news");
}
