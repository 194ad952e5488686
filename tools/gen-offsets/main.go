// Command gen-offsets prints user/binary/go_offsets_table.h: one row of runtime
// layout (struct gt_go_offsets) and behaviour (struct gt_go_traits) per Go
// minor version, plus the waitReason names per version.  Rows come from the
// DWARF of real binaries (-bin, preferred) or, for toolchains the machine
// does not have, from go/types-computed reference files (-ref,
// shared/reference/go-runtime-data/offsets_<ver>_amd64.txt).
//
//	gen-offsets -bin go1.19=BIN ... -ref 1.20=FILE ... -wr 1.19=TSV ... \
//	            -fastpath 1.26,1.27
package main

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A layout: struct name -> member -> offset.
type layout map[string]map[string]int64

type row struct {
	minor  int
	from   string // "dwarf go1.26.8" or "reference offsets_1.20_amd64.txt"
	layout layout
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

var minorRE = regexp.MustCompile(`^(?:go)?1\.(\d+)`)

func minorOf(s string) int {
	m := minorRE.FindStringSubmatch(s)
	if m == nil {
		fatalf("cannot parse Go version %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func fatalf(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gen-offsets: "+f+"\n", a...)
	os.Exit(1)
}

func fromDWARF(path string) layout {
	f, err := elf.Open(path)
	if err != nil {
		fatalf("%v", err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		fatalf("%s: %v", path, err)
	}
	want := map[string]bool{"runtime.g": true, "runtime.m": true, "runtime.gobuf": true}
	out := layout{}
	r := d.Reader()
	for len(out) < len(want) {
		e, err := r.Next()
		if err != nil {
			fatalf("%s: %v", path, err)
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if !want[name] || out[name] != nil {
			r.SkipChildren()
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			fatalf("%s: %s: %v", path, name, err)
		}
		st := t.(*dwarf.StructType)
		mem := map[string]int64{}
		for _, f := range st.Field {
			mem[f.Name] = f.ByteOffset
		}
		out[name] = mem
		r.SkipChildren()
	}
	for n := range want {
		if out[n] == nil {
			fatalf("%s: no %s in DWARF", path, n)
		}
	}
	return out
}

// fromRef parses the go/types dump: "g (size N):" then "  name off= N ...".
func fromRef(path string) layout {
	f, err := os.Open(path)
	if err != nil {
		fatalf("%v", err)
	}
	defer f.Close()
	out := layout{}
	var cur map[string]int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			cur = nil
			if i := strings.Index(line, " (size"); i > 0 {
				cur = map[string]int64{}
				out["runtime."+line[:i]] = cur
			}
			continue
		}
		fs := strings.Fields(line)
		if cur == nil || len(fs) < 3 || fs[1] != "off=" {
			continue
		}
		n, err := strconv.ParseInt(fs[2], 10, 64)
		if err != nil {
			fatalf("%s: %q: %v", path, line, err)
		}
		cur[fs[0]] = n
	}
	if out["runtime.g"] == nil || out["runtime.gobuf"] == nil || out["runtime.m"] == nil {
		fatalf("%s: missing g, gobuf or m", path)
	}
	return out
}

func (l layout) get(st, field string, optional bool) int64 {
	v, ok := l[st][field]
	if !ok {
		if optional {
			return 0
		}
		fatalf("%s has no field %s", st, field)
	}
	return v
}

// Which release changed what (each from git log of src/runtime/runtime2.go).
var why = map[int]string{
	19: "baseline (go1.19.8 DWARF)",
	20: "goid int64->uint64 (CL 419440), atomicstatus -> atomic.Uint32 (CL 425363): no offset moves",
	21: "parentGoid added, trace fields moved to gTraceState (CL 435337): gopc/startpc/labels -16",
	22: "coroarg added after timer (coroutines): no offset moves here",
	23: "syscallbp added after syscallpc (CL 580255): +8 after it; goid set after casgstatus until here",
	24: "labels become a sorted slice (CL 574516); goid assigned before casgstatus (CL 591997)",
	25: "gobuf.ret removed (CL 652276): -8 after sched, m.curg -8",
	26: "secret int32 (runtime/secret): writebuf..labels +8; reentersyscall/exitsyscall CAS fast path (CL 646198)",
	27: "no g change in the release notes; DWARF of go1.27",
}

func main() {
	var bins, refs, wrs multi
	fast := flag.String("fastpath", "", "comma-separated versions verified to CAS the status in reentersyscall/exitsyscall")
	flag.Var(&bins, "bin", "goVERSION=BINARY with DWARF (repeatable)")
	flag.Var(&refs, "ref", "VERSION=offsets file (repeatable)")
	flag.Var(&wrs, "wr", "VERSION=waitreasons tsv (repeatable)")
	flag.Parse()

	rows := map[int]row{}
	binWR := map[int][]string{}
	for _, b := range bins {
		kv := strings.SplitN(b, "=", 2)
		if len(kv) != 2 {
			fatalf("bad -bin %q", b)
		}
		rows[minorOf(kv[0])] = row{minorOf(kv[0]), "DWARF of a " + kv[0] + " binary", fromDWARF(kv[1])}
		binWR[minorOf(kv[0])] = waitReasonsOf(kv[1])
	}
	for _, r := range refs {
		kv := strings.SplitN(r, "=", 2)
		if len(kv) != 2 {
			fatalf("bad -ref %q", r)
		}
		m := minorOf(kv[0])
		if _, ok := rows[m]; ok {
			continue // DWARF wins
		}
		base := kv[1][strings.LastIndex(kv[1], "/")+1:]
		rows[m] = row{m, "reference data " + base + " (go/types)", fromRef(kv[1])}
	}
	fastpath := map[int]bool{}
	for _, s := range strings.Split(*fast, ",") {
		if s != "" {
			fastpath[minorOf(s)] = true
		}
	}
	var minors []int
	for m := range rows {
		minors = append(minors, m)
	}
	sort.Ints(minors)

	fmt.Println("/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */")
	fmt.Println("/*")
	fmt.Println(" * GENERATED by tools/gen-offsets/gen.sh: do not edit.  Per Go minor version:")
	fmt.Println(" * runtime.g/gobuf/m offsets, traits, and waitReason names.  Each row says")
	fmt.Println(" * whether it came from the DWARF of a binary built here or from the go/types")
	fmt.Println(" * reference data, and which release changed what.")
	fmt.Println(" */")
	fmt.Println()
	fmt.Println("static const struct gt_go_table_row gt_go_table[] = {")
	for _, m := range minors {
		emitRow(rows[m], fastpath[m])
	}
	fmt.Println("};")
	fmt.Println()
	emitWaitReasons(wrs, binWR)
}

// waitReasonsOf reads runtime.waitReasonStrings ([N]string) through .symtab.
func waitReasonsOf(path string) []string {
	f, err := elf.Open(path)
	if err != nil {
		fatalf("%v", err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		fatalf("%s: %v", path, err)
	}
	read := func(addr, n uint64) []byte {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+n <= p.Vaddr+p.Filesz {
				b := make([]byte, n)
				if _, err := p.ReadAt(b, int64(addr-p.Vaddr)); err != nil {
					fatalf("%s: %v", path, err)
				}
				return b
			}
		}
		fatalf("%s: %#x not in a PT_LOAD", path, addr)
		return nil
	}
	for _, s := range syms {
		if s.Name != "runtime.waitReasonStrings" {
			continue
		}
		arr := read(s.Value, s.Size)
		var out []string
		for i := uint64(0); i+16 <= s.Size; i += 16 {
			p := f.ByteOrder.Uint64(arr[i:])
			n := f.ByteOrder.Uint64(arr[i+8:])
			if n == 0 {
				out = append(out, "")
				continue
			}
			out = append(out, string(read(p, n)))
		}
		return out
	}
	fatalf("%s: no runtime.waitReasonStrings", path)
	return nil
}

func emitRow(r row, fast bool) {
	l := r.layout
	g := func(f string) int64 { return l.get("runtime.g", f, false) }
	gopt := func(f string) int64 { return l.get("runtime.g", f, true) }
	sched := g("sched")
	bp := l.get("runtime.gobuf", "bp", false)
	fmt.Printf("\t/* go1.%d: %s.\n\t * %s */\n", r.minor, r.from, why[r.minor])
	fmt.Printf("\t{ 1, %d, {\n", r.minor)
	fmt.Printf("\t\t.g_goid = %d, .g_atomicstatus = %d, .g_waitreason = %d, .g_labels = %d,\n",
		g("goid"), g("atomicstatus"), g("waitreason"), g("labels"))
	fmt.Printf("\t\t.g_gopc = %d, .g_startpc = %d, .g_parent_goid = %d, .g_m = %d,\n",
		g("gopc"), g("startpc"), gopt("parentGoid"), g("m"))
	fmt.Printf("\t\t.g_sched_sp = %d, .g_sched_pc = %d, .g_sched_bp = %d,\n",
		sched+l.get("runtime.gobuf", "sp", false), sched+l.get("runtime.gobuf", "pc", false), sched+bp)
	fmt.Printf("\t\t.g_syscallsp = %d, .g_syscallpc = %d, .g_syscallbp = %d,\n",
		g("syscallsp"), g("syscallpc"), gopt("syscallbp"))
	// The label layouts themselves are defined once, in go_offsets.c.
	lbl := "GT_LABELS_MAP"
	if r.minor >= 24 {
		lbl = "GT_LABELS_SLICE"
	}
	fmt.Printf("\t\t.m_curg = %d, .m_procid = %d, .m_id = %d, .labels_slice = %d,\n",
		l.get("runtime.m", "curg", false), l.get("runtime.m", "procid", false),
		l.get("runtime.m", "id", false), b2i(r.minor >= 24))
	fmt.Printf("\t\t.lbl = %s },\n", lbl)
	fmt.Printf("\t  { .syscall_cas_fastpath = %v, .goid_after_runnable = %v } },\n", fast, r.minor <= 23)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Wait reason names: "idx<TAB>const<TAB>string" per line.
func emitWaitReasons(wrs multi, bin map[int][]string) {
	type wr struct {
		minor int
		names []string
		file  string
	}
	var all []wr
	for _, w := range wrs {
		kv := strings.SplitN(w, "=", 2)
		if len(kv) != 2 {
			fatalf("bad -wr %q", w)
		}
		data, err := os.ReadFile(kv[1])
		if err != nil {
			fatalf("%v", err)
		}
		var names []string
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			fs := strings.SplitN(line, "\t", 3)
			if len(fs) < 2 {
				continue
			}
			i, err := strconv.Atoi(fs[0])
			if err != nil || i != len(names) {
				fatalf("%s: unexpected line %q", kv[1], line)
			}
			s := ""
			if len(fs) == 3 {
				s = fs[2]
			}
			names = append(names, s)
		}
		all = append(all, wr{minorOf(kv[0]), names, kv[1][strings.LastIndex(kv[1], "/")+1:]})
	}
	for m, names := range bin {
		for i := range all {
			if all[i].minor == m {
				all = append(all[:i], all[i+1:]...)
				break
			}
		}
		all = append(all, wr{m, names, fmt.Sprintf("runtime.waitReasonStrings of the go1.%d binary", m)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].minor < all[j].minor })
	for _, w := range all {
		fmt.Printf("/* %s */\nstatic const char *const gt_waitreasons_1_%d[] = {\n", w.file, w.minor)
		for _, n := range w.names {
			fmt.Printf("\t%s,\n", strconv.Quote(n))
		}
		fmt.Println("};")
	}
	fmt.Println()
	fmt.Println("static const struct gt_go_waitreason_table gt_waitreason_tables[] = {")
	for _, w := range all {
		fmt.Printf("\t{ 1, %d, gt_waitreasons_1_%d, %d },\n", w.minor, w.minor, len(w.names))
	}
	fmt.Println("};")
}
