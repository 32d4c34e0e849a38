package decisionlog

// JournalRead is what r has read of the journal: rows fetched and decoded,
// their bytes as stored, and the bytes of the rows' summaries
// (journalparts.go).
func JournalRead(r *Reader) (rows, bytes, summaries int64) {
	return r.journalRead.Load(), r.journalBytes.Load(), r.summaryBytes.Load()
}
