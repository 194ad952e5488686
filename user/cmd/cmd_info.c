// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gtrace info`: what gtrace would see in a Go binary or process before
 * tracing it: toolchain version, build IDs, runtime offsets and where they
 * come from, the label format, the wait reason names' origin, and every
 * probe site of the probe plan.  --funcs and --addr expose the pclntab
 * reader for tests.  Every failure is one line and exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/stat.h>
#include "binary/buildinfo.h"
#include "binary/go_version.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/debug.h"
#include "binary/elf_file.h"
#include "binary/go_offsets.h"
#include "binary/pclntab.h"
#include "binary/probe_plan.h"
#include "binary/probe_sites.h"

#define MAX_RETS 64
#define MAX_ADDRS 64

struct info_opts {
	const char *path;
	pid_t pid;
	bool json;
	bool funcs;
	uint64_t addrs[MAX_ADDRS];
	int naddrs;
};

struct info_probe {
	const struct gt_probe_plan_entry *plan;
	const struct gt_func *func; /* NULL: not in the binary */
	struct gt_probe_site sites[MAX_RETS];
	int nsites;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace info (BINARY | -p PID) [--json] [--funcs] [--addr PC...]\n"
		"\n"
		"Shows what gtrace knows about a Go binary: version, build IDs, runtime\n"
		"offsets and their source, label format, and the probe sites it would use.\n"
		"\n"
		"  -p, --pid PID   inspect the executable of a running process\n"
		"  --json          one JSON object on stdout\n"
		"  --funcs         also list every function (entry end name)\n"
		"  --addr PC...    also symbolize these PCs (hex), inlined frames first\n"
		"  -h, --help      this text\n");
}

static const struct {
	const char *name;
	size_t off;
} offset_names[] = {
#define O(f, st, member, opt) { #f, offsetof(struct gt_go_offsets, f) },
	GT_GO_OFFSET_FIELDS(O)
#undef O
	{ "labels_slice", offsetof(struct gt_go_offsets, labels_slice) },
};

static __u32 offset_value(const struct gt_go_offsets *o, size_t i)
{
	return *(const __u32 *)((const char *)o + offset_names[i].off);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 16);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct info_opts *o)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "funcs", no_argument, NULL, 'f' },	 { "addr", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	bool addr_mode = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->pid = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'j': o->json = true; break;
		case 'f': o->funcs = true; break;
		case 'a': addr_mode = true; break;
		case 'h': usage(stdout); return -1;
		default:
			pr_err("info: unknown option '%s'; see 'gtrace info --help'\n", argv[optind - 1]);
			return GT_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		uint64_t pc;

		if (addr_mode && !parse_u64(argv[i], &pc)) {
			if (o->naddrs == MAX_ADDRS) {
				pr_err("info: at most %d --addr PCs\n", MAX_ADDRS);
				return GT_EXIT_USAGE;
			}
			o->addrs[o->naddrs++] = pc;
		} else if (!o->path && o->pid < 0) {
			o->path = argv[i];
		} else {
			pr_err("info: unexpected argument '%s'; see 'gtrace info --help'\n", argv[i]);
			return GT_EXIT_USAGE;
		}
	}
	if (!o->path && o->pid < 0) {
		pr_err("info: give a BINARY or -p PID; see 'gtrace info --help'\n");
		return GT_EXIT_USAGE;
	}
	if (o->path && o->pid > 0) {
		pr_err("info: give a BINARY or -p PID, not both\n");
		return GT_EXIT_USAGE;
	}
	return 0;
}

/*
 * /proc/PID/exe opens the very file the process runs, across mount
 * namespaces; when it cannot be opened directly, try the same path through
 * the process's root (/proc/PID/root/...), as for a container.
 */
static int open_pid(long pid, struct gt_elf *ef, char *shown, size_t len)
{
	char proc[64], link[PATH_MAX], alt[PATH_MAX + 64];
	struct stat st;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%ld", pid);
	if (stat(proc, &st)) {
		pr_err("no process with PID %ld\n", pid);
		return -ESRCH;
	}
	snprintf(proc, sizeof(proc), "/proc/%ld/exe", pid);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			pr_err("cannot inspect PID %ld: permission denied (run as root or as its user)\n",
			       pid);
		else if (errno == ENOENT)
			pr_err("PID %ld has no executable (a kernel thread or a zombie)\n", pid);
		else
			pr_err("cannot read %s: %s\n", proc, strerror(errno));
		return -errno;
	}
	link[n] = '\0';
	snprintf(shown, len, "%s", link);
	if (access(proc, R_OK) == 0)
		return elf_file__open(ef, proc);
	snprintf(alt, sizeof(alt), "/proc/%ld/root%s", pid, link);
	if (access(alt, R_OK) == 0)
		return elf_file__open(ef, alt);
	pr_err("cannot open the executable of PID %ld (%s): %s\n", pid, link, strerror(errno));
	return -EACCES;
}

