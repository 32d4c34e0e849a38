package arch

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/leadq/leadq"

// layers places every package of the module, by its path in the module:
// a package imports only packages of lower layers, and so do its
// in-package tests. An external test package (x_test) is a client of its
// package like any other and may import what a client would (rules/eval's
// tests compile their conditions through rules).
var layers = map[string]int{
	"internal/arch":      0,
	"internal/pgtest":    0,
	"internal/swar":      0,
	"internal/tabular":   0,
	"internal/testrules": 0,
	"internal/watch":     0,
	"internal/jsonscan":  1, // on swar

	"rules/rulefile": 2, // the file format
	"rules/eval":     3, // the runtime
	"rules/compiler": 4,
	"rules":          5, // the three stages as one API

	"engine":   6,
	"accounts": 6, // the accounts a lead is joined with: an engine option, built beside it

	"decisionlog": 7,
	"backtest":    7,
	"diff":        7,
	"derive":      8, // scores its proposal with backtest

	"server": 9,

	"cmd/leadq":        10,
	"examples/library": 10,
}

// pkg is one directory's Go files, parsed.
type pkg struct {
	rel   string // path in the module
	fset  *token.FileSet
	files []*ast.File // the package's own files, its in-package tests last
	tests []*ast.File // its external tests (package x_test)
	own   int         // files[:own] are not tests
}

// modulePackages parses every package of the module (not the bench module,
// which has its own go.mod, nor testdata).
func modulePackages(t *testing.T) []*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.HasPrefix(string(b), "module "+module+"\n") {
		t.Fatalf("%s is not the root of %s: %v", root, module, err)
	}
	var pkgs []*pkg
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if dir != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && dir != root {
			return filepath.SkipDir // another module
		}
		rel, _ := filepath.Rel(root, dir)
		p := &pkg{rel: filepath.ToSlash(rel), fset: token.NewFileSet()}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var inTests []*ast.File
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			f, err := parser.ParseFile(p.fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			switch {
			case !strings.HasSuffix(e.Name(), "_test.go"):
				p.files = append(p.files, f)
			case strings.HasSuffix(f.Name.Name, "_test"):
				p.tests = append(p.tests, f)
			default:
				inTests = append(inTests, f)
			}
		}
		p.own = len(p.files)
		p.files = append(p.files, inTests...)
		if len(p.files)+len(p.tests) > 0 {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < len(layers)/2 {
		t.Fatalf("found %d packages under %s: the walk is broken", len(pkgs), root)
	}
	return pkgs
}

// TestImportsPointOneWay checks that every package imports only packages of
// the module in lower layers.
func TestImportsPointOneWay(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range modulePackages(t) {
		seen[p.rel] = true
		layer, ok := layers[p.rel]
		if !ok {
			t.Errorf("%s has no layer: add it to layers in internal/arch/arch_test.go, above what it imports", p.rel)
			continue
		}
		for _, f := range p.files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				dep, ok := strings.CutPrefix(path, module+"/")
				if !ok || dep == p.rel {
					continue
				}
				if l, known := layers[dep]; known && l >= layer {
					t.Errorf("%s: %s (layer %d) imports %s (layer %d): imports point down only", p.fset.Position(imp.Pos()), p.rel, layer, dep, l)
				}
			}
		}
	}
	for rel := range layers {
		if !seen[rel] {
			t.Errorf("layers names %s, which is no package of the module any more", rel)
		}
	}
}

