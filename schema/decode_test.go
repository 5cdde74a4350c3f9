package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		name     string
		payload  string
		fallback string
		want     Story
	}{
		{
			name:    "wiretag with language",
			payload: `{"id":"wt-1","headline":"Talks resume","body":"Delegations met in Geneva.","language":"en-GB","published":"2025-11-23T10:00:00Z","source":"desk","url":"https://example.org/1"}`,
			want: Story{ID: "wt-1", Headline: "Talks resume", Body: "Delegations met in Geneva.", Language: "en-GB",
				Published: "2025-11-23T10:00:00Z", Source: "desk", URL: "https://example.org/1", Format: FormatWiretag},
		},
		{
			name:    "wiretag with lang",
			payload: `{"id":"wt-2","headline":"Переговори тривають","body":"Делегації зустрілися в Женеві.","lang":"uk","published":"2025-11-24T09:30:00.250+02:00"}`,
			want: Story{ID: "wt-2", Headline: "Переговори тривають", Body: "Делегації зустрілися в Женеві.", Language: "uk",
				Published: "2025-11-24T09:30:00.250+02:00", Format: FormatWiretag},
		},
		{
			name:    "wiretag published as a full-date",
			payload: `{"id":"wt-2b","body":"x","lang":"tr","published":"2025-11-21"}`,
			want:    Story{ID: "wt-2b", Body: "x", Language: "tr", Published: "2025-11-21", Format: FormatWiretag},
		},
		{
			name:    "wiretag language wins over lang",
			payload: `{"id":"wt-3","body":"x","language":"ru","lang":"uk"}`,
			want:    Story{ID: "wt-3", Body: "x", Language: "ru", Format: FormatWiretag},
		},
		{
			name:    "wiretag empty language falls back to lang",
			payload: `{"id":"wt-3b","body":"x","language":"","lang":"ar"}`,
			want:    Story{ID: "wt-3b", Body: "x", Language: "ar", Format: FormatWiretag},
		},
		{
			name:    "wiretag extra fields kept verbatim",
			payload: "{\"id\":\"wt-4\",\"body\":\"b\",\"desk\": {\"name\" : \"Europe\", \"tags\": [1, 2.50, \"x\"]},\"priority\":7,\"note\":null,\"flags\":[]}",
			want: Story{ID: "wt-4", Body: "b", Format: FormatWiretag, Extra: map[string]json.RawMessage{
				"desk": raw(`{"name" : "Europe", "tags": [1, 2.50, "x"]}`), "priority": raw(`7`), "note": raw(`null`), "flags": raw(`[]`)}},
		},
		{
			name:    "wiretag numeric id",
			payload: `{"id":12345,"body":"b"}`,
			want:    Story{ID: "12345", Body: "b", Format: FormatWiretag},
		},
		{
			name:     "wiretag without id uses fallback",
			payload:  `{"headline":"h","body":"b"}`,
			fallback: "kafka-key-9",
			want:     Story{ID: "kafka-key-9", Headline: "h", Body: "b", Format: FormatWiretag},
		},
		{
			name:     "wiretag null fields are absent",
			payload:  `{"id":null,"headline":null,"body":"b","language":null,"published":null}`,
			fallback: "fb",
			want:     Story{ID: "fb", Body: "b", Format: FormatWiretag},
		},
		{
			name:    "wiretag escapes and lone surrogate",
			payload: `{"id":"wt-5","body":"line1\nline2 \u00e9 \ud83d\ude00 \ud800 end"}`,
			want:    Story{ID: "wt-5", Body: "line1\nline2 é 😀 \uFFFD end", Format: FormatWiretag},
		},
		{
			name:    "wiretag surrounded by white space and BOM",
			payload: "\xEF\xBB\xBF \n\t{\"id\":\"wt-6\",\"body\":\"b\"}\r\n",
			want:    Story{ID: "wt-6", Body: "b", Format: FormatWiretag},
		},
		{
			name: "ninjs 1.x with body_text and body_html",
			payload: `{"uri":"urn:newsml:example.org:20251124:ua-talks","type":"text","versioncreated":"2025-11-24T12:00:00Z",
				"firstcreated":"2025-11-24T11:00:00Z","language":"de","headline":"Gespräche in Genf",
				"body_text":"Die Delegationen trafen sich am Montag.","body_html":"<p>Die Delegationen trafen sich am Montag.</p>",
				"copyrightholder":"Example Agency","person":[{"name":"A. Person","rel":"about"}]}`,
			want: Story{ID: "urn:newsml:example.org:20251124:ua-talks", Headline: "Gespräche in Genf", Body: "Die Delegationen trafen sich am Montag.",
				Language: "de", Published: "2025-11-24T12:00:00Z", Source: "Example Agency", Format: FormatNinjs1,
				Extra: map[string]json.RawMessage{
					"type": raw(`"text"`), "firstcreated": raw(`"2025-11-24T11:00:00Z"`),
					"body_html": raw(`"<p>Die Delegationen trafen sich am Montag.</p>"`),
					"person":    raw(`[{"name":"A. Person","rel":"about"}]`),
				}},
		},
		{
			name:    "ninjs 1.x with only body_html",
			payload: `{"uri":"u-1","headline":"Titre","body_html":"<div><p>Les pourparlers <b>reprennent</b> &amp; continuent.</p><p>Deuxi&egrave;me&nbsp;paragraphe.</p><script>alert(1)</script></div>","language":"fr"}`,
			want:    Story{ID: "u-1", Headline: "Titre", Body: "Les pourparlers reprennent & continuent.\nDeuxième\u00a0paragraphe.", Language: "fr", Format: FormatNinjs1},
		},
		{
			name:    "ninjs 1.x blank body_text falls back to body_html, firstcreated when no versioncreated",
			payload: `{"uri":"u-2","body_text":"  ","body_html":"<p>Texto</p>","firstcreated":"2025-12-01T08:00:00-05:00"}`,
			want: Story{ID: "u-2", Body: "Texto", Published: "2025-12-01T08:00:00-05:00", Format: FormatNinjs1,
				Extra: map[string]json.RawMessage{"body_text": raw(`"  "`)}},
		},
		{
			name: "ninjs 2.x with several headlines and bodies",
			payload: `{"uri":"http://example.org/items/42","type":"text","language":"es","versioncreated":"2025-12-24T20:00:00+01:00",
				"headlines":[{"role":"sub","value":"Subtítulo"},{"role":"main","value":"Titular principal"},{"value":"Sin rol"}],
				"bodies":[{"role":"richtext","contenttype":"application/xhtml+xml","value":"<p>Cuerpo <i>HTML</i></p>"},
				          {"role":"summary","contenttype":"text/plain","value":"Resumen"},
				          {"role":"main","contenttype":"text/plain","value":"Cuerpo en texto plano."}],
				"subjects":[{"name":"Paz","literal":"peace"}]}`,
			want: Story{ID: "http://example.org/items/42", Headline: "Titular principal", Body: "Cuerpo en texto plano.", Language: "es",
				Published: "2025-12-24T20:00:00+01:00", Format: FormatNinjs2,
				Extra: map[string]json.RawMessage{"type": raw(`"text"`), "subjects": raw(`[{"name":"Paz","literal":"peace"}]`)}},
		},
		{
			name: "ninjs 2.x headline without role, HTML body only",
			payload: `{"uri":"u-3","headlines":[{"role":"sub","value":"Sub"},{"value":"Plain headline"}],
				"bodies":[{"role":"main","contenttype":"text/html","value":"<h1>Заголовок</h1><p>Текст&#160;статьи</p>"}]}`,
			want: Story{ID: "u-3", Headline: "Plain headline", Body: "Заголовок\nТекст\u00a0статьи", Format: FormatNinjs2},
		},
		{
			name: "ninjs 2.x body without content type beats markup, blank items skipped",
			payload: `{"uri":"u-4","headlines":[{"role":"main","value":"  "},{"role":"alt","value":"Alt"}],
				"bodies":[{"role":"main","contenttype":"text/html","value":"<p>html</p>"},{"role":"main","value":""},{"value":"no type"}]}`,
			want: Story{ID: "u-4", Headline: "Alt", Body: "no type", Format: FormatNinjs2},
		},
		{
			name: "ninjs 3.x camelCase read as ninjs2",
			payload: `{"uri":"u-5","versionCreated":"2025-12-02T10:00:00Z","copyrightHolder":"Agency",
				"headlines":[{"role":"main","value":"H"}],"bodies":[{"role":"richtext","contentType":"application/xhtml+xml","value":"<p>rich</p>"},{"role":"main","contentType":"text/plain","value":"plain"}]}`,
			want: Story{ID: "u-5", Headline: "H", Body: "plain", Published: "2025-12-02T10:00:00Z", Source: "Agency", Format: FormatNinjs2},
		},
		{
			name:     "ninjs without uri uses fallback",
			payload:  `{"headlines":[{"value":"H"}],"bodies":[{"value":"B"}]}`,
			fallback: "key-1",
			want:     Story{ID: "key-1", Headline: "H", Body: "B", Format: FormatNinjs2},
		},
		{
			name:     "plain text",
			payload:  "Переговоры в Женеве продолжатся завтра.\nوقال مسؤول إن المحادثات مستمرة.\n",
			fallback: "key-text",
			want:     Story{ID: "key-text", Body: "Переговоры в Женеве продолжатся завтра.\nوقال مسؤول إن المحادثات مستمرة.\n", Format: FormatText},
		},
		{
			name:     "plain text starting with a bracket",
			payload:  "[UPDATE] Talks resume in Geneva",
			fallback: "k",
			want:     Story{ID: "k", Body: "[UPDATE] Talks resume in Geneva", Format: FormatText},
		},
		{
			name:     "plain text starting with a quote",
			payload:  `"We are close," the envoy said.`,
			fallback: "k",
			want:     Story{ID: "k", Body: `"We are close," the envoy said.`, Format: FormatText},
		},
		{
			name:     "plain text with BOM",
			payload:  "\xEF\xBB\xBFTalks resume",
			fallback: "k",
			want:     Story{ID: "k", Body: "Talks resume", Format: FormatText},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.payload), tt.fallback, Limits{MaxBodyBytes: 1 << 20})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got.validText {
				t.Error("Decode did not mark its text as validated")
			}
			tt.want.validText = true
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Decode mismatch\n got: %s\nwant: %s", dump(got), dump(&tt.want))
			}
		})
	}
}

