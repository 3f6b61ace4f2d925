/*
 * owner — the owner and mode every file shows, after sshfs's uid=, gid=
 * and umask= options.
 *
 * The core gives owner-only modes: files 0600 (0400 when writes are
 * refused), directories 0700 (0500). With umask=M the owner's bits are
 * given to group and others too, then M's bits are cleared: files
 * 0666 & ~M, directories 0777 & ~M, minus the write bits where writes are
 * refused. sshfs (libfuse's high-level umask) sets 0777 & ~M on files as
 * well; a message is never a program, so no execute bit here. Without
 * umask= the modes stay owner-only (the same as umask=077). Mounts are
 * default_permissions, so the kernel enforces what this shows.
 */
#ifndef IMAPFS_OWNER_H
#define IMAPFS_OWNER_H

#include <sys/stat.h>

/* The mode to show for core mode MODE under UMASK (-1: none given). */
static inline mode_t owner_mode(mode_t mode, int umask)
{
	mode_t own = (mode >> 6) & 07;

	if (umask < 0)
		return mode;
	return (mode & S_IFMT) | ((own << 6 | own << 3 | own) & ~(mode_t)umask);
}

#endif
