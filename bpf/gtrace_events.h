/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one vocabulary shared by the BPF probes (bpf/gtrace.bpf.c) and every
 * user-space reader.  Records leave the kernel through one ring buffer in
 * exactly this layout and are stored unchanged inside capture EVENTS chunks,
 * so the capture reader hands consumers the same structs.
 *
 * Rules (as Go's internal/trace tracev2 and perf's record types):
 *  - event numbers are append-only and never reused; a new type or a changed
 *    payload bumps GT_CAPTURE_VERSION;
 *  - fixed-width fields with explicit padding, no pointers, bool or long;
 *  - this header includes nothing, so it compiles after vmlinux.h (BPF) and
 *    after <linux/types.h> (user).
 */
#ifndef GTRACE_EVENTS_H
#define GTRACE_EVENTS_H

#define GT_CAPTURE_VERSION 4 /* 2: LABELS carries the stack of the change; 3: GT_EV_GAP (record --budget); 4: CPU samples */

enum gt_event_type {
	GT_EV_NONE = 0,
	GT_EV_CREATE = 1,	 /* newproc1 returned a new goroutine */
	GT_EV_START = 2,	 /* runnable -> running (execute) */
	GT_EV_PARK = 3,		 /* running -> waiting, with reason and stack */
	GT_EV_UNPARK = 4,	 /* waiting -> runnable, with the waker */
	GT_EV_PREEMPT = 5,	 /* running -> runnable by preemption, or GC suspend */
	GT_EV_YIELD = 6,	 /* running -> runnable by Gosched */
	GT_EV_SYSCALL_ENTER = 7, /* running -> syscall */
	GT_EV_SYSCALL_EXIT = 8,	 /* syscall -> running or runnable */
	GT_EV_EXIT = 9,		 /* running -> dead */
	GT_EV_LABELS = 10,	 /* the goroutine's label set changed */
	GT_EV_LABELSET = 11,	 /* definition of a label set (sent once per id) */
	GT_EV_STACK = 12,	 /* definition of a stack (sent once per id) */
	GT_EV_WAIT_END = 13,	 /* waiting -> running without a scheduler hop (GC/STW pseudo-wait ends) */
	GT_EV_LOSS = 14,	 /* user space: records were dropped in this window */
	GT_EV_SNAPSHOT = 15,	 /* user space: a goroutine that existed at attach */
	GT_EV_GAP = 16,		 /* user space: probes were detached in this window (slices) */
	GT_EV_CPU_SAMPLE = 17,	 /* on-CPU sample (perf_event, bpf/cpu_sample.bpf.c) */
	GT_EV_MAX,
};

/*
 * Runtime goroutine states (runtime2.go's _G*, scan bit removed; the same
 * from 1.19 to 1.27): what the probes decode from casgstatus and what
 * gt_ev_snapshot.status carries.
 */
enum gt_g_status {
	GT_G_IDLE = 0,
	GT_G_RUNNABLE = 1,
	GT_G_RUNNING = 2,
	GT_G_SYSCALL = 3,
	GT_G_WAITING = 4,
	GT_G_DEAD = 6,
	GT_G_COPYSTACK = 8,
	GT_G_PREEMPTED = 9,
	GT_G_LEAKED = 10,
	GT_G_DEADEXTRA = 11,
};

/* Bits of gt_event_hdr.flags. */
#define GT_F_PSEUDO_WAIT 0x01 /* park: a GC/STW wait on a running goroutine, not a real park */
#define GT_F_TRUNCATED 0x02   /* stack or label set was cut at a limit */
#define GT_F_BY_RUNTIME 0x04  /* unpark: woken from the scheduler (netpoller, timers), no goroutine */
#define GT_F_GC_SUSPEND 0x08  /* preempt: stopped by preemptPark for the GC */
#define GT_F_TO_RUNNABLE 0x10 /* syscall exit: no P was free, goroutine queued */
#define GT_F_PARKED_CREATE 0x20 /* create: born waiting (iter.Pull coroutines, 1.23+) */
#define GT_F_NO_P 0x40 /* preempt: back from a syscall with no P free, queued (1.26+) */
#define GT_F_KERNEL_STACK 0x80 /* stack: kernel addresses (not the target's; never unbiased) */

/*
 * Every record starts with this header.  size counts the whole record,
 * header included, so readers can skip types they do not know.
 */
struct gt_event_hdr {
	__u16 type;
	__u16 size;
	__u8 flags;
	__u8 cpu;
	__u16 pad;
	__u32 tid;
	__u32 pad2; /* 0; definitions (stack, labelset) the CPU sampler writes: the tgid */
	__u64 ts;   /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u64 goid; /* the goroutine the event is about; 0 for definitions */
};

struct gt_ev_create {
	struct gt_event_hdr h;
	__u64 parent; /* goid of the creator, 0 when created by the runtime */
	__u64 gopc;   /* PC of the go statement */
	__u64 startpc;
	__u64 labels; /* label set id, 0 for none */
};

