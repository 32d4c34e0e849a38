package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadq/leadq/server"
)

// benchLeads are the example leads, compact, as a routing system sends them.
func benchLeads(b *testing.B) []string {
	b.Helper()
	var out []string
	for _, name := range []string{"vp-fintech", "director-logistics", "competitor", "missing-firmographics", "wrong-type-employees", "free-mail-unserved", "student-intern"} {
		out = append(out, compact(b, readFile(b, "testdata/leads/"+name+".json")))
	}
	return out
}

// BenchmarkHandler is one decision through the handler, without a network:
// the server's own cost on top of the engine's.
func BenchmarkHandler(b *testing.B) {
	srv, err := server.New(newEngine(b))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchLeads(b)[0])
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/score?ruleset=b2b-saas", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkScoreHTTP is one client scoring one lead at a time over a
// kept-alive connection: the single-request latency.
func BenchmarkScoreHTTP(b *testing.B) {
	ts := newServer(b, newEngine(b))
	body := benchLeads(b)[0]
	client := ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		scoreOnce(b, client, ts.URL, body)
	}
}

// BenchmarkScoreHTTPParallel is many clients on kept-alive connections: the
// throughput.
func BenchmarkScoreHTTPParallel(b *testing.B) {
	ts := newServer(b, newEngine(b))
	body := benchLeads(b)[0]
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			scoreOnce(b, client, ts.URL, body)
		}
	})
}

func scoreOnce(b *testing.B, client *http.Client, url, body string) {
	resp, err := client.Post(url+"/v1/score?ruleset=b2b-saas", "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkBatch posts batches of 1,000 leads; leads/s is the figure.
func BenchmarkBatch(b *testing.B) {
	ts := newServer(b, newEngine(b))
	leads := benchLeads(b)
	items := make([]string, 1000)
	for i := range items {
		items[i] = leads[i%len(leads)]
	}
	body := "[" + strings.Join(items, ",") + "]"
	client := ts.Client()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		scoreBatch(b, client, ts.URL+"/v1/score/batch?ruleset=b2b-saas", "application/json", body)
	}
	b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "leads/s")
}

// BenchmarkStream posts NDJSON streams of 10,000 leads; leads/s is the figure.
func BenchmarkStream(b *testing.B) { benchmarkStream(b, "") }

// BenchmarkStreamBrief is the bulk routing case: verdicts without reasons.
func BenchmarkStreamBrief(b *testing.B) { benchmarkStream(b, "&detail=brief") }

func benchmarkStream(b *testing.B, query string) {
	ts := newServer(b, newEngine(b))
	leads := benchLeads(b)
	var sb strings.Builder
	const n = 10000
	for i := range n {
		sb.WriteString(leads[i%len(leads)])
		sb.WriteByte('\n')
	}
	body := sb.String()
	client := ts.Client()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		scoreBatch(b, client, ts.URL+"/v1/score/stream?ruleset=b2b-saas"+query, "application/x-ndjson", body)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "leads/s")
}

func scoreBatch(b *testing.B, client *http.Client, url, ctype, body string) {
	resp, err := client.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}
