package tagger

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wiretag/wiretag/schema"
)

// testTagger compiles the small dictionaries in testdata/dict, so these tests
// pin the engine's behaviour independently of the shipped dictionaries.
func testTagger(t testing.TB) *Tagger {
	t.Helper()
	tg, err := New(os.DirFS("testdata/dict"))
	if err != nil {
		t.Fatalf("compile test dictionaries: %v", err)
	}
	return tg
}

func ids(rec *schema.Enriched) []string {
	var out []string
	for _, a := range rec.Actors {
		out = append(out, a.ID)
	}
	for _, tp := range rec.Topics {
		out = append(out, "#"+tp.ID)
	}
	sort.Strings(out)
	return out
}

func actor(rec *schema.Enriched, id string) *schema.Actor {
	for i := range rec.Actors {
		if rec.Actors[i].ID == id {
			return &rec.Actors[i]
		}
	}
	return nil
}

func TestTagCases(t *testing.T) {
	tg := testTagger(t)
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"whole words only: Rasputin is not Putin", "Распутин и Путины", nil},
		{"no party named: the gate stays shut", "A peace plan and territorial concessions.", nil},
		{"an opens_gate cue opens the gate for every topic", "A peace plan would cede Donbas.", []string{"#peace_plan", "#territory"}},
		{"an opens_gate cue whose rules fail opens nothing", "A peace plan; fighting in Donbas.", nil},
		{"Hnatov does not contain NATO", "General Hnatov arrived.", []string{"andrii_hnatov"}},
		{"Turkish için does not contain Çin", "Barış için görüşme", nil},
		{"Turkish suffix after apostrophe", "NATO'ya ve Çin'e göre Putin'in planı", []string{"cn", "nato", "vladimir_putin"}},
		{"English possessive", "Putin's envoy", []string{"vladimir_putin"}},
		{"Russian cases", "Уиткоффом и Путину, Владимира Путина", []string{"steve_witkoff", "vladimir_putin"}},
		{"Ukrainian locative", "у Путіні та Зеленськім", []string{"vladimir_putin", "volodymyr_zelensky"}},
		{"a full name declines as a whole", "Джонатана Пауелла чекали. Пауелл прибув.", []string{"jonathan_powell"}},
		{"German genitive", "Putins Sprecher", []string{"vladimir_putin"}},
		{"Arabic conjunction on a name that starts with waw", "التقى بوتين وويتكوف", []string{"steve_witkoff", "vladimir_putin"}},
		{"Arabic names that start with clitic letters stay whole", "ويتكوف ولافروف لبوتين", []string{"sergey_lavrov", "steve_witkoff", "vladimir_putin"}},
		{"Arabic preposition plus article", "تحدث عن بالناتو وللاتحاد الأوروبي", []string{"european_union", "nato"}},
		{"Arabic tashkeel and tatweel", "بُوتِيـــن", []string{"vladimir_putin"}},
		{"Arabic pronoun suffix on a phrase's last word", "بوتين يريد إعادة إعمارها", []string{"#peace_plan", "vladimir_putin"}},
		{"Arabic taa marbuta before a pronoun", "بوتين رفض هدنتهم ووافق على هدنته", []string{"#ceasefire", "vladimir_putin"}},
		{"Arabic proclitic and pronoun together", "بوتين وهدنتها", []string{"#ceasefire", "vladimir_putin"}},
		{"the one-letter pronoun ه is not stripped", "بوتين وويتكوفه", []string{"vladimir_putin"}},
		{"the remainder must start a pattern", "بوتين وموسيقاها", []string{"vladimir_putin"}},
		{"surname needs the full name first", "Powell spoke.", nil},
		{"surname after the full name", "Jonathan Powell arrived. Later Powell spoke.", []string{"jonathan_powell"}},
		{"lower-case common word is not the surname", "António Costa visitó la costa.", []string{"antonio_costa"}},
		{"another person's given name before the surname", "Eric Witkoff spoke.", nil},
		{"and that person's later bare surname", "Eric Witkoff spoke. Then Witkoff left.", nil},
		{"unless the taxonomy person is named in full", "Steve Witkoff met Eric Witkoff. Witkoff left.", []string{"steve_witkoff"}},
		{"a bare surname alone in quotes is a title", "Путин смотрел матч «Уиткоффа». Ship \"Witkoff\" sailed.", []string{"vladimir_putin"}},
		{"a quote that holds more than the surname", "\"Witkoff arrived\", Putin said.", []string{"steve_witkoff", "vladimir_putin"}},
		{"a bare surname before the namesake's full name", "Witkoff scores. Eric Witkoff scored twice.", nil},
		{"a given name across punctuation does not count", "Eric, Witkoff said.", []string{"steve_witkoff"}},
		{"a title is not a given name", "President Putin said.", []string{"vladimir_putin"}},
		{"declined given name", "Андрея Путина не было.", nil},
		{"the person's own first name in another case", "Стива Уиткоффа ждали.", []string{"steve_witkoff"}},
		{"exact-case acronym", "ap news and AP reported", []string{"associated_press"}},
		{"a country word inside an organization's name counts for both", "The Russian-European Union talks.", []string{"european_union", "ru"}},
		{"a Turkish case suffix after an apostrophe makes a venue", "Kiev'de görüşme yapıldı.", nil},
		{"the same word as the next word of a sentence does not", "Kiev a dit non.", []string{"ua"}},
		{"venue capital does not count", "Talks in Moscow ended.", nil},
		{"capital as government counts", "Moscow rejected the text.", []string{"ru"}},
		{"every capital of a list of venues is a venue", "Talks in Kyiv, Miami and Moscow ended.", nil},
		{"and in a declined list", "Переговоры прошли в Майами, Женеве и Москве.", nil},
		{"a capital after a list that is not of venues counts", "Ukraine, Kyiv and Moscow agreed.", []string{"ru", "ua"}},
		{"a list word after a lower-case word breaks the list", "Talks in Miami ended and Moscow agreed.", []string{"ru"}},
		{"dateline capital is a venue", "MOSCOW - The talks went on.", nil},
		{"a dateline with a date is a venue in any case", "Moscow, 30 Nov - The talks went on.", nil},
		{"a first word followed by a comma and words is not a dateline", "Moscow, however, rejected it.", []string{"ru"}},
		{"capital in capitals later in the text still counts", "Talks went on. Then MOSCOW rejected it.", []string{"ru"}},
		{"stem", "России и Россией", []string{"ru"}},
		{"a venue capital that speaks for its government", "В Москве вчера заявили, что нет.", []string{"ru"}},
		{"German genitive of a country's capital", "Moskaus Antwort kam spät.", []string{"ru"}},
		{"impersonal statement after a German capital", "In Moskau heißt es, nein.", []string{"ru"}},
		{"a capital whose alias does not speak stays a venue", "In Moscow heißt es, nein.", nil},
		{"a statement verb in the next sentence does not count", "Переговоры прошли в Москве. Заявили, что нет.", nil},
		{"nor one four words on", "В Москве, по словам источников, заявили.", nil},
		{"arabic venue with a separate preposition", "المحادثات في موسكو", nil},
		{"arabic venue with a fused preposition", "المحادثات بموسكو", nil},
		{"arabic context words match with a conjunction attached", "المحادثات وفي موسكو", nil},
		{"arabic capital as government, with a conjunction", "ورفضت موسكو الخطة وموسكو تريد", []string{"ru"}},
		{"topic needs the gate: Gaza ceasefire", "A ceasefire in Gaza held.", nil},
		{"topic with the gate", "Russia said a ceasefire is possible.", []string{"#ceasefire", "ru"}},
		{"weak cue alone is not enough", "Russia and a truce.", []string{"ru"}},
		{"two weak cues are", "Russia: a truce, then another truce.", []string{"#ceasefire", "ru"}},
		{"context: the plant", "Russia and the Zaporizhzhia nuclear site of the IAEA.", []string{"#zaporizhzhia_npp", "ru"}},
		{"context: the region is not the plant", "Russia holds part of the Zaporizhzhia region.", []string{"#territory", "ru"}},
		{"one word may be a cue of two topics", "Russia and the union: accession.", []string{"#peace_plan", "#territory", "ru"}},
		{"a cue in a sentence about another conflict does not count", "Russia and Sudan agreed a ceasefire.", []string{"ru"}},
		{"another conflict in another sentence does not matter", "Russia agreed a ceasefire. Sudan was quiet.", []string{"#ceasefire", "ru"}},
		{"a weak plan cue and one other topic make the plan", "Russia read the document. A ceasefire holds.", []string{"#ceasefire", "#peace_plan", "ru"}},
		{"a weak plan cue alone does not", "Russia read the document.", []string{"ru"}},
		{"other topics without a plan cue of its own do not", "Russia agreed a ceasefire and territorial concessions.", []string{"#ceasefire", "#territory", "ru"}},
		{"a topic below its threshold does not support the plan", "Russia read the document and a truce.", []string{"ru"}},
		{"context words count in the same sentence only", "Russia spoke of the IAEA. Zaporizhzhia was quiet.", []string{"ru"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tg.Tag(&schema.Story{ID: "t", Body: tt.body})
			if got := ids(rec); !slices.Equal(got, tt.want) {
				t.Errorf("Tag(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

// Two variants of one topic's cue at the same word count once.
func TestCueCountsOncePerTopic(t *testing.T) {
	rec := testTagger(t).Tag(&schema.Story{ID: "t", Body: "Russia and the union: accession."})
	for _, tp := range rec.Topics {
		if tp.ID == "territory" && (tp.Score != 1 || len(tp.Mentions) != 1) {
			t.Errorf("territory: score %v, %d mentions; want 1 and 1", tp.Score, len(tp.Mentions))
		}
	}
	if len(rec.Topics) != 2 {
		t.Errorf("topics %v, want peace_plan and territory", ids(rec))
	}
}

func TestCliticMentionOffsets(t *testing.T) {
	tg := testTagger(t)
	rec := tg.Tag(&schema.Story{ID: "t", Body: "التقى وَويتكوف"})
	a := actor(rec, "steve_witkoff")
	if a == nil {
		t.Fatalf("witkoff not found: %v", ids(rec))
	}
	if m := a.Mentions[0]; m.Text != "ويتكوف" {
		t.Errorf("mention text %q, want the name without the clitic and its vowel mark", m.Text)
	}
}

func TestQuoted(t *testing.T) {
	tg := testTagger(t)
	rec := tg.Tag(&schema.Story{ID: "t", Body: "Putin said talks would go on. Witkoff was in the room. The AP said so. Russia said it would brief Powell."})
	if a := actor(rec, "vladimir_putin"); a == nil || !a.Quoted {
		t.Errorf("Putin should be quoted: %+v", a)
	}
	if a := actor(rec, "steve_witkoff"); a == nil || a.Quoted {
		t.Errorf("Witkoff should not be quoted: %+v", a)
	}
	if a := actor(rec, "associated_press"); a == nil || a.Quoted {
		t.Errorf("media are never the speaker: %+v", a)
	}

	for _, tc := range []struct {
		body          string
		quoted, other string
	}{
		{"Steve Witkoff said he would brief Vladimir Putin.", "steve_witkoff", "vladimir_putin"},
		{"The talks were useful, said Putin, while Witkoff listened.", "vladimir_putin", "steve_witkoff"},
	} {
		rec := tg.Tag(&schema.Story{ID: "t", Body: tc.body})
		if a := actor(rec, tc.quoted); a == nil || !a.Quoted {
			t.Errorf("%q: %s should be the speaker: %+v", tc.body, tc.quoted, a)
		}
		if a := actor(rec, tc.other); a == nil || a.Quoted {
			t.Errorf("%q: %s should not be the speaker: %+v", tc.body, tc.other, a)
		}
	}
}

func TestCountAndMentionsPerField(t *testing.T) {
	tg := testTagger(t)
	rec := tg.Tag(&schema.Story{ID: "t", Headline: "Putin and Putin", Body: "Putin."})
	a := actor(rec, "vladimir_putin")
	if a == nil || a.Count != 3 {
		t.Fatalf("want 3 Putin mentions, got %+v", a)
	}
	want := []schema.Mention{
		{Field: "headline", Start: 0, End: 5, Text: "Putin"},
		{Field: "headline", Start: 10, End: 15, Text: "Putin"},
		{Field: "body", Start: 0, End: 5, Text: "Putin"},
	}
	if !slices.Equal(a.Mentions, want) {
		t.Errorf("mentions %v, want %v", a.Mentions, want)
	}
	if a.Wikidata != "Q7747" || a.Kind != schema.KindPerson || a.Name != "Vladimir Putin" {
		t.Errorf("metadata not from the taxonomy: %+v", a)
	}
}

// Every mention's offsets must cut exactly its text out of the original field,
// whatever the script, marks and clitics.
func TestMentionOffsetsProperty(t *testing.T) {
	tg := testTagger(t)
	bodies := []string{
		"وقال بُوتِيـــن لِلنّاتو: إن وويتكوف التقى ﺑﻮﺗﻴﻦ",
		"Путина, Уиткоффом — Зеленськім; NATO'ya Putin's",
		"🙂 Putin\u200f said 🙂 Russia’s truce, truce; Zaporizhzhia nuclear power plant",
	}
	bodies = append(bodies, loadSampleBodies(t)...)
	for _, body := range bodies {
		rec := tg.Tag(&schema.Story{ID: "p", Headline: body, Body: body})
		fields := map[string][]rune{"headline": []rune(body), "body": []rune(body)}
		check := func(m schema.Mention) {
			r := fields[m.Field]
			if m.Start < 0 || m.End > len(r) || m.Start >= m.End {
				t.Fatalf("mention %+v out of range 0..%d", m, len(r))
			}
			if got := string(r[m.Start:m.End]); got != m.Text {
				t.Errorf("mention %+v: offsets cut %q", m, got)
			}
			if !utf8.ValidString(m.Text) {
				t.Errorf("mention text not UTF-8: %q", m.Text)
			}
		}
		for _, a := range rec.Actors {
			for _, m := range a.Mentions {
				check(m)
			}
		}
		for _, tp := range rec.Topics {
			for _, m := range tp.Mentions {
				check(m)
			}
		}
	}
}

func loadSampleBodies(t testing.TB) []string {
	data, err := os.ReadFile("../../config/samples/stories.jsonl")
	if err != nil {
		t.Logf("no samples: %v", err)
		return nil
	}
	var out []string
	for _, line := range splitLines(data) {
		var s struct{ Headline, Body string }
		if json.Unmarshal(line, &s) == nil {
			out = append(out, s.Headline, s.Body)
		}
	}
	return out
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}

func TestDeterministic(t *testing.T) {
	tg := testTagger(t)
	st := &schema.Story{ID: "d", Headline: "Putin", Body: "Russia said a ceasefire. Witkoff told AP. Moscow rejected."}
	a, _ := json.Marshal(tg.Tag(st))
	for i := 0; i < 20; i++ {
		b, _ := json.Marshal(tg.Tag(st))
		if string(a) != string(b) {
			t.Fatalf("run %d differs:\n%s\n%s", i, a, b)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	tg := testTagger(t)
	st := &schema.Story{ID: "c", Body: "Putin and Witkoff discussed a ceasefire in Russia."}
	want, _ := json.Marshal(tg.Tag(st))
	done := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				got, _ := json.Marshal(tg.Tag(st))
				if string(got) != string(want) {
					done <- string(got)
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if bad := <-done; bad != "" {
			t.Fatalf("concurrent result differs: %s", bad)
		}
	}
}

func TestLintRejects(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(dir+"/x", 0o755)
	write := func(name, s string) {
		if err := os.WriteFile(dir+"/"+name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tax, _ := os.ReadFile("testdata/dict/taxonomy.yaml")
	write("taxonomy.yaml", string(tax))
	write("people.yaml", `kind: person
entries:
  nobody_known:
    aliases:
      en: [Nobody]
  vladimir_putin:
    aliases:
      en: [Putin, putin, {text: Pu*}, {text: Putin, case: loud}]
      xx: [Putin]
  steve_witkoff:
    aliases:
      en: [Putin]
given_names:
  en: [Ann Lee, Bo*]
`)
	write("countries.yaml", `kind: country
entries:
  ru:
    aliases:
      en: [{text: Moscow, speaks: true}]
  ua:
    aliases:
      en: [{text: Kyiv, not_prev: [in, at]}]
      fr: [{text: Kyiv, not_prev: [à]}]
      de: [{text: Kyiv, not_prev: [in, at], near: [sagte]}]
`)
	write("topics.yaml", `kind: topic
entries:
  ceasefire:
    per_other_topic: -1
    cues:
      en: [ceasefire]
`)
	write("media.yaml", `kind: media
statement_verbs: [said]
given_names:
  en: [Ann]
other_conflicts: [Sudan, South Sudan]
entries: {}
`)
	_, err := NewFromDir(dir)
	if err == nil {
		t.Fatal("lint passed a broken dictionary")
	}
	msg := err.Error()
	for _, want := range []string{
		`people.yaml:3: unknown id "nobody_known"`,
		`countries.yaml:9: alias "kyiv" of ua in fr weakens or is weakened by its en variant (line 8)`,
		`people.yaml:8: duplicate alias "putin"`,
		`people.yaml:8: stem "pu"* is shorter than 3 letters`,
		`people.yaml:8: case must be upper or exact`,
		`people.yaml:9: unknown language "xx"`,
		`people.yaml:12: alias "Putin" of steve_witkoff conflicts with the same alias of vladimir_putin`,
		`people.yaml:14: given name "Ann Lee" must be one word, without *`,
		`people.yaml:14: given name "Bo*": stem "bo"* is shorter than 3 letters`,
		`media.yaml:1: given_names belong in a person file`,
		`media.yaml:1: other_conflicts belong in a topic file`,
		`media.yaml:1: statement_verbs belong in a country file`,
		`media.yaml:5: other_conflicts "South Sudan" must be one word`,
		`countries.yaml:5: speaks needs not_prev and the file's statement_verbs`,
		`topics.yaml:3: per_other_topic must be ≥ 0`,
		`no dictionary entry for:`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("lint output lacks %q:\n%s", want, msg)
		}
	}
	// A variant with its own near words is an alternative, not a weaker copy.
	if strings.Contains(msg, `"kyiv" of ua in de`) {
		t.Errorf("lint flags a variant whose positive rules differ:\n%s", msg)
	}
}

// The digest in tagger.version covers the dictionaries and nothing else in
// the directory, and changes when a dictionary does.
func TestDigestCoversDictionariesOnly(t *testing.T) {
	dir := t.TempDir()
	copyDir := func() {
		for _, name := range []string{"taxonomy.yaml", "dictionaries/people.yaml", "dictionaries/organizations.yaml", "dictionaries/media.yaml", "dictionaries/countries.yaml", "dictionaries/topics.yaml", "dictionaries/speech.yaml"} {
			b, err := os.ReadFile("testdata/dict/" + name)
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(dir+"/dictionaries", 0o755)
			if err := os.WriteFile(dir+"/"+name, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyDir()
	version := func() string {
		tg, err := NewFromDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return tg.Info().Version
	}
	v1 := version()
	os.WriteFile(dir+"/rules.yaml", []byte("rules: []\n"), 0o644)
	if v2 := version(); v2 != v1 {
		t.Errorf("a rules file beside the dictionaries changed the digest: %s -> %s", v1, v2)
	}
	f, _ := os.OpenFile(dir+"/dictionaries/people.yaml", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n# a comment is a change\n")
	f.Close()
	if v3 := version(); v3 == v1 {
		t.Errorf("a dictionary change kept the digest %s", v1)
	}
}

// Marshal sizes its buffer from the record, so encoding a real tagged story
// is one allocation; growing from a guess allocated every record two or
// three times, half of the processor's garbage.
func TestMarshalAllocatesOnce(t *testing.T) {
	tg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../config/samples/stories.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range splitLines(data) {
		st, err := schema.Decode(line, "", schema.Limits{})
		if err != nil {
			t.Fatalf("sample: %v", err)
		}
		rec := tg.Tag(st)
		if len(rec.Actors) == 0 {
			continue
		}
		n++
		if allocs := testing.AllocsPerRun(5, func() { _, _ = rec.Marshal() }); allocs != 1 {
			t.Errorf("%s: Marshal made %.0f allocations, want 1", st.ID, allocs)
		}
	}
	if n < 10 {
		t.Fatalf("only %d tagged samples", n)
	}
}
