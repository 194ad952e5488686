// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pclntab against Go's own tools on every fixture: function entries and
 * ends against `go tool nm -size` of the unstripped twin, PC -> file:line
 * against `go tool addr2line` (which reports the innermost position and
 * the outermost function), inlined frames on a call the fixture is known
 * to inline (sync.(*Mutex).Unlock in worker.release), tables found with
 * section headers removed, and a corruption loop that must never crash.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "binary/buildinfo.h"
#include "helpers.h"
#include "binary/pclntab.h"

#define FUNC_ALIGN_MAX 64 /* padding after a function is below its alignment */


struct nm_sym {
	uint64_t addr, size;
	char name[2048];
};

static void fixture(char *out, size_t len, const char *ver, const char *variant)
{
	t_fixture(out, len, "script", ver, variant);
}

/* Text symbols of `go tool nm -size -sort address`, in address order. */
static struct nm_sym *load_nm(const char *bin, size_t *n)
{
	char cmd[1024], line[4096];
	struct nm_sym *s = NULL;
	size_t cap = 0;
	FILE *p;

	*n = 0;
	snprintf(cmd, sizeof(cmd), T_GO " tool nm -size -sort address '%s' 2>/dev/null", bin);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	while (fgets(line, sizeof(line), p)) {
		struct nm_sym e;
		char type;

		if (sscanf(line, "%lx %lu %c %2047[^\n]", &e.addr, &e.size, &type, e.name) != 4 ||
		    (type != 'T' && type != 't'))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 4096;
			s = realloc(s, cap * sizeof(*s));
			if (!s)
				break;
		}
		s[(*n)++] = e;
	}
	pclose(p);
	return s;
}

/*
 * The linker respells some names in the ELF symbol table: "·" as ".", an
 * array length elided as "[...]" as the real "[5]", asm functions with an
 * ".abi0" suffix.  Both names are folded into this form before comparing.
 */
static void fold_name(char *out, size_t len, const char *in)
{
	size_t o = 0;

	while (*in && o + 4 < len) {
		if (!strncmp(in, "\xc2\xb7", 2)) {
			out[o++] = '.';
			in += 2;
		} else if (*in == '[' && (in[1] == '.' || (in[1] >= '0' && in[1] <= '9'))) {
			in += strspn(in + 1, ".0123456789") + 1;
			out[o++] = '[';
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = 0;
	if (o > 5 && !strcmp(out + o - 5, ".abi0"))
		out[o - 5] = 0;
}

/* The nm symbol at addr with the same name, as fold_name spells both. */
static const struct nm_sym *nm_find(const struct nm_sym *s, size_t n, uint64_t addr,
				    const char *name)
{
	static char a[4096], b[4096];
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	fold_name(a, sizeof(a), name);
	for (; lo < n && s[lo].addr == addr; lo++) {
		fold_name(b, sizeof(b), s[lo].name);
		if (!strcmp(a, b))
			return &s[lo];
	}
	return NULL;
}

static int open_both(const char *path, struct gt_elf *ef, struct gt_pclntab **t)
{
	int err = elf_file__open(ef, path);

	if (err)
		return err;
	err = pclntab__open(t, ef);
	if (err)
		elf_file__close(ef);
	return err;
}

static void check_against_nm(const char *path, const struct gt_pclntab *t, const struct nm_sym *s,
			     size_t ns)
{
	size_t n = pclntab__nfuncs(t), bad = 0;

	T_CHECK(n > 1000, "%s: only %zu functions", path, n);
	for (size_t i = 0; i < n && bad < 5; i++) {
		const struct gt_func *f = pclntab__func(t, i), *g;
		const struct nm_sym *e = nm_find(s, ns, f->entry, f->name);

		if (!e) {
			T_CHECK(0, "%s: %s at %#lx not in go tool nm", path, f->name, f->entry);
			bad++;
			continue;
		}
		if (f->entry + e->size > f->end || f->end - (f->entry + e->size) >= FUNC_ALIGN_MAX) {
			T_CHECK(0, "%s: %s ends at %#lx, nm size %lu", path, f->name, f->end, e->size);
			bad++;
		}
		g = pclntab__lookup_name(t, f->name);
		T_CHECK(g && !strcmp(g->name, f->name), "%s: lookup_name(%s)", path, f->name);
		T_CHECK(pclntab__lookup_pc(t, f->entry) == f, "%s: lookup_pc(entry of %s)", path,
			f->name);
		T_CHECK(pclntab__lookup_pc(t, f->end - 1) == f, "%s: lookup_pc(end-1 of %s)", path,
			f->name);
	}
	/* every sized text symbol nm knows is a function here, at the same address */
	for (size_t i = 0; i < ns && bad < 10; i++) {
		const struct gt_func *f = pclntab__lookup_pc(t, s[i].addr);

		if (s[i].size && (!f || f->entry != s[i].addr)) {
			T_CHECK(0, "%s: nm's %s at %#lx is not a function entry", path, s[i].name,
				s[i].addr);
			bad++;
		}
	}
	T_CHECK(!pclntab__lookup_pc(t, pclntab__func(t, 0)->entry - 1), "%s: pc before text", path);
	T_CHECK(!pclntab__lookup_pc(t, pclntab__func(t, n - 1)->end), "%s: pc after text", path);
	T_CHECK(!pclntab__lookup_name(t, "no.such.function"), "%s: bogus name found", path);
}

TEST(pclntab_matches_go_tool_nm)
{
	char vers[8][16], path[512], twin[512];
	int nv;

	T_NEED_FIXTURES(vers, nv, true);
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_pclntab *t;
			struct gt_elf ef;
			struct nm_sym *s;
			size_t ns;
			int err;

			fixture(path, sizeof(path), vers[i], t_variants[j]);
			fixture(twin, sizeof(twin), vers[i], j == T_STRIPPED ? "plain" : t_variants[j]);
			s = load_nm(twin, &ns);
			T_CHECK(s && ns > 1000, "go tool nm %s: %zu symbols", twin, ns);
			err = open_both(path, &ef, &t);
			T_CHECK(!err, "%s: open %d", path, err);
			if (!err && s && ns > 1000)
				check_against_nm(path, t, s, ns);
			if (!err) {
				pclntab__close(t);
				elf_file__close(&ef);
			}
			free(s);
		}
	}
}

