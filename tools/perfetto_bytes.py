#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Where a gtrace Perfetto file's bytes go: walks the protobuf wire format
# (no schema needed) and charges every byte to the field that holds it,
# by packet kind (track event type, descriptor, clock...), so that an
# encoding change can be aimed at the fields that cost the most.
#   perfetto_bytes.py FILE [--packets N] [--events E]
# --packets stops after N packets (a sample; spawn storms are uniform);
# --events E divides the whole file's size by E (the capture's record count)
# for the B/event line.
import collections
import os
import sys

TP = {8: 'timestamp', 10: 'seq_id', 13: 'seq_flags', 12: 'interned_data', 11: 'track_event',
      60: 'track_descriptor', 59: 'defaults', 6: 'clock_snapshot', 87: 'first_on_seq',
      58: 'ts_clock_id'}
TE = {3: 'category_iids', 9: 'type', 11: 'track_uuid', 10: 'name_iid', 4: 'debug_annotations',
      36: 'flow_ids_old', 42: 'term_flow_ids_old', 47: 'flow_ids', 48: 'term_flow_ids', 23: 'name'}
DA = {1: 'name_iid', 17: 'string_value_iid', 3: 'uint_value', 6: 'string_value', 10: 'name'}
TYPES = {1: 'BEGIN', 2: 'END', 3: 'INSTANT'}


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b, i, end):
    """(field, wiretype, value or (start, end), key+value length) for each field."""
    while i < end:
        st = i
        k, i = varint(b, i)
        f, w = k >> 3, k & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i)
            v = (i, i + n)
            i += n
        elif w == 1:
            v, i = int.from_bytes(b[i:i + 8], 'little'), i + 8
        elif w == 5:
            v, i = int.from_bytes(b[i:i + 4], 'little'), i + 4
        else:
            raise ValueError('wire type %d at %d' % (w, st))
        yield f, w, v, i - st


def main(path, maxp=None, events=None):
    b = open(path, 'rb').read()
    cost = collections.defaultdict(collections.Counter)  # kind -> field -> bytes
    count = collections.Counter()
    i = n = 0
    total = 0
    while i < len(b) and (maxp is None or n < maxp):
        st = i
        k, i = varint(b, i)
        ln, i = varint(b, i)
        s, e = i, i + ln
        i = e
        n += 1
        total += e - st
        top = list(fields(b, s, e))
        kind = 'other'
        for f, w, v, _ in top:
            if f == 11:
                t = next((x[2] for x in fields(b, v[0], v[1]) if x[0] == 9), None)
                kind = TYPES.get(t, 'type%s' % t)
            elif f == 60:
                kind = 'track_descriptor'
            elif f == 6:
                kind = 'clock_snapshot'
        if any(f == 87 for f, *_ in top):
            kind = 'seq_first_packet'
        c = cost[kind]
        count[kind] += 1
        c['(packet key+len)'] += s - st
        for f, w, v, l in top:
            if f == 11 and kind not in ('seq_first_packet',):
                c['track_event (key+len)'] += l - (v[1] - v[0])
                for f2, w2, v2, l2 in fields(b, v[0], v[1]):
                    nm = 'te.' + TE.get(f2, str(f2))
                    if f2 == 4:
                        c['te.debug_annotation (key+len)'] += l2 - (v2[1] - v2[0])
                        for f3, _, _, l3 in fields(b, v2[0], v2[1]):
                            c['te.da.' + DA.get(f3, str(f3))] += l3
                    else:
                        c[nm] += l2
            else:
                c[TP.get(f, str(f))] += l
    allb = sum(sum(c.values()) for c in cost.values())
    print('%d packets, %d bytes sampled (file %d bytes)' % (n, total, len(b)))
    if events:
        print('file: %.2f B/event over %d events' % (len(b) / events, events))
    for kind, c in sorted(cost.items(), key=lambda x: -sum(x[1].values())):
        kb = sum(c.values())
        print('%-18s %9d packets %6.1f%% of bytes, %.1f B/packet' %
              (kind, count[kind], 100.0 * kb / allb, kb / count[kind]))
        for f, v in c.most_common():
            print('    %-32s %5.2f B/packet  %5.1f%%' % (f, v / count[kind], 100.0 * v / allb))
    return 0


if __name__ == '__main__':
    a = sys.argv[1:]
    if not a or '--help' in a or '-h' in a:
        print('usage: perfetto_bytes.py FILE [--packets N] [--events E]\n'
              "charges each byte of a Perfetto file to its field, by packet kind")
        sys.exit(0 if a else 2)
    if not os.path.isfile(a[0]):
        print('perfetto_bytes.py: %s: no such file' % a[0], file=sys.stderr)
        sys.exit(1)
    mp = int(a[a.index('--packets') + 1]) if '--packets' in a else None
    ev = int(a[a.index('--events') + 1]) if '--events' in a else None
    sys.exit(main(a[0], mp, ev))
