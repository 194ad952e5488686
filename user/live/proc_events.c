// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loader for bpf/proc_events.bpf.c: exec/exit of every process on the host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "lib/debug.h"
#include "live/proc_events.h"
#include "bpf/gtrace_events.h"
#include "proc_events.skel.h"

struct gt_proc_events {
	struct proc_events_bpf *skel;
	struct ring_buffer *rb;
	gt_proc_event_fn fn;
	void *ctx;
};

static int on_rec(void *ctx, void *data, size_t len)
{
	struct gt_proc_events *pe = ctx;
	const struct gt_proc_event *e = data;

	if (len >= sizeof(*e))
		pe->fn(pe->ctx, e->kind, e->pid);
	return 0;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && gt_verbose < 2)
		return 0;
	return gt_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

int proc_events__open(struct gt_proc_events **out, gt_proc_event_fn fn, void *ctx)
{
	struct gt_proc_events *pe = calloc(1, sizeof(*pe));
	int err;

	if (!pe)
		return -ENOMEM;
	pe->fn = fn;
	pe->ctx = ctx;
	libbpf_set_print(quiet_print);
	pe->skel = proc_events_bpf__open_and_load();
	if (!pe->skel) {
		err = -errno;
		pr_err("cannot load the exec/exit tracepoints: %s (needs CAP_BPF and CAP_PERFMON)\n",
		       strerror(errno));
		goto fail;
	}
	err = proc_events_bpf__attach(pe->skel);
	if (err) {
		pr_err("cannot attach sched_process_exec/exit: %s\n", strerror(-err));
		goto fail;
	}
	pe->rb = ring_buffer__new(bpf_map__fd(pe->skel->maps.proc_rb), on_rec, pe, NULL);
	if (!pe->rb) {
		err = -errno;
		pr_err("cannot open the exec/exit ring buffer: %s\n", strerror(errno));
		goto fail;
	}
	*out = pe;
	return 0;
fail:
	proc_events__close(pe);
	return err;
}

int proc_events__fd(const struct gt_proc_events *pe)
{
	return ring_buffer__epoll_fd(pe->rb);
}

int proc_events__consume(struct gt_proc_events *pe)
{
	return ring_buffer__consume(pe->rb);
}

uint64_t proc_events__lost(const struct gt_proc_events *pe)
{
	__u32 zero = 0;
	__u64 n = 0;

	bpf_map_lookup_elem(bpf_map__fd(pe->skel->maps.proc_lost), &zero, &n);
	return n;
}

void proc_events__close(struct gt_proc_events *pe)
{
	if (!pe)
		return;
	ring_buffer__free(pe->rb);
	proc_events_bpf__destroy(pe->skel);
	free(pe);
}
