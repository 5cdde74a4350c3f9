package langid

import "testing"

func TestDetect(t *testing.T) {
	tests := []struct {
		name, declared, headline, body, want string
	}{
		{"declared wins", "uk-UA", "", "Путин встретился с Уиткоффом.", "uk"},
		{"declared und is ignored", "und", "", "The envoy met the president on Tuesday.", "en"},
		{"arabic", "", "", "التقى المبعوث الأمريكي بالرئيس الروسي في الكرملين يوم الثلاثاء.", "ar"},
		{"russian", "", "", "Спецпосланник встретился с президентом в Кремле, сообщили журналисты.", "ru"},
		{"ukrainian by its letters", "", "", "Спецпосланець зустрівся з президентом у Києві, повідомили журналісти.", "uk"},
		{"english", "", "", "The envoy said the talks in Miami were useful and that the plan would be revised.", "en"},
		{"french", "", "", "L'émissaire a déclaré que les discussions avec les Ukrainiens étaient utiles pour la paix.", "fr"},
		{"german", "", "", "Der Gesandte sagte, die Gespräche mit der Ukraine seien für den Frieden nützlich gewesen.", "de"},
		{"spanish", "", "", "El enviado dijo que las conversaciones con los ucranianos fueron útiles para la paz.", "es"},
		{"turkish", "", "", "Özel temsilci, Ukrayna ile görüşmelerin barış için yararlı olduğunu söyledi.", "tr"},
		{"short headline, body decides", "", "Putin", "Спецпосланець зустрівся з президентом у Києві.", "uk"},
		{"nothing to go on", "", "", "12345 !!!", "und"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.declared, tt.headline, tt.body); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}
