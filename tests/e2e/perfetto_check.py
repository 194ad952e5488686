#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Decodes a gtrace Perfetto file with the upstream protos shipped in the
# `perfetto` Python package and checks what the UI relies on: every packet
# decodes as perfetto.protos.TracePacket with no unknown fields, slices
# balance per track and never go back in time, each flow has both ends,
# tracks are declared (goroutine tracks: merge NONE under the process
# track), a ClockSnapshot carries MONOTONIC and REALTIME, every event is on
# CLOCK_MONOTONIC (its own field or the sequence's TracePacketDefaults), and
# every interned reference (event name, category, annotation name, string
# value iid) resolves to interned data sent earlier on its sequence.
# Prints one summary line: "tracks=N slices=N flows=N instants=N clocks=..."
#   perfetto_check.py FILE [--summary OUT.json]  also writes what the UI
#   shows, names resolved: slice names and label args, counted, for
#   comparing with another rendering of the same capture (Chrome JSON).
import collections
import sys

from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace


def unknown_fields(msg):
    try:
        from google.protobuf import unknown_fields as uf
        return len(uf.UnknownFieldSet(msg)) > 0
    except (ImportError, AttributeError):
        return False


def main(path, summary=None):
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
    seq = collections.defaultdict(lambda: {'clock': 0, 'names': {}, 'cats': {}, 'anames': {}, 'astrs': {}})
    slice_names, args = collections.Counter(), collections.Counter()
    for p in trace.packet:
        st = seq[p.trusted_packet_sequence_id]
        if p.sequence_flags & 1:
            st.update(names={}, cats={}, anames={}, astrs={})
        if p.HasField('trace_packet_defaults') and p.trace_packet_defaults.HasField('timestamp_clock_id'):
            st['clock'] = p.trace_packet_defaults.timestamp_clock_id
        if p.HasField('interned_data'):
            d = p.interned_data
            st['names'].update({e.iid: e.name for e in d.event_names})
            st['cats'].update({e.iid: e.name for e in d.event_categories})
            st['anames'].update({e.iid: e.name for e in d.debug_annotation_names})
            st['astrs'].update({e.iid: e.str.decode() for e in d.debug_annotation_string_values})
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
            clock = p.timestamp_clock_id if p.HasField('timestamp_clock_id') else st['clock']
            if clock != 3:
                errors.append('event not on CLOCK_MONOTONIC')
            name = te.name if te.HasField('name') else st['names'].get(te.name_iid) if te.HasField('name_iid') else None
            if te.HasField('name_iid') and name is None:
                errors.append('name iid %d not interned' % te.name_iid)
            for c in te.category_iids:
                if c not in st['cats']:
                    errors.append('category iid %d not interned' % c)
            for a in te.debug_annotations:
                k = a.name if a.HasField('name') else st['anames'].get(a.name_iid)
                if k is None:
                    errors.append('annotation name iid %d not interned' % a.name_iid)
                if a.HasField('string_value_iid'):
                    v = st['astrs'].get(a.string_value_iid)
                    if v is None:
                        errors.append('string value iid %d not interned' % a.string_value_iid)
                elif a.HasField('string_value'):
                    v = a.string_value
                else:
                    v = a.uint_value
                if te.type == te.TYPE_SLICE_BEGIN:
                    args['%s=%s' % (k, v)] += 1
            u = te.track_uuid
            if te.type in (te.TYPE_SLICE_BEGIN, te.TYPE_SLICE_END):
                if p.timestamp < last.get(u, 0):
                    errors.append('track %d goes back in time' % u)
                last[u] = p.timestamp
            if te.type == te.TYPE_SLICE_BEGIN:
                depth[u] += 1
                slices += 1
                slice_names[name] += 1
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
    if summary:
        import json
        json.dump({'tracks': goroutine_tracks, 'slices': slices, 'flows': len(out_flows),
                   'instants': instants, 'slice_names': slice_names, 'args': args},
                  open(summary, 'w'))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[3] if sys.argv[2:3] == ['--summary'] else None))
