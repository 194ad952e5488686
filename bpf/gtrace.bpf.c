// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace's probes on the Go runtime.  Nearly every goroutine state change
 * goes through runtime.casgstatus(gp, old, new), so one probe there (on an
 * instruction the kernel emulates, chosen by user/binary/probe_sites.c) sees
 * start, park, unpark, preempt, yield, syscalls and exit.  The few paths
 * that bypass it get their own probes: newproc1's RETs (the goid is final
 * only there before Go 1.24), preemptPark, the Go 1.26+ syscall fast
 * paths, and runtime_setProfLabel for label sets.  Records go to one ring
 * buffer in the layout of gtrace_events.h; every failed reserve is counted
 * per CPU and type, so loss is never silent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gtrace_events.h"
#include "go_abi.bpf.h"
#include "gt_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 targ_tgid = 0;
const volatile __u32 events_mask = ~0u; /* bit (1 << GT_EV_*) */
const volatile bool want_stacks = true;
const volatile bool syscall_fastpath = false; /* casgstatus misses syscalls (1.26+) */
const volatile bool create_at_casg = false;   /* goid is set before _Gdead -> _Grunnable (1.24+) */
/*
 * <= 1.23 sets the goid just after casgstatus(_Gdead -> _Grunnable): the
 * create is built there and held in pending_creates until the goroutine's
 * next transition (its first start, almost always), where the goid is
 * read; no probe on newproc1's RETs, which the kernel single-steps.
 */
const volatile bool create_pending = false;
const volatile struct gt_go_offsets off = {};
/* Where casgstatus's caller is, at the probe site (from the site chooser). */
const volatile __u32 casg_sp_delta = 0;
const volatile bool casg_frame_set = false;
/* Callers that give a transition its meaning: [lo, hi) of each function. */
const volatile __u64 park_m_lo = 0, park_m_hi = 0;
const volatile __u64 goyield_m_lo = 0, goyield_m_hi = 0;
const volatile __u64 gosched_m_lo = 0, gosched_m_hi = 0;
const volatile __u64 goschedimpl_lo = 0, goschedimpl_hi = 0;
const volatile __u64 exitsyscallnop_lo = 0, exitsyscallnop_hi = 0;
/* The probe sits at or before the function's stack check (SP not moved yet). */
const volatile bool setproflabel_before_check = false;
/* Where runtime_setProfLabel's return address and caller's frame are at its site. */
const volatile __u32 setproflabel_sp_delta = 0;
const volatile bool setproflabel_frame_set = false;
const volatile bool preemptpark_before_check = false;
/* ... and is the check's own JBE: the CMP has run, its flags decide. */
const volatile bool setproflabel_at_jbe = false;
const volatile bool preemptpark_at_jbe = false;
/*
 * Set by user space once every probe is attached, cleared before the first
 * is detached: probes go live and quiet together, so a capture never holds
 * one half of a pair (a syscall exit without its entry) from the seconds
 * attaching and detaching take.
 */
volatile bool gt_enabled = false;

/*
 * What each thread of the target runs, learned from the probes themselves
 * (a start puts a goroutine on the thread; a park, preemption, yield or exit
 * takes it off), so the hot paths need not chase g0 -> m -> curg through
 * user memory: each probe_read_user is the most expensive thing a probe
 * does here (hardened usercopy checks).  key: the thread.
 */
