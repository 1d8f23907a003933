package stats

import (
	"testing"

	"kharness/results/stream"
)

func TestDecideExact(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    []float64
		want    Call
		fewWant bool
	}{
		{"identical boots", []float64{325, 325, 325}, []float64{325, 325}, CallSame, false},
		{"pti: +8 on 2 boots", []float64{325.00, 325.01}, []float64{333.10, 333.10}, CallRegression, false},
		{"fewer instructions", []float64{333, 333.1}, []float64{325, 325}, CallImprovement, false},
		{"one boot a side", []float64{325}, []float64{333}, CallSame, true},
		{"ranges overlap", []float64{325, 330}, []float64{328, 333}, CallSame, false},
		{"gap within the spread", []float64{300, 320}, []float64{330, 331}, CallSame, false},
		{"below 0.1%", []float64{325.00, 325.00}, []float64{325.30, 325.30}, CallSame, false},
		{"one instruction in 325", []float64{325.00, 325.01}, []float64{326.00, 326.00}, CallRegression, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, few := DecideExact(tc.a, tc.b, DefaultExactThreshold)
			if got != tc.want || few != tc.fewWant {
				t.Errorf("DecideExact(%v, %v) = %q, %v; want %q, %v", tc.a, tc.b, got, few, tc.want, tc.fewWant)
			}
		})
	}
}

func TestExactFirst(t *testing.T) {
	keys := []Key{{"A", "sec/op"}, {"A", stream.InsnsUnit}, {"B", "sec/op"}, {"A", stream.KernelInsnsUnit}, {"B", stream.InsnsUnit}}
	got := exactFirst(keys)
	want := []Key{{"A", stream.InsnsUnit}, {"A", stream.KernelInsnsUnit}, {"A", "sec/op"}, {"B", stream.InsnsUnit}, {"B", "sec/op"}}
	if len(got) != len(want) {
		t.Fatalf("exactFirst = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("exactFirst = %v, want %v", got, want)
		}
	}
}
