package manifesttest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest document.
type Object struct {
	File string
	Kind string
	Name string
	Obj  runtime.Object
}

func (o Object) String() string { return fmt.Sprintf("%s: %s %s", o.File, o.Kind, o.Name) }

// Set is every object of a manifest directory.
type Set struct {
	Objects []Object

	checked []*workload // the workloads and their processes, after Check
}

var strictDecoder runtime.Decoder

func init() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic("BUG: cannot build the scheme: " + err.Error())
		}
	}
	// Strict: an unknown field, a field in the wrong case or a duplicate field is an error.
	strictDecoder = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// Decode decodes every document of one manifest file strictly into typed objects.
func Decode(file string, data []byte) ([]Object, []error) {
	var objs []Object
	var errs []error
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return objs, append(errs, fmt.Errorf("%s: document %d: %w", file, i, err))
		}
		if j, err := yaml.YAMLToJSON(doc); err == nil && string(bytes.TrimSpace(j)) == "null" {
			continue // comments only
		}
		obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", file, i, err))
			continue
		}
		m, err := metaOf(obj)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", file, i, err))
			continue
		}
		if m.GetName() == "" {
			errs = append(errs, fmt.Errorf("%s: document %d: %s without metadata.name", file, i, gvk.Kind))
		}
		if m.GetNamespace() != "" {
			errs = append(errs, fmt.Errorf("%s: %s %s: metadata.namespace %q: keep manifests namespace-agnostic (kubectl apply -n NAMESPACE)", file, gvk.Kind, m.GetName(), m.GetNamespace()))
		}
		objs = append(objs, Object{File: file, Kind: gvk.Kind, Name: m.GetName(), Obj: obj})
	}
	return objs, errs
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// LoadSet decodes every *.yaml file of files (name -> content).
func LoadSet(files map[string][]byte) (*Set, []error) {
	names := make([]string, 0, len(files))
	for n := range files {
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	s := &Set{}
	var errs []error
	for _, n := range names {
		objs, e := Decode(n, files[n])
		s.Objects = append(s.Objects, objs...)
		errs = append(errs, e...)
	}
	seen := map[string]string{}
	for _, o := range s.Objects {
		k := o.Kind + "/" + o.Name
		if f, ok := seen[k]; ok {
			errs = append(errs, fmt.Errorf("%s: %s %s is also defined in %s", o.File, o.Kind, o.Name, f))
		}
		seen[k] = o.File
	}
	return s, errs
}

func find[T runtime.Object](s *Set, name string) (T, bool) {
	var zero T
	for _, o := range s.Objects {
		if t, ok := o.Obj.(T); ok && o.Name == name {
			return t, true
		}
	}
	return zero, false
}

// workload is a pod-making object: a Deployment or a StatefulSet.
type workload struct {
	Object
	Selector *metav1.LabelSelector
	Template *corev1.PodTemplateSpec
	procs    []*process
}

// process is one leaderboard container of a workload, its flags resolved.
type process struct {
	w         *workload
	c         *corev1.Container
	flags     *Flags
	vals      map[string]string // flag values after $(VAR) expansion
	args      []string          // the args after $(VAR) expansion
	listeners []listener
}

func (p *process) String() string {
	return fmt.Sprintf("%s: %s %s: container %s", p.w.File, p.w.Kind, p.w.Name, p.c.Name)
}

func (s *Set) workloads() []*workload {
	var ws []*workload
	for _, o := range s.Objects {
		switch t := o.Obj.(type) {
		case *appsv1.Deployment:
			ws = append(ws, &workload{Object: o, Selector: t.Spec.Selector, Template: &t.Spec.Template})
		case *appsv1.StatefulSet:
			ws = append(ws, &workload{Object: o, Selector: t.Spec.Selector, Template: &t.Spec.Template})
		}
	}
	return ws
}

// isLeaderboard reports whether a container runs the leaderboard image.
func isLeaderboard(c *corev1.Container) bool {
	img := c.Image
	if i := strings.LastIndexByte(img, '/'); i >= 0 {
		img = img[i+1:]
	}
	return img == "leaderboard" || strings.HasPrefix(img, "leaderboard:") || strings.HasPrefix(img, "leaderboard@")
}

// Check checks the set against the binary and itself; docs is the text that must name
// every Secret the manifests use but do not define (the operator creates those).
func (s *Set) Check(b *Binary, docs string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	ws := s.workloads()
	if len(ws) == 0 {
		add("no Deployment or StatefulSet in the manifests")
	}
	var all []*process
	for _, w := range ws {
		sel, err := metav1.LabelSelectorAsSelector(w.Selector)
		switch {
		case err != nil:
			add("%s: selector: %v", w.Object, err)
		case sel.Empty():
			add("%s: empty selector", w.Object)
		case !sel.Matches(labels.Set(w.Template.Labels)):
			add("%s: selector %s does not match its pod template's labels %v", w.Object, sel, w.Template.Labels)
		}
		errs = append(errs, s.checkPod(w)...)
		for i := range w.Template.Spec.Containers {
			c := &w.Template.Spec.Containers[i]
			if !isLeaderboard(c) {
				continue
			}
			p, e := s.checkProcess(b, w, c, docs)
			errs = append(errs, e...)
			if p != nil {
				w.procs = append(w.procs, p)
				all = append(all, p)
			}
		}
		if len(w.procs) == 0 {
			add("%s: runs no leaderboard container (or none whose flags could be read)", w.Object)
		}
	}
	s.checked = ws
	errs = append(errs, s.checkServices(ws)...)
	errs = append(errs, s.checkCluster(ws, all)...)
	for _, o := range s.Objects {
		switch t := o.Obj.(type) {
		case *appsv1.StatefulSet:
			svc, ok := find[*corev1.Service](s, t.Spec.ServiceName)
			if !ok {
				add("%s: serviceName %q: no such Service", o, t.Spec.ServiceName)
			} else if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				add("%s: serviceName %q: a StatefulSet's governing Service must be headless (clusterIP: None)", o, t.Spec.ServiceName)
			} else if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(t.Spec.Template.Labels)) {
				add("%s: serviceName %q does not select its pods", o, t.Spec.ServiceName)
			}
		case *appsv1.Deployment:
			if t.Spec.Replicas != nil && *t.Spec.Replicas > 1 && t.Spec.Template.Labels["app.kubernetes.io/component"] == "coordinator" {
				add("%s: %d replicas: run exactly one coordinator (docs/CLUSTER.md)", o, *t.Spec.Replicas)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			errs = append(errs, checkHPA(s, o, t, ws)...)
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(t.Spec.Selector)
			if err != nil || sel.Empty() {
				add("%s: selector: empty or invalid (%v)", o, err)
				break
			}
			if !slices.ContainsFunc(ws, func(w *workload) bool { return sel.Matches(labels.Set(w.Template.Labels)) }) {
				add("%s: selector %s matches no workload's pods", o, sel)
			}
		}
	}
	return errs
}

