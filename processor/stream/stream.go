// Package stream is the processor loop: fetch from a consumer group, tag
// concurrently, write every output synchronously in batches, and only then
// commit. See processor/DESIGN.md for the delivery guarantee.
//
// Three stages run as a pipeline, each in its own goroutine, connected by
// channels of capacity one, so batch N+1 is fetched and tagged while batch N
// is being written:
//
//	fetch ──batch──▶ tag (worker pool) ──results──▶ write + commit
//
// Batches are written and committed strictly in fetch order. When writes
// fail the write stage retries and holds its batch; the channels fill and the
// fetch stage stops fetching (backpressure), so the partition never advances
// past an unwritten story.
package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/processor/checkpoint"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/schema"
)

// Fetcher is the part of *kafka.Reader the loop uses.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// StatsFetcher is a Fetcher that reports kafka-go reader stats; the loop
// uses them to tell "joined and fetching" for readiness.
type StatsFetcher interface {
	Fetcher
	Stats() kafka.ReaderStats
}

// Producer is the part of *kafka.Writer the loop uses.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Options configure a Processor.
type Options struct {
	EnrichedTopic   string
	DeadLetterTopic string
	Workers         int
	BatchSize       int
	BatchWait       time.Duration
	MaxMessageBytes int // input larger than this is dead-lettered as oversize
	WriteBatchBytes int // outputs larger than this cannot be written

	RetryAttempts   int           // attempts before reporting not-ready
	RetryBackoff    time.Duration // first backoff, doubled per attempt
	RetryMaxBackoff time.Duration // backoff cap, also for fetch errors
	CommitTimeout   time.Duration
	// CommitInterval is the least time between two offset commits; 0 commits
	// after every write. Commits cost the group coordinator a write each, so
	// at a few thousand stories/s committing per write competes with the
	// stream itself for the broker; a crash re-delivers at most this much
	// more work.
	CommitInterval time.Duration
	DrainTimeout   time.Duration // after ctx is cancelled: finish, write and commit within this
	StallTimeout   time.Duration // /healthz fails when stories are in flight and none was written for this long

	Version  string
	Log      zerolog.Logger
	Metrics  *metrics.Metrics
	Snapshot func() *enrich.Snapshot // the tagger and rules in force; called once per story

	// Committed, if set, returns the group's committed offsets (next offset
	// to consume) of the given partitions as the broker has them. Commits at
	// or below those are skipped: after a rebalance this member may still be
	// finishing stories of a partition another member has since committed
	// further, and kafka-go would move that offset backwards.
	Committed func(ctx context.Context, topic string, partitions []int) (map[int]int64, error)

	// Observe, if set, is called from the write stage for every input
	// message once its outputs are acknowledged (the demo prints these).
	Observe func(Outcome)

	// Baseline copies stories instead of tagging them (wiretag bench's baselines).
	Baseline enrich.Baseline
}

// Outcome is what happened to one input message.
type Outcome struct {
	Source     rules.Source
	StoryID    string
	Enriched   *schema.Enriched // nil when dead-lettered
	Alerts     []AlertOut
	DeadLetter *enrich.Failure // non-nil when the message went to the dead-letter topic
}

// AlertOut is one alert written.
type AlertOut struct{ Rule, Topic string }

// Processor runs the loop. Create it with New and call Run once.
type Processor struct {
	opt      Options
	fetcher  Fetcher
	producer Producer
	log      zerolog.Logger
	m        *metrics.Metrics
	tracker  *checkpoint.Tracker

	jobs chan func()

	// The stage histograms, resolved once: a label lookup per batch hashes
	// the label values each time.
	stageBatching, stageTagging, stageWriteQueue, stageWriting prometheus.Observer

	// health
	started   time.Time
	beatFetch atomic.Int64 // unix nanos of the last fetch-stage tick
	beatWrite atomic.Int64
	progress  atomic.Int64 // unix nanos of the last batch written, or of a tick with nothing in flight
	joined    atomic.Bool  // a group generation started or a message arrived
	// lastRebalance and lastCommitFail (unix nanos): work fetched before
	// them may be stale (see mayBeStale).
	lastRebalance  atomic.Int64
	lastCommitFail atomic.Int64
	// seesRebalances: the fetcher reports rebalances (a *kafka.Reader does);
	// without that every batch is treated as possibly stale.
	seesRebalances bool
	// commits asks the committer goroutine to commit what is ready.
	commits       chan struct{}
	committerDone chan struct{}
	// pendingSince (unix nanos, 0 when all is committed) is when the oldest
	// written but uncommitted batch was
	// fetched (zero when all is committed); write stage only.
	pendingSince atomic.Int64
	fetchOK      atomic.Bool
	writeOK      atomic.Bool
	running      atomic.Bool
	fetchErrMsg  atomic.Value // string
	writeErrMsg  atomic.Value // string
}

