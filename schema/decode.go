package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorClass names why a payload could not be decoded into a story. The
// values are stable: they appear in dead-letter headers and metric labels.
type ErrorClass string

const (
	ErrEmpty       ErrorClass = "empty"        // payload has no bytes, or only white space
	ErrInvalidUTF8 ErrorClass = "invalid_utf8" // payload is not valid UTF-8; Offset is the first bad byte
	ErrInvalidJSON ErrorClass = "invalid_json" // payload looks like JSON but does not parse; Offset is the first byte the parser rejected (len(payload) when truncated)
	ErrOversize    ErrorClass = "oversize"     // headline + body exceed Limits.MaxBodyBytes
	ErrMissingBody ErrorClass = "missing_body" // a story object whose body is absent or blank
	ErrMissingID   ErrorClass = "missing_id"   // neither the payload nor fallbackID gives an id
	ErrNotAStory   ErrorClass = "not_a_story"  // valid JSON that is not a story object (array, scalar, unrelated object), or binary data
	// ErrInvalidField: a story field the decoder interprets has the wrong JSON
	// type or shape (e.g. "body": 5, "headlines": "x"), or "published" (ninjs:
	// "versioncreated"/"firstcreated") is neither an RFC 3339 date-time nor an
	// RFC 3339 full-date (date only). Offset is the first byte of the
	// offending value.
	ErrInvalidField ErrorClass = "invalid_field"
)

// DecodeError says exactly what is wrong with a payload.
type DecodeError struct {
	Class  ErrorClass
	Offset int64 // byte offset of the problem, -1 when it has none
	Detail string
}

// Error returns "class at byte N: detail", or "class: detail" without an offset.
func (e *DecodeError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s at byte %d: %s", e.Class, e.Offset, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Class, e.Detail)
}

// Limits bound what Decode accepts.
type Limits struct {
	MaxBodyBytes int // body (headline + body) larger than this is ErrOversize; 0 means no limit
}

func decodeErr(class ErrorClass, off int, format string, args ...any) *DecodeError {
	return &DecodeError{Class: class, Offset: int64(off), Detail: fmt.Sprintf(format, args...)}
}

// Decode turns a payload into a Story, detecting the format by content (see
// the package documentation for the formats and how their fields map).
// fallbackID is used when the payload carries no id (plain text, or JSON
// without one); when both are empty the result is ErrMissingID.
//
// Every error is a *DecodeError. Decode never panics, never retains payload
// (the Story owns copies of everything it holds), and every string in the
// returned Story is valid UTF-8.
func Decode(payload []byte, fallbackID string, lim Limits) (*Story, error) {
	if len(payload) == 0 {
		return nil, decodeErr(ErrEmpty, -1, "payload is empty")
	}
	// UTF-8 first, for every format: a JSON decoder would silently turn bad
	// bytes into U+FFFD.
	if !utf8.Valid(payload) {
		off := firstInvalidUTF8(payload)
		return nil, decodeErr(ErrInvalidUTF8, off, "invalid UTF-8 byte 0x%02x", payload[off])
	}
	base := 0
	if bytes.HasPrefix(payload, utf8BOM) {
		base = len(utf8BOM)
	}
	rest := payload[base:]
	lead := len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
	if len(bytes.TrimSpace(rest)) == 0 { // TrimSpace is Unicode-aware: NBSP etc. count as blank
		return nil, decodeErr(ErrEmpty, -1, "payload is blank")
	}

	var s *Story
	var err *DecodeError
	switch first := rest[lead]; {
	case first == '{':
		s, err = decodeObject(rest, base)
	case first == '[' && looksLikeJSONArray(rest[lead+1:]):
		if err := syntaxCheck(rest, base); err != nil {
			return nil, err
		}
		return nil, decodeErr(ErrNotAStory, base+lead, "JSON array, not a story object")
	case json.Valid(rest):
		return nil, decodeErr(ErrNotAStory, base+lead, "JSON %s, not a story object", jsonKind(first))
	default:
		s, err = decodeText(rest, base)
	}
	if err != nil {
		return nil, err
	}

	if strings.TrimSpace(s.Body) == "" {
		return nil, decodeErr(ErrMissingBody, -1, "%s story has no body text", s.Format)
	}
	if n := len(s.Headline) + len(s.Body); lim.MaxBodyBytes > 0 && n > lim.MaxBodyBytes {
		return nil, decodeErr(ErrOversize, -1, "headline+body is %d bytes, limit is %d", n, lim.MaxBodyBytes)
	}
	if strings.TrimSpace(s.ID) == "" {
		s.ID = fallbackID
	}
	if strings.TrimSpace(s.ID) == "" {
		return nil, decodeErr(ErrMissingID, -1, "%s story has no id and no fallback id was given", s.Format)
	}
	if !utf8.ValidString(s.ID) { // fallbackID comes from the caller (e.g. a Kafka key)
		return nil, decodeErr(ErrMissingID, -1, "fallback id is not valid UTF-8")
	}
	s.validText = true // the payload was checked before anything was cut from it
	return s, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b) // unreachable when !utf8.Valid(b)
}

