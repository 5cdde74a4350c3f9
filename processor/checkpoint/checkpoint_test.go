package checkpoint

import (
	"math/rand/v2"
	"testing"
)

var p0 = TopicPartition{"in", 0}

func ready(t *Tracker, tp TopicPartition) int64 {
	for _, c := range t.Ready() {
		if c.TopicPartition == tp {
			return c.Offset
		}
	}
	return -1
}

func TestOutOfOrderDoneWaitsForGap(t *testing.T) {
	tr := New()
	for o := int64(10); o < 15; o++ {
		tr.Track(p0, o)
	}
	tr.Done(p0, 12)
	tr.Done(p0, 14)
	if got := ready(tr, p0); got != -1 {
		t.Fatalf("nothing below 12 is done, yet ready=%d", got)
	}
	tr.Done(p0, 10)
	if got := ready(tr, p0); got != 11 {
		t.Fatalf("ready=%d, want 11", got)
	}
	tr.Done(p0, 11)
	if got := ready(tr, p0); got != 13 {
		t.Fatalf("ready=%d, want 13", got)
	}
	tr.Done(p0, 13)
	if got := ready(tr, p0); got != 15 {
		t.Fatalf("ready=%d, want 15", got)
	}
	if tr.InFlight() != 0 {
		t.Fatalf("in flight %d", tr.InFlight())
	}
}

func TestNeverBackwards(t *testing.T) {
	tr := New()
	tr.Track(p0, 10)
	tr.Done(p0, 10)
	c := tr.Ready()
	if len(c) != 1 || c[0].Offset != 11 {
		t.Fatalf("ready %v", c)
	}
	tr.Committed(c[0])
	// A rebalance hands the partition back from an older committed offset.
	tr.Track(p0, 4)
	tr.Done(p0, 4)
	if got := tr.Ready(); len(got) != 0 {
		t.Fatalf("re-delivered offset 4 must not commit backwards: %v", got)
	}
	tr.Committed(Commit{p0, 5})
	if tr.CommittedOffset(p0) != 11 {
		t.Fatalf("committed went backwards to %d", tr.CommittedOffset(p0))
	}
	tr.Track(p0, 11)
	tr.Done(p0, 11)
	if got := ready(tr, p0); got != 12 {
		t.Fatalf("ready=%d, want 12", got)
	}
}

func TestPartitionsIndependent(t *testing.T) {
	tr := New()
	p1 := TopicPartition{"in", 1}
	tr.Track(p0, 0)
	tr.Track(p1, 0)
	tr.Track(p1, 1)
	tr.Done(p1, 1)
	tr.Done(p1, 0)
	got := tr.Ready()
	if len(got) != 1 || got[0] != (Commit{p1, 2}) {
		t.Fatalf("ready %v", got)
	}
}

// Random completion order: the released offset never exceeds the first
// offset not yet done, and never decreases.
func TestRandomOrderInvariant(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 1))
		tr := New()
		n := 200
		for o := range n {
			tr.Track(p0, int64(o))
		}
		order := r.Perm(n)
		done := make([]bool, n)
		last := int64(-1)
		for _, o := range order {
			tr.Done(p0, int64(o))
			done[o] = true
			firstOpen := int64(n)
			for i, d := range done {
				if !d {
					firstOpen = int64(i)
					break
				}
			}
			got := ready(tr, p0)
			if got == -1 {
				got = last
			}
			if got > firstOpen {
				t.Fatalf("seed %d: ready %d past first undone %d", seed, got, firstOpen)
			}
			if got < last {
				t.Fatalf("seed %d: ready went backwards %d -> %d", seed, last, got)
			}
			if got >= 0 {
				tr.Committed(Commit{p0, got})
			}
			last = got
		}
		if last != int64(n) {
			t.Fatalf("seed %d: final %d want %d", seed, last, n)
		}
	}
}