func dump(s *Story) string {
	var extra []string
	for k, v := range s.Extra {
		extra = append(extra, k+"="+string(v))
	}
	return strings.Join([]string{"ID=" + s.ID, "Headline=" + s.Headline, "Body=" + s.Body, "Language=" + s.Language,
		"Published=" + s.Published, "Source=" + s.Source, "URL=" + s.URL, "Format=" + string(s.Format),
		"Extra=" + strings.Join(extra, " ")}, " | ")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name     string
		payload  string
		fallback string
		limit    int
		class    ErrorClass
		offset   int64
	}{
		{"empty", "", "k", 0, ErrEmpty, -1},
		{"blank", " \n\t\r ", "k", 0, ErrEmpty, -1},
		{"blank unicode space", "\u00a0\u2003", "k", 0, ErrEmpty, -1},
		{"BOM only", "\xEF\xBB\xBF", "k", 0, ErrEmpty, -1},

		{"utf8 stray continuation in text", "abc\x80def", "k", 0, ErrInvalidUTF8, 3},
		{"utf8 truncated sequence in JSON string", "{\"id\":\"x\",\"body\":\"caf\xc3\"}", "", 0, ErrInvalidUTF8, 21},
		{"utf8 overlong NUL", "ab\xc0\x80", "k", 0, ErrInvalidUTF8, 2},
		{"utf8 encoded surrogate", "Ок \xed\xa0\x80", "k", 0, ErrInvalidUTF8, 5},
		{"utf8 checked before JSON syntax", "{,\xff", "", 0, ErrInvalidUTF8, 2},
		{"utf8 latin-1 payload", "Gespr\xe4che", "k", 0, ErrInvalidUTF8, 5},

		{"json trailing comma", `{"id":"x",}`, "", 0, ErrInvalidJSON, 10},
		{"json truncated", `{"id":"x"`, "", 0, ErrInvalidJSON, 9},
		{"json missing value", `{"id":}`, "", 0, ErrInvalidJSON, 6},
		{"json bad escape", `{"body":"a\qb"}`, "", 0, ErrInvalidJSON, 11},
		{"json raw newline in string", "{\"body\":\"a\nb\"}", "", 0, ErrInvalidJSON, 10},
		{"json two values", `{"body":"b"} {}`, "", 0, ErrInvalidJSON, 13},
		{"json offset counts leading space and BOM", "\xEF\xBB\xBF  {\"a\" 1}", "", 0, ErrInvalidJSON, 10},
		{"json broken array", `[1, 2`, "", 0, ErrInvalidJSON, 5},
		{"json brace then prose", `{UPDATE} talks`, "k", 0, ErrInvalidJSON, 1},

		{"not a story: array", `[{"id":"x","body":"b"}]`, "", 0, ErrNotAStory, 0},
		{"not a story: number", ` 42 `, "k", 0, ErrNotAStory, 1},
		{"not a story: string", `"just a string"`, "k", 0, ErrNotAStory, 0},
		{"not a story: true", `true`, "k", 0, ErrNotAStory, 0},
		{"not a story: null", `null`, "k", 0, ErrNotAStory, 0},
		{"not a story: unrelated object", `{"name":"x","value":1}`, "k", 0, ErrNotAStory, -1},
		{"not a story: empty object", `{}`, "k", 0, ErrNotAStory, -1},
		{"not a story: binary", "GIF89a\x01\x00\x01\x00", "k", 0, ErrNotAStory, 6},

		{"missing body: headline only", `{"id":"x","headline":"Flash"}`, "", 0, ErrMissingBody, -1},
		{"missing body: blank body", `{"id":"x","headline":"h","body":" \n "}`, "", 0, ErrMissingBody, -1},
		{"missing body: ninjs1", `{"uri":"u","headline":"h"}`, "", 0, ErrMissingBody, -1},
		{"missing body: ninjs2 empty bodies", `{"uri":"u","headlines":[{"value":"h"}],"bodies":[]}`, "", 0, ErrMissingBody, -1},
		{"missing body: html with no text", `{"uri":"u","body_html":"<p> </p><br/>"}`, "", 0, ErrMissingBody, -1},

		{"missing id: text without fallback", "Talks resume", "", 0, ErrMissingID, -1},
		{"missing id: JSON without fallback", `{"headline":"h","body":"b"}`, "", 0, ErrMissingID, -1},
		{"missing id: blank id and blank fallback", `{"id":" ","body":"b"}`, " ", 0, ErrMissingID, -1},
		{"missing id: ninjs without uri", `{"bodies":[{"value":"b"}]}`, "", 0, ErrMissingID, -1},
		{"missing id: fallback not UTF-8", `{"body":"b"}`, "\xff", 0, ErrMissingID, -1},

		{"oversize text", "0123456789A", "k", 10, ErrOversize, -1},
		{"oversize headline plus body", `{"id":"x","headline":"12345","body":"678901"}`, "", 10, ErrOversize, -1},

		{"invalid field: body number", `{"id":"x","body":5}`, "", 0, ErrInvalidField, 17},
		{"invalid field: headline object", `{"id":"x","headline":{"a":1},"body":"b"}`, "", 0, ErrInvalidField, 21},
		{"invalid field: published not RFC 3339", `{"id":"x","body":"b","published":"24 Nov 2025"}`, "", 0, ErrInvalidField, 33},
		{"invalid field: published with a space", `{"id":"x","body":"b","published":"2025-11-24 10:00:00Z"}`, "", 0, ErrInvalidField, 33},
		{"invalid field: published month 13", `{"id":"x","body":"b","published":"2025-13-01"}`, "", 0, ErrInvalidField, 33},
		{"invalid field: published without offset", `{"id":"x","body":"b","published":"2025-11-24T10:00:00"}`, "", 0, ErrInvalidField, 33},
		{"invalid field: duplicate key, last one counts", `{"id":"x","body":"ok","body":true}`, "", 0, ErrInvalidField, 29},
		{"invalid field: id bool", `{"id":true,"body":"b"}`, "", 0, ErrInvalidField, 6},
		{"invalid field: ninjs uri number", `{"uri":7,"body_text":"b"}`, "", 0, ErrInvalidField, 7},
		{"invalid field: ninjs versioncreated", `{"uri":"u","body_text":"b","versioncreated":"yesterday"}`, "", 0, ErrInvalidField, 44},
		{"invalid field: headlines not array", `{"uri":"u","headlines":"H","bodies":[{"value":"b"}]}`, "", 0, ErrInvalidField, 23},
		{"invalid field: bodies item not object", `{"uri":"u","bodies":["b"]}`, "", 0, ErrInvalidField, 20},
		{"invalid field: bodies value number", `{"uri":"u","bodies":[{"value":1}]}`, "", 0, ErrInvalidField, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode([]byte(tt.payload), tt.fallback, Limits{MaxBodyBytes: tt.limit})
			if err == nil {
				t.Fatalf("Decode succeeded, want %s: %s", tt.class, dump(s))
			}
			if s != nil {
				t.Errorf("Decode returned a story with an error")
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if de.Class != tt.class || de.Offset != tt.offset {
				t.Errorf("got %s at %d (%v), want %s at %d", de.Class, de.Offset, err, tt.class, tt.offset)
			}
			if de.Detail == "" {
				t.Errorf("empty Detail")
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := Decode([]byte(`{"id":"x",}`), "", Limits{})
	if got, want := err.Error(), "invalid_json at byte 10: invalid character '}' looking for beginning of object key string"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = Decode([]byte("abc\xffdef"), "k", Limits{})
	if got, want := err.Error(), "invalid_utf8 at byte 3: invalid UTF-8 byte 0xff"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = Decode([]byte("0123456789A"), "k", Limits{MaxBodyBytes: 10})
	if got, want := err.Error(), "oversize: headline+body is 11 bytes, limit is 10"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDecodeLimitBoundary(t *testing.T) {
	if _, err := Decode([]byte("0123456789"), "k", Limits{MaxBodyBytes: 10}); err != nil {
		t.Errorf("body of exactly MaxBodyBytes rejected: %v", err)
	}
	if _, err := Decode([]byte(strings.Repeat("ж", 1000)), "k", Limits{}); err != nil {
		t.Errorf("MaxBodyBytes 0 should mean no limit: %v", err)
	}
}

// The story must not alias the payload: Kafka clients reuse buffers.
func TestDecodeDoesNotRetainPayload(t *testing.T) {
	for _, p := range []string{
		`{"id":"a","body":"body text","x":{"y":[1,2]}}`,
		`{"uri":"a","bodies":[{"value":"body text"}],"x":{"y":[1,2]}}`,
		"body text",
	} {
		payload := []byte(p)
		s, err := Decode(payload, "k", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		before := dump(s)
		for i := range payload {
			payload[i] = 'Z'
		}
		if after := dump(s); after != before {
			t.Errorf("story changed with the payload:\n%s\n%s", before, after)
		}
	}
}

func TestDecodeResultIsValidUTF8(t *testing.T) {
	s, err := Decode([]byte(`{"id":"\udc00x","headline":"\ud800","body":"&#xD800; \u0000 ok","lang":"\udfff"}`), "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{s.ID, s.Headline, s.Body, s.Language} {
		if !utf8.ValidString(f) {
			t.Errorf("%q is not valid UTF-8", f)
		}
	}
}
