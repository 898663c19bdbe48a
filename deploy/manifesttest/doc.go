// Package manifesttest checks the deployment files in deploy/ against the binary they
// run: the Kubernetes manifests (deploy/k8s), the compose file (deploy/compose) and the
// Dockerfile (deploy/docker).
//
// It is its own module, so the main module does not carry k8s.io/api. The test builds
// `leaderboard` from the parent module and asks each subcommand for its flags (`-h`).
// Every manifest is decoded strictly (unknown or duplicate fields are errors) into typed
// Kubernetes objects, and then:
//   - every container's args name only flags its subcommand accepts, and the binary
//     parses their values (after Kubernetes' $(VAR) expansion: every variable named must
//     be defined);
//   - every listener a flag opens (--http, --admin-http, --bind) is a declared container
//     port, and every container port is one of them;
//   - probes reach a listener that serves their path, on an address a kubelet can reach;
//   - Services, the StatefulSet's governing Service, the HorizontalPodAutoscaler and the
//     PodDisruptionBudget select or name objects that exist, by ports that exist;
//   - the gossip seeds, the coordinator's advertised address, the cycle interval and the
//     cluster label agree across processes;
//   - files named by flags lie on mounted volumes, and the coordinator's state survives a
//     new pod.
//
// The compose file gets the same flag and listener checks, and its host names must be its
// services. Check returns every problem found, so one run lists them all; the mutation
// tests prove that a wrong flag, port, path, variable or field makes it fail.
package manifesttest
