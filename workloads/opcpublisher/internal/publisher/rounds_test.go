package publisher

import (
	"testing"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/encoding"
)

func TestRoundsKeepEveryQueuedValueInOrder(t *testing.T) {
	vs := []encoding.Value{{Field: "a", Value: 1}, {Field: "b", Value: 1}, {Field: "a", Value: 2}, {Field: "a", Value: 3}, {Field: "b", Value: 2}}
	got := rounds(vs)
	want := [][]any{{1, 1}, {2, 2}, {3}}
	if len(got) != len(want) {
		t.Fatalf("rounds %v", got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("round %d: %v", i, got[i])
		}
		for j := range want[i] {
			if got[i][j].Value != want[i][j] {
				t.Fatalf("round %d: %v", i, got[i])
			}
		}
	}
}
