/*
 * main — the imapfs program: pick the sub-command (mount, umount, status,
 * flag, search, --help, --version) from the command line; each lives in its own
 * cmd_*.c file (see cmd.h for the exit codes).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>

#include "cmd.h"
#include "suggest.h"

void cmd_usage(FILE *out)
{
	fprintf(out,
		"usage: imapfs mount [-f] [-d] [-o OPT[,OPT...]] imaps://USER@HOST[:PORT]/ MNT\n"
		"       imapfs mount [-f] [-d] [-o OPT[,OPT...]] ACCOUNT MNT\n"
		"       imapfs SOURCE MNT [-o OPT[,OPT...]]   (as mount.fuse3 and fstab run it)\n"
		"       imapfs umount MNT\n"
		"       imapfs status [--watch] PATH   (PATH: the mount point or anything in it)\n"
		"       imapfs flag [+|-|=]FLAGS FILE...   (one UID STORE per folder)\n"
		"       imapfs search [-0] DIR QUERY   (the server searches; see SEARCH below)\n"
		"       imapfs sync [-q] DIR [MAILBOX...]   (every body into the cache, ahead of time)\n"
		"       imapfs [mount] -h | --help | -V | --version\n"
		"\n"
		"imaps:// is TLS from the first byte (port 993); imap:// requires STARTTLS\n"
		"(port 143). ACCOUNT is a [account NAME] section of\n"
		"$XDG_CONFIG_HOME/imapfs/config (~/.config/imapfs/config); -o options on the\n"
		"command line override it. The password (or OAuth2 access token) comes from\n"
		"password_command, password_file, the accounts file, $IMAPFS_PASSWORD or a\n"
		"prompt. MNT is the mount point: an empty directory.\n"
		"\n");
	config_help_line(out, "-f", "stay in the foreground, log to stderr");
	config_help_line(out, "-d", "debug: -f plus -o debug,imap_trace (FUSE requests and the IMAP protocol)");
	config_help_line(out, "-h, --help", "print this help");
	config_help_line(out, "-V, --version", "print the version");
	config_print_help(out);
	fprintf(out,
		"\nSEARCH: ls MNT/MAILBOX/.search/QUERY/ lists the messages of MAILBOX the\n"
		"server finds (MNT/.search/QUERY/: every mailbox, under their paths);\n"
		"imapfs search prints their paths. QUERY: terms side by side must all match;\n"
		"\"or\" between two, \"not\" or \"-\" before one, ( ) to group, \"...\" for phrases.\n"
		"  from: to: cc: subject: body: text: (a bare word is text:)  header:NAME:VALUE\n"
		"  after: before: on: (YYYY-MM-DD)  larger: smaller: (bytes; k, M, G)\n"
		"  is:seen|unseen|flagged|answered|draft|deleted  keyword:NAME  uid:1:100,200\n"
		"  e.g. 'from:alice body:invoice after:2024-01-01', 'is:unseen -from:noreply'\n"
		"\nPARTS: MNT/MAILBOX/.parts/UID/ is message UID taken apart: header, text\n"
		"(UTF-8), html, raw, each attachment by its file name, each part by its\n"
		"number (1, 1.2, 2; a forwarded message is a directory); a part is fetched\n"
		"alone, decoded, and cached. e.g. cp MNT/INBOX/.parts/42/report.pdf .\n");
	fprintf(out, "\nSee imapfs(1).\n");
}

/*
 * "imapfs moutn URL DIR": a sub-command mistyped, which would otherwise be
 * taken for SOURCE MOUNTPOINT (as mount.fuse3 runs us) and get "too many
 * arguments". Said only when it cannot be that form: three words or more
 * besides options (mount.fuse3 passes two: SOURCE MOUNTPOINT, then -o
 * OPTS), the first one without '/' or ':' (not a path, not a URL) and
 * within suggest.h's typo distance of a command. So an account called
 * "mont" still mounts with "imapfs mont DIR". Prints one line; true if so.
 */
static bool mistyped_command(int argc, char **argv)
{
	static const char *const commands[] = { "mount", "umount", "unmount", "status", "flag", "search", "sync" };
	struct suggest sg;
	int words = 0;
	const char *best;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0)
			i++;	/* its value */
		else if (argv[i][0] != '-')
			words++;
	}
	if (words < 3 || strpbrk(argv[1], "/:") != NULL || argv[1][0] == '-')
		return false;
	suggest_init(&sg, argv[1], strlen(argv[1]));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		suggest_offer(&sg, commands[i]);
	best = suggest_best(&sg);
	if (best == NULL)
		return false;
	fprintf(stderr, "imapfs: unknown command %s: did you mean %s? (see imapfs --help)\n", argv[1], best);
	return true;
}

/* Is PATH on a FUSE file system? */
static bool on_fuse(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == 0x65735546;	/* FUSE_SUPER_MAGIC */
}

int main(int argc, char **argv)
{
	/* a server closing on us must be an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);
	/* every open message holds a cache fd, and read-ahead a few more:
	 * the soft limit of 1024 is not much */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	if (argc < 2) {
		cmd_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("imapfs %s\n", IMAPFS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "mount") == 0)
		return cmd_mount(argc - 2, argv + 2);
	if (strcmp(argv[1], "status") == 0) {
		bool watch = false, bad = false;
		const char *path = NULL;

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0)
				watch = true;
			else if (path == NULL && argv[i][0] != '-')
				path = argv[i];
			else
				bad = true;
		}
		if (path == NULL || bad) {
			fprintf(stderr, "usage: imapfs status [--watch] PATH\n");
			return EXIT_USAGE;
		}
		return cmd_status(path, watch);
	}
	/* (an account named "flag" still mounts as mount.fuse3 runs us:
	 * "imapfs flag /MOUNTPOINT -o ...", and no FLAGS begins with '/') */
	if (strcmp(argv[1], "flag") == 0 && !(argc >= 3 && argv[2][0] == '/'))
		return cmd_flag(argc - 2, argv + 2);
	/* (likewise an account named "search": mount.fuse3 passes
	 * "search /MOUNTPOINT" and then only -o OPTS) */
	if (strcmp(argv[1], "search") == 0 &&
	    !(argc >= 3 && argv[2][0] == '/' && (argc == 3 || strcmp(argv[3], "-o") == 0)))
		return cmd_search(argc - 2, argv + 2);
	/* (an account named "sync" too: mount.fuse3 runs "imapfs sync
	 * /MOUNTPOINT [-o OPTS]"; a mount point is not on a FUSE file
	 * system, where everything sync is given is) */
	if (strcmp(argv[1], "sync") == 0 &&
	    !(argc >= 3 && argv[2][0] == '/' && (argc == 3 || strcmp(argv[3], "-o") == 0) && !on_fuse(argv[2]) &&
	      account_exists("sync")))
		return cmd_sync(argc - 2, argv + 2);
	if (strcmp(argv[1], "umount") == 0 || strcmp(argv[1], "unmount") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: imapfs umount MOUNTPOINT\n");
			return EXIT_USAGE;
		}
		return cmd_umount(argv[2]);
	}
	if (mistyped_command(argc, argv))
		return EXIT_USAGE;
	/* mount.fuse3 (fstab type fuse.imapfs) runs "imapfs SOURCE MOUNTPOINT -o OPTS" */
	if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-')
		return cmd_mount(argc - 1, argv + 1);
	fprintf(stderr, "imapfs: unknown command %s (see imapfs --help)\n", argv[1]);
	return EXIT_USAGE;
}
