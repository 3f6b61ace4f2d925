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
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "accounts.h"
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
		"       imapfs mount [-f] [-o OPT[,OPT...]] ACCOUNT MOUNTPOINT\n"
		"       imapfs SOURCE MOUNTPOINT [-o OPT[,OPT...]]     (as mount.fuse3 and fstab run it)\n"
		"       imapfs umount MOUNTPOINT\n"
		"       imapfs status MOUNTPOINT\n"
		"       imapfs --help | --version\n"
		"\n"
		"imaps:// is TLS from the first byte (port 993); imap:// requires STARTTLS (port 143).\n"
		"ACCOUNT is a [account NAME] section of $XDG_CONFIG_HOME/imapfs/config\n"
		"(~/.config/imapfs/config); -o options on the command line override it.\n"
		"The password (or OAuth2 access token) comes from password_command, password_file,\n"
		"the accounts file, $IMAPFS_PASSWORD or a prompt.\n"
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

/* $XDG_CONFIG_HOME/imapfs/config, else ~/.config/imapfs/config; malloc'd. */
static char *accounts_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	char *p = NULL;

	if (xdg != NULL && xdg[0] == '/')
		return asprintf(&p, "%s/imapfs/config", xdg) < 0 ? NULL : p;
	if (home == NULL || home[0] != '/') {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return asprintf(&p, "%s/.config/imapfs/config", home) < 0 ? NULL : p;
}

