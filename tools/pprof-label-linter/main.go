// Command pprof-label-linter reports code that loses or misuses pprof
// labels (docs/label-linter.md in the gtrace repository).
//
//	pprof-label-linter ./...                    # standalone
//	go vet -vettool=$(which pprof-label-linter) ./...
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"gtrace.tools/pprof-label-linter/labellint"
)

func main() { singlechecker.Main(labellint.Analyzer) }
