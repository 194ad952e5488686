/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every gtrace BPF object shares (bpf/gtrace.bpf.c, the transition
 * probes; bpf/cpu_sample.bpf.c, the CPU sampler): the ring buffer and its
 * per-type loss counters, the maps that send each stack and label set once,
 * the frame-pointer stack walker and the label-set reader.  One copy of the
 * code; the map definitions are identical in both objects, so a sampler
 * running inside `record` reuses the tracer's maps by fd (bpf_map__reuse_fd)
 * and both write one stream with one loss account and one set of
 * definitions.  Include after vmlinux.h, bpf_helpers.h, gtrace_events.h and
 * go_abi.bpf.h.
 */
#ifndef GTRACE_GT_COMMON_BPF_H
#define GTRACE_GT_COMMON_BPF_H

/* Wake the reader only when this much is waiting: batches wake-ups. */
const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by --buffer before load */
} rb SEC(".maps");

/* key: event type.  value: records that could not be reserved (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GT_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* key: event type.  value: records produced, written or lost (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GT_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} produced SEC(".maps");

/* key: stack id.  value: unused.  Stacks already sent to user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} stacks_sent SEC(".maps");

/* key: label set id.  value: unused.  Label sets already sent. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} labelsets_sent SEC(".maps");

/*
 * key: address of a runtime label set.  value: its id (content hash).
 * Refreshed on every setProfLabel, so an address the runtime reuses for
 * another set maps to the new content before any goroutine inherits it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} labelset_ids SEC(".maps");

/*
 * Label reading state.  It lives in map memory on purpose: the verifier
 * treats values loaded from a map as unknown, so each bpf_loop iteration
 * looks alike and verification converges, where stack-held counters would
 * be tracked precisely and explode into one state per iteration.
 */
struct label_state {
	__u64 list;	  /* slice layout: address of label[0] */
	__u64 n;	  /* slice layout: labels */
	__u64 bucket;	  /* map layout: current bucket */
	__u64 buckets;	  /* map layout: bucket array being walked */
	__u64 nbuckets;
	__u64 hash;
	__u32 pos;	  /* bytes used in blob */
	__u32 bidx;
	__u32 slot;
	__u32 truncated;
};

/*
 * Each bpf_probe_read_user costs ~35-60 ns on this kind of VM
 * (copy_from_user_nofault and its object-size checks), more than copying a
 * few hundred bytes (docs/performance.md), so the hot paths read once and
 * pick from a copy: the stack walker a piece of the stack at a time
 * (GT_WALK_CHUNK, never past the page the frame is on, which is mapped
 * since the frame is there), the transition probes the g's fields an event
 * needs in one span (GT_GVIEW_MAX, bpf/gtrace.bpf.c).
 */
#define GT_WALK_CHUNK 512
#define GT_GVIEW_MAX 256

