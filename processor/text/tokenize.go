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

import "unicode/utf8"

// Scripts of a token, by its first letter.
const (
	ScriptOther    = scriptOther
	ScriptLatin    = scriptLatin
	ScriptCyrillic = scriptCyrillic
	ScriptArabic   = scriptArabic
)

// Token is one normalized word and where it came from.
type Token struct {
	NStart, NEnd int32 // byte range of the normalized form in Doc.Norm
	BStart, BEnd int32 // byte range in the original text
	RStart, REnd int32 // code-point range in the original text
	Sent         int32 // sentence number, from 0
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

// Tokenize normalizes and tokenizes src into d, replacing its contents.
func (d *Doc) Tokenize(src string) {
	d.Src = src
	d.Norm = d.Norm[:0]
	d.Tokens = d.Tokens[:0]

	var (
		in      bool // inside a token
		cur     Token
		sent    int32
		pendEnd bool // a sentence-ending mark was seen in the current separator run
		runeIdx int32
		prevCyr bool // the last letter of the current token is Cyrillic
	)
	closeTok := func(bEnd, rEnd int32) {
		cur.NEnd = int32(len(d.Norm))
		cur.BEnd, cur.REnd = bEnd, rEnd
		if cur.NEnd > cur.NStart {
			d.Tokens = append(d.Tokens, cur)
		}
		in = false
	}
	startTok := func(b int, e entry) {
		if pendEnd {
			sent++
			pendEnd = false
		}
		cur = Token{NStart: int32(len(d.Norm)), BStart: int32(b), RStart: runeIdx, Sent: sent, Script: e.script(), Upper: e.upper()}
		in = true
	}

	for i := 0; i < len(src); {
		c := src[i]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRuneInString(src[i:])
		}
		e := lookup(r)
		switch e.class() {
		case classWord:
			if !in {
				startTok(i, e)
			}
			f := e.rune()
			if f < utf8.RuneSelf {
				d.Norm = append(d.Norm, byte(f))
			} else {
				d.Norm = utf8.AppendRune(d.Norm, f)
			}
			prevCyr = e.script() == scriptCyrillic
			// A last-letter upper-case flag is not needed; keep the first.
		case classExpand:
			if !in {
				startTok(i, e)
			}
			d.Norm = append(d.Norm, expansions[e.rune()]...)
			prevCyr = false
		case classSkip:
			// Ignorable: neither part of the normalized text nor a boundary.
		case classApos:
			if in && prevCyr {
				nr, _ := utf8.DecodeRuneInString(src[i+size:])
				if ne := lookup(nr); ne.class() == classWord && ne.script() == scriptCyrillic {
					d.Norm = append(d.Norm, '\'')
					break
				}
			}
			if in {
				closeTok(int32(i), runeIdx)
			}
		case classSentEnd:
			if in {
				closeTok(int32(i), runeIdx)
			}
			// A full stop ends a sentence only before white space or the end,
			// so 600.000 and U.S.-brokered stay in one sentence.
			if r == '\n' {
				pendEnd = true
			} else if j := i + size; j >= len(src) || src[j] == ' ' || src[j] == '\n' || src[j] == '\t' || src[j] == '"' || src[j] == 0xC2 || src[j] == 0xE2 {
				pendEnd = true
			}
		default:
			if in {
				closeTok(int32(i), runeIdx)
			}
		}
		i += size
		runeIdx++
	}
	if in {
		closeTok(int32(len(src)), runeIdx)
	}
}

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
