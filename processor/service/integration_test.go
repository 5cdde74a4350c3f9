package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/service"
	"github.com/wiretag/wiretag/processor/stream"
	"github.com/wiretag/wiretag/schema"
)

// All stories are enriched exactly once (no restarts here), every expected
// alert reaches its rule's topic, headers carry provenance, and the group
// commits to the end of the input.
func TestEnrichAndRouteAlerts(t *testing.T) {
	t.Parallel()
	env := kafkatest.New(t)
	c := env.Config(t, 4)
	withTestRules(t, env, &c, 2)
	ss := makeStories("route", 70)
	want := expectedAlerts(t, c, ss)
	wantAlerts := 0
	for _, rs := range want {
		wantAlerts += len(rs)
	}
	if wantAlerts == 0 {
		t.Fatalf("the test stories trigger no default rule with the current dictionaries; the routing test would prove nothing")
	}
	inputs := storyMessages(ss)
	env.Produce(t, c.InputTopic, inputs...)
	inputTime := map[string]time.Time{}
	for _, m := range inputs {
		inputTime[string(m.Key)] = m.Time
	}

	t0 := time.Now()
	r := start(t, c, service.Hooks{})
	waitAllHandled(t, env, c, 60*time.Second)
	t.Logf("all handled after %s", time.Since(t0))
	waitCommittedToEnd(t, env, c, 30*time.Second)
	t.Logf("committed after %s", time.Since(t0))
	r.stop(t)

	ids := enrichedIDs(t, env, c)
	for _, s := range ss {
		if ids[s.ID] != 1 {
			t.Errorf("story %s enriched %d times, want 1", s.ID, ids[s.ID])
		}
	}
	if dl := env.ReadAll(t, c.DeadLetterTopic); len(dl) != 0 {
		t.Errorf("%d dead letters for valid stories; first: %v", len(dl), dl[0].Headers)
	}
	for _, m := range env.ReadAll(t, c.EnrichedTopic) {
		tp, _ := stream.Header(m.Headers, "traceparent")
		if !strings.HasPrefix(tp, "00-") {
			t.Fatalf("traceparent not passed through: %v", m.Headers)
		}
		if st, _ := stream.Header(m.Headers, stream.HeaderSourceTopic); st != c.InputTopic {
			t.Fatalf("source topic header %q (a forged input header must not win)", st)
		}
		if k, _ := stream.Header(m.Headers, stream.HeaderIdempotencyKey); len(k) != 32 {
			t.Fatalf("idempotency key %q", k)
		}
		if want := inputTime[string(m.Key)]; !m.Time.Equal(want) {
			t.Fatalf("enriched record %s has timestamp %s, want its input's %s", m.Key, m.Time.UTC(), want)
		}
		var e map[string]any
		if err := json.Unmarshal(m.Value, &e); err != nil || e["id"] != string(m.Key) {
			t.Fatalf("enriched record %s: %v %v", m.Key, err, e["id"])
		}
		if err := schema.ValidateEnriched(m.Value); err != nil {
			t.Fatalf("enriched record %s does not match schema/enriched.v1.schema.json: %v", m.Key, err)
		}
	}

	// Alerts: exactly the expected (story, rule) pairs, on the rule's topic.
	got := map[string][]string{}
	rs, _ := rules.Parse("x", mustRead(t, c.RulesFile), nil)
	ruleTopic := map[string]string{}
	for _, ru := range rs.Rules {
		ruleTopic[ru.Name] = ru.Topic
	}
	gotAlerts := 0
	for _, topic := range rs.Topics() {
		for _, m := range env.ReadAll(t, topic) {
			var a rules.Alert
			if err := json.Unmarshal(m.Value, &a); err != nil {
				t.Fatalf("alert: %v", err)
			}
			if ruleTopic[a.Rule] != topic {
				t.Errorf("alert of rule %s on %s, want %s", a.Rule, topic, ruleTopic[a.Rule])
			}
			if a.Source.Topic != c.InputTopic || string(m.Key) != a.StoryID {
				t.Errorf("alert source/key wrong: %+v key %s", a.Source, m.Key)
			}
			got[a.StoryID] = append(got[a.StoryID], a.Rule)
			gotAlerts++
		}
	}
	for id := range want {
		sort.Strings(want[id])
		sort.Strings(got[id])
		if !slices.Equal(want[id], got[id]) {
			t.Errorf("story %s: alerts %v, want %v", id, got[id], want[id])
		}
	}
	if gotAlerts != wantAlerts {
		t.Errorf("%d alerts, want %d", gotAlerts, wantAlerts)
	}
	t.Logf("stories=%d enriched=%d alerts=%d dead_letters=0", len(ss), len(ids), gotAlerts)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A poison mix goes to the dead-letter topic, each with its reason and the
// original bytes, key and headers, while the good stories flow.
func TestPoisonDeadLettered(t *testing.T) {
	t.Parallel()
	env := kafkatest.New(t)
	c := env.Config(t, 2)
	c.MaxMessageBytes = 4096
	// An enriched record over this cannot be written; nor can the oversize
	// input's original bytes, so its dead letter goes without them.
	c.WriteBatchBytes = 5000
	withTestRules(t, env, &c, 1)

	good := makeStories("good", 20)
	msgs := storyMessages(good)
	big := strings.Repeat("Peace talks continue. ", 300) // ~6.6 KB > MaxMessageBytes
	// Under the input limit, but its enriched record (body + mentions) is over WriteBatchBytes.
	wide := strings.Repeat("Vladimir Putin spoke. ", 120)
	poison := map[string]struct {
		value []byte
		class string
	}{
		"p-json":   {[]byte(`{"id": "x", "body": "unterminated`), "invalid_json"},
		"p-utf8":   {[]byte("{\"id\":\"u\",\"body\":\"bad \xff\xfe bytes\"}"), "invalid_utf8"},
		"p-empty":  {nil, "empty"},
		"p-big":    {[]byte(`{"id":"big","body":"` + big + `"}`), "oversize"},
		"p-array":  {[]byte(`[1, 2, 3]`), "not_a_story"},
		"p-number": {[]byte(`42`), "not_a_story"},
		"p-nobody": {[]byte(`{"id":"nobody","headline":"only a headline"}`), "missing_body"},
		"p-wide":   {[]byte(`{"id":"wide","language":"en","body":"` + wide + `"}`), "output_too_large"},
	}
	i := 0
	for k, p := range poison {
		msgs = slices.Insert(msgs, i*2+1, kafka.Message{Key: []byte(k), Value: p.value,
			Headers: []kafka.Header{{Key: "traceparent", Value: []byte("00-poison-" + k)}}})
		i++
	}
	env.Produce(t, c.InputTopic, msgs...)

	r := start(t, c, service.Hooks{})
	waitAllHandled(t, env, c, 60*time.Second)
	waitCommittedToEnd(t, env, c, 30*time.Second)
	r.stop(t)

	ids := enrichedIDs(t, env, c)
	for _, s := range good {
		if ids[s.ID] != 1 {
			t.Errorf("good story %s enriched %d times", s.ID, ids[s.ID])
		}
	}
	dl := env.ReadAll(t, c.DeadLetterTopic)
	byKey := map[string]kafka.Message{}
	for _, m := range dl {
		byKey[string(m.Key)] = m
	}
	classes := map[string]int{}
	for k, p := range poison {
		m, ok := byKey[k]
		if !ok {
			t.Errorf("poison %s not dead-lettered", k)
			continue
		}
		class, _ := stream.Header(m.Headers, stream.HeaderErrorClass)
		classes[class]++
		if class != p.class {
			msg, _ := stream.Header(m.Headers, stream.HeaderErrorMessage)
			t.Errorf("poison %s: class %q (%s), want %q", k, class, msg, p.class)
		}
		omitted, isOmitted := stream.Header(m.Headers, stream.HeaderOriginalOmitted)
		if k == "p-big" {
			if !isOmitted || len(m.Value) != 0 {
				t.Errorf("poison %s: %d-byte original cannot fit the writer's %d bytes; want it omitted and said so", k, len(p.value), c.WriteBatchBytes)
			}
			t.Logf("oversize dead letter without payload: %s", omitted)
		} else if !bytes.Equal(m.Value, p.value) || isOmitted {
			t.Errorf("poison %s: dead letter value is not the original bytes", k)
		}
		for _, h := range []string{stream.HeaderErrorMessage, stream.HeaderErrorStage, stream.HeaderFailedAt,
			stream.HeaderSourceTopic, stream.HeaderSourcePartition, stream.HeaderSourceOffset, stream.HeaderVersion, stream.HeaderIdempotencyKey} {
			if v, ok := stream.Header(m.Headers, h); !ok || v == "" {
				t.Errorf("poison %s: header %s missing", k, h)
			}
		}
		if tp, _ := stream.Header(m.Headers, "traceparent"); tp != "00-poison-"+k {
			t.Errorf("poison %s: traceparent %q not passed through", k, tp)
		}
	}
	if len(dl) != len(poison) {
		t.Errorf("%d dead letters, want %d", len(dl), len(poison))
	}
	t.Logf("good=%d enriched=%d dead_letters=%d by class %v", len(good), len(ids), len(dl), classes)
}

// Several versions of the same story (same key) come out in input order.
func TestPerKeyOrder(t *testing.T) {
	t.Parallel()
	env := kafkatest.New(t)
	c := env.Config(t, 3)
	c.Workers = 4
	c.BatchSize = 7 // many batches, pipelined
	withTestRules(t, env, &c, 1)
	const keys, versions = 6, 40
	var msgs []kafka.Message
	for v := range versions {
		for k := range keys {
			id := fmt.Sprintf("order-%d", k)
			b, _ := json.Marshal(map[string]string{"id": id, "language": "en", "headline": "Ceasefire update",
				"body": fmt.Sprintf("Version %d of the story about a ceasefire proposal.", v)})
			msgs = append(msgs, kafka.Message{Key: []byte(id), Value: b})
		}
	}
	env.Produce(t, c.InputTopic, msgs...)
	r := start(t, c, service.Hooks{})
	waitAllHandled(t, env, c, 60*time.Second)
	r.stop(t)

	last := map[string]int{}
	n := 0
	for _, m := range env.ReadAll(t, c.EnrichedTopic) {
		var e struct{ ID, Body string }
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		var v int
		if _, err := fmt.Sscanf(e.Body, "Version %d", &v); err != nil {
			t.Fatalf("body %q: %v", e.Body, err)
		}
		if prev, ok := last[e.ID]; ok && v <= prev {
			t.Errorf("key %s: version %d after %d", e.ID, v, prev)
		}
		last[e.ID] = v
		n++
	}
	if n != keys*versions {
		t.Errorf("%d enriched, want %d", n, keys*versions)
	}
	t.Logf("keys=%d versions=%d enriched=%d in order", keys, versions, n)
}

// commitGate wraps the fetcher; when closed it fails every commit, which is
// what a crash between write and commit looks like to the group.
type commitGate struct {
	stream.Fetcher
	closed  atomic.Bool
	commits atomic.Int64
}

func (g *commitGate) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	if g.closed.Load() {
		return errors.New("test: commit refused (simulated crash window)")
	}
	err := g.Fetcher.CommitMessages(ctx, msgs...)
	if err == nil {
		g.commits.Add(1)
	}
	return err
}

