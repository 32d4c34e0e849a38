// Package decisionlog keeps every decision the engine makes, so that reps
// can later ask why a lead was rejected and marketing can see which rules
// fire. It owns the log's SQLite file (through the pure-Go driver
// modernc.org/sqlite): the schema, the writer, retention, masking of
// personal data, lookups by lead id or email, rule hit statistics, and the
// comparison of a stored decision with a fresh one. Scoring, HTTP and
// printing stay with engine, server and cmd/leadq.
//
// Concurrency: Log.Log never blocks and never fails the caller: entries go
// through a bounded channel to one writer goroutine that inserts them in
// batches, one transaction per batch; when the channel is full the entry is
// dropped and counted (Log.Dropped). Masking and JSON encoding happen in the
// writer, off the scoring path. Close stops accepting entries, writes
// everything accepted and waits for the writer. Queries (Reader) run
// concurrently with the writer: the file is in WAL mode. Every method is
// safe for concurrent use.
package decisionlog
