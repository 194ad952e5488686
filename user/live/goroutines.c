// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reads a live Go process's goroutines from outside (see goroutines.h).
 * Nothing here stops the target: reads race with the runtime, so every g
 * is read, walked, then read again, and only a g whose identity and resume
 * point did not move counts as consistent.  g structs are never freed by
 * the runtime, so a stale pointer reads garbage at worst, never a fault we
 * cannot handle: process_vm_readv fails cleanly on unmapped memory.
 *
 * At 100,000 goroutines the cost is the number of reads, not their size:
 * goroutines are taken CHUNK at a time and every step reads for the whole
 * chunk with process_vm_readv calls of up to IOV_MAX ranges each (g structs,
 * stack windows level by level, the re-check), so a parked goroutine costs
 * about three iovecs and no system call of its own.
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
#include "lib/debug.h"
#include "live/goroutines.h"
#include "capture/gstate.h"
#include "lib/u64map.h"

#define STACK_WINDOW 1024 /* bytes of stack fetched per read while walking: most stacks fit */
#define LABELS_MAX 1024	  /* labels read per set */
#define HMAP_B_MAX 16	  /* larger label maps are garbage, not labels */
#define CHUNK 1024	  /* goroutines taken through read, walk and re-check together */
#define IOV_BATCH 1024	  /* iovecs per process_vm_readv (IOV_MAX) */
#define INLINE_PCS 48	  /* return addresses kept in place per goroutine while walking */
#define ABLK_WORDS 65536  /* 8-byte words per block of a snapshot's shared storage */
#define G_GAP 512	  /* g structs closer than this are fetched as one range */
#define G_RANGE_MAX 65536 /* bytes of such a range */

