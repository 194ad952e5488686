// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The sample-interrupt calibration the agent charges per CPU sample (live/sample_cost.h). */
#include <errno.h>
#include <string.h>
#include "live/sample_cost.h"
#include "test.h"

/*
 * The CPU sampler's interrupt, measured on this thread (the agent charges
 * it per sample): a CPU-clock event fires here, so a cost comes out, and
 * it is a plausible one (a timer interrupt, not zero, not a millisecond).
 */
TEST(sample_cost_measures_an_interrupt)
{
	double ns = -1;
	int err = sample_cost__measure(&ns);

	if (err == -EACCES || err == -EPERM || err == -ENOENT)
		T_SKIP("no CPU-clock perf event for this thread here (%s)", strerror(-err));
	T_ASSERT(!err, "sample_cost__measure: %s", strerror(-err));
	T_CHECK(ns > 0 && ns < 200000, "a sample's interrupt measured at %.0f ns", ns);
}
