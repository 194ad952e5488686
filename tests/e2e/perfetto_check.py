#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Decodes a gtrace Perfetto file with the upstream protos shipped in the
# `perfetto` Python package and checks what the UI relies on: every packet
# decodes as perfetto.protos.TracePacket with no unknown fields, slices
# balance per track and never go back in time, each flow has both ends,
# tracks are declared (goroutine tracks: merge NONE under the process
# track), and a ClockSnapshot carries MONOTONIC and REALTIME.
# Prints one summary line: "tracks=N slices=N flows=N instants=N clocks=..."
import collections
import sys

from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace


def unknown_fields(msg):
    try:
        from google.protobuf import unknown_fields as uf
        return len(uf.UnknownFieldSet(msg)) > 0
    except (ImportError, AttributeError):
        return False


def main(path):
    data = open(path, 'rb').read()
    trace = Trace()
    trace.ParseFromString(data)
    depth = collections.Counter()
    last = {}
    tracks = {}
    out_flows, in_flows = collections.Counter(), collections.Counter()
    slices = instants = 0
    clocks = set()
    errors = []
    for p in trace.packet:
        if unknown_fields(p):
            errors.append('unknown fields in packet')
        if p.HasField('clock_snapshot'):
            clocks |= {c.clock_id for c in p.clock_snapshot.clocks}
        if p.HasField('track_descriptor'):
            td = p.track_descriptor
            tracks[td.uuid] = td
            if td.HasField('parent_uuid'):
                if td.sibling_merge_behavior != td.SIBLING_MERGE_BEHAVIOR_NONE:
                    errors.append('track %s merges by name' % td.name)
                if td.parent_uuid not in tracks:
                    errors.append('track %s before its parent' % td.name)
        if p.HasField('track_event'):
            te = p.track_event
            if te.track_uuid not in tracks:
                errors.append('event on undeclared track %d' % te.track_uuid)
            if p.timestamp_clock_id != 3:
                errors.append('event not on CLOCK_MONOTONIC')
            u = te.track_uuid
            if te.type in (te.TYPE_SLICE_BEGIN, te.TYPE_SLICE_END):
                if p.timestamp < last.get(u, 0):
                    errors.append('track %d goes back in time' % u)
                last[u] = p.timestamp
            if te.type == te.TYPE_SLICE_BEGIN:
                depth[u] += 1
                slices += 1
            elif te.type == te.TYPE_SLICE_END:
                depth[u] -= 1
                if depth[u] < 0:
                    errors.append('END without BEGIN on %d' % u)
            elif te.type == te.TYPE_INSTANT:
                instants += 1
            for f in te.flow_ids:
                out_flows[f] += 1
            for f in te.terminating_flow_ids:
                in_flows[f] += 1
    if any(depth.values()):
        errors.append('unterminated slices: %s' % dict((k, v) for k, v in depth.items() if v))
    if out_flows != in_flows or any(v != 1 for v in out_flows.values()):
        errors.append('flows unpaired: %d out, %d in' % (len(out_flows), len(in_flows)))
    if not {1, 3} <= clocks:
        errors.append('no ClockSnapshot with MONOTONIC and REALTIME (got %s)' % sorted(clocks))
    goroutine_tracks = sum(1 for t in tracks.values() if t.HasField('parent_uuid'))
    print('tracks=%d slices=%d flows=%d instants=%d clocks=%s' %
          (goroutine_tracks, slices, len(out_flows), instants,
           ','.join(map(str, sorted(clocks)))))
    for e in errors[:10]:
        print('error:', e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