func checkHPA(s *Set, o Object, h *autoscalingv2.HorizontalPodAutoscaler, ws []*workload) []error {
	ref := h.Spec.ScaleTargetRef
	var target *workload
	for _, w := range ws {
		if w.Kind == ref.Kind && w.Name == ref.Name {
			target = w
		}
	}
	if target == nil {
		return []error{fmt.Errorf("%s: scaleTargetRef %s %s: no such workload", o, ref.Kind, ref.Name)}
	}
	var errs []error
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > h.Spec.MaxReplicas {
		errs = append(errs, fmt.Errorf("%s: minReplicas %d above maxReplicas %d", o, *h.Spec.MinReplicas, h.Spec.MaxReplicas))
	}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Target.Type != autoscalingv2.UtilizationMetricType {
			continue
		}
		for _, c := range target.Template.Spec.Containers {
			if _, ok := c.Resources.Requests[m.Resource.Name]; !ok {
				errs = append(errs, fmt.Errorf("%s: scales on %s utilization, but container %s of %s requests no %s", o, m.Resource.Name, c.Name, target.Name, m.Resource.Name))
			}
		}
	}
	return errs
}

// checkPod checks the pod template's volumes and the mounts that use them.
func (s *Set) checkPod(w *workload) []error {
	var errs []error
	spec := &w.Template.Spec
	vols := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		vols[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			cm, ok := find[*corev1.ConfigMap](s, v.ConfigMap.Name)
			if !ok && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
				errs = append(errs, fmt.Errorf("%s: volume %s: ConfigMap %q: not in the manifests", w.Object, v.Name, v.ConfigMap.Name))
			}
			for _, it := range v.ConfigMap.Items {
				if _, has := cm.Data[it.Key]; ok && !has {
					errs = append(errs, fmt.Errorf("%s: volume %s: ConfigMap %q has no key %q", w.Object, v.Name, v.ConfigMap.Name, it.Key))
				}
			}
		case v.PersistentVolumeClaim != nil:
			if _, ok := find[*corev1.PersistentVolumeClaim](s, v.PersistentVolumeClaim.ClaimName); !ok {
				errs = append(errs, fmt.Errorf("%s: volume %s: PersistentVolumeClaim %q: not in the manifests", w.Object, v.Name, v.PersistentVolumeClaim.ClaimName))
			}
		}
	}
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if vols[m.Name] == nil {
				errs = append(errs, fmt.Errorf("%s: container %s: volumeMount %s: no such volume", w.Object, c.Name, m.Name))
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				if _, ok := find[*corev1.ConfigMap](s, ef.ConfigMapRef.Name); !ok && (ef.ConfigMapRef.Optional == nil || !*ef.ConfigMapRef.Optional) {
					errs = append(errs, fmt.Errorf("%s: container %s: envFrom ConfigMap %q: not in the manifests", w.Object, c.Name, ef.ConfigMapRef.Name))
				}
			}
		}
	}
	return errs
}

