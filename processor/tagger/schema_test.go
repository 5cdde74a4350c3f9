package tagger

import (
	"testing"

	"github.com/wiretag/wiretag/schema"
)

// Real tagger output over the project's own stories, with the shipped
// dictionaries, must validate against the published JSON Schema.
func TestOutputValidatesAgainstJSONSchema(t *testing.T) {
	tg, err := Default()
	if err != nil {
		t.Fatalf("shipped dictionaries: %v", err)
	}
	bodies := loadSampleBodies(t)
	if len(bodies) < 10 {
		t.Fatalf("want the sample stories, got %d texts", len(bodies))
	}
	tagged := 0
	for i := 0; i+1 < len(bodies); i += 2 {
		st := &schema.Story{ID: "s", Headline: bodies[i], Body: bodies[i+1], Format: schema.FormatWiretag, Language: "en-GB"}
		rec := tg.Tag(st)
		if len(rec.Actors) > 0 {
			tagged++
		}
		b, err := rec.AppendJSON(nil)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if err := schema.ValidateEnriched(b); err != nil {
			t.Errorf("story %d: %v\n%s", i/2, err, b)
		}
	}
	if tagged == 0 {
		t.Error("no story had any actor: the check validated empty records only")
	}
}
