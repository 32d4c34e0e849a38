package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
)

func TestRun(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run([]string{"-n", "50", "-seed", "7"}, &out, &errs); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errs.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	lines := 0
	for sc.Scan() {
		lines++
		if _, err := engine.ParseInput(sc.Bytes()); err != nil {
			t.Errorf("line %d: ParseInput(%s) = %v", lines, sc.Bytes(), err)
		}
	}
	if lines != 50 {
		t.Errorf("got %d lines; want 50", lines)
	}

	var again bytes.Buffer
	if err := run([]string{"-seed", "7", "-n", "50"}, &again, &errs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("the same -n and -seed gave different output")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "-1"}, {"-messy", "2"}, {"extra"}, {"-bogus"}} {
		var out, errs bytes.Buffer
		if err := run(args, &out, &errs); err == nil {
			t.Errorf("run(%q) = nil; want an error", strings.Join(args, " "))
		}
		if out.Len() > 0 {
			t.Errorf("run(%q) wrote %d bytes to stdout; want none", strings.Join(args, " "), out.Len())
		}
	}
}
