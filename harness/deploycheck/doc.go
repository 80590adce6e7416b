// Package k8s holds Quick Chat's deployment checks. The manifests themselves live beside
// this file (base/, overlays/dev, overlays/prod, and the load generator Job as the component
// components/loadgen, rendered in overlays/dev-loadtest), docker-compose.yml and the
// Dockerfiles at the repository root and under services/*.
//
// No Docker engine or cluster is needed: the tests render every kustomize overlay and
// decode each object strictly into Kubernetes API types, load docker-compose.yml with the
// compose-spec library, and check both against the services' configuration structs, which
// they read from services/*/config.go with go/ast (the structs live in package main and
// cannot be imported). They also run each Dockerfile's build stage as a plain go build in
// a temporary copy of the build context, so a broken image build fails here first.
//
// The non-test files are the small tools those checks share: a reader of envconfig structs
// (envspec.go), a Dockerfile parser (dockerfile.go) and the replay of a build stage without
// Docker (dockerbuild.go, shellwords.go), an nginx configuration parser (nginxconf.go) and a
// NetworkPolicy evaluator (netpol.go).
package deploycheck