/* Compares frames at each pc with addr2line: innermost file:line, outermost func. */
static void check_addr2line(const char *path, const struct gt_pclntab *t, const uint64_t *pcs,
			    size_t n)
{
	char tmp[] = "/tmp/gtrace-pcs-XXXXXX", cmd[1024], fn[512], pos[1024];
	FILE *f, *p;
	int fd = mkstemp(tmp);
	size_t bad = 0, i;

	T_ASSERT(fd >= 0 && (f = fdopen(fd, "w")), "mkstemp");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%#lx\n", pcs[i]);
	fclose(f);
	snprintf(cmd, sizeof(cmd), T_GO " tool addr2line '%s' < %s", path, tmp);
	p = popen(cmd, "r");
	T_ASSERT(p, "popen addr2line");
	for (i = 0; i < n && fgets(fn, sizeof(fn), p) && fgets(pos, sizeof(pos), p); i++) {
		struct gt_frame fr[32];
		char mine[1100];
		int k = pclntab__frames(t, pcs[i], fr, 32);

		fn[strcspn(fn, "\n")] = 0;
		pos[strcspn(pos, "\n")] = 0;
		if (k < 1) {
			T_CHECK(0, "%s: no frames at %#lx (addr2line: %s)", path, pcs[i], fn);
			continue;
		}
		snprintf(mine, sizeof(mine), "%s:%d", fr[0].file, fr[0].line);
		/* no line information (padding after the code): addr2line says ":-1" */
		if (!strcmp(pos, ":-1"))
			strcpy(pos, "?:0");
		if ((strcmp(mine, pos) || strcmp(fr[k - 1].func, fn)) && bad++ < 5)
			T_CHECK(0, "%s: %#lx: %s at %s, addr2line: %s at %s", path, pcs[i],
				fr[k - 1].func, mine, fn, pos);
	}
	/* addr2line failing or saying nothing must not look like agreement */
	T_CHECK(n > 0 && i == n, "%s: addr2line answered for %zu of %zu pcs", path, i, n);
	T_CHECK(!bad, "%s: %zu of %zu pcs differ from addr2line", path, bad, n);
	T_CHECK(pclose(p) == 0, "%s: go tool addr2line failed", path);
	unlink(tmp);
}

