// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Go version of a binary, as debug/buildinfo reads it: the 32-byte
 * "\xff Go buildinf:" header the linker writes into .go.buildinfo, then
 * either two length-prefixed strings (flag 0x2, Go 1.18+) or two pointers
 * to Go string headers (older linkers).  When section headers are gone the
 * header is found by scanning the file for its magic; when there is no
 * build info at all, runtime.buildVersion is read through .symtab.  The
 * module info string tells whether cgo was enabled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "binary/buildinfo.h"
#include "lib/debug.h"

static const char bi_magic[] = "\xff Go buildinf:";
#define BI_MAGIC_LEN 14
#define BI_HDR_LEN 32
#define BI_FLAG_BIGENDIAN 0x1
#define BI_FLAG_INLINE 0x2

/* A string found in the binary: pointer into the mapping and length. */
struct bi_str {
	const uint8_t *p;
	uint64_t len;
};

int buildinfo__parse_version(const char *s, struct gt_go_version *v)
{
	const char *p;
	char *end;
	long minor, patch = 0;

	if (strncmp(s, "devel ", 6) == 0)
		s += 6;
	if (strncmp(s, "go1.", 4) != 0)
		return -EINVAL;
	p = s + 4;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	minor = strtol(p, &end, 10);
	if (*end == '.' && end[1] >= '0' && end[1] <= '9')
		patch = strtol(end + 1, &end, 10);
	if (minor < 0 || minor > 1000 || patch < 0 || patch > 1000)
		return -EINVAL;
	v->major = 1;
	v->minor = (int)minor;
	v->patch = (int)patch;
	return 0;
}

static uint64_t get_uint(const uint8_t *p, int size, bool big)
{
	uint64_t v = 0;

	for (int i = 0; i < size; i++)
		v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
	return v;
}

/* Reads a uvarint-prefixed string from [*p, end); advances *p. */
static int read_inline(const uint8_t **p, const uint8_t *end, struct bi_str *s)
{
	uint64_t len = 0;
	int shift = 0;

	for (;;) {
		if (*p >= end || shift > 63)
			return -EINVAL;
		len |= (uint64_t)(**p & 0x7f) << shift;
		shift += 7;
		if (!(*(*p)++ & 0x80))
			break;
	}
	if (len > (uint64_t)(end - *p))
		return -EINVAL;
	s->p = *p;
	s->len = len;
	*p += len;
	return 0;
}

/* Follows a pointer to a Go string header {data, len} (pre-1.18 form). */
static int read_pointer(const struct gt_elf *ef, const uint8_t *hdr, int psize, bool big,
			struct bi_str *s)
{
	const uint8_t *sh = elf_file__vaddr_ptr(ef, get_uint(hdr, psize, big), 2 * psize);
	uint64_t data;

	if (!sh)
		return -EINVAL;
	data = get_uint(sh, psize, big);
	s->len = get_uint(sh + psize, psize, big);
	if (s->len > 1 << 20)
		return -EINVAL;
	s->p = s->len ? elf_file__vaddr_ptr(ef, data, s->len) : sh;
	return s->p ? 0 : -EINVAL;
}

/* Parses the buildinfo blob at p (up to end): version and modinfo. */
static int parse_blob(const struct gt_elf *ef, const uint8_t *p, const uint8_t *end,
		      struct bi_str *ver, struct bi_str *mod)
{
	int psize, flags;
	bool big;

	if (end - p < BI_HDR_LEN || memcmp(p, bi_magic, BI_MAGIC_LEN))
		return -EINVAL;
	psize = p[14];
	flags = p[15];
	big = flags & BI_FLAG_BIGENDIAN;
	if (flags & BI_FLAG_INLINE) {
		p += BI_HDR_LEN;
		if (read_inline(&p, end, ver) || read_inline(&p, end, mod))
			return -EINVAL;
		return 0;
	}
	if (psize != 4 && psize != 8)
		return -EINVAL;
	if (end - p < 16 + 2 * psize)
		return -EINVAL;
	if (read_pointer(ef, p + 16, psize, big, ver) ||
	    read_pointer(ef, p + 16 + psize, psize, big, mod))
		return -EINVAL;
	return 0;
}

