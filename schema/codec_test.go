package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// stdEncode is the reference: encoding/json by reflection, HTML escaping
// off, no trailing newline.
func stdEncode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fill sets every field reachable from v to a non-zero value (slices get two
// elements, maps two entries), so that a field added to Enriched or its parts
// without being added to AppendJSON makes TestAppendJSONMatchesEncodingJSON
// fail.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d <&> \"q\" \u2028 é", *n))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.125)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() { // unexported fields are not encoded
				fill(v.Field(i), n)
			}
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(fmt.Sprintf(`{"n": %d, "a": [1, "x"]}`, *n)))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, n)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := &Enriched{}
	n := 0
	fill(reflect.ValueOf(full).Elem(), &n)

	tricky := sampleEnriched()
	tricky.Headline = "ctl \x00\x01\x08\x0c\x1f\x7f tab\t nl\n cr\r \\ \" </script> & \u2028\u2029 😀 \xff\xfe end"
	tricky.Body = "bad utf8 \xc3( and \xed\xa0\x80 and ok ü"
	tricky.Extra = map[string]json.RawMessage{"b": raw("[ 1 ,\n 2 ]"), "a": raw(`{"x" : "<&>"}`), "\u2028key\"": raw(`"v"`)}
	tricky.Topics[0].Score = 1e-7
	tricky.Topics[1].Score = 1e21
	tricky.Topics[2].Score = 123456789.125

	omitted := sampleEnriched()
	omitted.Published, omitted.Source, omitted.URL, omitted.Extra = "", "", "", nil
	omitted.Language.Declared = ""
	omitted.Actors[0].Wikidata = ""
	omitted.People[0] = NinjsEntity{Name: "only name"}
	omitted.Topics[0].Score = 0
	omitted.Topics[1].Score = math.Copysign(0, -1)

	for name, e := range map[string]*Enriched{"every field set": full, "sample": sampleEnriched(), "tricky strings and numbers": tricky, "omitempty fields empty": omitted} {
		t.Run(name, func(t *testing.T) {
			got, err := e.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := stdEncode(t, (*plainEnriched)(e))
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("AppendJSON differs from encoding/json at byte %d:\n got: %.120q\nwant: %.120q", i, got[i:], want[i:])
			}
		})
	}
}

