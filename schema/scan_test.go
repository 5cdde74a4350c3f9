package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// scanMembers may refuse anything, but whatever it accepts encoding/json
// must accept too, with the same members.
func checkScan(t *testing.T, data []byte) {
	t.Helper()
	got, ok := scanMembers(data)
	var want map[string]json.RawMessage
	err := json.Unmarshal(data, &want)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("scanMembers accepted %q, encoding/json rejects it: %v", data, err)
	}
	if want == nil {
		t.Fatalf("scanMembers accepted %q as an object; encoding/json reads null", data)
	}
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Fatalf("%q: scanMembers %q, encoding/json %q", data, got, want)
	}
	for k, raw := range got { // and the fast unquote reads strings as encoding/json does
		var want string
		if raw[0] != '"' || json.Unmarshal(raw, &want) != nil {
			continue
		}
		if s, ok := unquote(raw); !ok || s != want {
			t.Fatalf("member %q = %s: unquote %q %v, encoding/json %q", k, raw, s, ok, want)
		}
	}
}

func TestScanMembers(t *testing.T) {
	tests := []struct {
		in     string
		accept bool
	}{
		{`{}`, true},
		{` { "id" : "a1" , "body":"x\ny" } `, true},
		{`{"id":1,"n":-0.5e+10,"t":true,"f":false,"z":null,"a":[1,[2,{}],"x"],"o":{"k":{"l":[]}}}`, true},
		{`{"k\u00e9y":"v","k\u00e9y":"w"}`, true}, // escaped key, last one wins
		{`{"body":"\ud83d\ude00 \u0000 \/"}`, true},
		{`{"a":1}x`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":-}`, false},
		{`{"a":1e}`, false},
		{`{"a":"x` + "\x01" + `"}`, false},
		{`{"a":"\x"}`, false},
		{`{"a":"\u12G4"}`, false},
		{`{"a":[1,]}`, false},
		{`{"a":1,}`, false},
		{`{"a" 1}`, false},
		{`{a:1}`, false},
		{`[1]`, false},
		{`{"a":tru}`, false},
		{`{"a":{"b":1}`, false},
	}
	for _, tt := range tests {
		_, ok := scanMembers([]byte(tt.in))
		if ok != tt.accept {
			t.Errorf("scanMembers(%s) ok=%v, want %v", tt.in, ok, tt.accept)
		}
		checkScan(t, []byte(tt.in))
	}
}

func FuzzScanMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"1","body":"a\"b","x":[1,{"y":null}]}`, `{"a":-1.5E-3}`, `{"a":"\u00e9"}`, `{"a":[}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) { // Decode checks UTF-8 before it scans
			return
		}
		checkScan(t, data)
	})
}

// TestScanMembersMutations is the fuzz test's property on 20,000
// deterministic mutations of JSON seeds, so every `go test` run checks it
// (the fuzzing engine itself stalls on this VM after a few seconds).
func TestScanMembersMutations(t *testing.T) {
	seeds := []string{
		`{"id":"a-1","headline":"Talks \"resume\"","body":"Line one.\nLine two \u00e9 \ud83d\ude00","language":"en","n":[1,-2.5e3,{"x":null}],"ok":true}`,
		`{"body":"\ud800\udc00 \ud800 x \udc00\\\/\b\f\r\t long enough to take the eight-byte path ......"}`,
		`{"id":"c","headline":"\u001f \u2028 ok","body":"Quote \"x\" \\ \n\t\u0001 and   and \u00E9 and \u00e9 ........ end"}`,
		`{"uri":"urn:x","headlines":[{"value":"H","contenttype":"text/plain"}],"bodies":[{"value":"<p>B</p>","contenttype":"text/html"}]}`,
		` { "a" : { "b" : [ 0 , 0.0 , -0 , 1E+2 , "" ] } } `,
	}
	alphabet := []byte(`{}[]":,.-+eE0123456789 \ntrufalsn\u/"`)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		b := []byte(seeds[n%len(seeds)])
		for k := rng.IntN(4) + 1; k > 0; k-- {
			i := rng.IntN(len(b))
			switch c := alphabet[rng.IntN(len(alphabet))]; rng.IntN(3) {
			case 0:
				b[i] = c
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{c}, b[i:]...)...)
			}
			if len(b) == 0 {
				b = []byte("{")
			}
		}
		if !utf8.Valid(b) { // a cut multi-byte letter; Decode rejects it before scanning
			continue
		}
		checkScan(t, b)
		checkRecord(t, b)
	}
}

// checkRecord: a record made from a decoded payload (whose text AppendJSON
// does not validate again) encodes exactly as encoding/json encodes it.
func checkRecord(t *testing.T, payload []byte) {
	t.Helper()
	st, err := Decode(payload, "fallback", Limits{})
	if err != nil {
		return
	}
	e := NewEnriched(st)
	e.Actors, e.Topics = []Actor{}, []Topic{}
	e.People, e.Organisations, e.Places, e.Subjects = []NinjsEntity{}, []NinjsEntity{}, []NinjsEntity{}, []NinjsEntity{}
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatalf("%q: AppendJSON: %v", payload, err)
	}
	if want := stdEncode(t, (*plainEnriched)(e)); !bytes.Equal(got, want) {
		t.Fatalf("%q:\nAppendJSON    %s\nencoding/json %s", payload, got, want)
	}
}
