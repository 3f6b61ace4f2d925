/*
 * maildir — the flags a Maildir file name carries in its info suffix
 * ("1700000000.M1P2.host,S=1234:2,FRS"), read when such a file is copied
 * into the mount (cp -r ~/Maildir/cur ~/mail/Imported). Pure code, no I/O.
 *
 * The letters are those of the Maildir specification and mbsync:
 *   D \Draft   F \Flagged   P $Forwarded   R \Answered   S \Seen
 *   T "trashed": reported, never turned into \Deleted (an imported message
 *     marked \Deleted would be removed by the next EXPUNGE of any client)
 * Lower-case letters are Dovecot's per-folder keyword slots, whose names
 * live in a file the copy does not bring along: ignored.
 */
#ifndef IMAPFS_MAILDIR_H
#define IMAPFS_MAILDIR_H

#include <stdbool.h>
#include <stdint.h>

struct maildir_info {
	uint8_t sysflags;	/* SESSION_F_* */
	bool forwarded;		/* P: the $Forwarded keyword */
	bool trashed;		/* T: seen and ignored */
};

/* Whether NAME ends in a Maildir info suffix (":2," and letters only);
 * if so, *OUT has its flags. */
bool maildir_info_parse(const char *name, struct maildir_info *out);

#endif
