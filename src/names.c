/*
 * names — one mailbox name component to and from the file name shown in the
 * mount, with the '%' escape documented in names.h and imapfs.1.
 *
 * The mapping has to be exactly reversible for every name a server can
 * send, hostile ones included: a rename or rmdir goes back to the server
 * with names_from_fs's output, and a lossy mapping would act on the wrong
 * mailbox. Two modes make that possible. A valid modified UTF-7 name is
 * decoded and escapes only '/', a '%' that would read as an escape, and
 * the names ".", ".." and "".
 * Anything else is shown byte for byte, and because such a name always has
 * an '&', a control or an 8-bit byte, it always carries an escape the first
 * mode never writes; names_from_fs uses that to pick the mode. A file name
 * is taken back only in the spelling names_to_fs writes for it, so what
 * mkdir creates is shown under the name it was given.
 *
 * The decoded mode also escapes the '.' of names the mount makes itself
 * (N.eml, .search, .parts), so a mailbox can never hide a message file, and
 * names_tag gives a long or colliding name a short unique form; the tree
 * keeps the exact server name of every node, which is what maps a tagged
 * name back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "names.h"
#include "maildir.h"

static const char hex_digits[] = "0123456789ABCDEF";

/* Only the upper-case form is an escape: names.h defines escapes that way,
 * and names_to_fs never writes anything else. "%2f" is three literal
 * characters, like any other '%' not followed by an escape. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte an escape at P stands for, or -1 when P is not an escape. */
static int escape_at(const char *p)
{
	int hi, lo;

	if (p[0] != '%')
		return -1;
	hi = hex_value(p[1]);
	if (hi < 0)
		return -1;
	lo = hex_value(p[2]);	/* p[1] is a digit, so p[2] is readable */
	if (lo < 0)
		return -1;
	return hi << 4 | lo;
}

/* Whether the '%' at P must be written %25: only where it would otherwise
 * read as an escape (two upper-case hex digits follow) or as the start of
 * a names_tag tag ("%~"). Any other '%' is written as it is, so "50%off"
 * and "100%" are their own file names. The characters after P are written
 * as they are or start an escape with '%' (hex digits are never escaped),
 * so a '%' left as it is never reads as an escape in the output either. */
static bool percent_needs_escape(const char *p)
{
	return p[1] == '~' || (hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0);
}

static char *put_escape(char *o, unsigned char c)
{
	*o++ = '%';
	*o++ = hex_digits[c >> 4];
	*o++ = hex_digits[c & 0xf];
	return o;
}

/* Whether S is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF, nothing cut short). mutf7_encode checks this too,
 * but the raw mode below never calls it. */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, min, cp;
		int n, i;

		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			min = 0x80;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			min = 0x800;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			min = 0x10000;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;	/* also stops at the NUL */
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Show COMPONENT, which is not valid modified UTF-7, byte for byte. */
static int raw_to_fs(const char *component, char **out)
{
	size_t len = strlen(component);
	const unsigned char *p = (const unsigned char *)component;
	char *buf, *o;

	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	buf = malloc(len * 3 + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	for (; *p; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '/' || *p == '&' ||
		    (*p == '%' && percent_needs_escape((const char *)p)))
			o = put_escape(o, *p);
		else
			*o++ = (char)*p;
	}
	*o = '\0';
	*out = buf;
	return 0;
}

/* names_set_maildir: set once at mount, before the first name is made;
 * read-only afterwards, so no lock. */
static bool maildir_layout;

void names_set_maildir(bool on)
{
	maildir_layout = on;
}

bool names_reserved(const char *name)
{
	const char *p = name;

	if (strcmp(name, ".search") == 0 || strcmp(name, ".parts") == 0)
		return true;
	while (*p >= '0' && *p <= '9')
		p++;
	return p > name && strcmp(p, ".eml") == 0;
}

/* Show UTF8, a decoded valid name, escaping only what a file name cannot
 * hold, the '%' that introduces escapes, and the '.' of a reserved name. */
