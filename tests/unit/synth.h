/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A synthetic capture for the gstate and exporter tests: a fixed story of
 * goroutines (snapshot, created, first seen mid-life, system, parked at
 * birth), every event type, a loss window, symbols with inlined frames,
 * label sets and metadata, written with the real capture writer so the
 * tests go through the real reader.  The expected numbers are below.
 */
#ifndef GTRACE_TEST_SYNTH_H
#define GTRACE_TEST_SYNTH_H

#include <stdint.h>

#define SY_T0 1000000000ULL   /* mono ns of the first event */
#define SY_REAL0 1700000000000000000LL /* wall ns at SY_T0 */
#define SY_T(x) (SY_T0 + (x))
#define SY_END SY_T(16000)

/* wait reasons (names in the metadata) */
#define SY_WR_MUTEX 3
#define SY_WR_CHAN 14
#define SY_WR_SWEEP 20
#define SY_WR_GC 25

/* stacks and label sets */
#define SY_S_CHAN 0x51
#define SY_S_MUTEX 0x52
#define SY_L_CHAN 0x71  /* kind=chanrecv */
#define SY_L_MUTEX 0x72 /* kind=mutex */
#define SY_L_MUTEX0 0x73 /* idx=0, kind=mutex */

#define SY_GOPC 0x401100    /* return address in main.main, main.go:20 */
#define SY_STARTPC 0x402000 /* main.worker entry */
#define SY_RTMAIN 0x400000  /* runtime.main entry */
#define SY_BGSWEEP 0x406000 /* runtime.bgsweep entry */

/* Records synth_write put in the event stream: definitions and the story. */
extern int synth_nrecords;

/* Writes the capture to path.  0 or -errno. */
int synth_write(const char *path);
/* A fresh /tmp path (unique per call). */
const char *synth_tmp(const char *suffix, char *buf, int len);

#endif
