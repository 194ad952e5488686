// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's side of the exact profiles (window_slices.h does the
 * capture): the trap measured at start, probes loaded per process on a
 * thread, windows cut into the batch, the host-wide cap over all
 * processes' slices, and their metrics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/trap_cost.h"
#include "agent/agent_priv.h"

/*
 * One load at a time: libbpf parses the kernel's BTF (~10 MB of heap) for
 * each object it loads; twenty processes found at start loading at once
 * made the agent's peak RSS 200 MB.
 */
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static void *slices_thread(void *arg)
{
	struct proc *p = arg;

	pthread_mutex_lock(&load_mu);
	p->ws_err = wslice__open(&p->ws_new, &p->t, &p->ws_opts);
	pthread_mutex_unlock(&load_mu);
	__atomic_store_n(&p->ws_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Probes on p for the exact profiles, loaded on a thread; until then p is only sampled. */
void slices__open(struct agent *a, struct proc *p)
{
	/* a slice in every window, even where the budget buys less (one of 5 ms) */
	unsigned skip = a->o->window_s >= 2 ? (unsigned)a->o->window_s : 1;

	p->ws_opts = (struct wslice_opts){ .budget = a->o->budget / 2, .trap_ns = a->trap_ns,
					   .tmpdir = a->tmpdir, .min_duty = a->o->slice_min_duty,
					   .max_skip = skip, .idle_skip = skip };
	if (pthread_create(&p->ws_thr, NULL, slices_thread, p)) {
		pr_warn("pid %d (%s): no exact profiles, sampling only: no thread to load the "
			"probes\n", p->pid, p->id.service);
		return;
	}
	p->ws_opening = true;
}

/* The loading thread finished (or, wait: must finish now).  Installs what it opened. */
void slices__opened(struct proc *p, bool wait)
{
	if (!p->ws_opening || (!wait && !__atomic_load_n(&p->ws_done, __ATOMIC_ACQUIRE)))
		return;
	pthread_join(p->ws_thr, NULL);
	p->ws_opening = false;
	if (p->ws_err) {
		if (p->ws_err != -ESRCH)
			pr_warn("pid %d (%s): no exact profiles, sampling only: cannot attach "
				"probes (%s)\n", p->pid, p->id.service, strerror(-p->ws_err));
		return;
	}
	p->ws = p->ws_new;
	p->ws_due = clock__mono_ns();
}

/* Appends p's exact profiles of [start, end) to w; on failure the window has only the sampled ones. */
void slices__cut(struct agent *a, struct proc *p, int64_t start, int64_t end, int final,
		       struct agent_window *w)
{
	int err = wslice__cut(p->ws, start, end, final, w, &p->ws_last);

	p->ws_events += p->ws_last.events;
	p->ws_lost += p->ws_last.lost;
	p->ws_slices += p->ws_last.slices;
	if (err && err != -ESRCH && !final) {
		pr_warn("pid %d (%s): exact profiles stopped (%s); sampling goes on\n", p->pid,
			p->id.service, strerror(-err));
		wslice__close(p->ws);
		p->ws = NULL;
	}
}

/*
 * --budget > 0: what a trap costs here, and a private directory for the
 * window captures (under the spool, which is the agent's own writable
 * place; else $TMPDIR or /tmp).  Without them the agent samples only.
 */
void slices__setup(struct agent *a, const struct agent_opts *o)
{
	const char *base = o->spool ? o->spool : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int err = trap_cost__measure(&a->trap_ns);

	if (err) {
		pr_warn("gtrace: agent: cannot measure a uprobe trap here (%s); taking 1 us\n",
			strerror(-err));
		a->trap_ns = 1000;
	}
	if (o->spool)
		mkdir(o->spool, 0700);
	snprintf(a->tmpdir, sizeof(a->tmpdir), "%s/gtrace-slices.XXXXXX", base);
	if (!mkdtemp(a->tmpdir)) {
		pr_warn("gtrace: agent: no exact profiles, sampling only: cannot make a directory "
			"in %s (%s)\n", base, strerror(errno));
		a->tmpdir[0] = 0;
		return;
	}
	a->slicing = true;
	pr_debug("agent: a uprobe trap costs %.0f ns here; window captures in %s\n", a->trap_ns,
		 a->tmpdir);
}

/*
 * The host-wide cap: the probes' planned cost on every target together
 * (duty x cores while attached, per process) kept under --host-budget
 * cores.  When over, every process's coming slices shrink by the same
 * factor; under it, each may grow to its share of the headroom (the
 * slicer still at most doubles a period).  Once a second, as slices are
 * planned.
 */
void slices__host_cap(struct agent *a, uint64_t now)
{
	double total = 0, f;

	if (!a->slicing || now < a->next_cap)
		return;
	a->next_cap = now + 1000000000ull;
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (p && p->ws)
			total += wslice__duty(p->ws) * wslice__on_cost(p->ws);
	}
	a->host_cores = total;
	f = total > 0 ? a->o->host_budget / total : 0;
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (p && p->ws)
			wslice__set_max_duty(p->ws, f > 0 && wslice__on_cost(p->ws) > 0 ?
						     wslice__duty(p->ws) * f : 1);
	}
}

/* Per process: what the probes cost it against its budget, their duty, events and loss. */
void slices__render(struct agent *a, FILE *f)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "gtrace_probe_spent_ratio", "gauge",
		  "Target CPU the probes cost (hits x measured trap + program time) over the "
		  "target's own CPU, last window." },
		{ "gtrace_duty_cycle", "gauge", "Share of the last window the probes were attached." },
		{ "gtrace_probe_events_total", "counter", "Records the probes produced." },
		{ "gtrace_probe_lost_total", "counter", "Records the kernel could not queue." },
		{ "gtrace_slices_total", "counter", "Capture slices begun." },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(*m); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
		for (size_t i = 0; i < a->procs.cap; i++) {
			struct proc *p = agent__proc_at(a, i);
			double v;

			if (!p || !p->ws)
				continue;
			v = k == 0 ? p->ws_last.spent : k == 1 ? p->ws_last.duty :
			    k == 2 ? (double)p->ws_events : k == 3 ? (double)p->ws_lost :
			    (double)p->ws_slices;
			fprintf(f, "%s{pid=\"%d\",service=\"%s\"} %.6g\n", m[k].name, p->pid,
				p->id.service, v);
		}
	}
	fprintf(f, "# HELP gtrace_host_probe_cores The probes' planned cost on all targets, cores.\n"
		   "# TYPE gtrace_host_probe_cores gauge\ngtrace_host_probe_cores %.6g\n"
		   "# HELP gtrace_host_budget_cores The --host-budget cap, cores.\n"
		   "# TYPE gtrace_host_budget_cores gauge\ngtrace_host_budget_cores %g\n"
		   "# HELP gtrace_trap_ns One uprobe trap on this host, measured at start.\n"
		   "# TYPE gtrace_trap_ns gauge\ngtrace_trap_ns %.0f\n",
		a->host_cores, a->o->host_budget, a->trap_ns);
}
