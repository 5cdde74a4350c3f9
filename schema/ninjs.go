package schema

import (
	"encoding/json"
	"sort"
	"strings"
)

// ninjs1 maps an IPTC ninjs 1.x object (ninjs-schema_1.x.json): uri,
// headline, body_text / body_html / other body_* variants, language,
// versioncreated (or firstcreated), copyrightholder.
func (o *object) ninjs1() (*Story, *DecodeError) {
	s := &Story{Format: FormatNinjs1}
	var err *DecodeError
	if s.ID, err = o.str("uri"); err != nil {
		return nil, err
	}
	if s.Headline, err = o.str("headline"); err != nil {
		return nil, err
	}
	if s.Body, err = o.ninjs1Body(); err != nil {
		return nil, err
	}
	if err = o.ninjsCommon(s); err != nil {
		return nil, err
	}
	s.Extra = o.extra()
	return s, nil
}

// ninjs1Body picks the body: body_text if it has text, else body_html, else
// body_xhtml, else the other body_* variants in name order; every variant
// but body_text has its markup stripped. Only the variant used is consumed;
// the others stay in Extra.
func (o *object) ninjs1Body() (string, *DecodeError) {
	var keys []string
	for k := range o.members {
		if strings.HasPrefix(k, "body_") && k != "body_text" && k != "body_html" && k != "body_xhtml" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = append([]string{"body_text", "body_html", "body_xhtml"}, keys...)
	for _, k := range keys {
		raw, ok := o.members[k]
		if !ok {
			continue
		}
		v, err := o.stringValue(k, raw)
		if err != nil {
			return "", err
		}
		if k != "body_text" {
			v = StripMarkup(v)
		}
		if strings.TrimSpace(v) != "" {
			delete(o.members, k)
			return v, nil
		}
	}
	return "", nil
}

// ninjsCommon maps the members ninjs 1.x and 2.x share. ninjs 3.x spells
// some of them in camelCase; both spellings are read.
func (o *object) ninjsCommon(s *Story) *DecodeError {
	var err *DecodeError
	if s.Language, err = o.str("language"); err != nil {
		return err
	}
	if s.Published, err = o.firstTimestamp("versioncreated", "versionCreated", "firstcreated", "firstCreated"); err != nil {
		return err
	}
	if s.Source, err = o.firstString("copyrightholder", "copyrightHolder"); err != nil {
		return err
	}
	return nil
}

// ninjsText is one item of a ninjs 2.x headlines[] or bodies[] array.
type ninjsText struct {
	Role         string `json:"role"`
	ContentType  string `json:"contenttype"`
	ContentType3 string `json:"contentType"` // ninjs 3.x spelling
	Value        string `json:"value"`
}

func (t *ninjsText) contentType() string {
	ct := t.ContentType
	if ct == "" {
		ct = t.ContentType3
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isMarkup reports whether the item's content type is HTML or XML.
func (t *ninjsText) isMarkup() bool {
	ct := t.contentType()
	return strings.Contains(ct, "html") || strings.Contains(ct, "xml")
}

// ninjs2 maps an IPTC ninjs 2.x object (ninjs-schema_2.x.json): uri,
// headlines[{role, contenttype, value}], bodies[{role, contenttype, value}],
// language, versioncreated (or firstcreated), copyrightholder.
func (o *object) ninjs2() (*Story, *DecodeError) {
	s := &Story{Format: FormatNinjs2}
	var err *DecodeError
	if s.ID, err = o.str("uri"); err != nil {
		return nil, err
	}
	heads, err := o.textArray("headlines")
	if err != nil {
		return nil, err
	}
	s.Headline = pickText(heads, headlineRank)
	bodies, err := o.textArray("bodies")
	if err != nil {
		return nil, err
	}
	s.Body = pickText(bodies, bodyRank)
	if err = o.ninjsCommon(s); err != nil {
		return nil, err
	}
	s.Extra = o.extra()
	return s, nil
}

// textArray removes key and decodes it as an array of {role, contenttype,
// value} objects. Absent and null give nil.
func (o *object) textArray(key string) ([]ninjsText, *DecodeError) {
	raw, ok := o.take(key)
	if !ok || isNull(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, o.fieldErr(key, "%q must be an array of {role, contenttype, value} objects, not %s", key, rawKind(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, o.fieldErr(key, "%q: %v", key, err)
	}
	out := make([]ninjsText, 0, len(items))
	for i, it := range items {
		if len(it) == 0 || it[0] != '{' {
			return nil, o.fieldErr(key, "%s[%d] must be an object, not %s", key, i, rawKind(it))
		}
		var t ninjsText
		if err := json.Unmarshal(it, &t); err != nil {
			return nil, o.fieldErr(key, "%s[%d]: role, contenttype and value must be strings", key, i)
		}
		out = append(out, t)
	}
	return out, nil
}

// headlineRank prefers role "main", then no role, then any other.
func headlineRank(t *ninjsText) int {
	switch strings.ToLower(t.Role) {
	case "main":
		return 0
	case "":
		return 1
	}
	return 2
}

// bodyRank prefers plain text over markup, and within each role "main",
// then no role, then any other.
func bodyRank(t *ninjsText) int {
	r := headlineRank(t)
	if t.isMarkup() {
		r += 3
	}
	return r
}

// pickText returns the non-blank item with the lowest rank (the first on
// ties), with markup stripped when its content type is HTML or XML.
func pickText(items []ninjsText, rank func(*ninjsText) int) string {
	best, bestRank := "", 1<<30
	for i := range items {
		t := &items[i]
		r := rank(t)
		if r >= bestRank {
			continue
		}
		v := t.Value
		if t.isMarkup() {
			v = StripMarkup(v)
		}
		if strings.TrimSpace(v) == "" {
			continue
		}
		best, bestRank = v, r
	}
	return best
}