TEST(pclntab_matches_go_tool_addr2line)
{
	char vers[8][16], path[512];
	int nv;

	T_NEED_FIXTURES(vers, nv, true);
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_pclntab *t;
			struct gt_elf ef;
			uint64_t *pcs;
			size_t n = 0, nf;
			const struct gt_func *rel;

			fixture(path, sizeof(path), vers[i], t_variants[j]);
			if (open_both(path, &ef, &t)) {
				T_CHECK(0, "%s: open", path);
				continue;
			}
			nf = pclntab__nfuncs(t);
			pcs = calloc(nf / 50 * 2 + 512, sizeof(*pcs));
			T_ASSERT(pcs, "calloc");
			for (size_t k = 0; k < nf; k += 50) {
				const struct gt_func *f = pclntab__func(t, k);

				pcs[n++] = f->entry;
				pcs[n++] = f->entry + (f->end - f->entry) / 3;
			}
			/* every 4th byte of a function with inlined calls */
			rel = pclntab__lookup_name(t, "main.(*worker).release");
			T_CHECK(rel, "%s: no main.(*worker).release for the inlined pcs", path);
			for (uint64_t pc = rel ? rel->entry : 0; rel && pc < rel->end && n < nf / 50 * 2 + 512;
			     pc += 4)
				pcs[n++] = pc;
			check_addr2line(path, t, pcs, n);
			free(pcs);
			pclntab__close(t);
			elf_file__close(&ef);
		}
	}
}

/* Line numbers of main.go holding "w.mu.Unlock()", as a bitmap. */
static int unlock_lines(unsigned char *lines, int max)
{
	char line[512];
	int n = 0, found = 0;
	FILE *f = fopen("tests/fixtures/script/main.go", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && ++n < max)
		if (strstr(line, "w.mu.Unlock()"))
			lines[n] = 1, found++;
	fclose(f);
	return found ? 0 : -1;
}

TEST(pclntab_inline_frames)
{
	char vers[8][16], path[512];
	unsigned char lines[4096] = { 0 };
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	if (unlock_lines(lines, 4096))
		T_SKIP("tests/fixtures/script/main.go has no w.mu.Unlock() (run from the repo root)");
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			const struct gt_func *rel;
			struct gt_pclntab *t;
			struct gt_elf ef;
			int hits = 0;

			fixture(path, sizeof(path), vers[i], t_variants[j]);
			if (open_both(path, &ef, &t)) {
				T_CHECK(0, "%s: open", path);
				continue;
			}
			rel = pclntab__lookup_name(t, "main.(*worker).release");
			T_CHECK(rel, "%s: no main.(*worker).release", path);
			for (uint64_t pc = rel ? rel->entry : 0; rel && pc < rel->end; pc++) {
				struct gt_frame fr[8];
				int k = pclntab__frames(t, pc, fr, 8), u;

				for (u = 0; u < k - 1 && strcmp(fr[u].func, "sync.(*Mutex).Unlock"); u++)
					;
				if (k < 2 || u == k - 1)
					continue;
				/* Unlock's caller is release, at a "w.mu.Unlock()" line */
				T_CHECK(u + 1 == k - 1 && !strcmp(fr[k - 1].func, rel->name),
					"%s: %#lx: Unlock called from %s", path, pc, fr[u + 1].func);
				T_CHECK(strstr(fr[k - 1].file, "script/main.go") && fr[k - 1].line > 0 &&
						fr[k - 1].line < 4096 && lines[fr[k - 1].line],
					"%s: %#lx: call site %s:%d", path, pc, fr[k - 1].file,
					fr[k - 1].line);
				T_CHECK(strstr(fr[u].file, "sync/mutex.go"), "%s: Unlock in %s", path,
					fr[u].file);
				/* a one-slot buffer gets the innermost frame only */
				T_CHECK(pclntab__frames(t, pc, fr, 1) == 1, "%s: max 1", path);
				hits++;
			}
			T_CHECK(hits > 0, "%s: no inlined sync.(*Mutex).Unlock in worker.release", path);
			pclntab__close(t);
			elf_file__close(&ef);
		}
	}
}


