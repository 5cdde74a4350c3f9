package deploy_test

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/reload"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes/base/config from config/")

// typeMeta is read first to pick the Go type of a manifest.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// KEDA's CRDs are not in k8s.io/api, and its Go module is far too heavy to
// import for a test. These mirror the fields of keda.sh/v1alpha1 that the
// example uses, as declared in kedacore/keda apis/keda/v1alpha1
// (scaledobject_types.go, scaletriggers_types.go,
// triggerauthentication_types.go); strict decoding into them still catches a
// misspelt or misplaced field.
type kedaScaledObject struct {
	typeMeta   `json:",inline"`
	ObjectMeta struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			Name                   string `json:"name"`
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval  *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod   *int32 `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount *int32 `json:"idleReplicaCount,omitempty"`
		MinReplicaCount  *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount  *int32 `json:"maxReplicaCount,omitempty"`
		Advanced         *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
				Name     string                                         `json:"name,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
			RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
			MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
		} `json:"triggers"`
		Fallback *struct {
			FailureThreshold int32 `json:"failureThreshold"`
			Replicas         int32 `json:"replicas"`
		} `json:"fallback,omitempty"`
	} `json:"spec"`
}

type kedaTriggerAuthentication struct {
	typeMeta   `json:",inline"`
	ObjectMeta struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef,omitempty"`
	} `json:"spec"`
}

// kustomization mirrors the fields of kustomize.config.k8s.io Kustomization
// and Component that deploy/ uses (strictly: a misspelt field fails).
type kustomization struct {
	typeMeta   `json:",inline"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Components []string `json:"components,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path   string `json:"path,omitempty"`
		Patch  string `json:"patch,omitempty"`
		Target *struct {
			Kind string `json:"kind,omitempty"`
			Name string `json:"name,omitempty"`
		} `json:"target,omitempty"`
	} `json:"patches,omitempty"`
	ConfigMapGenerator []struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior,omitempty"`
		Files    []string `json:"files,omitempty"`
		Options  *struct {
			DisableNameSuffixHash bool `json:"disableNameSuffixHash,omitempty"`
		} `json:"options,omitempty"`
	} `json:"configMapGenerator,omitempty"`
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// newObject returns a pointer to the Go type of apiVersion/kind.
func newObject(tm typeMeta) (any, error) {
	switch tm.APIVersion + "/" + tm.Kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "keda.sh/v1alpha1/ScaledObject":
		return &kedaScaledObject{}, nil
	case "keda.sh/v1alpha1/TriggerAuthentication":
		return &kedaTriggerAuthentication{}, nil
	case "kustomize.config.k8s.io/v1beta1/Kustomization", "kustomize.config.k8s.io/v1alpha1/Component":
		return &kustomization{}, nil
	}
	return nil, fmt.Errorf("no Go type for apiVersion %q kind %q", tm.APIVersion, tm.Kind)
}

