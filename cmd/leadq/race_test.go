//go:build race

package main

// raceEnabled: the race detector multiplies memory and time, so the tests
// that measure a real server's memory skip under it.
const raceEnabled = true