// Stop the processor mid-stream and start it again: every story enriched
// at least once. A graceful stop leaves no duplicates; a stop whose last
// commits were lost (a crash) duplicates at most the uncommitted window.
func TestRestartMidStream(t *testing.T) {
	for _, mode := range []string{"graceful", "lost-commits"} {
		t.Run(mode, func(t *testing.T) {
			env := kafkatest.New(t)
			c := env.Config(t, 4)
			c.BatchSize = 20
			withTestRules(t, env, &c, 1)
			ss := makeStories("restart", 600)
			env.Produce(t, c.InputTopic, storyMessages(ss)...)

			gate := &commitGate{}
			var observed atomic.Int64
			r1 := start(t, c, service.Hooks{
				WrapFetcher: func(f stream.Fetcher) stream.Fetcher { gate.Fetcher = f; return gate },
				Observe: func(stream.Outcome) {
					// Close the gate from inside the loop, not by polling: a
					// fast processor would otherwise finish all 600 first.
					if observed.Add(1) == 150 && mode == "lost-commits" {
						gate.closed.Store(true)
					}
				},
			})
			kafkatest.Eventually(t, 60*time.Second, "first 150 stories", func() bool { return observed.Load() >= 150 })
			if mode == "lost-commits" {
				kafkatest.Eventually(t, 60*time.Second, "more stories written after commits stop", func() bool { return observed.Load() >= 300 })
			}
			stopTook := r1.stop(t)
			if stopTook > c.ShutdownTimeout {
				t.Errorf("stop took %s, above WIRETAG_SHUTDOWN_TIMEOUT %s", stopTook, c.ShutdownTimeout)
			}
			first := observed.Load()
			// The uncommitted window, read from the broker: stories handled
			// in the first run past the group's committed offsets. (Counting
			// stories handled when the last commit succeeded overstated what
			// that commit covered once commits were paced.)
			committed := int64(0)
			for _, o := range env.Committed(t, c.GroupID, c.InputTopic) {
				committed += max(o, 0)
			}
			window := first - committed

			r2 := start(t, c, service.Hooks{})
			waitAllHandled(t, env, c, 90*time.Second)
			waitCommittedToEnd(t, env, c, 30*time.Second)
			r2.stop(t)
			second := int64(len(r2.outcomes()))

			ids := enrichedIDs(t, env, c)
			dups := 0
			for _, s := range ss {
				switch n := ids[s.ID]; {
				case n == 0:
					t.Errorf("story %s lost", s.ID)
				case n > 1:
					dups += n - 1
				}
			}
			t.Logf("%s: stories=%d first run handled=%d (stop took %s) committed=%d uncommitted window=%d second run handled=%d duplicates=%d",
				mode, len(ss), first, stopTook.Round(time.Millisecond), committed, window, second, dups)
			if int64(dups) > window {
				t.Errorf("%d duplicates, more than the uncommitted window of %d", dups, window)
			}
			if mode == "graceful" && dups != 0 {
				t.Errorf("graceful stop produced %d duplicates; the drain should commit everything written", dups)
			}
			if mode == "lost-commits" && dups == 0 {
				t.Errorf("lost commits produced no duplicates: the test did not exercise re-delivery")
			}
		})
	}
}