// looksLikeJSONArray reports whether the bytes after a leading '[' start a
// JSON value (or close the array), so that "[UPDATE] talks resume..." stays
// plain text while "[1,2" is reported as broken JSON.
func looksLikeJSONArray(after []byte) bool {
	after = bytes.TrimLeft(after, " \t\r\n")
	if len(after) == 0 {
		return true
	}
	switch c := after[0]; {
	case c == '{', c == '[', c == '"', c == ']', c == '-', c >= '0' && c <= '9':
		return true
	case c == 't', c == 'f', c == 'n':
		return bytes.HasPrefix(after, []byte("true")) || bytes.HasPrefix(after, []byte("false")) || bytes.HasPrefix(after, []byte("null"))
	}
	return false
}

func jsonKind(first byte) string {
	switch first {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// syntaxCheck reports a JSON syntax error in data as an ErrInvalidJSON whose
// offset is relative to the whole payload (data starts at payload[base]).
func syntaxCheck(data []byte, base int) *DecodeError {
	var v json.RawMessage
	return jsonError(json.Unmarshal(data, &v), data, base)
}

// jsonError converts an encoding/json error about data into a DecodeError.
func jsonError(err error, data []byte, base int) *DecodeError {
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// encoding/json's Offset counts the bytes read, including the
		// rejected one; at end of input it is len(data).
		off := int(se.Offset) - 1
		if strings.HasPrefix(se.Error(), "unexpected end") || off < 0 {
			off = int(se.Offset)
		}
		if off > len(data) {
			off = len(data)
		}
		return decodeErr(ErrInvalidJSON, base+off, "%s", se.Error())
	}
	return decodeErr(ErrInvalidJSON, -1, "%s", err.Error())
}

func decodeText(text []byte, base int) (*Story, *DecodeError) {
	for i, c := range text {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' {
			return nil, decodeErr(ErrNotAStory, base+i, "control byte 0x%02x: binary data, not plain text", c)
		}
	}
	return &Story{Body: string(text), Format: FormatText}, nil
}

// object is a decoded top-level JSON object: its members as raw values, and
// the payload to find member offsets in when reporting a bad field.
type object struct {
	members map[string]json.RawMessage
	data    []byte
	base    int
}

func decodeObject(data []byte, base int) (*Story, *DecodeError) {
	members, ok := scanMembers(data)
	if !ok { // an error, or a shape the fast scanner leaves to encoding/json
		if err := json.Unmarshal(data, &members); err != nil {
			return nil, jsonError(err, data, base)
		}
	}
	o := &object{members: members, data: data, base: base}
	has := func(k string) bool { _, ok := members[k]; return ok }
	switch {
	case has("headlines") || has("bodies"):
		return o.ninjs2()
	case has("id") || has("body"):
		return o.wiretag()
	case has("uri") || o.hasBodyVariant():
		return o.ninjs1()
	case has("headline"):
		return o.wiretag()
	}
	return nil, decodeErr(ErrNotAStory, -1, "JSON object has none of id, headline, body (wiretag), uri, body_* (ninjs 1.x), headlines, bodies (ninjs 2.x)")
}

func (o *object) hasBodyVariant() bool {
	for k := range o.members {
		if strings.HasPrefix(k, "body_") {
			return true
		}
	}
	return false
}

// take removes key from the members and returns its raw value.
func (o *object) take(key string) (json.RawMessage, bool) {
	raw, ok := o.members[key]
	if ok {
		delete(o.members, key)
	}
	return raw, ok
}

