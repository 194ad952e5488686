// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes the synthetic capture of synth.h.  The story, in ns after T0
 * (all goroutines created by G1 at main.go:20, start func main.worker):
 *   G1  snapshot running (runtime.main), runs to the end
 *   G2  snapshot waiting "GC sweep wait" (runtime.bgsweep, a system goroutine)
 *   G10 create 1000 {kind=chanrecv}; start 2000; park chan S_CHAN 3000;
 *       unpark by G1 13000; start 14000; exit 15000
 *   G11 create 1100 {kind=mutex}; start 2100; labels {idx=0,kind=mutex} 2200;
 *       park mutex S_MUTEX 2500; unpark by G10 12500; start 12600;
 *       syscall 12700-13700; preempt 14000; start 14500; GC pseudo-wait
 *       14600-14800; yield 15000; start 15200; exit 16000
 *   G12 create 1200 {kind=mutex}; start 2300; park mutex 2400; LOSS 2450-2500;
 *       unpark by the runtime 8400; start 8500; park chan 9000 (to the end)
 *   G13 create 1300 parked (iter.Pull); unpark by G12 2000; start 2100; exit 2200
 *   G99 first seen at 5000 (unpark by G1): existed before; start 6000; exit 7000
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "capture/capture.h"
#include "synth.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *synth_tmp(const char *suffix, char *buf, int len)
{
	static int seq;

	snprintf(buf, len, "/tmp/gtrace-unit-%d-%d%s", getpid(), seq++, suffix);
	return buf;
}

static void hdr(struct gt_event_hdr *h, unsigned type, size_t size, uint64_t ts, uint64_t goid)
{
	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->ts = ts;
	h->goid = goid;
	h->tid = goid ? 100 + goid : 0;
	h->cpu = goid % 4;
}

static int nput;

static int put(struct gt_capture_writer *w, const void *rec)
{
	nput++;
	return capture_writer__events(w, rec, ((const struct gt_event_hdr *)rec)->size);
}

static int simple(struct gt_capture_writer *w, unsigned type, uint64_t t, uint64_t goid,
		  unsigned flags)
{
	struct gt_event_hdr h;

	hdr(&h, type, sizeof(h), SY_T(t), goid);
	h.flags = flags;
	return put(w, &h);
}

static int create(struct gt_capture_writer *w, uint64_t t, uint64_t goid, uint64_t labels,
		  unsigned flags)
{
	struct gt_ev_create c;

	hdr(&c.h, GT_EV_CREATE, sizeof(c), SY_T(t), goid);
	c.h.flags = flags;
	c.h.tid = 101; /* on G1's thread */
	c.parent = 1;
	c.gopc = SY_GOPC;
	c.startpc = SY_STARTPC;
	c.labels = labels;
	return put(w, &c);
}

static int start(struct gt_capture_writer *w, uint64_t t, uint64_t goid)
{
	struct gt_ev_start s;

	hdr(&s.h, GT_EV_START, sizeof(s), SY_T(t), goid);
	s.mid = goid % 3;
	return put(w, &s);
}

static int park(struct gt_capture_writer *w, uint64_t t, uint64_t goid, unsigned reason,
		uint64_t stack, unsigned flags)
{
	struct gt_ev_park p;

	hdr(&p.h, GT_EV_PARK, sizeof(p), SY_T(t), goid);
	p.h.flags = flags;
	p.reason = reason;
	p.stack = stack;
	return put(w, &p);
}

static int unpark(struct gt_capture_writer *w, uint64_t t, uint64_t goid, uint64_t by)
{
	struct gt_ev_unpark u;

	hdr(&u.h, GT_EV_UNPARK, sizeof(u), SY_T(t), goid);
	u.h.flags = by ? 0 : GT_F_BY_RUNTIME;
	u.h.tid = by ? 100 + by : 7;
	u.by = by;
	return put(w, &u);
}

static int labels(struct gt_capture_writer *w, uint64_t t, uint64_t goid, uint64_t id)
{
	struct gt_ev_labels l;

	hdr(&l.h, GT_EV_LABELS, sizeof(l), SY_T(t), goid);
	l.labels = id;
	l.stack = 0;
	return put(w, &l);
}

static int snapshot(struct gt_capture_writer *w, uint64_t goid, uint64_t startpc, uint32_t status,
		    unsigned reason)
{
	struct gt_ev_snapshot s;

	hdr(&s.h, GT_EV_SNAPSHOT, sizeof(s), SY_T(0), goid);
	s.startpc = startpc;
	s.status = status;
	s.reason = reason;
	return put(w, &s);
}

