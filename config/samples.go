package config

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
)

//go:embed samples/*.jsonl
var samples embed.FS

// Sample is one embedded sample story: its id (the Kafka key the demo
// uses) and the raw JSON line.
type Sample struct {
	ID   string
	JSON []byte
}

// Samples returns the embedded sample stories (config/samples/*.jsonl), one
// per non-blank line, in file order.
func Samples() ([]Sample, error) {
	files, err := fs.Glob(samples, "samples/*.jsonl")
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, f := range files {
		b, err := samples.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 16<<20)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(line, &head); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", f, n, err)
			}
			out = append(out, Sample{ID: head.ID, JSON: append([]byte(nil), line...)})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return out, nil
}
