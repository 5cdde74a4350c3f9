package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/wiretag/wiretag/processor/evaluate"
	"github.com/wiretag/wiretag/processor/tagger"
)

func cmdEval(args []string) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "print the tables only, not every error")
	lenient := fs.Bool("lenient", false, "tag even if the dictionaries have lint problems (printed on stderr)")
	dictDir := fs.String("dictionaries", os.Getenv("WIRETAG_DICTIONARY_DIR"), "dictionary directory (default: embedded)")
	var gold multiFlag
	fs.Var(&gold, "gold", "gold file (JSON lines); repeat, or list files after the flags")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wiretag eval [--json] [--quiet] --gold FILE [FILE…]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	gold = append(gold, fs.Args()...)
	if len(gold) == 0 {
		fs.Usage()
		return 2
	}
	var t *tagger.Tagger
	var err error
	if *lenient {
		var lintErr error
		t, lintErr, err = tagger.NewLenient(*dictDir)
		if lintErr != nil {
			fmt.Fprintln(os.Stderr, "wiretag eval: warning:", lintErr)
		}
	} else {
		t, err = loadTagger(*dictDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiretag eval:", err)
		return 1
	}
	var golds []evaluate.Gold
	for _, name := range gold {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wiretag eval:", err)
			return 1
		}
		g, err := evaluate.ReadGold(f, name)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "wiretag eval:", err)
			return 1
		}
		golds = append(golds, g...)
	}
	var progress func(done, total int)
	if isatty.IsTerminal(os.Stdout.Fd()) && isatty.IsTerminal(os.Stderr.Fd()) && len(golds) > 200 {
		progress = func(done, total int) {
			if done%50 == 0 || done == total {
				fmt.Fprintf(os.Stderr, "\r%d/%d stories", done, total)
				if done == total {
					fmt.Fprintln(os.Stderr)
				}
			}
		}
	}
	rep := evaluate.Run(t, golds, progress)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "wiretag eval:", err)
			return 1
		}
		return 0
	}
	rep.WriteText(os.Stdout, !*quiet)
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
