// Package checkpoint decides which input offsets may be committed. A
// partition's committed offset only ever moves forward, and only to just past
// the highest offset below which every fetched message is done (fully
// written). kafka-go commits whatever it is given, including a lower offset
// than before, so every commit goes through here.
package checkpoint

import (
	"fmt"
	"sort"
	"sync"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// Tracker tracks in-flight offsets per partition. It is safe for concurrent
// use.
type Tracker struct {
	mu    sync.Mutex
	parts map[TopicPartition]*partition
}

type partition struct {
	pending   []int64        // tracked offsets, ascending, not yet released
	done      map[int64]bool // subset of pending that is done
	committed int64          // next offset to consume, as last committed; -1 if none
	ready     int64          // highest releasable commit offset not yet committed; -1 if none
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{parts: map[TopicPartition]*partition{}} }

func (t *Tracker) part(tp TopicPartition) *partition {
	p := t.parts[tp]
	if p == nil {
		p = &partition{done: map[int64]bool{}, committed: -1, ready: -1}
		t.parts[tp] = p
	}
	return p
}

// Track records that offset was fetched and is in flight. Offsets of a
// partition are normally tracked in ascending order; an offset at or below
// one already tracked means the partition was re-delivered (a rebalance
// handed it back from its committed offset). That offset is tracked too and
// simply cannot move the commit backwards.
func (t *Tracker) Track(tp TopicPartition, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.part(tp)
	i := sort.Search(len(p.pending), func(i int) bool { return p.pending[i] >= offset })
	if i < len(p.pending) && p.pending[i] == offset {
		return // the same offset twice in flight: one Done covers both
	}
	p.pending = append(p.pending, 0)
	copy(p.pending[i+1:], p.pending[i:])
	p.pending[i] = offset
}

// Done marks offset as fully processed and releases every leading done
// offset. It reports the commit offset (offset+1 of the highest released
// message) if that moves the partition forward past what was committed.
func (t *Tracker) Done(tp TopicPartition, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.part(tp)
	p.done[offset] = true
	n := 0
	for n < len(p.pending) && p.done[p.pending[n]] {
		delete(p.done, p.pending[n])
		if next := p.pending[n] + 1; next > p.ready && next > p.committed {
			p.ready = next
		}
		n++
	}
	p.pending = p.pending[n:]
}

// Commit is one partition's offset to commit: the next offset to consume.
type Commit struct {
	TopicPartition
	Offset int64
}

// Ready returns, per partition, the offset that may be committed now: only
// partitions whose commit offset would move forward appear.
func (t *Tracker) Ready() []Commit {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Commit
	for tp, p := range t.parts {
		if p.ready > p.committed {
			out = append(out, Commit{tp, p.ready})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Committed records that c was committed successfully. A stale or lower
// commit is ignored, so the recorded offset never decreases.
func (t *Tracker) Committed(c Commit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.part(c.TopicPartition)
	if c.Offset > p.committed {
		p.committed = c.Offset
	}
}

// InFlight is the number of tracked offsets not yet released.
func (t *Tracker) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.parts {
		n += len(p.pending)
	}
	return n
}

// CommittedOffset is the last committed offset of tp (next to consume), or -1.
func (t *Tracker) CommittedOffset(tp TopicPartition) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.parts[tp]; p != nil {
		return p.committed
	}
	return -1
}
