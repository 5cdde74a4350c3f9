package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/service"
)

func cmdRun(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	passThrough := fs.Bool("pass-through", false, "benchmark baseline: decode and re-encode stories without tagging or alerts (used by wiretag bench)")
	sized := fs.Bool("pass-through-sized", false, "benchmark baseline: as --pass-through, but writing about as much as wiretag does (used by wiretag bench)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: wiretag run [--pass-through | --pass-through-sized]\n\nRuns the stream processor. Settings come from WIRETAG_* variables\n(see 'wiretag config' for their effective values):\n\n")
		for _, v := range (config.Config{}).Vars() {
			fmt.Fprintf(os.Stderr, "  %-34s %s\n", v.Name, v.Desc)
		}
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "wiretag run: %v\n", err)
		return 2
	}
	log := service.NewLogger(cfg, os.Stderr)
	tuneGC(cfg, log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		// A second SIGINT/SIGTERM during the drain means "now".
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		log.Error().Msg("second signal: exiting without finishing the drain (uncommitted stories will be re-delivered)")
		os.Exit(1)
	}()

	baseline := enrich.BaselineNone
	switch {
	case *sized:
		baseline = enrich.BaselineCopySized
	case *passThrough:
		baseline = enrich.BaselineCopy
	}
	if err := service.Run(ctx, cfg, version, log, service.Hooks{Hup: hup, Baseline: baseline}); err != nil {
		log.Error().Err(err).Msg("wiretag run failed")
		return 1
	}
	return 0
}

// tuneGC applies WIRETAG_MEMORY_LIMIT_MB and, with a limit in force,
// WIRETAG_GC_PERCENT; Go's own GOMEMLIMIT and GOGC win when set.
func tuneGC(cfg config.Config, log zerolog.Logger) {
	_, goLimit := os.LookupEnv("GOMEMLIMIT")
	if !goLimit && cfg.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMB) << 20)
	}
	limited := goLimit || cfg.MemoryLimitMB > 0
	if _, goGC := os.LookupEnv("GOGC"); !goGC && limited {
		debug.SetGCPercent(cfg.GCPercent)
	}
	log.Debug().Int64("memory_limit_bytes", debug.SetMemoryLimit(-1)).Msg("garbage collector tuned")
}
