package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wiretag/wiretag/processor/loadgen"
)

func cmdBench(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "Kafka brokers (host:port,…); empty starts an in-process broker for a quick number")
	stories := fs.Int("stories", 20000, "stories for the saturation phase")
	rates := fs.String("rates", "500,2000,5000", "fixed rates (stories/s) for the latency phase, comma-separated; empty for none")
	rateDur := fs.Duration("rate-duration", 10*time.Second, "how long each fixed rate runs")
	poison := fs.Float64("poison", 0.01, "share of poison messages (invalid JSON, invalid UTF-8, empty)")
	partitions := fs.Int("partitions", 6, "partitions of every topic the bench creates")
	mode := fs.String("mode", "both", "both (pass-through and wiretag), all (also pass-through-sized), or a comma-separated list of pass-through, pass-through-sized, wiretag")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	huge := fs.Int("huge", 0, "after the rates, send this many 10 MB poison messages and report peak RSS")
	prefix := fs.String("topic-prefix", "bench-", "prefix of the topics and consumer group each mode creates")
	keep := fs.Bool("keep-topics", false, "keep the topics and consumer group each mode creates (they are deleted at its end by default)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: wiretag bench [flags]

Measures wiretag end to end. For each mode it creates fresh topics (deleted
at its end, with its consumer group, unless --keep-topics), produces
the stories, starts 'wiretag run' as a separate process (WIRETAG_* settings
apply to it), consumes the enriched and dead-letter topics, and reports
stories/s and MB/s at saturation, end-to-end latency percentiles at fixed
rates, processor CPU seconds per 1000 stories and peak RSS. The pass-through
mode replaces tagging with a copy: its throughput is the Kafka client's limit
here, and wiretag / pass-through is reported from the same run. The
pass-through-sized mode copies too but writes about as much as wiretag does
(each record with its body three times, plus one 400-byte record on an alert
topic): wiretag / pass-through-sized is the cost of tagging alone.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiretag bench:", err)
		return 1
	}
	o := loadgen.Options{Stories: *stories, RateDuration: *rateDur, Poison: *poison, Partitions: *partitions, Exe: exe, Progress: os.Stderr, Huge: *huge, KeepTopics: *keep, TopicPrefix: *prefix}
	if *brokers != "" {
		o.Brokers = strings.Split(*brokers, ",")
	}
	for _, r := range strings.Split(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "wiretag bench: bad rate %q\n", r)
			return 2
		}
		o.Rates = append(o.Rates, n)
	}
	switch *mode {
	case "both":
		o.Modes = []string{loadgen.ModePassThrough, loadgen.ModeWiretag}
	case "all":
		o.Modes = []string{loadgen.ModePassThrough, loadgen.ModeSized, loadgen.ModeWiretag}
	default:
		for _, m := range strings.Split(*mode, ",") {
			if m != loadgen.ModePassThrough && m != loadgen.ModeSized && m != loadgen.ModeWiretag {
				fmt.Fprintf(os.Stderr, "wiretag bench: --mode must be both, all, or a comma-separated list of pass-through, pass-through-sized and wiretag; got %q\n", m)
				return 2
			}
			o.Modes = append(o.Modes, m)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, o)
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
		} else {
			printBench(os.Stdout, rep)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiretag bench:", err)
		return 1
	}
	return 0
}

func printBench(w io.Writer, rep *loadgen.Report) {
	fmt.Fprintf(w, "\nbroker: %s\nmachine: %s\n\n", rep.Broker, rep.Machine)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tload\tstories\tdead letters\tstories/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tCPU s/1000\tpeak RSS MB\t")
	for _, r := range rep.Results {
		load := r.Load
		lat := func(v float64) string {
			if r.Rate <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", v)
		}
		mb := "-"
		if r.Rate == 0 {
			mb = fmt.Sprintf("%.1f", r.MBPerSec)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%.2f\t%.0f\t\n", r.Mode, load, r.Stories, r.DeadLetters, r.StoriesPerSec, mb,
			lat(r.P50ms), lat(r.P99ms), lat(r.P999ms), r.CPUSecPer1000, r.PeakRSSMB)
	}
	tw.Flush()
	if rep.Ratio > 0 {
		fmt.Fprintf(w, "\nwiretag / pass-through at saturation: %.2f\n", rep.Ratio)
	}
	if rep.RatioSized > 0 {
		fmt.Fprintf(w, "wiretag / pass-through-sized at saturation: %.2f (the cost of tagging alone)\n", rep.RatioSized)
	}
}
