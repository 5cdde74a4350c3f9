// Package kafkatest gives integration tests a broker: franz-go's kfake
// in-process by default, or a real cluster when WIRETAG_TEST_BROKERS names
// one (host:port,...). The same tests run against both; fault-injection
// tests ask for Fake and are skipped, with the reason, on a real cluster.
// Every test gets topics and a group id of its own.
package kafkatest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
)

// EnvBrokers is the variable that points the suite at a real cluster.
const EnvBrokers = "WIRETAG_TEST_BROKERS"

// Env is one test's broker.
type Env struct {
	Brokers []string
	Fake    *kfake.Cluster // nil on a real cluster
	Client  *kafka.Client
	id      string
	t       testing.TB
}

// New starts kfake (or connects to WIRETAG_TEST_BROKERS) for t.
func New(t testing.TB, opts ...kfake.Opt) *Env {
	t.Helper()
	e := &Env{t: t, id: fmt.Sprintf("%s-%06x", sanitize(t.Name()), rand.Uint32()&0xffffff)}
	if b := os.Getenv(EnvBrokers); b != "" {
		e.Brokers = strings.Split(b, ",")
	} else {
		c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
		if err != nil {
			t.Fatalf("kfake: %v", err)
		}
		t.Cleanup(c.Close)
		e.Fake = c
		e.Brokers = c.ListenAddrs()
	}
	tr := &kafka.Transport{}
	e.Client = &kafka.Client{Addr: kafka.TCP(e.Brokers...), Timeout: 10 * time.Second, Transport: tr}
	t.Cleanup(tr.CloseIdleConnections) // before the fake closes: it waits for its clients
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkaio.WaitForBroker(ctx, e.Client); err != nil {
		t.Fatal(err)
	}
	return e
}

// Real reports whether the tests run against a real cluster.
func (e *Env) Real() bool { return e.Fake == nil }

// RequireFake skips t on a real cluster, saying why, and returns the fake.
func (e *Env) RequireFake(t testing.TB, why string) *kfake.Cluster {
	t.Helper()
	if e.Fake == nil {
		t.Skipf("needs the in-process broker's fault injection (%s); skipped against %s", why, strings.Join(e.Brokers, ","))
	}
	return e.Fake
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

func sanitize(s string) string {
	s = unsafe.ReplaceAllString(s, "-")
	if len(s) > 60 {
		s = s[:60]
	}
	return strings.ToLower(s)
}

// Name returns a topic or group name unique to this test.
func (e *Env) Name(suffix string) string { return "wt-" + e.id + "-" + suffix }

// Config returns the default configuration pointed at this broker, with
// topics and group unique to the test, created with partitions each, and
// fast timings.
func (e *Env) Config(t testing.TB, partitions int) config.Config {
	t.Helper()
	c := config.Default()
	c.Brokers = e.Brokers
	c.InputTopic = e.Name("in")
	c.EnrichedTopic = e.Name("enriched")
	c.DeadLetterTopic = e.Name("dlq")
	c.GroupID = e.Name("group")
	c.HTTPAddr = ""
	c.LogLevel = "warn"
	c.Workers = 2
	c.BatchSize = 50
	c.BatchWait = 20 * time.Millisecond
	c.RetryBackoff = 20 * time.Millisecond
	c.RetryMaxBackoff = 500 * time.Millisecond
	c.ShutdownTimeout = 10 * time.Second
	c.HeartbeatInterval = 500 * time.Millisecond
	c.SessionTimeout = 10 * time.Second
	c.RebalanceTimeout = 5 * time.Second
	c.ReloadInterval = 0
	e.CreateTopics(t, partitions, c.InputTopic, c.EnrichedTopic, c.DeadLetterTopic)
	return c
}

// CreateTopics creates topics with partitions each (replication 1).
func (e *Env) CreateTopics(t testing.TB, partitions int, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkaio.CreateTopics(ctx, e.Client, partitions, 1, names...); err != nil {
		t.Fatal(err)
	}
	e.waitTopics(ctx, t, names)
}

// CreateTopicWithConfig creates one topic with topic-level configs (such
// as max.message.bytes).
func (e *Env) CreateTopicWithConfig(t testing.TB, name string, partitions int, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tc := kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}
	for k, v := range configs {
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	resp, err := e.Client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Errors[name]; err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	e.waitTopics(ctx, t, []string{name})
}

func (e *Env) waitTopics(ctx context.Context, t testing.TB, names []string) {
	t.Helper()
	// A real cluster propagates metadata asynchronously.
	for {
		missing, err := kafkaio.MissingTopics(ctx, e.Client, names)
		if err == nil && len(missing) == 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("topics not visible: %v %v", missing, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Produce writes msgs (Topic set by the caller or topic) synchronously with
// acks=all and the hash balancer, in order.
func (e *Env) Produce(t testing.TB, topic string, msgs ...kafka.Message) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(e.Brokers...), Topic: topic, Balancer: &kafka.Hash{}, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, BatchBytes: 64 << 20}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// Partitions returns the partition ids of topic.
func (e *Env) Partitions(t testing.TB, topic string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := e.Client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata %s: %v %+v", topic, err, md)
	}
	var ps []int
	for _, p := range md.Topics[0].Partitions {
		ps = append(ps, p.ID)
	}
	sort.Ints(ps)
	return ps
}

// ReadAll returns every record currently in topic, per partition in offset
// order, partitions in order.
func (e *Env) ReadAll(t testing.TB, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for _, p := range e.Partitions(t, topic) {
		msgs, err := e.readPartition(topic, p)
		if err != nil {
			t.Fatalf("read %s/%d: %v", topic, p, err)
		}
		out = append(out, msgs...)
	}
	return out
}

func (e *Env) readPartition(topic string, p int) ([]kafka.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafka.Message
	off := kafka.FirstOffset
	for {
		resp, err := e.Client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off,
			MinBytes: 1, MaxBytes: 64 << 20, MaxWait: 50 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return nil, resp.Error
		}
		if off < 0 {
			off = resp.LogStartOffset
		}
		for {
			rec, err := resp.Records.ReadRecord()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if rec.Offset < off {
				continue
			}
			k, _ := protocol.ReadAll(rec.Key)
			v, _ := protocol.ReadAll(rec.Value)
			m := kafka.Message{Topic: topic, Partition: p, Offset: rec.Offset, Key: k, Value: v, Time: rec.Time}
			for _, h := range rec.Headers {
				m.Headers = append(m.Headers, kafka.Header(h))
			}
			out = append(out, m)
			off = rec.Offset + 1
		}
		if off >= resp.HighWatermark {
			return out, nil
		}
	}
}

// Committed returns the group's committed offset per partition of topic
// (-1 where none).
func (e *Env) Committed(t testing.TB, group, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.Client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: e.Partitions(t, topic)}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// Eventually polls cond every 100ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
