package schema

import "encoding/json"

// SchemaVersion names the enriched record format. It changes only with an
// incompatible change to the record; consumers may route on it.
const SchemaVersion = "wiretag.enriched/v1"

// Actor kinds, as in the taxonomy.
const (
	KindPerson       = "person"
	KindOrganization = "organization"
	KindMedia        = "media"
	KindCountry      = "country"
)

// Enriched is the record wiretag publishes for every valid story. Field order
// and slice order are fixed so that the same input always yields the same bytes.
type Enriched struct {
	Schema    string   `json:"schema"`
	ID        string   `json:"id"`
	Format    string   `json:"format"`
	Language  Language `json:"language"`
	Headline  string   `json:"headline"`
	Body      string   `json:"body"`
	Published string   `json:"published,omitempty"`
	Source    string   `json:"source,omitempty"`
	URL       string   `json:"url,omitempty"`
	// Extra carries the input's fields that wiretag does not interpret, verbatim.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`

	Actors []Actor `json:"actors"`
	Topics []Topic `json:"topics"`

	// ninjs 2.x-style views so news systems can consume the record as is.
	People        []NinjsEntity `json:"people"`
	Organisations []NinjsEntity `json:"organisations"`
	Places        []NinjsEntity `json:"places"`
	Subjects      []NinjsEntity `json:"subjects"`

	Tagger TaggerInfo `json:"tagger"`

	// validText: Headline and Body are known to be valid UTF-8 (see
	// NewEnriched), so AppendJSON skips checking them again; on a 3 KB
	// Cyrillic or Arabic story that check was a third of encoding.
	validText bool
}

// NewEnriched starts the record of a story: its fields, the schema version,
// and empty tag lists. When st came from Decode, the record remembers that its
// headline and body were validated; code that then assigns other text to
// them must keep it valid UTF-8, as every string of a record must be.
func NewEnriched(st *Story) *Enriched {
	return &Enriched{
		Schema: SchemaVersion, ID: st.ID, Format: string(st.Format),
		Headline: st.Headline, Body: st.Body, Published: st.Published, Source: st.Source, URL: st.URL, Extra: st.Extra,
		validText: st.validText,
	}
}

// Language says which language the story was tagged as.
type Language struct {
	Detected string `json:"detected"`
	Declared string `json:"declared,omitempty"`
}

// Mention is one piece of evidence: Start and End are Unicode code-point
// offsets into the original text of Field ("headline" or "body"), and Text is
// exactly that slice.
type Mention struct {
	Field string `json:"field"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
}

// Actor is one person, organization, news medium or country the story names.
type Actor struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Name     string    `json:"name"`
	Wikidata string    `json:"wikidata,omitempty"`
	Count    int       `json:"count"`
	Quoted   bool      `json:"quoted"`
	Mentions []Mention `json:"mentions"`
}

// Topic is one element of the peace plan the story discusses.
type Topic struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Points28 []int     `json:"points_28"`
	Points20 []int     `json:"points_20"`
	Score    float64   `json:"score"`
	Mentions []Mention `json:"mentions"`
}

// NinjsEntity follows the shape of ninjs 2.x people/organisations/places/subjects items.
type NinjsEntity struct {
	Name      string `json:"name"`
	Rel       string `json:"rel,omitempty"`
	URI       string `json:"uri,omitempty"`
	Literal   string `json:"literal,omitempty"`
	Relevance int    `json:"relevance,omitempty"`
}

// TaggerInfo records what produced the tags, so records can be re-tagged or compared.
type TaggerInfo struct {
	Version  string `json:"version"`
	Taxonomy string `json:"taxonomy"`
}