// decodeManifest decodes one YAML document strictly: unknown or duplicate
// fields and wrong value types are errors.
func decodeManifest(doc []byte) (any, error) {
	if strings.HasPrefix(strings.TrimSpace(stripComments(string(doc))), "- ") {
		// A JSON 6902 patch (a list of operations), as kustomize patches take.
		var ops []jsonPatchOp
		if err := yaml.UnmarshalStrict(doc, &ops); err != nil {
			return nil, fmt.Errorf("JSON patch: %w", err)
		}
		for _, op := range ops {
			if !slices.Contains([]string{"add", "remove", "replace", "move", "copy", "test"}, op.Op) || !strings.HasPrefix(op.Path, "/") {
				return nil, fmt.Errorf("JSON patch: bad operation %+v", op)
			}
		}
		return &ops, nil
	}
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// manifests decodes every YAML file under dir (not the ConfigMap's data
// files) and returns the objects by path.
func manifests(t testing.TB, dir string) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == filepath.Join(baseDir, "config") {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Ext(path) != ".yaml" {
			return nil
		}
		for i, doc := range splitYAMLDocs(readFile(t, path)) {
			obj, err := decodeManifest(doc)
			if err != nil {
				t.Errorf("%s (document %d): %v", path, i+1, err)
				continue
			}
			out[path] = append(out[path], obj)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func only[T any](t testing.TB, objs map[string][]any, path string) T {
	t.Helper()
	var zero T
	list := objs[path]
	if len(list) != 1 {
		t.Fatalf("%s: %d objects, want 1", path, len(list))
	}
	o, ok := list[0].(T)
	if !ok {
		t.Fatalf("%s: %T, want %T", path, list[0], zero)
	}
	return o
}

// The strict decoder must reject what the API server would (or would
// silently drop): a misspelt field, a misplaced field, a wrong type.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelt field":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"misplaced field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          runAsNonRoot: true\n",
		"wrong type":       "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: http\n",
		"duplicate field":  "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"unknown kind":     "apiVersion: v1\nkind: Pod2\nmetadata: {name: x}\n",
		"keda typo":        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  maxReplicas: 3\n  triggers: []\n",
		"kustomize typo":   "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n",
		"bad json patch":   "- op: delete\n  path: /spec/replicas\n",
		"configmap option": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nconfigMapGenerator:\n  - name: x\n    options: {disableNameHash: true}\n",
	} {
		if _, err := decodeManifest([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := decodeManifest([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")); err != nil {
		t.Errorf("a valid Namespace was rejected: %v", err)
	}
}

// Every manifest decodes strictly, and every path a kustomization names
// exists; every manifest in a kustomization directory is used by it.
func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t, k8sDir)
	if len(objs) == 0 {
		t.Fatal("no manifests")
	}
	for path, list := range objs {
		k, ok := list[0].(*kustomization)
		if !ok || filepath.Base(path) != "kustomization.yaml" {
			continue
		}
		dir := filepath.Dir(path)
		used := map[string]bool{}
		check := func(what, p string, wantDir bool) {
			full := filepath.Join(dir, p)
			st, err := os.Stat(full)
			switch {
			case err != nil:
				t.Errorf("%s: %s %s: %v", path, what, p, err)
			case st.IsDir() != wantDir && what != "resource":
				t.Errorf("%s: %s %s: directory=%v", path, what, p, st.IsDir())
			case st.IsDir():
				if _, err := os.Stat(filepath.Join(full, "kustomization.yaml")); err != nil {
					t.Errorf("%s: %s %s has no kustomization.yaml", path, what, p)
				}
			}
			used[filepath.Clean(full)] = true
		}
		for _, r := range k.Resources {
			check("resource", r, false)
		}
		for _, c := range k.Components {
			check("component", c, true)
			ck := only[*kustomization](t, objs, filepath.Join(dir, c, "kustomization.yaml"))
			if ck.Kind != "Component" {
				t.Errorf("%s: component %s is a %s", path, c, ck.Kind)
			}
		}
		for _, p := range k.Patches {
			if p.Path == "" {
				continue
			}
			check("patch", p.Path, false)
			for _, o := range objs[filepath.Join(dir, p.Path)] {
				if d, ok := o.(*appsv1.Deployment); ok && d.Name != "wiretag" {
					t.Errorf("%s: patch %s targets Deployment %q, the base has wiretag", path, p.Path, d.Name)
				}
			}
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.Files {
				check("configMapGenerator file", f, false)
			}
		}
		// A manifest next to a kustomization but not named by it is never applied.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Clean(filepath.Join(dir, e.Name()))
			if !e.IsDir() && filepath.Ext(p) == ".yaml" && e.Name() != "kustomization.yaml" && !used[p] {
				t.Errorf("%s is not used by %s", p, path)
			}
		}
	}
}

// kustomizeBuild renders a kustomization directory with kustomize itself
// (the library behind `kubectl apply -k`) and decodes every resulting object
// strictly.
func kustomizeBuild(t testing.TB, dir string) []any {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if objs, ok := builds[dir]; ok {
		return objs
	}
	objs := kustomizeBuildUncached(t, dir)
	builds[dir] = objs
	return objs
}

var (
	buildMu sync.Mutex
	builds  = map[string][]any{}
)

func kustomizeBuildUncached(t testing.TB, dir string) []any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	for i, doc := range splitYAMLDocs(out) {
		obj, err := decodeManifest(doc)
		if err != nil {
			t.Errorf("kustomize build %s, object %d: %v", dir, i+1, err)
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

func find[T any](t testing.TB, objs []any, name string) T {
	t.Helper()
	var zero T
	for _, o := range objs {
		if x, ok := o.(T); ok {
			if name == "" || reflectName(o) == name {
				return x
			}
		}
	}
	t.Fatalf("no %T %q in the build", zero, name)
	return zero
}

func reflectName(o any) string {
	switch x := o.(type) {
	case interface{ GetName() string }:
		return x.GetName()
	case *kedaScaledObject:
		return x.ObjectMeta.Name
	case *kedaTriggerAuthentication:
		return x.ObjectMeta.Name
	}
	return ""
}

// deployments returns the Deployment as kustomize builds it from the base and
// from the example overlay.
func deployments(t testing.TB) (base, overlay *appsv1.Deployment) {
	t.Helper()
	return find[*appsv1.Deployment](t, kustomizeBuild(t, baseDir), "wiretag"),
		find[*appsv1.Deployment](t, kustomizeBuild(t, overlayDir), "wiretag")
}

// kedaOverlay writes a kustomization that adds the KEDA component to the
// example overlay, as deploy/README.md tells users to, and builds it.
func kedaOverlay(t testing.TB) []any {
	t.Helper()
	dir := t.TempDir()
	rel := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := filepath.Rel(dir, abs)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n",
		rel(overlayDir), rel(kedaDir))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return kustomizeBuildUncached(t, dir)
}

// kustomize builds the base, the example overlay, and the overlay with the
// KEDA component; what it renders decodes strictly, in one namespace, with
// every reference between the objects resolved.
func TestKustomizeBuild(t *testing.T) {
	for name, objs := range map[string][]any{
		"base":    kustomizeBuild(t, baseDir),
		"overlay": kustomizeBuild(t, overlayDir),
		"keda":    kedaOverlay(t),
	} {
		t.Run(name, func(t *testing.T) {
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[fmt.Sprintf("%T", o)]++
			}
			for _, want := range []string{"*v1.Deployment", "*v1.ConfigMap", "*v1.Secret", "*v1.Service", "*v1.PodDisruptionBudget"} {
				if kinds[want] != 1 {
					t.Errorf("%d objects of type %s, want 1 (%v)", kinds[want], want, kinds)
				}
			}
			d := find[*appsv1.Deployment](t, objs, "wiretag")
			if n := len(d.Spec.Template.Spec.Containers); n != 1 {
				t.Errorf("%d containers: a patch names a container the base does not have?", n)
			}
			cm := find[*corev1.ConfigMap](t, objs, "wiretag-config")
			for key := range configMapItems(t, d) {
				if _, ok := cm.Data[key]; !ok {
					t.Errorf("the volume projects key %s, which the built ConfigMap lacks", key)
				}
			}
			if name == "base" {
				return
			}
			if d.Namespace != "wiretag" || cm.Namespace != "wiretag" {
				t.Errorf("namespaces %q, %q: the overlay sets wiretag", d.Namespace, cm.Namespace)
			}
			if img := wiretagContainer(t, d).Image; !strings.Contains(img, "/") || !strings.Contains(img, ":") {
				t.Errorf("image %q: the overlay should set a registry and a tag", img)
			}
			if name == "keda" {
				so := find[*kedaScaledObject](t, objs, "wiretag")
				if so.Spec.ScaleTargetRef.Name != d.Name {
					t.Errorf("ScaledObject targets %s", so.Spec.ScaleTargetRef.Name)
				}
				if d.Spec.Replicas != nil {
					t.Errorf("with KEDA the Deployment still sets replicas (%d): every apply would fight the HPA", *d.Spec.Replicas)
				}
			}
		})
	}
}

// containerEnv returns the literal env of the wiretag container; values
// from Secrets become a placeholder.
func containerEnv(t testing.TB, d *appsv1.Deployment) map[string]string {
	t.Helper()
	c := wiretagContainer(t, d)
	env := map[string]string{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s set twice", e.Name)
		}
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "from-secret"
		case e.ValueFrom != nil:
			t.Errorf("%s: only literal values and secretKeyRef are checked", e.Name)
		default:
			env[e.Name] = e.Value
		}
	}
	return env
}

