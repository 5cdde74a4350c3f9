// Package explain renders an enriched record for people: the story text with
// every mention marked, then a summary of actors and topics.
package explain

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wiretag/wiretag/schema"
)

// Marks around a mention, and Unicode isolates around the id that follows it,
// so that right-to-left text (Arabic) keeps its order in a terminal: the
// Latin id is laid out on its own and does not pull the Arabic words around it.
const (
	open    = "⟦"
	close   = "⟧"
	isolate = "\u2068" // FIRST STRONG ISOLATE
	pop     = "\u2069" // POP DIRECTIONAL ISOLATE
)

type span struct {
	start, end int
	label      string
}

// Write prints rec for a person to read.
func Write(w io.Writer, rec *schema.Enriched) {
	fmt.Fprintf(w, "═══ %s  [%s", rec.ID, rec.Language.Detected)
	if rec.Language.Declared != "" && rec.Language.Declared != rec.Language.Detected {
		fmt.Fprintf(w, ", declared %s", rec.Language.Declared)
	}
	fmt.Fprintln(w, "]")
	spans := map[string][]span{}
	for _, a := range rec.Actors {
		for _, m := range a.Mentions {
			spans[m.Field] = append(spans[m.Field], span{m.Start, m.End, a.ID})
		}
	}
	for _, t := range rec.Topics {
		for _, m := range t.Mentions {
			spans[m.Field] = append(spans[m.Field], span{m.Start, m.End, "#" + t.ID})
		}
	}
	if rec.Headline != "" {
		fmt.Fprintf(w, "headline: %s\n", Mark(rec.Headline, spans["headline"]))
	}
	fmt.Fprintf(w, "body:\n%s\n", Mark(rec.Body, spans["body"]))
	fmt.Fprintln(w, "actors:")
	for _, a := range rec.Actors {
		q := ""
		if a.Quoted {
			q = ", quoted"
		}
		fmt.Fprintf(w, "  %-13s %-26s %s ×%d%s\n", a.Kind, a.ID, isolate+a.Name+pop, a.Count, q)
	}
	fmt.Fprintln(w, "topics:")
	for _, t := range rec.Topics {
		fmt.Fprintf(w, "  %-22s score %.2f  28-pt %v  20-pt %v\n", t.ID, t.Score, compact(t.Points28), compact(t.Points20))
	}
	fmt.Fprintln(w)
}

// Mark inserts the marks of spans (code-point offsets) into text. Overlapping
// spans (an actor inside a topic cue) are nested in order of appearance.
func Mark(text string, spans []span) string {
	if len(spans) == 0 {
		return text
	}
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	opens := map[int][]span{}
	closes := map[int][]string{}
	for _, s := range spans {
		opens[s.start] = append(opens[s.start], s)
		closes[s.end] = append([]string{s.label}, closes[s.end]...)
	}
	var b strings.Builder
	i := 0
	for _, r := range text {
		for _, l := range closes[i] {
			b.WriteString(close + isolate + "‹" + l + "›" + pop)
		}
		for range opens[i] {
			b.WriteString(open)
		}
		b.WriteRune(r)
		i++
	}
	for _, l := range closes[i] {
		b.WriteString(close + isolate + "‹" + l + "›" + pop)
	}
	return b.String()
}

func compact(pts []int) string {
	if len(pts) == 0 {
		return "-"
	}
	if len(pts) >= 20 && pts[0] == 1 && pts[len(pts)-1] == len(pts) {
		return "all"
	}
	return fmt.Sprint(pts)
}