struct thread_state {
	__u64 g;    /* the user g on this thread, 0 when it is in the scheduler */
	__u64 goid; /* its goid */
	__u64 mid;  /* the thread's M id (an M stays on its thread) */
	__u32 seen; /* g and goid are known: a start happened here since attach */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

static __always_inline struct thread_state *thread_state(bool create)
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/*
 * Every probe hit, by every program (the counting-only ones of --bare-trap
 * too): hits per recorded event says how many traps record nothing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline bool wanted(__u32 type)
{
	return events_mask & (1u << type);
}

static __always_inline bool is_target(void)
{
	count(&hits, 0);
	return gt_enabled && (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

static __always_inline __u64 goid_of(__u64 g)
{
	return g ? read_u64(g + off.g_goid) : 0;
}

static __always_inline __u32 status_of(__u64 g)
{
	return read_u64(g + off.g_atomicstatus) & 0xffff & ~G_SCAN;
}

/* The user goroutine the current thread runs (g0's m.curg), 0 when none. */
static __always_inline __u64 current_user_g(struct pt_regs *ctx)
{
	__u64 m = read_u64(GO_G(ctx) + off.g_m);

	return m ? read_u64(m + off.m_curg) : 0;
}

/*
 * Several fields of one g in one read (scratch.gview, gt_common.bpf.h): the
 * span of their offsets, known when the program is verified.  A layout that
 * spreads them wider than GT_GVIEW_MAX falls back to one read per field.
 * Fields are taken 8 bytes at a time (a smaller one is masked by the
 * caller), so a span ends 8 bytes past its last field's offset: still
 * inside the g, which has more fields after every one read here.
 */
struct gview {
	__u8 *b;
	__u64 g;
	__u32 lo;
	bool ok;
};

#define GT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GT_MAX(a, b) ((a) > (b) ? (a) : (b))

static __always_inline void gview_read(struct gview *v, __u64 g, __u32 lo, __u32 hi)
{
	__u32 zero = 0, n = hi - lo;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);

	v->g = g;
	v->lo = lo;
	v->ok = false;
	if (!s || !n || n > GT_GVIEW_MAX)
		return;
	v->b = s->gview;
	v->ok = !bpf_probe_read_user(v->b, n, (void *)(g + lo));
}

static __always_inline __u64 gview_u64(struct gview *v, __u32 off)
{
	__u32 at = off - v->lo;

	if (!v->ok || at > GT_GVIEW_MAX - 8)
		return read_u64(v->g + off);
	barrier_var(at);
	if (at > GT_GVIEW_MAX - 8)
		return 0;
	return *(__u64 *)(v->b + at);
}

static __always_inline bool in_range(__u64 pc, __u64 lo, __u64 hi)
{
	return pc >= lo && pc < hi;
}

/*
 * Walks frame pointers from a first return address pc0 and the frame
 * pointer of the frame it returns into, and sends the stack once; returns
 * its id, 0 when unavailable.
 */
static __always_inline __u64 send_stack_from(__u64 pc0, __u64 fp)
{
	struct walk_ctx w;

	if (!stack_begin(&w, 0))
		return 0;
	stack_walk(&w, pc0, fp);
	return stack_send(&w, 0, 0);
}

/*
 * key: a new g (<= 1.23) whose goid is not assigned yet.  value: its create
 * record, goid 0 (create_pending).  A plain hash, not an LRU: a create that
 * does not fit is counted lost, never evicted silently.  What is still
 * here at the end is sent by user space (tracer__flush_pending).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct gt_ev_create);
} pending_creates SEC(".maps");

/* The new g's fields a create needs, in one read (the goid too from 1.24). */
static __always_inline void read_newg(struct gview *v, __u64 newg, bool with_goid)
{
	__u32 lo = GT_MIN(GT_MIN(off.g_gopc, off.g_startpc), off.g_labels);
	__u32 hi = GT_MAX(GT_MAX(off.g_gopc, off.g_startpc), off.g_labels) + 8;

	if (with_goid) {
		lo = GT_MIN(lo, off.g_goid);
		hi = GT_MAX(hi, off.g_goid + 8);
	}
	gview_read(v, newg, lo, hi);
}

static __always_inline void fill_create(struct pt_regs *ctx, struct gt_ev_create *e,
					 struct gview *v, __u64 labels, bool parked)
{
	/* newproc1 runs on g0 by systemstack: the creator is what the thread runs */
	struct thread_state *ts = thread_state(false);
	__u64 creator;

