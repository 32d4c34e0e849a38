package decisionlog

import "context"

// JournalRead is what r has read of the journal: rows fetched and decoded,
// their bytes as stored, and the bytes of the rows' summaries
// (journalparts.go).
func JournalRead(r *Reader) (rows, bytes, summaries int64) {
	return r.journalRead.Load(), r.journalBytes.Load(), r.summaryBytes.Load()
}

// JournalCandidates lists the journal rows a lookup of the lead id or the
// email (as stored) reads, as PostgreSQL finds them (mayHold) and as the
// summaries read into Go find them (partSummary.mayHold).
func JournalCandidates(ctx context.Context, r *Reader, leadID, email string) (inSQL, inGo []int64, err error) {
	q := journalQuery{leadID: leadID, email: email}
	seqs, may, err := r.mayHold(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	parts := map[int64]*jpart{}
	var all []any
	for _, seq := range seqs {
		parts[seq] = &jpart{}
		all = append(all, seq)
	}
	if err := r.readSummaries(ctx, all, parts); err != nil {
		return nil, nil, err
	}
	for _, seq := range seqs {
		if may[seq] {
			inSQL = append(inSQL, seq)
		}
		if parts[seq].sum.mayHold(q) {
			inGo = append(inGo, seq)
		}
	}
	return inSQL, inGo, nil
}
