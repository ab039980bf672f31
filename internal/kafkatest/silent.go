package kafkatest

import (
	"net"
	"sync"
	"testing"
)

// Silent is a broker address that accepts TCP connections and reads what
// they send without ever answering: a wrong port, or a load balancer with
// nothing behind it. It is closed when the test ends.
type Silent struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	received int
	wg       sync.WaitGroup
}

// SilentBroker starts a Silent on a loopback port.
func SilentBroker(tb testing.TB) *Silent {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Silent{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.drain(c) })
		}
	})
	tb.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *Silent) drain(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		s.mu.Lock()
		s.received += n
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Addr is the address to give as a broker.
func (s *Silent) Addr() string { return s.ln.Addr().String() }

// Received is the number of bytes sent to it so far.
func (s *Silent) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// WaitAsked waits (WaitFor) until something has been sent to it.
func (s *Silent) WaitAsked(tb testing.TB) {
	tb.Helper()
	WaitFor(tb, "a request sent to the silent broker", func() bool { return s.Received() > 0 })
}
