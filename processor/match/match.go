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
	"encoding/binary"

	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/text"
)

// node is a trie state. Its exact-word children live in the Matcher's edge
// table, keyed by (node, word hash), so a step costs one probe with the hash
// the tokenizer already computed instead of a string-keyed map lookup.
type node struct {
	terms    []int32 // pattern ids that end here
	stems    []stemEdge
	hasExact bool // some exact-word edge leaves this node
}

type stemEdge struct {
	stem string
	next int32
}

// Stems at the root sit in buckets keyed by their first bytes: 8 bytes (four
// Cyrillic or Arabic letters) when the stem is that long, 6 when it has 6 or
// 7, else 3 (the shortest allowed stem, three ASCII letters). With a single
// 3-byte key every Arabic stem after the article, and most Cyrillic ones,
// shared a bucket; with 6 bytes as the longest key, a quarter of all tokens
// still opened a bucket of Russian stems that share three letters (пре-, при-).
var stemKeyLen = [nStemKeys]int{3, 6, 8}

const nStemKeys = 3

// Matcher is a compiled set of patterns.
type Matcher struct {
	nodes     []node // nodes[0] is the root
	edges     edgeTable
	rootStems [nStemKeys]map[uint64][]stemEdge // by hash of the stemKeyLen prefixes
	n         int
	// first and stemKeys are bitsets over the hashes of every first word and
	// of every first stem's key: most tokens of a story start no pattern, and
	// a bit test rejects them without touching the larger edge table.
	first    bitset
	stemKeys [nStemKeys]bitset
	// lead3 and lead4 hold the first three and four bytes of every root
	// stem (lead3 only those of stems shorter than four bytes): one test
	// per token skips the three bucket probes for words no stem can start.
	lead3, lead4 bitset
}

const (
	firstBits = 1 << 20 // 128 KB: fits in L2, keeps false positives rare
	stemBits  = 1 << 16 // 8 KB
)

type bitset []uint64

// The length of a bitset is a power of two, so a mask picks the word.
func (b bitset) set(h uint64)      { b[(h>>6)&uint64(len(b)-1)] |= 1 << (h & 63) }
func (b bitset) has(h uint64) bool { return b[(h>>6)&uint64(len(b)-1)]&(1<<(h&63)) != 0 }

// prefixHash hashes a stem bucket key (3, 6 or 8 bytes) with at most two
// loads and a multiply: it runs for every token, up to three times.
func prefixHash(w []byte) uint64 {
	var k uint64
	switch len(w) {
	case 8:
		k = binary.LittleEndian.Uint64(w) ^ 2<<61
	case 6:
		k = uint64(binary.LittleEndian.Uint32(w)) | uint64(binary.LittleEndian.Uint16(w[4:]))<<32
	default:
		k = uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | 1<<56
	}
	k *= 0x9E3779B97F4A7C15
	return k ^ k>>29
}

// leadHash hashes the first four bytes of w (len(w) >= 4).
func leadHash(w []byte) uint64 {
	k := uint64(binary.LittleEndian.Uint32(w)) * 0x9E3779B97F4A7C15
	return k ^ k>>29
}

// edgeTable maps (parent node, word) to a child node with open addressing
// and linear probing. Keys are 64-bit mixes of the parent and the word's
// text.Hash; the word itself is compared on a key match, so a collision
// costs a probe, never a wrong match. Slots are 16 bytes and hold no
// pointers: the words live in one byte arena, each prefixed by its length,
// so the table is half the size a string per slot would make it and the
// garbage collector never scans it.
type edgeTable struct {
	slots []edgeSlot
	words []byte // length-prefixed words
	mask  uint64
	n     int
}

type edgeSlot struct {
	key   uint64
	child int32  // 0 marks an empty slot: the root is never a child
	word  uint32 // offset of the length-prefixed word in edgeTable.words
}

func edgeKey(parent int32, wordHash uint64) uint64 {
	return wordHash ^ uint64(parent)*0xD6E8FEB86659FD93
}

func (t *edgeTable) get(parent int32, wordHash uint64, w []byte) int32 {
	key := edgeKey(parent, wordHash)
	for i := key & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.child == 0 {
			return 0
		}
		if s.key == key && t.wordIs(s.word, w) {
			return s.child
		}
	}
}

func (t *edgeTable) wordIs(off uint32, w []byte) bool {
	n := int(t.words[off])
	return n == len(w) && string(t.words[off+1:int(off)+1+n]) == string(w)
}

