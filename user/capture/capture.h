/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The capture file: the contract between `record` (later the agent and the
 * flight recorder) and every exporter.  One writer, one reader; exporters
 * are a struct gt_tool and never parse bytes (docs/capture-format.md).
 *
 * Layout: a 16-byte file header ("GTRACE\0\0", u32 version, u32 0x01020304
 * in file byte order), then self-delimiting chunks, each CRC-checked:
 *   struct { u32 magic 'GTCK'; u16 type; u16 flags; u32 len; u32 raw_len; u32 crc32; }
 * followed by len bytes (zstd when flags&2, zlib when flags&1, inflating to raw_len).  Chunk
 * types: META (key\tvalue\n lines: header info, clock, target, wait reason
 * names), SYMS (PC -> inlined frames), EVENTS (gt_event_hdr records from
 * bpf/gtrace_events.h, unchanged), and a final TRAILER (META lines with loss
 * totals).  Definitions (symbols, stacks, label sets) always come before the
 * events that use them, so the reader streams with memory bounded by the
 * number of distinct stacks, label sets and goroutines, not by events.
 * A file cut anywhere (SIGKILL) still reads up to its last complete chunk.
 */
#ifndef GTRACE_CAPTURE_H
#define GTRACE_CAPTURE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bpf/gtrace_events.h"
#include "binary/pclntab.h"

/*
 * Where producers (the BPF loader, the snapshot reader) hand records in the
 * gtrace_events.h layout, one or more back to back: 0, or -errno to stop.
 */
typedef int (*gt_record_fn)(void *ctx, const void *rec, size_t len);

/* ---- writer ---- */

struct gt_capture_writer;

/*
 * path "-" writes to stdout.  The file is created fresh, mode 0600, by the
 * rules of lib/outfile.h (an existing one kept as PATH.old, links and
 * non-regular files refused).  0 or -errno (printed).
 */
int capture_writer__open(struct gt_capture_writer **w, const char *path);
/* The same, refusing a path that is one of the n inputs. */
int capture_writer__open_checked(struct gt_capture_writer **w, const char *path,
				 const char *const *inputs, size_t n);
/* Adds a metadata line; written with the next flush (keys are dotted: "target.pid"). */
int capture_writer__meta(struct gt_capture_writer *w, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Defines the frames of pc (innermost first) before any event uses it. */
int capture_writer__symbol(struct gt_capture_writer *w, uint64_t pc, const struct gt_frame *f,
			   int n);
/* Appends raw records (one or more gt_event_hdr records back to back). */
int capture_writer__events(struct gt_capture_writer *w, const void *recs, size_t len);
/* Writes out everything buffered as complete chunks (META, SYMS, then EVENTS). */
int capture_writer__flush(struct gt_capture_writer *w);
/* Flushes, writes the TRAILER from the meta lines added since, closes. 0 or -errno. */
int capture_writer__close(struct gt_capture_writer *w);
/* Bytes written so far. */
uint64_t capture_writer__bytes(const struct gt_capture_writer *w);
/* A write failed and its error was printed (the writer stops writing then). */
bool capture_writer__failed(const struct gt_capture_writer *w);

/* ---- reader ---- */

struct gt_capture;

struct gt_stack {
	uint64_t id;
	uint32_t nr;
	bool truncated;
	uint64_t *pcs; /* return addresses, leaf first (as walked) */
};

struct gt_labelset {
	uint64_t id;
	uint32_t count;
	bool truncated;
	const char **keys; /* sorted by key */
	const char **values;
};

/*
 * Consumers implement what they need; capture__process calls event() for
 * every record in file order.  A non-zero return stops processing and is
 * returned by capture__process.
 */
struct gt_tool {
	int (*event)(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *ev);
};

/* Opens and checks the header and the first META chunk. 0 or -errno (printed). */
int capture__open(struct gt_capture **c, const char *path);
void capture__close(struct gt_capture *c);

/*
 * Streams every record through tool.  Definitions (LABELSET, STACK) are
 * stored before tool sees them.  Returns 0; the tool's non-zero return
 * (which stops the stream); or -EBADMSG when the file is corrupt or cut:
 * everything before the damage was delivered and one warning was printed.
 * The trailer's metadata is available from open on when the file is
 * seekable, else after the stream ends.
 */
int capture__process(struct gt_capture *c, struct gt_tool *tool);

/*
 * Pull-style reading, for merging several captures by time: 1 and the next
 * record in *ev (valid until the next call on c), 0 at the clean end, or
 * -EBADMSG / -ENOMEM; the end warnings are those of capture__process.
 * Definitions (LABELSET, STACK) are stored before they are returned.
 * Memory: one chunk (stored and inflated) per open capture.  Do not mix
 * with capture__process on the same capture.
 */
int capture__next_event(struct gt_capture *c, const struct gt_event_hdr **ev);

/*
 * Lifetimes: every string and struct returned below (metadata values,
 * symbol frames, wait reason names, stacks, label sets) stays valid until
 * capture__close.  Id 0 means "none": capture__stack and capture__labelset
 * return NULL for it.
 */

/* Metadata value for key (header or trailer), or NULL. */
const char *capture__meta(const struct gt_capture *c, const char *key);
/* Calls fn for every metadata line in file order. */
void capture__meta_foreach(const struct gt_capture *c,
			   void (*fn)(const char *key, const char *value, void *arg), void *arg);
/* true once the trailer was read (the capture ended cleanly). */
bool capture__complete(const struct gt_capture *c);

const struct gt_stack *capture__stack(const struct gt_capture *c, uint64_t id);
const struct gt_labelset *capture__labelset(const struct gt_capture *c, uint64_t id);
/*
 * The one decoder of a LABELSET record's blob (the reader's own, for
 * producers that hold records, not a capture: the flight recorder).
 * *out is malloc'd, keys sorted; free it with capture__labelset_free.
 * 0, -EBADMSG (malformed) or -ENOMEM.
 */
int capture__labelset_decode(const struct gt_event_hdr *h, struct gt_labelset **out);
void capture__labelset_free(struct gt_labelset *l);
/* Frames for an exact pc (pass ret-1 for return addresses); 0 when unknown. */
int capture__symbolize(const struct gt_capture *c, uint64_t pc, struct gt_frame *out, int max);
/*
 * What capture__symbolize(c, pc, f, max) gives as f[n - 1].func (the
 * outermost of the first max frames), without copying the frames; NULL
 * when pc is unknown.  A spawn storm asks once per goroutine.
 */
const char *capture__outer_func(const struct gt_capture *c, uint64_t pc, int max);
/* The runtime's name for a wait reason, or "waitreason N". */
const char *capture__waitreason(const struct gt_capture *c, unsigned reason);
/* CLOCK_MONOTONIC ns -> CLOCK_REALTIME ns, by the capture's clock mapping. */
int64_t capture__wall_ns(const struct gt_capture *c, uint64_t mono_ns);
/* The stack of a LABELS record (where the labels were set), 0 when it has none (version 1). */
static inline uint64_t capture__labels_stack(const struct gt_ev_labels *e)
{
	return e->h.size >= sizeof(*e) ? e->stack : 0;
}
/* Capture's own name for an event type ("create", "park", ...). */
const char *capture__event_name(unsigned type);
/* What a CPU sample's thread ran (gt_ev_cpu_sample.kind): "go", "system", "cgo". */
const char *capture__cpu_kind(unsigned kind);

#endif
