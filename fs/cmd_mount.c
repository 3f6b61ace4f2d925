/*
 * cmd_mount — imapfs mount: command line, secrets, first connection, mount.
 *
 * As in sshfs, everything that can fail for a reason the user should see
 * (bad options, wrong password, TLS refusal, unreachable server) fails here,
 * on the terminal, before the daemon detaches.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "connhint.h"
#include "fuseconf.h"
#include "log.h"
#include "logfile.h"
#include "mountlock.h"
#include "mountpoint.h"
#include "ops.h"
#include "sdnotify.h"
#include "secret.h"
#include "url.h"
#include "vfs.h"
#include "watchdog.h"

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
	/* allow_root and auto_unmount are libfuse's own (mount.c): the
	 * first mounts allow_other and lets libfuse refuse everyone but
	 * root and us; the second mounts through fusermount3, which stays
	 * and unmounts when we end, kill -9 included, mostly: our own
	 * watcher backs it up (see watchdog.h) */
	n = snprintf(buf, len, "fsname=%s,subtype=imapfs,default_permissions%s%s%s%s%s",
		     fsname, cfg->ro ? ",ro" : "", cfg->allow_other ? ",allow_other" : "",
		     cfg->allow_root ? ",allow_root" : "", cfg->auto_unmount ? ",auto_unmount" : "",
		     flags);
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* The core tells us about entries other clients removed. */
static void notify_gone(void *ctx, uint64_t parent, const char *name)
{
	notify_entry(ctx, parent, name);
}

int cmd_mount(int argc, char **argv)
{
	struct config cfg;
	struct url url = { 0 };
	struct vfs *vfs = NULL;
	struct imapfs fs = { 0 };
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	const char *src = NULL, *mnt = NULL, **cmdline_opts = NULL;
	char err[512], opts[1024];
	char *password = NULL, *account_url = NULL, *mnt_abs = NULL;
	int nopts = 0, mnt_lock = -1;
	enum vfs_err cls;
	bool foreground = false, debug = false;
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
	sdnotify_take_env();	/* before any helper runs */

	config_init(&cfg);
	cmdline_opts = calloc((size_t)argc + 1, sizeof(*cmdline_opts));
	if (cmdline_opts == NULL)
		goto out;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			foreground = true;
		} else if (strcmp(argv[i], "-d") == 0) {
			debug = true;	/* sshfs's -d: -o debug,imap_trace */
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_usage(stdout);
			status = 0;
			goto out;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("imapfs %s\n", IMAPFS_VERSION);
			status = 0;
			goto out;
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
		fprintf(stderr, "imapfs: missing %s (usage: imapfs mount SOURCE MOUNTPOINT; see imapfs --help)\n",
			src == NULL ? "SOURCE and MOUNTPOINT" : "MOUNTPOINT");
		goto out;
	}
	if (mount_args_check(src, mnt) < 0)
		goto out;
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
	if (debug)
		cfg.debug = cfg.imap_trace = true;
	if (cfg.debug)
		foreground = true;
	if (cfg.allow_other && cfg.allow_root) {
		fprintf(stderr, "imapfs: allow_other and allow_root exclude each other "
			"(allow_other already lets root in)\n");
		goto out;
	}
	if (fuseconf_check(cfg.allow_root ? "allow_root" : cfg.allow_other ? "allow_other" : NULL) < 0)
		goto out;
	log_init(cfg.debug);
	if (url_parse(src, &url, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out;
	}
	/* before a password prompt: the cafile is read only when connecting */
	if (cfg.cafile != NULL && connhint_cafile(cfg.cafile, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out;
	}
	if (url.tls != URL_TLS_STARTTLS && cfg.insecure_plaintext) {
		fprintf(stderr, "imapfs: insecure_plaintext only applies to imap:// URLs\n");
		goto out;
	}
	/* before the password prompt and the connection: fail fast */
	if (mountpoint_check(mnt, cfg.nonempty, &mnt_abs, &mnt_lock) < 0)
		goto out;
	mnt = mnt_abs;
	if (logfile_setup(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
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

	if (!foreground)
		vfs_watch_check(vfs);	/* the watcher's own warning goes to syslog */
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
		fs.uid = cfg.uid >= 0 ? (uid_t)cfg.uid : getuid();
		fs.gid = cfg.gid >= 0 ? (gid_t)cfg.gid : getgid();
		fs.umask = cfg.umask;
		fs.timeout = 30.0;
		fs.ro = cfg.ro;
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
	/* the login took a while: something may have been mounted here */
	if (mountpoint_recheck(mnt) < 0) {
		status = EXIT_USAGE;
		goto out_signals;
	}
	rc = fuse_session_mount(se, mnt);
	mountlock_release(&mnt_lock);
	if (rc != 0) {
		fprintf(stderr, "imapfs: cannot mount on %s (see the message above; is /dev/fuse there, "
			"and may this user mount on it?)\n", mnt);
		goto out_signals;
	}
	if (!foreground)
		logfile_detaching(&cfg, &url);
	if (fuse_daemonize(foreground) != 0) {
		fprintf(stderr, "imapfs: cannot detach\n");
		goto out_unmount;
	}
	if (!foreground)
		log_detached();
	log_info("mounted %s on %s", src, mnt);
	/* vfs_new said it on the terminal; the log has it too */
	if (!foreground && vfs_offline_note(vfs) != NULL)
		log_warn("%s", vfs_offline_note(vfs));
	/* before any thread starts; libfuse's own watcher cannot always
	 * (for a user never, before 3.15): see watchdog.h */
	if (cfg.auto_unmount)
		watchdog_start(mnt);
	/* after fuse_daemonize: a thread started before the fork would be lost */
	if (notify_start(se, &fs.notify) < 0) {
		log_err("cannot start the notification thread");
		goto out_unmount;
	}
	vfs_set_notify(vfs, notify_gone, fs.notify);
	if (push_start(se, vfs, OPS_PUSH_MAX, &fs.push) < 0)
		log_warn("cannot start the page cache thread; reads from the disk cache are slower");
	if (vfs_watch_start(vfs) < 0)
		log_warn("cannot start watching for changes; other clients' changes show after a remount");

	loop = fuse_loop_cfg_create();
	if (loop == NULL)
		goto out_unmount;
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_max_threads(loop, 16);
	fuse_loop_cfg_set_idle_threads(loop, 8);
	/* requests queue on /dev/fuse until the loop reads them: usable now */
	sdnotify_ready(src, mnt);
	rc = fuse_session_loop_mt(se, loop);
	sdnotify_stopping(mnt);
	fuse_loop_cfg_destroy(loop);
	vfs_shutdown(vfs);
	push_stop(fs.push);
	notify_stop(fs.notify);
	ops_release_all(&fs);
	/* the loop returns the number of the signal (SIGTERM, SIGINT,
	 * SIGHUP) that ended it: a clean stop, as an unmount is */
	status = rc >= 0 ? 0 : EXIT_MOUNT;
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
	free(mnt_abs);
	mountlock_release(&mnt_lock);
	free(cmdline_opts);
	secret_drop_env();
	return status;
}

