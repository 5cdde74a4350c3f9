// Package text normalizes and tokenizes story text in one pass, keeping for
// every token where it came from in the original, in bytes and code points.
//
// Normalization is per script: case folding everywhere; Latin diacritics
// removed (Erdoğan = erdogan); Cyrillic ё = е with Й and Ї kept; Arabic
// tashkeel, tatweel and Quranic marks dropped, alef/yaa/taa-marbuta/hamza-seat
// forms folded, Arabic-Indic digits read as ASCII. Tokens are maximal runs of
// letters and digits; an apostrophe joins a token only between two Cyrillic
// letters (Ukrainian з'їзд), so Turkish suffixes (Putin'in) and English
// possessives (Putin's) stand apart from the name.
package text

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Scripts of a token, by its first letter.
const (
	ScriptOther    = scriptOther
	ScriptLatin    = scriptLatin
	ScriptCyrillic = scriptCyrillic
	ScriptArabic   = scriptArabic
)

// Token is one normalized word and where it came from.
// The hash comes first so that the struct packs into 40 bytes instead of 48:
// a story has thousands of tokens and the tokenizer writes each once.
type Token struct {
	Hash         uint64 // Hash of the normalized form, for matchers and word lists
	NStart, NEnd int32  // byte range of the normalized form in Doc.Norm
	BStart, BEnd int32  // byte range in the original text
	RStart, REnd int32  // code-point range in the original text
	Sent         int32  // sentence number, from 0
	Script       uint8
	Upper        bool // the original starts with an upper-case letter
}

// Doc is a tokenized text. Reuse a Doc across texts to avoid allocations.
type Doc struct {
	Src    string
	Norm   []byte
	Tokens []Token
}

// Word returns the normalized form of token i. It aliases Doc.Norm.
func (d *Doc) Word(i int) []byte {
	t := &d.Tokens[i]
	return d.Norm[t.NStart:t.NEnd]
}

// Original returns the original text of tokens i..j inclusive.
func (d *Doc) Original(i, j int) string {
	return d.Src[d.Tokens[i].BStart:d.Tokens[j].BEnd]
}

// Tokenize normalizes and tokenizes src into d, replacing its contents. It is
// the hot path of tagging: one table load per rune, no closures, no allocation
// once d's buffers have grown.
func (d *Doc) Tokenize(src string) {
	d.Src = src
	norm := d.Norm[:0]
	toks := d.Tokens[:0]

	var (
		in      bool // inside a token
		cur     Token
		sent    int32
		pendEnd bool // a sentence-ending mark was seen since the last token
		runeIdx int32
		last    entry // the last letter of the current token (0 after an expansion)
	)
	for i := 0; i < len(src); {
		c := src[i]
		var (
			r    rune
			size = 1
			e    entry
		)
		if c < utf8.RuneSelf {
			r = rune(c)
			e = table[c]
		} else if c >= 0xC2 && c < 0xE0 && i+1 < len(src) && src[i+1]&0xC0 == 0x80 {
			// Two-byte sequences (Cyrillic, Arabic, Latin with accents) inline.
			r = rune(c&0x1F)<<6 | rune(src[i+1]&0x3F)
			size = 2
			e = table[r]
		} else {
			r, size = utf8.DecodeRuneInString(src[i:])
			if r < 0x10000 {
				e = table[r]
			} else {
				e = lookup(r)
			}
		}
		cl := e.class()
		if cl == classWord || cl == classExpand {
			if !in {
				if pendEnd {
					sent++
					pendEnd = false
				}
				cur = Token{NStart: int32(len(norm)), BStart: int32(i), RStart: runeIdx, Sent: sent, Script: e.script(), Upper: e.upper()}
				in = true
			}
			if cl == classWord {
				norm = appendFolded(norm, e.rune())
				last = e
			} else {
				norm = append(norm, expansions[e.rune()]...)
				last = 0
			}
			i += size
			runeIdx++
			// Fast path: the rest of the token while it is plain one- or
			// two-byte letters, without the dispatch above.
			for i < len(src) {
				c := src[i]
				if c < utf8.RuneSelf {
					e = table[c]
					if e.class() != classWord {
						break
					}
					norm = append(norm, byte(e>>8)) // ASCII letters and digits fold to ASCII
					i++
				} else if c >= 0xC2 && c < 0xE0 && i+1 < len(src) && src[i+1]&0xC0 == 0x80 {
					e = table[rune(c&0x1F)<<6|rune(src[i+1]&0x3F)]
					if e.class() != classWord {
						break
					}
					if f := e.rune(); f >= utf8.RuneSelf && f < 0x800 {
						norm = append(norm, byte(0xC0|f>>6), byte(0x80|f&0x3F))
					} else {
						norm = appendFolded(norm, f)
					}
					i += 2
				} else {
					break
				}
				last = e
				runeIdx++
			}
			continue
		}
		if cl == classSkip {
			i += size
			runeIdx++
			continue
		}
		if cl == classApos && in && last.script() == scriptCyrillic {
			nr, _ := utf8.DecodeRuneInString(src[i+size:])
			if ne := lookup(nr); ne.class() == classWord && ne.script() == scriptCyrillic {
				norm = append(norm, '\'')
				i += size
				runeIdx++
				continue
			}
		}
		if in { // any other rune ends the token
			cur.NEnd, cur.BEnd, cur.REnd = int32(len(norm)), int32(i), runeIdx
			norm, cur.Hash = hashEnd(norm, int(cur.NStart))
			toks = append(toks, cur)
			in = false
		}
		if cl == classSentEnd {
			// A full stop ends a sentence only before white space, a quote or
			// the end, so 600.000 and U.S.-brokered stay in one sentence.
			if r == '\n' {
				pendEnd = true
			} else if j := i + size; j >= len(src) || src[j] == ' ' || src[j] == '\n' || src[j] == '\t' || src[j] == '"' || src[j] == 0xC2 || src[j] == 0xE2 {
				pendEnd = true
			}
		}
		i += size
		runeIdx++
	}
	if in {
		cur.NEnd, cur.BEnd, cur.REnd = int32(len(norm)), int32(len(src)), runeIdx
		norm, cur.Hash = hashEnd(norm, int(cur.NStart))
		toks = append(toks, cur)
	}
	d.Norm, d.Tokens = norm, toks
}

