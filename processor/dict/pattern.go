package dict

import (
	"fmt"
	"unicode/utf8"

	"github.com/wiretag/wiretag/processor/text"
)

// Word is one token of an alias, normalized like story text.
type Word struct {
	Norm    string // normalized form (a stem when Stem is set)
	Stem    bool   // written with a trailing '*': any continuation matches
	Inflect bool   // written with a trailing '~': its case forms match too
	Script  uint8
}

// MinStemLetters keeps stems from matching half the language.
const MinStemLetters = 3

// MaxWordBytes bounds one normalized word of an alias: the matcher stores a
// word's length in a byte, and case endings add a few bytes. No name or cue
// comes near it.
const MaxWordBytes = 240

// ParseAlias splits alias text into normalized words, reading the '*' and '~'
// markers that follow a word.
func ParseAlias(s string) ([]Word, error) {
	var d text.Doc
	d.Tokenize(s)
	if len(d.Tokens) == 0 {
		return nil, fmt.Errorf("alias %q has no letters or digits", s)
	}
	words := make([]Word, 0, len(d.Tokens))
	for i, t := range d.Tokens {
		w := Word{Norm: string(d.Word(i)), Script: t.Script}
		if int(t.BEnd) < len(s) {
			switch s[t.BEnd] {
			case '*':
				w.Stem = true
			case '~':
				w.Inflect = true
			}
		}
		if len(w.Norm) > MaxWordBytes {
			return nil, fmt.Errorf("word %.20q… is longer than %d bytes", w.Norm, MaxWordBytes)
		}
		if w.Stem && utf8.RuneCountInString(w.Norm) < MinStemLetters {
			return nil, fmt.Errorf("stem %q* is shorter than %d letters", w.Norm, MinStemLetters)
		}
		if w.Inflect && t.Script != text.ScriptCyrillic {
			return nil, fmt.Errorf("%q~: inflection (~) is for Cyrillic words only", w.Norm)
		}
		words = append(words, w)
	}
	return words, nil
}

// Key is a canonical string for an alias, used to find duplicates.
func Key(ws []Word) string {
	b := make([]byte, 0, 32)
	for i, w := range ws {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w.Norm...)
		if w.Stem {
			b = append(b, '*')
		}
		if w.Inflect {
			b = append(b, '~')
		}
	}
	return string(b)
}

// signature is a canonical text of an alias's options, so two aliases with
// the same spelling and different rules are told apart.
func (a *Alias) signature() string {
	return fmt.Sprintf("%s|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%d|%g", a.Case, a.AfterFull, a.NotDateline,
		a.Near, a.NotNear, a.Prev, a.NotPrev, a.Next, a.NotNext, a.NotSuffix, a.Speaks, a.Window, a.Weight)
}

// positive is the part of the signature that an alias needs to match
// (near, prev, next words, case): variants that differ here are
// alternatives; variants that agree here should exclude the same things.
func (a *Alias) positive() string {
	return fmt.Sprintf("%s|%v|%v|%v", a.Case, a.Near, a.Prev, a.Next)
}

// HasContext reports whether an alias carries rules that can tell two equal
// aliases apart.
func (a *Alias) HasContext() bool {
	return a.Case != "" || a.AfterFull || a.NotDateline || len(a.Near)+len(a.NotNear)+len(a.Prev)+len(a.NotPrev)+len(a.Next)+len(a.NotNext)+len(a.NotSuffix) > 0
}