/* Scratch for the variable-size records (too big for the BPF stack). */
struct scratch {
	union {
		struct gt_ev_stack stack;
		struct gt_ev_labelset labelset;
	};
	struct label_state st;
	__u8 chunk[GT_WALK_CHUNK]; /* the stack piece the walker reads from */
	__u8 gview[GT_GVIEW_MAX];  /* a span of one g */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline void count(void *map, __u32 type)
{
	__u64 *v = bpf_map_lookup_elem(map, &type);

	if (v)
		*v += 1;
}

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									   : BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_hdr(struct gt_event_hdr *h, __u32 type, __u32 size, __u64 goid)
{
	h->type = type;
	h->size = size;
	h->flags = 0;
	h->cpu = bpf_get_smp_processor_id();
	h->pad = 0;
	h->tid = (__u32)bpf_get_current_pid_tgid();
	h->pad2 = 0;
	h->ts = bpf_ktime_get_ns();
	h->goid = goid;
}

/* Reserves a fixed-size record; on failure counts it lost for its type. */
static __always_inline void *reserve(__u32 type, __u32 size, __u64 goid)
{
	struct gt_event_hdr *h;

	count(&produced, type);
	h = bpf_ringbuf_reserve(&rb, size, 0);
	if (!h) {
		count(&lost, type);
		return NULL;
	}
	fill_hdr(h, type, size, goid);
	return h;
}

/* Sends a record built in scratch; false when the ring buffer was full. */
static __always_inline bool output(void *rec, __u32 type, __u32 size)
{
	count(&produced, type);
	if (bpf_ringbuf_output(&rb, rec, size, rb_flags())) {
		count(&lost, type);
		return false;
	}
	return true;
}

/* ---- stacks ---- */

struct walk_ctx {
	struct gt_ev_stack *st;
	__u8 *chunk; /* user memory [base, base + len), copied */
	__u64 base;
	__u64 len;
	__u64 fp;
	__u64 hash;
};

/*
 * The frame at w->fp (saved frame pointer, return address), from the copied
 * piece of stack when it holds it, else from a new piece read at fp; false
 * when unreadable.
 */
static __always_inline bool frame_at(struct walk_ctx *w, __u64 frame[2])
{
	__u64 at = w->fp - w->base, n;

	if (w->fp < w->base || at + 16 > w->len) {
		n = 4096 - (w->fp & 4095);
		if (n > GT_WALK_CHUNK)
			n = GT_WALK_CHUNK;
		w->len = 0;
		/* a frame across a page end, or a piece that would not read */
		if (n < 16 || bpf_probe_read_user(w->chunk, n, (void *)w->fp))
			return !bpf_probe_read_user(frame, 16, (void *)w->fp);
		w->base = w->fp;
		w->len = n;
		at = 0;
	}
	barrier_var(at);
	if (at > GT_WALK_CHUNK - 16)
		return false;
	frame[0] = *(__u64 *)(w->chunk + at);
	frame[1] = *(__u64 *)(w->chunk + at + 8);
	return true;
}

static long walk_frame(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	__u64 frame[2] = {};
	__u32 idx = w->st->nr;

	if (!w->fp || idx >= GT_STACK_MAX - 1)
		return 1;
	if (!frame_at(w, frame) || !frame[1])
		return 1;
	barrier_var(idx); /* keep the mask: the verifier needs the bound */
	w->st->pcs[idx & (GT_STACK_MAX - 1)] = frame[1];
	w->st->nr = idx + 1;
	w->hash = (w->hash ^ frame[1]) * 0x100000001b3ull;
	/* Frames grow up the stack; anything else is a torn or foreign chain. */
	if (frame[0] <= w->fp)
		return 1;
	w->fp = frame[0];
	return 0;
}

/*
 * Stack building: stack_begin, then stack_walk once per contiguous frame
 * chain (a sample on the system stack continues on the goroutine's), then
 * stack_send.  seed keeps the ids of different processes apart (the CPU
 * sampler passes the tgid; the transition probes, which see one process, 0).
 */
static __always_inline struct gt_ev_stack *stack_begin(struct walk_ctx *w, __u64 seed)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);

	if (!s)
		return NULL;
	w->st = &s->stack;
	w->st->nr = 0;
	w->chunk = s->chunk;
	w->base = 0;
	w->len = 0;
	w->fp = 0;
	w->hash = 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);
	return w->st;
}

/* Appends one address. */
static __always_inline bool stack_push(struct walk_ctx *w, __u64 pc)
{
	__u32 idx = w->st->nr;

	if (!pc || idx >= GT_STACK_MAX - 1)
		return false;
	barrier_var(idx);
	w->st->pcs[idx & (GT_STACK_MAX - 1)] = pc;
	w->st->nr = idx + 1;
	w->hash = (w->hash ^ pc) * 0x100000001b3ull;
	return true;
}

/* Appends the return addresses of the frame chain at fp. */
static __always_inline void stack_chain(struct walk_ctx *w, __u64 fp)
{
	w->fp = fp;
	bpf_loop(GT_STACK_MAX, walk_frame, w, 0);
}

/* Appends pc, then the return addresses of the frame chain at fp. */
static __always_inline void stack_walk(struct walk_ctx *w, __u64 pc, __u64 fp)
{
	if (stack_push(w, pc))
		stack_chain(w, fp);
}

/*
 * Sends the stack once per id; returns the id, 0 when empty.  tag goes to
 * h.pad2 (the sampler's tgid, so a consumer of several processes knows
 * whose addresses these are); flags are ORed into h.flags.
 */
