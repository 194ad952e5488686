// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Read-only ELF access over one mmap of the file.  libelf vets the file
 * when it is opened (and its handle is kept for libdw users), but every
 * accessor here walks the headers itself and copies each one out of the
 * mapping after a bounds check, so hostile offsets, counts and sizes in a
 * corrupt binary turn into errors rather than out-of-bounds reads.  Only
 * 64-bit little-endian files are accepted: Go on amd64 and arm64.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/debug.h"
#include "binary/elf_file.h"

#define NT_GO_BUILDID 4

/* True when [off, off+len) lies inside the file, without overflowing. */
static bool in_file(const struct gt_elf *ef, uint64_t off, uint64_t len)
{
	return off <= ef->size && len <= ef->size - off;
}

static int get_ehdr(const struct gt_elf *ef, Elf64_Ehdr *eh)
{
	if (!in_file(ef, 0, sizeof(*eh)))
		return -EINVAL;
	memcpy(eh, ef->data, sizeof(*eh));
	return 0;
}

static int get_phdr(const struct gt_elf *ef, const Elf64_Ehdr *eh, unsigned int i, Elf64_Phdr *ph)
{
	uint64_t off = eh->e_phoff + (uint64_t)i * eh->e_phentsize;

	if (eh->e_phentsize < sizeof(*ph) || off < eh->e_phoff || !in_file(ef, off, sizeof(*ph)))
		return -EINVAL;
	memcpy(ph, ef->data + off, sizeof(*ph));
	return 0;
}

/* Number of section headers, including the extended count in section 0. */
static unsigned int shnum(const struct gt_elf *ef, const Elf64_Ehdr *eh)
{
	Elf64_Shdr sh0;

	if (!eh->e_shoff || eh->e_shentsize < sizeof(Elf64_Shdr) ||
	    !in_file(ef, eh->e_shoff, sizeof(sh0)))
		return 0;
	if (eh->e_shnum)
		return eh->e_shnum;
	memcpy(&sh0, ef->data + eh->e_shoff, sizeof(sh0));
	return sh0.sh_size > 0xffffff ? 0 : (unsigned int)sh0.sh_size;
}

static int get_shdr(const struct gt_elf *ef, const Elf64_Ehdr *eh, unsigned int i, Elf64_Shdr *sh)
{
	uint64_t off = eh->e_shoff + (uint64_t)i * eh->e_shentsize;

	if (i >= shnum(ef, eh) || off < eh->e_shoff || !in_file(ef, off, sizeof(*sh)))
		return -EINVAL;
	memcpy(sh, ef->data + off, sizeof(*sh));
	return 0;
}

/* A NUL-terminated string at off inside section strndx, or NULL. */
static const char *str_at(const struct gt_elf *ef, const Elf64_Ehdr *eh, unsigned int strndx,
			  uint64_t off)
{
	Elf64_Shdr sh;
	const char *s;

	if (get_shdr(ef, eh, strndx, &sh) || sh.sh_type == SHT_NOBITS ||
	    !in_file(ef, sh.sh_offset, sh.sh_size) || off >= sh.sh_size)
		return NULL;
	s = (const char *)ef->data + sh.sh_offset + off;
	return memchr(s, 0, sh.sh_size - off) ? s : NULL;
}

static unsigned int shstrndx(const struct gt_elf *ef, const Elf64_Ehdr *eh)
{
	Elf64_Shdr sh0;

	if (eh->e_shstrndx != SHN_XINDEX)
		return eh->e_shstrndx;
	if (get_shdr(ef, eh, 0, &sh0))
		return 0;
	return sh0.sh_link;
}

/* Finds section name; 0 and *out, or -ENOENT. */
static int find_shdr(const struct gt_elf *ef, const char *name, Elf64_Shdr *out)
{
	Elf64_Ehdr eh;
	unsigned int n, strndx;

	if (get_ehdr(ef, &eh))
		return -ENOENT;
	n = shnum(ef, &eh);
	strndx = shstrndx(ef, &eh);
	for (unsigned int i = 1; i < n; i++) {
		const char *s;

		if (get_shdr(ef, &eh, i, out))
			break;
		s = str_at(ef, &eh, strndx, out->sh_name);
		if (s && !strcmp(s, name))
			return 0;
	}
	return -ENOENT;
}

const uint8_t *elf_file__section(const struct gt_elf *ef, const char *name, uint64_t *addr,
				 uint64_t *size)
{
	Elf64_Shdr sh;

	if (find_shdr(ef, name, &sh) || sh.sh_type == SHT_NOBITS ||
	    !in_file(ef, sh.sh_offset, sh.sh_size))
		return NULL;
	if (addr)
		*addr = sh.sh_addr;
	if (size)
		*size = sh.sh_size;
	return ef->data + sh.sh_offset;
}

