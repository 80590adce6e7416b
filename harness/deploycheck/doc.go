// Package deploycheck tests Quick Chat's deployment files; it has no API, only tests. It
// checks the one Dockerfile of every image (services/Dockerfile), docker-compose.yml and its
// nginx proxy configuration (k8s/compose/nginx.conf), every kustomize overlay under k8s/
// (with the load generator Job of k8s/components/loadgen), the NetworkPolicies and the
// README's configuration tables.
//
// No Docker engine or cluster is needed: the tests render every kustomize overlay and
// decode each object strictly into Kubernetes API types, load docker-compose.yml with the
// compose-spec library, and check both against the programs' configuration structs, which
// they read from services/*/config.go and harness/loadgen/config.go with go/ast (the structs
// live in package main and cannot be imported). They read the Dockerfile with BuildKit's own
// parser and replay its build stage for each program as a plain go build in a temporary copy
// of the build context, its RUN scripts run by mvdan.cc/sh's shell interpreter, so a broken
// image build fails here first. nginx configuration is read with gonginx.
package deploycheck
