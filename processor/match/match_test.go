package match

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/text"
)

func build(t *testing.T, aliases ...string) *Matcher {
	t.Helper()
	b := NewBuilder()
	for i, a := range aliases {
		ws, err := dict.ParseAlias(a)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(ws, "ru", int32(i))
	}
	return b.Build()
}

// all lists every candidate as "start-end:id/clitic" over the whole text.
func all(m *Matcher, s string) []string {
	var d text.Doc
	d.Tokenize(s)
	var out []string
	for i := range d.Tokens {
		for _, h := range m.At(&d, i, nil) {
			out = append(out, fmt.Sprintf("%d-%d:%d/%d", h.Start, h.End, h.ID, h.Clitic))
		}
	}
	slices.Sort(out)
	return out
}

// The semantics that several Go Aho-Corasick libraries get wrong: the
// matcher must report every candidate with its true extent, and only at
// token boundaries; the tagger then picks leftmost-longest.
func TestCandidates(t *testing.T) {
	tests := []struct {
		name    string
		aliases []string
		text    string
		want    []string
	}{
		{"nested candidates both reported", []string{"vladimir", "vladimir putin"}, "vladimir putin met", []string{"0-1:0/0", "0-2:1/0"}},
		{"two separate matches", []string{"putin", "donald trump"}, "putin met donald trump", []string{"0-1:0/0", "2-4:1/0"}},
		{"suffix alias inside a longer one", []string{"trump", "donald trump"}, "donald trump said", []string{"0-2:1/0", "1-2:0/0"}},
		{"whole tokens: no Putin in Rasputin", []string{"путин"}, "распутин путинизм путин", []string{"2-3:0/0"}},
		{"whole tokens: no NATO in Hnatov", []string{"nato"}, "hnatov nato", []string{"1-2:0/0"}},
		{"stem", []string{"переговор*"}, "переговоры переговорах говор", []string{"0-1:0/0", "1-2:0/0"}},
		{"inflected forms", []string{"лавров~"}, "лаврову лавровым лавр", []string{"0-1:0/0", "1-2:0/0"}},
		{"arabic conjunction", []string{"ويتكوف"}, "وويتكوف ويتكوف", []string{"0-1:0/1", "1-2:0/0"}},
		{"arabic lam-lam", []string{"الناتو"}, "للناتو", []string{"0-1:0/2"}},
		{"arabic preposition plus article to bare noun", []string{"ناتو"}, "بالناتو", []string{"0-1:0/3"}},
		{"arabic split only when the remainder is a dictionary word", []string{"ترامب"}, "بوتين وترامب", []string{"1-2:0/1"}},
		{"both readings reported; the tagger prefers the whole token", []string{"بوتين", "وتين"}, "بوتين", []string{"0-1:0/0", "0-1:1/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := all(build(t, tt.aliases...), tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
