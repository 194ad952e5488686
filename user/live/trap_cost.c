// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bare-trap calibration (see trap_cost.h).  The probe goes on the file
 * offset of trap_cost__site in whichever mapping holds it (/proc/self/maps),
 * through the uprobe PMU, pid = this process only.  Rounds are timed with
 * CLOCK_MONOTONIC and the best kept: on a shared machine the slow rounds
 * measure other processes, not the trap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/trap_cost.h"

#define CALLS 4000
#define ROUNDS 5

/*
 * What the probe hits.  On x86_64 the probe sits on a Jcc, as gtrace's own
 * entry probes do (the JBE of a Go function's stack check): the kernel
 * emulates it, no single-step.  A probe on an ordinary instruction would be
 * copied out of line and single-stepped, ~15x dearer on a VM
 * (shared/reference/probe-cost.md), and would measure a site gtrace avoids.
 */
#if defined(__x86_64__)
__asm__(".text\n"
	".globl trap_cost__target\n"
	".type trap_cost__target, @function\n"
	"trap_cost__target:\n"
	"	cmp %rsp, %rdi\n"
	".globl trap_cost__site\n"
	"trap_cost__site:\n"
	"	jbe 1f\n"
	"1:	lea 1(%rdi), %eax\n"
	"	ret\n"
	".size trap_cost__target, .-trap_cost__target\n");
int trap_cost__target(int x);
extern const char trap_cost__site[];
#define SITE ((uintptr_t)trap_cost__site)
#else
__attribute__((noinline, used)) int trap_cost__target(int x);
__attribute__((noinline, used)) int trap_cost__target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}
#define SITE ((uintptr_t)trap_cost__target)
#endif

static int (*volatile target_fn)(int) = trap_cost__target;

/* The best of ROUNDS rounds of CALLS calls, ns per call. */
static double time_calls(void)
{
	double best = 0;
	int acc = 0;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = clock__mono_ns();

		for (int i = 0; i < CALLS; i++)
			acc = target_fn(acc);
		double per = (double)(clock__mono_ns() - t0) / CALLS;

		if (!r || per < best)
			best = per;
	}
	return acc >= 0 ? best : best; /* acc keeps the loop */
}

/* The file and offset this process maps addr from. */
static int file_offset(uintptr_t addr, char *path, size_t plen, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, foff;
		char perms[8], file[4096] = "";

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &lo, &hi, perms, &foff,
			   file) < 4 || addr < lo || addr >= hi)
			continue;
		if (file[0] != '/' || perms[2] != 'x')
			break;
		snprintf(path, plen, "%s", file);
		*off = addr - lo + foff;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int uprobe_pmu_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	int t = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &t) != 1)
		t = -EINVAL;
	fclose(f);
	return t;
}

int trap_cost__measure(double *ns)
{
	struct perf_event_attr attr;
	char path[4096];
	uint64_t off = 0, hits = 0;
	double bare, probed;
	int type = uprobe_pmu_type(), fd, err;

	if (type < 0)
		return type;
	err = file_offset(SITE, path, sizeof(path), &off);
	if (err)
		return err;
	bare = time_calls();
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t)path; /* uprobe_path */
	attr.config2 = off;			     /* probe_offset */
	attr.disabled = 1;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	probed = time_calls();
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &hits, sizeof(hits)) != sizeof(hits))
		hits = 0;
	close(fd);
	/* the probe must really have fired on every call, else this measured nothing */
	if (hits < (uint64_t)CALLS * ROUNDS) {
		pr_debug("trap calibration: %" PRIu64 " hits for %d calls\n", hits, CALLS * ROUNDS);
		return -ENODATA;
	}
	*ns = probed > bare ? probed - bare : 0;
	pr_debug("trap calibration: %.0f ns a call with a uprobe, %.1f ns without (%s+%#" PRIx64 ")\n",
		 probed, bare, path, off);
	return 0;
}
