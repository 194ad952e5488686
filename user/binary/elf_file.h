/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A read-only view of an ELF executable: sections, segments, symbols and
 * virtual-address translation.  Every accessor bounds-checks against the
 * mapped file, so a truncated or corrupt binary gives an error, never a
 * crash.  Used by the Go inspection modules and by the probe attacher.
 */
#ifndef GTRACE_ELF_FILE_H
#define GTRACE_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gt_elf {
	char *path;
	int fd;
	const uint8_t *data; /* whole file, mmap'd read-only */
	size_t size;
	void *elf;	     /* Elf * (libelf) */
	uint16_t machine;    /* EM_X86_64, EM_AARCH64 */
	bool pie;	     /* ET_DYN */
	bool has_symtab;     /* .symtab present: not stripped */
	bool has_dwarf;	     /* .debug_info (or .zdebug_info) present */
	char gnu_build_id[65];	/* hex, "" when absent */
	char go_build_id[256];	/* from .note.go.buildid, "" when absent */
};

/* Returns 0, or -errno after printing one line that says what is wrong. */
int elf_file__open(struct gt_elf *ef, const char *path);
void elf_file__close(struct gt_elf *ef);

/*
 * Finds a section by name.  Returns a pointer into the file (NULL when the
 * section is absent, has no file bytes, or runs past the end of the file);
 * *addr and *size get its virtual address and size.
 */
const uint8_t *elf_file__section(const struct gt_elf *ef, const char *name, uint64_t *addr,
				 uint64_t *size);

/* Translates a virtual address to a file offset through PT_LOAD. 0 or -ENOENT. */
int elf_file__vaddr_to_offset(const struct gt_elf *ef, uint64_t vaddr, uint64_t *off);

/* Translates a file offset back to its virtual address through PT_LOAD. 0 or -ENOENT. */
int elf_file__offset_to_vaddr(const struct gt_elf *ef, uint64_t off, uint64_t *vaddr);

/* Pointer to len file-backed bytes at vaddr, or NULL if not all present. */
const uint8_t *elf_file__vaddr_ptr(const struct gt_elf *ef, uint64_t vaddr, uint64_t len);

/* .symtab lookup.  Returns 0 and fills addr/size, or -ENOENT. */
int elf_file__symbol(const struct gt_elf *ef, const char *name, uint64_t *addr, uint64_t *size);

#endif