	if (ts && ts->seen) {
		e->parent = ts->g ? ts->goid : 0;
	} else {
		creator = current_user_g(ctx);
		e->parent = creator ? goid_of(creator) : 0;
	}
	e->gopc = gview_u64(v, off.g_gopc);
	e->startpc = gview_u64(v, off.g_startpc);
	e->labels = labels;
	if (parked)
		e->h.flags = GT_F_PARKED_CREATE;
}

/* <= 1.23, at casgstatus(_Gdead -> _Grunnable): all but the goid is final. */
static __always_inline void save_create(struct pt_regs *ctx, __u64 newg, bool parked)
{
	struct gt_ev_create e = {};
	struct gview v;

	if (!wanted(GT_EV_CREATE))
		return;
	count(&produced, GT_EV_CREATE);
	read_newg(&v, newg, false);
	/* the label set definition goes out now, before any record using it */
	fill_hdr(&e.h, GT_EV_CREATE, sizeof(e), 0);
	fill_create(ctx, &e, &v, labelset_id(gview_u64(&v, off.g_labels), &off, false, 0), parked);
	if (bpf_map_update_elem(&pending_creates, &newg, &e, BPF_ANY))
		count(&lost, GT_EV_CREATE);
}

/*
 * gp makes its first transition: send its held create, the goid now final
 * (goid: gp's when the caller has read it, else 0).
 */
static __always_inline void flush_create(__u64 gp, __u64 goid)
{
	struct gt_ev_create *p, *e;

	if (!create_pending)
		return;
	p = bpf_map_lookup_elem(&pending_creates, &gp);
	if (!p)
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		*e = *p;
		e->h.goid = goid ? goid : goid_of(gp);
		bpf_ringbuf_submit(e, rb_flags());
	} else {
		count(&lost, GT_EV_CREATE);
	}
	bpf_map_delete_elem(&pending_creates, &gp);
}

/*
 * A new goroutine, read where its goid is final: at newproc1's RETs before
 * Go 1.24 (AX = new g; only with create_at_ret), at casgstatus(_Gdead ->
 * _Grunnable) from 1.24 on.  Both run on g0 by systemstack, so m.curg is
 * the creator.
 */
static __always_inline void on_create(struct pt_regs *ctx, __u64 newg, bool parked)
{
	__u64 labels;
	struct gt_ev_create *e;
	struct gview v;

	if (!wanted(GT_EV_CREATE))
		return;
	read_newg(&v, newg, true);
	/* Before reserving: the label set definition must precede its use. */
	labels = labelset_id(gview_u64(&v, off.g_labels), &off, false, 0);
	e = reserve(GT_EV_CREATE, sizeof(*e), gview_u64(&v, off.g_goid));
	if (!e)
		return;
	fill_create(ctx, e, &v, labels, parked);
	bpf_ringbuf_submit(e, rb_flags());
}

/* ---- transitions ---- */

static __always_inline void emit_simple(__u32 type, __u64 goid, __u8 flags)
{
	struct gt_event_hdr *h;

	if (!wanted(type))
		return;
	h = reserve(type, sizeof(*h), goid);
	if (!h)
		return;
	h->flags = flags;
	bpf_ringbuf_submit(h, rb_flags());
}

/* The M id of this thread, read from g0's m: execute runs on g0. */
static __always_inline __u64 current_mid(struct pt_regs *ctx)
{
	__u64 m = read_u64(GO_G(ctx) + off.g_m);

	return m ? read_u64(m + off.m_id) : 0;
}

static __always_inline void on_start(struct pt_regs *ctx, __u64 gp, __u64 goid)
{
	struct thread_state *ts = thread_state(true);
	struct gt_ev_start *e;

	if (ts) {
		ts->g = gp;
		ts->goid = goid;
		ts->seen = 1;
		/* An M stays on its thread: read its id once. */
		if (!ts->mid)
			ts->mid = current_mid(ctx);
	}
	if (!wanted(GT_EV_START))
		return;
	e = reserve(GT_EV_START, sizeof(*e), goid);
	if (!e)
		return;
	e->mid = ts ? ts->mid : current_mid(ctx);
	bpf_ringbuf_submit(e, rb_flags());
}