// fieldRefPlaceholders stand for the downward API's values when args are checked.
var fieldRefPlaceholders = map[string]string{
	"metadata.name":           "leaderboard-pod-0",
	"metadata.namespace":      "default",
	"metadata.uid":            "00000000-0000-0000-0000-000000000000",
	"spec.nodeName":           "node-1",
	"spec.serviceAccountName": "default",
	"status.podIP":            "10.0.0.7",
	"status.hostIP":           "10.0.0.1",
}

// containerEnv resolves a container's environment as the kubelet would: envFrom first,
// then env in order, each env value expanded against the variables before it.
func (s *Set) containerEnv(w *workload, c *corev1.Container) (map[string]string, []error) {
	env := map[string]string{}
	var errs []error
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm, ok := find[*corev1.ConfigMap](s, ef.ConfigMapRef.Name); ok {
				for k, v := range cm.Data {
					env[ef.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			v, undef := expand(e.Value, env)
			for _, u := range undef {
				errs = append(errs, fmt.Errorf("%s: container %s: env %s: $(%s) is not defined before it", w.Object, c.Name, e.Name, u))
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil:
			v, ok := fieldRefPlaceholders[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: container %s: env %s: fieldRef %q: not a field the test knows", w.Object, c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath))
			}
			env[e.Name] = v
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := find[*corev1.ConfigMap](s, ref.Name)
			v, has := "", false
			if ok {
				v, has = cm.Data[ref.Key]
			}
			if !has && (ref.Optional == nil || !*ref.Optional) {
				errs = append(errs, fmt.Errorf("%s: container %s: env %s: ConfigMap %q key %q: not in the manifests", w.Object, c.Name, e.Name, ref.Name, ref.Key))
			}
			env[e.Name] = v
		default: // secrets, resource fields: a value the test cannot know
			env[e.Name] = "x"
		}
	}
	return env, errs
}

var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expand does Kubernetes' $(VAR) expansion: $$ is a literal $, a defined $(VAR) its value,
// an undefined one stays as written (returned in undef, since that is a silent mistake).
func expand(s string, env map[string]string) (string, []string) {
	var undef []string
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := m[2 : len(m)-1]
		if v, ok := env[name]; ok {
			return v
		}
		undef = append(undef, name)
		return m
	})
	return out, undef
}

