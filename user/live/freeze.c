// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* SIGSTOP for `--stop`, never left behind (see freeze.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lib/debug.h"
#include "live/freeze.h"

static volatile sig_atomic_t stopped_pid; /* a pid_t, read by the signal handler */

/* true when every thread of pid is in the stopped state. */
static bool all_stopped(pid_t pid)
{
	char path[320], buf[512];
	struct dirent *de;
	bool all = true;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return true; /* gone: nothing to wait for */
	while (all && (de = readdir(d))) {
		FILE *f;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
			all = false;
		fclose(f);
	}
	closedir(d);
	return all;
}

int freeze__stop(pid_t pid, volatile sig_atomic_t *interrupted)
{
	stopped_pid = pid;
	if (kill(pid, SIGSTOP)) {
		stopped_pid = 0;
		pr_err("cannot stop PID %d: %s\n", pid, strerror(errno));
		return -errno;
	}
	/* SIGSTOP is asynchronous: wait (bounded) until every thread is off its CPU. */
	for (int i = 0; i < 1000 && !all_stopped(pid) && !*interrupted; i++)
		usleep(1000);
	return 0;
}

void freeze__resume(void)
{
	if (stopped_pid)
		kill(stopped_pid, SIGCONT);
	stopped_pid = 0;
}