static void collect_probes(const struct gt_elf *ef, const struct gt_pclntab *t,
			   const struct gt_go_runtime *rt, struct info_probe *p, size_t *np)
{
	*np = 0;
	for (size_t i = 0; i < gt_probe_plan_len; i++) {
		const struct gt_probe_plan_entry *e = &gt_probe_plan[i];
		struct info_probe *ip = &p[*np];

		if (!probe_plan__needed(e, &rt->traits))
			continue;
		(*np)++;
		ip->plan = e;
		ip->nsites = 0;
		ip->func = pclntab__lookup_name(t, e->symbol);
		if (!ip->func) {
			if (e->required)
				pr_warn("%s is not in the binary\n", e->symbol);
			continue;
		}
		if (e->kind == GT_PROBE_ENTRY)
			ip->nsites = probe_sites__entry_for(ef, ip->func, false, ip->plan->regs, &ip->sites[0]) ? 0 : 1;
		else
			ip->nsites = probe_sites__returns(ef, ip->func, ip->sites, MAX_RETS);
		if (ip->nsites < 0)
			ip->nsites = 0;
	}
}

static const char *arch_name(uint16_t m)
{
	return m == EM_X86_64 ? "x86-64" : m == EM_AARCH64 ? "arm64" : "other";
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_text(const char *shown, const struct gt_elf *ef, const struct gt_go_version *v,
		       const struct gt_go_runtime *rt, const struct info_probe *p, size_t np)
{
	printf("path:            %s\n", shown);
	printf("gnu build id:    %s\n", ef->gnu_build_id[0] ? ef->gnu_build_id : "-");
	printf("go build id:     %s\n", ef->go_build_id[0] ? ef->go_build_id : "-");
	printf("go version:      %s (from %s, %s%s%s)\n", v->str, v->source, v->confidence,
	       v->detail[0] ? ": " : "", v->detail);
	printf("arch:            %s\n", arch_name(ef->machine));
	printf("stripped:        %s\n", ef->has_symtab ? "no" : "yes");
	printf("dwarf:           %s\n", ef->has_dwarf ? "yes" : "no");
	printf("pie:             %s\n", ef->pie ? "yes" : "no");
	printf("cgo:             %s\n", v->cgo ? "yes" : "no");
	printf("offsets:         %s (%s)\n", go_offsets__source_name(rt->source), rt->source_detail);
	for (size_t i = 0; i < sizeof(offset_names) / sizeof(offset_names[0]); i++)
		printf("  %-16s %u\n", offset_names[i].name, offset_value(&rt->off, i));
	printf("label format:    %s\n", rt->off.labels_slice ? "slice" : "map");
	printf("wait reasons:    %s\n", rt->waitreason_source);
	printf("traits:          syscall_cas_fastpath=%d goid_after_runnable=%d\n",
	       rt->traits.syscall_cas_fastpath, rt->traits.goid_after_runnable);
	printf("probes:\n");
	for (size_t i = 0; i < np; i++) {
		const struct info_probe *ip = &p[i];

		if (!ip->func || !ip->nsites) {
			printf("  %-36s %-5s (not found)\n", ip->plan->symbol,
			       probe_plan__kind_name(ip->plan->kind));
			continue;
		}
		for (int j = 0; j < ip->nsites; j++) {
			const struct gt_probe_site *s = &ip->sites[j];

			printf("  %-36s %-5s 0x%llx +0x%llx off 0x%llx  %-28s %s%s\n",
			       ip->plan->symbol, probe_plan__kind_name(ip->plan->kind),
			       (unsigned long long)s->addr,
			       (unsigned long long)(s->addr - ip->func->entry),
			       (unsigned long long)s->file_offset, s->insn,
			       s->emulated ? "emulated" : "single-stepped",
			       s->at_entry ? " (first byte)" : "");
		}
	}
}

static void print_json(const char *shown, const struct gt_elf *ef, const struct gt_go_version *v,
		       const struct gt_go_runtime *rt, const struct info_probe *p, size_t np)
{
	bool first = true;

	printf("{\"path\":");
	json_str(shown);
	printf(",\"gnu_build_id\":");
	json_str(ef->gnu_build_id);
	printf(",\"go_build_id\":");
	json_str(ef->go_build_id);
	printf(",\"go_version\":");
	json_str(v->str);
	printf(",\"go_version_source\":");
	json_str(v->source);
	printf(",\"go_version_confidence\":");
	json_str(v->confidence);
	printf(",\"go_version_detail\":");
	json_str(v->detail);
	printf(",\"arch\":\"%s\",\"stripped\":%s,\"dwarf\":%s,\"pie\":%s,\"cgo\":%s",
	       arch_name(ef->machine), ef->has_symtab ? "false" : "true",
	       ef->has_dwarf ? "true" : "false", ef->pie ? "true" : "false",
	       v->cgo ? "true" : "false");
	printf(",\"offsets_source\":\"%s\",\"offsets_detail\":", go_offsets__source_name(rt->source));
	json_str(rt->source_detail);
	printf(",\"offsets\":{");
	for (size_t i = 0; i < sizeof(offset_names) / sizeof(offset_names[0]); i++)
		printf("%s\"%s\":%u", i ? "," : "", offset_names[i].name, offset_value(&rt->off, i));
	printf("},\"label_format\":\"%s\",\"waitreason_source\":",
	       rt->off.labels_slice ? "slice" : "map");
	json_str(rt->waitreason_source);
	printf(",\"traits\":{\"syscall_cas_fastpath\":%s,\"goid_after_runnable\":%s}",
	       rt->traits.syscall_cas_fastpath ? "true" : "false",
	       rt->traits.goid_after_runnable ? "true" : "false");
	printf(",\"probes\":[");
	for (size_t i = 0; i < np; i++) {
		for (int j = 0; j < p[i].nsites; j++) {
			const struct gt_probe_site *s = &p[i].sites[j];

			printf("%s{\"func\":", first ? "" : ",");
			first = false;
			json_str(p[i].plan->symbol);
			printf(",\"kind\":\"%s\",\"address\":%llu,\"file_offset\":%llu,\"instruction\":",
			       probe_plan__kind_name(p[i].plan->kind), (unsigned long long)s->addr,
			       (unsigned long long)s->file_offset);
			json_str(s->insn);
			printf(",\"emulated\":%s,\"at_entry\":%s,\"sp_delta\":%d,\"frame_set\":%s}",
			       s->emulated ? "true" : "false", s->at_entry ? "true" : "false",
			       s->sp_delta, s->frame_set ? "true" : "false");
		}
	}
	printf("]");
}

static void print_funcs(const struct gt_pclntab *t, bool json)
{
	size_t n = pclntab__nfuncs(t);

	printf(json ? ",\"funcs\":[" : "functions:\n");
	for (size_t i = 0; i < n; i++) {
		const struct gt_func *f = pclntab__func(t, i);

		if (!f)
			continue;
		if (json) {
			printf("%s{\"entry\":%llu,\"end\":%llu,\"name\":", i ? "," : "",
			       (unsigned long long)f->entry, (unsigned long long)f->end);
			json_str(f->name);
			putchar('}');
		} else {
			printf("0x%llx 0x%llx %s\n", (unsigned long long)f->entry,
			       (unsigned long long)f->end, f->name);
		}
	}
	if (json)
		printf("]");
}

static void print_addrs(const struct gt_pclntab *t, const struct info_opts *o)
{
	struct gt_frame fr[32];

	printf(o->json ? ",\"frames\":[" : "frames:\n");
	for (int i = 0; i < o->naddrs; i++) {
		int n = pclntab__frames(t, o->addrs[i], fr, 32);

		if (o->json)
			printf("%s{\"pc\":%llu,\"frames\":[", i ? "," : "",
			       (unsigned long long)o->addrs[i]);
		else if (!n)
			printf("0x%llx ?\n", (unsigned long long)o->addrs[i]);
		for (int j = 0; j < n; j++) {
			if (o->json) {
				printf("%s{\"func\":", j ? "," : "");
				json_str(fr[j].func);
				printf(",\"file\":");
				json_str(fr[j].file);
				printf(",\"line\":%d}", fr[j].line);
			} else {
				printf("0x%llx %s %s:%d\n", (unsigned long long)o->addrs[i],
				       fr[j].func, fr[j].file, fr[j].line);
			}
		}
		if (o->json)
			printf("]}");
	}
	if (o->json)
		printf("]");
}

/*
 * What disassembly of the runtime confirms of the offsets in use (x86-64):
 * the independent check `make corpus` relies on for stripped binaries.
 */
static void print_disasm_check(const struct gt_elf *ef, const struct gt_pclntab *t,
			       const struct gt_go_runtime *rt, bool json)
{
	static const struct { unsigned bit; const char *name; size_t off; } f[] = {
		{ GT_DIS_G_LABELS, "g_labels", offsetof(struct gt_go_offsets, g_labels) },
		{ GT_DIS_G_M, "g_m", offsetof(struct gt_go_offsets, g_m) },
		{ GT_DIS_G_SYSCALLSP, "g_syscallsp", offsetof(struct gt_go_offsets, g_syscallsp) },
		{ GT_DIS_G_WAITREASON, "g_waitreason", offsetof(struct gt_go_offsets, g_waitreason) },
		{ GT_DIS_G_ATOMICSTATUS, "g_atomicstatus",
		  offsetof(struct gt_go_offsets, g_atomicstatus) },
	};
	struct gt_go_offsets dis = rt->off;
	unsigned found = 0, n = 0, bad = 0;

	go_offsets__from_disasm(ef, t, &dis, &found);
	printf(json ? ",\"offsets_disasm\":{" : "disasm check:   ");
	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++) {
		__u32 d = *(const __u32 *)((const char *)&dis + f[i].off);
		__u32 u = *(const __u32 *)((const char *)&rt->off + f[i].off);

		if (!(found & f[i].bit))
			continue;
		bad += d != u;
		if (json)
			printf("%s\"%s\":%u", n ? "," : "", f[i].name, d);
		else if (d == u)
			printf("%s%s=%u", n ? " " : "", f[i].name, d);
		else
			printf("%s%s=%u (in use: %u)", n ? " " : "", f[i].name, d, u);
		n++;
	}
	if (json)
		printf("},\"offsets_disasm_agree\":%s", n && !bad ? "true" : "false");
	else
		printf("%s%s\n", n ? "" : "nothing derivable",
		       !n ? "" : bad ? ": DISAGREE" : ": agree");
}