func (s *Set) checkProcess(b *Binary, w *workload, c *corev1.Container, docs string) (*process, []error) {
	var errs []error
	where := fmt.Sprintf("%s: container %s", w.Object, c.Name)
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(where+": "+format, a...)) }
	if len(c.Command) > 0 {
		add("command %q replaces the image's entrypoint: give the subcommand and flags as args", c.Command)
	}
	env, e := s.containerEnv(w, c)
	errs = append(errs, e...)
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		v, undef := expand(a, env)
		for _, u := range undef {
			add("args %q: $(%s) is not an environment variable of the container (env or envFrom)", a, u)
		}
		args[i] = v
	}
	flags, vals, e := b.ParseArgs(args)
	for _, err := range e {
		add("%v", err)
	}
	if flags == nil {
		return nil, errs
	}
	if len(e) == 0 {
		if err := b.CheckValues(args); err != nil {
			add("%v", err)
		}
	}
	for _, err := range loopbackDefaults(flags, vals) {
		add("%v", err)
	}
	p := &process{w: w, c: c, flags: flags, vals: vals, args: args}
	p.listeners, e = listeners(flags, vals)
	for _, err := range e {
		add("%v", err)
	}
	errs = append(errs, checkPorts(where, c, p.listeners)...)
	errs = append(errs, checkProbes(where, c, p.listeners)...)
	errs = append(errs, checkResources(where, c, env)...)
	errs = append(errs, s.checkFiles(where, w, c, flags, vals, docs)...)
	if port, ok := w.Template.Annotations["prometheus.io/port"]; ok {
		path := w.Template.Annotations["prometheus.io/path"]
		if path == "" {
			path = "/metrics"
		}
		if !slices.ContainsFunc(p.listeners, func(l listener) bool { return fmt.Sprint(l.Port) == port && l.Serves(path) }) {
			add("annotation prometheus.io/port %s: no listener there serves %s", port, path)
		}
	}
	return p, errs
}

// checkPorts: every listener is a declared container port (both protocols for gossip),
// reachable from outside the pod, and every container port is a listener.
func checkPorts(where string, c *corev1.Container, ls []listener) []error {
	var errs []error
	type key struct {
		port  int32
		proto corev1.Protocol
	}
	declared := map[key]string{}
	for _, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		declared[key{p.ContainerPort, proto}] = p.Name
	}
	served := map[key]bool{}
	for _, l := range ls {
		protos := []corev1.Protocol{corev1.ProtocolTCP}
		if l.UDP {
			protos = append(protos, corev1.ProtocolUDP)
		}
		for _, proto := range protos {
			k := key{int32(l.Port), proto}
			served[k] = true
			if _, ok := declared[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: --%s=%s listens on %d/%s, which is not a declared container port", where, l.Flag, l.Addr, l.Port, proto))
			}
		}
		if !l.Reachable() {
			errs = append(errs, fmt.Errorf("%s: --%s=%s listens on loopback only: nothing outside the pod (probes, Services, Prometheus) reaches it; use 0.0.0.0:%d", where, l.Flag, l.Addr, l.Port))
		}
	}
	for k, name := range declared {
		if !served[k] {
			errs = append(errs, fmt.Errorf("%s: container port %s %d/%s: no flag listens there", where, name, k.port, k.proto))
		}
	}
	return errs
}

