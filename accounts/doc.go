// Package accounts resolves a lead's account from the domain of its email,
// so that a lead is scored together with what we know of its company. It
// owns the account file (CSV with a header, or JSON Lines, each record with a
// domain and the account's fields), its reload when the file changes, and a
// cache of lookups. Scoring stays with engine; the server decides that an
// account given in a request wins over a resolved one.
//
// Free-mail domains (eval.IsFreeEmail) never resolve: a gmail.com address
// says nothing about the lead's company. A lead at a subdomain
// (eu.acme.example) resolves to the parent's account (acme.example) when the
// subdomain has none of its own.
//
// Concurrency: a Directory is safe for concurrent use. Resolve takes no lock
// but the cache's; Reload builds a new table and swaps it in atomically with
// a new, empty cache, so that no lookup ever mixes two versions of the file.
// A failed reload keeps the last good table. Watch runs one goroutine,
// stopped by Watcher.Close or the end of its context.
package accounts
