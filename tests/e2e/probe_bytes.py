#!/usr/bin/env python3
"""How many of gtrace's probe sites in a live process hold a breakpoint.

probe_bytes.py GTRACE PID: reads the sites `gtrace info -p PID --json`
plans, then the byte at each in /proc/PID/mem, and prints "N of M" (N
sites holding int3, 0xcc, of M).  The judge of "the probes are gone": a
link can be closed while the kernel leaves its breakpoints behind (an
unregister that fails logs "leaking uprobe"), and a breakpoint nobody
handles costs the target a trap on every hit.  x86_64 only (int3).
"""
import json
import os
import subprocess
import sys


def main():
    gtrace, pid = sys.argv[1], int(sys.argv[2])
    if os.uname().machine != "x86_64":
        # another breakpoint instruction: reading 0xcc would find none and pass
        sys.exit(f"probe_bytes: int3 is x86_64's breakpoint, not {os.uname().machine}'s")
    info = json.loads(subprocess.run([gtrace, "info", "-p", str(pid), "--json"], check=True,
                                     capture_output=True).stdout)
    # where each site's file offset is mapped (PIE or not), as the kernel
    # places a uprobe: by inode and offset
    exe = os.readlink(f"/proc/{pid}/exe")
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].strip() == exe and "x" in parts[1]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                maps.append((lo, hi, int(parts[2], 16)))
    sites = []
    for p in info["probes"]:
        off = p["file_offset"]
        sites += [lo + off - foff for lo, hi, foff in maps if foff <= off < foff + hi - lo]
    if len(sites) != len(info["probes"]):
        sys.exit(f"probe_bytes: {len(info['probes'])} sites, {len(sites)} found mapped in {exe}")
    held = 0
    with open(f"/proc/{pid}/mem", "rb") as m:
        for a in sites:
            m.seek(a)
            held += m.read(1) == b"\xcc"
    print(f"{held} of {len(sites)}")


if __name__ == "__main__":
    main()
