// Command pyroscope is the e2e stand-in for a Pyroscope server: Pyroscope's
// own generated Connect handler (pushv1connect, api v1.6.0) on 127.0.0.1,
// every pushed profile decoded with github.com/google/pprof/profile (which
// validates it), one JSON line per profile to -out.  A profile that does
// not decode fails the push with InvalidArgument, as Pyroscope would.
//
//	pyroscope -addr 127.0.0.1:PORT -out FILE
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"
	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
)

type record struct {
	Received     int64             `json:"received_ns"`
	Type         string            `json:"type"`
	Service      string            `json:"service"`
	Labels       map[string]string `json:"labels"`
	ID           string            `json:"id"`
	Start        int64             `json:"start_ns"`
	Duration     int64             `json:"duration_ns"`
	SampleTypes  []string          `json:"sample_types"`
	Samples      int               `json:"samples"`
	Totals       []int64           `json:"totals"`
	Comments     []string          `json:"comments"`
	SampleLabels []string          `json:"sample_labels"`
	Functions    []string          `json:"functions"`
	// the heaviest stacks by the default sample type, leaf first (ranking checks)
	Top []stackValue `json:"top"`
}

type stackValue struct {
	Stack []string `json:"stack"`
	Value int64    `json:"value"`
}

// top returns the n stacks with the largest values of the default sample
// type (the last one when the profile names none), equal stacks summed.
func top(p *profile.Profile, n int) []stackValue {
	idx := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == p.DefaultSampleType {
			idx = i
		}
	}
	sum := map[string]*stackValue{}
	for _, sm := range p.Sample {
		var fns []string
		for _, loc := range sm.Location {
			for _, ln := range loc.Line {
				fns = append(fns, ln.Function.Name)
			}
		}
		key := fmt.Sprint(fns)
		if sum[key] == nil {
			sum[key] = &stackValue{Stack: fns}
		}
		if idx >= 0 && idx < len(sm.Value) {
			sum[key].Value += sm.Value[idx]
		}
	}
	var out []stackValue
	for _, v := range sum {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value > out[j].Value })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

type server struct {
	mu  sync.Mutex
	out *os.File
}

func (s *server) Push(ctx context.Context, req *connect.Request[pushv1.PushRequest]) (*connect.Response[pushv1.PushResponse], error) {
	var recs []record
	for _, series := range req.Msg.Series {
		labels := map[string]string{}
		for _, l := range series.Labels {
			labels[l.Name] = l.Value
		}
		for _, smp := range series.Samples {
			p, err := profile.ParseData(smp.RawProfile)
			if err != nil {
				return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("profile %s: %w", labels["__name__"], err))
			}
			r := record{Received: time.Now().UnixNano(), Type: labels["__name__"], Service: labels["service_name"],
				Labels: labels, ID: smp.ID, Start: p.TimeNanos, Duration: p.DurationNanos, Samples: len(p.Sample),
				Comments: p.Comments}
			for _, st := range p.SampleType {
				r.SampleTypes = append(r.SampleTypes, st.Type+"/"+st.Unit)
			}
			r.Totals = make([]int64, len(p.SampleType))
			sl, fns := map[string]bool{}, map[string]bool{}
			for _, sm := range p.Sample {
				for i, v := range sm.Value {
					r.Totals[i] += v
				}
				for k, vs := range sm.Label {
					for _, v := range vs {
						sl[k+"="+v] = true
					}
				}
				for _, loc := range sm.Location {
					for _, ln := range loc.Line {
						fns[ln.Function.Name] = true
					}
				}
			}
			for k := range sl {
				r.SampleLabels = append(r.SampleLabels, k)
			}
			for k := range fns {
				r.Functions = append(r.Functions, k)
			}
			sort.Strings(r.SampleLabels)
			sort.Strings(r.Functions)
			r.Top = top(p, 20)
			recs = append(recs, r)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.out)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
	}
	return connect.NewResponse(&pushv1.PushResponse{}), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	out := flag.String("out", "", "JSON lines file (appended)")
	flag.Parse()
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	path, h := pushv1connect.NewPusherServiceHandler(&server{out: f})
	mux.Handle(path, h)
	log.Printf("pyroscope receiver on %s%s", *addr, path)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
