// Package tagger finds the actors a story names and the peace-plan topics it
// discusses, with evidence. A Tagger is compiled once from dictionaries and is
// immutable afterwards, so any number of goroutines may call Tag at once; a
// dictionary reload builds a new Tagger and swaps it in.
package tagger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/match"
	"github.com/wiretag/wiretag/processor/text"
	"github.com/wiretag/wiretag/schema"
)

// Version is the tagging engine's version; the record's tagger.version adds a
// digest of the dictionaries in force.
const Version = "1.1.0"

// speechWindow is how many tokens from a reporting verb an actor may stand
// and still be its speaker.
const speechWindow = 6

// Patterns live in four spaces, each with its own leftmost-longest
// selection: an actor alias and a topic cue may cover the same words
// ("IAEA" is an organization and a cue of the nuclear-plant topic), and so
// may an organization and a country ("وزارة الخارجية الأمريكية" names the
// State Department and the United States).
const (
	spaceActor = iota
	spaceCountry
	spaceSpeech
	spaceTopic
	nSpaces
	// spaceOther holds the other_conflicts words: they are never selected,
	// only noted, so that scan knows which sentences name another conflict.
	spaceOther = nSpaces
)

// defaultWindow is the token distance of near / not_near.
const defaultWindow = 8

type entity struct {
	meta        dict.Meta
	firstNames  wordSet // persons: first words of the multi-word aliases, declined in ru/uk
	uri         string
	threshold   float64
	perOther    float64 // topics: dict.Entry.PerOtherTopic
	requiresAny []int   // entity indexes; a topic fires only if one of them was found
	gated       bool
}

// pattern is one compiled alias.
type pattern struct {
	space  int // spaceActor, spaceCountry, spaceSpeech, spaceTopic or spaceOther
	entity int
	alias  dict.Alias
	words  int // token length
	// Context word lists, nil when absent. Equal lists are one shared set:
	// the dictionaries repeat the same lists on many aliases.
	near      *wordSet
	notNear   *wordSet
	prev      *wordSet
	notPrev   *wordSet
	next      *wordSet
	notNext   *wordSet
	notSuffix *wordSet
	window    int
	surname   bool // a one-word person alias: not after another person's given name
	hasRules  bool
}

// Tagger tags stories with one compiled set of dictionaries.
type Tagger struct {
	entities  []entity
	byID      map[string]int
	m         *match.Matcher // all patterns of every space, one lookup per token
	pats      []pattern
	topicIDs  []int   // entity indexes of the topics
	supported []int   // topics with a per_other_topic weight
	given     wordSet // given names of people outside the taxonomy (dict.File.GivenNames)
	others    bool    // some dictionary lists other_conflicts (their words are spaceOther patterns)
	said      wordSet // verbs with which a capital speaks for its government (dict.File.StatementVerbs)
	info      schema.TaggerInfo
	pool      sync.Pool
}

// Default compiles the dictionaries embedded in the binary.
func Default() (*Tagger, error) {
	return New(config.DefaultDictionaries())
}

// New compiles the dictionaries in fsys: taxonomy.yaml at its root and the
// dictionary files under dictionaries/ (the layout of config.DefaultDictionaries).
// The error lists every problem found (dict.Problems).
func New(fsys fs.FS) (*Tagger, error) {
	set, err := dict.Load(fsys, fsys, "dictionaries")
	if err != nil {
		return nil, err
	}
	return Compile(set, digest(fsys, fsys, "dictionaries"))
}

// NewFromDir compiles the dictionary files of dir: either dir/dictionaries/*.yaml
// (the layout of config/) or dir/*.yaml, with dir's taxonomy.yaml if it has
// one and the embedded taxonomy otherwise. It is what WIRETAG_DICTIONARY_DIR uses.
func NewFromDir(dir string) (*Tagger, error) {
	tax, d, sub := dirLayout(dir)
	set, err := dict.Load(tax, d, sub)
	if err != nil {
		return nil, err
	}
	return Compile(set, digest(tax, d, sub))
}

func dirLayout(dir string) (tax, d fs.FS, sub string) {
	d = os.DirFS(dir)
	tax = config.DefaultDictionaries()
	if _, err := fs.Stat(d, "taxonomy.yaml"); err == nil {
		tax = d
	}
	sub = "."
	if fi, err := fs.Stat(d, "dictionaries"); err == nil && fi.IsDir() {
		sub = "dictionaries"
	}
	return tax, d, sub
}

