// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's pure parts: container and pod from real cgroup path shapes
 * (systemd and cgroupfs drivers, Docker, CRI-O, none), workload names from
 * pod names, the one-read Go check on a fixture and on a C binary, the
 * Pyroscope body decoded back with protobuf-c, and the spool surviving a
 * restart of the shipper while its endpoint is down.
 */
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "agent/batch.h"
#include "agent/discovery.h"
#include "agent/identity.h"
#include "agent/ship.h"
#include "lib/debug.h"
#include "pyroscope_push.pb-c.h"
#include "test.h"

TEST(agent_cgroup_ids)
{
	static const struct {
		const char *cg, *cid, *uid;
	} cases[] = {
		{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_4a1b_8c2d_3e4f5a6b7c8d.slice/"
		  "cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d" },
		{ "12:memory:/kubepods/besteffort/pod0a1b2c3d-0000-4111-8222-333344445555/"
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n",
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		  "0a1b2c3d-0000-4111-8222-333344445555" },
		{ "0::/system.slice/docker-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "" },
		{ "0::/user.slice/user-0.slice/session-1.scope\n", "", "" },
		/* 65 hex digits is not an id */
		{ "0::/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char cid[80], uid[40];

		identity__parse_cgroup(cases[i].cg, cid, sizeof(cid), uid, sizeof(uid));
		T_CHECK(!strcmp(cid, cases[i].cid), "case %zu: container id '%s'", i, cid);
		T_CHECK(!strcmp(uid, cases[i].uid), "case %zu: pod uid '%s'", i, uid);
	}
}

TEST(agent_workload_names)
{
	static const char *cases[][2] = {
		{ "checkout-7d4b9c8f6-x2x9z", "checkout" }, /* Deployment */
		{ "node-exporter-x2x9z", "node-exporter" }, /* DaemonSet */
		{ "web-0", "web-0" },			    /* StatefulSet: the ordinal stays */
		{ "plainname", "plainname" },
		{ "my-api-server", "my-api-server" },	    /* "server" has no digit: not generated */
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		identity__workload(cases[i][0], out, sizeof(out));
		T_CHECK(!strcmp(out, cases[i][1]), "%s -> %s, want %s", cases[i][0], out, cases[i][1]);
	}
}

TEST(agent_go_check)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/agentsvc-go1.26-stripped", t_fixtures());
	if (access(path, R_OK))
		T_SKIP("%s missing (tests/fixtures/build.sh)", path);
	T_CHECK(discovery__is_go_elf(path), "stripped Go fixture not seen as Go");
	T_CHECK(!discovery__is_go_elf("/bin/sh"), "/bin/sh seen as Go");
	T_CHECK(!discovery__is_go_elf("/etc/hostname"), "a text file seen as Go");
}

TEST(agent_pyroscope_body)
{
	struct agent_profile p = { .type = "offcpu", .pprof = (uint8_t *)"\x1f\x8b-fake", .len = 7 };
	struct agent_series s = { .p = &p, .service = "svc", .nlabels = 2,
				  .label = { { "service.name", "svc" }, { "process.pid", "42" } } };
	struct agent_batch b = { .s = &s, .n = 1, .cap = 1 };
	Push__V1__PushRequest *req;
	uint8_t *body;
	size_t len;

	T_ASSERT(!pyroscope__encode(&b, &body, &len), "encode failed");
	req = push__v1__push_request__unpack(NULL, len, body);
	T_ASSERT(req && req->n_series == 1, "does not decode as a PushRequest");
	T_CHECK(req->series[0]->n_labels == 3, "%zu labels, want __name__, service_name, process.pid",
		req->series[0]->n_labels);
	T_CHECK(!strcmp(req->series[0]->labels[0]->name, "__name__") &&
			!strcmp(req->series[0]->labels[0]->value, "offcpu"), "__name__ first");
	T_CHECK(!strcmp(req->series[0]->labels[1]->value, "svc"), "service_name");
	T_CHECK(req->series[0]->n_samples == 1 && req->series[0]->samples[0]->raw_profile.len == 7 &&
			strlen(req->series[0]->samples[0]->id) == 36, "sample bytes and uuid");
	push__v1__push_request__free_unpacked(req, NULL);
	free(body);
}

TEST(agent_spool_survives_restart)
{
	char dir[] = "/tmp/gtrace-unit-spool.XXXXXX", url[64];
	struct ship_sink_opts sk = { .name = "pyroscope", .content_type = "application/proto",
				     .timeout_s = 1 };
	struct ship_opts so = { .spool_dir = dir, .spool_max = 1 << 20 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct ship_stats st;
	struct shipper *s;
	int fd = socket(AF_INET, SOCK_STREAM, 0), quiet = gt_quiet;

	T_ASSERT(mkdtemp(dir), "mkdtemp");
	/* a port that was free a moment ago: nothing listens there */
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/push", ntohs(a.sin_port));
	sk.url = url;
	gt_quiet = 1;
	T_ASSERT(!shipper__open(&s, &so, &sk, 1), "open");
	shipper__enqueue(s, 0, (const uint8_t *)"window-1", 8);
	shipper__enqueue(s, 0, (const uint8_t *)"window-2", 8);
	usleep(300000);
	shipper__stats(s, 0, &st);
	T_CHECK(st.errors >= 1 && st.queued == 2 && !st.up, "errors %llu queued %llu",
		(unsigned long long)st.errors, (unsigned long long)st.queued);
	shipper__close(s, 0);
	T_ASSERT(!shipper__open(&s, &so, &sk, 1), "reopen");
	shipper__stats(s, 0, &st);
	T_CHECK(st.queued == 2 && st.spool_bytes == 16, "after restart: queued %llu, %llu bytes",
		(unsigned long long)st.queued, (unsigned long long)st.spool_bytes);
	shipper__close(s, 0);
	gt_quiet = quiet;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_CHECK(!system(cmd), "cleanup");
}
