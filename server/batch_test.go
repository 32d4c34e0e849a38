package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
)

// batchPaths sends body to the batch endpoint, which splits it itself and
// decides on every core, and to scoreBatchSlowly, which has encoding/json
// split it: the answers must be the same, byte for byte.
func batchPaths(t *testing.T, s *Server, body []byte) {
	t.Helper()
	for _, query := range []string{"ruleset=b2b-saas", "ruleset=b2b-saas&strict=true&detail=brief"} {
		fast := httptest.NewRecorder()
		s.ServeHTTP(fast, httptest.NewRequest("POST", "/v1/score/batch?"+query, bytes.NewReader(body)))

		slow := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/score/batch?"+query, bytes.NewReader(body))
		q, err := parseQuery(r)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := s.ruleset(q.ruleset)
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.CheckDepth(body, maxDepth); err != nil {
			writeError(slow, r, err)
		} else if err := s.scoreBatchSlowly(context.Background(), slow, rs, q, body); err != nil {
			writeError(slow, r, err)
		}
		// An element that is not JSON, inside an array whose quotes and
		// brackets balance, is answered in its place; encoding/json
		// refuses the whole body.
		if fast.Code == http.StatusOK && slow.Code == http.StatusBadRequest &&
			strings.Contains(slow.Body.String(), `"code":"invalid_json"`) && strings.Contains(fast.Body.String(), `"code":"invalid_json"`) {
			continue
		}
		if fast.Code != slow.Code || !bytes.Equal(fast.Body.Bytes(), slow.Body.Bytes()) {
			t.Fatalf("%s %q:\nsplit here: %d %s\nencoding/json: %d %s", query, body, fast.Code, fast.Body, slow.Code, slow.Body)
		}
	}
}

func batchServer(t testing.TB) *Server {
	eng, err := engine.Open(context.Background(), engine.FS(os.DirFS("testdata/rules")),
		engine.WithClock(func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(eng, WithDecisionIDs(sameID))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameID gives every decision one id, for tests that compare two answers
// byte for byte.
func sameID() string { return "01930000-0000-7000-8000-000000000000" }

func batchSeeds(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/leads/*.json")
	var leads []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		leads = append(leads, string(b))
	}
	all := strings.Join(leads, ",")
	return []string{
		"[" + all + "]",
		" \n[ " + strings.Join(leads, " ,\n ") + " ]\r\n",
		"[" + all + "," + all + "," + all + "]", // enough for every core
		`[]`, `[ ]`, ` [ ] `, `[7, "x", null, true, {"lead": null}, {"lead": {"employees": "many"}}]`,
		`[{"lead": {"title": "a \"quoted\" \\ title]", "employees": 5}}, {"id": "]},{"}]`,
		`[1,]`, `[,1]`, `[1 2]`, `[{"a": tru}]`, `[{"a": 1}}]`, `[{"a": 1}]]`, `[{"a": 1}] x`, `[{"a": "x]`,
		`[{"a": "\"}]`, `[{]`, `[}]`, `{"lead": {}}`, `[` + leads[0], `[` + all + `,{"lead": {"employees": 1e999}}]`,
		`[` + all + `,{"lead": {"employees": 12,}}]`, "[\"\xff\"]", `[{"lead": {"country": "\ud800"}}]`,
	}
}

func TestBatchSplitMatchesEncodingJSON(t *testing.T) {
	s := batchServer(t)
	for _, body := range batchSeeds(t) {
		batchPaths(t, s, []byte(body))
	}
}

func FuzzBatchSplit(f *testing.F) {
	for _, body := range batchSeeds(f) {
		f.Add([]byte(body))
	}
	s := batchServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		batchPaths(t, s, body)
	})
}

// An element that is not JSON is an error in its place, wherever it is in
// the batch (the answer is written a chunk at a time, so the status has
// gone out before a later chunk is read): the others are decided and
// counted, the broken one is counted as refused.
func TestBatchElementNotJSON(t *testing.T) {
	s := batchServer(t)
	lead, err := os.ReadFile("testdata/leads/vp-fintech.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{8, 3 * batchChunk} {
		body := "[" + strings.Repeat(string(lead)+",", n) + `{"a": tru}]`
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/score/batch?ruleset=b2b-saas", strings.NewReader(body)))
		var resp struct {
			Decisions []struct {
				Index *int
				Error *struct{ Code string }
			}
			Failed int
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%d leads and a broken one: %d, %v", n, rec.Code, err)
		}
		last := resp.Decisions[len(resp.Decisions)-1]
		if rec.Code != http.StatusOK || len(resp.Decisions) != n+1 || resp.Failed != 1 || last.Error == nil || last.Error.Code != "invalid_json" || *last.Index != n {
			t.Errorf("%d leads and a broken one = %d, %d answers, failed %d, last %+v; want 200, %d answers, the last invalid_json at index %d",
				n, rec.Code, len(resp.Decisions), resp.Failed, last, n+1, n)
		}
	}
	metrics := httptest.NewRecorder()
	s.ServeHTTP(metrics, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`leadq_leads_refused_total{code="invalid_json"} 2`, `leadq_decisions_total{qualified="true",ruleset="b2b-saas",tier="A"} ` + strconv.Itoa(8+3*batchChunk)} {
		if !strings.Contains(metrics.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics.Body)
		}
	}
}
