// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loads bpf/cpu_sample.bpf.c and drives it (see cpu_sampler.h).  The events
 * are CPU-wide (pid -1, one per CPU) rather than per thread: a process's
 * threads come and go, a CPU-wide event sees them all, and the program's
 * first act is the tgid lookup, so other processes cost one hash lookup per
 * tick.  The period is fixed in nanoseconds of CPU clock (not a frequency
 * the kernel retunes), so every sample stands for the same CPU time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/debug.h"
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "cpu_sample.skel.h"
#include "binary/go_tls.h"
#include "lib/u64map.h"
#include "live/cpu_sampler.h"

struct gt_cpu_sampler {
	struct cpu_sample_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *fds;
	int nevents, ncpus;
	uint64_t period_ns;
	gt_record_fn fn;
	void *ctx;
	struct u64map bias;	    /* tgid -> load bias + 1 (0 means "not a target") */
	struct gt_ev_stack scratch; /* a stack being unbiased */
};

static int perf_open(int cpu, uint64_t period_ns)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = period_ns,
		.disabled = 0,
	};

	return syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct gt_cpu_sampler *s = ctx;
	const struct gt_event_hdr *h = data;
	uint64_t bias;

	if (len < sizeof(*h) || h->type != GT_EV_STACK || (h->flags & GT_F_KERNEL_STACK) ||
	    len > sizeof(s->scratch) || !(bias = (uintptr_t)u64map__get(&s->bias, h->pad2)) || bias == 1)
		return s->fn ? s->fn(s->ctx, data, len) : 0;
	memcpy(&s->scratch, data, len);
	for (uint32_t i = 0; i < s->scratch.nr && i < GT_STACK_MAX; i++)
		s->scratch.pcs[i] -= bias - 1;
	return s->fn ? s->fn(s->ctx, &s->scratch, len) : 0;
}

/* The tracer's maps, reused so both objects write one stream (gt_common.bpf.h). */
static int share_maps(struct cpu_sample_bpf *skel, struct gt_tracer *tr)
{
	static const char *names[] = { "rb", "lost", "produced", "stacks_sent", "labelsets_sent",
				       "labelset_ids" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, names[i]);
		int fd = tracer__map_fd(tr, names[i]), err;

		if (!m || fd < 0) {
			pr_err("cpu sampler: the tracer has no map %s\n", names[i]);
			return -ENOENT;
		}
		if (!strcmp(names[i], "rb"))
			bpf_map__set_max_entries(m, tracer__buffer_bytes(tr));
		err = bpf_map__reuse_fd(m, fd);
		if (err) {
			pr_err("cpu sampler: cannot share the tracer's map %s: %s\n", names[i],
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

int cpu_sampler__open(struct gt_cpu_sampler **out, const struct gt_cpu_sampler_opts *o,
		      gt_record_fn fn, void *ctx)
{
	struct gt_cpu_sampler *s = calloc(1, sizeof(*s));
	unsigned hz = o->hz ? o->hz : GT_CPU_HZ_DEFAULT;
	uint64_t buf = o->buffer_bytes ? o->buffer_bytes : 4 << 20;
	int err = 0;

	if (!s)
		return -ENOMEM;
	if (hz > GT_CPU_HZ_MAX) {
		free(s);
		pr_err("invalid --cpu-hz %u (1 to %u)\n", hz, GT_CPU_HZ_MAX);
		return -EINVAL;
	}
	s->fn = fn;
	s->ctx = ctx;
	s->period_ns = 1000000000ull / hz;
	s->ncpus = libbpf_num_possible_cpus();
	s->skel = cpu_sample_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("failed to open the CPU sampler's BPF object: %s\n", strerror(-err));
		goto fail;
	}
	s->skel->rodata->kernel_stacks = o->kernel_stacks;
	if (o->share) {
		err = share_maps(s->skel, o->share);
		s->skel->rodata->wakeup_bytes = tracer__buffer_bytes(o->share) / 8;
	} else {
		err = bpf_map__set_max_entries(s->skel->maps.rb, buf);
		s->skel->rodata->wakeup_bytes = buf / 8;
	}
	if (err)
		goto fail;
	err = cpu_sample_bpf__load(s->skel);
	if (err) {
		pr_err("failed to load the CPU sampler: %s (rerun with -v for the verifier's log)\n",
		       strerror(-err));
		goto fail;
	}
	s->links = calloc(s->ncpus, sizeof(*s->links));
	s->fds = calloc(s->ncpus, sizeof(*s->fds));
	if (!s->links || !s->fds) {
		err = -ENOMEM;
		goto fail;
	}
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		int fd = perf_open(cpu, s->period_ns);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* offline CPU */
			err = -errno;
			pr_err("perf_event_open(cpu-clock, cpu %d) failed: %s (needs root or "
			       "CAP_PERFMON)\n", cpu, strerror(-err));
			goto fail;
		}
		l = bpf_program__attach_perf_event(s->skel->progs.cpu_sample, fd);
		if (!l) {
			err = -errno;
			close(fd);
			pr_err("failed to attach the CPU sampler on cpu %d: %s\n", cpu,
			       strerror(-err));
			goto fail;
		}
		s->fds[s->nevents] = fd;
		s->links[s->nevents++] = l;
	}
	if (!o->share) {
		s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.rb), on_record, s, NULL);
		if (!s->rb) {
			err = -errno;
			pr_err("failed to create the CPU sampler's ring buffer reader: %s\n",
			       strerror(-err));
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	cpu_sampler__close(s);
	return err;
}