// Two processors in one group: the second joins mid-stream, the first
// leaves mid-stream. Nothing is lost.
func TestRebalanceTwoProcessors(t *testing.T) {
	env := kafkatest.New(t)
	c := env.Config(t, 4)
	c.BatchSize = 10
	withTestRules(t, env, &c, 1)
	ss := makeStories("rebal", 800)
	msgs := storyMessages(ss)
	env.Produce(t, c.InputTopic, msgs[:400]...)

	var a, b atomic.Int64
	ra := start(t, c, service.Hooks{Observe: func(stream.Outcome) { a.Add(1) }})
	kafkatest.Eventually(t, 60*time.Second, "A under way", func() bool { return a.Load() >= 100 })
	rb := start(t, c, service.Hooks{Observe: func(stream.Outcome) { b.Add(1) }})
	kafkatest.Eventually(t, 60*time.Second, "B joins the group", func() bool {
		p := rb.processor()
		if p == nil {
			return false
		}
		ok, _ := p.Ready()
		return ok
	})
	env.Produce(t, c.InputTopic, msgs[400:]...)
	kafkatest.Eventually(t, 60*time.Second, "500 handled", func() bool { return a.Load()+b.Load() >= 500 })
	ra.stop(t)
	waitAllHandled(t, env, c, 90*time.Second)
	waitCommittedToEnd(t, env, c, 60*time.Second)
	rb.stop(t)

	ids := enrichedIDs(t, env, c)
	dups := 0
	for _, s := range ss {
		if ids[s.ID] == 0 {
			t.Errorf("story %s lost", s.ID)
		}
		dups += max(ids[s.ID]-1, 0)
	}
	if b.Load() == 0 {
		t.Errorf("B handled nothing: A's partitions never moved")
	}
	t.Logf("stories=%d handled by A=%d B=%d enriched unique=%d duplicates=%d", len(ss), a.Load(), b.Load(), len(ids), dups)
}

