// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Shared pieces of the commands that write captures from a live target
 * (see capture_session.h).  The header and trailer keys are exactly those
 * `gtrace record` has always written, so reports read every capture alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "capture/event_specs.h"
#include "live/capture_session.h"
#include "live/kallsyms.h"
#include "lib/clock.h"
#include "lib/version.h"
#include "lib/debug.h"

bool capture_session__loss(struct gt_tracer *tr, struct capture_loss *l, struct gt_ev_loss *e)
{
	uint64_t total = tracer__lost_total(tr), now = clock__mono_ns();
	bool grew = total > l->seen;

	if (grew)
		*e = (struct gt_ev_loss){ .h = { .type = GT_EV_LOSS, .size = sizeof(*e),
						 .ts = l->last_poll_ns },
					  .end = now, .lost = total - l->seen };
	l->seen = total;
	l->last_poll_ns = now;
	return grew;
}

bool capture_session__target_gone(int pidfd, pid_t pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return kill(pid, 0) && errno == ESRCH;
}

void capture_session__watch_open(struct capture_watch *w, pid_t pid)
{
	char path[64];
	unsigned long long lo = 0;
	FILE *f;

	*w = (struct capture_watch){ .pid = pid, .memfd = -1 };
	w->pidfd = syscall(SYS_pidfd_open, pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (f && fscanf(f, "%llx-", &lo) == 1)
		w->addr = lo;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if (w->addr)
		w->memfd = open(path, O_RDONLY | O_CLOEXEC);
}

const char *capture_session__watch_check(struct capture_watch *w)
{
	char b, path[64], exe[16];

	if (capture_session__target_gone(w->pidfd, w->pid))
		return CAPTURE_WHY_EXITED;
	if (w->memfd < 0 || pread(w->memfd, &b, 1, (off_t)w->addr) == 1)
		return NULL;
	/*
	 * The image we attached to is gone.  An exiting process drops its mm
	 * before the pidfd turns readable, and then has no /proc/PID/exe; a
	 * process that exec'd has a new mm and an exe.
	 */
	snprintf(path, sizeof(path), "/proc/%d/exe", w->pid);
	if (readlink(path, exe, sizeof(exe)) < 0)
		return CAPTURE_WHY_EXITED;
	return CAPTURE_WHY_EXEC;
}

void capture_session__watch_close(struct capture_watch *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->memfd >= 0)
		close(w->memfd);
	w->pidfd = w->memfd = -1;
}

int capture_session__check_privileges(const char *cmd)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long eff = 0;
	char line[256];

	if (geteuid() == 0)
		return 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	if ((eff >> 38 & 1) && (eff >> 39 & 1)) /* CAP_PERFMON, CAP_BPF */
		return 0;
	pr_err("gtrace %s needs root, or CAP_BPF and CAP_PERFMON: run it with sudo\n", cmd);
	return -EPERM;
}

int capture_session__check_kernel(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): gtrace needs Linux 5.8+ "
		       "built with CONFIG_DEBUG_INFO_BTF\n");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe", F_OK)) {
		pr_err("this kernel has no uprobes (CONFIG_UPROBE_EVENTS)\n");
		return -ENOTSUP;
	}
	return 0;
}

static int emit_meta(void *arg, const char *key, const char *value)
{
	return capture_writer__meta(arg, key, "%s", value);
}

void capture_session__write_clock(struct gt_capture_writer *w, const struct gt_clock_map *cm)
{
	char buf[128];

	clock__write_meta(cm, "clock", emit_meta, w);
	capture_writer__meta(w, "clock.describe", "%s", clock__describe(cm, buf, sizeof(buf)));
	pr_debug("clock: %s\n", buf);
}

void capture_session__write_header(struct gt_capture_writer *w, const struct gt_target *t,
				   uint32_t mask, bool stacks, uint64_t buffer,
				   const struct gt_clock_map *clock, const struct gt_az *az)
{
	const struct gt_go_offsets *o = &t->rt.off;
	struct gt_clock_map cm;
	struct utsname u;
	char buf[128];

	capture_writer__meta(w, "gtrace.version", "%s", GTRACE_VERSION);
	capture_writer__meta(w, "capture.version", "%d", GT_CAPTURE_VERSION);
	if (!uname(&u))
		capture_writer__meta(w, "kernel", "%s %s", u.release, u.machine);
	capture_writer__meta(w, "target.pid", "%d", t->pid);
	capture_writer__meta(w, "target.exe", "%s", t->exe_name);
	capture_writer__meta(w, "target.build_id", "%s",
			     t->elf.go_build_id[0] ? t->elf.go_build_id : t->elf.gnu_build_id);
	capture_writer__meta(w, "process.pid", "%d", t->pid);
	if (t->ns_pid && t->ns_pid != t->pid) /* in a container: the pid its own logs show */
		capture_writer__meta(w, "target.ns_pid", "%d", t->ns_pid);
	capture_writer__meta(w, "process.executable.build_id.go", "%s", t->elf.go_build_id);
	capture_writer__meta(w, "target.go_version", "%s", t->ver.str);
	capture_writer__meta(w, "target.offsets_source", "%s", t->rt.source_detail);
	capture_writer__meta(w, "target.labels", "%s", o->labels_slice ? "slice" : "map");
	capture_writer__meta(w, "record.events_mask", "%#x", mask);
	capture_writer__meta(w, "record.stacks", "%d", stacks);
	capture_writer__meta(w, "record.buffer", "%llu", (unsigned long long)buffer);
	capture_writer__meta(w, "target.waitreason_source", "%s", t->rt.waitreason_source);
	for (int i = 0; i < 256; i++) {
		if (!t->rt.waitreason[i])
			continue;
		snprintf(buf, sizeof(buf), "waitreason.%d", i);
		capture_writer__meta(w, buf, "%s", t->rt.waitreason[i]);
	}
	if (clock)
		capture_session__write_clock(w, clock);
	else if (!clock__sample(&cm))
		capture_session__write_clock(w, &cm);
	if (az)
		az__write_meta(az, emit_meta, w);
	capture_writer__meta(w, "record.start_mono_ns", "%llu",
			     (unsigned long long)clock__mono_ns());
}

