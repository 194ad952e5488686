// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loads bpf/gtrace.bpf.c for one target and attaches it (see tracer.h).
 * Uprobes are attached by file offset with the target's PID, so the kernel
 * fires them only in that process, for all of its threads, also those
 * started later.  Entry probes go on the site probe_sites.c chose; return
 * probes on every RET: never uretprobes, which corrupt moving Go stacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "gtrace.skel.h"
#include "binary/probe_plan.h"
#include "binary/probe_sites.h"
#include "capture/event_specs.h"
#include "live/tracer.h"
#include "live/uprobe_multi.h"

#define MAX_SITES 256
#define MAX_PROGS 16

/* One probe site: the program that serves it and where it goes in the file. */
struct site {
	struct bpf_program *prog;
	const char *sym;
	uint64_t file_offset;
	uint64_t cookie; /* enum gt_site_kind */
};

struct gt_tracer {
	struct gtrace_bpf *skel;
	struct ring_buffer *rb;
	int efd;		    /* edge-triggered epoll on the ring buffer (tracer__poll) */
	bool prompt;		    /* take records as they come (tracer__prompt) */
	struct gt_target *t;
	/* The probe set, kept so it can be attached and detached again (slices). */
	struct site sites[MAX_SITES];
	int nsites;
	bool multi;	    /* one multi-uprobe link per program; else one perf link per site */
	bool attached;
	struct bpf_link *links[MAX_SITES]; /* per-site mode */
	int multi_fds[MAX_PROGS];	   /* multi mode: one link fd per program */
	int nlinks;
	uint64_t attach_ns, detach_ns;	   /* how long the last attach / detach took */
	gt_record_fn fn;
	void *ctx;
	int ncpus;
	uint64_t bias;		    /* the target's load bias (PIE) */
	struct gt_ev_stack scratch; /* the largest record whose PCs need unbiasing */
	int stats_fd;		    /* BPF_ENABLE_STATS while held, -1 without */
	bool async_detach;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && gt_verbose < 2)
		return 0;
	if (!gt_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* The site kind (the program's cookie) of each hooked runtime function; 0: none. */
static uint64_t kind_for(const char *sym)
{
	static const struct {
		const char *sym;
		enum gt_site_kind kind;
	} map[] = {
		{ "runtime.casgstatus", GT_SITE_CASGSTATUS },
		{ "runtime.newproc1", GT_SITE_NEWPROC1_RET },
		{ "runtime/pprof.runtime_setProfLabel", GT_SITE_SETPROFLABEL },
		{ "runtime.preemptPark", GT_SITE_PREEMPTPARK },
		{ "runtime.reentersyscall", GT_SITE_SYSCALL_ENTER },
		{ "runtime.entersyscallblock", GT_SITE_SYSCALL_ENTER },
		{ "runtime.exitsyscall", GT_SITE_SYSCALL_EXIT },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].sym, sym))
			return map[i].kind;
	return 0;
}

static int add_site(struct gt_tracer *tr, struct bpf_program *p, const char *sym,
		    uint64_t file_offset, uint64_t cookie)
{
	if (tr->nsites >= MAX_SITES) {
		pr_err("too many probe sites in %s\n", sym);
		return -E2BIG;
	}
	tr->sites[tr->nsites++] = (struct site){ p, sym, file_offset, cookie };
	return 0;
}

/* Per-site mode: one perf-event uprobe link per site (~0.1 s each to attach and detach here). */
static int attach_per_site(struct gt_tracer *tr)
{
	for (int i = 0; i < tr->nsites; i++) {
		const struct site *s = &tr->sites[i];
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = s->cookie);
		struct bpf_link *l;

		l = bpf_program__attach_uprobe_opts(s->prog, tr->t->pid, tr->t->exe,
						    s->file_offset, &uo);
		if (!l) {
			int err = -errno;

			pr_err("failed to attach a uprobe to %s in %s at offset %#lx: %s\n", s->sym,
			       tr->t->exe_name, (unsigned long)s->file_offset, strerror(-err));
			return err;
		}
		pr_debug("attached %s at %s+%#lx\n", bpf_program__name(s->prog), s->sym,
			 (unsigned long)s->file_offset);
		tr->links[tr->nlinks++] = l;
	}
	return 0;
}

