package dict

import (
	"fmt"
	"slices"
	"strings"
)

// kindOfFile maps a dictionary file's kind to the actor/topic kind of its ids.
func space(kind string) string {
	if kind == KindTopic || kind == KindSpeech {
		return kind
	}
	return "actor"
}

// lint checks everything that does not need the matcher: ids, kinds,
// coverage of the taxonomy, alias syntax, duplicates and conflicts.
func lint(set *Set) Problems {
	var ps Problems
	type seen struct {
		id, file string
		line     int
		ctx      bool
	}
	entryAt := map[string]string{}          // id -> file:line
	aliasAt := map[string]map[string]seen{} // space -> key -> first occurrence
	for _, f := range set.Files {
		for _, id := range f.RequiresAny {
			if m, ok := set.Taxonomy.IDs[id]; !ok || m.Kind == KindTopic {
				ps = append(ps, Problem{f.Path, 0, fmt.Sprintf("requires_any: %q is not an actor id", id)})
			}
		}
		ps = append(ps, oneWordList(f.Path, f.OtherLine, "other_conflicts", f.OtherConflicts)...)
		ps = append(ps, oneWordList(f.Path, f.StatementLine, "statement_verbs", f.StatementVerbs)...)
		for _, g := range f.GivenNames {
			if ws, err := ParseAlias(g.Text); err != nil {
				ps = append(ps, Problem{f.Path, g.Line, fmt.Sprintf("given name %q: %v", g.Text, err)})
			} else if len(ws) != 1 || ws[0].Stem {
				ps = append(ps, Problem{f.Path, g.Line, fmt.Sprintf("given name %q must be one word, without *", g.Text)})
			}
		}
		sp := space(f.Kind)
		if aliasAt[sp] == nil {
			aliasAt[sp] = map[string]seen{}
		}
		for _, e := range f.Entries {
			where := fmt.Sprintf("%s:%d", f.Path, e.Line)
			if prev, dup := entryAt[e.ID]; dup {
				ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("id %s already has an entry at %s", e.ID, prev)})
			}
			entryAt[e.ID] = where
			if f.Kind == KindSpeech {
				if e.ID != "speech" {
					ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("speech files have one entry, speech, not %q", e.ID)})
				}
			} else if m, ok := set.Taxonomy.IDs[e.ID]; !ok {
				ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("unknown id %q (not in taxonomy %s)", e.ID, set.Taxonomy.Version)})
			} else if m.Kind != f.Kind {
				ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("id %s is a %s, but this file is kind %s", e.ID, m.Kind, f.Kind)})
			}
			for _, id := range e.RequiresAny {
				if m, ok := set.Taxonomy.IDs[id]; !ok || m.Kind == KindTopic {
					ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("requires_any: %q is not an actor id", id)})
				}
			}
			if e.Threshold < 0 {
				ps = append(ps, Problem{f.Path, e.Line, "threshold must be ≥ 0"})
			}
			if e.PerOtherTopic < 0 {
				ps = append(ps, Problem{f.Path, e.Line, "per_other_topic must be ≥ 0"})
			}
			if len(e.Aliases) == 0 {
				ps = append(ps, Problem{f.Path, e.Line, fmt.Sprintf("entry %s has no aliases", e.ID)})
			}
			own := map[string]int{}
			variants := map[string][]*Alias{} // key -> every variant, all languages
			for _, a := range e.Aliases {
				ws, err := ParseAlias(a.Text)
				if err != nil {
					ps = append(ps, Problem{f.Path, a.Line, err.Error()})
					continue
				}
				for _, w := range ws {
					if w.Inflect && a.Lang != "ru" && a.Lang != "uk" {
						ps = append(ps, Problem{f.Path, a.Line, fmt.Sprintf("%q: ~ inflection is defined for ru and uk only, not %s", a.Text, a.Lang)})
					}
				}
				for _, list := range [][]string{a.Near, a.NotNear, a.Prev, a.NotPrev, a.Next, a.NotNext, a.NotSuffix} {
					for _, word := range list {
						cw, err := ParseAlias(word)
						if err != nil {
							ps = append(ps, Problem{f.Path, a.Line, "context word: " + err.Error()})
						} else if len(cw) != 1 {
							ps = append(ps, Problem{f.Path, a.Line, fmt.Sprintf("context word %q must be a single word", word)})
						}
					}
				}
				if a.Window > 0 && len(a.Near)+len(a.NotNear) == 0 {
					ps = append(ps, Problem{f.Path, a.Line, "window without near or not_near"})
				}
				if a.Speaks && (len(a.NotPrev) == 0 || len(f.StatementVerbs) == 0) {
					ps = append(ps, Problem{f.Path, a.Line, "speaks needs not_prev and the file's statement_verbs"})
				}
				key := Key(ws)
				// The same spelling under two languages is normal (Paris, Kiev);
				// twice under one language is a slip.
				// The same spelling may appear again with other context rules:
				// each variant is an alternative (it counts when its rules hold).
				ownKey := a.Lang + "\x00" + key + "\x00" + a.signature()
				if prev, dup := own[ownKey]; dup {
					ps = append(ps, Problem{f.Path, a.Line, fmt.Sprintf("duplicate alias %q of %s in %s: normalizes to %q like the alias on line %d", a.Text, e.ID, a.Lang, key, prev)})
					continue
				}
				own[ownKey] = a.Line
				variants[key] = append(variants[key], &a)
				ctx := a.HasContext()
				if first, ok := aliasAt[sp][key]; ok && first.id != e.ID && !(ctx && first.ctx) {
					ps = append(ps, Problem{f.Path, a.Line, fmt.Sprintf("alias %q of %s conflicts with the same alias of %s at %s:%d; give both context rules or drop one", a.Text, e.ID, first.id, first.file, first.line)})
					continue
				}
				if _, ok := aliasAt[sp][key]; !ok {
					aliasAt[sp][key] = seen{e.ID, f.Path, a.Line, ctx}
				}
			}
			ps = append(ps, crossLanguageRules(f.Path, e, variants)...)
		}
	}
	var missing []string
	for id := range set.Taxonomy.IDs {
		if _, ok := entryAt[id]; !ok {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		ps = append(ps, Problem{"(taxonomy)", 0, "no dictionary entry for: " + strings.Join(missing, ", ")})
	}
	return ps
}

