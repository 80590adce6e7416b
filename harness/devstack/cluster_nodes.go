package devstack

import (
	"context"
	"errors"
	"sync"
)

// clusterNode is what starting and tearing down a cluster needs of one of its nodes.
type clusterNode interface {
	Start(ctx context.Context) error
	Kill() error
	LogPath() string
}

// startNodes starts every node at once (a Kafka node cannot become ready before a quorum
// of controllers runs) and waits for all.
func startNodes[N clusterNode](ctx context.Context, nodes []N) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.Start(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// killNodes kills every node.
func killNodes[N clusterNode](nodes []N) error {
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.Kill())
	}
	return errors.Join(errs...)
}

// nodesMentionBindFailure reports whether a node failed because a port was taken
// meanwhile, so the cluster may be tried again on other ports.
func nodesMentionBindFailure[N clusterNode](nodes []N) bool {
	for _, n := range nodes {
		if logMentionsBindFailure(n.LogPath()) {
			return true
		}
	}
	return false
}
