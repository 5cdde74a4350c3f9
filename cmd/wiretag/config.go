package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/wiretag/wiretag/config"
)

func cmdConfig(args []string) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as a JSON object")
	markdown := fs.Bool("markdown", false, "print the README's table of variables and defaults")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: wiretag config [--json|--markdown]\n\nPrints the effective configuration (WIRETAG_* variables over the defaults),\nsecrets redacted, and any problems with it.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *markdown {
		fmt.Print(config.MarkdownTable())
		return 0
	}
	cfg, err := config.Load()
	vars := cfg.Vars() // redacted
	if *asJSON {
		m := map[string]string{}
		for _, v := range vars {
			m[v.Name] = v.Value
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		fmt.Println(string(b))
	} else {
		for _, v := range vars {
			mark := ""
			if v.Value != v.Default && !(v.Secret && v.Default == "") {
				mark = "   # default: " + v.Default
				if v.Default == "" {
					mark = "   # default: (empty)"
				}
			}
			fmt.Printf("%s=%s%s\n", v.Name, v.Value, mark)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n%v\n", err)
		return 2
	}
	return 0
}
