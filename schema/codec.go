package schema

// Codec choice, by measurement: codec_bench_test.go, run with
//
//	go test -tags codecbench -run Codec -bench . -benchmem ./schema
//
// (the build tag keeps goccy/go-json and sonic out of the everyday test
// build). Inputs: a 3374-byte wiretag story in four languages (English,
// Ukrainian, Russian, Arabic) with two extra fields, and its 7354-byte
// enriched record with 10 actors, 3 topics, 23 mentions, ninjs views and
// extra fields. linux/amd64, 2 shared vCPUs (Xeon), go1.26.8, goccy/go-json
// v0.12.0, sonic v1.15.5. The machine was loaded (load average 6–17), so the
// figures are the best of 14 runs over three sessions; single runs varied up
// to 2–3x.
//
//	decode story: top-level members to map[string]json.RawMessage, then the
//	seven string fields                       ns/op   B/op  allocs
//	  encoding/json                           53600  12488      60
//	  goccy/go-json                           17000   8050      38
//	  sonic (default)                         19200  15000      39
//	  sonic (ConfigStd)                       13700  15300      54
//	  Decode (encoding/json; also UTF-8 check, format detection, Extra)
//	                                          60000  11672      49
//
//	encode enriched record                    ns/op   B/op  allocs
//	  encoding/json Marshal                   28200   8355       6
//	  encoding/json Encoder, no HTML escape   20900    160       5
//	  goccy/go-json                           10100   8192       1
//	  sonic (default)                         10500   8400       3
//	  sonic (ConfigStd)                       13000   8420       3
//	  (*Enriched).AppendJSON, reused buffer   11600      0       0
//
// For scale: tagging the same kind of 3 KB story (processor/tagger
// BenchmarkStory3KB) took about 515000 ns/op on the same machine, so decode
// is ~10% and encode ~2% of the per-message CPU.
//
// Determinism (TestCodecCandidates, same tag): encoding/json, goccy and
// sonic ConfigStd sort map keys and were byte-identical over 50 encodings;
// sonic's default configuration does not sort map keys, so a record with
// several Extra members came out in different orders — disqualified for the
// record unless configured as ConfigStd.
//
// Decision:
//
//   - Encoding the record (the hot path's output): the hand-written appender
//     in this file, AppendJSON. It is as fast as goccy and sonic within the
//     noise (2.4x faster than json.Marshal), allocates nothing into a reused
//     buffer, is deterministic by construction (sorted Extra keys, [] for nil
//     slices, no HTML escaping) and adds no dependency.
//     TestAppendJSONMatchesEncodingJSON keeps it byte-for-byte equal to
//     encoding/json (SetEscapeHTML(false)) on a record with every field set
//     by reflection, so a field added to Enriched but not to the appender
//     fails the tests; FuzzAppendString does the same for string escaping.
//   - Decoding stories: encoding/json. goccy and sonic unmarshal 3–4x faster,
//     which would save ~40 µs (~7%) per message, but Decode relies on
//     encoding/json's exact SyntaxError offsets, its refusal to panic on any
//     input, and its exact acceptance rules; sonic costs seven modules and
//     goccy one. Worth revisiting only if profiles show decode dominating.
//     Both libraries would also be fine on UTF-8, since Decode rejects
//     invalid UTF-8 itself before any JSON parsing.
//
// go.mod keeps goccy/go-json and sonic only for the tagged benchmark; no
// package imports them.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// AppendJSON appends the canonical JSON encoding of e to dst and returns the
// extended buffer. The encoding is byte-for-byte deterministic: fields in
// struct order (omitempty fields left out when empty), Extra keys sorted and
// their values compacted, nil slices written as [], strings escaped as
// encoding/json does with HTML escaping off (so "<", ">" and "&" stay as they
// are, U+2028/U+2029 and control characters are escaped, invalid UTF-8
// becomes U+FFFD), numbers as encoding/json writes them. It fails only on a
// NaN or infinite Score or an Extra value that is not valid JSON; dst is then
// returned unchanged.
func (e *Enriched) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	b, err := e.appendJSON(dst)
	if err != nil {
		return dst[:start], err
	}
	return b, nil
}