/*
 * Multi mode: one BPF_TRACE_UPROBE_MULTI link per program (one program
 * serves every site, told apart by the cookie), so the whole probe set goes
 * on in one syscall and off with one close: one RCU wait, not one per site.
 */
static int attach_multi(struct gt_tracer *tr)
{
	struct bpf_program *done[MAX_PROGS];
	uint64_t offs[MAX_SITES], cookies[MAX_SITES];
	int ndone = 0;

	for (int i = 0; i < tr->nsites; i++) {
		struct bpf_program *p = tr->sites[i].prog;
		bool seen = false;
		size_t n = 0;
		int fd;

		for (int j = 0; j < ndone; j++)
			seen |= done[j] == p;
		if (seen)
			continue;
		if (ndone >= MAX_PROGS)
			return -E2BIG;
		done[ndone++] = p;
		for (int j = i; j < tr->nsites; j++)
			if (tr->sites[j].prog == p) {
				cookies[n] = tr->sites[j].cookie;
				offs[n++] = tr->sites[j].file_offset;
			}
		fd = uprobe_multi__attach(bpf_program__fd(p), tr->t->exe, offs, cookies, n,
					  tr->t->pid);
		if (fd < 0)
			return fd;
		pr_debug("attached %s at %zu sites (multi-uprobe link)\n", bpf_program__name(p), n);
		tr->multi_fds[tr->nlinks++] = fd;
	}
	return 0;
}

/*
 * Links being closed on detached threads.  A process must not exit while
 * one is: exit_group kills the closer mid-unregister, the kernel's page
 * walk gives up on the fatal signal, and the uprobe is leaked with its
 * breakpoints still in the target ("failed to unregister, leaking uprobe";
 * every later hit traps for nobody).  tracer__wait_detached waits them out.
 */
static pthread_mutex_t closing_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closing_cv = PTHREAD_COND_INITIALIZER;
static int closing;

static void *close_link(void *arg)
{
	close((int)(intptr_t)arg);
	pthread_mutex_lock(&closing_mu);
	if (!--closing)
		pthread_cond_broadcast(&closing_cv);
	pthread_mutex_unlock(&closing_mu);
	return NULL;
}

int tracer__wait_detached(uint64_t timeout_ns)
{
	struct timespec dl;
	int left;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ns / 1000000000ull;
	dl.tv_nsec += timeout_ns % 1000000000ull;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&closing_mu);
	while (closing && pthread_cond_timedwait(&closing_cv, &closing_mu, &dl) == 0)
		;
	left = closing;
	pthread_mutex_unlock(&closing_mu);
	return left;
}

/*
 * Closes a multi-uprobe link fd on a detached thread (see async_detach):
 * the kernel's grace-period wait then blocks that thread only.  The
 * program keeps a reference held by the link until then, so the caller
 * may destroy its BPF object at once.
 */
static void close_async(int fd)
{
	pthread_attr_t a;
	pthread_t t;
	int err = pthread_attr_init(&a);

	if (!err) {
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&a, 64 << 10);
		pthread_mutex_lock(&closing_mu);
		closing++;
		pthread_mutex_unlock(&closing_mu);
		err = pthread_create(&t, &a, close_link, (void *)(intptr_t)fd);
		pthread_attr_destroy(&a);
		if (err) {
			pthread_mutex_lock(&closing_mu);
			closing--;
			pthread_mutex_unlock(&closing_mu);
		}
	}
	if (err)
		close(fd);
}

static void detach_links(struct gt_tracer *tr)
{
	for (int i = 0; i < tr->nlinks; i++) {
		uint64_t t0 = clock__mono_ns();

		if (tr->multi && tr->async_detach)
			close_async(tr->multi_fds[i]);
		else if (tr->multi)
			close(tr->multi_fds[i]);
		else
			bpf_link__destroy(tr->links[i]);
		pr_debug("link %d detached in %.1f ms\n", i, (clock__mono_ns() - t0) / 1e6);
	}
	tr->nlinks = 0;
}

int tracer__attach(struct gt_tracer *tr)
{
	uint64_t t0 = clock__mono_ns();
	int err;

	if (tr->attached)
		return 0;
	err = tr->multi ? attach_multi(tr) : attach_per_site(tr);
	if (err) {
		detach_links(tr);
		return err;
	}
	tr->attached = true;
	tr->attach_ns = clock__mono_ns() - t0;
	return 0;
}

