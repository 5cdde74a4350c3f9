package schema

import (
	"encoding/json"
	"testing"
)

func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `"line\nbreak \"quoted\" back\\slash \/ \t\r\b\f"`, `"\u0627\u0644\u0646\u0627\u062a\u0648"`,
		`"emoji \ud83d\ude00 pair"`, `"lone \ud83d high"`, `"lone \ude00 low"`, `"high then text \ud83dabc"`,
		`"Зеленський \u00ab\u00bb «»"`, `"\u0000 nul"`, `""`, `"end\\"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: test input is not JSON: %v", raw, err)
		}
		got, ok := unquote([]byte(raw))
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q, %v; encoding/json says %q", raw, got, ok, want)
		}
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range []string{"a\"b", "\n\t", "\U0001F600", "\xed\xa0\x80", "\\u12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := json.Marshal(s)
		if err != nil {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			return
		}
		if got, ok := unquote(raw); ok && got != want {
			t.Fatalf("unquote(%s) = %q, encoding/json %q", raw, got, want)
		}
	})
}
