package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The buffers a server keeps from one request for the next are bounded:
// after a request that outgrew them (a huge lead, its id echoed in the
// answer) the pools hold nothing larger than their bounds, and buffers
// within them are kept. sync.Pool may drop what it was given (the race
// detector does so at random, a collection does), never hand back what it
// was not: the tests look at everything the pool holds after each request,
// and a kept buffer need only show up once in many rounds.

// TestAnswerBufferBound: writeDecision keeps an answer's buffer for the
// next single decision up to maxPooledResponse.
func TestAnswerBufferBound(t *testing.T) {
	s := batchServer(t)
	huge := strings.Repeat("h", maxPooledResponse)
	kept := 0
	for range 20 {
		for _, id := range []string{huge, "small"} {
			w := httptest.NewRecorder()
			body := fmt.Sprintf(`{"id": %q, "lead": {"employees": 40, "country": "DE"}}`, id)
			s.ServeHTTP(w, httptest.NewRequest("POST", "/v1/score?ruleset=b2b-saas", strings.NewReader(body)))
			if w.Code != http.StatusOK {
				t.Fatalf("score: %d %s", w.Code, w.Body)
			}
			for {
				bp, ok := s.responseBufs.Get().(*[]byte)
				if !ok {
					break
				}
				if cap(*bp) > maxPooledResponse {
					t.Fatalf("after a %d-byte answer the pool keeps a buffer of %d bytes; want at most %d", w.Body.Len(), cap(*bp), maxPooledResponse)
				}
				kept++
			}
		}
	}
	if kept == 0 {
		t.Error("no answer buffer was kept for the next decision")
	}
}

// TestStreamChunkBound: a finished stream's chunk is kept for the next
// stream without a line arena above maxPooledArena or an answer buffer
// above maxPooledResponse; a chunk within them is kept whole.
func TestStreamChunkBound(t *testing.T) {
	s := batchServer(t)
	huge := strings.Repeat("h", maxPooledResponse)
	small := `{"id": "small", "lead": {"employees": 40, "country": "DE"}}` + "\n"
	kept, keptOuts := 0, 0
	for range 20 {
		for _, body := range []string{
			small + fmt.Sprintf(`{"id": %q, "lead": {"employees": 40}}`, huge) + "\n" + small,
			small + small,
		} {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("POST", "/v1/score/stream?ruleset=b2b-saas", strings.NewReader(body)))
			if w.Code != http.StatusOK || strings.Count(w.Body.String(), "\n") != strings.Count(body, "\n") {
				t.Fatalf("stream: %d %s", w.Code, w.Body)
			}
			for {
				c, ok := s.streamChunks.Get().(*streamChunk)
				if !ok {
					break
				}
				kept++
				for _, o := range c.outs {
					if cap(o) > maxPooledResponse {
						t.Fatalf("after a stream with a %d-byte answer the pool keeps an answer buffer of %d bytes; want at most %d", len(huge), cap(o), maxPooledResponse)
					}
					if cap(o) > 0 {
						keptOuts++
					}
				}
			}
		}
	}
	if kept == 0 || keptOuts == 0 {
		t.Errorf("kept %d chunks with %d answer buffers for the next stream; want some", kept, keptOuts)
	}

	// A chunk whose arena outgrew its bound (lines of up to maxBody) is
	// left to the collector, as a whole.
	for range 20 {
		s.putStreamChunk(&streamChunk{arena: make([]byte, 0, maxPooledArena+1)})
		for {
			c, ok := s.streamChunks.Get().(*streamChunk)
			if !ok {
				break
			}
			if cap(c.arena) > maxPooledArena {
				t.Fatalf("the pool keeps a line arena of %d bytes; want at most %d", cap(c.arena), maxPooledArena)
			}
		}
	}
}
