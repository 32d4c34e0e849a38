package backtest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/leadq/leadq/rules/rulefile"
)

// JoinSpec says how to add the columns of a second table to each row.
//
// Without Aggs it is a lookup: the second table has one row per key (an
// accounts table, say) and its other columns are added to every row with
// that key. With Aggs its rows are summarised per key (won revenue per
// account from a deals table, say) and each Agg adds one column. Rows
// without a match get empty values (counts and sums get 0).
type JoinSpec struct {
	On      string   // key column of the rows being read
	OnRight string   // key column of the second table; "" means On
	Where   *RowExpr // only rows of the second table that match, when set
	Aggs    []Agg    // summaries per key; none means lookup
	Name    string   // the second table's name, for messages
	lookup  map[string][]string
	sums    map[string][]aggState
	keyCols []string
}

// Agg is one summary column: Name=Func(Column).
type Agg struct {
	Name   string
	Func   string // count, sum, mean, min or max
	Column string // empty for count
}

var aggRe = regexp.MustCompile(`^\s*([^=]+?)\s*=\s*(count|sum|mean|avg|min|max)\(\s*([^)]*?)\s*\)\s*$`)

// ParseAgg reads NAME=FUNC(COLUMN), such as won_revenue=sum(close_value) or
// deals=count().
func ParseAgg(s string) (Agg, error) {
	m := aggRe.FindStringSubmatch(s)
	if m == nil {
		return Agg{}, fmt.Errorf("%q: expected NAME=FUNC(COLUMN) with FUNC count, sum, mean, min or max, like won_revenue=sum(close_value)", s)
	}
	a := Agg{Name: m[1], Func: m[2], Column: m[3]}
	if a.Func == "avg" {
		a.Func = "mean"
	}
	if a.Func != "count" && a.Column == "" {
		return Agg{}, fmt.Errorf("%q: %s needs a column, like %s(close_value)", s, a.Func, a.Func)
	}
	return a, nil
}

type aggState struct {
	n        int64
	sum      float64
	min, max float64
}

// Load reads the whole second table, keeping what the join adds per key:
// the lookup rows, or one running summary per key and Agg.
func (j *JoinSpec) Load(right Source) error {
	if j.OnRight == "" {
		j.OnRight = j.On
	}
	cols, complete := right.Columns()
	if complete && !contains(cols, j.OnRight) {
		return fmt.Errorf("join %s: no key column %q%s", j.Name, j.OnRight, rulefile.DidYouMean(j.OnRight, cols))
	}
	for _, a := range j.Aggs {
		if a.Column != "" && complete && !contains(cols, a.Column) {
			return fmt.Errorf("join %s: %s=%s(%s): no column %q%s", j.Name, a.Name, a.Func, a.Column, a.Column, rulefile.DidYouMean(a.Column, cols))
		}
	}
	if len(j.Aggs) == 0 {
		if !complete {
			return fmt.Errorf("join %s: a lookup join needs a table with a header (CSV); JSONL tables can be summarised with --join-agg", j.Name)
		}
		for _, c := range cols {
			if c != j.OnRight {
				j.keyCols = append(j.keyCols, c)
			}
		}
		j.lookup = map[string][]string{}
	} else {
		j.sums = map[string][]aggState{}
	}
	firstLine := map[string]int{}
	for {
		rec, err := right.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("join %s: %w", j.Name, err)
		}
		if j.Where != nil {
			if ok, _ := j.Where.Match(rec); !ok {
				continue
			}
		}
		key := strings.TrimSpace(rec.Text(j.OnRight))
		if key == "" {
			continue
		}
		if j.lookup != nil {
			if line, dup := firstLine[key]; dup {
				return fmt.Errorf("join %s: key %q on lines %d and %d (a lookup needs one row per key; summarise with --join-agg)", j.Name, key, line, rec.Line)
			}
			firstLine[key] = rec.Line
			vals := make([]string, len(j.keyCols))
			for i, c := range j.keyCols {
				vals[i] = rec.Text(c)
			}
			j.lookup[key] = vals
			continue
		}
		st := j.sums[key]
		if st == nil {
			st = make([]aggState, len(j.Aggs))
			for i := range st {
				st[i].min, st[i].max = math.Inf(1), math.Inf(-1)
			}
			j.sums[key] = st
		}
		for i, a := range j.Aggs {
			if a.Func == "count" {
				st[i].n++
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(rec.Text(a.Column)), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			st[i].n++
			st[i].sum += f
			st[i].min = math.Min(st[i].min, f)
			st[i].max = math.Max(st[i].max, f)
		}
	}
}

// Wrap returns a source that reads left and adds the joined columns. A
// joined column whose name the left rows already use is renamed
// "NAME (joined)".
func (j *JoinSpec) Wrap(left Source) (Source, error) {
	cols, complete := left.Columns()
	if complete && !contains(cols, j.On) {
		return nil, fmt.Errorf("join %s: no key column %q in the data%s", j.Name, j.On, rulefile.DidYouMean(j.On, cols))
	}
	var names []string
	if j.lookup != nil {
		names = append(names, j.keyCols...)
	} else {
		for _, a := range j.Aggs {
			names = append(names, a.Name)
		}
	}
	taken := map[string]bool{}
	for _, c := range cols {
		taken[c] = true
	}
	for i, n := range names {
		if taken[n] {
			names[i] = n + " (joined)"
		}
		taken[names[i]] = true
	}
	return &joined{left: left, spec: j, names: names, ext: NewExtender(cols, names...), complete: complete}, nil
}

type joined struct {
	left     Source
	spec     *JoinSpec
	names    []string
	ext      *Extender
	complete bool
}

func (s *joined) Columns() ([]string, bool) { return s.ext.Columns(), s.complete }

func (s *joined) Read() (Record, error) {
	rec, err := s.left.Read()
	if err != nil {
		return rec, err
	}
	key := strings.TrimSpace(rec.Text(s.spec.On))
	vals := make([]string, len(s.names))
	if s.spec.lookup != nil {
		if v, ok := s.spec.lookup[key]; ok {
			copy(vals, v)
		}
	} else {
		st := s.spec.sums[key]
		for i, a := range s.spec.Aggs {
			vals[i] = aggValue(a, st, i)
		}
	}
	return s.ext.Apply(rec, vals...), nil
}

func aggValue(a Agg, st []aggState, i int) string {
	if st == nil {
		if a.Func == "count" || a.Func == "sum" {
			return "0"
		}
		return ""
	}
	s := st[i]
	var v float64
	switch a.Func {
	case "count":
		return strconv.FormatInt(s.n, 10)
	case "sum":
		v = s.sum
	case "mean":
		if s.n == 0 {
			return ""
		}
		v = s.sum / float64(s.n)
	case "min", "max":
		if s.n == 0 {
			return ""
		}
		v = s.min
		if a.Func == "max" {
			v = s.max
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
