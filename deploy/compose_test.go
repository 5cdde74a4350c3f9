package deploy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"go.yaml.in/yaml/v3"

	"github.com/wiretag/wiretag/processor/rules"
)

// composeSpec is the subset of the Compose specification deploy/compose.yaml
// uses. It is decoded with unknown keys rejected, so a misspelt key (which
// docker compose would reject too) fails here.
type composeSpec struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string              `yaml:"image"`
	Hostname    string              `yaml:"hostname"`
	Build       *composeBuild       `yaml:"build"`
	Profiles    []string            `yaml:"profiles"`
	DependsOn   composeDependsOn    `yaml:"depends_on"`
	Entrypoint  []string            `yaml:"entrypoint"`
	Command     []string            `yaml:"command"`
	Environment map[string]string   `yaml:"environment"`
	Ports       []string            `yaml:"ports"`
	Volumes     []string            `yaml:"volumes"`
	Healthcheck *composeHealthcheck `yaml:"healthcheck"`
	StopGrace   string              `yaml:"stop_grace_period"`
	Restart     string              `yaml:"restart"`
	ReadOnly    bool                `yaml:"read_only"`
	SecurityOpt []string            `yaml:"security_opt"`
	CapDrop     []string            `yaml:"cap_drop"`
}

type composeBuild struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

// composeDependsOn accepts both forms: a list of names or a map name -> condition.
type composeDependsOn map[string]composeDependency

func (d *composeDependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = composeDependsOn{}
	if n.Kind == yaml.SequenceNode {
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		for _, s := range names {
			(*d)[s] = composeDependency{Condition: "service_started"}
		}
		return nil
	}
	m := map[string]composeDependency{}
	if err := decodeStrictNode(n, &m); err != nil {
		return err
	}
	*d = m
	return nil
}

