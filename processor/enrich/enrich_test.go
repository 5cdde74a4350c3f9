package enrich

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/tagger"
)

func snap(t *testing.T) *Snapshot {
	t.Helper()
	tg, err := tagger.New(config.DefaultDictionaries())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Parse("t", []byte("rules:\n  - name: cf\n    topic: alerts.cf\n    topics: {any: [ceasefire]}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Snapshot{Tagger: tg, Rules: rs}
}

func TestProcessRecordsAndDeterminism(t *testing.T) {
	s := snap(t)
	in := Input{Source: rules.Source{Topic: "in", Partition: 3, Offset: 9}, Key: []byte("k"),
		Value: []byte(`{"id":"s1","language":"en","headline":"Truce talk","body":"Vladimir Putin and Volodymyr Zelensky discussed a ceasefire."}`)}
	opt := Options{EnrichedTopic: "enriched", MaxMessageBytes: 1 << 20}
	a, b := Process(s, opt, in), Process(s, opt, in)
	if a.Failure != nil || a.StoryID != "s1" {
		t.Fatalf("%+v", a.Failure)
	}
	if len(a.Records) != 2 || a.Records[0].Kind != "enriched" || a.Records[1].Kind != "alert" || a.Records[1].Topic != "alerts.cf" {
		t.Fatalf("records %+v", a.Records)
	}
	for i := range a.Records {
		if !bytes.Equal(a.Records[i].Value, b.Records[i].Value) || string(a.Records[i].Key) != "s1" {
			t.Fatalf("record %d not deterministic or wrong key", i)
		}
	}
}

func TestProcessFailures(t *testing.T) {
	s := snap(t)
	opt := Options{EnrichedTopic: "e", MaxMessageBytes: 100}
	for _, c := range []struct {
		value []byte
		key   string
		class string
	}{
		{[]byte(`{"id":"x","body":"` + strings.Repeat("a", 200) + `"}`), "", "oversize"},
		{[]byte("Plain text story without an id."), "", "missing_id"},
		{[]byte("{\"id\":\"x\",\"body\":\"\xff\"}"), "", "invalid_utf8"},
		{nil, "k", "empty"},
	} {
		r := Process(s, opt, Input{Key: []byte(c.key), Value: c.value})
		if r.Failure == nil || r.Failure.Class != c.class || r.Failure.Stage != StageDecode {
			t.Errorf("%q: %+v, want class %s", c.value, r.Failure, c.class)
		}
	}
	// The key is the fallback id of a story without one.
	if r := Process(s, opt, Input{Key: []byte("key-id"), Value: []byte("Short plain text.")}); r.Failure != nil || r.StoryID != "key-id" {
		t.Errorf("plain text with a key: %+v %q", r.Failure, r.StoryID)
	}
	// A panic is a failure, not a crash.
	if r := Process(&Snapshot{}, opt, Input{Key: []byte("k"), Value: []byte("Short plain text.")}); r.Failure == nil || r.Failure.Class != ClassPanic {
		t.Errorf("panic not recovered: %+v", r.Failure)
	}
}

// The bench's baselines copy instead of tagging; the sized one writes the
// body three times and one short record on the first alert topic.
func TestBaselines(t *testing.T) {
	s := snap(t)
	body := strings.Repeat("Vladimir Putin spoke of a ceasefire. ", 30)
	in := Input{Key: []byte("k"), Value: []byte(`{"id":"s1","headline":"H","body":"` + body + `"}`)}
	cases := []struct {
		baseline    Baseline
		records     int
		bodyCopies  int
		tagged      bool
		secondTopic string
	}{
		{BaselineNone, 2, 1, true, "alerts.cf"},
		{BaselineCopy, 1, 1, false, ""},
		{BaselineCopySized, 2, 3, false, "alerts.cf"},
	}
	for _, c := range cases {
		r := Process(s, Options{EnrichedTopic: "enriched", Baseline: c.baseline}, in)
		if r.Failure != nil || len(r.Records) != c.records {
			t.Fatalf("baseline %d: failure %v, %d records", c.baseline, r.Failure, len(r.Records))
		}
		if n := strings.Count(string(r.Records[0].Value), body); n != c.bodyCopies {
			t.Errorf("baseline %d: body %d times in the record, want %d", c.baseline, n, c.bodyCopies)
		}
		if tagged := len(r.Enriched.Actors) > 0; tagged != c.tagged {
			t.Errorf("baseline %d: tagged %v, want %v", c.baseline, tagged, c.tagged)
		}
		if c.records == 2 {
			if r.Records[1].Topic != c.secondTopic || len(r.Records[1].Value) > sizedAlertBytes {
				t.Errorf("baseline %d: second record on %s, %d bytes", c.baseline, r.Records[1].Topic, len(r.Records[1].Value))
			}
		}
	}
}