func TestAppendJSONNilSlicesAreEmptyArrays(t *testing.T) {
	e := &Enriched{Schema: SchemaVersion, ID: "x", Format: "text", Body: "b",
		Actors: []Actor{{ID: "a"}}, Topics: []Topic{{ID: "t"}}}
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":"wiretag.enriched/v1","id":"x","format":"text","language":{"detected":""},"headline":"","body":"b",` +
		`"actors":[{"id":"a","kind":"","name":"","count":0,"quoted":false,"mentions":[]}],` +
		`"topics":[{"id":"t","name":"","points_28":[],"points_20":[],"score":0,"mentions":[]}],` +
		`"people":[],"organisations":[],"places":[],"subjects":[],"tagger":{"version":"","taxonomy":""}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendJSONDeterministic(t *testing.T) {
	keys := []string{"zeta", "alpha", "Ω", "mu", "beta", "", "omega", "kappa", "delta", "pi", "A", "a"}
	build := func(order []string) *Enriched {
		e := sampleEnriched()
		e.Extra = map[string]json.RawMessage{}
		for _, k := range order {
			e.Extra[k] = raw(`{"k": "` + k + `", "n": [1, 2]}`)
		}
		return e
	}
	first, err := build(keys).AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	rev := append([]string(nil), keys...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for i := range 100 {
		order := keys
		if i%2 == 1 {
			order = rev
		}
		got, err := build(order).AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, first) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
	// Keys come out sorted by bytes.
	if !bytes.Contains(first, []byte(`"extra":{"":{"k":"","n":[1,2]},"A":`)) || !bytes.Contains(first, []byte(`"zeta":{"k":"zeta","n":[1,2]},"Ω":`)) {
		t.Errorf("extra keys not sorted / values not compacted: %s", first)
	}
	// The same story decoded twice gives the same record bytes.
	s1, _ := Decode(sampleStoryJSON(), "", Limits{})
	s2, _ := Decode(sampleStoryJSON(), "", Limits{})
	b1, _ := (&Enriched{Body: s1.Body, Extra: s1.Extra}).AppendJSON(nil)
	b2, _ := (&Enriched{Body: s2.Body, Extra: s2.Extra}).AppendJSON(nil)
	if !bytes.Equal(b1, b2) {
		t.Error("same story, different bytes")
	}
}

func TestAppendJSONAppendsAndErrors(t *testing.T) {
	e := sampleEnriched()
	prefix := []byte("prefix:")
	out, err := e.AppendJSON(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, prefix) || !json.Valid(out[len(prefix):]) {
		t.Fatalf("AppendJSON did not append a JSON value to dst")
	}

	for name, mutate := range map[string]func(*Enriched){
		"NaN score":       func(e *Enriched) { e.Topics[1].Score = math.NaN() },
		"infinite score":  func(e *Enriched) { e.Topics[0].Score = math.Inf(1) },
		"bad extra value": func(e *Enriched) { e.Extra["broken"] = raw(`{"a":`) },
	} {
		t.Run(name, func(t *testing.T) {
			e := sampleEnriched()
			mutate(e)
			dst := []byte("keep")
			got, err := e.AppendJSON(dst)
			if err == nil {
				t.Fatal("no error")
			}
			if string(got) != "keep" {
				t.Errorf("dst changed on error: %.40q", got)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	e := sampleEnriched()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalEnriched(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip changed the record")
	}
	// encoding/json goes through MarshalJSON: same record, HTML-escaped.
	viaStd, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	json.HTMLEscape(&compact, b)
	if !bytes.Equal(viaStd, compact.Bytes()) {
		t.Errorf("json.Marshal(*Enriched) is not the canonical encoding")
	}
	if _, err := UnmarshalEnriched([]byte(`{"id":`)); err == nil {
		t.Error("UnmarshalEnriched accepted broken JSON")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "\u2028\u2029", "\xe2\x80", "\xe2\x80\xa8x", "\xff", "<&>", `\"`, "Київ", "😀\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		want := stdEncode(t, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}

func TestStripMarkup(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"<p>one</p><p>two</p>", "one\ntwo"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"  <p>\n  spaced\n\t out  </p>  ", "spaced out"},
		{"<b>bold</b> and <i>it</i>", "bold and it"},
		{"x &lt;p&gt; &amp; &quot;q&quot; &#1050;&#x438;&#x457;&#x432; &nbsp;", "x <p> & \"q\" Київ \u00a0"},
		{"<script type='text/javascript'>var a = '<p>';</script>after", "after"},
		{"<STYLE>p{}</STYLE>after", "after"},
		{"before<!-- <p>hidden</p> -->after", "beforeafter"},
		{"<![CDATA[raw <b> text]]>", "raw <b> text"},
		{"a < b and c > d", "a < b and c > d"},
		{"3<4", "3<4"},
		{"<a href=\"x>y\">link</a>", "link"},
		{"unclosed <b", "unclosed <b"},
		{"<?xml version=\"1.0\"?><p>x</p>", "x"},
		{"<p>Текст</p><ul><li>один</li><li>два</li></ul>", "Текст\nодин\nдва"},
		{"&#xD800; &#0;", "\uFFFD \uFFFD"},
		{"<script>never closed", ""},
		{"<!-- never closed", "<!-- never closed"}, // no '>' at all: text
	}
	for _, tt := range tests {
		if got := StripMarkup(tt.in); got != tt.want {
			t.Errorf("StripMarkup(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := StripMarkup(strings.Repeat("<p>x</p>", 3)); got != "x\nx\nx" {
		t.Errorf("repeated paragraphs: %q", got)
	}
}

// StripMarkup must stay linear on hostile markup (bodies can be 1 MB).
func TestStripMarkupLinear(t *testing.T) {
	for name, unit := range map[string]string{
		"unclosed tags":   "<a",
		"script openings": "<script>",
		"style openings":  "<style></Style",
		"quotes":          "<a \"'>",
		"comments":        "<!--",
		"entities":        "&amp;&#x41;&bogus;",
	} {
		in := strings.Repeat(unit, 200_000/len(unit)) + ">"
		start := time.Now()
		out := StripMarkup(in)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(in))
		}
		if !utf8.ValidString(out) {
			t.Errorf("%s: invalid UTF-8 out", name)
		}
	}
}

// A record made from a decoded story skips re-validating headline and body;
// its output must still be what encoding/json writes.
func TestNewEnrichedFromDecodeEncodesAsEncodingJSON(t *testing.T) {
	payload := []byte(`{"id":"n1","headline":"Київ \u2028 \"q\"","body":"واشنطن\n<b>é</b>\t\u0001","lang":"uk","x":[1]}`)
	st, err := Decode(payload, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEnriched(st)
	e.Actors, e.Topics = []Actor{}, []Topic{}
	e.People, e.Organisations, e.Places, e.Subjects = []NinjsEntity{}, []NinjsEntity{}, []NinjsEntity{}, []NinjsEntity{}
	if !e.validText {
		t.Fatal("NewEnriched lost Decode's validation")
	}
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := stdEncode(t, (*plainEnriched)(e)); !bytes.Equal(got, want) {
		t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
	}
	if NewEnriched(&Story{Body: "x"}).validText {
		t.Error("a Story not from Decode must not be trusted")
	}
}

// sizeHint must cover the encoding of real records, or Marshal grows its
// buffer (and allocates the record two or three times) on every story.
func TestSizeHintCoversEncoding(t *testing.T) {
	for _, e := range sizeHintRecords(t) {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if h := e.sizeHint(); h < len(b) || h > len(b)*3/2+512 {
			t.Errorf("%s: sizeHint %d for %d encoded bytes", e.ID, h, len(b))
		}
		if cap(b) != e.sizeHint() {
			t.Errorf("%s: Marshal grew its buffer: cap %d, hint %d", e.ID, cap(b), e.sizeHint())
		}
	}
}

func sizeHintRecords(t *testing.T) []*Enriched {
	t.Helper()
	many := sampleEnriched()
	many.ID = "many mentions"
	for i := range 30 {
		a := Actor{ID: fmt.Sprintf("actor_%d", i), Kind: "person", Name: "Ім'я Прізвище", Wikidata: "Q123456"}
		for j := range 8 {
			a.Mentions = append(a.Mentions, Mention{Field: "body", Start: 100000 * j, End: 100000*j + 12, Text: "Прізвищем"})
		}
		many.Actors = append(many.Actors, a)
		many.People = append(many.People, NinjsEntity{Name: a.Name, Rel: "mentioned", URI: "urn:wiretag:actor:" + a.ID, Literal: a.ID})
	}
	bare := &Enriched{ID: "bare"}
	// Records of escape-heavy strings (fill's) may grow once: they are rare,
	// and a hint sized for them would waste memory on every story.
	return []*Enriched{sampleEnriched(), many, bare}
}
