// Package enrich turns one input payload into its output records: decode →
// tag → evaluate rules → encode. It knows nothing of Kafka; the stream
// package adds coordinates, headers and delivery.
package enrich

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/tagger"
	"github.com/wiretag/wiretag/schema"
)

// Failure classes beyond schema.ErrorClass. Like those they are stable: they
// appear in dead-letter headers and metric labels.
const (
	ClassPanic           = "panic"            // the tagger or rules panicked on this story
	ClassEncode          = "encode"           // an output could not be encoded
	ClassOutputTooLarge  = "output_too_large" // an output exceeds the writer's batch bytes
	ClassProduceRejected = "produce_rejected" // the broker rejected an output for good
)

// Stages, for the wiretag-error-stage header.
const (
	StageDecode  = "decode"
	StageTag     = "tag"
	StageEncode  = "encode"
	StageProduce = "produce"
)

// Snapshot is one consistent set of tagger and rules. It is immutable; a
// reload builds a new one and swaps it in whole.
type Snapshot struct {
	Tagger *tagger.Tagger
	Rules  *rules.Set
}

// Input is one message to process.
type Input struct {
	Source rules.Source
	Key    []byte
	Value  []byte
}

// Record is one output: the enriched record or an alert.
type Record struct {
	Kind  string // metrics.KindEnriched or metrics.KindAlert
	Topic string
	Key   []byte
	Value []byte
	Rule  string // for alerts
}

// Failure says why a message goes to the dead-letter topic.
type Failure struct {
	Class string
	Stage string
	Err   error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s (%s): %v", f.Class, f.Stage, f.Err) }

// Result is the outcome for one input: records, or a failure.
type Result struct {
	StoryID  string
	Records  []Record
	Failure  *Failure
	Enriched *schema.Enriched // for tag metrics; nil on failure
}

// Options are the parts of the configuration the stage needs.
type Options struct {
	EnrichedTopic   string
	MaxMessageBytes int
	// Baseline, if set, replaces tagging and rules by a copy (wiretag bench).
	Baseline Baseline
}

// Baseline selects what replaces tagging in wiretag bench's baselines.
type Baseline int

const (
	BaselineNone Baseline = iota // tag: the processor itself
	// BaselineCopy decodes, re-encodes and produces each story: the Kafka
	// client's limit on this machine.
	BaselineCopy
	// BaselineCopySized is BaselineCopy writing about as much as wiretag
	// does on the bench's stories: the record with its body three times
	// (mentions make an enriched record about three times its body) plus a
	// 400-byte record on the first alert topic (wiretag bench's stories
	// raise about one alert each). It separates the cost of tagging from the
	// cost of moving wiretag's larger output.
	BaselineCopySized
)

const (
	sizedBodyCopies = 3
	sizedAlertBytes = 400
)

// Process handles one input with the snapshot s. It never panics: a panic in
// tagging is returned as a ClassPanic failure.
func Process(s *Snapshot, opt Options, in Input) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			res = Result{StoryID: res.StoryID, Failure: &Failure{
				Class: ClassPanic, Stage: StageTag,
				Err: fmt.Errorf("panic: %v\n%s", r, firstLines(debug.Stack(), 12)),
			}}
		}
	}()
	if opt.MaxMessageBytes > 0 && len(in.Value) > opt.MaxMessageBytes {
		return Result{Failure: &Failure{Class: string(schema.ErrOversize), Stage: StageDecode,
			Err: fmt.Errorf("message of %d bytes exceeds WIRETAG_MAX_MESSAGE_BYTES (%d)", len(in.Value), opt.MaxMessageBytes)}}
	}
	fallbackID := ""
	if utf8.Valid(in.Key) {
		fallbackID = string(in.Key)
	}
	story, err := schema.Decode(in.Value, fallbackID, schema.Limits{MaxBodyBytes: opt.MaxMessageBytes})
	if err != nil {
		class := "decode"
		var de *schema.DecodeError
		if errors.As(err, &de) {
			class = string(de.Class)
		}
		return Result{Failure: &Failure{Class: class, Stage: StageDecode, Err: err}}
	}
	res.StoryID = story.ID
	var e *schema.Enriched
	var hits []rules.Hit
	if opt.Baseline != BaselineNone {
		e = copyStory(story)
		if opt.Baseline == BaselineCopySized {
			e.Body = strings.Repeat(e.Body, sizedBodyCopies)
		}
	} else {
		e = s.Tagger.Tag(story)
		hits = s.Rules.Evaluate(e)
	}

	// The canonical encoding: deterministic bytes for the same input, so a
	// re-delivered story yields an identical record.
	body, err := e.Marshal()
	if err != nil {
		return Result{StoryID: story.ID, Failure: &Failure{Class: ClassEncode, Stage: StageEncode, Err: fmt.Errorf("enriched record: %w", err)}}
	}
	res.Records = append(res.Records, Record{Kind: metrics.KindEnriched, Topic: opt.EnrichedTopic, Key: []byte(story.ID), Value: body})
	for _, h := range hits {
		b, err := rules.NewAlert(h, e, in.Source).Encode()
		if err != nil {
			return Result{StoryID: story.ID, Failure: &Failure{Class: ClassEncode, Stage: StageEncode, Err: fmt.Errorf("alert %s: %w", h.Rule.Name, err)}}
		}
		res.Records = append(res.Records, Record{Kind: metrics.KindAlert, Topic: h.Rule.Topic, Key: []byte(story.ID), Value: b, Rule: h.Rule.Name})
	}
	if opt.Baseline == BaselineCopySized && s != nil && s.Rules != nil {
		if topics := s.Rules.Topics(); len(topics) > 0 {
			res.Records = append(res.Records, Record{Kind: metrics.KindAlert, Topic: topics[0], Key: []byte(story.ID),
				Value: body[:min(len(body), sizedAlertBytes)], Rule: "baseline"})
		}
	}
	res.Enriched = e
	return res
}

// copyStory is the pass-through record: the story's fields, no tags.
func copyStory(st *schema.Story) *schema.Enriched {
	e := schema.NewEnriched(st)
	e.Language = schema.Language{Detected: "und", Declared: st.Language}
	e.Actors, e.Topics = []schema.Actor{}, []schema.Topic{}
	e.People, e.Organisations, e.Places, e.Subjects = []schema.NinjsEntity{}, []schema.NinjsEntity{}, []schema.NinjsEntity{}, []schema.NinjsEntity{}
	e.Tagger = schema.TaggerInfo{Version: "pass-through", Taxonomy: "none"}
	return e
}

func firstLines(b []byte, n int) []byte {
	for i, c := range b {
		if c == '\n' {
			n--
			if n == 0 {
				return b[:i]
			}
		}
	}
	return b
}