static int inspect(const struct info_opts *o, struct gt_elf *ef, const char *shown)
{
	static struct gt_go_runtime rt;
	static struct info_probe probes[16];
	struct gt_pclntab *t = NULL;
	struct gt_go_version v;
	size_t np;
	int err;

	/* go_version__identify says "not a Go binary" or what is corrupt itself */
	err = go_version__identify(ef, &v);
	if (err)
		return GT_EXIT_ERROR;
	/* an old Go gets one line about the version, not about its pclntab */
	if (go_offsets__check_version(&v))
		return GT_EXIT_ERROR;
	if (pclntab__open(&t, ef))
		return GT_EXIT_ERROR;
	if (go_offsets__resolve(ef, t, &v, &rt)) {
		pclntab__close(t);
		return GT_EXIT_ERROR;
	}
	collect_probes(ef, t, &rt, probes, &np);
	if (o->json)
		print_json(shown, ef, &v, &rt, probes, np);
	else
		print_text(shown, ef, &v, &rt, probes, np);
	print_disasm_check(ef, t, &rt, o->json);
	if (o->funcs)
		print_funcs(t, o->json);
	if (o->naddrs)
		print_addrs(t, o);
	if (o->json)
		printf("}\n");
	pclntab__close(t);
	return GT_EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
	static struct info_opts o;
	struct gt_elf ef;
	char shown[PATH_MAX];
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? GT_EXIT_OK : rc;
	memset(&ef, 0, sizeof(ef));
	if (o.pid > 0) {
		if (open_pid(o.pid, &ef, shown, sizeof(shown)))
			return GT_EXIT_ERROR;
	} else {
		snprintf(shown, sizeof(shown), "%s", o.path);
		if (elf_file__open(&ef, o.path))
			return GT_EXIT_ERROR;
	}
	rc = inspect(&o, &ef, shown);
	elf_file__close(&ef);
	return rc;
}