static int labelset(struct gt_capture_writer *w, uint64_t id, const char **kv, int n)
{
	static struct gt_ev_labelset l;
	uint8_t *p = l.blob;

	hdr(&l.h, GT_EV_LABELSET, sizeof(l), SY_T(0), 0);
	l.id = id;
	l.count = n;
	for (int i = 0; i < 2 * n; i++) {
		uint16_t len = strlen(kv[i]);

		memcpy(p, &len, 2);
		memcpy(p + 2, kv[i], len);
		p += 2 + len;
	}
	l.blob_len = p - l.blob;
	return put(w, &l);
}

static int stack(struct gt_capture_writer *w, uint64_t id, const uint64_t *pcs, int n)
{
	static struct gt_ev_stack s;

	hdr(&s.h, GT_EV_STACK, sizeof(s), SY_T(0), 0);
	s.id = id;
	s.nr = n;
	memcpy(s.pcs, pcs, n * 8);
	return put(w, &s);
}

static int loss(struct gt_capture_writer *w, uint64_t t0, uint64_t t1, uint64_t lost)
{
	struct gt_ev_loss l;

	hdr(&l.h, GT_EV_LOSS, sizeof(l), SY_T(t0), 0);
	l.end = SY_T(t1);
	l.lost = lost;
	return put(w, &l);
}

static int sym(struct gt_capture_writer *w, uint64_t pc, const char *f1, const char *file1,
	       int l1, const char *f2, const char *file2, int l2)
{
	struct gt_frame f[2] = { { f1, file1, l1 }, { f2, file2, l2 } };

	return capture_writer__symbol(w, pc, f, f2 ? 2 : 1);
}

static int symbols(struct gt_capture_writer *w)
{
	int err = 0;

	err |= sym(w, SY_RTMAIN, "runtime.main", "/go/src/runtime/proc.go", 150, NULL, NULL, 0);
	err |= sym(w, SY_BGSWEEP, "runtime.bgsweep", "/go/src/runtime/mgcsweep.go", 270, NULL,
		   NULL, 0);
	err |= sym(w, SY_STARTPC, "main.worker", "/src/main.go", 35, NULL, NULL, 0);
	err |= sym(w, SY_GOPC - 1, "main.main", "/src/main.go", 20, NULL, NULL, 0);
	err |= sym(w, 0x40300f, "runtime.gopark", "/go/src/runtime/proc.go", 400, NULL, NULL, 0);
	err |= sym(w, 0x40401f, "runtime.chanrecv1", "/go/src/runtime/chan.go", 100, NULL, NULL, 0);
	/* inlined: main.block into main.worker */
	err |= sym(w, 0x40204f, "main.block", "/src/main.go", 30, "main.worker", "/src/main.go",
		   40);
	err |= sym(w, 0x40501f, "sync.(*Mutex).lockSlow", "/go/src/sync/mutex.go", 50,
		   "sync.(*Mutex).Lock", "/go/src/sync/mutex.go", 40);
	err |= sym(w, 0x40205f, "main.worker", "/src/main.go", 45, NULL, NULL, 0);
	return err ? -ENOMEM : 0;
}

static int meta(struct gt_capture_writer *w)
{
	int err = 0;

	err |= capture_writer__meta(w, "target.pid", "4242");
	err |= capture_writer__meta(w, "target.comm", "script");
	err |= capture_writer__meta(w, "clock.mono_ns", "%llu", SY_T0);
	err |= capture_writer__meta(w, "clock.real_ns", "%lld", SY_REAL0);
	err |= capture_writer__meta(w, "clock.boot_ns", "%llu", SY_T0 + 500000);
	err |= capture_writer__meta(w, "clock.error_ns", "1500");
	err |= capture_writer__meta(w, "clock.sync", "1");
	err |= capture_writer__meta(w, "az", "us-east-1a");
	err |= capture_writer__meta(w, "host.name", "testhost");
	err |= capture_writer__meta(w, "waitreason." STR(SY_WR_MUTEX), "sync.Mutex.Lock");
	err |= capture_writer__meta(w, "waitreason." STR(SY_WR_CHAN), "chan receive");
	err |= capture_writer__meta(w, "waitreason." STR(SY_WR_SWEEP), "GC sweep wait");
	err |= capture_writer__meta(w, "waitreason." STR(SY_WR_GC), "GC assist wait");
	return err ? -ENOMEM : 0;
}

