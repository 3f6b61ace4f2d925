/*
 * maildir — read the info suffix of a Maildir file name (maildir.h).
 */
#include "maildir.h"

#include <string.h>

#include "mailmeta.h"

bool maildir_info_parse(const char *name, struct maildir_info *out)
{
	const char *info = strrchr(name, ':');
	const char *p;

	memset(out, 0, sizeof(*out));
	/* "unique:2,FLAGS": a name with nothing before the colon is no
	 * Maildir file; ":1," (experimental semantics) carries no flags */
	if (info == NULL || info == name || strncmp(info, ":2,", 3) != 0)
		return false;
	for (p = info + 3; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
			return false;
	for (p = info + 3; *p != '\0'; p++) {
		switch (*p) {
		case 'D': out->sysflags |= SESSION_F_DRAFT; break;
		case 'F': out->sysflags |= SESSION_F_FLAGGED; break;
		case 'R': out->sysflags |= SESSION_F_ANSWERED; break;
		case 'S': out->sysflags |= SESSION_F_SEEN; break;
		case 'P': out->forwarded = true; break;
		case 'T': out->trashed = true; break;
		default: break;	/* other letters: no defined meaning */
		}
	}
	return true;
}