// New builds a processor over a fetcher (normally a *kafka.Reader with a
// GroupID) and a producer (normally a *kafka.Writer).
func New(opt Options, f Fetcher, p Producer) *Processor {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0) // cgroup-aware since Go 1.25, unlike NumCPU
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.BatchWait <= 0 {
		opt.BatchWait = 50 * time.Millisecond
	}
	if opt.RetryAttempts <= 0 {
		opt.RetryAttempts = 5
	}
	if opt.RetryBackoff <= 0 {
		opt.RetryBackoff = 100 * time.Millisecond
	}
	if opt.RetryMaxBackoff < opt.RetryBackoff {
		opt.RetryMaxBackoff = max(opt.RetryBackoff, 10*time.Second)
	}
	if opt.CommitTimeout <= 0 {
		opt.CommitTimeout = 10 * time.Second
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = 15 * time.Second
	}
	if opt.StallTimeout <= 0 {
		opt.StallTimeout = 2 * time.Minute
	}
	if opt.WriteBatchBytes <= 0 {
		opt.WriteBatchBytes = 1048576
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New(opt.Version)
	}
	p2 := &Processor{
		opt: opt, fetcher: f, producer: p, log: opt.Log, m: opt.Metrics,
		tracker: checkpoint.New(),
		jobs:    make(chan func()),
	}
	p2.stageBatching = p2.m.Stage.WithLabelValues(metrics.StageBatching)
	p2.stageTagging = p2.m.Stage.WithLabelValues(metrics.StageTagging)
	p2.stageWriteQueue = p2.m.Stage.WithLabelValues(metrics.StageWriteQueue)
	p2.stageWriting = p2.m.Stage.WithLabelValues(metrics.StageWriting)
	p2.writeOK.Store(true)
	p2.fetchOK.Store(true)
	p2.fetchErrMsg.Store("")
	p2.writeErrMsg.Store("")
	return p2
}

// batch is a run of fetched messages, in fetch order.
type batch struct {
	started time.Time // when its first message was fetched
	tagged  time.Time // when the tag stage finished it (the earliest, for a merged batch)
	msgs    []kafka.Message
	results []enrich.Result
}

// Run processes until ctx is cancelled, then drains: it stops fetching,
// finishes the stories already fetched, writes their outputs and commits,
// within DrainTimeout. It returns nil after a clean drain. The caller closes
// the reader (leaving the group) and the writer afterwards.
func (p *Processor) Run(ctx context.Context) error {
	p.started = time.Now()
	p.running.Store(true)
	defer p.running.Store(false)
	now := time.Now().UnixNano()
	p.beatFetch.Store(now)
	p.beatWrite.Store(now)
	p.progress.Store(now)
	p.updateReady()

	// Writes and commits outlive ctx by at most DrainTimeout.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopDrainTimer := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.opt.DrainTimeout, cancelDrain)
		context.AfterFunc(drainCtx, func() { t.Stop() })
	})
	defer stopDrainTimer()

	var wg sync.WaitGroup
	for range p.opt.Workers {
		wg.Go(func() {
			for job := range p.jobs {
				job()
			}
		})
	}

	batches := make(chan *batch, 1)
	// Room for a few tagged batches: while one write is in flight the tag
	// stage runs ahead, and the write stage then takes them all in one call.
	processed := make(chan *batch, 4)
	statsDone := make(chan struct{})
	if sf, ok := p.fetcher.(StatsFetcher); ok {
		p.seesRebalances = true
		go p.watchStats(ctx, sf, statsDone)
	} else {
		p.joined.Store(true)
		close(statsDone)
	}
	go p.fetchLoop(ctx, batches)
	go func() {
		defer close(processed)
		for b := range batches {
			start := time.Now()
			p.stageBatching.Observe(start.Sub(b.started).Seconds())
			p.process(b)
			b.tagged = time.Now()
			p.stageTagging.Observe(b.tagged.Sub(start).Seconds())
			processed <- b
		}
	}()
	p.commits, p.committerDone = make(chan struct{}, 1), make(chan struct{})
	go func() {
		defer close(p.committerDone)
		for range p.commits {
			p.commit(drainCtx)
			if p.opt.CommitInterval > 0 {
				// Requests made meanwhile wait in the channel (one slot)
				// and are served by the next commit, which takes all.
				sleep(drainCtx, p.opt.CommitInterval)
			}
		}
	}()
	err := p.writeLoop(drainCtx, processed)
	close(p.jobs)
	wg.Wait()
	<-statsDone
	return err
}

