/*
 * test_maildir — flags from Maildir file names: the letters of the spec
 * and mbsync, T never \Deleted, anything that is not an info suffix gives
 * no flags at all. And the Maildir view's own names (maildir.h): what
 * maildir_name writes is read back, nothing else is (leading zeros,
 * overflow, another spelling, a second colon), and a rename's info
 * parts give the flags it changes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "maildir.h"
#include "mailmeta.h"

static const struct {
	const char *name;
	bool is_info;
	uint8_t sys;
	bool forwarded, trashed;
} cases[] = {
	{ "1700000000.1.host:2,FS", true, SESSION_F_FLAGGED | SESSION_F_SEEN, false, false },
	{ "1700000000.M1P2.host,S=1234,W=1260:2,RS", true, SESSION_F_ANSWERED | SESSION_F_SEEN, false, false },
	{ "x:2,DP", true, SESSION_F_DRAFT, true, false },
	{ "x:2,T", true, 0, false, true },
	{ "x:2,ST", true, SESSION_F_SEEN, false, true },
	{ "x:2,", true, 0, false, false },
	{ "x:2,Sab", true, SESSION_F_SEEN, false, false },	/* Dovecot keyword slots */
	{ "x:2,S.eml", false, 0, false, false },		/* not letters only */
	{ "x:2,S ", false, 0, false, false },
	{ "x:1,S", false, 0, false, false },
	{ ":2,S", false, 0, false, false },
	{ "13.eml", false, 0, false, false },
	{ "a:b:2,F", true, SESSION_F_FLAGGED, false, false },	/* the last colon counts */
	{ "x:2,F:3", false, 0, false, false },
	{ "", false, 0, false, false },
};

static const char *const not_ours[] = {
	"",
	"13.eml",
	"1_0000000002_0000000a.imapfs,U=2:",		/* a colon, and no ":2," */
	"01_0000000002_0000000a.imapfs,U=2:2,S",	/* UIDVALIDITY with a leading zero */
	"1_2_0000000a.imapfs,U=2:2,S",			/* UID not ten digits */
	"1_00000000002_0000000a.imapfs,U=2:2,S",	/* eleven */
	"0_0000000002_0000000a.imapfs,U=2:2,S",		/* UIDVALIDITY 0 */
	"1_0000000000_0000000a.imapfs,U=0:2,S",		/* UID 0 */
	"1_4294967296_0000000a.imapfs,U=4294967296:2,",	/* 2^32 */
	"4294967296_0000000002_0000000a.imapfs,U=2:2,",
	"1_0000000002_0000000A.imapfs,U=2:2,",		/* upper-case hex */
	"1_0000000002_000000a.imapfs,U=2:2,",		/* seven hex digits */
	"1_0000000002_0000000a.imapfs,U=3:2,",		/* U= another UID */
	"1_0000000002_0000000a.imapfs,U=02:2,",		/* U= with a leading zero */
	"1_0000000002_0000000a.imapfs,U=2:2,S:2,S",	/* a second colon */
	"1_0000000002_0000000a.imapfs,U=2:2,S.eml",
	"1_0000000002_0000000a.imapfs,U=2:1,S",
	"1_0000000002_0000000a.imapfs,U=2x:2,S",
	"1_0000000002_0000000a.mbsync,U=2:2,S",
	"1.0000000002.0000000a.imapfs,U=2:2,S",
};

