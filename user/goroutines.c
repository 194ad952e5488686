// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reads a live Go process's goroutines from outside (see goroutines.h).
 * Nothing here stops the target: reads race with the runtime, so every g
 * is read, walked, then read again, and only a g whose identity and resume
 * point did not move counts as consistent.  g structs are never freed by
 * the runtime, so a stale pointer reads garbage at worst, never a fault we
 * cannot handle: process_vm_readv fails cleanly on unmapped memory.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "debug.h"
#include "goroutines.h"
#include "u64map.h"

#define STACK_WINDOW 1024 /* bytes of stack fetched per read while walking: most stacks fit */
#define LABELS_MAX 1024	  /* labels read per set */
#define HMAP_B_MAX 16	  /* larger label maps are garbage, not labels */
#define G_BATCH 256	  /* g structs fetched per process_vm_readv */

struct gt_greader {
	struct gt_target *t;
	pid_t pid;
	uint64_t bias;	     /* runtime address - link-time address */
	uint64_t allglen_va; /* runtime addresses */
	uint64_t allgptr_va;
	const char *allgs_source;
	uint32_t gsize;	     /* bytes of g read: through the last field used */
	uint32_t waitsince;  /* offset of g.waitsince: the i64 before waitreason */
	uint64_t main_entry, runfinq_entry;
	/*
	 * Label sets are immutable and shared by every goroutine created under
	 * them: within one read_all, read each set once (by address).
	 */
	struct u64map lcache;
	bool caching;
};

struct lset {
	int n;
	uint32_t flags;
	struct gt_label *labels;
};

/* The fields of one read of a g, to compare two reads. */
struct graw {
	uint64_t goid, sched_sp, sched_pc, sched_bp, sys_sp, sys_pc, sys_bp;
	uint64_t stack_lo, stack_hi, m, labels, gopc, startpc, parent;
	int64_t waitsince;
	uint32_t status;
	uint8_t reason;
};

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- memory ---- */

static int target_errno(struct gt_greader *r, int e)
{
	if (e == ESRCH || (kill(r->pid, 0) && errno == ESRCH))
		return -ESRCH;
	return e == EPERM ? -EPERM : -EFAULT;
}

