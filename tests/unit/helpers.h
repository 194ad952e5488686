/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by several unit test files: fixture paths, Go's own tools,
 * small file and command utilities, the synthetic capture opened once per
 * run, a Python check of JSON output, and a reader of Perfetto packet
 * streams.
 */
#ifndef GTRACE_TEST_HELPERS_H
#define GTRACE_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include "test.h"

/* The Go toolchain the fixtures are built with: the independent reference. */
#define T_GO "/usr/local/go/bin/go"

/* Every fixture comes in these builds: plain, stripped (-s -w), PIE. */
#define T_NVARIANTS 3
extern const char *const t_variants[T_NVARIANTS];
enum { T_PLAIN, T_STRIPPED, T_PIE };

/* "<fixtures>/<prog>-<ver>-<variant>" into out; returns out. */
char *t_fixture(char *out, size_t len, const char *prog, const char *ver, const char *variant);

/*
 * Fills vers with the fixtures' Go versions and sets nv, or skips the test
 * when there are none (or, with need_go, when Go's own tools are missing).
 */
#define T_NEED_FIXTURES(vers, nv, need_go)                                                  \
	do {                                                                                \
		(nv) = t_versions(vers, sizeof(vers) / sizeof((vers)[0]));                  \
		if (!(nv))                                                                  \
			T_SKIP("no fixtures in %s (run tests/fixtures/build.sh)", t_fixtures()); \
		if ((need_go) && access(T_GO, X_OK))                                        \
			T_SKIP("%s not installed: cannot compare with Go's own tools", T_GO); \
	} while (0)

/* Writes len bytes to path; 0 or -1. */
int t_write_file(const char *path, const void *data, size_t len);
/* The first output line of the command fmt (with one %s = arg), no newline; 0 or -1. */
int t_cmd_line(char *out, size_t len, const char *fmt, const char *arg);

struct gt_capture;
/* The synthetic capture of synth.h, written once per run and removed at exit; NULL on error. */
struct gt_capture *t_synth_open(void);
/* Its path (valid after the first t_synth_open). */
const char *t_synth_path(void);

/*
 * Runs the Python program script on data (passed as a file, argv[1]) and
 * num (argv[2]); its stdout and stderr into out.  The exit status as
 * pclose gives it; T_PY_MISSING when python3 is not installed.
 */
#define T_PY_MISSING (-127)
int t_python(const char *script, const void *data, size_t len, long long num, char *out,
	     size_t outlen);

/*
 * The next packet of a Perfetto trace stream (repeated field 1 of Trace)
 * at *off, unpacked (free with perfetto__protos__trace_packet__free_unpacked),
 * or NULL: *bad false at the end, true when the stream is malformed.
 */
struct Perfetto__Protos__TracePacket;
struct Perfetto__Protos__TracePacket *t_pf_next(const uint8_t *b, size_t len, size_t *off,
						 bool *bad);

struct pprof_builder;
struct Perftools__Profiles__Profile;
/* Writes b to a file, checks it is gzip, decodes it (free with the
 * protobuf-c unpack's free); NULL when anything fails. */
struct Perftools__Profiles__Profile *t_pprof_decode(struct pprof_builder *b);

#endif
