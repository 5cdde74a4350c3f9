package deploy_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	Cmd  string // upper case
	Args string
}

func parseDockerfile(t testing.TB, b []byte) []dockerInstr {
	t.Helper()
	var out []dockerInstr
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // comment inside a continued instruction
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

// dockerfileArgs returns the names of the Dockerfile's ARGs.
func dockerfileArgs(t testing.TB) []string {
	t.Helper()
	var args []string
	for _, in := range parseDockerfile(t, readFile(t, dockerfile)) {
		if in.Cmd == "ARG" {
			name, _, _ := strings.Cut(in.Args, "=")
			args = append(args, name)
		}
	}
	return args
}

// dockerBuildLines returns the `docker build` commands in text (README code
// blocks or the Dockerfile's comments), whitespace-normalised.
func dockerBuildLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		line = strings.TrimPrefix(line, "$ ")
		if strings.HasPrefix(line, "docker build ") || strings.HasPrefix(line, "docker buildx build ") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return out
}

var buildArgFlag = regexp.MustCompile(`--build-arg[ =]([A-Za-z_][A-Za-z0-9_]*)=`)

// buildCommandProblems checks a docker build command against the Dockerfile:
// its -f path, its build args and the build context.
func buildCommandProblems(cmd string, args []string) []string {
	var p []string
	if !strings.Contains(cmd, "-f deploy/Dockerfile") && !strings.Contains(cmd, "--file deploy/Dockerfile") {
		p = append(p, "does not use -f deploy/Dockerfile")
	}
	if !strings.HasSuffix(cmd, " .") {
		p = append(p, "does not build with the repository root (.) as context")
	}
	passed := buildArgFlag.FindAllStringSubmatch(cmd, -1)
	if len(passed) == 0 {
		p = append(p, "passes no --build-arg VERSION=...: the binary would report version dev")
	}
	for _, m := range passed {
		if !slices.Contains(args, m[1]) {
			p = append(p, "passes --build-arg "+m[1]+", which the Dockerfile does not declare")
		}
	}
	return p
}

func TestBuildCommandCheckerCatchesMistakes(t *testing.T) {
	args := []string{"GO_VERSION", "VERSION"}
	for cmd, want := range map[string]string{
		"docker build -f Dockerfile --build-arg VERSION=1 .":                "-f deploy/Dockerfile",
		"docker build -f deploy/Dockerfile --build-arg WIRETAG_VERSION=1 .": "does not declare",
		"docker build -f deploy/Dockerfile --build-arg VERSION=1 deploy":    "context",
		"docker build -f deploy/Dockerfile .":                               "no --build-arg",
	} {
		if p := strings.Join(buildCommandProblems(cmd, args), "; "); !strings.Contains(p, want) {
			t.Errorf("%s: problems %q, want %q", cmd, p, want)
		}
	}
}

func TestDockerfile(t *testing.T) {
	raw := readFile(t, dockerfile)
	ins := parseDockerfile(t, raw)
	args := dockerfileArgs(t)
	var froms []string
	var final []dockerInstr // instructions of the last stage
	for _, in := range ins {
		if in.Cmd == "FROM" {
			froms = append(froms, in.Args)
			final = nil
		}
		final = append(final, in)
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, FROM lines: %v", froms)
	}
	// The builder's Go matches go.mod's go directive (major.minor).
	goVersion := ""
	for _, in := range ins {
		if in.Cmd == "ARG" && strings.HasPrefix(in.Args, "GO_VERSION=") {
			goVersion = strings.TrimPrefix(in.Args, "GO_VERSION=")
		}
	}
	gomod := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, filepath.Join(repoRoot, "go.mod")))
	if gomod == nil || goVersion != string(gomod[1]) || !strings.Contains(froms[0], "golang:${GO_VERSION}") {
		t.Errorf("builder %q with GO_VERSION=%q, go.mod wants go %s", froms[0], goVersion, gomod[1])
	}
	last := froms[len(froms)-1]
	if !strings.Contains(last, "distroless/static") && last != "scratch" {
		t.Errorf("runtime image %q: want distroless static or scratch", last)
	}

	var build string
	for _, in := range ins {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			build = in.Args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "./cmd/wiretag", "-o /out/wiretag"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step lacks %q: %s", want, build)
		}
	}
	if !slices.Contains(args, "VERSION") {
		t.Error("no ARG VERSION for the version stamp")
	}
	// main.version is the variable the ldflag sets.
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "cmd", "wiretag", "main.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name.Name != "main" || f.Scope.Lookup("version") == nil || f.Scope.Lookup("version").Kind != ast.Var {
		t.Error("cmd/wiretag/main.go declares no package-level var version for -X main.version")
	}

	want := map[string]string{
		"COPY":       "--from=build /out/wiretag /wiretag",
		"USER":       "65532:65532",
		"EXPOSE":     httpPort(t, map[string]string{}),
		"ENTRYPOINT": `["/wiretag"]`,
		"CMD":        `["run"]`,
	}
	for _, in := range final {
		if w, ok := want[in.Cmd]; ok {
			if in.Args != w {
				t.Errorf("final stage %s %s, want %s", in.Cmd, in.Args, w)
			}
			delete(want, in.Cmd)
		}
	}
	for cmd, w := range want {
		t.Errorf("final stage has no %s %s", cmd, w)
	}

	// The build command documented in the Dockerfile is the one in deploy/README.md.
	inDockerfile := dockerBuildLines(string(raw))
	inReadme := dockerBuildLines(string(readFile(t, readmeFile)))
	if len(inDockerfile) != 1 {
		t.Fatalf("the Dockerfile documents %d docker build commands, want 1", len(inDockerfile))
	}
	if !slices.Contains(inReadme, inDockerfile[0]) {
		t.Errorf("deploy/README.md lacks the Dockerfile's build command\n  %s\nREADME has: %q", inDockerfile[0], inReadme)
	}
	for _, cmd := range append(inReadme, inDockerfile...) {
		for _, p := range buildCommandProblems(cmd, args) {
			t.Errorf("%s: %s", cmd, p)
		}
	}
}