// fetchLoop gathers batches of up to BatchSize messages, waiting at most
// BatchWait after the first, and less whenever the tag stage's input slot is
// free. It never gives up on errors: kafka-go heals the reader behind
// FetchMessage, so the loop backs off and continues.
func (p *Processor) fetchLoop(ctx context.Context, out chan<- *batch) {
	defer close(out)
	backoff := p.opt.RetryBackoff
	var cur *batch
	var deadline time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	flush := func() {
		if cur != nil && len(cur.msgs) > 0 {
			// Blocks while the write stage is behind: that is the backpressure
			// that stops fetching. Still tick, since waiting is not death.
			for sent := false; !sent; {
				select {
				case out <- cur:
					sent = true
				case <-tick.C:
					p.beatFetch.Store(time.Now().UnixNano())
				}
			}
		}
		cur = nil
	}
	for {
		p.beatFetch.Store(time.Now().UnixNano())
		if ctx.Err() != nil {
			flush()
			return
		}
		// Short waits keep the loop ticking for /healthz and flush partial
		// batches on time; a context timeout never loses a message.
		wait := time.Second
		if cur != nil {
			wait = time.Until(deadline)
		}
		if wait <= 0 {
			flush()
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, wait)
		m, err := p.fetcher.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				flush()
				return
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if cur != nil && !time.Now().Before(deadline) {
					flush()
				}
				continue
			}
			p.fetchOK.Store(false)
			p.fetchErrMsg.Store(err.Error())
			p.updateReady()
			p.log.Warn().Err(err).Dur("backoff", backoff).Msg("fetch failed; backing off")
			flush() // do not sit on fetched work while the broker is away
			sleep(ctx, backoff)
			backoff = min(backoff*2, p.opt.RetryMaxBackoff)
			continue
		}
		backoff = p.opt.RetryBackoff
		if !p.fetchOK.Load() || !p.joined.Load() {
			p.fetchOK.Store(true)
			p.joined.Store(true)
			p.updateReady()
		}
		p.observeFetched(&m)
		if cur == nil {
			// Small to start: a quiet stream hands on batches of one, and a
			// full BatchSize of kafka.Message is ~75 KB to allocate and zero.
			cur = &batch{started: time.Now(), msgs: make([]kafka.Message, 0, min(16, p.opt.BatchSize))}
			deadline = time.Now().Add(p.opt.BatchWait)
		}
		cur.msgs = append(cur.msgs, m)
		if len(cur.msgs) >= p.opt.BatchSize {
			flush()
			continue
		}
		// Hand the batch on at once when the tag stage's input slot is free:
		// a quiet stream gets the latency of one story, not BatchWait. Under
		// load the slot is full, the send does not happen, and the batch
		// grows until the slot frees, BatchSize is reached or BatchWait passes.
		select {
		case out <- cur:
			cur = nil
		default:
		}
	}
}

func (p *Processor) observeFetched(m *kafka.Message) {
	p.m.Consumed.WithLabelValues(m.Topic).Inc()
	if m.HighWaterMark > 0 {
		p.m.ConsumerLag.WithLabelValues(m.Topic, strconv.Itoa(m.Partition)).Set(float64(max(m.HighWaterMark-m.Offset-1, 0)))
	}
	p.tracker.Track(checkpoint.TopicPartition{Topic: m.Topic, Partition: m.Partition}, m.Offset)
	p.m.InFlight.Set(float64(p.tracker.InFlight()))
}

// process tags every message of b on the worker pool; results keep the
// messages' order.
func (p *Processor) process(b *batch) {
	b.results = make([]enrich.Result, len(b.msgs))
	var wg sync.WaitGroup
	wg.Add(len(b.msgs))
	for i := range b.msgs {
		p.jobs <- func() {
			defer wg.Done()
			m := &b.msgs[i]
			start := time.Now()
			b.results[i] = enrich.Process(p.opt.Snapshot(), enrich.Options{
				EnrichedTopic:   p.opt.EnrichedTopic,
				MaxMessageBytes: p.opt.MaxMessageBytes,
				Baseline:        p.opt.Baseline,
			}, enrich.Input{
				Source: rules.Source{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset},
				Key:    m.Key, Value: m.Value,
			})
			p.m.Processing.Observe(time.Since(start).Seconds())
		}
	}
	wg.Wait()
}

