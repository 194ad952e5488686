// Package labellint finds code that loses or misuses pprof labels
// (docs/label-linter.md has each diagnostic's reason and fix).
//
// Go copies a goroutine's labels to the goroutines it creates, so `go`
// inside pprof.Do keeps them; they are lost where work crosses to a
// goroutine created earlier (a pool worker, a channel consumer, a timer),
// where SetGoroutineLabels is left set or a labelled context is never
// applied, and they become useless when keys are not constants or values
// are unbounded (request ids, timestamps).
package labellint

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

const doc = `report pprof label misuse and places where labels get lost

Diagnostics: odd pprof.Labels arguments; a pprof.WithLabels context never
applied; SetGoroutineLabels left set when returning to a caller or loop;
labelled work handed to another goroutine that never applies the labels;
non-constant label keys and high-cardinality label values.`

var Analyzer = &analysis.Analyzer{
	Name:     "pproflabels",
	Doc:      doc,
	URL:      "https://github.com/gtrace/gtrace/blob/main/docs/label-linter.md",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

const pprofPath = "runtime/pprof"

// Worker-pool and callback APIs that run a func value on a goroutine that
// was not created by the caller, so the caller's labels do not reach it.
// Key: package path + "." + [receiver type "."] function; value: index of
// the func argument.
var poolAPIs = map[string]int{
	"time.AfterFunc":                                        1,
	"github.com/panjf2000/ants/v2.Submit":                   0,
	"github.com/panjf2000/ants/v2.Pool.Submit":              0,
	"github.com/panjf2000/ants/v2.PoolWithFunc.Invoke":      0,
	"github.com/gammazero/workerpool.WorkerPool.Submit":     0,
	"github.com/gammazero/workerpool.WorkerPool.SubmitWait": 0,
	"github.com/alitto/pond.WorkerPool.Submit":              0,
	"github.com/alitto/pond.WorkerPool.TrySubmit":           0,
	"github.com/alitto/pond.WorkerPool.SubmitAndWait":       0,
	"github.com/alitto/pond/v2.Pool.Submit":                 0,
	"github.com/alitto/pond/v2.Pool.Go":                     0,
}

// Label values that grow with traffic: ids of requests, users, sessions,
// traces, and times.  span_id is exempt: span-profile integrations
// (otel-profiling-go) set it on purpose and drop it before storage.
var highCardSuffixes = []string{"requestid", "reqid", "userid", "uid", "sessionid", "traceid",
	"uuid", "email", "timestamp", "unixnano", "nanos"}

// Does a key or variable name say it holds a per-request or per-instant value?
func highCardName(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", ""))
	if n == "id" || n == "ts" || n == "time" || n == "now" {
		return true
	}
	for _, s := range highCardSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

const exemptKey = "span_id"

type checker struct {
	pass  *analysis.Pass
	funcs map[*types.Func]*ast.FuncDecl
	// functions (by object) referenced only as the callee of a go statement
	goOnly map[*types.Func]bool
	// direct calls of each function of the package, and all its references
	callers map[*types.Func][]*ast.CallExpr
	refs    map[*types.Func]int
	// references handed to a goroutine-starting callee (time.AfterFunc, a
	// launcher) rather than called, and the func literals so handed
	handed    map[*types.Func]int
	handedLit map[*ast.FuncLit]bool
	// per channel object: its receive expressions
	recvs map[types.Object][]ast.Node
	// enclosing function body of every node we need it for
	parents map[ast.Node]ast.Node
}

func run(pass *analysis.Pass) (interface{}, error) {
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	c := &checker{
		pass:      pass,
		funcs:     map[*types.Func]*ast.FuncDecl{},
		goOnly:    map[*types.Func]bool{},
		handed:    map[*types.Func]int{},
		handedLit: map[*ast.FuncLit]bool{},
		recvs:     map[types.Object][]ast.Node{},
		parents:   map[ast.Node]ast.Node{},
		callers:   map[*types.Func][]*ast.CallExpr{},
	}
	c.index()
	insp.Preorder([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node) {
		call := n.(*ast.CallExpr)
		switch {
		case isPprof(pass, call, "Labels"):
			c.checkLabels(call)
		case isPprof(pass, call, "WithLabels"):
			c.checkWithLabels(call)
		case isPprof(pass, call, "SetGoroutineLabels"):
			c.checkSet(call)
		}
	})
	c.checkRegions()
	return nil, nil
}

// ---- indexing ----

func (c *checker) index() {
	refs := map[*types.Func]int{}
	inGo := map[*types.Func]int{}
	for _, f := range c.pass.Files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if len(stack) > 0 {
				c.parents[n] = stack[len(stack)-1]
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := c.pass.TypesInfo.Defs[n.Name].(*types.Func); ok {
					c.funcs[fn] = n
				}
			case *ast.Ident:
				if fn, ok := c.pass.TypesInfo.Uses[n].(*types.Func); ok {
					refs[fn]++
				}
			case *ast.GoStmt:
				if fn := calleeFunc(c.pass, n.Call); fn != nil {
					inGo[fn]++
				}
			case *ast.CallExpr:
				if fn := calleeFunc(c.pass, n); fn != nil && fn.Pkg() == c.pass.Pkg {
					c.callers[fn] = append(c.callers[fn], n)
				}
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					if obj := chanObj(c.pass, n.X); obj != nil {
						c.recvs[obj] = append(c.recvs[obj], n)
					}
				}
			case *ast.RangeStmt:
				if t, ok := c.pass.TypesInfo.TypeOf(n.X).Underlying().(*types.Chan); ok && t != nil {
					if obj := chanObj(c.pass, n.X); obj != nil {
						c.recvs[obj] = append(c.recvs[obj], n)
					}
				}
			}
			return true
		})
	}
	// Functions handed to something that runs them in a goroutine of their
	// own also start a goroutine's life: time.AfterFunc's f, and the
	// arguments of this package's launchers (a func parameter the callee
	// runs in a go statement, as nats-server's startGoRoutine).
	launch := c.launchers()
	for _, f := range c.pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			callee := calleeFunc(c.pass, call)
			if callee == nil || callee.Pkg() == nil {
				return true
			}
			var args []int
			if callee.Pkg().Path() == "time" && callee.Name() == "AfterFunc" {
				args = []int{1}
			} else {
				args = launch[callee]
			}
			for _, i := range args {
				if i >= len(call.Args) {
					continue
				}
				if fn := funcValue(c.pass, call.Args[i]); fn != nil {
					inGo[fn]++
					c.handed[fn]++
				} else if lit, ok := ast.Unparen(call.Args[i]).(*ast.FuncLit); ok {
					c.handedLit[lit] = true
				}
			}
			return true
		})
	}
	for fn, n := range inGo {
		if refs[fn] == n {
			c.goOnly[fn] = true
		}
	}
	c.refs = refs
}

