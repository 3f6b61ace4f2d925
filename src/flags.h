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
 * ASCII only). \Recent cannot be set. Mixing plain and +/- items is an error.
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

#endif
