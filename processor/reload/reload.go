// Package reload keeps the tagger and rules in force and replaces them when
// their files change or on SIGHUP. A new snapshot is built completely and
// validated before an atomic pointer swap, so in-flight stories finish with
// the snapshot they started with and a bad file never replaces a good one.
package reload

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/tagger"
)

// Options say where the rules and dictionaries come from.
type Options struct {
	RulesFile     string // "" = embedded config/rules.yaml
	DictionaryDir string // "" = embedded dictionaries
	Log           zerolog.Logger
	Metrics       *metrics.Metrics
	// CheckTopics, if set, vets the alert topics of new rules (e.g. that they
	// exist: kafka-go fails a whole write when one topic is missing).
	CheckTopics func(ctx context.Context, topics []string) error
}

// Loader holds the current snapshot.
type Loader struct {
	opt   Options
	cur   atomic.Pointer[enrich.Snapshot]
	mu    sync.Mutex // serialises reloads
	known *rules.Known
	// fingerprints of what was last loaded (or last rejected), so a bad file
	// is reported once, not at every poll
	rulesFP, dictFP uint64
}

// New loads the initial snapshot; any error is fatal to start-up.
func New(ctx context.Context, opt Options) (*Loader, error) {
	l := &Loader{opt: opt}
	t, known, err := l.loadDictionaries()
	if err != nil {
		return nil, err
	}
	l.known = known
	rs, err := l.loadRules(ctx, known)
	if err != nil {
		return nil, err
	}
	l.rulesFP, _ = fingerprint(opt.RulesFile)
	l.dictFP, _ = fingerprint(opt.DictionaryDir)
	l.cur.Store(&enrich.Snapshot{Tagger: t, Rules: rs})
	return l, nil
}

// Snapshot returns the snapshot in force.
func (l *Loader) Snapshot() *enrich.Snapshot { return l.cur.Load() }

// loadDictionaries compiles the tagger and reads the ids rules may name:
// from the embedded set, or from WIRETAG_DICTIONARY_DIR (dictionary files at
// its top level, with its own taxonomy.yaml or else the embedded one).
func (l *Loader) loadDictionaries() (*tagger.Tagger, *rules.Known, error) {
	dir := l.opt.DictionaryDir
	taxFS, name := config.DefaultDictionaries(), "embedded dictionaries"
	if dir != "" {
		name = dir
		if _, err := os.Stat(filepath.Join(dir, "taxonomy.yaml")); err == nil {
			taxFS = os.DirFS(dir)
		}
	}
	tx, err := fs.ReadFile(taxFS, "taxonomy.yaml")
	if err != nil {
		return nil, nil, fmt.Errorf("dictionaries %s: %w", name, err)
	}
	known, err := rules.KnownFromTaxonomy(tx)
	if err != nil {
		return nil, nil, fmt.Errorf("dictionaries %s: %w", name, err)
	}
	var t *tagger.Tagger
	if dir == "" {
		t, err = tagger.New(config.DefaultDictionaries())
	} else {
		t, err = tagger.NewFromDir(dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dictionaries %s: %w", name, err)
	}
	return t, known, nil
}

func (l *Loader) loadRules(ctx context.Context, known *rules.Known) (*rules.Set, error) {
	name, data := config.DefaultRulesName, config.DefaultRules()
	if l.opt.RulesFile != "" {
		b, err := os.ReadFile(l.opt.RulesFile)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		name, data = l.opt.RulesFile, b
	}
	rs, err := rules.Parse(name, data, known)
	if err != nil {
		return nil, err
	}
	if l.opt.CheckTopics != nil {
		if err := l.opt.CheckTopics(ctx, rs.Topics()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return rs, nil
}

// Reload rebuilds whatever changed (or everything, when force is set, as on
// SIGHUP) and swaps it in. Failures are logged and counted; the old
// snapshot stays in force.
func (l *Loader) Reload(ctx context.Context, force bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	next := *old
	changed := false

	dfp, derr := fingerprint(l.opt.DictionaryDir)
	if force || (derr == nil && dfp != l.dictFP) {
		l.dictFP = dfp
		t, known, err := l.loadDictionaries()
		if err != nil {
			l.failed("dictionaries", err)
		} else {
			next.Tagger, l.known = t, known
			changed = true
			l.ok("dictionaries")
		}
	}
	rfp, rerr := fingerprint(l.opt.RulesFile)
	if force || changed || (rerr == nil && rfp != l.rulesFP) {
		// Rules are re-checked after a dictionary change: their ids must
		// still exist.
		l.rulesFP = rfp
		rs, err := l.loadRules(ctx, l.known)
		if err != nil {
			l.failed("rules", err)
		} else {
			next.Rules = rs
			changed = true
			l.ok("rules")
		}
	}
	if changed {
		l.cur.Store(&next)
	}
}

func (l *Loader) ok(what string) {
	if l.opt.Metrics != nil {
		l.opt.Metrics.Reloads.WithLabelValues(what, "ok").Inc()
	}
	l.opt.Log.Info().Str("what", what).Msg("reloaded")
}

func (l *Loader) failed(what string, err error) {
	if l.opt.Metrics != nil {
		l.opt.Metrics.Reloads.WithLabelValues(what, "error").Inc()
	}
	ev := l.opt.Log.Error().Str("what", what)
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var list []string
		for _, e := range joined.Unwrap() {
			list = append(list, e.Error())
		}
		ev = ev.Strs("errors", list)
	} else {
		ev = ev.Err(err)
	}
	ev.Msg("reload rejected; the previous version stays in force")
}

// Watch reloads on every value from hup (SIGHUP) and, when interval > 0,
// whenever a file's size or mtime changes. It returns when ctx ends.
func (l *Loader) Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	var tick <-chan time.Time
	if interval > 0 && (l.opt.RulesFile != "" || l.opt.DictionaryDir != "") {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			l.opt.Log.Info().Msg("SIGHUP: reloading rules and dictionaries")
			l.Reload(ctx, true)
		case <-tick:
			l.Reload(ctx, false)
		}
	}
}

// fingerprint summarises path (a file or a directory tree) by the names and
// contents of its files. Contents, not mtimes: Kubernetes updates a mounted
// ConfigMap by swapping a symlink, which leaves the file's own symlink (and
// its Lstat mtime) untouched; reading follows the link. The files are small
// and the poll is every few seconds. "" (embedded) is 0.
func fingerprint(path string) (uint64, error) {
	if path == "" {
		return 0, nil
	}
	h := fnv.New64a()
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p) // follows symlinks
		if err != nil {
			if d.Type()&fs.ModeSymlink != 0 {
				if info, serr := os.Stat(p); serr == nil && info.IsDir() {
					return nil // a link to a directory (..data): its files are walked under their real names
				}
			}
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return h.Sum64(), err
}