func decodeStrictNode(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func loadCompose(t testing.TB, b []byte) composeSpec {
	t.Helper()
	var c composeSpec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c
}

// topicCreate matches the topic-creation script's "create <topic> <partitions>".
var topicCreate = regexp.MustCompile(`(?m)^\s*create\s+(\S+)\s+(\d+)\s*$`)

// composeTopics returns topic -> partitions created by the topics service.
func composeTopics(t testing.TB, c composeSpec) map[string]int {
	t.Helper()
	svc, ok := c.Services["topics"]
	if !ok {
		t.Fatal("compose: no topics service")
	}
	script := strings.Join(svc.Command, "\n")
	out := map[string]int{}
	for _, m := range topicCreate.FindAllStringSubmatch(script, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	if len(out) == 0 {
		t.Fatalf("compose: the topics service creates no topic:\n%s", script)
	}
	return out
}

// inputPartitions is the partition count of the input topic in the compose
// stack: the upper bound of useful replicas everywhere in deploy/.
func inputPartitions(t testing.TB) int {
	t.Helper()
	c := loadCompose(t, readFile(t, composeFile))
	n := composeTopics(t, c)[c.Services["wiretag"].Environment["WIRETAG_INPUT_TOPIC"]]
	if n < 1 {
		t.Fatal("compose: the input topic is not created")
	}
	return n
}

// A misspelt key in the compose file is rejected.
func TestComposeDecoderRejectsUnknownKeys(t *testing.T) {
	var c composeSpec
	dec := yaml.NewDecoder(strings.NewReader("services:\n  wiretag:\n    stop_grace_perod: 30s\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("a misspelt compose key was accepted")
	}
}

func TestCompose(t *testing.T) {
	raw := readFile(t, composeFile)
	c := loadCompose(t, raw)
	for _, name := range []string{"kafka", "topics", "wiretag", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose: service %s missing", name)
		}
	}
	kafka, topics, wt := c.Services["kafka"], c.Services["topics"], c.Services["wiretag"]

	t.Run("kafka", func(t *testing.T) {
		if !strings.HasPrefix(kafka.Image, "apache/kafka:4.1.") || topics.Image != kafka.Image {
			t.Errorf("kafka image %q, topics image %q: want the official apache/kafka:4.1.x for both", kafka.Image, topics.Image)
		}
		env := kafka.Environment
		if !strings.Contains(env["KAFKA_PROCESS_ROLES"], "broker") || !strings.Contains(env["KAFKA_PROCESS_ROLES"], "controller") {
			t.Errorf("KAFKA_PROCESS_ROLES=%q: want a combined KRaft node", env["KAFKA_PROCESS_ROLES"])
		}
		if !strings.Contains(env["KAFKA_ADVERTISED_LISTENERS"], "//kafka:9092") {
			t.Errorf("KAFKA_ADVERTISED_LISTENERS=%q does not advertise kafka:9092 to the other containers", env["KAFKA_ADVERTISED_LISTENERS"])
		}
		if env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] != "1" {
			t.Error("a single node needs KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 or consumer groups never work")
		}
		if kafka.Healthcheck == nil {
			t.Error("kafka has no healthcheck; the topics service cannot wait for it")
		}
	})

	t.Run("topics", func(t *testing.T) {
		if topics.DependsOn["kafka"].Condition != "service_healthy" {
			t.Errorf("topics must wait for kafka to be healthy, depends_on = %v", topics.DependsOn)
		}
		if wt.DependsOn["topics"].Condition != "service_completed_successfully" {
			t.Errorf("wiretag must wait for the topics to exist, depends_on = %v", wt.DependsOn)
		}
		created := composeTopics(t, c)
		want := []string{wt.Environment["WIRETAG_INPUT_TOPIC"], wt.Environment["WIRETAG_ENRICHED_TOPIC"], wt.Environment["WIRETAG_DEAD_LETTER_TOPIC"]}
		// wiretag refuses to start when an alert topic of its rules is missing.
		rulesPath := mapComposePath(t, wt, wt.Environment["WIRETAG_RULES_FILE"])
		rs, err := rules.Parse(rulesPath, readFile(t, rulesPath), nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rs.Topics()...)
		for _, topic := range want {
			if created[topic] == 0 {
				t.Errorf("topic %s is not created by the topics service (creates %v)", topic, created)
			}
		}
		if created[wt.Environment["WIRETAG_INPUT_TOPIC"]] < 2 {
			t.Error("the input topic needs several partitions to show scaling")
		}
		// $ must be doubled in compose or it is interpolated away.
		script := strings.Join(topics.Command, "\n")
		if regexp.MustCompile(`(^|[^$])\$[0-9a-zA-Z_{]`).MatchString(script) {
			t.Errorf("the topics script has a single $ that compose would interpolate:\n%s", script)
		}
	})

	t.Run("wiretag", func(t *testing.T) {
		if unknown := unknownVars(string(raw), configVars(t)); len(unknown) > 0 {
			t.Errorf("unknown variables: %v", unknown)
		}
		if miss := missingRequired(wt.Environment); len(miss) > 0 {
			t.Errorf("required variables not set: %v", miss)
		}
		mounts := composeMounts(t, wt)
		if _, err := validateEnv(t, wt.Environment, mounts); err != nil {
			t.Errorf("wiretag's environment does not validate: %v", err)
		}
		grace, err := time.ParseDuration(wt.StopGrace)
		if err != nil {
			t.Fatalf("stop_grace_period %q: %v", wt.StopGrace, err)
		}
		if shutdown := durationVar(t, wt.Environment, "WIRETAG_SHUTDOWN_TIMEOUT"); grace <= shutdown {
			t.Errorf("stop_grace_period %s must exceed WIRETAG_SHUTDOWN_TIMEOUT %s", grace, shutdown)
		}
		if wt.Build == nil || filepath.Join(wt.Build.Context, wt.Build.Dockerfile) != filepath.Join(repoRoot, "deploy", dockerfile) {
			t.Errorf("wiretag must be built from the repository root with deploy/Dockerfile: %+v", wt.Build)
		}
		args := dockerfileArgs(t)
		for a := range wt.Build.Args {
			if !slices.Contains(args, a) {
				t.Errorf("compose passes build arg %s, which the Dockerfile does not declare (%v)", a, args)
			}
		}
		port := httpPort(t, wt.Environment)
		if !slices.ContainsFunc(wt.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
			t.Errorf("port %s of WIRETAG_HTTP_ADDR is not published: %v", port, wt.Ports)
		}
	})

	t.Run("monitoring", func(t *testing.T) {
		for _, name := range []string{"prometheus", "grafana"} {
			s := c.Services[name]
			if !slices.Contains(s.Profiles, "monitoring") {
				t.Errorf("%s is not under the monitoring profile", name)
			}
			for _, v := range s.Volumes {
				host := strings.Split(v, ":")[0]
				if _, err := os.Stat(host); err != nil {
					t.Errorf("%s mounts %s: %v", name, host, err)
				}
			}
		}
		prom := c.Services["prometheus"]
		if !slices.ContainsFunc(prom.Volumes, func(v string) bool { return strings.HasPrefix(v, "./"+alertsFile+":") }) {
			t.Errorf("prometheus does not mount %s", alertsFile)
		}
		if !slices.ContainsFunc(c.Services["grafana"].Volumes, func(v string) bool { return strings.HasPrefix(v, "./"+dashboardFile+":") }) {
			t.Errorf("grafana does not mount %s", dashboardFile)
		}
		// prometheus.yml loads the mounted rules and scrapes wiretag's port.
		pcfg := string(readFile(t, "prometheus/prometheus.yml"))
		if !strings.Contains(pcfg, "wiretag:"+httpPort(t, wt.Environment)) {
			t.Errorf("prometheus.yml does not scrape wiretag:%s", httpPort(t, wt.Environment))
		}
		if !strings.Contains(pcfg, "/etc/prometheus/rules/") {
			t.Error("prometheus.yml does not load the rules directory alerts.yaml is mounted in")
		}
	})
}

// composeMounts maps the container directories of svc's bind mounts to the
// local directories (relative to deploy/).
func composeMounts(t testing.TB, svc composeService) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !(strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")) {
			continue
		}
		m[parts[1]] = parts[0]
	}
	return m
}