// The function a func-valued expression names (f, pkg.F, x.Method), or nil.
func funcValue(pass *analysis.Pass, e ast.Expr) *types.Func {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		fn, _ := pass.TypesInfo.Uses[e].(*types.Func)
		return fn
	case *ast.SelectorExpr:
		fn, _ := pass.TypesInfo.Uses[e.Sel].(*types.Func)
		return fn
	}
	return nil
}

// This package's launchers: for each function, the indexes of the func
// parameters it calls inside a go statement (go f(), or go func() { f() }()).
func (c *checker) launchers() map[*types.Func][]int {
	out := map[*types.Func][]int{}
	for fn, decl := range c.funcs {
		if decl.Body == nil {
			continue
		}
		sig := fn.Type().(*types.Signature)
		params := map[types.Object]int{}
		for i := 0; i < sig.Params().Len(); i++ {
			if _, ok := sig.Params().At(i).Type().Underlying().(*types.Signature); ok {
				params[sig.Params().At(i)] = i
			}
		}
		if len(params) == 0 {
			continue
		}
		seen := map[int]bool{}
		ast.Inspect(decl.Body, func(n ast.Node) bool {
			g, ok := n.(*ast.GoStmt)
			if !ok {
				return true
			}
			ast.Inspect(g.Call, func(m ast.Node) bool {
				call, ok := m.(*ast.CallExpr)
				if !ok {
					return true
				}
				if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
					if i, ok := params[c.pass.TypesInfo.Uses[id]]; ok && !seen[i] {
						seen[i] = true
						out[fn] = append(out[fn], i)
					}
				}
				return true
			})
			return false
		})
	}
	return out
}

