/*
 * main — the imapfs program: command line, secrets, first connection, mount.
 *
 * As in sshfs, everything that can fail for a reason the user should see
 * (bad options, wrong password, TLS refusal, unreachable server) fails here,
 * on the terminal, before the daemon detaches; exit codes are documented in
 * imapfs.1:
 *   0 success, 1 usage or configuration error, 2 connection or TLS error,
 *   3 authentication refused, 4 mount failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "ops.h"
#include "secret.h"
#include "url.h"
#include "vfs.h"

enum {
	EXIT_USAGE = 1,
	EXIT_CONNECT = 2,
	EXIT_AUTH = 3,
	EXIT_MOUNT = 4,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: imapfs mount [-f] [-o OPT[,OPT...]] imaps://USER@HOST[:PORT]/ MOUNTPOINT\n"
		"       imapfs umount MOUNTPOINT\n"
		"       imapfs --help | --version\n"
		"\n"
		"imaps:// is TLS from the first byte (port 993); imap:// requires STARTTLS (port 143).\n"
		"The password comes from password_command, password_file, $IMAPFS_PASSWORD or a prompt.\n"
		"\n"
		"    -f                         stay in the foreground, log to stderr\n");
	config_print_help(out);
	fprintf(out, "\nSee imapfs(1).\n");
}

static int do_umount(const char *mnt)
{
	execlp("fusermount3", "fusermount3", "-u", mnt, (char *)NULL);
	fprintf(stderr, "imapfs: cannot run fusermount3: %s\n", strerror(errno));
	return EXIT_MOUNT;
}

/* Build "-o fsname=...,subtype=imapfs,..." for libfuse. The fsname shows
 * the account in mount(8) and df(1); a ',' in it would split the options. */
static int fuse_opts(const struct config *cfg, const struct url *u, char *buf, size_t len)
{
	char fsname[512];
	int n;

	n = snprintf(fsname, sizeof(fsname), "imap%s://%s@%s:%d/",
		     u->tls == URL_TLS_IMPLICIT ? "s" : "", u->user, u->host, u->port);
	if (n < 0 || (size_t)n >= sizeof(fsname))
		return -ENAMETOOLONG;
	for (char *p = fsname; *p; p++)
		if (*p == ',' || *p == '\\')
			*p = '_';
	n = snprintf(buf, len, "fsname=%s,subtype=imapfs,default_permissions%s%s",
		     fsname, cfg->ro ? ",ro" : "", cfg->allow_other ? ",allow_other" : "");
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int do_mount(int argc, char **argv)
{
	struct config cfg;
	struct url url = { 0 };
	struct vfs *vfs = NULL;
	struct imapfs fs = { 0 };
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	const char *src = NULL, *mnt = NULL;
	char err[512], opts[1024];
	char *password = NULL;
	enum vfs_err cls;
	bool foreground = false;
	struct stat st;
	int i, rc, status = EXIT_USAGE;

	config_init(&cfg);
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			foreground = true;
		} else if (strcmp(argv[i], "-o") == 0 || strncmp(argv[i], "-o", 2) == 0) {
			const char *o = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (o == NULL) {
				fprintf(stderr, "imapfs: -o needs options\n");
				goto out;
			}
			if (config_parse_opts(&cfg, o, err, sizeof(err)) < 0) {
				fprintf(stderr, "imapfs: %s\n", err);
				goto out;
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "imapfs: unknown argument %s (see imapfs --help)\n", argv[i]);
			goto out;
		} else if (src == NULL) {
			src = argv[i];
		} else if (mnt == NULL) {
			mnt = argv[i];
		} else {
			fprintf(stderr, "imapfs: too many arguments (see imapfs --help)\n");
			goto out;
		}
	}
	if (src == NULL || mnt == NULL) {
		usage(stderr);
		goto out;
	}
	if (cfg.debug)
		foreground = true;
	log_init(cfg.debug);
	if (url_parse(src, &url, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out;
	}
	if (url.tls != URL_TLS_STARTTLS && cfg.insecure_plaintext) {
		fprintf(stderr, "imapfs: insecure_plaintext only applies to imap:// URLs\n");
		goto out;
	}
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "imapfs: mount point %s is not a directory\n", mnt);
		goto out;
	}
	rc = secret_get(&cfg, url.user, url.host, &password, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out;
	}

	rc = vfs_new(&cfg, &url, password, &vfs, &cls, err, sizeof(err));
	secret_free(password);
	password = NULL;
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		status = cls == VFS_ERR_AUTH ? EXIT_AUTH : cls == VFS_ERR_CONFIG ? EXIT_USAGE : EXIT_CONNECT;
		goto out;
	}

	status = EXIT_MOUNT;
	if (fuse_opts(&cfg, &url, opts, sizeof(opts)) < 0) {
		fprintf(stderr, "imapfs: mount options too long\n");
		goto out;
	}
	{
		char *fargv[] = { (char *)"imapfs", (char *)"-o", opts, (char *)"-d", NULL };
		struct fuse_args args = FUSE_ARGS_INIT(cfg.debug ? 4 : 3, fargv);

		fs.vfs = vfs;
		fs.uid = getuid();
		fs.gid = getgid();
		fs.timeout = 30.0;
		se = fuse_session_new(&args, &imapfs_ops, sizeof(imapfs_ops), &fs);
	}
	if (se == NULL) {
		fprintf(stderr, "imapfs: cannot create the FUSE session\n");
		goto out;
	}
	fs.se = se;
	if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "imapfs: cannot install signal handlers\n");
		goto out_session;
	}
	if (fuse_session_mount(se, mnt) != 0) {
		fprintf(stderr, "imapfs: cannot mount on %s\n", mnt);
		goto out_signals;
	}
	if (fuse_daemonize(foreground) != 0) {
		fprintf(stderr, "imapfs: cannot detach\n");
		goto out_unmount;
	}
	if (!foreground)
		log_use_syslog();
	log_info("mounted %s on %s", src, mnt);
	/* after fuse_daemonize: a thread started before the fork would be lost */
	if (notify_start(se, &fs.notify) < 0) {
		log_err("cannot start the notification thread");
		goto out_unmount;
	}

	loop = fuse_loop_cfg_create();
	if (loop == NULL)
		goto out_unmount;
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_max_threads(loop, 16);
	fuse_loop_cfg_set_idle_threads(loop, 8);
	rc = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	vfs_shutdown(vfs);
	notify_stop(fs.notify);
	status = rc == 0 ? 0 : EXIT_MOUNT;
	log_info("unmounted %s", mnt);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	if (password)
		secret_free(password);
	vfs_free(vfs);
	url_free(&url);
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	/* a server closing on us must be an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("imapfs %s\n", IMAPFS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "mount") == 0)
		return do_mount(argc - 2, argv + 2);
	if (strcmp(argv[1], "umount") == 0 || strcmp(argv[1], "unmount") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: imapfs umount MOUNTPOINT\n");
			return EXIT_USAGE;
		}
		return do_umount(argv[2]);
	}
	fprintf(stderr, "imapfs: unknown command %s (see imapfs --help)\n", argv[1]);
	return EXIT_USAGE;
}
