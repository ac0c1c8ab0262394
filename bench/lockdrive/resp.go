package main

// The RESP side: a connection that sends one command and reads one reply
// (no pipelining, as a lock client waits for each answer), and the shoal
// and redis lockers on top of it. No Redis library: the protocol needed
// here is a few lines, and both servers get exactly the same bytes but for
// the release command.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// releaseScript is the usual compare-and-delete for Redis before DELIFEQ
// and DELEX existed: delete the key only if it still holds our token.
const releaseScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end`

// reply is one RESP reply, flattened to what the lockers check: its type
// byte and its text (simple string, error or bulk) or integer. A nil bulk
// string has isNil set; an array's elements are read and dropped.
type reply struct {
	kind  byte
	text  string
	n     int64
	isNil bool
}

func (r reply) String() string {
	switch {
	case r.isNil:
		return "(nil)"
	case r.kind == ':':
		return ":" + strconv.FormatInt(r.n, 10)
	case r.kind == '*':
		return fmt.Sprintf("(array of %d)", r.n)
	default:
		return string(r.kind) + r.text
	}
}

// respConn is one client's connection. It dials lazily and drops the
// connection after any I/O or protocol error, so the next command
// reconnects: a reply is never matched to the wrong request.
type respConn struct {
	addr    string
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader
	out     []byte // the command being written, reused
}

func newRESPConn(addr string, timeout time.Duration) *respConn {
	return &respConn{addr: addr, timeout: timeout}
}

// do sends args as one RESP array of bulk strings and reads the reply,
// all within the connection's timeout. A server error (-ERR ...) is a
// reply, not an error.
func (c *respConn) do(args ...string) (reply, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return reply{}, err
		}
		c.conn = conn
		c.r = bufio.NewReader(conn)
	}
	c.out = c.out[:0]
	c.out = append(c.out, '*')
	c.out = strconv.AppendInt(c.out, int64(len(args)), 10)
	c.out = append(c.out, '\r', '\n')
	for _, a := range args {
		c.out = append(c.out, '$')
		c.out = strconv.AppendInt(c.out, int64(len(a)), 10)
		c.out = append(c.out, '\r', '\n')
		c.out = append(c.out, a...)
		c.out = append(c.out, '\r', '\n')
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		c.close()
		return reply{}, err
	}
	if _, err := c.conn.Write(c.out); err != nil {
		c.close()
		return reply{}, err
	}
	rep, err := readReply(c.r)
	if err != nil {
		c.close()
		return reply{}, err
	}
	return rep, nil
}

func (c *respConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
		c.r = nil
	}
}

// maxBulk bounds a bulk string this client will read; lock replies are
// tiny, anything larger means the stream is not what we think it is.
const maxBulk = 1 << 20

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (reply, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("malformed reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-':
		return reply{kind: kind, text: body}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return reply{}, fmt.Errorf("malformed integer reply %q", line)
		}
		return reply{kind: kind, n: n}, nil
	case '$':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil || n < -1 || n > maxBulk {
			return reply{}, fmt.Errorf("malformed bulk length %q", line)
		}
		if n == -1 {
			return reply{kind: kind, isNil: true}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return reply{}, err
		}
		return reply{kind: kind, text: string(buf[:n])}, nil
	case '*':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil || n < -1 || n > maxBulk {
			return reply{}, fmt.Errorf("malformed array length %q", line)
		}
		if n == -1 {
			return reply{kind: kind, isNil: true}, nil
		}
		for i := int64(0); i < n; i++ {
			if _, err := readReply(r); err != nil {
				return reply{}, err
			}
		}
		return reply{kind: kind, n: n}, nil
	default:
		return reply{}, fmt.Errorf("unknown reply type in %q", line)
	}
}

// errUnexpected says what came back instead of the expected reply.
func errUnexpected(rep reply, want string) error {
	return fmt.Errorf("got %s, want %s", rep, want)
}

// acquireRESP is the acquire both RESP servers share:
// SET key token NX PX ttl, granted on +OK (nil means held by someone).
func acquireRESP(c *respConn, key, token string, ttl int64) error {
	rep, err := c.do("SET", key, token, "NX", "PX", strconv.FormatInt(ttl, 10))
	if err != nil {
		return err
	}
	if rep.kind != '+' || rep.text != "OK" {
		return errUnexpected(rep, "+OK")
	}
	return nil
}

// expectOne checks a release's reply: :1 (deleted), anything else is an
// error (:0 means the key no longer held our token).
func expectOne(rep reply, err error) error {
	if err != nil {
		return err
	}
	if rep.kind != ':' || rep.n != 1 {
		return errUnexpected(rep, ":1")
	}
	return nil
}

// shoalLocker: SET NX PX to acquire, DELIFEQ to release. Any shoal node
// takes both and hands them to the Raft leader.
type shoalLocker struct {
	conn *respConn
	ttl  int64
}

func (l *shoalLocker) acquire(key, token string) error { return acquireRESP(l.conn, key, token, l.ttl) }
func (l *shoalLocker) release(key, token string) error {
	return expectOne(l.conn.do("DELIFEQ", key, token))
}
func (l *shoalLocker) close() { l.conn.close() }

// redisLocker: SET NX PX to acquire, the compare-and-delete script by
// EVALSHA to release (redis-server 7.0 has no DELIFEQ).
type redisLocker struct {
	conn *respConn
	ttl  int64
	sha  string
}

func (l *redisLocker) acquire(key, token string) error { return acquireRESP(l.conn, key, token, l.ttl) }
func (l *redisLocker) release(key, token string) error {
	return expectOne(l.conn.do("EVALSHA", l.sha, "1", key, token))
}
func (l *redisLocker) close() { l.conn.close() }

// loadReleaseScript loads releaseScript into the redis-server at addr with
// SCRIPT LOAD and returns its SHA1.
func loadReleaseScript(addr string, timeout time.Duration) (string, error) {
	c := newRESPConn(addr, timeout)
	defer c.close()
	rep, err := c.do("SCRIPT", "LOAD", releaseScript)
	if err != nil {
		return "", fmt.Errorf("SCRIPT LOAD: %w", err)
	}
	if rep.kind != '$' || len(rep.text) != 40 {
		return "", errors.New("SCRIPT LOAD: got " + rep.String() + ", want a 40-digit SHA1")
	}
	return rep.text, nil
}