// portNumber resolves a probe's or a Service's target port against a container.
func portNumber(c *corev1.Container, p intstr.IntOrString, proto corev1.Protocol) (int, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, cp := range c.Ports {
		cproto := cp.Protocol
		if cproto == "" {
			cproto = corev1.ProtocolTCP
		}
		if cproto != proto {
			continue
		}
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
}

func checkProbes(where string, c *corev1.Container, ls []listener) []error {
	var errs []error
	probes := []struct {
		kind string
		p    *corev1.Probe
	}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}}
	for _, pr := range probes {
		if pr.p == nil {
			if pr.kind != "startupProbe" {
				errs = append(errs, fmt.Errorf("%s: no %s", where, pr.kind))
			}
			continue
		}
		g := pr.p.HTTPGet
		if g == nil {
			errs = append(errs, fmt.Errorf("%s: %s: not an httpGet probe", where, pr.kind))
			continue
		}
		port, ok := portNumber(c, g.Port, corev1.ProtocolTCP)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s: port %s is not a container port", where, pr.kind, g.Port.String()))
			continue
		}
		i := slices.IndexFunc(ls, func(l listener) bool { return l.Port == port && len(l.Paths) > 0 })
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: %s: no HTTP listener on port %d", where, pr.kind, port))
			continue
		}
		l := ls[i]
		if !l.Serves(g.Path) {
			errs = append(errs, fmt.Errorf("%s: %s: path %q: --%s serves %v, not that", where, pr.kind, g.Path, l.Flag, l.Paths))
		}
		if l.Admin {
			want := "/healthz"
			if pr.kind == "readinessProbe" {
				want = "/readyz"
			}
			if g.Path != want {
				errs = append(errs, fmt.Errorf("%s: %s: path %q: on the admin listener a %s asks %s", where, pr.kind, g.Path, pr.kind, want))
			}
		}
	}
	return errs
}

func checkResources(where string, c *corev1.Container, env map[string]string) []error {
	var errs []error
	for _, rl := range []struct {
		kind string
		l    corev1.ResourceList
	}{{"requests", c.Resources.Requests}, {"limits", c.Resources.Limits}} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := rl.l[r]; !ok {
				errs = append(errs, fmt.Errorf("%s: resources.%s.%s: not set (size it from docs/PERFORMANCE.md)", where, rl.kind, r))
			}
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if !req.IsZero() && !lim.IsZero() && req.Cmp(lim) > 0 {
			errs = append(errs, fmt.Errorf("%s: resources: %s request %s above its limit %s", where, r, req.String(), lim.String()))
		}
	}
	if v, ok := env["GOMEMLIMIT"]; ok {
		lim := c.Resources.Limits[corev1.ResourceMemory]
		n, err := goMemLimit(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: GOMEMLIMIT %q: %v", where, v, err))
		case lim.IsZero():
			errs = append(errs, fmt.Errorf("%s: GOMEMLIMIT set without a memory limit", where))
		case n >= lim.Value():
			errs = append(errs, fmt.Errorf("%s: GOMEMLIMIT %s is not below the memory limit %s: the OOM killer comes before the GC", where, v, lim.String()))
		}
	}
	return errs
}

// goMemLimit parses GOMEMLIMIT's syntax: a number with an optional B, KiB, MiB, GiB or TiB.
func goMemLimit(v string) (int64, error) {
	units := []struct {
		s string
		n int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.s) {
			v, mult = strings.TrimSuffix(v, u.s), u.n
			break
		}
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return 0, fmt.Errorf("not a GOMEMLIMIT size (e.g. 5530MiB)")
	}
	return q.Value() * mult, nil
}