static void need_symbol(struct gt_capture_writer *w, const struct gt_target *t,
			struct u64map *done, uint64_t pc)
{
	struct gt_frame fr[32];
	int n;

	if (!pc || u64map__get(done, pc))
		return;
	u64map__put(done, pc, (void *)1);
	n = pclntab__frames(t->pcln, pc, fr, 32);
	if (n > 0)
		capture_writer__symbol(w, pc, fr, n);
}

struct sym_ctx {
	struct gt_capture_writer *w;
	const struct gt_target *t;
	struct u64map *done;
};

static void symbolize_pc(void *arg, __u64 *pc, int kind)
{
	struct sym_ctx *c = arg;

	need_symbol(c->w, c->t, c->done, kind == GT_PC_RETURN ? *pc - 1 : *pc);
}

static struct kallsyms *ksyms;
static pthread_once_t ksyms_once = PTHREAD_ONCE_INIT;

static void ksyms_load(void)
{
	ksyms = kallsyms__load(NULL);
	if (!kallsyms__count(ksyms))
		pr_warn("kernel stacks: no kernel symbols readable in /proc/kallsyms "
			"(kptr_restrict?): kernel frames stay addresses\n");
}

/*
 * A kernel stack's names, from this boot's /proc/kallsyms, into the
 * capture: a report cannot know them later (KASLR, another host).  At
 * pc - 1, where the reports look return addresses up.
 */
static void kernel_symbols(struct gt_capture_writer *w, struct u64map *done,
			   const struct gt_ev_stack *st)
{
	size_t room = st->h.size < offsetof(struct gt_ev_stack, pcs) ? 0 :
		      (st->h.size - offsetof(struct gt_ev_stack, pcs)) / 8;

	pthread_once(&ksyms_once, ksyms_load);
	for (uint32_t i = 0; i < st->nr && i < GT_STACK_MAX && i < room; i++) {
		uint64_t pc = st->pcs[i] - 1;
		struct gt_frame fr = { .file = "[kernel]" };

		if (!st->pcs[i] || u64map__get(done, pc))
			continue;
		u64map__put(done, pc, (void *)1);
		if ((fr.func = kallsyms__name(ksyms, pc)))
			capture_writer__symbol(w, pc, &fr, 1);
	}
}

void capture_session__symbols(struct gt_capture_writer *w, const struct gt_target *t,
			      struct u64map *done, const struct gt_event_hdr *rec)
{
	struct sym_ctx c = { w, t, done };

	if (rec->type == GT_EV_STACK && (rec->flags & GT_F_KERNEL_STACK)) {
		kernel_symbols(w, done, (const struct gt_ev_stack *)rec);
		return;
	}

	/* read only: symbolize_pc does not write through pc */
	event_spec__each_pc((struct gt_event_hdr *)rec, symbolize_pc, &c);
}

void capture_session__write_trailer(struct gt_capture_writer *w, struct gt_tracer *tr,
				    const uint64_t written[GT_EV_MAX],
				    const uint64_t user_produced[GT_EV_MAX], uint64_t events,
				    const char *why)
{
	uint64_t produced[GT_EV_MAX] = { 0 }, lost[GT_EV_MAX] = { 0 }, total_lost = 0, total = 0;
	char key[64];

	if (tr)
		tracer__counters(tr, produced, lost);
	for (int i = 1; i < GT_EV_MAX; i++) {
		/* records made in user space (loss windows, the attach snapshot) count too */
		if (user_produced)
			produced[i] += user_produced[i];
		const char *name = capture__event_name(i);

		total_lost += lost[i];
		total += produced[i];
		if (!produced[i] && !lost[i] && !written[i])
			continue;
		snprintf(key, sizeof(key), "produced.%s", name);
		capture_writer__meta(w, key, "%llu", (unsigned long long)produced[i]);
		snprintf(key, sizeof(key), "written.%s", name);
		capture_writer__meta(w, key, "%llu", (unsigned long long)written[i]);
		snprintf(key, sizeof(key), "loss.%s", name);
		capture_writer__meta(w, key, "%llu", (unsigned long long)lost[i]);
	}
	capture_writer__meta(w, "produced.total", "%llu", (unsigned long long)total);
	capture_writer__meta(w, "loss.total", "%llu", (unsigned long long)total_lost);
	capture_writer__meta(w, "record.events", "%llu", (unsigned long long)events);
	capture_writer__meta(w, "record.end_mono_ns", "%llu",
			     (unsigned long long)clock__mono_ns());
	capture_writer__meta(w, "record.stop", "%s", why);
}
