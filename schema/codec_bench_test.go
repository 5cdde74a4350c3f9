//go:build codecbench

// Codec comparison for the story decoder and the enriched-record encoder.
// Tagged so that the everyday test build does not compile goccy/go-json and
// sonic; run it with
//
//	go test -tags codecbench -run Codec -bench . -benchmem ./schema
package schema

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
)

// storyFields is the decode work common to all candidates: the top-level
// members as raw values (Extra must be kept verbatim), then the known string
// fields.
var storyFields = []string{"id", "headline", "body", "language", "published", "source", "url"}

type unmarshalFunc func([]byte, any) error

func decodeWith(b *testing.B, unmarshal unmarshalFunc, payload []byte) {
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := unmarshal(payload, &m); err != nil {
			b.Fatal(err)
		}
		for _, k := range storyFields {
			var s string
			if err := unmarshal(m[k], &s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCodecDecodeStory(b *testing.B) {
	payload := sampleStoryJSON()
	b.Run("encoding_json", func(b *testing.B) { decodeWith(b, json.Unmarshal, payload) })
	b.Run("goccy_go_json", func(b *testing.B) { decodeWith(b, gojson.Unmarshal, payload) })
	b.Run("sonic", func(b *testing.B) { decodeWith(b, sonic.Unmarshal, payload) })
	b.Run("sonic_std", func(b *testing.B) { decodeWith(b, sonic.ConfigStd.Unmarshal, payload) })
	b.Run("Decode", func(b *testing.B) { // the real thing: UTF-8 check, format detection, Extra
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(payload, "", Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCodecEncodeEnriched(b *testing.B) {
	e := sampleEnriched()
	p := (*plainEnriched)(e)
	run := func(name string, marshal func() ([]byte, error)) {
		b.Run(name, func(b *testing.B) {
			out, err := marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("encoding_json", func() ([]byte, error) { return json.Marshal(p) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	run("encoding_json_noescape", func() ([]byte, error) { buf.Reset(); err := enc.Encode(p); return buf.Bytes(), err })
	run("goccy_go_json", func() ([]byte, error) { return gojson.Marshal(p) })
	run("sonic", func() ([]byte, error) { return sonic.Marshal(p) })
	run("sonic_std", func() ([]byte, error) { return sonic.ConfigStd.Marshal(p) })
	var dst []byte
	run("AppendJSON", func() ([]byte, error) { var err error; dst, err = e.AppendJSON(dst[:0]); return dst, err })
}

// TestCodecCandidates records what each library does with the record:
// whether repeated encodings are identical (Extra is a map) and whether the
// output equals encoding/json's, with the same escaping.
func TestCodecCandidates(t *testing.T) {
	e := sampleEnriched()
	e.Extra = map[string]json.RawMessage{}
	for _, k := range []string{"zeta", "alpha", "mu", "beta", "omega", "kappa", "delta", "pi"} {
		e.Extra[k] = json.RawMessage(`{"k":"` + k + `"}`)
	}
	p := (*plainEnriched)(e)
	want, _ := json.Marshal(p)
	for _, c := range []struct {
		name    string
		marshal func() ([]byte, error)
	}{
		{"goccy_go_json", func() ([]byte, error) { return gojson.Marshal(p) }},
		{"sonic", func() ([]byte, error) { return sonic.Marshal(p) }},
		{"sonic_std", func() ([]byte, error) { return sonic.ConfigStd.Marshal(p) }},
	} {
		first, err := c.marshal()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		same := true
		for range 50 {
			if again, _ := c.marshal(); !bytes.Equal(again, first) {
				same = false
			}
		}
		t.Logf("%-14s deterministic=%v equal_to_encoding_json=%v", c.name, same, bytes.Equal(first, want))
	}
}
