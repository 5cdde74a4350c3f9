// Package loadgen measures wiretag end to end: it produces stories to the
// input topic, runs the processor as a separate process (so its CPU time and
// memory are its own), consumes what it writes, and reports throughput at
// saturation and end-to-end latency at fixed rates, for wiretag and for a
// pass-through baseline measured in the same run.
package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/wiretag/wiretag/config"
)

// story is one generated input message.
type story struct {
	id    string
	value []byte
}

// generator varies the project's own sample stories into many distinct ones
// of 1–5 KB in all languages: sentences are shuffled and the body is cut or
// doubled to a target size, so no two stories are the same bytes.
type generator struct {
	rng     *rand.Rand
	samples []sampleStory
	poison  float64
}

type sampleStory struct {
	Headline, Body, Language string
	sentences                []string
}

func newGenerator(seed uint64, poison float64) (*generator, error) {
	ss, err := config.Samples()
	if err != nil {
		return nil, fmt.Errorf("embedded samples: %w", err)
	}
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), poison: poison}
	for _, s := range ss {
		var st sampleStory
		if err := json.Unmarshal(s.JSON, &st); err != nil {
			return nil, fmt.Errorf("sample %s: %w", s.ID, err)
		}
		st.sentences = splitSentences(st.Body)
		g.samples = append(g.samples, st)
	}
	if len(g.samples) == 0 {
		return nil, fmt.Errorf("no embedded samples")
	}
	return g, nil
}

func splitSentences(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if r == '.' || r == '\n' || r == '؟' || r == '!' || r == '?' {
			if seg := strings.TrimSpace(s[start : i+len(string(r))]); seg != "" {
				out = append(out, seg)
			}
			start = i + len(string(r))
		}
	}
	if seg := strings.TrimSpace(s[start:]); seg != "" {
		out = append(out, seg)
	}
	return out
}

// next returns story number n: a varied sample, or (with probability poison)
// a message the processor must dead-letter.
func (g *generator) next(n int) story {
	id := fmt.Sprintf("bench-%07d", n)
	if g.rng.Float64() < g.poison {
		switch n % 3 {
		case 0:
			return story{id, []byte(`{"id":"` + id + `","body":"unterminated`)}
		case 1:
			return story{id, []byte("{\"id\":\"" + id + "\",\"body\":\"\xff\xfe bad utf-8\"}")}
		default:
			return story{id, nil}
		}
	}
	s := g.samples[g.rng.IntN(len(g.samples))]
	target := 1000 + g.rng.IntN(4000)
	var b strings.Builder
	for b.Len() < target {
		i := g.rng.IntN(len(s.sentences))
		b.WriteString(s.sentences[i])
		b.WriteByte(' ')
	}
	body := b.String()
	if len(body) > 5000 {
		body = strings.ToValidUTF8(body[:5000], "")
	}
	v, _ := json.Marshal(map[string]string{"id": id, "headline": s.Headline, "body": body, "language": s.Language})
	return story{id, v}
}
