package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Report compares what was produced with what the sink received.
type Report struct {
	// Produced is the number of distinct message ids expected at the sink.
	Produced int
	// Delivered is how many of them the sink has (at least once).
	Delivered int
	// Duplicates counts deliveries beyond the first of an id.
	Duplicates int
	// Missing lists the expected ids the sink never received, in order.
	Missing []string
	// Writers summarises each writer (`<kind>/<writer>`): sequences seen and gaps.
	Writers map[string]WriterReport
}

// WriterReport is one writer's sequence range as observed anywhere.
type WriterReport struct {
	MinSeq, MaxSeq int64
	// Gaps are sequence numbers inside [MinSeq, MaxSeq] that nobody saw, neither the
	// L2 tap nor the sink: lost before reaching the first broker.
	Gaps []int64
}

// splitID splits `<kind>/<writer>/<sequence>` into writer key and sequence.
func splitID(id string) (string, int64, bool) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:i], n, true
}

// Verify reports every id in produced (id → times seen at L2) or implied by a writer's
// contiguous sequence range that is missing from delivered (id → times written by the
// sink), and counts duplicates.
func Verify(produced, delivered map[string]int) Report {
	r := Report{Writers: map[string]WriterReport{}}
	expected := map[string]bool{}
	seen := map[string]map[int64]bool{}
	note := func(id string) {
		w, seq, ok := splitID(id)
		if !ok {
			return
		}
		if seen[w] == nil {
			seen[w] = map[int64]bool{}
		}
		seen[w][seq] = true
	}
	for id := range produced {
		expected[id] = true
		note(id)
	}
	for id := range delivered {
		note(id)
	}
	for w, seqs := range seen {
		wr := WriterReport{MinSeq: -1}
		for s := range seqs {
			if wr.MinSeq < 0 || s < wr.MinSeq {
				wr.MinSeq = s
			}
			wr.MaxSeq = max(wr.MaxSeq, s)
		}
		for s := wr.MinSeq; s <= wr.MaxSeq; s++ {
			if !seqs[s] {
				wr.Gaps = append(wr.Gaps, s)
			}
			expected[w+"/"+strconv.FormatInt(s, 10)] = true
		}
		r.Writers[w] = wr
	}
	r.Produced = len(expected)
	for id := range expected {
		if n := delivered[id]; n > 0 {
			r.Delivered++
		} else {
			r.Missing = append(r.Missing, id)
		}
	}
	for _, n := range delivered {
		if n > 1 {
			r.Duplicates += n - 1
		}
	}
	sort.Slice(r.Missing, func(i, j int) bool { return lessID(r.Missing[i], r.Missing[j]) })
	return r
}

func lessID(a, b string) bool {
	wa, sa, oka := splitID(a)
	wb, sb, okb := splitID(b)
	if oka && okb && wa == wb {
		return sa < sb
	}
	return a < b
}

// String is a one-paragraph summary naming up to 20 missing ids.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "produced %d ids, delivered %d, missing %d, duplicates %d", r.Produced, r.Delivered, len(r.Missing), r.Duplicates)
	ws := make([]string, 0, len(r.Writers))
	for w := range r.Writers {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	for _, w := range ws {
		wr := r.Writers[w]
		fmt.Fprintf(&b, "; %s seq %d..%d", w, wr.MinSeq, wr.MaxSeq)
		if len(wr.Gaps) > 0 {
			fmt.Fprintf(&b, " (%d never seen anywhere)", len(wr.Gaps))
		}
	}
	if len(r.Missing) > 0 {
		show := r.Missing
		if len(show) > 20 {
			show = show[:20]
		}
		fmt.Fprintf(&b, "; missing: %s", strings.Join(show, ", "))
		if len(r.Missing) > 20 {
			fmt.Fprintf(&b, " … and %d more", len(r.Missing)-20)
		}
	}
	return b.String()
}
