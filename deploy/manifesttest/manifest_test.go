package manifesttest

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// bin is the leaderboard binary of the parent module, built once by TestMain
// (LEADERBOARD_BIN names a prebuilt one instead; LEADERBOARD_STATIC_BUILD=1 builds it
// with the Dockerfile's own build line).
var bin *Binary

// staticBuild is the Dockerfile's build command TestMain ran, if it did.
var staticBuild string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if p := os.Getenv("LEADERBOARD_BIN"); p != "" {
		bin = &Binary{Path: p}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "manifesttest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "leaderboard")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/leaderboard")
	if os.Getenv("LEADERBOARD_STATIC_BUILD") != "" {
		// The image's own build line, from the Dockerfile (TestStaticBinary).
		df, err := os.ReadFile(filepath.Join("..", dockerFile))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		env, args, err := DockerBuildLine(df)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dockerFile, err)
			return 1
		}
		for i := range args[:len(args)-1] {
			if args[i] == "-o" {
				args[i+1] = path
			}
		}
		cmd = exec.Command("go", args...)
		cmd.Env = append(os.Environ(), env...)
		staticBuild = fmt.Sprintf("%s go %s", strings.Join(env, " "), strings.Join(args, " "))
	}
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build leaderboard from the parent module (go build ./cmd/leaderboard in %s): %v\n%s", cmd.Dir, err, out)
		return 1
	}
	bin = &Binary{Path: path}
	return m.Run()
}

const (
	composeFile = "compose/docker-compose.yml"
	dockerFile  = "docker/Dockerfile"
	opsDoc      = "../docs/OPERATIONS.md"
	goMod       = "../go.mod"
)

// deployFiles reads the files the checks read, keyed by their path under deploy/.
func deployFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, glob := range []string{"../k8s/*.yaml", "../" + composeFile, "../" + dockerFile, "../" + opsDoc, "../" + goMod} {
		paths, err := filepath.Glob(glob)
		if err != nil || len(paths) == 0 {
			t.Fatalf("no file matches %s (%v)", glob, err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(filepath.ToSlash(p), "../")] = b
		}
	}
	return files
}

// checkAll runs every check over files as deployFiles returns them.
func checkAll(files map[string][]byte) []error {
	set, errs := LoadSet(k8sFiles(files))
	errs = append(errs, set.Check(bin, string(files[opsDoc]))...)
	errs = append(errs, CheckCompose(bin, composeFile, files[composeFile], existsUnder(".."))...)
	tag, e := CheckDockerfile(dockerFile, files[dockerFile], files[goMod])
	errs = append(errs, e...)
	if !existsUnder("..")(dockerFile + ".dockerignore") {
		errs = append(errs, fmt.Errorf("%s.dockerignore: missing (the build context is the repository root)", dockerFile))
	}
	// Every leaderboard container runs the image the Dockerfile builds.
	for _, w := range set.workloads() {
		for _, c := range w.Template.Spec.Containers {
			if isLeaderboard(&c) && c.Image != tag {
				errs = append(errs, fmt.Errorf("%s: container %s: image %q, but %s builds %q", w.Object, c.Name, c.Image, dockerFile, tag))
			}
		}
	}
	if !strings.Contains(string(files[composeFile]), "image: "+tag+"\n") {
		errs = append(errs, fmt.Errorf("%s: does not run the image %s builds, %q", composeFile, dockerFile, tag))
	}
	return errs
}

// TestDeployFiles checks every deployment file as committed.
func TestDeployFiles(t *testing.T) {
	files := deployFiles(t)
	for _, err := range checkAll(files) {
		t.Error(err)
	}
	// The set holds what the deployment needs: were a file to go missing, the checks
	// above would have less to say.
	set, _ := LoadSet(files)
	kinds := map[string]int{}
	for _, o := range set.Objects {
		kinds[o.Kind]++
	}
	for kind, n := range map[string]int{"ConfigMap": 1, "Service": 3, "PersistentVolumeClaim": 1, "Deployment": 2, "StatefulSet": 1, "HorizontalPodAutoscaler": 1, "PodDisruptionBudget": 1} {
		if kinds[kind] != n {
			t.Errorf("%d %s objects in deploy/k8s, want %d", kinds[kind], kind, n)
		}
	}
	cmds := map[string]bool{}
	for _, w := range set.workloads() {
		for _, c := range w.Template.Spec.Containers {
			if len(c.Args) > 0 {
				cmds[c.Args[0]] = true
			}
		}
	}
	for _, c := range []string{"coordinator", "worker", "api"} {
		if !cmds[c] {
			t.Errorf("no workload runs `leaderboard %s`", c)
		}
	}
}