/* gp's goid, from the thread state when gp is what this thread runs. */
static __always_inline __u64 goid_fast(__u64 gp)
{
	struct thread_state *ts = thread_state(false);

	return ts && ts->g == gp && gp ? ts->goid : goid_of(gp);
}

/*
 * gp stops running on this thread (parks, is preempted, yields, exits);
 * returns its goid, taken from the thread state before that forgets it.
 */
static __always_inline __u64 off_thread(__u64 gp)
{
	struct thread_state *ts = thread_state(false);

	if (ts && ts->g == gp && gp) {
		ts->g = 0;
		return ts->goid;
	}
	return goid_of(gp);
}

static __always_inline __u64 caller_pc(struct pt_regs *ctx)
{
	return read_u64(GO_SP(ctx) + casg_sp_delta);
}

static __always_inline void on_park(struct pt_regs *ctx, __u64 gp)
{
	struct gt_ev_park *e;
	bool pseudo = !in_range(caller_pc(ctx), park_m_lo, park_m_hi);
	/* A GC/STW pseudo-wait keeps running on its thread; a real park leaves it. */
	__u64 stack = 0, goid = pseudo ? goid_fast(gp) : off_thread(gp);
	struct gview v;
	__u8 reason;

	if (!wanted(GT_EV_PARK))
		return;
	/*
	 * Only real parks have a saved context (mcall) worth walking: its
	 * stack from g.sched, read with the wait reason.
	 */
	if (want_stacks && !pseudo) {
		gview_read(&v, gp, GT_MIN(GT_MIN(off.g_sched_pc, off.g_sched_bp), off.g_waitreason),
			   GT_MAX(GT_MAX(off.g_sched_pc, off.g_sched_bp), off.g_waitreason) + 8);
		stack = send_stack_from(gview_u64(&v, off.g_sched_pc), gview_u64(&v, off.g_sched_bp));
		reason = gview_u64(&v, off.g_waitreason) & 0xff;
	} else {
		reason = read_u8(gp + off.g_waitreason);
	}
	e = reserve(GT_EV_PARK, sizeof(*e), goid);
	if (!e)
		return;
	e->stack = stack;
	e->reason = reason;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	if (pseudo)
		e->h.flags = GT_F_PSEUDO_WAIT;
	bpf_ringbuf_submit(e, rb_flags());
}

static __always_inline void on_unpark(struct pt_regs *ctx, __u64 gp)
{
	struct thread_state *ts;
	struct gt_ev_unpark *e;
	__u64 waker;

	if (!wanted(GT_EV_UNPARK))
		return;
	e = reserve(GT_EV_UNPARK, sizeof(*e), goid_of(gp));
	if (!e)
		return;
	/*
	 * ready() runs on g0 via systemstack: the goroutine this thread runs is
	 * the one that woke gp.  Threads not seen starting a goroutine since
	 * attach are asked the slow way, through g0's m.curg.
	 */
	ts = thread_state(false);
	if (ts && ts->seen) {
		e->by = ts->g && ts->g != gp ? ts->goid : 0;
	} else {
		waker = current_user_g(ctx);
		e->by = waker && waker != gp ? goid_of(waker) : 0;
	}
	if (!e->by)
		e->h.flags = GT_F_BY_RUNTIME;
	bpf_ringbuf_submit(e, rb_flags());
}

/*
 * running -> runnable: Gosched/goyield is a yield; exitsyscallNoP (1.26+,
 * which CASes syscall -> running first) is a syscall return that found no
 * P; everything else a preemption.
 */