// The variable or field a channel expression names (ch, s.ch, pkg.ch).
func chanObj(pass *analysis.Pass, e ast.Expr) types.Object {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return pass.TypesInfo.Uses[e]
	case *ast.SelectorExpr:
		return pass.TypesInfo.Uses[e.Sel]
	}
	return nil
}

func calleeFunc(pass *analysis.Pass, call *ast.CallExpr) *types.Func {
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := pass.TypesInfo.Uses[id].(*types.Func)
	return fn
}

func isPprof(pass *analysis.Pass, call *ast.CallExpr, name string) bool {
	fn := calleeFunc(pass, call)
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == pprofPath && fn.Name() == name &&
		fn.Type().(*types.Signature).Recv() == nil
}

// The innermost function (FuncDecl or FuncLit) around n.
func (c *checker) enclosingFunc(n ast.Node) ast.Node {
	for p := c.parents[n]; p != nil; p = c.parents[p] {
		switch p.(type) {
		case *ast.FuncDecl, *ast.FuncLit:
			return p
		}
	}
	return nil
}

// Does the body of fn call pprof.Do or SetGoroutineLabels?
func (c *checker) appliesLabels(fn ast.Node) bool {
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok &&
			(isPprof(c.pass, call, "Do") || isPprof(c.pass, call, "SetGoroutineLabels")) {
			found = true
		}
		return !found
	})
	return found
}

// ---- pprof.Labels: odd arguments, keys, cardinality ----

func (c *checker) checkLabels(call *ast.CallExpr) {
	if call.Ellipsis.IsValid() {
		return // Labels(kv...): the slice is built elsewhere
	}
	if len(call.Args)%2 != 0 {
		c.pass.Reportf(call.Pos(), "pprof.Labels with an odd number of arguments (%d) panics at run time: pass key, value pairs", len(call.Args))
		return
	}
	for i := 0; i+1 < len(call.Args); i += 2 {
		k, v := call.Args[i], call.Args[i+1]
		tv := c.pass.TypesInfo.Types[k]
		if tv.Value == nil || tv.Value.Kind() != constant.String {
			c.pass.Reportf(k.Pos(), "label key %s is not a constant: keys must be a small fixed set (profile stores index them)", render(k))
			continue
		}
		key := constant.StringVal(tv.Value)
		if key == exemptKey {
			continue
		}
		if why := c.highCard(key, v); why != "" {
			c.pass.Reportf(v.Pos(), "label %q takes its value from %s: one label value per request or instant makes profiles unaggregatable (use a bounded value, e.g. the route or tenant)", key, why)
		}
	}
}

// Why the value of label key is unbounded, or "".
func (c *checker) highCard(key string, v ast.Expr) string {
	if c.pass.TypesInfo.Types[v].Value != nil {
		return "" // a constant value is bounded whatever the key says
	}
	if highCardName(key) {
		return "a per-request quantity (key " + key + ")"
	}
	why := ""
	ast.Inspect(v, func(n ast.Node) bool {
		if why != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if fn := calleeFunc(c.pass, n); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "time" &&
				(fn.Name() == "Now" || fn.Name() == "Since" || fn.Name() == "Unix") {
				why = "the time (time." + fn.Name() + ")"
			}
		case *ast.Ident:
			if obj := c.pass.TypesInfo.Uses[n]; obj != nil {
				if isTime(obj.Type()) {
					why = "a time value (" + n.Name + ")"
				} else if _, isVar := obj.(*types.Var); isVar && highCardName(n.Name) {
					why = "an id (" + n.Name + ")"
				}
			}
		}
		return true
	})
	return why
}

func isTime(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "time" && n.Obj().Name() == "Time"
}

// ---- WithLabels never applied ----