/* The PT_LOAD segment holding vaddr in its file-backed part. */
static int find_load(const struct gt_elf *ef, uint64_t vaddr, Elf64_Phdr *out)
{
	Elf64_Ehdr eh;

	if (get_ehdr(ef, &eh))
		return -ENOENT;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (get_phdr(ef, &eh, i, out))
			break;
		if (out->p_type == PT_LOAD && vaddr >= out->p_vaddr &&
		    vaddr - out->p_vaddr < out->p_filesz)
			return 0;
	}
	return -ENOENT;
}

int elf_file__vaddr_to_offset(const struct gt_elf *ef, uint64_t vaddr, uint64_t *off)
{
	Elf64_Phdr ph;
	uint64_t o;

	if (find_load(ef, vaddr, &ph))
		return -ENOENT;
	o = ph.p_offset + (vaddr - ph.p_vaddr);
	if (o < ph.p_offset || o >= ef->size)
		return -ENOENT;
	*off = o;
	return 0;
}

int elf_file__offset_to_vaddr(const struct gt_elf *ef, uint64_t off, uint64_t *vaddr)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (get_ehdr(ef, &eh) || off >= ef->size)
		return -ENOENT;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (get_phdr(ef, &eh, i, &ph))
			break;
		if (ph.p_type == PT_LOAD && off >= ph.p_offset && off - ph.p_offset < ph.p_filesz) {
			*vaddr = ph.p_vaddr + (off - ph.p_offset);
			return 0;
		}
	}
	return -ENOENT;
}

const uint8_t *elf_file__vaddr_ptr(const struct gt_elf *ef, uint64_t vaddr, uint64_t len)
{
	Elf64_Phdr ph;
	uint64_t rel, off;

	if (find_load(ef, vaddr, &ph))
		return NULL;
	rel = vaddr - ph.p_vaddr;
	if (len > ph.p_filesz - rel)
		return NULL;
	off = ph.p_offset + rel;
	if (off < ph.p_offset || !in_file(ef, off, len))
		return NULL;
	return ef->data + off;
}

int elf_file__symbol(const struct gt_elf *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	uint64_t n;

	if (get_ehdr(ef, &eh) || find_shdr(ef, ".symtab", &sh) || sh.sh_type != SHT_SYMTAB ||
	    !in_file(ef, sh.sh_offset, sh.sh_size))
		return -ENOENT;
	n = sh.sh_size / sizeof(Elf64_Sym);
	for (uint64_t i = 1; i < n; i++) {
		Elf64_Sym sym;
		const char *s;

		memcpy(&sym, ef->data + sh.sh_offset + i * sizeof(sym), sizeof(sym));
		if (!sym.st_name || sym.st_shndx == SHN_UNDEF)
			continue;
		s = str_at(ef, &eh, sh.sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			if (addr)
				*addr = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

static void hex(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < dstlen; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 0xf];
	}
	dst[2 * i] = 0;
}

/* Walks the notes in [off, off+len) and records the two build IDs. */
static void scan_notes(struct gt_elf *ef, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (!in_file(ef, off, len))
		return;
	end = off + len;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name, desc, namesz, descsz;

		memcpy(&nh, ef->data + off, sizeof(nh));
		namesz = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		descsz = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		name = off + sizeof(nh);
		desc = name + namesz;
		if (namesz > end - name || nh.n_descsz > end - desc)
			return;
		if (nh.n_namesz == 4 && !memcmp(ef->data + name, "GNU", 4) &&
		    nh.n_type == NT_GNU_BUILD_ID && !ef->gnu_build_id[0])
			hex(ef->gnu_build_id, sizeof(ef->gnu_build_id), ef->data + desc,
			    nh.n_descsz);
		/* the Go linker writes the name as "Go\0\0", namesz 4 */
		if ((nh.n_namesz == 3 || nh.n_namesz == 4) && !memcmp(ef->data + name, "Go", 3) &&
		    nh.n_type == NT_GO_BUILDID && !ef->go_build_id[0]) {
			size_t n = nh.n_descsz < sizeof(ef->go_build_id) - 1 ?
					   nh.n_descsz : sizeof(ef->go_build_id) - 1;

			memcpy(ef->go_build_id, ef->data + desc, n);
			ef->go_build_id[n] = 0;
			ef->go_build_id[strnlen(ef->go_build_id, n)] = 0;
		}
		if (descsz > end - desc)
			return;
		off = desc + descsz;
	}
}