struct gt_greader {
	struct gt_target *t;
	pid_t pid;
	uint64_t bias;	     /* runtime address - link-time address */
	uint64_t allglen_va; /* runtime addresses */
	uint64_t allgptr_va;
	const char *allgs_source;
	uint32_t gsize;	     /* bytes of g read: through the last field used */
	uint32_t waitsince;  /* offset of g.waitsince: the i64 before waitreason */
	uint64_t runfinq_entry;
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
	r->waitsince = r->t->rt.g_waitsince;
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
	f = pclntab__lookup_name(t->pcln, "runtime.runfinq");
	if (!f) /* renamed in 1.26 */
		f = pclntab__lookup_name(t->pcln, "runtime.runFinalizers");
	r->runfinq_entry = f ? f->entry : 0;
	r->bias = t->load_bias;
	err = find_allgs(r);
	if (!err && (err = rd64(r, r->allglen_va, &v))) {
		if (err == -EPERM)
			pr_err("cannot read the memory of PID %d: permission denied (%s)\n", r->pid,
			       geteuid() ? "run as root" :
			       "a security module or kernel.yama.ptrace_scope forbids it, even to root");
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

	if (!f)
		return false;
	/* The finalizer goroutine counts as the program's only while it runs finalizers. */
	if (f->entry == r->runfinq_entry)
		return status != GT_G_RUNNING && status != GT_G_RUNNABLE;
	return gs_is_system_func(f->name);
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

/* ---- storage shared by a snapshot's goroutines ---- */

/*
 * A snapshot's goroutines do not own their stacks and labels: identical
 * stacks are stored once (100,000 parked goroutines typically share a
 * handful), and every label set once, in blocks freed with the snapshot.
 */
struct ablk {
	struct ablk *next;
	size_t used, cap;
	uint64_t data[];
};

struct stk {
	int n;
	uint64_t pcs[];
};

struct gstore {
	struct ablk *blocks;
	struct u64map stacks; /* hash of pcs -> struct stk */
	struct u64map lsets;  /* runtime address of a label set -> struct lset */
};

static void *store_alloc(struct gstore *st, size_t len)
{
	size_t words = (len + 7) / 8;
	struct ablk *b = st->blocks;

	if (!b || b->cap - b->used < words) {
		size_t cap = words > ABLK_WORDS ? words : ABLK_WORDS;

		b = malloc(sizeof(*b) + cap * 8);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = st->blocks;
		st->blocks = b;
	}
	b->used += words;
	return b->data + b->used - words;
}

static void free_lset(struct lset *ls)
{
	for (int i = 0; i < ls->n; i++) {
		free(ls->labels[i].key);
		free(ls->labels[i].value);
	}
	free(ls->labels);
	free(ls);
}

static void store_free(struct gstore *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->lsets.cap; i++)
		if (st->lsets.keys && st->lsets.keys[i])
			free_lset(st->lsets.vals[i]);
	u64map__free(&st->lsets);
	u64map__free(&st->stacks);
	while (st->blocks) {
		struct ablk *b = st->blocks;

		st->blocks = b->next;
		free(b);
	}
	free(st);
}

static uint64_t hash_pcs(const uint64_t *pcs, int n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;

	for (int i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0x100000001b3ull ^ (h >> 29);
	return h | 1; /* 0 is the map's empty key */
}

/* The stored copy of a stack: shared with every goroutine that has the same one. */
static uint64_t *store_stack(struct gstore *st, const uint64_t *pcs, int n)
{
	uint64_t h = hash_pcs(pcs, n);
	struct stk *s = u64map__get(&st->stacks, h);

	if (s && s->n == n && !memcmp(s->pcs, pcs, n * sizeof(*pcs)))
		return s->pcs;
	/* a hash collision keeps its own copy, unshared */
	s = store_alloc(st, sizeof(*s) + n * sizeof(*pcs));
	if (!s)
		return NULL;
	s->n = n;
	memcpy(s->pcs, pcs, n * sizeof(*pcs));
	if (!u64map__get(&st->stacks, h) && u64map__put(&st->stacks, h, s))
		return NULL;
	return s->pcs;
}

/* ---- batched remote reads ---- */

struct rvec {
	uint64_t addr;
	void *buf;
	size_t len;
};

/*
 * Reads n ranges of the target with as few process_vm_readv calls as
 * IOV_MAX allows; ok[i] tells whether range i was read whole.  A range that
 * cannot be read (unmapped, address 0) fails alone: the call stops there and
 * the next one resumes after it.  0, or -ESRCH when the target is gone.
 */
static int readv_many(struct gt_greader *r, const struct rvec *v, size_t n, bool *ok)
{
	struct iovec l[IOV_BATCH], rv[IOV_BATCH];
	size_t idx[IOV_BATCH], i = 0;

	while (i < n) {
		size_t k = 0, got, j;
		ssize_t rc;

		for (; i < n && k < IOV_BATCH; i++) {
			ok[i] = !v[i].len;
			if (!v[i].len || !v[i].addr)
				continue;
			l[k] = (struct iovec){ v[i].buf, v[i].len };
			rv[k] = (struct iovec){ (void *)(uintptr_t)v[i].addr, v[i].len };
			idx[k++] = i;
		}
		if (!k)
			continue;
		rc = process_vm_readv(r->pid, l, k, rv, k, 0);
		if (rc < 0) {
			if (errno == ESRCH || (kill(r->pid, 0) && errno == ESRCH))
				return -ESRCH;
			rc = 0;
		}
		got = rc;
		for (j = 0; j < k && got >= l[j].iov_len; j++) {
			ok[idx[j]] = true;
			got -= l[j].iov_len;
		}
		if (j < k) /* range idx[j] failed: go on after it */
			i = idx[j] + 1;
	}
	return 0;
}

/* ---- reading, a chunk of goroutines at a time ---- */

/*
 * The goroutines of a chunk go through each step together, every step one
 * series of batched reads: their g structs; their stacks, one window per
 * goroutine per round (a round goes one window deeper into every stack
 * still being walked: most stacks fit in the first); label sets not seen
 * yet; then the g structs again, to find those that moved while read.  Those
 * go round again, up to GT_G_RETRIES times.
 */
struct slot {
	struct graw w;
	uint64_t fp, win_lo, win_hi;
	uint64_t *pcs; /* inl, or on the heap when deeper */
	int n, cap;
	uint32_t flags;
	int retries;
	bool walking;
	const struct lset *ls;
	uint64_t inl[INLINE_PCS];
};

struct chunk {
	struct slot *sl;
	const uint8_t **gp; /* each g as last fetched: into stage, or gb */
	uint8_t *stage;	    /* ranges of neighbouring g structs */
	uint8_t *gb;	    /* g structs fetched alone */
	uint8_t *win;	    /* CHUNK stack windows */
	struct rvec *rv;
	bool *ok;
	uint32_t *live, *req, *range;
};

static void chunk_free(struct chunk *c)
{
	if (c->sl)
		for (size_t i = 0; i < CHUNK; i++)
			if (c->sl[i].pcs != c->sl[i].inl)
				free(c->sl[i].pcs);
	free(c->sl);
	free(c->gp);
	free(c->stage);
	free(c->range);
	free(c->gb);
	free(c->win);
	free(c->rv);
	free(c->ok);
	free(c->live);
	free(c->req);
}

static int chunk_init(struct chunk *c, uint32_t gsize)
{
	memset(c, 0, sizeof(*c));
	c->sl = calloc(CHUNK, sizeof(*c->sl));
	c->gp = calloc(CHUNK, sizeof(*c->gp));
	c->stage = malloc((size_t)CHUNK * (gsize + G_GAP));
	c->range = malloc(CHUNK * sizeof(*c->range));
	c->gb = malloc((size_t)CHUNK * gsize);
	c->win = malloc((size_t)CHUNK * STACK_WINDOW);
	c->rv = malloc(CHUNK * sizeof(*c->rv));
	c->ok = malloc(2 * CHUNK * sizeof(*c->ok)); /* readv_many's, then fetch_gs's */
	c->live = malloc(CHUNK * sizeof(*c->live));
	c->req = malloc(CHUNK * sizeof(*c->req));
	if (!c->sl || !c->gp || !c->stage || !c->range || !c->gb || !c->win || !c->rv || !c->ok ||
	    !c->live || !c->req) {
		chunk_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < CHUNK; i++) {
		c->sl[i].pcs = c->sl[i].inl;
		c->sl[i].cap = INLINE_PCS;
	}
	return 0;
}

static int push_pc(struct slot *s, uint64_t pc)
{
	if (s->n == s->cap) {
		int cap = s->cap * 2 < GT_G_MAX_FRAMES ? s->cap * 2 : GT_G_MAX_FRAMES;
		uint64_t *p = malloc(cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memcpy(p, s->pcs, s->n * sizeof(*p));
		if (s->pcs != s->inl)
			free(s->pcs);
		s->pcs = p;
		s->cap = cap;
	}
	s->pcs[s->n++] = pc;
	return 0;
}

/* Where the walk of a g starts: its resume PC and frame pointer (stack_of). */
static int start_walk(struct gt_greader *r, struct slot *s)
{
	const struct graw *g = &s->w;
	uint64_t pc = g->sched_pc, fp = g->sched_bp;

	s->n = 0;
	s->flags = 0;
	s->walking = false;
	s->win_lo = s->win_hi = 0;
	s->ls = NULL;
	if (g->status == GT_G_RUNNING || g->status == GT_G_COPYSTACK) {
		s->flags |= GT_G_NO_STACK;
		return 0;
	}
	if (g->status == GT_G_SYSCALL && g->sys_pc) {
		pc = g->sys_pc;
		fp = g->sys_bp;
		if (!fp)
			fp = syscall_fp(r, g);
		if (!fp)
			s->flags |= GT_G_STACK_PARTIAL;
	}
	if (!pc) {
		s->flags |= GT_G_NO_STACK;
		return 0;
	}
	/* A goroutine that never ran resumes at its entry, not after a call: keep ret-1 exact. */
	if (pc == g->startpc)
		pc++;
	s->fp = fp;
	s->walking = fp != 0;
	return push_pc(s, pc);
}

/*
 * Frame-pointer walk (the runtime's fpTracebackPCs) within the window
 * fetched: each frame holds the caller's frame pointer at [fp] and the
 * return address at [fp+8]; frame pointers must grow and stay within the
 * goroutine's stack.  Returns 1 when the next frame lies outside the window.
 */
static int step(struct slot *s, const uint8_t *win)
{
	const struct graw *g = &s->w;

	while (s->fp) {
		uint64_t fp = s->fp, next, ret;

		if (fp < g->stack_lo || fp + 16 > g->stack_hi || (fp & 7)) {
			s->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		if (fp < s->win_lo || fp + 16 > s->win_hi) {
			s->win_lo = fp;
			s->win_hi = fp + STACK_WINDOW < g->stack_hi ? fp + STACK_WINDOW : g->stack_hi;
			return 1;
		}
		next = get64(win, fp - s->win_lo);
		ret = get64(win, fp - s->win_lo + 8);
		if (!ret)
			break;
		if (s->n == GT_G_MAX_FRAMES) {
			s->flags |= GT_G_TRUNCATED;
			break;
		}
		if (push_pc(s, ret))
			return -ENOMEM;
		if (next && next <= fp) {
			s->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		s->fp = next;
	}
	s->fp = 0;
	s->walking = false;
	return 0;
}

/* Walks every stack of the live list, one batched window per stack per round. */
static int walk_all(struct gt_greader *r, struct chunk *c, size_t nlive, size_t *nwin,
		    size_t *winbytes)
{
	for (;;) {
		size_t nreq = 0;
		int err;

		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			struct slot *s = &c->sl[i];

			if (!s->walking)
				continue;
			err = step(s, c->win + (size_t)i * STACK_WINDOW);
			if (err < 0)
				return err;
			if (err) {
				c->rv[nreq] = (struct rvec){ s->win_lo, c->win + (size_t)i * STACK_WINDOW,
							     s->win_hi - s->win_lo };
				c->req[nreq++] = i;
				*winbytes += s->win_hi - s->win_lo;
			}
		}
		if (!nreq)
			return 0;
		*nwin += nreq;
		if ((err = readv_many(r, c->rv, nreq, c->ok)))
			return err;
		for (size_t j = 0; j < nreq; j++) {
			struct slot *s = &c->sl[c->req[j]];

			if (!c->ok[j]) {
				s->flags |= GT_G_STACK_PARTIAL;
				s->walking = false;
				s->fp = 0;
			}
		}
	}
}

/* ---- label sets ---- */

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct gt_label *)a)->key, ((const struct gt_label *)b)->key);
}