func (t *edgeTable) put(parent int32, w string, child int32) {
	if 3*(t.n+1) > 2*len(t.slots) { // keep the load under two thirds
		old := t.slots
		size := max(1024, 2*len(t.slots))
		t.slots, t.mask, t.n = make([]edgeSlot, size), uint64(size-1), 0
		for _, s := range old {
			if s.child != 0 {
				t.insert(s)
			}
		}
	}
	off := uint32(len(t.words))
	t.words = append(append(t.words, byte(len(w))), w...)
	t.insert(edgeSlot{key: edgeKey(parent, text.Hash([]byte(w))), word: off, child: child})
}

func (t *edgeTable) insert(e edgeSlot) {
	i := e.key & t.mask
	for t.slots[i].child != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = e
	t.n++
}

// Builder collects patterns.
type Builder struct {
	m    *Matcher
	kids map[kid]int32 // exact edges by parent and word, while building
}

// NewBuilder starts an empty matcher.
func NewBuilder() *Builder {
	return &Builder{m: &Matcher{nodes: []node{{}},
		rootStems: [nStemKeys]map[uint64][]stemEdge{{}, {}, {}},
		first:     make(bitset, firstBits/64),
		stemKeys:  [nStemKeys]bitset{make(bitset, stemBits/64), make(bitset, stemBits/64), make(bitset, stemBits/64)},
		lead3:     make(bitset, stemBits/64), lead4: make(bitset, stemBits/64)},
		kids: map[kid]int32{}}
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
	var walk func(n int32, i int)
	walk = func(n int32, i int) {
		if i == len(words) {
			b.m.nodes[n].terms = append(b.m.nodes[n].terms, id)
			return
		}
		for _, form := range alts[i] {
			walk(b.child(n, form, words[i].Stem), i+1)
		}
	}
	walk(0, 0)
	b.m.n++
}

type kid struct {
	parent int32
	word   string
}

func (b *Builder) newNode() int32 {
	b.m.nodes = append(b.m.nodes, node{})
	return int32(len(b.m.nodes) - 1)
}

func (b *Builder) child(n int32, word string, stem bool) int32 {
	m := b.m
	if !stem {
		if c, ok := b.kids[kid{n, word}]; ok {
			return c
		}
		c := b.newNode()
		b.kids[kid{n, word}] = c
		m.edges.put(n, word, c)
		m.nodes[n].hasExact = true
		if n == 0 {
			m.first.set(text.Hash([]byte(word)))
		}
		return c
	}
	if n == 0 {
		k := 0
		for k+1 < nStemKeys && len(word) >= stemKeyLen[k+1] {
			k++
		}
		h := prefixHash([]byte(word[:stemKeyLen[k]]))
		m.stemKeys[k].set(h)
		if len(word) >= 4 {
			m.lead4.set(leadHash([]byte(word)))
		} else {
			m.lead3.set(prefixHash([]byte(word[:3])))
		}
		for _, e := range m.rootStems[k][h] {
			if e.stem == word {
				return e.next
			}
		}
		c := b.newNode()
		m.rootStems[k][h] = append(m.rootStems[k][h], stemEdge{word, c})
		return c
	}
	for _, e := range m.nodes[n].stems {
		if e.stem == word {
			return e.next
		}
	}
	c := b.newNode()
	m.nodes[n].stems = append(m.nodes[n].stems, stemEdge{word, c})
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
	hits = m.from(d, i, w, d.Tokens[i].Hash, 0, hits)
	if d.Tokens[i].Script == text.ScriptArabic && len(w) > 4 {
		hits = m.clitics(d, i, w, hits)
		var buf [96]byte
		r0, r1 := withoutEnclitic(w, buf[:0])
		for _, v := range [2][]byte{r0, r1} {
			if v != nil {
				hits = m.from(d, i, v, text.Hash(v), 0, hits)
				hits = m.clitics(d, i, v, hits)
			}
		}
	}
	return hits
}

// Arabic pronoun suffixes (normalized) are read by withoutEnclitic: its/her
// ها, their هم هما هن, our نا, your كم. The one-letter ه (his) is left out,
// because after taa-marbuta folding (ة → ه) half of all nouns end in it;
// only its form after a taa-marbuta noun, ـته, is read.
const (
	taa       = "ت"
	haa       = "ه"
	taaMarbut = "ه" // ة after normalization
)

