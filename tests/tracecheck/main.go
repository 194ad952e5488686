// Command tracecheck reads a Go execution trace (runtime/trace output, any
// version golang.org/x/exp/trace understands, including the Go 1.11-1.21
// format through its converter) and prints, as one JSON object, every
// goroutine's state-transition counts:
//
//	created    NotExist -> Runnable or Waiting (GoCreate, GoCreateBlocked)
//	started    Runnable -> Running (GoStart)
//	blocked    Running -> Waiting (GoBlock, with reasons in block_reasons)
//	unblocked  Waiting -> Runnable (GoUnblock)
//	ended      * -> NotExist (GoDestroy; from Running or Syscall)
//	stopped    Running -> Runnable (GoStop: preemption, Gosched)
//	syscall    Running -> Syscall
//	syscall_end Syscall -> Running (returned keeping its P)
//	syscall_end_blocked Syscall -> Runnable (lost its P; a GoStart follows)
//	other      any other transition, as "from->to": count (e.g. the
//	           Undetermined -> X status events at the trace's start)
//	last_state the goroutine's state when the trace ends (NotExist once
//	           it exited; anything else: it outlived the trace)
//	logs       its user log events (trace.Log), "category=message" each,
//	           in trace order (gtrace's exports put pprof labels here)
//	regions    user regions it began
//
//	tracecheck TRACE_FILE  >  counts.json
//
// Exit status 1 (and one line on stderr) when the trace cannot be read.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/exp/trace"
)

type counts struct {
	Created           int            `json:"created"`
	Started           int            `json:"started"`
	Blocked           int            `json:"blocked"`
	Unblocked         int            `json:"unblocked"`
	Ended             int            `json:"ended"`
	Stopped           int            `json:"stopped"`
	Syscall           int            `json:"syscall"`
	SyscallEnd        int            `json:"syscall_end"`
	SyscallEndBlocked int            `json:"syscall_end_blocked"`
	BlockReasons      []string       `json:"block_reasons"`
	LastState         string         `json:"last_state"`
	Other             map[string]int `json:"other,omitempty"`
	Logs              []string       `json:"logs,omitempty"`
	Regions           int            `json:"regions,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracecheck TRACE_FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracecheck:", err)
		os.Exit(1)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracecheck: cannot read trace:", err)
		os.Exit(1)
	}
	gs := map[trace.GoID]*counts{}
	get := func(id trace.GoID) *counts {
		c := gs[id]
		if c == nil {
			c = &counts{BlockReasons: []string{}}
			gs[id] = c
		}
		return c
	}
	events := 0
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tracecheck: cannot read trace:", err)
			os.Exit(1)
		}
		events++
		switch ev.Kind() {
		case trace.EventLog:
			c := get(ev.Goroutine())
			l := ev.Log()
			c.Logs = append(c.Logs, l.Category+"="+l.Message)
			continue
		case trace.EventRegionBegin:
			get(ev.Goroutine()).Regions++
			continue
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		c := get(st.Resource.Goroutine())
		from, to := st.Goroutine()
		c.LastState = to.String()
		switch {
		case from == trace.GoNotExist && (to == trace.GoRunnable || to == trace.GoWaiting):
			c.Created++
		case from == trace.GoRunnable && to == trace.GoRunning:
			c.Started++
		case from == trace.GoRunning && to == trace.GoWaiting:
			c.Blocked++
			c.BlockReasons = append(c.BlockReasons, st.Reason)
		case from == trace.GoWaiting && to == trace.GoRunnable:
			c.Unblocked++
		case from != trace.GoUndetermined && to == trace.GoNotExist:
			c.Ended++
		case from == trace.GoRunning && to == trace.GoRunnable:
			c.Stopped++
		case from == trace.GoRunning && to == trace.GoSyscall:
			c.Syscall++
		case from == trace.GoSyscall && to == trace.GoRunning:
			c.SyscallEnd++
		case from == trace.GoSyscall && to == trace.GoRunnable:
			c.SyscallEndBlocked++
		default:
			if c.Other == nil {
				c.Other = map[string]int{}
			}
			c.Other[from.String()+"->"+to.String()]++
		}
	}
	out := map[string]any{"events": events}
	g := map[string]*counts{}
	for id, c := range gs {
		g[strconv.FormatInt(int64(id), 10)] = c
	}
	out["goroutines"] = g
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "tracecheck:", err)
		os.Exit(1)
	}
}
