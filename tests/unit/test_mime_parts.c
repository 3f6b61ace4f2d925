/*
 * test_mime_parts — the entries of .parts/UID/ from a MIME structure:
 * the main text and html picked from alternatives, attachments under safe
 * unique names that never take a reserved name or a part number, every
 * part by number, nested messages as directories, and the sections each
 * entry is fetched with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "check.h"
#include "mime_parts.h"

static struct mime_part leaf(const char *sec, const char *type, const char *sub, const char *fname, bool att)
{
	struct mime_part p = { 0 };

	strcpy(p.section, sec);
	strcpy(p.type, type);
	strcpy(p.subtype, sub);
	p.filename = fname ? strdup(fname) : NULL;
	p.attachment = att;
	return p;
}

static const char *list(const struct mime_entry *e, size_t n)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(buf, i ? "|" : "");
		strcat(buf, e[i].name);
		if (e[i].kind == MIME_MESSAGE)
			strcat(buf, "/");
	}
	return buf;
}

int main(void)
{
	struct mime_entry *e;
	size_t n;
	char sec[64];

	/* mixed: alternative (plain, html), two report.pdf, a forwarded message */
	{
		struct mime_part alt = leaf("", "multipart", "alternative", NULL, false);
		struct mime_part top = leaf("", "multipart", "mixed", NULL, false);
		struct mime_part inner = leaf("4.1", "text", "plain", NULL, false);

		alt.nchild = 2;
		alt.child = calloc(2, sizeof(*alt.child));
		alt.child[0] = leaf("1.1", "text", "plain", NULL, false);
		alt.child[1] = leaf("1.2", "text", "html", NULL, false);
		top.nchild = 5;
		top.child = calloc(5, sizeof(*top.child));
		top.child[0] = alt;
		top.child[1] = leaf("2", "application", "pdf", "report.pdf", true);
		top.child[2] = leaf("3", "application", "pdf", "report.pdf", true);
		top.child[3] = leaf("4", "message", "rfc822", "fwd.eml", true);
		top.child[3].nchild = 1;
		top.child[3].child = calloc(1, sizeof(struct mime_part));
		top.child[3].child[0] = inner;
		top.child[4] = leaf("5", "text", "plain", "text", true);	/* named like an entry */

		CHECK(mime_entries(&top, NULL, &e, &n) == 0, "entries");
		CHECK(strcmp(list(e, n), "header|text|html|raw|1.1|1.2|2|3|4/|5|report.pdf|report (2).pdf|"
				      "fwd.eml|text (2)") == 0, "mixed: %s", list(e, n));
		CHECK(e[1].part == &top.child[0].child[0] && e[2].part == &top.child[0].child[1], "text, html");
		mime_entry_section(&e[0], NULL, sec, sizeof(sec));
		CHECK(strcmp(sec, "HEADER") == 0, "header section %s", sec);
		mime_entry_section(&e[3], NULL, sec, sizeof(sec));
		CHECK(strcmp(sec, "") == 0, "raw section %s", sec);
		mime_entry_section(&e[10], NULL, sec, sizeof(sec));
		CHECK(strcmp(sec, "2") == 0, "pdf section %s", sec);
		mime_entries_free(e, n);

		/* the forwarded message, as its own directory */
		CHECK(mime_entries(&top.child[3].child[0], &top.child[3], &e, &n) == 0, "nested");
		CHECK(strcmp(list(e, n), "header|text|raw|4.1") == 0, "nested: %s", list(e, n));
		mime_entry_section(&e[0], &top.child[3], sec, sizeof(sec));
		CHECK(strcmp(sec, "4.HEADER") == 0, "nested header %s", sec);
		mime_entry_section(&e[2], &top.child[3], sec, sizeof(sec));
		CHECK(strcmp(sec, "4") == 0, "nested raw %s", sec);
		mime_entries_free(e, n);
		mime_part_clear(&top);
	}

	/* a plain message: one leaf, part 1 */
	{
		struct mime_part top = leaf("1", "text", "plain", NULL, false);

		CHECK(mime_entries(&top, NULL, &e, &n) == 0 && strcmp(list(e, n), "header|text|raw|1") == 0,
		      "plain: %s", list(e, n));
		mime_entries_free(e, n);
		mime_part_clear(&top);
	}

	/* hostile and clashing names: unsafe, a part number, a dot file */
	{
		struct mime_part top = leaf("", "multipart", "mixed", NULL, false);

		top.nchild = 4;
		top.child = calloc(4, sizeof(*top.child));
		top.child[0] = leaf("1", "text", "plain", NULL, false);
		top.child[1] = leaf("2", "application", "octet-stream", "../../etc/passwd", true);
		top.child[2] = leaf("3", "application", "octet-stream", "1", true);
		top.child[3] = leaf("4", "image", "png", ".hidden.png", false);
		CHECK(mime_entries(&top, NULL, &e, &n) == 0 &&
		      strcmp(list(e, n), "header|text|raw|1|2|3|4|_.._etc_passwd|1 (2)|hidden.png") == 0,
		      "hostile: %s", list(e, n));
		mime_entries_free(e, n);
		mime_part_clear(&top);
	}

	/* html only, and an attached text file is not the text */
	{
		struct mime_part top = leaf("", "multipart", "mixed", NULL, false);

		top.nchild = 2;
		top.child = calloc(2, sizeof(*top.child));
		top.child[0] = leaf("1", "text", "plain", "notes.txt", true);
		top.child[1] = leaf("2", "text", "html", NULL, false);
		CHECK(mime_entries(&top, NULL, &e, &n) == 0 &&
		      strcmp(list(e, n), "header|html|raw|1|2|notes.txt") == 0, "html only: %s", list(e, n));
		mime_entries_free(e, n);
		mime_part_clear(&top);
	}
	/* 2000 parts of one name: unique names, "a (2000).pdf" the last,
	 * in well under a second (a hash, not a scan per candidate) */
	{
		struct mime_part top = { .type = "multipart", .subtype = "mixed" };
		struct mime_entry *many = NULL;
		size_t nm = 0;
		clock_t t0 = clock();
		bool last = false;

		top.nchild = 2000;
		top.child = calloc(top.nchild, sizeof(*top.child));
		for (size_t i = 0; top.child != NULL && i < top.nchild; i++) {
			char num[24];

			snprintf(num, sizeof(num), "%zu", i + 1);
			top.child[i] = leaf(num, "application", "pdf", "a.pdf", true);
		}
		CHECK(top.child != NULL && mime_entries(&top, NULL, &many, &nm) == 0, "2000 of one name");
		CHECK(nm == 2 + 2000 + 2000, "entries %zu", nm);
		for (size_t i = 0; i < nm; i++)
			last = last || strcmp(many[i].name, "a (2000).pdf") == 0;
		CHECK(last, "a (2000).pdf");
		CHECK(clock() - t0 < CLOCKS_PER_SEC, "took %ld ticks", (long)(clock() - t0));
		mime_entries_free(many, nm);
		mime_part_clear(&top);
	}
	return check_finish("test_mime_parts");
}
