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

/*
 * The budget as a ceiling (slicer__aim): a period costs its prediction
 * times q; the aim keeps a period two mean deviations above the mean
 * under the budget.  Without the aim (the plan at the budget itself), a
 * third of the HTTP server's periods went over it.
 */
TEST(slicer_aim_ceiling)
{
	struct slicer_spread sp = SLICER_SPREAD_INIT;
	double a = slicer__aim(&sp, 0, 0), hi;

	T_CHECK(a > 0.7 && a < 0.8, "before any period: aim %g, want 1/1.3", a);
	T_CHECK(slicer__aim(&sp, 0.5, 0) == a && slicer__aim(&sp, 0, 0.5) == a,
		"a period without a prediction or a cost must not move the aim");
	/* periods that cost exactly their plan: the aim rises to the budget */
	for (int i = 0; i < 60; i++)
		a = slicer__aim(&sp, 1.0, 1.0);
	T_CHECK(a > 0.99 && a <= 1.0, "steady periods: aim %g, want ~1", a);
	/* periods at 0.6x and 1.4x their plan: the 1.4x ones must still fit under the budget */
	for (int i = 0; i < 60; i++)
		a = slicer__aim(&sp, i & 1 ? 1.4 : 0.6, 1.0);
	hi = 1.4 * a;
	T_CHECK(hi <= 1.0, "swinging periods: aim %g, the high period costs %g of the budget", a,
		hi);
	T_CHECK(a > 0.4, "swinging periods: aim %g too far below the budget", a);
	/* a model that under-predicts by 2x: corrected, a period costs ~the budget */
	for (int i = 0; i < 60; i++)
		a = slicer__aim(&sp, 2.0, 1.0);
	T_CHECK(fabs(2.0 * a - 1.0) < 0.02, "2x under-predicted: aim %g, a period costs %g", a,
		2.0 * a);
	/* one wild period is clamped and never sends the aim below its floor */
	a = slicer__aim(&sp, 1000, 1.0);
	T_CHECK(a >= 0.2, "after a wild period: aim %g under the floor 0.2", a);
	/* a model that over-predicts may spend more than planned, within 1.5x */
	sp = SLICER_SPREAD_INIT;
	for (int i = 0; i < 60; i++)
		a = slicer__aim(&sp, 0.5, 1.0);
	T_CHECK(a == 1.5, "2x over-predicted: aim %g, want the 1.5 cap", a);
}

/*
 * A duty under the shortest slice: one 5 ms slice every k periods, never
 * more often than the budget pays for (without it, the 0.5% floor made a
 * ping-pong target's probes cost 1.1-1.3% of its CPU at --budget 1).
 */
TEST(slicer_layout_skips_periods)
{
	const uint64_t P = 1000000000ull;
	uint64_t sl, span;

	span = slicer__layout(0.02, 0.005, P, 1, 15, &sl);
	T_CHECK(span == P && sl == 20000000, "duty 2%%: span %llu slice %llu", (unsigned long long)span,
		(unsigned long long)sl);
	span = slicer__layout(0.02, 0.005, P, 2, 15, &sl);
	T_CHECK(span == P && sl == 10000000, "overrun 2: slice %llu, want 10 ms", (unsigned long long)sl);
	span = slicer__layout(1, 0.005, P, 1, 15, &sl);
	T_CHECK(span == P && sl == P, "full duty: span %llu slice %llu", (unsigned long long)span,
		(unsigned long long)sl);
	for (double d = 0.0049; d > 0.0004; d *= 0.7) {
		span = slicer__layout(d, 0.005, P, 1, 15, &sl);
		T_CHECK(sl == 5000000, "duty %g: slice %llu, want the 5 ms floor", d, (unsigned long long)sl);
		T_CHECK((double)sl / span <= d + 1e-12, "duty %g: %llu ms every %llu s spends more", d,
			(unsigned long long)sl / 1000000, (unsigned long long)span / P);
		T_CHECK((double)sl / span > d / 2, "duty %g: %llu s between slices wastes the budget", d,
			(unsigned long long)span / P);
	}
	span = slicer__layout(0, 0.005, P, 1, 15, &sl);
	T_CHECK(span == 15 * P && sl == 5000000, "no budget left: one slice in 15 periods, got %llu s",
		(unsigned long long)span / P);
	/* the agent's 2 s windows: a slice at least every 2 periods, whatever the budget */
	span = slicer__layout(0.0001, 0.005, P, 1, 2, &sl);
	T_CHECK(span == 2 * P && sl == 5000000, "max_skip 2: a slice every %llu s",
		(unsigned long long)span / P);
}
