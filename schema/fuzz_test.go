package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var errorClasses = map[ErrorClass]bool{
	ErrEmpty: true, ErrInvalidUTF8: true, ErrInvalidJSON: true, ErrOversize: true,
	ErrMissingBody: true, ErrMissingID: true, ErrNotAStory: true, ErrInvalidField: true,
}

// FuzzDecode: Decode never panics; a failure is a *DecodeError of a known
// class with an offset inside the payload; a story has valid UTF-8 strings,
// an id, a non-blank body, Extra values that are valid JSON, decodes the same
// way twice and encodes to a record that passes the JSON Schema.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"",
		"   ",
		"plain text story",
		"[UPDATE] plain text",
		"\xEF\xBB\xBF{\"id\":\"a\",\"body\":\"b\"}",
		`{"id":"a","headline":"h","body":"b","lang":"uk","published":"2025-11-24T10:00:00Z","x":{"y":[1,2]}}`,
		`{"id":1e3,"body":"b"}`,
		`{"id":"a","body":"b","published":"2025-13-45T99:00:00Z"}`,
		`{"uri":"u","headline":"h","body_text":"t","body_html":"<p>h</p>"}`,
		`{"uri":"u","body_html":"<div><script>x</script><p>a &amp; b</p><!-- c -->"}`,
		`{"uri":"u","headlines":[{"role":"main","value":"h"}],"bodies":[{"contenttype":"text/html","value":"<p>x"}]}`,
		`{"uri":"u","headlines":[1],"bodies":{}}`,
		`{"body":"\ud800\udc00\ud800"}`,
		`[1,2,{"a":[]}]`,
		`[`,
		`{"a":`,
		`42`,
		`"str"`,
		"abc\xffdef",
		"\x00\x01binary",
		`{"body":"ok","body":5}`,
	} {
		f.Add([]byte(s), "fallback-id", 64)
	}
	f.Fuzz(func(t *testing.T, payload []byte, fallback string, limit int) {
		if limit < 0 {
			limit = -limit
		}
		s, err := Decode(payload, fallback, Limits{MaxBodyBytes: limit})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			if s != nil {
				t.Fatal("story returned with an error")
			}
			if !errorClasses[de.Class] {
				t.Fatalf("unknown error class %q", de.Class)
			}
			if de.Offset < -1 || de.Offset > int64(len(payload)) {
				t.Fatalf("offset %d outside payload of %d bytes", de.Offset, len(payload))
			}
			if de.Class == ErrInvalidUTF8 && utf8.Valid(payload[:de.Offset]) == false {
				t.Fatalf("invalid UTF-8 before reported offset %d", de.Offset)
			}
			return
		}
		for name, v := range map[string]string{"ID": s.ID, "Headline": s.Headline, "Body": s.Body, "Language": s.Language,
			"Published": s.Published, "Source": s.Source, "URL": s.URL} {
			if !utf8.ValidString(v) {
				t.Fatalf("Story.%s is not valid UTF-8: %q", name, v)
			}
		}
		if strings.TrimSpace(s.ID) == "" || strings.TrimSpace(s.Body) == "" {
			t.Fatalf("story without id or body: %+v", s)
		}
		if limit > 0 && len(s.Headline)+len(s.Body) > limit {
			t.Fatalf("story over the limit")
		}
		for k, v := range s.Extra {
			if !json.Valid(v) || !utf8.ValidString(k) {
				t.Fatalf("Extra[%q] = %q is not valid", k, v)
			}
		}
		again, err := Decode(payload, fallback, Limits{MaxBodyBytes: limit})
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
		e := NewEnriched(s) // the trusted-text path: Decode's validation must hold
		e.Language = Language{Detected: "und", Declared: s.Language}
		rec, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatalf("AppendJSON: %v", err)
		}
		if !utf8.Valid(rec) {
			t.Fatalf("record is not valid UTF-8: %q", rec)
		}
		if err := ValidateEnriched(rec); err != nil {
			t.Fatalf("record from a decoded story fails the schema: %v\n%s", err, rec)
		}
	})
}
