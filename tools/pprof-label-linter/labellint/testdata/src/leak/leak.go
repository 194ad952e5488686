package leak

import (
	"context"
	"runtime/pprof"
	"time"
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

// A span-style pair (as otel-profiling-go): Start sets labels and hands the
// context back, End restores the parent's.  Neither is a leak.
type span struct{ parent context.Context }

func Start(ctx context.Context) (context.Context, span) {
	s := span{parent: ctx}
	ctx = pprof.WithLabels(ctx, pprof.Labels("span_name", "op"))
	pprof.SetGoroutineLabels(ctx)
	return ctx, s
}

func (s span) End() {
	pprof.SetGoroutineLabels(s.parent)
}

// A helper that labels the goroutine it is called at the start of (as
// nats-server's setGoRoutineLabels), called only from goroutine entries.
func label(kind string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("type", kind)))
}

func startAll() {
	go func() {
		label("consumer")
		work()
	}()
	go deliver()
}

func deliver() {
	label("deliver")
	work()
}

// The same helper called from ordinary code is a leak.
func labelHere(kind string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("type", kind))) // want `pprof.SetGoroutineLabels is not undone`
}

func handle() {
	labelHere("request")
	work()
}

// Helpers run by time.AfterFunc or by a launcher of this package (a func
// parameter run in a go statement, as nats-server's startGoRoutine and its
// deleteNotActive timer) are goroutine entries too.
func launch(f func(), kind string) {
	go func() {
		label(kind)
		f()
	}()
}

type consumer struct{}

func (o *consumer) deleteNotActive() {
	label("consumer")
	work()
}

func (o *consumer) loop() {
	label("loop")
	work()
}

func arm(o *consumer) {
	time.AfterFunc(time.Second, o.deleteNotActive)
	launch(o.loop, "loop")
}

// Started every way at once, as nats-server's tests do too.
func (o *consumer) expire() {
	label("expire")
	work()
}

func armAll(o *consumer) {
	time.AfterFunc(time.Second, o.expire)
	time.AfterFunc(time.Second, func() { o.expire() })
	go o.expire()
}
