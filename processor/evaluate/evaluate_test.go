package evaluate

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/wiretag/wiretag/processor/tagger"
)

func TestScore(t *testing.T) {
	tests := []struct {
		s       Score
		p, r, f float64
	}{
		{Score{TP: 8, FP: 2, FN: 0}, 0.8, 1, 2 * 0.8 / 1.8},
		{Score{TP: 0, FP: 0, FN: 0}, 1, 1, 1},
		{Score{TP: 0, FP: 3, FN: 2}, 0, 0, 0},
		{Score{TP: 3, FP: 1, FN: 1}, 0.75, 0.75, 0.75},
	}
	for _, tt := range tests {
		if math.Abs(tt.s.Precision()-tt.p) > 1e-9 || math.Abs(tt.s.Recall()-tt.r) > 1e-9 || math.Abs(tt.s.F1()-tt.f) > 1e-9 {
			t.Errorf("%+v: P=%v R=%v F1=%v, want %v %v %v", tt.s, tt.s.Precision(), tt.s.Recall(), tt.s.F1(), tt.p, tt.r, tt.f)
		}
	}
}

func TestRunCountsErrorsWithEvidence(t *testing.T) {
	tg, err := tagger.New(os.DirFS("../tagger/testdata/dict"))
	if err != nil {
		t.Fatal(err)
	}
	gold := `{"id":"g1","lang":"en","headline":"","body":"Putin met Witkoff. Russia wants a ceasefire.","gold":{"people":["vladimir_putin","sergey_lavrov"],"organizations":[],"media":[],"countries":["ru"],"topics":[]}}`
	golds, err := ReadGold(strings.NewReader(gold), "gold")
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(tg, golds, nil)
	if got := rep.Total["people"]; got != (Score{TP: 1, FP: 1, FN: 1}) {
		t.Errorf("people score %+v, want TP1 FP1 FN1 (witkoff extra, lavrov missed)", got)
	}
	if got := rep.Total["topics"]; got != (Score{TP: 0, FP: 1, FN: 0}) {
		t.Errorf("topics score %+v, want one false positive", got)
	}
	var sawEvidence bool
	for _, e := range rep.Errors {
		if e.Category == "people" && len(e.Evidence["steve_witkoff"]) == 1 && strings.Contains(e.Evidence["steve_witkoff"][0], `"Witkoff"`) {
			sawEvidence = true
		}
	}
	if !sawEvidence {
		t.Errorf("false positive without its evidence: %+v", rep.Errors)
	}
	var b strings.Builder
	rep.WriteText(&b, true)
	for _, want := range []string{"people", "FP=[steve_witkoff]", "FN=[sergey_lavrov]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReadGoldRejectsBadLines(t *testing.T) {
	if _, err := ReadGold(strings.NewReader("{\"id\":\"x\"}\n"), "f"); err == nil || !strings.Contains(err.Error(), "f:1") {
		t.Errorf("want an error naming f:1, got %v", err)
	}
}

// A gold story may give its language as lang or language; with neither, it
// is counted under the language the tagger detects.
func TestLanguageOfGoldStory(t *testing.T) {
	tg, err := tagger.New(os.DirFS("../tagger/testdata/dict"))
	if err != nil {
		t.Fatal(err)
	}
	gold := `{"id":"a","lang":"en","body":"Putin spoke.","gold":{"people":["vladimir_putin"]}}
{"id":"b","language":"uk","body":"Путін говорив.","gold":{"people":["vladimir_putin"]}}
{"id":"c","body":"Путин заявил, что это ещё не всё.","gold":{"people":["vladimir_putin"]}}`
	golds, err := ReadGold(strings.NewReader(gold), "gold")
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(tg, golds, nil)
	if got, want := rep.Languages(), []string{"en", "ru", "uk"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("languages = %v, want %v", got, want)
	}
}