func wiretagContainer(t testing.TB, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == "wiretag" {
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatal("no wiretag container")
	return nil
}

func mountPath(t testing.TB, d *appsv1.Deployment, volume string) string {
	t.Helper()
	for _, m := range wiretagContainer(t, d).VolumeMounts {
		if m.Name == volume {
			if m.SubPath != "" {
				t.Errorf("volume %s is mounted with subPath: it would never see updates", volume)
			}
			return m.MountPath
		}
	}
	t.Fatalf("volume %s not mounted", volume)
	return ""
}

func TestDeployment(t *testing.T) {
	base, overlay := deployments(t)
	partitions := inputPartitions(t)
	known := configVars(t)

	for name, d := range map[string]*appsv1.Deployment{"base": base, "overlay": overlay} {
		t.Run(name, func(t *testing.T) {
			env := containerEnv(t, d)
			if miss := missingRequired(env); len(miss) > 0 {
				t.Errorf("required variables not set: %v", miss)
			}
			for v := range env {
				if _, ok := known[v]; !ok && strings.HasPrefix(v, "WIRETAG_") {
					t.Errorf("%s is not a config.Config variable", v)
				}
			}
			// The values validate with the processor's own config loader, with the
			// mounted ConfigMap (laid out like base/config) and Secret mapped to files.
			dir := t.TempDir()
			ca := filepath.Join(dir, "ca.crt")
			if err := os.WriteFile(ca, []byte("placeholder"), 0o600); err != nil {
				t.Fatal(err)
			}
			mounts := map[string]string{
				mountPath(t, d, "config"):       filepath.Join(baseDir, "config"),
				mountPath(t, d, "kafka-secret"): dir,
			}
			c, err := validateEnv(t, env, mounts)
			if err != nil {
				t.Errorf("the container's environment does not validate: %v", err)
			}

			if r := d.Spec.Replicas; r == nil || *r < 1 || int(*r) > partitions {
				t.Errorf("replicas %s: want 1..%d (the input topic's partitions)", ptrString(r), partitions)
			}
			shutdown := durationVar(t, env, "WIRETAG_SHUTDOWN_TIMEOUT")
			if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdown {
				t.Errorf("terminationGracePeriodSeconds %s must exceed WIRETAG_SHUTDOWN_TIMEOUT %s", ptrString(g), shutdown)
			}
			if c.Workers == 0 {
				t.Error("WIRETAG_WORKERS unset: runtime.NumCPU() would size the pool to the node, not the pod")
			}
			if cpu := wiretagContainer(t, d).Resources.Requests.Cpu(); int64(c.Workers) != cpu.Value() {
				t.Errorf("WIRETAG_WORKERS=%d, CPU request %s: size the worker pool to the request", c.Workers, cpu)
			}
		})
	}

	t.Run("pod", func(t *testing.T) {
		spec := base.Spec.Template.Spec
		c := wiretagContainer(t, base)
		port := httpPort(t, containerEnv(t, base))
		var httpPortNum int32
		for _, p := range c.Ports {
			if p.Name == "http" {
				httpPortNum = p.ContainerPort
			}
		}
		if strconv.Itoa(int(httpPortNum)) != port {
			t.Errorf("container port http=%d, WIRETAG_HTTP_ADDR port %s", httpPortNum, port)
		}
		for name, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			if pr == nil || pr.HTTPGet == nil {
				t.Errorf("%s probe missing", name)
				continue
			}
			want := map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}[name]
			if pr.HTTPGet.Path != want || pr.HTTPGet.Port != intstr.FromString("http") {
				t.Errorf("%s probe %s on %s, want %s on http", name, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), want)
			}
		}
		// The liveness check declares a loop dead after 60s of silence; the probe
		// must not be stricter than that by much, nor kill pods before startup.
		if lp := c.LivenessProbe; lp != nil && lp.PeriodSeconds*lp.FailureThreshold < 20 {
			t.Errorf("liveness probe gives up after %ds", lp.PeriodSeconds*lp.FailureThreshold)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				t.Errorf("no %s request", res)
			}
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			t.Error("no memory limit")
		}
		psc, sc := spec.SecurityContext, c.SecurityContext
		switch {
		case psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot:
			t.Error("pod securityContext.runAsNonRoot is not true")
		case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Error("pod seccompProfile is not RuntimeDefault")
		case psc.RunAsUser == nil || *psc.RunAsUser != 65532:
			t.Error("runAsUser is not 65532, the image's USER (distroless nonroot)")
		}
		switch {
		case sc == nil:
			t.Fatal("no container securityContext")
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Error("readOnlyRootFilesystem is not true")
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Error("allowPrivilegeEscalation is not false")
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
			t.Error("capabilities do not drop ALL")
		}
		ann := base.Spec.Template.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("pod scrape annotations %v do not point at :%s/metrics", ann, port)
		}
		sel := base.Spec.Selector.MatchLabels
		for k, v := range sel {
			if base.Spec.Template.Labels[k] != v {
				t.Errorf("selector %s=%s does not match the pod template", k, v)
			}
		}
		objs := manifests(t, baseDir)
		svc := only[*corev1.Service](t, objs, filepath.Join(baseDir, "service.yaml"))
		pdb := only[*policyv1.PodDisruptionBudget](t, objs, filepath.Join(baseDir, "pdb.yaml"))
		for name, s := range map[string]map[string]string{"service": svc.Spec.Selector, "pdb": pdb.Spec.Selector.MatchLabels} {
			for k, v := range s {
				if base.Spec.Template.Labels[k] != v {
					t.Errorf("%s selector %s=%s does not select the pods", name, k, v)
				}
			}
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
			t.Errorf("service ports %+v do not target the http port", svc.Spec.Ports)
		}
		if len(svc.Annotations) > 0 {
			t.Errorf("service has annotations %v: with the pods' prometheus.io annotations every pod is scraped twice", svc.Annotations)
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("PDB maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
		}
		if s := base.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxSurge == nil ||
			s.MaxUnavailable.IntValue()+s.MaxSurge.IntValue() != 1 {
			t.Errorf("rolling update %+v: replace one pod at a time (every step rebalances the group)", s)
		}
	})

	t.Run("secret", func(t *testing.T) {
		objs := manifests(t, baseDir)
		sec := only[*corev1.Secret](t, objs, filepath.Join(baseDir, "secret.yaml"))
		for _, e := range wiretagContainer(t, base).Env {
			if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
				if r.SecretKeyRef.Name != sec.Name {
					t.Errorf("%s reads Secret %s, the base has %s", e.Name, r.SecretKeyRef.Name, sec.Name)
				}
				if _, ok := sec.StringData[r.SecretKeyRef.Key]; !ok {
					t.Errorf("%s reads key %s, which the example Secret lacks", e.Name, r.SecretKeyRef.Key)
				}
			}
		}
		for k, v := range sec.StringData {
			if !strings.Contains(v, "CHANGE-ME") {
				t.Errorf("example Secret key %s holds something other than a placeholder", k)
			}
		}
		env := containerEnv(t, overlay)
		if ca := env["WIRETAG_TLS_CA_FILE"]; ca != "" {
			key := strings.TrimPrefix(ca, mountPath(t, overlay, "kafka-secret")+"/")
			if _, ok := sec.StringData[key]; !ok {
				t.Errorf("WIRETAG_TLS_CA_FILE=%s: key %s is not in the Secret", ca, key)
			}
		}
	})
}