/* The label set at p, read once per snapshot (sets are immutable and shared). */
static int labels_at(struct gt_greader *r, struct gstore *st, uint64_t p, const struct lset **out)
{
	struct gt_goroutine tmp = { 0 };
	struct lset *ls = u64map__get(&st->lsets, p);
	int err;

	if (ls) {
		*out = ls;
		return 0;
	}
	err = r->t->rt.off.labels_slice ? labels_slice(r, p, &tmp) : labels_map(r, p, &tmp);
	if (err == -EFAULT) {
		tmp.flags |= GT_G_LABELS_TRUNCATED;
		err = 0;
	}
	if (tmp.nlabels > 1)
		qsort(tmp.labels, tmp.nlabels, sizeof(*tmp.labels), cmp_label);
	ls = err ? NULL : calloc(1, sizeof(*ls));
	if (!ls || u64map__put(&st->lsets, p, ls)) {
		free_labels(&tmp);
		free(ls);
		return err ? err : -ENOMEM;
	}
	ls->n = tmp.nlabels;
	ls->labels = tmp.labels;
	ls->flags = tmp.flags & GT_G_LABELS_TRUNCATED;
	*out = ls;
	return 0;
}

/* ---- one chunk ---- */

/* Where the time of a read goes, for -v. */
enum { T_FETCH, T_WALK, T_LABELS, T_RECHECK, T_FINISH, T_N };

