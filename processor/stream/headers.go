package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Header names wiretag sets on every output. Input headers with the
// wiretag- prefix are dropped so that a producer cannot forge them; every
// other input header (traceparent, tracestate, ...) passes through.
const (
	HeaderPrefix          = "wiretag-"
	HeaderSourceTopic     = "wiretag-source-topic"
	HeaderSourcePartition = "wiretag-source-partition"
	HeaderSourceOffset    = "wiretag-source-offset"
	HeaderIdempotencyKey  = "wiretag-idempotency-key"
	HeaderKind            = "wiretag-kind"
	HeaderStoryID         = "wiretag-story-id"
	HeaderRule            = "wiretag-rule"
	HeaderVersion         = "wiretag-version"

	HeaderErrorClass      = "wiretag-error-class"
	HeaderErrorStage      = "wiretag-error-stage"
	HeaderErrorMessage    = "wiretag-error-message"
	HeaderFailedAt        = "wiretag-failed-at"
	HeaderOriginalOmitted = "wiretag-original-omitted"
	HeaderOriginalSize    = "wiretag-original-size"
)

// maxErrorHeader bounds the error message header; a panic trace can be long.
const maxErrorHeader = 2048

// IdempotencyKey is the same for every attempt to write the same output of
// the same input message, so consumers can drop duplicates: the hash of the
// source coordinates, the output kind and (for alerts) the rule.
func IdempotencyKey(topic string, partition int, offset int64, kind, rule string) string {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(partition)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(offset, 10)))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(rule))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func passThrough(in []kafka.Header, extra int) []kafka.Header {
	out := make([]kafka.Header, 0, len(in)+extra)
	for _, h := range in {
		if !strings.HasPrefix(strings.ToLower(h.Key), HeaderPrefix) {
			out = append(out, h)
		}
	}
	return out
}

func outputHeaders(src kafka.Message, kind, rule, storyID, version string) []kafka.Header {
	hs := passThrough(src.Headers, 12)
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderSourceTopic, src.Topic)
	add(HeaderSourcePartition, strconv.Itoa(src.Partition))
	add(HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
	add(HeaderKind, kind)
	add(HeaderIdempotencyKey, IdempotencyKey(src.Topic, src.Partition, src.Offset, kind, rule))
	if storyID != "" {
		add(HeaderStoryID, storyID)
	}
	if rule != "" {
		add(HeaderRule, rule)
	}
	add(HeaderVersion, version)
	return hs
}

func deadLetterHeaders(src kafka.Message, class, stage, msg, storyID, version string, now time.Time) []kafka.Header {
	hs := outputHeaders(src, "dead_letter", "", storyID, version)
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader] + "…"
	}
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderErrorClass, class)
	add(HeaderErrorStage, stage)
	add(HeaderErrorMessage, msg)
	add(HeaderFailedAt, now.UTC().Format(time.RFC3339Nano))
	add(HeaderOriginalSize, strconv.Itoa(len(src.Value)))
	return hs
}

// Header returns the value of the last header named key, and whether there
// is one.
func Header(hs []kafka.Header, key string) (string, bool) {
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == key {
			return string(hs[i].Value), true
		}
	}
	return "", false
}

// messageSize is kafka-go's record size accounting (message.go totalSize),
// rounded up, so a record the writer would refuse as too large is caught
// before the call and only its own story is dead-lettered.
func messageSize(m *kafka.Message) int {
	n := 4 + 1 + 1 + 8 + 4 + len(m.Key) + 4 + len(m.Value) + 5
	for _, h := range m.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}
