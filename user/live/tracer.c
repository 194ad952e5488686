// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loads bpf/gtrace.bpf.c for one target and attaches it (see tracer.h).
 * Uprobes are attached by file offset with the target's PID, so the kernel
 * fires them only in that process, for all of its threads, also those
 * started later.  Entry probes go on the site probe_sites.c chose; return
 * probes on every RET: never uretprobes, which corrupt moving Go stacks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/debug.h"
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "gtrace.skel.h"
#include "binary/probe_plan.h"
#include "binary/probe_sites.h"
#include "live/tracer.h"

#define MAX_LINKS 256

struct gt_tracer {
	struct gtrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	gt_record_fn fn;
	void *ctx;
	int ncpus;
	uint64_t bias;		    /* the target's load bias (PIE) */
	struct gt_ev_stack scratch; /* the largest record whose PCs need unbiasing */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && gt_verbose < 2)
		return 0;
	if (!gt_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* The program serving each hooked runtime function. */
static struct bpf_program *prog_for(struct gtrace_bpf *s, const char *sym, bool count_only)
{
	static const struct {
		const char *sym;
		size_t off; /* offset of the program pointer in skel->progs */
	} map[] = {
		{ "runtime.casgstatus", offsetof(typeof(s->progs), uprobe_runtime_casgstatus) },
		{ "runtime.newproc1", offsetof(typeof(s->progs), uprobe_runtime_newproc1_ret) },
		{ "runtime/pprof.runtime_setProfLabel",
		  offsetof(typeof(s->progs), uprobe_runtime_setproflabel) },
		{ "runtime.preemptPark", offsetof(typeof(s->progs), uprobe_runtime_preemptpark) },
		{ "runtime.reentersyscall", offsetof(typeof(s->progs), uprobe_runtime_syscall_enter) },
		{ "runtime.entersyscallblock",
		  offsetof(typeof(s->progs), uprobe_runtime_syscall_enter) },
		{ "runtime.exitsyscall", offsetof(typeof(s->progs), uprobe_runtime_syscall_exit) },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].sym, sym))
			return count_only ? s->progs.uprobe_count
					  : *(struct bpf_program **)((char *)&s->progs + map[i].off);
	return NULL;
}

static int attach_at(struct gt_tracer *tr, struct bpf_program *p, struct gt_target *t,
		     const char *sym, uint64_t file_offset)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_link *l;

	if (tr->nlinks >= MAX_LINKS) {
		pr_err("too many probe sites in %s\n", sym);
		return -E2BIG;
	}
	l = bpf_program__attach_uprobe_opts(p, t->pid, t->exe, file_offset, &uo);
	if (!l) {
		int err = -errno;

		pr_err("failed to attach a uprobe to %s in %s at offset %#lx: %s\n", sym,
		       t->exe_name, (unsigned long)file_offset, strerror(-err));
		return err;
	}
	pr_debug("attached %s at %s+%#lx\n", bpf_program__name(p), sym, (unsigned long)file_offset);
	tr->links[tr->nlinks++] = l;
	return 0;
}

static int attach_one(struct gt_tracer *tr, struct gt_target *t,
		      const struct gt_probe_plan_entry *e, const struct gt_tracer_opts *o)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, e->symbol);
	struct bpf_program *p = prog_for(tr->skel, e->symbol, o->count_only);
	struct gt_probe_site sites[64];
	int n, err;

	if (!p)
		return 0; /* planned for `info` only */
	if (!f) {
		if (!e->required)
			return 0;
		pr_err("%s has no %s: this Go runtime is not supported\n", t->exe_name, e->symbol);
		return -ENOENT;
	}
	if (e->kind == GT_PROBE_RET) {
		n = probe_sites__returns(&t->elf, f, sites, 64);
		if (n <= 0) {
			pr_err("found no RET in %s\n", e->symbol);
			return n < 0 ? n : -ENOENT;
		}
	} else {
		err = probe_sites__entry_for(&t->elf, f, o->probe_at_entry, e->regs, &sites[0]);
		if (err)
			return err;
		n = 1;
		if (!sites[0].emulated)
			pr_debug("%s: probe at %#lx is single-stepped (%s)\n", e->symbol,
				 (unsigned long)sites[0].addr, sites[0].insn);
	}
	for (int i = 0; i < n; i++) {
		err = attach_at(tr, p, t, e->symbol, sites[i].file_offset);
		if (err)
			return err;
	}
	return 0;
}

/* [entry, end) of a runtime function as the running process sees it. */
static void func_range(struct gt_target *t, const char *name, uint64_t *lo, uint64_t *hi)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, name);

	*lo = f ? f->entry + t->load_bias : 0;
	*hi = f ? f->end + t->load_bias : 0;
}

