/*
 * names — one mailbox name component (the text between two hierarchy
 * delimiters, exactly as the server sent it) to and from the file name
 * shown in the mount. Pure code, no I/O.
 *
 * Valid modified UTF-7 is decoded to UTF-8. Escapes use '%' and two
 * upper-case hex digits, and are needed only for what a file name cannot
 * be or would make the mapping ambiguous:
 *   '%'              -> %25 where it would read as an escape or a tag:
 *                       before two upper-case hex digits or '~' ("%41",
 *                       "%~"); any other '%' is itself ("50%off", "100%")
 *   '/'              -> %2F   (possible when the delimiter is not '/')
 *   whole name "."   -> %2E,  whole name ".." -> %2E%2E
 *   empty component  -> %00  (e.g. "a//b" with delimiter '/')
 * A component that is NOT valid modified UTF-7 is shown with its raw bytes:
 * printable ASCII stays as it is except '/' (%2F), '&' (%26) and a '%'
 * that would read as an escape or a tag (%25, as above); every other byte
 * (controls, 0x7f, 8-bit) becomes %XX. Such a name always
 * contains at least one escape outside {%25, %2F, %2E, %00} (an invalid name
 * has an '&', a control or an 8-bit byte), and that is how names_from_fs
 * tells the two apart: it treats a name with any such escape as raw bytes.
 * A '%' not followed by two upper-case hex digits (or '~') is taken
 * literally both ways, so "50%off" and "100%" are mkdir'd and shown as
 * typed; a typed "%~" is refused (names_from_fs below). A '%' left
 * as it is never reads as an escape in the output: what follows it is
 * either copied (hex digits are never escaped) or an escape starting with
 * '%'.
 *
 * Names the mount makes itself are reserved: a mailbox named like a message
 * file (one or more ASCII digits then ".eml"), ".search" or ".parts" has
 * its '.' written %2E ("7%2Eeml", "%2Esearch", "%2Eparts"), so it never hides a message or a
 * view; names_from_fs refuses the reserved spellings themselves (EINVAL).
 * Under -o layout=maildir (names_set_maildir), "cur", "new" and "tmp" are
 * the Maildir's own directories: such a mailbox has its first letter
 * escaped ("%63ur", "%6Eew", "%74mp") and the plain names are refused.
 *
 * A file name longer than NAMES_MAX bytes, or one a sibling already has
 * (two server names that map to one path, e.g. "a.b" with delimiter '.'
 * and "a/b" with '/'), is tagged by names_tag: cut at a character
 * boundary, then "%~" and eight hex digits of a hash of the server's full
 * mailbox name. names_to_fs never writes "%~" (a '%' before '~' is
 * written %25), so a tagged name is never another mailbox's plain name;
 * the tree maps it back to the server name it stores for the node.
 */
#ifndef IMAPFS_NAMES_H
#define IMAPFS_NAMES_H

#include <stdbool.h>

/* The longest file name the kernel takes (NAME_MAX). */
#define NAMES_MAX 255

/* Server component -> file name. 0 and a malloc'd *OUT, or -ENOMEM.
 * Never fails on any server input. */
int names_to_fs(const char *component, char **out);

/* File name -> server component (modified UTF-7, or raw bytes for an
 * escaped invalid name). 0 and a malloc'd *OUT, -EINVAL for a name that
 * maps to nothing valid (empty, contains '/', invalid UTF-8 outside an
 * escape, an escape that decodes to NUL other than the whole-name %00)
 * or that is not the one spelling names_to_fs writes for its component
 * ("%41" for "A", "a%2Eb" for "a.b", "%25x" for "%x", a tagged name), or
 * -ENOMEM. names_from_fs(names_to_fs(x)) == x for every x, and
 * names_to_fs(names_from_fs(f)) == f for every f it accepts: a mailbox
 * made from a file name is shown under that name. */
int names_from_fs(const char *fsname, char **out);

/* Whether the decoded name NAME is one the mount reserves for its own
 * entries (N.eml, .search, .parts). */
bool names_reserved(const char *name);
/* The Maildir view's names too (see above): set once at mount, before the
 * first name is made. */
void names_set_maildir(bool on);

/* FSNAME (from names_to_fs) cut to fit NAMES_MAX with the "%~HHHHHHHH"
 * tag, HHHHHHHH a hash of MAILBOX (the full server name) and SALT (0
 * first; a caller whose tagged name is still taken tries 1, 2, ...). The
 * cut never splits an escape or a UTF-8 character. 0 and a malloc'd *OUT,
 * or -ENOMEM. */
int names_tag(const char *fsname, const char *mailbox, unsigned salt, char **out);

#endif
