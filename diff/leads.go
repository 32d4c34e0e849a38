package diff

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/jsonscan"
	"github.com/leadq/leadq/internal/tabular"
	"github.com/leadq/leadq/rules"
)

// Lead is one input with where it was read, for messages and for leads
// without an id.
type Lead struct {
	Input engine.Input
	Where string // file:line
}

// Name is the lead's id, or where it was read when it has none.
func (l Lead) Name() string {
	if l.Input.ID != "" {
		return l.Input.ID
	}
	return l.Where
}

// ReadLeads reads the leads in path: a CSV file with a header row, a JSON
// Lines file (or JSON objects one after another, or a JSON array), or a
// directory holding such files (*.csv, *.json, *.jsonl, *.ndjson, by name).
// The rulesets, when given, decide the namespace of bare CSV columns; see
// ParseCSV.
func ReadLeads(path string, rulesets ...*rules.Ruleset) ([]Lead, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return readLeadFile(path, rulesets)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var all []Lead
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".csv", ".json", ".jsonl", ".ndjson":
		default:
			continue
		}
		leads, err := readLeadFile(filepath.Join(path, e.Name()), rulesets)
		if err != nil {
			return nil, err
		}
		all = append(all, leads...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no leads (*.csv, *.json, *.jsonl, *.ndjson) in this directory", path)
	}
	return all, nil
}

func readLeadFile(path string, rulesets []*rules.Ruleset) ([]Lead, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseLeads(path, f, rulesets...)
}

// ParseLeads reads leads from r, named name in messages. A .csv name is
// CSV; .json, .jsonl and .ndjson are JSON; otherwise a first character of
// { or [ means JSON, anything else CSV.
func ParseLeads(name string, r io.Reader, rulesets ...*rules.Ruleset) ([]Lead, error) {
	br := bufio.NewReader(r)
	isJSON := false
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
	case ".json", ".jsonl", ".ndjson":
		isJSON = true
	default:
		for {
			b, err := br.Peek(1)
			if err != nil {
				break
			}
			if c := b[0]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				br.ReadByte()
				continue
			}
			isJSON = b[0] == '{' || b[0] == '['
			break
		}
	}
	if isJSON {
		return ParseJSON(name, br)
	}
	return ParseCSV(name, br, rulesets...)
}

// ParseJSON reads JSON objects one after another (JSON Lines, or pretty
// printed) or one JSON array of objects, as leadq score does
// (internal/jsonscan's Reader, which streams them). Each object is a
// scoring request, as engine.ParseInput reads it.
func ParseJSON(name string, r io.Reader) ([]Lead, error) {
	seq := jsonscan.NewReader(r)
	var leads []Lead
	for {
		raw, pos, err := seq.Next()
		if errors.Is(err, io.EOF) {
			return leads, nil
		}
		var syn *jsonscan.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%s:%w", name, err) // name:line:col: what
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in, err := engine.ParseInput(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, pos.Line, err)
		}
		leads = append(leads, Lead{Input: in, Where: fmt.Sprintf("%s:%d", name, pos.Line)})
	}
}

// ParseCSV reads a CSV file whose first row names the columns, through
// internal/tabular (any delimiter, sniffed from the header). A column
// named lead.x or account.x is that field; id or lead_id is the lead's id; a
// bare name x is lead.x, unless the rulesets declare account.x and no
// lead.x. Empty cells are missing values. Values stay text: the engine
// converts them to the declared types ("250" for an int field, "true" for a
// bool, "a;b" for a list).
func ParseCSV(name string, r io.Reader, rulesets ...*rules.Ruleset) ([]Lead, error) {
	rd, err := tabular.NewReader(r, tabular.Options{Name: name, Format: tabular.FormatCSV})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	header := rd.Header()
	names, _ := rd.Columns() // one per header cell, told apart
	type column struct{ ns, key string }
	cols := make([]column, len(header))
	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		ns, key, dotted := strings.Cut(h, ".")
		switch {
		case h == "id" || h == "lead_id":
			ns, key = "", "id"
		case dotted && (ns == "lead" || ns == "account"):
		default:
			ns, key = bareNamespace(h, rulesets), h
		}
		full := ns + "." + key
		if j, dup := seen[full]; dup {
			return nil, fmt.Errorf("%s:1: columns %d and %d both give %s", name, j+1, i+1, strings.TrimPrefix(full, "."))
		}
		seen[full] = i
		cols[i] = column{ns, key}
	}
	var leads []Lead
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // a *tabular.RowError reads file:line
		}
		in := engine.Input{Lead: map[string]any{}, Account: map[string]any{}}
		for i, c := range cols {
			v := rec.Text(names[i])
			if strings.TrimSpace(v) == "" {
				continue
			}
			switch c.ns {
			case "":
				in.ID = v
			case "account":
				in.Account[c.key] = v
			default:
				in.Lead[c.key] = v
			}
		}
		leads = append(leads, Lead{Input: in, Where: fmt.Sprintf("%s:%d", name, rec.Line)})
	}
	return leads, nil
}

func bareNamespace(key string, rulesets []*rules.Ruleset) string {
	declares := func(name string) bool {
		return slices.ContainsFunc(rulesets, func(rs *rules.Ruleset) bool { return rs.Field(name) != nil })
	}
	if !declares("lead."+key) && declares("account."+key) {
		return "account"
	}
	return "lead"
}

// UnknownFields returns the input fields (lead.x, account.x) that some lead
// has and none of the rulesets declares, sorted: usually a misspelt CSV
// column, whose values the engine ignores.
func UnknownFields(leads []Lead, rulesets ...*rules.Ruleset) []string {
	seen := map[string]bool{}
	for _, l := range leads {
		for ns, m := range map[string]map[string]any{"lead": l.Input.Lead, "account": l.Input.Account} {
			for k := range m {
				name := ns + "." + k
				if k == "id" || k == "lead_id" || seen[name] {
					continue
				}
				if !slices.ContainsFunc(rulesets, func(rs *rules.Ruleset) bool { return rs.Field(name) != nil }) {
					seen[name] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
