package config

import (
	"embed"
	"io/fs"
)

//go:embed taxonomy.yaml dictionaries/*.yaml
var dictionaries embed.FS

// DefaultDictionaries returns the embedded dictionaries: taxonomy.yaml at the
// root and the dictionary files under dictionaries/.
func DefaultDictionaries() fs.FS { return dictionaries }
