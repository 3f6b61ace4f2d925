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
#include "tree.h"

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
	/* a '%' is itself unless it would read as an escape or a tag */
	{ "%", "%" },
	{ "100%", "100%" },
	{ "50%off", "50%off" },
	{ "%%", "%%" },
	{ "a%2", "a%2" },
	{ "%4", "%4" },
	{ "%G0", "%G0" },
	{ "%2f", "%2f" },	/* escapes are upper-case hex only */
	{ "%a1", "%a1" },
	{ "%1g", "%1g" },
	{ "% 41", "% 41" },
	{ "%.", "%." },
	{ "%/", "%%2F" },
	{ "%2/", "%2%2F" },
	{ "%%41", "%%2541" },
	{ "%%%", "%%%" },
	{ "%~", "%25~" },	/* never the start of a names_tag tag */
	{ "x%~12345678", "x%25~12345678" },
	/* names that look like escapes are escaped themselves */
	{ "%25", "%2525" },
	{ "%2F", "%252F" },
	{ "%2E", "%252E" },
	{ "%00", "%2500" },
	{ "%26", "%2526" },
	{ "%41", "%2541" },
	{ "%FF%", "%25FF%" },
	{ "%2525", "%252525" },
	/* valid modified UTF-7 is decoded */
	{ "&-", "&" },
	{ "a&-b", "a&b" },
	{ "&Jjo-", "\xe2\x98\xba" },
	{ "&U,BTFw-", "\xe5\x8f\xb0\xe5\x8c\x97" },
	{ "&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
	{ "&Jjo-/%", "\xe2\x98\xba%2F%" },
	{ "&Jjo-%41", "\xe2\x98\xba%2541" },
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
	{ "x/&y%", "x%2F%26y%" },
	{ "&50%off", "%2650%off" },
	{ "&%41", "%26%2541" },
	{ "&%~", "%26%25~" },
	{ "&%\xff", "%26%%FF" },
	{ "&%A\xff", "%26%A%FF" },
	{ "..\x01", "..%01" },
	{ ".\xff", ".%FF" },
	{ "%2E\xff", "%252E%FF" },
	{ "&%", "%26%" },
	{ "&%%", "%26%%" },
	/* names the mount makes itself: the '.' is escaped */
	{ "7.eml", "7%2Eeml" },
	{ "0.eml", "0%2Eeml" },
	{ "007.eml", "007%2Eeml" },
	{ "4294967296.eml", "4294967296%2Eeml" },
	{ ".search", "%2Esearch" },
	{ ".parts", "%2Eparts" },
	{ "7.EML", "7.EML" },
	{ "7.eml.", "7.eml." },
	{ "a7.eml", "a7.eml" },
	{ ".eml", ".eml" },
	{ ".search2", ".search2" },
	{ ".parts2", ".parts2" },
	{ "&ADc-.eml", "%26ADc-.eml" },	/* "7" encoded: invalid, raw */
};

/* File name -> server component, for names typed by the user (the round
 * trip back to the same file name is checked too). */
static const struct {
	const char *fs;
	const char *server;
} from_fs[] = {
	/* UTF-8 typed by the user is encoded */
	{ "\xc3\xa9", "&AOk-" },
	{ "&", "&-" },
	{ "&Jjo", "&-Jjo" },
	{ "\x01", "&AAE-" },
	{ "a\tb", "a&AAk-b" },
	{ "50%\xc3\xa9", "50%&AOk-" },
	/* escapes in the decoded mode */
	{ "a%2Fb", "a/b" },
	{ "%2525\xc3\xa9", "%25&AOk-" },
	{ "%2E", "." },
	{ "%2F\xc3\xa9", "/&AOk-" },
	/* any other escape means raw bytes, sent as they are */
	{ "%26", "&" },
	{ "%C3%A9", "\xc3\xa9" },
	{ "%26%2F%", "&/%" },
	{ "%26%", "&%" },
	{ "%26%2541", "&%41" },
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
	/* escapes where names_to_fs writes none: mkdir could not find the
	 * mailbox it made under the name it was given */
	"%41", "a%2Eb", "%2E\xc3\xa9", "%25", "%25\xc3\xa9", "100%25", "%25%25",
	"%26%25", "%26%2F%25", "%26%41", "7%2EEML",
	/* a names_tag tag is the tree's, never a typed name */
	"x%~12345678", "%~", "a%~",
	/* reserved for the mount's own entries */
	"7.eml", "0.eml", "123.eml", ".search", ".parts",
};

