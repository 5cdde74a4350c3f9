package dict

import (
	"strings"
	"testing"
)

func TestParseAliasRejects(t *testing.T) {
	tests := []struct {
		alias, want string
	}{
		{"...", "has no letters or digits"},
		{"ab*", "shorter than 3 letters"},
		{"Trump~", "inflection (~) is for Cyrillic words only"},
		{strings.Repeat("a", MaxWordBytes+1), "longer than 240 bytes"},
	}
	for _, tt := range tests {
		if _, err := ParseAlias(tt.alias); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAlias(%.30q) = %v, want an error with %q", tt.alias, err, tt.want)
		}
	}
	if ws, err := ParseAlias(strings.Repeat("a", MaxWordBytes)); err != nil || len(ws) != 1 {
		t.Errorf("a word of exactly MaxWordBytes: %v, %v", ws, err)
	}
}
