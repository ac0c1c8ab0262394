package main

// The etcd side: the lock shape etcd's own concurrency.Mutex uses on its
// uncontended path, cut to the two transactions a lock needs, with one
// lease per client granted once and kept alive for the run (what an etcd
// session does). Each client has its own clientv3.Client on one member's
// endpoint, as each RESP client has its own connection to one node: a
// process that holds a lock has its own client.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
)

type etcdLocker struct {
	cli           *clientv3.Client
	lease         clientv3.LeaseID
	timeout       time.Duration
	stopKeepAlive context.CancelFunc
}

// newEtcdLocker connects to the member at endpoint (host:port), grants a
// lease of ttlMillis rounded up to whole seconds and keeps it alive until
// close.
func newEtcdLocker(endpoint string, timeout time.Duration, ttlMillis int64) (*etcdLocker, error) {
	// The client logs at info by default (every balancer state change);
	// warnings and errors are enough here.
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"http://" + endpoint},
		DialTimeout: timeout, // New blocks until connected, or fails after this
		LogConfig:   &logCfg,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	grant, err := cli.Grant(ctx, (ttlMillis+999)/1000)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %s: lease grant: %w", endpoint, err)
	}
	kaCtx, stop := context.WithCancel(context.Background())
	responses, err := cli.KeepAlive(kaCtx, grant.ID)
	if err != nil {
		stop()
		cli.Close()
		return nil, fmt.Errorf("etcd %s: lease keep-alive: %w", endpoint, err)
	}
	// The client wants its keep-alive answers read; they say nothing we use.
	go func() {
		for range responses {
		}
	}()
	return &etcdLocker{cli: cli, lease: grant.ID, timeout: timeout, stopKeepAlive: stop}, nil
}

// acquire: Txn If CreateRevision(key) == 0 (the key does not exist) Then
// Put(key, token) under the client's lease. Granted when it succeeded.
func (l *etcdLocker) acquire(key, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, token, clientv3.WithLease(l.lease))).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("txn not succeeded: the key exists (held)")
	}
	return nil
}

// release: Txn If Value(key) == token Then Delete(key). Done when it
// succeeded and deleted the key.
func (l *etcdLocker) release(key, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", token)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("txn not succeeded: the key does not hold our token")
	}
	if n := resp.Responses[0].GetResponseDeleteRange().Deleted; n != 1 {
		return fmt.Errorf("txn deleted %d keys, want 1", n)
	}
	return nil
}

// close stops the keep-alive and closes the client. The lease is left to
// expire (no revoke): the releases already deleted every key, and a
// revoke per client after the run could wait on a stalled member.
func (l *etcdLocker) close() {
	l.stopKeepAlive()
	l.cli.Close()
}
