// Package tabular reads rows with named columns from CSV (any delimiter,
// sniffed from the header when not given), JSON Lines and Parquet files:
// leadq's one reader of tabular data, used by backtest, diff, derive and
// accounts.
//
// A Reader streams: it holds one row (CSV, JSONL) or one batch of rows
// (Parquet, whose footer must be read first, so a Parquet stream that is
// not a file is read into memory). A malformed row is a *RowError that
// reads file:line: what is wrong, and reading may go on after it. The
// reader leaves types to its callers: CSV values are text, JSONL and
// Parquet values are as decoded (json.Number for numbers).
//
// A Reader is not safe for concurrent use; Records are plain values.
package tabular
