package compiler

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// macro is a macro during compilation.
type macro struct {
	decl   *rulefile.MacroDecl
	file   *rulefile.File
	broken bool
}

// builder compiles the files of one ruleset.
type builder struct {
	files      []*rulefile.File
	errs       rulefile.ErrorList
	fields     map[string]*eval.Field
	fieldNames []string
	lists      map[string]*rulefile.ListDecl
	macros     map[string]*macro
	usedFields map[string]bool
	usedLists  map[string]bool
	usedMacros map[string]bool
	ruleByID   map[string]*eval.Rule
	ex         *exprCompiler
}

func (c *builder) errorf(pos rulefile.Pos, code, format string, args ...any) {
	c.errs = append(c.errs, &rulefile.Error{Pos: pos, Code: code, Msg: fmt.Sprintf(format, args...)})
}

func (c *builder) warnf(pos rulefile.Pos, code, format string, args ...any) {
	c.errs = append(c.errs, &rulefile.Error{Pos: pos, Severity: rulefile.SeverityWarning, Code: code, Msg: fmt.Sprintf(format, args...)})
}

// CompileAll groups files by their ruleset: name and compiles each group.
// The rulesets come back sorted by name. The error, when not nil, is an
// ErrorList holding every error (and warning) of every ruleset; the
// rulesets that did compile are returned all the same. A ruleset with a
// file that is not YAML (File.NotYAML) is left out without an error of its
// own: Parse reported the file's, and the other files, without it, would
// only add the echoes of its absence.
func CompileAll(files ...*rulefile.File) ([]*eval.Ruleset, error) {
	return Compiler{}.CompileAll(files...)
}

// CompileAll is the package's CompileAll with the compiler's cache.
func (cc Compiler) CompileAll(files ...*rulefile.File) ([]*eval.Ruleset, error) {
	byName := map[string][]*rulefile.File{}
	for _, f := range files {
		byName[f.Ruleset.Value] = append(byName[f.Ruleset.Value], f)
	}
	var out []*eval.Ruleset
	var all rulefile.ErrorList
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if name == "" || slices.ContainsFunc(byName[name], (*rulefile.File).NotYAML) {
			continue // reported by Parse
		}
		rs, err := cc.Compile(byName[name]...)
		if err != nil {
			all = append(all, err.(rulefile.ErrorList)...)
			continue
		}
		out = append(out, rs)
	}
	if len(all.Errors()) > 0 {
		all.Sort()
		return out, all
	}
	return out, nil
}

// Compile merges the files of one ruleset, checks them and compiles every
// expression. On error it returns an ErrorList with every error and warning
// found; otherwise the warnings are in Ruleset.Warnings.
func Compile(files ...*rulefile.File) (*eval.Ruleset, error) {
	return Compiler{}.Compile(files...)
}

// Compiler compiles rule files, reusing the conditions it compiled before
// when a Cache is set. The zero Compiler compiles everything afresh.
type Compiler struct {
	Cache ConditionCache
	// VMOnly compiles every condition for expr's VM alone, without the
	// native closures: the reference the native path is held to, for
	// tests that compare the two.
	VMOnly bool
}

// Compile is the package's Compile with the compiler's cache.
func (cc Compiler) Compile(files ...*rulefile.File) (*eval.Ruleset, error) {
	if len(files) == 0 {
		return nil, rulefile.ErrorList{{Code: "missing-key", Msg: "no rule files"}}
	}
	for _, f := range files {
		if f.NotYAML() {
			return nil, rulefile.ErrorList{{Pos: rulefile.Pos{File: f.Name}, Code: "yaml-syntax", Msg: "not valid YAML (Parse reported where)"}}
		}
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b *rulefile.File) int { return cmp.Compare(a.Name, b.Name) })
	c := &builder{
		files:      files,
		fields:     map[string]*eval.Field{},
		lists:      map[string]*rulefile.ListDecl{},
		macros:     map[string]*macro{},
		usedFields: map[string]bool{},
		usedLists:  map[string]bool{},
		usedMacros: map[string]bool{},
		ruleByID:   map[string]*eval.Rule{},
	}
	c.ex = &exprCompiler{c: c, cache: cc.Cache, vmOnly: cc.VMOnly}
	rs := &eval.Ruleset{Name: files[0].Ruleset.Value, Groups: map[string]eval.Group{}}
	for _, f := range files {
		if f.Ruleset.Value != rs.Name {
			c.errorf(f.Ruleset.Pos, "ruleset-conflict", "file belongs to ruleset %q, not %q", f.Ruleset.Value, rs.Name)
		}
		rs.Files = append(rs.Files, f.Name)
		rs.Sources = append(rs.Sources, f.Src)
	}
	rs.Version = version(files)
	c.declare(rs)
	if cc.Cache != nil {
		c.ex.envSig = c.envSignature()
	}
	c.compileMacros()
	c.compileRules(rs)
	indexRules(rs)
	c.compileTiers(rs)
	c.checkTests(rs)
	if len(c.errs) == 0 {
		// Unused names are often the echo of an error (a misspelt field
		// leaves the real one unused), so lint only clean rulesets.
		c.lint()
	}
	c.errs.Sort()
	if len(c.errs.Errors()) > 0 {
		return nil, c.errs
	}
	rs.Warnings = c.errs
	rs.Index()
	return rs, nil
}

