package cross

import (
	"context"
	"runtime/pprof"
	"time"

	"github.com/panjf2000/ants/v2"
)

var (
	jobs    = make(chan func())
	ctxs    = make(chan context.Context)
	tasks   = make(chan task)
	applied = make(chan func())
)

type task struct {
	ctx context.Context
	n   int
}

// started at init, before any labels: never applies a sender's labels
func init() {
	go func() {
		for f := range jobs {
			f()
		}
	}()
	go func() {
		for c := range ctxs {
			_ = c
		}
	}()
	go func() {
		for t := range tasks {
			_ = t
		}
	}()
	go func() {
		for f := range applied {
			pprof.Do(context.Background(), pprof.Labels("via", "pool"), func(context.Context) { f() })
		}
	}()
}

func handler(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		jobs <- func() {}                      // want `labelled work \(a func value\) sent on jobs from inside a labelled region`
		ctxs <- ctx                            // want `labelled work \(a context\) sent on ctxs`
		tasks <- task{ctx: ctx}                // want `labelled work \(a value holding a context\) sent on tasks`
		time.AfterFunc(time.Second, func() {}) // want `labelled work handed to time.AfterFunc`
		ants.Submit(func() {})                 // want `labelled work handed to ants.Submit`
		var p ants.Pool
		p.Submit(func() {}) // want `labelled work handed to ants.Pool.Submit`
	})
}

func afterSet(ctx context.Context) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("route", "/b")))
	defer pprof.SetGoroutineLabels(ctx)
	jobs <- func() {} // want `labelled work \(a func value\) sent on jobs`
}

// ---- silent ----

func outside() {
	jobs <- func() {} // not in a labelled region
}

func toApplier(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		applied <- func() {} // the receiver applies labels of its own
	})
}

func localPipeline(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		results := make(chan func())
		go func() { // created inside Do: inherits the labels
			for f := range results {
				f()
			}
		}()
		results <- func() {}
		close(results)
	})
}

func notWork(ctx context.Context, n chan int) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		n <- 1 // an int carries no work
	})
}
