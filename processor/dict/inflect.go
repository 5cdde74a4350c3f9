package dict

import "strings"

// Forms returns the normalized case forms of a Russian or Ukrainian name or
// noun in the nominative (already normalized: lower case, ё as е), the word
// itself first; for German, the word and its genitive in -s. The rules follow the declension classes of surnames and first
// names in news copy; they over-generate a little on purpose, since a form that
// never occurs costs nothing, while a missing one loses a mention. Generic
// stemmers are not used: they cut names (Лавров → лавр, Рубио → руб).
func Forms(w, lang string) []string {
	if lang == "de" {
		// German names take only the genitive -s, and none after s, ß, x, z
		// (Merz' Rede).
		if strings.HasSuffix(w, "s") || strings.HasSuffix(w, "ß") || strings.HasSuffix(w, "x") || strings.HasSuffix(w, "z") {
			return []string{w}
		}
		return []string{w, w + "s"}
	}
	forms := []string{w}
	add := func(stem string, ends ...string) {
		for _, e := range ends {
			forms = append(forms, stem+e)
		}
	}
	cut := func(n int) string { r := []rune(w); return string(r[:len(r)-n]) }
	uk := lang == "uk"
	switch {
	case hasAny(w, "ский", "цкий", "ской", "ый", "ой"):
		add(cut(2), "ого", "ому", "им", "ым", "ом", "ая", "ой", "ую", "ие", "ые", "их", "ых")
	case !uk && hasAny(w, "ий"): // Дмитрий, Юрий; also adjectives such as Белый
		add(cut(1), "я", "ю", "ем", "е", "и")
		add(cut(2), "ого", "ому", "ым", "ом")
	case hasAny(w, "ський", "цький", "ий"):
		add(cut(2), "ого", "ому", "им", "ім", "а", "ої", "ій", "у", "ою")
	case hasAny(w, "ій"): // Андрій, Сергій, Юрій
		add(cut(1), "я", "ю", "єм", "ї", "еві", "ю")
	case hasAny(w, "ая"):
		add(cut(2), "ой", "ую", "ою")
	case hasAny(w, "ова", "ева", "ина", "ына", "іна", "єва"):
		add(cut(1), "ой", "у", "ою", "ої", "ій", "ы")
	case hasAny(w, "а"):
		add(cut(1), "ы", "и", "і", "е", "у", "ой", "ей", "ою", "ею", "ої", "ій", "о")
	case hasAny(w, "я"):
		add(cut(1), "и", "і", "ї", "е", "ю", "ей", "ею", "єю")
	case hasAny(w, "й"): // Сергей, Андрей
		add(cut(1), "я", "ю", "ем", "е", "и", "єм")
	case hasAny(w, "ь"):
		add(cut(1), "я", "ю", "ем", "е", "і", "ем")
	case hasAny(w, "ко") && uk:
		add(cut(1), "а", "ові", "у", "ом", "і")
	case hasAny(w, "о", "у", "ю", "и", "е", "э", "і", "є", "ї"):
		// Indeclinable: Рубио, Шойгу, Рютте.
	default: // consonant-final: Путин, Лавров, Трамп, Уиткофф, Кремль handled above
		add(w, "а", "у", "ом", "ем", "е", "ым")
		if uk {
			add(w, "ові", "і", "им")
		}
	}
	return dedup(forms)
}

func hasAny(w string, suffixes ...string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s) && len(w) > len(s)+2 {
			return true
		}
	}
	return false
}

func dedup(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