/* Hostile server names for the round trip, on top of the tables above. */
static const char *const hostile[] = {
	"&", "&-&", "&Jjo", "&Jjo-&", "&-Jjo-", "%26", "%2F", "%2E", "%00", "%2e",
	"%2E%2E", "%", "%%", "100%", "%2", "%G", "a%2", "50%off", "%%41", "%41%",
	"%~", "%%~", "%~%", "a%~1", "%2~", "%\xff", "%A\xff", "%AB\xff", "&%2",
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
		if (rc == 0) {
			char *back = NULL;

			/* what mkdir made is shown under the name it was given */
			CHECK(names_to_fs(out, &back) == 0 && strcmp(back, from_fs[i].fs) == 0,
			      "names_to_fs(%s) gives %s, not %s", check_q(out),
			      back ? check_q(back) : "-", check_q(from_fs[i].fs));
			free(back);
			free(out);
		}
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

/* File name F is refused, or its component is shown as F again. */
static int fs_round_trips(const char *f)
{
	char *comp = NULL, *back = NULL;
	int ok;

	if (names_from_fs(f, &comp) != 0)
		return 1;
	ok = names_to_fs(comp, &back) == 0 && strcmp(back, f) == 0;
	free(comp);
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
	static const char alpha[] = "%25FE0&-/.AJjo\x01\xc3\xa9\xff ~";
	enum { NA = sizeof(alpha) - 1, MAXLEN = 4 };
	unsigned bad = 0, tried = 0, bad_fs_side = 0;
	char s[MAXLEN + 1], first[MAXLEN + 1] = "", first_fs[MAXLEN + 1] = "";

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
			/* the same string as a typed file name */
			if (!fs_round_trips(s) && !bad_fs_side++)
				strcpy(first_fs, s);
		}
	}
	CHECK(bad == 0, "%u of %u names do not round trip, first %s", bad, tried, check_q(first));
	CHECK(bad_fs_side == 0, "%u of %u file names are taken but shown otherwise, first %s",
	      bad_fs_side, tried, check_q(first_fs));
}

/* A tagged name: at most NAMES_MAX bytes, "%~" and eight hex digits at the
 * end, the part before it a prefix of FS cut at a character and escape
 * boundary. */
static int tag_ok(const char *fs, const char *tagged)
{
	size_t n = strlen(tagged), cut;

	if (n > NAMES_MAX || n < 10 || tagged[n - 10] != '%' || tagged[n - 9] != '~')
		return 0;
	for (size_t i = n - 8; i < n; i++)
		if (!strchr("0123456789ABCDEF", tagged[i]))
			return 0;
	cut = n - 10;
	if (strncmp(fs, tagged, cut) != 0)
		return 0;
	/* the cut is not inside a UTF-8 character or an escape */
	if (((unsigned char)fs[cut] & 0xc0) == 0x80)
		return 0;
	if ((cut >= 1 && fs[cut - 1] == '%') || (cut >= 2 && fs[cut - 2] == '%'))
		return 0;
	return 1;
}

static void test_tag(void)
{
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "%25", "%2F" };
	char *long_fs, *t1 = NULL, *t2 = NULL, *t3 = NULL;

	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		size_t pl = strlen(pieces[k]);

		/* every alignment of the piece against the cut */
		for (size_t shift = 0; shift < 4; shift++) {
			long_fs = malloc(5000 + 1);
			memset(long_fs, 'x', shift);
			for (size_t o = shift; o + pl <= 5000; o += pl)
				memcpy(long_fs + o, pieces[k], pl), long_fs[o + pl] = '\0';
			CHECK(names_tag(long_fs, "server-name", 0, &t1) == 0 && tag_ok(long_fs, t1),
			      "names_tag of 5000 bytes of %s shifted %zu: %s", check_q(pieces[k]), shift,
			      t1 ? check_q(t1) : "-");
			free(t1);
			t1 = NULL;
			free(long_fs);
		}
	}
	/* the same server name gives the same tag (paths stay the same from
	 * one mount to the next); another name or salt gives another */
	CHECK(names_tag("short", "A", 0, &t1) == 0 && names_tag("short", "A", 0, &t2) == 0 &&
	      names_tag("short", "B", 0, &t3) == 0 && strcmp(t1, t2) == 0 && strcmp(t1, t3) != 0 &&
	      strncmp(t1, "short%~", 7) == 0 && strlen(t1) == 15,
	      "names_tag is stable and depends on the server name: %s %s %s", t1, t2, t3);
	free(t2);
	free(t3);
	CHECK(names_tag("short", "A", 1, &t2) == 0 && strcmp(t1, t2) != 0, "the salt changes the tag");
	free(t1);
	free(t2);
	/* a tagged name is never the file name of another mailbox: a server
	 * name spelled like it is shown otherwise, and mkdir of it is refused
	 * (the mailbox made would not be shown under that name) */
	t2 = NULL;
	CHECK(names_tag("x", "x", 0, &t1) == 0 && names_from_fs(t1, &t2) == -EINVAL && t2 == NULL,
	      "tagged name %s is not a typed name", check_q(t1));
	{
		char *back = NULL;

		CHECK(names_to_fs(t1, &back) == 0 && strcmp(back, t1) != 0,
		      "%s as a server name is shown as %s, not as the tag", check_q(t1), check_q(back));
		free(back);
	}
	free(t1);
}

