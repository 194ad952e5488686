// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go process discovery.  The non-Go check reads only the ELF and section
 * headers (a few preads), so a host of C daemons and shells costs one stat
 * per process after the first of each binary.
 */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/debug.h"
#include "agent/discovery.h"

#define MAX_BINARIES 4096 /* non-Go entries beyond this are forgotten and re-checked */

struct binaries {
	struct agent_binary **v;
	size_t n, cap;
	uint64_t inspected;
};

struct binaries *binaries__new(void)
{
	return calloc(1, sizeof(struct binaries));
}

void binaries__free(struct binaries *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i]->go)
			target__close(&b->v[i]->t);
		free(b->v[i]);
	}
	free(b->v);
	free(b);
}

bool discovery__is_go_elf(const char *path)
{
	static const char *const go_sections[] = { ".gopclntab", ".go.buildinfo",
						   ".note.go.buildid", ".go.module" };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, str;
	char *names = NULL;
	bool go = false;

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    !eh.e_shnum || eh.e_shnum > 4096 || eh.e_shstrndx >= eh.e_shnum)
		goto out;
	sh = malloc(eh.e_shnum * sizeof(*sh));
	if (!sh || pread(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff) !=
			   (ssize_t)(eh.e_shnum * sizeof(*sh)))
		goto out;
	str = sh[eh.e_shstrndx];
	if (!str.sh_size || str.sh_size > 1 << 20 || !(names = malloc(str.sh_size + 1)) ||
	    pread(fd, names, str.sh_size, str.sh_offset) != (ssize_t)str.sh_size)
		goto out;
	names[str.sh_size] = 0;
	for (int i = 0; i < eh.e_shnum && !go; i++)
		for (size_t k = 0; k < sizeof(go_sections) / sizeof(*go_sections); k++)
			if (sh[i].sh_name < str.sh_size &&
			    !strcmp(names + sh[i].sh_name, go_sections[k]))
				go = true;
out:
	free(names);
	free(sh);
	close(fd);
	return go;
}

static struct agent_binary *find(struct binaries *b, const struct stat *st)
{
	for (size_t i = 0; i < b->n; i++) {
		struct agent_binary *x = b->v[i];

		if (x->dev == st->st_dev && x->ino == st->st_ino && x->size == st->st_size &&
		    x->mtime == st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec)
			return x;
	}
	return NULL;
}

/* Forgets unreferenced non-Go entries when the cache is full. */
static void trim(struct binaries *b)
{
	size_t j = 0;

	if (b->n < MAX_BINARIES)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i]->go)
			b->v[j++] = b->v[i];
		else
			free(b->v[i]);
	}
	b->n = j;
}

static struct agent_binary *inspect(struct binaries *b, pid_t pid, const char *exe,
				    const struct stat *st)
{
	struct agent_binary *x = calloc(1, sizeof(*x));
	int quiet = gt_quiet;

	if (!x)
		return NULL;
	x->dev = st->st_dev;
	x->ino = st->st_ino;
	x->size = st->st_size;
	x->mtime = st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
	b->inspected++;
	if (!discovery__is_go_elf(exe)) {
		snprintf(x->why, sizeof(x->why), "not a Go binary");
	} else {
		/* target__open explains failures on stderr: shown under -v only */
		int saved = gt_verbose ? -1 : dup(2), nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

		gt_quiet = 1;
		fflush(stderr);
		if (saved >= 0 && nul >= 0)
			dup2(nul, 2);
		x->go = !target__open(&x->t, 0, exe);
		fflush(stderr);
		if (saved >= 0) {
			dup2(saved, 2);
			close(saved);
		}
		if (nul >= 0)
			close(nul);
		gt_quiet = quiet;
		if (!x->go)
			snprintf(x->why, sizeof(x->why), "Go binary gtrace cannot read (see "
				 "'gtrace info -p %d')", pid);
	}
	trim(b);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct agent_binary **v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			if (x->go)
				target__close(&x->t);
			free(x);
			return NULL;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = x;
	return x;
}

struct agent_binary *binaries__get(struct binaries *b, pid_t pid, int *err)
{
	char exe[64];
	struct agent_binary *x;
	struct stat st;

	*err = 0;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (stat(exe, &st)) {
		*err = errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
		return NULL;
	}
	x = find(b, &st);
	if (!x)
		x = inspect(b, pid, exe, &st);
	if (!x) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!x->go)
		return NULL;
	x->refs++;
	return x;
}

void binaries__put(struct binaries *b, struct agent_binary *x)
{
	if (--x->refs > 0)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i] != x)
			continue;
		/* no process runs it now: a later one with the same key reopens it */
		target__close(&x->t);
		free(x);
		b->v[i] = b->v[--b->n];
		return;
	}
}

void binaries__counts(const struct binaries *b, uint64_t *inspected, uint64_t *open)
{
	*inspected = b->inspected;
	*open = 0;
	for (size_t i = 0; i < b->n; i++)
		*open += b->v[i]->go;
}

int discovery__scan(void (*fn)(void *ctx, pid_t pid), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		fn(ctx, atoi(de->d_name));
		n++;
	}
	closedir(d);
	return n;
}
