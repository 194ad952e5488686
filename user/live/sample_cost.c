// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sample-interrupt calibration (see sample_cost.h).  The event fires every
 * PERIOD_NS of this thread's CPU time, 20 kHz: fast enough that a round's
 * samples cost a measurable share of it (~100 samples, 10% of a 5 ms round), far
 * under the kernel's perf_event_max_sample_rate (100 kHz by default), so it
 * does not make the kernel lower that rate for every other perf user.
 * Rounds alternate with and without the event and the best of each is
 * kept: on a shared machine the slow rounds measure other processes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/sample_cost.h"

#define PERIOD_NS 50000
#define SPIN 4000000 /* iterations: ~5 ms here */
#define ROUNDS 7

static volatile uint64_t sink;

/* ns of one spin of SPIN iterations, and the CPU-clock count it added to fd (-1: none). */
static uint64_t spin(int fd, uint64_t *counted)
{
	uint64_t c0 = 0, c1 = 0, t0, t;
	uint64_t x = sink;

	if (fd >= 0 && read(fd, &c0, sizeof(c0)) != sizeof(c0))
		c0 = 0;
	t0 = clock__mono_ns();
	for (uint64_t i = 0; i < SPIN; i++)
		x = x * 6364136223846793005ull + i;
	t = clock__mono_ns() - t0;
	sink = x;
	if (fd >= 0 && read(fd, &c1, sizeof(c1)) == sizeof(c1))
		*counted = c1 - c0;
	return t;
}

int sample_cost__measure(double *ns)
{
	struct perf_event_attr attr;
	uint64_t bare = 0, sampled = 0, counted = 0, cnt = 0;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = PERIOD_NS;
	attr.disabled = 1;
	/* this thread only: the agent's other threads are not spinning */
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t b, s;

		b = spin(-1, NULL);
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
		s = spin(fd, &cnt);
		ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
		if (!r || b < bare)
			bare = b;
		if (!r || s < sampled) {
			sampled = s;
			counted = cnt;
		}
	}
	close(fd);
	/* the event must have counted the spin, else no sample was taken */
	if (counted < PERIOD_NS * 10) {
		pr_debug("sample calibration: the event counted %llu ns of a %llu ns spin\n",
			 (unsigned long long)counted, (unsigned long long)sampled);
		return -ENODATA;
	}
	*ns = sampled > bare ? (double)(sampled - bare) / ((double)counted / PERIOD_NS) : 0;
	pr_debug("sample calibration: a %.2f ms spin took %.2f ms under a %d kHz CPU-clock event "
		 "(%.0f samples): %.0f ns a sample\n", bare / 1e6, sampled / 1e6,
		 1000000 / PERIOD_NS, (double)counted / PERIOD_NS, *ns);
	return 0;
}