// Marshal returns the canonical JSON encoding of e (see AppendJSON).
func (e *Enriched) Marshal() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, e.sizeHint()))
}

// sizeHint is the encoded size of e without escapes, rounded up: mentions
// make a record three times its body, and growing the buffer from a guess
// based on the body alone was half of all bytes the processor allocated.
// The per-item constants cover the field names and punctuation.
func (e *Enriched) sizeHint() int {
	n := 320 + len(e.ID) + len(e.Format) + len(e.Language.Detected) + len(e.Language.Declared) + len(e.Headline) + len(e.Body) + len(e.Published) + len(e.Source) + len(e.URL) +
		len(e.Tagger.Version) + len(e.Tagger.Taxonomy)
	for k, v := range e.Extra {
		n += len(k) + len(v) + 8
	}
	mentions := func(ms []Mention) int {
		m := 16
		for i := range ms {
			m += 48 + len(ms[i].Field) + len(ms[i].Text)
		}
		return m
	}
	for i := range e.Actors {
		a := &e.Actors[i]
		n += 80 + len(a.ID) + len(a.Kind) + len(a.Name) + len(a.Wikidata) + mentions(a.Mentions)
	}
	for i := range e.Topics {
		t := &e.Topics[i]
		n += 96 + len(t.ID) + len(t.Name) + 3*(len(t.Points28)+len(t.Points20)) + mentions(t.Mentions)
	}
	for _, es := range [...][]NinjsEntity{e.People, e.Organisations, e.Places, e.Subjects} {
		for i := range es {
			n += 64 + len(es[i].Name) + len(es[i].Rel) + len(es[i].URI) + len(es[i].Literal)
		}
	}
	return n + n/32 // a little room for escapes
}

// MarshalJSON makes encoding/json write the canonical encoding too (which it
// then compacts and, by default, HTML-escapes). Prefer AppendJSON on the hot
// path: it skips that second pass.
func (e *Enriched) MarshalJSON() ([]byte, error) {
	return e.Marshal()
}

// UnmarshalEnriched parses an enriched record (for consumers and tests; the
// stream processor only writes records).
func UnmarshalEnriched(data []byte) (*Enriched, error) {
	var e Enriched
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (e *Enriched) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"schema":`...)
	b = appendString(b, e.Schema)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"format":`...)
	b = appendString(b, e.Format)
	b = append(b, `,"language":{"detected":`...)
	b = appendString(b, e.Language.Detected)
	if e.Language.Declared != "" {
		b = append(b, `,"declared":`...)
		b = appendString(b, e.Language.Declared)
	}
	b = append(b, `},"headline":`...)
	b = appendText(b, e.Headline, e.validText)
	b = append(b, `,"body":`...)
	b = appendText(b, e.Body, e.validText)
	if e.Published != "" {
		b = append(b, `,"published":`...)
		b = appendString(b, e.Published)
	}
	if e.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, e.Source)
	}
	if e.URL != "" {
		b = append(b, `,"url":`...)
		b = appendString(b, e.URL)
	}
	if len(e.Extra) > 0 {
		var err error
		if b, err = appendExtra(append(b, `,"extra":`...), e.Extra); err != nil {
			return b, err
		}
	}

	b = append(b, `,"actors":[`...)
	for i := range e.Actors {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.Actors[i].appendJSON(b)
	}
	b = append(b, `],"topics":[`...)
	for i := range e.Topics {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.Topics[i].appendJSON(b); err != nil {
			return b, err
		}
	}
	b = appendEntities(append(b, `],"people":`...), e.People)
	b = appendEntities(append(b, `,"organisations":`...), e.Organisations)
	b = appendEntities(append(b, `,"places":`...), e.Places)
	b = appendEntities(append(b, `,"subjects":`...), e.Subjects)
	b = append(b, `,"tagger":{"version":`...)
	b = appendString(b, e.Tagger.Version)
	b = append(b, `,"taxonomy":`...)
	b = appendString(b, e.Tagger.Taxonomy)
	b = append(b, "}}"...)
	return b, nil
}

