package tabular

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// parquetRows reads a Parquet file a batch of rows at a time, so that
// memory stays at one batch and the library's page buffers whatever the
// file's size. Flat columns become one value each; a repeated column
// becomes a list. Numbers come as json.Number (like JSONL), DATE columns
// as 2006-01-02 and TIMESTAMP columns as RFC 3339 text, nulls as missing.
type parquetRows struct {
	name string
	//lint:ignore SA1019 parquet.Reader reads rows without a Go type per file, what a reader of any file's columns needs; its replacement, GenericReader[T], wants the row type at compile time
	rd    *parquet.Reader
	cols  []parquetCol // by leaf column index
	batch []parquet.Row
	n, i  int // rows in the batch, next row in it
	row   int // rows returned so far
	err   error
}

type parquetCol struct {
	name     string
	kind     string // "date", "timestamp-millis", "-micros", "-nanos", "string", or "" for the physical type
	repeated bool
}

// sizedReaderAt is what Parquet needs: it reads the footer first.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

func newParquetReader(r io.Reader, br *bufio.Reader, name string) (*Reader, error) {
	var ra io.ReaderAt
	var size int64
	switch f := r.(type) {
	case sizedReaderAt:
		ra, size = f, f.Size()
	case interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	}: // *os.File
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		ra, size = f, st.Size()
	default:
		// A pipe: Parquet's footer is at the end, so the whole file is read.
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	file, err := openParquet(ra, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	pr := &parquetRows{name: name, rd: parquet.NewReader(file), batch: make([]parquet.Row, 256)}
	rd := &Reader{name: name, format: FormatParquet, pq: pr}
	schema := file.Schema()
	for _, path := range schema.Columns() {
		leaf, _ := schema.Lookup(path...)
		if n := len(path); n >= 3 && path[n-2] == "list" && (path[n-1] == "element" || path[n-1] == "item") {
			path = path[:n-2] // a LIST column by the name its writer gave it
		}
		c := parquetCol{name: strings.Join(path, "."), repeated: leaf.MaxRepetitionLevel > 0}
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			switch s := lt.String(); {
			case strings.HasPrefix(s, "DATE"):
				c.kind = "date"
			case strings.HasPrefix(s, "TIMESTAMP"):
				c.kind = "timestamp-" + timeUnit(s)
			case strings.HasPrefix(s, "STRING"), strings.HasPrefix(s, "ENUM"), strings.HasPrefix(s, "JSON"):
				c.kind = "string"
			}
		}
		if c.kind == "" && leaf.Node.Type().Kind() == parquet.ByteArray {
			c.kind = "string" // BYTE_ARRAY without an annotation: text in practice
		}
		pr.cols = append(pr.cols, c)
		rd.columns = append(rd.columns, c.name)
	}
	rd.index = make(map[string]int, len(rd.columns))
	for i, c := range rd.columns {
		rd.index[c] = i
	}
	return rd, nil
}

func timeUnit(logical string) string {
	switch {
	case strings.Contains(logical, "MILLIS"):
		return "millis"
	case strings.Contains(logical, "NANOS"):
		return "nanos"
	}
	return "micros"
}

// readRows reads the next batch. A file whose pages lie about their
// contents can make parquet-go panic; that is an error of the file, not a
// crash of leadq.
func (p *parquetRows) readRows() (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("not a readable Parquet file: %v", r)
		}
	}()
	return p.rd.ReadRows(p.batch)
}

func (p *parquetRows) read() (Record, error) {
	for p.i >= p.n {
		if p.err != nil {
			return Record{}, p.err
		}
		for i := range p.batch[:p.n] {
			p.batch[i] = p.batch[i][:0]
		}
		n, err := p.readRows()
		p.n, p.i = n, 0
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("row %d: %w", p.row+n+1, err)
			}
			p.err = err
		}
	}
	row := p.batch[p.i]
	p.i++
	p.row++
	obj := make(map[string]any, len(p.cols))
	for _, v := range row {
		ci := v.Column()
		if ci < 0 || ci >= len(p.cols) || v.IsNull() {
			continue
		}
		c := p.cols[ci]
		x := c.value(v)
		if !c.repeated {
			obj[c.name] = x
			continue
		}
		list, _ := obj[c.name].([]any)
		obj[c.name] = append(list, x)
	}
	return Record{Line: p.row, obj: obj}, nil
}

// value converts one Parquet value to what a JSONL record would hold.
func (c parquetCol) value(v parquet.Value) any {
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Int32, parquet.Int64:
		n := v.Int64()
		if v.Kind() == parquet.Int32 {
			n = int64(v.Int32())
		}
		switch c.kind {
		case "date":
			return time.Unix(n*86400, 0).UTC().Format("2006-01-02")
		case "timestamp-millis":
			return time.UnixMilli(n).UTC().Format(time.RFC3339Nano)
		case "timestamp-micros":
			return time.UnixMicro(n).UTC().Format(time.RFC3339Nano)
		case "timestamp-nanos":
			return time.Unix(0, n).UTC().Format(time.RFC3339Nano)
		}
		return json.Number(strconv.FormatInt(n, 10))
	case parquet.Float, parquet.Double:
		f := v.Double()
		if v.Kind() == parquet.Float {
			f = float64(v.Float())
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

// openParquet opens a file's footer and schema, turning a panic of
// parquet-go on a corrupt footer into an error.
func openParquet(ra io.ReaderAt, size int64) (f *parquet.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return parquet.OpenFile(ra, size)
}
