// Command lockdrive measures a lock service: N clients each loop acquire +
// release on a key of their own, and the run reports completed pairs per
// second and the p50 and p99 of a pair's latency (acquire sent to release
// answered).
//
// One program drives every system the same way, so the comparison is
// about the servers:
//
//	| -system | acquire (granted when)                          | release (done when)                          |
//	|---------|-------------------------------------------------|----------------------------------------------|
//	| shoal   | SET k token NX PX 10000 (+OK)                   | DELIFEQ k token (:1)                         |
//	| redis   | SET k token NX PX 10000 (+OK)                   | EVALSHA <compare-and-delete> 1 k token (:1)  |
//	| etcd    | Txn If CreateRevision(k)=0 Then Put(k, token,   | Txn If Value(k)=token Then Delete(k)         |
//	|         | lease) (Succeeded)                              | (Succeeded)                                  |
//
// Every client has its own key (prefix + client number), so no acquire
// waits for another client: this measures the lock service, not retries.
// Each client has its own connection (RESP) or its own clientv3 client
// (etcd), to one server; client i goes to endpoint i mod len(endpoints).
//
// Files: main.go (flags, the load loop, the figures), resp.go (the RESP
// wire and the shoal and redis lockers), etcd.go (the etcd locker).
//
// Output: one tab-separated line on stdout,
//
//	system clients pairs errors seconds pairs_per_s p50_ms p99_ms max_ms stopped_by cpu_s
//
// (pairs = completed without error; stopped_by = "count" when the pair
// budget ran out, "time" when the time cap did; cpu_s = the CPU time this
// process used, user + system, from its start, so the caller can tell its
// own load from the servers'). The first few errors go
// to stderr. Every loop is bounded: by -pairs in total, by -seconds of
// wall time, and each request by -op-timeout.
package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// locker is one client's connection to a lock service. Methods return nil
// only when the server granted the acquire or performed the release.
type locker interface {
	acquire(key, token string) error
	release(key, token string) error
	close()
}

type config struct {
	system    string
	endpoints []string
	clients   int
	pairs     int64
	seconds   time.Duration
	opTimeout time.Duration
	keyPrefix string
	ttlMillis int64
}

// clientResult is what one client measured.
type clientResult struct {
	latencies []time.Duration // of the pairs completed without error
	errors    int64
}

// errorLog prints the first few errors of a run to stderr, so a failing
// run says why without flooding the log.
type errorLog struct {
	mu      sync.Mutex
	printed int
}

const maxPrintedErrors = 10

func (l *errorLog) report(client int, what string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.printed++
	if l.printed <= maxPrintedErrors {
		fmt.Fprintf(os.Stderr, "lockdrive: client %d: %s: %v\n", client, what, err)
	}
	if l.printed == maxPrintedErrors+1 {
		fmt.Fprintln(os.Stderr, "lockdrive: further errors not printed")
	}
}

func main() {
	var cfg config
	var endpoints string
	flag.StringVar(&cfg.system, "system", "", "shoal, redis or etcd")
	flag.StringVar(&endpoints, "endpoints", "", "comma-separated host:port list; client i uses endpoint i mod n")
	flag.IntVar(&cfg.clients, "clients", 1, "concurrent clients")
	flag.Int64Var(&cfg.pairs, "pairs", 10000, "acquire + release pairs in the run, over all clients")
	flag.DurationVar(&cfg.seconds, "seconds", 20*time.Second, "time cap of the run (no pair starts after it)")
	flag.DurationVar(&cfg.opTimeout, "op-timeout", 5*time.Second, "deadline of one request")
	flag.StringVar(&cfg.keyPrefix, "key-prefix", "lock:bench:", "client n locks <key-prefix><n>")
	flag.Int64Var(&cfg.ttlMillis, "ttl-ms", 10000, "lease of a lock: PX for RESP, the lease TTL (rounded up to seconds) for etcd")
	flag.Parse()
	for _, e := range strings.Split(endpoints, ",") {
		if e != "" {
			cfg.endpoints = append(cfg.endpoints, e)
		}
	}
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "lockdrive:", err)
		flag.Usage()
		os.Exit(2)
	}
	line, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lockdrive:", err)
		os.Exit(1)
	}
	fmt.Println(line)
}

func (c *config) check() error {
	switch {
	case c.system != "shoal" && c.system != "redis" && c.system != "etcd":
		return fmt.Errorf("-system must be shoal, redis or etcd, got %q", c.system)
	case len(c.endpoints) == 0:
		return errors.New("-endpoints is empty")
	case c.clients < 1 || c.clients > 10000:
		return fmt.Errorf("-clients must be 1..10000, got %d", c.clients)
	case c.pairs < 1 || c.pairs > 100000000:
		return fmt.Errorf("-pairs must be 1..100000000, got %d", c.pairs)
	case c.seconds <= 0 || c.opTimeout <= 0 || c.ttlMillis <= 0:
		return errors.New("-seconds, -op-timeout and -ttl-ms must be positive")
	}
	return nil
}

