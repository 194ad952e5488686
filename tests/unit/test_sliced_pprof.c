// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof offcpu/schedlat of a sliced capture (record --budget, the agent's
 * exact profiles): a wait that spans a gap counts only the time the probes
 * were on, and the profile is scaled by span / time on.  Without the gap
 * cut, a goroutine parked across every gap would count its whole wait and
 * then be scaled up again (here 4.75x too much).  Also the agent's explicit
 * span and wall-clock time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "capture/capture.h"
#include "export/export.h"
#include "profile.pb-c.h"
#include "test.h"
#include "synth.h"

typedef Perftools__Profiles__Profile Profile;

#define T(x) (1000000000ull + (x))

/*
 * G1 parks at 1000, the probes are off [2000, 9000), it is woken at 10000
 * and runs at 10500; G2 (seen first running) parks at 3000... inside the
 * gap it is invisible; it is first seen parking at 9500, woken at 10200.
 */
static int write_capture(const char *path)
{
	struct gt_capture_writer *w;
	struct gt_ev_park park = { .h = { .type = GT_EV_PARK, .size = sizeof(park) }, .reason = 14 };
	struct gt_ev_unpark unpark = { .h = { .type = GT_EV_UNPARK, .size = sizeof(unpark) } };
	struct gt_ev_start start = { .h = { .type = GT_EV_START, .size = sizeof(start) } };
	struct gt_ev_gap gap = { .h = { .type = GT_EV_GAP, .size = sizeof(gap), .ts = T(2000) },
				 .end = T(9000), .duty_ppm = 300000 };
	int err = capture_writer__open(&w, path);

	if (err)
		return err;
	capture_writer__meta(w, "waitreason.14", "chan receive");
	capture_writer__flush(w); /* the first chunk is the header's META */
	park.h.ts = T(1000), park.h.goid = 1;
	capture_writer__events(w, &park, sizeof(park));
	capture_writer__events(w, &gap, sizeof(gap));
	park.h.ts = T(9500), park.h.goid = 2;
	capture_writer__events(w, &park, sizeof(park));
	unpark.h.ts = T(10000), unpark.h.goid = 1;
	capture_writer__events(w, &unpark, sizeof(unpark));
	unpark.h.ts = T(10200), unpark.h.goid = 2;
	capture_writer__events(w, &unpark, sizeof(unpark));
	start.h.ts = T(10500), start.h.goid = 1;
	capture_writer__events(w, &start, sizeof(start));
	start.h.ts = T(10600), start.h.goid = 2;
	capture_writer__events(w, &start, sizeof(start));
	return capture_writer__close(w);
}

static Profile *profile_of(const char *path, const struct gt_export_opts *o)
{
	struct gt_capture *cap;
	char *gz = NULL;
	size_t len = 0, cap_out = 1 << 20;
	uint8_t *raw = malloc(cap_out);
	z_stream z = { 0 };
	Profile *p = NULL;
	FILE *f;
	int err;

	if (!raw || capture__open(&cap, path)) {
		free(raw);
		return NULL;
	}
	f = open_memstream(&gz, &len);
	err = export_pprof(cap, o, f);
	fclose(f);
	capture__close(cap);
	if (!err && inflateInit2(&z, 15 + 16) == Z_OK) {
		z.next_in = (uint8_t *)gz;
		z.avail_in = len;
		z.next_out = raw;
		z.avail_out = cap_out;
		if (inflate(&z, Z_FINISH) == Z_STREAM_END)
			p = perftools__profiles__profile__unpack(NULL, z.total_out, raw);
		inflateEnd(&z);
	}
	free(gz);
	free(raw);
	return p;
}

static int64_t total(const Profile *p, int idx)
{
	int64_t n = 0;

	for (size_t i = 0; i < p->n_sample; i++)
		n += p->sample[i]->value[idx];
	return n;
}

static bool has_comment(const Profile *p, const char *want)
{
	for (size_t i = 0; i < p->n_comment; i++)
		if (strstr(p->string_table[p->comment[i]], want))
			return true;
	return false;
}

TEST(pprof_sliced_cuts_gaps)
{
	char path[256];
	struct gt_export_opts o = { .profile = GT_PROFILE_OFFCPU };
	Profile *p;

	T_ASSERT(!write_capture(synth_tmp(".gtr", path, sizeof(path))), "writing the capture");
	p = profile_of(path, &o);
	unlink(path);
	T_ASSERT(p, "pprof did not decode");
	/*
	 * seen waiting: G1 [1000,2000) + [9000,10000) = 2000 ns, G2 [9500,10000)... its
	 * interval ends at the unpark 10200: [9500,10200) = 700 ns, none in the gap.
	 * Span [1000, 10600] = 9600 ns, 7000 off: x 9600/2600.
	 */
	T_CHECK(total(p, 1) == (int64_t)(2000 * 9600.0 / 2600 + 0.5) + (int64_t)(700 * 9600.0 / 2600 + 0.5),
		"off-CPU %lld ns, want the 2700 ns seen x 9600/2600", (long long)total(p, 1));
	T_CHECK(has_comment(p, "probes off in 1 gaps") && has_comment(p, "duty cycle 0.2708"),
		"comments: the gap and the duty cycle");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

TEST(pprof_sliced_agent_span)
{
	char path[256];
	/* the agent's window: [0, 20000) mono, of which 7000 off; wall time given */
	struct gt_export_opts o = { .profile = GT_PROFILE_OFFCPU, .span_lo = T(0), .span_hi = T(20000),
				    .time_ns = 1700000000123456789ll, .dur_ns = 20001 };
	Profile *p;

	T_ASSERT(!write_capture(synth_tmp(".gtr", path, sizeof(path))), "writing the capture");
	p = profile_of(path, &o);
	unlink(path);
	T_ASSERT(p, "pprof did not decode");
	T_CHECK(p->time_nanos == 1700000000123456789ll && p->duration_nanos == 20001,
		"time %lld duration %lld: the agent's window", (long long)p->time_nanos,
		(long long)p->duration_nanos);
	T_CHECK(total(p, 1) == (int64_t)(2000 * 20000.0 / 13000 + 0.5) + (int64_t)(700 * 20000.0 / 13000 + 0.5),
		"off-CPU %lld ns, want 2700 x 20000/13000", (long long)total(p, 1));
	T_CHECK(has_comment(p, "duty cycle 0.65"), "duty cycle 13000/20000 in the comments");
	perftools__profiles__profile__free_unpacked(p, NULL);
}
