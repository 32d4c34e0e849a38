package derive

import "testing"

func TestFloorSig(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 0},
		{1234.5678, 1230},
		{999.99, 999},
		{1000, 1000},
		{0.0012349, 0.00123},
		{1.24, 1.24}, // a decimal that binary floating point cannot hold stays itself
		{0.7, 0.7},
		{-1.2345, -1.24}, // towards minus infinity
		{-1.23, -1.23},
		{7e20, 7e20},
	} {
		if got := floorSig(tc.in, 3); got != tc.want {
			t.Errorf("floorSig(%v, 3) = %v; want %v", tc.in, got, tc.want)
		}
	}
}