struct gt_ev_start {
	struct gt_event_hdr h;
	__u64 mid; /* runtime M id */
};

struct gt_ev_park {
	struct gt_event_hdr h;
	__u64 stack; /* stack id, 0 when stacks are off or the walk failed */
	__u8 reason; /* runtime waitReason; names come from the capture's metadata */
	__u8 pad[7];
};

struct gt_ev_unpark {
	struct gt_event_hdr h;
	__u64 by; /* goid of the waker, 0 with GT_F_BY_RUNTIME */
};

/* PREEMPT, YIELD, SYSCALL_ENTER, SYSCALL_EXIT, EXIT, WAIT_END carry only the header. */

struct gt_ev_labels {
	struct gt_event_hdr h;
	__u64 labels; /* label set id, 0 for none */
	/*
	 * Version 2: stack id of the change, from runtime_setProfLabel's caller
	 * (0 = stacks off, or a version 1 capture, whose records end before it).
	 */
	__u64 stack;
};

#define GT_LABEL_MAX 64	      /* labels read per set */
#define GT_LABEL_STR_MAX 128  /* bytes kept of a key or a value */
#define GT_LABELSET_BLOB 4096 /* bytes of key/value text per set */

/*
 * A label set: count pairs in blob as (u16 len, bytes) key then value.
 * Sent once per id; id is a hash of the content, so an address the runtime
 * reuses for another set gets another id.
 */
struct gt_ev_labelset {
	struct gt_event_hdr h;
	__u64 id;
	__u16 count;
	__u16 blob_len;
	__u32 pad;
	__u8 blob[GT_LABELSET_BLOB];
};

#define GT_STACK_MAX 128

/* A stack: nr return addresses, leaf first.  Sent once per id (content hash). */
struct gt_ev_stack {
	struct gt_event_hdr h;
	__u64 id;
	__u32 nr;
	__u32 pad;
	__u64 pcs[GT_STACK_MAX];
};

/* User space: [h.ts, end) lost records; counts by event type. */
struct gt_ev_loss {
	struct gt_event_hdr h;
	__u64 end;
	__u64 lost;
};

/*
 * User space: [h.ts, end) the probes were off between two capture slices
 * (`record --budget`): nothing was recorded, by design.  est_events is what
 * the slices' event rate predicts for the window (an estimate, not a
 * count); duty_ppm the share of time the probes were on, in millionths.
 */
struct gt_ev_gap {
	struct gt_event_hdr h;
	__u64 end;
	__u64 est_events;
	__u32 duty_ppm;
	__u32 pad;
};

/*
 * User space: a goroutine found alive at attach (from runtime.allgs), and
 * again as each slice of a sliced capture begins (its state after the gap).
 */
struct gt_ev_snapshot {
	struct gt_event_hdr h;
	__u64 parent;
	__u64 gopc;
	__u64 startpc;
	__u64 labels;
	__u64 stack;
	__u32 status; /* runtime _G* status, scan bit removed */
	__u8 reason;
	__u8 pad[3];
};

/*
 * The runtime fields the probes and the snapshot reader use: one list,
 * expanded into struct gt_go_offsets below, the DWARF lookup
 * (user/binary/go_offsets.c), `gtrace info` and the goroutine reader.
 * X(field, struct, member, optional): struct is g, m or gobuf (a gobuf
 * member is stored as its offset inside g, through g.sched); an optional
 * member is absent from older runtimes and then 0.
 */
#define GT_GO_OFFSET_FIELDS(X)                      \
	X(g_goid, g, "goid", 0)                     \
	X(g_atomicstatus, g, "atomicstatus", 0)     \
	X(g_waitreason, g, "waitreason", 0)         \
	X(g_labels, g, "labels", 0)                 \
	X(g_gopc, g, "gopc", 0)                     \
	X(g_startpc, g, "startpc", 0)               \
	X(g_parent_goid, g, "parentGoid", 1) /* < 1.21 */ \
	X(g_m, g, "m", 0)                           \
	X(g_sched_sp, gobuf, "sp", 0)               \
	X(g_sched_pc, gobuf, "pc", 0)               \
	X(g_sched_bp, gobuf, "bp", 0)               \
	X(g_syscallsp, g, "syscallsp", 0)           \
	X(g_syscallpc, g, "syscallpc", 0)           \
	X(g_syscallbp, g, "syscallbp", 1) /* < 1.23 */ \
	X(m_curg, m, "curg", 0)                     \
	X(m_procid, m, "procid", 0)                 \
	X(m_id, m, "id", 0)

/*
 * Where the label set g.labels points at keeps its labels
 * (docs/go-runtime.md, "pprof labels").  Filled by user/binary/go_offsets.c
 * from the label format of the target; BPF and the snapshot reader walk
 * the set with these numbers only.
 */
