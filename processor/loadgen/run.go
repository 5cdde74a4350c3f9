package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/rules"
)

// Modes of the processor under test.
const (
	ModePassThrough = "pass-through" // decode, encode, produce, commit: the client's limit
	ModeWiretag     = "wiretag"      // the full processor
	// ModeSized is the pass-through writing about as much as wiretag does
	// (see enrich.BaselineCopySized): wiretag / sized is the cost of tagging
	// alone, without the cost of moving wiretag's larger records.
	ModeSized = "pass-through-sized"
)

// Options configure a benchmark run.
type Options struct {
	Brokers      []string      // empty: an in-process kfake broker
	Stories      int           // stories for the saturation phase
	Rates        []int         // fixed rates (stories/s) for the latency phase
	RateDuration time.Duration // how long each fixed rate runs
	Poison       float64       // share of poison messages
	Partitions   int           // partitions of every topic
	Modes        []string      // ModePassThrough and/or ModeWiretag
	Huge         int           // 10 MB poison messages sent after the rates, to show memory stays bounded
	TopicPrefix  string        // of the topics and group each mode creates; default "bench-"
	KeepTopics   bool          // leave the topics and group each mode creates (default: deleted at its end)
	Exe          string        // the wiretag binary to run as the processor
	ExtraEnv     []string      // extra WIRETAG_* settings for the processor
	Progress     io.Writer     // progress lines; nil for none
}