func appendExtra(b []byte, extra map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		v := extra[k]
		if len(v) == 0 {
			b = append(b, "null"...)
			continue
		}
		// json.Compact is what encoding/json applies to a RawMessage; it
		// also rejects invalid JSON.
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, v); err != nil {
			return b, fmt.Errorf("schema: extra %q is not valid JSON: %w", k, err)
		}
		b = buf.Bytes()
	}
	return append(b, '}'), nil
}

func (a *Actor) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, a.ID)
	b = append(b, `,"kind":`...)
	b = appendString(b, a.Kind)
	b = append(b, `,"name":`...)
	b = appendString(b, a.Name)
	if a.Wikidata != "" {
		b = append(b, `,"wikidata":`...)
		b = appendString(b, a.Wikidata)
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	b = append(b, `,"quoted":`...)
	b = strconv.AppendBool(b, a.Quoted)
	b = appendMentions(append(b, `,"mentions":`...), a.Mentions)
	return append(b, '}')
}

func (t *Topic) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, t.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, t.Name)
	b = appendInts(append(b, `,"points_28":`...), t.Points28)
	b = appendInts(append(b, `,"points_20":`...), t.Points20)
	b = append(b, `,"score":`...)
	var err error
	if b, err = appendFloat(b, t.Score); err != nil {
		return b, fmt.Errorf("schema: topic %q: %w", t.ID, err)
	}
	b = appendMentions(append(b, `,"mentions":`...), t.Mentions)
	return append(b, '}'), nil
}

func appendMentions(b []byte, ms []Mention) []byte {
	b = append(b, '[')
	for i := range ms {
		m := &ms[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":`...)
		b = appendString(b, m.Field)
		b = append(b, `,"start":`...)
		b = strconv.AppendInt(b, int64(m.Start), 10)
		b = append(b, `,"end":`...)
		b = strconv.AppendInt(b, int64(m.End), 10)
		b = append(b, `,"text":`...)
		b = appendString(b, m.Text)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendEntities(b []byte, es []NinjsEntity) []byte {
	b = append(b, '[')
	for i := range es {
		e := &es[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, e.Name)
		if e.Rel != "" {
			b = append(b, `,"rel":`...)
			b = appendString(b, e.Rel)
		}
		if e.URI != "" {
			b = append(b, `,"uri":`...)
			b = appendString(b, e.URI)
		}
		if e.Literal != "" {
			b = append(b, `,"literal":`...)
			b = appendString(b, e.Literal)
		}
		if e.Relevance != 0 {
			b = append(b, `,"relevance":`...)
			b = strconv.AppendInt(b, int64(e.Relevance), 10)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendInts(b []byte, xs []int) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("unsupported float value %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// plainByte marks the bytes that appendString copies as they are on its fast
// path: everything but control characters, '"', '\\', and 0xE2 (the first
// byte of U+2028 and U+2029, which are escaped).
var plainByte = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 0x20 && i != '"' && i != '\\' && i != 0xE2
	}
	return t
}()

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off.
func appendString(b []byte, s string) []byte { return appendText(b, s, false) }

// appendText is appendString for s that may be known to be valid UTF-8.
func appendText(b []byte, s string, valid bool) []byte {
	if !valid && !utf8.ValidString(s) {
		return appendStringSlow(b, s)
	}
	b = append(b, '"')
	start := 0
	raw := unsafe.Slice(unsafe.StringData(s), len(s)) // read-only view for 8-byte loads
	for i := 0; i < len(s); i++ {
		// Skip eight plain bytes at a time: most of a story needs no escape.
		for i+8 <= len(raw) && !needsAttention(binary.LittleEndian.Uint64(raw[i:]), 0xE2) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if plainByte[c] {
			continue
		}
		if c == 0xE2 {
			// s is valid UTF-8, so two continuation bytes follow.
			if s[i+1] != 0x80 || s[i+2]&^1 != 0xA8 {
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xF])
			i += 2
			start = i + 1
			continue
		}
		b = append(b, s[start:i]...)
		b = appendEscapedASCII(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscapedASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendStringSlow is appendString for strings with invalid UTF-8, which
// becomes U+FFFD as in encoding/json.
func appendStringSlow(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscapedASCII(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