struct gt_go_label_layout {
	__u32 list_stride;     /* slice (1.24+): bytes per label{key, value string} */
	__u32 hmap_count;      /* map (<= 1.23): hmap.count, live entries */
	__u32 hmap_b;	       /* hmap.B (u8, log2 of the bucket count) */
	__u32 hmap_buckets;    /* hmap.buckets */
	__u32 hmap_oldbuckets; /* hmap.oldbuckets: set while a growth is unfinished */
	__u32 bucket_size;     /* one bucket of map[string]string */
	__u32 bucket_keys;     /* keys[GT_GO_BUCKET_SLOTS]string */
	__u32 bucket_values;   /* values[GT_GO_BUCKET_SLOTS]string */
	__u32 bucket_overflow; /* *bucket of the chain, or 0 */
	__u32 min_tophash;     /* a slot is live when tophash[i] >= this */
};
#define GT_GO_BUCKET_SLOTS 8 /* slots per map bucket (the tophash[] bytes at the start) */

/*
 * What the sampled thread was running (gt_ev_cpu_sample.kind).  The goid
 * and labels are those of the goroutine the thread serves (m.curg), also
 * while it is on the system stack for it; 0 / none when it serves none.
 */
enum gt_cpu_kind {
	GT_CPU_GO = 0,	   /* Go code on the goroutine's own stack */
	GT_CPU_SYSTEM = 1, /* the runtime on g0/gsignal (scheduler, GC, systemstack work) */
	GT_CPU_CGO = 2,	   /* C code: a cgo call, or a thread with no Go g at all */
};

/*
 * One on-CPU sample: the thread h.tid of process tgid was running when the
 * CPU clock ticked (every period_ns of CPU time).  stack: user stack id,
 * leaf first, the leaf stored as IP + 1 so that it symbolizes like the
 * return addresses above it (consumers look up pc - 1).  kstack: kernel
 * stack id (GT_F_KERNEL_STACK), 0 when off or in user mode.
 */
struct gt_ev_cpu_sample {
	struct gt_event_hdr h;
	__u64 stack;
	__u64 kstack;
	__u64 labels; /* label set id, 0 for none */
	__u64 period_ns;
	__u32 tgid;
	__u8 kind;    /* enum gt_cpu_kind */
	__u8 pad[3];
};

/*
 * Runtime layout the probes need, filled per target from DWARF, the version
 * table or disassembly (user/binary/go_offsets.c) and passed as rodata.
 */
struct gt_go_offsets {
#define GT_X_FIELD(f, st, member, opt) __u32 f;
	GT_GO_OFFSET_FIELDS(GT_X_FIELD)
#undef GT_X_FIELD
	__u32 labels_slice; /* 1: labels are a sorted slice (1.24+); 0: a map[string]string */
	struct gt_go_label_layout lbl;
};

/*
 * What a probe site is, as its BPF cookie: one program serves every site,
 * so the whole probe set is one multi-uprobe link (attached and detached in
 * one step), and the cookie picks the handler.
 */
enum gt_site_kind {
	GT_SITE_CASGSTATUS = 1,
	GT_SITE_NEWPROC1_RET = 2,
	GT_SITE_SETPROFLABEL = 3,
	GT_SITE_PREEMPTPARK = 4,
	GT_SITE_SYSCALL_ENTER = 5,
	GT_SITE_SYSCALL_EXIT = 6,
};

/*
 * What the CPU sampler needs per traced process (its `targets` map, key:
 * tgid): the runtime layout, where g sits in thread-local storage, and the
 * Go text (samples outside it on a g0 are C code).  Runtime addresses.
 */
struct gt_cpu_target {
	struct gt_go_offsets off;
	__s64 tls_g;	  /* g's offset from the thread pointer (fs base); 0: unknown */
	__u64 text_lo;	  /* [text_lo, text_hi): Go functions (pclntab) */
	__u64 text_hi;
	/*
	 * Kept by the program (atomic adds), read by user space: the samples
	 * taken in this process and the program's own time on them, what the
	 * agent charges to the process's budget.
	 */
	__u64 samples;
	__u64 prog_ns;
};

/* Loss counters: one slot per event type, per CPU. */
#define GT_LOSS_SLOTS GT_EV_MAX

/*
 * Process lifecycle for `gtrace agent` (bpf/proc_events.bpf.c): one record
 * per exec and per process exit, from the sched tracepoints, so discovery
 * does not wait for a /proc poll.  Not part of the capture format.
 */
enum gt_proc_event_kind { GT_PROC_EXEC = 1, GT_PROC_EXIT = 2 };

struct gt_proc_event {
	__u32 kind; /* enum gt_proc_event_kind */
	__u32 pid;  /* thread-group id, in the initial PID namespace */
	__u64 ts;   /* CLOCK_MONOTONIC ns */
};

#endif /* GTRACE_EVENTS_H */