// checkFiles: a file a flag names lies on a mounted volume (the image has no other files),
// a directory the process writes is on a writable volume, and the coordinator's state
// directory outlives the pod.
func (s *Set) checkFiles(where string, w *workload, c *corev1.Container, flags *Flags, vals map[string]string, docs string) []error {
	var errs []error
	vols := map[string]corev1.Volume{}
	for _, v := range w.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	for name, val := range vals {
		isFile := strings.HasSuffix(name, "-file") || strings.HasPrefix(name, "aerospike-tls-") && name != "aerospike-tls-name"
		isDir := name == "data-dir"
		if (!isFile && !isDir) || val == "" {
			continue
		}
		var mount *corev1.VolumeMount
		for i := range c.VolumeMounts {
			m := &c.VolumeMounts[i]
			if val == m.MountPath || strings.HasPrefix(val, strings.TrimSuffix(m.MountPath, "/")+"/") {
				if mount == nil || len(m.MountPath) > len(mount.MountPath) {
					mount = m
				}
			}
		}
		if mount == nil {
			errs = append(errs, fmt.Errorf("%s: --%s=%s: not on a mounted volume", where, name, val))
			continue
		}
		v := vols[mount.Name]
		if isDir {
			if mount.ReadOnly {
				errs = append(errs, fmt.Errorf("%s: --%s=%s: volume %s is mounted read-only", where, name, val, mount.Name))
			}
			if flags.Command == "coordinator" && v.PersistentVolumeClaim == nil {
				errs = append(errs, fmt.Errorf("%s: --%s=%s: volume %s is not a PersistentVolumeClaim: the coordinator's cycle numbers and epochs would go back with a new pod", where, name, val, mount.Name))
			}
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(val, mount.MountPath), "/")
		if v.Secret != nil {
			if _, ok := find[*corev1.Secret](s, v.Secret.SecretName); !ok && !strings.Contains(docs, v.Secret.SecretName) {
				errs = append(errs, fmt.Errorf("%s: volume %s: Secret %q is neither in the manifests nor named in docs/OPERATIONS.md (where the operator is told to create it)", where, mount.Name, v.Secret.SecretName))
			}
			if len(v.Secret.Items) > 0 && !slices.ContainsFunc(v.Secret.Items, func(it corev1.KeyToPath) bool { return it.Path == rel }) {
				errs = append(errs, fmt.Errorf("%s: --%s=%s: volume %s projects no file %q", where, name, val, mount.Name, rel))
			}
		}
		if v.ConfigMap != nil {
			if cm, ok := find[*corev1.ConfigMap](s, v.ConfigMap.Name); ok && len(v.ConfigMap.Items) == 0 {
				if _, has := cm.Data[path.Base(rel)]; !has {
					errs = append(errs, fmt.Errorf("%s: --%s=%s: ConfigMap %q has no key %q", where, name, val, v.ConfigMap.Name, path.Base(rel)))
				}
			}
		}
	}
	return errs
}

