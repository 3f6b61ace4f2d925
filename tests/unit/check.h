/*
 * check — the whole test framework of the unit tests, header-only.
 *
 * A test is a main() that walks tables and calls CHECK(cond, fmt, ...);
 * failures go to stderr with file, line and the printf-style detail, and
 * the run continues so one broken case does not hide the others. The test
 * ends with "return check_finish("test_x");", which prints the one summary
 * line "test_x: N checks, M failed" and returns nonzero on any failure,
 * which is what meson test (and the pytest wrapper) look at.
 */
#ifndef IMAPFS_CHECK_H
#define IMAPFS_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_total, check_failed;

#define CHECK(cond, ...) do {						\
		check_total++;						\
		if (!(cond)) {						\
			check_failed++;					\
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

/* String equality where NULL equals only NULL. */
static inline int check_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * S quoted for a failure message, with bytes outside printable ASCII as
 * \xNN: the interesting inputs here are hostile bytes, and a terminal
 * would swallow them. Rotates through a few static buffers so that one
 * message can quote several strings; long strings are cut.
 */
static inline const char *check_q(const char *s)
{
	static char bufs[4][256];
	static unsigned next;
	char *buf = bufs[next++ % 4], *o = buf;
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return "(null)";
	*o++ = '"';
	for (; *p && o < buf + sizeof(bufs[0]) - 10; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
	if (*p)
		o += sprintf(o, "...");
	*o++ = '"';
	*o = '\0';
	return buf;
}

static inline int check_finish(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, check_total, check_failed);
	return check_failed ? 1 : 0;
}

#endif