static bool has_cgo(const struct bi_str *mod)
{
	static const char key[] = "CGO_ENABLED=1";
	const uint8_t *hit;

	if (!mod->p || !mod->len)
		return false;
	hit = memmem(mod->p, mod->len, key, sizeof(key) - 1);
	/* the setting must be a whole value, not a prefix of "CGO_ENABLED=10" */
	return hit && (hit + sizeof(key) - 1 == mod->p + mod->len ||
		       hit[sizeof(key) - 1] == '\n');
}

/* Copies ver into v (dropping " X:experiment" and the like) and parses it. */
static int set_version(const struct gt_elf *ef, struct gt_go_version *v, const struct bi_str *ver,
		       const char *source)
{
	size_t n = ver->len;
	const uint8_t *sp = memchr(ver->p, ' ', n);

	if (n >= 6 && !memcmp(ver->p, "devel ", 6))
		sp = memchr(ver->p + 6, ' ', n - 6);
	if (sp)
		n = sp - ver->p;
	if (n == 0 || n >= sizeof(v->str) || memchr(ver->p, 0, n)) {
		pr_err("%s: Go build info holds no usable version string\n", ef->path);
		return -EINVAL;
	}
	memcpy(v->str, ver->p, n);
	v->str[n] = 0;
	snprintf(v->source, sizeof(v->source), "%s", source);
	if (buildinfo__parse_version(v->str, v)) {
		pr_err("%s: unrecognized Go version \"%s\"\n", ef->path, v->str);
		return -EINVAL;
	}
	return 0;
}

static int from_section(const struct gt_elf *ef, struct gt_go_version *v)
{
	struct bi_str ver, mod;
	uint64_t size;
	const uint8_t *p = elf_file__section(ef, ".go.buildinfo", NULL, &size);

	if (!p)
		return -ENOENT;
	if (parse_blob(ef, p, p + size, &ver, &mod)) {
		pr_debug("%s: .go.buildinfo does not parse, scanning the file\n", ef->path);
		return -ENOENT;
	}
	v->cgo = has_cgo(&mod);
	return set_version(ef, v, &ver, "buildinfo");
}

static int from_scan(const struct gt_elf *ef, struct gt_go_version *v)
{
	const uint8_t *end = ef->data + ef->size, *p = ef->data;
	struct bi_str ver, mod;

	while ((p = memmem(p, end - p, bi_magic, BI_MAGIC_LEN))) {
		if (!parse_blob(ef, p, end, &ver, &mod)) {
			v->cgo = has_cgo(&mod);
			return set_version(ef, v, &ver, "buildinfo-scan");
		}
		p++;
	}
	return -ENOENT;
}

static int from_symbol(const struct gt_elf *ef, struct gt_go_version *v)
{
	struct bi_str ver;
	uint64_t addr, size;
	const uint8_t *sh;

	if (elf_file__symbol(ef, "runtime.buildVersion", &addr, &size))
		return -ENOENT;
	sh = elf_file__vaddr_ptr(ef, addr, 16);
	if (!sh)
		return -ENOENT;
	ver.len = get_uint(sh + 8, 8, false);
	ver.p = ver.len && ver.len < 256 ? elf_file__vaddr_ptr(ef, get_uint(sh, 8, false), ver.len)
					 : NULL;
	if (!ver.p) {
		pr_err("%s: runtime.buildVersion does not point into the file\n", ef->path);
		return -EINVAL;
	}
	return set_version(ef, v, &ver, "runtime.buildVersion");
}

int buildinfo__find(const struct gt_elf *ef, struct gt_go_version *v)
{
	int err;

	memset(v, 0, sizeof(*v));
	err = from_section(ef, v);
	if (err == -ENOENT)
		err = from_scan(ef, v);
	if (err == -ENOENT)
		err = from_symbol(ef, v);
	if (err)
		memset(v, 0, sizeof(*v));
	else
		snprintf(v->confidence, sizeof(v->confidence), "exact");
	return err;
}

int buildinfo__read(const struct gt_elf *ef, struct gt_go_version *v)
{
	int err = buildinfo__find(ef, v);

	if (err == -ENOENT)
		pr_err("%s: not a Go binary (no Go build info, no runtime.buildVersion)\n",
		       ef->path);
	return err;
}
