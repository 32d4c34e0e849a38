// Package derive proposes a ruleset from history: a scorecard, as
// credit-risk teams build them, written as leadq rules a marketer can read.
//
// Derive reads its rows twice through a caller's opener (bounded memory:
// two bytes per training row and used column, plus each column's
// distinct values, at most maxDistinct of them). The first pass labels the
// rows (an expression over the columns, an outcome value, or the top N by
// a column), holds a seeded, stratified share out (streamed to a
// RowWriter), and counts each column's values on the training rows. From
// those counts each column is cut into bins: numbers into ranges whose
// rate of best rows rises or falls steadily (pooled adjacent violators,
// one turn allowed when it keeps much more information), values on few
// rows pooled, rows without a value a bin of their own; columns that look
// recorded after contact are left out. The second pass puts every training
// row into its bins (as levels: a number's place among the column's
// distinct numbers). A ridge logistic regression (logit.go, Newton's
// method, tested against scikit-learn) is fitted on the bins; k-fold
// cross-validation chooses its penalty and the size of the numbers'
// ranges, cutting the ranges again inside every fold from that fold's
// training rows, so that it sees how much the cutting itself overfits.
// The coefficients become integer points against each column's
// reference bin. Tiers are cut from
// the training scores, each with the rate cross-validation expects. The
// file always compiles and passes its own tests.
//
// derive decides what to propose; opening files, writing them and flags
// are the caller's (cmd/leadq derive). Derive is safe to call from several
// goroutines on different sources.
package derive