func appendFolded(norm []byte, f rune) []byte {
	switch {
	case f < utf8.RuneSelf:
		return append(norm, byte(f))
	case f < 0x800:
		return append(norm, byte(0xC0|f>>6), byte(0x80|f&0x3F))
	}
	return utf8.AppendRune(norm, f)
}

// Hash fingerprints a normalized word (or any byte string) for hash tables
// and prefilters: eight bytes per multiply, and a final mix so that the low
// bits, which tables index by, depend on every byte. Equal words have equal
// hashes; callers still compare the bytes.
func Hash(w []byte) uint64 {
	h := uint64(len(w)) * hashM1
	for len(w) >= 8 {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(w))*hashM2, 31)
		w = w[8:]
	}
	var tail uint64
	for i, c := range w {
		tail |= uint64(c) << (8 * i)
	}
	return hashFinish(h, tail)
}

const (
	hashM1 = 0x9E3779B97F4A7C15
	hashM2 = 0xC2B2AE3D27D4EB4F
)

func hashFinish(h, tail uint64) uint64 {
	h = (h ^ tail) * hashM2
	h ^= h >> 32
	h *= hashM1
	return h ^ h>>29
}

// hashEnd is Hash(norm[start:]) for a token just written. It keeps eight
// spare bytes of capacity after the token so the tail is one load and a mask
// instead of a byte loop.
func hashEnd(norm []byte, start int) ([]byte, uint64) {
	if cap(norm)-len(norm) < 8 {
		norm = append(norm, make([]byte, 8)...)[:len(norm)]
	}
	w := norm[start:]
	h := uint64(len(w)) * hashM1
	for len(w) >= 8 {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(w))*hashM2, 31)
		w = w[8:]
	}
	tail := binary.LittleEndian.Uint64(w[:8:8]) & (1<<(8*len(w)) - 1)
	return norm, hashFinish(h, tail)
}

// IsApostrophe reports whether r is one of the apostrophes the tokenizer
// knows (' ’ ʼ ‘ ` ʹ).
func IsApostrophe(r rune) bool { return lookup(r).class() == classApos }

// Normalize returns the normalized tokens of s joined by single spaces. It is
// meant for dictionaries and tests, not the hot path.
func Normalize(s string) string {
	var d Doc
	d.Tokenize(s)
	out := make([]byte, 0, len(d.Norm)+len(d.Tokens))
	for i := range d.Tokens {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, d.Word(i)...)
	}
	return string(out)
}

// Skip returns the byte and code-point offsets in the original text after the
// first k normalized code points of token i (and any ignorable marks that
// follow them). It serves matches that begin inside a token, such as an Arabic
// name after a proclitic.
func (d *Doc) Skip(i, k int) (byteOff, runeOff int32) {
	t := d.Tokens[i]
	b, r := int(t.BStart), t.RStart
	seen := 0
	for b < int(t.BEnd) {
		c, size := utf8.DecodeRuneInString(d.Src[b:])
		e := lookup(c)
		if seen >= k && e.class() != classSkip {
			break
		}
		switch e.class() {
		case classWord:
			seen++
		case classExpand:
			seen += utf8.RuneCountInString(expansions[e.rune()])
		case classApos:
			seen++
		}
		b += size
		r++
	}
	return int32(b), r
}