/* ---- the whole mapping, through the tree ---------------------------------- */

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* The visible node whose server name is exactly NAME reached by walking
 * NAME's own prefixes at DELIM (what tree_add_mailbox does), or -1. */
static long node_of(const struct tree *t, const char *name, char delim)
{
	size_t len = strlen(name), i;
	uint32_t cur = 0;
	const char *end = name;

	for (;;) {
		long found = -1;
		size_t plen;

		end = delim ? memchr(end, delim, (size_t)(name + len - end)) : NULL;
		plen = end ? (size_t)(end - name) : len;
		for (i = 1; i < t->n; i++)
			if (t->nodes[i].parent == cur && !t->nodes[i].hidden &&
			    strlen(t->nodes[i].mailbox) == plen &&
			    memcmp(t->nodes[i].mailbox, name, plen) == 0)
				found = (long)i;
		if (found < 0)
			return -1;
		cur = (uint32_t)found;
		if (end == NULL)
			return found;
		end++;
	}
}

/*
 * Property: for random server names over both delimiters (dots, slashes,
 * empty parts, trailing delimiters, reserved names, escapes, 8-bit bytes,
 * names over 255 bytes), name -> path -> name is the identity: the path
 * the tree shows for a name, looked up again one file name at a time,
 * leads to a node with exactly that server name. And every file name is
 * one the kernel takes, unique among its siblings, and never a message or
 * reserved name.
 */
static void test_tree_bijection(void)
{
	static const char *const pieces[] = {
		"a", "b", "7.eml", "12.eml", ".search", ".", "..", "/", "//", "%", "%2E", "%~",
		"&", "&Jjo-", "&-", "\xff", "\xc3\xa9", "\x01", "INBOX", "eml", " ",
	};
	enum { ROUNDS = 40, NAMES = 60 };
	unsigned bad = 0;
	char first[600] = "";

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < ROUNDS; round++) {
		struct tree t;
		char *names[NAMES];
		char delims[NAMES];

		if (tree_init(&t) < 0) {
			CHECK(0, "tree_init");
			return;
		}
		t.quiet = true;	/* the tree logs each tagged name */
		for (int k = 0; k < NAMES; k++) {
			char buf[2048] = "";
			size_t n = 0;
			int parts = 1 + (int)(rng() % 6), rc;

			for (int j = 0; j < parts; j++) {
				const char *pc = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];

				if (rng() % 23 == 0) {	/* now and then one part over 255 bytes */
					size_t l = 250 + rng() % 300;

					memset(buf + n, rng() % 2 ? 'L' : '.', l);
					n += l;
				} else {
					memcpy(buf + n, pc, strlen(pc));
					n += strlen(pc);
				}
				buf[n] = '\0';
			}
			names[k] = strdup(buf);
			delims[k] = rng() % 2 ? '.' : '/';
			/* the same name again, with the other delimiter */
			if (k > 0 && rng() % 5 == 0) {
				free(names[k]);
				names[k] = strdup(names[rng() % (unsigned)k]);
			}
			rc = tree_add_mailbox(&t, names[k], delims[k], "", rng() % 4 == 0);
			CHECK(rc == 0, "tree_add_mailbox(%s): %d", check_q(names[k]), rc);
		}
		for (int k = 0; k < NAMES; k++) {
			long idx = node_of(&t, names[k], delims[k]), back = 0;
			uint32_t chain[1024];
			int depth = 0;

			if (idx < 0) {
				if (!bad++)
					snprintf(first, sizeof(first), "%s: no node", check_q(names[k]));
				continue;
			}
			for (uint32_t j = (uint32_t)idx; j != 0 && depth < 1024; j = t.nodes[j].parent)
				chain[depth++] = j;
			/* the path, looked up again name by name from the root */
			while (depth > 0 && back >= 0)
				back = tree_child(&t, (uint32_t)back, t.nodes[chain[--depth]].fsname);
			if (back != idx || strcmp(t.nodes[back].mailbox, names[k]) != 0) {
				if (!bad++)
					snprintf(first, sizeof(first), "%s (delimiter %c): path leads to %ld",
						 check_q(names[k]), delims[k], back);
			}
		}
		for (size_t i = 1; i < t.n; i++) {
			const char *fs = t.nodes[i].fsname;
			const char *tag = strstr(fs, "%~");
			char *comp = NULL;
			int ok = strlen(fs) <= NAMES_MAX && fs[0] != '\0' && !strchr(fs, '/') &&
				 strcmp(fs, ".") != 0 && strcmp(fs, "..") != 0 && !names_reserved(fs);

			for (size_t j = 1; j < t.n && ok; j++)
				if (j != i && t.nodes[j].parent == t.nodes[i].parent &&
				    strcmp(t.nodes[j].fsname, fs) == 0)
					ok = 0;
			/* an untagged name maps back to its component by itself */
			if (ok && tag == NULL) {
				const struct tree_node *pn = &t.nodes[t.nodes[i].parent];
				size_t skip = t.nodes[i].parent == 0 ? 0 : strlen(pn->mailbox) + 1;

				ok = names_from_fs(fs, &comp) == 0 && strcmp(comp, t.nodes[i].mailbox + skip) == 0;
				free(comp);
			}
			if (!ok && !bad++)
				snprintf(first, sizeof(first), "file name %s of %s", check_q(fs),
					 check_q(t.nodes[i].mailbox));
		}
		for (int k = 0; k < NAMES; k++)
			free(names[k]);
		tree_destroy(&t);
	}
	CHECK(bad == 0, "%u failures of the server name <-> path mapping, first: %s", bad, first);
}