/* Opens a patched copy and compares its function table with the original. */
static void check_same_table(const char *what, const char *tmp, const struct gt_pclntab *orig)
{
	struct gt_pclntab *t;
	struct gt_elf ef;
	int err = open_both(tmp, &ef, &t);

	T_CHECK(!err, "%s: open %d", what, err);
	if (err)
		return;
	T_CHECK(pclntab__nfuncs(t) == pclntab__nfuncs(orig), "%s: %zu funcs, want %zu", what,
		pclntab__nfuncs(t), pclntab__nfuncs(orig));
	for (size_t i = 0; i < pclntab__nfuncs(t) && i < pclntab__nfuncs(orig); i += 7) {
		const struct gt_func *a = pclntab__func(t, i), *b = pclntab__func(orig, i);
		struct gt_frame fa[8], fb[8];
		int na = pclntab__frames(t, a->entry + 1, fa, 8);
		int nb = pclntab__frames(orig, b->entry + 1, fb, 8);

		T_ASSERT(a->entry == b->entry && a->end == b->end && !strcmp(a->name, b->name),
			 "%s: func %zu: %s %#lx, want %s %#lx", what, i, a->name, a->entry, b->name,
			 b->entry);
		T_ASSERT(na == nb && fa[0].line == fb[0].line && !strcmp(fa[0].file, fb[0].file),
			 "%s: frames of %s differ", what, a->name);
	}
	pclntab__close(t);
	elf_file__close(&ef);
}

TEST(pclntab_without_sections_and_old_magic)
{
	char vers[8][16], path[512], tmp[] = "/tmp/gtrace-pcl-XXXXXX";
	int nv = t_versions(vers, 8), fd = mkstemp(tmp);

	T_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	if (!nv) {
		unlink(tmp);
		T_SKIP("no fixtures in %s", t_fixtures());
	}
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_pclntab *orig, *t;
			struct gt_elf ef, ef2;
			size_t len;
			uint8_t *buf;
			uint64_t hoff, magic;
			int open_err;
			char what[600];

			fixture(path, sizeof(path), vers[i], t_variants[j]);
			buf = t_slurp(path, &len);
			if (!buf || open_both(path, &ef, &orig)) {
				T_CHECK(0, "%s: read/open", path);
				free(buf);
				continue;
			}
			/* where the table is: the first function's record says */
			hoff = (const uint8_t *)pclntab__func(orig, 0)->name - ef.data;
			((Elf64_Ehdr *)buf)->e_shoff = 0;
			((Elf64_Ehdr *)buf)->e_shnum = 0;
			((Elf64_Ehdr *)buf)->e_shstrndx = 0;
			snprintf(what, sizeof(what), "%s without section headers", path);
			T_CHECK(!t_write_file(tmp, buf, len), "write %s", tmp);
			check_same_table(what, tmp, orig);

			/* a 1.16 magic on the real table: refused, clearly */
			magic = 0;
			for (uint64_t o = hoff & ~7ULL; o > 0; o -= 8) {
				if (!memcmp(buf + o, "\xf0\xff\xff\xff", 4) ||
				    !memcmp(buf + o, "\xf1\xff\xff\xff", 4)) {
					buf[o] = 0xfa;
					magic = o;
					break;
				}
			}
			T_CHECK(magic, "%s: no 1.18+ pclntab magic before the first name", path);
			((Elf64_Ehdr *)buf)->e_shoff = ((const Elf64_Ehdr *)ef.data)->e_shoff;
			((Elf64_Ehdr *)buf)->e_shnum = ((const Elf64_Ehdr *)ef.data)->e_shnum;
			((Elf64_Ehdr *)buf)->e_shstrndx = ((const Elf64_Ehdr *)ef.data)->e_shstrndx;
			T_CHECK(!t_write_file(tmp, buf, len), "write %s", tmp);
			open_err = elf_file__open(&ef2, tmp);
			T_CHECK(!open_err, "%s with a 1.16 magic: ELF open %d", path, open_err);
			if (!open_err) {
				int err = pclntab__open(&t, &ef2);

				T_CHECK(err == -ENOTSUP, "%s with a 1.16 magic: err %d", path, err);
				if (!err)
					pclntab__close(t);
				elf_file__close(&ef2);
			}
			pclntab__close(orig);
			elf_file__close(&ef);
			free(buf);
		}
	}
	unlink(tmp);
}

