package plc

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// dotnetRandom is .NET's seeded System.Random (the legacy subtractive generator of
// Knuth that `new Random(seed)` still uses), enough of it to reproduce OPC PLC's
// DeterministicGuid: NextInt64(min, max).
type dotnetRandom struct {
	seed          [56]int32
	inext, inextp int
}

func newDotnetRandom(seed int32) *dotnetRandom {
	const mbig, mseed = math.MaxInt32, 161803398
	r := &dotnetRandom{inextp: 21}
	sub := seed
	switch {
	case seed == math.MinInt32:
		sub = math.MaxInt32
	case seed < 0:
		sub = -seed
	}
	mj := int32(mseed) - sub
	r.seed[55] = mj
	mk := int32(1)
	ii := 0
	for i := 1; i < 55; i++ {
		if ii += 21; ii >= 55 {
			ii -= 55
		}
		r.seed[ii] = mk
		if mk = mj - mk; mk < 0 {
			mk += mbig
		}
		mj = r.seed[ii]
	}
	for range 4 {
		for i := 1; i < 56; i++ {
			n := i + 30
			if n >= 55 {
				n -= 55
			}
			if r.seed[i] -= r.seed[1+n]; r.seed[i] < 0 {
				r.seed[i] += mbig
			}
		}
	}
	return r
}

func (r *dotnetRandom) internalSample() int32 {
	in, inp := r.inext+1, r.inextp+1
	if in >= 56 {
		in = 1
	}
	if inp >= 56 {
		inp = 1
	}
	v := r.seed[in] - r.seed[inp]
	if v == math.MaxInt32 {
		v--
	}
	if v < 0 {
		v += math.MaxInt32
	}
	r.seed[in], r.inext, r.inextp = v, in, inp
	return v
}

// next is Next(max): [0, max).
func (r *dotnetRandom) next(max int32) int32 {
	return int32(float64(r.internalSample()) * (1.0 / math.MaxInt32) * float64(max))
}

// nextInt64 is NextInt64(min, max): [min, max), by rejection over the smallest power of
// two range, as .NET does.
func (r *dotnetRandom) nextInt64(min, max int64) int64 {
	n := uint64(max - min)
	if n <= 1 {
		return min
	}
	shift := 64 - bits.Len64(n-1)
	for {
		u := uint64(uint32(r.next(1<<22))) | uint64(uint32(r.next(1<<22)))<<22 | uint64(uint32(r.next(1<<20)))<<44
		if v := u >> shift; v < n {
			return int64(v) + min
		}
	}
}

// GUIDs returns the identifiers of the n --gn nodes, upper case: OPC PLC's
// DeterministicGuid sequence (.NET Random(1234), version-4 layout), so the ids are the
// same as OPC PLC's in every run.
func GUIDs(n int) []string {
	r := newDotnetRandom(1234)
	out := make([]string, n)
	for i := range out {
		out[i] = strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
			r.nextInt64(0, 1<<32), r.nextInt64(0, 1<<16), r.nextInt64(0x4000, 0x4fff), r.nextInt64(0x8000, 0xbfff), r.nextInt64(0, 1<<48)))
	}
	return out
}
