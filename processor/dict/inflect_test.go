package dict

import (
	"slices"
	"testing"
)

func TestForms(t *testing.T) {
	tests := []struct {
		word, lang string
		want       []string // must all be present
		not        []string // must be absent
	}{
		{"путин", "ru", []string{"путин", "путина", "путину", "путиным", "путине"}, nil},
		{"лавров", "ru", []string{"лаврова", "лавровым", "лаврове"}, []string{"лавр"}},
		{"зеленский", "ru", []string{"зеленского", "зеленскому", "зеленским", "зеленском"}, nil},
		{"захарова", "ru", []string{"захаровой", "захарову"}, nil},
		{"уиткофф", "ru", []string{"уиткоффа", "уиткоффом", "уиткоффе"}, nil},
		{"дмитрий", "ru", []string{"дмитрия", "дмитрию", "дмитрием"}, nil},
		{"рубио", "ru", []string{"рубио"}, []string{"руб", "рубиа"}},
		{"putin", "de", []string{"putin", "putins"}, nil},
		{"merz", "de", []string{"merz"}, []string{"merzs"}},
		{"кремль", "ru", []string{"кремля", "кремле", "кремлем"}, nil},
		{"сибига", "ru", []string{"сибиги", "сибиге", "сибигой"}, nil},
		{"путін", "uk", []string{"путіна", "путіну", "путіним", "путіні", "путінові"}, nil},
		{"віткофф", "uk", []string{"віткоффа", "віткоффу", "віткоффом", "віткоффі", "віткоффові"}, nil},
		{"зеленський", "uk", []string{"зеленського", "зеленському", "зеленським", "зеленськім"}, nil},
		{"гончаренко", "uk", []string{"гончаренка", "гончаренкові", "гончаренком"}, nil},
		{"андрій", "uk", []string{"андрія", "андрію", "андрієм"}, nil},
		{"кислиця", "uk", []string{"кислиці", "кислицю", "кислицею"}, nil},
		{"умєров", "uk", []string{"умєрова", "умєровим", "умєрову"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			got := Forms(tt.word, tt.lang)
			if got[0] != tt.word {
				t.Errorf("first form %q, want the word itself", got[0])
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("Forms(%q, %s) lacks %q: %v", tt.word, tt.lang, w, got)
				}
			}
			for _, w := range tt.not {
				if slices.Contains(got, w) {
					t.Errorf("Forms(%q, %s) has %q", tt.word, tt.lang, w)
				}
			}
		})
	}
}
