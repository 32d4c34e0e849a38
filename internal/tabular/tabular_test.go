package tabular_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/tabular"
	"github.com/parquet-go/parquet-go"
)

func TestSniffDelimiter(t *testing.T) {
	for _, tc := range []struct {
		head string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{`"age";"job";"y"` + "\n30;\"admin.\";\"no\"\n", ';'},
		{"a\tb\n1\t2\n", '\t'},
		{"a|b|c\n1|2|3\n", '|'},
		// commas inside quotes do not count; the semicolons agree on both lines
		{"\"x, y\";z\n\"1,2,3\";4\n", ';'},
		// only the header: the most frequent wins
		{"a;b;c,d", ';'},
		{"single\n1\n", ','},
		{"", ','},
	} {
		if got := tabular.SniffDelimiter([]byte(tc.head)); got != tc.want {
			t.Errorf("SniffDelimiter(%q) = %q; want %q", tc.head, got, tc.want)
		}
	}
}

func TestReaderCSV(t *testing.T) {
	data := "\xef\xbb\xbfName,Notes,N\r\nacme,\"multi\nline, with comma\",3\r\nshort,row\r\n\r\nlast,\"x\",\r\n"
	rd, err := tabular.NewReader(strings.NewReader(data), tabular.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols, complete := rd.Columns()
	if !cmp.Equal(cols, []string{"Name", "Notes", "N"}) || !complete {
		t.Fatalf("Columns = %q, %v; want Name, Notes, N (BOM stripped), complete", cols, complete)
	}
	rec, err := rd.Read()
	if err != nil || rec.Text("Notes") != "multi\nline, with comma" || rec.Line != 2 {
		t.Errorf("row 1 = line %d %q, %v; want line 2 with the quoted newline", rec.Line, rec.Text("Notes"), err)
	}
	_, err = rd.Read()
	var re *tabular.RowError
	if !errors.As(err, &re) || re.Line != 4 {
		t.Errorf("short row: err = %v; want a RowError on line 4", err)
	}
	rec, err = rd.Read()
	if err != nil || rec.Text("Name") != "last" || rec.Line != 6 {
		t.Errorf("after the bad row: line %d %q, %v; want line 6 \"last\"", rec.Line, rec.Text("Name"), err)
	}
	if v, ok := rec.Get("N"); !ok || v != "" {
		t.Errorf("empty cell: Get = %q, %v; want \"\", true", v, ok)
	}
	if _, err := rd.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("end: err = %v; want io.EOF", err)
	}
}

func TestReaderJSONL(t *testing.T) {
	data := `{"id": 1, "lead": {"employees": 250, "industry": "software"}, "converted": true}

{"id": 2, "Employees": "12"}
not json
[1, 2]
{"id": 3}`
	rd, err := tabular.NewReader(strings.NewReader(data), tabular.Options{Name: "x.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if cols, complete := rd.Columns(); complete || !cmp.Equal(cols, []string{"converted", "id", "lead.employees", "lead.industry"}) {
		t.Errorf("Columns = %q, %v; want the first object's keys, flattened, incomplete", cols, complete)
	}
	var lines []int
	var bad []int
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *tabular.RowError
		if errors.As(err, &re) {
			bad = append(bad, re.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, rec.Line)
		if rec.Line == 1 && (rec.Text("lead.employees") != "250" || rec.Text("converted") != "true") {
			t.Errorf("line 1: employees %q converted %q; want 250, true", rec.Text("lead.employees"), rec.Text("converted"))
		}
	}
	if !cmp.Equal(lines, []int{1, 3, 6}) || !cmp.Equal(bad, []int{4, 5}) {
		t.Errorf("records on lines %v, errors on %v; want [1 3 6] and [4 5]", lines, bad)
	}
}

// FuzzReader feeds arbitrary bytes to the CSV, JSONL and Parquet readers:
// no panic, no endless loop, and every CSV or JSONL record and row error
// points at a line of the input.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"../../backtest/testdata/tiny.csv", "../../backtest/testdata/rows.jsonl"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, uint8(strings.Count(name, ".jsonl")))
		}
	}
	f.Add([]byte("a,b\n\"1,2\n"), uint8(0))
	f.Add([]byte("a;b\n1;\"x\"\"y\"\n2\n"), uint8(0))
	f.Add([]byte("{\"lead\": {\"x\": 1}}\n{]\n"), uint8(1))
	var pq bytes.Buffer
	if err := parquet.Write(&pq, []parquetLead{{ID: 1, Source: "x", Tags: []string{"a"}}, {ID: 2}}); err != nil {
		f.Fatal(err)
	}
	f.Add(pq.Bytes(), uint8(2))
	formats := []tabular.Format{tabular.FormatCSV, tabular.FormatJSONL, tabular.FormatParquet}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		ft := formats[int(format)%len(formats)]
		rd, err := tabular.NewReader(bytes.NewReader(data), tabular.Options{Format: ft})
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if ft == tabular.FormatParquet {
			lines = 1 << 30 // rows, not lines
		}
		for i := 0; ; i++ {
			if i > len(data)+2 && ft != tabular.FormatParquet || i > 1<<20 {
				t.Fatalf("more reads than bytes: the reader does not advance")
			}
			rec, err := rd.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *tabular.RowError
			switch {
			case errors.As(err, &re):
				if re.Line < 1 || re.Line > lines {
					t.Fatalf("row error on line %d; the input has %d lines", re.Line, lines)
				}
			case err != nil:
				return // an I/O-level error ends the stream
			default:
				if rec.Line < 1 || rec.Line > lines {
					t.Fatalf("record on line %d; the input has %d lines", rec.Line, lines)
				}
				cols, _ := rd.Columns()
				for _, c := range cols {
					_ = rec.Text(c)
				}
			}
		}
	})
}

