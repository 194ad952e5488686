// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The --dir writer and its size-bounded retention (see dirsink.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/debug.h"
#include "agent/dirsink.h"

struct file {
	int64_t start;
	uint64_t size;
	char *path;
};

struct dirsink {
	char dir[1024];
	uint64_t max, bytes;
	struct file *f;	/* sorted by start, oldest first */
	size_t n, cap;
	bool warned;
};

static int add(struct dirsink *d, int64_t start, uint64_t size, const char *path)
{
	size_t i;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct file *f = realloc(d->f, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		d->f = f;
		d->cap = cap;
	}
	/* new files are the newest: append; older ones from a scan are placed in order */
	for (i = d->n; i > 0 && d->f[i - 1].start > start; i--)
		;
	memmove(&d->f[i + 1], &d->f[i], (d->n - i) * sizeof(*d->f));
	d->f[i] = (struct file){ start, size, strdup(path) };
	d->n++;
	d->bytes += size;
	return 0;
}

/* Files DIR/<svc>/<type>/<start>.pb.gz left by an earlier run. */
static void scan(struct dirsink *d)
{
	DIR *a = opendir(d->dir), *b, *c;
	struct dirent *x, *y, *z;
	char p[2048];

	while (a && (x = readdir(a))) {
		if (x->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->dir, x->d_name);
		for (b = opendir(p); b && (y = readdir(b));) {
			char q[4096];

			if (y->d_name[0] == '.')
				continue;
			snprintf(q, sizeof(q), "%s/%s", p, y->d_name);
			for (c = opendir(q); c && (z = readdir(c));) {
				char r[8400], *end;
				struct stat st;
				int64_t start = strtoll(z->d_name, &end, 10);

				if (end == z->d_name || strcmp(end, ".pb.gz"))
					continue;
				snprintf(r, sizeof(r), "%s/%s", q, z->d_name);
				if (!stat(r, &st))
					add(d, start, st.st_size, r);
			}
			if (c)
				closedir(c);
		}
		if (b)
			closedir(b);
	}
	if (a)
		closedir(a);
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

int dirsink__open(struct dirsink **out, const char *dir, uint64_t max_bytes)
{
	struct dirsink *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	d->max = max_bytes;
	err = mkdir_p(d->dir);
	if (err) {
		pr_err("cannot create --dir %s: %s\n", dir, strerror(-err));
		free(d);
		return err;
	}
	scan(d);
	*out = d;
	return 0;
}

/* A path element from a service name: no '/', no leading dot. */
static void safe_name(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++, i++)
		out[i] = (*s == '/' || (i == 0 && *s == '.')) ? '_' : *s;
	out[i] = 0;
	if (!i)
		snprintf(out, len, "_");
}

static void trim(struct dirsink *d)
{
	size_t k = 0;

	while (d->max && d->bytes > d->max && k < d->n) {
		unlink(d->f[k].path);
		d->bytes -= d->f[k].size;
		free(d->f[k].path);
		k++;
	}
	memmove(d->f, d->f + k, (d->n - k) * sizeof(*d->f));
	d->n -= k;
}

int dirsink__write(struct dirsink *d, const struct agent_batch *b)
{
	int err = 0;

	for (int i = 0; i < b->n; i++) {
		const struct agent_series *s = &b->s[i];
		char svc[512], path[8192], tmp[8300];
		int fd, e = 0;

		safe_name(s->service, svc, sizeof(svc));
		snprintf(path, sizeof(path), "%s/%s/%s", d->dir, svc, s->p->type);
		e = mkdir_p(path);
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%" PRId64 ".pb.gz",
			 s->p->start_ns);
		/* two processes of one service in one window: the second gets a pid suffix */
		if (!e && !access(path, F_OK))
			for (int j = 0; j < s->nlabels; j++)
				if (!strcmp(s->label[j][0], "process.pid"))
					snprintf(strrchr(path, '.') - 3, 64, "-%s.pb.gz", s->label[j][1]);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (!e) {
			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write(fd, s->p->pprof, s->p->len) != (ssize_t)s->p->len ||
			    close(fd) || rename(tmp, path))
				e = -errno;
		}
		if (e) {
			err = e;
			if (!d->warned)
				pr_warn("cannot write %s: %s\n", path, strerror(-e));
			d->warned = true;
			continue;
		}
		add(d, s->p->start_ns, s->p->len, path);
	}
	trim(d);
	return err;
}

uint64_t dirsink__bytes(const struct dirsink *d)
{
	return d->bytes;
}

void dirsink__close(struct dirsink *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->f[i].path);
	free(d->f);
	free(d);
}