// crossLanguageRules reports an alias spelled the same under two languages
// of one entry whose variants weaken each other. Every alias is matched in
// stories of every language, so all variants apply everywhere: a variant
// without rules voids the guards of the others (a bare Turkish "Kellogg"
// let "cereal makers such as Kellogg" through the English one's not_near),
// and of two variants with the same positive rules (near, prev, next) the
// one with fewer exclusions wins (a Russian "Варшав*" without the Ukrainian
// venue word "у" made "у Варшаві" count as Poland). Variants whose positive
// rules or weights differ are alternatives by design (per-language near
// words).
func crossLanguageRules(path string, e Entry, variants map[string][]*Alias) []Problem {
	var ps []Problem
	for key, vs := range variants {
		for i, a := range vs {
			for _, b := range vs[:i] {
				if a.Lang == b.Lang {
					continue
				}
				if a.Weight == b.Weight && a.positive() == b.positive() && a.signature() != b.signature() {
					ps = append(ps, Problem{path, a.Line, fmt.Sprintf(
						"alias %q of %s in %s weakens or is weakened by its %s variant (line %d): every alias is matched in every language, so give both the same rules",
						key, e.ID, a.Lang, b.Lang, b.Line)})
				}
			}
		}
	}
	slices.SortFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return ps
}

// oneWordList checks a file-level word list (other_conflicts,
// statement_verbs): every entry must parse and be one word.
func oneWordList(path string, line int, key string, words []string) []Problem {
	var ps []Problem
	for _, w := range words {
		if ws, err := ParseAlias(w); err != nil {
			ps = append(ps, Problem{path, line, fmt.Sprintf("%s %q: %v", key, w, err)})
		} else if len(ws) != 1 {
			ps = append(ps, Problem{path, line, fmt.Sprintf("%s %q must be one word", key, w)})
		}
	}
	return ps
}
