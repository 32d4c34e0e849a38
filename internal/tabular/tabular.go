package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Format is the encoding of a data file.
type Format int

const (
	FormatAuto    Format = iota // from the file name, else from the first bytes
	FormatCSV                   // a header row, then one record per row
	FormatJSONL                 // one JSON object per line
	FormatParquet               // Apache Parquet: flat columns, read row group by row group
)

// ParseFormat reads a --input-format value: auto, csv, jsonl (ndjson) or
// parquet.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, nil
	case "csv", "tsv":
		return FormatCSV, nil
	case "jsonl", "ndjson", "json":
		return FormatJSONL, nil
	case "parquet":
		return FormatParquet, nil
	}
	return 0, fmt.Errorf("unknown input format %q (use auto, csv, jsonl or parquet)", s)
}

// Options configure NewReader.
type Options struct {
	Name      string // file name, for the format and for messages (RowError.File)
	Format    Format
	Delimiter rune // CSV delimiter; 0 sniffs it from the header
}

// Source is a stream of records with named columns. Read returns io.EOF at
// the end and a *RowError for a malformed row, after which reading may go on.
type Source interface {
	// Columns returns the known column names. complete is false when rows
	// may hold other columns too (JSONL: the keys of the first object).
	Columns() (cols []string, complete bool)
	Read() (Record, error)
}

// Record is one row. Values from CSV are strings; values from JSONL are as
// decoded with json.Number for numbers.
type Record struct {
	Line  int // 1-based line where the row starts
	strs  []string
	index map[string]int // CSV: column -> position; shared by the rows of a source
	obj   map[string]any // JSONL
}

// NewRecord builds a record from column/value pairs, for tests and for
// callers with rows in memory.
func NewRecord(line int, values map[string]any) Record {
	obj := make(map[string]any, len(values))
	for k, v := range values {
		obj[k] = v
	}
	return Record{Line: line, obj: obj}
}

// Get returns the value of a column; ok is false when the row lacks the
// column or holds JSON null there. In a JSON Lines row a column may be a
// JSON path (see Lookup).
func (r Record) Get(col string) (any, bool) {
	if r.obj != nil {
		if v, ok := r.obj[col]; ok {
			return v, v != nil
		}
		return Lookup(r.obj, col) // a JSON path into nested objects: properties.numberofemployees
	}
	i, ok := r.index[col]
	if !ok || i >= len(r.strs) {
		return nil, false
	}
	return r.strs[i], true
}

// Text returns a column's value as text: strings as they are, numbers as
// written, booleans as true or false, other JSON values encoded; "" when
// the column is absent.
func (r Record) Text(col string) string {
	v, ok := r.Get(col)
	if !ok {
		return ""
	}
	return textOf(v)
}

// Text writes a value of a record as text, as Record.Text does.
func Text(v any) string { return textOf(v) }

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// with returns a copy of the record with extra columns appended. For CSV
// records index must be the extended index shared by the source.
func (r Record) with(index map[string]int, names []string, vals []string) Record {
	if r.obj != nil {
		obj := make(map[string]any, len(r.obj)+len(names))
		for k, v := range r.obj {
			obj[k] = v
		}
		for i, n := range names {
			obj[n] = vals[i]
		}
		return Record{Line: r.Line, obj: obj}
	}
	strs := make([]string, len(r.strs), len(r.strs)+len(vals))
	copy(strs, r.strs)
	return Record{Line: r.Line, strs: append(strs, vals...), index: index}
}

// RowError is a malformed row; the reader can go on after it. It reads
// file:line: what is wrong, or line N: what is wrong without a file name.
type RowError struct {
	File string
	Line int // 1-based; for Parquet the row number
	Err  error
}

func (e *RowError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}
func (e *RowError) Unwrap() error { return e.Err }

// Reader streams the records of a CSV or JSONL file. It is not safe for
// concurrent use.
type Reader struct {
	name    string
	format  Format
	comma   rune
	columns []string
	header  []string // CSV: the header row as written
	index   map[string]int

	csv *csv.Reader

	br      *bufio.Reader
	line    int     // JSONL: lines read so far
	pending *Record // JSONL: the first record, read to learn the columns
	pendErr error

	pq *parquetRows // Parquet
}