// Produce requests to the enriched topic fail while the fault is on: the
// processor retries, reports not-ready, commits nothing past the failure,
// and resumes by itself.
func TestProduceFailuresRetried(t *testing.T) {
	env := kafkatest.New(t)
	fake := env.RequireFake(t, "fails produce requests on demand")
	c := env.Config(t, 2)
	c.RetryAttempts = 2
	c.RetryMaxBackoff = 200 * time.Millisecond
	withTestRules(t, env, &c, 1)

	var failing atomic.Bool
	var injected atomic.Int64
	fake.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !failing.Load() {
			return nil, nil, false
		}
		hit := false
		for _, tp := range pr.Topics {
			if tp.Topic == c.EnrichedTopic {
				hit = true
			}
		}
		if !hit {
			return nil, nil, false
		}
		injected.Add(1)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.NotLeaderForPartition.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})

	first := makeStories("ok", 10)
	env.Produce(t, c.InputTopic, storyMessages(first)...)
	r := start(t, c, service.Hooks{})
	waitCommittedToEnd(t, env, c, 60*time.Second)
	before := env.Committed(t, c.GroupID, c.InputTopic)

	failing.Store(true)
	second := makeStories("held", 10)
	env.Produce(t, c.InputTopic, storyMessages(second)...)
	kafkatest.Eventually(t, 30*time.Second, "not-ready after retries run out", func() bool {
		p := r.processor()
		if p == nil {
			return false
		}
		ok, _ := p.Ready()
		return !ok
	})
	time.Sleep(time.Second)
	during := env.Committed(t, c.GroupID, c.InputTopic)
	for p, o := range during {
		if o != before[p] {
			t.Errorf("partition %d committed %d -> %d while its stories could not be written", p, before[p], o)
		}
	}
	_, why := r.processor().Ready()
	failing.Store(false)
	waitAllHandled(t, env, c, 60*time.Second)
	waitCommittedToEnd(t, env, c, 30*time.Second)
	kafkatest.Eventually(t, 10*time.Second, "ready again", func() bool { ok, _ := r.processor().Ready(); return ok })
	r.stop(t)

	ids := enrichedIDs(t, env, c)
	for _, s := range append(first, second...) {
		if ids[s.ID] == 0 {
			t.Errorf("story %s lost", s.ID)
		}
	}
	if injected.Load() < 2 {
		t.Errorf("only %d produce requests failed; the test did not exercise retries", injected.Load())
	}
	t.Logf("injected produce failures=%d; not-ready reason while failing: %q; stories=%d enriched=%d", injected.Load(), why, len(first)+len(second), len(ids))
}