/* Read PATH whole (it is small) into a malloc'd *TEXT, with its stat. */
static int accounts_read(const char *path, char **text, size_t *len, struct stat *st)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > (1 << 20)) {
		rc = S_ISREG(st->st_mode) ? -EFBIG : -EINVAL;
		goto out_close;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (n < (size_t)st->st_size) {
		r = read(fd, buf + n, (size_t)st->st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*text = buf;
	*len = n;
out_close:
	close(fd);
	return rc;
}

/*
 * Account NAME from the accounts file onto CFG; its URL in *URL. Prints
 * the reason (file and line) and returns -1 on any error.
 */
static int account_load(const char *name, struct config *cfg, char **url)
{
	struct accounts acc = { 0 };
	const struct accounts_account *a;
	char *path = accounts_path(), *text = NULL, err[512];
	size_t len = 0;
	struct stat st;
	int rc = -1;

	if (path == NULL)
		return -1;
	rc = accounts_read(path, &text, &len, &st);
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s is neither a URL (imaps://USER@HOST/) nor an account: "
			"cannot read %s: %s%s\n", name, path, strerror(-rc),
			rc == -ENOENT ? " (see ACCOUNTS in imapfs(1))" : "");
		rc = -1;
		goto out_path;
	}
	rc = accounts_parse(text, len, path, &acc, err, sizeof(err));
	explicit_bzero(text, len);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out_path;
	}
	rc = -1;
	if (acc.secret_line != 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		fprintf(stderr, "imapfs: %s:%u: the file holds a password but others can read it "
			"(mode %04o): run chmod 600 %s, or use password_command\n", path, acc.secret_line,
			(unsigned)(st.st_mode & 07777), path);
		goto out_acc;
	}
	if (acc.secret_line != 0 && st.st_uid != geteuid() && st.st_uid != 0) {
		fprintf(stderr, "imapfs: %s:%u: the file holds a password but belongs to another user\n",
			path, acc.secret_line);
		goto out_acc;
	}
	a = accounts_find(&acc, name);
	if (a == NULL) {
		fprintf(stderr, "imapfs: no account %s in %s (add an [account %s] section, "
			"or give a URL imaps://USER@HOST/)\n", name, path, name);
		goto out_acc;
	}
	if (accounts_resolve(a, path, cfg, url, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out_acc;
	}
	rc = 0;
out_acc:
	accounts_free(&acc);
out_path:
	free(path);
	return rc;
}

/* imapfs status MOUNTPOINT: the daemon's own account of itself, read
 * through the read-only attribute on the mount root. */
static int do_status(const char *mnt)
{
	char *buf;
	ssize_t n;

	n = getxattr(mnt, VFS_STATUS_XATTR, NULL, 0);
	if (n < 0) {
		if (errno == ENODATA || errno == ENOTSUP)
			fprintf(stderr, "imapfs: %s is not the root of an imapfs mount\n", mnt);
		else if (errno == ENOTCONN)
			fprintf(stderr, "imapfs: the imapfs process behind %s is gone: "
				"run imapfs umount %s and mount again\n", mnt, mnt);
		else
			fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
		return EXIT_USAGE;
	}
	/* the text is built anew for each call and may grow in between (a
	 * watcher connects, a figure gains a digit): room to spare, and
	 * again if that was not enough */
	for (int tries = 0;; tries++) {
		size_t room = (size_t)n + 4096;

		buf = malloc(room);
		if (buf == NULL)
			return EXIT_USAGE;
		n = getxattr(mnt, VFS_STATUS_XATTR, buf, room);
		if (n >= 0 || errno != ERANGE || tries == 3)
			break;
		free(buf);
		n = getxattr(mnt, VFS_STATUS_XATTR, NULL, 0);
		if (n < 0) {
			fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (n < 0) {
		fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
		free(buf);
		return EXIT_USAGE;
	}
	printf("mountpoint: %s\n%.*s", mnt, (int)n, buf);
	free(buf);
	return 0;
}

/* Build "-o fsname=...,subtype=imapfs,..." for libfuse. The fsname shows
 * the account in mount(8) and df(1); a ',' in it would split the options. */
static int fuse_opts(const struct config *cfg, const struct url *u, char *buf, size_t len)
{
	char fsname[512], flags[128];
	int n;

	n = snprintf(fsname, sizeof(fsname), "imap%s://%s@%s:%d/",
		     u->tls == URL_TLS_IMPLICIT ? "s" : "", u->user, u->host, u->port);
	if (n < 0 || (size_t)n >= sizeof(fsname))
		return -ENAMETOOLONG;
	for (char *p = fsname; *p; p++)
		if (*p == ',' || *p == '\\')
			*p = '_';
	config_mount_flags(cfg, flags, sizeof(flags));
	n = snprintf(buf, len, "fsname=%s,subtype=imapfs,default_permissions%s%s%s",
		     fsname, cfg->ro ? ",ro" : "", cfg->allow_other ? ",allow_other" : "", flags);
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* The core tells us about entries other clients removed. */
static void notify_gone(void *ctx, uint64_t parent, const char *name)
{
	notify_entry(ctx, parent, name);
}

static int do_mount(int argc, char **argv)
{
	struct config cfg;
	struct url url = { 0 };
	struct vfs *vfs = NULL;
	struct imapfs fs = { 0 };
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	const char *src = NULL, *mnt = NULL, **cmdline_opts = NULL;
	char err[512], opts[1024];
	char *password = NULL, *account_url = NULL;
	int nopts = 0;
	enum vfs_err cls;
	bool foreground = false;
	struct stat st;
	int i, rc, status = EXIT_USAGE;

	/* From here on the process holds secrets (the accounts file, the
	 * password, tokens). Like ssh-agent: no core file, and no other
	 * process of the user may ptrace it or read /proc/PID/mem; children
	 * (helpers) become dumpable again when they exec. The core limit
	 * covers systems where fs.suid_dumpable still dumps such processes. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "imapfs: warning: cannot turn off core dumps: %s\n", strerror(errno));
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	secret_take_env();

	config_init(&cfg);
	cmdline_opts = calloc((size_t)argc + 1, sizeof(*cmdline_opts));
	if (cmdline_opts == NULL)
		goto out;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			foreground = true;
		} else if (strcmp(argv[i], "-o") == 0 || strncmp(argv[i], "-o", 2) == 0) {
			const char *o = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (o == NULL) {
				fprintf(stderr, "imapfs: -o needs options (see imapfs --help)\n");
				goto out;
			}
			/* applied after the accounts file, so that they win */
			cmdline_opts[nopts++] = o;
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
	if (strstr(src, "://") == NULL) {
		if (account_load(src, &cfg, &account_url) < 0)
			goto out;
		src = account_url;
	}
	for (i = 0; i < nopts; i++) {
		if (config_parse_opts(&cfg, cmdline_opts[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "imapfs: %s\n", err);
			goto out;
		}
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
		fprintf(stderr, "imapfs: mount point %s is not a directory (create it with mkdir -p %s)\n",
			mnt, mnt);
		goto out;
	}
	if (cfg.auth != CONFIG_AUTH_LOGIN) {
		/* OAuth2: the token is fetched by every connection (session_open) */
		if (!cfg.password_command && !cfg.password_file && !cfg.password && !secret_env_set()) {
			fprintf(stderr, "imapfs: auth=%s needs an access token from -o password_command=CMD "
				"(e.g. oama access ADDRESS, pizauth show ACCOUNT, mutt_oauth2.py TOKENFILE), "
				"so that it can be fetched again when it expires\n", config_auth_name(cfg.auth));
			goto out;
		}
	} else {
		rc = secret_get(&cfg, url.user, url.host, &password, err, sizeof(err));
		/* LOGIN needs the password once, here: the copies of its
		 * sources go now; the vfs keeps one for reconnects */
		secret_drop_env();
		if (cfg.password != NULL) {
			explicit_bzero(cfg.password, strlen(cfg.password));
			free(cfg.password);
			cfg.password = NULL;
		}
		if (rc < 0) {
			fprintf(stderr, "imapfs: %s\n", err);
			goto out;
		}
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
		pthread_mutex_init(&fs.hlock, NULL);
		fs.uid = getuid();
		fs.gid = getgid();
		fs.timeout = 30.0;
		se = fuse_session_new(&args, &imapfs_ops, sizeof(imapfs_ops), &fs);
		fuse_opt_free_args(&args);	/* libfuse may have copied them */
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
		fprintf(stderr, "imapfs: cannot mount on %s (see the message above; is /dev/fuse there, "
			"and may this user mount on it?)\n", mnt);
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
	vfs_set_notify(vfs, notify_gone, fs.notify);
	if (vfs_watch_start(vfs) < 0)
		log_warn("cannot start watching for changes; other clients' changes show after a remount");

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
	ops_release_all(&fs);
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
	free(account_url);
	free(cmdline_opts);
	secret_drop_env();
	return status;
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
	if (strcmp(argv[1], "status") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: imapfs status MOUNTPOINT\n");
			return EXIT_USAGE;
		}
		return do_status(argv[2]);
	}
	if (strcmp(argv[1], "umount") == 0 || strcmp(argv[1], "unmount") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: imapfs umount MOUNTPOINT\n");
			return EXIT_USAGE;
		}
		return do_umount(argv[2]);
	}
	/* mount.fuse3 (fstab type fuse.imapfs) runs "imapfs SOURCE MOUNTPOINT -o OPTS" */
	if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-')
		return do_mount(argc - 1, argv + 1);
	fprintf(stderr, "imapfs: unknown command %s (see imapfs --help)\n", argv[1]);
	return EXIT_USAGE;
}
