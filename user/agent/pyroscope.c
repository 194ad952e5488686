// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pyroscope's push API body (user/proto/pyroscope_push.proto): one series
 * per profile, labelled __name__ = the profile type and service_name, then
 * the identity labels; the sample is the gzipped pprof as written, with a
 * random UUID.  Pyroscope turns string sample labels of the pprof into
 * series labels itself, which is why the profiles keep theirs few.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include "agent/batch.h"
#include "pyroscope_push.pb-c.h"

static void uuid4(char out[37])
{
	unsigned char r[16] = { 0 };

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = rand();
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

int pyroscope__encode(const struct agent_batch *b, uint8_t **out, size_t *len)
{
	Push__V1__PushRequest req = PUSH__V1__PUSH_REQUEST__INIT;
	Push__V1__RawProfileSeries *series = calloc(b->n ? b->n : 1, sizeof(*series));
	Push__V1__RawProfileSeries **sp = calloc(b->n ? b->n : 1, sizeof(*sp));
	Push__V1__RawSample *samples = calloc(b->n ? b->n : 1, sizeof(*samples));
	Push__V1__RawSample **smp = calloc(b->n ? b->n : 1, sizeof(*smp));
	Types__V1__LabelPair *lp = calloc((b->n ? b->n : 1) * (BATCH_MAX_LABELS + 2), sizeof(*lp));
	Types__V1__LabelPair **lpp = calloc((b->n ? b->n : 1) * (BATCH_MAX_LABELS + 2), sizeof(*lpp));
	char (*ids)[37] = calloc(b->n ? b->n : 1, sizeof(*ids));
	int err = -ENOMEM, k = 0;

	if (!series || !sp || !samples || !smp || !lp || !lpp || !ids)
		goto out;
	for (int i = 0; i < b->n; i++) {
		const struct agent_series *s = &b->s[i];
		Push__V1__RawProfileSeries *ps = &series[i];
		int first = k;

		push__v1__raw_profile_series__init(ps);
		types__v1__label_pair__init(&lp[k]);
		lp[k].name = "__name__";
		lp[k].value = (char *)s->p->type;
		k++;
		types__v1__label_pair__init(&lp[k]);
		lp[k].name = "service_name";
		lp[k].value = (char *)s->service;
		k++;
		for (int j = 0; j < s->nlabels; j++) {
			if (!strcmp(s->label[j][0], "service.name"))
				continue; /* it is service_name here */
			types__v1__label_pair__init(&lp[k]);
			lp[k].name = (char *)s->label[j][0];
			lp[k].value = (char *)s->label[j][1];
			k++;
		}
		for (int j = first; j < k; j++)
			lpp[j] = &lp[j];
		ps->labels = &lpp[first];
		ps->n_labels = k - first;
		push__v1__raw_sample__init(&samples[i]);
		samples[i].raw_profile.data = s->p->pprof;
		samples[i].raw_profile.len = s->p->len;
		uuid4(ids[i]);
		samples[i].id = ids[i];
		smp[i] = &samples[i];
		ps->samples = &smp[i];
		ps->n_samples = 1;
		sp[i] = ps;
	}
	req.series = sp;
	req.n_series = b->n;
	*len = push__v1__push_request__get_packed_size(&req);
	*out = malloc(*len ? *len : 1);
	if (*out) {
		push__v1__push_request__pack(&req, *out);
		err = 0;
	}
out:
	free(series);
	free(sp);
	free(samples);
	free(smp);
	free(lp);
	free(lpp);
	free(ids);
	return err;
}
