package loadgen

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

func TestGeneratorVariesStoriesAndPoison(t *testing.T) {
	g, err := newGenerator(7, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	poison, langs := 0, map[string]bool{}
	for i := 0; i < 2000; i++ {
		s := g.next(i)
		var st struct{ ID, Body, Language string }
		if !utf8.Valid(s.value) || json.Unmarshal(s.value, &st) != nil || st.Body == "" {
			poison++
			continue
		}
		if st.ID != s.id {
			t.Fatalf("story %d: id %q in the value, %q as key", i, st.ID, s.id)
		}
		if n := len(s.value); n < 1000 || n > 6000 {
			t.Errorf("story %d is %d bytes, want about 1-5 KB", i, n)
		}
		if seen[string(s.value)] {
			t.Errorf("story %d repeats an earlier one byte for byte", i)
		}
		seen[string(s.value)] = true
		langs[st.Language] = true
	}
	if poison < 140 || poison > 260 {
		t.Errorf("%d poison of 2000 at a 10%% share", poison)
	}
	if len(langs) < 8 {
		t.Errorf("languages %v, want all eight samples' languages", langs)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct{ p, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}} {
		if got := pct(d, tc.p); got != tc.want {
			t.Errorf("p%v = %v ms, want %v", tc.p, got, tc.want)
		}
	}
	if pct(nil, 0.5) != 0 {
		t.Error("empty input")
	}
}
