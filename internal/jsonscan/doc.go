// Package jsonscan is leadq's one JSON scanner: the byte-level work of
// finding where JSON values start and end, without decoding them. Every
// part of leadq that walks JSON bytes uses it:
//
//   - Skip passes over one value and validates it as encoding/json's Valid
//     does, with a limit on nesting: the engine's decoder (engine/decode.go)
//     skips the values a ruleset does not read with it, and the decision
//     log's encoder (decisionlog/encodejson.go) the values it copies.
//   - TooDeep finds nesting deeper than a limit by looking at brackets and
//     quotes only: engine.CheckDepth refuses deep requests with it before
//     anything is decoded.
//   - End finds where a value ends by matching quotes and brackets, without
//     validating it; Array walks the elements of an array held in memory
//     with it (the server's batch endpoint), and Reader the values of a
//     stream, an array or one value after another as in JSON Lines
//     (`leadq score`, and `leadq diff`'s --leads).
//
// None of them recurses: nesting costs a counter (End, TooDeep) or a bit
// per level (Skip), so `[[[[...` a million deep is one pass over the bytes,
// never a deep stack. Strings are walked eight bytes at a time
// (internal/swar).
//
// What is left to others: decoding (the engine's decoder and encoding/json)
// and saying precisely what is wrong with malformed JSON (encoding/json,
// whose offsets the callers report). End and Array find a value that is
// not JSON, but whose quotes and brackets balance, whole, so that their
// callers can report it in its place and go on with the next. Reader, in a
// sequence, checks each value with Skip and gives one that is not JSON as
// the rest of its line, then goes on with the next line: a line of JSON
// Lines cut short or with a quote left open hides no line after it.
//
// The reference is encoding/json: FuzzSkip holds Skip to json.Valid (same
// verdict, depth limit enforced), FuzzArray holds Array to json.Unmarshal
// into []json.RawMessage and FuzzReader holds Reader to json.Decoder.
//
// The functions are pure and Array and Reader are plain values owned by one
// goroutine; nothing is shared.
package jsonscan
