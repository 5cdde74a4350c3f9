package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/tagger"
)

// loadTagger compiles the dictionaries of dir, or the embedded ones when dir is "".
func loadTagger(dir string) (*tagger.Tagger, error) {
	if dir == "" {
		return tagger.Default()
	}
	return tagger.NewFromDir(dir)
}

func cmdLint(args []string) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wiretag lint [DIR]\n\nChecks the dictionary files of DIR (default: the embedded dictionaries):\nunknown ids, missing ids, duplicate or conflicting aliases, malformed rules.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	where := "embedded dictionaries"
	switch fs.NArg() {
	case 0:
		_, err = tagger.Default()
	case 1:
		where = fs.Arg(0)
		_, err = tagger.NewFromDir(where)
	default:
		fs.Usage()
		return 2
	}
	var ps dict.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Println(p)
		}
		fmt.Fprintf(os.Stderr, "wiretag lint: %s: %d problem(s)\n", where, len(ps))
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiretag lint:", err)
		return 1
	}
	fmt.Printf("%s: ok\n", where)
	return 0
}
