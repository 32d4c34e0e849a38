package decisionlog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/s2"
)

// TestJournalKeysLater holds a journal row whose search keys are computed
// when read (flag 4: the company stored instead) to the keys prepare
// computed before, and reads rows of both forms in one batch.
func TestJournalKeysLater(t *testing.T) {
	for _, tc := range []struct {
		name, leadID, email string
		company             any
	}{
		{"all", "00Q-1", "Ann@Example.COM", "Acme Widgets Holdings"},
		{"no company", "00Q-2", "b@example.com", nil},
		{"company not a string", "00Q-3", "c@example.com", 42.0},
		{"blank company", "00Q-4", "", "  "},
		{"odd text", "00Q-5\x00", "d@\xffexample.com", "Ünïcode & Co. — x\x00y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := row{leadID: clean(tc.leadID), email: clean(tc.email), rules: []byte{}, input: []byte{1}}
			before.keys = leadKeys(before.leadID, before.email, tc.company, Mask{Mode: MaskNone})
			later := before
			later.keys, later.keysLater = nil, true
			later.company, _ = tc.company.(string)
			data := appendJournal(appendJournal(nil, &before), &later)
			rows, err := decodeJournal(s2.Encode(nil, data), nil)
			if err != nil || len(rows) != 2 {
				t.Fatalf("decodeJournal = %d rows, %v; want 2, nil", len(rows), err)
			}
			if diff := cmp.Diff(before.keys, rows[0].keys); diff != "" {
				t.Errorf("keys stored (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.keys, rows[1].keys); diff != "" {
				t.Errorf("keys computed when read (-want +got):\n%s", diff)
			}
			fresh := later
			fresh.fillKeys()
			if diff := cmp.Diff(before.keys, fresh.keys); diff != "" {
				t.Errorf("fillKeys (-want +got):\n%s", diff)
			}
		})
	}
}