struct reading {
	uint64_t ns[T_N];
	size_t nwin, winbytes;
	struct gt_greader *r;
	struct gt_snapshot *s;
	struct gstore *st;
	size_t cap;
	struct chunk c;
	uint64_t *pcs; /* GT_G_MAX_FRAMES scratch for unbiasing */
};

static int push(struct reading *rd, struct gt_goroutine *g)
{
	struct gt_snapshot *s = rd->s;

	if (s->n == rd->cap) {
		size_t nc = rd->cap ? rd->cap * 2 : 256;
		struct gt_goroutine *ng = realloc(s->g, nc * sizeof(*ng));

		if (!ng)
			return -ENOMEM;
		s->g = ng;
		rd->cap = nc;
	}
	s->g[s->n++] = *g;
	if (g->flags & GT_G_SYSTEM)
		s->nsystem++;
	if (g->flags & GT_G_INCONSISTENT)
		s->ninconsistent++;
	return 0;
}

/* A goroutine read: into the snapshot, its stack and labels in the shared store. */
static int finish(struct reading *rd, uint64_t addr, struct slot *sl)
{
	struct gt_greader *r = rd->r;
	const struct gt_go_offsets *o = &r->t->rt.off;
	const struct graw *w = &sl->w;
	struct gt_goroutine g = { 0 };
	uint64_t tid;

	g.addr = addr;
	g.goid = w->goid;
	g.status = w->status;
	g.reason = w->reason;
	g.waitsince = w->waitsince > 0 ? w->waitsince : 0;
	g.parent = w->parent;
	g.gopc = greader__unbias(r, w->gopc);
	g.startpc = greader__unbias(r, w->startpc);
	g.flags = sl->flags | GT_G_SHARED;
	g.retries = sl->retries;
	if (is_system(r, g.startpc, g.status))
		g.flags |= GT_G_SYSTEM;
	if (w->m && (w->status == GT_G_RUNNING || w->status == GT_G_SYSCALL)) {
		g.m = w->m;
		if (o->m_procid && !rd64(r, w->m + o->m_procid, &tid))
			g.tid = (int)tid;
	}
	if (sl->ls) {
		g.flags |= sl->ls->flags;
		g.nlabels = sl->ls->n;
		g.labels = sl->ls->labels;
	}
	if (sl->n) {
		for (int i = 0; i < sl->n; i++)
			rd->pcs[i] = greader__unbias(r, sl->pcs[i]);
		g.pcs = store_stack(rd->st, rd->pcs, sl->n);
		if (!g.pcs)
			return -ENOMEM;
		g.nframes = sl->n;
	}
	return push(rd, &g);
}

