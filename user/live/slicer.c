// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Slices under a CPU budget (see slicer.h for the model).  One period is
 * [slice start, slice start + period): probes on for duty x period, then
 * detached until the period ends.  The duty of the next slice is decided
 * at the end of the current one, from what that slice cost.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/slicer.h"

/*
 * A slice is never shorter than MIN_SLICE of a period (5 ms): shorter ones
 * would be mostly the attach, the detach and the slice-start snapshot.
 * When the budget buys less than that a period, the slices come every k
 * periods instead (k <= max_skip, at most SKIP_MAX: at least one slice in
 * 15; the agent: one a window), so the
 * average stays under the budget.  A caller's min_duty is a floor on the
 * duty itself, above the budget (tests keep the probes on with 1).
 */
#define MIN_SLICE 0.005
#define SKIP_MAX 15


struct gt_slicer {
	struct gt_tracer *tr;
	pid_t pid;
	struct gt_slicer_opts o;
	bool on;
	bool stats; /* BPF_ENABLE_STATS held: program run time is counted */
	double duty;
	uint64_t period_start; /* when the current slice began */
	uint64_t on_since;     /* probes went live */
	uint64_t off_since;    /* probes went off (the open gap's start) */
	uint64_t last_on_ns;   /* length of the last finished slice */
	uint64_t slice_ns;     /* planned length of the current slice */
	/* counters when the current slice began */
	uint64_t hits0, runtime0, events0;
	int64_t cpu0;	       /* target CPU ns at the period's start */
	uint64_t span_ns;      /* the current period's length: k x period_ns */
	double rate;	       /* events per ns in the last slice */
	double overrun;	       /* slices last this much longer than planned (EWMA, >= 1) */
	uint64_t sl_hits, sl_events; /* the last finished slice's */
	double sl_prog;	       /* its program run time, ns */
	double cost_rate;      /* target ns the probes cost per ns attached, last slice with hits */
	uint64_t chg_slice, chg_fixed; /* slicer__charge since the period began */
	struct slicer_spread spread; /* actual / predicted cost of past periods */
	double chg_fixed_last; /* the fixed charges of the period just planned from */
	double pred_pct;       /* the coming period's predicted added CPU, % of own; 0: none */
	struct gt_slicer_stats st;
};

static double duty_floor(const struct gt_slicer *s)
{
	return s->o.min_duty > 0 ? s->o.min_duty : MIN_SLICE / s->o.max_skip;
}

int64_t slicer__process_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -EIO;
	return (int64_t)((ut + st) * (1000000000ull / sysconf(_SC_CLK_TCK)));
}

static uint64_t run_time(struct gt_slicer *s)
{
	uint64_t cnt, ns;

	tracer__prog_stats(s->tr, &cnt, &ns);
	return ns;
}

