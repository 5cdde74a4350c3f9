package schema

import "fmt"

// ErrorClass names why a payload could not be decoded into a story. The
// values are stable: they appear in dead-letter headers and metric labels.
type ErrorClass string

const (
	ErrEmpty       ErrorClass = "empty"
	ErrInvalidUTF8 ErrorClass = "invalid_utf8"
	ErrInvalidJSON ErrorClass = "invalid_json"
	ErrOversize    ErrorClass = "oversize"
	ErrMissingBody ErrorClass = "missing_body"
	ErrMissingID   ErrorClass = "missing_id"
	ErrNotAStory   ErrorClass = "not_a_story"
)

// DecodeError says exactly what is wrong with a payload.
type DecodeError struct {
	Class  ErrorClass
	Offset int64 // byte offset of the problem, -1 when it has none
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s at byte %d: %s", e.Class, e.Offset, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Class, e.Detail)
}

// Limits bound what Decode accepts.
type Limits struct {
	MaxBodyBytes int // body (headline + body) larger than this is ErrOversize; 0 means no limit
}

// Decode turns a payload into a Story, detecting the format by content.
// fallbackID is used when the payload carries no id (plain text, or JSON
// without one); when both are empty the result is ErrMissingID.
// TODO(schema): real implementation.
func Decode(payload []byte, fallbackID string, lim Limits) (*Story, error) {
	return nil, &DecodeError{Class: ErrNotAStory, Offset: -1, Detail: "decoder not implemented"}
}