func (c *checker) checkWithLabels(call *ast.CallExpr) {
	parent := c.parents[call]
	switch p := parent.(type) {
	case *ast.ExprStmt:
		c.pass.Reportf(call.Pos(), "the context from pprof.WithLabels is discarded: its labels reach no profile (use pprof.Do, or pass it to pprof.SetGoroutineLabels)")
	case *ast.AssignStmt, *ast.ValueSpec:
		var obj types.Object
		if as, ok := p.(*ast.AssignStmt); ok {
			for i, r := range as.Rhs {
				if r == call && i < len(as.Lhs) {
					if id, ok := as.Lhs[i].(*ast.Ident); ok {
						if id.Name == "_" {
							c.pass.Reportf(call.Pos(), "the context from pprof.WithLabels is discarded: its labels reach no profile (use pprof.Do, or pass it to pprof.SetGoroutineLabels)")
							return
						}
						obj = c.pass.TypesInfo.ObjectOf(id)
					}
				}
			}
		} else if vs := p.(*ast.ValueSpec); len(vs.Names) == len(vs.Values) {
			for i, r := range vs.Values {
				if r == call {
					obj = c.pass.TypesInfo.ObjectOf(vs.Names[i])
				}
			}
		}
		if v, ok := obj.(*types.Var); ok && !v.IsField() && v.Parent() != nil && v.Parent() != v.Pkg().Scope() {
			if fn := c.enclosingFunc(call); fn != nil && !c.ctxMayApply(fn, v) {
				c.pass.Reportf(call.Pos(), "the context from pprof.WithLabels (%s) is never applied: without pprof.SetGoroutineLabels or pprof.Do its labels reach no profile", v.Name())
			}
		}
	}
}

// Calls that take a context and cannot apply its labels to the goroutine.
func neverApplies(fn *types.Func) bool {
	if fn.Pkg() == nil {
		return false
	}
	switch fn.Pkg().Path() {
	case "context":
		return true
	case pprofPath:
		return fn.Name() == "WithLabels" || fn.Name() == "Label" || fn.Name() == "ForLabels"
	}
	return false
}

// Can the labels in v reach the goroutine?  Yes when v goes to Do or
// SetGoroutineLabels, or escapes where we cannot follow (returned,
// stored, sent, captured by a closure we do not see called, passed to a
// function of another package or one that applies labels).
func (c *checker) ctxMayApply(fn ast.Node, v *types.Var) bool {
	may := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if may {
			return false
		}
		id, ok := n.(*ast.Ident)
		if !ok || c.pass.TypesInfo.Uses[id] != v {
			return true
		}
		p := c.parents[id]
		call, ok := p.(*ast.CallExpr)
		if !ok || call.Fun == id {
			// anything but a call argument: assignment to another
			// variable, return, composite literal, send, closure ...
			if as, ok := p.(*ast.AssignStmt); ok && isLhs(as, id) {
				return true // being assigned, not used
			}
			if _, ok := p.(*ast.SelectorExpr); ok {
				return true // v.Value(...), v.Done(): reading it
			}
			may = true
			return false
		}
		callee := calleeFunc(c.pass, call)
		switch {
		case isPprof(c.pass, call, "Do"), isPprof(c.pass, call, "SetGoroutineLabels"):
			may = true
		case callee == nil:
			may = true // a func value: unknown
		case neverApplies(callee):
		case callee.Pkg() != c.pass.Pkg:
			may = true
		default:
			decl := c.funcs[callee]
			if decl == nil || c.appliesLabels(decl) {
				may = true
			}
		}
		return !may
	})
	return may
}

func isLhs(as *ast.AssignStmt, id *ast.Ident) bool {
	for _, l := range as.Lhs {
		if l == id {
			return true
		}
	}
	return false
}

// ---- SetGoroutineLabels left set ----

func (c *checker) checkSet(call *ast.CallExpr) {
	if _, ok := c.parents[call].(*ast.DeferStmt); ok {
		return // the restore itself
	}
	fn := c.enclosingFunc(call)
	if fn == nil || c.setBefore(fn, call) {
		return // no function, or this call undoes an earlier one
	}
	// a loop between the call and its function: the next iteration and
	// whatever follows the loop run with these labels
	for p := c.parents[call]; p != nil && p != fn; p = c.parents[p] {
		switch p.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			if !c.restoredAfter(p, call) {
				c.pass.Reportf(call.Pos(), "pprof.SetGoroutineLabels inside a loop is not undone: later iterations and the code after the loop run with these labels (use pprof.Do around the iteration's work)")
			}
			return
		}
	}
	if c.restoredAfter(fn, call) || c.goroutineEntry(fn, 0) {
		return
	}
	if len(call.Args) != 1 || !c.builtHere(fn, call.Args[0]) {
		return // applies a context made elsewhere: a restore, or the caller's choice
	}
	if id, ok := ast.Unparen(call.Args[0]).(*ast.Ident); ok && c.returned(fn, id) {
		return // handed back to the caller, who owns undoing it (span-style Start/End)
	}
	c.pass.Reportf(call.Pos(), "pprof.SetGoroutineLabels is not undone before the function returns: the caller's later work on this goroutine carries these labels (use pprof.Do, or defer pprof.SetGoroutineLabels(the previous context))")
}

