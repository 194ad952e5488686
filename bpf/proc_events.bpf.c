// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exec and exit of every process on the host, for `gtrace agent`'s
 * discovery: a new Go process is inspected right after its exec and a gone
 * one dropped at once, instead of waiting for the next /proc scan.  Only
 * raw tracepoints, no tracefs needed (no uprobe, nothing in any target); the agent needs CAP_BPF
 * and CAP_PERFMON for it, not CAP_NET_ADMIN as the netlink proc connector
 * would.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gtrace_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A few hundred execs a second at most on a busy node; 256 KiB holds ~10k. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_rb SEC(".maps");

/* Records that did not fit: user space then falls back to a full /proc scan. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proc_lost SEC(".maps");

static int emit(__u32 kind, __u32 pid)
{
	struct gt_proc_event *e = bpf_ringbuf_reserve(&proc_rb, sizeof(*e), 0);

	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&proc_lost, &zero);

		if (n)
			__sync_fetch_and_add(n, 1);
		return 0;
	}
	e->kind = kind;
	e->pid = pid;
	e->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	return emit(GT_PROC_EXEC, bpf_get_current_pid_tgid() >> 32);
}

SEC("raw_tp/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	/*
	 * Fires per thread, after the thread took itself off signal->live: the
	 * process is gone when the last one goes, whichever thread that is.
	 * Not "when the leader goes": a thread other than the leader that
	 * execs (Go's syscall.Exec runs on any thread) first makes the leader
	 * exit, then takes over its pid; that is an exec, which
	 * sched_process_exec reports next, not an exit.  Two threads ending
	 * together may both see 0: the agent takes the second as a no-op.
	 */
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	return emit(GT_PROC_EXIT, bpf_get_current_pid_tgid() >> 32);
}
