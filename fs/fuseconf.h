/*
 * fuseconf — may this user mount with allow_other or allow_root? Only
 * root, or anyone when /etc/fuse.conf has a line user_allow_other.
 * Asked before the password prompt and the login: otherwise fusermount3
 * refuses at the end, with a line that names allow_other even for
 * allow_root, followed by imapfs's own guess about /dev/fuse.
 */
#ifndef IMAPFS_FUSECONF_H
#define IMAPFS_FUSECONF_H

/* OPTION ("allow_root", "allow_other", or NULL: nothing to check) asked
 * for by this user: 0 if it may be used, else one line printed ("OPTION
 * needs user_allow_other in /etc/fuse.conf") and -1. */
int fuseconf_check(const char *option);

#endif