// Is there a deferred SetGoroutineLabels in scope, or a later one, after call?
func (c *checker) restoredAfter(scope ast.Node, call *ast.CallExpr) bool {
	found := false
	ast.Inspect(scope, func(n ast.Node) bool {
		if found {
			return false
		}
		if lit, ok := n.(*ast.FuncLit); ok && lit != scope {
			return false // another function's business
		}
		if other, ok := n.(*ast.CallExpr); ok && other != call && isPprof(c.pass, other, "SetGoroutineLabels") {
			if _, deferred := c.parents[other].(*ast.DeferStmt); deferred || other.Pos() > call.Pos() {
				found = true
			}
		}
		return true
	})
	return found
}

// Is there a SetGoroutineLabels earlier in fn than call (so call restores)?
func (c *checker) setBefore(fn ast.Node, call *ast.CallExpr) bool {
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if found {
			return false
		}
		if lit, ok := n.(*ast.FuncLit); ok && lit != fn {
			return false
		}
		if other, ok := n.(*ast.CallExpr); ok && other.Pos() < call.Pos() && isPprof(c.pass, other, "SetGoroutineLabels") {
			if _, deferred := c.parents[other].(*ast.DeferStmt); !deferred {
				found = true
			}
		}
		return true
	})
	return found
}

// Is ctx (an argument of SetGoroutineLabels) a context with labels added
// in fn: a pprof.WithLabels call, or a local variable assigned one?
func (c *checker) builtHere(fn ast.Node, ctx ast.Expr) bool {
	switch e := ast.Unparen(ctx).(type) {
	case *ast.CallExpr:
		return isPprof(c.pass, e, "WithLabels")
	case *ast.Ident:
		v := c.pass.TypesInfo.Uses[e]
		found := false
		ast.Inspect(fn, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if found || !ok {
				return !found
			}
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && i < len(as.Rhs) && c.pass.TypesInfo.ObjectOf(id) == v {
					if call, ok := ast.Unparen(as.Rhs[i]).(*ast.CallExpr); ok && isPprof(c.pass, call, "WithLabels") {
						found = true
					}
				}
			}
			return true
		})
		return found
	}
	return false
}

