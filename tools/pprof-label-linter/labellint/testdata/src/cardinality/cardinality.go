package cardinality

import (
	"context"
	"runtime/pprof"
	"strconv"
	"time"
)

type req struct {
	ID     int
	UserID string
	Route  string
}

func keys(ctx context.Context, k string) {
	pprof.Do(ctx, pprof.Labels(k, "v"), func(context.Context) {}) // want `label key k is not a constant`
}

func values(ctx context.Context, r req, requestID string, start time.Time) {
	pprof.Do(ctx, pprof.Labels("request_id", requestID), func(context.Context) {})   // want `label "request_id" takes its value from a per-request quantity`
	pprof.Do(ctx, pprof.Labels("user", r.UserID), func(context.Context) {})          // want `label "user" takes its value from an id \(UserID\)`
	pprof.Do(ctx, pprof.Labels("req", strconv.Itoa(r.ID)), func(context.Context) {}) // want `label "req" takes its value from an id \(ID\)`
	pprof.Do(ctx, pprof.Labels("at", time.Now().String()), func(context.Context) {}) // want `label "at" takes its value from the time \(time.Now\)`
	pprof.Do(ctx, pprof.Labels("started", start.String()), func(context.Context) {}) // want `label "started" takes its value from a time value \(start\)`
}

// ---- silent ----

const keyRoute = "route"

func fine(ctx context.Context, r req, spanID string) {
	pprof.Do(ctx, pprof.Labels(keyRoute, r.Route), func(context.Context) {})
	pprof.Do(ctx, pprof.Labels("span_id", spanID), func(context.Context) {}) // set on purpose by span-profile integrations
	pprof.Do(ctx, pprof.Labels("ts", "fixed"), func(context.Context) {})     // a constant value is bounded
}