/* Reads exactly len bytes at addr.  0, -EFAULT, -EPERM or -ESRCH (target gone). */
static int rd(struct gt_greader *r, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, rv = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = process_vm_readv(r->pid, &l, 1, &rv, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	return target_errno(r, n < 0 ? errno : EFAULT);
}

static int rd64(struct gt_greader *r, uint64_t addr, uint64_t *v)
{
	return rd(r, addr, v, sizeof(*v));
}

static uint64_t get64(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *b, uint32_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* ---- finding allgs ---- */

/* runtime.forEachGRace loads allglen then allgptr, each RIP-relative, first (go-runtime.md §5). */
static int allgs_from_disasm(const struct gt_target *t, uint64_t *len_va, uint64_t *ptr_va)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, "runtime.forEachGRace");
	uint64_t found[2], addr, size;
	const uint8_t *code;
	cs_insn *insn;
	int n = 0;
	csh cs;

	if (!f || t->elf.machine != 62 /* EM_X86_64 */ || f->end <= f->entry)
		return -ENOENT;
	size = f->end - f->entry;
	addr = f->entry;
	code = elf_file__vaddr_ptr(&t->elf, addr, size);
	if (!code || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOENT;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	while (insn && n < 2 && cs_disasm_iter(cs, &code, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id != X86_INS_MOV || x->op_count != 2 || x->operands[1].type != X86_OP_MEM ||
		    x->operands[1].mem.base != X86_REG_RIP || x->operands[1].size != 8)
			continue;
		found[n++] = insn->address + insn->size + x->operands[1].mem.disp;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	if (n < 2)
		return -ENOENT;
	*len_va = found[0];
	*ptr_va = found[1];
	return 0;
}

static int find_allgs(struct gt_greader *r)
{
	const struct gt_target *t = r->t;
	uint64_t l, p;

	if (!elf_file__symbol(&t->elf, "runtime.allglen", &l, NULL) &&
	    !elf_file__symbol(&t->elf, "runtime.allgptr", &p, NULL)) {
		r->allgs_source = "symtab";
	} else if (!allgs_from_disasm(t, &l, &p)) {
		r->allgs_source = "disasm runtime.forEachGRace";
	} else {
		pr_err("cannot find runtime.allgs in %s (no .symtab, and runtime.forEachGRace "
		       "did not decode)\n", t->exe_name);
		return -ENOENT;
	}
	r->allglen_va = l + r->bias;
	r->allgptr_va = p + r->bias;
	pr_debug("allglen %#llx allgptr %#llx (%s)\n", (unsigned long long)l,
		 (unsigned long long)p, r->allgs_source);
	return 0;
}


static void set_layout(struct gt_greader *r)
{
	const struct gt_go_offsets *o = &r->t->rt.off;
	const uint32_t offs[] = { o->g_goid, o->g_atomicstatus, o->g_waitreason, o->g_labels,
				  o->g_gopc, o->g_startpc, o->g_parent_goid, o->g_m,
				  o->g_sched_sp, o->g_sched_pc, o->g_sched_bp, o->g_syscallsp,
				  o->g_syscallpc, o->g_syscallbp };

	r->gsize = 16;
	for (size_t i = 0; i < sizeof(offs) / sizeof(*offs); i++)
		if (offs[i] + 8 > r->gsize)
			r->gsize = offs[i] + 8;
	/* waitsince precedes waitreason in every g layout 1.19-1.27 (go-runtime.md §1.1). */
	r->waitsince = o->g_waitreason >= 8 ? o->g_waitreason - 8 : 0;
}

int greader__open(struct gt_greader **out, struct gt_target *t)
{
	struct gt_greader *r = calloc(1, sizeof(*r));
	const struct gt_func *f;
	uint64_t v;
	int err;

	if (!r)
		return -ENOMEM;
	r->t = t;
	r->pid = t->pid;
	set_layout(r);
	f = pclntab__lookup_name(t->pcln, "runtime.main");
	r->main_entry = f ? f->entry : 0;
	f = pclntab__lookup_name(t->pcln, "runtime.runfinq");
	if (!f) /* renamed in 1.26 */
		f = pclntab__lookup_name(t->pcln, "runtime.runFinalizers");
	r->runfinq_entry = f ? f->entry : 0;
	r->bias = t->load_bias;
	err = find_allgs(r);
	if (!err && (err = rd64(r, r->allglen_va, &v))) {
		if (err == -EPERM)
			pr_err("cannot read the memory of PID %d: permission denied (run as root, "
			       "or see kernel.yama.ptrace_scope)\n", r->pid);
		else if (err == -ESRCH)
			pr_err("PID %d exited\n", r->pid);
		else
			pr_err("cannot read runtime.allglen of PID %d: is it the binary it was "
			       "started from?\n", r->pid);
	}
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void greader__close(struct gt_greader *r)
{
	free(r);
}

uint64_t greader__unbias(const struct gt_greader *r, uint64_t addr)
{
	return addr ? addr - r->bias : 0;
}

/* ---- one g ---- */

static void parse_g(const struct gt_greader *r, const uint8_t *b, struct graw *g)
{
	const struct gt_go_offsets *o = &r->t->rt.off;

	memset(g, 0, sizeof(*g));
	g->stack_lo = get64(b, 0);
	g->stack_hi = get64(b, 8);
	g->goid = get64(b, o->g_goid);
	g->status = get32(b, o->g_atomicstatus) & ~0x1000u;
	g->reason = b[o->g_waitreason];
	g->waitsince = r->waitsince ? (int64_t)get64(b, r->waitsince) : 0;
	g->parent = o->g_parent_goid ? get64(b, o->g_parent_goid) : 0;
	g->gopc = get64(b, o->g_gopc);
	g->startpc = get64(b, o->g_startpc);
	g->m = get64(b, o->g_m);
	g->labels = get64(b, o->g_labels);
	g->sched_sp = get64(b, o->g_sched_sp);
	g->sched_pc = get64(b, o->g_sched_pc);
	g->sched_bp = get64(b, o->g_sched_bp);
	g->sys_sp = get64(b, o->g_syscallsp);
	g->sys_pc = get64(b, o->g_syscallpc);
	g->sys_bp = o->g_syscallbp ? get64(b, o->g_syscallbp) : 0;
}

/* The same goroutine at the same resume point: nothing the walk used moved. */
static bool same_g(const struct graw *a, const struct graw *b)
{
	return a->goid == b->goid && a->status == b->status && a->sched_pc == b->sched_pc &&
	       a->sched_sp == b->sched_sp && a->sched_bp == b->sched_bp &&
	       a->sys_pc == b->sys_pc && a->sys_sp == b->sys_sp && a->sys_bp == b->sys_bp &&
	       a->labels == b->labels && a->reason == b->reason;
}

static bool dead(uint32_t status)
{
	return status == GT_G_IDLE || status == GT_G_DEAD || status == GT_G_DEADEXTRA;
}

/* Go's isSystemGoroutine, from the start function's name. */
static bool is_system(const struct gt_greader *r, uint64_t startpc, uint32_t status)
{
	const struct gt_func *f = pclntab__lookup_pc(r->t->pcln, startpc);

	if (!f || f->entry == r->main_entry)
		return false;
	/* The finalizer goroutine counts as the program's only while it runs finalizers. */
	if (f->entry == r->runfinq_entry)
		return status != GT_G_RUNNING && status != GT_G_RUNNABLE;
	return !strncmp(f->name, "runtime.", 8);
}

/*
 * Frame-pointer walk (the runtime's fpTracebackPCs): each frame holds the
 * caller's frame pointer at [fp] and the return address at [fp+8].  The
 * stack is fetched a window at a time; frame pointers must grow and stay
 * within the goroutine's stack.
 */
static int walk(struct gt_greader *r, const struct graw *g, uint64_t pc, uint64_t fp,
		struct gt_goroutine *out)
{
	uint64_t win_lo = 0, win_hi = 0, *pcs;
	uint8_t buf[STACK_WINDOW];
	int n = 0, err = 0;

	pcs = malloc(GT_G_MAX_FRAMES * sizeof(*pcs));
	if (!pcs)
		return -ENOMEM;
	pcs[n++] = pc;
	while (fp) {
		uint64_t next, ret;

		if (fp < g->stack_lo || fp + 16 > g->stack_hi || (fp & 7)) {
			out->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		if (fp < win_lo || fp + 16 > win_hi) {
			win_lo = fp;
			win_hi = fp + STACK_WINDOW < g->stack_hi ? fp + STACK_WINDOW : g->stack_hi;
			err = rd(r, win_lo, buf, win_hi - win_lo);
			if (err) {
				out->flags |= GT_G_STACK_PARTIAL;
				break;
			}
		}
		next = get64(buf, fp - win_lo);
		ret = get64(buf, fp - win_lo + 8);
		if (!ret)
			break;
		if (n == GT_G_MAX_FRAMES) {
			out->flags |= GT_G_TRUNCATED;
			break;
		}
		pcs[n++] = ret;
		if (next && next <= fp) {
			out->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		fp = next;
	}
	/* Keep only what was walked: 100k goroutines must not cost 512 slots each. */
	out->pcs = realloc(pcs, n * sizeof(*pcs)) ?: pcs;
	out->nframes = n;
	return err == -ESRCH ? err : 0;
}

/*
 * Before 1.23 the runtime saved no frame pointer at syscall entry (go-runtime.md
 * §6).  The frame record of the function that entered the syscall lies just
 * above syscallsp: take the first [fp, ret] pair whose ret is code and whose
 * fp links further up the same stack.
 */
static uint64_t syscall_fp(struct gt_greader *r, const struct graw *g)
{
	uint64_t lo = g->sys_sp, hi, buf[128];

	if (!lo || lo < g->stack_lo || lo >= g->stack_hi)
		return 0;
	hi = lo + sizeof(buf) < g->stack_hi ? lo + sizeof(buf) : g->stack_hi;
	if (rd(r, lo, buf, hi - lo))
		return 0;
	for (size_t i = 0; i + 1 < (hi - lo) / 8; i++) {
		uint64_t fp = lo + i * 8, next = buf[i], ret = buf[i + 1];

		if (!next || next <= fp || next >= g->stack_hi || (next & 7))
			continue;
		if (pclntab__lookup_pc(r->t->pcln, greader__unbias(r, ret) - 1))
			return fp;
	}
	return 0;
}

static int stack_of(struct gt_greader *r, const struct graw *g, struct gt_goroutine *out)
{
	uint64_t pc = g->sched_pc, fp = g->sched_bp;

	if (g->status == GT_G_RUNNING || g->status == GT_G_COPYSTACK) {
		out->flags |= GT_G_NO_STACK;
		return 0;
	}
	if (g->status == GT_G_SYSCALL && g->sys_pc) {
		pc = g->sys_pc;
		fp = g->sys_bp;
		if (!fp)
			fp = syscall_fp(r, g);
		if (!fp)
			out->flags |= GT_G_STACK_PARTIAL;
	}
	if (!pc) {
		out->flags |= GT_G_NO_STACK;
		return 0;
	}
	/* A goroutine that never ran resumes at its entry, not after a call: keep ret-1 exact. */
	if (pc == g->startpc)
		pc++;
	return walk(r, g, pc, fp, out);
}

/* ---- labels ---- */

static int read_str(struct gt_greader *r, uint64_t p, uint64_t len, char **out, bool *cut)
{
	char *s;

	if (len > GT_G_LABEL_MAX) {
		len = GT_G_LABEL_MAX;
		*cut = true;
	}
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	if (len && rd(r, p, s, len)) {
		free(s);
		return -EFAULT;
	}
	s[len] = 0;
	*out = s;
	return 0;
}

static int add_label(struct gt_greader *r, struct gt_goroutine *g, const uint8_t *kv)
{
	struct gt_label *l;
	bool cut = false;

	if (g->nlabels == LABELS_MAX) {
		g->flags |= GT_G_LABELS_TRUNCATED;
		return 0;
	}
	if (!(g->nlabels & 7)) {
		l = realloc(g->labels, (g->nlabels + 8) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		g->labels = l;
	}
	l = &g->labels[g->nlabels];
	if (read_str(r, get64(kv, 0), get64(kv, 8), &l->key, &cut))
		goto bad;
	if (read_str(r, get64(kv, 16), get64(kv, 24), &l->value, &cut)) {
		free(l->key);
		goto bad;
	}
	g->nlabels++;
	if (cut)
		g->flags |= GT_G_LABELS_TRUNCATED;
	return 0;
bad:
	g->flags |= GT_G_LABELS_TRUNCATED;
	return 0;
}

/* 1.24+: labelMap is struct{ list []label }, label = {key, value string}: 32 bytes each. */
static int labels_slice(struct gt_greader *r, uint64_t p, struct gt_goroutine *g)
{
	uint64_t hdr[3], n;
	uint8_t *buf;
	int err = 0;

	if (rd(r, p, hdr, sizeof(hdr)))
		return -EFAULT;
	n = hdr[1];
	if (n > hdr[2] || n > 1 << 20)
		return -EFAULT;
	if (n > LABELS_MAX) {
		n = LABELS_MAX;
		g->flags |= GT_G_LABELS_TRUNCATED;
	}
	if (!n)
		return 0;
	buf = malloc(n * 32);
	if (!buf)
		return -ENOMEM;
	if (rd(r, hdr[0], buf, n * 32))
		err = -EFAULT;
	for (uint64_t i = 0; !err && i < n; i++)
		err = add_label(r, g, buf + i * 32);
	free(buf);
	return err;
}

/* One bucket chain of a map[string]string: tophash[8], keys[8], values[8], overflow. */
static int labels_bucket(struct gt_greader *r, uint64_t b, struct gt_goroutine *g)
{
	uint8_t bk[272], kv[32];

	for (int hops = 0; b && hops < 64; hops++) {
		if (rd(r, b, bk, sizeof(bk)))
			return -EFAULT;
		for (int i = 0; i < 8; i++) {
			int err;

			if (bk[i] < 5) /* emptyRest, emptyOne, evacuated*: no live entry */
				continue;
			memcpy(kv, bk + 8 + 16 * i, 16);
			memcpy(kv + 16, bk + 136 + 16 * i, 16);
			err = add_label(r, g, kv);
			if (err)
				return err;
		}
		b = get64(bk, 264);
	}
	return 0;
}

/* <= 1.23: g.labels -> *labelMap -> hmap (go-runtime.md §4). */
static int labels_map(struct gt_greader *r, uint64_t p, struct gt_goroutine *g)
{
	uint8_t h[48];
	uint64_t hm, buckets, old;
	unsigned B;
	int err;

	if (rd64(r, p, &hm))
		return -EFAULT;
	if (!hm)
		return 0;
	if (rd(r, hm, h, sizeof(h)))
		return -EFAULT;
	B = h[9];
	buckets = get64(h, 16);
	old = get64(h, 24);
	if (B > HMAP_B_MAX || !get64(h, 0))
		return B > HMAP_B_MAX ? -EFAULT : 0;
	for (uint64_t i = 0; i < 1ull << B; i++)
		if ((err = labels_bucket(r, buckets + i * 272, g)))
			return err;
	/* Label maps are never written after publication, but be safe: entries not yet evacuated. */
	for (uint64_t i = 0; old && B && i < 1ull << (B - 1); i++)
		if ((err = labels_bucket(r, old + i * 272, g)))
			return err;
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct gt_label *)a)->key, ((const struct gt_label *)b)->key);
}

static void free_labels(struct gt_goroutine *g)
{
	for (int i = 0; i < g->nlabels; i++) {
		free(g->labels[i].key);
		free(g->labels[i].value);
	}
	free(g->labels);
	g->labels = NULL;
	g->nlabels = 0;
}

static int copy_labels(const struct gt_label *from, int n, struct gt_goroutine *g)
{
	if (!n)
		return 0;
	g->labels = calloc(n, sizeof(*g->labels));
	if (!g->labels)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		g->labels[i].key = strdup(from[i].key);
		g->labels[i].value = strdup(from[i].value);
		g->nlabels++;
		if (!g->labels[i].key || !g->labels[i].value)
			return -ENOMEM;
	}
	return 0;
}

static void cache_labels(struct gt_greader *r, uint64_t p, const struct gt_goroutine *g)
{
	struct lset *ls = calloc(1, sizeof(*ls));
	struct gt_goroutine tmp = { 0 };

	if (!ls || copy_labels(g->labels, g->nlabels, &tmp) ||
	    u64map__put(&r->lcache, p, ls)) {
		free_labels(&tmp);
		free(ls);
		return;
	}
	ls->n = tmp.nlabels;
	ls->labels = tmp.labels;
	ls->flags = g->flags & GT_G_LABELS_TRUNCATED;
}

static void drop_cache(struct gt_greader *r)
{
	for (size_t i = 0; i < r->lcache.cap; i++) {
		struct lset *ls;
		struct gt_goroutine tmp = { 0 };

		if (!r->lcache.keys || !r->lcache.keys[i])
			continue;
		ls = r->lcache.vals[i];
		tmp.labels = ls->labels;
		tmp.nlabels = ls->n;
		free_labels(&tmp);
		free(ls);
	}
	u64map__free(&r->lcache);
}

static int labels_of(struct gt_greader *r, uint64_t p, struct gt_goroutine *g)
{
	struct lset *ls;
	int err;

	if (!p)
		return 0;
	ls = r->caching ? u64map__get(&r->lcache, p) : NULL;
	if (ls) {
		g->flags |= ls->flags;
		return copy_labels(ls->labels, ls->n, g);
	}
	err = r->t->rt.off.labels_slice ? labels_slice(r, p, g) : labels_map(r, p, g);
	if (err == -EFAULT) {
		g->flags |= GT_G_LABELS_TRUNCATED;
		err = 0;
	}
	if (g->nlabels > 1)
		qsort(g->labels, g->nlabels, sizeof(*g->labels), cmp_label);
	if (!err && r->caching)
		cache_labels(r, p, g);
	return err;
}

/* ---- reading ---- */

static void fill(struct gt_greader *r, const struct graw *w, struct gt_goroutine *g)
{
	const struct gt_go_offsets *o = &r->t->rt.off;
	uint64_t tid;

	g->goid = w->goid;
	g->status = w->status;
	g->reason = w->reason;
	g->waitsince = w->waitsince > 0 ? w->waitsince : 0;
	g->parent = w->parent;
	g->gopc = greader__unbias(r, w->gopc);
	g->startpc = greader__unbias(r, w->startpc);
	if (is_system(r, g->startpc, g->status))
		g->flags |= GT_G_SYSTEM;
	if (w->m && (w->status == GT_G_RUNNING || w->status == GT_G_SYSCALL)) {
		g->m = w->m;
		if (o->m_procid && !rd64(r, w->m + o->m_procid, &tid))
			g->tid = (int)tid;
	}
	for (int i = 0; i < g->nframes; i++)
		g->pcs[i] = greader__unbias(r, g->pcs[i]);
}

/* One attempt: stack and labels for the g as first read into w. */
static int read_attempt(struct gt_greader *r, uint64_t addr, const uint8_t *first,
			struct gt_goroutine *g, struct graw *w, bool *moved)
{
	uint8_t b[1024];
	struct graw again;
	int err;

	parse_g(r, first, w);
	if (dead(w->status)) {
		*moved = false;
		return 0;
	}
	err = stack_of(r, w, g);
	if (!err)
		err = labels_of(r, w->labels, g);
	if (err)
		return err;
	err = rd(r, addr, b, r->gsize);
	if (err)
		return err;
	parse_g(r, b, &again);
	*moved = !same_g(w, &again);
	return 0;
}

static void clear_g(struct gt_goroutine *g)
{
	free(g->pcs);
	free_labels(g);
	memset(g, 0, sizeof(*g));
}

/* Reads the g at addr starting from an already fetched copy of its fields. */
static int read_from(struct gt_greader *r, uint64_t addr, const uint8_t *first,
		     struct gt_goroutine *g)
{
	uint8_t b[1024];
	const uint8_t *cur = first;
	struct graw w;
	bool moved = true;
	int err = 0;

	for (int i = 0; i < GT_G_RETRIES && moved; i++) {
		clear_g(g);
		g->addr = addr;
		g->retries = i;
		if (i) {
			if ((err = rd(r, addr, b, r->gsize)))
				return err;
			cur = b;
		}
		err = read_attempt(r, addr, cur, g, &w, &moved);
		if (err)
			return err;
	}
	if (moved)
		g->flags |= GT_G_INCONSISTENT;
	fill(r, &w, g);
	return dead(w.status) ? -ENOENT : 0;
}

int greader__read_one(struct gt_greader *r, uint64_t addr, struct gt_goroutine *g)
{
	uint8_t b[1024];
	int err;

	memset(g, 0, sizeof(*g));
	if (r->gsize > sizeof(b))
		return -EINVAL;
	err = rd(r, addr, b, r->gsize);
	if (err)
		return err;
	err = read_from(r, addr, b, g);
	if (err && err != -ENOENT)
		clear_g(g);
	return err;
}

/* Fetches up to G_BATCH g structs with one call; fills ok[i] for those read. */
static int fetch_batch(struct gt_greader *r, const uint64_t *addrs, size_t n, uint8_t *buf,
		       bool *ok)
{
	struct iovec l[G_BATCH], rv[G_BATCH];
	size_t done = 0;

	memset(ok, 0, n * sizeof(*ok));
	while (done < n) {
		size_t k = 0, got;
		ssize_t rc;

		for (size_t i = done; i < n; i++, k++) {
			l[k] = (struct iovec){ buf + i * r->gsize, r->gsize };
			rv[k] = (struct iovec){ (void *)(uintptr_t)addrs[i], r->gsize };
		}
		rc = process_vm_readv(r->pid, l, k, rv, k, 0);
		if (rc < 0 && (errno == ESRCH || (kill(r->pid, 0) && errno == ESRCH)))
			return -ESRCH;
		got = rc > 0 ? rc / r->gsize : 0;
		for (size_t i = 0; i < got; i++)
			ok[done + i] = true;
		/* A partial read stops at the first unreadable g: skip it and go on. */
		done += got + 1;
	}
	return 0;
}

static int push(struct gt_snapshot *s, size_t *cap, struct gt_goroutine *g)
{
	if (s->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct gt_goroutine *ng = realloc(s->g, nc * sizeof(*ng));

		if (!ng)
			return -ENOMEM;
		s->g = ng;
		*cap = nc;
	}
	s->g[s->n++] = *g;
	if (g->flags & GT_G_SYSTEM)
		s->nsystem++;
	if (g->flags & GT_G_INCONSISTENT)
		s->ninconsistent++;
	return 0;
}

/* allgs by the runtime's lock-free protocol: allglen first, then allgptr (allgadd stores the other way). */
static int read_allgs(struct gt_greader *r, uint64_t **out, size_t *n)
{
	uint64_t len, ptr, *a;
	int err;

	if ((err = rd64(r, r->allglen_va, &len)) || (err = rd64(r, r->allgptr_va, &ptr)))
		return err;
	if (len > 1 << 26) {
		pr_err("runtime.allglen reads %llu: wrong offsets for this binary?\n",
		       (unsigned long long)len);
		return -EFAULT;
	}
	a = malloc((len ? len : 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (len && (err = rd(r, ptr, a, len * sizeof(*a)))) {
		free(a);
		return err;
	}
	*out = a;
	*n = len;
	return 0;
}

static int read_batch(struct gt_greader *r, struct gt_snapshot *s, size_t *cap,
		      const uint64_t *addrs, size_t k, uint8_t *buf)
{
	bool ok[G_BATCH];
	int err = fetch_batch(r, addrs, k, buf, ok);

	for (size_t j = 0; !err && j < k; j++) {
		struct gt_goroutine g = { 0 };
		const uint8_t *b = buf + j * r->gsize;

		if (!ok[j] || dead(get32(b, r->t->rt.off.g_atomicstatus) & ~0x1000u))
			continue;
		err = read_from(r, addrs[j], b, &g);
		if (err == -ENOENT) { /* died while read */
			clear_g(&g);
			err = 0;
			continue;
		}
		if (err == -EFAULT) {
			clear_g(&g);
			err = 0;
			continue;
		}
		if (!err && (err = push(s, cap, &g)))
			clear_g(&g);
	}
	return err;
}

int greader__read_all(struct gt_greader *r, struct gt_snapshot *s, volatile int *stop)
{
	size_t n = 0, cap = 0;
	uint64_t *addrs = NULL;
	uint8_t *buf;
	int err;

	memset(s, 0, sizeof(*s));
	s->allgs_source = r->allgs_source;
	s->start_ns = now_mono();
	buf = malloc((size_t)G_BATCH * r->gsize);
	err = buf ? read_allgs(r, &addrs, &n) : -ENOMEM;
	s->allglen = n;
	r->caching = true;
	for (size_t i = 0; !err && i < n; i += G_BATCH) {
		if (stop && *stop) {
			err = -EINTR;
			break;
		}
		err = read_batch(r, s, &cap, addrs + i, n - i < G_BATCH ? n - i : G_BATCH, buf);
	}
	s->end_ns = now_mono();
	r->caching = false;
	drop_cache(r);
	if (err == -ESRCH)
		s->target_exited = true;
	free(addrs);
	free(buf);
	return err;
}

void goroutine__free(struct gt_goroutine *g)
{
	clear_g(g);
}

void snapshot__free(struct gt_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		clear_g(&s->g[i]);
	free(s->g);
	memset(s, 0, sizeof(*s));
}

/* ---- names ---- */

const char *goroutine__status_name(uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting", "moribund", "dead",
		"enqueue", "copystack", "preempted", "leaked", "dead (extra)",
	};

	return status < sizeof(names) / sizeof(*names) ? names[status] : "unknown";
}

const char *goroutine__state(const struct gt_target *t, const struct gt_goroutine *g)
{
	const char *r = t->rt.waitreason[g->reason];

	if (g->status == GT_G_WAITING && g->reason && r && *r)
		return r;
	return goroutine__status_name(g->status);
}

/* ---- records for a capture ---- */

/* FNV-1a with its own basis, top bit set: never equal to an id the BPF side makes. */
static uint64_t id_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

#define ID_SEED 0x6774726163652d73ull /* "gtrace-s" */
#define ID_BIT (1ull << 63)

static size_t put_str(uint8_t *blob, size_t at, const char *s)
{
	uint16_t n = strnlen(s, GT_LABEL_STR_MAX);

	if (at + 2 + n > GT_LABELSET_BLOB)
		return 0;
	memcpy(blob + at, &n, 2);
	memcpy(blob + at + 2, s, n);
	return 2 + n;
}

static uint64_t emit_labels(const struct gt_goroutine *g, uint64_t ts, struct u64map *done,
			    gt_record_fn fn, void *ctx, int *err)
{
	struct gt_ev_labelset e;
	uint64_t id = ID_SEED;
	size_t at = 0;

	if (!g->nlabels)
		return 0;
	memset(&e, 0, offsetof(struct gt_ev_labelset, blob));
	for (int i = 0; i < g->nlabels && e.count < GT_LABEL_MAX; i++) {
		size_t k = put_str(e.blob, at, g->labels[i].key), v;

		v = k ? put_str(e.blob, at + k, g->labels[i].value) : 0;
		if (!k || !v) {
			e.h.flags |= GT_F_TRUNCATED;
			break;
		}
		at += k + v;
		e.count++;
	}
	if (e.count < g->nlabels || (g->flags & GT_G_LABELS_TRUNCATED))
		e.h.flags |= GT_F_TRUNCATED;
	e.blob_len = at;
	id = id_hash(id, e.blob, at) | ID_BIT;
	if (u64map__get(done, id))
		return id;
	u64map__put(done, id, (void *)1);
	e.h.type = GT_EV_LABELSET;
	/* Readers step by size: keep records 8-byte multiples, padding zeroed. */
	e.h.size = (offsetof(struct gt_ev_labelset, blob) + at + 7) & ~7ul;
	memset(e.blob + at, 0, e.h.size - offsetof(struct gt_ev_labelset, blob) - at);
	e.h.ts = ts;
	e.id = id;
	*err = fn(ctx, &e, e.h.size);
	return id;
}

static uint64_t emit_stack(const struct gt_goroutine *g, uint64_t ts, struct u64map *done,
			   gt_record_fn fn, void *ctx, int *err)
{
	struct gt_ev_stack e;
	uint32_t nr = g->nframes < GT_STACK_MAX ? g->nframes : GT_STACK_MAX;
	uint64_t id;

	if (!nr)
		return 0;
	id = id_hash(ID_SEED ^ 0x5354, g->pcs, nr * sizeof(*g->pcs)) | ID_BIT;
	if (u64map__get(done, id))
		return id;
	u64map__put(done, id, (void *)1);
	memset(&e, 0, offsetof(struct gt_ev_stack, pcs));
	e.h.type = GT_EV_STACK;
	e.h.size = offsetof(struct gt_ev_stack, pcs) + nr * sizeof(e.pcs[0]);
	e.h.ts = ts;
	if (nr < (uint32_t)g->nframes || (g->flags & GT_G_TRUNCATED))
		e.h.flags |= GT_F_TRUNCATED;
	e.id = id;
	e.nr = nr;
	memcpy(e.pcs, g->pcs, nr * sizeof(e.pcs[0]));
	*err = fn(ctx, &e, e.h.size);
	return id;
}

int goroutines__emit_snapshot(struct gt_target *t, gt_record_fn fn, void *ctx)
{
	struct gt_greader *r;
	struct gt_snapshot s;
	struct u64map done = { 0 };
	int err = greader__open(&r, t);

	if (err)
		return err;
	err = greader__read_all(r, &s, NULL);
	if (err == -ESRCH)
		err = 0; /* emit what was read */
	for (size_t i = 0; !err && i < s.n; i++) {
		const struct gt_goroutine *g = &s.g[i];
		struct gt_ev_snapshot e = { .h = { .type = GT_EV_SNAPSHOT, .size = sizeof(e) } };

		e.h.ts = s.end_ns;
		e.h.tid = g->tid;
		e.h.goid = g->goid;
		e.labels = emit_labels(g, s.end_ns, &done, fn, ctx, &err);
		if (!err)
			e.stack = emit_stack(g, s.end_ns, &done, fn, ctx, &err);
		if (err)
			break;
		e.parent = g->parent;
		e.gopc = g->gopc;
		e.startpc = g->startpc;
		e.status = g->status;
		e.reason = g->reason;
		if (g->flags & (GT_G_TRUNCATED | GT_G_LABELS_TRUNCATED))
			e.h.flags |= GT_F_TRUNCATED;
		err = fn(ctx, &e, sizeof(e));
	}
	err = err ? err : (int)s.n;
	snapshot__free(&s);
	u64map__free(&done);
	greader__close(r);
	return err;
}