// digest fingerprints exactly the files a tagger was built from (the
// taxonomy and the dictionary files), so records say which set tagged them
// and an unrelated file beside them (rules.yaml) does not change it.
func digest(tax, d fs.FS, sub string) string {
	h := sha256.New()
	add := func(fsys fs.FS, name string) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	add(tax, "taxonomy.yaml")
	names, _ := fs.Glob(d, path.Join(sub, "*.yaml"))
	sort.Strings(names)
	for _, n := range names {
		if path.Base(n) != "taxonomy.yaml" {
			add(d, n)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Compile builds a Tagger from a loaded dictionary set.
func Compile(set *dict.Set, digest string) (*Tagger, error) {
	t := &Tagger{byID: map[string]int{}}
	ids := make([]string, 0, len(set.Taxonomy.IDs))
	for id := range set.Taxonomy.IDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.byID[id] = len(t.entities)
		m := set.Taxonomy.IDs[id]
		if m.Kind == dict.KindTopic {
			t.topicIDs = append(t.topicIDs, len(t.entities))
		}
		t.entities = append(t.entities, entity{meta: m, uri: entityURI(m), threshold: 1})
	}
	speechID := len(t.entities)
	t.entities = append(t.entities, entity{meta: dict.Meta{ID: "speech", Kind: dict.KindSpeech}})
	t.byID["speech"] = speechID

	mb := match.NewBuilder()
	sets := map[string]*wordSet{} // context word lists, shared by every alias that repeats one
	var problems dict.Problems
	for _, f := range set.Files {
		for _, w := range f.OtherConflicts {
			if ws, err := dict.ParseAlias(w); err == nil && len(ws) == 1 {
				mb.Add(ws, "", int32(len(t.pats)))
				t.pats = append(t.pats, pattern{space: spaceOther, entity: -1, words: 1})
				t.others = true
			}
		}
		for _, w := range f.StatementVerbs {
			if ws, err := dict.ParseAlias(w); err == nil && len(ws) == 1 {
				t.said.add(ws...)
			}
		}
		for _, g := range f.GivenNames {
			ws, err := dict.ParseAlias(g.Text)
			if err != nil || len(ws) != 1 {
				continue // reported by lint
			}
			forms := []string{ws[0].Norm}
			if ws[0].Inflect {
				forms = dict.Forms(ws[0].Norm, g.Lang)
			}
			for _, form := range forms {
				t.given.add(dict.Word{Norm: form})
			}
		}
	}
	for _, f := range set.Files {
		for _, e := range f.Entries {
			ei, ok := t.byID[e.ID]
			if !ok {
				continue // reported by lint
			}
			ent := &t.entities[ei]
			if e.Threshold > 0 {
				ent.threshold = e.Threshold
			}
			if e.PerOtherTopic > 0 {
				ent.perOther = e.PerOtherTopic
				t.supported = append(t.supported, ei)
			}
			gate := f.RequiresAny
			if len(e.RequiresAny) > 0 {
				gate = e.RequiresAny
			}
			for _, g := range gate {
				if gi, ok := t.byID[g]; ok {
					ent.requiresAny = append(ent.requiresAny, gi)
					ent.gated = true
				}
			}
			for _, a := range e.Aliases {
				words, err := dict.ParseAlias(a.Text)
				if err != nil {
					problems = append(problems, dict.Problem{File: f.Path, Line: a.Line, Msg: err.Error()})
					continue
				}
				if f.Kind == dict.KindPerson || f.Kind == dict.KindCountry && a.Lang == "de" {
					declineWholeName(words, a.Lang) // and German country names: Polens, Moskaus
				}
				p, err := compilePattern(ei, a, len(words), sets)
				if err != nil {
					problems = append(problems, dict.Problem{File: f.Path, Line: a.Line, Msg: err.Error()})
					continue
				}
				switch f.Kind {
				case dict.KindTopic:
					p.space = spaceTopic
				case dict.KindSpeech:
					p.space = spaceSpeech
				case dict.KindCountry:
					p.space = spaceCountry
				default:
					p.space = spaceActor
				}
				if f.Kind == dict.KindPerson && len(words) == 1 && !t.given.empty() {
					p.surname, p.hasRules = true, true
				}
				if f.Kind == dict.KindPerson && len(words) > 1 && !words[0].Stem {
					forms := []string{words[0].Norm}
					if a.Lang == "ru" || a.Lang == "uk" {
						forms = dict.Forms(words[0].Norm, a.Lang)
					}
					for _, form := range forms {
						ent.firstNames.add(dict.Word{Norm: form})
					}
				}
				mb.Add(words, a.Lang, int32(len(t.pats)))
				t.pats = append(t.pats, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	t.m = mb.Build()
	t.info = schema.TaggerInfo{Version: Version + "+dict." + digest, Taxonomy: set.Taxonomy.Version}
	t.pool.New = func() any { return newScratch(len(t.entities)) }
	return t, nil
}

// declineWholeName: a person's name declines as a whole. In ru/uk, when an
// alias asks for case forms (~) on any word, every word gets them
// ("Джонатан Пауелл~" also matches "Джонатана Пауелла"); in German the last
// word takes the genitive -s ("Trumps Schwiegersohn").
func declineWholeName(words []dict.Word, lang string) {
	switch lang {
	case "ru", "uk":
		if !slices.ContainsFunc(words, func(w dict.Word) bool { return w.Inflect }) {
			return
		}
		for i := range words {
			if !words[i].Stem {
				words[i].Inflect = true
			}
		}
	case "de":
		if last := &words[len(words)-1]; !last.Stem {
			last.Inflect = true
		}
	}
}

func compilePattern(ei int, a dict.Alias, n int, sets map[string]*wordSet) (pattern, error) {
	p := pattern{entity: ei, alias: a, words: n, window: a.Window}
	if p.window == 0 {
		p.window = defaultWindow
	}
	lists := []struct {
		src []string
		dst **wordSet
	}{{a.Near, &p.near}, {a.NotNear, &p.notNear}, {a.Prev, &p.prev}, {a.NotPrev, &p.notPrev}, {a.Next, &p.next}, {a.NotNext, &p.notNext}, {a.NotSuffix, &p.notSuffix}}
	for _, l := range lists {
		if len(l.src) == 0 {
			continue
		}
		key := strings.Join(l.src, "\x00")
		if ws, ok := sets[key]; ok {
			*l.dst = ws
			continue
		}
		set := &wordSet{}
		for _, w := range l.src {
			ws, err := dict.ParseAlias(w)
			if err != nil {
				return p, fmt.Errorf("context word: %w", err)
			}
			set.add(ws...)
		}
		sets[key] = set
		*l.dst = set
	}
	p.hasRules = a.Case != "" || a.AfterFull || a.NotDateline || !p.near.empty() || !p.notNear.empty() || !p.prev.empty() || !p.notPrev.empty() || !p.next.empty() || !p.notNext.empty() || !p.notSuffix.empty()
	return p, nil
}

// Info says which engine and dictionaries this Tagger runs.
func (t *Tagger) Info() schema.TaggerInfo { return t.info }

// NewLenient compiles what it can of the dictionaries of dir (or the embedded
// ones when dir is "") despite lint problems, which it returns alongside. It
// serves dictionary work in progress (wiretag eval --lenient); production
// loading is strict.
func NewLenient(dir string) (*Tagger, error, error) {
	var (
		set *dict.Set
		err error
		dig string
	)
	if dir == "" {
		fsys := config.DefaultDictionaries()
		set, err = dict.Load(fsys, fsys, "dictionaries")
		dig = digest(fsys, fsys, "dictionaries")
	} else {
		tax, d, sub := dirLayout(dir)
		set, err = dict.Load(tax, d, sub)
		dig = digest(tax, d, sub)
	}
	if set == nil {
		return nil, nil, err
	}
	t, cerr := Compile(set, dig)
	return t, err, cerr
}

// wordSet is a context-rule word list. Whole words are kept with their
// text.Hash, so checking a window of tokens compares the hashes the tokenizer
// already computed: a short list is scanned, a long one is a map by hash.
// Stems are a short list of prefixes.
type wordSet struct {
	words []hashedWord
	big   map[uint64][]string
	stems []string
	// filter has a bit for every word's hash and every stem's first three
	// bytes, so most tokens of a window are rejected by one test. It grows
	// with the set (about 32 bits per entry, at least 256), so a long list
	// such as the other-conflict words stays selective.
	filter   []uint64
	noFilter bool // a stem shorter than three bytes: every word must be checked
}

// stemFilterHash hashes the first three bytes, the shortest stem allowed.
func stemFilterHash(w []byte) uint64 {
	k := (uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16) * 0x9E3779B97F4A7C15
	return k ^ k>>29
}

func (s *wordSet) mark(h uint64) { s.filter[(h>>6)&uint64(len(s.filter)-1)] |= 1 << (h & 63) }

func (s *wordSet) marked(h uint64) bool {
	return s.filter[(h>>6)&uint64(len(s.filter)-1)]&(1<<(h&63)) != 0
}

// refilter sizes the filter for the set's entries and marks them all.
func (s *wordSet) refilter() {
	n := 4
	for n*64 < 32*(len(s.words)+len(s.stems)) {
		n *= 2
	}
	if len(s.filter) == n {
		return
	}
	s.filter = make([]uint64, n)
	for _, w := range s.words {
		s.mark(w.h)
	}
	for _, st := range s.stems {
		if len(st) >= 3 {
			s.mark(stemFilterHash([]byte(st)))
		}
	}
}

type hashedWord struct {
	h uint64
	w string
}

// bigSet is the size from which a map beats scanning the list.
const bigSet = 8

func (s *wordSet) add(ws ...dict.Word) {
	for _, w := range ws {
		s.addOne(w)
		for _, v := range arabicProclitics(w.Norm) {
			s.addOne(dict.Word{Norm: v, Stem: w.Stem})
		}
	}
}

// arabicProclitics returns an Arabic word with the conjunctions, prepositions
// and their combinations that attach to it (للأرصاد for الأرصاد, وفي for في),
// so that context lists match words as they stand in running text. Other
// scripts have none.
func arabicProclitics(w string) []string {
	r, _ := utf8.DecodeRuneInString(w)
	if r < 0x0600 || r > 0x06FF {
		return nil
	}
	var out []string
	if rest, ok := strings.CutPrefix(w, "ال"); ok {
		for _, p := range []string{"و", "ف", "ب", "ك", "وب", "فب", "وك"} {
			out = append(out, p+w)
		}
		for _, p := range []string{"لل", "ولل", "فلل"} { // ل + ال drops the alef
			out = append(out, p+rest)
		}
		return out
	}
	for _, p := range []string{"و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك"} {
		out = append(out, p+w)
	}
	return out
}

func (s *wordSet) addOne(w dict.Word) {
	if w.Stem {
		s.stems = append(s.stems, w.Norm)
		if len(w.Norm) < 3 {
			s.noFilter = true
		}
		s.refilter()
		if len(w.Norm) >= 3 {
			s.mark(stemFilterHash([]byte(w.Norm)))
		}
		return
	}
	h := text.Hash([]byte(w.Norm))
	s.words = append(s.words, hashedWord{h, w.Norm})
	s.refilter()
	s.mark(h)
	if len(s.words) == bigSet {
		s.big = map[uint64][]string{}
		for _, hw := range s.words {
			s.big[hw.h] = append(s.big[hw.h], hw.w)
		}
	} else if s.big != nil {
		s.big[h] = append(s.big[h], w.Norm)
	}
}

func (s *wordSet) empty() bool { return s == nil || len(s.words) == 0 && len(s.stems) == 0 }

// has reports whether word w, whose text.Hash is h, is in the set.
func (s *wordSet) has(w []byte, h uint64) bool {
	if s == nil || len(s.filter) == 0 {
		return false // empty
	}
	if !s.noFilter && !s.marked(h) && (len(w) < 3 || !s.marked(stemFilterHash(w))) {
		return false
	}
	if s.big != nil {
		for _, x := range s.big[h] {
			if x == string(w) {
				return true
			}
		}
	} else {
		for i := range s.words {
			if s.words[i].h == h && s.words[i].w == string(w) {
				return true
			}
		}
	}
	for _, st := range s.stems {
		if len(w) >= len(st) && string(w[:len(st)]) == st {
			return true
		}
	}
	return false
}
