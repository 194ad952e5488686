// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The slicer's budget arithmetic (slicer__want_duty), apart from the probes
 * and /proc it is fed from: the duty a budget buys, and what the agent's
 * own charges take off it.
 */
#include <math.h>
#include "live/slicer.h"
#include "test.h"

TEST(slicer_want_duty)
{
	/* 1 core of own CPU over a 1 s period; probes cost 0.5 core while attached */
	const double P = 1e9, own = 1e9, rate = 0.5;
	double d;

	/* 1% of 1 core = 10 ms of target CPU; at 0.5 core attached that is 20 ms on */
	d = slicer__want_duty(1.0, own, P, 0, rate);
	T_CHECK(fabs(d - 0.02) < 1e-9, "no charges: duty %g, want 0.02", d);
	/* 4 ms of fixed charges (the agent's sampling passes) leave 6 ms: 12 ms on */
	d = slicer__want_duty(1.0, own, P, 4e6, rate);
	T_CHECK(fabs(d - 0.012) < 1e-9, "4 ms fixed: duty %g, want 0.012", d);
	/* fixed charges that spend the whole budget leave nothing, never a negative duty */
	d = slicer__want_duty(1.0, own, P, 2e7, rate);
	T_CHECK(d == 0, "fixed over the budget: duty %g, want 0", d);
	/* twice the budget, twice the duty */
	d = slicer__want_duty(2.0, own, P, 0, rate);
	T_CHECK(fabs(d - 0.04) < 1e-9, "2%%: duty %g, want 0.04", d);
	/* nothing measured yet: no duty from this formula (the caller grows instead) */
	T_CHECK(slicer__want_duty(1.0, own, P, 0, 0) == 0, "cost 0 must give 0");
	T_CHECK(slicer__want_duty(1.0, own, 0, 0, rate) == 0, "empty period must give 0");
}
