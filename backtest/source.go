package backtest

import (
	"io"

	"github.com/leadq/leadq/internal/tabular"
)

// The data backtest reads comes through leadq's one tabular reader
// (internal/tabular: CSV with any delimiter, JSON Lines, Parquet); these
// names are its public face for backtest's callers.
type (
	// Format is the encoding of a data file.
	Format = tabular.Format
	// ReaderOptions configure NewReader.
	ReaderOptions = tabular.Options
	// Source is a stream of records with named columns.
	Source = tabular.Source
	// Record is one row of a Source.
	Record = tabular.Record
	// RowError is a malformed row, file:line; reading may go on after it.
	RowError = tabular.RowError
	// Reader streams the records of a CSV, JSONL or Parquet file.
	Reader = tabular.Reader
	// Records is a Source over records in memory.
	Records = tabular.Records
	// Extender adds columns to the records of a source.
	Extender = tabular.Extender
)

// The formats NewReader reads.
const (
	FormatAuto    = tabular.FormatAuto
	FormatCSV     = tabular.FormatCSV
	FormatJSONL   = tabular.FormatJSONL
	FormatParquet = tabular.FormatParquet
)

// ParseFormat reads an --input-format value: auto, csv, jsonl or parquet.
func ParseFormat(s string) (Format, error) { return tabular.ParseFormat(s) }

// NewReader reads the header (CSV), the schema (Parquet) or the first
// object (JSONL) and returns a reader positioned on the first row.
func NewReader(r io.Reader, opts ReaderOptions) (*Reader, error) { return tabular.NewReader(r, opts) }

// NewRecord builds a record from column/value pairs.
func NewRecord(line int, values map[string]any) Record { return tabular.NewRecord(line, values) }

// NewExtender prepares to add the named columns after cols.
func NewExtender(cols []string, names ...string) *Extender {
	return tabular.NewExtender(cols, names...)
}

// SniffDelimiter picks the CSV delimiter of a file's first bytes.
func SniffDelimiter(head []byte) rune { return tabular.SniffDelimiter(head) }

func textOf(v any) string { return tabular.Text(v) }