// dockerignore is the matcher of .dockerignore patterns (Go filepath.Match
// syntax per path segment, ** for any number of segments, ! to re-include,
// the last matching pattern wins; a pattern matching a directory excludes
// everything below it).
type dockerignore struct {
	pats []*regexp.Regexp
	neg  []bool
}

func newDockerignore(text string) *dockerignore {
	d := &dockerignore{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		line = filepath.ToSlash(filepath.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/")))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		d.pats = append(d.pats, regexp.MustCompile(re.String()))
		d.neg = append(d.neg, neg)
	}
	return d
}

// excluded reports whether path (slash-separated, relative to the context) is
// left out of the build context.
func (d *dockerignore) excluded(path string) bool {
	parts := strings.Split(path, "/")
	out := false
	for i, re := range d.pats {
		for j := 1; j <= len(parts); j++ {
			if re.MatchString(strings.Join(parts[:j], "/")) {
				out = !d.neg[i]
				break
			}
		}
	}
	return out
}

func TestDockerignoreMatcher(t *testing.T) {
	d := newDockerignore("deploy\n**/testdata\n*.md\n!README.md\n/wiretag\n")
	for path, want := range map[string]bool{
		"deploy/Dockerfile":        true,
		"processor/x/testdata/a":   true,
		"testdata/gold/a.json":     true,
		"NOTES.md":                 true,
		"README.md":                false,
		"config/dictionaries/a.md": false,
		"wiretag":                  true,
		"cmd/wiretag/main.go":      false,
		"config/rules.yaml":        false,
	} {
		if got := d.excluded(path); got != want {
			t.Errorf("excluded(%s) = %v, want %v", path, got, want)
		}
	}
}

// .dockerignore leaves in every file the binary is built from: the Go and
// embedded files of every package of the module that cmd/wiretag imports.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	d := newDockerignore(string(readFile(t, filepath.Join(repoRoot, ".dockerignore"))))
	cmd := exec.Command("go", "list", "-deps", "-json", "./cmd/wiretag")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir        string
			Module     *struct{ Main bool }
			GoFiles    []string
			EmbedFiles []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(abs, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if d.excluded(f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
}

// splitWords splits a shell command line on blanks, honouring double and
// single quotes (enough for the Dockerfile's go build line).
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// The Dockerfile's go build step, run as written (ARGs substituted, output
// into a temp dir), builds a static binary that reports the version it was
// given. It takes about a minute from a cold build cache (-trimpath shares no
// cache with `go test`), so it runs only when DEPLOY_TEST_IMAGE_BUILD=1.
func TestDockerfileBuildStepProducesStampedStaticBinary(t *testing.T) {
	if os.Getenv("DEPLOY_TEST_IMAGE_BUILD") != "1" {
		t.Skip("set DEPLOY_TEST_IMAGE_BUILD=1 to run the Dockerfile's go build step (about a minute from a cold cache)")
	}
	var run string
	for _, in := range parseDockerfile(t, readFile(t, dockerfile)) {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			run = in.Args
		}
	}
	out := filepath.Join(t.TempDir(), "wiretag")
	const version = "deploy-test-1.2.3"
	words := splitWords(strings.NewReplacer("${VERSION}", version, "${TARGETOS}", runtime.GOOS,
		"${TARGETARCH}", runtime.GOARCH, "/out/wiretag", out).Replace(run))
	var env, argv []string
	for _, w := range words {
		switch {
		case len(argv) == 0 && strings.HasPrefix(w, "--mount="):
		case len(argv) == 0 && strings.Contains(w, "=") && w != "go":
			env = append(env, w)
		default:
			argv = append(argv, w)
		}
	}
	if len(argv) < 2 || argv[0] != "go" || argv[1] != "build" {
		t.Fatalf("cannot find the go build command in %q", run)
	}
	cmd := exec.Command("go", argv[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v %v: %v\n%s", env, argv, err, b)
	}
	got, err := exec.Command(out, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != version {
		t.Errorf("wiretag version printed %q, want %q", got, version)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v): it would not run on distroless/static", p.Type)
		}
	}
}

// The Dockerfile parses with BuildKit's own Dockerfile frontend (what
// `docker build` runs), instruction flags included, and its linter (the
// checks of `docker build --check`) finds nothing.
func TestDockerfileParsesWithBuildKit(t *testing.T) {
	res, err := dfparser.Parse(bytes.NewReader(readFile(t, dockerfile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s %v", w.Short, w.Detail)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []dfparser.Range) {
		t.Errorf("lint %s: %s (line %v)", rule, msg, loc)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Name != "build" {
		t.Fatalf("stages %d, first named %q: want a build stage and a runtime stage", len(stages), stages[0].Name)
	}
	if len(metaArgs) != 1 || metaArgs[0].Args[0].Key != "GO_VERSION" {
		t.Errorf("global ARGs %+v, want GO_VERSION", metaArgs)
	}
	var copied bool
	for _, c := range stages[1].Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == stages[0].Name {
			copied = true
		}
	}
	if !copied {
		t.Error("the runtime stage copies nothing from the build stage")
	}
}