// writeLoop writes each batch's outputs, then commits. It returns when the
// tag stage is done (after ctx of Run is cancelled) or the drain deadline
// passes.
func (p *Processor) writeLoop(ctx context.Context, in <-chan *batch) error {
	var abandoned int
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var b *batch
		select {
		case <-tick.C:
			p.beatWrite.Store(time.Now().UnixNano())
			if p.tracker.InFlight() == 0 {
				p.progress.Store(time.Now().UnixNano())
			}
			continue
		case next, ok := <-in:
			if !ok {
				return p.finish(ctx, abandoned)
			}
			b = next
		}
		// Coalesce what else is already tagged into this write: on a
		// stream the write stage cannot keep up with one batch at a time
		// (a produce and a commit round trip each), batches grow to match
		// the write latency instead of queueing behind it.
		// A closed channel ends the loop on the next receive above.
	coalesce:
		for len(b.msgs) < 2*p.opt.BatchSize {
			select {
			case next, ok := <-in:
				if !ok {
					break coalesce
				}
				b = &batch{started: b.started, tagged: b.tagged, msgs: append(b.msgs, next.msgs...), results: append(b.results, next.results...)}
			default:
				break coalesce
			}
		}
		p.beatWrite.Store(time.Now().UnixNano())
		if abandoned > 0 || ctx.Err() != nil {
			// Past the drain deadline: these stay uncommitted and are
			// re-delivered to whoever owns the partition next.
			abandoned += len(b.msgs)
			continue
		}
		writeStart := time.Now()
		p.stageWriteQueue.Observe(writeStart.Sub(b.tagged).Seconds())
		if err := p.writeBatch(ctx, b); err != nil {
			abandoned += len(b.msgs)
			continue
		}
		p.stageWriting.Observe(time.Since(writeStart).Seconds())
		p.progress.Store(time.Now().UnixNano())
		p.pendingSince.CompareAndSwap(0, b.started.UnixNano())
		// Commit off the write path: the next write need not wait for the
		// commit round trip. One request pending at most; the committer
		// commits whatever is ready when it gets to it.
		select {
		case p.commits <- struct{}{}:
		default:
		}
	}
}

func (p *Processor) finish(ctx context.Context, abandoned int) error {
	close(p.commits)
	<-p.committerDone
	p.commit(ctx)
	if abandoned > 0 {
		p.log.Error().Int("messages", abandoned).Dur("drain_timeout", p.opt.DrainTimeout).
			Msg("shutdown deadline passed before every fetched message was written; they were not committed and will be re-delivered")
		return fmt.Errorf("drain incomplete: %d fetched messages not written", abandoned)
	}
	return nil
}

// skipStale drops commits the group already has at or beyond, so a member
// finishing stale work never moves another member's progress backwards. If
// the offsets cannot be read, it commits anyway: the tracker already keeps
// this member's own commits monotonic.
func (p *Processor) skipStale(ctx context.Context, ready []checkpoint.Commit) []checkpoint.Commit {
	if p.opt.Committed == nil || !p.mayBeStale(time.Unix(0, p.pendingSince.Load())) {
		return ready
	}
	byTopic := map[string][]int{}
	for _, c := range ready {
		byTopic[c.Topic] = append(byTopic[c.Topic], c.Partition)
	}
	keep := ready[:0:0]
	for topic, parts := range byTopic {
		have, err := p.opt.Committed(ctx, topic, parts)
		if err != nil {
			p.log.Debug().Err(err).Msg("reading committed offsets before commit failed; committing unguarded")
			return ready
		}
		for _, c := range ready {
			if c.Topic != topic {
				continue
			}
			if have[c.Partition] >= c.Offset {
				p.tracker.Committed(c) // nothing to do: the group is there already
				p.log.Debug().Str("partition", c.String()).Int64("offset", c.Offset).Int64("group_has", have[c.Partition]).
					Msg("skipped a commit the group is already past (stale work after a rebalance)")
				continue
			}
			keep = append(keep, c)
		}
	}
	return keep
}

