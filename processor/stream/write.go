package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/processor/checkpoint"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/rules"
)

// output is one record to write, tied to the story (index in its batch)
// that produced it.
type output struct {
	msg      kafka.Message
	story    int
	kind     string
	rule     string
	stripped bool // a dead-letter record without the original value
	acked    bool
}

// storyState is what the write stage knows of one input message.
type storyState struct {
	skipped bool            // the group committed past it already: another member wrote it
	failure *enrich.Failure // set when the message is (being) dead-lettered
	alerts  []AlertOut
}

// permanent reports whether a produce error is about the record itself, so
// retrying can never help: the record's story is dead-lettered instead.
// Errors about topics, authorization or the cluster are not permanent: they
// hold the partition (not-ready) until an operator or the broker fixes them.
func permanent(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord,
			kafka.InvalidTimestamp:
			return true
		}
	}
	return false
}

// writeBatch writes every output of b in as few WriteMessages calls as
// possible and returns once all are acknowledged (or dead-lettered); then it
// marks the batch's offsets done. It returns an error only when ctx (the
// drain deadline) ends first, in which case nothing of b is marked done.
func (p *Processor) writeBatch(ctx context.Context, b *batch) error {
	now := time.Now()
	stories := make([]storyState, len(b.msgs))
	done := p.alreadyCommitted(ctx, b)
	var pending []*output
	for i := range b.msgs {
		m := &b.msgs[i]
		r := &b.results[i]
		if done[i] {
			stories[i].skipped = true
			continue
		}
		if r.Failure != nil {
			stories[i].failure = r.Failure
			pending = append(pending, p.deadLetter(m, i, r.Failure, r.StoryID, now))
			continue
		}
		var outs []*output
		for _, rec := range r.Records {
			o := &output{story: i, kind: rec.Kind, rule: rec.Rule, msg: kafka.Message{
				Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Time: outputTime(m, now),
				Headers: outputHeaders(*m, rec.Kind, rec.Rule, r.StoryID, p.opt.Version),
			}}
			if n := messageSize(&o.msg); n > p.opt.WriteBatchBytes {
				stories[i].failure = &enrich.Failure{Class: enrich.ClassOutputTooLarge, Stage: enrich.StageProduce,
					Err: fmt.Errorf("%s record for %s is %d bytes, above WIRETAG_WRITE_BATCH_BYTES (%d)", rec.Kind, rec.Topic, n, p.opt.WriteBatchBytes)}
				break
			}
			outs = append(outs, o)
		}
		if stories[i].failure != nil {
			pending = append(pending, p.deadLetter(m, i, stories[i].failure, r.StoryID, now))
			continue
		}
		pending = append(pending, outs...)
	}

	attempt := 0
	backoff := p.opt.RetryBackoff
	heldLogged := false
	for len(pending) > 0 {
		msgs := make([]kafka.Message, len(pending))
		for i, o := range pending {
			msgs[i] = o.msg
		}
		p.m.WriteRecords.Observe(float64(len(msgs)))
		err := p.producer.WriteMessages(ctx, msgs...)
		if ws, ok := p.producer.(interface{ Stats() kafka.WriterStats }); ok {
			// kafka-go's own retries; Stats resets them, and only we call it.
			p.m.ProduceRetries.Add(float64(ws.Stats().Retries))
		}
		if err == nil {
			for _, o := range pending {
				p.acked(o, b, stories)
			}
			break
		}
		if ctx.Err() != nil {
			// The outcome of the call is unknown; not marking anything done
			// means re-delivery, which at worst duplicates.
			return fmt.Errorf("write abandoned at drain deadline: %w", ctx.Err())
		}

		failed := make([]error, len(pending)) // nil = acknowledged
		var werrs kafka.WriteErrors
		var tooLarge kafka.MessageTooLargeError
		switch {
		case errors.As(err, &werrs) && len(werrs) == len(pending):
			copy(failed, werrs)
		case errors.As(err, &tooLarge):
			// kafka-go's own size check refused the call before sending
			// anything. Our estimate should have caught it; find the record.
			key, _ := Header(tooLarge.Message.Headers, HeaderIdempotencyKey)
			for i := range failed {
				failed[i] = errRetryNow
				if k, _ := Header(pending[i].msg.Headers, HeaderIdempotencyKey); k == key {
					failed[i] = kafka.MessageSizeTooLarge
				}
			}
		default:
			// A failure of the whole call (metadata, connection) says nothing
			// about any one record: retry them all, never dead-letter.
			for i := range failed {
				failed[i] = wholeCall{err}
			}
		}

		var next []*output
		var transient error
		for i, o := range pending {
			e := failed[i]
			st := &stories[o.story]
			switch {
			case e == nil:
				p.acked(o, b, stories)
			case permanent(e) && o.kind != metrics.KindDeadLetter:
				if st.failure == nil || st.failure.Stage != enrich.StageProduce {
					st.failure = &enrich.Failure{Class: enrich.ClassProduceRejected, Stage: enrich.StageProduce,
						Err: fmt.Errorf("%s record for %s rejected: %w", o.kind, o.msg.Topic, e)}
					p.m.ProduceFailures.Inc()
					next = append(next, p.deadLetter(&b.msgs[o.story], o.story, st.failure, "", now))
				}
			case permanent(e) && !o.stripped:
				// The original bytes do not fit: say so in a record without them.
				p.m.ProduceFailures.Inc()
				p.log.Warn().Err(e).Str("source", coords(&b.msgs[o.story])).
					Msg("dead-letter record with the original bytes rejected; writing it without them")
				next = append(next, p.strip(o, e))
			case permanent(e):
				// Even a bare dead-letter record is refused: we will not
				// commit past this message silently. Hold it and shout.
				if !heldLogged {
					p.m.ProduceFailures.Inc()
					p.log.Error().Err(e).Str("source", coords(&b.msgs[o.story])).Str("topic", o.msg.Topic).
						Msg("dead-letter topic refuses even a record without payload; holding the partition until it accepts (check the dead-letter topic's configuration)")
					heldLogged = true
				}
				transient = e
				next = append(next, o)
			default:
				if !errors.Is(e, errRetryNow) {
					transient = e
				}
				next = append(next, o)
			}
		}
		// Outputs of a story that is now dead-lettered are not retried.
		pending = pending[:0]
		for _, o := range next {
			if st := stories[o.story]; st.failure != nil && o.kind != metrics.KindDeadLetter && st.failure.Stage == enrich.StageProduce {
				continue
			}
			pending = append(pending, o)
		}
		if transient == nil {
			continue
		}
		attempt++
		p.m.ProduceRetries.Inc()
		if attempt == p.opt.RetryAttempts {
			p.m.ProduceFailures.Inc()
			p.writeOK.Store(false)
			p.writeErrMsg.Store(transient.Error())
			p.updateReady()
			p.log.Error().Err(transient).Int("attempts", attempt).Int("records", len(pending)).
				Msg("produce retries exhausted; not ready, fetching paused, retrying until the brokers accept")
		} else {
			p.log.Warn().Err(transient).Int("attempt", attempt).Int("records", len(pending)).Dur("backoff", backoff).Msg("produce failed; retrying")
		}
		sleep(ctx, jitter(backoff))
		p.beatWrite.Store(time.Now().UnixNano())
		backoff = min(backoff*2, p.opt.RetryMaxBackoff)
		if ctx.Err() != nil {
			return fmt.Errorf("write abandoned at drain deadline: %w", ctx.Err())
		}
	}
	if !p.writeOK.Load() {
		p.writeOK.Store(true)
		p.writeErrMsg.Store("")
		p.updateReady()
		p.log.Info().Int("attempts", attempt+1).Msg("writes recovered; resuming")
	}

	for i := range b.msgs {
		m := &b.msgs[i]
		st := &stories[i]
		r := &b.results[i]
		if st.skipped {
			p.tracker.Done(checkpoint.TopicPartition{Topic: m.Topic, Partition: m.Partition}, m.Offset)
			continue
		}
		if st.failure == nil && r.Enriched != nil {
			for _, t := range r.Enriched.Topics {
				p.m.TopicTags.WithLabelValues(t.ID).Inc()
			}
			for _, a := range r.Enriched.Actors {
				p.m.ActorTags.WithLabelValues(a.Kind).Inc()
			}
		}
		if !m.Time.IsZero() {
			p.m.EndToEnd.Observe(time.Since(m.Time).Seconds())
		}
		p.tracker.Done(checkpoint.TopicPartition{Topic: m.Topic, Partition: m.Partition}, m.Offset)
		if p.opt.Observe != nil {
			oc := Outcome{Source: rules.Source{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}, StoryID: r.StoryID}
			if st.failure != nil {
				oc.DeadLetter = st.failure
			} else {
				oc.Enriched = r.Enriched
				oc.Alerts = st.alerts
			}
			p.opt.Observe(oc)
		}
	}
	p.m.InFlight.Set(float64(p.tracker.InFlight()))
	return nil
}