// An input bigger than kafka-go's default fetch size (1 MB) is fetched, not
// stalled on, and dead-lettered as oversize without its payload (which
// cannot fit a produce request), while later stories flow.
func TestHugeInputDoesNotStall(t *testing.T) {
	t.Parallel()
	env := kafkatest.New(t)
	c := env.Config(t, 1)
	c.InputTopic = env.Name("in-big")
	env.CreateTopicWithConfig(t, c.InputTopic, 1, map[string]string{"max.message.bytes": "4000000"})
	withTestRules(t, env, &c, 1)
	huge := []byte(`{"id":"huge","body":"` + strings.Repeat("x", 1_500_000) + `"}`)
	msgs := append([]kafka.Message{{Key: []byte("huge"), Value: huge}}, storyMessages(makeStories("after", 5))...)
	env.Produce(t, c.InputTopic, msgs...)

	r := start(t, c, service.Hooks{})
	waitAllHandled(t, env, c, 60*time.Second)
	waitCommittedToEnd(t, env, c, 30*time.Second)
	r.stop(t)
	dl := env.ReadAll(t, c.DeadLetterTopic)
	if len(dl) != 1 || string(dl[0].Key) != "huge" {
		t.Fatalf("dead letters: %d", len(dl))
	}
	class, _ := stream.Header(dl[0].Headers, stream.HeaderErrorClass)
	size, _ := stream.Header(dl[0].Headers, stream.HeaderOriginalSize)
	if _, omitted := stream.Header(dl[0].Headers, stream.HeaderOriginalOmitted); class != "oversize" || !omitted || size != fmt.Sprint(len(huge)) {
		t.Fatalf("class %q omitted %v size %s", class, omitted, size)
	}
	if n := len(enrichedIDs(t, env, c)); n != 5 {
		t.Fatalf("%d stories after the huge one enriched, want 5", n)
	}
}