static __always_inline void on_to_runnable(struct pt_regs *ctx, __u64 gp, __u64 goid)
{
	__u64 ret1 = caller_pc(ctx), fp, ret2;

	if (in_range(ret1, exitsyscallnop_lo, exitsyscallnop_hi)) {
		emit_simple(GT_EV_PREEMPT, goid, GT_F_NO_P);
		return;
	}

	if (in_range(ret1, goyield_m_lo, goyield_m_hi)) {
		emit_simple(GT_EV_YIELD, goid, 0);
		return;
	}
	if (in_range(ret1, goschedimpl_lo, goschedimpl_hi)) {
		fp = casg_frame_set ? read_u64(GO_FP(ctx)) : GO_FP(ctx);
		ret2 = read_u64(fp + 8);
		if (in_range(ret2, gosched_m_lo, gosched_m_hi)) {
			emit_simple(GT_EV_YIELD, goid, 0);
			return;
		}
	}
	emit_simple(GT_EV_PREEMPT, goid, 0);
}

static __always_inline int handle_casgstatus(struct pt_regs *ctx)
{
	__u64 gp = GO_ARG1(ctx);
	__u32 oldval = (__u32)GO_ARG2(ctx) & ~G_SCAN;
	__u32 newval = (__u32)GO_ARG3(ctx) & ~G_SCAN;
	__u64 goid;

	switch (oldval << 8 | newval) {
	case GT_G_RUNNABLE << 8 | GT_G_RUNNING:
		goid = goid_of(gp);
		flush_create(gp, goid);
		on_start(ctx, gp, goid);
		break;
	case GT_G_RUNNING << 8 | GT_G_WAITING:
		on_park(ctx, gp);
		break;
	case GT_G_WAITING << 8 | GT_G_RUNNABLE:
		flush_create(gp, 0); /* born waiting (iter.Pull, 1.23) */
		on_unpark(ctx, gp);
		break;
	case GT_G_WAITING << 8 | GT_G_RUNNING:
		flush_create(gp, 0);
		emit_simple(GT_EV_WAIT_END, goid_fast(gp), 0);
		break;
	case GT_G_RUNNING << 8 | GT_G_RUNNABLE:
		on_to_runnable(ctx, gp, off_thread(gp));
		break;
	case GT_G_RUNNING << 8 | GT_G_SYSCALL:
		if (!syscall_fastpath)
			emit_simple(GT_EV_SYSCALL_ENTER, goid_fast(gp), 0);
		break;
	case GT_G_SYSCALL << 8 | GT_G_RUNNING:
		if (!syscall_fastpath)
			emit_simple(GT_EV_SYSCALL_EXIT, goid_fast(gp), 0);
		break;
	case GT_G_SYSCALL << 8 | GT_G_RUNNABLE:
		goid = off_thread(gp);
		if (!syscall_fastpath)
			emit_simple(GT_EV_SYSCALL_EXIT, goid, GT_F_TO_RUNNABLE);
		break;
	case GT_G_RUNNING << 8 | GT_G_DEAD:
		emit_simple(GT_EV_EXIT, off_thread(gp), 0);
		break;
	case GT_G_DEAD << 8 | GT_G_RUNNABLE:
	case GT_G_DEAD << 8 | GT_G_WAITING:
		/* only newproc1 revives a dead g; the status is still _Gdead here */
		if (create_at_casg)
			on_create(ctx, gp, newval == GT_G_WAITING);
		else if (create_pending)
			save_create(ctx, gp, newval == GT_G_WAITING);
		break;
	default:
		/* stack copies, scan bits, extra Ms for cgo */
		break;
	}
	return 0;
}

static __always_inline int on_newproc1_ret(struct pt_regs *ctx)
{
	__u64 newg = GO_RET1(ctx);

	on_create(ctx, newg, status_of(newg) == GT_G_WAITING);
	return 0;
}

