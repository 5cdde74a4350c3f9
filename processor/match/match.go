// Package match finds dictionary phrases in tokenized text with a token trie:
// one map lookup per token at the root, whole-token boundaries by
// construction (so "Распутин" never contains "Путин" and "Hnatov" never
// contains "NATO"), stems for inflected words, and dictionary-guarded removal
// of Arabic proclitics. It reports every candidate at a position; choosing
// among them (leftmost-longest, context rules) is the caller's job, because
// only the caller knows the rules. A Matcher is immutable after Build and safe
// for concurrent use.
package match

import (
	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/text"
)

type node struct {
	exact map[string]*node
	stems []stemEdge
	terms []int32 // pattern ids that end here
}

type stemEdge struct {
	stem string
	next *node
}

// Stems at the root sit in buckets keyed by their first bytes: 6 bytes
// (three Cyrillic or Arabic letters) when the stem is that long, else 3 (the
// shortest allowed stem, three ASCII letters). With a single 3-byte key every
// Arabic stem after the article, and most Cyrillic ones, shared a bucket.
const (
	shortKey = 3
	longKey  = 6
)

// Matcher is a compiled set of patterns.
type Matcher struct {
	root      node
	rootStems [2]map[string][]stemEdge // by shortKey, longKey
	n         int
	// first and stemKeys are bitsets over hashes of every first word and of
	// every first stem's key: most tokens of a story start no pattern, and a
	// bit test rejects them for the cost of a hash, without a map probe.
	first    bitset
	stemKeys [2]bitset
}

const (
	firstBits = 1 << 20 // 128 KB: fits in L2, keeps false positives rare
	stemBits  = 1 << 16 // 8 KB
)

type bitset []uint64

// The length of a bitset is a power of two, so a mask picks the word.
func (b bitset) set(h uint64)      { b[(h>>6)&uint64(len(b)-1)] |= 1 << (h & 63) }
func (b bitset) has(h uint64) bool { return b[(h>>6)&uint64(len(b)-1)]&(1<<(h&63)) != 0 }

// hashWord is a cheap fingerprint for the prefilter: length, the first four
// and the last two bytes, mixed by one multiplication. It reads at most six
// bytes whatever the word's length; collisions only cost a map probe.
func hashWord(w []byte) uint64 {
	n := len(w)
	k := uint64(n) << 56
	switch {
	case n >= 4:
		k |= uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 | uint64(w[n-2])<<32 | uint64(w[n-1])<<40
	case n == 3:
		k |= uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16
	case n == 2:
		k |= uint64(w[0]) | uint64(w[1])<<8
	case n == 1:
		k |= uint64(w[0])
	}
	return (k * 0x9E3779B97F4A7C15) >> 24
}

// hashKey hashes a stem bucket key of 3 or 6 bytes.
func hashKey(w []byte) uint64 {
	var k uint64
	for i, c := range w {
		k |= uint64(c) << (8 * i)
	}
	return (k * 0x9E3779B97F4A7C15) >> 20
}

// Builder collects patterns.
type Builder struct {
	m *Matcher
}

// NewBuilder starts an empty matcher.
func NewBuilder() *Builder {
	return &Builder{m: &Matcher{root: node{exact: map[string]*node{}},
		rootStems: [2]map[string][]stemEdge{{}, {}},
		first:     make(bitset, firstBits/64), stemKeys: [2]bitset{make(bitset, stemBits/64), make(bitset, stemBits/64)}}}
}

// Add inserts a pattern under id. Inflected words expand to all their forms,
// generated with the rules of lang.
func (b *Builder) Add(words []dict.Word, lang string, id int32) {
	alts := make([][]string, len(words))
	for i, w := range words {
		if w.Inflect {
			alts[i] = dict.Forms(w.Norm, lang)
		} else {
			alts[i] = []string{w.Norm}
		}
	}
	var walk func(n *node, i int)
	walk = func(n *node, i int) {
		if i == len(words) {
			n.terms = append(n.terms, id)
			return
		}
		for _, form := range alts[i] {
			walk(b.child(n, form, words[i].Stem), i+1)
		}
	}
	walk(&b.m.root, 0)
	b.m.n++
}

func (b *Builder) child(n *node, word string, stem bool) *node {
	if !stem {
		if n.exact == nil {
			n.exact = map[string]*node{}
		}
		c := n.exact[word]
		if c == nil {
			c = &node{}
			n.exact[word] = c
			if n == &b.m.root {
				b.m.first.set(hashWord([]byte(word)))
			}
		}
		return c
	}
	edges := &n.stems
	if n == &b.m.root {
		k := 0
		key := word[:shortKey]
		if len(word) >= longKey {
			k, key = 1, word[:longKey]
		}
		b.m.stemKeys[k].set(hashKey([]byte(key)))
		e := b.m.rootStems[k][key]
		edges = &e
		defer func() { b.m.rootStems[k][key] = *edges }()
	}
	for _, e := range *edges {
		if e.stem == word {
			return e.next
		}
	}
	c := &node{}
	*edges = append(*edges, stemEdge{word, c})
	return c
}

