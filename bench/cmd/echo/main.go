// Command echo is the baseline of the HTTP throughput comparison: a bare
// net/http server that decodes each POSTed JSON body with encoding/json
// and writes it back, re-encoded. It does what any JSON service must do
// and nothing else, so leadq's requests/s as a share of echo's is the cost
// of deciding (see http/run.sh and BENCHMARKS.md).
//
//	go run ./cmd/echo -addr 127.0.0.1:8081
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(echo)))
}

func echo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":"POST a JSON body"}`, http.StatusMethodNotAllowed)
		return
	}
	var v map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&v); err != nil {
		http.Error(w, `{"error":"bad JSON"}`, http.StatusBadRequest)
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encode"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}
