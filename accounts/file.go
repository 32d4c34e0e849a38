package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/leadq/leadq/internal/tabular"
	"github.com/leadq/leadq/rules/eval"
)

// Error is a problem at a line of an account file.
type Error struct {
	File string
	Line int // 1-based; 0 for the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ErrorList is every problem found in one file, in line order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	const show = 20
	var b strings.Builder
	for i, e := range l {
		if i == show {
			fmt.Fprintf(&b, "\nand %d more", len(l)-show)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Table is a parsed account file: accounts by domain. Several domains may
// share one account map. Maps are never modified once parsed.
type Table struct {
	byDomain map[string]map[string]any
	accounts int
	skipped  []string // free-mail domains left out
}

// Len is how many domains resolve to an account.
func (t *Table) Len() int { return len(t.byDomain) }

// Accounts is how many account records the file held.
func (t *Table) Accounts() int { return t.accounts }

// Skipped lists the free-mail domains the file named, which never resolve.
func (t *Table) Skipped() []string { return t.skipped }

// Parse reads an account file by its extension: .csv is CSV with a header
// row; .jsonl, .ndjson and .json are one JSON object per line. Each record
// needs a domain (a "domain" column or key; several separated by ";" or
// spaces, or a JSON list); its other columns or keys are the account's
// fields, with an "account." prefix dropped. CSV cells are typed as JSON
// would be: true and false are booleans, numbers in JSON's syntax are
// numbers, empty cells are left out, everything else is a string; use JSON
// Lines for exact types. Every problem is reported, with its line.
func Parse(name string, data []byte) (*Table, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return parseCSV(name, data)
	case ".jsonl", ".ndjson", ".json":
		return parseJSONL(name, data)
	}
	return nil, &Error{File: name, Msg: "unknown kind of account file (use .csv or .jsonl)"}
}

// builder collects records and their problems.
type builder struct {
	name  string
	t     *Table
	first map[string]int // domain -> line of its first record
	errs  ErrorList
}

func newBuilder(name string) *builder {
	return &builder{name: name, t: &Table{byDomain: map[string]map[string]any{}}, first: map[string]int{}}
}

func (b *builder) errorf(line int, format string, args ...any) {
	b.errs = append(b.errs, &Error{File: b.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// normalDomain lower-cases a domain and drops what people paste around it:
// an "@", a "www." and a final dot.
func normalDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "@")
	s = strings.TrimPrefix(s, "www.")
	return strings.TrimSuffix(s, ".")
}

func (b *builder) add(line int, domains []string, account map[string]any) {
	if len(domains) == 0 {
		b.errorf(line, "no domain (every account needs one, in its domain column or key)")
		return
	}
	b.t.accounts++
	for _, raw := range domains {
		d := normalDomain(raw)
		switch {
		case !domainRE.MatchString(d):
			b.errorf(line, "domain %q is not a domain name (like acme.example)", raw)
		case eval.IsFreeEmail("x@" + d):
			b.t.skipped = append(b.t.skipped, d) // never matches; reported, not an error
		case b.first[d] != 0:
			b.errorf(line, "domain %s is listed twice (first on line %d)", d, b.first[d])
		default:
			b.first[d] = line
			b.t.byDomain[d] = account
		}
	}
}

func (b *builder) done() (*Table, error) {
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return b.t, nil
}

func splitDomains(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' })
}

// fieldName drops the account. prefix a ruleset's field names carry.
func fieldName(k string) string {
	return strings.TrimPrefix(strings.TrimSpace(k), "account.")
}

func parseCSV(name string, data []byte) (*Table, error) {
	b := newBuilder(name)
	rd, err := tabular.NewReader(bytes.NewReader(data), tabular.Options{Name: name, Format: tabular.FormatCSV})
	if err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return b.done() // an empty file: no accounts
		}
		return nil, &Error{File: name, Line: 1, Msg: err.Error()}
	}
	header := rd.Header()
	names, _ := rd.Columns() // one per header cell, told apart
	keys := make([]string, len(header))
	domainCol := -1
	for i, h := range header {
		keys[i] = fieldName(h)
		if strings.EqualFold(keys[i], "domain") {
			keys[i] = "domain"
			if domainCol < 0 {
				domainCol = i
			}
		}
	}
	if domainCol < 0 {
		return nil, &Error{File: name, Line: 1, Msg: fmt.Sprintf("no domain column in the header (found %s)", strings.Join(header, ", "))}
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *tabular.RowError
		if errors.As(err, &re) {
			b.errorf(re.Line, "%v", re.Err)
			continue
		}
		if err != nil {
			return nil, &Error{File: name, Msg: err.Error()}
		}
		account := make(map[string]any, len(keys))
		for i, k := range keys {
			if v, ok := cellValue(rec.Text(names[i])); ok && k != "" {
				account[k] = v
			}
		}
		b.add(rec.Line, splitDomains(rec.Text(names[domainCol])), account)
	}
	return b.done()
}

// cellValue types one CSV cell; ok is false for an empty cell.
func cellValue(cell string) (any, bool) {
	s := strings.TrimSpace(cell)
	switch s {
	case "":
		return nil, false
	case "true", "TRUE", "True":
		return true, true
	case "false", "FALSE", "False":
		return false, true
	}
	if json.Valid([]byte(s)) && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return json.Number(s), true
	}
	return cell, true
}

func parseJSONL(name string, data []byte) (*Table, error) {
	b := newBuilder(name)
	rd, err := tabular.NewReader(bytes.NewReader(data), tabular.Options{Name: name, Format: tabular.FormatJSONL})
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *tabular.RowError
		if errors.As(err, &re) {
			b.errorf(re.Line, "not a JSON object on one line")
			continue
		}
		if err != nil {
			return nil, &Error{File: name, Msg: err.Error()}
		}
		account := map[string]any{}
		var domains []string
		rec.Range(func(k string, v any) {
			k = fieldName(k)
			if k == "domain" {
				switch x := v.(type) {
				case string:
					domains = splitDomains(x)
				case []any:
					for _, e := range x {
						if s, ok := e.(string); ok {
							domains = append(domains, s)
						}
					}
				}
			}
			account[k] = v
		})
		b.add(rec.Line, domains, account)
	}
	return b.done()
}