/* Build IDs from note sections, else from PT_NOTE when sections are gone. */
static void read_build_ids(struct gt_elf *ef, const Elf64_Ehdr *eh)
{
	unsigned int n = shnum(ef, eh);
	Elf64_Shdr sh;
	Elf64_Phdr ph;

	for (unsigned int i = 1; i < n; i++) {
		if (get_shdr(ef, eh, i, &sh))
			break;
		if (sh.sh_type == SHT_NOTE)
			scan_notes(ef, sh.sh_offset, sh.sh_size);
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (get_phdr(ef, eh, i, &ph))
			break;
		if (ph.p_type == PT_NOTE)
			scan_notes(ef, ph.p_offset, ph.p_filesz);
	}
}

static int check_ehdr(struct gt_elf *ef, const char *path)
{
	Elf64_Ehdr eh;

	if (ef->size < EI_NIDENT || memcmp(ef->data, ELFMAG, SELFMAG)) {
		pr_err("%s: not an ELF file\n", path);
		return -ENOEXEC;
	}
	if (ef->data[EI_CLASS] != ELFCLASS64 || ef->data[EI_DATA] != ELFDATA2LSB) {
		pr_err("%s: unsupported ELF file (only 64-bit little-endian is supported)\n", path);
		return -ENOTSUP;
	}
	if (get_ehdr(ef, &eh)) {
		pr_err("%s: truncated ELF file (no complete ELF header)\n", path);
		return -EINVAL;
	}
	if (eh.e_phnum && (eh.e_phentsize < sizeof(Elf64_Phdr) ||
			   !in_file(ef, eh.e_phoff, (uint64_t)eh.e_phnum * eh.e_phentsize))) {
		pr_err("%s: truncated ELF file (program headers past the end)\n", path);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (get_phdr(ef, &eh, i, &ph) == 0 && ph.p_type == PT_LOAD &&
		    !in_file(ef, ph.p_offset, ph.p_filesz)) {
			pr_err("%s: truncated ELF file (segment %u ends past the end of the file)\n",
			       path, i);
			return -EINVAL;
		}
	}
	if (eh.e_shoff && eh.e_shnum &&
	    (eh.e_shentsize < sizeof(Elf64_Shdr) ||
	     !in_file(ef, eh.e_shoff, (uint64_t)eh.e_shnum * eh.e_shentsize)))
		pr_warn("%s: section headers are truncated; ignoring them\n", path);
	ef->machine = eh.e_machine;
	ef->pie = eh.e_type == ET_DYN;
	return 0;
}

static void probe_features(struct gt_elf *ef)
{
	Elf64_Ehdr eh;
	uint64_t sz = 0;

	get_ehdr(ef, &eh);
	ef->has_symtab = elf_file__section(ef, ".symtab", NULL, &sz) && sz > 0;
	ef->has_dwarf = elf_file__section(ef, ".debug_info", NULL, NULL) ||
			elf_file__section(ef, ".zdebug_info", NULL, NULL);
	read_build_ids(ef, &eh);
}

static int map_file(struct gt_elf *ef, const char *path)
{
	struct stat st;
	void *p;

	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		int err = -errno;

		pr_err("%s: %s\n", path, strerror(-err));
		return err;
	}
	if (fstat(ef->fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("%s: not a regular file\n", path);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		pr_err("%s: not an ELF file (empty)\n", path);
		return -ENOEXEC;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, ef->fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("%s: mmap: %s\n", path, strerror(-err));
		return err;
	}
	ef->data = p;
	ef->size = st.st_size;
	return 0;
}

int elf_file__open(struct gt_elf *ef, const char *path)
{
	int err;

	memset(ef, 0, sizeof(*ef));
	ef->fd = -1;
	ef->path = strdup(path);
	if (!ef->path)
		return -ENOMEM;
	err = map_file(ef, path);
	if (!err)
		err = check_ehdr(ef, path);
	if (err)
		goto fail;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		pr_err("libelf: %s\n", elf_errmsg(-1));
		err = -EINVAL;
		goto fail;
	}
	/* libelf maps the file itself: it may write to a private copy */
	ef->elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF) {
		pr_err("%s: not an ELF file (%s)\n", path, elf_errmsg(-1));
		err = -ENOEXEC;
		goto fail;
	}
	probe_features(ef);
	return 0;
fail:
	elf_file__close(ef);
	return err;
}

void elf_file__close(struct gt_elf *ef)
{
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->data)
		munmap((void *)ef->data, ef->size);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef->path);
	memset(ef, 0, sizeof(*ef));
	ef->fd = -1;
}