// withoutEnclitic returns the readings of the Arabic word w without a
// pronoun suffix: the stem as it stands, and, when it ends in ت, with the
// taa marbuta that a suffix turns into ت restored (خطتها → خطه, i.e. خطة).
// Like proclitic removal it is guarded by the dictionary: a reading counts
// only if it starts a pattern. At least three letters must remain. Restored
// readings are built in buf (the caller's scratch, empty, capacity ≥ 96).
func withoutEnclitic(w, buf []byte) (r0, r1 []byte) {
	var rem []byte
	// The suffixes of enclitics, longest first, as constants so that each
	// test compiles to a load and a compare (this runs for every Arabic
	// word, twice).
	switch {
	case hasSuffix(w, "هما"):
		rem = w[:len(w)-len("هما")]
	case hasSuffix(w, "ها"), hasSuffix(w, "هم"), hasSuffix(w, "هن"), hasSuffix(w, "نا"), hasSuffix(w, "كم"):
		rem = w[:len(w)-len("ها")]
	}
	if rem == nil {
		if hasSuffix(w, taa+haa) && len(w) <= cap(buf) {
			if r := w[:len(w)-len(haa)-len(taa)]; len(r) >= 4 {
				return append(append(buf, r...), taaMarbut...), nil
			}
		}
		return nil, nil
	}
	if len(rem) < 6 {
		return nil, nil
	}
	if hasSuffix(rem, taa) && len(rem) <= cap(buf) {
		return rem, append(append(buf, rem[:len(rem)-len(taa)]...), taaMarbut...)
	}
	return rem, nil
}

func hasSuffix(b []byte, s string) bool { return len(b) >= len(s) && string(b[len(b)-len(s):]) == s }

// from matches with first-token form w, whose hash is h (the token itself or
// a remainder after proclitics).
func (m *Matcher) from(d *text.Doc, i int, w []byte, h uint64, clitic int, hits []Hit) []Hit {
	if m.first.has(h) {
		if c := m.edges.get(0, h, w); c != 0 {
			hits = m.descend(d, c, i, i+1, clitic, hits)
		}
	}
	if len(w) < 3 || !(len(w) >= 4 && m.lead4.has(leadHash(w)) || m.lead3.has(prefixHash(w[:3]))) {
		return hits
	}
	for k := nStemKeys - 1; k >= 0; k-- {
		if n := stemKeyLen[k]; len(w) >= n {
			if kh := prefixHash(w[:n]); m.stemKeys[k].has(kh) {
				hits = m.stemsAt(d, m.rootStems[k][kh], w, i, clitic, hits)
			}
		}
	}
	return hits
}

func (m *Matcher) stemsAt(d *text.Doc, edges []stemEdge, w []byte, i, clitic int, hits []Hit) []Hit {
	for _, e := range edges {
		if len(w) >= len(e.stem) && string(w[:len(e.stem)]) == e.stem {
			hits = m.descend(d, e.next, i, i+1, clitic, hits)
		}
	}
	return hits
}

func (m *Matcher) descend(d *text.Doc, ni int32, start, next, clitic int, hits []Hit) []Hit {
	n := &m.nodes[ni]
	for _, id := range n.terms {
		hits = append(hits, Hit{Start: start, End: next, ID: id, Clitic: clitic})
	}
	if next >= len(d.Tokens) || (!n.hasExact && n.stems == nil) {
		return hits
	}
	w := d.Word(next)
	if n.hasExact {
		if c := m.edges.get(ni, d.Tokens[next].Hash, w); c != 0 {
			hits = m.descend(d, c, start, next+1, clitic, hits)
		} else if d.Tokens[next].Script == text.ScriptArabic && len(w) > 6 {
			// The last word of a phrase may carry a pronoun: إعادة إعمارها.
			var buf [96]byte
			r0, r1 := withoutEnclitic(w, buf[:0])
			for _, v := range [2][]byte{r0, r1} {
				if c := m.edges.get(ni, text.Hash(v), v); v != nil && c != 0 {
					hits = m.descend(d, c, start, next+1, clitic, hits)
				}
			}
		}
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

// clitics tries the token with proclitics removed, but only readings whose
// remainder starts a pattern: the dictionary guards the split, so names that
// begin with these letters (بوتين, ويتكوف, لافروف) are never cut.
func (m *Matcher) clitics(d *text.Doc, i int, w []byte, hits []Hit) []Hit {
	try := func(rem []byte, removed int) {
		if len(rem) >= 4 { // at least two Arabic letters
			hits = m.from(d, i, rem, text.Hash(rem), removed, hits)
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
		if hasPrefix(r, "ب") || hasPrefix(r, "ك") || hasPrefix(r, "ل") { // a preposition
			rp := r[len("ب"):]
			try(rp, k+1)
			if hasPrefix(rp, alefLam) {
				try(rp[len(alefLam):], k+3)
			}
		}
		if hasPrefix(r, alefLam) {
			try(r[len(alefLam):], k+2)
		}
	}
	return hits
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