static int plan_one(struct gt_tracer *tr, struct gt_target *t,
		      const struct gt_probe_plan_entry *e, const struct gt_tracer_opts *o)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, e->symbol);
	uint64_t kind = kind_for(e->symbol);
	struct bpf_program *p = o->count_only ? tr->skel->progs.uprobe_count
					      : tr->skel->progs.uprobe_gtrace;
	struct gt_probe_site sites[64];
	int n, err;

	if (!kind)
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
		err = add_site(tr, p, e->symbol, sites[i].file_offset, kind);
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
 * How f's probe recognises a call about to go through morestack (and start
 * over): the rodata pair (*before_check, *at_jbe) the BPF side reads.
 */
static void restart_check(struct gt_target *t, const char *name, const struct gt_tracer_opts *o,
			  bool *before_check, bool *at_jbe)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, name);
	struct gt_probe_site site;
	enum gt_restart_check c = GT_RESTART_NONE;

	if (f && !probe_sites__entry(&t->elf, f, o->probe_at_entry, &site))
		c = probe_sites__restart_check(&site);
	*before_check = c != GT_RESTART_NONE;
	*at_jbe = c == GT_RESTART_FLAGS;
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
	s->rodata->create_pending = t->rt.traits.goid_after_runnable && !o->create_at_ret;
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
	restart_check(t, "runtime/pprof.runtime_setProfLabel", o,
		      (bool *)&s->rodata->setproflabel_before_check,
		      (bool *)&s->rodata->setproflabel_at_jbe);
	/* Where the caller of a label change is, to walk its stack from there. */
	if (setproflabel_site(t, o, &site)) {
		s->rodata->setproflabel_sp_delta = site.sp_delta;
		s->rodata->setproflabel_frame_set = site.frame_set;
	}
	restart_check(t, "runtime.preemptPark", o, (bool *)&s->rodata->preemptpark_before_check,
		      (bool *)&s->rodata->preemptpark_at_jbe);
	s->rodata->wakeup_bytes = o->buffer_bytes / 8;
	return bpf_map__set_max_entries(s->maps.rb, o->buffer_bytes);
}

/*
 * Hands a record on with its code addresses made link-time (PIE targets
 * run at a random base), so symbols and captures do not depend on ASLR.
 */