static __always_inline __u64 stack_send(struct walk_ctx *w, __u32 tag, __u8 flags)
{
	__u8 one = 1;
	__u32 size;

	if (!w->st->nr)
		return 0;
	w->hash |= 1; /* never 0: 0 means "no stack" */
	if (bpf_map_lookup_elem(&stacks_sent, &w->hash))
		return w->hash;
	fill_hdr(&w->st->h, GT_EV_STACK, 0, 0);
	w->st->h.pad2 = tag;
	w->st->h.flags = flags;
	w->st->id = w->hash;
	w->st->pad = 0;
	if (w->st->nr >= GT_STACK_MAX - 1)
		w->st->h.flags |= GT_F_TRUNCATED;
	size = offsetof(struct gt_ev_stack, pcs) + (w->st->nr & (GT_STACK_MAX - 1)) * 8;
	barrier_var(size);
	if (size > sizeof(struct gt_ev_stack))
		size = sizeof(struct gt_ev_stack);
	w->st->h.size = size;
	if (output(w->st, GT_EV_STACK, size))
		bpf_map_update_elem(&stacks_sent, &w->hash, &one, BPF_ANY);
	return w->hash;
}

/* ---- label sets ---- */

struct label_ctx {
	struct scratch *s;
	const volatile struct gt_go_offsets *o; /* the target's label layout */
};

/* Appends one Go string (ptr, len) as u16 length + bytes. */
static __always_inline bool put_str(struct scratch *s, __u64 ptr, __u64 len)
{
	__u64 pos = s->st.pos;
	__u8 *dst;

	if (len > GT_LABEL_STR_MAX) {
		len = GT_LABEL_STR_MAX;
		s->st.truncated = 1;
	}
	/* Explicit bounds the verifier can follow: pos + 2 + len fits the blob. */
	if (pos > GT_LABELSET_BLOB - GT_LABEL_STR_MAX - 2) {
		s->st.truncated = 1;
		return false;
	}
	barrier_var(pos);
	dst = &s->labelset.blob[pos];
	dst[0] = len & 0xff;
	dst[1] = len >> 8;
	if (len && bpf_probe_read_user(dst + 2, len, (void *)ptr))
		return false;
	s->st.pos = pos + 2 + len;
	return true;
}

/* Appends the label whose key and value strings are kv[0..3]. */
static __always_inline void put_label(struct scratch *s, __u64 kv[4])
{
	if (s->labelset.count >= GT_LABEL_MAX) {
		s->st.truncated = 1;
		return;
	}
	if (put_str(s, kv[0], kv[1]) && put_str(s, kv[2], kv[3]))
		s->labelset.count++;
}

/* 1.24+: a sorted []label{key, value string}. */
static long read_slice_label(__u32 i, void *arg)
{
	struct label_ctx *c = arg;
	struct scratch *s = c->s;
	__u64 kv[4] = {};

	if (i >= s->st.n)
		return 1;
	bpf_probe_read_user(kv, sizeof(kv), (void *)(s->st.list + (__u64)i * c->o->lbl.list_stride));
	put_label(s, kv);
	return 0;
}

/*
 * <= 1.23: map[string]string, walked bucket by bucket with the geometry in
 * c->o->lbl (filled by user space from the offsets table).  One slot per
 * iteration keeps the callback small.
 */
static long read_map_slot(__u32 i, void *arg)
{
	struct label_ctx *c = arg;
	struct scratch *s = c->s;
	__u64 kv[4] = {}, b = s->st.bucket;
	__u32 slot;

	if (!b) {
		if (s->st.bidx >= s->st.nbuckets)
			return 1;
		b = s->st.buckets + (__u64)s->st.bidx * c->o->lbl.bucket_size;
		s->st.bucket = b;
		s->st.bidx++;
		s->st.slot = 0;
	}
	slot = s->st.slot & (GT_GO_BUCKET_SLOTS - 1);
	if (read_u8(b + slot) >= c->o->lbl.min_tophash) {
		bpf_probe_read_user(&kv[0], 16, (void *)(b + c->o->lbl.bucket_keys + slot * 16));
		bpf_probe_read_user(&kv[2], 16, (void *)(b + c->o->lbl.bucket_values + slot * 16));
		put_label(s, kv);
	}
	if (slot == GT_GO_BUCKET_SLOTS - 1) {
		s->st.bucket = read_u64(b + c->o->lbl.bucket_overflow); /* overflow bucket, or 0: next */
		s->st.slot = 0;
	} else {
		s->st.slot = slot + 1;
	}
	return 0;
}

