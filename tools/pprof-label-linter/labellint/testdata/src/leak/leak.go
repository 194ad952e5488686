package leak

import (
	"context"
	"runtime/pprof"
)

func leaks(ctx context.Context) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("route", "/a"))) // want `pprof.SetGoroutineLabels is not undone before the function returns`
	work()
}

func loop(ctx context.Context, jobs chan context.Context) {
	for j := range jobs {
		pprof.SetGoroutineLabels(j) // want `pprof.SetGoroutineLabels inside a loop is not undone`
		work()
	}
}

func work() {}

// ---- undone, or nobody runs after it: silent ----

func restored(ctx context.Context) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("route", "/a")))
	defer pprof.SetGoroutineLabels(ctx)
	work()
}

func restoredInLoop(ctx context.Context, jobs chan context.Context) {
	for j := range jobs {
		pprof.SetGoroutineLabels(j)
		work()
		pprof.SetGoroutineLabels(ctx)
	}
}

func entry(ctx context.Context) {
	go func() {
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("route", "/a")))
		work()
	}()
	go worker(ctx)
}

// worker only ever starts a goroutine: its labels end with it.
func worker(ctx context.Context) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("role", "worker")))
	work()
}
