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
	return string(appendIdempotencyKey(nil, topic, partition, offset, kind, rule))
}

// appendIdempotencyKey appends the key's 32 hex digits to dst. The hashed
// bytes are built after them in dst's spare room and then dropped, so a key
// costs no allocation of its own.
func appendIdempotencyKey(dst []byte, topic string, partition int, offset int64, kind, rule string) []byte {
	start := len(dst)
	in := append(dst, topic...)
	in = strconv.AppendInt(append(in, 0), int64(partition), 10)
	in = strconv.AppendInt(append(in, 0), offset, 10)
	in = append(append(in, 0), kind...)
	in = append(append(in, 0), rule...)
	sum := sha256.Sum256(in[start:])
	return hex.AppendEncode(in[:start], sum[:16])
}

func passThrough(in []kafka.Header, extra int) []kafka.Header {
	out := make([]kafka.Header, 0, len(in)+extra)
	for _, h := range in {
		if len(h.Key) < len(HeaderPrefix) || !strings.EqualFold(h.Key[:len(HeaderPrefix)], HeaderPrefix) {
			out = append(out, h)
		}
	}
	return out
}

func outputHeaders(src kafka.Message, kind, rule, storyID, version string) []kafka.Header {
	hs := passThrough(src.Headers, 12)
	// The values share one buffer: a record has eight headers, and an
	// allocation for each was a tenth of the processor's garbage. Each value
	// is capped, so nothing appended to one can reach the next.
	buf := make([]byte, 0, 2*len(src.Topic)+len(kind)+len(rule)+len(storyID)+len(version)+160)
	// value adds header k holding what was appended to buf since start.
	value := func(k string, start int) {
		hs = append(hs, kafka.Header{Key: k, Value: buf[start:len(buf):len(buf)]})
	}
	str := func(k, v string) {
		start := len(buf)
		buf = append(buf, v...)
		value(k, start)
	}
	str(HeaderSourceTopic, src.Topic)
	start := len(buf)
	buf = strconv.AppendInt(buf, int64(src.Partition), 10)
	value(HeaderSourcePartition, start)
	start = len(buf)
	buf = strconv.AppendInt(buf, src.Offset, 10)
	value(HeaderSourceOffset, start)
	str(HeaderKind, kind)
	start = len(buf)
	buf = appendIdempotencyKey(buf, src.Topic, src.Partition, src.Offset, kind, rule)
	value(HeaderIdempotencyKey, start)
	if storyID != "" {
		str(HeaderStoryID, storyID)
	}
	if rule != "" {
		str(HeaderRule, rule)
	}
	str(HeaderVersion, version)
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
