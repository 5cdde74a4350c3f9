package schema

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Test stories are written for these tests; they are not copies of real
// articles.

// sampleStoryJSON is a ~3 KB wiretag story mixing English, Ukrainian,
// Russian and Arabic text, with two extra fields.
func sampleStoryJSON() []byte {
	body := strings.Join([]string{
		"GENEVA — Delegations from Kyiv and Washington met for a second day on Monday to work through a revised draft of the peace framework, officials on both sides said, describing the talks as long but constructive.",
		"Українська делегація заявила, що питання територій та гарантій безпеки залишаються відкритими, а остаточні рішення ухвалюватимуть лідери.",
		"В Москве заявили, что пока не получали официального текста документа и будут оценивать его «по существу», а не по сообщениям прессы.",
		"وقال مسؤول أوروبي إن الاتحاد الأوروبي يريد أن يكون له دور في أي ترتيبات تتعلق بالعقوبات والأصول المجمدة، مؤكدا أن أمن أوروبا على المحك.",
		"A senior negotiator said the number of points in the draft had been cut and that several clauses on sanctions relief and frozen assets would be handled separately.",
		"Переговорники домовилися продовжити роботу на рівні експертів; наступна зустріч можлива вже наступного тижня.",
		"Analysts cautioned that a ceasefire along the current line of contact would need monitoring and that prisoner exchanges — \"all for all\" — were among the few points with broad support.",
		"Дипломаты отметили, что вопрос о численности вооружённых сил остаётся одним из самых спорных.",
		"وأضاف المسؤول أن المفاوضات ستستأنف بعد مشاورات مع العواصم الأوروبية.",
	}, "\n")
	for len(body) < 2900 {
		body += "\nOfficials said further rounds were expected; сторони погодилися тримати деталі в таємниці."
	}
	story := map[string]any{
		"id":        "wt-bench-0001",
		"headline":  "Geneva talks on peace framework run into a second day / Переговори в Женеві тривають другий день",
		"body":      body,
		"language":  "en",
		"published": "2025-11-24T18:05:00+01:00",
		"source":    "wiretag-test",
		"url":       "https://example.org/stories/geneva-day-two",
		"priority":  2,
		"desk":      map[string]any{"name": "Europe", "shift": []string{"late", "night"}},
	}
	b, err := json.Marshal(story)
	if err != nil {
		panic(err)
	}
	return b
}

// sampleEnriched is a typical enriched record: 10 actors, 3 topics, several
// mentions each, ninjs views and extra fields.
func sampleEnriched() *Enriched {
	s, err := Decode(sampleStoryJSON(), "", Limits{})
	if err != nil {
		panic(err)
	}
	e := &Enriched{
		Schema:    SchemaVersion,
		ID:        s.ID,
		Format:    string(s.Format),
		Language:  Language{Detected: "en", Declared: s.Language},
		Headline:  s.Headline,
		Body:      s.Body,
		Published: s.Published,
		Source:    s.Source,
		URL:       s.URL,
		Extra:     s.Extra,
		Tagger:    TaggerInfo{Version: "0.1.0-test", Taxonomy: "peace-2025.11"},
	}
	names := []struct{ id, kind, name, text string }{
		{"person/zelensky", KindPerson, "Volodymyr Zelensky", "Зеленський"},
		{"person/putin", KindPerson, "Vladimir Putin", "Путин"},
		{"person/trump", KindPerson, "Donald Trump", "Trump"},
		{"org/eu", KindOrganization, "European Union", "الاتحاد الأوروبي"},
		{"org/nato", KindOrganization, "NATO", "NATO"},
		{"media/axios", KindMedia, "Axios", "Axios"},
		{"country/ua", KindCountry, "Ukraine", "Kyiv"},
		{"country/ru", KindCountry, "Russia", "Москве"},
		{"country/us", KindCountry, "United States", "Washington"},
		{"country/ch", KindCountry, "Switzerland", "GENEVA"},
	}
	for i, n := range names {
		a := Actor{ID: n.id, Kind: n.kind, Name: n.name, Wikidata: fmt.Sprintf("Q%d", 1000+i), Count: 2, Quoted: i%3 == 0}
		for j := 0; j < 2; j++ {
			a.Mentions = append(a.Mentions, Mention{Field: "body", Start: 100*i + 10*j, End: 100*i + 10*j + len([]rune(n.text)), Text: n.text})
		}
		e.Actors = append(e.Actors, a)
		switch n.kind {
		case KindPerson:
			e.People = append(e.People, NinjsEntity{Name: n.name, Rel: "mentions", URI: "http://www.wikidata.org/entity/" + a.Wikidata})
		case KindOrganization, KindMedia:
			e.Organisations = append(e.Organisations, NinjsEntity{Name: n.name, Rel: "mentions", Literal: n.id})
		case KindCountry:
			e.Places = append(e.Places, NinjsEntity{Name: n.name, Rel: "mentions", Literal: n.id, Relevance: 50})
		}
	}
	for i, t := range []struct{ id, name string }{{"ceasefire", "Ceasefire"}, {"sanctions", "Sanctions relief"}, {"pow-exchange", "Prisoner exchange"}} {
		e.Topics = append(e.Topics, Topic{
			ID: t.id, Name: t.name, Points28: []int{i + 1, 20 + i}, Points20: []int{i + 3},
			Score: 0.25 * float64(i+1), Mentions: []Mention{{Field: "body", Start: 40 * i, End: 40*i + 9, Text: "ceasefire"}},
		})
		e.Subjects = append(e.Subjects, NinjsEntity{Name: t.name, Literal: t.id, Relevance: 30 * (i + 1)})
	}
	return e
}

// plainEnriched has Enriched's fields and tags but not its methods, so
// encoding/json (and the benchmarked libraries) encode it by reflection.
type plainEnriched Enriched