// commit commits, per partition, the offset after the highest message below
// which everything is written, and only if that moves forward.
func (p *Processor) commit(ctx context.Context) {
	ready := p.tracker.Ready()
	if len(ready) == 0 {
		p.pendingSince.Store(0)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, p.opt.CommitTimeout)
	defer cancel()
	ready = p.skipStale(cctx, ready)
	if len(ready) == 0 {
		p.pendingSince.Store(0)
		return
	}
	msgs := make([]kafka.Message, len(ready))
	for i, c := range ready {
		// CommitMessages commits Offset+1.
		msgs[i] = kafka.Message{Topic: c.Topic, Partition: c.Partition, Offset: c.Offset - 1}
	}
	err := p.fetcher.CommitMessages(cctx, msgs...)
	if err != nil {
		// Left in the tracker: the next commit carries it again.
		p.lastCommitFail.Store(time.Now().UnixNano())
		p.m.CommitFailures.Inc()
		p.log.Warn().Err(err).Int("partitions", len(ready)).Msg("commit failed; will retry with the next batch (a rebalance causes this; expect duplicates)")
		return
	}
	for _, c := range ready {
		p.tracker.Committed(c)
	}
	p.pendingSince.Store(0)
	p.m.Commits.Inc()
	p.m.LastCommit.SetToCurrentTime()
	p.m.InFlight.Set(float64(p.tracker.InFlight()))
	if e := p.log.Debug(); e.Enabled() {
		for _, c := range ready {
			e = e.Str(c.String(), strconv.FormatInt(c.Offset, 10))
		}
		e.Msg("committed")
	}
}

func (p *Processor) watchStats(ctx context.Context, r StatsFetcher, done chan<- struct{}) {
	defer close(done)
	// Poll often so a rebalance opens the stale-work window promptly; judge
	// fetch health over four polls (2s) so one quiet poll does not flap it.
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var fetches, errs int64
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Stats resets kafka-go's counters; this goroutine is their only reader.
		s := r.Stats()
		if s.Rebalances > 0 {
			p.lastRebalance.Store(time.Now().UnixNano())
		}
		if s.Rebalances > 0 || s.Fetches > 0 || s.Messages > 0 {
			p.joined.Store(true)
		}
		fetches += s.Fetches + s.Messages
		errs += s.Errors
		if n%4 != 0 {
			continue
		}
		if fetches > 0 {
			if !p.fetchOK.Load() {
				p.fetchOK.Store(true)
			}
		} else if errs > 0 {
			p.fetchOK.Store(false)
			p.fetchErrMsg.Store(fmt.Sprintf("kafka-go reader reported %d errors and no fetches in the last 2s", errs))
		}
		fetches, errs = 0, 0
		p.updateReady()
	}
}

// staleSlack covers the delay between a rebalance and watchStats seeing it.
const staleSlack = 2 * time.Second

// mayBeStale reports whether work fetched at fetched may predate a change of
// partition ownership: a rebalance or a failed commit (the usual sign of one)
// observed after it. Only then are committed offsets read back before
// writing and committing; in steady state those two reads per batch would
// only add latency.
func (p *Processor) mayBeStale(fetched time.Time) bool {
	if !p.seesRebalances {
		return true
	}
	suspect := max(p.lastRebalance.Load(), p.lastCommitFail.Load())
	return suspect != 0 && fetched.UnixNano() < suspect+int64(staleSlack)
}

func (p *Processor) updateReady() {
	ok, _ := p.Ready()
	if ok {
		p.m.Ready.Set(1)
	} else {
		p.m.Ready.Set(0)
	}
}

// Ready reports whether the processor has joined its group, fetching works
// and the last write succeeded; when not, it says why.
func (p *Processor) Ready() (bool, string) {
	switch {
	case !p.running.Load():
		return false, "not running"
	case !p.joined.Load():
		return false, "waiting to join the consumer group"
	case !p.fetchOK.Load():
		return false, "fetch failing: " + p.fetchErrMsg.Load().(string)
	case !p.writeOK.Load():
		return false, "writes failing: " + p.writeErrMsg.Load().(string)
	}
	return true, "ok"
}

// Live reports whether the loop is alive: both stages ticked recently (a
// stage blocked on backpressure or retrying still ticks).
func (p *Processor) Live() (bool, string) {
	if !p.running.Load() {
		return false, "not running"
	}
	const stale = 60 * time.Second
	now := time.Now()
	if d := now.Sub(time.Unix(0, p.beatFetch.Load())); d > stale {
		return false, fmt.Sprintf("fetch stage silent for %s", d.Round(time.Second))
	}
	if d := now.Sub(time.Unix(0, p.beatWrite.Load())); d > stale {
		return false, fmt.Sprintf("write stage silent for %s", d.Round(time.Second))
	}
	// Stages that tick but get nothing done (a tagger stuck on a story) are
	// not alive either. Failing writes are excused: a restart would not
	// bring the brokers back.
	if d := now.Sub(time.Unix(0, p.progress.Load())); d > p.opt.StallTimeout && p.writeOK.Load() {
		if n := p.tracker.InFlight(); n > 0 {
			return false, fmt.Sprintf("no batch written for %s with %d stories in flight", d.Round(time.Second), n)
		}
	}
	return true, "ok"
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