/* Empties a "sent" map: every id is sent again the next time a sample uses it. */
static void forget_sent(struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	__u64 k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			break;
}

int cpu_sampler__add_target(struct gt_cpu_sampler *s, const struct gt_target *t)
{
	struct gt_cpu_target v = {};
	__u32 key = t->pid;
	int64_t tls;
	uint64_t lo, hi;
	int err;

	memcpy(&v.off, &t->rt.off, sizeof(v.off));
	v.tls_g = go_tls__g_offset(&t->elf, &tls) ? -8 : tls;
	go_tls__text_range(t->pcln, &lo, &hi);
	v.text_lo = lo + t->load_bias;
	v.text_hi = hi + t->load_bias;
	/*
	 * A pid that was a target before (reused, or the same process after an
	 * exec): its stack ids (seeded by the tgid) may be marked sent for the
	 * old image, and its new consumer has none of them.  Rare (an exec or a
	 * pid wrapping round), so both maps are simply emptied; consumers
	 * ignore the ids they already hold.
	 */
	if ((uintptr_t)u64map__get(&s->bias, t->pid) == 1 && s->rb) {
		forget_sent(s->skel->maps.stacks_sent);
		forget_sent(s->skel->maps.labelsets_sent);
	}
	pr_debug("cpu sampler: pid %d: g at fs%+lld, Go text %#llx-%#llx\n", t->pid,
		 (long long)v.tls_g, (unsigned long long)v.text_lo, (unsigned long long)v.text_hi);
	err = bpf_map__update_elem(s->skel->maps.targets, &key, sizeof(key), &v, sizeof(v),
				   BPF_ANY);
	if (err) {
		pr_err("cpu sampler: cannot add pid %d: %s\n", t->pid, strerror(-err));
		return err;
	}
	return u64map__put(&s->bias, t->pid, (void *)(uintptr_t)(t->load_bias + 1));
}

void cpu_sampler__remove_target(struct gt_cpu_sampler *s, pid_t pid)
{
	__u32 key = pid;

	bpf_map__delete_elem(s->skel->maps.targets, &key, sizeof(key), 0);
	u64map__put(&s->bias, pid, (void *)(uintptr_t)1);
}

int cpu_sampler__target_cost(struct gt_cpu_sampler *s, pid_t pid, uint64_t *samples,
			     uint64_t *prog_ns)
{
	struct gt_cpu_target v;
	__u32 key = pid;
	int err = bpf_map__lookup_elem(s->skel->maps.targets, &key, sizeof(key), &v, sizeof(v), 0);

	*samples = err ? 0 : v.samples;
	*prog_ns = err ? 0 : v.prog_ns;
	return err;
}

void cpu_sampler__enable(struct gt_cpu_sampler *s, bool on)
{
	__atomic_store_n(&s->skel->bss->gt_enabled, on, __ATOMIC_SEQ_CST);
}

int cpu_sampler__poll(struct gt_cpu_sampler *s, int timeout_ms)
{
	int n, m;

	if (!s->rb)
		return -EINVAL;
	n = ring_buffer__poll(s->rb, timeout_ms);
	if (n >= 0) {
		m = ring_buffer__consume(s->rb);
		n = m < 0 ? m : n + m;
	}
	return n == -EINTR ? 0 : n;
}

int cpu_sampler__fd(const struct gt_cpu_sampler *s)
{
	return s->rb ? ring_buffer__epoll_fd(s->rb) : -1;
}

static uint64_t sum_slot(struct gt_cpu_sampler *s, struct bpf_map *map)
{
	uint64_t vals[s->ncpus], sum = 0;
	uint32_t k = GT_EV_CPU_SAMPLE;

	if (!bpf_map__lookup_elem(map, &k, sizeof(k), vals, sizeof(vals), 0))
		for (int c = 0; c < s->ncpus; c++)
			sum += vals[c];
	return sum;
}

void cpu_sampler__counters(struct gt_cpu_sampler *s, uint64_t *produced, uint64_t *lost)
{
	*produced = sum_slot(s, s->skel->maps.produced);
	*lost = sum_slot(s, s->skel->maps.lost);
}

uint64_t cpu_sampler__period_ns(const struct gt_cpu_sampler *s)
{
	return s->period_ns;
}

int cpu_sampler__ncpus(const struct gt_cpu_sampler *s)
{
	return s->nevents;
}

void cpu_sampler__close(struct gt_cpu_sampler *s)
{
	if (!s)
		return;
	if (s->skel && s->skel->bss)
		cpu_sampler__enable(s, false);
	for (int i = 0; i < s->nevents; i++) {
		bpf_link__destroy(s->links[i]);
		close(s->fds[i]);
	}
	free(s->links);
	free(s->fds);
	ring_buffer__free(s->rb);
	cpu_sample_bpf__destroy(s->skel);
	u64map__free(&s->bias);
	free(s);
}
