package labellint_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"gtrace.tools/pprof-label-linter/labellint"
)

// Packages of testdata/src, one per diagnostic, plus the silent cases.
// Each marks every expected finding with a `// want` comment; analysistest
// fails on a missing finding and on any finding not marked, so silence is
// asserted too.  tests/e2e/label_linter.sh reports one result per package
// from the file names in the failures.
var packages = []string{"odd", "unapplied", "leak", "cross", "cardinality", "correct", "labelpool"}

// The labelpool fixture of `gtrace report --labels` (tests/fixtures) marks
// each finding it was written to have with "// lint:"; those become `// want`
// in a copy, so exactly those findings are asserted.  Everything is loaded
// in one go: loading is most of the test's time.
func TestAnalyzer(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(analysistest.TestData())); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../../tests/fixtures/labelpool/main.go")
	if err != nil {
		t.Fatal(err)
	}
	marks := regexp.MustCompile(`// lint: .*`)
	if n := len(marks.FindAll(src, -1)); n != 2 {
		t.Fatalf("labelpool/main.go: fixture has %d lint: marks, the test expects 2", n)
	}
	out := marks.ReplaceAll(src, []byte("// want `labelled work \\(a func value\\) sent on jobs`"))
	pkg := filepath.Join(dir, "src", "labelpool")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "main.go"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, labellint.Analyzer, packages...)
}