// version hashes the sorted base names and contents, so that the same rules
// have the same version wherever they are checked out.
func version(files []*rulefile.File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", path.Base(filepath.ToSlash(f.Name)), len(f.Src))
		h.Write(f.Src)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// declare collects fields, lists, macros and groups from every file,
// reporting names declared twice.
func (c *builder) declare(rs *eval.Ruleset) {
	seenList, seenMacro := map[string]rulefile.Pos{}, map[string]rulefile.Pos{}
	var fields []*eval.Field
	for _, f := range c.files {
		if f.Description.Value != "" {
			if rs.Description != "" {
				c.errorf(f.Description.Pos, "ruleset-conflict", "ruleset %q: description given in two files (keep one)", rs.Name)
			}
			rs.Description = f.Description.Value
		}
		for _, d := range f.Fields {
			if prev := c.fields[d.Name]; prev != nil {
				c.errorf(d.Pos, "duplicate-id", "field %s declared twice (first at %s)", d.Name, prev.Pos)
				continue
			}
			ns, key, _ := strings.Cut(d.Name, ".")
			fd := &eval.Field{Name: d.Name, Namespace: ns, Key: key, Type: d.Type, Pos: d.Pos, Label: d.Label, Unit: d.Unit}
			c.fields[d.Name] = fd
			fields = append(fields, fd)
		}
		for _, l := range f.Lists {
			if prev, dup := seenList[l.Name]; dup {
				c.errorf(l.Pos, "duplicate-id", "list %q defined twice (first at %s)", l.Name, prev)
				continue
			}
			seenList[l.Name] = l.Pos
			c.lists[l.Name] = l
		}
		for _, m := range f.Macros {
			if prev, dup := seenMacro[m.Name]; dup {
				c.errorf(m.Pos, "duplicate-id", "macro %q defined twice (first at %s)", m.Name, prev)
				continue
			}
			if prev, clash := seenList[m.Name]; clash {
				c.errorf(m.Pos, "duplicate-id", "macro %q has the name of a list (at %s); rename one", m.Name, prev)
				continue
			}
			seenMacro[m.Name] = m.Pos
			c.macros[m.Name] = &macro{decl: m, file: f}
		}
		for _, g := range f.Groups {
			if _, dup := rs.Groups[g.Name]; dup {
				c.errorf(g.Pos, "duplicate-id", "group %q capped twice", g.Name)
				continue
			}
			rs.Groups[g.Name] = eval.Group{Min: g.Min, Max: g.Max}
		}
	}
	slices.SortFunc(fields, func(a, b *eval.Field) int { return cmp.Compare(a.Name, b.Name) })
	var slots [rulefile.NumTypes]int // fields of each type so far
	for i, fd := range fields {
		fd.Index = i
		fd.Slot = slots[fd.Type]
		slots[fd.Type]++
		c.fieldNames = append(c.fieldNames, fd.Name)
	}
	rs.Fields = fields
}

func sortFields(fs []*eval.Field) {
	slices.SortFunc(fs, func(a, b *eval.Field) int { return cmp.Compare(a.Index, b.Index) })
}

// compileMacros checks every macro once, in dependency order, so that a
// broken macro is reported where it is defined and not at each use.
func (c *builder) compileMacros() {
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(name string, stack []string)
	visit = func(name string, stack []string) {
		m := c.macros[name]
		switch state[name] {
		case 2:
			return
		case 1:
			cycle := append(stack[slices.Index(stack, name):], name)
			c.errorf(m.decl.Pos, "macro-cycle", "macro %q uses itself: %s", name, strings.Join(cycle, " -> "))
			for _, n := range cycle {
				c.macros[n].broken = true
			}
			return
		}
		state[name] = 1
		for _, dep := range c.macroDeps(m) {
			visit(dep, append(stack, name))
		}
		state[name] = 2
		if m.broken {
			return
		}
		src := exprSource{file: m.file, text: m.decl.Expr, subject: fmt.Sprintf("macro %q", name)}
		n := len(c.errs)
		if c.ex.compile(src) == nil {
			m.broken = true
			if len(c.errs) == n { // failed only because a macro it uses is broken
				return
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.macros)) {
		visit(name, nil)
	}
}

func (c *builder) macroDeps(m *macro) []string {
	var deps []string
	if tree, err := parseExpr(m.decl.Expr.Value); err == nil {
		walk(tree, func(n ast.Node) bool {
			if id, ok := identName(n); ok && c.macros[id] != nil && !slices.Contains(deps, id) {
				deps = append(deps, id)
			}
			return true
		})
	}
	sort.Strings(deps)
	return deps
}

func (c *builder) compileRules(rs *eval.Ruleset) {
	first := map[string]rulefile.Pos{}
	for _, f := range c.files {
		for _, list := range [][]*rulefile.RuleDecl{f.Knockouts, f.Score} {
			for _, d := range list {
				kind := "score rule"
				if d.Knockout {
					kind = "knockout"
				}
				subject := fmt.Sprintf("%s %q", kind, d.ID)
				if d.ID != "" {
					if prev, dup := first[d.ID]; dup {
						c.errorf(d.Pos, "duplicate-id", "%s: id used twice (first at %s); ids must be unique across knockouts and score rules", subject, prev)
						// Still compile it below, to report its other problems.
						d = &rulefile.RuleDecl{Knockout: d.Knockout, When: d.When, Reason: d.Reason, ItemPos: d.ItemPos}
					} else {
						first[d.ID] = d.Pos
					}
				}
				r := &eval.Rule{ID: d.ID, Knockout: d.Knockout, Group: d.Group, Points: d.Points, Description: d.Description, Pos: d.Pos}
				if r.Pos.Line == 0 {
					r.Pos = d.ItemPos
				}
				if d.When.Pos.Line != 0 {
					r.When = c.ex.compile(exprSource{file: f, text: d.When, subject: subject + ": when"})
				}
				if d.Reason != nil {
					r.Reason = c.compileTemplate(f, *d.Reason, subject+": reason")
				}
				if d.ID == "" {
					continue
				}
				c.ruleByID[r.ID] = r
				if r.Knockout {
					rs.Knockouts = append(rs.Knockouts, r)
				} else {
					rs.Rules = append(rs.Rules, r)
				}
			}
		}
	}
}

func (c *builder) compileTiers(rs *eval.Ruleset) {
	var tiersFile, qualifyFile *rulefile.File
	for _, f := range c.files {
		if len(f.Tiers) > 0 || f.TiersPos.Line != 0 {
			if tiersFile != nil {
				c.errorf(f.TiersPos, "ruleset-conflict", "ruleset %q: tiers given in two files (first in %s)", rs.Name, tiersFile.Name)
				continue
			}
			tiersFile = f
		}
		if f.Qualify != nil {
			if qualifyFile != nil {
				c.errorf(f.Qualify.Pos, "ruleset-conflict", "ruleset %q: qualify given in two files (first in %s)", rs.Name, qualifyFile.Name)
				continue
			}
			qualifyFile = f
		}
	}
	if tiersFile == nil || len(tiersFile.Tiers) == 0 {
		f := c.files[0]
		c.errorf(f.Ruleset.Pos, "bad-tiers", "ruleset %q has no tiers (add tiers: - {name: A, min: 70} ... - {name: D})", rs.Name)
		return
	}
	seen := map[string]bool{}
	for i, t := range tiersFile.Tiers {
		last := i == len(tiersFile.Tiers)-1
		switch {
		case seen[t.Name]:
			c.errorf(t.Pos, "duplicate-id", "tier %q listed twice", t.Name)
		case t.Min == nil && !last:
			c.errorf(t.Pos, "bad-tiers", "tier %q has no min: but is not the last tier (only the last, catch-all tier may omit min)", t.Name)
		case t.Min != nil && last:
			c.errorf(t.Pos, "bad-tiers", "last tier %q has min: %d (leave min off the last tier so that every score gets a tier)", t.Name, *t.Min)
		case i > 0 && t.Min != nil && rs.Tiers[i-1].Min != nil && *t.Min >= *rs.Tiers[i-1].Min:
			c.errorf(t.Pos, "bad-tiers", "tier %q has min %d, not below the tier above it (%d); tiers go from the highest score down", t.Name, *t.Min, *rs.Tiers[i-1].Min)
		}
		seen[t.Name] = true
		rs.Tiers = append(rs.Tiers, eval.Tier{Name: t.Name, Min: t.Min, Expect: t.Expect})
	}
	if qualifyFile != nil {
		q := *qualifyFile.Qualify
		rs.Qualify = c.ex.compile(exprSource{file: qualifyFile, text: q, subject: "qualify", kind: envQualify})
		if rs.Qualify != nil {
			c.checkTierNames(qualifyFile, q, rs)
		}
	}
}

// checkTierNames reports tier names in qualify: that no tier has, such as
// tier == "AA".
func (c *builder) checkTierNames(f *rulefile.File, q rulefile.Text, rs *eval.Ruleset) {
	tree, err := parseExpr(q.Value)
	if err != nil {
		return
	}
	names := make([]string, len(rs.Tiers))
	for i, t := range rs.Tiers {
		names[i] = t.Name
	}
	for _, lit := range tierLiterals(tree) {
		if !slices.Contains(names, lit.value) {
			c.ex.errorAt(exprSource{file: f, text: q}, lit.offset, "bad-tiers",
				fmt.Sprintf("qualify: no tier is named %q (tiers are %s)%s", lit.value, strings.Join(names, ", "), rulefile.DidYouMean(lit.value, names)))
		}
	}
}

func (c *builder) checkTests(rs *eval.Ruleset) {
	tiers := map[string]bool{}
	for _, t := range rs.Tiers {
		tiers[t.Name] = true
	}
	for _, f := range c.files {
		for _, tc := range f.Tests {
			subject := fmt.Sprintf("test %q", tc.Name)
			for _, ns := range []string{"lead", "account"} {
				vals, poss := tc.Lead, tc.LeadPos
				if ns == "account" {
					vals, poss = tc.Account, tc.AcctPos
				}
				for _, k := range slices.Sorted(maps.Keys(vals)) {
					if k == "id" || k == "lead_id" {
						continue
					}
					if c.fields[ns+"."+k] == nil {
						c.errorf(poss[k], "bad-test", "%s: %s.%s is not a declared field%s", subject, ns, k, rulefile.DidYouMean(ns+"."+k, c.fieldNames))
					}
				}
			}
			e := tc.Expect
			if e.Tier != nil && len(rs.Tiers) > 0 && !tiers[*e.Tier] {
				c.errorf(e.RefPos["tier:"+*e.Tier], "bad-tiers", "%s: expect: no tier is named %q", subject, *e.Tier)
			}
			check := func(key string, ids []string, knockout bool) {
				for _, id := range ids {
					r := c.ruleByID[id]
					switch {
					case r == nil:
						c.errorf(e.RefPos[key+":"+id], "bad-test", "%s: expect: %s: no rule has id %q%s", subject, key, id, rulefile.DidYouMean(id, slices.Sorted(maps.Keys(c.ruleByID))))
					case r.Knockout != knockout:
						c.errorf(e.RefPos[key+":"+id], "bad-test", "%s: expect: %s: %q is a %s", subject, key, id, map[bool]string{true: "knockout", false: "score rule"}[r.Knockout])
					}
				}
			}
			check("knockouts", e.Knockouts, true)
			check("matched", e.Matched, false)
			check("not_matched", e.NotMatched, false)
			c.checkExpectNames(rs, tc, subject)
			rs.Tests = append(rs.Tests, tc)
		}
	}
}

// lint reports declarations nothing uses. They do not stop compilation.
func (c *builder) lint() {
	for _, name := range slices.Sorted(maps.Keys(c.lists)) {
		if !c.usedLists[name] {
			c.warnf(c.lists[name].Pos, "unused-list", "list %q is never used", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.macros)) {
		if !c.usedMacros[name] && !c.macros[name].broken {
			c.warnf(c.macros[name].decl.Pos, "unused-macro", "macro %q is never used", name)
		}
	}
	for _, name := range c.fieldNames {
		if !c.usedFields[name] {
			c.warnf(c.fields[name].Pos, "unused-field", "field %s is never read by a rule or reason", name)
		}
	}
	c.lintRules() // lint.go: constant conditions, tiers, caps, overlaps
}

// Load parses and compiles every rule file (*.yaml, *.yml) at the top of
// fsys. Files and folders whose names start with a dot are skipped, which
// also keeps Kubernetes ConfigMap volumes (..data, ..2026_...) from being
// read twice. Names in errors are relative to fsys.
func Load(fsys fs.FS) ([]*eval.Ruleset, error) {
	return Compiler{}.Load(fsys)
}

// Load is the package's Load with the compiler's cache.
func (cc Compiler) Load(fsys fs.FS) ([]*eval.Ruleset, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var files []*rulefile.File
	var errs rulefile.ErrorList
	for _, e := range entries {
		if !rulefile.IsRuleFile(e.Name()) {
			continue
		}
		src, err := rulefile.ReadFS(fsys, e.Name(), nil)
		if err != nil {
			errs = append(errs, &rulefile.Error{Pos: rulefile.Pos{File: e.Name()}, Code: "yaml-syntax", Msg: err.Error()})
			continue
		}
		f, err := rulefile.Parse(e.Name(), src)
		if err != nil {
			errs = append(errs, err.(rulefile.ErrorList)...)
		}
		files = append(files, f)
	}
	return cc.compileParsed(files, errs)
}

// LoadPaths parses and compiles the given files and directories (the top of
// each directory, as Load). Names in errors are the paths as given.
func LoadPaths(paths ...string) ([]*eval.Ruleset, error) {
	return Compiler{}.LoadPaths(paths...)
}

// LoadPaths is the package's LoadPaths with the compiler's cache.
func (cc Compiler) LoadPaths(paths ...string) ([]*eval.Ruleset, error) {
	files, errs := rulefile.ParsePaths(paths...)
	return cc.compileParsed(files, errs)
}

func (cc Compiler) compileParsed(files []*rulefile.File, errs rulefile.ErrorList) ([]*eval.Ruleset, error) {
	// A file that is not valid YAML contributes nothing but its error (and,
	// through CompileAll, keeps its ruleset from compiling); the other
	// rulesets are still compiled so that every problem shows at once.
	var ok []*rulefile.File
	for _, f := range files {
		if f.Ruleset.Value != "" || f.NotYAML() {
			ok = append(ok, f)
		}
	}
	rulesets, err := cc.CompileAll(ok...)
	if err != nil {
		errs = append(errs, err.(rulefile.ErrorList)...)
	}
	if len(errs.Errors()) > 0 {
		errs.Sort()
		return rulesets, errs
	}
	// Warnings of the compiled rulesets travel inside each Ruleset.
	return rulesets, nil
}

// indexRules precomputes what evaluation needs per rule: positions, group
// slots, and the order in which missed rules are listed.
func indexRules(rs *eval.Ruleset) {
	seen := map[string]bool{}
	for _, r := range rs.Rules {
		if r.Group != "" && !seen[r.Group] {
			seen[r.Group] = true
			rs.GroupNames = append(rs.GroupNames, r.Group)
		}
	}
	slices.Sort(rs.GroupNames)
	for i, r := range rs.Knockouts {
		r.Index, r.GroupIndex = i, -1
	}
	for i, r := range rs.Rules {
		r.Index = i
		r.GroupIndex = slices.Index(rs.GroupNames, r.Group)
		if r.Points > 0 {
			rs.ByPoints = append(rs.ByPoints, r)
		}
	}
	slices.SortStableFunc(rs.ByPoints, func(a, b *eval.Rule) int { return b.Points - a.Points })
}
