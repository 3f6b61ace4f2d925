/*
 * test_maildir — flags from Maildir file names: the letters of the spec
 * and mbsync, T never \Deleted, anything that is not an info suffix gives
 * no flags at all.
 */
#include <stdbool.h>
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

int main(void)
{
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