static void unbias(void *arg, __u64 *pc, int kind)
{
	*pc -= ((struct gt_tracer *)arg)->bias;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct gt_tracer *tr = ctx;
	const struct gt_event_hdr *h = data;
	const struct gt_event_spec *s;

	if (!tr->bias || len > sizeof(tr->scratch) || len < sizeof(*h) || h->size > len ||
	    !(s = event_spec(h->type)) || (!s->pcs[0].off && !s->pc_array))
		return tr->fn(tr->ctx, data, len);
	memcpy(&tr->scratch, data, len);
	event_spec__each_pc((struct gt_event_hdr *)&tr->scratch, unbias, tr);
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

/*
 * Opens, configures and loads the skeleton; multi: every program typed for
 * multi-uprobe links (what SEC("uprobe.multi") means to libbpf >= 1.3).
 */
static int load(struct gt_tracer *tr, struct gt_target *t, const struct gt_tracer_opts *o,
		bool multi)
{
	struct bpf_program *p;
	int err;

	tr->skel = gtrace_bpf__open();
	if (!tr->skel) {
		err = -errno;
		pr_err("failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	err = configure(tr, t, o);
	if (err)
		return err;
	if (multi)
		bpf_object__for_each_program(p, tr->skel->obj)
			bpf_program__set_expected_attach_type(p, GT_BPF_TRACE_UPROBE_MULTI);
	err = gtrace_bpf__load(tr->skel);
	if (err) {
		pr_err("failed to load the BPF programs: %s%s\n", strerror(-err), load_hint(err));
		return err;
	}
	tr->nsites = 0;
	for (size_t i = 0; i < gt_probe_plan_len; i++) {
		bool at_ret = o->create_at_ret && gt_probe_plan[i].need == GT_NEED_GOID_LATE &&
			      t->rt.traits.goid_after_runnable;

		if (!at_ret && !probe_plan__needed(&gt_probe_plan[i], &t->rt.traits))
			continue;
		err = plan_one(tr, t, &gt_probe_plan[i], o);
		if (err)
			return err;
	}
	tr->multi = multi;
	return 0;
}

int tracer__open(struct gt_tracer **out, struct gt_target *t, const struct gt_tracer_opts *o,
		 gt_record_fn fn, void *ctx)
{
	struct gt_tracer *tr = calloc(1, sizeof(*tr));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	bool probes;
	int err;

	if (!tr)
		return -ENOMEM;
	tr->fn = fn;
	tr->ctx = ctx;
	tr->t = t;
	tr->stats_fd = -1;
	tr->efd = -1;
	tr->async_detach = o->async_detach;
	tr->bias = t->load_bias;
	tr->ncpus = libbpf_num_possible_cpus();
	libbpf_set_print(libbpf_print);
	/*
	 * No transition wanted (record --cpu --events none): the object is only
	 * the ring buffer and maps a CPU sampler writes into; nothing attaches.
	 */
	probes = o->events_mask & ~GT_DEFINITION_EVENTS;
	err = load(tr, t, o, !o->per_site_links);
	if (!err && probes)
		err = tracer__attach(tr);
	if (err && tr->multi && uprobe_multi__unsupported(err)) {
		/* A program typed for multi links cannot take perf links: reload. */
		pr_warn("gtrace: the kernel refused a multi-uprobe link (%s); attaching the %d "
			"probes one by one instead (slower to attach and detach)\n",
			strerror(-err), tr->nsites);
		gtrace_bpf__destroy(tr->skel);
		tr->skel = NULL;
		err = load(tr, t, o, false);
		if (!err && probes)
			err = tracer__attach(tr);
	}
	if (err)
		goto fail;
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.rb), on_record, tr, NULL);
	if (!tr->rb) {
		err = -errno;
		pr_err("failed to create the ring buffer reader: %s\n", strerror(-err));
		goto fail;
	}
	ev.data.fd = bpf_map__fd(tr->skel->maps.rb);
	tr->efd = epoll_create1(EPOLL_CLOEXEC);
	if (tr->efd < 0 || epoll_ctl(tr->efd, EPOLL_CTL_ADD, ev.data.fd, &ev)) {
		err = -errno;
		pr_err("failed to wait on the ring buffer: %s\n", strerror(-err));
		goto fail;
	}
	*out = tr;
	return 0;
fail:
	tracer__close(tr);
	return err;
}

/*
 * Waits for the programs' wake-up, then takes everything.  The wait is
 * edge-triggered: a ring buffer's fd polls readable whenever it holds a
 * record, so a level-triggered wait (libbpf's ring_buffer__poll) returned
 * at once on every turn at a high event rate: 1,700 turns a second on a
 * spawn storm, each with its loss check, flush and clock check, for a
 * handful of records each.  The programs submit without a wake-up until an
 * eighth of the buffer is full (rb_flags), so this sleeps until then or
 * until timeout_ms, and records submitted meanwhile are taken all at once.
 */
int tracer__poll(struct gt_tracer *tr, int timeout_ms)
{
	struct epoll_event ev;
	int n;

	if (tr->prompt) {
		/* level-triggered: back at once whenever the buffer holds a record */
		n = ring_buffer__poll(tr->rb, timeout_ms);
		if (n >= 0) {
			int m = ring_buffer__consume(tr->rb);

			n = m < 0 ? m : n + m;
		}
		return n == -EINTR ? 0 : n;
	}
	n = epoll_wait(tr->efd, &ev, 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	n = ring_buffer__consume(tr->rb);
	return n == -EINTR ? 0 : n;
}

void tracer__prompt(struct gt_tracer *tr, bool on)
{
	tr->prompt = on;
}

int tracer__wake_fd(struct gt_tracer *tr)
{
	/* level-triggered (libbpf's): for callers that poll it among others, prompt tracers */
	return tr->rb ? ring_buffer__epoll_fd(tr->rb) : -1;
}

/*
 * Per type, the sum over CPUs of a per-CPU array: one batched lookup (a
 * loss check runs on every drain of every process an agent slices, and
 * GT_EV_MAX lookups were most of an idle agent's system calls), else key
 * by key on kernels without batched array lookups.
 */
static void sum_percpu(struct gt_tracer *tr, struct bpf_map *map, uint64_t out[])
{
	uint64_t vals[tr->ncpus], all[GT_EV_MAX * tr->ncpus];
	uint32_t keys[GT_EV_MAX], count = GT_EV_MAX, batch = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	if (!bpf_map_lookup_batch(bpf_map__fd(map), NULL, &batch, keys, all, &count, &bo) ||
	    (errno == ENOENT && count == GT_EV_MAX)) {
		for (uint32_t k = 0; k < GT_EV_MAX; k++)
			out[k] = 0;
		for (uint32_t i = 0; i < count; i++)
			for (int c = 0; c < tr->ncpus; c++)
				if (keys[i] < GT_EV_MAX)
					out[keys[i]] += all[(size_t)i * tr->ncpus + c];
		return;
	}
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

uint64_t tracer__produced_total(struct gt_tracer *tr)
{
	uint64_t produced[GT_EV_MAX], total = 0;

	sum_percpu(tr, tr->skel->maps.produced, produced);
	for (int i = 0; i < GT_EV_MAX; i++)
		total += produced[i];
	return total;
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

int tracer__map_fd(struct gt_tracer *tr, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(tr->skel->obj, name);

	return m ? bpf_map__fd(m) : -1;
}

uint64_t tracer__buffer_bytes(const struct gt_tracer *tr)
{
	return bpf_map__max_entries(tr->skel->maps.rb);
}

int tracer__nprobes(const struct gt_tracer *tr)
{
	return tr->nsites;
}

int tracer__nlinks(const struct gt_tracer *tr)
{
	return tr->nlinks;
}

bool tracer__multi(const struct gt_tracer *tr)
{
	return tr->multi;
}

bool tracer__attached(const struct gt_tracer *tr)
{
	return tr->attached;
}

void tracer__timings(const struct gt_tracer *tr, uint64_t *attach_ns, uint64_t *detach_ns)
{
	*attach_ns = tr->attach_ns;
	*detach_ns = tr->detach_ns;
}

void tracer__enable(struct gt_tracer *tr, bool on)
{
	__atomic_store_n(&tr->skel->bss->gt_enabled, on, __ATOMIC_SEQ_CST);
}

void tracer__detach(struct gt_tracer *tr)
{
	uint64_t t0 = clock__mono_ns();

	if (tr->skel && tr->skel->bss)
		tracer__enable(tr, false);
	if (!tr->attached)
		return;
	detach_links(tr);
	tr->attached = false;
	tr->detach_ns = clock__mono_ns() - t0;
}

void tracer__close(struct gt_tracer *tr)
{
	if (!tr)
		return;
	/* Detach first so no probe fires into a half-torn-down object. */
	tracer__detach(tr);
	if (tr->stats_fd >= 0)
		close(tr->stats_fd);
	if (tr->efd >= 0)
		close(tr->efd);
	ring_buffer__free(tr->rb);
	gtrace_bpf__destroy(tr->skel);
	free(tr);
}

int tracer__enable_stats(struct gt_tracer *tr)
{
	if (tr->stats_fd >= 0)
		return 0;
	tr->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return tr->stats_fd < 0 ? -errno : 0;
}

void tracer__prog_stats(struct gt_tracer *tr, uint64_t *run_cnt, uint64_t *run_time_ns)
{
	struct bpf_program *p;

	*run_cnt = *run_time_ns = 0;
	bpf_object__for_each_program(p, tr->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		*run_cnt += info.run_cnt;
		*run_time_ns += info.run_time_ns;
	}
}

int tracer__flush_pending(struct gt_tracer *tr)
{
	int fd = bpf_map__fd(tr->skel->maps.pending_creates), mem, n = 0;
	struct gt_ev_create rec;
	uint64_t key, next, goid;
	char path[64];
	bool first = true;

	snprintf(path, sizeof(path), "/proc/%d/mem", tr->t->pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	/* Gs created but not yet run: their goid is set by now, read it from the target. */
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &rec))
			continue;
		goid = 0;
		if (mem >= 0 &&
		    pread(mem, &goid, sizeof(goid), key + tr->t->rt.off.g_goid) != sizeof(goid))
			goid = 0;
		if (!goid)
			continue; /* the target is gone: counted produced, not written */
		rec.h.goid = goid;
		on_record(tr, &rec, sizeof(rec));
		n++;
	}
	if (mem >= 0)
		close(mem);
	return n;
}
