// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU samples with goroutine identity.  A PERF_COUNT_SW_CPU_CLOCK event
 * per CPU runs this program every period of CPU time; it keeps only threads
 * of the processes in `targets` (the filter is the first thing it does, in
 * the kernel) and reads, from the interrupted thread itself, which
 * goroutine it serves: the runtime's g from thread-local storage (fs base
 * + the g TLS offset; R14 when that fails, Go's ABIInternal keeps g there),
 * checked against its m (m.procid must be this thread), then m.curg, its
 * goid and label set (the same reader and limits as the transition probes,
 * gt_common.bpf.h), and the user stack by frame pointers.  No uprobe is
 * needed, so it serves `gtrace profile --cpu` and the agent as well as
 * `record --cpu`, where it writes into the tracer's ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gtrace_events.h"
#include "go_abi.bpf.h"
#include "gt_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool kernel_stacks = false;
/* Set by user space when every per-CPU event is attached (see gtrace.bpf.c). */
volatile bool gt_enabled = false;

/* key: tgid.  value: how to read that process.  Filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct gt_cpu_target);
} targets SEC(".maps");

/* Kernel stacks are read into their own buffer: the user stack is being built in scratch. */
struct kstack_buf {
	struct gt_ev_stack st;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kstack_buf);
} kstack_map SEC(".maps");

/*
 * The thread's id in its own PID namespace: what gettid() gave the runtime
 * for m.procid.  The root namespace's tid (bpf_get_current_pid_tgid) is
 * another number for a target in a container, and every g check failed.
 */
static __always_inline __u32 ns_tid(struct task_struct *task, __u32 tid)
{
	struct pid *p = BPF_CORE_READ(task, thread_pid);
	unsigned int level;
	struct upid u;

	if (!p)
		return tid;
	level = BPF_CORE_READ(p, level);
	if (!level || level > 32) /* root namespace; or beyond MAX_PID_NS_LEVEL */
		return tid;
	if (bpf_core_read(&u, sizeof(u), &p->numbers[level]))
		return tid;
	return u.nr;
}

/* A g is this thread's when its m runs here: m.procid is the tid in the thread's namespace. */
static __always_inline __u64 check_g(const struct gt_cpu_target *t, __u64 g, __u32 tid, __u64 *m)
{
	if (!g || (g & 7))
		return 0;
	*m = read_u64(g + t->off.g_m);
	if (!*m || read_u64(*m + t->off.m_procid) != tid)
		return 0;
	return g;
}

static __always_inline bool in_go_text(const struct gt_cpu_target *t, __u64 pc)
{
	return pc >= t->text_lo && pc < t->text_hi;
}

static __always_inline __u64 kernel_stack(struct bpf_perf_event_data *ctx, __u32 tgid)
{
	__u32 zero = 0;
	struct kstack_buf *b = bpf_map_lookup_elem(&kstack_map, &zero);
	__u64 hash = 0xcbf29ce484222325ull, id;
	__u8 one = 1;
	long n;
	__u32 size, nr;

	if (!b)
		return 0;
	n = bpf_get_stack(ctx, b->st.pcs, sizeof(b->st.pcs), 0);
	if (n <= 0)
		return 0;
	nr = n / 8;
	if (nr > GT_STACK_MAX)
		nr = GT_STACK_MAX;
	for (__u32 i = 0; i < GT_STACK_MAX; i++) {
		if (i >= nr)
			break;
		hash = (hash ^ b->st.pcs[i]) * 0x100000001b3ull;
	}
	id = hash | 1;
	if (bpf_map_lookup_elem(&stacks_sent, &id))
		return id;
	fill_hdr(&b->st.h, GT_EV_STACK, 0, 0);
	b->st.h.pad2 = tgid;
	b->st.h.flags = GT_F_KERNEL_STACK;
	b->st.id = id;
	b->st.nr = nr;
	b->st.pad = 0;
	size = offsetof(struct gt_ev_stack, pcs) + (nr & (GT_STACK_MAX - 1)) * 8;
	if (nr == GT_STACK_MAX)
		size = sizeof(struct gt_ev_stack);
	barrier_var(size);
	if (size > sizeof(struct gt_ev_stack))
		size = sizeof(struct gt_ev_stack);
	b->st.h.size = size;
	if (output(&b->st, GT_EV_STACK, size))
		bpf_map_update_elem(&stacks_sent, &id, &one, BPF_ANY);
	return id;
}

