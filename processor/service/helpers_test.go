package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/reload"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/service"
	"github.com/wiretag/wiretag/processor/stream"
)

// Short stories written for these tests (not corpus text).
var templates = []struct{ lang, headline, body string }{
	{"en", "Putin and Zelensky trade ceasefire proposals",
		"Vladimir Putin said a ceasefire along the front line could start once the territorial questions over Donbas were settled. Volodymyr Zelensky rejected any territorial concessions to Russia."},
	{"en", "European leaders weigh security guarantees",
		"Emmanuel Macron and Keir Starmer discussed security guarantees for Ukraine and a possible reassurance force of European troops, NATO officials said."},
	{"en", "EU debates frozen Russian assets",
		"The European Union is considering using frozen Russian assets held at Euroclear to fund a reparations loan for Ukraine."},
	{"en", "Harvest season begins early",
		"Farmers in the region started the harvest two weeks early this year because of a warm spring."},
	{"ru", "Путин допустил перемирие",
		"Владимир Путин заявил, что перемирие возможно, если Украина выведет войска из Донбасса. Зеленский отказался от территориальных уступок."},
	{"uk", "Зеленський закликав використати заморожені активи",
		"Володимир Зеленський закликав Європейський Союз спрямувати заморожені російські активи на відбудову України."},
	{"ar", "بوتين يتحدث عن وقف إطلاق النار",
		"قال الرئيس الروسي فلاديمير بوتين إن وقف إطلاق النار ممكن، فيما رفض الرئيس الأوكراني فولوديمير زيلينسكي أي تنازل عن الأراضي."},
}

type testStory struct {
	ID   string
	JSON []byte
}

func makeStories(prefix string, n int) []testStory {
	out := make([]testStory, n)
	for i := range out {
		tp := templates[i%len(templates)]
		id := fmt.Sprintf("%s-%04d", prefix, i)
		b, _ := json.Marshal(map[string]string{"id": id, "language": tp.lang, "headline": tp.headline,
			"body": tp.body + " (" + strconv.Itoa(i) + ")"})
		out[i] = testStory{ID: id, JSON: b}
	}
	return out
}

// eventTime is the first input record timestamp; outputs must carry their
// input's timestamp.
var eventTime = time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)

func storyMessages(ss []testStory) []kafka.Message {
	msgs := make([]kafka.Message, len(ss))
	for i, s := range ss {
		msgs[i] = kafka.Message{Key: []byte(s.ID), Value: s.JSON, Time: eventTime.Add(time.Duration(i) * time.Second), Headers: []kafka.Header{
			{Key: "traceparent", Value: []byte(fmt.Sprintf("00-%032x-%016x-01", i+1, i+1))},
			{Key: "wiretag-source-topic", Value: []byte("forged")},
		}}
	}
	return msgs
}

// withTestRules writes the default rules with alert topics unique to the
// test, creates those topics, and points c at the file.
func withTestRules(t *testing.T, env *kafkatest.Env, c *config.Config, partitions int) []string {
	t.Helper()
	y := strings.ReplaceAll(string(config.DefaultRules()), "topic: wiretag.alerts.", "topic: "+env.Name("alerts-"))
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	c.RulesFile = p
	rs, err := rules.Parse(p, []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	env.CreateTopics(t, partitions, rs.Topics()...)
	return rs.Topics()
}

// expectedAlerts tags the stories locally with the same rules and
// dictionaries and returns story id -> rule names.
func expectedAlerts(t *testing.T, c config.Config, ss []testStory) map[string][]string {
	t.Helper()
	l, err := reload.New(context.Background(), reload.Options{RulesFile: c.RulesFile, DictionaryDir: c.DictionaryDir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, s := range ss {
		r := enrich.Process(l.Snapshot(), enrich.Options{EnrichedTopic: "x", MaxMessageBytes: c.MaxMessageBytes}, enrich.Input{Key: []byte(s.ID), Value: s.JSON})
		if r.Failure != nil {
			t.Fatalf("story %s does not process: %v", s.ID, r.Failure)
		}
		for _, rec := range r.Records {
			if rec.Kind == "alert" {
				out[s.ID] = append(out[s.ID], rec.Rule)
			}
		}
	}
	return out
}

// running is one processor started by start.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
	mu     sync.Mutex
	proc   *stream.Processor
	seen   []stream.Outcome
}

func (r *running) outcomes() []stream.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stream.Outcome(nil), r.seen...)
}

func (r *running) processor() *stream.Processor {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// stop cancels the processor and waits for its graceful shutdown.
func (r *running) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("processor returned %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("processor did not stop within 30s")
	}
	return time.Since(start)
}

func start(t *testing.T, c config.Config, h service.Hooks) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	obs := h.Observe
	h.Observe = func(o stream.Outcome) {
		r.mu.Lock()
		r.seen = append(r.seen, o)
		r.mu.Unlock()
		if obs != nil {
			obs(o)
		}
	}
	started := h.Started
	h.Started = func(p *stream.Processor) {
		r.mu.Lock()
		r.proc = p
		r.mu.Unlock()
		if started != nil {
			started(p)
		}
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	if testing.Verbose() {
		log = log.Level(zerolog.InfoLevel)
	}
	go func() {
		r.err = service.Run(ctx, c, "test", log, h)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
	})
	return r
}

// sourceOffsets maps each output to the input offset it came from.
type coord struct {
	partition int
	offset    int64
}

func sourceOf(t *testing.T, m kafka.Message) coord {
	t.Helper()
	p, ok1 := stream.Header(m.Headers, stream.HeaderSourcePartition)
	o, ok2 := stream.Header(m.Headers, stream.HeaderSourceOffset)
	if !ok1 || !ok2 {
		t.Fatalf("output %s/%d@%d lacks source headers: %v", m.Topic, m.Partition, m.Offset, m.Headers)
	}
	pi, _ := strconv.Atoi(p)
	oi, _ := strconv.ParseInt(o, 10, 64)
	return coord{pi, oi}
}

// waitAllHandled waits until every input record has an output in the
// enriched or dead-letter topic.
func waitAllHandled(t *testing.T, env *kafkatest.Env, c config.Config, timeout time.Duration) {
	t.Helper()
	inputs := len(env.ReadAll(t, c.InputTopic))
	kafkatest.Eventually(t, timeout, fmt.Sprintf("all %d inputs handled", inputs), func() bool {
		seen := map[coord]bool{}
		for _, topic := range []string{c.EnrichedTopic, c.DeadLetterTopic} {
			for _, m := range env.ReadAll(t, topic) {
				seen[sourceOf(t, m)] = true
			}
		}
		return len(seen) >= inputs
	})
}

// waitCommittedToEnd waits until the group's committed offsets reach the
// end of every input partition.
func waitCommittedToEnd(t *testing.T, env *kafkatest.Env, c config.Config, timeout time.Duration) {
	t.Helper()
	ends := map[int]int64{}
	for _, m := range env.ReadAll(t, c.InputTopic) {
		ends[m.Partition] = max(ends[m.Partition], m.Offset+1)
	}
	kafkatest.Eventually(t, timeout, "commits to reach the end of the input", func() bool {
		got := env.Committed(t, c.GroupID, c.InputTopic)
		for p, end := range ends {
			if got[p] < end {
				return false
			}
		}
		return true
	})
}

// enrichedIDs counts enriched records per story id.
func enrichedIDs(t *testing.T, env *kafkatest.Env, c config.Config) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, m := range env.ReadAll(t, c.EnrichedTopic) {
		ids[string(m.Key)]++
	}
	return ids
}