static int definitions(struct gt_capture_writer *w)
{
	static const uint64_t chan[] = { 0x403010, 0x404020, 0x402050 };
	static const uint64_t mutex[] = { 0x403010, 0x405020, 0x402060 };
	const char *l1[] = { "kind", "chanrecv" }, *l2[] = { "kind", "mutex" };
	const char *l3[] = { "kind", "mutex", "idx", "0" };
	int err = 0;

	err |= stack(w, SY_S_CHAN, chan, 3);
	err |= stack(w, SY_S_MUTEX, mutex, 3);
	err |= labelset(w, SY_L_CHAN, l1, 1);
	err |= labelset(w, SY_L_MUTEX, l2, 1);
	err |= labelset(w, SY_L_MUTEX0, l3, 2);
	return err;
}

/* The events in time order (the ring buffer's order, near enough). */
static int story(struct gt_capture_writer *w)
{
	int err = 0;

	err |= snapshot(w, 1, SY_RTMAIN, 2, 0);
	err |= snapshot(w, 2, SY_BGSWEEP, 4, SY_WR_SWEEP);
	err |= create(w, 1000, 10, SY_L_CHAN, 0);
	err |= create(w, 1100, 11, SY_L_MUTEX, 0);
	err |= create(w, 1200, 12, SY_L_MUTEX, 0);
	err |= create(w, 1300, 13, 0, GT_F_PARKED_CREATE);
	err |= start(w, 2000, 10);
	err |= unpark(w, 2000, 13, 12);
	err |= start(w, 2100, 11);
	err |= start(w, 2100, 13);
	err |= labels(w, 2200, 11, SY_L_MUTEX0);
	err |= simple(w, GT_EV_EXIT, 2200, 13, 0);
	err |= start(w, 2300, 12);
	err |= park(w, 2400, 12, SY_WR_MUTEX, SY_S_MUTEX, 0);
	err |= park(w, 2500, 11, SY_WR_MUTEX, SY_S_MUTEX, 0);
	err |= loss(w, 2450, 2500, 5);
	err |= park(w, 3000, 10, SY_WR_CHAN, SY_S_CHAN, 0);
	err |= unpark(w, 5000, 99, 1);
	err |= start(w, 6000, 99);
	err |= simple(w, GT_EV_EXIT, 7000, 99, 0);
	err |= unpark(w, 8400, 12, 0);
	err |= start(w, 8500, 12);
	err |= park(w, 9000, 12, SY_WR_CHAN, SY_S_CHAN, 0);
	err |= unpark(w, 12500, 11, 10);
	err |= start(w, 12600, 11);
	err |= simple(w, GT_EV_SYSCALL_ENTER, 12700, 11, 0);
	err |= unpark(w, 13000, 10, 1);
	err |= simple(w, GT_EV_SYSCALL_EXIT, 13700, 11, 0);
	err |= simple(w, GT_EV_PREEMPT, 14000, 11, 0);
	err |= start(w, 14000, 10);
	err |= start(w, 14500, 11);
	err |= park(w, 14600, 11, SY_WR_GC, 0, GT_F_PSEUDO_WAIT);
	err |= simple(w, GT_EV_WAIT_END, 14800, 11, 0);
	err |= simple(w, GT_EV_EXIT, 15000, 10, 0);
	err |= simple(w, GT_EV_YIELD, 15000, 11, 0);
	err |= start(w, 15200, 11);
	err |= simple(w, GT_EV_EXIT, 16000, 11, 0);
	return err;
}

int synth_nrecords;

int synth_write(const char *path)
{
	struct gt_capture_writer *w;
	int err = capture_writer__open(&w, path);

	if (err)
		return err;
	err = meta(w);
	err = err ?: symbols(w);
	nput = 0;
	err = err ?: definitions(w);
	err = err ?: capture_writer__flush(w);
	err = err ?: story(w);
	synth_nrecords = nput;
	err = err ?: capture_writer__flush(w);
	err = err ?: capture_writer__meta(w, "loss.total", "5");
	err = err ?: capture_writer__meta(w, "loss.park", "5");
	if (err) {
		capture_writer__close(w);
		return err < 0 ? err : -EIO;
	}
	return capture_writer__close(w);
}