/*
 * At a split function's entry or at the JBE of its stack check: will this
 * call go through morestack and start over?  (SP <= g.stackguard0: stack
 * growth, or stackguard0 poisoned by a preemption request.)  The probe then
 * fires again when the function restarts; count only that hit.
 */
static __always_inline bool will_restart(struct pt_regs *ctx, bool at_jbe)
{
	/*
	 * At the JBE the CMP has already run: the kernel emulates the branch
	 * from these flags (CF or ZF: taken).  Re-reading stackguard0 there
	 * races with a preemption request poisoning it after the CMP; the hit
	 * would be dropped though the branch falls through and the function
	 * does not start over (one label change lost in ~50 runs of the
	 * labelpool test on Go 1.19).
	 */
	if (at_jbe)
		return ctx->flags & (1 << 0 | 1 << 6); /* X86_EFLAGS_CF | X86_EFLAGS_ZF */
	return GO_SP(ctx) <= read_u64(GO_G(ctx) + G_STACKGUARD0);
}

/* runtime_setProfLabel(labels): runs on the goroutine itself (R14). */
static __always_inline int on_setproflabel(struct pt_regs *ctx)
{
	__u64 g = GO_G(ctx), id, stack = 0;
	struct gt_ev_labels *e;

	if (!wanted(GT_EV_LABELS) ||
	    (setproflabel_before_check && will_restart(ctx, setproflabel_at_jbe)))
		return 0;
	id = labelset_id(GO_ARG1(ctx), &off, true, 0);
	/*
	 * Where the change was made: the caller (SetGoroutineLabels, pprof.Do
	 * and the code that called them), walked from this function's return
	 * address.  Sent before the record that uses it, like label sets.
	 */
	if (want_stacks) {
		__u64 fp = GO_FP(ctx);

		if (setproflabel_frame_set)
			fp = read_u64(fp);
		stack = send_stack_from(read_u64(GO_SP(ctx) + setproflabel_sp_delta), fp);
	}
	e = reserve(GT_EV_LABELS, sizeof(*e), goid_of(g));
	if (!e)
		return 0;
	e->labels = id;
	e->stack = stack;
	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}

/* preemptPark(gp): the GC suspends a running goroutine without casgstatus. */
static __always_inline int on_preemptpark(struct pt_regs *ctx)
{
	__u64 gp = GO_ARG1(ctx);

	if (preemptpark_before_check && will_restart(ctx, preemptpark_at_jbe))
		return 0;
	emit_simple(GT_EV_PREEMPT, off_thread(gp), GT_F_GC_SUSPEND);
	return 0;
}

/*
 * The one program on every site; the site's cookie (enum gt_site_kind,
 * set by user/live/tracer.c) says which runtime function it is in.  Go
 * 1.26+ enters and leaves syscalls with a CAS of their own: the
 * SYSCALL_* sites are on those functions.
 */
SEC("uprobe")
int uprobe_gtrace(struct pt_regs *ctx)
{
	if (!is_target())
		return 0;
	switch (bpf_get_attach_cookie(ctx)) {
	case GT_SITE_CASGSTATUS:
		return handle_casgstatus(ctx);
	case GT_SITE_NEWPROC1_RET:
		return on_newproc1_ret(ctx);
	case GT_SITE_SETPROFLABEL:
		return on_setproflabel(ctx);
	case GT_SITE_PREEMPTPARK:
		return on_preemptpark(ctx);
	case GT_SITE_SYSCALL_ENTER:
		emit_simple(GT_EV_SYSCALL_ENTER, goid_fast(GO_G(ctx)), 0);
		return 0;
	case GT_SITE_SYSCALL_EXIT:
		emit_simple(GT_EV_SYSCALL_EXIT, goid_fast(GO_G(ctx)), 0);
		return 0;
	}
	return 0;
}

/* Benchmarks only: what a trap costs with no work (bare-trap baseline). */
SEC("uprobe")
int uprobe_count(struct pt_regs *ctx)
{
	count(&hits, 0);
	return 0;
}
