package dict

import (
	"fmt"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// parseFile reads one dictionary file through yaml.Node so every problem can
// name its line.
func parseFile(name string, data []byte) (*File, Problems) {
	var ps Problems
	bad := func(n *yaml.Node, format string, args ...any) {
		line := 0
		if n != nil {
			line = n.Line
		}
		ps = append(ps, Problem{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{{File: name, Msg: "invalid YAML: " + err.Error()}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, Problems{{File: name, Line: 1, Msg: "want a mapping with kind and entries"}}
	}
	f := &File{Path: name}
	root := doc.Content[0]
	var entries *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "kind":
			f.Kind = v.Value
			if !slices.Contains([]string{KindPerson, KindOrganization, KindMedia, KindCountry, KindTopic, KindSpeech}, f.Kind) {
				bad(v, "unknown kind %q", v.Value)
			}
		case "requires_any":
			f.RequiresAny = wordList(v, bad)
		case "entries":
			entries = v
		case "given_names":
			f.GivenNames = langWords(v, bad)
		case "other_conflicts":
			f.OtherConflicts, f.OtherLine = wordList(v, bad), v.Line
		case "statement_verbs":
			f.StatementVerbs, f.StatementLine = wordList(v, bad), v.Line
		default:
			bad(k, "unknown key %q (want kind, requires_any, given_names, other_conflicts, statement_verbs, entries)", k.Value)
		}
	}
	if f.Kind == "" {
		bad(root, "no kind")
	}
	if len(f.GivenNames) > 0 && f.Kind != KindPerson {
		bad(root, "given_names belong in a person file")
	}
	if len(f.OtherConflicts) > 0 && f.Kind != KindTopic {
		bad(root, "other_conflicts belong in a topic file")
	}
	if len(f.StatementVerbs) > 0 && f.Kind != KindCountry {
		bad(root, "statement_verbs belong in a country file")
	}
	if entries == nil {
		bad(root, "no entries")
		return f, ps
	}
	if entries.Kind != yaml.MappingNode {
		bad(entries, "entries must be a mapping of id to entry")
		return f, ps
	}
	aliasKey := "aliases"
	if f.Kind == KindTopic || f.Kind == KindSpeech {
		aliasKey = "cues"
	}
	for i := 0; i+1 < len(entries.Content); i += 2 {
		k, v := entries.Content[i], entries.Content[i+1]
		e := Entry{ID: k.Value, Line: k.Line}
		if v.Kind != yaml.MappingNode {
			bad(v, "entry %s must be a mapping", e.ID)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			ek, ev := v.Content[j], v.Content[j+1]
			switch ek.Value {
			case aliasKey:
				e.Aliases = append(e.Aliases, aliases(ev, f.Kind, bad)...)
			case "threshold":
				if f.Kind != KindTopic {
					bad(ek, "threshold is for topics only")
				}
				e.Threshold = number(ev, bad)
			case "per_other_topic":
				if f.Kind != KindTopic {
					bad(ek, "per_other_topic is for topics only")
				}
				e.PerOtherTopic = number(ev, bad)
			case "requires_any":
				if f.Kind != KindTopic {
					bad(ek, "requires_any is for topics only")
				}
				e.RequiresAny = wordList(ev, bad)
			default:
				bad(ek, "entry %s: unknown key %q (want %s, threshold, per_other_topic, requires_any)", e.ID, ek.Value, aliasKey)
			}
		}
		f.Entries = append(f.Entries, e)
	}
	return f, ps
}

func aliases(n *yaml.Node, kind string, bad func(*yaml.Node, string, ...any)) []Alias {
	var out []Alias
	perLanguage(n, "aliases", bad, func(lang string, item *yaml.Node) {
		a := Alias{Lang: lang, Line: item.Line, Weight: 1}
		switch item.Kind {
		case yaml.ScalarNode:
			a.Text = item.Value
		case yaml.MappingNode:
			aliasOptions(item, &a, kind, bad)
		default:
			bad(item, "alias must be a string or a mapping")
			return
		}
		if a.Text == "" {
			bad(item, "empty alias")
			return
		}
		out = append(out, a)
	})
	return out
}

// perLanguage walks a mapping of language to list, reporting unknown
// languages and non-lists, and calls each for every item.
func perLanguage(n *yaml.Node, what string, bad func(*yaml.Node, string, ...any), each func(lang string, item *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		bad(n, "%s must be a mapping of language to list", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		lk, lv := n.Content[i], n.Content[i+1]
		if !slices.Contains(Languages, lk.Value) {
			bad(lk, "unknown language %q (want one of %v)", lk.Value, Languages)
			continue
		}
		if lv.Kind != yaml.SequenceNode {
			bad(lv, "language %s: want a list", lk.Value)
			continue
		}
		for _, item := range lv.Content {
			each(lk.Value, item)
		}
	}
}

func aliasOptions(n *yaml.Node, a *Alias, kind string, bad func(*yaml.Node, string, ...any)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "text":
			a.Text = v.Value
		case "case":
			if v.Value != "upper" && v.Value != "exact" {
				bad(v, "case must be upper or exact, not %q", v.Value)
			}
			a.Case = v.Value
		case "after_full":
			a.AfterFull = boolean(k.Value, v, bad)
		case "not_dateline":
			a.NotDateline = boolean(k.Value, v, bad)
		case "speaks":
			a.Speaks = boolean(k.Value, v, bad)
		case "opens_gate":
			if kind != KindTopic {
				bad(k, "opens_gate is for topic cues only")
			}
			a.OpensGate = boolean(k.Value, v, bad)
		case "near":
			a.Near = wordList(v, bad)
		case "not_near":
			a.NotNear = wordList(v, bad)
		case "prev":
			a.Prev = wordList(v, bad)
		case "not_prev":
			a.NotPrev = wordList(v, bad)
		case "next":
			a.Next = wordList(v, bad)
		case "not_next":
			a.NotNext = wordList(v, bad)
		case "not_suffix":
			a.NotSuffix = wordList(v, bad)
		case "window":
			w := number(v, bad)
			if w < 1 || w != float64(int(w)) {
				bad(v, "window must be a whole number of tokens ≥ 1")
			}
			a.Window = int(w)
		case "weight":
			if kind != KindTopic {
				bad(k, "weight is for topic cues only")
			}
			a.Weight = number(v, bad)
			if a.Weight <= 0 {
				bad(v, "weight must be > 0")
			}
		default:
			bad(k, "unknown alias option %q", k.Value)
		}
	}
}

// langWords reads a mapping of language to a list of plain words.
func langWords(n *yaml.Node, bad func(*yaml.Node, string, ...any)) []Alias {
	var out []Alias
	perLanguage(n, "given_names", bad, func(lang string, c *yaml.Node) {
		if c.Kind != yaml.ScalarNode || c.Value == "" {
			bad(c, "want a non-empty word")
			return
		}
		out = append(out, Alias{Lang: lang, Text: c.Value, Line: c.Line})
	})
	return out
}

func wordList(n *yaml.Node, bad func(*yaml.Node, string, ...any)) []string {
	if n.Kind != yaml.SequenceNode {
		bad(n, "want a list of words")
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Value == "" {
			bad(c, "want a non-empty word")
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func boolean(key string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) bool {
	if n.Value != "true" && n.Value != "false" {
		bad(n, "%s must be true or false", key)
	}
	return n.Value == "true"
}

func number(n *yaml.Node, bad func(*yaml.Node, string, ...any)) float64 {
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || n.Kind != yaml.ScalarNode {
		bad(n, "want a number, not %q", n.Value)
		return 0
	}
	return f
}
