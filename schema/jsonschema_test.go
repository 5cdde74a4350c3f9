package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEnrichedSchemaValidatesRecords(t *testing.T) {
	if !json.Valid(EnrichedJSONSchema) {
		t.Fatal("embedded schema is not JSON")
	}
	records := map[string]*Enriched{"sample": sampleEnriched()}

	// Records built from each input format, with whatever the decoder gives.
	for name, payload := range map[string]string{
		"from ninjs1": `{"uri":"urn:x:1","headline":"H","body_html":"<p>B</p>","language":"en","versioncreated":"2025-11-24T12:00:00Z","person":[{"name":"P"}]}`,
		"from ninjs2": `{"uri":"urn:x:2","headlines":[{"role":"main","value":"H"}],"bodies":[{"value":"B"}],"subjects":[{"name":"S"}],"located":"Kyiv"}`,
		"from text":   "Plain text story.",
	} {
		s, err := Decode([]byte(payload), "fallback", Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e := &Enriched{Schema: SchemaVersion, ID: s.ID, Format: string(s.Format), Language: Language{Detected: "en", Declared: s.Language},
			Headline: s.Headline, Body: s.Body, Published: s.Published, Source: s.Source, URL: s.URL, Extra: s.Extra,
			Tagger: TaggerInfo{Version: "test", Taxonomy: "test"}}
		records[name] = e
	}
	// Date-only publication time, as real feeds send it.
	dateOnly := sampleEnriched()
	dateOnly.Published = "2025-11-21"
	records["published full-date"] = dateOnly
	// A record with nothing found: nil slices must still validate.
	records["no tags"] = &Enriched{Schema: SchemaVersion, ID: "x", Format: "text", Language: Language{Detected: "und"}, Body: "b"}
	// A record with mentions in the headline, quoted actor and every optional field.
	full := sampleEnriched()
	full.Actors[0].Mentions = append(full.Actors[0].Mentions, Mention{Field: "headline", Start: 0, End: 5, Text: "Geneva"})
	full.Extra["nested"] = raw(`{"a":[{"b":null}],"c":"<&>"}`)
	records["full"] = full

	for name, e := range records {
		t.Run(name, func(t *testing.T) {
			b, err := e.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateEnriched(b); err != nil {
				t.Errorf("valid record rejected: %v\n%s", err, b)
			}
		})
	}
}

func TestEnrichedSchemaRejectsBrokenRecords(t *testing.T) {
	good, err := sampleEnriched().AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		from, to     string // replace the first from in the good record with to
		wantInReason string
	}{
		{"wrong schema version", `"schema":"wiretag.enriched/v1"`, `"schema":"wiretag.enriched/v2"`, "/schema"},
		{"unknown format", `"format":"wiretag"`, `"format":"xml"`, "/format"},
		{"unknown actor kind", `"kind":"person"`, `"kind":"planet"`, "/actors/0/kind"},
		{"mention in another field", `"field":"body"`, `"field":"slugline"`, "/field"},
		{"negative offset", `"start":0,`, `"start":-1,`, "/start"},
		{"count as string", `"count":2`, `"count":"2"`, "/count"},
		{"point out of range", `"points_28":[1,20]`, `"points_28":[1,29]`, "/points_28/1"},
		{"bad wikidata id", `"wikidata":"Q1000"`, `"wikidata":"1000"`, "/wikidata"},
		{"published not a date-time", `"published":"2025-11-24T18:05:00+01:00"`, `"published":"yesterday"`, "/published"},
		{"unknown top-level field", `"tagger":`, `"tagger2":{},"tagger":`, "tagger2"},
		{"missing actors", `"actors":[`, `"actorz":[`, "actors"},
		{"published with a space", `"published":"2025-11-24T18:05:00+01:00"`, `"published":"2025-11-24 18:05:00+01:00"`, "/published"},
		{"published bad date", `"published":"2025-11-24T18:05:00+01:00"`, `"published":"2025-02-30"`, "/published"},
		{"empty id", `"id":"wt-bench-0001"`, `"id":""`, "/id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(string(good), tt.from, tt.to, 1)
			if broken == string(good) {
				t.Fatalf("test does not change the record: %q not found", tt.from)
			}
			err := ValidateEnriched([]byte(broken))
			if err == nil {
				t.Fatalf("broken record accepted")
			}
			if !strings.Contains(err.Error(), tt.wantInReason) {
				t.Errorf("error does not mention %q: %v", tt.wantInReason, err)
			}
		})
	}
	// null where an array is required (what encoding/json writes for a nil slice)
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	m["people"] = nil
	withNull, _ := json.Marshal(m)
	if err := ValidateEnriched(withNull); err == nil || !strings.Contains(err.Error(), "/people") {
		t.Errorf("people:null not rejected as such: %v", err)
	}
	if err := ValidateEnriched([]byte(`{"schema":`)); err == nil {
		t.Error("non-JSON accepted")
	}
}
