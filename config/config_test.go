package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

//go:generate env WIRETAG_UPDATE_README=1 go test -run TestREADMETable .

func TestDefaultsValid(t *testing.T) {
	c, err := LoadFrom(nil)
	if err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.RequiredAcks != "all" || c.Balancer != "hash" || c.TLSInsecureSkipVerify || c.WriteBatchTimeout != time.Millisecond {
		t.Fatalf("unsafe default: %+v", c)
	}
	if c.FetchWait > time.Second {
		t.Fatalf("fetch wait %s makes shutdown slow", c.FetchWait)
	}
}

func TestEveryFieldDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range (Config{}).Vars() {
		if !strings.HasPrefix(v.Name, "WIRETAG_") {
			t.Errorf("field without a WIRETAG_ env tag: %+v", v)
		}
		if len(v.Desc) < 10 {
			t.Errorf("%s: no desc", v.Name)
		}
		if seen[v.Name] {
			t.Errorf("%s twice", v.Name)
		}
		seen[v.Name] = true
	}
}

// Validation reports every problem at once, each naming its variable.
func TestValidationReportsEveryProblem(t *testing.T) {
	_, err := LoadFrom(map[string]string{
		"WIRETAG_BROKERS":             "nohostport",
		"WIRETAG_INPUT_TOPIC":         "bad topic",
		"WIRETAG_ENRICHED_TOPIC":      "same",
		"WIRETAG_DEAD_LETTER_TOPIC":   "same",
		"WIRETAG_WORKERS":             "-1",
		"WIRETAG_BATCH_SIZE":          "0",
		"WIRETAG_BATCH_WAIT":          "soon",
		"WIRETAG_WRITE_BATCH_TIMEOUT": "2s",
		"WIRETAG_REQUIRED_ACKS":       "maybe",
		"WIRETAG_BALANCER":            "roundrobin",
		"WIRETAG_COMPRESSION":         "brotli",
		"WIRETAG_LOG_FORMAT":          "xml",
		"WIRETAG_SASL_MECHANISM":      "SCRAM-SHA-512",
		"WIRETAG_TLS_CERT_FILE":       "/nonexistent/cert.pem",
		"WIRETAG_RULES_FILE":          "/nonexistent/rules.yaml",
		"WIRETAG_MAX_MESSAGE_BYTES":   "20000000",
		"WIRETAG_RETRY_ATTEMPTS":      "x",
		"WIRETAG_MEMORY_LIMIT_MB":     "8",
		"WIRETAG_GC_PERCENT":          "0",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, v := range []string{
		"WIRETAG_BROKERS", "WIRETAG_INPUT_TOPIC", "WIRETAG_DEAD_LETTER_TOPIC", "WIRETAG_WORKERS",
		"WIRETAG_BATCH_SIZE", "WIRETAG_BATCH_WAIT", "WIRETAG_WRITE_BATCH_TIMEOUT", "WIRETAG_REQUIRED_ACKS",
		"WIRETAG_BALANCER", "WIRETAG_COMPRESSION", "WIRETAG_LOG_FORMAT", "WIRETAG_SASL_USERNAME",
		"WIRETAG_SASL_PASSWORD", "WIRETAG_TLS_CERT_FILE", "WIRETAG_RULES_FILE", "WIRETAG_FETCH_MAX_BYTES",
		"WIRETAG_RETRY_ATTEMPTS", "WIRETAG_TLS_ENABLED", "WIRETAG_MEMORY_LIMIT_MB", "WIRETAG_GC_PERCENT",
	} {
		if !strings.Contains(msg, v) {
			t.Errorf("error does not name %s:\n%s", v, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n < 20 {
		t.Errorf("only %d problems reported:\n%s", n, msg)
	}
}

func TestSASLPlainNeedsTLS(t *testing.T) {
	_, err := LoadFrom(map[string]string{"WIRETAG_SASL_MECHANISM": "PLAIN", "WIRETAG_SASL_USERNAME": "u", "WIRETAG_SASL_PASSWORD": "p"})
	if err == nil || !strings.Contains(err.Error(), "WIRETAG_TLS_ENABLED") {
		t.Fatalf("PLAIN without TLS accepted: %v", err)
	}
}

// The password appears nowhere a Config can be printed or logged.
func TestSecretsRedacted(t *testing.T) {
	const secret = "hunter2-very-secret"
	c, err := LoadFrom(map[string]string{
		"WIRETAG_SASL_MECHANISM": "SCRAM-SHA-512", "WIRETAG_SASL_USERNAME": "svc", "WIRETAG_SASL_PASSWORD": secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.SASLPassword != secret {
		t.Fatal("password not loaded")
	}
	r := c.Redacted()
	js, _ := json.Marshal(c)
	for what, s := range map[string]string{
		"String":   c.String(),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", c),
		"Redacted": fmt.Sprintf("%#v", r),
		"JSON":     string(js),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the password: %s", what, s)
		}
	}
	for _, v := range c.Vars() {
		if v.Name == "WIRETAG_SASL_PASSWORD" && v.Value != "***" {
			t.Errorf("Vars shows %q", v.Value)
		}
	}
}

// The README's configuration table is generated from the struct; this
// fails when they drift. Regenerate with `go generate ./config`.
func TestREADMETable(t *testing.T) {
	const path = "../README.md"
	const start, end = "<!-- config-table:start -->\n", "<!-- config-table:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no README: %v", err)
	}
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", strings.TrimSpace(start), end)
	}
	want := MarkdownTable()
	got := s[i+len(start) : j]
	if got == want {
		return
	}
	if os.Getenv("WIRETAG_UPDATE_README") == "1" {
		s = s[:i+len(start)] + want + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md table regenerated")
		return
	}
	t.Fatalf("README.md configuration table is out of date; run `go generate ./config`.\nwant:\n%s", want)
}
