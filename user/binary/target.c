// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Opens a Go target: checks the process exists, finds its executable (also
 * inside containers, through /proc/PID/exe), and runs every inspection step
 * in order, stopping at the first that fails with its own message.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/debug.h"
#include "binary/target.h"

static int check_process(pid_t pid)
{
	if (kill(pid, 0) == 0 || errno == EPERM)
		return 0;
	pr_err("no process with PID %d\n", pid);
	return -ESRCH;
}

/* The last NSpid field of /proc/PID/status: the pid the process sees itself as. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], line[512];
	pid_t last = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (long v; (v = strtol(p, &end, 10)), end != p; p = end)
			last = (pid_t)v;
		break;
	}
	fclose(f);
	return last;
}

/* PIE: the bias of the executable's first mapping, matched by inode in /proc/PID/maps. */
static int find_load_bias(struct gt_target *t)
{
	unsigned long long start, off, ino;
	char path[64], line[1024];
	struct stat st;
	uint64_t va;
	FILE *f;

	if (!t->pid || !t->elf.pie)
		return 0;
	if (stat(t->exe, &st))
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%*x %*s %llx %*s %llu", &start, &off, &ino) != 3 ||
		    ino != st.st_ino || elf_file__offset_to_vaddr(&t->elf, off, &va))
			continue;
		t->load_bias = start - va;
		fclose(f);
		return 0;
	}
	fclose(f);
	pr_err("cannot find the executable of PID %d in /proc/%d/maps\n", t->pid, t->pid);
	return -ENOENT;
}

int target__open(struct gt_target *t, pid_t pid, const char *path)
{
	int err;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (pid) {
		char link[64];

		err = check_process(pid);
		if (err)
			return err;
		/*
		 * /proc/PID/exe opens the very inode the process runs: the file it
		 * mapped even when the path now names another file (a deploy
		 * replaced it) or nothing (deleted), and inside another mount
		 * namespace.  Symbols, offsets and the uprobes' inode all come
		 * from it, never from exe_name.
		 */
		snprintf(t->exe, sizeof(t->exe), "/proc/%d/exe", pid);
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, t->exe_name, sizeof(t->exe_name) - 1);
		if (n < 0) {
			err = -errno;
			pr_err("cannot read the executable of PID %d: %s%s\n", pid, strerror(errno),
			       errno == EACCES ? " (run as root)" : "");
			return err;
		}
		t->exe_name[n] = 0;
		t->ns_pid = ns_pid(pid);
	} else {
		snprintf(t->exe, sizeof(t->exe), "%s", path);
		snprintf(t->exe_name, sizeof(t->exe_name), "%s", path);
	}
	err = elf_file__open(&t->elf, t->exe);
	if (err)
		return err;
	err = go_version__identify(&t->elf, &t->ver);
	if (!err) /* an old Go gets one line about its version, not about its tables */
		err = go_offsets__check_version(&t->ver);
	if (err)
		goto fail;
	err = pclntab__open(&t->pcln, &t->elf);
	if (err)
		goto fail;
	err = go_offsets__resolve(&t->elf, t->pcln, &t->ver, &t->rt);
	if (err)
		goto fail;
	err = find_load_bias(t);
	if (err)
		goto fail;
	return 0;
fail:
	target__close(t);
	return err;
}

void target__close(struct gt_target *t)
{
	if (t->pcln)
		pclntab__close(t->pcln);
	t->pcln = NULL;
	if (t->elf.data)
		elf_file__close(&t->elf);
	memset(&t->elf, 0, sizeof(t->elf));
}

int target__bind(struct gt_target *t, const struct gt_target *bin, pid_t pid)
{
	char link[64];
	ssize_t n;

	*t = *bin;
	t->pid = pid;
	t->load_bias = 0;
	snprintf(t->exe, sizeof(t->exe), "/proc/%d/exe", pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, t->exe_name, sizeof(t->exe_name) - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	t->exe_name[n] = 0;
	return find_load_bias(t);
}