SEC("perf_event")
int cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct task_struct *task;
	struct pt_regs *uregs;
	struct gt_cpu_target *t; /* not const: the program counts its samples and time in it */
	struct gt_ev_cpu_sample *e;
	__u64 ip, bp, sp, ret0, r14, fsbase, g = 0, m = 0, curg = 0, goid = 0, labels = 0;
	__u64 stack = 0, kstack = 0, t0;
	__u32 status = 0;
	__u8 kind;
	struct walk_ctx w;

	if (!gt_enabled)
		return 0;
	t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t)
		return 0;
	t0 = bpf_ktime_get_ns();
	task = bpf_get_current_task_btf();
	/* The user-mode registers, also when the tick came in the kernel. */
	uregs = (struct pt_regs *)bpf_task_pt_regs(task);
	ip = BPF_CORE_READ(uregs, ip);
	bp = BPF_CORE_READ(uregs, bp);
	sp = BPF_CORE_READ(uregs, sp);
	r14 = BPF_CORE_READ(uregs, r14);
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	tid = ns_tid(task, tid);

	if (t->tls_g && fsbase)
		g = check_g(t, read_u64(fsbase + t->tls_g), tid, &m);
	if (!g)
		g = check_g(t, r14, tid, &m);
	if (g)
		curg = read_u64(m + t->off.m_curg);
	if (curg)
		status = read_u64(curg + t->off.g_atomicstatus) & 0xffff & ~G_SCAN;

	if (g && g == curg) {
		kind = GT_CPU_GO;
	} else if (g && curg && status == GT_G_SYSCALL && !in_go_text(t, ip)) {
		kind = GT_CPU_CGO; /* asmcgocall runs C on g0, the caller waits in _Gsyscall */
	} else if (g) {
		kind = GT_CPU_SYSTEM;
		/* Work for the goroutine (systemstack) or for no one (scheduler, GC). */
		if (status != GT_G_RUNNING)
			curg = 0;
	} else {
		kind = in_go_text(t, ip) ? GT_CPU_SYSTEM : GT_CPU_CGO;
	}
	if (curg) {
		goid = read_u64(curg + t->off.g_goid);
		labels = labelset_id(read_u64(curg + t->off.g_labels), &t->off, true,
				     tgid);
	}

	if (stack_begin(&w, tgid)) {
		/* C code need not keep frame pointers: start from the Go caller's context. */
		if (kind != GT_CPU_CGO && stack_push(&w, ip + 1)) {
			/*
			 * A leaf without a frame (Go gives small leaves none) or a
			 * function before its prologue: BP is still the caller's, and
			 * the caller's own return address is at SP.  A Go text address
			 * there that the chain will not give is taken as that frame.
			 */
			ret0 = read_u64(sp);
			if (in_go_text(t, ret0) && ret0 != read_u64(bp + 8))
				stack_push(&w, ret0);
			stack_chain(&w, bp);
		}
		/*
		 * On the system stack for curg: its own stack, saved by the
		 * switch (gosave_systemstack_switch), continues the picture.
		 */
		if (curg && g != curg)
			stack_walk(&w, read_u64(curg + t->off.g_sched_pc),
				   read_u64(curg + t->off.g_sched_bp));
		stack = stack_send(&w, tgid, 0);
	}
	/*
	 * In the kernel when the interrupted IP is in the upper canonical half
	 * (x86-64 kernel text).  Not regs.cs & 3: the perf_event context only
	 * allows 8-byte loads of regs, and cs is a 2-byte field in newer
	 * kernels' pt_regs, so the verifier refused the whole program.
	 */
	if (kernel_stacks && (long)ctx->regs.ip < 0)
		kstack = kernel_stack(ctx, tgid);

	e = reserve(GT_EV_CPU_SAMPLE, sizeof(*e), goid);
	if (!e)
		goto out;
	e->stack = stack;
	e->kstack = kstack;
	e->labels = labels;
	e->period_ns = ctx->sample_period;
	e->tgid = tgid;
	e->kind = kind;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	bpf_ringbuf_submit(e, rb_flags());
out:
	/* what this sample cost the process here, for the agent's budget (not the interrupt itself) */
	__sync_fetch_and_add(&t->samples, 1);
	__sync_fetch_and_add(&t->prog_ns, bpf_ktime_get_ns() - t0);
	return 0;
}
