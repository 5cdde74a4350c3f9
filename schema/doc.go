// Package schema is wiretag's data contract: the stories it reads, the
// enriched records it writes, and the codecs between bytes and both.
//
// # Input: Decode
//
// Decode turns one Kafka message value into a Story. The format is detected
// from the content, not from headers:
//
//   - wiretag JSON (FormatWiretag): an object with "id", "headline", "body",
//     and optionally "language" (BCP 47; "lang" is accepted too, "language"
//     wins when both are set), "published" (RFC 3339 date-time, or full-date
//     as real feeds send it), "source", "url".
//     A numeric id is taken as its literal text. Chosen when the object has
//     "id" or "body" (and no "headlines"/"bodies"), or only "headline".
//   - IPTC ninjs 1.x (FormatNinjs1): "uri" → ID, "headline", "body_text" →
//     Body; without a non-blank body_text, "body_html", then "body_xhtml",
//     then any other "body_*" (in name order) with its markup stripped
//     (StripMarkup). "language", "versioncreated" (else "firstcreated") →
//     Published, "copyrightholder" → Source. Chosen when the object has "uri"
//     or a "body_*" member but no "id"/"body".
//   - IPTC ninjs 2.x (FormatNinjs2): "uri" → ID; the headline is the
//     non-blank "headlines" item with role "main", else one without a role,
//     else the first; the body is the non-blank "bodies" item ranked first by
//     plain text (contenttype text/plain or none) before HTML/XML, then role
//     "main", then no role, then any, ties going to the earlier item; markup
//     is stripped. Other members as for 1.x. ninjs 3.x objects, which share
//     this shape and spell some names in camelCase ("contentType",
//     "versionCreated", "copyrightHolder"), are read the same way and also
//     recorded as FormatNinjs2. Chosen when the object has "headlines" or
//     "bodies".
//   - Plain UTF-8 text (FormatText): anything that is not JSON. The whole
//     payload (minus a UTF-8 byte order mark) is the body; the id is
//     fallbackID. A payload starting with '{' is always treated as JSON, one
//     starting with '[' when a JSON value follows it ("[UPDATE] …" is text).
//
// In every JSON format the members Decode does not map into the Story are
// kept, verbatim, in Story.Extra (for ninjs that includes the body variants
// not used). A member whose value is null counts as absent.
//
// Decode checks, in this order, and fails with a *DecodeError naming the
// class: empty payload (ErrEmpty); invalid UTF-8, with the offset of the
// first bad byte, checked before any parsing (ErrInvalidUTF8); a payload of
// only white space (ErrEmpty); JSON syntax,
// with the offset of the first byte the parser rejected, or len(payload) when
// the payload ends early (ErrInvalidJSON); JSON that is not a story object —
// an array, a scalar, an object with none of the members above — or plain
// text with control bytes, i.e. binary data (ErrNotAStory); a mapped member
// with the wrong JSON type or shape, or a timestamp that is neither an RFC
// 3339 date-time nor a full-date, with
// the offset of the value (ErrInvalidField); a blank body (ErrMissingBody);
// headline+body over Limits.MaxBodyBytes (ErrOversize); no id and no usable
// fallbackID (ErrMissingID). Offsets count bytes from the start of the
// payload, including any byte order mark and leading white space.
//
// # Output: Enriched
//
// Enriched is the record wiretag publishes for each story (SchemaVersion
// "wiretag.enriched/v1"): the story fields, the actors and peace-plan topics
// found with their evidence (Mention: code-point offsets into the headline or
// body), ninjs 2.x-style people/organisations/places/subjects views, and the
// tagger version. (*Enriched).AppendJSON writes its canonical encoding, which
// is byte-for-byte deterministic; EnrichedJSONSchema (draft 2020-12) describes
// it and ValidateEnriched checks a record against it.
//
// codec.go records how the JSON codecs were chosen, with the measurements.
package schema
