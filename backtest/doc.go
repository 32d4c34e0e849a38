// Package backtest scores history with a ruleset and measures how well the
// rules pick the leads that converted.
//
// It owns the history side of leadq: reading CSV (any delimiter, sniffed
// from the header) and JSONL a row at a time (Reader), joining a second
// table by key (Join), mapping columns to declared fields (Mapping, Binder),
// reading the outcome of each row (Outcome), row filters written as expr
// expressions over columns (RowExpr), and the report itself (Run, Report):
// conversion and lift per tier, precision/recall/F1 of the qualified
// verdict, ROC AUC of the score, score deciles, rules ranked by how well
// they separate outcomes, and the rows each knockout rejects. Evaluation is
// engine.Ruleset.Score, exactly as the server decides; printing a report is
// WriteText, WriteJSON and WriteHTML, while progress bars and files are the
// caller's.
//
// Memory is bounded whatever the number of rows: rows are aggregated as they
// are scored (counts, and a histogram of the integer scores from which AUC
// and deciles are computed exactly, ties included) and never kept.
//
// Concurrency: Run reads on one goroutine and scores on several, merging
// per-worker tallies at the end, so its report does not depend on the
// number of workers. A Reader, Binder or RowExpr is not safe for concurrent
// use unless its documentation says so; Binder.Input and RowExpr.Match are.
package backtest
