package odd

import (
	"context"
	"runtime/pprof"
)

func bad(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("route", "/a", "tenant"), func(context.Context) {}) // want `pprof.Labels with an odd number of arguments \(3\)`
}

func spread(ctx context.Context, kv []string) {
	pprof.Do(ctx, pprof.Labels(kv...), func(context.Context) {}) // built elsewhere: not judged
}