// NewReader reads the header (CSV) or the first object (JSONL) and returns
// a reader positioned on the first row. A leading UTF-8 byte order mark is
// skipped.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(1 << 16)
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
		head = head[3:]
	}
	format := opts.Format
	if format == FormatAuto {
		format = detectFormat(opts.Name, head)
	}
	if format == FormatParquet {
		return newParquetReader(r, br, opts.Name)
	}
	rd := &Reader{name: opts.Name, format: format, br: br}
	if format == FormatJSONL {
		rec, err := rd.readJSONL()
		switch {
		case errors.Is(err, io.EOF):
		case err != nil && !isRowError(err):
			return nil, err
		}
		if err == nil {
			rd.pending = &rec
			for k := range rec.obj {
				rd.columns = append(rd.columns, k)
			}
			sort.Strings(rd.columns)
		} else if !errors.Is(err, io.EOF) {
			rd.pendErr = err
		}
		return rd, nil
	}
	rd.comma = opts.Delimiter
	if rd.comma == 0 {
		rd.comma = SniffDelimiter(head)
	}
	cr := csv.NewReader(br)
	cr.Comma = rd.comma
	cr.FieldsPerRecord = -1 // checked here, so that a short row is one RowError
	cr.LazyQuotes = true    // exports often hold a stray quote inside a field
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: expected a header row")
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	rd.csv = cr
	rd.header = header
	rd.columns, rd.index = headerIndex(header)
	return rd, nil
}

func isRowError(err error) bool {
	var re *RowError
	return errors.As(err, &re)
}

// headerIndex names empty header cells "column N" and later duplicates
// "name (2)", so that every column can be addressed.
func headerIndex(header []string) ([]string, map[string]int) {
	cols := make([]string, len(header))
	index := make(map[string]int, len(header))
	for i, h := range header {
		name := strings.TrimSpace(h)
		if name == "" {
			name = fmt.Sprintf("column %d", i+1)
		}
		base := name
		for n := 2; ; n++ {
			if _, dup := index[name]; !dup {
				break
			}
			name = fmt.Sprintf("%s (%d)", base, n)
		}
		cols[i] = name
		index[name] = i
	}
	return cols, index
}

// detectFormat picks Parquet for .parquet files and data that starts with
// Parquet's magic PAR1, JSONL for .jsonl, .ndjson and .json files and for
// data whose first non-blank byte is '{'; CSV otherwise.
func detectFormat(name string, head []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".parquet", ".pq":
		return FormatParquet
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	case ".csv", ".tsv", ".txt":
		return FormatCSV
	}
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return FormatParquet
	}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return FormatJSONL
	}
	return FormatCSV
}

// SniffDelimiter picks the CSV delimiter among comma, semicolon, tab and
// pipe: the one that splits the header and the next line into the same
// number of fields (more than one), preferring the most fields; failing
// that, the most frequent on the header line; comma when none occurs.
// Delimiters inside double quotes do not count.
func SniffDelimiter(head []byte) rune {
	lines := splitLines(head, 2)
	candidates := []rune{',', ';', '\t', '|'}
	best, bestN := rune(0), 0
	if len(lines) == 2 {
		for _, c := range candidates {
			n := countOutsideQuotes(lines[0], c)
			if n > 0 && n == countOutsideQuotes(lines[1], c) && n > bestN {
				best, bestN = c, n
			}
		}
		if best != 0 {
			return best
		}
	}
	if len(lines) > 0 {
		for _, c := range candidates {
			if n := countOutsideQuotes(lines[0], c); n > bestN {
				best, bestN = c, n
			}
		}
	}
	if best == 0 {
		return ','
	}
	return best
}

// splitLines returns up to n complete lines of head, honouring quotes that
// span lines. A last line without its newline counts only when head holds
// the whole file (shorter than the peek size).
func splitLines(head []byte, n int) [][]byte {
	var out [][]byte
	start, inQuote := 0, false
	for i, b := range head {
		switch {
		case b == '"':
			inQuote = !inQuote
		case b == '\n' && !inQuote:
			out = append(out, bytes.TrimRight(head[start:i], "\r"))
			start = i + 1
			if len(out) == n {
				return out
			}
		}
	}
	if start < len(head) && len(head) < 1<<16 {
		out = append(out, head[start:])
	}
	return out
}

func countOutsideQuotes(line []byte, c rune) int {
	n, inQuote := 0, false
	for _, r := range string(line) {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == c && !inQuote:
			n++
		}
	}
	return n
}

// Format returns the format being read.
func (r *Reader) Format() Format { return r.format }

// Delimiter returns the CSV delimiter in use (0 for JSONL).
func (r *Reader) Delimiter() rune { return r.comma }

// Columns returns the header (CSV, complete), the schema's columns
// (Parquet, complete) or the sorted keys of the first object (JSONL, not
// complete).
func (r *Reader) Columns() ([]string, bool) { return r.columns, r.format != FormatJSONL }

// Header returns a CSV file's header row as written (Columns names empty
// and repeated cells apart); nil for other formats.
func (r *Reader) Header() []string { return r.header }