/* Every call on a mutated file: errors are fine, crashes and garbage are not. */
static void exercise(const char *tmp, size_t i)
{
	struct gt_go_version v;
	struct gt_pclntab *t;
	struct gt_elf ef;
	size_t n;

	if (elf_file__open(&ef, tmp))
		return;
	buildinfo__read(&ef, &v);
	T_CHECK(memchr(v.str, 0, sizeof(v.str)) != NULL, "mutation %zu: version unterminated", i);
	if (!pclntab__open(&t, &ef)) {
		n = pclntab__nfuncs(t);
		for (size_t k = 0; k < n; k += 1 + n / 64) {
			const struct gt_func *f = pclntab__func(t, k);
			struct gt_frame fr[8];
			int m = pclntab__frames(t, f->entry + (f->end - f->entry) / 2, fr, 8);

			T_CHECK(f->name && f->entry <= f->end, "mutation %zu: func %zu", i, k);
			T_CHECK(m >= 0 && m <= 8, "mutation %zu: %d frames", i, m);
			for (int q = 0; q < m; q++)
				T_CHECK(fr[q].func && fr[q].file, "mutation %zu: NULL in frame", i);
			pclntab__lookup_name(t, f->name);
		}
		pclntab__close(t);
	}
	elf_file__close(&ef);
}

TEST(pclntab_corruption_never_crashes)
{
	char path[512], tmp[] = "/tmp/gtrace-mut-XXXXXX", vers[8][16];
	uint8_t *buf, *mut;
	uint64_t hoff = 0;
	size_t len;
	unsigned int seed = 12345;
	int nv = t_versions(vers, 8), fd, saved, devnull;

	if (!nv)
		T_SKIP("no fixtures in %s", t_fixtures());
	fixture(path, sizeof(path), vers[nv - 1], "stripped");
	buf = t_slurp(path, &len);
	T_ASSERT(buf && (mut = malloc(len)), "read %s", path);
	fd = mkstemp(tmp);
	T_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	/* aim flips where the parsers look: ELF headers, pclntab header and ftab */
	for (uint64_t o = 0; o + 8 < len; o += 8)
		if (!memcmp(buf + o, "\xf1\xff\xff\xff\x00\x00", 6) ||
		    !memcmp(buf + o, "\xf0\xff\xff\xff\x00\x00", 6)) {
			hoff = o;
			break;
		}
	T_CHECK(hoff, "%s: no pclntab magic: the header mutations would miss it", path);
	/* hundreds of "corrupt ..." lines would only bury real failures */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	if (saved >= 0 && devnull >= 0)
		dup2(devnull, 2);
	for (size_t i = 0; i < 300 && !t_failed(); i++) {
		size_t mlen = len;
		int kind = rand_r(&seed) % 4;

		memcpy(mut, buf, len);
		if (kind == 0) {
			mlen = rand_r(&seed) % len;
		} else {
			for (int f = 0; f < 1 + rand_r(&seed) % 8; f++) {
				size_t at = kind == 1 ? (size_t)rand_r(&seed) % 0x400 :
					    kind == 2 ? hoff + rand_r(&seed) % 0x4000 :
							((size_t)rand_r(&seed) << 8 ^ rand_r(&seed)) % len;

				if (at < len)
					mut[at] ^= 1 << (rand_r(&seed) % 8);
			}
		}
		if (t_write_file(tmp, mut, mlen)) {
			T_CHECK(0, "write %s", tmp);
			break;
		}
		exercise(tmp, i);
	}
	fflush(stderr);
	if (saved >= 0 && devnull >= 0)
		dup2(saved, 2);
	if (saved >= 0)
		close(saved);
	if (devnull >= 0)
		close(devnull);
	unlink(tmp);
	free(mut);
	free(buf);
}