// alreadyCommitted reports which messages of b lie below the group's
// committed offset of their partition. The commit invariant holds for every
// member, so some member has written their outputs: after a rebalance the
// new owner re-fetches from the committed offset while the old owner may
// still be finishing (and committing) the same stories; whichever comes
// second skips them instead of duplicating them. Without the offsets (no
// Committed func, or an error) nothing is skipped.
func (p *Processor) alreadyCommitted(ctx context.Context, b *batch) []bool {
	skip := make([]bool, len(b.msgs))
	if p.opt.Committed == nil || !p.mayBeStale(b.started) {
		return skip
	}
	parts := map[string][]int{}
	for i := range b.msgs {
		m := &b.msgs[i]
		if !slices.Contains(parts[m.Topic], m.Partition) {
			parts[m.Topic] = append(parts[m.Topic], m.Partition)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, p.opt.CommitTimeout)
	defer cancel()
	n := 0
	for topic, ps := range parts {
		have, err := p.opt.Committed(cctx, topic, ps)
		if err != nil {
			p.log.Debug().Err(err).Msg("reading committed offsets before write failed; writing everything")
			return make([]bool, len(b.msgs))
		}
		for i := range b.msgs {
			m := &b.msgs[i]
			if m.Topic == topic && m.Offset < have[m.Partition] {
				skip[i] = true
				n++
			}
		}
	}
	if n > 0 {
		p.log.Info().Int("messages", n).Msg("skipped stories the group already committed (another member wrote them after a rebalance)")
	}
	return skip
}

// wholeCall wraps an error of a whole WriteMessages call. It does not
// unwrap, so permanent() never classifies it by a kafka error code inside.
type wholeCall struct{ err error }

func (w wholeCall) Error() string { return w.err.Error() }

// errRetryNow marks records that were not sent because another record of
// the call was refused; they are resent at once.
var errRetryNow = errors.New("not sent; retrying")

func (p *Processor) acked(o *output, b *batch, stories []storyState) {
	if o.acked {
		return
	}
	o.acked = true
	p.m.Produced.WithLabelValues(o.msg.Topic, o.kind).Inc()
	switch o.kind {
	case metrics.KindAlert:
		p.m.Alerts.WithLabelValues(o.rule).Inc()
		stories[o.story].alerts = append(stories[o.story].alerts, AlertOut{Rule: o.rule, Topic: o.msg.Topic})
	case metrics.KindDeadLetter:
		class, _ := Header(o.msg.Headers, HeaderErrorClass)
		p.m.DeadLetters.WithLabelValues(class).Inc()
		m := &b.msgs[o.story]
		p.log.Warn().Str("class", class).Str("source", coords(m)).Int("bytes", len(m.Value)).Bool("payload_omitted", o.stripped).
			Msg("dead-lettered")
	}
}

// deadLetter builds the dead-letter record of m: its original key, value
// and headers, plus why. A record too large for the writer is stripped of
// the value up front.
func (p *Processor) deadLetter(m *kafka.Message, story int, f *enrich.Failure, storyID string, now time.Time) *output {
	o := &output{story: story, kind: metrics.KindDeadLetter, msg: kafka.Message{
		Topic: p.opt.DeadLetterTopic, Key: m.Key, Value: m.Value, Time: outputTime(m, now),
		Headers: deadLetterHeaders(*m, f.Class, f.Stage, f.Err.Error(), storyID, p.opt.Version, now),
	}}
	if messageSize(&o.msg) > p.opt.WriteBatchBytes {
		return p.strip(o, fmt.Errorf("original of %d bytes exceeds WIRETAG_WRITE_BATCH_BYTES (%d)", len(m.Value), p.opt.WriteBatchBytes))
	}
	return o
}

func (p *Processor) strip(o *output, why error) *output {
	s := *o
	s.stripped = true
	s.msg.Value = nil
	s.msg.Headers = append(append([]kafka.Header(nil), o.msg.Headers...),
		kafka.Header{Key: HeaderOriginalOmitted, Value: []byte(why.Error())})
	if messageSize(&s.msg) > p.opt.WriteBatchBytes {
		// Huge input headers: keep only ours.
		var hs []kafka.Header
		for _, h := range s.msg.Headers {
			if len(h.Key) > len(HeaderPrefix) && h.Key[:len(HeaderPrefix)] == HeaderPrefix {
				hs = append(hs, h)
			}
		}
		s.msg.Headers = hs
	}
	return &s
}

// outputTime is an output's record timestamp: its input's, as Kafka Streams
// does, so event time survives the hop and consumers can measure lag; now
// when the input has none. Left zero, kafka-go would send 0 and a broker
// with CreateTime would store 1970, which time-based retention deletes at
// the first segment roll.
func outputTime(in *kafka.Message, now time.Time) time.Time {
	if in.Time.IsZero() || in.Time.Unix() <= 0 {
		return now
	}
	return in.Time
}

func coords(m *kafka.Message) string {
	return m.Topic + "/" + strconv.Itoa(m.Partition) + "@" + strconv.FormatInt(m.Offset, 10)
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
