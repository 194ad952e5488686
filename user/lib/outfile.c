// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Safe output files as root: the rules are in outfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/debug.h"
#include "lib/outfile.h"

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

int outfile__check(const char *path, const char *const *inputs, size_t n)
{
	struct stat st, in;

	if (!path || !strcmp(path, "-"))
		return 0;
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0; /* a new name; creating it says what is wrong with the directory */
		pr_err("cannot use %s as output: %s\n", path, strerror(errno));
		return -errno;
	}
	/* Same file first: "that is your input" is the more useful error. */
	for (size_t i = 0; i < n; i++) {
		if (!inputs[i] || !strcmp(inputs[i], "-") || stat(inputs[i], &in))
			continue;
		struct stat out;

		if (!stat(path, &out) && out.st_dev == in.st_dev && out.st_ino == in.st_ino) {
			pr_err("output %s is the input %s: give another output name\n", path,
			       inputs[i]);
			return -EEXIST;
		}
	}
	if (S_ISLNK(st.st_mode)) {
		pr_err("output %s is a symbolic link; gtrace does not write through links: remove it or give another name\n",
		       path);
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("output %s is %s; gtrace writes only regular files: give a file name\n", path,
		       kind(st.st_mode));
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	return 0;
}

static char *old_name(const char *path)
{
	size_t n = strlen(path);
	char *s = malloc(n + 5);

	if (s)
		memcpy(s, path, n), memcpy(s + n, ".old", 5);
	return s;
}

/* An existing regular OUT becomes OUT.old: renamed (STREAM) or hard-linked (ATOMIC, so OUT never vanishes). */
static int keep_old(struct gt_outfile *o, bool link_it)
{
	struct stat st;
	char *old;
	int err = 0;

	if (lstat(o->path, &st) || !S_ISREG(st.st_mode))
		return 0;
	old = old_name(o->path);
	if (!old)
		return -ENOMEM;
	if (link_it) {
		if (unlink(old) && errno != ENOENT)
			err = -errno;
		else if (link(o->path, old))
			err = -errno;
	} else if (rename(o->path, old)) {
		err = -errno;
	}
	if (err)
		pr_err("cannot keep the existing %s as %s: %s\n", o->path, old, strerror(-err));
	else
		o->kept_old = true;
	free(old);
	return err;
}

static mode_t current_umask(void)
{
	mode_t m = umask(077);

	umask(m);
	return m;
}

int outfile__open(struct gt_outfile *o, const char *path, enum gt_out_mode mode, mode_t perm,
		  const char *const *inputs, size_t n)
{
	int err;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (!strcmp(path, "-")) {
		o->stdout_ = true;
		o->fd = STDOUT_FILENO;
		return 0;
	}
	err = outfile__check(path, inputs, n);
	if (err)
		return err;
	o->path = strdup(path);
	if (!o->path)
		return -ENOMEM;
	if (mode == GT_OUT_STREAM) {
		err = keep_old(o, false);
		if (err)
			goto fail;
		/* O_EXCL: a file or link planted since the check makes this fail, never followed. */
		o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
		if (o->fd < 0) {
			err = -errno;
			pr_err("cannot create %s: %s\n", path, strerror(errno));
			goto fail;
		}
		/* open applies the umask; captures are perm exactly. */
		if (fchmod(o->fd, perm)) {
			err = -errno;
			pr_err("cannot set the mode of %s: %s\n", path, strerror(errno));
			close(o->fd);
			unlink(path);
			goto fail;
		}
		return 0;
	}
	{
		char *dup = strdup(path), *dir, *base;
		size_t len;

		if (!dup) {
			err = -ENOMEM;
			goto fail;
		}
		dir = dirname(dup);
		base = basename((char *)path);
		len = strlen(dir) + strlen(base) + 16;
		o->tmp = malloc(len);
		if (!o->tmp) {
			free(dup);
			err = -ENOMEM;
			goto fail;
		}
		snprintf(o->tmp, len, "%s/.%s.XXXXXX", dir, base);
		free(dup);
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC); /* O_CREAT|O_EXCL, mode 0600 */
	if (o->fd < 0) {
		err = -errno;
		pr_err("cannot create %s: %s\n", path, strerror(errno)); /* its temporary, really */
		goto fail;
	}
	if (perm != 0600 && fchmod(o->fd, perm & ~current_umask())) {
		err = -errno;
		pr_err("cannot set the mode of %s: %s\n", o->tmp, strerror(errno));
		close(o->fd);
		unlink(o->tmp);
		goto fail;
	}
	return 0;
fail:
	o->fd = -1;
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return err;
}

FILE *outfile__fdopen(struct gt_outfile *o)
{
	FILE *f;

	if (o->stdout_)
		return stdout;
	f = fdopen(o->fd, "w");
	if (!f)
		pr_err("cannot write %s: %s\n", o->path, strerror(errno));
	return f;
}

static void release(struct gt_outfile *o, FILE *f)
{
	if (f && f != stdout)
		fclose(f);
	else if (!f && o->fd >= 0 && !o->stdout_)
		close(o->fd);
	o->fd = -1;
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}

int outfile__commit(struct gt_outfile *o, FILE *f)
{
	const char *name = o->stdout_ ? "standard output" : o->path;
	int err = 0;

	if (f && (fflush(f) || ferror(f)))
		err = errno ? -errno : -EIO;
	if (!err && !o->stdout_ && fsync(o->fd))
		err = -errno;
	if (err) {
		pr_err("failed to write %s: %s\n", name, strerror(-err));
		outfile__abort(o, f);
		return err;
	}
	if (o->stdout_) {
		release(o, f);
		return 0;
	}
	if (f && f != stdout) {
		if (fclose(f)) {
			err = -errno;
			pr_err("failed to write %s: %s\n", name, strerror(errno));
			o->fd = -1;
			outfile__abort(o, NULL);
			return err;
		}
		f = NULL;
		o->fd = -1;
	}
	if (o->tmp) {
		err = keep_old(o, true);
		if (!err && rename(o->tmp, o->path)) {
			err = -errno;
			pr_err("cannot rename %s to %s: %s\n", o->tmp, o->path, strerror(errno));
		}
		if (err) {
			unlink(o->tmp);
			release(o, f);
			return err;
		}
	}
	release(o, f);
	return 0;
}

void outfile__abort(struct gt_outfile *o, FILE *f)
{
	if (f && f != stdout) {
		fclose(f);
		o->fd = -1;
	}
	if (o->tmp)
		unlink(o->tmp);
	release(o, NULL);
}
