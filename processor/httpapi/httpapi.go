// Package httpapi serves the operational endpoints: /metrics (Prometheus),
// /healthz (liveness: the loop is alive) and /readyz (readiness: the group
// is joined, fetching works and the last write succeeded).
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"
)

// Probe answers a health question with a reason.
type Probe func() (bool, string)

// Handler returns the mux with the three endpoints.
func Handler(metrics http.Handler, live, ready Probe) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", probe(live))
	mux.HandleFunc("GET /readyz", probe(ready))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "wiretag: /metrics /healthz /readyz")
	})
	return mux
}

func probe(p Probe) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ok, why := p()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	}
}

// Serve listens on addr and serves h until ctx ends, then shuts down
// gracefully. It returns the listener's address once listening (useful
// with ":0") through the started callback.
func Serve(ctx context.Context, addr string, h http.Handler, log zerolog.Logger, started func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", addr, err)
	}
	if started != nil {
		started(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("http: serving /metrics /healthz /readyz")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http serve: %w", err)
	}
	return nil
}

// Profiling adds Go's profiles under /debug/pprof/ (WIRETAG_PPROF): CPU and
// allocation profiles of a processor under real load, for tuning. Off by
// default, since profiles reveal internals and cost CPU while taken.
func Profiling(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
