package report

import "testing"

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"no runs give zero", nil, 0},
		{"one run is its own median", []float64{7}, 7},
		{"three runs give the middle one whatever the order", []float64{9, 1, 4}, 4},
		{"two runs give their mean", []float64{2, 4}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Fatalf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