/*
 * Fetches the g structs of slots list[0..n) (ascending) into c->gp[].  The
 * runtime allocates g structs side by side in its spans, and allgs keeps
 * them in creation order: neighbours are read as one range, which costs the
 * kernel one page walk instead of one per g.  A range that fails is retried
 * g by g.  ok[j] tells whether list[j] was read.  0 or -ESRCH.
 */
static int fetch_gs(struct gt_greader *r, struct chunk *c, const uint64_t *addrs,
		    const uint32_t *list, size_t n, bool *ok)
{
	size_t nr = 0, off = 0, nfail = 0;
	uint64_t lo = 0, hi = 0;
	int err;

	for (size_t j = 0; j < n; j++) {
		uint64_t a = addrs[list[j]];

		if (nr && a >= hi && a - hi <= G_GAP && a + r->gsize - lo <= G_RANGE_MAX) {
			hi = a + r->gsize;
			c->rv[nr - 1].len = hi - lo;
		} else {
			off += nr ? c->rv[nr - 1].len : 0;
			lo = a;
			hi = a + r->gsize;
			c->rv[nr++] = (struct rvec){ a, c->stage + off, r->gsize };
		}
		c->range[j] = nr - 1;
		c->gp[list[j]] = (uint8_t *)c->rv[nr - 1].buf + (a - lo);
	}
	if ((err = readv_many(r, c->rv, nr, c->ok)))
		return err;
	for (size_t j = 0; j < n; j++) {
		ok[j] = c->ok[c->range[j]];
		if (!ok[j])
			c->req[nfail++] = j;
	}
	if (!nfail)
		return 0;
	for (size_t f = 0; f < nfail; f++) {
		uint32_t i = list[c->req[f]];

		c->gp[i] = c->gb + (size_t)i * r->gsize;
		c->rv[f] = (struct rvec){ addrs[i], c->gb + (size_t)i * r->gsize, r->gsize };
	}
	if ((err = readv_many(r, c->rv, nfail, c->ok)))
		return err;
	for (size_t f = 0; f < nfail; f++)
		ok[c->req[f]] = c->ok[f];
	return 0;
}

/* Reads the k goroutines at addrs (k <= CHUNK). 0, -ESRCH, -ENOMEM. */
static int read_chunk(struct reading *rd, const uint64_t *addrs, size_t k)
{
	struct gt_greader *r = rd->r;
	struct chunk *c = &rd->c;
	size_t nlive = 0;
	bool *ok = c->ok + CHUNK;
	uint64_t t = now_mono(), t1;
	int err;

	for (size_t i = 0; i < k; i++)
		c->live[i] = i;
	if ((err = fetch_gs(r, c, addrs, c->live, k, ok)))
		return err;
	for (size_t i = 0; i < k; i++) {
		if (!ok[i])
			continue;
		c->sl[i].retries = 0;
		c->live[nlive++] = i;
	}
	rd->ns[T_FETCH] += (t1 = now_mono()) - t;
	for (int attempt = 0; nlive; attempt++) {
		size_t n = 0;

		/* the g as read (first, or by the last re-check): where its stack starts */
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			struct slot *s = &c->sl[i];

			parse_g(r, c->gp[i], &s->w);
			if (dead(s->w.status))
				continue;
			if ((err = start_walk(r, s)))
				return err;
			c->live[n++] = i;
		}
		nlive = n;
		if ((err = walk_all(r, c, nlive, &rd->nwin, &rd->winbytes)))
			return err;
		rd->ns[T_WALK] += (t = now_mono()) - t1;
		for (size_t j = 0; j < nlive; j++) {
			struct slot *s = &c->sl[c->live[j]];

			if (s->w.labels && (err = labels_at(r, rd->st, s->w.labels, &s->ls)))
				return err;
		}
		rd->ns[T_LABELS] += (t1 = now_mono()) - t;
		/* the re-check: did anything the walk used move? */
		if ((err = fetch_gs(r, c, addrs, c->live, nlive, ok)))
			return err;
		rd->ns[T_RECHECK] += (t = now_mono()) - t1;
		n = 0;
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			struct slot *s = &c->sl[i];
			struct graw again;

			if (!ok[j]) /* unreadable now: leave it out */
				continue;
			parse_g(r, c->gp[i], &again);
			if (!same_g(&s->w, &again) && attempt + 1 < GT_G_RETRIES) {
				s->retries++;
				c->live[n++] = i;
				continue;
			}
			if (!same_g(&s->w, &again))
				s->flags |= GT_G_INCONSISTENT;
			if ((err = finish(rd, addrs[i], s)))
				return err;
		}
		nlive = n;
		rd->ns[T_FINISH] += (t1 = now_mono()) - t;
	}
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

