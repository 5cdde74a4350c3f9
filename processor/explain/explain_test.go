package explain

import (
	"strings"
	"testing"

	"github.com/wiretag/wiretag/schema"
)

func TestMark(t *testing.T) {
	got := Mark("ويتكوف قابل بوتين", []span{{0, 6, "steve_witkoff"}, {12, 17, "vladimir_putin"}})
	want := "⟦ويتكوف⟧\u2068‹steve_witkoff›\u2069 قابل ⟦بوتين⟧\u2068‹vladimir_putin›\u2069"
	if got != want {
		t.Errorf("Mark = %q\nwant   %q", got, want)
	}
	nested := Mark("Zaporizhzhia plant", []span{{0, 18, "#zaporizhzhia_npp"}, {0, 12, "x"}})
	if !strings.HasPrefix(nested, "⟦⟦Zaporizhzhia⟧") {
		t.Errorf("nested spans: %q", nested)
	}
}

func TestWrite(t *testing.T) {
	rec := &schema.Enriched{ID: "s1", Language: schema.Language{Detected: "en"}, Body: "Putin spoke.",
		Actors: []schema.Actor{{ID: "vladimir_putin", Kind: "person", Name: "Vladimir Putin", Count: 1, Quoted: true,
			Mentions: []schema.Mention{{Field: "body", Start: 0, End: 5, Text: "Putin"}}}}}
	var b strings.Builder
	Write(&b, rec)
	for _, want := range []string{"s1", "⟦Putin⟧", "vladimir_putin", "quoted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
