// Command otlp is the e2e stand-in for an OpenTelemetry Collector's OTLP
// profiles receiver: POST /v1development/profiles on 127.0.0.1, the body
// decoded with the collector's own pdata (pprofile/pprofileotlp), one JSON
// line per profile to -out with its resource attributes, type, time and
// attributes resolved through the request's dictionary.
//
//	otlp -addr 127.0.0.1:PORT -out FILE
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"sync"

	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
)

type record struct {
	Resource   map[string]string `json:"resource"`
	Scope      string            `json:"scope"`
	SampleType string            `json:"sample_type"`
	Attributes map[string]string `json:"attributes"`
	Start      int64             `json:"start_ns"`
	Duration   int64             `json:"duration_ns"`
	Samples    int               `json:"samples"`
	Total      int64             `json:"total"`
	Frames     int               `json:"frames"`
	SampleAttr []string          `json:"sample_attributes"`
}

var mu sync.Mutex

func attrs(d pprofile.ProfilesDictionary, idx []int32) map[string]string {
	m := map[string]string{}
	st := d.StringTable()
	for _, i := range idx {
		a := d.AttributeTable().At(int(i))
		m[st.At(int(a.KeyStrindex()))] = a.Value().AsString()
	}
	return m
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	out := flag.String("out", "", "JSON lines file (appended)")
	flag.Parse()
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/v1development/profiles", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, fmt.Sprintf("bad request (%v, %q)", err, r.Header.Get("Content-Type")), 400)
			return
		}
		req := pprofileotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, "decode: "+err.Error(), 400)
			return
		}
		p := req.Profiles()
		d := p.Dictionary()
		st := d.StringTable()
		var recs []record
		for i := 0; i < p.ResourceProfiles().Len(); i++ {
			rp := p.ResourceProfiles().At(i)
			res := map[string]string{}
			for k, v := range rp.Resource().Attributes().All() {
				res[k] = v.AsString()
			}
			for j := 0; j < rp.ScopeProfiles().Len(); j++ {
				sp := rp.ScopeProfiles().At(j)
				for k := 0; k < sp.Profiles().Len(); k++ {
					pr := sp.Profiles().At(k)
					rec := record{Resource: res, Scope: sp.Scope().Name(),
						SampleType: st.At(int(pr.SampleType().TypeStrindex())) + "/" + st.At(int(pr.SampleType().UnitStrindex())),
						Attributes: attrs(d, pr.AttributeIndices().AsRaw()),
						Start:      int64(pr.Time()), Duration: int64(pr.DurationNano()), Samples: pr.Samples().Len()}
					sa := map[string]bool{}
					for s := 0; s < pr.Samples().Len(); s++ {
						sm := pr.Samples().At(s)
						for _, v := range sm.Values().AsRaw() {
							rec.Total += v
						}
						stk := d.StackTable().At(int(sm.StackIndex()))
						rec.Frames += stk.LocationIndices().Len()
						for k, v := range attrs(d, sm.AttributeIndices().AsRaw()) {
							sa[k+"="+v] = true
						}
					}
					for k := range sa {
						rec.SampleAttr = append(rec.SampleAttr, k)
					}
					sort.Strings(rec.SampleAttr)
					recs = append(recs, rec)
				}
			}
		}
		mu.Lock()
		enc := json.NewEncoder(f)
		for _, rec := range recs {
			enc.Encode(rec)
		}
		mu.Unlock()
		resp := pprofileotlp.NewExportResponse()
		b, _ := resp.MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(b)
	})
	log.Printf("otlp receiver on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
