/*
 * test_names — the mailbox-component <-> file-name escape of names.h: each
 * escape case, invalid modified UTF-7 shown raw, names_from_fs errors, and
 * the round trip names_from_fs(names_to_fs(x)) == x over hostile names,
 * which is what keeps a rename or rmdir from acting on the wrong mailbox.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "names.h"

/* Server component -> file name, and back (the round trip is implied). */
static const struct {
	const char *server;
	const char *fs;
} to_fs[] = {
	{ "INBOX", "INBOX" },
	{ "Sent Items", "Sent Items" },
	{ "...", "..." },
	{ ".a", ".a" },
	{ "a.", "a." },
	{ "-", "-" },
	/* the three names a directory entry cannot have */
	{ "", "%00" },
	{ ".", "%2E" },
	{ "..", "%2E%2E" },
	/* '/' inside a component (delimiter '.') and '%' */
	{ "a/b", "a%2Fb" },
	{ "/", "%2F" },
	{ "a//b", "a%2F%2Fb" },
	{ "%", "%25" },
	{ "100%", "100%25" },
	{ "%%", "%25%25" },
	/* names that look like escapes are escaped themselves */
	{ "%25", "%2525" },
	{ "%2F", "%252F" },
	{ "%2E", "%252E" },
	{ "%00", "%2500" },
	{ "%26", "%2526" },
	{ "%41", "%2541" },
	/* valid modified UTF-7 is decoded */
	{ "&-", "&" },
	{ "a&-b", "a&b" },
	{ "&Jjo-", "\xe2\x98\xba" },
	{ "&U,BTFw-", "\xe5\x8f\xb0\xe5\x8c\x97" },
	{ "&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
	{ "&Jjo-/%", "\xe2\x98\xba%2F%25" },
	{ "&AAE-", "\x01" },	/* an encoded control is legal mUTF-7 */
	/* invalid modified UTF-7: raw bytes, '&' '%' '/' and non-printables escaped */
	{ "&", "%26" },
	{ "a&b", "a%26b" },
	{ "&Jjo", "%26Jjo" },
	{ "&AGE-", "%26AGE-" },
	{ "&AAA-", "%26AAA-" },
	{ "&AC8-", "%26AC8-" },
	{ "&2D0-", "%262D0-" },
	{ "&Jjo-&Jjo-", "%26Jjo-%26Jjo-" },
	{ "caf\xc3\xa9", "caf%C3%A9" },
	{ "\xff", "%FF" },
	{ "\x80", "%80" },
	{ "\x01", "%01" },
	{ "\x7f", "%7F" },
	{ "a\tb", "a%09b" },
	{ "\x1b[31mred", "%1B[31mred" },
	{ "x/&y%", "x%2F%26y%25" },
	{ "..\x01", "..%01" },
	{ ".\xff", ".%FF" },
	{ "%2E\xff", "%252E%FF" },
	{ "&%", "%26%25" },
};

/* File name -> server component, for names names_to_fs does not write. */
static const struct {
	const char *fs;
	const char *server;
} from_fs[] = {
	/* a '%' that is not an escape is literal */
	{ "100%", "100%" },
	{ "%", "%" },
	{ "%4", "%4" },
	{ "%G0", "%G0" },
	{ "%%", "%%" },
	{ "a%", "a%" },
	{ "%2f", "%2f" },	/* escapes are upper-case hex only */
	/* UTF-8 typed by the user is encoded */
	{ "\xc3\xa9", "&AOk-" },
	{ "&", "&-" },
	{ "&Jjo", "&-Jjo" },
	{ "\x01", "&AAE-" },
	{ "a\tb", "a&AAk-b" },
	/* escapes in the decoded mode */
	{ "a%2Fb", "a/b" },
	{ "%25\xc3\xa9", "%&AOk-" },
	{ "a%2Eb", "a.b" },
	{ "%2E\xc3\xa9", ".&AOk-" },	/* %2E does not switch to raw bytes */
	{ "%2F\xc3\xa9", "/&AOk-" },
	/* any other escape means raw bytes, sent as they are */
	{ "%26", "&" },
	{ "%41", "A" },
	{ "%C3%A9", "\xc3\xa9" },
	{ "%26%2F%25", "&/%" },
	{ "%26%", "&%" },
};

/* File names that map to nothing: -EINVAL. */
static const char *const bad_fs[] = {
	"", "/", "a/b", "/a", "a/", "%26/",
	".", "..",
	"caf\xc3", "\xff", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	/* invalid UTF-8 in the raw mode too, where no encoder checks it */
	"%26\xff", "%41\xc3", "%26\x80", "%26\xc0\xaf", "%26\xe0\x80\xaf",
	"%26\xed\xa0\x80", "%26\xf4\x90\x80\x80", "%26\xf0\x9f\x98",
	"%26\xc3\x41", "%26\xe6\x97z",
	"a%00", "%00a", "%00%00", "%26%00", "%00%26",
};

/* Hostile server names for the round trip, on top of the tables above. */
static const char *const hostile[] = {
	"&", "&-&", "&Jjo", "&Jjo-&", "&-Jjo-", "%26", "%2F", "%2E", "%00", "%2e",
	"%2E%2E", "%", "%%", "100%", "%2", "%G", "a%2",
	"\xc3\xa9", "\xe6\x97\xa5", "\xed\xa0\x80", "\xf0\x9f\x98\x80",
	"\x01\x02\x03", "\x1f", " ", "  ", "~", "\\", "\"", "*", "?",
	". ", " .", ".%", "..%", "%.", "./", "/.", "../..", "&AC4-", "&AC4ALg-",
	"INBOX/&Jjo", "a\nb", "a\rb", "&&&", "---", "&--",
};

static char sentinel_byte;
#define SENTINEL (&sentinel_byte)

static void test_to_fs(void)
{
	for (size_t i = 0; i < sizeof(to_fs) / sizeof(to_fs[0]); i++) {
		char *out = SENTINEL;
		int rc = names_to_fs(to_fs[i].server, &out);

		CHECK(rc == 0 && check_streq(out, to_fs[i].fs),
		      "names_to_fs(%s): rc %d, got %s, want %s", check_q(to_fs[i].server),
		      rc, rc == 0 ? check_q(out) : "-", check_q(to_fs[i].fs));
		if (rc == 0)
			free(out);

		out = SENTINEL;
		rc = names_from_fs(to_fs[i].fs, &out);
		CHECK(rc == 0 && check_streq(out, to_fs[i].server),
		      "names_from_fs(%s): rc %d, got %s, want %s", check_q(to_fs[i].fs),
		      rc, rc == 0 ? check_q(out) : "-", check_q(to_fs[i].server));
		if (rc == 0)
			free(out);
	}
}

static void test_from_fs(void)
{
	for (size_t i = 0; i < sizeof(from_fs) / sizeof(from_fs[0]); i++) {
		char *out = SENTINEL;
		int rc = names_from_fs(from_fs[i].fs, &out);

		CHECK(rc == 0 && check_streq(out, from_fs[i].server),
		      "names_from_fs(%s): rc %d, got %s, want %s", check_q(from_fs[i].fs),
		      rc, rc == 0 ? check_q(out) : "-", check_q(from_fs[i].server));
		if (rc == 0)
			free(out);
	}
	for (size_t i = 0; i < sizeof(bad_fs) / sizeof(bad_fs[0]); i++) {
		char *out = SENTINEL;
		int rc = names_from_fs(bad_fs[i], &out);

		CHECK(rc == -EINVAL && out == SENTINEL, "names_from_fs(%s): rc %d, want -EINVAL%s",
		      check_q(bad_fs[i]), rc, out == SENTINEL ? "" : ", *out changed");
		if (rc == 0)
			free(out);
	}
}

/*
 * X survives the round trip, and the file name is one a directory entry
 * can have: not empty, not "." or "..", no '/'.
 */
static int round_trips(const char *x, char **fs_out)
{
	char *fs = NULL, *back = NULL;
	int ok;

	ok = names_to_fs(x, &fs) == 0 && fs[0] != '\0' && !strchr(fs, '/') &&
	     strcmp(fs, ".") != 0 && strcmp(fs, "..") != 0 &&
	     names_from_fs(fs, &back) == 0 && strcmp(back, x) == 0;
	if (fs_out)
		*fs_out = fs;
	else
		free(fs);
	free(back);
	return ok;
}

static void test_hostile(void)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *fs = NULL;

		CHECK(round_trips(hostile[i], &fs), "round trip %s via %s",
		      check_q(hostile[i]), check_q(fs));
		free(fs);
	}
}