// checkServices: each Service selects pods of some workload, and each of its ports
// reaches a declared container port of the same protocol in every pod it selects.
func (s *Set) checkServices(ws []*workload) []error {
	var errs []error
	for _, o := range s.Objects {
		svc, ok := o.Obj.(*corev1.Service)
		if !ok {
			continue
		}
		if len(svc.Spec.Selector) == 0 {
			errs = append(errs, fmt.Errorf("%s: no selector", o))
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		var matched []*workload
		for _, w := range ws {
			if sel.Matches(labels.Set(w.Template.Labels)) {
				matched = append(matched, w)
			}
		}
		if len(matched) == 0 {
			errs = append(errs, fmt.Errorf("%s: selector %s matches no workload's pods", o, sel))
			continue
		}
		for _, sp := range svc.Spec.Ports {
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			for _, w := range matched {
				if !slices.ContainsFunc(w.Template.Spec.Containers, func(c corev1.Container) bool {
					_, ok := portNumber(&c, target, sp.Protocol)
					return ok
				}) {
					errs = append(errs, fmt.Errorf("%s: port %s: targetPort %s/%s is not a container port of %s", o, sp.Name, target.String(), protoOr(sp.Protocol), w.Name))
				}
			}
		}
	}
	return errs
}

func protoOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// checkCluster: the processes agree with each other. Gossip members share a cluster label
// and interval, their --join seeds are a headless Service that lists every member (ready or
// not) on the gossip port, and the coordinator's advertised HTTP address is a Service that
// reaches its --http listener.
func (s *Set) checkCluster(ws []*workload, procs []*process) []error {
	var errs []error
	var members []*process
	for _, p := range procs {
		if gossipCommands[p.flags.Command] {
			members = append(members, p)
		}
	}
	for _, flag := range []string{"cluster-label", "interval"} {
		vals := map[string][]string{}
		for _, p := range members {
			v := p.flags.Value(p.vals, flag)
			vals[v] = append(vals[v], p.w.Name)
		}
		if len(vals) > 1 {
			errs = append(errs, fmt.Errorf("--%s differs between gossip members: %v", flag, vals))
		}
	}
	for _, p := range members {
		bind := slices.IndexFunc(p.listeners, func(l listener) bool { return l.Flag == "bind" })
		join := p.vals["join"]
		if join == "" {
			errs = append(errs, fmt.Errorf("%s: no --join: the member never finds the others", p))
			continue
		}
		hosts, ports, err := hostPorts(join)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: --join: %v", p, err))
			continue
		}
		for i, h := range hosts {
			svc, ok := find[*corev1.Service](s, strings.Split(h, ".")[0])
			if !ok {
				errs = append(errs, fmt.Errorf("%s: --join host %q: no such Service", p, h))
				continue
			}
			if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
				errs = append(errs, fmt.Errorf("%s: --join host %q: a gossip seed Service must be headless (clusterIP: None) with publishNotReadyAddresses: a member joins before it is ready", p, h))
			}
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			for _, m := range members {
				if !sel.Matches(labels.Set(m.w.Template.Labels)) {
					errs = append(errs, fmt.Errorf("%s: --join host %q does not select %s's pods", p, h, m.w.Name))
				}
			}
			if bind >= 0 {
				want := p.listeners[bind].Port
				for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
					if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return int(sp.Port) == ports[i] && protoOr(sp.Protocol) == proto }) {
						errs = append(errs, fmt.Errorf("%s: --join %s:%d: Service %s has no %d/%s port", p, h, ports[i], svc.Name, ports[i], proto))
					}
				}
				if ports[i] != want {
					errs = append(errs, fmt.Errorf("%s: --join port %d differs from the members' --bind port %d", p, ports[i], want))
				}
			}
		}
	}
	for _, p := range procs {
		var addr, what string
		switch {
		case p.flags.Command == "coordinator":
			addr, what = p.flags.Value(p.vals, "http-advertise"), "--http-advertise"
		case (p.flags.Command == "worker" || p.flags.Command == "api") && p.vals["coordinator"] != "":
			addr, what = p.vals["coordinator"], "--coordinator"
		default:
			continue
		}
		if addr == "" {
			addr = p.flags.Value(p.vals, "http")
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %q: %v", p, what, addr, err))
			continue
		}
		svc, ok := find[*corev1.Service](s, strings.Split(host, ".")[0])
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s %q: workers reach the coordinator there, but no Service is named %q", p, what, addr, host))
			continue
		}
		var coords []*process
		for _, q := range procs {
			if q.flags.Command == "coordinator" {
				coords = append(coords, q)
			}
		}
		i := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return int(sp.Port) == port })
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: %s %q: Service %s has no port %d", p, what, addr, svc.Name, port))
			continue
		}
		sp := svc.Spec.Ports[i]
		for _, q := range coords {
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(q.w.Template.Labels)) {
				errs = append(errs, fmt.Errorf("%s: %s %q: Service %s does not select the coordinator's pods", p, what, addr, svc.Name))
				continue
			}
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			n, _ := portNumber(q.c, target, sp.Protocol)
			http := slices.IndexFunc(q.listeners, func(l listener) bool { return l.Flag == "http" })
			if http < 0 || q.listeners[http].Port != n {
				errs = append(errs, fmt.Errorf("%s: %s %q: Service %s port %d leads to container port %d, not the coordinator's --http", p, what, addr, svc.Name, port, n))
			}
		}
	}
	for _, p := range procs {
		if t := p.vals["metrics-targets"]; t != "" {
			errs = append(errs, s.checkMetricsTargets(p, t, ws)...)
		}
	}
	return errs
}

