package rules

import (
	"encoding/json"
	"slices"

	"github.com/wiretag/wiretag/schema"
)

// AlertSchema names the alert record format.
const AlertSchema = "wiretag.alert/v1"

// Source is where a story was read from.
type Source struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Alert is the record written to a rule's topic. It carries no wall-clock
// time, so re-processing a story yields the same bytes.
type Alert struct {
	Schema   string       `json:"schema"`
	Rule     string       `json:"rule"`
	StoryID  string       `json:"story_id"`
	Headline string       `json:"headline"`
	Language string       `json:"language"`
	Topics   []AlertTopic `json:"topics"`
	Actors   []AlertActor `json:"actors"`
	Source   Source       `json:"source"`
}

// AlertTopic is a matched topic with its score.
type AlertTopic struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// AlertActor is a matched actor with its mention count.
type AlertActor struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// NewAlert builds the alert record for a hit on e.
func NewAlert(h Hit, e *schema.Enriched, src Source) Alert {
	a := Alert{
		Schema:   AlertSchema,
		Rule:     h.Rule.Name,
		StoryID:  e.ID,
		Headline: e.Headline,
		Language: e.Language.Detected,
		Topics:   []AlertTopic{},
		Actors:   []AlertActor{},
		Source:   src,
	}
	for _, t := range e.Topics {
		if slices.Contains(h.Topics, t.ID) {
			a.Topics = append(a.Topics, AlertTopic{ID: t.ID, Score: t.Score})
		}
	}
	for _, ac := range e.Actors {
		if slices.Contains(h.Actors, ac.ID) {
			a.Actors = append(a.Actors, AlertActor{ID: ac.ID, Kind: ac.Kind, Count: max(ac.Count, len(ac.Mentions))})
		}
	}
	return a
}

// Encode returns the JSON of the alert.
func (a Alert) Encode() ([]byte, error) { return json.Marshal(a) }