/*
 * Exhaustive: every string of up to 4 bytes from an alphabet of escape
 * characters, shift characters, delimiters, dots, controls and 8-bit
 * bytes; and every single byte.
 */
static void test_exhaustive(void)
{
	static const char alpha[] = "%25FE0&-/.AJjo\x01\xc3\xa9\xff ";
	enum { NA = sizeof(alpha) - 1, MAXLEN = 4 };
	unsigned bad = 0, tried = 0;
	char s[MAXLEN + 1], first[MAXLEN + 1] = "";

	for (unsigned b = 1; b < 256; b++) {
		s[0] = (char)b;
		s[1] = '\0';
		tried++;
		if (!round_trips(s, NULL) && !bad++)
			strcpy(first, s);
	}
	for (unsigned len = 1; len <= MAXLEN; len++) {
		unsigned total = 1;

		for (unsigned k = 0; k < len; k++)
			total *= NA;
		for (unsigned v = 0; v < total; v++) {
			unsigned x = v;

			for (unsigned k = 0; k < len; k++, x /= NA)
				s[k] = alpha[x % NA];
			s[len] = '\0';
			tried++;
			if (!round_trips(s, NULL) && !bad++)
				strcpy(first, s);
		}
	}
	CHECK(bad == 0, "%u of %u names do not round trip, first %s", bad, tried, check_q(first));
}

int main(void)
{
	test_to_fs();
	test_from_fs();
	test_hostile();
	test_exhaustive();
	return check_finish("test_names");
}