// TestNoPackageLevelState checks that no package-level variable of the
// module is state: each is fixed at its declaration (an initialiser, an
// embed directive, or the linker's -X, which its comment must say), is no
// lock, pool, atomic, channel or the like, and is
// never assigned to, incremented, or written through an index or field,
// by its package or its tests or any other package of the module.
func TestNoPackageLevelState(t *testing.T) {
	pkgs := modulePackages(t)
	vars := map[string]map[string]bool{} // package path -> its package-level variables
	type checked struct {
		p     *pkg
		files []*ast.File
		info  *types.Info
	}
	var all []checked
	for _, p := range pkgs {
		path := module + "/" + p.rel
		if p.rel == "." {
			path = module
		}
		vars[path] = map[string]bool{}
		for i, files := range [][]*ast.File{p.files, p.tests} {
			if len(files) == 0 {
				continue
			}
			info := &types.Info{Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
			conf := types.Config{
				Importer:                 emptyImporter{},
				Error:                    func(error) {}, // imports are empty: only this package's own names resolve
				DisableUnusedImportCheck: true,
			}
			checkPath := path
			if i == 1 {
				checkPath += "_test"
			}
			conf.Check(checkPath, p.fset, files, info)
			all = append(all, checked{p, files, info})
			if i == 1 {
				continue // an external test package's own variables are the test's
			}
			for _, f := range files[:p.own] {
				checkDeclarations(t, p.fset, f, vars[path])
			}
		}
	}
	for _, c := range all {
		for _, f := range c.files {
			checkWrites(t, c.p.fset, f, c.info, vars)
		}
	}
}

// emptyImporter gives every import as an empty package: the check needs
// only to know which names are the package's own variables.
type emptyImporter struct{}

func (emptyImporter) Import(p string) (*types.Package, error) {
	name := path.Base(p)
	if i := strings.IndexAny(name, ".-"); i > 0 {
		name = name[:i] // gopkg.in/yaml.v3, golang-lru
	}
	pkg := types.NewPackage(p, name)
	pkg.MarkComplete()
	return pkg, nil
}

// stateTypes are the package-level values that are state whatever is done
// with them, by the package that declares their type.
var stateTypes = map[string]string{
	"sync":        "a lock, pool or once shared by every caller in the process",
	"sync/atomic": "a counter shared by every caller in the process",
}

// lazyValues are sync's functions that make a value once, on first use:
// a package-level variable holding one is fixed (to a function) at its
// declaration, and what it returns is always the same.
var lazyValues = []string{"OnceFunc", "OnceValue", "OnceValues"}

// checkDeclarations reports f's package-level variables that are state by
// their declaration, and records the others in vars.
func checkDeclarations(t *testing.T, fset *token.FileSet, f *ast.File, vars map[string]bool) {
	t.Helper()
	imports := map[string]string{} // the name a file gives an import -> its path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = path
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			fixed := hasDirective(gd.Doc, "//go:embed ") || hasDirective(vs.Doc, "//go:embed ") ||
				hasDirective(gd.Doc, "-ldflags") || hasDirective(vs.Doc, "-ldflags")
			for _, name := range vs.Names {
				if name.Name == "_" {
					continue // a compile-time assertion
				}
				vars[name.Name] = true
				if len(vs.Values) == 0 && !fixed {
					t.Errorf("%s: package-level variable %s has no value of its own: it is state set later; keep it in the value that needs it", fset.Position(name.Pos()), name.Name)
				}
			}
			ast.Inspect(vs, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.SelectorExpr:
					id, ok := x.X.(*ast.Ident)
					if !ok {
						return true
					}
					why, state := stateTypes[imports[id.Name]]
					if state && !slices.Contains(lazyValues, x.Sel.Name) {
						t.Errorf("%s: package-level %s.%s is %s; keep it in the value that needs it", fset.Position(x.Pos()), id.Name, x.Sel.Name, why)
					}
				case *ast.ChanType:
					t.Errorf("%s: a package-level channel is state shared by every caller", fset.Position(x.Pos()))
				}
				return true
			})
		}
	}
}

// hasDirective reports whether doc has a line containing s: a go:embed
// directive, or a comment saying the linker sets the variable (-ldflags
// "-X ..."), which fixes it as firmly as an initialiser.
func hasDirective(doc *ast.CommentGroup, s string) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if strings.Contains(c.Text, s) {
			return true
		}
	}
	return false
}

// checkWrites reports every statement of f that writes to a package-level
// variable of the module: an assignment to it or to an index, field or
// pointer it leads to, an increment, a range loop assigning it, delete,
// clear or copy into it. (A pointer taken into a table, to read an entry
// without copying it, is not followed.)
func checkWrites(t *testing.T, fset *token.FileSet, f *ast.File, info *types.Info, vars map[string]map[string]bool) {
	t.Helper()
	report := func(e ast.Expr, how string) {
		if name, ok := packageVar(e, info, vars); ok {
			t.Errorf("%s: %s %s: package-level variables are fixed at their declaration; pass what changes as a value or an option", fset.Position(e.Pos()), how, name)
		}
	}
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				for _, lhs := range x.Lhs {
					report(lhs, "assigns")
				}
			case *ast.IncDecStmt:
				report(x.X, "increments")
			case *ast.RangeStmt:
				if x.Tok == token.ASSIGN {
					report(x.Key, "assigns")
					if x.Value != nil {
						report(x.Value, "assigns")
					}
				}
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && len(x.Args) > 0 {
					if _, builtin := info.Uses[id].(*types.Builtin); builtin && (id.Name == "delete" || id.Name == "clear" || id.Name == "copy") {
						report(x.Args[0], id.Name+"s into")
					}
				}
			}
			return true
		})
	}
}

// packageVar reports whether e is, or is an element, field or pointee of,
// a package-level variable of the module, and which.
func packageVar(e ast.Expr, info *types.Info, vars map[string]map[string]bool) (string, bool) {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				if pn, ok := info.Uses[id].(*types.PkgName); ok {
					path := pn.Imported().Path()
					return fmt.Sprintf("%s.%s", path, x.Sel.Name), vars[path][x.Sel.Name]
				}
			}
			e = x.X
		case *ast.Ident:
			v, ok := info.Uses[x].(*types.Var)
			if !ok || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
				return "", false
			}
			return v.Pkg().Path() + "." + x.Name, vars[v.Pkg().Path()][x.Name]
		default:
			return "", false
		}
	}
}
