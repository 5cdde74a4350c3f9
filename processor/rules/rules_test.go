package rules

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/schema"
)

func known(t *testing.T) *Known {
	t.Helper()
	tx, err := fs.ReadFile(config.DefaultDictionaries(), "taxonomy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k, err := KnownFromTaxonomy(tx)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDefaultRulesValid(t *testing.T) {
	s, err := Parse(config.DefaultRulesName, config.DefaultRules(), known(t))
	if err != nil {
		t.Fatalf("embedded rules invalid:\n%v", err)
	}
	if len(s.Rules) < 3 {
		t.Fatalf("want several default rules, got %d", len(s.Rules))
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := `rules:
  - name: ok
    topic: alerts.ok
    topics: {any: [ceasefire]}
  - name: ok
    topic: "bad topic!"
    topics: {any: [no_such_topic]}
  - topic: alerts.x
    actors: {any: [vladimir_putin], none: [vladimir_putin]}
  - name: empty
    topic: alerts.y
  - name: typo
    topic: alerts.z
    topcis: {any: [ceasefire]}
  - name: neg
    topic: alerts.n
    languages: [EN]
    min_score: -1
`
	_, err := Parse("my.yaml", []byte(src), known(t))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`my.yaml:5: rule "ok": duplicate name (first at line 2)`,
		`my.yaml:5: rule "ok": topic "bad topic!" is not a valid Kafka topic name`,
		`my.yaml:5: rule "ok": unknown topic id "no_such_topic"`,
		`my.yaml:8: rule #3: name is required`,
		`actor id "vladimir_putin" is both required and excluded`,
		`my.yaml:10: rule "empty": has no condition`,
		`my.yaml:12: rule #5:`, `topcis`,
		`my.yaml:15: rule "neg": min_score -1 is negative`,
		`language "EN"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q; got:\n%s", want, msg)
		}
	}
}

func TestParseRejectsNoRules(t *testing.T) {
	if _, err := Parse("x.yaml", []byte("rule: []\n"), nil); err == nil {
		t.Fatal("want error for unknown top-level key")
	}
	if _, err := Parse("x.yaml", []byte("rules: []\n"), nil); err == nil {
		t.Fatal("want error for empty rules")
	}
}

func story(lang string, topics map[string]float64, actors map[string]int) *schema.Enriched {
	e := &schema.Enriched{ID: "s1", Headline: "h", Language: schema.Language{Detected: lang}}
	for id, sc := range topics {
		e.Topics = append(e.Topics, schema.Topic{ID: id, Score: sc})
	}
	for id, n := range actors {
		e.Actors = append(e.Actors, schema.Actor{ID: id, Kind: "person", Count: n})
	}
	return e
}

func TestEvaluate(t *testing.T) {
	src := `rules:
  - name: any-all-none
    topic: a.1
    topics: {any: [ceasefire, territory], none: [elections]}
    actors: {all: [vladimir_putin, donald_trump]}
  - name: lang
    topic: a.2
    languages: [uk, ru]
    topics: {any: [ceasefire]}
    min_score: 0.5
  - name: mentions
    topic: a.3
    actors: {any: [volodymyr_zelensky]}
    min_mentions: 3
`
	s, err := Parse("t.yaml", []byte(src), known(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		e    *schema.Enriched
		want []string
	}{
		{"all three", story("en", map[string]float64{"ceasefire": 1}, map[string]int{"vladimir_putin": 1, "donald_trump": 2}), []string{"any-all-none"}},
		{"missing one of all", story("en", map[string]float64{"ceasefire": 1}, map[string]int{"vladimir_putin": 1}), nil},
		{"excluded topic", story("en", map[string]float64{"territory": 1, "elections": 1}, map[string]int{"vladimir_putin": 1, "donald_trump": 1}), nil},
		{"language and score", story("uk", map[string]float64{"ceasefire": 0.7}, nil), []string{"lang"}},
		{"score too low", story("uk", map[string]float64{"ceasefire": 0.2}, nil), nil},
		{"wrong language", story("en", map[string]float64{"ceasefire": 0.9}, nil), nil},
		{"enough mentions", story("ar", nil, map[string]int{"volodymyr_zelensky": 3}), []string{"mentions"}},
		{"too few mentions", story("ar", nil, map[string]int{"volodymyr_zelensky": 2}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, h := range s.Evaluate(c.e) {
				got = append(got, h.Rule.Name)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAlertRecord(t *testing.T) {
	s, err := Parse("t.yaml", []byte("rules:\n  - name: r\n    topic: a\n    topics: {any: [ceasefire]}\n    actors: {any: [vladimir_putin]}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := story("ru", map[string]float64{"ceasefire": 0.8, "territory": 1}, map[string]int{"vladimir_putin": 2, "donald_trump": 1})
	hits := s.Evaluate(e)
	if len(hits) != 1 {
		t.Fatalf("hits %v", hits)
	}
	b, err := NewAlert(hits[0], e, Source{Topic: "in", Partition: 2, Offset: 7}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":"wiretag.alert/v1","rule":"r","story_id":"s1","headline":"h","language":"ru","topics":[{"id":"ceasefire","score":0.8}],"actors":[{"id":"vladimir_putin","kind":"person","count":2}],"source":{"topic":"in","partition":2,"offset":7}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// A hit names the ids that made it match, in record order, and only those
// that meet the rule's thresholds; a story no rule matches costs no garbage.
func TestEvaluateHitIDsAndNoGarbage(t *testing.T) {
	s, err := Parse("t.yaml", []byte(`rules:
  - name: r
    topic: a.1
    topics: {any: [territory, ceasefire]}
    actors: {any: [donald_trump, vladimir_putin]}
    min_score: 0.5
    min_mentions: 2
`), known(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &schema.Enriched{Language: schema.Language{Detected: "en"},
		Topics: []schema.Topic{{ID: "ceasefire", Score: 0.9}, {ID: "elections", Score: 3}, {ID: "territory", Score: 0.4}},
		Actors: []schema.Actor{{ID: "vladimir_putin", Count: 2}, {ID: "nato", Count: 5}, {ID: "donald_trump", Count: 1}}}
	hits := s.Evaluate(e)
	if len(hits) != 1 || strings.Join(hits[0].Topics, ",") != "ceasefire" || strings.Join(hits[0].Actors, ",") != "vladimir_putin" {
		t.Fatalf("hits = %+v, want one hit with topics [ceasefire] and actors [vladimir_putin]", hits)
	}
	e.Actors[0].Count = 1
	if allocs := testing.AllocsPerRun(10, func() {
		if len(s.Evaluate(e)) != 0 {
			t.Fatal("matched with too few mentions")
		}
	}); allocs != 0 {
		t.Errorf("Evaluate of a story no rule matches made %.0f allocations", allocs)
	}
}