// The broker stops answering anything for a while mid-stream: fetches and
// writes fail, the processor reports not-ready, and it resumes by itself
// when the broker is back. Nothing is lost.
func TestBrokerOutageRecovers(t *testing.T) {
	env := kafkatest.New(t)
	fake := env.RequireFake(t, "makes the broker refuse every request for a while")
	c := env.Config(t, 2)
	c.BatchSize = 10
	c.RetryAttempts = 2
	c.RetryMaxBackoff = 300 * time.Millisecond
	// The outage breaks the group session; rejoining waits for the old
	// member's session or the rebalance to time out.
	c.SessionTimeout = 6 * time.Second
	c.RebalanceTimeout = 2 * time.Second
	withTestRules(t, env, &c, 1)
	ss := makeStories("outage", 300)
	env.Produce(t, c.InputTopic, storyMessages(ss)...)

	var handled atomic.Int64
	// Slow the processor down so the outage lands mid-stream.
	r := start(t, c, service.Hooks{Observe: func(stream.Outcome) { handled.Add(1); time.Sleep(2 * time.Millisecond) }})
	kafkatest.Eventually(t, 60*time.Second, "50 handled", func() bool { return handled.Load() >= 50 })

	var down atomic.Bool
	var refused atomic.Int64
	down.Store(true)
	fake.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if !down.Load() {
			return nil, nil, false
		}
		refused.Add(1)
		return nil, errors.New("test: broker down"), true // closes the connection
	})
	wentNotReady := false
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if p := r.processor(); p != nil {
			if ok, _ := p.Ready(); !ok {
				wentNotReady = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	atDown := handled.Load()
	down.Store(false)
	upAt := time.Now()

	waitAllHandled(t, env, c, 90*time.Second)
	recovered := time.Since(upAt)
	waitCommittedToEnd(t, env, c, 60*time.Second)
	kafkatest.Eventually(t, 30*time.Second, "ready again", func() bool { ok, _ := r.processor().Ready(); return ok })
	r.stop(t)
	ids := enrichedIDs(t, env, c)
	for _, s := range ss {
		if ids[s.ID] == 0 {
			t.Errorf("story %s lost", s.ID)
		}
	}
	if !wentNotReady {
		t.Error("never reported not-ready while the broker refused everything")
	}
	t.Logf("outage 3s: refused requests=%d, handled before/at outage=%d, all handled %s after the broker came back, total enriched=%d, not-ready seen=%v",
		refused.Load(), atDown, recovered.Round(time.Millisecond), len(ids), wentNotReady)
}