// Read returns the next record, io.EOF at the end, or a *RowError for a
// malformed row (wrong number of fields, invalid JSON); reading may go on
// after a RowError.
func (r *Reader) Read() (Record, error) {
	if r.pq != nil {
		return r.pq.read()
	}
	if r.format == FormatJSONL {
		if r.pending != nil {
			rec := *r.pending
			r.pending = nil
			return rec, nil
		}
		if r.pendErr != nil {
			err := r.pendErr
			r.pendErr = nil
			return Record{}, err
		}
		return r.readJSONL()
	}
	fields, err := r.csv.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Record{}, &RowError{File: r.name, Line: pe.StartLine, Err: pe.Err}
		}
		return Record{}, err
	}
	line, _ := r.csv.FieldPos(0)
	if len(fields) != len(r.columns) {
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			return r.Read() // a blank line
		}
		msg := fmt.Sprintf("%s, but the header has %d", plural(len(fields), "field"), len(r.columns))
		for i, f := range fields {
			// A quote left open makes one field of the rows after it.
			if n := strings.Count(strings.TrimRight(f, "\r\n"), "\n"); n > 0 {
				fl, fc := r.csv.FieldPos(i)
				msg += fmt.Sprintf(": the field quoted at line %d column %d runs over %d more lines (is a closing quote missing?)", fl, fc, n)
				break
			}
		}
		return Record{}, &RowError{File: r.name, Line: line, Err: errors.New(msg)}
	}
	return Record{Line: line, strs: fields, index: r.index}, nil
}

// readJSONL reads one non-blank line as a JSON object. An object with a
// "lead" or "account" object (leadq's scoring input) is flattened to
// columns "lead.x" and "account.x"; other keys stay as they are.
func (r *Reader) readJSONL() (Record, error) {
	for {
		data, err := r.br.ReadBytes('\n')
		if len(data) == 0 && err != nil {
			return Record{}, err
		}
		r.line++
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			if err != nil {
				return Record{}, err
			}
			continue
		}
		line := r.line
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var obj map[string]any
		if derr := dec.Decode(&obj); derr != nil || obj == nil {
			msg := "expected a JSON object"
			if derr != nil {
				msg = "invalid JSON: " + derr.Error()
			}
			return Record{}, &RowError{File: r.name, Line: line, Err: errors.New(msg)}
		}
		if dec.More() {
			return Record{}, &RowError{File: r.name, Line: line, Err: errors.New("more than one JSON value on the line")}
		}
		return Record{Line: line, obj: flatten(obj)}, nil
	}
}

func flatten(obj map[string]any) map[string]any {
	lead, lok := obj["lead"].(map[string]any)
	account, aok := obj["account"].(map[string]any)
	if !lok && !aok {
		return obj
	}
	out := make(map[string]any, len(obj)+len(lead)+len(account))
	for k, v := range obj {
		if (k == "lead" && lok) || (k == "account" && aok) {
			continue
		}
		out[k] = v
	}
	for k, v := range lead {
		out["lead."+k] = v
	}
	for k, v := range account {
		out["account."+k] = v
	}
	return out
}

// Records is a Source over records in memory.
type Records struct {
	Cols     []string
	Complete bool
	Rows     []Record
	next     int
}

// Columns returns the columns given.
func (s *Records) Columns() ([]string, bool) { return s.Cols, s.Complete }

// Read returns the next record, io.EOF after the last.
func (s *Records) Read() (Record, error) {
	if s.next >= len(s.Rows) {
		return Record{}, io.EOF
	}
	s.next++
	return s.Rows[s.next-1], nil
}

// Keyed reports whether the record holds its own keys (JSONL, Parquet)
// rather than positions in its source's header (CSV).
func (r Record) Keyed() bool { return r.obj != nil }

// Range calls fn for every column the record holds, in no set order; v is
// nil for a JSON null.
func (r Record) Range(fn func(col string, v any)) {
	if r.obj != nil {
		for k, v := range r.obj {
			fn(k, v)
		}
		return
	}
	for col, i := range r.index {
		if i < len(r.strs) {
			fn(col, r.strs[i])
		}
	}
}

// Keys returns the keys of a JSONL record, sorted, or nil for a CSV record,
// whose columns are its source's.
func (r Record) Keys() []string {
	if r.obj == nil {
		return nil
	}
	keys := make([]string, 0, len(r.obj))
	for k := range r.obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Extender adds columns to records of a source with the given columns.
type Extender struct {
	names []string
	cols  []string
	index map[string]int
}

// NewExtender prepares to add the named columns after cols.
func NewExtender(cols []string, names ...string) *Extender {
	all := append(append([]string{}, cols...), names...)
	index := make(map[string]int, len(all))
	for i, c := range all {
		index[c] = i
	}
	return &Extender{names: names, cols: all, index: index}
}

// Columns returns the columns of the extended records.
func (e *Extender) Columns() []string { return e.cols }

// Apply returns a copy of rec with one value per added column.
func (e *Extender) Apply(rec Record, vals ...string) Record {
	return rec.with(e.index, e.names, vals)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
