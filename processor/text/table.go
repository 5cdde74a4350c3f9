package text

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Every rune below 0x10000 has one precomputed entry, so the hot loop does one
// table load per rune instead of several unicode.Is* calls and a case fold.
//
// entry layout: bits 0-3 class, bit 4 upper case, bits 5-6 script,
// bits 8-31 the folded rune (classWord) or an index into expansions (classExpand).
type entry uint32

const (
	classSep     = 0 // separates tokens
	classWord    = 1 // letter or digit: part of a token, folded to entry.rune()
	classSkip    = 2 // ignorable inside a token (tashkeel, tatweel, combining accents, joiners)
	classApos    = 3 // apostrophe: inside a token only between two Cyrillic letters
	classExpand  = 4 // letter that folds to several runes (ß → ss, ﻻ → لا)
	classSentEnd = 5 // separator that can end a sentence
)

const (
	flagUpper = 1 << 4

	scriptOther    = 0
	scriptLatin    = 1
	scriptCyrillic = 2
	scriptArabic   = 3
	scriptShift    = 5
)

func (e entry) class() int    { return int(e & 0xf) }
func (e entry) upper() bool   { return e&flagUpper != 0 }
func (e entry) script() uint8 { return uint8(e>>scriptShift) & 3 }
func (e entry) rune() rune    { return rune(e >> 8) }

var (
	table      [0x10000]entry
	expansions []string
)

func init() { buildTable() }

func mk(class int, upper bool, script uint8, r rune) entry {
	e := entry(class) | entry(script)<<scriptShift | entry(r)<<8
	if upper {
		e |= flagUpper
	}
	return e
}

func scriptOf(r rune) uint8 {
	switch {
	case unicode.Is(unicode.Latin, r):
		return scriptLatin
	case unicode.Is(unicode.Cyrillic, r):
		return scriptCyrillic
	case unicode.Is(unicode.Arabic, r):
		return scriptArabic
	}
	return scriptOther
}

// arabicFold folds the Arabic letters that wire copy spells several ways.
var arabicFold = map[rune]rune{
	'أ': 'ا', 'إ': 'ا', 'آ': 'ا', 'ٱ': 'ا', 'ٲ': 'ا', 'ٳ': 'ا',
	'ى': 'ي', 'ی': 'ي', 'ې': 'ي', 'ئ': 'ي',
	'ة': 'ه', 'ۀ': 'ه', 'ہ': 'ه',
	'ؤ': 'و',
	'ک': 'ك', 'گ': 'ك',
}

// latinSpecial covers Latin letters with no canonical decomposition.
var latinSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ı': "i", 'İ': "i",
	'ħ': "h", 'Ħ': "h", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d",
}

func isSkippable(r rune) bool {
	switch {
	case r >= 0x064B && r <= 0x065F, r == 0x0670, // tashkeel, superscript alef
		r == 0x0640,                                            // tatweel
		r >= 0x0610 && r <= 0x061A, r >= 0x06D6 && r <= 0x06ED, // Quranic marks
		r == 0x200C, r == 0x200D, r == 0x00AD, r == 0x200B, r == 0x2060, r == 0xFEFF, // joiners, soft hyphen
		r == 0x200E, r == 0x200F, r == 0x061C, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // bidi controls
		return true
	}
	return unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Cyrillic, r)
}

func buildTable() {
	expansions = append(expansions, "") // index 0 unused
	for r := rune(0); r < 0x10000; r++ {
		table[r] = classify(r)
	}
}

func classify(r rune) entry {
	if r >= 0xD800 && r <= 0xDFFF {
		return mk(classSep, false, scriptOther, 0)
	}
	switch r {
	case '\'', '’', 'ʼ', '‘', '`', 'ʹ':
		return mk(classApos, false, scriptOther, '\'')
	case '.', '!', '?', '؟', '\n', '…', '۔', '。':
		return mk(classSentEnd, false, scriptOther, 0)
	}
	if isSkippable(r) {
		return mk(classSkip, false, scriptOther, 0)
	}
	// Arabic-Indic and extended Arabic-Indic digits read as ASCII digits.
	if r >= 0x0660 && r <= 0x0669 {
		return mk(classWord, false, scriptArabic, '0'+r-0x0660)
	}
	if r >= 0x06F0 && r <= 0x06F9 {
		return mk(classWord, false, scriptArabic, '0'+r-0x06F0)
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return mk(classSep, false, scriptOther, 0)
	}
	sc := scriptOf(r)
	upper := unicode.IsUpper(r) || unicode.IsTitle(r)
	if s, ok := latinSpecial[r]; ok {
		return expand(upper, sc, s)
	}
	switch sc {
	case scriptArabic:
		if f, ok := arabicFold[r]; ok {
			return mk(classWord, false, sc, f)
		}
		// Presentation forms and ligatures: fold through NFKC.
		if (r >= 0xFB50 && r <= 0xFDFF) || (r >= 0xFE70 && r <= 0xFEFF) {
			if k := norm.NFKC.String(string(r)); k != string(r) {
				return foldString(k, upper, sc)
			}
		}
		return mk(classWord, false, sc, r)
	case scriptCyrillic:
		l := unicode.ToLower(r)
		if l == 'ё' {
			l = 'е'
		}
		return mk(classWord, upper, sc, l)
	case scriptLatin:
		// Strip diacritics by canonical decomposition, Latin only: the same
		// recipe applied to Cyrillic would turn Й into И and Ї into І.
		d := norm.NFKD.String(string(r))
		base := make([]rune, 0, 2)
		for _, c := range d {
			if !unicode.Is(unicode.Mn, c) {
				base = append(base, unicode.ToLower(c))
			}
		}
		if len(base) == 1 {
			return mk(classWord, upper, sc, base[0])
		}
		if len(base) > 1 {
			return expand(upper, sc, string(base))
		}
		return mk(classWord, upper, sc, unicode.ToLower(r))
	}
	if unicode.IsDigit(r) && !unicode.Is(unicode.Nd, r) {
		return mk(classSep, false, scriptOther, 0)
	}
	return mk(classWord, upper, sc, unicode.ToLower(r))
}

// foldString folds a multi-rune compatibility expansion rune by rune.
func foldString(s string, upper bool, sc uint8) entry {
	var out []rune
	for _, c := range s {
		if c >= 0x10000 {
			out = append(out, c)
			continue
		}
		e := classify(c)
		switch e.class() {
		case classWord:
			out = append(out, e.rune())
		case classExpand:
			out = append(out, []rune(expansions[e.rune()])...)
		}
	}
	switch len(out) {
	case 0:
		return mk(classSkip, false, scriptOther, 0)
	case 1:
		return mk(classWord, upper, sc, out[0])
	}
	return expand(upper, sc, string(out))
}

func expand(upper bool, sc uint8, s string) entry {
	expansions = append(expansions, s)
	return mk(classExpand, upper, sc, rune(len(expansions)-1))
}

// lookup classifies any rune, including those above the table.
func lookup(r rune) entry {
	if r < 0x10000 {
		return table[r]
	}
	if r == utf8.RuneError {
		return mk(classSep, false, scriptOther, 0)
	}
	if unicode.IsLetter(r) {
		return mk(classWord, unicode.IsUpper(r), scriptOther, unicode.ToLower(r))
	}
	return mk(classSep, false, scriptOther, 0)
}
