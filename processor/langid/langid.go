// Package langid tells which of wiretag's languages a story is in, from
// scripts, distinctive letters and function words: no statistical model, so it
// costs microseconds, not milliseconds, per story. A declared language wins.
package langid

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Supported lists the languages wiretag has dictionaries for.
var Supported = []string{"ar", "en", "ru", "uk", "fr", "de", "es", "tr"}

// Declared normalizes a declared BCP 47 tag to its primary language subtag
// ("en-GB" → "en"), or "" when there is none.
func Declared(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// function words by language, folded (no diacritics), for Latin-script text.
var stop = map[string]map[string]bool{
	"en": set("the", "and", "of", "to", "in", "that", "is", "was", "with", "for", "on", "said", "his", "has", "by"),
	"fr": set("le", "la", "les", "et", "des", "du", "une", "un", "est", "dans", "pour", "que", "qui", "sur", "au", "aux", "avec", "selon"),
	"de": set("der", "die", "das", "und", "den", "dem", "des", "ist", "nicht", "mit", "sich", "auf", "ein", "eine", "fur", "von", "zu", "im", "wurde", "sagte"),
	"es": set("el", "los", "las", "y", "del", "que", "en", "una", "por", "para", "con", "se", "su", "al", "como", "segun"),
	"tr": set("ve", "bir", "ile", "bu", "icin", "da", "de", "olarak", "ise", "gore", "olan", "ancak", "daha", "cok", "dedi", "oldu"),
}

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// Detect returns the declared language when it is given, else the language
// the text looks like, else "und".
func Detect(declared, headline, body string) string {
	if d := Declared(declared); d != "" && d != "und" {
		return d
	}
	if len(headline) < 200 && len(body) > 0 {
		return Guess(body) // a headline alone is too short to tell; the body decides
	}
	return Guess(headline)
}

// Guess looks at up to the first 4 KB of text.
func Guess(text string) string {
	if len(text) > 4096 {
		text = text[:4096]
	}
	var arabic, cyrillic, latin, ukLetters, ruLetters int
	var trLetters, deLetters, frLetters, esLetters int
	for _, r := range text {
		switch {
		case r >= 0x0600 && r <= 0x06FF:
			arabic++
		case r >= 0x0400 && r <= 0x04FF:
			cyrillic++
			switch unicode.ToLower(r) {
			case 'і', 'ї', 'є', 'ґ':
				ukLetters++
			case 'ы', 'э', 'ъ', 'ё':
				ruLetters++
			}
		case unicode.Is(unicode.Latin, r):
			latin++
			switch unicode.ToLower(r) {
			case 'ğ', 'ş', 'ı':
				trLetters += 3
			case 'ä', 'ß':
				deLetters += 2
			case 'ö', 'ü':
				deLetters++
				trLetters++
			case 'ç':
				trLetters++
				frLetters++
			case 'ñ', '¿', 'á', 'í', 'ó', 'ú':
				esLetters++
			case 'è', 'ê', 'à', 'ù', 'â', 'î', 'ô', 'û', 'ë', 'œ':
				frLetters++
			}
		}
	}
	switch {
	case arabic == 0 && cyrillic == 0 && latin == 0:
		return "und"
	case arabic >= cyrillic && arabic >= latin:
		return "ar"
	case cyrillic >= latin:
		if ukLetters > ruLetters {
			return "uk"
		}
		return "ru"
	}
	score := map[string]int{"tr": trLetters, "de": deLetters, "fr": frLetters, "es": esLetters}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		w = fold(w)
		for lang, words := range stop {
			if words[w] {
				score[lang] += 2
			}
		}
	}
	best, bestScore := "en", score["en"]
	for _, lang := range []string{"fr", "de", "es", "tr"} {
		if score[lang] > bestScore {
			best, bestScore = lang, score[lang]
		}
	}
	return best
}

// fold removes the few diacritics function words carry (für, için, según, göre).
func fold(w string) string {
	if !strings.ContainsFunc(w, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return w
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case 'ü':
			return 'u'
		case 'ç':
			return 'c'
		case 'ú':
			return 'u'
		case 'ö':
			return 'o'
		case 'ı':
			return 'i'
		}
		return r
	}, w)
}