/* The cases of the review, one by one. */
static void test_tree_cases(void)
{
	static const struct {
		const char *a, *b;
		char da, db;
	} pairs[] = {
		{ "Foo", "Foo/", '/', '/' },
		{ ".", "..", '.', '.' },
		{ "a.b.c", "a/b/c", '.', '/' },
		{ "INBOX/7.eml", "INBOX/7%2Eeml", '/', '/' },
		{ "x", "x/", '/', '/' },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct tree t;
		long ia, ib;

		tree_init(&t);
		t.quiet = true;
		tree_add_mailbox(&t, pairs[i].a, pairs[i].da, "", false);
		tree_add_mailbox(&t, pairs[i].b, pairs[i].db, "", false);
		ia = node_of(&t, pairs[i].a, pairs[i].da);
		ib = node_of(&t, pairs[i].b, pairs[i].db);
		CHECK(ia > 0 && ib > 0 && ia != ib && strcmp(t.nodes[ia].mailbox, pairs[i].a) == 0 &&
		      strcmp(t.nodes[ib].mailbox, pairs[i].b) == 0,
		      "%s and %s are two nodes (%ld, %ld)", check_q(pairs[i].a), check_q(pairs[i].b), ia, ib);
		tree_destroy(&t);
	}
}

/* -o layout=maildir: "cur", "new" and "tmp" are the Maildir's own; such
 * mailboxes are shown with their first letter escaped, the plain names
 * are refused, and every other name is as in the files layout. */
static void test_maildir_layout(void)
{
	static const char *const pairs[][2] = {
		{ "cur", "%63ur" }, { "new", "%6Eew" }, { "tmp", "%74mp" },
		{ "Cur", "Cur" }, { "curr", "curr" }, { "tmp2", "tmp2" }, { ".search", "%2Esearch" },
	};
	char *out = NULL;

	names_set_maildir(true);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		CHECK(names_to_fs(pairs[i][0], &out) == 0 && strcmp(out, pairs[i][1]) == 0, "%s -> %s",
		      pairs[i][0], out ? out : "(null)");
		free(out);
		out = NULL;
		CHECK(names_from_fs(pairs[i][1], &out) == 0 && strcmp(out, pairs[i][0]) == 0, "%s <- %s",
		      pairs[i][0], pairs[i][1]);
		free(out);
		out = NULL;
	}
	CHECK(names_from_fs("cur", &out) == -EINVAL && names_from_fs("new", &out) == -EINVAL &&
	      names_from_fs("tmp", &out) == -EINVAL, "plain subdirectory names refused");
	names_set_maildir(false);
	CHECK(names_to_fs("cur", &out) == 0 && strcmp(out, "cur") == 0, "files layout: cur is cur");
	free(out);
}

int main(void)
{
	test_maildir_layout();
	test_tag();
	test_tree_bijection();
	test_tree_cases();
	test_to_fs();
	test_from_fs();
	test_hostile();
	test_exhaustive();
	return check_finish("test_names");
}
