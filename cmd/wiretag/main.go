// Command wiretag tags wire stories with actors and peace-plan topics, offline
// (tag, eval, lint) or as a Kafka stream processor (run, demo).
package main

import (
	"fmt"
	"os"
)

// version is stamped at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(args []string) int
}

func commands() []command {
	return []command{
		{"run", "run the Kafka stream processor (configured by WIRETAG_* variables)", cmdRun},
		{"demo", "start an embedded Kafka broker, feed it sample stories and show the results", cmdDemo},
		{"tag", "tag stories from files or stdin, one enriched record per line", cmdTag},
		{"eval", "score the tagger against gold files", cmdEval},
		{"lint", "check a dictionary directory (default: the embedded dictionaries)", cmdLint},
		{"config", "print the effective configuration with secrets redacted", cmdConfig},
		{"bench", "load-test a running processor end to end", cmdBench},
		{"version", "print the version", func([]string) int { fmt.Println(version); return 0 }},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: wiretag <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'wiretag <command> -h' for the flags of a command.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		os.Exit(0)
	}
	for _, c := range commands() {
		if c.name == name {
			os.Exit(c.run(os.Args[2:]))
		}
	}
	fmt.Fprintf(os.Stderr, "wiretag: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}