/*
 * Whether f's probe site comes before its stack check has moved SP: there
 * a call about to go through morestack (and start over) can be recognised.
 */
static bool site_before_check(struct gt_target *t, const char *name,
			      const struct gt_tracer_opts *o)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, name);
	struct gt_probe_site site;

	return f && !probe_sites__entry(&t->elf, f, o->probe_at_entry, &site) && !site.sp_delta;
}

static bool setproflabel_site(struct gt_target *t, const struct gt_tracer_opts *o,
			      struct gt_probe_site *site)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, "runtime/pprof.runtime_setProfLabel");

	return f && !probe_sites__entry(&t->elf, f, o->probe_at_entry, site);
}

/* Knobs that must be set between open and load. */
static int configure(struct gt_tracer *tr, struct gt_target *t, const struct gt_tracer_opts *o)
{
	struct gtrace_bpf *s = tr->skel;
	const struct gt_func *casg = pclntab__lookup_name(t->pcln, "runtime.casgstatus");
	struct gt_probe_site site;
	int err;

	s->rodata->targ_tgid = t->pid;
	s->rodata->events_mask = o->events_mask;
	s->rodata->want_stacks = o->stacks;
	s->rodata->syscall_fastpath = t->rt.traits.syscall_cas_fastpath;
	s->rodata->create_at_casg = !t->rt.traits.goid_after_runnable;
	memcpy((void *)&s->rodata->off, &t->rt.off, sizeof(t->rt.off));
	if (!casg) {
		pr_err("%s has no runtime.casgstatus: not a supported Go runtime\n", t->exe_name);
		return -ENOENT;
	}
	err = probe_sites__entry(&t->elf, casg, o->probe_at_entry, &site);
	if (err)
		return err;
	/* Where casgstatus's return address is when its probe fires. */
	s->rodata->casg_sp_delta = site.sp_delta;
	s->rodata->casg_frame_set = site.frame_set;
	func_range(t, "runtime.park_m", (uint64_t *)&s->rodata->park_m_lo,
		   (uint64_t *)&s->rodata->park_m_hi);
	func_range(t, "runtime.goyield_m", (uint64_t *)&s->rodata->goyield_m_lo,
		   (uint64_t *)&s->rodata->goyield_m_hi);
	func_range(t, "runtime.gosched_m", (uint64_t *)&s->rodata->gosched_m_lo,
		   (uint64_t *)&s->rodata->gosched_m_hi);
	func_range(t, "runtime.goschedImpl", (uint64_t *)&s->rodata->goschedimpl_lo,
		   (uint64_t *)&s->rodata->goschedimpl_hi);
	func_range(t, "runtime.exitsyscallNoP", (uint64_t *)&s->rodata->exitsyscallnop_lo,
		   (uint64_t *)&s->rodata->exitsyscallnop_hi);
	s->rodata->setproflabel_before_check =
		site_before_check(t, "runtime/pprof.runtime_setProfLabel", o);
	/* Where the caller of a label change is, to walk its stack from there. */
	if (setproflabel_site(t, o, &site)) {
		s->rodata->setproflabel_sp_delta = site.sp_delta;
		s->rodata->setproflabel_frame_set = site.frame_set;
	}
	s->rodata->preemptpark_before_check = site_before_check(t, "runtime.preemptPark", o);
	s->rodata->wakeup_bytes = o->buffer_bytes / 8;
	return bpf_map__set_max_entries(s->maps.rb, o->buffer_bytes);
}

/*
 * Hands a record on with its code addresses made link-time (PIE targets
 * run at a random base), so symbols and captures do not depend on ASLR.
 */
static int on_record(void *ctx, void *data, size_t len)
{
	struct gt_tracer *tr = ctx;
	const struct gt_event_hdr *h = data;

	if (!tr->bias || len > sizeof(tr->scratch) || len < sizeof(*h) ||
	    (h->type != GT_EV_STACK && h->type != GT_EV_CREATE))
		return tr->fn(tr->ctx, data, len);
	memcpy(&tr->scratch, data, len);
	if (h->type == GT_EV_STACK) {
		for (uint32_t i = 0; i < tr->scratch.nr && i < GT_STACK_MAX; i++)
			tr->scratch.pcs[i] -= tr->bias;
	} else {
		struct gt_ev_create *c = (struct gt_ev_create *)&tr->scratch;

		c->gopc -= c->gopc ? tr->bias : 0;
		c->startpc -= c->startpc ? tr->bias : 0;
	}
	return tr->fn(tr->ctx, &tr->scratch, len);
}