static long hash_word(__u32 i, void *arg)
{
	struct scratch *s = ((struct label_ctx *)arg)->s;
	__u32 off = i * 8;
	__u64 w;

	if (off >= s->st.pos)
		return 1;
	barrier_var(off);
	w = *(__u64 *)&s->labelset.blob[off & (GT_LABELSET_BLOB - 8)];
	s->st.hash = (s->st.hash ^ w) * 0x100000001b3ull;
	return 0;
}

static __always_inline void walk_buckets(struct label_ctx *c, __u64 buckets, __u64 n)
{
	c->s->st.buckets = buckets;
	c->s->st.nbuckets = n;
	c->s->st.bucket = 0;
	c->s->st.bidx = 0;
	c->s->st.slot = 0;
	bpf_loop(GT_LABEL_MAX * GT_GO_BUCKET_SLOTS, read_map_slot, c, 0);
}

static __always_inline void read_labels(struct label_ctx *c, __u64 p)
{
	struct scratch *s = c->s;
	__u64 h, old;
	__u8 B;

	if (c->o->labels_slice) {
		s->st.list = read_u64(p);
		s->st.n = read_u64(p + 8);
		if (s->st.n > GT_LABEL_MAX) {
			s->st.n = GT_LABEL_MAX;
			s->st.truncated = 1;
		}
		bpf_loop(GT_LABEL_MAX, read_slice_label, c, 0);
		return;
	}
	h = read_u64(p); /* *labelMap -> *hmap */
	if (!h)
		return;
	B = read_u8(h + c->o->lbl.hmap_b);
	if (B > 6)
		B = 6; /* 64 buckets hold far more labels than we keep */
	/* While a growth is unfinished, some entries are still in the old buckets. */
	old = read_u64(h + c->o->lbl.hmap_oldbuckets);
	if (old)
		walk_buckets(c, old, B ? 1ull << (B - 1) : 1);
	walk_buckets(c, read_u64(h + c->o->lbl.hmap_buckets), 1ull << B);
}

/*
 * Returns the id of the label set at p (the value of g.labels), sending
 * its content once.  o: the target's layout.  fresh: re-read the content
 * even if p is known.  tag: as for stack_send.
 */
static __always_inline __u64 labelset_id(__u64 p, const volatile struct gt_go_offsets *o,
					  bool fresh, __u32 tag)
{
	__u32 zero = 0, size, words;
	struct scratch *s;
	struct label_ctx c;
	__u64 *known, id;
	__u8 one = 1;

	if (!p)
		return 0;
	known = bpf_map_lookup_elem(&labelset_ids, &p);
	if (known && !fresh)
		return *known;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	c.s = s;
	c.o = o;
	__builtin_memset(&s->st, 0, sizeof(s->st));
	s->labelset.count = 0;
	read_labels(&c, p);
	/* Zero the rest of the last word: the hash must see only this set. */
	if ((s->st.pos & 7) && s->st.pos < GT_LABELSET_BLOB) {
		__u64 *w = (__u64 *)&s->labelset.blob[s->st.pos & (GT_LABELSET_BLOB - 8)];

		*w &= (1ull << ((s->st.pos & 7) * 8)) - 1;
	}
	s->st.hash = 0xcbf29ce484222325ull ^ s->labelset.count;
	bpf_loop(GT_LABELSET_BLOB / 8, hash_word, &c, 0);
	id = s->st.hash | 1;
	bpf_map_update_elem(&labelset_ids, &p, &id, BPF_ANY);
	if (bpf_map_lookup_elem(&labelsets_sent, &id))
		return id;
	fill_hdr(&s->labelset.h, GT_EV_LABELSET, 0, 0);
	s->labelset.h.pad2 = tag;
	s->labelset.id = id;
	s->labelset.blob_len = s->st.pos;
	s->labelset.pad = 0;
	if (s->st.truncated)
		s->labelset.h.flags |= GT_F_TRUNCATED;
	words = (s->st.pos + 7) / 8;
	if (words > GT_LABELSET_BLOB / 8)
		words = GT_LABELSET_BLOB / 8;
	barrier_var(words);
	if (words > GT_LABELSET_BLOB / 8)
		return id;
	size = offsetof(struct gt_ev_labelset, blob) + words * 8;
	s->labelset.h.size = size;
	if (output(&s->labelset, GT_EV_LABELSET, size))
		bpf_map_update_elem(&labelsets_sent, &id, &one, BPF_ANY);
	return id;
}

#endif
