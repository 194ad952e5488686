#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Decodes a gtrace Perfetto file with the upstream protos shipped in the
# `perfetto` Python package and checks what the UI relies on: every packet
# decodes as perfetto.protos.TracePacket with no unknown fields, slices
# balance per track and never go back in time, each flow has both ends
# (ids paired in time order, as trace_processor's flow tracker pairs them:
# an id may be used again once its flow has ended), tracks are declared
# before use and siblings that merge by name (the default) have distinct
# names, a ClockSnapshot carries MONOTONIC and REALTIME, and every event
# resolves the way trace_processor resolves it, per sequence: its clock
# (its own timestamp_clock_id or the sequence's TracePacketDefaults) is
# MONOTONIC or a sequence-scoped clock defined by a ClockSnapshot on that
# sequence against MONOTONIC, incremental ones summed packet by packet; its
# track is its own track_uuid or the defaults' TrackEventDefaults.track_uuid;
# every interned reference (event name, category, annotation name, string
# value iid) resolves to interned data sent earlier on its sequence since
# its last SEQ_INCREMENTAL_STATE_CLEARED (trace_processor resolves these
# whether or not a packet sets SEQ_NEEDS_INCREMENTAL_STATE, which only makes
# it drop packets after a loss on the sequence, proto_trace_reader.cc).
# Flows are read from both the fixed64 and the (older) varint flow id
# fields, as trace_processor does.  A goroutine track "G<n>" under a group
# track (its start function) is named "G<n> <function>" in the timeline,
# as Chrome JSON names it.
# Prints one summary line: "tracks=N slices=N flows=N instants=N clocks=..."
#   perfetto_check.py FILE [--summary OUT.json]  also writes what the UI
#   shows, names resolved: slice names and label args, counted, and each
#   track's events (MONOTONIC ns, kind, name), for comparing with another
#   rendering of the same capture (Chrome JSON);
#   --stats prints how many events used a sequence's defaults and clocks;
#   --events OUT writes every track event resolved (track name, MONOTONIC
#   ns, type, name, arguments, flow ids), sorted, to compare two encodings.
import collections
import sys

from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace


def unknown_fields(msg):
    try:
        from google.protobuf import unknown_fields as uf
        return len(uf.UnknownFieldSet(msg)) > 0
    except (ImportError, AttributeError):
        return False