// TestRowErrorNamesFile: a malformed row reads file:line: what is wrong.
func TestRowErrorNamesFile(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"leads.csv", "a,b\n1,2\n3\n", "leads.csv:3: 1 field, but the header has 2"},
		{"leads.jsonl", "{\"a\": 1}\n{\"a\": \n", "leads.jsonl:2: invalid JSON: unexpected EOF"},
		{"", "a;b\n1;2;3\n", "line 2: 3 fields, but the header has 2"},
		// A quote left open swallows the rows after it into one field.
		{"leads.csv", "id,name,n\n1,\"Acme,5\n2,Beta,6\n3,Core,7\n", "leads.csv:2: 2 fields, but the header has 3: " +
			"the field quoted at line 2 column 3 runs over 2 more lines (is a closing quote missing?)"},
	} {
		rd, err := tabular.NewReader(strings.NewReader(tc.data), tabular.Options{Name: tc.name})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for {
			_, err := rd.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				got = err.Error()
			}
		}
		if got != tc.want {
			t.Errorf("%s: error %q; want %q", tc.name, got, tc.want)
		}
	}
}

type parquetLead struct {
	ID        int64    `parquet:"id"`
	Source    string   `parquet:"source"`
	Visits    *int32   `parquet:"visits,optional"`
	Spend     float64  `parquet:"spend"`
	Converted bool     `parquet:"converted"`
	Created   int32    `parquet:"created,date"`
	Tags      []string `parquet:"tags,list"`
}

// TestReaderParquet writes a Parquet file with parquet-go and reads it
// back: columns from the schema, numbers as JSONL would hold them, dates
// as dates, nulls as missing; from a file, and from a pipe.
func TestReaderParquet(t *testing.T) {
	seven := int32(7)
	rows := []parquetLead{
		{ID: 1, Source: "Google", Visits: &seven, Spend: 12.5, Converted: true, Created: 20000, Tags: []string{"a", "b"}},
		{ID: 2, Source: "Olark Chat", Spend: 0, Created: 20001},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/leads.parquet"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, in := range map[string]io.Reader{"file": f, "pipe": io.MultiReader(bytes.NewReader(buf.Bytes()))} {
		rd, err := tabular.NewReader(in, tabular.Options{Name: name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cols, complete := rd.Columns()
		if want := []string{"id", "source", "visits", "spend", "converted", "created", "tags"}; !cmp.Equal(cols, want) || !complete {
			t.Errorf("%s: Columns = %q, %v; want %q, complete", name, cols, complete, want)
		}
		var got []string
		for {
			rec, err := rd.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			_, hasVisits := rec.Get("visits")
			got = append(got, strings.Join([]string{strconv.Itoa(rec.Line), rec.Text("id"), rec.Text("source"), rec.Text("visits"),
				strconv.FormatBool(hasVisits), rec.Text("spend"), rec.Text("converted"), rec.Text("created"), rec.Text("tags")}, "|"))
		}
		want := []string{
			`1|1|Google|7|true|12.5|true|2024-10-04|["a","b"]`,
			`2|2|Olark Chat||false|0|false|2024-10-05|`,
		}
		if !cmp.Equal(got, want) {
			t.Errorf("%s: rows\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, err := tabular.NewReader(strings.NewReader("PAR1 but not really"), tabular.Options{}); err == nil {
		t.Error("a broken Parquet file: no error")
	}
}