// checkMetricsTargets: the API console's --metrics-targets are addresses that serve
// /metrics: a Service's port, or a StatefulSet pod's stable name (pod.governing-service)
// with an ordinal below its replicas; and every worker pod is listed, so that scaling the
// StatefulSet without updating the list fails here instead of leaving the console short.
func (s *Set) checkMetricsTargets(p *process, list string, ws []*workload) []error {
	var errs []error
	hosts, ports, err := hostPorts(list)
	if err != nil {
		return []error{fmt.Errorf("%s: --metrics-targets: %v", p, err)}
	}
	listed := map[string]bool{}
	servesMetrics := func(w *workload, containerPort int) bool {
		for _, q := range w.procs {
			if slices.ContainsFunc(q.listeners, func(l listener) bool { return l.Port == containerPort && l.Serves("/metrics") }) {
				return true
			}
		}
		return false
	}
	for i, h := range hosts {
		parts := strings.Split(h, ".")
		if len(parts) >= 2 {
			if _, ok := find[*corev1.Service](s, parts[1]); ok {
				listed[parts[0]] = true
				var sts *workload
				for _, w := range ws {
					if t, ok := w.Obj.(*appsv1.StatefulSet); ok && t.Spec.ServiceName == parts[1] && strings.HasPrefix(parts[0], w.Name+"-") {
						n, err := strconv.Atoi(strings.TrimPrefix(parts[0], w.Name+"-"))
						if err == nil && t.Spec.Replicas != nil && n < int(*t.Spec.Replicas) {
							sts = w
						}
					}
				}
				switch {
				case sts == nil:
					errs = append(errs, fmt.Errorf("%s: --metrics-targets %s: no StatefulSet pod %s under Service %s", p, h, parts[0], parts[1]))
				case !servesMetrics(sts, ports[i]):
					errs = append(errs, fmt.Errorf("%s: --metrics-targets %s:%d: %s serves no /metrics on port %d", p, h, ports[i], sts.Name, ports[i]))
				}
				continue
			}
		}
		svc, ok := find[*corev1.Service](s, parts[0])
		if !ok {
			errs = append(errs, fmt.Errorf("%s: --metrics-targets %s: neither a Service nor a StatefulSet pod's name", p, h))
			continue
		}
		j := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return int(sp.Port) == ports[i] })
		if j < 0 {
			errs = append(errs, fmt.Errorf("%s: --metrics-targets %s:%d: Service %s has no port %d", p, h, ports[i], svc.Name, ports[i]))
			continue
		}
		sp := svc.Spec.Ports[j]
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		for _, w := range ws {
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.Template.Labels)) {
				continue
			}
			for _, c := range w.Template.Spec.Containers {
				if n, ok := portNumber(&c, target, sp.Protocol); ok && !servesMetrics(w, n) {
					errs = append(errs, fmt.Errorf("%s: --metrics-targets %s:%d: Service %s leads to %s port %d, which serves no /metrics", p, h, ports[i], svc.Name, w.Name, n))
				}
			}
		}
	}
	for _, w := range ws {
		t, ok := w.Obj.(*appsv1.StatefulSet)
		if !ok || t.Spec.Replicas == nil {
			continue
		}
		for n := 0; n < int(*t.Spec.Replicas); n++ {
			if pod := fmt.Sprintf("%s-%d", w.Name, n); !listed[pod] {
				errs = append(errs, fmt.Errorf("%s: --metrics-targets does not list %s (replicas: %d): the console would not count it", p, pod, *t.Spec.Replicas))
			}
		}
	}
	return errs
}
