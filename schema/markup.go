package schema

import (
	"html"
	"strings"
)

// StripMarkup turns an HTML or XHTML fragment (a ninjs body_html, or a
// bodies[] item with an HTML/XML content type) into plain text: tags,
// comments, processing instructions and the contents of script and style
// elements are dropped; block elements (p, div, br, li, h1–h6, …) become line
// breaks; other runs of white space become one space; character references
// are decoded. A '<' that does not start a tag is kept as text. The result is
// valid UTF-8 when s is.
func StripMarkup(s string) string {
	var out strings.Builder
	out.Grow(len(s))
	// No tag can end after the last '>': past it everything is text. This
	// also keeps a run of unclosed "<a<a<a…" linear.
	lastGT := strings.LastIndexByte(s, '>')
	for i := 0; i < len(s); {
		if i > lastGT {
			writeText(&out, html.UnescapeString(s[i:]))
			break
		}
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s)
			} else {
				j += i
			}
			writeText(&out, html.UnescapeString(s[i:j]))
			i = j
			continue
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return finishText(out.String())
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				writeText(&out, rest[9:])
				return finishText(out.String())
			}
			writeText(&out, rest[9:9+end])
			i += 9 + end + 3
			continue
		}
		if len(rest) < 2 || !startsTag(rest[1]) {
			out.WriteByte('<')
			i++
			continue
		}
		end := tagEnd(rest)
		if end < 0 {
			out.WriteByte('<')
			i++
			continue
		}
		name, closing := tagName(rest[:end])
		i += end + 1
		if !closing && (name == "script" || name == "style") {
			// Skip the element's contents up to its end tag.
			k := indexEndTag(s[i:], name)
			if k < 0 {
				return finishText(out.String())
			}
			i += k
			if e := strings.IndexByte(s[i:], '>'); e >= 0 {
				i += e + 1
			} else {
				i = len(s)
			}
			continue
		}
		if blockElements[name] {
			out.WriteByte('\n')
		}
	}
	return finishText(out.String())
}

// indexEndTag returns the index in s of "</name" (any case), or -1.
func indexEndTag(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return -1
		}
		j += i
		if end := j + 2 + len(name); end <= len(s) && strings.EqualFold(s[j+2:end], name) {
			return j
		}
		i = j + 2
	}
}

func startsTag(c byte) bool {
	return c == '/' || c == '!' || c == '?' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tagEnd returns the index of the '>' closing the tag at the start of s,
// skipping quoted attribute values; -1 if there is none.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	// An unbalanced quote: fall back to the first '>'.
	return strings.IndexByte(s, '>')
}

// tagName returns the lower-case element name of a tag ("<p class=x" → "p").
func tagName(tag string) (name string, closing bool) {
	tag = tag[1:]
	if strings.HasPrefix(tag, "/") {
		closing, tag = true, tag[1:]
	}
	n := 0
	for n < len(tag) {
		c := tag[n]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ':') {
			break
		}
		n++
	}
	return strings.ToLower(tag[:n]), closing
}

var blockElements = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true,
	"dd": true, "div": true, "dl": true, "dt": true, "figcaption": true, "figure": true,
	"footer": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"header": true, "hr": true, "li": true, "main": true, "nav": true, "ol": true,
	"p": true, "pre": true, "section": true, "table": true, "td": true, "th": true,
	"tr": true, "ul": true,
}

// writeText appends text with each run of HTML white space turned into one
// space.
func writeText(out *strings.Builder, text string) {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case ' ', '\t', '\n', '\r', '\f':
			out.WriteByte(' ')
		default:
			out.WriteByte(c)
		}
	}
}

// finishText collapses each run of spaces and line breaks into a line break
// if it holds one, else one space, and trims both ends.
func finishText(s string) string {
	var out strings.Builder
	out.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != ' ' && c != '\n' {
			out.WriteByte(c)
			i++
			continue
		}
		nl := false
		for i < len(s) && (s[i] == ' ' || s[i] == '\n') {
			nl = nl || s[i] == '\n'
			i++
		}
		if out.Len() == 0 || i == len(s) {
			continue
		}
		if nl {
			out.WriteByte('\n')
		} else {
			out.WriteByte(' ')
		}
	}
	return out.String()
}