def main(path, summary=None, show_stats=False, events_out=None):
    data = open(path, 'rb').read()
    trace = Trace()
    trace.ParseFromString(data)
    depth = collections.Counter()
    last = {}
    tracks = {}
    parents, sibling_names, display = set(), set(), {}
    flow_ends = []  # (ns, 0 = ends / 1 = begins, id, file position)
    slices = instants = 0
    clocks = set()
    errors = []
    MONO = 3

    def fresh_seq():
        return {'clock': 0, 'track': None, 'clocks': {}, 'valid': False,
                'names': {}, 'cats': {}, 'anames': {}, 'astrs': {}}
    seq = collections.defaultdict(fresh_seq)
    slice_names, args = collections.Counter(), collections.Counter()
    stats = collections.Counter()
    events = [] if events_out else None
    timeline = collections.defaultdict(list)  # track name -> (ns, S/E/I, name), file order
    for p in trace.packet:
        sid = p.trusted_packet_sequence_id
        if p.sequence_flags & 1:
            seq[sid] = fresh_seq()
            seq[sid]['valid'] = True
        st = seq[sid]
        if p.HasField('trace_packet_defaults'):
            d = p.trace_packet_defaults
            st['clock'] = d.timestamp_clock_id if d.HasField('timestamp_clock_id') else 0
            st['track'] = (d.track_event_defaults.track_uuid
                           if d.HasField('track_event_defaults') and
                           d.track_event_defaults.HasField('track_uuid') else None)
        if p.HasField('interned_data'):
            if not st['valid']:
                errors.append('interned data before incremental state was cleared on %d' % sid)
            d = p.interned_data
            st['names'].update({e.iid: e.name for e in d.event_names})
            st['cats'].update({e.iid: e.name for e in d.event_categories})
            st['anames'].update({e.iid: e.name for e in d.debug_annotation_names})
            st['astrs'].update({e.iid: e.str.decode() for e in d.debug_annotation_string_values})
        if unknown_fields(p):
            errors.append('unknown fields in packet')
        if p.HasField('clock_snapshot'):
            cs = p.clock_snapshot.clocks
            clocks |= {c.clock_id for c in cs if c.clock_id < 64}
            mono = [c.timestamp for c in cs if c.clock_id == MONO]
            for c in cs:
                if 64 <= c.clock_id < 128:
                    # sequence-scoped: value -> MONOTONIC by this snapshot
                    if not sid or not mono or c.unit_multiplier_ns not in (0, 1):
                        errors.append('sequence clock %d not defined against MONOTONIC' % c.clock_id)
                        continue
                    st['clocks'][c.clock_id] = {'incr': c.is_incremental, 'at': c.timestamp,
                                                'mono': mono[0], 'last': c.timestamp}
        if p.HasField('track_descriptor'):
            td = p.track_descriptor
            tracks[td.uuid] = td
            if td.HasField('parent_uuid'):
                if td.parent_uuid not in tracks:
                    errors.append('track %s before its parent' % td.name)
                else:
                    parents.add(td.parent_uuid)
                    sib = (td.parent_uuid, td.name)
                    if sib in sibling_names and td.sibling_merge_behavior != td.SIBLING_MERGE_BEHAVIOR_NONE:
                        errors.append('track %s merges by name with a sibling' % td.name)
                    sibling_names.add(sib)
                    par = tracks[td.parent_uuid]
                    if not par.HasField('process') and td.name[:1] == 'G' and td.name[1:].isdigit():
                        display[td.uuid] = td.name + ' ' + par.name
        if p.HasField('track_event'):
            te = p.track_event
            uses_state = False
            if te.HasField('track_uuid'):
                u = te.track_uuid
            else:
                u = st['track']
                uses_state = True
                stats['default_track'] += 1
                if u is None:
                    errors.append('event with no track and no default track on %d' % sid)
            if u not in tracks:
                errors.append('event on undeclared track %s' % u)
            clock = p.timestamp_clock_id if p.HasField('timestamp_clock_id') else st['clock']
            uses_state |= not p.HasField('timestamp_clock_id')
            ts = p.timestamp
            if clock in st['clocks']:
                c = st['clocks'][clock]
                if c['incr']:
                    c['last'] = (c['last'] + ts) & ((1 << 64) - 1)
                    ts = c['last']
                    stats['delta_ts'] += 1
                ts = ts - c['at'] + c['mono']
            elif clock != MONO:
                errors.append('event not on CLOCK_MONOTONIC (clock %d on sequence %d)' % (clock, sid))
            name = te.name if te.HasField('name') else st['names'].get(te.name_iid) if te.HasField('name_iid') else None
            if te.HasField('name_iid') and name is None:
                errors.append('name iid %d not interned' % te.name_iid)
            uses_state |= te.HasField('name_iid') or len(te.category_iids) > 0
            for c in te.category_iids:
                if c not in st['cats']:
                    errors.append('category iid %d not interned' % c)
            evargs = []
            for a in te.debug_annotations:
                k = a.name if a.HasField('name') else st['anames'].get(a.name_iid)
                uses_state |= a.HasField('name_iid') or a.HasField('string_value_iid')
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
                evargs.append('%s=%s' % (k, v))
                if te.type == te.TYPE_SLICE_BEGIN:
                    args['%s=%s' % (k, v)] += 1
            if uses_state and not st['valid']:
                errors.append('packet relies on incremental state its sequence %d never cleared' % sid)
            if te.type in (te.TYPE_SLICE_BEGIN, te.TYPE_SLICE_END, te.TYPE_INSTANT):
                timeline[display.get(u) or (tracks[u].name if u in tracks else str(u))].append(
                    (ts, {te.TYPE_SLICE_BEGIN: 'S', te.TYPE_SLICE_END: 'E'}.get(te.type, 'I'), name or ''))
            if events is not None:
                events.append('%s\t%d\t%s\t%s\t%s\t%s' % (
                    display.get(u) or (tracks[u].name if u in tracks else u), ts, te.Type.Name(te.type), name,
                    ','.join(sorted(evargs)).replace('\n', '|'),
                    ','.join(map(str, list(te.flow_ids) + list(te.flow_ids_old) +
                             list(te.terminating_flow_ids) + list(te.terminating_flow_ids_old)))))
            if te.type in (te.TYPE_SLICE_BEGIN, te.TYPE_SLICE_END):
                if ts < last.get(u, 0):
                    errors.append('track %d goes back in time' % u)
                last[u] = ts
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
            for f in list(te.flow_ids) + list(te.flow_ids_old):
                flow_ends.append((ts, 1, f, len(flow_ends)))
            for f in list(te.terminating_flow_ids) + list(te.terminating_flow_ids_old):
                flow_ends.append((ts, 0, f, len(flow_ends)))
    if any(depth.values()):
        errors.append('unterminated slices: %s' % dict((k, v) for k, v in depth.items() if v))
    # in time order; an id ending and beginning at the same nanosecond would
    # depend on the sorter's tie order, so that counts as a reuse while open
    open_flows, nflows, bad_flows = {}, 0, 0
    for ts, kind, f, _ in sorted(flow_ends, key=lambda e: (e[0], -e[1], e[3])):
        if kind:
            bad_flows += f in open_flows
            open_flows[f] = ts
            nflows += 1
        elif open_flows.pop(f, None) is None:
            bad_flows += 1
    if bad_flows or open_flows:
        errors.append('flows unpaired: %d id(s) begun again while open or ended unbegun, '
                      '%d never ended' % (bad_flows, len(open_flows)))
    if not {1, 3} <= clocks:
        errors.append('no ClockSnapshot with MONOTONIC and REALTIME (got %s)' % sorted(clocks))
    # goroutine tracks: the leaves (groups and the process hold them)
    goroutine_tracks = sum(1 for u, t in tracks.items() if t.HasField('parent_uuid') and u not in parents)
    print('tracks=%d slices=%d flows=%d instants=%d clocks=%s' %
          (goroutine_tracks, slices, nflows, instants,
           ','.join(map(str, sorted(clocks)))))
    if events_out:
        with open(events_out, 'w') as f:
            f.write('\n'.join(sorted(events)) + '\n')
    if show_stats:
        print('sequences=%d default_track=%d delta_ts=%d' % (len(seq), stats['default_track'], stats['delta_ts']))
    for e in errors[:10]:
        print('error:', e)
    if summary:
        import json
        json.dump({'tracks': goroutine_tracks, 'slices': slices, 'flows': nflows,
                   'instants': instants, 'slice_names': slice_names, 'args': args,
                   'timeline': timeline},
                  open(summary, 'w'))
    return 1 if errors else 0


if __name__ == '__main__':
    a = sys.argv[1:]
    sm = a[a.index('--summary') + 1] if '--summary' in a else None
    ev = a[a.index('--events') + 1] if '--events' in a else None
    sys.exit(main(a[0], sm, '--stats' in a, ev))
