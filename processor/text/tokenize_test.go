package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"latin case and diacritics", "Erdoğan met ZELENSKYY", "erdogan met zelenskyy"},
		{"german sharp s and umlaut", "Außenminister Müller", "aussenminister muller"},
		{"french accents", "Jean-Noël Barrot à Genève", "jean noel barrot a geneve"},
		{"turkish dotless and dotted i", "İstanbul'da Putin'in ışık", "istanbul da putin in isik"},
		{"english possessive", "Putin's envoy", "putin s envoy"},
		{"cyrillic case and yo", "Пётр ЗЕЛЕНСКИЙ", "петр зеленский"},
		{"cyrillic keeps short i and yi", "Йемен Їжак Київ", "йемен їжак київ"},
		{"ukrainian apostrophes fold to one", "з’їзд сімʼї об'єднання", "з'їзд сім'ї об'єднання"},
		{"apostrophe between cyrillic and latin splits", "НАТО'ya", "нато ya"},
		{"hyphen splits", "Путин-Трамп российско-американский", "путин трамп российско американский"},
		{"arabic tashkeel and tatweel", "بُوتِين الـــرئيس", "بوتين الرييس"},
		{"arabic alef forms", "أوكرانيا إيران آمال", "اوكرانيا ايران امال"},
		{"arabic yaa and taa marbuta", "على مدينة", "علي مدينه"},
		{"arabic-indic digits", "خطة من ٢٨ بندا و۲۰", "خطه من 28 بندا و20"},
		{"presentation forms", "ﺑﻮﺗﻴﻦ", "بوتين"},
		{"numbers", "600,000 troops; 28-point plan", "600 000 troops 28 point plan"},
		{"bidi controls ignored", "Kyiv\u200f said", "kyiv said"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokenOffsets(t *testing.T) {
	src := "وقال ﺑﻮﺗﻴﻦ: «Зеленський» ʼ Erdoğan’s ٢٠٢٥"
	var d Doc
	d.Tokenize(src)
	runes := []rune(src)
	for i, tok := range d.Tokens {
		byRune := string(runes[tok.RStart:tok.REnd])
		byByte := src[tok.BStart:tok.BEnd]
		if byRune != byByte {
			t.Errorf("token %d: rune slice %q != byte slice %q", i, byRune, byByte)
		}
		if strings.TrimSpace(byByte) != byByte || byByte == "" {
			t.Errorf("token %d: bad span %q", i, byByte)
		}
	}
	if len(d.Tokens) != 6 {
		t.Fatalf("got %d tokens, want 6: %q", len(d.Tokens), Normalize(src))
	}
}

func TestUpperAndScript(t *testing.T) {
	var d Doc
	d.Tokenize("Кислиця кислиця Costa costa بوتين")
	want := []struct {
		upper  bool
		script uint8
	}{{true, ScriptCyrillic}, {false, ScriptCyrillic}, {true, ScriptLatin}, {false, ScriptLatin}, {false, ScriptArabic}}
	for i, w := range want {
		if d.Tokens[i].Upper != w.upper || d.Tokens[i].Script != w.script {
			t.Errorf("token %d %q: upper=%v script=%d, want %v %d", i, d.Word(i), d.Tokens[i].Upper, d.Tokens[i].Script, w.upper, w.script)
		}
	}
}

func TestSentences(t *testing.T) {
	var d Doc
	d.Tokenize("He said 600.000 troops. Then U.S.-brokered talks; observers were not asked.\nNext")
	sents := map[string]int32{}
	for i := range d.Tokens {
		sents[string(d.Word(i))] = d.Tokens[i].Sent
	}
	if sents["said"] != 0 || sents["000"] != 0 || sents["troops"] != 0 {
		t.Errorf("first sentence split wrongly: %v", sents)
	}
	// A semicolon joins two clauses of one sentence: context rules bounded
	// by the sentence see across it ("votes …; international observers").
	if sents["then"] != 1 || sents["brokered"] != 1 || sents["observers"] != 1 {
		t.Errorf("second sentence wrong: %v", sents)
	}
	if sents["next"] != 2 {
		t.Errorf("newline should end a sentence: %v", sents)
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "Путин's", "بُوتِين\u0640", "\xff\xfe", "a'b'c", "ß'ﻻ'", "’’’", "Й\u0306"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Doc
		d.Tokenize(s)
		if !utf8.Valid(d.Norm) {
			t.Fatalf("normalized text is not valid UTF-8: %q", d.Norm)
		}
		nr := int32(utf8.RuneCountInString(s))
		for i, tok := range d.Tokens {
			if tok.BStart < 0 || tok.BEnd > int32(len(s)) || tok.BStart >= tok.BEnd {
				t.Fatalf("token %d byte range %d..%d out of 0..%d", i, tok.BStart, tok.BEnd, len(s))
			}
			if tok.RStart < 0 || tok.REnd > nr || tok.RStart >= tok.REnd {
				t.Fatalf("token %d rune range %d..%d out of 0..%d", i, tok.RStart, tok.REnd, nr)
			}
			if tok.NStart >= tok.NEnd {
				t.Fatalf("token %d has an empty normalized form", i)
			}
			if got := int32(utf8.RuneCountInString(s[:tok.BStart])); got != tok.RStart {
				t.Fatalf("token %d rune start %d, bytes say %d", i, tok.RStart, got)
			}
		}
	})
}

// The tokenizer's padded-load hash must equal Hash of the token's bytes, or
// the matcher would miss words depending on where they sit in the buffer.
func TestTokenHashEqualsHash(t *testing.T) {
	for _, s := range []string{"Putin", "a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii", "Зеленський і Путін", "ويتكوف وبوتين في موسكو", "Erdoğan'ın straße x"} {
		var d Doc
		d.Tokenize(s)
		for i, tok := range d.Tokens {
			if want := Hash(d.Word(i)); tok.Hash != want {
				t.Errorf("%q token %d %q: hash %x, Hash() %x", s, i, d.Word(i), tok.Hash, want)
			}
		}
	}
}

// The tokenizer's fast path appends an ASCII letter's fold as one byte.
func TestASCIIWordRunesFoldToASCII(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		if e := table[c]; e.class() == classWord && e.rune() >= 0x80 {
			t.Errorf("%q folds to %U, outside ASCII", rune(c), e.rune())
		}
	}
}