// str removes key and returns its string value; absent and null give "".
func (o *object) str(key string) (string, *DecodeError) {
	raw, ok := o.take(key)
	if !ok {
		return "", nil
	}
	return o.stringValue(key, raw)
}

func (o *object) stringValue(key string, raw json.RawMessage) (string, *DecodeError) {
	if isNull(raw) {
		return "", nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", o.fieldErr(key, "%q must be a string, not %s", key, rawKind(raw))
	}
	// raw is a complete, valid JSON string from a payload already checked to
	// be UTF-8: without escapes its contents are the value as they are.
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	if s, ok := unquote(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", o.fieldErr(key, "%q: %v", key, err)
	}
	return s, nil
}

// timestamp removes key and returns its value after checking it is RFC 3339.
func (o *object) timestamp(key string) (string, *DecodeError) {
	s, err := o.str(key)
	if err != nil || s == "" {
		return s, err
	}
	if !isRFC3339(s) {
		return "", o.fieldErr(key, "%q is not an RFC 3339 date-time or full-date: %q", key, s)
	}
	return s, nil
}

// isRFC3339 accepts an RFC 3339 date-time ("2025-11-24T10:00:00Z", with
// optional fraction and a numeric offset) and, because real feeds send
// publication dates without a time, an RFC 3339 full-date ("2025-11-24").
func isRFC3339(s string) bool {
	if len(s) == len("2006-01-02") {
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// firstTimestamp returns the first of keys that is present and non-null;
// keys after it stay in the members (and so go to Extra).
func (o *object) firstTimestamp(keys ...string) (string, *DecodeError) {
	for _, k := range keys {
		if raw, ok := o.members[k]; ok && !isNull(raw) {
			return o.timestamp(k)
		}
	}
	return "", nil
}

// firstString is firstTimestamp for plain strings.
func (o *object) firstString(keys ...string) (string, *DecodeError) {
	for _, k := range keys {
		if raw, ok := o.members[k]; ok && !isNull(raw) {
			return o.str(k)
		}
	}
	return "", nil
}

func (o *object) fieldErr(key, format string, args ...any) *DecodeError {
	return decodeErr(ErrInvalidField, o.memberOffset(key), format, args...)
}

// memberOffset finds the payload offset of the value of the last top-level
// member named key (the one encoding/json keeps). It rescans the payload, so
// it is only used on the error path. -1 if not found.
func (o *object) memberOffset(key string) int {
	dec := json.NewDecoder(bytes.NewReader(o.data))
	if _, err := dec.Token(); err != nil { // '{'
		return -1
	}
	found := -1
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return found
		}
		k, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return found
		}
		if k == key {
			// InputOffset is just past the value; the value is raw, verbatim.
			found = o.base + int(dec.InputOffset()) - len(raw)
		}
	}
	return found
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func rawKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// extra returns the members not consumed by the format mapping, or nil. The
// values are copied: members may alias the payload, which Decode never keeps.
func (o *object) extra() map[string]json.RawMessage {
	if len(o.members) == 0 {
		return nil
	}
	for k, v := range o.members {
		o.members[k] = append(json.RawMessage(nil), v...)
	}
	return o.members
}

func (o *object) wiretag() (*Story, *DecodeError) {
	s := &Story{Format: FormatWiretag}
	var err *DecodeError
	if s.ID, err = o.id("id"); err != nil {
		return nil, err
	}
	if s.Headline, err = o.str("headline"); err != nil {
		return nil, err
	}
	if s.Body, err = o.str("body"); err != nil {
		return nil, err
	}
	lang, err := o.str("language")
	if err != nil {
		return nil, err
	}
	alt, err := o.str("lang")
	if err != nil {
		return nil, err
	}
	if s.Language = lang; lang == "" {
		s.Language = alt
	}
	if s.Published, err = o.timestamp("published"); err != nil {
		return nil, err
	}
	if s.Source, err = o.str("source"); err != nil {
		return nil, err
	}
	if s.URL, err = o.str("url"); err != nil {
		return nil, err
	}
	s.Extra = o.extra()
	return s, nil
}

// id removes key and returns it as a string; a JSON number is taken as its
// literal text (some producers emit numeric ids).
func (o *object) id(key string) (string, *DecodeError) {
	raw, ok := o.members[key]
	if ok && len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		delete(o.members, key)
		return string(raw), nil
	}
	return o.str(key)
}
