package unapplied

import (
	"context"
	"fmt"
	"runtime/pprof"
)

func discarded(ctx context.Context) {
	pprof.WithLabels(ctx, pprof.Labels("route", "/a"))     // want `the context from pprof.WithLabels is discarded`
	_ = pprof.WithLabels(ctx, pprof.Labels("route", "/a")) // want `the context from pprof.WithLabels is discarded`
}

func onlyRead(ctx context.Context) string {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a")) // want `the context from pprof.WithLabels \(lctx\) is never applied`
	v, _ := pprof.Label(lctx, "route")
	return v
}

func work(ctx context.Context) { fmt.Println(ctx.Err()) }

func passedToNonApplier(ctx context.Context) {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a")) // want `never applied`
	work(lctx)
}

// ---- applied, or out of sight: silent ----

func set(ctx context.Context) {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a"))
	pprof.SetGoroutineLabels(lctx)
	defer pprof.SetGoroutineLabels(ctx)
	work(lctx)
}

func do(ctx context.Context) {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a"))
	pprof.Do(lctx, pprof.Labels("step", "x"), func(context.Context) {})
}

func applier(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels(), func(context.Context) {})
}

func passedToApplier(ctx context.Context) {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a"))
	applier(lctx)
}

func returned(ctx context.Context) context.Context {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a"))
	return lctx
}

func otherPackage(ctx context.Context, run func(context.Context)) {
	lctx := pprof.WithLabels(ctx, pprof.Labels("route", "/a"))
	run(lctx)
}
