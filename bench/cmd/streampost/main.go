// Command streampost posts an NDJSON file of leads to leadq's
// /v1/score/stream and reports how fast the answers came back: the
// client side of stream/run.sh, which measures leadq end to end.
//
// It streams the file as the request body and reads the answers as they
// arrive, counting lines, and does nothing else with them, so that it
// costs the two cores it shares with the server as little as it can (curl
// took a quarter of a core and, reading the whole file first, a third of
// the time):
//
//	go run ./cmd/streampost -url 'http://127.0.0.1:8080/v1/score/stream?ruleset=b2b-saas' leads.ndjson
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/v1/score/stream?ruleset=b2b-saas", "the stream endpoint, with its query")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: streampost [-url URL] LEADS.ndjson")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*url, flag.Arg(0), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "streampost:", err)
		os.Exit(1)
	}
}

// run posts the file and prints one line: leads, seconds, leads/s, bytes
// of answers, and how many answers were errors.
func run(url, path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	resp, err := http.Post(url, "application/x-ndjson", bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	lines, errs, size, err := count(resp.Body)
	if err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	fmt.Fprintf(out, "%d leads in %.3f s: %.0f leads/s, %d bytes of answers, %d errors\n",
		lines, elapsed, float64(lines)/elapsed, size, errs)
	return nil
}

// count reads answers to the end: how many lines, how many of them are
// errors (an error's answer starts with its line number), and the bytes.
func count(r io.Reader) (lines, errs int, size int64, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	atStart := true // the next byte starts an answer
	for {
		frag, rerr := br.ReadSlice('\n')
		size += int64(len(frag))
		if atStart && bytes.HasPrefix(frag, []byte(`{"line":`)) {
			errs++
		}
		if atStart = len(frag) > 0 && frag[len(frag)-1] == '\n'; atStart {
			lines++
		}
		switch {
		case rerr == nil, errors.Is(rerr, bufio.ErrBufferFull):
		case errors.Is(rerr, io.EOF):
			return lines, errs, size, nil
		default:
			return lines, errs, size, rerr
		}
	}
}
