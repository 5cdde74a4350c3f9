package stream

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/tagger"
)

// fakeFetcher serves a fixed list of messages and records commits, failing
// the test if a partition's commit ever moves backwards.
type fakeFetcher struct {
	t         *testing.T
	mu        sync.Mutex
	queue     []kafka.Message
	committed map[int]int64
}

func (f *fakeFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for {
		f.mu.Lock()
		if len(f.queue) > 0 {
			m := f.queue[0]
			f.queue = f.queue[1:]
			f.mu.Unlock()
			return m, nil
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (f *fakeFetcher) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range msgs {
		if prev, ok := f.committed[m.Partition]; ok && m.Offset+1 < prev {
			f.t.Errorf("partition %d commit moved backwards %d -> %d", m.Partition, prev, m.Offset+1)
		}
		f.committed[m.Partition] = m.Offset + 1
	}
	return nil
}

func (f *fakeFetcher) commit(p int) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.committed[p]; ok {
		return o
	}
	return -1
}

// fakeProducer records written messages; fail decides each message's error.
type fakeProducer struct {
	mu      sync.Mutex
	written []kafka.Message
	calls   int
	fail    func(call int, m kafka.Message) error
}

func (p *fakeProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	werrs := make(kafka.WriteErrors, len(msgs))
	failed := false
	for i, m := range msgs {
		if p.fail != nil {
			werrs[i] = p.fail(p.calls, m)
		}
		if werrs[i] == nil {
			p.written = append(p.written, m)
		} else {
			failed = true
		}
	}
	if failed {
		return werrs
	}
	return nil
}

func (p *fakeProducer) byTopic(topic string) []kafka.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []kafka.Message
	for _, m := range p.written {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

func snapshot(t *testing.T) *enrich.Snapshot {
	t.Helper()
	tg, err := tagger.New(config.DefaultDictionaries())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Parse("t", []byte("rules:\n  - name: any-ceasefire\n    topic: alerts\n    topics: {any: [ceasefire]}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &enrich.Snapshot{Tagger: tg, Rules: rs}
}

func story(p int, off int64, id, body string) kafka.Message {
	return kafka.Message{Topic: "in", Partition: p, Offset: off, Key: []byte(id), Time: time.Now(),
		Value: fmt.Appendf(nil, `{"id":%q,"language":"en","headline":"h","body":%q}`, id, body)}
}

type harness struct {
	f      *fakeFetcher
	p      *fakeProducer
	proc   *Processor
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, snap *enrich.Snapshot, msgs []kafka.Message, fail func(int, kafka.Message) error) *harness {
	t.Helper()
	return runWith(t, snap, msgs, fail, nil)
}

func runWith(t *testing.T, snap *enrich.Snapshot, msgs []kafka.Message, fail func(int, kafka.Message) error,
	committed func(context.Context, string, []int) (map[int]int64, error)) *harness {
	t.Helper()
	h := &harness{
		f:    &fakeFetcher{t: t, queue: msgs, committed: map[int]int64{}},
		p:    &fakeProducer{fail: fail},
		done: make(chan error, 1),
	}
	h.proc = New(Options{
		EnrichedTopic: "enriched", DeadLetterTopic: "dlq", Workers: 3, BatchSize: 4, BatchWait: 5 * time.Millisecond,
		MaxMessageBytes: 10000, WriteBatchBytes: 20000, RetryAttempts: 2, RetryBackoff: time.Millisecond,
		RetryMaxBackoff: 5 * time.Millisecond, DrainTimeout: 2 * time.Second, Version: "test",
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Metrics: metrics.New("test"),
		Snapshot:  func() *enrich.Snapshot { return snap },
		Committed: committed,
	}, h.f, h.p)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.proc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const ceasefire = "Vladimir Putin and Volodymyr Zelensky discussed a ceasefire."

func TestPanicInTaggingIsDeadLettered(t *testing.T) {
	// A nil tagger panics inside Tag, as a tagger bug would.
	h := run(t, &enrich.Snapshot{}, []kafka.Message{story(0, 0, "a", ceasefire), story(0, 1, "b", ceasefire)}, nil)
	waitFor(t, "commit", func() bool { return h.f.commit(0) == 2 })
	dl := h.p.byTopic("dlq")
	if len(dl) != 2 {
		t.Fatalf("%d dead letters", len(dl))
	}
	if c, _ := Header(dl[0].Headers, HeaderErrorClass); c != enrich.ClassPanic {
		t.Fatalf("class %q", c)
	}
	if msg, _ := Header(dl[0].Headers, HeaderErrorMessage); len(msg) > maxErrorHeader+3 {
		t.Fatalf("error header not bounded: %d bytes", len(msg))
	}
}

// A record the broker refuses for good (too large) sends its story to the
// dead-letter topic; other stories and the commit are unaffected.
func TestPermanentRejectionDeadLettersTheStory(t *testing.T) {
	snap := snapshot(t)
	msgs := []kafka.Message{story(0, 0, "a", ceasefire), story(0, 1, "b", ceasefire), story(0, 2, "c", "Nothing here.")}
	h := run(t, snap, msgs, func(_ int, m kafka.Message) error {
		if m.Topic == "alerts" && string(m.Key) == "b" {
			return kafka.MessageSizeTooLarge
		}
		return nil
	})
	waitFor(t, "commit", func() bool { return h.f.commit(0) == 3 })
	dl := h.p.byTopic("dlq")
	if len(dl) != 1 || string(dl[0].Key) != "b" {
		t.Fatalf("dead letters %v", dl)
	}
	if c, _ := Header(dl[0].Headers, HeaderErrorClass); c != enrich.ClassProduceRejected {
		t.Fatalf("class %q", c)
	}
	if string(dl[0].Value) != string(msgs[1].Value) {
		t.Fatal("dead letter lacks the original bytes")
	}
	if n := len(h.p.byTopic("alerts")); n != 1 {
		t.Fatalf("%d alerts written, want 1 (story a)", n)
	}
}

// When the dead-letter record with the original bytes is refused, a record
// without them goes instead.
func TestDeadLetterStrippedWhenRefused(t *testing.T) {
	h := run(t, snapshot(t), []kafka.Message{{Topic: "in", Partition: 1, Offset: 5, Key: []byte("k"), Value: []byte("[1,2]")}},
		func(_ int, m kafka.Message) error {
			if m.Topic == "dlq" && len(m.Value) > 0 {
				return kafka.MessageSizeTooLarge
			}
			return nil
		})
	waitFor(t, "commit", func() bool { return h.f.commit(1) == 6 })
	dl := h.p.byTopic("dlq")
	if len(dl) != 1 || len(dl[0].Value) != 0 {
		t.Fatalf("dead letters %v", dl)
	}
	if _, ok := Header(dl[0].Headers, HeaderOriginalOmitted); !ok {
		t.Fatal("no original-omitted header")
	}
}

// If the dead-letter topic refuses even a bare record, the partition is
// held (not ready, nothing committed past it) until it accepts.
func TestHoldWhenDeadLetterTopicRefusesEverything(t *testing.T) {
	var refuse sync.Mutex
	refusing := true
	h := run(t, snapshot(t), []kafka.Message{story(0, 0, "a", ceasefire), {Topic: "in", Partition: 0, Offset: 1, Value: nil}, story(0, 2, "c", ceasefire)},
		func(_ int, m kafka.Message) error {
			refuse.Lock()
			defer refuse.Unlock()
			if m.Topic == "dlq" && refusing {
				return kafka.MessageSizeTooLarge
			}
			return nil
		})
	waitFor(t, "not ready", func() bool { ok, _ := h.proc.Ready(); return !ok })
	time.Sleep(50 * time.Millisecond)
	if c := h.f.commit(0); c > 1 {
		t.Fatalf("committed %d past the unwritten dead letter at offset 1", c)
	}
	refuse.Lock()
	refusing = false
	refuse.Unlock()
	waitFor(t, "commit after recovery", func() bool { return h.f.commit(0) == 3 })
	waitFor(t, "ready", func() bool { ok, _ := h.proc.Ready(); return ok })
}

// Transient per-message failures retry only the failed records.
func TestTransientPartialFailureRetriesOnlyFailed(t *testing.T) {
	var msgs []kafka.Message
	for i := range 8 {
		msgs = append(msgs, story(i%2, int64(i/2), fmt.Sprintf("s%d", i), ceasefire))
	}
	h := run(t, snapshot(t), msgs, func(call int, m kafka.Message) error {
		if call <= 3 && m.Partition == 0 && m.Topic == "enriched" {
			return kafka.NotLeaderForPartition
		}
		return nil
	})
	waitFor(t, "commits", func() bool { return h.f.commit(0) == 4 && h.f.commit(1) == 4 })
	seen := map[string]int{}
	for _, m := range h.p.byTopic("enriched") {
		seen[string(m.Key)]++
	}
	for i := range 8 {
		if n := seen[fmt.Sprintf("s%d", i)]; n != 1 {
			t.Errorf("s%d written %d times", i, n)
		}
	}
}

// Cancelling Run drains: what was fetched is written and committed.
func TestDrainOnCancel(t *testing.T) {
	var msgs []kafka.Message
	for i := range 50 {
		msgs = append(msgs, story(0, int64(i), fmt.Sprintf("d%d", i), ceasefire))
	}
	h := run(t, snapshot(t), msgs, nil)
	waitFor(t, "some progress", func() bool { return h.f.commit(0) > 0 })
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for Cleanup
	written := len(h.p.byTopic("enriched"))
	if c := h.f.commit(0); int(c) != written {
		t.Fatalf("committed %d but wrote %d: drain left written work uncommitted", c, written)
	}
}

func TestIdempotencyKeyDeterministic(t *testing.T) {
	a := IdempotencyKey("in", 1, 2, "alert", "r")
	if a != IdempotencyKey("in", 1, 2, "alert", "r") || a == IdempotencyKey("in", 1, 2, "alert", "s") ||
		a == IdempotencyKey("in", 12, 2, "alert", "r") || len(a) != 32 {
		t.Fatal("idempotency key not a deterministic function of its inputs")
	}
	// Keys must not change across versions: consumers deduplicate records
	// written before and after an upgrade.
	if a != "7a2628f50f21600f01a67e21009e71e1" || IdempotencyKey("wiretag.stories", 5, 123456789, "enriched", "") != "6defa28abbdd6d0cc245a0ddbd2da1ab" {
		t.Fatalf("idempotency key changed: %s", a)
	}
}

// Work on a partition the group has already committed further (another
// member took it over and wrote it) is neither written again nor committed
// backwards.
func TestWorkTheGroupCommittedIsSkipped(t *testing.T) {
	var msgs []kafka.Message
	for i := range 6 {
		msgs = append(msgs, story(0, int64(i), fmt.Sprintf("s%d", i), ceasefire))
	}
	msgs = append(msgs, story(1, 0, "other", ceasefire))
	h := runWith(t, snapshot(t), msgs, nil, func(_ context.Context, topic string, parts []int) (map[int]int64, error) {
		return map[int]int64{0: 100, 1: -1}, nil // the group is at 100 on partition 0
	})
	waitFor(t, "partition 1 committed", func() bool { return h.f.commit(1) == 1 })
	waitFor(t, "nothing in flight", func() bool { return h.proc.tracker.InFlight() == 0 })
	if c := h.f.commit(0); c != -1 {
		t.Fatalf("committed %d although the group is at 100", c)
	}
	for _, m := range h.p.byTopic("enriched") {
		if m.Partition == 0 && string(m.Key) != "other" {
			t.Fatalf("story %s written although the group committed past it", m.Key)
		}
	}
	if n := len(h.p.byTopic("enriched")); n != 1 {
		t.Fatalf("%d enriched written, want 1 (partition 1's story)", n)
	}
}

// wholeProducer fails whole calls with a record-level error code.
type wholeProducer struct {
	fakeProducer
	failures int
}

func (p *wholeProducer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	if p.failures > 0 {
		p.failures--
		p.mu.Unlock()
		return kafka.MessageSizeTooLarge // not per record: says nothing about any one
	}
	p.mu.Unlock()
	return p.fakeProducer.WriteMessages(ctx, msgs...)
}

func TestWholeCallErrorIsRetriedNotDeadLettered(t *testing.T) {
	f := &fakeFetcher{t: t, queue: []kafka.Message{story(0, 0, "a", ceasefire)}, committed: map[int]int64{}}
	wp := &wholeProducer{failures: 3}
	proc := New(Options{EnrichedTopic: "enriched", DeadLetterTopic: "dlq", RetryAttempts: 5, RetryBackoff: time.Millisecond,
		RetryMaxBackoff: 2 * time.Millisecond, Log: zerolog.Nop(), Snapshot: func() *enrich.Snapshot { return snapshot(t) }}, f, wp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	waitFor(t, "commit", func() bool { return f.commit(0) == 1 })
	cancel()
	<-done
	if dl := wp.byTopic("dlq"); len(dl) != 0 {
		t.Fatalf("whole-call error dead-lettered the story")
	}
	if len(wp.byTopic("enriched")) != 1 {
		t.Fatal("story not written after retries")
	}
}

// A tagger that never returns leaves the stages ticking but nothing done:
// liveness must fail so the orchestrator restarts the process.
func TestStuckTaggingFailsLiveness(t *testing.T) {
	f := &fakeFetcher{t: t, queue: []kafka.Message{story(0, 0, "a", ceasefire)}, committed: map[int]int64{}}
	snap := snapshot(t)
	block := make(chan struct{})
	proc := New(Options{EnrichedTopic: "enriched", DeadLetterTopic: "dlq", StallTimeout: 300 * time.Millisecond,
		Log: zerolog.Nop(), Snapshot: func() *enrich.Snapshot { <-block; return snap }}, f, &fakeProducer{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	waitFor(t, "live", func() bool { ok, _ := proc.Live(); return ok })
	waitFor(t, "not live", func() bool { ok, _ := proc.Live(); return !ok })
	if _, why := proc.Live(); !strings.Contains(why, "no batch written") {
		t.Fatalf("reason %q", why)
	}
	close(block)
	waitFor(t, "live again once the story is written", func() bool { ok, _ := proc.Live(); return ok })
	cancel()
	<-done
}

// tooLargeProducer refuses a call the way kafka-go's own size check does:
// one MessageTooLargeError for the whole call, nothing sent.
type tooLargeProducer struct {
	fakeProducer
	key string
}

func (p *tooLargeProducer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	for i, m := range msgs {
		if string(m.Key) == p.key && m.Topic == "enriched" {
			return kafka.MessageTooLargeError{Message: m, Remaining: msgs[i+1:]}
		}
	}
	return p.fakeProducer.WriteMessages(ctx, msgs...)
}

func TestClientSideTooLargeDeadLettersOnlyThatStory(t *testing.T) {
	f := &fakeFetcher{t: t, queue: []kafka.Message{story(0, 0, "a", ceasefire), story(0, 1, "big", ceasefire), story(0, 2, "c", ceasefire)}, committed: map[int]int64{}}
	wp := &tooLargeProducer{key: "big"}
	snap := snapshot(t)
	proc := New(Options{EnrichedTopic: "enriched", DeadLetterTopic: "dlq", BatchSize: 10, BatchWait: 20 * time.Millisecond,
		RetryBackoff: time.Millisecond, Log: zerolog.Nop(), Snapshot: func() *enrich.Snapshot { return snap }}, f, wp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	waitFor(t, "commit", func() bool { return f.commit(0) == 3 })
	cancel()
	<-done
	dl := wp.byTopic("dlq")
	if len(dl) != 1 || string(dl[0].Key) != "big" {
		t.Fatalf("dead letters %v", dl)
	}
	got := map[string]int{}
	for _, m := range wp.byTopic("enriched") {
		got[string(m.Key)]++
	}
	if got["a"] != 1 || got["c"] != 1 || got["big"] != 0 {
		t.Fatalf("enriched %v", got)
	}
}

// Committed offsets are read back only for work fetched before a rebalance
// or a failed commit was seen (plus slack), not in steady state.
func TestMayBeStale(t *testing.T) {
	p := New(Options{Log: zerolog.Nop()}, &fakeFetcher{t: t}, &fakeProducer{})
	now := time.Now()
	if !p.mayBeStale(now) {
		t.Error("a fetcher that cannot report rebalances must always be guarded")
	}
	p.seesRebalances = true
	if p.mayBeStale(now) {
		t.Error("no rebalance seen yet, but guarded")
	}
	p.lastRebalance.Store(now.UnixNano())
	if !p.mayBeStale(now.Add(-time.Second)) || !p.mayBeStale(now.Add(time.Second)) {
		t.Error("work fetched before (or just after) a rebalance must be guarded")
	}
	if p.mayBeStale(now.Add(staleSlack + time.Second)) {
		t.Error("work fetched well after the rebalance was seen is not stale")
	}
	p.lastCommitFail.Store(now.Add(time.Minute).UnixNano())
	if !p.mayBeStale(now.Add(30 * time.Second)) {
		t.Error("work fetched before a failed commit must be guarded")
	}
}

// Every output names its source, kind, key, story, rule and version; input
// headers pass through except forged wiretag- ones, whatever their case.
func TestOutputHeaders(t *testing.T) {
	src := kafka.Message{Topic: "in", Partition: 3, Offset: 42, Headers: []kafka.Header{
		{Key: "traceparent", Value: []byte("00-abc-def-01")}, {Key: "WIRETAG-Kind", Value: []byte("forged")}, {Key: "wire", Value: []byte("short")}}}
	hs := outputHeaders(src, "alert", "ceasefire", "story-1", "1.2.3")
	want := map[string]string{
		"traceparent": "00-abc-def-01", "wire": "short",
		HeaderSourceTopic: "in", HeaderSourcePartition: "3", HeaderSourceOffset: "42", HeaderKind: "alert",
		HeaderIdempotencyKey: IdempotencyKey("in", 3, 42, "alert", "ceasefire"),
		HeaderStoryID:        "story-1", HeaderRule: "ceasefire", HeaderVersion: "1.2.3",
	}
	if len(hs) != len(want) {
		t.Fatalf("%d headers, want %d: %v", len(hs), len(want), hs)
	}
	for _, h := range hs {
		if w, ok := want[h.Key]; !ok || string(h.Value) != w {
			t.Errorf("header %s = %q, want %q (present: %v)", h.Key, h.Value, w, ok)
		}
		if cap(h.Value) != len(h.Value) && h.Key != "traceparent" && h.Key != "wire" {
			t.Errorf("header %s: value not capped", h.Key)
		}
	}
	if hs := outputHeaders(src, "enriched", "", "", "v"); len(hs) != 8 {
		t.Errorf("enriched without story id: %d headers, want 8: two passed through and six of its own (no rule, no story id)", len(hs))
	}
}
