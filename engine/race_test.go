//go:build race

package engine_test

// raceEnabled: under the race detector sync.Pool drops items at random, so
// allocation counts vary from run to run and the tests that compare them
// allow for it.
const raceEnabled = true