static const char *load_hint(int err)
{
	if (err == -EPERM)
		return " (run as root, or grant CAP_BPF and CAP_PERFMON)";
	if (err == -EACCES)
		return " (the kernel's verifier refused a program; rerun with -v for its log)";
	if (err == -ENOENT || err == -ESRCH)
		return " (does the kernel have BTF? /sys/kernel/btf/vmlinux)";
	return " (rerun with -v to learn more)";
}

int tracer__open(struct gt_tracer **out, struct gt_target *t, const struct gt_tracer_opts *o,
		 gt_record_fn fn, void *ctx)
{
	struct gt_tracer *tr = calloc(1, sizeof(*tr));
	int err;

	if (!tr)
		return -ENOMEM;
	tr->fn = fn;
	tr->ctx = ctx;
	tr->bias = t->load_bias;
	tr->ncpus = libbpf_num_possible_cpus();
	libbpf_set_print(libbpf_print);
	tr->skel = gtrace_bpf__open();
	if (!tr->skel) {
		err = -errno;
		pr_err("failed to open the BPF object: %s\n", strerror(-err));
		goto fail;
	}
	err = configure(tr, t, o);
	if (err)
		goto fail;
	err = gtrace_bpf__load(tr->skel);
	if (err) {
		pr_err("failed to load the BPF programs: %s%s\n", strerror(-err), load_hint(err));
		goto fail;
	}
	for (size_t i = 0; i < gt_probe_plan_len; i++) {
		if (!probe_plan__needed(&gt_probe_plan[i], &t->rt.traits))
			continue;
		err = attach_one(tr, t, &gt_probe_plan[i], o);
		if (err)
			goto fail;
	}
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.rb), on_record, tr, NULL);
	if (!tr->rb) {
		err = -errno;
		pr_err("failed to create the ring buffer reader: %s\n", strerror(-err));
		goto fail;
	}
	*out = tr;
	return 0;
fail:
	tracer__close(tr);
	return err;
}

int tracer__poll(struct gt_tracer *tr, int timeout_ms)
{
	int n = ring_buffer__poll(tr->rb, timeout_ms);

	/* Records submitted without a wake-up are only seen by consuming. */
	if (n >= 0) {
		int m = ring_buffer__consume(tr->rb);

		n = m < 0 ? m : n + m;
	}
	return n == -EINTR ? 0 : n;
}

static void sum_percpu(struct gt_tracer *tr, struct bpf_map *map, uint64_t out[])
{
	uint64_t vals[tr->ncpus];

	for (uint32_t k = 0; k < GT_EV_MAX; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(map, &k, sizeof(k), vals, sizeof(vals), 0))
			continue;
		for (int c = 0; c < tr->ncpus; c++)
			out[k] += vals[c];
	}
}

void tracer__counters(struct gt_tracer *tr, uint64_t produced[], uint64_t lost[])
{
	sum_percpu(tr, tr->skel->maps.produced, produced);
	sum_percpu(tr, tr->skel->maps.lost, lost);
}

uint64_t tracer__lost_total(struct gt_tracer *tr)
{
	uint64_t lost[GT_EV_MAX], total = 0;

	sum_percpu(tr, tr->skel->maps.lost, lost);
	for (int i = 0; i < GT_EV_MAX; i++)
		total += lost[i];
	return total;
}

uint64_t tracer__hits(struct gt_tracer *tr)
{
	uint64_t vals[tr->ncpus], sum = 0;
	uint32_t k = 0;

	if (!bpf_map__lookup_elem(tr->skel->maps.hits, &k, sizeof(k), vals, sizeof(vals), 0))
		for (int c = 0; c < tr->ncpus; c++)
			sum += vals[c];
	return sum;
}

int tracer__nprobes(const struct gt_tracer *tr)
{
	return tr->nlinks;
}

void tracer__enable(struct gt_tracer *tr, bool on)
{
	__atomic_store_n(&tr->skel->bss->gt_enabled, on, __ATOMIC_SEQ_CST);
}

void tracer__detach(struct gt_tracer *tr)
{
	if (tr->skel && tr->skel->bss)
		tracer__enable(tr, false);
	for (int i = 0; i < tr->nlinks; i++)
		bpf_link__destroy(tr->links[i]);
	tr->nlinks = 0;
}

void tracer__close(struct gt_tracer *tr)
{
	if (!tr)
		return;
	/* Detach first so no probe fires into a half-torn-down object. */
	tracer__detach(tr);
	ring_buffer__free(tr->rb);
	gtrace_bpf__destroy(tr->skel);
	free(tr);
}