static int read_addrs(struct gt_greader *r, struct gt_snapshot *s, const uint64_t *addrs,
		      size_t n, volatile int *stop)
{
	struct reading rd = { .r = r, .s = s };
	int err;

	rd.st = calloc(1, sizeof(*rd.st));
	rd.pcs = malloc(GT_G_MAX_FRAMES * sizeof(*rd.pcs));
	s->store = rd.st;
	if (!rd.st || !rd.pcs) {
		free(rd.pcs);
		return -ENOMEM;
	}
	if ((err = chunk_init(&rd.c, r->gsize))) {
		free(rd.pcs);
		return err;
	}
	for (size_t i = 0; !err && i < n; i += CHUNK) {
		if (stop && *stop) {
			err = -EINTR;
			break;
		}
		err = read_chunk(&rd, addrs + i, n - i < CHUNK ? n - i : CHUNK);
	}
	chunk_free(&rd.c);
	free(rd.pcs);
	pr_debug("read %zu goroutines: g structs %.1f ms, stacks %.1f ms (%zu windows, %zu KB), "
		 "labels %.1f ms (%zu sets), re-check %.1f ms, the rest %.1f ms\n", s->n,
		 rd.ns[T_FETCH] / 1e6, rd.ns[T_WALK] / 1e6, rd.nwin, rd.winbytes >> 10, rd.ns[T_LABELS] / 1e6,
		 rd.st->lsets.len, rd.ns[T_RECHECK] / 1e6, rd.ns[T_FINISH] / 1e6);
	return err;
}

int greader__read_all(struct gt_greader *r, struct gt_snapshot *s, volatile int *stop)
{
	uint64_t *addrs = NULL;
	size_t n = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->allgs_source = r->allgs_source;
	s->start_ns = now_mono();
	err = read_allgs(r, &addrs, &n);
	s->allglen = n;
	if (!err)
		err = read_addrs(r, s, addrs, n, stop);
	s->end_ns = now_mono();
	if (err == -ESRCH)
		s->target_exited = true;
	free(addrs);
	return err;
}

static void clear_g(struct gt_goroutine *g)
{
	if (!(g->flags & GT_G_SHARED)) {
		free(g->pcs);
		free_labels(g);
	}
	memset(g, 0, sizeof(*g));
}

int greader__read_one(struct gt_greader *r, uint64_t addr, struct gt_goroutine *g)
{
	struct gt_snapshot s = { 0 };
	int err = read_addrs(r, &s, &addr, 1, NULL);

	memset(g, 0, sizeof(*g));
	if (!err && !s.n)
		err = -ENOENT; /* dead, or unreadable */
	if (!err) {
		*g = s.g[0];
		g->flags &= ~GT_G_SHARED;
		g->labels = NULL;
		g->nlabels = 0;
		g->pcs = g->nframes ? malloc(g->nframes * sizeof(*g->pcs)) : NULL;
		if (g->pcs)
			memcpy(g->pcs, s.g[0].pcs, g->nframes * sizeof(*g->pcs));
		else
			g->nframes = 0;
		err = copy_labels(s.g[0].labels, s.g[0].nlabels, g);
		if (err)
			clear_g(g);
	}
	snapshot__free(&s);
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
	store_free(s->store);
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
