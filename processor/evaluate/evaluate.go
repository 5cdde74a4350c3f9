// Package evaluate scores the tagger against gold-labelled stories: precision,
// recall and F1 per category and per language, and every error with the
// evidence that produced it.
package evaluate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/wiretag/wiretag/processor/tagger"
	"github.com/wiretag/wiretag/schema"
)

// Categories in report order, named as in the gold files.
var Categories = []string{"people", "organizations", "media", "countries", "topics"}

var kindCategory = map[string]string{
	schema.KindPerson: "people", schema.KindOrganization: "organizations",
	schema.KindMedia: "media", schema.KindCountry: "countries",
}

// Gold is one labelled story, in the format of the shared corpus.
type Gold struct {
	ID       string              `json:"id"`
	Lang     string              `json:"lang"`
	Language string              `json:"language"` // accepted for lang, as in stories
	Headline string              `json:"headline"`
	Body     string              `json:"body"`
	Labels   map[string][]string `json:"gold"`
}

// ReadGold reads gold stories, one JSON object per line.
func ReadGold(r io.Reader, name string) ([]Gold, error) {
	var out []Gold
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var g Gold
		if err := json.Unmarshal(line, &g); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if g.ID == "" || g.Labels == nil {
			return nil, fmt.Errorf("%s:%d: gold story needs id and gold", name, n)
		}
		if g.Lang == "" {
			g.Lang = g.Language
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// Score counts true positives, false positives and false negatives.
type Score struct {
	TP, FP, FN int
}

// Precision, Recall and F1 are 1 when there is nothing to find and nothing found.
func (s Score) Precision() float64 { return ratio(s.TP, s.TP+s.FP) }
func (s Score) Recall() float64    { return ratio(s.TP, s.TP+s.FN) }
func (s Score) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func (s *Score) add(o Score) { s.TP += o.TP; s.FP += o.FP; s.FN += o.FN }

// Error is one story's mistakes in one category.
type Error struct {
	Story    string              `json:"story"`
	Lang     string              `json:"lang"`
	Category string              `json:"category"`
	FalsePos []string            `json:"false_positives,omitempty"`
	FalseNeg []string            `json:"false_negatives,omitempty"`
	Evidence map[string][]string `json:"evidence,omitempty"` // false positive id -> matched texts
}

// Report is the outcome of an evaluation.
type Report struct {
	Stories    int                         `json:"stories"`
	Total      map[string]Score            `json:"total"`
	ByLanguage map[string]map[string]Score `json:"by_language"`
	Errors     []Error                     `json:"errors"`
}

// Run tags every gold story and compares. progress, if not nil, is called
// after each story.
func Run(t *tagger.Tagger, golds []Gold, progress func(done, total int)) *Report {
	rep := &Report{Total: map[string]Score{}, ByLanguage: map[string]map[string]Score{}}
	for i, g := range golds {
		rec := t.Tag(&schema.Story{ID: g.ID, Headline: g.Headline, Body: g.Body, Language: g.Lang})
		got, evidence := predicted(rec)
		if g.Lang == "" { // grouped by the language the tagger detected
			g.Lang = rec.Language.Detected
		}
		if rep.ByLanguage[g.Lang] == nil {
			rep.ByLanguage[g.Lang] = map[string]Score{}
		}
		for _, cat := range Categories {
			s, e := compare(g.Labels[cat], got[cat])
			total := rep.Total[cat]
			total.add(s)
			rep.Total[cat] = total
			lang := rep.ByLanguage[g.Lang][cat]
			lang.add(s)
			rep.ByLanguage[g.Lang][cat] = lang
			if len(e.FalsePos)+len(e.FalseNeg) > 0 {
				e.Story, e.Lang, e.Category = g.ID, g.Lang, cat
				for _, id := range e.FalsePos {
					if e.Evidence == nil {
						e.Evidence = map[string][]string{}
					}
					e.Evidence[id] = evidence[id]
				}
				rep.Errors = append(rep.Errors, e)
			}
		}
		rep.Stories++
		if progress != nil {
			progress(i+1, len(golds))
		}
	}
	return rep
}

func predicted(rec *schema.Enriched) (map[string][]string, map[string][]string) {
	got := map[string][]string{}
	ev := map[string][]string{}
	for _, a := range rec.Actors {
		cat := kindCategory[a.Kind]
		got[cat] = append(got[cat], a.ID)
		for _, m := range a.Mentions {
			ev[a.ID] = append(ev[a.ID], fmt.Sprintf("%s[%d:%d] %q", m.Field, m.Start, m.End, m.Text))
		}
	}
	for _, tp := range rec.Topics {
		got["topics"] = append(got["topics"], tp.ID)
		for _, m := range tp.Mentions {
			ev[tp.ID] = append(ev[tp.ID], fmt.Sprintf("%s[%d:%d] %q", m.Field, m.Start, m.End, m.Text))
		}
	}
	return got, ev
}

func compare(gold, got []string) (Score, Error) {
	var s Score
	var e Error
	for _, id := range got {
		if slices.Contains(gold, id) {
			s.TP++
		} else {
			s.FP++
			e.FalsePos = append(e.FalsePos, id)
		}
	}
	for _, id := range gold {
		if !slices.Contains(got, id) {
			s.FN++
			e.FalseNeg = append(e.FalseNeg, id)
		}
	}
	sort.Strings(e.FalsePos)
	sort.Strings(e.FalseNeg)
	return s, e
}

// Languages returns the languages of the report, sorted.
func (r *Report) Languages() []string {
	out := make([]string, 0, len(r.ByLanguage))
	for l := range r.ByLanguage {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// WriteText prints the tables and the errors for people.
func (r *Report) WriteText(w io.Writer, withErrors bool) {
	fmt.Fprintf(w, "stories: %d\n\n%-14s %6s %6s %6s %5s %5s %5s\n", r.Stories, "category", "P", "R", "F1", "TP", "FP", "FN")
	for _, cat := range Categories {
		s := r.Total[cat]
		fmt.Fprintf(w, "%-14s %6.3f %6.3f %6.3f %5d %5d %5d\n", cat, s.Precision(), s.Recall(), s.F1(), s.TP, s.FP, s.FN)
	}
	fmt.Fprintf(w, "\nF1 by language\n%-5s", "lang")
	for _, cat := range Categories {
		fmt.Fprintf(w, " %13s", cat)
	}
	fmt.Fprintln(w)
	for _, l := range r.Languages() {
		fmt.Fprintf(w, "%-5s", l)
		for _, cat := range Categories {
			s := r.ByLanguage[l][cat]
			fmt.Fprintf(w, " %6.3f (%4d)", s.F1(), s.TP+s.FN)
		}
		fmt.Fprintln(w)
	}
	if !withErrors {
		return
	}
	fmt.Fprintf(w, "\nerrors (%d)\n", len(r.Errors))
	for _, e := range r.Errors {
		fmt.Fprintf(w, "%s [%s] %s:", e.Story, e.Lang, e.Category)
		if len(e.FalsePos) > 0 {
			fmt.Fprintf(w, " FP=%v", e.FalsePos)
		}
		if len(e.FalseNeg) > 0 {
			fmt.Fprintf(w, " FN=%v", e.FalseNeg)
		}
		fmt.Fprintln(w)
		for _, id := range e.FalsePos {
			for _, ev := range e.Evidence[id] {
				fmt.Fprintf(w, "    %s ← %s\n", id, ev)
			}
		}
	}
}
