/*
 * flags — parse the value written to the user.imap.flags extended
 * attribute. Pure code, no I/O.
 *
 *   "\Seen \Flagged $Label1"   replace all flags with these
 *   "+\Flagged +$Todo"         add these
 *   "-\Seen"                   remove these
 *   "+\Flagged -\Seen"         both
 *   ""                         clear all flags
 * System flags are \Seen \Answered \Flagged \Deleted \Draft (any case);
 * other flags are IMAP keywords (atoms without ( ) { % * " \ ] or spaces,
 * ASCII only), or flag extensions: '\' and such an atom ("\Foo", as a
 * server may show one), kept with their backslash (vfs_setxattr takes one
 * only where the server shows it on a message of that mailbox: a server
 * answers an unknown one with BAD). \Recent cannot be set.
 * Mixing plain and +/- items is an error.
 *
 * flags_format writes the value getxattr shows, in the same grammar, so
 * what is read can be written back. It holds at most FLAGS_XATTR_MAX bytes
 * (the kernel's XATTR_SIZE_MAX: no getxattr can return more); a longer
 * list is cut after the last whole flag that fits, never inside one.
 */
#ifndef IMAPFS_FLAGS_H
#define IMAPFS_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Owned by the caller; free with flags_change_free(). */
struct flags_change {
	bool replace;		/* set exactly add_sys/add_kw */
	uint8_t add_sys, del_sys;	/* SESSION_F_* bits */
	char *add_kw, *del_kw;	/* space-separated keywords, or NULL */
};

/* Parse VALUE (LEN bytes, need not be NUL-terminated). 0, -EINVAL for bad
 * syntax, -ENOMEM. */
int flags_parse(const char *value, size_t len, struct flags_change *out);
void flags_change_free(struct flags_change *c);

/* Do SYSFLAGS and KEYWORDS (a message's flags as the server reports
 * them; KEYWORDS may be NULL) show change C done: every flag it adds
 * there and none it removes, or for a replacement exactly its flags?
 * Flags compare without regard to case, as IMAP's do. */
bool flags_satisfied(const struct flags_change *c, uint8_t sysflags, const char *keywords);

/* Does the space-separated KEYWORDS (may be NULL) hold KW, compared
 * without regard to case? */
bool flags_has_keyword(const char *keywords, const char *kw);

#define FLAGS_XATTR_MAX 65536

/* The value of user.imap.flags for SYSFLAGS (SESSION_F_*) and KEYWORDS
 * (space-separated, as the server sent them; may be NULL), at most MAX
 * bytes: a malloc'd *OUT of *LEN bytes (NUL-terminated too). A flag the
 * grammar above cannot take back (a keyword with a character that is not
 * an ASCII atom character) is left out. *DROPPED (may be NULL) counts the
 * flags left out, for the caller's log line. 0 or -ENOMEM. */
int flags_format(uint8_t sysflags, const char *keywords, size_t max, char **out, size_t *len,
		 size_t *dropped);

/* The value of user.imap.internaldate ("17-Jul-1996 02:44:25 -0700", what
 * getxattr shows; a trailing newline is allowed), as epoch seconds in
 * *OUT: rsync -X and cp -a write it back onto a new file, and it becomes
 * the APPEND's INTERNALDATE. 0, or -EINVAL for anything else. */
int flags_parse_date(const char *value, size_t len, int64_t *out);

#endif
