package devstack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// slotRange is one line of CLUSTER SLOTS: slots start..end served by the node on port.
type slotRange struct {
	start, end int64
	port       int64
}

// slotMap asks the node which master serves which slots.
func (n *RedisNode) slotMap(ctx context.Context) ([]slotRange, error) {
	v, err := n.do(ctx, "CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	rows, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: CLUSTER SLOTS answered %T", n.slot.name, v)
	}
	var out []slotRange
	for _, r := range rows {
		row, ok := r.([]any)
		if !ok || len(row) < 3 {
			return nil, fmt.Errorf("%s: CLUSTER SLOTS row %v", n.slot.name, r)
		}
		master, ok := row[2].([]any)
		if !ok || len(master) < 2 {
			return nil, fmt.Errorf("%s: CLUSTER SLOTS master %v", n.slot.name, row[2])
		}
		start, ok1 := row[0].(int64)
		end, ok2 := row[1].(int64)
		port, ok3 := master[1].(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("%s: CLUSTER SLOTS row %v", n.slot.name, row)
		}
		out = append(out, slotRange{start: start, end: end, port: port})
	}
	slices.SortFunc(out, func(a, b slotRange) int { return int(a.start - b.start) })
	return out, nil
}

func (c *RedisCluster) nodeOnPort(port int64) *RedisNode {
	for _, n := range c.nodes {
		if int64(n.port) == port {
			return n
		}
	}
	return nil
}

// anyRunning returns the first node whose process is alive.
func (c *RedisCluster) anyRunning() (*RedisNode, error) {
	for _, n := range c.nodes {
		if n.Running() {
			return n, nil
		}
	}
	return nil, errors.New("redis cluster: no node is running")
}

// Role returns "master" or "replica", as the node itself sees it.
func (n *RedisNode) Role(ctx context.Context) (string, error) {
	v, err := n.do(ctx, "ROLE")
	if err != nil {
		return "", fmt.Errorf("%s: ROLE: %w", n.slot.name, err)
	}
	if arr, ok := v.([]any); ok && len(arr) > 0 {
		switch arr[0] {
		case "master":
			return "master", nil
		case "slave":
			return "replica", nil
		}
	}
	return "", fmt.Errorf("%s: ROLE answered %v", n.slot.name, v)
}

// MasterFor returns the node that the cluster currently names as master of key's slot.
// Right after that master died, and until a replica takes over, it is the dead node.
func (c *RedisCluster) MasterFor(ctx context.Context, key string) (*RedisNode, error) {
	n, err := c.anyRunning()
	if err != nil {
		return nil, err
	}
	v, err := n.do(ctx, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		return nil, fmt.Errorf("redis cluster: CLUSTER KEYSLOT: %w", err)
	}
	slot, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("redis cluster: CLUSTER KEYSLOT answered %v", v)
	}
	ranges, err := n.slotMap(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		if r.start <= slot && slot <= r.end {
			if m := c.nodeOnPort(r.port); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("redis cluster: slot %d served by unknown port %d", slot, r.port)
		}
	}
	return nil, fmt.Errorf("redis cluster: slot %d is not served", slot)
}

// Masters lists the nodes that currently serve slots, in slot order.
func (c *RedisCluster) Masters(ctx context.Context) ([]*RedisNode, error) {
	n, err := c.anyRunning()
	if err != nil {
		return nil, err
	}
	ranges, err := n.slotMap(ctx)
	if err != nil {
		return nil, err
	}
	var out []*RedisNode
	for _, r := range ranges {
		m := c.nodeOnPort(r.port)
		if m == nil {
			return nil, fmt.Errorf("redis cluster: slots served by unknown port %d", r.port)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// WaitHealthy waits until every running node reports cluster_state:ok, all of them agree
// on which master serves which slots, every master is a running node, and every running
// replica is linked to its master: after a failover, once a replica has taken over and
// the others have learnt it. Bound it with ctx.
func (c *RedisCluster) WaitHealthy(ctx context.Context) error {
	for {
		err := c.healthy(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster: not healthy: %w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var first string
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		info, err := n.do(ctx, "CLUSTER", "INFO")
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", n.slot.name, err)
		}
		if s, _ := info.(string); !strings.Contains(s, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster state is not ok", n.slot.name)
		}
		ranges, err := n.slotMap(ctx)
		if err != nil {
			return err
		}
		var view strings.Builder
		for _, r := range ranges {
			m := c.nodeOnPort(r.port)
			if m == nil || !m.Running() {
				return fmt.Errorf("%s: slots %d-%d are served by port %d, which is down", n.slot.name, r.start, r.end, r.port)
			}
			fmt.Fprintf(&view, "%d-%d:%d ", r.start, r.end, r.port)
		}
		if first == "" {
			first = view.String()
		} else if view.String() != first {
			return fmt.Errorf("%s: sees slots %s, another node %s", n.slot.name, view.String(), first)
		}
		role, err := n.do(ctx, "ROLE")
		if err != nil {
			return fmt.Errorf("%s: ROLE: %w", n.slot.name, err)
		}
		// A replica: ["slave", master host, master port, link state, offset].
		if arr, ok := role.([]any); ok && len(arr) >= 4 && arr[0] == "slave" && arr[3] != "connected" {
			return fmt.Errorf("%s: replication link is %v", n.slot.name, arr[3])
		}
	}
	if first == "" {
		return errors.New("redis cluster: no node is running")
	}
	return nil
}
