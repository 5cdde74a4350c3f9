// Package dict loads the taxonomy and the dictionary files (aliases, cue
// phrases and context rules) and checks them, naming file and line for every
// problem. The format is documented in config/dictionaries/README.md.
package dict

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kinds of dictionary files.
const (
	KindPerson       = "person"
	KindOrganization = "organization"
	KindMedia        = "media"
	KindCountry      = "country"
	KindTopic        = "topic"
	KindSpeech       = "speech"
)

// Languages a dictionary may list aliases under.
var Languages = []string{"ar", "en", "ru", "uk", "fr", "de", "es", "tr"}

// Meta is what the taxonomy says about an id.
type Meta struct {
	ID       string
	Kind     string
	Name     string
	Wikidata string
	Points28 []int
	Points20 []int
}

// Taxonomy is the fixed set of ids.
type Taxonomy struct {
	Version string
	IDs     map[string]Meta
}

// Alias is one alias or cue phrase with its context rules.
type Alias struct {
	Lang      string
	Text      string
	Line      int
	Case      string // "", "upper" or "exact"
	AfterFull bool
	// NotDateline: not counted as a dateline, i.e. in capitals among the
	// first tokens of a field ("BERLIN -", "KYIV, Dec 5 (Reuters) -").
	NotDateline bool
	Near        []string
	NotNear     []string
	Prev        []string
	NotPrev     []string
	Next        []string
	NotNext     []string
	// NotSuffix: like NotNext, but only for a word joined to the match by
	// an apostrophe: a Turkish case suffix (Kiev'de, in Kyiv), never the
	// next word of a sentence ("Kiev a dit", "Kiev ya no").
	NotSuffix []string
	// Speaks: a not_prev word (a venue preposition) does not block the alias
	// when one of its file's statement verbs follows within three words of
	// the same sentence: "В Москве заявили", "In Berlin heißt es".
	Speaks bool
	// OpensGate (topic cues): the cue names the war so plainly ("the
	// 28-point plan", "Donbas") that, once accepted, it opens the file's
	// requires_any gate for every topic of the story, as a named party would.
	OpensGate bool
	Window    int
	Weight    float64
}

// Entry is one id's aliases.
type Entry struct {
	ID        string
	Line      int
	Threshold float64 // topics: minimum score
	// PerOtherTopic (topics): added to the score for each other topic that
	// is tagged in the story, once the entry has a cue of its own there. A
	// story that discusses plan points and says "the document" once is
	// about the plan.
	PerOtherTopic float64
	RequiresAny   []string // topics: overrides the file's gate when set
	Aliases       []Alias
}

// File is one dictionary file.
type File struct {
	Path        string
	Kind        string
	RequiresAny []string
	Entries     []Entry
	// GivenNames (person files): first names of people outside the
	// taxonomy. A one-word person alias (a surname) right after one of them
	// names someone else: "Andrés Rubio", "Андрей Дмитриев".
	GivenNames []Alias
	// OtherConflicts (topic files): places and parties of other conflicts.
	// A cue does not count in a sentence that names one: a peace treaty
	// between Armenia and Azerbaijan, peacekeepers in Transnistria.
	OtherConflicts []string
	OtherLine      int
	// StatementVerbs (country files): verbs in the plural or impersonal form
	// with which a capital speaks for its government (see Alias.Speaks).
	StatementVerbs []string
	StatementLine  int
}

// Set is a loaded taxonomy and its dictionaries.
type Set struct {
	Taxonomy Taxonomy
	Files    []File
}

// Problem is one thing wrong with a dictionary, located by file and line.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is every problem found; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return fmt.Sprintf("%d dictionary problem(s):\n  %s", len(ps), strings.Join(s, "\n  "))
}

// Load reads taxonomy.yaml from taxFS and every *.yaml dictionary file in the
// directory dir of dictFS, and checks them. The error, if any, is Problems.
func Load(taxFS fs.FS, dictFS fs.FS, dir string) (*Set, error) {
	var ps Problems
	tax, err := loadTaxonomy(taxFS)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(dictFS, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list dictionaries in %s: %w", dir, err)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, Problems{{File: dir, Msg: "no *.yaml dictionary files"}}
	}
	set := &Set{Taxonomy: *tax}
	for _, name := range names {
		if path.Base(name) == "taxonomy.yaml" {
			continue
		}
		data, err := fs.ReadFile(dictFS, name)
		if err != nil {
			return nil, fmt.Errorf("read dictionary %s: %w", name, err)
		}
		f, fps := parseFile(name, data)
		ps = append(ps, fps...)
		if f != nil {
			set.Files = append(set.Files, *f)
		}
	}
	ps = append(ps, lint(set)...)
	if len(ps) > 0 {
		return set, ps
	}
	return set, nil
}

// taxonomy.yaml, as written in the shared contract.
type rawTopic struct {
	Pts28 []any  `yaml:"pts28"`
	Pts20 []any  `yaml:"pts20"`
	Means string `yaml:"means"`
}
type rawActor struct {
	Name     string `yaml:"name"`
	Wikidata string `yaml:"wikidata"`
}
type rawTaxonomy struct {
	Version       string              `yaml:"version"`
	Topics        map[string]rawTopic `yaml:"topics"`
	People        map[string]rawActor `yaml:"people"`
	Organizations map[string]rawActor `yaml:"organizations"`
	Media         map[string]rawActor `yaml:"media"`
	Countries     map[string]string   `yaml:"countries"`
}

func loadTaxonomy(fsys fs.FS) (*Taxonomy, error) {
	data, err := fs.ReadFile(fsys, "taxonomy.yaml")
	if err != nil {
		return nil, fmt.Errorf("read taxonomy: %w", err)
	}
	var raw rawTaxonomy
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse taxonomy.yaml: %w", err)
	}
	if raw.Version == "" {
		return nil, errors.New("taxonomy.yaml: no version")
	}
	t := &Taxonomy{Version: raw.Version, IDs: map[string]Meta{}}
	for id, tp := range raw.Topics {
		p28, err := points(tp.Pts28, 28)
		if err != nil {
			return nil, fmt.Errorf("taxonomy.yaml: topic %s pts28: %w", id, err)
		}
		p20, err := points(tp.Pts20, 20)
		if err != nil {
			return nil, fmt.Errorf("taxonomy.yaml: topic %s pts20: %w", id, err)
		}
		t.IDs[id] = Meta{ID: id, Kind: KindTopic, Name: topicName(id), Points28: p28, Points20: p20}
	}
	add := func(kind string, m map[string]rawActor) {
		for id, a := range m {
			t.IDs[id] = Meta{ID: id, Kind: kind, Name: a.Name, Wikidata: a.Wikidata}
		}
	}
	add(KindPerson, raw.People)
	add(KindOrganization, raw.Organizations)
	add(KindMedia, raw.Media)
	for id, name := range raw.Countries {
		t.IDs[id] = Meta{ID: id, Kind: KindCountry, Name: name}
	}
	return t, nil
}

// points reads a point list; "all" means every point of the plan.
func points(raw []any, max int) ([]int, error) {
	out := []int{}
	for _, v := range raw {
		switch x := v.(type) {
		case int:
			if x < 1 || x > max {
				return nil, fmt.Errorf("point %d out of 1..%d", x, max)
			}
			out = append(out, x)
		case string:
			if x != "all" {
				return nil, fmt.Errorf("unknown point %q", x)
			}
			for i := 1; i <= max; i++ {
				out = append(out, i)
			}
		default:
			return nil, fmt.Errorf("unknown point %v", v)
		}
	}
	return out, nil
}

func topicName(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}
