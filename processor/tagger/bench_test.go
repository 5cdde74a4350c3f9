package tagger

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/text"
	"github.com/wiretag/wiretag/schema"
)

// The benchmarks run the shipped dictionaries over the project's own stories
// (config/samples and testdata/gold, all eight languages) repeated to about
// 1 MB. Run them on one core:
//
//	go test -run '^$' -bench . -benchmem -cpu 1 ./processor/tagger

type benchStory struct {
	ID, Headline, Body, Lang string
	raw                      []byte
}

func benchCorpus(b *testing.B) []benchStory {
	b.Helper()
	var stories []benchStory
	for _, name := range []string{"../../config/samples/stories.jsonl", "../../testdata/gold/own.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range splitLines(data) {
			var s struct {
				ID, Headline, Body, Language, Lang string
			}
			if json.Unmarshal(line, &s) != nil {
				continue
			}
			raw, _ := json.Marshal(map[string]string{"id": s.ID, "headline": s.Headline, "body": s.Body, "language": s.Language + s.Lang})
			stories = append(stories, benchStory{s.ID, s.Headline, s.Body, s.Language + s.Lang, raw})
		}
	}
	if len(stories) == 0 {
		b.Skip("no sample stories")
	}
	return stories
}

func repeatTo(stories []benchStory, size int) ([]benchStory, int) {
	var out []benchStory
	total := 0
	for total < size {
		for _, s := range stories {
			out = append(out, s)
			total += len(s.Headline) + len(s.Body)
		}
	}
	return out, total
}

func shipped(b *testing.B) *Tagger {
	b.Helper()
	t, lintErr, err := NewLenient("")
	if err != nil {
		b.Fatalf("shipped dictionaries: %v", err)
	}
	if lintErr != nil {
		b.Logf("shipped dictionaries have lint problems: %v", lintErr)
	}
	return t
}

// BenchmarkTagCorpus: normalize + match + resolve over ~1 MB, MB/s per core.
func BenchmarkTagCorpus(b *testing.B) {
	t := shipped(b)
	stories, total := repeatTo(benchCorpus(b), 1<<20)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range stories {
			s := &stories[i]
			t.Tag(&schema.Story{ID: s.ID, Headline: s.Headline, Body: s.Body, Language: s.Lang})
		}
	}
}

// BenchmarkAnalyze: normalize + match + resolve (candidate selection, context
// rules, speakers, topic scores) without building the output record.
func BenchmarkAnalyze(b *testing.B) {
	t := shipped(b)
	stories, total := repeatTo(benchCorpus(b), 1<<20)
	sc := t.pool.Get().(*scratch)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range stories {
			t.analyze(sc, stories[i].Headline, stories[i].Body)
		}
	}
}

// BenchmarkAnalyzeByLanguage: Analyze over each language's stories alone
// (~512 KB each), since the cost per byte differs by script: Cyrillic and
// Arabic letters take two bytes, Arabic words are also read without their
// clitics, and Latin text has the most tokens per byte.
func BenchmarkAnalyzeByLanguage(b *testing.B) {
	t := shipped(b)
	all := benchCorpus(b)
	for _, lang := range []string{"ar", "en", "ru", "uk", "fr", "de", "es", "tr"} {
		var sub []benchStory
		for _, s := range all {
			if s.Lang == lang {
				sub = append(sub, s)
			}
		}
		if len(sub) == 0 {
			continue
		}
		stories, total := repeatTo(sub, 1<<19)
		b.Run(lang, func(b *testing.B) {
			sc := t.pool.Get().(*scratch)
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				for i := range stories {
					t.analyze(sc, stories[i].Headline, stories[i].Body)
				}
			}
		})
	}
}

// BenchmarkNormalize: the tokenizer/normalizer alone over the same corpus.
func BenchmarkNormalize(b *testing.B) {
	stories, total := repeatTo(benchCorpus(b), 1<<20)
	var d text.Doc
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range stories {
			d.Tokenize(stories[i].Headline)
			d.Tokenize(stories[i].Body)
		}
	}
}

// story3KB picks the sample closest to 3 KB.
func story3KB(b *testing.B) benchStory {
	stories := benchCorpus(b)
	sort.Slice(stories, func(i, j int) bool {
		return abs(len(stories[i].raw)-3072) < abs(len(stories[j].raw)-3072)
	})
	return stories[0]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkStory3KB: decode + tag + encode of one ~3 KB story, the per-message
// work of the stream processor.
func BenchmarkStory3KB(b *testing.B) {
	t := shipped(b)
	s := story3KB(b)
	b.SetBytes(int64(len(s.raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, err := schema.Decode(s.raw, "", schema.Limits{MaxBodyBytes: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		// Marshal, as the processor calls it: a fresh record every story.
		if _, err := t.Tag(st).Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegexpAlternation is the obvious alternative: one Go regexp that
// alternates every alias (stems as \p{L}*), run over normalized text. It is
// measured on 32 KB, since it is orders of magnitude slower.
func BenchmarkRegexpAlternation(b *testing.B) {
	fsys := config.DefaultDictionaries()
	set, err := dict.Load(fsys, fsys, "dictionaries")
	if err != nil {
		b.Fatalf("shipped dictionaries: %v", err)
	}
	var alts []string
	for _, f := range set.Files {
		for _, e := range f.Entries {
			for _, a := range e.Aliases {
				ws, err := dict.ParseAlias(a.Text)
				if err != nil {
					continue
				}
				parts := make([]string, len(ws))
				for i, w := range ws {
					parts[i] = regexp.QuoteMeta(w.Norm)
					if w.Stem || w.Inflect {
						parts[i] += `\p{L}*`
					}
				}
				alts = append(alts, strings.Join(parts, " "))
			}
		}
	}
	re := regexp.MustCompile(`(?:^|[^\p{L}\p{N}])(?:` + strings.Join(alts, "|") + `)(?:[^\p{L}\p{N}]|$)`)
	stories, _ := repeatTo(benchCorpus(b), 32<<10)
	var norm []string
	total := 0
	for _, s := range stories {
		n := text.Normalize(s.Headline + " " + s.Body)
		norm = append(norm, n)
		total += len(s.Headline) + len(s.Body)
		if total >= 32<<10 {
			break
		}
	}
	b.Logf("%d alternatives", len(alts))
	b.SetBytes(int64(total))
	b.ResetTimer()
	for b.Loop() {
		for _, n := range norm {
			re.FindAllStringIndex(n, -1)
		}
	}
}
