// Package rules decides which alert topics a tagged story goes to. Rules are
// read from YAML, checked completely before use (every error names the file,
// line and rule), and then immutable: a Set is safe for concurrent use and is
// swapped whole on reload.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wiretag/wiretag/schema"
)

// Match lists the ids a rule's condition refers to.
type Match struct {
	Any  []string `yaml:"any"`
	All  []string `yaml:"all"`
	None []string `yaml:"none"`
}

func (m Match) empty() bool { return len(m.Any)+len(m.All)+len(m.None) == 0 }

// Rule is one alert rule as written in YAML.
type Rule struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Topic       string   `yaml:"topic"` // the Kafka topic alerts go to
	Topics      Match    `yaml:"topics"`
	Actors      Match    `yaml:"actors"`
	Languages   []string `yaml:"languages"`
	MinScore    float64  `yaml:"min_score"`
	MinMentions int      `yaml:"min_mentions"`

	line int
}

// Set is a validated, immutable list of rules.
type Set struct {
	Source string
	Rules  []Rule
}

// Known holds the ids a rule may name. Nil fields disable the check.
type Known struct {
	Topics map[string]bool
	Actors map[string]bool
}

// KnownFromTaxonomy reads the ids of taxonomy.yaml (topics; people,
// organizations, media and countries as actors).
func KnownFromTaxonomy(data []byte) (*Known, error) {
	var tx map[string]yaml.Node
	if err := yaml.Unmarshal(data, &tx); err != nil {
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	k := &Known{Topics: map[string]bool{}, Actors: map[string]bool{}}
	keys := func(section string, into map[string]bool) {
		n, ok := tx[section]
		if !ok || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			into[n.Content[i].Value] = true
		}
	}
	keys("topics", k.Topics)
	for _, s := range []string{"people", "organizations", "media", "countries"} {
		keys(s, k.Actors)
	}
	if len(k.Topics) == 0 {
		return nil, errors.New("taxonomy: no topics section")
	}
	return k, nil
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
var ruleName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$`)

// Parse reads and validates rules. source names the file in errors. The
// error, if any, lists every problem found, each as "source:line: rule
// "name": problem".
func Parse(source string, data []byte, known *Known) (*Set, error) {
	var doc struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(doc.Rules) == 0 {
		return nil, fmt.Errorf("%s: no rules (want a top-level \"rules:\" list)", source)
	}
	var errs []error
	set := &Set{Source: source}
	seen := map[string]int{}
	for i := range doc.Rules {
		n := &doc.Rules[i]
		var r Rule
		r.line = n.Line
		where := fmt.Sprintf("%s:%d: rule #%d", source, n.Line, i+1)
		if err := decodeStrict(n, &r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", where, err))
			continue
		}
		r.line = n.Line
		if r.Name != "" {
			where = fmt.Sprintf("%s:%d: rule %q", source, n.Line, r.Name)
		}
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, a...)))
		}
		switch {
		case r.Name == "":
			bad("name is required")
		case !ruleName.MatchString(r.Name):
			bad("name %q must be 1-100 of a-z A-Z 0-9 . _ - (it becomes a metric label)", r.Name)
		}
		if prev, dup := seen[r.Name]; dup && r.Name != "" {
			bad("duplicate name (first at line %d)", prev)
		} else {
			seen[r.Name] = n.Line
		}
		if r.Topic == "" {
			bad("topic is required")
		} else if !topicName.MatchString(r.Topic) || r.Topic == "." || r.Topic == ".." {
			bad("topic %q is not a valid Kafka topic name", r.Topic)
		}
		if r.Topics.empty() && r.Actors.empty() && len(r.Languages) == 0 {
			bad("has no condition: it would alert on every story")
		}
		if r.MinScore < 0 {
			bad("min_score %v is negative", r.MinScore)
		}
		if r.MinMentions < 0 {
			bad("min_mentions %d is negative", r.MinMentions)
		}
		for _, l := range r.Languages {
			if l == "" || len(l) > 8 || strings.ToLower(l) != l {
				bad("language %q is not a lower-case BCP 47 code", l)
			}
		}
		checkIDs := func(what string, m Match, knownIDs map[string]bool) {
			for _, list := range [][]string{m.Any, m.All, m.None} {
				for _, id := range list {
					if knownIDs != nil && !knownIDs[id] {
						bad("unknown %s id %q", what, id)
					}
				}
			}
			for _, id := range m.None {
				if slices.Contains(m.Any, id) || slices.Contains(m.All, id) {
					bad("%s id %q is both required and excluded", what, id)
				}
			}
		}
		var kt, ka map[string]bool
		if known != nil {
			kt, ka = known.Topics, known.Actors
		}
		checkIDs("topic", r.Topics, kt)
		checkIDs("actor", r.Actors, ka)
		set.Rules = append(set.Rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

func decodeStrict(n *yaml.Node, r *Rule) error {
	// Node.Decode has no KnownFields; re-encode and decode strictly so a typo
	// such as "topcis" is an error rather than a silently empty condition.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(r); err != nil {
		// yaml line numbers here are relative to the rule; drop them.
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// Topics returns the distinct alert topics of the set, sorted.
func (s *Set) Topics() []string {
	var ts []string
	for _, r := range s.Rules {
		if !slices.Contains(ts, r.Topic) {
			ts = append(ts, r.Topic)
		}
	}
	slices.Sort(ts)
	return ts
}

// Hit is one rule that matched, with the ids that made it match.
type Hit struct {
	Rule   *Rule
	Topics []string // matched topic ids (from any/all), in record order
	Actors []string // matched actor ids (from any/all), in record order
}

// Evaluate returns the rules e matches, in rule order.
func (s *Set) Evaluate(e *schema.Enriched) []Hit {
	if s == nil || e == nil {
		return nil
	}
	var hits []Hit
	for i := range s.Rules {
		r := &s.Rules[i]
		if h, ok := r.match(e); ok {
			hits = append(hits, h)
		}
	}
	return hits
}

func (r *Rule) match(e *schema.Enriched) (Hit, bool) {
	if len(r.Languages) > 0 && !slices.Contains(r.Languages, e.Language.Detected) {
		return Hit{}, false
	}
	// A record has one entry per id and rules name a few ids, so scanning
	// the record beats building sets of it for every rule and story.
	topicOK := func(t *schema.Topic) bool { return t.Score >= r.MinScore }
	minMentions := max(r.MinMentions, 1)
	actorOK := func(a *schema.Actor) bool { return max(a.Count, len(a.Mentions)) >= minMentions }
	hasTopic := func(id string) bool {
		i := slices.IndexFunc(e.Topics, func(t schema.Topic) bool { return t.ID == id })
		return i >= 0 && topicOK(&e.Topics[i])
	}
	hasActor := func(id string) bool {
		i := slices.IndexFunc(e.Actors, func(a schema.Actor) bool { return a.ID == id })
		return i >= 0 && actorOK(&e.Actors[i])
	}
	if !r.Topics.holds(hasTopic) || !r.Actors.holds(hasActor) {
		return Hit{}, false
	}
	h := Hit{Rule: r}
	for i := range e.Topics {
		if t := &e.Topics[i]; r.Topics.names(t.ID) && topicOK(t) {
			h.Topics = append(h.Topics, t.ID)
		}
	}
	for i := range e.Actors {
		if a := &e.Actors[i]; r.Actors.names(a.ID) && actorOK(a) {
			h.Actors = append(h.Actors, a.ID)
		}
	}
	return h, true
}

func (m Match) holds(present func(id string) bool) bool {
	if len(m.Any) > 0 && !slices.ContainsFunc(m.Any, present) {
		return false
	}
	for _, id := range m.All {
		if !present(id) {
			return false
		}
	}
	for _, id := range m.None {
		if present(id) {
			return false
		}
	}
	return true
}

func (m Match) names(id string) bool { return slices.Contains(m.Any, id) || slices.Contains(m.All, id) }

// Line is the line of the rule in its source, for logs.
func (r *Rule) Line() int { return r.line }