// TestMutations proves the checks catch what they are for: each case breaks one thing
// in one file, and checkAll must name it.
func TestMutations(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new string
		want                 string // a substring of one of the errors
	}{
		{"misspelt worker flag", "k8s/30-worker.yaml", "--node-name=$(POD_NAME)", "--node-nmae=$(POD_NAME)", "--node-nmae: not a flag of `leaderboard worker`"},
		{"flag only another command has", "k8s/40-api.yaml", "- --http=0.0.0.0:8080", "- --http=0.0.0.0:8080\n            - --interval=10s", "--interval: not a flag of `leaderboard api`"},
		{"bad flag value from the ConfigMap", "k8s/00-config.yaml", `INTERVAL: "10s"`, `INTERVAL: "10 seconds"`, `invalid value "10 seconds" for flag -interval`},
		{"undefined variable", "k8s/30-worker.yaml", "--interval=$(INTERVAL)", "--interval=$(INTERVALS)", "$(INTERVALS) is not an environment variable"},
		{"unknown field", "k8s/40-api.yaml", "  replicas: 2", "  replica: 2", `unknown field "spec.replica"`},
		{"field in the wrong case", "k8s/20-coordinator.yaml", "      terminationGracePeriodSeconds: 30", "      TerminationGracePeriodSeconds: 30", "TerminationGracePeriodSeconds"},
		{"probe on the wrong path", "k8s/40-api.yaml", "path: /readyz", "path: /ready", `path "/ready"`},
		{"probe on a port nothing serves", "k8s/30-worker.yaml", "              path: /readyz\n              port: admin", "              path: /readyz\n              port: 9999", "port 9999 is not a container port"},
		{"listener not declared as a port", "k8s/40-api.yaml", "--admin-http=0.0.0.0:8081", "--admin-http=0.0.0.0:9091", "listens on 9091/TCP, which is not a declared container port"},
		{"admin listener on loopback", "k8s/30-worker.yaml", "            - --admin-http=0.0.0.0:8081\n", "", "--admin-http=127.0.0.1:8081 listens on loopback only"},
		{"gossip UDP port missing", "k8s/30-worker.yaml", "            - name: gossip-udp\n              containerPort: 7946\n              protocol: UDP\n", "", "listens on 7946/UDP, which is not a declared container port"},
		{"service selects nothing", "k8s/10-services.yaml", "    app.kubernetes.io/component: api\nspec:\n  selector:\n    app.kubernetes.io/part-of: leaderboard\n    app.kubernetes.io/component: api", "    app.kubernetes.io/component: api\nspec:\n  selector:\n    app.kubernetes.io/part-of: leaderboard\n    app.kubernetes.io/component: apis", "matches no workload's pods"},
		{"gossip seeds not published before ready", "k8s/10-services.yaml", "  publishNotReadyAddresses: true\n", "", "publishNotReadyAddresses"},
		{"intervals differ", "k8s/30-worker.yaml", "--interval=$(INTERVAL)", "--interval=5s", "--interval differs between gossip members"},
		{"coordinator state on an emptyDir", "k8s/20-coordinator.yaml", "          persistentVolumeClaim:\n            claimName: leaderboard-coordinator-data", "          emptyDir: {}", "is not a PersistentVolumeClaim"},
		{"token file off its mount", "k8s/20-coordinator.yaml", "--admin-token-file=/etc/leaderboard/admin/token", "--admin-token-file=/etc/leaderboard/token", "--admin-token-file=/etc/leaderboard/token: not on a mounted volume"},
		{"GOMEMLIMIT above the limit", "k8s/30-worker.yaml", `value: "5530MiB"`, `value: "7GiB"`, "GOMEMLIMIT 7GiB is not below the memory limit"},
		{"HPA on a missing Deployment", "k8s/40-api.yaml", "    kind: Deployment\n    name: leaderboard-api", "    kind: Deployment\n    name: leaderboard-apii", "scaleTargetRef Deployment leaderboard-apii: no such workload"},
		{"remote address left at its loopback default", "k8s/30-worker.yaml", "            - --kafka=$(KAFKA_BROKERS)\n", "", "--kafka is not set: its default 127.0.0.1:9092"},
		{"compose: store address left at its default", composeFile, "      - --aerospike-hosts=aerospike:3000\n      - --data-dir", "      - --data-dir", "service coordinator: --aerospike-hosts is not set"},
		{"compose: console target on a port without metrics", composeFile, "worker-2:8081,worker-3:8081,api:8081", "worker-2:7946,worker-3:8081,api:8081", "--metrics-targets worker-2:7946: serves no /metrics"},
		{"compose: misspelt flag", composeFile, "--aerospike-hosts=aerospike:3000\n      - --admin-http=0.0.0.0:8081\n    ports:\n      - \"127.0.0.1:8182", "--aerospike-host=aerospike:3000\n      - --admin-http=0.0.0.0:8081\n    ports:\n      - \"127.0.0.1:8182", "--aerospike-host: not a flag of `leaderboard worker`"},
		{"compose: unknown key", composeFile, "    depends_on: *cluster-deps\n    command:\n      - worker\n      - --node-name=worker-3", "    depend_on: *cluster-deps\n    command:\n      - worker\n      - --node-name=worker-3", `unknown field "depend_on"`},
		{"compose: host that is no service", composeFile, "--join=worker-1:7946,", "--join=worker-9:7946,", `host "worker-9" is not a service`},
		{"compose: published port nothing serves", composeFile, `"127.0.0.1:8090:8090"`, `"127.0.0.1:8090:8091"`, "no flag listens on 8091"},
		{"compose: duplicate node name", composeFile, "--node-name=worker-3", "--node-name=worker-2", `--node-name "worker-2" is used by`},
		{"Dockerfile: cgo build", dockerFile, "RUN CGO_ENABLED=0 go build", "RUN go build", "without CGO_ENABLED=0"},
		{"Dockerfile: root user", dockerFile, "USER 65532:65532", "USER root", `USER "root"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := deployFiles(t)
			b := string(files[tc.file])
			if strings.Count(b, tc.old) != 1 {
				t.Fatalf("%s: %q occurs %d times, want once: update this case", tc.file, tc.old, strings.Count(b, tc.old))
			}
			files[tc.file] = []byte(strings.Replace(b, tc.old, tc.new, 1))
			errs := checkAll(files)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					t.Logf("caught: %v", err)
					return
				}
			}
			t.Errorf("no error contains %q; got %d errors: %v", tc.want, len(errs), errs)
		})
	}
}

// TestExpand pins Kubernetes' expansion rules the checks rely on.
func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "B": "x,y"}
	for _, tc := range []struct {
		in, want string
		undef    []string
	}{
		{"--a=$(A)", "--a=1", nil},
		{"$(A)$(B)", "1x,y", nil},
		{"$$(A)", "$(A)", nil},
		{"$(C)-$(A)", "$(C)-1", []string{"C"}},
		{"$A", "$A", nil},
	} {
		got, undef := expand(tc.in, env)
		if got != tc.want || fmt.Sprint(undef) != fmt.Sprint(tc.undef) {
			t.Errorf("expand(%q) = %q, %v; want %q, %v", tc.in, got, undef, tc.want, tc.undef)
		}
	}
}

// TestParseHelp reads flag.PrintDefaults' format, bools and defaults included.
func TestParseHelp(t *testing.T) {
	out := "  -admin-http string\n    \toperator's address (default \"127.0.0.1:8081\")\n  -interval duration\n    \tcycle\n    \tinterval (default 10s)\n  -join value\n    \tseeds\n  -v\tlog every cycle\n"
	f, err := parseHelp("worker", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Flag{
		"admin-http": {Name: "admin-http", Default: "127.0.0.1:8081"},
		"interval":   {Name: "interval", Default: "10s"},
		"join":       {Name: "join"},
		"v":          {Name: "v", Bool: true},
	}
	if fmt.Sprint(f.ByName) != fmt.Sprint(want) {
		t.Errorf("parseHelp = %v, want %v", f.ByName, want)
	}
}

var _ corev1.Protocol

// TestStaticBinary builds leaderboard as deploy/docker/Dockerfile does (its RUN ... go
// build line, CGO_ENABLED=0) and checks the result needs no dynamic loader or shared
// library, as a distroless static image requires. Opt-in: with CGO_ENABLED=0 the whole
// module is compiled again (minutes on 2 cores), more than the suite's budget.
func TestStaticBinary(t *testing.T) {
	if staticBuild == "" {
		t.Skip("set LEADERBOARD_STATIC_BUILD=1 to build leaderboard with the Dockerfile's build line and check that it is static (recompiles the module: minutes)")
	}
	f, err := elf.Open(bin.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("`%s` gave a dynamically linked binary (it has an interpreter)", staticBuild)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("`%s` gave a binary that needs shared libraries %v (%v)", staticBuild, libs, err)
	}
	t.Logf("built with `%s`: static", staticBuild)
}

func TestShellFields(t *testing.T) {
	got, err := shellFields(`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o '/out/a b' ./cmd/leaderboard`)
	want := []string{"CGO_ENABLED=0", "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/a b", "./cmd/leaderboard"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("shellFields = %q, %v; want %q", got, err, want)
	}
	if _, err := shellFields(`go build $FLAGS`); err == nil {
		t.Error("shellFields accepted a variable")
	}
}
