// Package decisionlog keeps every decision the engine makes, so that reps
// can later ask why a lead was rejected and marketing can see which rules
// fire. It owns the log's database: a SQLite file (the embedded default,
// through the pure-Go driver modernc.org/sqlite) or PostgreSQL (one log for
// many replicas, through pgx), with one schema and its migrations for both
// and the same queries: the writer, retention, masking of personal data,
// lookups by decision id, lead id, email or the start of any of them, rule
// hit statistics, and the comparison of a stored decision with a fresh one.
// Scoring, HTTP and printing stay with engine, server and cmd/leadq.
//
// Storage: a decision is stored compactly, as its id (a UUIDv7, so that a
// time window is a range of ids), its verdict, the rules that fired and its
// input (encode.go), under the ruleset version that made it, whose sources
// are stored once; reading it decides the stored input again with that
// version at the decision's time, which gives back the decision exactly as
// answered. The writer appends each batch of decisions to a journal, one
// row a batch holding them already encoded, without any index (journal.go);
// an indexer moves journal rows into the indexed decisions table and each
// lead's search keys (once per lead) when the writer is idle, when the
// journal grows past a bound (WithIndexing) or gets old, and at Close, in
// transactions that also delete the rows they move, so that a decision is
// always in exactly one place (on PostgreSQL the replicas of one database
// share the work, each taking rows FOR UPDATE SKIP LOCKED). Every lookup
// reads the journal too, decoded in memory, encoding only the decisions
// that may match it (journalread.go); a lookup by decision id, lead id or
// email reads only the journal rows whose summaries (id range, a filter of
// lead ids and emails) say they may hold it (journalparts.go); Health
// reports its backlog. A
// SQLite log written before decision ids is converted when a writer opens
// it (legacy.go), and a log written before the journal gets it then.
//
// Concurrency: Log.Log does no I/O. With a mask (or an account the caller
// resolved, or a request that is not one JSON object) it masks and encodes
// the entry on the caller's goroutine, straight from the request's JSON
// bytes (encodejson.go; decoding into a map is the reference it is fuzzed
// against), so that callers encode in parallel; otherwise it keeps the
// request's bytes as they came, and whoever reads the journal (the
// indexer, lookups) encodes them and computes the lead's search keys the
// same way (encodeRaw), off the scoring path: masked values are never
// stored in clear, not even in the journal. Log appends each entry to a
// journal row in the making, a part (parts.go), which one writer goroutine
// compresses and stores as it is: a batch of entries, journalPart bytes,
// or what came in 25 ms, a journal row. The same goroutine indexes the
// journal (multi-row transactions on SQLite, COPY on PostgreSQL) between
// parts, when entries stop coming, and then checkpoints SQLite's
// write-ahead log, so that a burst of entries does not pay for that as it
// goes. When every part is full Log waits for one until the caller's
// context ends (OverflowBlock, the default) or drops at once
// (OverflowDrop); drops are counted and logged as periodic warnings. A
// failing database makes the writer hold its part and retry until the
// database is back; Health says so meanwhile. Close stops accepting
// entries, writes everything accepted, indexes the journal and waits for
// the writer; a process killed keeps every part it appended (it loses at
// most what waited in parts), and the next writer indexes it. Queries (Reader) run concurrently with the writer and with other
// processes writing the same database. Every method is safe for concurrent
// use.
package decisionlog