// Result is one measured phase.
type Result struct {
	Mode           string  `json:"mode"`
	Load           string  `json:"load"` // "saturation", "2000/s", "20 x 10 MB poison"
	Rate           int     `json:"rate"` // 0: saturation
	Stories        int     `json:"stories"`
	DeadLetters    int     `json:"dead_letters"`
	Seconds        float64 `json:"seconds"`
	StoriesPerSec  float64 `json:"stories_per_sec"`
	MBPerSec       float64 `json:"mb_per_sec"`
	P50ms          float64 `json:"p50_ms,omitempty"`
	P99ms          float64 `json:"p99_ms,omitempty"`
	P999ms         float64 `json:"p999_ms,omitempty"`
	CPUSecPer1000  float64 `json:"cpu_sec_per_1000"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	ProcessorError string  `json:"processor_error,omitempty"`
}

// Report is a whole run.
type Report struct {
	Broker  string   `json:"broker"`
	Machine string   `json:"machine"`
	Results []Result `json:"results"`
	// Ratio is wiretag / pass-through stories/s at saturation, same run.
	Ratio float64 `json:"ratio"`
	// RatioSized is wiretag / pass-through-sized, when that mode ran.
	RatioSized float64 `json:"ratio_sized,omitempty"`
}

func (o *Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Run runs every mode and phase and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Exe == "" {
		return nil, errors.New("loadgen: no processor binary")
	}
	rep := &Report{Machine: machine()}
	brokers := o.Brokers
	if len(brokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, fmt.Errorf("start in-process broker: %w", err)
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
		rep.Broker = "in-process kfake"
	} else {
		rep.Broker = strings.Join(brokers, ",")
	}
	var sat = map[string]float64{}
	for i, mode := range o.Modes {
		res, err := runMode(ctx, o, brokers, mode, i)
		rep.Results = append(rep.Results, res...)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", mode, err)
		}
		for _, r := range res {
			if r.Rate == 0 {
				sat[r.Mode] = r.StoriesPerSec
			}
		}
	}
	if sat[ModePassThrough] > 0 {
		rep.Ratio = sat[ModeWiretag] / sat[ModePassThrough]
	}
	if sat[ModeSized] > 0 {
		rep.RatioSized = sat[ModeWiretag] / sat[ModeSized]
	}
	return rep, nil
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, model, _ = strings.Cut(l, ":")
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs, %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), strings.TrimSpace(model), runtime.Version())
}

// runMode measures one processor mode on fresh topics: saturation over
// pre-loaded stories, then each fixed rate with the processor caught up.
func runMode(ctx context.Context, o Options, brokers []string, mode string, n int) ([]Result, error) {
	cfg := config.Default()
	cfg.Brokers = brokers
	suffix := fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, n)
	prefix := o.TopicPrefix
	if prefix == "" {
		prefix = "bench-"
	}
	cfg.InputTopic, cfg.EnrichedTopic, cfg.DeadLetterTopic = prefix+"in-"+suffix, prefix+"enriched-"+suffix, prefix+"dlq-"+suffix
	cfg.GroupID = prefix + suffix
	client, err := kafkaio.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	known, err := rules.KnownFromTaxonomy(mustRead(config.DefaultDictionaries(), "taxonomy.yaml"))
	if err != nil {
		return nil, err
	}
	rs, err := rules.Parse(config.DefaultRulesName, config.DefaultRules(), known)
	if err != nil {
		return nil, err
	}
	topics := append([]string{cfg.EnrichedTopic, cfg.DeadLetterTopic}, rs.Topics()...)
	if err := kafkaio.CreateTopics(ctx, client, o.Partitions, 1, topics...); err != nil {
		return nil, fmt.Errorf("create topics: %w", err)
	}
	// Each mode's topics hold a full run of stories; left behind, a few dozen
	// runs put hundreds of partitions on the broker and slowed later runs.
	// Deferred first, so it runs after the processor and consumers stop.
	if !o.KeepTopics {
		defer cleanup(client, cfg, o)
	}
	// The input topic takes 10 MB messages, for the huge-poison phase.
	if _, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: cfg.InputTopic, NumPartitions: o.Partitions, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(hugeSize + 1<<20)}},
	}}}); err != nil {
		return nil, fmt.Errorf("create input topic: %w", err)
	}
	gen, err := newGenerator(uint64(1+n), o.Poison)
	if err != nil {
		return nil, err
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: cfg.InputTopic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 1000, BatchBytes: hugeSize + 1<<20, BatchTimeout: 2 * time.Millisecond, Transport: transport(cfg)}
	defer w.Close()
	// The fixed-rate phases produce asynchronously, so the generator keeps
	// its schedule whatever one produce round trip costs on this broker; a
	// synchronous write per tick fell behind a real broker at 300 stories/s.
	var produceErrs atomic.Int64
	aw := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: cfg.InputTopic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		Async: true, BatchSize: 1000, BatchBytes: 8 << 20, BatchTimeout: time.Millisecond, Transport: transport(cfg),
		Completion: func(_ []kafka.Message, err error) {
			if err != nil {
				produceErrs.Add(1)
			}
		}}
	defer aw.Close()

	// Saturation: load every story first, then let the processor run flat out.
	o.logf("[%s] producing %d stories (%.0f%% poison) to %s", mode, o.Stories, 100*o.Poison, cfg.InputTopic)
	var totalBytes int64
	batch := make([]kafka.Message, 0, 1000)
	for i := 0; i < o.Stories; i++ {
		s := gen.next(i)
		totalBytes += int64(len(s.value))
		batch = append(batch, kafka.Message{Key: []byte(s.id), Value: s.value})
		if len(batch) == cap(batch) || i == o.Stories-1 {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				return nil, fmt.Errorf("produce: %w", err)
			}
			batch = batch[:0]
		}
	}
	cons := newConsumer(brokers, cfg, o.Partitions)
	defer cons.close()
	proc, err := startProcessor(o, cfg, mode)
	if err != nil {
		return nil, err
	}
	defer proc.stop()

	var results []Result
	first, last, cpu0, got, dl, err := cons.waitFor(ctx, o.Stories, proc, o)
	if err != nil {
		return results, err
	}
	cpu1 := proc.cpuSeconds()
	secs := last.Sub(first).Seconds()
	r := Result{Mode: mode, Load: "saturation", Stories: got, DeadLetters: dl, Seconds: secs}
	if secs > 0 {
		r.StoriesPerSec = float64(got-1) / secs
		r.MBPerSec = float64(totalBytes) / 1e6 / secs * float64(got-1) / float64(got)
	}
	r.CPUSecPer1000 = (cpu1 - cpu0) / float64(got) * 1000
	r.PeakRSSMB = proc.peakRSSMB()
	results = append(results, r)
	o.logf("[%s] saturation: %.0f stories/s, %.1f MB/s, %.2f CPU-s per 1000, peak RSS %.0f MB", mode, r.StoriesPerSec, r.MBPerSec, r.CPUSecPer1000, r.PeakRSSMB)

	// Fixed rates: latency from the input record's timestamp to the output's arrival.
	next := o.Stories
	for _, rate := range o.Rates {
		count := int(float64(rate) * o.RateDuration.Seconds())
		cons.reset()
		cpu0 := proc.cpuSeconds()
		start := time.Now()
		tick := 5 * time.Millisecond
		perTick := float64(rate) * tick.Seconds()
		carry := 0.0
		produced := 0
		for produced < count {
			carry += perTick
			k := int(carry)
			carry -= float64(k)
			batch = batch[:0]
			now := time.Now()
			for j := 0; j < k && produced < count; j++ {
				s := gen.next(next)
				next++
				produced++
				batch = append(batch, kafka.Message{Key: []byte(s.id), Value: s.value, Time: now})
				cons.expect(s.id, now)
			}
			if len(batch) > 0 {
				if err := aw.WriteMessages(ctx, batch...); err != nil {
					return results, fmt.Errorf("produce at %d/s: %w", rate, err)
				}
			}
			if d := time.Until(start.Add(time.Duration(float64(produced) / float64(rate) * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		_, _, _, got, dl, err := cons.waitFor(ctx, count, proc, o)
		if err != nil {
			return results, err
		}
		if n := produceErrs.Swap(0); n > 0 {
			return results, fmt.Errorf("%d asynchronous produce batches failed at %d/s", n, rate)
		}
		lat := cons.latencies()
		r := Result{Mode: mode, Load: fmt.Sprintf("%d/s", rate), Rate: rate, Stories: got, DeadLetters: dl, Seconds: time.Since(start).Seconds(),
			P50ms: pct(lat, 0.50), P99ms: pct(lat, 0.99), P999ms: pct(lat, 0.999)}
		r.StoriesPerSec = float64(got) / r.Seconds
		r.CPUSecPer1000 = (proc.cpuSeconds() - cpu0) / float64(got) * 1000
		r.PeakRSSMB = proc.peakRSSMB()
		results = append(results, r)
		o.logf("[%s] %d/s: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms", mode, rate, r.P50ms, r.P99ms, r.P999ms)
	}
	if o.Huge > 0 {
		r, err := hugePhase(ctx, o, w, cons, proc, mode, next)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	if err := proc.stop(); err != nil {
		results[len(results)-1].ProcessorError = err.Error()
	}
	return results, nil
}

// cleanup deletes the topics and consumer group of one mode's run. The alert
// topics are named by the rules and shared by every run, so they stay.
func cleanup(client *kafka.Client, cfg config.Config, o Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := []string{cfg.InputTopic, cfg.EnrichedTopic, cfg.DeadLetterTopic}
	res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	if err == nil {
		err = errors.Join(slices.Collect(maps.Values(res.Errors))...)
	}
	if err != nil {
		o.logf("cleanup: delete topics %v: %v (delete them by hand or ignore)", topics, err)
	}
	gres, err := client.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{cfg.GroupID}})
	if err == nil {
		err = errors.Join(slices.Collect(maps.Values(gres.Errors))...)
	}
	if err != nil {
		o.logf("cleanup: delete group %s: %v", cfg.GroupID, err)
	}
}

// hugeSize is the size of a huge poison message: ten times the default
// WIRETAG_MAX_MESSAGE_BYTES, under the default fetch size.
const hugeSize = 10 << 20

// hugePhase sends o.Huge messages of 10 MB, each a syntactically valid story
// far over the message limit, and waits until all are dead-lettered: peak RSS
// afterwards shows the limit holds (nothing buffers them all).
func hugePhase(ctx context.Context, o Options, w *kafka.Writer, cons *consumer, proc *processor, mode string, next int) (Result, error) {
	cons.reset()
	start := time.Now()
	body := strings.Repeat("x", hugeSize-64)
	for i := 0; i < o.Huge; i++ {
		id := fmt.Sprintf("bench-%07d", next+i)
		v := []byte(`{"id":"` + id + `","body":"` + body + `"}`)
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(id), Value: v}); err != nil {
			return Result{}, fmt.Errorf("produce huge message: %w", err)
		}
	}
	_, _, _, got, dl, err := cons.waitFor(ctx, o.Huge, proc, o)
	if err != nil {
		return Result{}, err
	}
	r := Result{Mode: mode, Load: fmt.Sprintf("%d x 10 MB poison", o.Huge), Rate: -1, Stories: got, DeadLetters: dl,
		Seconds: time.Since(start).Seconds(), PeakRSSMB: proc.peakRSSMB()}
	o.logf("[%s] %d huge messages dead-lettered=%d, peak RSS %.0f MB", mode, o.Huge, dl, r.PeakRSSMB)
	return r, nil
}

func mustRead(fsys fs.FS, name string) []byte {
	b, _ := fs.ReadFile(fsys, name)
	return b
}

func transport(c config.Config) *kafka.Transport {
	t, err := kafkaio.Transport(c)
	if err != nil {
		return nil
	}
	return t
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// consumer reads the enriched and dead-letter topics and times arrivals.
type consumer struct {
	readers []*kafka.Reader
	mu      sync.Mutex
	sentAt  map[string]time.Time
	lat     []time.Duration
	seen    map[string]bool
	first   time.Time
	last    time.Time
	dead    int
	count   atomic.Int64
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newConsumer(brokers []string, cfg config.Config, partitions int) *consumer {
	c := &consumer{sentAt: map[string]time.Time{}, seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	dialer, _ := kafkaio.Dialer(cfg)
	for _, topic := range []string{cfg.EnrichedTopic, cfg.DeadLetterTopic} {
		for p := 0; p < partitions; p++ {
			// MaxWait only bounds an idle fetch (data completes it at once);
			// 20 ms / 50 ms here made the twelve readers churn and put a
			// ~120 ms p99 tail on every measurement, pass-through included.
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20,
				MaxWait: 250 * time.Millisecond, ReadBatchTimeout: 500 * time.Millisecond, Dialer: dialer})
			c.readers = append(c.readers, r)
			dead := topic == cfg.DeadLetterTopic
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				for {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						time.Sleep(50 * time.Millisecond)
						continue
					}
					c.arrive(string(m.Key), dead)
				}
			}()
		}
	}
	return c
}

func (c *consumer) arrive(id string, dead bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[id] {
		return // an at-least-once duplicate: count each story once
	}
	c.seen[id] = true
	if c.first.IsZero() {
		c.first = now
	}
	c.last = now
	if dead {
		c.dead++
	} else if t, ok := c.sentAt[id]; ok {
		c.lat = append(c.lat, now.Sub(t))
	}
	c.count.Add(1)
}

func (c *consumer) expect(id string, at time.Time) {
	c.mu.Lock()
	c.sentAt[id] = at
	c.mu.Unlock()
}

func (c *consumer) reset() {
	c.mu.Lock()
	c.lat, c.first, c.last, c.dead = c.lat[:0], time.Time{}, time.Time{}, 0
	c.count.Store(0)
	c.mu.Unlock()
}

func (c *consumer) latencies() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.lat)
	slices.Sort(out)
	return out
}

// waitFor blocks until n stories have arrived. It returns the first and last
// arrival, the processor's CPU time at the first arrival, the counts, and an
// error if the processor died or nothing moved for a minute.
func (c *consumer) waitFor(ctx context.Context, n int, p *processor, o Options) (first, last time.Time, cpuAtFirst float64, got, dead int, err error) {
	lastCount, lastMove := int64(-1), time.Now()
	cpuAtFirst = -1
	for {
		cnt := c.count.Load()
		if cnt > 0 && cpuAtFirst < 0 {
			cpuAtFirst = p.cpuSeconds()
		}
		if int(cnt) >= n {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.first, c.last, max(cpuAtFirst, 0), int(cnt), c.dead, nil
		}
		if cnt != lastCount {
			if o.Progress != nil && lastCount >= 0 && cnt/1000 != lastCount/1000 {
				fmt.Fprintf(o.Progress, "\r  %d/%d", cnt, n)
			}
			lastCount, lastMove = cnt, time.Now()
		} else if time.Since(lastMove) > time.Minute {
			return first, last, 0, int(cnt), 0, fmt.Errorf("stalled at %d/%d stories for a minute; processor logs:\n%s", cnt, n, p.logTail())
		}
		if p.exited() {
			return first, last, 0, int(cnt), 0, fmt.Errorf("processor exited at %d/%d: %s", cnt, n, p.logTail())
		}
		select {
		case <-ctx.Done():
			return first, last, 0, int(cnt), 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (c *consumer) close() {
	c.cancel()
	for _, r := range c.readers {
		r.Close()
	}
	c.wg.Wait()
}

// processor is the wiretag process under test.
type processor struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
	err  error
	once sync.Once
}

func startProcessor(o Options, cfg config.Config, mode string) (*processor, error) {
	args := []string{"run"}
	switch mode {
	case ModePassThrough:
		args = append(args, "--pass-through")
	case ModeSized:
		args = append(args, "--pass-through-sized")
	}
	cmd := exec.Command(o.Exe, args...)
	cmd.Env = append(os.Environ(),
		"WIRETAG_BROKERS="+strings.Join(cfg.Brokers, ","), "WIRETAG_INPUT_TOPIC="+cfg.InputTopic,
		"WIRETAG_ENRICHED_TOPIC="+cfg.EnrichedTopic, "WIRETAG_DEAD_LETTER_TOPIC="+cfg.DeadLetterTopic,
		"WIRETAG_GROUP_ID="+cfg.GroupID, "WIRETAG_LOG_LEVEL=warn", "WIRETAG_START_OFFSET=first")
	if _, set := os.LookupEnv("WIRETAG_HTTP_ADDR"); !set {
		cmd.Env = append(cmd.Env, "WIRETAG_HTTP_ADDR=") // no port clash between modes; set it to scrape or profile
	}
	cmd.Env = append(cmd.Env, o.ExtraEnv...)
	p := &processor{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = syncWriter{p}, syncWriter{p}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start processor: %w", err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

type syncWriter struct{ p *processor }

func (w syncWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.logs.Len() < 1<<20 {
		w.p.logs.Write(b)
	}
	return len(b), nil
}

func (p *processor) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.logs.String()
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

func (p *processor) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// cpuSeconds is user+system time of the processor, from /proc.
func (p *processor) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// peakRSSMB is the processor's high-water resident set size, from /proc.
func (p *processor) peakRSSMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func (p *processor) stop() error {
	p.once.Do(func() {
		if !p.exited() {
			p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	})
	if p.err != nil {
		return fmt.Errorf("%v: %s", p.err, p.logTail())
	}
	return nil
}