int slicer__open(struct gt_slicer **out, struct gt_tracer *tr, pid_t pid,
		 const struct gt_slicer_opts *o)
{
	struct gt_slicer *s;

	if (!(o->budget_pct > 0)) {
		pr_err("a CPU budget must be above 0%%\n");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->tr = tr;
	s->pid = pid;
	s->o = *o;
	if (!s->o.period_ns)
		s->o.period_ns = 1000000000ull;
	if (!(s->o.max_duty > 0) || s->o.max_duty > 1)
		s->o.max_duty = 1;
	if (!s->o.max_skip || s->o.max_skip > SKIP_MAX)
		s->o.max_skip = SKIP_MAX;
	if (!s->o.idle_skip || s->o.idle_skip > s->o.max_skip)
		s->o.idle_skip = s->o.idle_skip ? s->o.max_skip : 1;
	if (!(s->o.min_duty > 0))
		s->o.min_duty = 0; /* no floor: the budget decides, slices of MIN_SLICE at least */
	if (s->o.min_duty > s->o.max_duty)
		s->o.min_duty = s->o.max_duty;
	if (!(s->o.first_duty > 0))
		s->o.first_duty = 0.01;
	if (s->o.first_duty > s->o.max_duty)
		s->o.first_duty = s->o.max_duty;
	if (s->o.first_duty < s->o.min_duty)
		s->o.first_duty = s->o.min_duty;
	if (!(s->o.trap_ns > 0))
		s->o.trap_ns = 1000;
	s->duty = s->o.first_duty;
	s->spread = SLICER_SPREAD_INIT;
	s->overrun = 1;
	s->st.duty_min = 1;
	s->stats = !tracer__enable_stats(tr);
	/* once a run: the agent opens one slicer per process */
	static bool warned;

	if (!s->stats && !warned && (warned = true))
		pr_warn("gtrace: cannot count BPF program time (BPF_ENABLE_STATS: %s); the budget "
			"assumes 500 ns of program work per hit\n", strerror(errno));
	*out = s;
	return 0;
}

uint64_t slicer__layout(double duty, double min_duty, uint64_t period_ns, double overrun,
			unsigned max_skip, uint64_t *slice_ns)
{
	unsigned k;

	if (duty >= 1) {
		*slice_ns = period_ns;
		return period_ns;
	}
	if (duty >= min_duty) {
		*slice_ns = (uint64_t)(duty * period_ns / overrun);
		return period_ns;
	}
	/* the shortest slice, every k periods: min_duty / k <= duty */
	k = duty > 0 ? (unsigned)ceil(min_duty / duty - 1e-9) : max_skip;
	if (k > max_skip)
		k = max_skip;
	*slice_ns = (uint64_t)(min_duty * period_ns / overrun);
	return k * period_ns;
}

/* Counters and CPU at the start of a slice, which is also its period's start. */
static void mark(struct gt_slicer *s, uint64_t now, bool counters)
{
	if (counters) {
		s->hits0 = tracer__hits(s->tr);
		s->runtime0 = run_time(s);
	}
	s->events0 = tracer__produced_total(s->tr);
	s->cpu0 = slicer__process_cpu_ns(s->pid);
	s->on_since = s->period_start = now;
	/*
	 * A loaded machine wakes us late: plan for the overrun seen so far.  A
	 * full duty has nothing to shorten: the probes simply stay on.
	 */
	s->span_ns = slicer__layout(s->duty, MIN_SLICE, s->o.period_ns, s->overrun, s->o.max_skip,
				    &s->slice_ns);
	s->st.slices++;
	if (s->duty < s->st.duty_min)
		s->st.duty_min = s->duty;
	if (s->duty > s->st.duty_max)
		s->st.duty_max = s->duty;
}

/* The slice ends now: what it cost. */
static void end_slice(struct gt_slicer *s, uint64_t now)
{
	s->sl_hits = tracer__hits(s->tr) - s->hits0;
	s->sl_events = tracer__produced_total(s->tr) - s->events0;
	s->sl_prog = s->stats ? (double)(run_time(s) - s->runtime0) : 500.0 * s->sl_hits;
	s->last_on_ns = now > s->on_since ? now - s->on_since : 0;
	s->rate = s->last_on_ns ? (double)s->sl_events / s->last_on_ns : 0;
	if (s->slice_ns && s->last_on_ns) {
		double o = (double)s->last_on_ns / s->slice_ns * s->overrun;

		s->overrun = 0.5 * s->overrun + 0.5 * (o < 1 ? 1 : o > 20 ? 20 : o);
	}
	s->st.hits += s->sl_hits;
	s->st.slice_events += s->sl_events;
	s->st.on_ns += s->last_on_ns;
}

double slicer__want_duty(double budget_pct, double own_ns, double period_ns, double fixed_ns,
			 double cost_rate)
{
	double want;

	/* cost_rate x duty x period <= pct x own - fixed (all over the period) */
	if (!(period_ns > 0) || !(cost_rate > 0))
		return 0;
	want = (budget_pct / 100.0 * own_ns - fixed_ns) / period_ns / cost_rate;
	return want > 0 ? want : 0;
}

double slicer__aim(struct slicer_spread *sp, double actual_pct, double predicted_pct)
{
	double f;

	if (actual_pct > 0 && predicted_pct > 0) {
		double q = actual_pct / predicted_pct;

		/* one wild period (a GC burst, a stall) moves the estimate, not the plan alone */
		if (q > 10)
			q = 10;
		sp->d = 0.75 * sp->d + 0.25 * fabs(q - sp->m);
		sp->m = 0.75 * sp->m + 0.25 * q;
	}
	f = 1 / (sp->m + 2 * sp->d);
	/* at least a fifth of the budget; above it only when periods cost steadily less than planned */
	return f < 0.2 ? 0.2 : f > 1.5 ? 1.5 : f;
}

/*
 * The period that began with the last slice ends now: the next duty, from
 * the target's CPU over the whole period (in the gap it runs untouched) and
 * what the slice cost.
 */
static void plan(struct gt_slicer *s, uint64_t now)
{
	int64_t cpu1 = slicer__process_cpu_ns(s->pid);
	double plen = now > s->period_start ? (double)(now - s->period_start) : 0;
	double used = cpu1 >= 0 && s->cpu0 >= 0 ? (double)(cpu1 - s->cpu0) : 0;
	double want, cost, added, own, aim = 1;

	if ((!s->sl_hits && s->cost_rate > 0 && plen > 0 && s->last_on_ns) ) {
		/*
		 * Nothing fired, but earlier slices did: the target was likely not
		 * scheduled in this one (a loaded host), not free to probe.  Plan
		 * from the last known cost rather than doubling into a burst.
		 */
		own = used > 0 ? used : 0;
		aim = slicer__aim(&s->spread, 0, 0);
		want = slicer__want_duty(aim * s->o.budget_pct, own, plen, s->chg_fixed,
					 s->cost_rate);
		goto clamp;
	}
	if (!s->sl_hits || !s->last_on_ns || !(plen > 0)) {
		/*
		 * Nothing has fired since the attach: an idle target.  Its slices
		 * shrink to the shortest, every idle_skip periods (record: every
		 * period, so a target that wakes is captured within a second; the
		 * agent: one a window, since each slice costs it a switch and a
		 * snapshot per idle process): it has nothing to capture, and the
		 * slice its work begins in must not be a long one.  (Growing the
		 * duty instead probed a ping-pong target woken after 7 idle
		 * seconds whole: 12% of its CPU in that window at --budget 1; one
		 * slice in 15 periods in record starved a target idle at the
		 * attach: 3.8k events captured at --budget 2 where 42k fit.)  Once
		 * a slice had hits, the cost is known and the branch above plans
		 * from it.
		 */
		want = s->o.min_duty > 0 ? s->o.min_duty : MIN_SLICE / s->o.idle_skip;
		own = 0; /* and nothing to predict the next period from */
		goto clamp;
	}
	cost = s->o.trap_ns + s->sl_prog / s->sl_hits;
	added = s->sl_hits * cost; /* target CPU ns the slice cost */
	own = used - added;	   /* /proc/PID/stat counts in 10 ms ticks: may dip below 0 */
	if (own < 0)
		own = 0;
	s->st.cost_per_hit_ns = cost;
	s->st.target_cpu = used / plen;
	/*
	 * The caller's own work for this target (slicer__charge) is CPU taken
	 * from the same machine: what grows with the slice (draining its
	 * records) is part of its cost; what does not (sampling) comes off the
	 * budget first.
	 */
	s->st.added_pct = own > 0 ? 100.0 * (added + s->chg_slice + s->chg_fixed) / own : 0;
	if (s->st.added_pct > s->o.budget_pct)
		s->st.over_budget++;
	aim = slicer__aim(&s->spread, s->st.added_pct, s->pred_pct);
	added += s->chg_slice;
	s->cost_rate = added / s->last_on_ns;
	want = slicer__want_duty(aim * s->o.budget_pct, own, plen, s->chg_fixed, s->cost_rate);
	pr_debug("slice: %.1f ms on (planned %.1f), %llu hits at %.0f ns, target %.2f cores, "
		 "added %.2f%% of its own (planned %.2f%%); aim %.2f of the budget, next duty "
		 "%.2f%%\n", s->last_on_ns / 1e6, s->slice_ns / 1e6,
		 (unsigned long long)s->sl_hits, cost, used / plen, s->st.added_pct, s->pred_pct,
		 aim, 100 * want);
clamp:
	s->chg_fixed_last = (double)s->chg_fixed;
	s->chg_slice = s->chg_fixed = 0;
	/* growth: 2x a period, from the first slice's duty at least (an idle target's floor is tiny) */
	if (want > 2 * (s->duty > s->o.first_duty ? s->duty : s->o.first_duty))
		want = 2 * (s->duty > s->o.first_duty ? s->duty : s->o.first_duty);
	if (want > s->o.max_duty)
		want = s->o.max_duty;
	if (want < duty_floor(s))
		want = duty_floor(s);
	s->duty = want;
	/* what this duty should cost, if the coming period is like the last: its q is measured next */
	s->pred_pct = own > 0 && plen > 0 && s->cost_rate > 0 ?
			      100.0 * (s->cost_rate * want * plen + s->chg_fixed_last) / own : 0;
	s->st.aim_pct = s->pred_pct;
}

int slicer__attach(struct gt_slicer *s, uint64_t now)
{
	uint64_t att, det;
	int err;

	if (s->on)
		return 0;
	/*
	 * Hits are counted from before the attach to after the detach: traps
	 * fired while the links go on and off cost the target too.
	 */
	s->hits0 = tracer__hits(s->tr);
	s->runtime0 = run_time(s);
	err = tracer__attach(s->tr);
	if (err)
		return err;
	tracer__timings(s->tr, &att, &det);
	if (att > s->st.attach_ns_max)
		s->st.attach_ns_max = att;
	/*
	 * The slice and its period begin when the probes are live, after the
	 * attach; the time is taken before they are turned on, so no record of
	 * the slice is older than the gap's end.
	 */
	mark(s, clock__mono_ns(), false);
	tracer__enable(s->tr, true);
	s->on = true;
	return 0;
}

int slicer__detach(struct gt_slicer *s, uint64_t now)
{
	uint64_t att, det;

	if (!s->on)
		return 0;
	tracer__enable(s->tr, false);
	/* taken after the probes went quiet: no record of the slice is newer than the gap */
	s->off_since = now = clock__mono_ns();
	s->on = false;
	tracer__detach(s->tr);
	end_slice(s, now);
	tracer__timings(s->tr, &att, &det);
	if (det > s->st.detach_ns_max)
		s->st.detach_ns_max = det;
	return 0;
}

/* The record for the gap [off_since, end). */
static void fill_gap(struct gt_slicer *s, uint64_t end, struct gt_ev_gap *gap)
{
	uint64_t len = end > s->off_since ? end - s->off_since : 0;
	double period = (double)s->last_on_ns + len;

	memset(gap, 0, sizeof(*gap));
	gap->h.type = GT_EV_GAP;
	gap->h.size = sizeof(*gap);
	gap->h.ts = s->off_since;
	gap->end = end;
	gap->est_events = (uint64_t)(s->rate * len + 0.5);
	gap->duty_ppm = period > 0 ? (uint32_t)(1e6 * s->last_on_ns / period + 0.5) : 0;
	s->st.gaps++;
	s->st.gap_est_events += gap->est_events;
}

uint64_t slicer__next_switch(const struct gt_slicer *s)
{
	return s->on ? s->on_since + s->slice_ns : s->period_start + s->span_ns;
}

int slicer__tick(struct gt_slicer *s, uint64_t now, struct gt_ev_gap *gap)
{
	uint64_t t0;
	int err;

	if (now < slicer__next_switch(s))
		return 0;
	if (s->on && s->slice_ns >= s->o.period_ns) {
		/* A full duty: the period ends while attached; the next slice just goes on. */
		end_slice(s, now);
		plan(s, now);
		mark(s, now, true);
		return 0;
	}
	if (s->on)
		return slicer__detach(s, now);
	/* The gap ends: plan the next slice from the period just finished, then attach. */
	plan(s, now);
	t0 = s->off_since;
	err = slicer__attach(s, now);
	if (err)
		return err;
	/* the gap lasted until the probes were live again, after the attach */
	s->off_since = t0;
	fill_gap(s, s->on_since, gap);
	s->st.off_ns += gap->end - gap->h.ts;
	return 1;
}

bool slicer__on(const struct gt_slicer *s)
{
	return s->on;
}

double slicer__duty(const struct gt_slicer *s)
{
	return s->duty;
}

int slicer__finish(struct gt_slicer *s, uint64_t now, struct gt_ev_gap *gap)
{
	if (s->on) {
		slicer__detach(s, now);
		return 0;
	}
	fill_gap(s, now, gap);
	s->st.off_ns += gap->end - gap->h.ts;
	return 1;
}

void slicer__stats(const struct gt_slicer *s, struct gt_slicer_stats *st)
{
	*st = s->st;
	st->duty = s->duty;
	if (!st->slices)
		st->duty_min = 0;
}

void slicer__set_max_duty(struct gt_slicer *s, double max_duty)
{
	if (!(max_duty > 0) || max_duty > 1)
		max_duty = 1;
	if (max_duty < duty_floor(s))
		max_duty = duty_floor(s);
	s->o.max_duty = max_duty;
	if (s->duty > max_duty)
		s->duty = max_duty;
}

void slicer__charge(struct gt_slicer *s, uint64_t ns, bool per_slice)
{
	if (per_slice)
		s->chg_slice += ns;
	else
		s->chg_fixed += ns;
}

double slicer__on_cost(const struct gt_slicer *s)
{
	if (!s->sl_hits || !s->last_on_ns)
		return 0;
	return s->sl_hits * (s->o.trap_ns + s->sl_prog / s->sl_hits) / s->last_on_ns;
}

void slicer__close(struct gt_slicer *s)
{
	free(s);
}
