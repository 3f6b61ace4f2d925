/*
 * maildir — Maildir file names: the info suffix's flags, and the Maildir
 * view's own names (maildir.h).
 */
#include "maildir.h"

#include <inttypes.h>
#include <stdio.h>
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

void maildir_name(uint32_t uidvalidity, uint32_t uid, uint32_t box, uint8_t sysflags, bool forwarded,
		  char *buf)
{
	char info[8], *o = info;

	/* ASCII order, as the Maildir specification asks */
	if (sysflags & SESSION_F_DRAFT)
		*o++ = 'D';
	if (sysflags & SESSION_F_FLAGGED)
		*o++ = 'F';
	if (forwarded)
		*o++ = 'P';
	if (sysflags & SESSION_F_ANSWERED)
		*o++ = 'R';
	if (sysflags & SESSION_F_SEEN)
		*o++ = 'S';
	if (sysflags & SESSION_F_DELETED)
		*o++ = 'T';
	*o = '\0';
	snprintf(buf, MAILDIR_NAME_MAX, "%" PRIu32 "_%010" PRIu32 "_%08" PRIx32 ".imapfs,U=%" PRIu32 ":2,%s",
		 uidvalidity, uid, box, uid, info);
}

/* A decimal number without leading zeros that fits 32 bits and is not 0;
 * *P moves past it. */
static bool take_u32(const char **p, uint32_t *out)
{
	uint64_t n = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s++ - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*p = s;
	*out = (uint32_t)n;
	return true;
}

/* Exactly ten decimal digits, not 0 (a UID as the names write it); *P
 * moves past them. */
static bool take_uid10(const char **p, uint32_t *out)
{
	uint64_t n = 0;

	for (int i = 0; i < 10; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		n = n * 10 + (uint64_t)(c - '0');
	}
	if (n == 0 || n > UINT32_MAX)
		return false;
	*p += 10;
	*out = (uint32_t)n;
	return true;
}

/* Eight lower-case hex digits; *P moves past them. */
static bool take_hex8(const char **p, uint32_t *out)
{
	uint32_t n = 0;

	for (int i = 0; i < 8; i++) {
		char c = (*p)[i];

		if (c >= '0' && c <= '9')
			n = n << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			n = n << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	*p += 8;
	*out = n;
	return true;
}

bool maildir_name_parse(const char *name, uint32_t *uv, uint32_t *uid, uint32_t *box)
{
	const char *p = name;
	uint32_t again;

	if (!take_u32(&p, uv) || *p++ != '_' || !take_uid10(&p, uid) || *p++ != '_' ||
	    !take_hex8(&p, box) || strncmp(p, ".imapfs,U=", 10) != 0)
		return false;
	p += 10;
	if (!take_u32(&p, &again) || again != *uid)
		return false;
	if (*p == '\0')
		return true;
	/* the info part: what maildir_info_parse takes, nothing else */
	struct maildir_info mi;

	return strncmp(p, ":2,", 3) == 0 && strchr(p + 1, ':') == NULL && maildir_info_parse(name, &mi);
}

/* The flags NAME's info part gives, \Deleted for T; false without one. */
static bool info_flags(const char *name, uint8_t *flags, bool *fwd)
{
	struct maildir_info mi;

	if (!maildir_info_parse(name, &mi))
		return false;
	*flags = mi.sysflags | (mi.trashed ? SESSION_F_DELETED : 0);
	*fwd = mi.forwarded;
	return true;
}

void maildir_info_diff(const char *from, uint8_t from_flags, bool from_fwd, const char *to,
		       uint8_t *add, uint8_t *del, int *fwd)
{
	uint8_t f = from_flags, t;
	bool ffwd = from_fwd, tfwd;

	*add = *del = 0;
	*fwd = 0;
	if (!info_flags(to, &t, &tfwd))
		return;
	(void)info_flags(from, &f, &ffwd);	/* else the message's own */
	*add = t & (uint8_t)~f;
	*del = f & (uint8_t)~t;
	*fwd = tfwd == ffwd ? 0 : tfwd ? 1 : -1;
}

const char *const maildir_subdirs[3] = { "cur", "new", "tmp" };

int maildir_subdir(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, maildir_subdirs[i]) == 0)
			return i;
	return -1;
}
