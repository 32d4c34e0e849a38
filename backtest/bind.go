package backtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// Binding says which column feeds a field, and why.
type Binding struct {
	Field  string `json:"field"`
	Type   string `json:"type"`
	Column string `json:"column,omitempty"` // "" when no column feeds the field
	By     string `json:"by,omitempty"`     // "mapping" (file or --map) or "name"
}

// Binder turns records into engine inputs for one ruleset. It is safe for
// concurrent use once built.
type Binder struct {
	rs       *rules.Ruleset
	Bindings []Binding // one per declared field, in the ruleset's field order
	cols     []string  // column per field, "" when unbound
	missing  map[string]bool
	id       string
}

// NewBinder binds every declared field of rs to a column: the mapping's
// choice, else the column named like the field (see Mapping). columns are
// the source's columns; when complete is false (JSONL) a mapping may name
// columns not seen yet, and fields also read "lead.key" or "key" keys. The
// error lists every mapping problem, each pointing into the mapping file
// when it came from one.
func NewBinder(rs *rules.Ruleset, columns []string, complete bool, m *Mapping) (*Binder, error) {
	if m == nil {
		m = &Mapping{}
	}
	b := &Binder{rs: rs, missing: map[string]bool{}, id: m.ID}
	missing := m.Missing
	if missing == nil {
		missing = []string{""}
	}
	for _, v := range missing {
		b.missing[strings.TrimSpace(v)] = true
	}
	have := map[string]bool{}
	for _, c := range columns {
		have[c] = true
	}
	var errs rules.ErrorList
	fieldNames := make([]string, len(rs.Fields))
	for i, f := range rs.Fields {
		fieldNames[i] = f.Name
	}
	for _, name := range slices.Sorted(maps.Keys(m.Fields)) {
		col := m.Fields[name]
		p := m.Pos[name]
		if p.File == "" {
			p = rules.Pos{File: "--map " + name + "=" + col}
		}
		if rs.Field(name) == nil {
			errs = append(errs, &rules.Error{Pos: p, Code: "unknown-field",
				Msg: fmt.Sprintf("%s is not a field of ruleset %s%s", name, rs.Name, rulefile.DidYouMean(name, fieldNames))})
			continue
		}
		if complete && !have[col] {
			errs = append(errs, &rules.Error{Pos: p, Code: "unknown-column",
				Msg: fmt.Sprintf("%s: no column %q in the data%s", name, col, rulefile.DidYouMean(col, columns))})
		}
	}
	if m.ID != "" && complete && !have[m.ID] {
		errs = append(errs, &rules.Error{Pos: rules.Pos{File: "id"}, Code: "unknown-column",
			Msg: fmt.Sprintf("no id column %q in the data%s", m.ID, rulefile.DidYouMean(m.ID, columns))})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	byNorm := map[string]string{}
	for _, c := range columns {
		if _, dup := byNorm[Normalise(c)]; !dup {
			byNorm[Normalise(c)] = c
		}
	}
	for _, f := range rs.Fields {
		bd := Binding{Field: f.Name, Type: f.Type.String()}
		switch col, ok := m.Fields[f.Name]; {
		case ok:
			bd.Column, bd.By = col, "mapping"
		case have[f.Name]:
			bd.Column, bd.By = f.Name, "name"
		case byNorm[f.Key] != "":
			bd.Column, bd.By = byNorm[f.Key], "name"
		case byNorm[Normalise(f.Name)] != "":
			bd.Column, bd.By = byNorm[Normalise(f.Name)], "name"
		case !complete:
			bd.Column, bd.By = f.Name, "name" // JSONL rows may hold it later
		}
		b.Bindings = append(b.Bindings, bd)
		b.cols = append(b.cols, bd.Column)
	}
	return b, nil
}

// Unbound returns the fields no column feeds: rules reading them never fire.
func (b *Binder) Unbound() []string {
	var out []string
	for _, bd := range b.Bindings {
		if bd.Column == "" {
			out = append(out, bd.Field)
		}
	}
	return out
}

// Missing reports whether a value means "no data" under the mapping.
func (b *Binder) Missing(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && b.missing[strings.TrimSpace(s)]
}

// Input builds the engine input for one record: each bound field gets its
// column's value unless the value means "no data", in which case the field
// is absent (unknown). Types are left to the engine's lenient conversion.
func (b *Binder) Input(rec Record) engine.Input {
	in := engine.Input{Lead: make(map[string]any, len(b.cols))}
	for i, f := range b.rs.Fields {
		col := b.cols[i]
		if col == "" {
			continue
		}
		v, ok := rec.Get(col)
		if !ok && rec.Keyed() && col == f.Name {
			v, ok = rec.Get(f.Key) // JSONL: a bare lead object
		}
		if !ok || b.Missing(v) {
			continue
		}
		if f.Namespace == "account" {
			if in.Account == nil {
				in.Account = map[string]any{}
			}
			in.Account[f.Key] = v
		} else {
			in.Lead[f.Key] = v
		}
	}
	if b.id != "" {
		in.ID = rec.Text(b.id)
	}
	return in
}
