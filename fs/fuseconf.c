/*
 * fuseconf — user_allow_other in /etc/fuse.conf (see fuseconf.h).
 *
 * Read as fusermount3 reads it: one option a line, '#' starts a comment,
 * blanks around it ignored. A file that cannot be read counts as not
 * allowing (fusermount3 then refuses too).
 */
#include "fuseconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUSE_CONF "/etc/fuse.conf"

static bool user_allow_other(void)
{
	FILE *f = fopen(FUSE_CONF, "re");
	char *line = NULL, *p, *end;
	size_t cap = 0;
	bool yes = false;

	if (f == NULL)
		return false;
	while (!yes && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "#")] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		yes = strcmp(p, "user_allow_other") == 0;
	}
	free(line);
	fclose(f);
	return yes;
}

int fuseconf_check(const char *option)
{
	if (option == NULL || getuid() == 0 || user_allow_other())
		return 0;
	fprintf(stderr, "imapfs: %s needs user_allow_other in " FUSE_CONF " (ask root to add it)\n", option);
	return -1;
}
