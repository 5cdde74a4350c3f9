// Package deploy_test keeps the deployment files in deploy/ true to the code
// and to the tools that will read them:
//
//   - Kubernetes: every manifest decodes strictly into the API types; kustomize
//     (its library) builds the base, the example overlay and the overlay with
//     the KEDA component; the rendered pod passes Pod Security Admission's
//     restricted checks; a ConfigMap update replayed the kubelet's way is
//     reloaded by the processor (k8s_test.go).
//   - Every WIRETAG_* variable named in deploy/ exists in config.Config, the
//     required ones are set, and the values pass config.LoadFrom
//     (deploy_test.go, compose_test.go, k8s_test.go).
//   - compose.yaml loads with compose-go and creates every topic wiretag needs
//     (compose_test.go).
//   - The Prometheus rules and the Grafana dashboard parse (PromQL parser,
//     Grafana's schema) and use only metrics, labels and values that a live
//     /metrics scrape of the processor shows (prometheus_test.go).
//   - The Dockerfile parses with BuildKit, builds what it claims, and its build
//     command is the one in deploy/README.md (docker_test.go).
//
// Nothing here needs a network, a container engine or a cluster.
package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wiretag/wiretag/config"
)

// Paths, relative to this package's directory (deploy/).
const (
	repoRoot      = ".."
	composeFile   = "compose.yaml"
	dockerfile    = "Dockerfile"
	readmeFile    = "README.md"
	alertsFile    = "prometheus/alerts.yaml"
	dashboardFile = "grafana/wiretag-dashboard.json"
	k8sDir        = "kubernetes"
	baseDir       = "kubernetes/base"
	overlayDir    = "kubernetes/overlays/example"
	kedaDir       = "kubernetes/components/keda-autoscaling"
)

// requiredVars must be set explicitly wherever wiretag is deployed: their
// defaults (localhost, generic topic names) are never right in a deployment.
var requiredVars = []string{
	"WIRETAG_BROKERS",
	"WIRETAG_INPUT_TOPIC",
	"WIRETAG_ENRICHED_TOPIC",
	"WIRETAG_DEAD_LETTER_TOPIC",
	"WIRETAG_GROUP_ID",
}

// configVars returns every variable config.Config reads, with its default,
// by reflecting over the struct's env tags.
func configVars(t testing.TB) map[string]string {
	t.Helper()
	vars := map[string]string{}
	rt := reflect.TypeFor[config.Config]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, ok := f.Tag.Lookup("env")
		if !ok || name == "" {
			t.Fatalf("config.Config.%s has no env tag", f.Name)
		}
		vars[name] = f.Tag.Get("envDefault")
	}
	if len(vars) < len(requiredVars) {
		t.Fatalf("config.Config has only %d env tags", len(vars))
	}
	return vars
}

var wiretagVar = regexp.MustCompile(`\bWIRETAG_[A-Z0-9_]+`)

// unknownVars returns the WIRETAG_* names in text (anywhere: keys, values,
// comments, scripts) that config.Config does not read.
func unknownVars(text string, known map[string]string) []string {
	var bad []string
	for _, v := range wiretagVar.FindAllString(text, -1) {
		if _, ok := known[v]; !ok && !slices.Contains(bad, v) {
			bad = append(bad, v)
		}
	}
	sort.Strings(bad)
	return bad
}

// missingRequired returns the required variables that env does not set.
func missingRequired(env map[string]string) []string {
	var miss []string
	for _, v := range requiredVars {
		if strings.TrimSpace(env[v]) == "" {
			miss = append(miss, v)
		}
	}
	return miss
}

// validateEnv loads env through config.LoadFrom, the processor's own parser
// and validator. Paths inside the container are first mapped to local files
// or directories (mounts maps a container directory to a local one).
func validateEnv(t testing.TB, env map[string]string, mounts map[string]string) (config.Config, error) {
	t.Helper()
	local := map[string]string{}
	for k, v := range env {
		for in, out := range mounts {
			if v == in || strings.HasPrefix(v, in+"/") {
				v = filepath.Join(out, strings.TrimPrefix(v, in))
				break
			}
		}
		local[k] = v
	}
	return config.LoadFrom(local)
}

// durationVar returns the effective duration of a variable: env's value or
// config.Config's default.
func durationVar(t testing.TB, env map[string]string, name string) time.Duration {
	t.Helper()
	v, ok := env[name]
	if !ok {
		v = configVars(t)[name]
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitYAMLDocs splits a multi-document YAML file, dropping empty documents.
func splitYAMLDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// The checkers must be able to fail: a misspelt variable, a missing required
// one and an invalid value are each caught.
func TestEnvCheckersCatchMistakes(t *testing.T) {
	known := configVars(t)
	bad := unknownVars("env:\n  WIRETAG_BROKERS: kafka:9092\n  WIRETAG_BROKER_LIST: x\n# WIRETAG_GROUPID in a comment\n", known)
	if !slices.Equal(bad, []string{"WIRETAG_BROKER_LIST", "WIRETAG_GROUPID"}) {
		t.Errorf("unknownVars = %v, want the two misspelt names", bad)
	}
	if miss := missingRequired(map[string]string{"WIRETAG_BROKERS": "k:9092", "WIRETAG_INPUT_TOPIC": " "}); len(miss) != len(requiredVars)-1 {
		t.Errorf("missingRequired = %v, want all but WIRETAG_BROKERS", miss)
	}
	if _, err := validateEnv(t, map[string]string{"WIRETAG_BROKERS": "kafka", "WIRETAG_SHUTDOWN_TIMEOUT": "20"}, nil); err == nil ||
		!strings.Contains(err.Error(), "WIRETAG_BROKERS") || !strings.Contains(err.Error(), "WIRETAG_SHUTDOWN_TIMEOUT") {
		t.Errorf("validateEnv accepted a broker without port and a duration without unit: %v", err)
	}
	if _, err := validateEnv(t, map[string]string{"WIRETAG_RULES_FILE": "/etc/wiretag/config/rules.yaml"},
		map[string]string{"/etc/wiretag/config": filepath.Join(repoRoot, "config")}); err != nil {
		t.Errorf("mapped rules file not found: %v", err)
	}
}

// Every WIRETAG_* name anywhere in deploy/ (compose, manifests, patches,
// components, README) is a variable config.Config reads.
func TestEveryWiretagVariableExists(t *testing.T) {
	known := configVars(t)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "local-kafka" || path == filepath.Join(baseDir, "config")) {
			return filepath.SkipDir // another engineer's tooling; copies of config/
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".md", ".json":
		default:
			if filepath.Base(path) != "Dockerfile" {
				return nil
			}
		}
		bad := unknownVars(string(readFile(t, path)), known)
		if filepath.Ext(path) == ".md" {
			// Prose may name the test harness's variables (processor/kafkatest).
			bad = slices.DeleteFunc(bad, func(v string) bool { return strings.HasPrefix(v, "WIRETAG_TEST_") })
		}
		if len(bad) > 0 {
			t.Errorf("%s names variables config.Config does not read: %s", path, strings.Join(bad, ", "))
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
