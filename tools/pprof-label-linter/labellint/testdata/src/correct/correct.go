// Package correct is code that keeps its labels: the analyzer must stay silent.
package correct

import (
	"context"
	"runtime/pprof"
	"sync"
)

func goInsideDo(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // inherits route=/a (newproc1 copies labels)
			defer wg.Done()
		}()
		wg.Wait()
	})
}

func nestedDo(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		pprof.Do(ctx, pprof.Labels("step", "parse"), func(ctx context.Context) {
			go func() {}()
		})
	})
}

// A pool that carries the context and applies it on the worker.
type job struct {
	ctx context.Context
	run func()
}

var queue = make(chan job)

func init() {
	go func() {
		for j := range queue {
			pprof.Do(j.ctx, pprof.Labels(), func(context.Context) { j.run() })
		}
	}()
}

func submit(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a"), func(ctx context.Context) {
		queue <- job{ctx, func() {}}
	})
}

func restoreByHand(ctx context.Context) {
	prev := ctx
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("route", "/a")))
	defer pprof.SetGoroutineLabels(prev)
}