// Build returns the matcher; the builder must not be used afterwards.
func (b *Builder) Build() *Matcher { return b.m }

// Len is the number of patterns added.
func (m *Matcher) Len() int { return m.n }

// Hit is one candidate match: tokens [Start, End) of a Doc, the pattern id,
// and how many code points of an Arabic proclitic at the front of the first
// token are not part of the match.
type Hit struct {
	Start, End int
	ID         int32
	Clitic     int
}

// At appends to hits every pattern that matches starting at token i.
func (m *Matcher) At(d *text.Doc, i int, hits []Hit) []Hit {
	w := d.Word(i)
	hits = m.from(d, i, w, 0, hits)
	if d.Tokens[i].Script == text.ScriptArabic && len(w) > 4 {
		hits = m.clitics(d, i, w, hits)
	}
	return hits
}

// from matches with first-token form w (the token itself or a remainder
// after proclitics).
func (m *Matcher) from(d *text.Doc, i int, w []byte, clitic int, hits []Hit) []Hit {
	if m.first.has(hashWord(w)) {
		if c := m.root.exact[string(w)]; c != nil {
			hits = m.descend(d, c, i, i+1, clitic, hits)
		}
	}
	if len(w) >= longKey && m.stemKeys[1].has(hashKey(w[:longKey])) {
		for _, e := range m.rootStems[1][string(w[:longKey])] {
			if len(w) >= len(e.stem) && string(w[:len(e.stem)]) == e.stem {
				hits = m.descend(d, e.next, i, i+1, clitic, hits)
			}
		}
	}
	if len(w) >= shortKey && m.stemKeys[0].has(hashKey(w[:shortKey])) {
		for _, e := range m.rootStems[0][string(w[:shortKey])] {
			if len(w) >= len(e.stem) && string(w[:len(e.stem)]) == e.stem {
				hits = m.descend(d, e.next, i, i+1, clitic, hits)
			}
		}
	}
	return hits
}

func (m *Matcher) descend(d *text.Doc, n *node, start, next, clitic int, hits []Hit) []Hit {
	for _, id := range n.terms {
		hits = append(hits, Hit{Start: start, End: next, ID: id, Clitic: clitic})
	}
	if next >= len(d.Tokens) || (n.exact == nil && n.stems == nil) {
		return hits
	}
	w := d.Word(next)
	if c := n.exact[string(w)]; c != nil {
		hits = m.descend(d, c, start, next+1, clitic, hits)
	}
	for _, e := range n.stems {
		if len(w) >= len(e.stem) && string(w[:len(e.stem)]) == e.stem {
			hits = m.descend(d, e.next, start, next+1, clitic, hits)
		}
	}
	return hits
}

// Arabic proclitics, normalized: a conjunction, then a preposition, then the
// article; ل before the article drops the article's alef (لل).
const (
	alefLam = "ال"
	lamLam  = "لل"
)

var prepositions = []string{"ب", "ك", "ل"}

// clitics tries the token with proclitics removed, but only readings whose
// remainder starts a pattern: the dictionary guards the split, so names that
// begin with these letters (بوتين, ويتكوف, لافروف) are never cut.
func (m *Matcher) clitics(d *text.Doc, i int, w []byte, hits []Hit) []Hit {
	try := func(rem []byte, removed int) {
		if len(rem) >= 4 { // at least two Arabic letters
			hits = m.from(d, i, rem, removed, hits)
		}
	}
	var buf [96]byte
	for k := 0; k < 2; k++ {
		r := w
		if k == 1 { // after a conjunction
			if !hasPrefix(r, "و") && !hasPrefix(r, "ف") {
				break
			}
			r = r[len("و"):]
			try(r, 1)
		}
		if hasPrefix(r, lamLam) { // ل + ال
			if len(r)+len(alefLam) <= len(buf) {
				try(append(append(buf[:0], alefLam...), r[len(lamLam):]...), k+2)
			}
			try(r[len(lamLam):], k+2)
			continue
		}
		for _, p := range prepositions {
			if hasPrefix(r, p) {
				rp := r[len(p):]
				try(rp, k+1)
				if hasPrefix(rp, alefLam) {
					try(rp[len(alefLam):], k+3)
				}
			}
		}
		if hasPrefix(r, alefLam) {
			try(r[len(alefLam):], k+2)
		}
	}
	return hits
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