// newLocker connects client n to its endpoint. For redis, sha is the
// compare-and-delete script's SHA1 (loaded once by run).
func newLocker(cfg config, n int, sha string) (locker, error) {
	endpoint := cfg.endpoints[n%len(cfg.endpoints)]
	switch cfg.system {
	case "shoal":
		return &shoalLocker{conn: newRESPConn(endpoint, cfg.opTimeout), ttl: cfg.ttlMillis}, nil
	case "redis":
		return &redisLocker{conn: newRESPConn(endpoint, cfg.opTimeout), ttl: cfg.ttlMillis, sha: sha}, nil
	default:
		return newEtcdLocker(endpoint, cfg.opTimeout, cfg.ttlMillis)
	}
}

// run connects every client, lets each do one untimed pair (so connection
// set-up, the first forwarding link and the like are not in the figures),
// then starts them together and collects what they measured.
func run(cfg config) (string, error) {
	sha := ""
	if cfg.system == "redis" {
		var err error
		if sha, err = loadReleaseScript(cfg.endpoints[0], cfg.opTimeout); err != nil {
			return "", err
		}
	}

	lockers := make([]locker, cfg.clients)
	defer func() {
		for _, l := range lockers {
			if l != nil {
				l.close()
			}
		}
	}()
	for i := range lockers {
		l, err := newLocker(cfg, i, sha)
		if err != nil {
			return "", fmt.Errorf("client %d: %w", i, err)
		}
		lockers[i] = l
	}

	var errs errorLog
	results := make([]clientResult, cfg.clients)
	// Pairs are handed out from one counter so the run does exactly
	// cfg.pairs of them however the clients' speeds differ.
	var next int64
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	var deadline time.Time // written before start is closed
	ready.Add(cfg.clients)
	done.Add(cfg.clients)
	for i := range lockers {
		go func(i int) {
			defer done.Done()
			tokens := newTokenSource()
			key := fmt.Sprintf("%s%d", cfg.keyPrefix, i)
			res := &results[i]
			// Capacity for this client's fair share and then some; append
			// grows it if one client takes more.
			res.latencies = make([]time.Duration, 0, cfg.pairs/int64(cfg.clients)+1024)
			if _, err := onePair(lockers[i], key, tokens.next()); err != nil {
				res.errors++
				errs.report(i, "warm-up pair", err)
			}
			ready.Done()
			<-start
			for time.Now().Before(deadline) && atomic.AddInt64(&next, 1) <= cfg.pairs {
				took, err := onePair(lockers[i], key, tokens.next())
				if err != nil {
					res.errors++
					errs.report(i, "pair", err)
					continue
				}
				res.latencies = append(res.latencies, took)
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	deadline = t0.Add(cfg.seconds)
	close(start)
	done.Wait()
	elapsed := time.Since(t0)

	var all []time.Duration
	var errCount int64
	for _, r := range results {
		all = append(all, r.latencies...)
		errCount += r.errors
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	stoppedBy := "count"
	if atomic.LoadInt64(&next) <= cfg.pairs {
		stoppedBy = "time"
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("%s\t%d\t%d\t%d\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t%.2f",
		cfg.system, cfg.clients, len(all), errCount, elapsed.Seconds(),
		float64(len(all))/elapsed.Seconds(),
		ms(percentile(all, 0.50)), ms(percentile(all, 0.99)), ms(percentile(all, 1)),
		stoppedBy, cpuSeconds()), nil
}

// cpuSeconds is the user + system CPU time this process has used; 0 if
// the kernel will not say.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// onePair acquires key with token and releases it, returning the time from
// sending the acquire to the release's answer. A refused acquire is an
// error and the release is not sent.
func onePair(l locker, key, token string) (time.Duration, error) {
	t := time.Now()
	if err := l.acquire(key, token); err != nil {
		return 0, fmt.Errorf("acquire: %w", err)
	}
	if err := l.release(key, token); err != nil {
		return 0, fmt.Errorf("release: %w", err)
	}
	return time.Since(t), nil
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// with at least p of the values at or below it; 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// tokenSource makes lock tokens: 16 random bytes as 32 hex digits, as lock
// clients do (a holder must not guess another's token). One per client, so
// no lock is shared; seeded from crypto/rand.
type tokenSource struct {
	rng *rand.Rand
	buf [16]byte
}

func newTokenSource() *tokenSource {
	var seed [8]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the system's entropy source is gone
	}
	return &tokenSource{rng: rand.New(rand.NewSource(int64(binary.LittleEndian.Uint64(seed[:]))))}
}

func (t *tokenSource) next() string {
	t.rng.Read(t.buf[:])
	return hex.EncodeToString(t.buf[:])
}
