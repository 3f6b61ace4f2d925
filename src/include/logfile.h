/*
 * logfile — where a detached daemon's log goes when it is not syslog:
 * -o logfile=PATH, or, when no syslog socket exists (a container, a
 * minimal system), a default file under $XDG_STATE_HOME/imapfs/.
 *
 * The daemon may run as root (an fstab line), so the file is opened as an
 * attacker-proof append target: never through a symlink (O_NOFOLLOW),
 * never a file with another owner or a second hard link, never something
 * that is not a regular file, never under a directory that belongs to
 * another user or that others may write unless it is sticky (/tmp): each
 * directory on the way is checked once opened; created 0600,
 * close-on-exec.
 */
#ifndef IMAPFS_LOGFILE_H
#define IMAPFS_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "url.h"

/* At start-up: open CFG->logfile, when given, and hand it to
 * log_set_file. -errno with a reason in ERR when it cannot be used (the
 * mount is then refused, before anything connects). */
int logfile_setup(const struct config *cfg, char *err, size_t errlen);

/*
 * Mounted, just before detaching: when no logfile= was given and there is
 * no syslog socket, open the default $XDG_STATE_HOME/imapfs/NAME.log
 * (NAME: the account, else USER@HOST of U; directories made 0700), hand
 * it to log_set_file and say so on stderr while it is still the
 * terminal. One that cannot be made is only warned about.
 */
void logfile_detaching(const struct config *cfg, const struct url *u);

/* Open PATH for appending as described above: an fd, or -errno with the
 * reason in ERR. */
int logfile_open(const char *path, char *err, size_t errlen);

#endif
