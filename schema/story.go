package schema

import "encoding/json"

// Format says which input format a story arrived in.
type Format string

const (
	FormatWiretag Format = "wiretag" // wiretag's own JSON story
	FormatNinjs1  Format = "ninjs1"  // IPTC ninjs 1.x
	FormatNinjs2  Format = "ninjs2"  // IPTC ninjs 2.x
	FormatText    Format = "text"    // plain UTF-8 text: the whole payload is the body
)

// Story is a decoded input story, whatever format it came in.
type Story struct {
	ID        string
	Headline  string
	Body      string
	Language  string // declared language (BCP 47) or ""
	Published string // RFC 3339, as given
	Source    string
	URL       string
	Format    Format
	// Extra holds the input's fields that wiretag does not interpret, verbatim.
	Extra map[string]json.RawMessage

	// validText: Decode checked that Headline and Body are valid UTF-8, so
	// the encoder need not check again (NewEnriched carries it over).
	validText bool
}
