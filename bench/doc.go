// Package bench measures leadq against the limit and against the engines
// users would pick instead, on the b2b-saas example ruleset (6 knockouts,
// 35 score rules, two capped groups, four tiers) and 10,000 generated leads.
//
// The same rules exist four times: leadq itself (../examples/rulesets,
// through engine.Engine), hand-written Go over a typed struct (package
// handwritten, the practical limit), an OPA policy (package oparules) and
// cel-go programs (package celrules). Each runs from decoded input (Go
// values, or the typed struct for the hand-written code) and from JSON
// bytes. TestAgreement checks that all eight agree on every lead, and the
// benchmarks check it again before timing anything.
//
// This is its own Go module so that leadq's go.mod carries neither OPA nor
// CEL; leadq itself is replaced by the parent directory. Run it from here:
//
//	go test ./...                                   # agreement and unit tests
//	go test -run '^$' -bench . -benchmem            # benchmarks and the ratio table
//
// README.md says what is measured and how the engines were made to agree;
// ../BENCHMARKS.md has the results.
package bench