static int decoded_to_fs(const char *utf8, char **out)
{
	const char *p;
	char *buf, *o;
	size_t len;
	bool reserved, subdir;

	/* These three are names a directory entry cannot have. */
	if (strcmp(utf8, "") == 0)
		p = "%00";
	else if (strcmp(utf8, ".") == 0)
		p = "%2E";
	else if (strcmp(utf8, "..") == 0)
		p = "%2E%2E";
	else
		p = NULL;
	if (p) {
		buf = strdup(p);
		if (!buf)
			return -ENOMEM;
		*out = buf;
		return 0;
	}

	reserved = names_reserved(utf8);
	subdir = maildir_layout && maildir_subdir(utf8) >= 0;	/* "cur" -> "%63ur" */
	len = strlen(utf8);
	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	buf = malloc(len * 3 + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	for (p = utf8; *p; p++) {
		if (*p == '/' || (reserved && *p == '.') || (subdir && p == utf8) ||
		    (*p == '%' && percent_needs_escape(p)))
			o = put_escape(o, (unsigned char)*p);
		else
			*o++ = *p;
	}
	*o = '\0';
	*out = buf;
	return 0;
}

int names_to_fs(const char *component, char **out)
{
	char *utf8;
	int rc;

	rc = mutf7_decode(component, &utf8);
	if (rc == -EILSEQ)
		return raw_to_fs(component, out);
	if (rc < 0)
		return rc;
	rc = decoded_to_fs(utf8, out);
	free(utf8);
	return rc;
}

/*
 * Whether FSNAME carries an escape the decoded mode never writes, which
 * marks it as a raw-bytes name. %00 is not such a mark: it is the empty
 * name when it is the whole name, and refused by unescape anywhere else.
 */
static int is_raw(const char *fsname)
{
	const char *p;

	for (p = fsname; *p; p++) {
		int c = escape_at(p);

		if (c < 0)
			continue;
		if (c != '%' && c != '/' && c != '.' && c != 0)
			return 1;
	}
	return 0;
}

/* Undo the escapes in FSNAME into a new string. A NUL from an escape has no
 * place in a C string and no meaning to the server: -EINVAL. */
static int unescape(const char *fsname, char **out)
{
	const char *p;
	char *buf, *o;
	int rc;

	/* Every escape shrinks, every other byte is copied. */
	buf = malloc(strlen(fsname) + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	for (p = fsname; *p; p++) {
		int c = escape_at(p);

		if (c == 0) {
			rc = -EINVAL;
			goto free_buf;
		}
		if (c > 0) {
			*o++ = (char)c;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*out = buf;
	return 0;

free_buf:
	free(buf);
	return rc;
}

/* FSNAME's component, before the check that FSNAME is its one spelling. */
static int decode_fs(const char *fsname, char **out)
{
	char *plain;
	int rc;

	if (strcmp(fsname, "%00") == 0) {
		plain = strdup("");
		if (!plain)
			return -ENOMEM;
		*out = plain;
		return 0;
	}

	rc = unescape(fsname, &plain);
	if (rc < 0)
		return rc;
	if (is_raw(fsname)) {
		/* Raw bytes go to the server as they are. */
		*out = plain;
		return 0;
	}

	rc = mutf7_encode(plain, out);
	if (rc == -EILSEQ)
		rc = -EINVAL;	/* cannot happen after utf8_valid; be safe */
	free(plain);
	return rc;
}

int names_from_fs(const char *fsname, char **out)
{
	char *comp = NULL, *shown = NULL;
	int rc;

	/* "." and ".." are the kernel's, never a mailbox: those mailboxes are
	 * spelled %2E and %2E%2E. */
	if (fsname[0] == '\0' || strchr(fsname, '/') ||
	    strcmp(fsname, ".") == 0 || strcmp(fsname, "..") == 0)
		return -EINVAL;
	if (!utf8_valid(fsname))
		return -EINVAL;
	/* "7.eml" is message 7, ".search" and ".parts" views; such
	 * mailboxes are spelled 7%2Eeml, %2Esearch and %2Eparts */
	if (names_reserved(fsname) || (maildir_layout && maildir_subdir(fsname) >= 0))
		return -EINVAL;

	rc = decode_fs(fsname, &comp);
	/* Only the spelling names_to_fs writes is taken: a mailbox made from
	 * any other ("%41" for "A", "a%2Eb" for "a.b", a "%~" tag) would be
	 * shown under another name than the one given, and mkdir could not
	 * find what it just created. */
	if (rc == 0)
		rc = names_to_fs(comp, &shown);
	if (rc == 0 && strcmp(shown, fsname) != 0)
		rc = -EINVAL;
	free(shown);
	if (rc < 0) {
		free(comp);
		return rc;
	}
	*out = comp;
	return 0;
}

/* FNV-1a over SALT and then NAME: stable across mounts and builds, which
 * keeps a tagged path the same from one mount to the next. */
static uint32_t tag_hash(const char *name, unsigned salt)
{
	uint32_t h = 2166136261u;
	const unsigned char *p = (const unsigned char *)name;

	for (int i = 0; i < 4; i++, salt >>= 8) {
		h ^= salt & 0xff;
		h *= 16777619u;
	}
	for (; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

int names_tag(const char *fsname, const char *mailbox, unsigned salt, char **out)
{
	enum { TAG_LEN = 10 };	/* "%~" and eight hex digits */
	size_t cut = strlen(fsname);
	uint32_t h = tag_hash(mailbox, salt);
	char *buf;

	if (cut > NAMES_MAX - TAG_LEN)
		cut = NAMES_MAX - TAG_LEN;
	for (;;) {
		/* never inside a UTF-8 character ... */
		while (cut > 0 && ((unsigned char)fsname[cut] & 0xc0) == 0x80)
			cut--;
		/* ... nor inside a %XX escape (escape_at reads at most to the
		 * NUL, and an escape cannot reach past the end) */
		if (cut >= 1 && escape_at(fsname + cut - 1) >= 0)
			cut -= 1;
		else if (cut >= 2 && escape_at(fsname + cut - 2) >= 0)
			cut -= 2;
		else
			break;
	}
	buf = malloc(cut + TAG_LEN + 1);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, fsname, cut);
	buf[cut++] = '%';
	buf[cut++] = '~';
	for (int i = 7; i >= 0; i--)
		buf[cut++] = hex_digits[(h >> (4 * i)) & 0xf];
	buf[cut] = '\0';
	*out = buf;
	return 0;
}