// Does fn return the variable id names?
func (c *checker) returned(fn ast.Node, id *ast.Ident) bool {
	v := c.pass.TypesInfo.Uses[id]
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok && lit != fn {
			return false
		}
		if r, ok := n.(*ast.ReturnStmt); ok {
			for _, e := range r.Results {
				if rid, ok := ast.Unparen(e).(*ast.Ident); ok && c.pass.TypesInfo.Uses[rid] == v {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// Is n inside a for or range loop of fn?
func (c *checker) inLoop(n, fn ast.Node) bool {
	for p := c.parents[n]; p != nil && p != fn; p = c.parents[p] {
		switch p.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			return true
		}
	}
	return false
}

// Does fn start a goroutine's life (so nobody runs after it returns but the
// goroutine's own work)?  A function is one when it is a func literal or a
// function only ever started by go statements, or a helper only ever
// called (outside loops) by such functions, up to a few calls deep.
func (c *checker) goroutineEntry(fn ast.Node, depth int) bool {
	switch fn := fn.(type) {
	case *ast.FuncLit:
		if c.handedLit[fn] {
			return true
		}
		call, ok := c.parents[fn].(*ast.CallExpr)
		if !ok || call.Fun != fn {
			return false
		}
		_, ok = c.parents[call].(*ast.GoStmt)
		return ok
	case *ast.FuncDecl:
		obj, _ := c.pass.TypesInfo.Defs[fn.Name].(*types.Func)
		if obj == nil {
			return false
		}
		if obj.Name() == "main" && obj.Pkg().Name() == "main" && fn.Recv == nil {
			return true
		}
		if c.goOnly[obj] {
			return true
		}
		// every reference is a go statement, a hand-over to a goroutine
		// starter, or a call (outside loops) from a goroutine entry
		calls := c.callers[obj]
		if depth >= 3 || len(calls) == 0 || len(calls)+c.handed[obj] != c.refs[obj] {
			return false
		}
		for _, call := range calls {
			if _, ok := c.parents[call].(*ast.GoStmt); ok {
				continue
			}
			encl := c.enclosingFunc(call)
			if encl == nil || encl == ast.Node(fn) || c.inLoop(call, encl) || !c.goroutineEntry(encl, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// ---- labelled work handed to other goroutines ----

// A labelled region: the body of a func literal given to pprof.Do, or what
// follows SetGoroutineLabels in its block.
type region struct {
	node  ast.Node // the FuncLit, or the block
	after token.Pos
}

func (c *checker) checkRegions() {
	for _, f := range c.pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if isPprof(c.pass, call, "Do") && len(call.Args) == 3 {
				if lit, ok := ast.Unparen(call.Args[2]).(*ast.FuncLit); ok {
					c.scanRegion(region{lit, lit.Pos()})
				}
			}
			if isPprof(c.pass, call, "SetGoroutineLabels") {
				if st, ok := c.parents[call].(*ast.ExprStmt); ok {
					if blk, ok := c.parents[st].(*ast.BlockStmt); ok {
						c.scanRegion(region{blk, call.End()})
					}
				}
			}
			return true
		})
	}
}

func (c *checker) scanRegion(r region) {
	ast.Inspect(r.node, func(n ast.Node) bool {
		if n == nil || n.Pos() < r.after {
			return true
		}
		switch n := n.(type) {
		case *ast.GoStmt:
			return false // a goroutine created here inherits the labels
		case *ast.FuncLit:
			if n != r.node {
				// a closure may run anywhere; its sends are judged only if
				// it is called right here
				if call, ok := c.parents[n].(*ast.CallExpr); !ok || call.Fun != n {
					return false
				}
			}
		case *ast.CallExpr:
			if isPprof(c.pass, n, "Do") && n.Pos() > r.after && r.node != n {
				// a nested Do is a region of its own (scanned separately)
				return false
			}
			c.checkPoolCall(n)
		case *ast.SendStmt:
			c.checkSend(r, n)
		}
		return true
	})
}

func (c *checker) checkPoolCall(call *ast.CallExpr) {
	fn := calleeFunc(c.pass, call)
	if fn == nil || fn.Pkg() == nil {
		return
	}
	name := fn.Pkg().Path() + "."
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			name += n.Obj().Name() + "."
		}
	}
	name += fn.Name()
	i, ok := poolAPIs[name]
	if !ok || i >= len(call.Args) {
		return
	}
	short := fn.Pkg().Name() + name[len(fn.Pkg().Path()):]
	c.pass.Reportf(call.Args[i].Pos(), "labelled work handed to %s runs on a goroutine that does not carry this goroutine's labels (wrap the work in pprof.Do with the labelled context inside the func)", short)
}

// Does v carry work or labels: a func value, a context, or a struct with one?
func carriesWork(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Signature:
		return "a func value"
	case *types.Interface:
		if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context" {
			return "a context"
		}
	case *types.Pointer:
		return carriesWork(u.Elem())
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if w := carriesWork(u.Field(i).Type()); w != "" && !strings.Contains(w, "holding") {
				return "a value holding " + w
			}
		}
	}
	return ""
}

func (c *checker) checkSend(r region, s *ast.SendStmt) {
	what := carriesWork(c.pass.TypesInfo.TypeOf(s.Value))
	if what == "" {
		return
	}
	obj := chanObj(c.pass, s.Chan)
	recvs := c.recvs[obj]
	if obj == nil || len(recvs) == 0 {
		return // the receiver is out of sight: say nothing
	}
	for _, rv := range recvs {
		if rv.Pos() >= r.node.Pos() && rv.End() <= r.node.End() {
			return // received inside the region: by a goroutine started in it
		}
		fn := c.enclosingFunc(rv)
		if fn == nil || c.appliesLabels(fn) {
			return
		}
	}
	c.pass.Reportf(s.Arrow, "labelled work (%s) sent on %s from inside a labelled region: the receiving goroutine never applies the labels, so the work runs unlabelled (receive a context and run the work in pprof.Do on the receiving side)", what, obj.Name())
}

func render(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return render(e.X) + "." + e.Sel.Name
	case *ast.CallExpr:
		return render(e.Fun) + "(...)"
	}
	return "expression"
}
