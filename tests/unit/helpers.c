// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers shared by the unit test files (see helpers.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "capture/capture.h"
#include "helpers.h"
#include "perfetto_trace.pb-c.h"
#include "profile.pb-c.h"
#include "export/pprof_builder.h"
#include <zlib.h>
#include "synth.h"

const char *const t_variants[T_NVARIANTS] = { "plain", "stripped", "pie" };

char *t_fixture(char *out, size_t len, const char *prog, const char *ver, const char *variant)
{
	snprintf(out, len, "%s/%s-%s-%s", t_fixtures(), prog, ver, variant);
	return out;
}

int t_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t n;

	if (!f)
		return -1;
	n = fwrite(data, 1, len, f);
	return (fclose(f) || n != len) ? -1 : 0;
}

int t_cmd_line(char *out, size_t len, const char *fmt, const char *arg)
{
	char cmd[1024];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, len, p) != NULL;
	/* read to the end so the command is not killed by SIGPIPE */
	while (ok && fgetc(p) != EOF)
		;
	if (pclose(p) != 0 || !ok)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static char synth_path[256];

static void synth_rm(void)
{
	unlink(synth_path);
}

const char *t_synth_path(void)
{
	return synth_path;
}

struct gt_capture *t_synth_open(void)
{
	struct gt_capture *cap;

	if (!synth_path[0]) {
		atexit(synth_rm);
		if (synth_write(synth_tmp(".gtrace", synth_path, sizeof(synth_path)))) {
			synth_path[0] = 0;
			return NULL;
		}
	}
	return capture__open(&cap, synth_path) ? NULL : cap;
}

int t_python(const char *script, const void *data, size_t len, long long num, char *out,
	     size_t outlen)
{
	char path[256], py[256], cmd[700];
	size_t used = 0;
	FILE *f;
	int st;

	out[0] = 0;
	if (system("command -v python3 >/dev/null 2>&1"))
		return T_PY_MISSING;
	synth_tmp(".json", path, sizeof(path));
	synth_tmp(".py", py, sizeof(py));
	if (t_write_file(path, data, len) || t_write_file(py, script, strlen(script))) {
		unlink(path);
		unlink(py);
		snprintf(out, outlen, "cannot write %s or %s", path, py);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "python3 %s %s %lld 2>&1", py, path, num);
	f = popen(cmd, "r");
	if (!f) {
		st = -1;
	} else {
		while (used + 1 < outlen && fgets(out + used, outlen - used, f))
			used += strlen(out + used);
		while (fgetc(f) != EOF)
			;
		st = pclose(f);
	}
	unlink(path);
	unlink(py);
	return st;
}

Perfetto__Protos__TracePacket *t_pf_next(const uint8_t *b, size_t len, size_t *off, bool *bad)
{
	Perfetto__Protos__TracePacket *p;
	uint64_t plen = 0;
	int shift = 0;

	*bad = false;
	if (*off >= len)
		return NULL;
	*bad = true;
	/* field 1 (Trace.packet), wire type 2 */
	if (b[(*off)++] != 0x0a)
		return NULL;
	do {
		if (*off >= len || shift > 63)
			return NULL;
		plen |= (uint64_t)(b[*off] & 0x7f) << shift;
		shift += 7;
	} while (b[(*off)++] & 0x80);
	if (plen > len - *off)
		return NULL;
	p = perfetto__protos__trace_packet__unpack(NULL, plen, b + *off);
	*off += plen;
	if (p)
		*bad = false;
	return p;
}

struct Perftools__Profiles__Profile *t_pprof_decode(struct pprof_builder *b)
{
	char path[] = "/tmp/gtrace-pprof-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	uint8_t *raw = malloc(1 << 20);
	Perftools__Profiles__Profile *p = NULL;
	gzFile gz;
	int n = -1;

	if (f && !pprof_builder__write(b, f) && !fclose(f) && (gz = gzopen(path, "rb"))) {
		n = gzread(gz, raw, 1 << 20);
		/* gzread passes plain bytes through: gzdirect tells it was no gzip */
		if (gzdirect(gz))
			n = -1;
		gzclose(gz);
	}
	if (n > 0)
		p = perftools__profiles__profile__unpack(NULL, n, raw);
	unlink(path);
	free(raw);
	return p;
}