static void view_names(void)
{
	static const uint8_t sets[] = {
		0, SESSION_F_SEEN, SESSION_F_FLAGGED | SESSION_F_SEEN, SESSION_F_DRAFT | SESSION_F_DELETED,
		SESSION_F_SEEN | SESSION_F_ANSWERED | SESSION_F_FLAGGED | SESSION_F_DRAFT | SESSION_F_DELETED,
	};
	static const uint32_t nums[][3] = {
		{ 1, 1, 0 }, { 1700000000, 42, 0xdeadbeef }, { UINT32_MAX, UINT32_MAX, UINT32_MAX },
	};
	char name[MAILDIR_NAME_MAX];
	uint32_t uv, uid, box;

	maildir_name(1700000000, 42, 0x1a2b3c, SESSION_F_SEEN | SESSION_F_FLAGGED | SESSION_F_ANSWERED, true, name);
	CHECK(strcmp(name, "1700000000_0000000042_001a2b3c.imapfs,U=42:2,FPRS") == 0, "%s", name);
	maildir_name(7, 9, 0, SESSION_F_DRAFT | SESSION_F_DELETED | SESSION_F_SEEN, false, name);
	CHECK(strcmp(name, "7_0000000009_00000000.imapfs,U=9:2,DST") == 0, "%s", name);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		for (size_t j = 0; j < sizeof(sets); j++) {
			for (int fwd = 0; fwd < 2; fwd++) {
				struct maildir_info mi;

				maildir_name(nums[i][0], nums[i][1], nums[i][2], sets[j], fwd, name);
				CHECK(strlen(name) < MAILDIR_NAME_MAX, "%s", name);
				CHECK(maildir_name_parse(name, &uv, &uid, &box) && uv == nums[i][0] &&
				      uid == nums[i][1] && box == nums[i][2], "%s", name);
				CHECK(maildir_info_parse(name, &mi) && mi.forwarded == fwd &&
				      (mi.sysflags | (mi.trashed ? SESSION_F_DELETED : 0)) == sets[j], "%s", name);
				/* with no info part, the unique part alone */
				*strchr(name, ':') = '\0';
				CHECK(maildir_name_parse(name, &uv, &uid, &box) && uid == nums[i][1], "%s", name);
			}
		}
	}
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		CHECK(!maildir_name_parse(not_ours[i], &uv, &uid, &box), "%s", not_ours[i]);
}

static void diffs(void)
{
	uint8_t add, del;
	int fwd;

	maildir_info_diff("x:2,S", 0, false, "x:2,FS", &add, &del, &fwd);
	CHECK(add == SESSION_F_FLAGGED && del == 0 && fwd == 0, "add F");
	maildir_info_diff("x:2,FS", 0, false, "x:2,ST", &add, &del, &fwd);
	CHECK(add == SESSION_F_DELETED && del == SESSION_F_FLAGGED && fwd == 0, "F -> T");
	maildir_info_diff("x:2,P", 0, false, "x:2,", &add, &del, &fwd);
	CHECK(add == 0 && del == 0 && fwd == -1, "drop P");
	maildir_info_diff("x:2,", 0, false, "y:2,P", &add, &del, &fwd);
	CHECK(add == 0 && del == 0 && fwd == 1, "add P");
	/* no info part on the new name: nothing changes (mutt: new/X -> cur/X) */
	maildir_info_diff("x:2,S", 0, false, "x", &add, &del, &fwd);
	CHECK(add == 0 && del == 0 && fwd == 0, "no info");
	/* none on the old one: against the message's own flags */
	maildir_info_diff("x", SESSION_F_SEEN | SESSION_F_ANSWERED, true, "x:2,RF", &add, &del, &fwd);
	CHECK(add == SESSION_F_FLAGGED && del == SESSION_F_SEEN && fwd == -1, "old without info");
	/* lower-case letters (Dovecot's keyword slots) change nothing */
	maildir_info_diff("x:2,S", 0, false, "x:2,Sab", &add, &del, &fwd);
	CHECK(add == 0 && del == 0 && fwd == 0, "keyword slots");
	CHECK(maildir_subdir("cur") == 0 && maildir_subdir("new") == 1 && maildir_subdir("tmp") == 2, "subdirs");
	CHECK(maildir_subdir("Cur") < 0 && maildir_subdir("curr") < 0 && maildir_subdir("") < 0, "not subdirs");
}

int main(void)
{
	view_names();
	diffs();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct maildir_info mi;
		bool got = maildir_info_parse(cases[i].name, &mi);

		CHECK(got == cases[i].is_info, "%s", cases[i].name);
		CHECK(mi.sysflags == cases[i].sys, "%s: %#x", cases[i].name, mi.sysflags);
		CHECK(mi.forwarded == cases[i].forwarded, "%s", cases[i].name);
		CHECK(mi.trashed == cases[i].trashed, "%s", cases[i].name);
		CHECK((mi.sysflags & SESSION_F_DELETED) == 0, "%s", cases[i].name);
	}
	return check_finish("test_maildir");
}