func mapComposePath(t testing.TB, svc composeService, p string) string {
	t.Helper()
	for in, out := range composeMounts(t, svc) {
		if strings.HasPrefix(p, in+"/") {
			return filepath.Join(out, strings.TrimPrefix(p, in))
		}
	}
	t.Fatalf("%s is not under a bind mount of the service", p)
	return ""
}

// httpPort is the port of WIRETAG_HTTP_ADDR in env (or its default).
func httpPort(t testing.TB, env map[string]string) string {
	t.Helper()
	addr, ok := env["WIRETAG_HTTP_ADDR"]
	if !ok {
		addr = configVars(t)["WIRETAG_HTTP_ADDR"]
	}
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("WIRETAG_HTTP_ADDR=%q has no port", addr)
	}
	return addr[i+1:]
}

// compose.yaml is a valid Compose project for the Compose specification's
// own loader (compose-go, which `docker compose` uses): schema, interpolation,
// profiles, dependencies. A broken file is reported here, not on a laptop.
func TestComposeLoadsWithComposeGo(t *testing.T) {
	for _, profiles := range [][]string{nil, {"monitoring"}} {
		opts, err := cli.NewProjectOptions([]string{composeFile}, cli.WithProfiles(profiles), cli.WithEnv([]string{}))
		if err != nil {
			t.Fatal(err)
		}
		p, err := opts.LoadProject(context.Background())
		if err != nil {
			t.Fatalf("profiles %v: %v", profiles, err)
		}
		want := 3 + 2*len(profiles)
		if len(p.Services) != want {
			t.Errorf("profiles %v: %d services, want %d", profiles, len(p.Services), want)
		}
		wt, ok := p.Services["wiretag"]
		if !ok {
			t.Fatal("no wiretag service")
		}
		root, _ := filepath.Abs(repoRoot)
		if wt.Build == nil || wt.Build.Context != root || wt.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("wiretag build %+v: want context %s, dockerfile deploy/Dockerfile", wt.Build, root)
		}
		// After interpolation the topic script still has its shell variables.
		if script := strings.Join(p.Services["topics"].Command, "\n"); !strings.Contains(script, `"$1"`) || !strings.Contains(script, `"$2"`) {
			t.Errorf("the topics script lost its shell variables to interpolation:\n%s", script)
		}
		if wt.StopGracePeriod == nil || time.Duration(*wt.StopGracePeriod) <= durationVar(t, map[string]string(wt.Environment.ToMapping()), "WIRETAG_SHUTDOWN_TIMEOUT") {
			t.Errorf("stop_grace_period %v is not above the shutdown timeout", wt.StopGracePeriod)
		}
	}
}

// Grafana's provisioning finds the dashboard where compose mounts it, and the
// home dashboard setting points at the same file.
func TestGrafanaProvisioning(t *testing.T) {
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name           string `yaml:"name"`
			Folder         string `yaml:"folder"`
			Type           string `yaml:"type"`
			AllowUIUpdates bool   `yaml:"allowUiUpdates"`
			Options        struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string `yaml:"name"`
			UID       string `yaml:"uid"`
			Type      string `yaml:"type"`
			Access    string `yaml:"access"`
			URL       string `yaml:"url"`
			IsDefault bool   `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	for path, v := range map[string]any{
		"grafana/provisioning/dashboards/wiretag.yaml":     &prov,
		"grafana/provisioning/datasources/prometheus.yaml": &ds,
	} {
		dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	c := loadCompose(t, readFile(t, composeFile))
	g := c.Services["grafana"]
	var target string
	for _, v := range g.Volumes {
		if parts := strings.Split(v, ":"); parts[0] == "./"+dashboardFile {
			target = parts[1]
		}
	}
	if len(prov.Providers) != 1 || filepath.Dir(target) != prov.Providers[0].Options.Path {
		t.Errorf("the dashboard is mounted at %s, the provider reads %+v", target, prov.Providers)
	}
	if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != target {
		t.Errorf("home dashboard %s, mounted at %s", home, target)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !strings.Contains(ds.Datasources[0].URL, "prometheus:9090") {
		t.Errorf("datasource %+v does not point at the compose prometheus", ds.Datasources)
	}
}