// configFiles lists the rules and dictionary files of a config directory
// (the repository's config/ or its mirror in base/config), relative to it.
func configFiles(t testing.TB, dir string) []string {
	t.Helper()
	files := []string{"rules.yaml", "taxonomy.yaml"}
	dicts, err := filepath.Glob(filepath.Join(dir, "dictionaries", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dicts {
		files = append(files, filepath.Join("dictionaries", filepath.Base(d)))
	}
	sort.Strings(files)
	return files
}

// base/config mirrors config/ (the embedded defaults) file for file: a
// ConfigMap with stale copies would silently override newer dictionaries.
// Run `go test ./deploy -run TestConfigMapMirrorsEmbeddedConfig -update`
// after changing config/ to refresh the copies.
func TestConfigMapMirrorsEmbeddedConfig(t *testing.T) {
	src, dst := filepath.Join(repoRoot, "config"), filepath.Join(baseDir, "config")
	want := configFiles(t, src)
	if *update {
		if err := os.RemoveAll(dst); err != nil {
			t.Fatal(err)
		}
		for _, f := range want {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, f), readFile(t, filepath.Join(src, f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := configFiles(t, dst)
	if !slices.Equal(got, want) {
		t.Fatalf("%s has %v, config/ has %v; run: go test ./deploy -run TestConfigMapMirrorsEmbeddedConfig -update", dst, got, want)
	}
	for _, f := range want {
		if string(readFile(t, filepath.Join(src, f))) != string(readFile(t, filepath.Join(dst, f))) {
			t.Errorf("%s differs from config/%s; run: go test ./deploy -run TestConfigMapMirrorsEmbeddedConfig -update", filepath.Join(dst, f), f)
		}
	}

	// The generator lists exactly these files, and the Deployment projects every
	// key to the path the dictionary loader expects, nothing else.
	objs := manifests(t, baseDir)
	k := only[*kustomization](t, objs, filepath.Join(baseDir, "kustomization.yaml"))
	var gen []string
	for _, g := range k.ConfigMapGenerator {
		if g.Name != "wiretag-config" {
			continue
		}
		if g.Options == nil || !g.Options.DisableNameSuffixHash {
			t.Error("wiretag-config has a name hash suffix: every change would roll the Deployment instead of reloading")
		}
		for _, f := range g.Files {
			gen = append(gen, strings.TrimPrefix(f, "config/"))
		}
	}
	sort.Strings(gen)
	if !slices.Equal(gen, want) {
		t.Errorf("configMapGenerator files %v, want %v", gen, want)
	}
	base := only[*appsv1.Deployment](t, objs, filepath.Join(baseDir, "deployment.yaml"))
	items := configMapItems(t, base)
	var projected []string
	for key, path := range items {
		if filepath.Base(path) != key {
			t.Errorf("ConfigMap key %s projected to %s", key, path)
		}
		projected = append(projected, path)
	}
	sort.Strings(projected)
	if !slices.Equal(projected, want) {
		t.Errorf("the config volume projects %v, want %v (a key not listed in items is not mounted)", projected, want)
	}
	var size int
	for _, f := range want {
		size += len(readFile(t, filepath.Join(dst, f)))
	}
	if size > 900<<10 {
		t.Errorf("the ConfigMap would hold %d bytes; the API server's limit is 1 MiB", size)
	}
}

// configMapItems returns key -> path of the wiretag-config volume.
func configMapItems(t testing.TB, d *appsv1.Deployment) map[string]string {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "config" {
			if v.ConfigMap == nil || v.ConfigMap.Name != "wiretag-config" {
				t.Fatalf("volume config is not the wiretag-config ConfigMap: %+v", v.VolumeSource)
			}
			out := map[string]string{}
			for _, it := range v.ConfigMap.Items {
				out[it.Key] = it.Path
			}
			return out
		}
	}
	t.Fatal("no config volume")
	return nil
}

// kubeletWrite lays files out the way the kubelet's atomic writer updates a
// ConfigMap volume: a new timestamped directory, the ..data symlink swapped
// to it with a rename, and top-level symlinks through ..data.
func kubeletWrite(t testing.TB, dir, stamp string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		full := filepath.Join(dir, stamp, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(stamp, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for p := range files {
		top := strings.Split(filepath.ToSlash(p), "/")[0]
		if _, err := os.Lstat(filepath.Join(dir, top)); err != nil {
			if err := os.Symlink(filepath.Join("..data", top), filepath.Join(dir, top)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
}

// Changing the ConfigMap changes what wiretag uses without a restart: the
// volume as the Deployment mounts it, updated the way the kubelet updates it,
// is picked up by the processor's reload poll (rules and dictionaries).
func TestConfigMapUpdateReloadsWithoutRestart(t *testing.T) {
	base, _ := deployments(t)
	env := containerEnv(t, base)
	mount := mountPath(t, base, "config")
	items := configMapItems(t, base)

	files := func(rulesYAML []byte) map[string][]byte {
		m := map[string][]byte{}
		for key, path := range items {
			b := readFile(t, filepath.Join(baseDir, "config", path))
			if key == "rules.yaml" && rulesYAML != nil {
				b = rulesYAML
			}
			m[path] = b
		}
		return m
	}
	dir := t.TempDir()
	kubeletWrite(t, dir, "..2026_01_01_00_00_00.000000001", files(nil))

	local := func(p string) string {
		if !strings.HasPrefix(p, mount+"/") && p != mount {
			t.Fatalf("%s is not under the config mount %s", p, mount)
		}
		return filepath.Join(dir, strings.TrimPrefix(p, mount))
	}
	m := metrics.New("test")
	ctx := context.Background()
	l, err := reload.New(ctx, reload.Options{
		RulesFile: local(env["WIRETAG_RULES_FILE"]), DictionaryDir: local(env["WIRETAG_DICTIONARY_DIR"]),
		Log: zerolog.Nop(), Metrics: m,
	})
	if err != nil {
		t.Fatalf("the mounted ConfigMap does not load: %v", err)
	}
	before := len(l.Snapshot().Rules.Rules)

	// An edit of the rules in the ConfigMap: one more rule.
	rules := readFile(t, filepath.Join(baseDir, "config", "rules.yaml"))
	extra := "\n  - name: deploy-test-extra\n    description: Added by the reload test.\n    topic: wiretag.alerts.ceasefire\n    topics:\n      any: [ceasefire]\n"
	kubeletWrite(t, dir, "..2026_01_01_00_01_00.000000002", files(append(append([]byte{}, rules...), extra...)))
	l.Reload(ctx, false) // what the WIRETAG_RELOAD_INTERVAL poll does
	if got := len(l.Snapshot().Rules.Rules); got != before+1 {
		t.Fatalf("after the ConfigMap update %d rules are in force, want %d: the update was not picked up", got, before+1)
	}
	if ok := counterValue(t, m, "rules", "ok"); ok < 1 {
		t.Errorf("wiretag_reloads_total{what=rules,result=ok} = %v", ok)
	}

	// A broken edit is rejected and the previous rules stay.
	kubeletWrite(t, dir, "..2026_01_01_00_02_00.000000003", files([]byte("rules:\n  - name: [broken\n")))
	l.Reload(ctx, false)
	if got := len(l.Snapshot().Rules.Rules); got != before+1 {
		t.Errorf("a broken rules file replaced the rules in force (%d rules)", got)
	}
	if bad := counterValue(t, m, "rules", "error"); bad < 1 {
		t.Errorf("wiretag_reloads_total{what=rules,result=error} = %v after a broken update", bad)
	}
}

func counterValue(t testing.TB, m *metrics.Metrics, what, result string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Reloads.WithLabelValues(what, result).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// The KEDA example scales the consumer group the Deployment runs, on the
// input topic, never beyond its partitions.
func TestKEDAAutoscaling(t *testing.T) {
	objs := manifests(t, k8sDir)
	so := only[*kedaScaledObject](t, objs, filepath.Join(kedaDir, "scaledobject.yaml"))
	ta := only[*kedaTriggerAuthentication](t, objs, filepath.Join(kedaDir, "triggerauthentication.yaml"))
	_, overlay := deployments(t)
	env := containerEnv(t, overlay)
	if so.Spec.ScaleTargetRef.Name != overlay.Name {
		t.Errorf("ScaledObject targets %q, the Deployment is %q", so.Spec.ScaleTargetRef.Name, overlay.Name)
	}
	if mx := so.Spec.MaxReplicaCount; mx == nil || int(*mx) > inputPartitions(t) {
		t.Errorf("maxReplicaCount %s exceeds the input topic's %d partitions", ptrString(mx), inputPartitions(t))
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "kafka" {
		t.Fatalf("want one kafka trigger, got %+v", so.Spec.Triggers)
	}
	tr := so.Spec.Triggers[0]
	for key, v := range map[string]string{
		"bootstrapServers":   env["WIRETAG_BROKERS"],
		"consumerGroup":      env["WIRETAG_GROUP_ID"],
		"topic":              env["WIRETAG_INPUT_TOPIC"],
		"allowIdleConsumers": "false",
	} {
		if tr.Metadata[key] != v {
			t.Errorf("trigger %s=%q, want %q", key, tr.Metadata[key], v)
		}
	}
	if _, err := strconv.Atoi(tr.Metadata["lagThreshold"]); err != nil {
		t.Errorf("lagThreshold %q is not an integer", tr.Metadata["lagThreshold"])
	}
	if tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != ta.ObjectMeta.Name {
		t.Errorf("trigger authenticationRef %+v, TriggerAuthentication is %s", tr.AuthenticationRef, ta.ObjectMeta.Name)
	}
	sec := only[*corev1.Secret](t, objs, filepath.Join(baseDir, "secret.yaml"))
	for _, r := range ta.Spec.SecretTargetRef {
		if _, ok := sec.StringData[r.Key]; r.Name != sec.Name || !ok {
			t.Errorf("TriggerAuthentication reads %s/%s, not in the example Secret", r.Name, r.Key)
		}
	}
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// The pods satisfy the "restricted" Pod Security Standard, as evaluated by
// Kubernetes' own Pod Security Admission checks, which the example namespace
// enforces.
func TestPodSecurityRestricted(t *testing.T) {
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	objs := kustomizeBuild(t, overlayDir)
	d := find[*appsv1.Deployment](t, objs, "wiretag")
	res := psapolicy.AggregateCheckResults(eval.EvaluatePod(restricted, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec))
	if !res.Allowed {
		t.Errorf("the pod template violates the restricted Pod Security Standard: %s", res.ForbiddenDetail())
	}
	ns := find[*corev1.Namespace](t, objs, "wiretag")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v: want restricted enforced", ns.Labels)
	}
	// The checker can fail: a bare pod is not restricted.
	bare := psapolicy.AggregateCheckResults(eval.EvaluatePod(restricted, &d.Spec.Template.ObjectMeta, &corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}))
	if bare.Allowed {
		t.Error("a pod without a security context passed the restricted checks")
	}
}
